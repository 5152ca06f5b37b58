"""Pages of the old-neighbourhood parking segments (O8): the public list and map by district, a
segment's page, and the counter's editor. The same service and selector calls as the API."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.core.access import access_required, allowed
from jiaoguan.core.divisions import DIVISIONS, ZHUMADIAN
from jiaoguan.core.errors import DomainError, ValidationFailed

from . import mapping, rules, selectors, services
from .models import Segment

WINDOW_ROWS = 4


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def label_words(label: Any) -> str:
    """The zh or en half of a "中文 english" choice label."""
    zh, _sep, en = str(label).partition(" ")
    return (en or zh) if _english() else zh


def division_words(code: str) -> str:
    return DIVISIONS.get(code, code)


def window_words(window: rules.Window) -> str:
    """ "每天 19:00—次日07:00", "weekends all day"."""
    zh, en = rules.DAYS_WORDS.get(window.days, (window.days, window.days))
    days = en if _english() else zh
    if window.all_day:
        return f"{days} " + _("全天")
    start, end = f"{window.start:%H:%M}", f"{window.end:%H:%M}"
    if window.end <= window.start:
        return f"{days} {start}—" + _("次日%(time)s") % {"time": end}
    return f"{days} {start}—{end}"


def _moment(at: datetime, today: date) -> str:
    if at.date() == today:
        return f"{at:%H:%M}"
    if _english():
        return f"{at:%d %b} {at:%H:%M}"
    return f"{at.month}月{at.day}日 {at:%H:%M}"


def now_words(now: rules.Now, at: datetime) -> str:
    """The answer to "may I park here now", with the time it changes (O8)."""
    if now.allowed:
        if now.until is None:
            return _("现在可以停车")
        return _("现在可以停车，至 %(time)s") % {"time": _moment(now.until, at.date())}
    if now.until is None:
        return _("近期不允许停车")
    return _("现在不可停车，%(time)s 起可以停车") % {"time": _moment(now.until, at.date())}


def segment_row(segment: Segment, *, at: datetime, working: Any) -> dict[str, Any]:
    windows = selectors.windows_of(segment)
    now = rules.parking_now(windows, at, working)
    return {
        "segment": segment,
        "district": division_words(segment.division),
        "side": label_words(segment.get_side_display()),
        "marking": label_words(segment.get_marking_display()),
        "status": label_words(segment.get_status_display()),
        "windows": [window_words(w) for w in windows],
        "now": now_words(now, at),
        "allowed": now.allowed,
    }


def _drawing(segments: list[Segment]) -> mapping.Drawing:
    return mapping.draw(
        [
            mapping.Line(s.pk, s.road, s.side, [(float(p[0]), float(p[1])) for p in s.points])
            for s in segments
            if s.points
        ]
    )


def _sides() -> list[tuple[str, str]]:
    return [(value, label_words(label)) for value, label in Segment.Side.choices]


# ---------------------------------------------------------------- public (O8)


def _home_district(user: Any) -> str:
    """A resident starts with their own district; everyone else with the whole city."""
    person = getattr(user, "person", None) if getattr(user, "is_authenticated", False) else None
    code = str(getattr(person, "residence_division", "") or "")
    return code if code in dict(selectors.district_choices()) else ZHUMADIAN


@access_required(selectors.VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """Choose a district; its published segments as a list and on a map, with "now" for each."""
    division = request.GET.get("division", "").strip() or _home_district(request.user)
    error = ""
    try:
        segments = list(selectors.published_segments(division=division)[: selectors.LIST_LIMIT])
    except DomainError as refusal:
        segments, error, division = [], refusal.message, ZHUMADIAN
    at = selectors.local_now()
    working = selectors.working_day_function()
    context = {
        "rows": [segment_row(s, at=at, working=working) for s in segments],
        "drawing": _drawing(segments),
        "division": division,
        "districts": selectors.district_choices(),
        "error": error,
        "sides": _sides(),
        "at": at,
    }
    return render(request, "parking/index.html", context)


@access_required(selectors.VIEW)
def detail(request: HttpRequest, segment_id: int) -> HttpResponse:
    try:
        segment = selectors.published_segment(segment_id=segment_id)
    except DomainError:
        raise Http404("segment") from None
    at = selectors.local_now()
    context = {
        "row": segment_row(segment, at=at, working=selectors.working_day_function()),
        "drawing": _drawing([segment]),
        "changes": [
            {"change": c, "kind": label_words(c.get_kind_display())}
            for c in selectors.segment_changes(segment_id=segment.pk)
        ],
        "sides": _sides(),
    }
    return render(request, "parking/detail.html", context)


# ---------------------------------------------------------------- counter (O8)

_STATUS_FILTERS = ("", "draft", "published", "withdrawn")


@never_cache
@access_required(selectors.EDIT)
def counter(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in _STATUS_FILTERS:
        status = ""
    at = selectors.local_now()
    working = selectors.working_day_function()
    rows = [
        segment_row(s, at=at, working=working)
        for s in selectors.segments_for_staff(actor=request.user, status=status)[: selectors.LIST_LIMIT]
    ]
    statuses = [(s, label_words(Segment.Status(s).label) if s else _("全部")) for s in _STATUS_FILTERS]
    return render(request, "parking/counter.html", {"rows": rows, "status": status, "statuses": statuses})


def _time(value: str, n: int) -> time:
    try:
        return time.fromisoformat(value.strip()[:5])
    except ValueError:
        raise ValidationFailed(
            "parking.time", f"第 {n} 个时段的时间格式应为“时：分”，例如 19:00。",
            f"Window {n}: write the time as hours:minutes, for example 19:00.", field="windows",
        ) from None  # fmt: skip


def data_from_post(post: QueryDict) -> services.SegmentData:
    """The editor's form as the service's input; bad input is a ValidationFailed with the reason."""
    windows = []
    for n in range(1, WINDOW_ROWS + 1):
        days = post.get(f"days_{n}", "")
        if not days:
            continue
        all_day = post.get(f"all_day_{n}") == "on"
        start = time(0, 0) if all_day else _time(post.get(f"start_{n}", ""), n)
        end = time(0, 0) if all_day else _time(post.get(f"end_{n}", ""), n)
        windows.append(rules.Window(days, start, end, all_day))
    try:
        points = rules.parse_points(post.get("points", ""))
    except ValueError:
        raise ValidationFailed(
            "parking.points.format", "路段走向每行填写一个“经度，纬度”，例如 114.02,32.98。",
            "Write the segment's line as one 'longitude,latitude' a line, for example 114.02,32.98.",
            field="points",
        ) from None  # fmt: skip
    return services.SegmentData(
        division=post.get("division", ""), road=post.get("road", ""),
        from_landmark=post.get("from_landmark", ""), to_landmark=post.get("to_landmark", ""),
        side=post.get("side", ""), neighbourhood=post.get("neighbourhood", ""), points=points, windows=windows,
        conditions=post.get("conditions", "")[:700], emergency_access_kept=post.get("emergency_access_kept") == "on",
        marking=post.get("marking", ""), marking_note=post.get("marking_note", "")[:200],
    )  # fmt: skip


def _form_values(segment: Segment | None, post: QueryDict | None) -> dict[str, Any]:
    """What the form shows: the posted values after a refusal, else the segment's, else blanks."""
    rows: list[dict[str, Any]] = []
    values: dict[str, Any]
    if post is not None:
        values = {k: post.get(k, "") for k in post}
        for n in range(1, WINDOW_ROWS + 1):
            rows.append(
                {
                    "n": n, "days": post.get(f"days_{n}", ""), "start": post.get(f"start_{n}", ""),
                    "end": post.get(f"end_{n}", ""), "all_day": post.get(f"all_day_{n}") == "on",
                }
            )  # fmt: skip
        values["emergency_access_kept"] = post.get("emergency_access_kept") == "on"
        return {"values": values, "window_rows": rows}
    windows = selectors.windows_of(segment) if segment is not None else []
    for n in range(1, WINDOW_ROWS + 1):
        w = windows[n - 1] if n <= len(windows) else None
        rows.append(
            {
                "n": n, "days": w.days if w else "",
                "start": f"{w.start:%H:%M}" if w and not w.all_day else "",
                "end": f"{w.end:%H:%M}" if w and not w.all_day else "", "all_day": bool(w and w.all_day),
            }
        )  # fmt: skip
    if segment is None:
        values = {"division": "", "side": "both", "marking": "signs_only"}
        rows[0].update({"days": "every_day", "start": "19:00", "end": "07:00"})
    else:
        values = {
            "division": segment.division, "road": segment.road, "from_landmark": segment.from_landmark,
            "to_landmark": segment.to_landmark, "side": segment.side, "neighbourhood": segment.neighbourhood,
            "points": "\n".join(f"{p[0]},{p[1]}" for p in segment.points), "conditions": segment.conditions,
            "emergency_access_kept": segment.emergency_access_kept, "marking": segment.marking,
            "marking_note": segment.marking_note,
        }  # fmt: skip
    return {"values": values, "window_rows": rows}


