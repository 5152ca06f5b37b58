"""Pure rules of inspection booking (机动车安全技术检验预约, B4): the booking window, the station's
calendar, the re-test deadline. No ORM, no clock: callers pass ``today``.

The inspection schedule itself (which dues are on site, validity ends) is the registry's
(``registry.rules.inspection_schedule``, S4 art. 16 and the 2022-10-01 reform); this module
only adds what booking a place needs on top of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from jiaoguan.registry.rules import inspection_window_start

# ASSUMPTION (no national rule found): an overdue vehicle may book from today up to 4 weeks
# ahead; it is overdue already, so the platform asks for the nearest free place, not any day.
OVERDUE_BOOKING_WEEKS = 4
# The station calendar is materialised this far ahead (the periodic task keeps it so).
SLOT_WEEKS_AHEAD = 8
MAX_PLACES_PER_HALF_DAY = 500
# ASSUMPTION after GB 38900-2020 practice (复检): a failed vehicle is re-tested after repair
# within its current validity, and at least within 30 days of the failed inspection even
# when the validity ends sooner or has already ended.
RETEST_MIN_DAYS = 30
# Vehicle status codes (S7) with which no inspection can be booked: transferred out, stolen,
# deregistered (own request or compulsory), scrapping age reached.
BLOCKING_STATUS_CODES = frozenset("BCEMP")


class Half(StrEnum):
    """Half day of a slot (上午/下午)."""

    MORNING = "am"
    AFTERNOON = "pm"

    @property
    def label_zh(self) -> str:
        return "上午" if self is Half.MORNING else "下午"

    @property
    def label_en(self) -> str:
        return "morning" if self is Half.MORNING else "afternoon"


WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Refusal:
    """Why a booking cannot be made, in both languages, with a stable code."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class BookingWindow:
    """The days on which a vehicle may be booked for inspection, both included."""

    opens_on: date
    closes_on: date
    overdue: bool

    def contains(self, day: date) -> bool:
        return self.opens_on <= day <= self.closes_on


def booking_window(
    *,
    valid_until: date,
    state: str,
    on_site: bool,
    today: date,
    overdue_weeks: int = OVERDUE_BOOKING_WEEKS,
) -> BookingWindow | Refusal:
    """The window a booking must fall in, or why the vehicle cannot be booked now (B4).

    - due soon and the next due is on site: from the opening of the S3 art. 54 window (the due
      month and the two before it) or today, whichever is later, to the validity end;
    - overdue: from today, up to ``overdue_weeks`` weeks (ASSUMPTION above);
    - due soon but label only (年份 2, 4, 8 of a private small car): no inspection to book, the
      label is applied for online (E2);
    - valid: not yet; the answer names the day the window opens.
    """
    if state == "overdue":
        return BookingWindow(today, today + timedelta(weeks=overdue_weeks), True)
    opens = inspection_window_start(valid_until)
    if state == "due_soon" and on_site:
        return BookingWindow(max(today, opens), valid_until, False)
    if state == "due_soon":
        return Refusal(
            "inspections.label_only",
            "本次检验为免检（仅发检验标志），无需上线检验，请在网上申领检验标志。",
            "This due is label-only (exempt from on-site inspection): apply for the label online instead.",
        )
    return Refusal(
        "inspections.not_due",
        f"该车检验有效期至{valid_until:%Y年%m月%d日}，尚未到预约时间；{opens:%Y年%m月%d日}起可预约。",
        f"The inspection is valid until {valid_until:%Y-%m-%d}; booking opens on {opens:%Y-%m-%d}.",
    )


def status_refusal(status_codes: str) -> Refusal | None:
    """A stored vehicle status that rules out an inspection (transferred, stolen, deregistered...)."""
    blocking = sorted(set(status_codes or "") & BLOCKING_STATUS_CODES)
    if not blocking:
        return None
    codes = "".join(blocking)
    return Refusal(
        "inspections.vehicle_status",
        f"机动车状态为{codes}，不能预约检验，请联系车管所。",
        f"The vehicle's status ({codes}) does not allow an inspection; contact the vehicle office.",
    )


def same_city(division_a: str, division_b: str) -> bool:
    """Stations serve the vehicles of their city (the first 4 digits of GB/T 2260)."""
    return len(division_a) == 6 and len(division_b) == 6 and division_a[:4] == division_b[:4]


def retest_deadline(*, inspected_on: date, valid_until: date) -> date:
    """The last day for the re-test after a failed inspection (ASSUMPTION above)."""
    return max(valid_until, inspected_on + timedelta(days=RETEST_MIN_DAYS))


# ---------------------------------------------------------------- the station's calendar

WeeklyPattern = Mapping[str, list[int]]  # weekday "0" (Monday) .. "6" -> [morning, afternoon]


def weekly_pattern_clean(pattern: Mapping[str, object]) -> dict[str, list[int]]:
    """A weekly pattern with every weekday present and places within 0..MAX; ValueError otherwise."""
    clean: dict[str, list[int]] = {}
    for weekday in range(7):
        raw = pattern.get(str(weekday), [0, 0])
        if not isinstance(raw, list | tuple) or len(raw) != 2:
            raise ValueError(f"weekday {weekday}: two numbers expected")
        places = []
        for value in raw:
            number = int(value)  # type: ignore[call-overload]
            if not 0 <= number <= MAX_PLACES_PER_HALF_DAY:
                raise ValueError(f"weekday {weekday}: 0 to {MAX_PLACES_PER_HALF_DAY} places")
            places.append(number)
        clean[str(weekday)] = places
    return clean


def day_capacity(
    *, day: date, weekly: WeeklyPattern, override: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Places (morning, afternoon) on ``day``: the day's override (a closed day is (0, 0)) or the
    weekly pattern."""
    if override is not None:
        return override
    morning, afternoon = weekly.get(str(day.weekday()), [0, 0])
    return int(morning), int(afternoon)


def capacity_after_change(*, wanted: int, booked: int) -> int:
    """A slot's capacity never drops below its bookings: places already given stay given (the
    owners are told by the station); only the free places go."""
    return max(wanted, booked)
