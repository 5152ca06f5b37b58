"""Pure rules of truck restrictions and pass codes (O1, O1a; seed 004 §四): closed windows, the
6 open hours, no city-wide 24-hour ban, the pass window, and the blacklist table with dated
vectors (the row in force on the day, the edges of its 12-month window)."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.truck_passes import rules
from jiaoguan.truck_passes.rules import Refusal, Window

ALL = frozenset(rules.WEEKDAYS)


def w(days, start, end) -> Window:
    return Window(frozenset(days), rules.minutes_of(start), rules.minutes_of(end))


# ---------------------------------------------------------------- windows


def test_windows_parse_weekday_ranges_lists_and_midnight():
    parsed = rules.parse_windows("1-5 07:00-09:00\n6,7 00:00-24:00\n\n3 17:30~19:30")
    assert parsed == [
        w(range(1, 6), "07:00", "09:00"),
        w((6, 7), "00:00", "24:00"),
        w((3,), "17:30", "19:30"),
    ]


@pytest.mark.parametrize(
    "text",
    ["1-5 09:00-07:00", "8 07:00-09:00", "1-5 7点-9点", "5-1 07:00-09:00", "1-5 07:00-24:30", "monday"],
)
def test_bad_windows_are_refused_with_the_line(text):
    refusal = rules.parse_windows(f"1-7 22:00-23:00\n{text}")
    assert isinstance(refusal, Refusal) and refusal.code == "truck_passes.rule.window_format"
    assert "第2行" in refusal.zh and "Line 2" in refusal.en


def test_no_window_at_all_is_refused():
    assert rules.parse_windows("  \n").code == "truck_passes.rule.no_window"  # type: ignore[union-attr]


def test_overlapping_windows_count_once():
    windows = [w(ALL, "07:00", "10:00"), w(ALL, "09:00", "12:00"), w((1,), "11:00", "13:00")]
    assert rules.closed_minutes(windows, 1) == 6 * 60
    assert rules.closed_minutes(windows, 2) == 5 * 60


# ---------------------------------------------------------------- O1a


def test_eighteen_closed_hours_keep_six_open_and_pass():  # O1a: exactly 6 hours is enough
    windows = [w(ALL, "06:00", "24:00")]
    assert rules.zone_refusal(kind="ordinary", individual_road=False, windows=windows) is None


def test_fewer_than_six_open_hours_on_one_day_is_refused_naming_the_day():  # O1a
    windows = [w(range(1, 6), "06:00", "22:00"), w((6,), "05:01", "24:00")]
    refusal = rules.zone_refusal(kind="ordinary", individual_road=False, windows=windows)
    assert refusal is not None and refusal.code == "truck_passes.rule.open_hours"
    assert "周六" in refusal.zh and "Saturday" in refusal.en


def test_an_individual_road_of_a_core_area_may_close_all_day():  # O1a: 城市核心区个别道路
    windows = [w(ALL, "00:00", "24:00")]
    assert rules.zone_refusal(kind="core", individual_road=True, windows=windows) is None
    assert (
        rules.zone_refusal(kind="core", individual_road=False, windows=windows).code
        == "truck_passes.rule.open_hours"
    )
    assert (
        rules.zone_refusal(kind="ordinary", individual_road=True, windows=windows).code
        == "truck_passes.rule.exception_not_core"
    )


def test_a_whole_city_zone_closed_all_day_is_a_city_wide_ban():  # O1a: 全城24小时禁行
    refusal = rules.zone_refusal(kind="city", individual_road=False, windows=[w((7,), "00:00", "24:00")])
    assert refusal is not None and refusal.code == "truck_passes.rule.city_wide_ban" and "周日" in refusal.zh


def test_every_zone_of_the_city_closed_all_day_is_a_city_wide_ban():  # O1a
    closed = [w(ALL, "00:00", "24:00")]
    assert rules.city_refusal([closed, closed]).code == "truck_passes.rule.city_wide_ban"  # type: ignore[union-attr]
    assert rules.city_refusal([closed, [w(ALL, "07:00", "09:00")]]) is None
    assert rules.city_refusal([]) is None


# ---------------------------------------------------------------- the pass window (O1)


def test_a_pass_window_must_lie_inside_one_closed_window():
    windows = [w(range(1, 6), "07:00", "09:00"), w(ALL, "17:00", "19:00")]
    assert rules.pass_window_refusal(windows=windows, start=7 * 60, end=9 * 60) is None
    assert rules.pass_window_refusal(windows=windows, start=7 * 60 + 30, end=8 * 60) is None
    outside = rules.pass_window_refusal(windows=windows, start=8 * 60, end=10 * 60)
    assert (
        outside is not None
        and outside.code == "truck_passes.window.outside"
        and "1-5 07:00-09:00" in outside.zh
    )
    assert (
        rules.pass_window_refusal(windows=windows, start=9 * 60, end=9 * 60).code
        == "truck_passes.window.order"
    )
    assert rules.window_days(windows, 7 * 60, 9 * 60) == frozenset(range(1, 6))
    assert rules.window_days(windows, 17 * 60, 18 * 60) == ALL


def test_licence_classes_that_may_drive_each_truck():
    assert rules.can_drive(("C1",), "small_truck") and not rules.can_drive(("C1",), "heavy_truck")
    assert rules.can_drive(("A2", "D"), "tractor") and not rules.can_drive(("B2",), "tractor")


# ---------------------------------------------------------------- blacklist table, dated vectors (O1)

# (subject, as_of, violation days, accident days) -> (blacklisted, rule version, max codes, max days)
VECTORS = [
    # 2021-06 table: a company needs 20 violations or 3 accidents within the 12 months.
    ("company", date(2025, 3, 1), [date(2025, 1, 5)] * 19, [], (False, None, None, 90)),
    ("company", date(2025, 3, 1), [date(2025, 1, 5)] * 20, [], (True, "2021-06", 5, 15)),
    ("company", date(2025, 3, 1), [], [date(2024, 9, 1)] * 3, (True, "2021-06", 5, 15)),
    # The same events under the 2026-06 table (from 2026-06-01): 15 violations suffice.
    ("company", date(2026, 5, 31), [date(2026, 1, 5)] * 15, [], (False, None, None, 90)),
    ("company", date(2026, 6, 1), [date(2026, 1, 5)] * 15, [], (True, "2026-06", 3, 7)),
    # Vehicles: 6 violations or 2 accidents before 2026-06; 5 or 1 from then on.
    ("vehicle", date(2026, 5, 31), [date(2026, 2, 1)] * 5, [date(2026, 2, 1)], (False, None, None, 90)),
    ("vehicle", date(2026, 6, 1), [date(2026, 2, 1)] * 5, [], (True, "2026-06", 1, 7)),
    ("vehicle", date(2026, 6, 1), [], [date(2026, 2, 1)], (True, "2026-06", 1, 7)),
    # Edges of the window: an event exactly 12 months before does not count, the next day does,
    # and an event after the day of evaluation does not count either.
    ("vehicle", date(2026, 9, 15), [], [date(2025, 9, 15)], (False, None, None, 90)),
    ("vehicle", date(2026, 9, 15), [], [date(2025, 9, 16)], (True, "2026-06", 1, 7)),
    ("vehicle", date(2026, 9, 15), [], [date(2026, 9, 15)], (True, "2026-06", 1, 7)),
    ("vehicle", date(2026, 9, 15), [], [date(2026, 9, 16)], (False, None, None, 90)),
    # Before the table was in force nobody is blacklisted.
    ("company", date(2021, 5, 31), [date(2021, 5, 1)] * 50, [], (False, None, None, 90)),
]


@pytest.mark.parametrize(("subject", "as_of", "violations", "accidents", "expected"), VECTORS)
def test_blacklist_vectors(subject, as_of, violations, accidents, expected):
    verdict = rules.blacklist_verdict(
        subject=subject, as_of=as_of, violations_on=violations, accidents_on=accidents
    )
    limits = rules.limits(verdict)
    got = (
        verdict.blacklisted,
        verdict.rule.version if verdict.rule else None,
        limits.max_codes,
        limits.max_days,
    )
    assert got == expected
    if verdict.blacklisted:
        assert "黑名单" in verdict.reason_zh and "blacklisted" in verdict.reason_en
        assert f"违法{verdict.violations}起" in verdict.reason_zh


def test_the_table_has_one_row_per_subject_on_every_day():
    for day in (date(2021, 6, 1), date(2024, 2, 29), date(2026, 5, 31), date(2026, 6, 1), date(2040, 1, 1)):
        for subject in (rules.COMPANY, rules.VEHICLE):
            assert sum(1 for r in rules.BLACKLIST_TABLE if r.subject == subject and r.in_force(day)) == 1


def test_pass_states():
    kw = {"valid_from": date(2026, 6, 1), "valid_until": date(2026, 6, 30)}
    assert rules.pass_state(revoked=False, today=date(2026, 5, 31), **kw) == "not_yet"
    assert rules.pass_state(revoked=False, today=date(2026, 6, 30), **kw) == "valid"
    assert rules.pass_state(revoked=False, today=date(2026, 7, 1), **kw) == "expired"
    assert rules.pass_state(revoked=True, today=date(2026, 6, 2), **kw) == "revoked"