def _editor(
    request: HttpRequest, segment: Segment | None, *, post: QueryDict | None = None, error: str = ""
) -> HttpResponse:
    user = request.user
    divisions = selectors.counties_for(actor=user)
    context: dict[str, Any] = {
        **_form_values(segment, post),
        "segment": segment,
        "error": error,
        "divisions": divisions,
        "sides": _sides(),
        "markings": [(v, label_words(label)) for v, label in Segment.Marking.choices],
        "days_choices": [(d, (en if _english() else zh)) for d, (zh, en) in rules.DAYS_WORDS.items()],
    }
    if segment is not None:
        may_publish = allowed(user, selectors.PUBLISH, division=segment.division)
        context.update(
            {
                "status": label_words(segment.get_status_display()),
                "published": segment.status == Segment.Status.PUBLISHED,
                "can_save": segment.status != Segment.Status.PUBLISHED or may_publish,
                "can_publish": segment.status != Segment.Status.PUBLISHED and may_publish,
                "can_withdraw": segment.status == Segment.Status.PUBLISHED and may_publish,
                "changes": [
                    {"change": c, "kind": label_words(c.get_kind_display())}
                    for c in selectors.segment_changes(segment_id=segment.pk)
                ],
            }
        )
    else:
        context["can_save"] = True
    return render(request, "parking/counter_form.html", context, status=422 if error else 200)


