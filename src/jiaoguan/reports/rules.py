"""Pure rules of the reports to government bodies and companies (通报、抄告, N2): periods, who is
a large-vehicle driver, which vehicles count as commercial, what is "overdue".

No ORM, no clock: callers pass ``today``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from jiaoguan.registry.rules import add_months, is_large_class, split_classes


class Cadence(StrEnum):
    """How often a report is made: every month, or on the event (a daily run over the day before)."""

    MONTHLY = "monthly"
    ON_EVENT = "on_event"

    @property
    def label_zh(self) -> str:
        return "每月" if self is Cadence.MONTHLY else "发生时（每日汇总前一日）"

    @property
    def label_en(self) -> str:
        return "monthly" if self is Cadence.MONTHLY else "on event (daily, the day before)"


@dataclass(frozen=True)
class Period:
    """The days a report covers, both ends inclusive, and its label (``2026-11`` or ``2026-12-04``)."""

    cadence: Cadence
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.cadence is Cadence.MONTHLY:
            return f"{self.start:%Y-%m}"
        return self.start.isoformat()


def month_period(day: date) -> Period:
    """The calendar month containing ``day``."""
    start = day.replace(day=1)
    return Period(Cadence.MONTHLY, start, add_months(start, 1) - timedelta(days=1))


def day_period(day: date) -> Period:
    return Period(Cadence.ON_EVENT, day, day)


# A daily run that was missed (the worker down over a weekend) is made up by the next one: it
# covers the days before today that have no finished batch, this many back at most.
CATCH_UP_DAYS = 7


def due_periods(cadence: Cadence, *, today: date) -> list[Period]:
    """The periods a run on ``today`` makes (oldest first): the previous calendar month, or the
    last :data:`CATCH_UP_DAYS` days before today. Finished ones are skipped by the caller, so a
    repeat of the run makes nothing new."""
    if cadence is Cadence.MONTHLY:
        return [month_period(today.replace(day=1) - timedelta(days=1))]
    return [day_period(today - timedelta(days=n)) for n in range(CATCH_UP_DAYS, 0, -1)]


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(cadence: Cadence, text: str) -> Period:
    """The period a person typed: ``2026-11`` for a monthly report, ``2026-12-04`` for an event
    report. ValueError when it is not one."""
    text = (text or "").strip()
    if cadence is Cadence.MONTHLY:
        match = _MONTH.match(text)
        if not match:
            raise ValueError("a month is written as 2026-11")
        return month_period(date(int(match.group(1)), int(match.group(2)), 1))
    return day_period(date.fromisoformat(text))


def period_closed(period: Period, *, today: date) -> bool:
    """A report is made only for a period that is over (its figures no longer change)."""
    return period.end < today


# ---------------------------------------------------------------- who and what the reports are about

# Commercial vehicles (营运车辆) for R01: every use nature operated for hire or reward, school buses
# and dangerous-goods vehicles included (R01 names them beside "营运车").
OPERATING_USES = frozenset(
    {
        "commercial_passenger",
        "city_bus",
        "taxi",
        "rental",
        "training",
        "freight",
        "dangerous_goods",
        "school_bus",
    }
)
# Passenger and freight transport vehicles (客货运车辆) for R04; school buses have their own report (R03).
PASSENGER_FREIGHT_USES = frozenset(
    {"commercial_passenger", "city_bus", "taxi", "rental", "freight", "dangerous_goods"}
)

# ASSUMPTION: a violation is "overdue, unhandled" (超期未处理) 15 days after the offence: the
# period the electronic-monitoring notice gives the driver to come and handle it. The seed names
# no number.
OVERDUE_AFTER_DAYS = 15
# R01: "累积3起及以上".
R01_MIN_VIOLATIONS = 3
# R11: the full score of a scoring cycle (S2).
FULL_SCORE = 12

# Vehicle status codes (S7) of a vehicle no longer on this office's roll: B transferred out,
# E deregistered, M forcibly deregistered. Such vehicles are left out of the vehicle reports.
GONE_VEHICLE_CODES = frozenset("BEM")


def vehicle_gone(status: str) -> bool:
    return any(code in GONE_VEHICLE_CODES for code in status or "")


def overdue_cutoff(period_end: date) -> date:
    """The last offence day that is overdue when the period ends (R01)."""
    return period_end - timedelta(days=OVERDUE_AFTER_DAYS)


def holds_large_class(classes: str) -> bool:
    """Whether a class string holds any of A1 A2 A3 B1 B2 (大中型客货车, S1 art. 11)."""
    known, _unknown = split_classes(classes)
    return any(is_large_class(code) for code in known)


def large_classes(classes: str) -> str:
    """The large classes of a class string, in order ("A2B2"), "" when none."""
    known, _unknown = split_classes(classes)
    return "".join(code for code in known if is_large_class(code))


def crossed_full_score(*, before: int, after: int) -> bool:
    """Whether the points of a cycle reached the full score between two moments (R11)."""
    return before < FULL_SCORE <= after


def sum_points(values: Iterable[int]) -> int:
    """Cycle points never go below zero (a study reduction cannot make credit)."""
    return max(0, sum(values))
