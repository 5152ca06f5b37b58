"""Reads of the reports sent (N2): an organisation's own, staff's by jurisdiction, newest first,
with keyset cursors. Lists never load the files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from jiaoguan.core.access import can, division_prefix_for, require
from jiaoguan.core.cursors import decode_cursor, encode_cursor
from jiaoguan.core.errors import NotFound

from . import catalogue
from .models import ReportBatch, ReportRun

VIEW_OWN = "reports.own.view"
VIEW_RUNS = "reports.run.view"
GENERATE = "reports.run.generate"
MAX_LIMIT = 100


def run_missing() -> NotFound:
    return NotFound("reports.run_not_found", "没有找到这份通报。", "No such report.")


@dataclass(frozen=True)
class Page:
    items: list[ReportRun]
    next_cursor: str | None


def _page(qs: QuerySet[ReportRun], *, cursor: str, limit: int) -> Page:
    limit = max(1, min(MAX_LIMIT, int(limit or 20)))
    after = decode_cursor(cursor)
    if after is not None:
        at, pk = after
        qs = qs.filter(Q(generated_at__lt=at) | Q(generated_at=at, pk__lt=pk))
    items = list(qs.order_by("-generated_at", "-pk")[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return Page(items, encode_cursor((items[-1].generated_at, items[-1].pk)) if more and items else None)


def _lists() -> QuerySet[ReportRun]:
    return ReportRun.objects.defer("csv", "pdf").select_related("recipient")


def org_runs(*, actor: Any, cursor: str = "", limit: int = 20) -> Page:
    """The reports sent to the actor's organisation (通报抄告), newest first."""
    require(actor, VIEW_OWN)
    return _page(_lists().filter(recipient_id=actor.organisation_id), cursor=cursor, limit=limit)


def org_unread_count(*, actor: Any) -> int:
    require(actor, VIEW_OWN)
    return ReportRun.objects.filter(recipient_id=actor.organisation_id, read_at__isnull=True).count()


def org_run_get(*, actor: Any, run_id: int) -> ReportRun:
    """One report sent to the actor's organisation; 404 for any other (ids cannot be probed)."""
    require(actor, VIEW_OWN)
    run = (
        ReportRun.objects.select_related("recipient")
        .filter(pk=run_id, recipient_id=actor.organisation_id)
        .first()
    )
    if run is None:
        raise run_missing()
    return run


def _staff_scope(actor: Any) -> QuerySet[ReportRun]:
    require(actor, VIEW_RUNS)
    prefix = division_prefix_for(actor, VIEW_RUNS)
    qs = _lists()
    if prefix is None:  # pragma: no cover - require() refused already
        return qs.none()
    return qs.filter(recipient_division__startswith=prefix) if prefix else qs


def staff_runs(*, actor: Any, code: str = "", period: str = "", cursor: str = "", limit: int = 20) -> Page:
    """What was sent when to whom, for recipients of the actor's jurisdiction, newest first."""
    qs = _staff_scope(actor)
    if code:
        qs = qs.filter(code=code.upper())
    if period:
        qs = qs.filter(period_label=period.strip())
    return _page(qs, cursor=cursor, limit=limit)


def staff_run_get(*, actor: Any, run_id: int) -> ReportRun:
    run = _staff_scope(actor).defer(None).filter(pk=run_id).first()
    if run is None:
        raise run_missing()
    return run


@dataclass(frozen=True)
class CatalogueLine:
    report: catalogue.Report
    last_period: str  # "" when never made
    last_finished_at: Any


def catalogue_lines() -> list[CatalogueLine]:
    """The 11 reports with the last period each was made for (a fact of the platform, no person)."""
    last: dict[str, ReportBatch] = {}
    for batch in ReportBatch.objects.filter(finished_at__isnull=False).order_by("code", "period_start"):
        last[batch.code] = batch
    lines = []
    for r in catalogue.REPORTS:
        b = last.get(r.code)
        label = ""
        if b is not None:
            label = f"{b.period_start:%Y-%m}" if r.cadence.value == "monthly" else b.period_start.isoformat()
        lines.append(CatalogueLine(r, label, b.finished_at if b else None))
    return lines


def may_generate(actor: Any) -> bool:
    return can(actor, GENERATE)
