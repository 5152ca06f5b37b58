"""Working days (工作日) on China's official calendar, for business deadlines (issue 13, REQUIREMENTS S1, S2).

Deadlines such as "accepted within 1 working day" or "posted within 2 working days" count the
days the State Council's yearly notice (国务院办公厅关于部分节假日安排的通知) makes working days:
Monday to Friday minus the holidays, plus the adjusted working weekends (调休上班).

Which package: ``holidays`` (its ``China`` calendar), not ``chinese-calendar``. Both know the
adjusted working weekends (``holidays`` derives them from each notice's substituted days and
keeps them in ``weekend_workdays``); ``holidays`` 0.109 carries the notices of 2001-2026,
``chinese-calendar`` 1.11 those of 2004-2026, and the two agree on every day of 2004-2026 but
2005-12-31. ``holidays`` also extrapolates years after its last notice by rule (a Saturday
holiday moved to Monday) with no adjusted working days; that is a guess, so only the years
it has a notice for count as known (:data:`PACKAGE_YEARS`).

Staff extend and correct it in the back office: a :class:`~jiaoguan.core.models.CalendarDay`
row overrides the package for its date, and a year the package does not know counts as known
once staff mark it complete with a :class:`~jiaoguan.core.models.CalendarYear` row (then its
days without a row are Monday-Friday). A day of an unknown year raises :class:`CalendarUnknown`;
a deadline that would need one is returned flagged (``Deadline.known`` false), never guessed.

A notice can also change the last days of the year before (2007-12-29 worked and 2007-12-31 off
by the 2008 notice, 2018-12-29 and 2018-12-31 by the 2019 one), so the days from
:data:`NEXT_NOTICE_REACHES_BACK_TO` to 31 December count as known only once the next year is.

The functions take an optional :class:`WorkCalendar` (what :func:`load_calendar` read); pass
one when computing many deadlines so the table is read once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from django.utils.translation import gettext

from .errors import DomainError

# The official calendar is Beijing time whatever the server's time zone is.
CALENDAR_TZ = ZoneInfo("Asia/Shanghai")

# The end of a working day: offices and counters close their business at 17:00, so an online
# submission after it is first seen the next working day, and a deadline day ends then too
# (Civil Code art. 203: where there are business hours, the period ends when business stops).
CUTOFF = time(17, 0)

# The earliest day of December a next year's notice has ever changed is the 29th (2001, 2007,
# 2018); from the 24th leaves room for a whole weekend before a New Year holiday.
NEXT_NOTICE_REACHES_BACK_TO = (12, 24)


def _package_years() -> range:
    """The years ``holidays`` has a State Council notice for; empty if its data moved."""
    try:
        from holidays.countries.china import ChinaStaticHolidays

        years = sorted(ChinaStaticHolidays.special_public_holidays)
    except (ImportError, AttributeError):  # a future release reorganised: fall back to the table
        return range(0)
    return range(years[0], years[-1] + 1) if years else range(0)


PACKAGE_YEARS: range = _package_years()


@cache
def _official() -> Any:
    # expand=False: a date outside the notices' years must never be filled in by rule.
    return holidays.country_holidays("CN", years=PACKAGE_YEARS, expand=False)


class CalendarUnknown(DomainError):
    """A day of a year whose working-day calendar is neither packaged nor entered by staff."""

    status = 503

    def __init__(self, day: date, year: int | None = None) -> None:
        # The year to enter: the day's own, or the next one for the last days of December.
        self.year = year or day.year
        self.day = day
        super().__init__(
            "core.calendar_unknown",
            f"{self.year}年的工作日历尚未公布或尚未录入，暂时无法计算办理时限。",
            f"The working-day calendar for {self.year} has not been published or entered yet; "
            "the deadline cannot be computed yet.",
            detail={"year": self.year, "date": day.isoformat()},
        )


@dataclass(frozen=True)
class Deadline:
    """The last day to act: ``known`` false (and ``due_on`` None) when the calendar runs out.

    A flagged deadline names the first ``unknown_year`` so staff see which year to enter; it
    is computed again once they have, as nothing here is stored.
    """

    due_on: date | None
    known: bool
    unknown_year: int | None = None

    @property
    def due_at(self) -> datetime | None:
        """The moment the deadline passes: the cut-off of its last working day, Beijing time."""
        if self.due_on is None:
            return None
        return datetime.combine(self.due_on, CUTOFF, tzinfo=CALENDAR_TZ)


@dataclass(frozen=True)
class WorkCalendar:
    """The staff table as read once: overriding days and the years marked complete."""

    overrides: Mapping[date, bool] = field(default_factory=dict)  # date -> is a working day
    complete_years: frozenset[int] = frozenset()

    def knows_year(self, year: int) -> bool:
        return year in PACKAGE_YEARS or year in self.complete_years

    def missing_year(self, day: date) -> int | None:
        """The year whose calendar ``day`` still waits for, or None when the day is known."""
        if day in self.overrides:
            return None
        if not self.knows_year(day.year):
            return day.year
        if (day.month, day.day) >= NEXT_NOTICE_REACHES_BACK_TO and not self.knows_year(day.year + 1):
            return day.year + 1
        return None

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day; :class:`CalendarUnknown` when nobody knows yet."""
        if day in self.overrides:
            return self.overrides[day]
        missing = self.missing_year(day)
        if missing is not None:
            raise CalendarUnknown(day, missing)
        if day.year in PACKAGE_YEARS:
            return bool(_official().is_working_day(day))
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """The first working day after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def receipt_day(self, start: datetime) -> date:
        """The working day a submission at ``start`` counts as received on."""
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        local = start.astimezone(CALENDAR_TZ)
        if local.time() < CUTOFF and self.is_working_day(local.date()):
            return local.date()
        return self.next_working_day(local.date())

    def add_working_days(self, start: datetime, days: int) -> Deadline:
        """The deadline ``days`` working days after a submission at ``start``.

        The receipt day itself is not counted (Civil Code art. 201: a period counted in days
        starts the next day), so "within 1 working day" of a Monday-morning submission is
        Tuesday's cut-off. A submission after the cut-off or on a day off is received the
        next working day. Beyond the known calendar the deadline is flagged, not guessed.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        try:
            day = self.receipt_day(start)
            for _ in range(days):
                day = self.next_working_day(day)
        except CalendarUnknown as unknown:
            return Deadline(due_on=None, known=False, unknown_year=unknown.year)
        return Deadline(due_on=day, known=True)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b``; negative when ``b`` is before ``a``.

        ``working_days_between(deadline.due_on, today)`` is how many working days a case is
        overdue by (0 on the deadline day itself).
        """
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        day = a + timedelta(days=1)
        while day <= b:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count


def load_calendar() -> WorkCalendar:
    """Selector: the staff-maintained calendar rows, read once (a few dozen rows a year)."""
    from .models import CalendarDay, CalendarYear

    overrides = {
        row.date: row.kind == CalendarDay.Kind.WORKING_DAY for row in CalendarDay.objects.only("date", "kind")
    }
    complete = frozenset(CalendarYear.objects.filter(complete=True).values_list("year", flat=True))
    return WorkCalendar(overrides=overrides, complete_years=complete)


def is_working_day(day: date, calendar: WorkCalendar | None = None) -> bool:
    """Whether ``day`` is a working day; raises :class:`CalendarUnknown` for an unknown year."""
    return (calendar or load_calendar()).is_working_day(day)


def add_working_days(start: datetime, days: int, calendar: WorkCalendar | None = None) -> Deadline:
    """The deadline ``days`` working days after a submission at ``start`` (see WorkCalendar)."""
    return (calendar or load_calendar()).add_working_days(start, days)


def working_days_between(a: date, b: date, calendar: WorkCalendar | None = None) -> int:
    """Working days after ``a`` up to and including ``b``; raises :class:`CalendarUnknown`."""
    return (calendar or load_calendar()).working_days_between(a, b)


def deadline_text(deadline: Deadline) -> str:
    """The deadline in words for pages: its day and cut-off, or why it cannot be given yet."""
    if deadline.due_on is None:
        return gettext("暂时无法计算（%(year)s年工作日历尚未录入）") % {"year": deadline.unknown_year}
    return gettext("%(date)s %(time)s 前") % {
        "date": f"{deadline.due_on:%Y-%m-%d}",
        "time": f"{CUTOFF:%H:%M}",
    }
