"""Plate pre-selection endpoints (B19, P1-P5; issue 17): the buyer's selections, the dealers'
pre-registrations, and the public day files of the draws. Thin handlers over ``services`` and
``selectors``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import ErrorOut

from . import draws, public_draws

router = Router(tags=["plates"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


# ---------------------------------------------------------------- buyers: selections (P1-P5)


# ---------------------------------------------------------------- dealers: pre-registrations (P2)


# ---------------------------------------------------------------- public: the day files of the draws

PUBLIC = "plates.draws.public"


class DrawDayOut(Schema):
    date: date
    commitment: str  # SHA-256 of the day's seed, published before the day's first draw
    committed_at: datetime
    revealed: bool
    revealed_at: datetime | None
    draws: int
    entries: int  # every logged change of the day, draws included
    file: str  # the day file's address


class DrawDaysOut(Schema):
    items: list[DrawDayOut]


class DrawCheckOut(Schema):
    date: date
    revealed: bool
    ok: bool
    problems: list[str]
    draws: int
    events: int


@router.get("/plate-draws", response={200: DrawDaysOut, **ERRORS}, auth=None)
@access_required(PUBLIC)
def plate_draws(request: HttpRequest, limit: int = Query(60, ge=1, le=366)) -> Any:
    """The days of the random draws (选号日志), newest first: each day's seed commitment (published
    in the morning, before the day's first draw), whether its seed is revealed (after the day
    ends), and how many draws and log entries it has (issue 17 §3)."""
    public_draws.publish_due()
    return {
        "items": [
            row | {"file": f"/api/v1/plate-draws/{row['date'].isoformat()}"}
            for row in public_draws.days(limit=limit)
        ]
    }


@router.get("/plate-draws/{day}", response={200: dict[str, Any], **ERRORS}, auth=None)
@access_required(PUBLIC)
def plate_draw_day(request: HttpRequest, day: str) -> Any:
    """A day's file (``jiaoguan-plate-draws/1``): the commitment, the seed once the day has ended,
    and per pool its opening numbers and every change of the day with masked users. Anyone can
    replay it with ``jiaoguan verify-draws``. ``day`` is YYYY-MM-DD; 404 for a day without a
    commitment. The body is the file as published (sorted keys), so its SHA-256 is stable."""
    wanted = public_draws.parse_day(day)
    public_draws.publish_due()
    body = draws.dumps(public_draws.day_file(wanted))
    return HttpResponse(body, content_type="application/json; charset=utf-8")


@router.get("/plate-draws/{day}/check", response={200: DrawCheckOut, **ERRORS}, auth=None)
@access_required(PUBLIC)
def plate_draw_day_check(request: HttpRequest, day: str) -> Any:
    """The platform's own replay of the day (``draws.replay``): ``ok``, each problem, and how many
    draws and entries were replayed. Before the reveal the platform uses its still secret seed."""
    wanted = public_draws.parse_day(day)
    public_draws.publish_due()
    record = public_draws.day_record(wanted)
    report = public_draws.day_check(record)
    return {
        "date": record.day,
        "revealed": record.revealed_at is not None,
        "ok": report.ok,
        "problems": report.problems,
        "draws": report.draws,
        "events": report.events,
    }
