"""Old-neighbourhood parking segments endpoints (老旧小区周边道路停车, O8). Thin handlers over
``services`` and ``selectors``: the public reads published segments by division; staff draft,
change, publish and withdraw those of their jurisdiction."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent

from . import rules, selectors, services
from .models import Segment

router = Router(tags=["parking"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}
AUTH = [BearerToken(), SessionUser()]


def caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class WindowSchema(Schema):
    days: str  # every_day | days_off | weekends | holidays
    start: time  # ignored when all_day
    end: time  # at or before start: the next morning
    all_day: bool = False


class SegmentOut(Schema):
    id: int
    number: str
    division: str
    road: str
    from_landmark: str
    to_landmark: str
    side: str  # north | south | east | west | both
    neighbourhood: str
    points: list[list[float]]  # [longitude, latitude], WGS 84
    conditions: str
    emergency_access_kept: bool
    marking: str  # signs_only | marked_bays
    marking_note: str
    windows: list[WindowSchema]
    version: int
    published_at: datetime | None
    parking_allowed_now: bool
    now_until: datetime | None  # when the answer above changes (Beijing time), if within 10 days


class StaffSegmentOut(SegmentOut):
    status: str  # draft | published | withdrawn


def segment_out(segment: Segment, *, at: datetime | None = None, working: Any = None) -> dict[str, Any]:
    at = at or selectors.local_now()
    windows = selectors.windows_of(segment)
    now = rules.parking_now(windows, at, working or selectors.working_day_function())
    return {
        "id": segment.pk, "number": segment.number, "division": segment.division, "road": segment.road,
        "from_landmark": segment.from_landmark, "to_landmark": segment.to_landmark, "side": segment.side,
        "neighbourhood": segment.neighbourhood, "points": segment.points, "conditions": segment.conditions,
        "emergency_access_kept": segment.emergency_access_kept, "marking": segment.marking,
        "marking_note": segment.marking_note,
        "windows": [{"days": w.days, "start": w.start, "end": w.end, "all_day": w.all_day} for w in windows],
        "version": segment.version, "published_at": segment.published_at,
        "parking_allowed_now": now.allowed,
        "now_until": now.until.replace(tzinfo=selectors.CALENDAR_TZ) if now.until else None,
        "status": segment.status,
    }  # fmt: skip


@router.get("/parking-segments", response={200: list[SegmentOut], **ERRORS}, auth=None)
@access_required(selectors.VIEW)
def segments(request: HttpRequest, division: str = "") -> Any:
    """Published segments where residents may park (O8), of a city, district or county
    (``division``, GB/T 2260; all when empty). A code that is not a listed city or county is
    refused with 400 ``division.format``, ``division.unknown`` or ``parking.division.level``."""
    rows = selectors.published_segments(division=division[:20])
    at, working = selectors.local_now(), selectors.working_day_function()
    return [segment_out(s, at=at, working=working) for s in rows[: selectors.LIST_LIMIT]]


@router.get("/parking-segments/{segment_id}", response={200: SegmentOut, **ERRORS}, auth=None)
@access_required(selectors.VIEW)
def segment(request: HttpRequest, segment_id: int) -> Any:
    """One published segment (404 ``parking.not_found`` for drafts and withdrawn ones)."""
    return segment_out(selectors.published_segment(segment_id=segment_id))


# ---------------------------------------------------------------- staff


class SegmentIn(InputSchema):
    division: str = Field(..., max_length=6)
    road: str = Field(..., max_length=60)
    from_landmark: str = Field(..., max_length=60)
    to_landmark: str = Field(..., max_length=60)
    side: str = Field(..., max_length=8)
    neighbourhood: str = Field(..., max_length=80)
    points: list[tuple[float, float]] = Field(..., max_length=rules.MAX_POINTS)
    windows: list[WindowSchema] = Field(default_factory=list, max_length=rules.MAX_WINDOWS)
    conditions: str = Field("", max_length=600)
    emergency_access_kept: bool = False
    marking: str = Field("signs_only", max_length=12)
    marking_note: str = Field("", max_length=120)


class SegmentChangeIn(SegmentIn):
    reason: str = Field("", max_length=200)  # needed when the segment is published


class ReasonIn(InputSchema):
    reason: str = Field("", max_length=200)


def _data(payload: SegmentIn) -> services.SegmentData:
    return services.SegmentData(
        division=payload.division, road=payload.road, from_landmark=payload.from_landmark,
        to_landmark=payload.to_landmark, side=payload.side, neighbourhood=payload.neighbourhood,
        points=[(float(lon), float(lat)) for lon, lat in payload.points],
        windows=[
            rules.Window(w.days, time(0, 0) if w.all_day else w.start, time(0, 0) if w.all_day else w.end, w.all_day)
            for w in payload.windows
        ],
        conditions=payload.conditions, emergency_access_kept=payload.emergency_access_kept,
        marking=payload.marking, marking_note=payload.marking_note,
    )  # fmt: skip


@router.get("/counter/parking-segments", response={200: list[StaffSegmentOut], **ERRORS}, auth=AUTH)
@access_required(selectors.EDIT)
def staff_segments(request: HttpRequest, status: str = "") -> Any:
    """Segments of my jurisdiction, every status, optionally one ``status``."""
    rows = selectors.segments_for_staff(actor=caller(request), status=status[:10])
    at, working = selectors.local_now(), selectors.working_day_function()
    return [segment_out(s, at=at, working=working) for s in rows[: selectors.LIST_LIMIT]]


@router.post("/counter/parking-segments", response={201: StaffSegmentOut, **ERRORS}, auth=AUTH)
@access_required(selectors.EDIT)
def staff_create(request: HttpRequest, payload: SegmentIn) -> Any:
    """Draft a segment of my district (422 with the reason for bad input). Accepts ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        made = services.segment_create(actor=caller(request), data=_data(payload), request=request)
        return 201, segment_out(selectors.segment_get(segment_id=made.pk))

    return run_idempotent(request, scope="parking-segments", body=payload.dict(), call=call)


