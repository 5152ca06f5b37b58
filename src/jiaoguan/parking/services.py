"""State changes of the parking segments (O8; seed 004 §五).

Each use case checks access first and works in one transaction: lock the segment, re-check,
change, log the version, audit, and (for what the public sees) publish an outbox event that the
message centre turns into messages to the residents of the district.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import division_level, validate_division
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from jiaoguan.core.outbox import outbox_enqueue

from . import rules
from .models import Segment, SegmentChange, Window
from .selectors import EDIT, PUBLISH

# The message centre subscribes to this topic (published, changed, withdrawn).
SEGMENT_CHANGED = "parking.segment.changed"


@dataclass(frozen=True)
class SegmentData:
    """What staff enter for a segment."""

    division: str
    road: str
    from_landmark: str
    to_landmark: str
    side: str
    neighbourhood: str
    points: list[tuple[float, float]]
    windows: list[rules.Window] = field(default_factory=list)
    conditions: str = ""
    emergency_access_kept: bool = False
    marking: str = Segment.Marking.SIGNS_ONLY
    marking_note: str = ""


def _invalid(refusal: rules.Refusal) -> ValidationFailed:
    return ValidationFailed(refusal.code, refusal.zh, refusal.en, field=refusal.field or None)


def _not_found() -> NotFound:
    return NotFound("parking.not_found", "没有这个允许停车路段。", "No such parking segment.")


_TEXT_LIMITS = {
    "road": (60, "道路名称", "road name"),
    "from_landmark": (60, "起点", "starting point"),
    "to_landmark": (60, "终点", "end point"),
    "neighbourhood": (80, "服务的老旧小区", "residential area served"),
}


def _checked(data: SegmentData) -> SegmentData:
    validate_division(data.division)
    if division_level(data.division) != "county":
        raise ValidationFailed(
            "parking.division.county",
            "路段应登记在所在的区或县（行政区划代码末两位不为 00）。",
            "Record the segment under its district or county, not a city or province.",
            field="division",
        )
    for name, (limit, zh, en) in _TEXT_LIMITS.items():
        value = str(getattr(data, name) or "").strip()
        if not value or len(value) > limit:
            raise ValidationFailed(
                "parking.field", f"请填写{zh}（不超过 {limit} 字）。", f"Give the {en} (at most {limit} characters).",
                field=name,
            )  # fmt: skip
    if data.side not in Segment.Side.values:
        raise ValidationFailed(
            "parking.side", "请选择停车位置（道路哪一侧）。", "Choose the side of the road.", field="side"
        )
    if data.marking not in Segment.Marking.values:
        raise ValidationFailed(
            "parking.marking",
            "请选择标志标线设置方式。",
            "Choose how the segment is signed.",
            field="marking",
        )
    if data.marking == Segment.Marking.MARKED_BAYS and not data.marking_note.strip():
        raise ValidationFailed(
            "parking.marking_note",
            "施划停车位的，要在车位内标明允许停车的时间：请填写标注内容。",
            "Marked bays show the permitted times in the bay: give the wording.",
            field="marking_note",
        )
    if len(data.conditions) > 600 or len(data.marking_note) > 120:
        raise ValidationFailed(
            "parking.too_long", "停放要求不超过 600 字，标志标线说明不超过 120 字。",
            "Conditions are at most 600 characters, the marking note at most 120.", field="conditions",
        )  # fmt: skip
    for problems in (rules.point_refusals(data.points), rules.window_refusals(data.windows)):
        if problems:
            raise _invalid(problems[0])
    return data


def _fill(segment: Segment, data: SegmentData) -> None:
    segment.division = data.division
    segment.road = data.road.strip()
    segment.from_landmark = data.from_landmark.strip()
    segment.to_landmark = data.to_landmark.strip()
    segment.side = data.side
    segment.neighbourhood = data.neighbourhood.strip()
    segment.points = [[lon, lat] for lon, lat in data.points]
    segment.conditions = data.conditions.strip()
    segment.emergency_access_kept = bool(data.emergency_access_kept)
    segment.marking = data.marking
    segment.marking_note = data.marking_note.strip()


def _set_windows(segment: Segment, windows: list[rules.Window]) -> None:
    segment.windows.all().delete()
    Window.objects.bulk_create(
        [Window(segment=segment, days=w.days, start=w.start, end=w.end, all_day=w.all_day) for w in windows]
    )


def _locked(*, segment_id: int) -> Segment:
    segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
    if segment is None:
        raise _not_found()
    return segment


def _windows(segment: Segment) -> list[rules.Window]:
    return [rules.Window(w.days, w.start, w.end, w.all_day) for w in segment.windows.order_by("id")]


def _reason(reason: str, *, needed: bool, zh: str, en: str) -> str:
    reason = (reason or "").strip()[:200]
    if needed and not reason:
        raise ValidationFailed("parking.reason_required", zh, en, field="reason")
    return reason


def _announce(*, actor: Any, segment: Segment, kind: str, reason: str, request: Any) -> None:
    """One public step: the next version, its log row, the audit row and the outbox event."""
    now = timezone.now()
    segment.version += 1
    summary = f"{segment.road}（{segment.from_landmark}—{segment.to_landmark}）v{segment.version}"
    try:
        with transaction.atomic():
            SegmentChange.objects.create(
                segment=segment, version=segment.version, kind=kind, reason=reason, summary=summary,
                actor=actor, at=now,
            )  # fmt: skip
    except IntegrityError:
        raise _moved() from None
    segment.save()
    audit_record(
        actor=actor, action="change", subject=segment, summary=f"允许停车路段 {segment.number} {kind} {summary}",
        reason=reason, request=request,
    )  # fmt: skip
    outbox_enqueue(
        topic=SEGMENT_CHANGED,
        payload={
            "segment_id": segment.pk, "division": segment.division, "kind": kind, "version": segment.version,
            "road": segment.road, "from": segment.from_landmark, "to": segment.to_landmark,
            "neighbourhood": segment.neighbourhood, "reason": reason,
        },
        dedup_key=f"parking-segment-{segment.pk}-v{segment.version}",
    )  # fmt: skip


def _moved() -> Conflict:
    return Conflict(
        "parking.state",
        "该路段已被他人处理，请刷新后再试。",
        "Someone else has just changed the segment; reload it.",
    )


def segment_create(*, actor: Any, data: SegmentData, request: Any = None) -> Segment:
    """Draft a segment of the actor's district (not public until published)."""
    require(actor, EDIT)
    data = _checked(data)
    require(actor, EDIT, division=data.division)
    with transaction.atomic():
        segment = Segment(created_by=actor)
        _fill(segment, data)
        segment.save()
        _set_windows(segment, data.windows)
        audit_record(
            actor=actor, action="create", subject=segment, summary=f"起草允许停车路段 {segment.number} {segment}",
            request=request,
        )  # fmt: skip
    return segment


