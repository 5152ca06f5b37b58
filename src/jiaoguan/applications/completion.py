"""What completing a business changes in the registry (办结, issue 13, B8-B14; issue 14, B1-B3, B20, B21, E2).

``_move`` calls :func:`apply` when an application reaches "completed", inside the clerk's (or
the system's) transaction: the application and the licence change together or not at all.
A refusal of the registry (the licence was cancelled meanwhile, a deferral no longer fits)
rolls the completion back and reaches the clerk as the registry's 409.

Access was checked by the applications service; the registry services take no actor.
Businesses without a registry change of their own here (B6, B7: the hospital's certificate)
complete with the state change only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.utils import timezone

from jiaoguan.credentials.services import paper_mark_request_sent
from jiaoguan.registry import services as registry

from .models import Application


def _applied_on(app: Application) -> date | None:
    return timezone.localdate(app.submitted_at) if app.submitted_at else None


_Completion = Callable[[int, Application, date], Any]


def _renew(licence_id: int, app: Application, today: date) -> Any:
    return registry.licence_renew(licence_id=licence_id, today=today, applied_on=_applied_on(app))


def _exchange(licence_id: int, app: Application, today: date) -> Any:
    return registry.licence_exchange_at_age_limit(
        licence_id=licence_id, to_classes=str(app.particulars.get("to_classes", "")), today=today
    )


def _replace(cause: str) -> _Completion:
    def replace(licence_id: int, app: Application, today: date) -> Any:
        return registry.licence_replace(licence_id=licence_id, cause=cause, today=today)

    return replace


def _defer(kind: str) -> _Completion:
    def defer(licence_id: int, app: Application, today: date) -> Any:
        return registry.licence_defer(
            licence_id=licence_id,
            kind=kind,
            reason=str(app.particulars.get("reason", "")),
            until=date.fromisoformat(str(app.particulars.get("until", ""))),
            today=today,
        )

    return defer


# Business code -> the registry change that completes it (catalogue.Entry.completes_with).
_COMPLETIONS: dict[str, _Completion] = {
    "B8": _renew,
    "B9": _exchange,
    "B10": _replace("lost"),
    "B11": _replace("damaged"),
    "B12": _defer("renewal"),
    "B13": _defer("review"),
    "B14": _defer("medical"),
}


# Issue 14: vehicle businesses complete on the vehicle (B1, B2 new plates; B20, B21 a new vehicle
# licence), which reissues the electronic mark; a paper mark (B3, E2) completes its request.
def _plates(cause: str) -> _Completion:
    def reissue(vehicle_id: int, app: Application, today: date) -> Any:
        return registry.vehicle_plate_reissue(vehicle_id=vehicle_id, cause=cause, today=today)

    return reissue


def _vehicle_licence(cause: str) -> _Completion:
    def reissue(vehicle_id: int, app: Application, today: date) -> Any:
        return registry.vehicle_licence_reissue(vehicle_id=vehicle_id, cause=cause, today=today)

    return reissue


def _paper_mark_sent(vehicle_id: int, app: Application, today: date) -> Any:
    # The stored request of an exempt application (E2) is marked sent; a B3 replacement or an
    # inspection's label has no such row. The mark itself is the electronic one, unchanged.
    paper_request_id = app.particulars.get("paper_request_id")
    if paper_request_id:
        return paper_mark_request_sent(paper_request_id=int(paper_request_id), at=timezone.now())
    return None


_VEHICLE_COMPLETIONS: dict[str, _Completion] = {
    "B1": _plates("lost"),
    "B2": _plates("damaged"),
    "B20": _vehicle_licence("lost"),
    "B21": _vehicle_licence("damaged"),
    "B3": _paper_mark_sent,
    "E2": _paper_mark_sent,
}


def apply(app: Application, *, today: date) -> None:
    """Make the registry change that completes ``app`` (its business's ``completes_with``)."""
    complete = _COMPLETIONS.get(app.business_code)
    if complete is not None and app.licence_id is not None:
        complete(app.licence_id, app, today)
    complete = _VEHICLE_COMPLETIONS.get(app.business_code)
    if complete is not None and app.vehicle_id is not None:
        complete(app.vehicle_id, app, today)