@never_cache
@access_required(selectors.EDIT)
def counter_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _editor(request, None)
    try:
        segment = services.segment_create(
            actor=request.user, data=data_from_post(request.POST), request=request
        )
    except DomainError as error:
        if error.status in (401, 403):
            raise
        return _editor(request, None, post=request.POST, error=error.message)
    messages.success(request, _("路段草稿已保存，发布后群众即可查询。"))
    return redirect("parking:counter_segment", segment.pk)


def _staff_segment(request: HttpRequest, segment_id: int) -> Segment:
    try:
        return services.segment_for_staff(actor=request.user, segment_id=segment_id)
    except DomainError as error:
        if error.status == 404:
            raise Http404("segment") from None
        raise


@never_cache
@access_required(selectors.EDIT)
def counter_segment(request: HttpRequest, segment_id: int) -> HttpResponse:
    """The editor of one segment, its publish and withdraw buttons, and its change log."""
    segment = _staff_segment(request, segment_id)
    if request.method != "POST":
        return _editor(request, segment)
    try:
        services.segment_update(
            actor=request.user, segment_id=segment.pk, data=data_from_post(request.POST),
            reason=request.POST.get("reason", ""), request=request,
        )  # fmt: skip
    except DomainError as error:
        if error.status == 404:
            raise Http404("segment") from None
        if error.status in (401, 403):
            raise
        return _editor(request, segment, post=request.POST, error=error.message)
    if segment.status == Segment.Status.PUBLISHED:
        messages.success(request, _("变更已发布，并已通知该区县的居民。"))
    else:
        messages.success(request, _("已保存。"))
    return redirect("parking:counter_segment", segment.pk)


@require_POST
@access_required(selectors.EDIT)
def counter_decide(request: HttpRequest, segment_id: int) -> HttpResponse:
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "")[:200]
    try:
        if decision == "publish":
            services.segment_publish(
                actor=request.user, segment_id=segment_id, reason=reason, request=request
            )
            messages.success(request, _("路段已发布，并已通知该区县的居民。"))
        elif decision == "withdraw":
            services.segment_withdraw(
                actor=request.user, segment_id=segment_id, reason=reason, request=request
            )
            messages.success(request, _("路段已撤销，并已通知该区县的居民。"))
        else:
            raise Http404("decision")
    except DomainError as error:
        if error.status == 404:
            raise Http404("segment") from None
        if error.status in (401, 403):
            raise
        messages.error(request, error.message)
    return redirect(reverse("parking:counter_segment", args=[segment_id]))
