"""The military licence exchange end to end through the services with the fake registry (O3,
seed 004 §七): a check that passes, acceptance and the new licence with the seed's dates; a failed
check, the suspect review and its two outcomes; the registry unavailable; the remark-only path
before and after 2021-05-31; one open case per person."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.core.audit import AuditEntry
from jiaoguan.core.errors import Conflict, NotAllowed, Unavailable, ValidationFailed
from jiaoguan.core.outbox import OutboxMessage
from jiaoguan.credentials.services import licence_credential_issue
from jiaoguan.military_exchange import services
from jiaoguan.military_exchange.models import ExchangeCase
from jiaoguan.registry.military_exchange import MilitaryDrivingAge
from jiaoguan.registry.models import DrivingLicence

pytestmark = pytest.mark.django_db

APPLIED = date(2021, 7, 1)


def _apply(user, **kw):
    data = {
        "military_number": "JW20080301",
        "classes": "B1",
        "first_issued_on": date(2008, 3, 1),
        "today": APPLIED,
    }
    data.update(kw)
    return services.case_apply(actor=user, **data)


def _sms_to(mobile: str) -> list[str]:
    return [
        m.payload["text"]
        for m in OutboxMessage.objects.filter(topic="sms.send")
        if m.payload["mobile"] == mobile
    ]


@pytest.mark.parametrize(
    ("military", "birth", "classes", "exchanged", "expected"),
    [
        # the rules' vectors end to end: military month and day before, on and after the exchange's
        (date(2015, 3, 10), date(1990, 4, 12), "C1", date(2021, 7, 10), date(2015, 7, 10)),
        (date(2015, 7, 10), date(1990, 4, 12), "C1", date(2021, 7, 10), date(2015, 7, 10)),
        (date(2015, 7, 11), date(1990, 4, 12), "C1", date(2021, 7, 10), date(2016, 7, 10)),
        # below the civilian minimum age (18 for C1, reached 2015-08-20): that day, year rolled on
        (date(2014, 5, 1), date(1997, 8, 20), "C1", date(2021, 7, 10), date(2016, 7, 10)),
        # A2 needs 22 (reached 2017-01-15)
        (date(2014, 6, 1), date(1995, 1, 15), "A2", date(2022, 3, 1), date(2017, 3, 1)),
    ],
)
def test_passed_check_accepted_gives_the_licence_with_the_seeds_dates(
    military,
    birth,
    classes,
    exchanged,
    expected,
    make_person,
    citizen,
    clerk,
    seed_military,
    military_licence_service,
):
    person = make_person(name="刘建军", birth_date=birth, mobile="13900139002")
    user = citizen(person, level="counter")
    seed_military(user, classes=classes, first_issued_on=military, added=(("A1", date(2016, 5, 1)),))
    case = _apply(user, classes=classes, first_issued_on=military, today=exchanged)
    assert case.state == ExchangeCase.State.AWAITING_ACCEPTANCE
    assert case.check_outcome == "passed"
    assert military_licence_service.requests()[-1]["request_id"].startswith(case.check_reference + ".")

    services.case_accept(actor=clerk, case_id=case.pk, today=exchanged)

    case.refresh_from_db()
    assert case.state == ExchangeCase.State.COMPLETED and case.exchanged_on == exchanged
    licence = DrivingLicence.objects.get(holder=person)
    assert case.licence_id == licence.pk
    assert licence.first_issued_on == expected
    assert licence.valid_from == exchanged
    assert licence.validity_term == "6y"
    assert licence.classes == classes
    assert licence.remarks == f"M3 {military.isoformat()} {classes} +A1 2016-05-01"
    age = MilitaryDrivingAge.objects.get(licence=licence)
    assert age.path == "reissue" and age.military_first_issued_on == military
    # The e-licence carries M3 with the military first issue, classes and added classes (seed §七 四).
    credential = licence_credential_issue(licence_id=licence.pk, event="issued", today=exchanged)
    assert credential.data["remarks"] == [f"M3 {military.isoformat()} {classes} +A1 2016-05-01"]
    assert AuditEntry.objects.filter(
        action="change",
        subject_type="military_exchange.exchangecase",
        subject_id=str(case.pk),
        summary__contains="accepted",
        actor_label=clerk.username,
    ).exists()
    assert any("办结" in text and expected.isoformat() in text for text in _sms_to("13900139002"))


def test_an_existing_civilian_licence_is_replaced_with_its_other_remarks_kept(
    veteran, clerk, seed_military, make_licence
):
    old = make_licence(holder=veteran.person, classes="C1", first_issued_on=date(2019, 1, 5), remarks="OV")
    seed_military(veteran)
    case = _apply(veteran)
    services.case_accept(actor=clerk, case_id=case.pk, today=date(2021, 7, 10))
    licence = DrivingLicence.objects.get(pk=old.pk)
    assert licence.first_issued_on == date(2008, 7, 10)
    assert licence.classes == "B1" and licence.valid_from == date(2021, 7, 10)
    assert licence.remarks == "OV;M3 2008-03-01 B1"


def test_the_registry_facts_win_over_what_was_declared(veteran, clerk, seed_military):
    seed_military(veteran, first_issued_on=date(2009, 9, 1))
    case = _apply(veteran, first_issued_on=date(2008, 3, 1))
    services.case_accept(actor=clerk, case_id=case.pk, today=date(2021, 7, 10))
    assert DrivingLicence.objects.get(holder=veteran.person).first_issued_on == date(2010, 7, 10)


def test_failed_check_goes_to_the_suspect_queue_then_cleared_and_accepted(
    veteran, clerk, unit_head, seed_military
):
    seed_military(veteran, number="JW99999999")  # the registry knows another number
    case = _apply(veteran)
    assert case.state == ExchangeCase.State.SUSPECT_REVIEW
    assert (case.check_outcome, case.check_reason) == ("not_passed", "not_found")
    # The counter cannot accept it, nor clear it: that is the head of the unit's review.
    with pytest.raises(Conflict):
        services.case_accept(actor=clerk, case_id=case.pk, today=date(2021, 7, 10))
    with pytest.raises(NotAllowed):
        services.suspect_clear(actor=clerk, case_id=case.pk, reason="核对原件")
    with pytest.raises(ValidationFailed):
        services.suspect_clear(actor=unit_head, case_id=case.pk, reason=" ")
    services.suspect_clear(actor=unit_head, case_id=case.pk, reason="已核对军队驾驶证原件和部队证明")
    case.refresh_from_db()
    assert case.state == ExchangeCase.State.AWAITING_ACCEPTANCE and case.reviewed_by == unit_head
    assert AuditEntry.objects.filter(
        action="change", subject_id=str(case.pk), summary__contains="cleared", reason__contains="已核对"
    ).exists()
    services.case_accept(actor=clerk, case_id=case.pk, today=date(2021, 7, 10))
    # Cleared without a registry record: the declared facts are used.
    assert DrivingLicence.objects.get(holder=veteran.person).first_issued_on == date(2008, 7, 10)
    assert any("核查通过" in text for text in _sms_to(veteran.person.mobile))


def test_failed_check_rejected_by_the_head_of_the_unit(veteran, clerk, unit_head, seed_military, make_staff):
    seed_military(veteran, status="revoked")
    case = _apply(veteran)
    assert (case.state, case.check_reason) == (ExchangeCase.State.SUSPECT_REVIEW, "revoked")
    with pytest.raises(NotAllowed):
        services.suspect_reject(actor=clerk, case_id=case.pk, reason="x")
    admin = make_staff(role="administrator", jurisdiction="411700", username="mx-admin")
    with pytest.raises(Conflict):  # a suspect case is not in the counter's queue
        services.case_reject(actor=admin, case_id=case.pk, reason="x")
    services.suspect_reject(actor=unit_head, case_id=case.pk, reason="军队驾驶证已注销")
    case.refresh_from_db()
    assert case.state == ExchangeCase.State.REJECTED and case.reject_reason == "军队驾驶证已注销"
    assert not DrivingLicence.objects.filter(holder=veteran.person).exists()
    assert any("未通过：军队驾驶证已注销" in text for text in _sms_to(veteran.person.mobile))
    # Once decided, a new application may be made.
    seed_military(veteran)
    assert _apply(veteran).state == ExchangeCase.State.AWAITING_ACCEPTANCE


def test_registry_unavailable_saves_nothing(veteran, seed_military, military_licence_service):
    seed_military(veteran)
    military_licence_service.behaviour(unavailable=True)
    with pytest.raises(Unavailable) as refused:
        _apply(veteran)
    assert refused.value.code == "military_exchange.check_unavailable"
    assert not ExchangeCase.objects.exists()
    military_licence_service.behaviour(unavailable=False)
    assert _apply(veteran).state == ExchangeCase.State.AWAITING_ACCEPTANCE


def test_a_refused_question_saves_nothing(veteran, seed_military, military_licence_service, settings):
    """A registry that refuses the question itself (here a wrong address on it: a signed 404) gives
    no answer either; the applicant is told to try later."""
    seed_military(veteran)
    settings.MILITARY_LICENCE_URL = settings.MILITARY_LICENCE_URL + "/nowhere"
    with pytest.raises(Unavailable) as refused:
        _apply(veteran)
    assert refused.value.code == "military_exchange.check_unavailable"
    assert not ExchangeCase.objects.exists()


def test_one_open_case_per_person(veteran, seed_military, military_licence_service):
    seed_military(veteran)
    _apply(veteran)
    asked = len(military_licence_service.requests())
    with pytest.raises(Conflict) as refused:
        _apply(veteran)
    assert refused.value.code == "military_exchange.one_open"
    assert len(military_licence_service.requests()) == asked  # refused before asking the registry
    assert ExchangeCase.objects.count() == 1


def test_record_only_before_2021_05_31_with_a_new_prefix(veteran, clerk, seed_military, make_licence):
    old = make_licence(holder=veteran.person, classes="B1", first_issued_on=date(2019, 4, 2))
    seed_military(veteran, number="LA20080301", added=(("A1", date(2012, 5, 1)),))
    case = _apply(
        veteran, military_number="LA20080301", exchanged_before=True, earlier_exchanged_on=date(2019, 4, 2)
    )
    assert case.path == ExchangeCase.Path.RECORD_ONLY and case.licence_id == old.pk
    services.case_accept(actor=clerk, case_id=case.pk, today=date(2021, 7, 10))
    licence = DrivingLicence.objects.get(pk=old.pk)
    # No reissue: the licence keeps its dates and printed remarks.
    assert (licence.first_issued_on, licence.valid_from, licence.remarks) == (
        date(2019, 4, 2),
        date(2019, 4, 2),
        "",
    )
    age = MilitaryDrivingAge.objects.get(licence=licence)
    assert age.path == "record_only"
    assert age.military_first_issued_on == date(2008, 3, 1) and age.added == [["A1", "2012-05-01"]]
    assert any("交通安全驾驶记录" in text for text in _sms_to(veteran.person.mobile))


def test_exchanged_before_with_an_old_prefix_is_refused(veteran, seed_military, make_licence):
    make_licence(holder=veteran.person, classes="B1", first_issued_on=date(2019, 4, 2))
    seed_military(veteran, number="ZZ20080301")
    with pytest.raises(Conflict) as refused:
        _apply(
            veteran,
            military_number="ZZ20080301",
            exchanged_before=True,
            earlier_exchanged_on=date(2019, 4, 2),
        )
    assert refused.value.code == "licence.military.old_licence"
    assert not ExchangeCase.objects.exists()


def test_exchanged_after_2021_05_31_is_reissued(veteran, clerk, seed_military, make_licence):
    make_licence(holder=veteran.person, classes="B1", first_issued_on=date(2021, 6, 2))
    seed_military(veteran, number="ZZ20080301")
    case = _apply(
        veteran, military_number="ZZ20080301", exchanged_before=True, earlier_exchanged_on=date(2021, 6, 2)
    )
    assert case.path == ExchangeCase.Path.REISSUE
    services.case_accept(actor=clerk, case_id=case.pk, today=date(2021, 7, 10))
    assert DrivingLicence.objects.get(holder=veteran.person).first_issued_on == date(2008, 7, 10)


def test_exchanged_before_without_a_licence_is_refused(veteran, seed_military):
    seed_military(veteran)
    with pytest.raises(ValidationFailed):
        _apply(veteran, exchanged_before=True, earlier_exchanged_on=date(2019, 4, 2))


@pytest.mark.parametrize(
    "bad",
    [
        {"military_number": "12345678"},
        {"military_number": "JW"},
        {"classes": "Z9"},
        {"first_issued_on": date(2030, 1, 1)},
        {"first_issued_on": None},
        {"added": [("A1", date(2000, 1, 1))]},
        {"added": [("XX", date(2012, 1, 1))]},
    ],
)
def test_bad_input_is_refused_with_nothing_saved(veteran, seed_military, military_licence_service, bad):
    seed_military(veteran)
    with pytest.raises(ValidationFailed):
        _apply(veteran, **bad)
    assert not ExchangeCase.objects.exists()
    assert military_licence_service.requests() == []


def test_the_counter_of_another_jurisdiction_cannot_accept(veteran, make_staff, seed_military):
    seed_military(veteran)
    case = _apply(veteran)
    outsider = make_staff(role="counter_clerk", jurisdiction="411600", username="mx-zhoukou")
    with pytest.raises(NotAllowed):
        services.case_accept(actor=outsider, case_id=case.pk, today=date(2021, 7, 10))
    case.refresh_from_db()
    assert case.state == ExchangeCase.State.AWAITING_ACCEPTANCE


def test_the_remark_reads_with_its_military_facts():
    """The e-licence shows M3's words and the facts it carries (seed §七 四); a bare code as before."""
    from django.utils import translation

    from jiaoguan.credentials.verify import _remark_text
    from jiaoguan.credentials.views import _remark_texts

    with translation.override("zh-hans"):
        assert _remark_texts(["M3 2008-03-01 B1 +A1 2012-05-01", "OV"]) == [
            "M3 持军队驾驶证换领（2008-03-01 B1 +A1 2012-05-01）",
            "OV 境外期间延期",
        ]
    assert _remark_text("M3 2008-03-01 B1") == "M3 持军队驾驶证换领（2008-03-01 B1）"
    assert _remark_text("M3") == "M3 持军队驾驶证换领"


@pytest.mark.parametrize(
    ("held", "military", "expected"),
    [("C1", "B1", "B1"), ("A1", "C1", "A1"), ("C1D", "B2", "B2D"), ("B1", "B1", "B1")],
)
def test_a_civilian_licence_held_keeps_the_classes_the_military_ones_do_not_cover(held, military, expected):
    from jiaoguan.registry.military_exchange import merged_classes

    assert merged_classes(held, military) == expected
