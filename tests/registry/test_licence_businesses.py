"""Licence businesses on stored licences (issue 13, REQ B8-B14): facts, checks, deferrals, changes.

Dates are worked by hand from design/RULES.md and passed as ``today``; the rules themselves
are tested as pure functions in test_licence_rules.py, here on real rows (SQLite, PostgreSQL).
"""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.core.errors import Conflict, ValidationFailed
from jiaoguan.core.models import OutboxMessage
from jiaoguan.registry import licence_rules, selectors, services
from jiaoguan.registry.models import DrivingLicence, PointsEntry

# A C1 licence valid 2016-03-05 to 2026-03-05: renewal opens 2025-12-05 (90 days, S1 art. 62).
VALID_FROM = date(2016, 3, 5)
VALID_UNTIL = date(2026, 3, 5)


def _codes(licence: DrivingLicence, today: date) -> str:
    return "".join(s.code for s in selectors.licence_status(licence, today=today).statuses)


def _check(licence: DrivingLicence, code: str, today: date):
    licence.refresh_from_db()
    return selectors.licence_business_check(licence=licence, business_code=code, today=today)


def _events(licence: DrivingLicence) -> list[str]:
    return [
        m.payload["event"]
        for m in OutboxMessage.objects.filter(
            topic="registry.changed", payload__licence_id=licence.pk
        ).order_by("pk")
    ]


@pytest.fixture
def c1(make_person, make_licence):
    def make(**kw):
        kw.setdefault("first_issued_on", VALID_FROM)
        kw.setdefault("valid_from", VALID_FROM)
        kw.setdefault("term", "10y")
        return make_licence(holder=kw.pop("holder", None) or make_person(), **kw)

    return make


# ---------------------------------------------------------------- B8 renewal window and certificate


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("today", "answer"),
    [
        (date(2025, 12, 4), "licence.renewal_too_early"),  # the day before the window
        (date(2025, 12, 5), "open"),  # first day of the 90-day window
        (date(2026, 3, 5), "open"),  # the last valid day
        (date(2026, 3, 6), "overdue"),  # status M from the next day
        (date(2027, 3, 5), "overdue"),  # last day of the overdue year (S1 art. 79)
        (date(2027, 3, 6), "licence.renewal_too_late"),
    ],
)
def test_renewal_window_edges(c1, today, answer):
    licence = c1(last_medical_on=today.replace(day=1))
    result = _check(licence, "B8", today)
    if answer in ("open", "overdue"):
        assert isinstance(result, licence_rules.RenewalOpen)
        assert result.opens_on == date(2025, 12, 5) and result.expires_on == VALID_UNTIL
        assert result.overdue is (answer == "overdue")
        assert ("M" in _codes(licence, today)) is (answer == "overdue")
    else:
        assert isinstance(result, licence_rules.Refusal) and result.code == answer


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("last_medical_on", "code"),
    [(None, "licence.medical_missing"), (date(2025, 7, 1), "licence.medical_expired")],
)
def test_renewal_needs_a_certificate_of_the_last_six_months(c1, last_medical_on, code):
    licence = c1(last_medical_on=last_medical_on)
    result = _check(licence, "B8", date(2026, 1, 10))
    assert isinstance(result, licence_rules.Refusal) and result.code == code and result.remedy_zh


@pytest.mark.django_db
def test_a_cancelled_licence_is_refused_as_cancelled_not_as_late(c1):
    licence = c1(status="G", last_medical_on=date(2026, 1, 1))
    result = _check(licence, "B8", date(2026, 1, 10))
    assert isinstance(result, licence_rules.Refusal) and result.code == "licence.status_G"


