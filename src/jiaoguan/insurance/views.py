"""The weekly feedback list of failed insurance checks (交强险核验失败反馈清单, O7): page and CSV.

Thin views over ``insurance.selectors``: who sees which rows is decided there.
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jiaoguan.core.access import Role, access_required, role_of
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import DomainError

from . import selectors
from .models import InsuranceCheckFailure

ACTION = selectors.ACTION


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _week(request: HttpRequest) -> selectors.Week:
    today = timezone.localdate()
    try:
        return selectors.week_from(request.GET.get("week"), today=today)
    except DomainError as exc:
        messages.warning(request, exc.message)
        return selectors.week_from(None, today=today)


@access_required(ACTION)
def feedback(request: HttpRequest) -> HttpResponse:
    """每周核验失败反馈清单: the failures of one ISO week, per insurer, with a CSV download."""
    week = _week(request)
    rows = selectors.feedback_rows(actor=request.user, week=week)
    grouped = selectors.feedback_groups(rows)
    if request.GET.get("format") == "csv":
        return _csv(request, week, [row for group in grouped for row in group.rows])
    english = _english()
    groups = [
        {
            "insurer_name": group.insurer_name,
            "count": group.count,
            "rows": [
                {
                    "row": row,
                    "missing": selectors.missing_label(row, english=english),
                    "purpose": selectors.purpose_label(row, english=english),
                }
                for row in group.rows
            ],
        }
        for group in grouped
    ]
    context = {
        "week": week,
        "groups": groups,
        "total": sum(group.count for group in grouped),
        "staff": role_of(request.user) is not Role.ORGANISATION,
    }
    return render(request, "insurance/feedback.html", context)


CSV_HEADER = (
    "周次 week",
    "保险公司 insurer",
    "核验时间 checked at",
    "车辆识别代号 VIN",
    "号牌号码 plate",
    "核验事由 purpose",
    "缺少项目 missing",
    "保单号 policy number",
    "行政区划 division",
)


def _csv(request: HttpRequest, week: selectors.Week, rows: list[InsuranceCheckFailure]) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            (
                week.label,
                row.insurer_name or _("未查询到保单"),
                timezone.localtime(row.checked_at).strftime("%Y-%m-%d %H:%M"),
                row.vin,
                row.plate_number,
                row.purpose,
                row.missing,
                row.policy_number,
                row.division,
            )
        )
    if rows and role_of(request.user) is not Role.ORGANISATION:
        # An export leaves the platform: the staff member and the week go into the audit trail.
        audit_record(
            actor=request.user,
            action="list",
            subject=rows[0],
            summary=f"导出交强险核验失败反馈清单 {week.label}（{len(rows)} 条）",
            request=request,
        )
    # Excel opens UTF-8 CSV with Chinese text correctly only with the byte order mark.
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="insurance-feedback-{week.label}.csv"'
    return response
