"""Reads of the parking segments (O8): the public's published ones, the staff's of their jurisdiction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from jiaoguan.core.access import division_prefix_for
from jiaoguan.core.divisions import DIVISIONS, ZHUMADIAN, division_level, division_prefix, validate_division
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.workdays import CALENDAR_TZ, CalendarUnknown, WorkCalendar, load_calendar

from . import rules
from .models import Segment, SegmentChange, Window

VIEW = "parking.segment.view"
EDIT = "parking.segment.edit"
PUBLISH = "parking.segment.publish"

LIST_LIMIT = 200


class BadQuery(DomainError):
    """A query the public list cannot answer as asked (400)."""

    status = 400


def _with_windows(qs: QuerySet[Segment]) -> QuerySet[Segment]:
    return qs.prefetch_related(Prefetch("windows", queryset=Window.objects.order_by("id")))


def checked_division(code: str) -> str:
    """A district, county or city to list segments of; 400 with the reason otherwise."""
    code = (code or "").strip()
    try:
        validate_division(code)
    except DomainError as error:
        raise BadQuery(error.code, error.message_zh, error.message_en, detail=error.detail) from None
    if division_level(code) == "province":
        raise BadQuery(
            "parking.division.level",
            "请选择一个市或区县查询允许停车路段。",
            "Choose a city, district or county to list its parking segments.",
            field="division",
        )
    return code


def published_segments(*, division: str = "") -> QuerySet[Segment]:
    """Published segments, of a city or county when given (checked by :func:`checked_division`)."""
    qs = Segment.objects.filter(status=Segment.Status.PUBLISHED)
    if division:
        qs = qs.filter(division__startswith=division_prefix(checked_division(division)))
    return _with_windows(qs)


def published_segment(*, segment_id: int) -> Segment:
    segment = _with_windows(Segment.objects.filter(pk=segment_id, status=Segment.Status.PUBLISHED)).first()
    if segment is None:
        raise NotFound("parking.not_found", "没有这个允许停车路段。", "No such parking segment.")
    return segment


def segments_for_staff(*, actor: Any, status: str = "") -> QuerySet[Segment]:
    """Segments of the actor's jurisdiction, every status."""
    prefix = division_prefix_for(actor, EDIT)
    if prefix is None:
        return Segment.objects.none()
    qs = Segment.objects.filter(division__startswith=prefix)
    if status:
        qs = qs.filter(status=status)
    return _with_windows(qs)


def segment_changes(*, segment_id: int) -> QuerySet[SegmentChange]:
    return SegmentChange.objects.filter(segment_id=segment_id).select_related("actor")


def segment_get(*, segment_id: int) -> Segment:
    """A segment a service just changed (for the answer)."""
    return _with_windows(Segment.objects.filter(pk=segment_id)).get()


def district_choices(*, within: str = ZHUMADIAN) -> list[tuple[str, str]]:
    """The city and its districts and counties, for the public's choice."""
    prefix = division_prefix(within)
    return [(code, name) for code, name in sorted(DIVISIONS.items()) if code.startswith(prefix)]


def counties_for(*, actor: Any) -> list[tuple[str, str]]:
    """The districts and counties the actor may draft segments in."""
    prefix = division_prefix_for(actor, EDIT)
    if prefix is None:
        return []
    return [
        (code, name)
        for code, name in sorted(DIVISIONS.items())
        if code.startswith(prefix) and division_level(code) == "county"
    ]


def windows_of(segment: Segment) -> list[rules.Window]:
    return [rules.Window(w.days, w.start, w.end, w.all_day) for w in segment.windows.all()]


def working_day_function(calendar: WorkCalendar | None = None) -> Callable[[date], bool]:
    """The calendar's working days; a year nobody has entered counts Monday to Friday, since a
    parking answer must not fail for it (the list then says so only through the calendar)."""
    calendar = calendar or load_calendar()

    def working(day: date) -> bool:
        try:
            return calendar.is_working_day(day)
        except CalendarUnknown:
            return day.weekday() < 5

    return working


def local_now(now: datetime | None = None) -> datetime:
    """Beijing wall-clock time, naive, as the windows are written."""
    return (now or timezone.now()).astimezone(CALENDAR_TZ).replace(tzinfo=None)


def now_for(segment: Segment, *, at: datetime, working: Callable[[date], bool]) -> rules.Now:
    return rules.parking_now(windows_of(segment), at, working)