# ---------------------------------------------------------------- validity term 6 -> 10 -> long-term


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("term", "points", "expected"),
    [
        ("6y", [], "10y"),
        ("10y", [], "long"),
        ("long", [], "long"),
        ("6y", [(date(2022, 6, 1), 12)], "6y"),  # one cycle of the term reached 12 points (S1 art. 63)
        ("10y", [(date(2022, 6, 1), 6), (date(2022, 9, 1), 6)], "10y"),  # 12 in one cycle, in two entries
        ("6y", [(date(2022, 6, 1), 9), (date(2023, 6, 1), 9)], "10y"),  # 9 + 9 in two cycles: never 12
        ("6y", [(date(2019, 6, 1), 12)], "10y"),  # 12 before this term began does not count
    ],
)
def test_next_validity_term(c1, term, points, expected):
    # First issued 2014-03-05; the current term began 2020-03-05.
    licence = c1(first_issued_on=date(2014, 3, 5), valid_from=date(2020, 3, 5), term=term)
    for day, value in points:
        PointsEntry.objects.create(licence=licence, points=value, occurred_on=day, source=f"V{day}")
    assert selectors.licence_next_validity_term(licence, today=date(2026, 1, 10)) == expected


@pytest.mark.django_db
def test_unpaid_points_carried_into_a_cycle_of_the_term_count_there(c1):
    licence = c1(first_issued_on=date(2014, 3, 5), valid_from=date(2020, 3, 5), term="6y")
    PointsEntry.objects.create(
        licence=licence, points=6, occurred_on=date(2021, 1, 5), source="V1", fine_unpaid=True
    )
    PointsEntry.objects.create(licence=licence, points=6, occurred_on=date(2021, 6, 5), source="V2")
    assert selectors.licence_cycles_reached_12(licence, today=date(2026, 1, 10))
    services.points_fine_settled(source="V1")
    assert not selectors.licence_cycles_reached_12(licence, today=date(2026, 1, 10))


# ---------------------------------------------------------------- B8 renewal changes the licence


@pytest.mark.django_db
def test_renewal_in_the_window_continues_from_the_old_end_date_with_the_next_term(c1):
    licence = c1(first_issued_on=date(2020, 3, 5), valid_from=date(2020, 3, 5), term="6y", status="AM")
    services.licence_renew(licence_id=licence.pk, today=date(2026, 1, 10))
    licence.refresh_from_db()
    assert (licence.valid_from, licence.validity_term, licence.status) == (date(2026, 3, 5), "10y", "A")
    assert selectors.licence_status(licence, today=date(2026, 1, 10)).valid_until == date(2036, 3, 5)
    assert _events(licence) == ["licence_renewed"]


@pytest.mark.django_db
def test_an_overdue_renewal_counts_from_the_day_of_renewal_and_clears_m(c1):
    licence = c1()
    today = date(2026, 7, 1)
    assert "M" in _codes(licence, today)
    services.licence_renew(licence_id=licence.pk, today=today)
    licence.refresh_from_db()
    assert (licence.valid_from, licence.validity_term) == (today, "long")
    assert "M" not in _codes(licence, today)


@pytest.mark.django_db
def test_a_renewal_applied_for_in_the_window_and_completed_after_expiry_keeps_the_old_end_date(c1):
    licence = c1(term="6y", valid_from=date(2020, 3, 5), first_issued_on=date(2020, 3, 5))
    services.licence_renew(licence_id=licence.pk, today=date(2026, 3, 20), applied_on=date(2026, 2, 1))
    licence.refresh_from_db()
    assert licence.valid_from == date(2026, 3, 5)


@pytest.mark.django_db
def test_renewal_of_a_revoked_licence_is_refused_and_nothing_changes(c1):
    licence = c1(status="F")
    with pytest.raises(Conflict) as refused:
        services.licence_renew(licence_id=licence.pk, today=date(2026, 1, 10))
    assert refused.value.code == "licence.status_F"
    licence.refresh_from_db()
    assert licence.valid_from == VALID_FROM and _events(licence) == []


# ---------------------------------------------------------------- B9 exchange at the age limit


def _born(age: int, today: date) -> date:
    """A birth date giving ``age`` on ``today`` (a June day: the birthday was in May)."""
    assert today.month == 6
    return date(today.year - age, 5, 15)


