"""Rules of the old-neighbourhood parking segments (老旧小区周边道路停车, O8; seed 004 §五).

Pure functions: no ORM, no clock. Whether a day is a working day comes in as a function (the
platform's working-day calendar, core.workdays), so an adjusted working Saturday (调休上班) is
neither a weekend day nor a day off here, and the days of a statutory holiday are days off.

A time window belongs to the day it starts on: 19:00-07:00 on a working day covers that evening
and the next morning, whatever the next day is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

# Bounds of mainland China, loosely: a point outside is a typing error (latitude for longitude).
LON_RANGE = (73.0, 136.0)
LAT_RANGE = (3.0, 54.0)
MAX_POINTS = 20
MAX_WINDOWS = 6
# How far ahead "not allowed until" looks: the longest holiday plus a weekend fits in it.
LOOK_AHEAD_DAYS = 10
# A run of days off longer than this is not a holiday a calendar knows; stop looking.
LONGEST_RUN_OFF = 12

WorkingDay = Callable[[date], bool]


class Days(StrEnum):
    """Which days a window applies on."""

    EVERY_DAY = "every_day"  # 每天
    DAYS_OFF = "days_off"  # 周末和法定节假日: every day that is not a working day
    WEEKENDS = "weekends"  # 周末: Saturday and Sunday unless adjusted to a working day
    HOLIDAYS = "holidays"  # 法定节假日: the days of a statutory holiday


DAYS_WORDS: dict[str, tuple[str, str]] = {
    Days.EVERY_DAY: ("每天", "every day"),
    Days.DAYS_OFF: ("周末和法定节假日", "weekends and public holidays"),
    Days.WEEKENDS: ("周末", "weekends"),
    Days.HOLIDAYS: ("法定节假日", "public holidays"),
}


@dataclass(frozen=True)
class Window:
    """A time window (允许停车时段): on which days, from when to when (all day: midnight to midnight)."""

    days: str
    start: time
    end: time
    all_day: bool = False


@dataclass(frozen=True)
class Refusal:
    code: str
    zh: str
    en: str
    field: str = ""


# ---------------------------------------------------------------- days


def is_holiday(day: date, is_working_day: WorkingDay) -> bool:
    """A day of a statutory holiday: a day off in a run of days off that holds a weekday.

    The State Council's notices move a holiday that falls on a weekend to a weekday, so every
    holiday run holds a weekday off, and a plain weekend holds none. The weekend days inside a
    holiday (the Saturday of the National Day week) are holiday days too.
    """
    if is_working_day(day):
        return False
    if day.weekday() < 5:
        return True
    for step in (-1, 1):
        other = day + timedelta(days=step)
        for _ in range(LONGEST_RUN_OFF):
            if is_working_day(other):
                break
            if other.weekday() < 5:
                return True
            other += timedelta(days=step)
    return False


def window_applies_on(window: Window, day: date, is_working_day: WorkingDay) -> bool:
    """Whether the window opens on ``day`` (the day it starts, for an overnight window)."""
    if window.days == Days.EVERY_DAY:
        return True
    if is_working_day(day):
        return False  # an adjusted working weekend is neither a weekend day nor a day off
    if window.days == Days.DAYS_OFF:
        return True
    if window.days == Days.WEEKENDS:
        return day.weekday() >= 5
    if window.days == Days.HOLIDAYS:
        return is_holiday(day, is_working_day)
    return False


def _span(window: Window, day: date) -> tuple[datetime, datetime]:
    if window.all_day:
        start = datetime.combine(day, time(0, 0))
        return start, start + timedelta(days=1)
    start = datetime.combine(day, window.start)
    end = datetime.combine(day, window.end)
    if window.end <= window.start:  # overnight: ends the next morning
        end += timedelta(days=1)
    return start, end


def intervals(
    windows: Iterable[Window], first: date, last: date, is_working_day: WorkingDay
) -> list[tuple[datetime, datetime]]:
    """The times parking is allowed for windows opening from ``first`` to ``last``, merged."""
    spans: list[tuple[datetime, datetime]] = []
    windows = list(windows)
    day = first
    while day <= last:
        spans += [_span(w, day) for w in windows if window_applies_on(w, day, is_working_day)]
        day += timedelta(days=1)
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass(frozen=True)
class Now:
    """May I park here now: ``allowed``, and ``until`` when that changes (None: not within the
    days looked at)."""

    allowed: bool
    until: datetime | None


def parking_now(windows: Sequence[Window], at: datetime, is_working_day: WorkingDay) -> Now:
    """Whether parking is allowed at ``at`` (local wall-clock time, naive) and until when (O8)."""
    at = at.replace(tzinfo=None, second=0, microsecond=0)
    today = at.date()
    spans = intervals(
        windows, today - timedelta(days=1), today + timedelta(days=LOOK_AHEAD_DAYS), is_working_day
    )
    for start, end in spans:
        if start <= at < end:
            # A span that reaches the end of the days looked at may go on: say so only as far as known.
            return Now(True, end)
        if start > at:
            return Now(False, start)
    return Now(False, None)


# ---------------------------------------------------------------- what staff enter


def window_refusals(windows: Sequence[Window]) -> list[Refusal]:
    """What is wrong with a segment's time windows (empty when nothing is)."""
    found: list[Refusal] = []
    if len(windows) > MAX_WINDOWS:
        found.append(
            Refusal(
                "parking.windows.too_many",
                f"一个路段最多设置 {MAX_WINDOWS} 个允许停车时段。",
                f"A segment has at most {MAX_WINDOWS} time windows.",
                "windows",
            )
        )
    seen: set[Window] = set()
    for n, w in enumerate(windows, start=1):
        if w.days not in set(Days):
            found.append(
                Refusal(
                    "parking.windows.days",
                    f"第 {n} 个时段的适用日期不正确，请选择每天、周末、法定节假日或周末和法定节假日。",
                    f"Window {n}: choose every day, weekends, public holidays, or weekends and public holidays.",
                    "windows",
                )
            )
        if not w.all_day and w.start == w.end:
            found.append(
                Refusal(
                    "parking.windows.empty",
                    f"第 {n} 个时段的开始和结束时间相同；全天允许停车请勾选“全天”，跨夜时段如 19:00 至次日 07:00。",
                    f"Window {n} starts and ends at the same time; tick all day for a whole day, or give an "
                    "overnight window such as 19:00 to 07:00.",
                    "windows",
                )
            )
        key = Window(w.days, w.start, w.end, w.all_day)
        if key in seen:
            found.append(
                Refusal(
                    "parking.windows.duplicate",
                    f"第 {n} 个时段与前面的时段重复。",
                    f"Window {n} repeats an earlier one.",
                    "windows",
                )
            )
        seen.add(key)
    return found


