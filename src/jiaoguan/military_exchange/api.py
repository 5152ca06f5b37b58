"""Military licence exchange endpoints (退役军人换证, O3): the applicant's own cases. Thin
handlers over ``services`` and ``selectors``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.errors import NotFound

from . import selectors, services
from .models import ExchangeCase

router = Router(tags=["military-exchange"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
    503: ErrorOut,
}
ME_AUTH = [BearerToken(), SessionUser()]


def caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class AddedIn(InputSchema):
    classes: str = Field(..., max_length=8)
    on: date


class ExchangeIn(InputSchema):
    military_number: str = Field(..., max_length=24)
    classes: str = Field(..., max_length=24)
    first_issued_on: date
    added: list[AddedIn] = Field(default_factory=list, max_length=6)
    exchanged_before: bool = False
    earlier_exchanged_on: date | None = None


class AddedOut(Schema):
    classes: str
    on: date


class ExchangeOut(Schema):
    id: int
    state: str  # awaiting | suspect | completed | rejected
    state_zh: str
    state_en: str
    path: str  # reissue | record_only
    military_number: str  # masked: prefix and last 4
    classes: str
    first_issued_on: date  # as declared
    added: list[AddedOut]
    check: str  # passed | not_passed
    submitted_at: datetime
    decided_at: datetime | None
    exchanged_on: date | None
    licence_first_issued_on: date | None  # the civilian licence's, once completed (REISSUE)
    licence_valid_until: date | None
    reason: str  # why it was rejected


def mask_military(number: str) -> str:
    return number[:2] + "*" * max(len(number) - 6, 0) + number[-4:] if len(number) > 6 else number


def exchange_out(case: ExchangeCase) -> dict[str, Any]:
    from jiaoguan.registry.military_licence_rules import first_valid_until

    zh, _sep, en = case.get_state_display().partition(" ")
    completed = case.state == ExchangeCase.State.COMPLETED and case.path == ExchangeCase.Path.REISSUE
    licence = case.licence if completed else None
    return {
        "id": case.pk, "state": case.state, "state_zh": zh, "state_en": en, "path": case.path,
        "military_number": mask_military(case.military_number), "classes": case.classes,
        "first_issued_on": case.claimed_first_issued_on,
        "added": [{"classes": c, "on": date.fromisoformat(d)} for c, d in case.added],
        "check": case.check_outcome, "submitted_at": case.submitted_at, "decided_at": case.decided_at,
        "exchanged_on": case.exchanged_on,
        "licence_first_issued_on": licence.first_issued_on if licence is not None else None,
        "licence_valid_until": first_valid_until(case.exchanged_on) if completed and case.exchanged_on else None,
        "reason": case.reject_reason,
    }  # fmt: skip


@router.post("/me/military-exchanges", response={201: ExchangeOut, **ERRORS}, auth=ME_AUTH)
@access_required(services.APPLY)
def exchange_apply(request: HttpRequest, payload: ExchangeIn) -> Any:
    """Apply to exchange my military or armed-police licence for a civilian one (O3). The military
    licence is checked online at once: ``state`` ``awaiting`` (check passed, waiting for the
    counter) or ``suspect`` (not passed, under review). ``exchanged_before`` with
    ``earlier_exchanged_on``: a civilian licence exchanged earlier; by 2021-05-31 only the new
    military prefixes (JW, JH, LA, ...) may have the remark noted (``path`` ``record_only``).
    Refused with nothing saved: 409 ``military_exchange.one_open``, ``licence.military.old_licence``;
    422 for bad input; 503 ``military_exchange.check_unavailable`` when the registry cannot be asked.
    Accepts ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        case = services.case_apply(
            actor=caller(request), military_number=payload.military_number, classes=payload.classes,
            first_issued_on=payload.first_issued_on, added=[(a.classes, a.on) for a in payload.added],
            exchanged_before=payload.exchanged_before, earlier_exchanged_on=payload.earlier_exchanged_on,
        )  # fmt: skip
        return 201, exchange_out(case)

    return run_idempotent(request, scope="military-exchanges", body=payload.dict(), call=call)


@router.get("/me/military-exchanges", response={200: list[ExchangeOut], **ERRORS}, auth=ME_AUTH)
@access_required(services.APPLY)
def my_exchanges(request: HttpRequest) -> Any:
    """My exchange cases, newest first (at most 50)."""
    return [exchange_out(c) for c in selectors.cases_of(actor=caller(request))[:50]]


@router.get("/me/military-exchanges/{case_id}", response={200: ExchangeOut, **ERRORS}, auth=ME_AUTH)
@access_required(services.APPLY)
def my_exchange(request: HttpRequest, case_id: int) -> Any:
    """One of my exchange cases; somebody else's is 404."""
    case = selectors.case_of(actor=caller(request), case_id=case_id)
    if case is None:
        raise NotFound("military_exchange.not_found", "没有这项换证申请。", "No such exchange case.")
    return exchange_out(case)