TODAY_B9 = date(2026, 6, 20)
BEFORE_S6 = date(2020, 6, 1)  # valid_from before 2025-01-01: the 60-year limit (S1 art. 65)
UNDER_S6 = date(2025, 6, 1)  # valid_from from 2025-01-01: the 63-year limit (S6)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("age", "decided", "expected"),
    [
        (59, BEFORE_S6, None),
        (60, BEFORE_S6, ("C1C6", "C2C6")),
        (62, BEFORE_S6, ("C1C6", "C2C6")),
        (60, UNDER_S6, None),
        (62, UNDER_S6, None),
        (63, UNDER_S6, ("C1C6", "C2C6")),
        (69, UNDER_S6, ("C1C6", "C2C6")),
        (70, UNDER_S6, ("C1", "C2")),  # C6 is past its own limit of 70 too
        (70, BEFORE_S6, ("C1", "C2")),
    ],
)
def test_age_limit_exchange_of_an_a2_licence(make_person, make_licence, age, decided, expected):
    holder = make_person(birth_date=_born(age, TODAY_B9))
    licence = make_licence(holder=holder, classes="A2", first_issued_on=date(1990, 3, 5), valid_from=decided)
    result = _check(licence, "B9", TODAY_B9)
    if expected is None:
        assert isinstance(result, licence_rules.Refusal) and result.code == "licence.age_limit_not_reached"
        limit = 63 if decided == UNDER_S6 else 60
        assert f"{age}周岁" in result.zh and f"上限为{limit}周岁" in result.zh
    else:
        assert isinstance(result, licence_rules.Exchange)
        assert result.to_classes == expected and result.from_classes == ("A2",)


@pytest.mark.django_db
def test_d_holder_at_70_exchanges_to_f_and_c3_only_is_cancelled_instead(make_person, make_licence):
    d = make_licence(holder=make_person(birth_date=_born(70, TODAY_B9)), classes="D", valid_from=UNDER_S6,
                     first_issued_on=date(1990, 3, 5))  # fmt: skip
    assert _check(d, "B9", TODAY_B9).to_classes == ("F",)
    c3 = make_licence(holder=make_person(birth_date=_born(70, TODAY_B9), name="李强"), classes="C3",
                      valid_from=UNDER_S6, first_issued_on=date(1990, 3, 5))  # fmt: skip
    refused = _check(c3, "B9", TODAY_B9)
    assert isinstance(refused, licence_rules.Refusal) and refused.code == "licence.age_limit_nothing_left"


@pytest.mark.django_db
def test_c1_has_no_age_limit(c1):
    result = _check(c1(), "B9", TODAY_B9)
    assert isinstance(result, licence_rules.Refusal) and "没有驾驶年龄上限" in result.zh


@pytest.mark.django_db
def test_exchange_sets_the_chosen_classes_and_keeps_the_validity(make_person, make_licence):
    licence = make_licence(holder=make_person(birth_date=_born(63, TODAY_B9)), classes="A2",
                           first_issued_on=date(1990, 3, 5), valid_from=UNDER_S6)  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        services.licence_exchange_at_age_limit(licence_id=licence.pk, to_classes="A2", today=TODAY_B9)
    assert refused.value.field == "to_classes"
    services.licence_exchange_at_age_limit(licence_id=licence.pk, to_classes="C2C6", today=TODAY_B9)
    licence.refresh_from_db()
    assert (licence.classes, licence.valid_from) == ("C2C6", UNDER_S6)
    assert _events(licence) == ["licence_exchanged"]


# ---------------------------------------------------------------- B10/B11 replacement


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "code"), [("A", ""), ("D", "licence.status_D"), ("H", "licence.status_H")]
)
def test_replacement_depends_on_the_status(c1, status, code):
    result = _check(c1(status=status), "B10", date(2024, 1, 10))
    assert (result.code if isinstance(result, licence_rules.Refusal) else "") == code


