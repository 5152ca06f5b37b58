"""Report endpoints (通报、抄告, N2).

Organisations: ``GET /api/v1/org/reports`` (cursor pages, newest first), ``GET
/api/v1/org/reports/{id}/csv`` and ``/pdf`` (the first download marks the report read), ``POST
/api/v1/org/reports/{id}/read``. Staff: ``GET /api/v1/reports/runs`` (recipients of their
jurisdiction) with ``/reports/runs/{id}/csv`` and ``/pdf``, and, for the administrator, ``POST
/api/v1/reports/generate``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, SessionUser

from . import catalogue, selectors, services
from .models import ReportRun

router = Router(tags=["reports"])
AUTH = [BearerToken(), SessionUser()]
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class RunOut(Schema):
    id: int
    code: str
    name_zh: str
    name_en: str
    period: str
    period_start: date
    period_end: date
    recipient_id: int
    recipient_name: str
    recipient_role: str  # authority (通报) or company (抄告)
    row_count: int
    generated_at: datetime
    delivered_at: datetime
    read_at: datetime | None
    sha256: str  # of the CSV bytes
    pdf_sha256: str
    csv_url: str
    pdf_url: str


class RunPage(Schema):
    items: list[RunOut]
    next_cursor: str | None


class GenerateIn(Schema):
    code: str
    period: str  # 2026-11 (monthly) or 2026-12-04 (event)


class GenerateOut(Schema):
    code: str
    period: str
    rows: int
    runs: int  # new reports delivered


def _out(run: ReportRun, *, staff: bool = False) -> dict[str, Any]:
    defn = catalogue.BY_CODE.get(run.code)
    base = f"/api/v1/reports/runs/{run.pk}" if staff else f"/api/v1/org/reports/{run.pk}"
    return {
        "id": run.pk,
        "code": run.code,
        "name_zh": defn.name_zh if defn else run.code,
        "name_en": defn.name_en if defn else run.code,
        "period": run.period_label,
        "period_start": run.period_start,
        "period_end": run.period_end,
        "recipient_id": run.recipient_id,
        "recipient_name": run.recipient.name,
        "recipient_role": run.recipient_role,
        "row_count": run.row_count,
        "generated_at": run.generated_at,
        "delivered_at": run.delivered_at,
        "read_at": run.read_at,
        "sha256": run.sha256,
        "pdf_sha256": run.pdf_sha256,
        "csv_url": f"{base}/csv",
        "pdf_url": f"{base}/pdf",
    }


def _file(request: HttpRequest, run: ReportRun, kind: str) -> HttpResponse:
    actor = request.auth  # type: ignore[attr-defined]
    data = services.report_download(actor=actor, run=run, kind=kind, request=request)
    content_type = "text/csv; charset=utf-8" if kind == "csv" else "application/pdf"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{run.code}-{run.period_label}-{run.pk}.{kind}"'
    response["Cache-Control"] = "private, no-store"
    return response


@router.get("/org/reports", response={200: RunPage, **ERRORS}, auth=AUTH)
@access_required(selectors.VIEW_OWN)
def org_reports(request: HttpRequest, cursor: str = "", limit: int = 20) -> Any:
    """The reports sent to the caller's organisation, newest first (N2)."""
    page = selectors.org_runs(actor=request.auth, cursor=cursor, limit=limit)  # type: ignore[attr-defined]
    return {"items": [_out(run) for run in page.items], "next_cursor": page.next_cursor}


def _org_download(request: HttpRequest, run_id: int, kind: str) -> HttpResponse:
    actor = request.auth  # type: ignore[attr-defined]
    return _file(request, selectors.org_run_get(actor=actor, run_id=run_id), kind)


@router.get("/org/reports/{run_id}/csv", response={200: None, **ERRORS}, auth=AUTH)
@access_required(selectors.VIEW_OWN)
def org_report_csv(request: HttpRequest, run_id: int) -> Any:
    """The report as CSV (UTF-8 with BOM); marks it read."""
    return _org_download(request, run_id, "csv")


@router.get("/org/reports/{run_id}/pdf", response={200: None, **ERRORS}, auth=AUTH)
@access_required(selectors.VIEW_OWN)
def org_report_pdf(request: HttpRequest, run_id: int) -> Any:
    """The report as PDF; marks it read."""
    return _org_download(request, run_id, "pdf")


@router.post("/org/reports/{run_id}/read", response={200: RunOut, **ERRORS}, auth=AUTH)
@access_required(selectors.VIEW_OWN)
def org_report_read(request: HttpRequest, run_id: int) -> Any:
    """Mark a report read without downloading it (safe to repeat: the first time stands)."""
    actor = request.auth  # type: ignore[attr-defined]
    run = services.report_mark_read(actor=actor, run=selectors.org_run_get(actor=actor, run_id=run_id))
    return _out(run)


@router.get("/reports/runs", response={200: RunPage, **ERRORS}, auth=AUTH)
@access_required(selectors.VIEW_RUNS)
def report_runs(
    request: HttpRequest, code: str = "", period: str = "", cursor: str = "", limit: int = 20
) -> Any:
    """What was sent when to whom, for recipients of the caller's jurisdiction (staff)."""
    page = selectors.staff_runs(
        actor=request.auth,  # type: ignore[attr-defined]
        code=code,
        period=period,
        cursor=cursor,
        limit=limit,
    )
    return {"items": [_out(run, staff=True) for run in page.items], "next_cursor": page.next_cursor}


@router.get("/reports/runs/{run_id}/csv", response={200: None, **ERRORS}, auth=AUTH)
@access_required(selectors.VIEW_RUNS)
def report_run_csv(request: HttpRequest, run_id: int) -> Any:
    """A report as sent, as CSV, for staff of the recipient's jurisdiction (audited)."""
    return _file(request, selectors.staff_run_get(actor=request.auth, run_id=run_id), "csv")  # type: ignore[attr-defined]


@router.get("/reports/runs/{run_id}/pdf", response={200: None, **ERRORS}, auth=AUTH)
@access_required(selectors.VIEW_RUNS)
def report_run_pdf(request: HttpRequest, run_id: int) -> Any:
    """A report as sent, as PDF, for staff of the recipient's jurisdiction (audited)."""
    return _file(request, selectors.staff_run_get(actor=request.auth, run_id=run_id), "pdf")  # type: ignore[attr-defined]


@router.post("/reports/generate", response={200: GenerateOut, **ERRORS}, auth=AUTH)
@access_required(selectors.GENERATE)
def report_generate(request: HttpRequest, body: GenerateIn) -> Any:
    """Generate one report of a past period now for the recipients of the caller's jurisdiction
    (administrator); recipients that have it already are not sent it again."""
    result = services.report_generate_now(
        actor=request.auth,  # type: ignore[attr-defined]
        code=body.code,
        period=body.period,
        today=timezone.localdate(),
    )
    return {"code": body.code.upper(), "period": body.period, "rows": result.rows, "runs": result.runs}