def segment_update(
    *, actor: Any, segment_id: int, data: SegmentData, reason: str = "", request: Any = None
) -> Segment:
    """Edit a segment. A draft or withdrawn one is corrected quietly; a published one changes in
    public: only those who may publish, with a reason, a new version, and the residents told."""
    require(actor, EDIT)
    data = _checked(data)
    with transaction.atomic():
        segment = _locked(segment_id=segment_id)
        if not _visible(actor, segment):
            raise _not_found()
        require(actor, EDIT, division=data.division)
        public = segment.status == Segment.Status.PUBLISHED
        if public:
            require(actor, PUBLISH, division=[segment.division, data.division])
            reason = _reason(
                reason, needed=True, zh="变更已发布的路段须说明原因。", en="Give the reason for changing a published segment."
            )  # fmt: skip
            refusal = rules.publish_refusal(
                emergency_access_kept=data.emergency_access_kept, windows=data.windows
            )
            if refusal is not None:
                raise _invalid(refusal)
        _fill(segment, data)
        _set_windows(segment, data.windows)
        if public:
            _announce(
                actor=actor, segment=segment, kind=SegmentChange.Kind.CHANGED, reason=reason, request=request
            )
        else:
            segment.save()
            audit_record(
                actor=actor, action="change", subject=segment, summary=f"修改允许停车路段 {segment.number} {segment}",
                request=request,
            )  # fmt: skip
    return segment


def segment_publish(*, actor: Any, segment_id: int, reason: str = "", request: Any = None) -> Segment:
    """Publish a draft or withdrawn segment: emergency access kept and at least one window (O8)."""
    require(actor, PUBLISH)
    with transaction.atomic():
        segment = _locked(segment_id=segment_id)
        try:
            require(actor, PUBLISH, division=segment.division)
        except NotAllowed:
            if not _visible(actor, segment):
                raise _not_found() from None
            raise
        if segment.status == Segment.Status.PUBLISHED:
            raise Conflict("parking.published", "该路段已经发布。", "The segment is already published.")
        refusal = rules.publish_refusal(
            emergency_access_kept=segment.emergency_access_kept, windows=_windows(segment)
        )
        if refusal is not None:
            raise _invalid(refusal)
        segment.status = Segment.Status.PUBLISHED
        segment.published_at = timezone.now()
        _announce(
            actor=actor, segment=segment, kind=SegmentChange.Kind.PUBLISHED, reason=(reason or "").strip()[:200],
            request=request,
        )  # fmt: skip
    return segment


def segment_withdraw(*, actor: Any, segment_id: int, reason: str, request: Any = None) -> Segment:
    """Withdraw a published segment with the reason (e.g. it hindered emergency vehicles, seed §五 三)."""
    require(actor, PUBLISH)
    reason = _reason(
        reason, needed=True, zh="请填写撤销该路段的原因。", en="Give the reason for withdrawing the segment."
    )
    with transaction.atomic():
        segment = _locked(segment_id=segment_id)
        try:
            require(actor, PUBLISH, division=segment.division)
        except NotAllowed:
            if not _visible(actor, segment):
                raise _not_found() from None
            raise
        if segment.status != Segment.Status.PUBLISHED:
            raise Conflict(
                "parking.not_published",
                "只有已发布的路段可以撤销。",
                "Only a published segment can be withdrawn.",
            )
        segment.status = Segment.Status.WITHDRAWN
        _announce(
            actor=actor, segment=segment, kind=SegmentChange.Kind.WITHDRAWN, reason=reason, request=request
        )
    return segment


def _visible(actor: Any, segment: Segment) -> bool:
    try:
        require(actor, EDIT, division=segment.division)
    except NotAllowed:
        return False
    return True


def segment_for_staff(*, actor: Any, segment_id: int) -> Segment:
    """A segment of the actor's jurisdiction, any status (404 outside it: ids cannot be probed)."""
    require(actor, EDIT)
    segment = Segment.objects.filter(pk=segment_id).prefetch_related("windows").first()
    if segment is None or not _visible(actor, segment):
        raise _not_found()
    return segment
