"""Pages of the reports (通报、抄告, N2): the organisation's reports with their downloads, and the
staff page of what was sent when to whom, with "generate now" for the administrator.

Thin views over ``selectors``/``services``; who sees what is decided there.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.core.access import access_required
from jiaoguan.core.errors import DomainError

from . import catalogue, selectors, services
from .models import ReportRun


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _name(code: str) -> str:
    defn = catalogue.BY_CODE.get(code)
    if defn is None:
        return code
    return defn.name_en if _english() else defn.name_zh


def _row(run: ReportRun, *, staff: bool) -> dict[str, Any]:
    base = "reports:counter_run_file" if staff else "reports:org_run_file"
    role_zh, _, role_en = str(ReportRun.RecipientRole(run.recipient_role).label).partition(" ")
    return {
        "run": run,
        "name": _name(run.code),
        "role": role_en if _english() else role_zh,
        "csv_url": reverse(base, args=[run.pk, "csv"]),
        "pdf_url": reverse(base, args=[run.pk, "pdf"]),
    }


def _file(request: HttpRequest, run: ReportRun, kind: str) -> HttpResponse:
    data = services.report_download(actor=request.user, run=run, kind=kind, request=request)
    content_type = "text/csv; charset=utf-8" if kind == "csv" else "application/pdf"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{run.code}-{run.period_label}-{run.pk}.{kind}"'
    response["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- the organisation's reports


@never_cache
@access_required(selectors.VIEW_OWN)
def org_runs(request: HttpRequest) -> HttpResponse:
    """通报抄告: the reports sent to my organisation, newest first, with CSV and PDF downloads."""
    page = selectors.org_runs(actor=request.user, cursor=request.GET.get("cursor", ""))
    more_url = f"?cursor={page.next_cursor}" if page.next_cursor else ""
    return render(
        request,
        "reports/org_runs.html",
        {
            "rows": [_row(run, staff=False) for run in page.items],
            "more_url": more_url,
            "unread": selectors.org_unread_count(actor=request.user),
        },
    )


@never_cache
@access_required(selectors.VIEW_OWN)
def org_run_file(request: HttpRequest, run_id: str, kind: str) -> HttpResponse:
    """Download a report sent to my organisation; the first download marks it read (audited)."""
    run = selectors.org_run_get(actor=request.user, run_id=int(run_id))
    return _file(request, run, kind)


# ---------------------------------------------------------------- staff


@never_cache
@access_required(selectors.VIEW_RUNS)
def counter_runs(request: HttpRequest) -> HttpResponse:
    """通报抄告发送记录: what was sent when to whom (recipients of my jurisdiction), the catalogue
    of the 11 reports, and "generate now" for the administrator."""
    code = request.GET.get("code", "").strip().upper()
    period = request.GET.get("period", "").strip()
    try:
        page = selectors.staff_runs(
            actor=request.user, code=code, period=period, cursor=request.GET.get("cursor", "")
        )
    except DomainError as exc:
        messages.warning(request, exc.message)
        page = selectors.staff_runs(actor=request.user, code=code, period=period)
    more_url = ""
    if page.next_cursor:
        more_url = f"?code={code}&period={period}&cursor={page.next_cursor}"
    lines = [
        {
            "line": line,
            "name": line.report.name_en if _english() else line.report.name_zh,
            "authority": line.report.authority_words[1 if _english() else 0],
            "copy_to": line.report.copy_to_en if _english() else line.report.copy_to_zh,
            "cadence": line.report.cadence.label_en if _english() else line.report.cadence.label_zh,
            "unavailable": line.report.unavailable_en if _english() else line.report.unavailable_zh,
        }
        for line in selectors.catalogue_lines()
    ]
    return render(
        request,
        "reports/counter_runs.html",
        {
            "rows": [_row(run, staff=True) for run in page.items],
            "more_url": more_url,
            "lines": lines,
            "codes": catalogue.CODES,
            "code": code,
            "period": period,
            "may_generate": selectors.may_generate(request.user),
            "available_codes": [r.code for r in catalogue.REPORTS if r.available],
        },
    )


@never_cache
@access_required(selectors.VIEW_RUNS)
def counter_run_file(request: HttpRequest, run_id: str, kind: str) -> HttpResponse:
    """Download a report as sent; the files hold personal data, so the read is audited."""
    run = selectors.staff_run_get(actor=request.user, run_id=int(run_id))
    return _file(request, run, kind)


@require_POST
@access_required(selectors.GENERATE)
def counter_generate(request: HttpRequest) -> HttpResponse:
    """Generate one report of a past period now, for the recipients of my jurisdiction."""
    code = request.POST.get("code", "")
    period = request.POST.get("period", "")
    try:
        result = services.report_generate_now(
            actor=request.user, code=code, period=period, today=timezone.localdate()
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if _english():
            messages.success(
                request, f"{code} {period}: {result.rows} rows, {result.runs} new reports delivered."
            )
        else:
            messages.success(request, f"{code} {period}：共 {result.rows} 条记录，新送达 {result.runs} 份。")
    return redirect(reverse("reports:counter_runs") + f"?code={code}")