def point_refusals(points: Sequence[tuple[float, float]]) -> list[Refusal]:
    """What is wrong with the segment's line on the map: 2 to 20 points of longitude, latitude."""
    if len(points) < 2 or len(points) > MAX_POINTS:
        return [
            Refusal(
                "parking.points.count",
                f"路段走向需 2 至 {MAX_POINTS} 个经纬度点，每行一个“经度，纬度”。",
                f"The segment's line needs 2 to {MAX_POINTS} points, one 'longitude,latitude' a line.",
                "points",
            )
        ]
    for n, (lon, lat) in enumerate(points, start=1):
        if not (LON_RANGE[0] <= lon <= LON_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
            return [
                Refusal(
                    "parking.points.range",
                    f"第 {n} 个点不在我国境内：请按“经度，纬度”填写，例如 114.02,32.98。",
                    f"Point {n} is not in China: write 'longitude,latitude', for example 114.02,32.98.",
                    "points",
                )
            ]
    if len(set(points)) < 2:
        return [
            Refusal(
                "parking.points.same",
                "路段起点和终点不能是同一个点。",
                "The segment cannot start and end at the same point.",
                "points",
            )
        ]
    return []


def publish_refusal(*, emergency_access_kept: bool, windows: Sequence[Window]) -> Refusal | None:
    """Why a segment may not be published, or None (seed 004 §五 一: 路内停车不得影响应急救援车辆通行)."""
    if not emergency_access_kept:
        return Refusal(
            "parking.emergency_access",
            "路内停车不得影响应急救援车辆通行：确认该路段停车后仍留有应急通道，方可发布。",
            "Parking on the road must not block emergency vehicles: confirm the segment keeps emergency "
            "access before publishing it.",
            "emergency_access_kept",
        )
    if not windows:
        return Refusal(
            "parking.windows.none",
            "请至少设置一个允许停车的时段后再发布。",
            "Give at least one time window before publishing the segment.",
            "windows",
        )
    problems = window_refusals(windows)
    return problems[0] if problems else None


def parse_points(text: str) -> list[tuple[float, float]]:
    """ "lon,lat" a line (or separated by semicolons) into points; ValueError on anything else."""
    points: list[tuple[float, float]] = []
    for raw in text.replace(";", "\n").replace("；", "\n").splitlines():
        line = raw.strip().replace("，", ",")
        if not line:
            continue
        lon_text, sep, lat_text = line.partition(",")
        if not sep:
            raise ValueError(line)
        points.append((round(float(lon_text), 6), round(float(lat_text), 6)))
    return points
