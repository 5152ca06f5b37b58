"""The booking window per vehicle kind and age, with dates (B4 on S4 art. 16, the 2022-10-01
reform and S3 art. 54): the registry's schedule says when a due falls and whether it is on site;
the booking window adds from when to when a place may be booked."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.inspections import rules
from jiaoguan.registry.rules import inspection_status, inspection_valid_until


def window(kind, use, registered_on, last_inspected_on, today):
    """What the booking page computes for a vehicle on ``today``."""
    due = inspection_valid_until(
        kind=kind, use=use, registered_on=registered_on, last_inspected_on=last_inspected_on, as_of=today
    )
    state = inspection_status(valid_until=due.due_on, today=today)
    return rules.booking_window(valid_until=due.due_on, state=state, on_site=due.on_site, today=today)


W = rules.BookingWindow
CAR = ("small_passenger", "private", date(2020, 5, 13))


# ---------------------------------------------------------------- private small car (2022 reform)


@pytest.mark.parametrize(
    ("last", "today", "expected"),
    [
        # Year 2 (2022-05) and year 4 (2024-05): label only, nothing to book (E2).
        (None, date(2022, 4, 1), "inspections.label_only"),
        (date(2022, 5, 20), date(2024, 4, 15), "inspections.label_only"),
        # Year 6 (due 2026-05-31) is on site: the window opens on 2026-03-01 (the due month and
        # the two before it) and closes on the validity end.
        (date(2024, 5, 20), date(2026, 2, 27), "inspections.not_due"),
        (date(2024, 5, 20), date(2026, 3, 1), W(date(2026, 3, 1), date(2026, 5, 31), False)),
        (date(2024, 5, 20), date(2026, 4, 10), W(date(2026, 4, 10), date(2026, 5, 31), False)),
        # Overdue after 2026-05-31: from today for 4 weeks (ASSUMPTION OVERDUE_BOOKING_WEEKS).
        (date(2024, 5, 20), date(2026, 6, 10), W(date(2026, 6, 10), date(2026, 7, 8), True)),
        # Year 8 (2028-05) label only again; year 10 (2030-05) on site.
        (date(2026, 5, 20), date(2028, 4, 1), "inspections.label_only"),
        (date(2028, 5, 20), date(2030, 5, 2), W(date(2030, 5, 2), date(2030, 5, 31), False)),
        # Yearly after 10 years: due 2031-05-31, on site.
        (date(2030, 5, 20), date(2031, 3, 15), W(date(2031, 3, 15), date(2031, 5, 31), False)),
        # Every 6 months after 15 years: after the 2035-05 due comes 2035-11-30.
        (date(2035, 5, 20), date(2035, 9, 1), W(date(2035, 9, 1), date(2035, 11, 30), False)),
    ],
)
def test_private_small_car(last, today, expected):
    answer = window(*CAR, last, today)
    if isinstance(expected, str):
        assert isinstance(answer, rules.Refusal) and answer.code == expected
    else:
        assert answer == expected


def test_not_due_names_the_day_the_window_opens():
    answer = window(*CAR, date(2024, 5, 20), date(2025, 12, 1))
    assert isinstance(answer, rules.Refusal)
    assert "2026年03月01日" in answer.zh and "2026-03-01" in answer.en


def test_a_van_has_no_label_only_years():
    # Vans keep the plain S4 rule: every 2 years to 6, on site; the year-2 due is bookable.
    answer = window("small_van", "private", date(2020, 5, 13), None, date(2022, 4, 2))
    assert answer == W(date(2022, 4, 2), date(2022, 5, 31), False)


# ---------------------------------------------------------------- commercial passenger, truck, motorcycle


def test_commercial_passenger_yearly_to_five_then_every_six_months():
    taxi = ("small_passenger", "taxi", date(2020, 5, 13))
    assert window(*taxi, date(2024, 5, 10), date(2025, 4, 1)) == W(date(2025, 4, 1), date(2025, 5, 31), False)
    # After 5 years the next due is six months on: 2025-11-30.
    assert window(*taxi, date(2025, 5, 20), date(2025, 10, 8)) == W(
        date(2025, 10, 8), date(2025, 11, 30), False
    )


def test_truck_yearly_to_ten_then_every_six_months():
    truck = ("heavy_truck", "freight", date(2015, 3, 2))
    assert window(*truck, date(2023, 3, 20), date(2024, 2, 1)) == W(
        date(2024, 2, 1), date(2024, 3, 31), False
    )
    assert window(*truck, date(2025, 3, 20), date(2025, 8, 1)) == W(
        date(2025, 8, 1), date(2025, 9, 30), False
    )
    assert window(*truck, date(2025, 3, 20), date(2025, 10, 3)) == W(
        date(2025, 10, 3), date(2025, 10, 31), True
    )


def test_private_motorcycle_label_only_in_years_two_and_four_then_yearly():
    bike = ("motorcycle", "private", date(2021, 8, 20))
    refused = window(*bike, date(2023, 8, 2), date(2025, 7, 1))
    assert isinstance(refused, rules.Refusal) and refused.code == "inspections.label_only"
    assert window(*bike, date(2025, 8, 2), date(2026, 6, 15)) == W(
        date(2026, 6, 15), date(2026, 8, 31), False
    )


# ---------------------------------------------------------------- status, city, re-test, calendar


def test_blocking_statuses():
    assert rules.status_refusal("A") is None
    assert rules.status_refusal("G") is None  # unhandled violations do not stop an inspection
    refused = rules.status_refusal("C")
    assert refused is not None and refused.code == "inspections.vehicle_status"


def test_stations_serve_their_city():
    assert rules.same_city("411702", "411721")
    assert not rules.same_city("411702", "411602")


def test_retest_deadline_is_the_validity_end_or_thirty_days():
    assert rules.retest_deadline(inspected_on=date(2026, 4, 10), valid_until=date(2026, 5, 31)) == date(
        2026, 5, 31
    )
    assert rules.retest_deadline(inspected_on=date(2026, 5, 25), valid_until=date(2026, 5, 31)) == date(
        2026, 6, 24
    )
    assert rules.retest_deadline(inspected_on=date(2026, 7, 1), valid_until=date(2026, 5, 31)) == date(
        2026, 7, 31
    )


def test_calendar_pattern_and_overrides():
    weekly = rules.weekly_pattern_clean({"0": [30, 20], "5": ["5", 0]})
    assert weekly["0"] == [30, 20] and weekly["5"] == [5, 0] and weekly["6"] == [0, 0]
    monday = date(2026, 12, 7)
    assert rules.day_capacity(day=monday, weekly=weekly) == (30, 20)
    assert rules.day_capacity(day=monday, weekly=weekly, override=(0, 0)) == (0, 0)
    with pytest.raises(ValueError):
        rules.weekly_pattern_clean({"1": [501, 0]})
    with pytest.raises(ValueError):
        rules.weekly_pattern_clean({"1": [1]})
    assert rules.capacity_after_change(wanted=2, booked=5) == 5
