"""One eligibility answer for each licence business (issue 13, B8-B14), and the particulars submitted.

``business_eligibility`` takes ``today``, so its answers use fixed dates. A submission is
decided on the real day, so those licences are built relative to it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from jiaoguan.applications import services
from jiaoguan.applications.eligibility import business_eligibility, check_can_apply
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import DeliveryInput
from jiaoguan.core.errors import Conflict, NotAllowed, ValidationFailed
from jiaoguan.registry.models import PointsEntry
from jiaoguan.registry.rules import add_years

PICKUP = DeliveryInput(method="pickup")


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def holder(make_person, make_licence, citizen):
    """A counter-registered citizen and, unless ``licence=None``, a licence: (user, licence)."""

    def make(*, birth_date=date(1985, 6, 15), level="counter", name="张伟", licence=True, **kw):
        person = make_person(birth_date=birth_date, name=name)
        made = None
        if licence:
            kw.setdefault("first_issued_on", date(2016, 3, 5))
            made = make_licence(holder=person, **kw)
        return citizen(person, level=level), made

    return make


def _answer(user, code, today):
    answer = business_eligibility(actor=user, business_code=code, today=today)
    json.dumps(answer.details)  # JSON-safe: the API returns it as it is
    return answer


# ---------------------------------------------------------------- answers per business


@pytest.mark.django_db
def test_no_licence_on_file_is_refused_with_a_remedy(holder):
    user, _ = holder(licence=None)
    for code in ("B8", "B9", "B10", "B11", "B12", "B13", "B14"):
        answer = _answer(user, code, date(2026, 1, 10))
        assert not answer.allowed and answer.code == "applications.no_licence"
        assert answer.reason_zh and answer.remedy_zh and answer.remedy_en
    assert _answer(user, "B7", date(2026, 1, 10)).code != "applications.no_licence"


@pytest.mark.django_db
def test_the_account_level_is_decided_before_the_licence(holder):
    user, _ = holder(level="online", licence=None)
    answer = _answer(user, "B8", date(2026, 1, 10))
    assert answer.code == "accounts.counter_registration_required"
    with pytest.raises(NotAllowed):
        check_can_apply(actor=user, business_code="B8", today=date(2026, 1, 10))


@pytest.mark.django_db
def test_renewal_open_gives_the_window_and_the_next_term(holder):
    user, licence = holder(valid_from=date(2020, 3, 5), first_issued_on=date(2020, 3, 5), term="6y",
                           last_medical_on=date(2026, 1, 2))  # fmt: skip
    answer = _answer(user, "B8", date(2026, 1, 10))
    assert answer.allowed and answer.licence_id == licence.pk
    assert answer.details == {
        "opens_on": "2025-12-05", "expires_on": "2026-03-05", "overdue": False, "new_validity_term": "10y",
    }  # fmt: skip
    PointsEntry.objects.create(licence=licence, points=12, occurred_on=date(2023, 5, 1), source="V12")
    assert _answer(user, "B8", date(2026, 1, 10)).details["new_validity_term"] == "6y"


@pytest.mark.django_db
def test_renewal_too_early_says_why_and_from_when(holder):
    user, _ = holder(valid_from=date(2016, 3, 5), last_medical_on=date(2025, 11, 1))
    answer = _answer(user, "B8", date(2025, 11, 20))
    assert not answer.allowed and answer.code == "licence.renewal_too_early"
    assert "2026-03-05" in answer.reason_zh and "2025-12-05" in answer.remedy_en
    assert answer.details == {"on": "2025-12-05"}
    with pytest.raises(Conflict) as refused:
        check_can_apply(actor=user, business_code="B8", today=date(2025, 11, 20))
    assert refused.value.code == "licence.renewal_too_early" and refused.value.detail["on"] == "2025-12-05"


@pytest.mark.django_db
def test_age_limit_exchange_offers_the_classes_to_choose(holder):
    user, _ = holder(birth_date=date(1963, 5, 15), classes="A2", valid_from=date(2025, 6, 1))
    answer = _answer(user, "B9", date(2026, 6, 20))
    assert answer.allowed
    assert answer.details == {"to_classes": ["C1C6", "C2C6"], "from_classes": ["A2"], "due_by": "2026-06-14"}


@pytest.mark.django_db
def test_age_limit_not_reached_is_the_true_reason(holder):
    user, _ = holder(birth_date=date(1964, 5, 15), classes="A2", valid_from=date(2025, 6, 1))
    answer = _answer(user, "B9", date(2026, 6, 20))
    assert not answer.allowed and answer.code == "licence.age_limit_not_reached"
    assert "62周岁" in answer.reason_zh and "63" in answer.reason_en


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["B10", "B11"])
def test_replacement(holder, code):
    user, licence = holder(valid_from=date(2020, 3, 5))
    assert _answer(user, code, date(2026, 1, 10)).allowed
    licence.status = "D"
    licence.save()
    answer = _answer(user, code, date(2026, 1, 10))
    assert answer.code == "licence.status_D" and "暂扣" in answer.reason_zh and answer.remedy_zh


@pytest.mark.django_db
def test_deferrals_give_the_deadline_the_latest_end_and_the_reasons(holder):
    user, _ = holder(
        birth_date=date(1955, 6, 1), first_issued_on=date(2000, 3, 5), valid_from=date(2020, 3, 5)
    )
    answer = _answer(user, "B14", date(2026, 3, 20))
    assert answer.allowed
    assert answer.details["deadline"] == "2026-04-03" and answer.details["latest_until"] == "2029-04-03"
    assert [r["code"] for r in answer.details["reasons"]] == ["abroad", "military_service", "other"]
    assert set(answer.details["reasons"][0]) == {"code", "zh", "en", "proof_zh", "proof_en"}
    assert _answer(user, "B12", date(2026, 3, 20)).details["latest_until"] == "2033-03-05"
    review = _answer(user, "B13", date(2026, 3, 20))
    assert not review.allowed and review.code == "licence.deferral_nothing_due"


# ---------------------------------------------------------------- particulars on submission (real today)


@pytest.fixture
def renewal_due(holder):
    """A licence whose 10 years end in 30 days, with a fresh certificate: B8 and B12 open today."""
    today = timezone.localdate()
    start = add_years(today + timedelta(days=30), -10)
    return holder(first_issued_on=start, valid_from=start, last_medical_on=today - timedelta(days=5))


@pytest.fixture
def age_limit_due(holder):
    """An A2 holder of 63 under S6 (valid from 2025-06-01): B9 offers C1C6 or C2C6 today."""
    today = timezone.localdate()
    return holder(birth_date=add_years(today, -63) - timedelta(days=10), classes="A2",
                  first_issued_on=date(1990, 3, 5), valid_from=date(2025, 6, 1))  # fmt: skip


def _submit(user, licence, code, particulars, delivery=None):
    return services.application_submit(
        actor=user, business_code=code, licence_id=licence.pk, delivery=delivery, particulars=particulars
    )


@pytest.mark.django_db
def test_b9_particulars_must_name_an_offered_choice(age_limit_due):
    user, licence = age_limit_due
    for particulars, field in [({}, "to_classes"), ({"to_classes": "A2"}, "to_classes"),
                               ({"to_classes": "C1C6", "colour": "red"}, "colour")]:  # fmt: skip
        with pytest.raises(ValidationFailed) as refused:
            _submit(user, licence, "B9", particulars, PICKUP)
        assert refused.value.field == field
    assert not Application.objects.exists()
    app = _submit(user, licence, "B9", {"to_classes": "C2C6"}, PICKUP)
    assert app.particulars == {"to_classes": "C2C6"}


@pytest.mark.django_db
def test_b12_particulars_go_through_the_deferral_rule(renewal_due):
    user, licence = renewal_due
    today = timezone.localdate()
    latest = add_years(today + timedelta(days=30), 3)
    cases = [
        ({"until": latest.isoformat()}, "reason", "applications.particulars_invalid"),
        ({"reason": "holiday", "until": latest.isoformat()}, "reason", "licence.deferral_reason_unknown"),
        ({"reason": "abroad", "until": "next year"}, "until", "applications.particulars_invalid"),
        ({"reason": "abroad", "until": (latest + timedelta(days=1)).isoformat()}, "until",
         "licence.deferral_too_long"),
        ({"reason": "abroad", "until": today.isoformat()}, "until", "licence.deferral_end_too_early"),
    ]  # fmt: skip
    for particulars, field, code in cases:
        with pytest.raises(ValidationFailed) as refused:
            _submit(user, licence, "B12", particulars)
        assert (refused.value.field, refused.value.code) == (field, code), particulars
        assert refused.value.message_zh and refused.value.message_en
    app = _submit(user, licence, "B12", {"reason": "abroad", "until": latest.isoformat()})
    assert app.particulars == {"reason": "abroad", "until": latest.isoformat()}


@pytest.mark.django_db
def test_businesses_without_particulars_refuse_any(renewal_due):
    user, licence = renewal_due
    with pytest.raises(ValidationFailed) as refused:
        _submit(user, licence, "B8", {"to_classes": "C1"}, PICKUP)
    assert refused.value.field == "to_classes"
    assert _submit(user, licence, "B8", None, PICKUP).particulars == {}


@pytest.mark.django_db
def test_a_refused_business_is_not_submitted(holder):
    user, licence = holder(valid_from=timezone.localdate() - timedelta(days=400))  # renewal years away
    with pytest.raises(Conflict) as refused:
        _submit(user, licence, "B8", None, PICKUP)
    assert refused.value.code == "licence.renewal_too_early"
    assert not Application.objects.exists()
