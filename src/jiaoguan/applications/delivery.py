"""Posted delivery (邮寄送达, issue 13): the delivery deadline and what a tracking event does.

Pure functions; no ORM and no clock. Issue 13: a posted document is delivered within 1
working day in the same city, 2 in the same province and 3 across provinces, counted from
posting on the official working-day calendar (``core.workdays``).
"""

from __future__ import annotations

from datetime import date, datetime

from jiaoguan.core.workdays import WorkCalendar, add_working_days

from .rules import State

DELIVERY_WORKING_DAYS = {"city": 1, "province": 2, "country": 3}

# What a tracking event of the parcel does to a posted application.
COMPLETE = "complete"
PROBLEM = "problem"
NOTHING = "nothing"

PROBLEMS: dict[str, tuple[str, str]] = {
    "returned": (
        "邮件被退回（收件人拒收或无法联系），请联系车管所重新寄送或到窗口领取",
        "The parcel was returned (refused, or the recipient could not be reached); contact the DMV "
        "to have it sent again or pick it up at the window",
    ),
    "lost": (
        "邮件在寄递途中丢失，请联系车管所补寄",
        "The parcel was lost in the post; contact the DMV to have it sent again",
    ),
}


def distance(origin: str, destination: str) -> str:
    """ "city", "province" or "country" between two GB/T 2260 codes (4 and 2 digit prefixes)."""
    if origin[:4] == destination[:4]:
        return "city"
    return "province" if origin[:2] == destination[:2] else "country"


def delivery_working_days(origin: str, destination: str) -> int:
    return DELIVERY_WORKING_DAYS[distance(origin, destination)]


def delivery_due(
    posted_at: datetime, *, origin: str, destination: str, calendar: WorkCalendar | None = None
) -> date | None:
    """The day a parcel posted at ``posted_at`` is due; None beyond the known calendar."""
    return add_working_days(posted_at, delivery_working_days(origin, destination), calendar).due_on


def tracking_effect(*, state: str, kind: str) -> str:
    """What an event does: only a posted application moves; anything late or repeated does nothing.

    "delivered" completes it; "returned" and "lost" record a problem and tell the applicant.
    """
    if state != State.POSTED:
        return NOTHING
    if kind == "delivered":
        return COMPLETE
    if kind in PROBLEMS:
        return PROBLEM
    return NOTHING


def problem_text(kind: str, place: str) -> str:
    """The delivery problem as stored on the application (Chinese, with the postal service's place)."""
    zh, _en = PROBLEMS[kind]
    return f"{zh}（{place}）"[:200] if place else zh[:200]
