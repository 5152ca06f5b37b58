"""Insurance check endpoints: the weekly feedback list of failed checks (O7).

``GET /api/v1/insurance/feedback?week=2026-W49`` for staff (their jurisdiction) and for
insurer organisations (rows naming them, and "no policy found" rows of their city).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, SessionUser

from . import selectors

router = Router(tags=["insurance"])
AUTH = [BearerToken(), SessionUser()]
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 422: ErrorOut}


class FailureOut(Schema):
    checked_at: datetime
    checked_for: date
    vin: str
    plate_number: str
    purpose: str
    missing: list[str]
    insurer_name: str  # "" when no policy was found
    policy_number: str
    division: str


class InsurerCountOut(Schema):
    insurer_name: str
    count: int


class FeedbackOut(Schema):
    week: str
    start: date  # Monday
    end: date  # Sunday
    insurers: list[InsurerCountOut]
    items: list[FailureOut]


@router.get("/insurance/feedback", response={200: FeedbackOut, **ERRORS}, auth=AUTH)
@access_required(selectors.ACTION)
def feedback(request: HttpRequest, week: str = "") -> Any:
    """Failed compulsory insurance and vehicle tax checks of one ISO week (``2026-W49``; this
    week when omitted), grouped per insurer (O7). Staff see their jurisdiction; an insurer sees
    its own customers' rows and the "no policy found" rows of its city; other organisations 403."""
    chosen = selectors.week_from(week, today=timezone.localdate())
    rows = list(selectors.feedback_rows(actor=request.auth, week=chosen))  # type: ignore[attr-defined]
    groups = selectors.feedback_groups(rows)  # type: ignore[arg-type]
    return {
        "week": chosen.label,
        "start": chosen.monday,
        "end": chosen.sunday,
        "insurers": [{"insurer_name": g.insurer_name, "count": g.count} for g in groups],
        "items": [
            {
                "checked_at": row.checked_at,
                "checked_for": row.checked_for,
                "vin": row.vin,
                "plate_number": row.plate_number,
                "purpose": row.purpose,
                "missing": list(row.missing_items),
                "insurer_name": row.insurer_name,
                "policy_number": row.policy_number,
                "division": row.division,
            }
            for group in groups
            for row in group.rows
        ],
    }
