"""Working days and deadlines on China's official calendar plus the staff table (issue 13, REQUIREMENTS S1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import translation
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jiaoguan.core.models import AuditEntry, CalendarDay, CalendarYear
from jiaoguan.core.workdays import (
    CALENDAR_TZ,
    CUTOFF,
    PACKAGE_YEARS,
    CalendarUnknown,
    Deadline,
    WorkCalendar,
    add_working_days,
    deadline_text,
    is_working_day,
    load_calendar,
    working_days_between,
)

OFFICIAL = WorkCalendar()  # the package alone, no table rows


def at(day: str, hh: int = 10, mm: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hh, mm), tzinfo=CALENDAR_TZ)


def due(start: datetime, days: int, calendar: WorkCalendar = OFFICIAL) -> date | None:
    return calendar.add_working_days(start, days).due_on


# ---------------------------------------------------------------- the official calendar


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # 2024 National Day: 1-7 October off, Sunday 29 September and Saturday 12 October worked.
        ("2024-09-29", True),
        ("2024-09-30", True),
        ("2024-10-01", False),
        ("2024-10-04", False),
        ("2024-10-07", False),
        ("2024-10-08", True),
        ("2024-10-12", True),
        ("2024-10-13", False),
        # 2024 Mid-Autumn: 15-17 September off, Saturday 14 September worked.
        ("2024-09-14", True),
        ("2024-09-16", False),
        # 2025 Spring Festival: 28 January - 4 February off, Sunday 26 January and Saturday 8 February worked.
        ("2025-01-26", True),
        ("2025-01-27", True),
        ("2025-01-28", False),
        ("2025-02-04", False),
        ("2025-02-05", True),
        ("2025-02-08", True),
        ("2025-02-09", False),
        # An ordinary week.
        ("2025-03-10", True),
        ("2025-03-14", True),
        ("2025-03-15", False),
        ("2025-03-16", False),
    ],
)
def test_official_days(day, working):
    assert OFFICIAL.is_working_day(date.fromisoformat(day)) is working


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # The receipt day is not counted: within 1 working day of a Monday morning is Tuesday.
        (at("2025-03-10"), 1, "2025-03-11"),
        (at("2025-03-14"), 1, "2025-03-17"),
        (at("2025-03-14", 16, 59), 1, "2025-03-17"),
        # At or after the cut-off, or on a day off, the submission is received the next working day.
        (at("2025-03-14", 17, 0), 1, "2025-03-18"),
        (at("2025-03-15"), 1, "2025-03-18"),
        (at("2025-03-10"), 0, "2025-03-10"),
        (at("2025-03-15"), 0, "2025-03-17"),
        # Posted within 1/2/3 working days across National Day 2024.
        (at("2024-09-30"), 1, "2024-10-08"),
        (at("2024-09-30"), 2, "2024-10-09"),
        (at("2024-09-30"), 3, "2024-10-10"),
        (at("2024-09-28"), 1, "2024-09-30"),  # Saturday off: received on the working Sunday
        (at("2024-10-11", 18), 1, "2024-10-14"),  # after the cut-off: received on the working Saturday
        (at("2024-10-03"), 1, "2024-10-09"),
        # Spring Festival 2025.
        (at("2025-01-27"), 1, "2025-02-05"),
        (at("2025-01-27"), 4, "2025-02-08"),
        (at("2025-01-25"), 1, "2025-01-27"),
        (at("2025-01-30"), 3, "2025-02-08"),
    ],
)
def test_deadline_vectors(start, days, expected):
    deadline = OFFICIAL.add_working_days(start, days)
    assert deadline == Deadline(due_on=date.fromisoformat(expected), known=True)
    assert deadline.due_at == datetime.combine(deadline.due_on, CUTOFF, tzinfo=CALENDAR_TZ)


def test_the_cut_off_is_beijing_time_whatever_the_start_zone():
    assert due(datetime(2025, 3, 10, 8, 59, tzinfo=UTC), 1) == date(2025, 3, 11)  # 16:59 in Beijing
    assert due(datetime(2025, 3, 10, 9, 0, tzinfo=UTC), 1) == date(2025, 3, 12)  # 17:00 in Beijing
    assert due(datetime(2025, 3, 9, 23, 0, tzinfo=UTC), 1) == date(2025, 3, 11)  # Monday 07:00 in Beijing


def test_bad_arguments_are_programming_errors():
    with pytest.raises(ValueError):
        OFFICIAL.add_working_days(datetime(2025, 3, 10, 10), 1)
    with pytest.raises(ValueError):
        OFFICIAL.add_working_days(at("2025-03-10"), -1)


def test_working_days_between():
    assert OFFICIAL.working_days_between(date(2024, 9, 30), date(2024, 10, 8)) == 1
    assert OFFICIAL.working_days_between(date(2024, 10, 8), date(2024, 10, 14)) == 5  # with Saturday the 12th
    assert OFFICIAL.working_days_between(date(2024, 10, 14), date(2024, 10, 8)) == -5
    assert OFFICIAL.working_days_between(date(2025, 3, 10), date(2025, 3, 10)) == 0


def test_the_package_knows_the_years_it_has_a_notice_for_and_no_more():
    assert PACKAGE_YEARS.start <= 2004 and PACKAGE_YEARS.stop - 1 >= 2026
    after = date(PACKAGE_YEARS.stop, 3, 1)
    with pytest.raises(CalendarUnknown) as caught:
        OFFICIAL.is_working_day(after)
    assert caught.value.year == after.year
    assert caught.value.code == "core.calendar_unknown" and caught.value.status == 503
    assert str(after.year) in caught.value.message_zh and str(after.year) in caught.value.message_en


def test_late_december_waits_for_the_next_years_notice():
    """A notice can move the last days of the year before (2018-12-29 worked, 2018-12-31 off)."""
    last = PACKAGE_YEARS.stop - 1
    assert OFFICIAL.is_working_day(date(2018, 12, 29)) is True
    assert OFFICIAL.is_working_day(date(2018, 12, 31)) is False
    with pytest.raises(CalendarUnknown) as caught:
        OFFICIAL.is_working_day(date(last, 12, 28))
    assert caught.value.year == last + 1
    assert WorkCalendar(complete_years=frozenset({last + 1})).missing_year(date(last, 12, 28)) is None


# ---------------------------------------------------------------- properties

KNOWN_STARTS = st.datetimes(
    min_value=datetime(PACKAGE_YEARS.start, 1, 1),
    max_value=datetime(PACKAGE_YEARS.stop - 1, 11, 30, 23, 59),
    timezones=st.just(CALENDAR_TZ),
)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@PROPERTY
@given(start=KNOWN_STARTS, days=st.integers(1, 10))
def test_a_deadline_is_the_nth_working_day_after_receipt(start, days):
    deadline = OFFICIAL.add_working_days(start, days)
    assert deadline.known
    assert OFFICIAL.is_working_day(deadline.due_on)
    received = OFFICIAL.receipt_day(start)
    assert received >= start.date() and OFFICIAL.is_working_day(received)
    # The working days strictly between receipt and the deadline are days - 1.
    assert OFFICIAL.working_days_between(received, deadline.due_on) - 1 == days - 1
    if start.time() < CUTOFF and OFFICIAL.is_working_day(start.date()):
        assert OFFICIAL.working_days_between(start.date(), deadline.due_on) - 1 == days - 1


@PROPERTY
@given(start=KNOWN_STARTS, first=st.integers(1, 10), second=st.integers(1, 10))
def test_adding_in_two_steps_equals_adding_at_once(start, first, second):
    assume(start.time() < CUTOFF and OFFICIAL.is_working_day(start.date()))
    middle = OFFICIAL.add_working_days(start, first).due_on
    again = datetime.combine(middle, start.timetz())
    assert due(again, second) == due(start, first + second)


@PROPERTY
@given(
    start=st.datetimes(
        min_value=datetime(2101, 1, 1), max_value=datetime(2101, 11, 30), timezones=st.just(CALENDAR_TZ)
    ),
    days=st.integers(1, 10),
    holidays=st.sets(st.dates(date(2101, 1, 1), date(2101, 12, 31)), max_size=40),
    worked=st.sets(st.dates(date(2101, 1, 1), date(2101, 12, 31)), max_size=10),
)
def test_a_staff_year_counts_weekdays_less_its_holidays_plus_its_worked_weekends(
    start, days, holidays, worked
):
    overrides = {day: False for day in holidays} | {day: True for day in worked - holidays}
    calendar = WorkCalendar(overrides=overrides, complete_years=frozenset({2101, 2102}))
    deadline = calendar.add_working_days(start, days)
    assert deadline.known
    day = deadline.due_on
    assert overrides.get(day, day.weekday() < 5)
    assert calendar.working_days_between(calendar.receipt_day(start), day) == days


# ---------------------------------------------------------------- the staff table extends and overrides


def _first_monday_of_march(year: int) -> date:
    day = date(year, 3, 1)
    return day + timedelta(days=(7 - day.weekday()) % 7)


@pytest.mark.django_db
def test_a_year_past_the_package_is_flagged_until_staff_mark_it_complete():
    year = PACKAGE_YEARS.stop
    monday = _first_monday_of_march(year)
    start = datetime.combine(monday, time(9), tzinfo=CALENDAR_TZ)

    with pytest.raises(CalendarUnknown):
        is_working_day(monday)
    flagged = add_working_days(start, 1)
    assert flagged == Deadline(due_on=None, known=False, unknown_year=year)
    assert flagged.due_at is None
    assert str(year) in deadline_text(flagged)

    # Rows alone do not make a year known: its other days may still be missing.
    CalendarDay.objects.create(date=monday + timedelta(days=1), kind="holiday", name="测试假日")
    CalendarDay.objects.create(date=monday + timedelta(days=5), kind="working_day", name="测试假日")
    entry = CalendarYear.objects.create(year=year, complete=False)
    assert add_working_days(start, 1).known is False

    entry.complete = True
    entry.save()
    assert add_working_days(start, 1) == Deadline(due_on=monday + timedelta(days=2), known=True)
    assert add_working_days(start, 4).due_on == monday + timedelta(days=5)  # the worked Saturday
    assert working_days_between(monday, monday + timedelta(days=7)) == 5


@pytest.mark.django_db
def test_a_table_row_overrides_the_package():
    start = at("2024-09-30")
    assert add_working_days(start, 1).due_on == date(2024, 10, 8)
    CalendarDay.objects.create(date=date(2024, 10, 8), kind="holiday", name="国庆节", note="测试")
    CalendarDay.objects.create(date=date(2024, 10, 7), kind="working_day", name="国庆节", note="测试")
    calendar = load_calendar()
    assert calendar.is_working_day(date(2024, 10, 8)) is False
    assert add_working_days(start, 1, calendar) == Deadline(due_on=date(2024, 10, 7), known=True)
    assert add_working_days(start, 2, calendar).due_on == date(2024, 10, 9)


@pytest.mark.django_db
def test_the_next_year_complete_releases_late_december():
    last = PACKAGE_YEARS.stop - 1
    start = datetime.combine(date(last, 12, 21), time(9), tzinfo=CALENDAR_TZ)
    assert add_working_days(start, 10).known is False
    CalendarYear.objects.create(year=last + 1, complete=True)
    assert add_working_days(start, 10).known is True


def test_deadline_text_in_both_languages():
    known = Deadline(due_on=date(2025, 3, 11), known=True)
    unknown = Deadline(due_on=None, known=False, unknown_year=2031)
    with translation.override("zh-hans"):
        assert deadline_text(known) == "2025-03-11 17:00 前"
        assert "2031年工作日历尚未录入" in deadline_text(unknown)
    with translation.override("en"):
        assert deadline_text(known) == "by 17:00 on 2025-03-11"
        assert "2031" in deadline_text(unknown) and "calendar" in deadline_text(unknown)


@pytest.mark.django_db
def test_staff_entries_are_recorded_and_audited(make_staff, client):
    admin = make_staff(role="administrator", jurisdiction="411700", username="calendar-admin")
    client.force_login(admin)
    response = client.post(
        "/admin/core/calendarday/add/",
        {"date": "2031-02-03", "kind": "holiday", "name": "春节", "note": "国办发明电〔2030〕X号"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    day = CalendarDay.objects.get(date=date(2031, 2, 3))
    assert day.recorded_by == admin
    entry = AuditEntry.objects.get(subject_type="core.calendarday", subject_id=str(day.pk))
    assert entry.action == "create" and "春节" in entry.summary

    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="calendar-clerk")
    client.force_login(clerk)
    assert client.get("/admin/core/calendarday/").status_code == 200
    client.post("/admin/core/calendaryear/add/", {"year": "2031", "complete": "on"})
    assert not CalendarYear.objects.exists()
