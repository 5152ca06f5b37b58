"""Rule vectors for jiaoguan.registry.licence_rules (issue 13, REQ B8-B14).

Dates are worked by hand from design/RULES.md. Pure functions: no database, no Django.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.registry.licence_rules import (
    DEFERRAL_REASONS,
    Deferral,
    DeferralKind,
    Exchange,
    LicenceFacts,
    Refusal,
    RenewalOpen,
    age_limit_exchange,
    deferral_allowed,
    deferral_latest_until,
    medical_certificate_refusal,
    next_validity_term,
    renewal_allowed,
    renewal_window,
    replacement_allowed,
)
from jiaoguan.registry.rules import LICENCE_STATUS, ValidityTerm

S6_FROM = date(2025, 1, 1)  # 公安部令第172号: the 60-year limit becomes 63
BEFORE_S6 = date(2024, 12, 31)


def facts(**overrides: object) -> LicenceFacts:
    values: dict[str, object] = {
        "birth_date": date(1980, 5, 10),
        "classes": "C1",
        "valid_from": date(2020, 3, 5),  # six years: valid until 2026-03-05
        "validity_term": "6y",
    }
    values.update(overrides)
    return LicenceFacts(**values)  # type: ignore[arg-type]


def assert_refused(result: object, code: str) -> Refusal:
    assert isinstance(result, Refusal), result
    assert result.code == code
    assert not result.allowed
    assert result.zh and result.en
    return result


# ---------------------------------------------------------------------------
# B8 renewal window: 90 days before expiry, then the overdue year (S1 art. 62, 79)
# ---------------------------------------------------------------------------

EXPIRES = date(2026, 3, 5)


def test_day_91_before_expiry_is_too_early() -> None:
    refusal = assert_refused(
        renewal_window(facts(), EXPIRES - timedelta(days=91)), "licence.renewal_too_early"
    )
    assert refusal.on == date(2025, 12, 5)  # 90 days before 2026-03-05
    assert "2025-12-05" in refusal.remedy_zh and "2025-12-05" in refusal.remedy_en


def test_day_90_before_expiry_opens_the_window() -> None:
    result = renewal_window(facts(), EXPIRES - timedelta(days=90))
    assert isinstance(result, RenewalOpen) and result.allowed
    assert result.opens_on == date(2025, 12, 5)
    assert result.expires_on == EXPIRES
    assert result.last_day == date(2027, 3, 5)
    assert not result.overdue


def test_expiry_day_is_not_overdue_and_the_day_after_is() -> None:
    on_expiry = renewal_window(facts(), EXPIRES)
    after = renewal_window(facts(), EXPIRES + timedelta(days=1))
    assert isinstance(on_expiry, RenewalOpen) and not on_expiry.overdue
    assert isinstance(after, RenewalOpen) and after.overdue


def test_last_overdue_day_is_allowed_and_the_day_after_is_too_late() -> None:
    last = renewal_window(facts(), date(2027, 3, 5))
    assert isinstance(last, RenewalOpen) and last.overdue
    refusal = assert_refused(renewal_window(facts(), date(2027, 3, 6)), "licence.renewal_too_late")
    assert refusal.on == date(2027, 3, 5)
    assert "科目一" in refusal.remedy_zh and "subject-1" in refusal.remedy_en


def test_long_term_licence_has_nothing_to_renew() -> None:
    refusal = assert_refused(
        renewal_window(facts(validity_term="long"), EXPIRES), "licence.renewal_long_term"
    )
    assert refusal.remedy_en  # points to replacement


def test_deferred_renewal_keeps_the_window_open_to_the_deferral_end() -> None:
    deferred = facts(status="N", renewal_deferred_until=date(2028, 3, 5))
    during = renewal_window(deferred, date(2027, 6, 1))
    assert isinstance(during, RenewalOpen) and not during.overdue
    assert during.expires_on == date(2028, 3, 5)
    assert during.last_day == date(2029, 3, 5)
    assert_refused(renewal_window(deferred, date(2029, 3, 6)), "licence.renewal_too_late")


@given(
    valid_from=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    term=st.sampled_from(["6y", "10y"]),
    offset=st.integers(min_value=-400, max_value=800),
)
def test_window_is_one_contiguous_span(valid_from: date, term: str, offset: int) -> None:
    """Allowed exactly on the days opens_on..last_day; too early before, too late after."""
    f = facts(valid_from=valid_from, validity_term=term)
    expires = f.valid_until
    assert expires is not None
    today = expires + timedelta(days=offset)
    result = renewal_window(f, today)
    opens = expires - timedelta(days=90)
    last = renewal_window(f, expires)
    assert isinstance(last, RenewalOpen)
    if today < opens:
        assert_refused(result, "licence.renewal_too_early")
    elif today > last.last_day:
        assert_refused(result, "licence.renewal_too_late")
    else:
        assert isinstance(result, RenewalOpen)
        assert result.overdue == (today > expires)


def test_renewal_checks_status_before_dates() -> None:
    refusal = assert_refused(
        renewal_allowed(facts(status="G"), date(2030, 1, 1), medical_issued_on=None), "licence.status_G"
    )
    assert "注销" in refusal.zh and refusal.remedy_zh


def test_renewal_needs_a_medical_certificate_of_the_last_six_months() -> None:
    today = EXPIRES - timedelta(days=10)
    assert_refused(renewal_allowed(facts(), today, medical_issued_on=None), "licence.medical_missing")
    assert_refused(
        renewal_allowed(facts(), today, medical_issued_on=today - timedelta(days=184)),
        "licence.medical_expired",
    )
    result = renewal_allowed(facts(), today, medical_issued_on=today - timedelta(days=183))
    assert isinstance(result, RenewalOpen)


def test_renewal_allowed_while_overdue_status_m() -> None:
    today = EXPIRES + timedelta(days=30)
    result = renewal_allowed(facts(status="M"), today, medical_issued_on=today)
    assert isinstance(result, RenewalOpen) and result.overdue


def test_medical_certificate_from_the_future_is_a_caller_error() -> None:
    with pytest.raises(ValueError):
        medical_certificate_refusal(date(2026, 1, 2), date(2026, 1, 1))


# ---------------------------------------------------------------------------
# Validity steps (S1 art. 13, 63)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "reached_12", "expected"),
    [
        ("6y", False, ValidityTerm.TEN_YEARS),
        ("6y", True, ValidityTerm.SIX_YEARS),
        ("10y", False, ValidityTerm.LONG_TERM),
        ("10y", True, ValidityTerm.TEN_YEARS),
        ("long", False, ValidityTerm.LONG_TERM),
        ("long", True, ValidityTerm.LONG_TERM),
    ],
)
def test_next_validity_term(current: str, reached_12: bool, expected: ValidityTerm) -> None:
    assert next_validity_term(current, reached_12) == expected


def test_validity_steps_to_long_term_in_two_clean_renewals() -> None:
    term = ValidityTerm.SIX_YEARS
    steps = []
    for reached in (True, False, True, False):  # a 12-point cycle holds the step once each time
        term = next_validity_term(term, reached)
        steps.append(term.value)
    assert steps == ["6y", "10y", "10y", "long"]


def test_unknown_term_is_rejected() -> None:
    with pytest.raises(ValueError):
        next_validity_term("5y", False)


# ---------------------------------------------------------------------------
# B9 age-limit exchange (S1 art. 65; S6 from 2025-01-01)
# ---------------------------------------------------------------------------

BIRTH = date(1960, 6, 15)


def _on_birthday(age: int) -> date:
    return BIRTH.replace(year=BIRTH.year + age)


@pytest.mark.parametrize(
    ("age", "decided_on", "due"),
    [
        # Before S6: the large classes stop at 60.
        (59, BEFORE_S6, False),
        (60, BEFORE_S6, True),
        (62, BEFORE_S6, True),
        (63, BEFORE_S6, True),
        # Under S6: at 63.
        (59, S6_FROM, False),
        (60, S6_FROM, False),
        (62, S6_FROM, False),
        (63, S6_FROM, True),
        (69, S6_FROM, True),
    ],
)
def test_large_class_exchange_under_both_rules(age: int, decided_on: date, due: bool) -> None:
    today = _on_birthday(age)
    exchange = age_limit_exchange(birth_date=BIRTH, classes="B2", decided_on=decided_on, today=today)
    if not due:
        assert exchange is None
        return
    assert isinstance(exchange, Exchange)
    assert exchange.from_classes == ("B2",)
    assert exchange.to_classes == ("C1", "C2")
    limit = 60 if decided_on < S6_FROM else 63
    assert exchange.limit_age == limit
    assert exchange.rule_from == (date(2004, 5, 1) if decided_on < S6_FROM else S6_FROM)
    assert exchange.due_by == _on_birthday(limit) + timedelta(days=30)


def test_exchange_due_within_30_days() -> None:
    reached = _on_birthday(63)
    on_day_30 = age_limit_exchange(
        birth_date=BIRTH, classes="A1", decided_on=S6_FROM, today=reached + timedelta(days=30)
    )
    on_day_31 = age_limit_exchange(
        birth_date=BIRTH, classes="A1", decided_on=S6_FROM, today=reached + timedelta(days=31)
    )
    assert on_day_30 is not None and not on_day_30.overdue
    assert on_day_31 is not None and on_day_31.overdue


def test_the_day_before_the_birthday_is_still_below_the_limit() -> None:
    day_before = _on_birthday(63) - timedelta(days=1)
    assert age_limit_exchange(birth_date=BIRTH, classes="A1", decided_on=S6_FROM, today=day_before) is None


def test_a2_keeps_c6_and_other_classes_stay() -> None:
    exchange = age_limit_exchange(birth_date=BIRTH, classes="A2D", decided_on=S6_FROM, today=_on_birthday(63))
    assert exchange is not None
    assert exchange.from_classes == ("A2",)
    assert exchange.to_classes == ("C1C6D", "C2C6D")


@pytest.mark.parametrize("decided_on", [BEFORE_S6, S6_FROM])
@pytest.mark.parametrize(("age", "due"), [(69, False), (70, True)])
def test_small_limited_classes_at_70_under_both_rules(decided_on: date, age: int, due: bool) -> None:
    exchange = age_limit_exchange(
        birth_date=BIRTH, classes="C1E", decided_on=decided_on, today=_on_birthday(age)
    )
    if not due:
        assert exchange is None
        return
    assert exchange is not None
    assert exchange.from_classes == ("E",)
    assert exchange.to_classes == ("C1F",)
    assert exchange.limit_age == 70


def test_c6_at_70_becomes_a_small_car_class() -> None:
    exchange = age_limit_exchange(birth_date=BIRTH, classes="C6", decided_on=S6_FROM, today=_on_birthday(70))
    assert exchange is not None and exchange.to_classes == ("C1", "C2")


def test_only_dropped_classes_left_means_cancellation() -> None:
    exchange = age_limit_exchange(birth_date=BIRTH, classes="C3", decided_on=S6_FROM, today=_on_birthday(70))
    assert exchange is not None and exchange.cancels and exchange.to_classes == ("",)
    tram = age_limit_exchange(birth_date=BIRTH, classes="P", decided_on=BEFORE_S6, today=_on_birthday(60))
    assert tram is not None and tram.cancels


def test_large_class_still_held_at_70_is_long_overdue() -> None:
    exchange = age_limit_exchange(birth_date=BIRTH, classes="B2E", decided_on=S6_FROM, today=_on_birthday(70))
    assert exchange is not None
    assert exchange.from_classes == ("B2", "E")
    assert exchange.to_classes == ("C1F", "C2F")
    assert exchange.limit_age == 63 and exchange.overdue


def test_leap_day_birthday_reaches_the_age_on_1_march() -> None:
    born = date(1960, 2, 29)
    assert (
        age_limit_exchange(birth_date=born, classes="A1", decided_on=S6_FROM, today=date(2023, 2, 28)) is None
    )
    exchange = age_limit_exchange(birth_date=born, classes="A1", decided_on=S6_FROM, today=date(2023, 3, 1))
    assert exchange is not None and exchange.due_by == date(2023, 3, 31)


@given(
    birth=st.dates(min_value=date(1940, 1, 1), max_value=date(1975, 12, 31)),
    days=st.integers(min_value=0, max_value=365 * 12),
)
def test_exchange_once_due_stays_due(birth: date, days: int) -> None:
    """Ageing never removes an exchange obligation under one rule row (monotone in today)."""
    today = date(2025, 1, 1) + timedelta(days=days)
    first = age_limit_exchange(birth_date=birth, classes="A2E", decided_on=S6_FROM, today=today)
    later = age_limit_exchange(
        birth_date=birth, classes="A2E", decided_on=S6_FROM, today=today + timedelta(days=1)
    )
    if first is not None:
        assert later is not None
        assert set(first.from_classes) <= set(later.from_classes)


# ---------------------------------------------------------------------------
# B10/B11 replacement: statuses
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["A", "P", "T", "PT"])
def test_replacement_allowed(status: str) -> None:
    assert replacement_allowed(status).allowed


@pytest.mark.parametrize(
    "status", ["B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "R", "S", "U", "Z"]
)
def test_replacement_refused_with_reason_and_remedy(status: str) -> None:
    refusal = assert_refused(replacement_allowed(status), f"licence.status_{status}")
    assert LICENCE_STATUS[status][0] in refusal.zh
    assert refusal.remedy_zh and refusal.remedy_en


def test_expired_licence_is_sent_to_renewal() -> None:
    refusal = assert_refused(replacement_allowed("M"), "licence.status_M")
    assert "期满换证" in refusal.remedy_zh and "renewal" in refusal.remedy_en


def test_unknown_status_code_is_refused() -> None:
    assert_refused(replacement_allowed("AX"), "licence.status_X")


# ---------------------------------------------------------------------------
# B12-B14 deferral (S1 art. 75): up to 3 years, statuses N, T, P
# ---------------------------------------------------------------------------


def test_renewal_deferral_up_to_three_years_after_expiry() -> None:
    today = date(2026, 1, 10)
    latest = date(2029, 3, 5)
    assert deferral_latest_until(DeferralKind.RENEWAL, facts()) == latest
    granted = deferral_allowed(
        kind="renewal", reason="abroad", requested_until=latest, facts=facts(), today=today
    )
    assert isinstance(granted, Deferral) and granted.allowed
    assert granted.status_code == "N" and granted.until == latest and granted.deadline == EXPIRES
    refusal = assert_refused(
        deferral_allowed(
            kind="renewal",
            reason="abroad",
            requested_until=latest + timedelta(days=1),
            facts=facts(),
            today=today,
        ),
        "licence.deferral_too_long",
    )
    assert refusal.on == latest


def test_deferral_must_end_after_the_deadline() -> None:
    assert_refused(
        deferral_allowed(
            kind="renewal", reason="abroad", requested_until=EXPIRES, facts=facts(), today=date(2026, 1, 10)
        ),
        "licence.deferral_end_too_early",
    )


def test_deferral_after_the_deadline_is_refused_unless_already_deferred() -> None:
    today = EXPIRES + timedelta(days=1)
    until = date(2027, 1, 1)
    assert_refused(
        deferral_allowed(kind="renewal", reason="abroad", requested_until=until, facts=facts(), today=today),
        "licence.deferral_deadline_passed",
    )
    extended = deferral_allowed(
        kind="renewal", reason="abroad", requested_until=until, facts=facts(status="N"), today=today
    )
    assert isinstance(extended, Deferral)


def test_review_and_medical_deferrals_set_t_and_p() -> None:
    f = facts(classes="B2", review_due=date(2026, 4, 30), medical_due=date(2026, 5, 20))
    review = deferral_allowed(
        kind="review",
        reason="military_service",
        requested_until=date(2027, 4, 30),
        facts=f,
        today=date(2026, 4, 1),
    )
    medical = deferral_allowed(
        kind=DeferralKind.MEDICAL,
        reason="abroad",
        requested_until=date(2029, 5, 20),
        facts=f,
        today=date(2026, 4, 1),
    )
    assert isinstance(review, Deferral) and review.status_code == "T"
    assert isinstance(medical, Deferral) and medical.status_code == "P"
    assert_refused(
        deferral_allowed(
            kind="medical",
            reason="abroad",
            requested_until=date(2029, 5, 21),
            facts=f,
            today=date(2026, 4, 1),
        ),
        "licence.deferral_too_long",
    )


def test_nothing_due_nothing_to_defer() -> None:
    assert_refused(
        deferral_allowed(
            kind="review",
            reason="abroad",
            requested_until=date(2027, 1, 1),
            facts=facts(),
            today=date(2026, 1, 1),
        ),
        "licence.deferral_nothing_due",
    )
    assert_refused(
        deferral_allowed(
            kind="renewal",
            reason="abroad",
            requested_until=date(2027, 1, 1),
            facts=facts(validity_term="long"),
            today=date(2026, 1, 1),
        ),
        "licence.deferral_nothing_due",
    )


def test_unknown_reason_and_blocking_status() -> None:
    assert_refused(
        deferral_allowed(
            kind="renewal",
            reason="holiday",
            requested_until=date(2027, 1, 1),
            facts=facts(),
            today=date(2026, 1, 1),
        ),
        "licence.deferral_reason_unknown",
    )
    assert_refused(
        deferral_allowed(
            kind="renewal",
            reason="abroad",
            requested_until=date(2027, 1, 1),
            facts=facts(status="F"),
            today=date(2026, 1, 1),
        ),
        "licence.status_F",
    )
    # A held licence may still have its deadline moved.
    held = deferral_allowed(
        kind="renewal",
        reason="abroad",
        requested_until=date(2027, 1, 1),
        facts=facts(status="U"),
        today=date(2026, 1, 1),
    )
    assert isinstance(held, Deferral)


def test_reasons_table_names_and_proof_in_both_languages() -> None:
    for reason in DEFERRAL_REASONS.values():
        assert reason.zh and reason.en and reason.proof_zh and reason.proof_en and reason.source
    assert DEFERRAL_REASONS["other"].officer_review


@given(
    offset=st.integers(min_value=1, max_value=365 * 4),
    kind=st.sampled_from(list(DeferralKind)),
)
def test_granted_deferral_never_exceeds_three_years(offset: int, kind: DeferralKind) -> None:
    f = facts(review_due=date(2026, 4, 30), medical_due=date(2026, 5, 20))
    deadline = {"renewal": EXPIRES, "review": date(2026, 4, 30), "medical": date(2026, 5, 20)}[kind.value]
    until = deadline + timedelta(days=offset)
    result = deferral_allowed(
        kind=kind, reason="abroad", requested_until=until, facts=f, today=date(2026, 1, 1)
    )
    latest = deadline.replace(year=deadline.year + 3)
    assert result.allowed == (until <= latest)