@pytest.mark.django_db
def test_an_expired_licence_is_sent_to_renewal_not_replacement(c1):
    result = _check(c1(), "B11", date(2026, 5, 1))
    assert isinstance(result, licence_rules.Refusal) and result.code == "licence.status_M"


@pytest.mark.django_db
def test_replacement_publishes_the_new_card(c1):
    licence = c1()
    services.licence_replace(licence_id=licence.pk, cause="lost", today=date(2024, 1, 10))
    assert _events(licence) == ["licence_replaced"]


# ---------------------------------------------------------------- B12 renewal deferral


@pytest.mark.django_db
def test_renewal_deferral_runs_then_ends_by_itself(c1):
    licence = c1(last_medical_on=date(2027, 3, 1))
    offer = _check(licence, "B12", date(2026, 2, 1))
    assert isinstance(offer, licence_rules.Deferral)
    assert (offer.deadline, offer.latest_until) == (VALID_UNTIL, date(2029, 3, 5))
    services.licence_defer(
        licence_id=licence.pk, kind="renewal", reason="abroad", until=date(2027, 3, 5), today=date(2026, 2, 1)
    )
    licence.refresh_from_db()
    assert licence.renewal_deferred_until == date(2027, 3, 5)
    # While it runs: N, no M, and renewal is still possible (the window lasts to its end).
    assert _codes(licence, date(2026, 6, 1)) == "N"
    assert _codes(licence, date(2027, 3, 5)) == "N"
    renewal = _check(licence, "B8", date(2027, 3, 5))
    assert isinstance(renewal, licence_rules.RenewalOpen) and renewal.expires_on == date(2027, 3, 5)
    assert not renewal.overdue
    # The day after: N drops by itself and the overdue year counts from the deferral's end.
    assert _codes(licence, date(2027, 3, 6)) == "M"
    late = _check(licence, "B8", date(2027, 4, 1))
    assert isinstance(late, licence_rules.RenewalOpen) and late.overdue and late.last_day == date(2028, 3, 5)
    assert selectors.licence_status(licence, today=date(2028, 3, 6)).renewal_state == "cancellable"
    # Deferred again while it ran: at most 3 years after the deadline deferred (S1 art. 75).
    again = selectors.licence_deferral_check(
        licence=licence, business_code="B12", reason="abroad", until=date(2029, 3, 6), today=date(2027, 1, 1)
    )
    assert isinstance(again, licence_rules.Refusal) and again.code == "licence.deferral_too_long"


@pytest.mark.django_db
def test_renewal_ends_the_renewal_deferral(c1):
    licence = c1(renewal_deferred_until=date(2027, 1, 1))
    services.licence_renew(licence_id=licence.pk, today=date(2026, 6, 1))
    licence.refresh_from_db()
    assert licence.renewal_deferred_until is None and licence.valid_from == date(2026, 6, 1)


@pytest.mark.django_db
def test_a_deadline_passed_cannot_be_deferred(c1):
    result = _check(c1(), "B12", date(2026, 3, 6))
    assert isinstance(result, licence_rules.Refusal) and result.code == "licence.deferral_deadline_passed"
    with pytest.raises(Conflict):
        services.licence_defer(
            licence_id=c1().pk,
            kind="renewal",
            reason="abroad",
            until=date(2027, 1, 1),
            today=date(2026, 3, 6),
        )


# ---------------------------------------------------------------- B13 review deferral


@pytest.fixture
def b2_with_points(make_person, make_licence):
    """A B2 holder with points in the cycle 2025-03-05..2026-03-04: review due 2026-04-03 (S1 art. 72)."""
    licence = make_licence(holder=make_person(), classes="B2", first_issued_on=date(2015, 3, 5),
                           valid_from=date(2025, 3, 5))  # fmt: skip
    PointsEntry.objects.create(licence=licence, points=3, occurred_on=date(2025, 6, 1), source="V-B2")
    return licence