@router.put("/counter/parking-segments/{segment_id}", response={200: StaffSegmentOut, **ERRORS}, auth=AUTH)
@access_required(selectors.EDIT)
def staff_update(request: HttpRequest, segment_id: int, payload: SegmentChangeIn) -> Any:
    """Replace a segment's content. A published one changes in public: only who may publish, with a
    ``reason``; the residents are told. Accepts ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        services.segment_update(
            actor=caller(request), segment_id=segment_id, data=_data(payload), reason=payload.reason,
            request=request,
        )  # fmt: skip
        return 200, segment_out(selectors.segment_get(segment_id=segment_id))

    return run_idempotent(request, scope=f"parking-segment-{segment_id}", body=payload.dict(), call=call)


@router.post(
    "/counter/parking-segments/{segment_id}/publication", response={200: StaffSegmentOut, **ERRORS}, auth=AUTH
)
@access_required(selectors.PUBLISH)
def staff_publish(request: HttpRequest, segment_id: int, payload: ReasonIn) -> Any:
    """Publish a draft or withdrawn segment: 422 ``parking.emergency_access`` unless emergency access
    is kept, ``parking.windows.none`` without a window; 409 ``parking.published``. Accepts
    ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        services.segment_publish(
            actor=caller(request), segment_id=segment_id, reason=payload.reason, request=request
        )
        return 200, segment_out(selectors.segment_get(segment_id=segment_id))

    return run_idempotent(request, scope=f"parking-publish-{segment_id}", body=payload.dict(), call=call)


@router.post(
    "/counter/parking-segments/{segment_id}/withdrawal", response={200: StaffSegmentOut, **ERRORS}, auth=AUTH
)
@access_required(selectors.PUBLISH)
def staff_withdraw(request: HttpRequest, segment_id: int, payload: ReasonIn) -> Any:
    """Withdraw a published segment with a ``reason`` (422 ``parking.reason_required``; 409
    ``parking.not_published``). Accepts ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        services.segment_withdraw(
            actor=caller(request), segment_id=segment_id, reason=payload.reason, request=request
        )
        return 200, segment_out(selectors.segment_get(segment_id=segment_id))

    return run_idempotent(request, scope=f"parking-withdraw-{segment_id}", body=payload.dict(), call=call)
