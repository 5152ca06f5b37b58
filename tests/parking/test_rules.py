"""The parking rules (O8): windows, "may I park here now" at the edges, refusals to publish.

The calendar is the platform's (core.workdays): 2026-10-01 to 10-07 is the National Day and
Mid-Autumn holiday, Sunday 2026-09-20 and Saturday 2026-10-10 are adjusted working days (调休上班).
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from jiaoguan.core.workdays import WorkCalendar
from jiaoguan.parking import mapping, rules
from jiaoguan.parking.rules import Days, Window

working = WorkCalendar().is_working_day
NIGHT = Window(Days.EVERY_DAY, time(19, 0), time(7, 0))
DAYS_OFF = Window(Days.DAYS_OFF, time(0, 0), time(0, 0), all_day=True)


def test_the_calendar_this_test_relies_on():
    assert not working(date(2026, 10, 1)) and not working(date(2026, 10, 3))  # holiday, its Saturday
    assert working(date(2026, 10, 10))  # adjusted working Saturday
    assert working(date(2026, 9, 30)) and not working(date(2026, 10, 17)) and working(date(2026, 10, 16))


@pytest.mark.parametrize(
    ("at", "allowed", "until"),
    [
        # O8: a night window crossing midnight, on a plain Tuesday.
        (datetime(2026, 9, 29, 18, 59), False, datetime(2026, 9, 29, 19, 0)),
        (datetime(2026, 9, 29, 19, 0), True, datetime(2026, 9, 30, 7, 0)),
        (datetime(2026, 9, 29, 23, 59), True, datetime(2026, 9, 30, 7, 0)),
        (datetime(2026, 9, 30, 0, 0), True, datetime(2026, 9, 30, 7, 0)),
        (datetime(2026, 9, 30, 6, 59), True, datetime(2026, 9, 30, 7, 0)),
        (datetime(2026, 9, 30, 7, 0), False, datetime(2026, 9, 30, 19, 0)),
    ],
)
def test_night_window_crosses_midnight(at, allowed, until):
    assert rules.parking_now([NIGHT], at, working) == rules.Now(allowed, until)


def test_holiday_eve_night_runs_into_the_whole_holiday():
    """O8: the night before National Day joins the holiday's whole days; parking is allowed on
    until the morning after the last holiday day, and the adjusted Saturday 10-10 is a working day."""
    now = rules.parking_now([NIGHT, DAYS_OFF], datetime(2026, 9, 30, 20, 0), working)
    assert now == rules.Now(True, datetime(2026, 10, 8, 7, 0))
    # Holiday only (no night window): the eve itself is a working day, not allowed until midnight.
    holiday = Window(Days.HOLIDAYS, time(0, 0), time(0, 0), all_day=True)
    assert rules.parking_now([holiday], datetime(2026, 9, 30, 23, 59), working) == rules.Now(
        False, datetime(2026, 10, 1, 0, 0)
    )


def test_adjusted_working_saturday_is_not_a_weekend_day():
    weekends = Window(Days.WEEKENDS, time(8, 0), time(18, 0))
    # 2026-10-10 is a Saturday worked in exchange for the holiday: no weekend parking.
    now = rules.parking_now([weekends], datetime(2026, 10, 10, 12, 0), working)
    assert now == rules.Now(False, datetime(2026, 10, 11, 8, 0))
    assert not rules.window_applies_on(DAYS_OFF, date(2026, 10, 10), working)
    # A plain Saturday is.
    assert rules.parking_now([weekends], datetime(2026, 10, 17, 12, 0), working).allowed


def test_holiday_days_include_the_weekend_inside_the_holiday():
    assert rules.is_holiday(date(2026, 10, 3), working)  # Saturday inside the National Day week
    assert rules.is_holiday(date(2026, 10, 1), working)
    assert rules.is_holiday(date(2026, 9, 26), working)  # Saturday after Mid-Autumn Day (Friday 9-25)
    assert not rules.is_holiday(date(2026, 10, 17), working)  # a plain Saturday
    assert not rules.is_holiday(date(2026, 10, 10), working)  # worked


def test_nothing_ahead_says_so():
    assert rules.parking_now([], datetime(2026, 9, 29, 12, 0), working) == rules.Now(False, None)


def test_window_refusals():
    assert rules.window_refusals([NIGHT, DAYS_OFF]) == []
    empty = Window(Days.EVERY_DAY, time(7, 0), time(7, 0))
    assert [r.code for r in rules.window_refusals([empty])] == ["parking.windows.empty"]
    assert [r.code for r in rules.window_refusals([NIGHT, NIGHT])] == ["parking.windows.duplicate"]
    assert [r.code for r in rules.window_refusals([Window("sometimes", time(1, 0), time(2, 0))])] == [
        "parking.windows.days"
    ]
    assert "parking.windows.too_many" in [
        r.code
        for r in rules.window_refusals([Window(Days.EVERY_DAY, time(h, 0), time(h, 30)) for h in range(7)])
    ]


def test_publish_refused_without_emergency_access_or_windows():
    refusal = rules.publish_refusal(emergency_access_kept=False, windows=[NIGHT])
    assert refusal is not None and refusal.code == "parking.emergency_access"
    assert "应急救援车辆" in refusal.zh and "emergency" in refusal.en
    refusal = rules.publish_refusal(emergency_access_kept=True, windows=[])
    assert refusal is not None and refusal.code == "parking.windows.none"
    assert rules.publish_refusal(emergency_access_kept=True, windows=[NIGHT]) is None


def test_points():
    assert rules.parse_points("114.02,32.99\n114.03，32.99") == [(114.02, 32.99), (114.03, 32.99)]
    assert rules.parse_points("114.02,32.99;114.03,32.99") == [(114.02, 32.99), (114.03, 32.99)]
    with pytest.raises(ValueError):
        rules.parse_points("114.02 32.99")
    assert rules.point_refusals([(114.02, 32.99), (114.03, 32.99)]) == []
    assert rules.point_refusals([(114.02, 32.99)])[0].code == "parking.points.count"
    assert rules.point_refusals([(32.99, 114.02), (32.99, 114.03)])[0].code == "parking.points.range"
    assert rules.point_refusals([(114.02, 32.99), (114.02, 32.99)])[0].code == "parking.points.same"
    assert rules.point_refusals([(float("nan"), 32.99), (114.02, 32.99)])[0].code == "parking.points.range"


def test_map_fits_the_lines_north_up():
    drawing = mapping.draw(
        [
            mapping.Line(1, "交通路", "north", [(114.02, 32.99), (114.03, 32.99)]),
            mapping.Line(2, "文化路", "both", [(114.014, 32.990), (114.014, 32.980)]),
        ]
    )
    assert drawing.width == mapping.WIDTH and mapping.MIN_HEIGHT <= drawing.height <= mapping.MAX_HEIGHT
    assert drawing.view_box.startswith("0 0 360 ")
    for line in drawing.lines:
        for part in line.path.replace("M", "").split(" L"):
            x, y = (float(v) for v in part.split())
            assert 0 <= x <= drawing.width and 0 <= y <= drawing.height
    culture = drawing.lines[1].path
    first_y, last_y = float(culture.split(" L")[0].split()[1]), float(culture.split(" L")[-1].split()[1])
    assert first_y < last_y  # the northern end is drawn higher
    assert mapping.draw([]).lines == []
