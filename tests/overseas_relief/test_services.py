"""Overseas relief (O4, seed 004 §八 二) through the services: the deadline from the first return
(2021-06-01 for earlier returns), R restored directly and G after subject 1, every refusal saving
nothing, the records unavailable, the two reviews with four eyes, and the DL1 following."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jiaoguan.core.errors import Conflict, NotAllowed, Unavailable, ValidationFailed
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.overseas_relief import services
from jiaoguan.overseas_relief.models import ReliefCase

pytestmark = pytest.mark.django_db


def _apply(user, png, today):
    return services.case_apply(actor=user, certificate=services.Certificate(png, "cert.png"), today=today)


def _refused(code, call):
    with pytest.raises(Conflict) as caught:
        call()
    assert caught.value.code == code
    assert ReliefCase.objects.count() == 0
    return caught.value


def test_a_return_after_2021_06_01_counts_from_the_return(driver, certificate_png):
    user, _licence = driver(returned_on=date(2021, 7, 10))
    case = _apply(user, certificate_png, date(2022, 1, 10))  # the last day
    assert (case.first_return_on, case.apply_by, case.path) == (
        date(2021, 7, 10),
        date(2022, 1, 10),
        "direct",
    )
    assert case.state == "submitted" and case.movements[-1]["kind"] == "entry"


def test_the_day_after_the_last_is_refused_with_the_date(driver, certificate_png):
    user, _licence = driver(returned_on=date(2021, 7, 10))
    refusal = _refused("licence.relief.too_late", lambda: _apply(user, certificate_png, date(2022, 1, 11)))
    assert "2022年01月10日" in refusal.message_zh and "2022-01-10" in refusal.message_en


COUNT_START = date(2021, 6, 1)


@pytest.mark.parametrize(
    ("days", "allowed"),
    [
        # 6 calendar months from 2021-06-01 end on 2021-12-01 (the starting day is not counted): day
        # 180 (2021-11-28) and day 181 (2021-11-29) are both inside; day 183 (2021-12-01) is the last
        # day allowed and day 184 (2021-12-02) the first refused.
        (180, True),
        (181, True),
        (183, True),
        (184, False),
    ],
)
def test_a_return_before_2021_06_01_counts_from_that_day(driver, certificate_png, days, allowed):
    user, _licence = driver(cancelled_on=date(2020, 10, 1), returned_on=date(2021, 2, 1))
    today = COUNT_START + timedelta(days=days)
    if allowed:
        case = _apply(user, certificate_png, today)
        assert case.apply_by == date(2021, 12, 1) and case.first_return_on == date(2021, 2, 1)
    else:
        _refused("licence.relief.too_late", lambda: _apply(user, certificate_png, today))


def test_restorable_is_restored_directly_after_both_reviews_and_the_dl1_follows(
    driver, certificate_png, clerk, head, sms_outbox
):
    from jiaoguan.credentials.services import credential_status_sync, licence_credential_issue

    # Renewed in 2019 (valid to 2029), cancelled in 2021 for the review missed while abroad.
    user, licence = driver(status="A", reason="", cancelled_on=None, valid_from=date(2019, 5, 4))
    credential = licence_credential_issue(licence_id=licence.pk, event="issued")
    type(licence).objects.filter(pk=licence.pk).update(
        status="R", cancelled_on=date(2021, 3, 1), cancellation_reason="review_overdue"
    )
    credential_status_sync(licence_id=licence.pk)
    credential.refresh_from_db()
    assert credential.status == "suspended"

    case = _apply(user, certificate_png, date(2021, 9, 1))
    services.case_accept(actor=clerk, case_id=case.pk)
    licence.refresh_from_db()
    assert licence.status == "R"  # the clerk alone restores nothing
    case = services.case_approve(actor=head, case_id=case.pk, today=date(2026, 12, 1))
    assert case.state == "restored" and case.approved_by == head and case.accepted_by == clerk
    licence.refresh_from_db()
    assert (licence.status, licence.cancelled_on, licence.cancellation_reason) == ("A", None, "")
    assert licence.last_reviewed_on == date(2026, 12, 1) and licence.first_issued_on == date(2009, 5, 4)
    assert licence.valid_from == date(2019, 5, 4)
    from jiaoguan.core.models import AuditEntry

    assert AuditEntry.objects.filter(
        actor=head, action="change", subject_type="registry.drivinglicence", subject_id=str(licence.pk)
    ).exists()
    outbox_dispatch()
    credential.refresh_from_db()
    assert credential.status == "valid", credential.status_reason
    texts = sms_outbox(user.person.mobile)
    assert any("已受理" in t for t in texts) and any("已恢复驾驶资格" in t for t in texts)


def test_cancelled_waits_for_subject_1(driver, certificate_png, clerk, head, pass_subject_1):
    user, licence = driver(status="G", reason="review_overdue")
    case = _apply(user, certificate_png, date(2021, 9, 1))
    assert case.path == "after_subject_1" and case.subject_1_passed_on is None
    services.case_accept(actor=clerk, case_id=case.pk)
    with pytest.raises(Conflict) as caught:
        services.case_approve(actor=head, case_id=case.pk, today=date(2021, 9, 20))
    assert caught.value.code == "overseas_relief.subject_1_pending"
    assert "科目一考试合格后予以恢复" in caught.value.message_zh
    licence.refresh_from_db()
    assert licence.status == "G"
    pass_subject_1(licence.holder, date(2021, 9, 15))
    case = services.case_approve(actor=head, case_id=case.pk, today=date(2021, 9, 20))
    assert case.state == "restored" and case.subject_1_passed_on == date(2021, 9, 15)
    licence.refresh_from_db()
    assert licence.status == "A" and licence.last_reviewed_on == date(2021, 9, 20)


def test_a_subject_1_pass_before_the_cancellation_does_not_count(driver, certificate_png, pass_subject_1):
    user, licence = driver(status="G")
    pass_subject_1(licence.holder, date(2009, 3, 1))
    case = _apply(user, certificate_png, date(2021, 9, 1))
    assert case.subject_1_passed_on is None


def test_a_subject_1_pass_already_on_record_is_found_at_application(driver, certificate_png, pass_subject_1):
    user, licence = driver(status="G")
    pass_subject_1(licence.holder, date(2021, 8, 20))
    case = _apply(user, certificate_png, date(2021, 9, 1))
    assert case.subject_1_passed_on == date(2021, 8, 20)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"cancelled_on": date(2022, 1, 5)}, "licence.relief.period"),  # outside the window
        ({"cancelled_on": date(2019, 12, 31)}, "licence.relief.period"),
        ({"left_on": date(2021, 3, 2)}, "licence.relief.not_abroad"),  # left the day after
        ({"returned_on": None}, "licence.relief.not_abroad"),  # not back yet
        ({"status": "A"}, "licence.relief.status"),
        ({"reason": "full_score"}, "licence.relief.cause"),
    ],
)
def test_refusals_save_nothing(driver, certificate_png, changes, code):
    user, _licence = driver(**changes)
    _refused(code, lambda: _apply(user, certificate_png, date(2022, 1, 9)))


def test_records_unavailable_save_nothing(driver, certificate_png, exit_entry_service):
    user, _licence = driver()
    exit_entry_service.behaviour(unavailable=True)
    with pytest.raises(Unavailable) as caught:
        _apply(user, certificate_png, date(2021, 9, 1))
    assert caught.value.code == "overseas_relief.records_unavailable"
    assert ReliefCase.objects.count() == 0
    assert exit_entry_service.requests()  # it was asked


def test_records_refusing_the_question_save_nothing(driver, certificate_png, exit_entry_service, settings):
    """A signed refusal of the question (a wrong address: 404) is no answer: nothing is saved."""
    user, _licence = driver()
    settings.EXIT_ENTRY_URL = settings.EXIT_ENTRY_URL + "/nowhere"
    with pytest.raises(Unavailable) as caught:
        _apply(user, certificate_png, date(2021, 9, 1))
    assert caught.value.code == "overseas_relief.records_unavailable"
    assert ReliefCase.objects.count() == 0


def test_one_open_case_a_licence_and_a_bad_file(driver, certificate_png):
    user, _licence = driver()
    with pytest.raises(ValidationFailed):
        services.case_apply(
            actor=user, certificate=services.Certificate(b"not a file", "x.png"), today=date(2021, 9, 1)
        )
    _apply(user, certificate_png, date(2021, 9, 1))
    with pytest.raises(Conflict) as caught:
        _apply(user, certificate_png, date(2021, 9, 2))
    assert caught.value.code == "overseas_relief.open_case"


def test_four_eyes_the_one_who_accepted_may_not_approve(driver, certificate_png, make_staff):
    admin = make_staff(role="administrator", jurisdiction="411700", username="admin-relief")
    user, licence = driver()
    case = _apply(user, certificate_png, date(2021, 9, 1))
    services.case_accept(actor=admin, case_id=case.pk)
    with pytest.raises(Conflict) as caught:
        services.case_approve(actor=admin, case_id=case.pk, today=date(2021, 9, 2))
    assert caught.value.code == "overseas_relief.four_eyes"
    licence.refresh_from_db()
    assert licence.status == "R"


def test_the_clerk_cannot_approve_nor_the_head_accept(driver, certificate_png, clerk, head):
    user, _licence = driver()
    case = _apply(user, certificate_png, date(2021, 9, 1))
    with pytest.raises(NotAllowed):
        services.case_accept(actor=head, case_id=case.pk)
    services.case_accept(actor=clerk, case_id=case.pk)
    with pytest.raises(NotAllowed):
        services.case_approve(actor=clerk, case_id=case.pk, today=date(2021, 9, 2))


def test_a_rejection_leaves_the_licence_and_tells_the_driver(driver, certificate_png, clerk, sms_outbox):
    user, licence = driver()
    case = _apply(user, certificate_png, date(2021, 9, 1))
    with pytest.raises(ValidationFailed):
        services.case_reject(actor=clerk, case_id=case.pk, reason=" ")
    case = services.case_reject(actor=clerk, case_id=case.pk, reason="身体条件证明不清晰")
    assert case.state == "rejected"
    licence.refresh_from_db()
    assert licence.status == "R"
    assert any("身体条件证明不清晰" in t for t in sms_outbox(user.person.mobile))
    # A rejected case is closed: the driver may apply again.
    _apply(user, certificate_png, date(2021, 9, 3))


def test_a_renewal_missed_abroad_gives_a_new_validity_from_the_restoration(
    driver, certificate_png, clerk, head
):
    user, licence = driver(reason="renewal_overdue")
    case = _apply(user, certificate_png, date(2021, 9, 1))
    services.case_accept(actor=clerk, case_id=case.pk)
    services.case_approve(actor=head, case_id=case.pk, today=date(2021, 9, 3))
    licence.refresh_from_db()
    assert (licence.status, licence.valid_from, licence.first_issued_on) == (
        "A",
        date(2021, 9, 3),
        date(2009, 5, 4),
    )
