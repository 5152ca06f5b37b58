"""Pure rules of acting for others: entrustable businesses and the 30-day bound (O5), the 60-year
floor and the one-business scope of an elderly proxy (O2)."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.core.errors import ValidationFailed
from jiaoguan.delegations import rules

TODAY = date(2026, 12, 6)


def _code(call) -> str:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return caught.value.code


def test_the_seed_lists_thirteen_vehicle_and_five_licence_businesses():
    areas = [e.area for e in rules.ENTRUSTABLE.values()]
    assert areas.count("vehicle") == 13 and areas.count("licence") == 5


@pytest.mark.parametrize(
    ("until", "ok"),
    [(date(2026, 12, 6), True), (date(2027, 1, 4), True), (date(2027, 1, 5), False)],
)
def test_an_entrustment_lasts_at_most_30_days_both_ends_counted(until, ok):
    def call():
        return rules.check_entrustment(
            businesses=["licence.replacement"], valid_from=TODAY, valid_until=until, today=TODAY
        )

    if ok:
        assert call() == ["licence.replacement"]
    else:
        assert _code(call) == "delegations.entrustment.too_long"


def test_businesses_come_back_in_the_seed_order_without_repeats():
    got = rules.check_entrustment(
        businesses=["licence.deferral", "vehicle.plate", "licence.deferral"], valid_from=TODAY,
        valid_until=TODAY, today=TODAY,
    )  # fmt: skip
    assert got == ["vehicle.plate", "licence.deferral"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"businesses": []}, "delegations.entrustment.no_business"),
        (
            {"businesses": ["vehicle.plate", "violation.handle"]},
            "delegations.entrustment.business_not_entrustable",
        ),
        ({"valid_from": date(2026, 12, 5)}, "delegations.entrustment.starts_in_past"),
        (
            {"valid_from": date(2027, 1, 6), "valid_until": date(2027, 1, 6)},
            "delegations.entrustment.starts_too_late",
        ),
        ({"valid_until": date(2026, 12, 5)}, "delegations.entrustment.ends_before_start"),
    ],
)
def test_bad_entrustments_are_refused_with_their_reason(kwargs, code):
    data = {"businesses": ["vehicle.plate"], "valid_from": TODAY, "valid_until": TODAY} | kwargs
    assert _code(lambda: rules.check_entrustment(**data, today=TODAY)) == code


def test_engine_businesses_map_to_what_covers_them():
    assert [e.code for e in rules.entrustable_for("B10")] == ["licence.replacement"]
    assert [e.code for e in rules.entrustable_for("B13")] == ["licence.deferral"]
    assert rules.entrustable_for("B19") == []


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(1966, 12, 6), TODAY, 60),
        (date(1966, 12, 7), TODAY, 59),
        (date(1964, 2, 29), date(2024, 2, 28), 59),
        (date(1964, 2, 29), date(2024, 2, 29), 60),
        (date(1964, 2, 29), date(2025, 3, 1), 61),
    ],
)
def test_age_in_full_years(birth, today, age):
    assert rules.age_on(birth, today) == age


def test_a_proxy_needs_sixty_full_years_and_a_listed_business():
    rules.check_proxy(business_code="B8", elder_birth_date=date(1966, 12, 6), today=TODAY)
    assert (
        _code(lambda: rules.check_proxy(business_code="B8", elder_birth_date=date(1966, 12, 7), today=TODAY))
        == "delegations.proxy.under_age"
    )
    # Deferring renewal is an entrustable business, not one of the elderly proxy's (O2).
    assert (
        _code(lambda: rules.check_proxy(business_code="B12", elder_birth_date=date(1950, 1, 1), today=TODAY))
        == "delegations.proxy.business_not_allowed"
    )


@pytest.mark.parametrize(
    ("revoked", "today", "status"),
    [
        (False, date(2026, 12, 9), "not_yet"),
        (False, date(2026, 12, 10), "valid"),
        (False, date(2026, 12, 20), "valid"),
        (False, date(2026, 12, 21), "expired"),
        (True, date(2026, 12, 12), "revoked"),
    ],
)
def test_entrustment_status_at_its_edges(revoked, today, status):
    assert (
        rules.entrustment_status(
            revoked=revoked, valid_from=date(2026, 12, 10), valid_until=date(2026, 12, 20), today=today
        )
        == status
    )