@pytest.mark.django_db
def test_review_deferral_moves_the_deadline_then_ends_in_s(b2_with_points):
    licence = b2_with_points
    assert selectors.licence_status(licence, today=date(2026, 3, 20)).review_due == date(2026, 4, 3)
    offer = _check(licence, "B13", date(2026, 3, 20))
    assert isinstance(offer, licence_rules.Deferral) and offer.latest_until == date(2029, 4, 3)
    services.licence_defer(
        licence_id=licence.pk, kind="review", reason="military_service", until=date(2026, 12, 31),
        today=date(2026, 3, 20),
    )  # fmt: skip
    licence.refresh_from_db()
    during = selectors.licence_status(licence, today=date(2026, 5, 1))
    assert during.review_due == date(2026, 12, 31) and "T" in _codes(licence, date(2026, 5, 1))
    assert "S" not in _codes(licence, date(2026, 5, 1))
    assert _codes(licence, date(2027, 1, 1)) == "S"  # ended, review not done: overdue
    # Still counted from 2026-04-03 while it runs, so a second deferral stays within 3 years.
    facts = selectors.licence_facts(licence, today=date(2026, 5, 1))
    assert facts.review_due == date(2026, 4, 3)
    licence.last_reviewed_on = date(2026, 6, 1)
    licence.save()
    assert "T" not in _codes(licence, date(2026, 7, 1))  # done: nothing left deferred


@pytest.mark.django_db
def test_nothing_due_nothing_to_defer(c1):
    result = _check(c1(), "B13", date(2024, 1, 10))
    assert isinstance(result, licence_rules.Refusal) and result.code == "licence.deferral_nothing_due"


# ---------------------------------------------------------------- B14 certificate deferral


@pytest.fixture
def holder_of_70(make_person, make_licence):
    """Born 1955-06-01, aged 70 at the cycle end 2026-03-04: certificate due 2026-04-03 (S1 art. 74)."""
    return make_licence(holder=make_person(birth_date=date(1955, 6, 1)), first_issued_on=date(2000, 3, 5),
                        valid_from=date(2020, 3, 5))  # fmt: skip


@pytest.mark.django_db
def test_certificate_deferral_runs_until_its_end_or_a_certificate(holder_of_70):
    licence = holder_of_70
    offer = _check(licence, "B14", date(2026, 3, 20))
    assert isinstance(offer, licence_rules.Deferral) and offer.deadline == date(2026, 4, 3)
    services.licence_defer(
        licence_id=licence.pk,
        kind="medical",
        reason="abroad",
        until=date(2026, 10, 1),
        today=date(2026, 3, 20),
    )
    licence.refresh_from_db()
    assert "P" in _codes(licence, date(2026, 5, 1))
    assert selectors.licence_status(licence, today=date(2026, 5, 1)).medical_due == date(2026, 10, 1)
    # Counted from the deadline deferred, not from the deferral's end.
    assert selectors.licence_facts(licence, today=date(2026, 5, 1)).medical_due == date(2026, 4, 3)
    assert "P" not in _codes(licence, date(2026, 10, 2))
    licence.last_medical_on = date(2026, 9, 1)  # within 6 months before the deferred end
    licence.save()
    assert "P" not in _codes(licence, date(2026, 9, 2))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reason", "until", "code"),
    [
        ("holiday", date(2026, 10, 1), "licence.deferral_reason_unknown"),
        ("abroad", date(2026, 4, 3), "licence.deferral_end_too_early"),
        ("abroad", date(2029, 4, 4), "licence.deferral_too_long"),
        ("abroad", date(2029, 4, 3), ""),
    ],
)
def test_certificate_deferral_reason_and_end(holder_of_70, reason, until, code):
    result = selectors.licence_deferral_check(
        licence=holder_of_70, business_code="B14", reason=reason, until=until, today=date(2026, 3, 20)
    )
    assert (result.code if isinstance(result, licence_rules.Refusal) else "") == code
