"""Endpoints of acting for others (issue 18): the principal's overview ("who acted for me"),
entrustments (O5), elderly proxies (O2, U6) and filed vehicles (U7). Thin handlers over
``services`` and ``selectors``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.errors import NotFound
from jiaoguan.core.identifiers import mask_name

from . import selectors, services
from .models import DelegatedAction, VehicleFiling

router = Router(tags=["delegations"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}
ME_AUTH = [BearerToken(), SessionUser()]


def caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


# ---------------------------------------------------------------- who acted for me


class DelegatedActionOut(Schema):
    at: datetime
    grant: str  # entrustment | proxy | filing
    grant_id: int
    business_code: str
    channel: str  # online | counter
    outcome: str  # done | pending | refused | stopped
    agent: str  # masked name
    reference: str
    note_zh: str
    note_en: str


def delegated_action_out(row: DelegatedAction) -> DelegatedActionOut:
    agent = row.agent_name or (row.agent_user.get_full_name() if row.agent_user else "")
    return DelegatedActionOut(
        at=row.at, grant=row.grant, grant_id=row.grant_id, business_code=row.business_code, channel=row.channel,
        outcome=row.outcome, agent=mask_name(agent) if agent else "", reference=row.reference,
        note_zh=row.note_zh, note_en=row.note_en,
    )  # fmt: skip


@router.get("/me/acted-for-me", response={200: list[DelegatedActionOut], **ERRORS}, auth=ME_AUTH)
@access_required(selectors.VIEW)
def acted_for_me(request: HttpRequest) -> Any:
    """Every action taken in my name under an entrustment, a proxy or a filing, newest first
    (at most 100): business, time, counter or online, outcome."""
    return [
        delegated_action_out(row)
        for row in selectors.acted_for_me(actor=caller(request))[: selectors.ACTED_LIMIT]
    ]


# ---------------------------------------------------------------- online entrustment (O5)


# ---------------------------------------------------------------- elderly proxy (O2, U6)


# ---------------------------------------------------------------- filed vehicles (U7)


class FilingIn(InputSchema):
    plate_number: str = Field(..., max_length=20)
    plate_type: str = Field(..., max_length=2)
    vin_tail: str = Field(..., max_length=10)


class FilingConsentIn(InputSchema):
    accept: bool


class FilingCodeIn(InputSchema):
    code: str = Field(..., max_length=12)


class FilingOut(Schema):
    """A filing as its driver or the vehicle's owner reads it: no owner data, the driver masked."""

    id: int
    role: str  # driver | owner: which side of the filing the caller is on
    plate_number: str
    plate_type: str
    state: str  # awaiting | active | refused | withdrawn | lapsed
    state_zh: str
    state_en: str
    consent_via: str  # account | sms | ""
    driver: str  # masked name
    code_pending: bool  # an SMS code was sent to the owner and may be entered
    requested_at: datetime
    consented_at: datetime | None
    ended_at: datetime | None
    end_reason: str


def filing_out(filing: VehicleFiling, caller_id: int) -> dict[str, Any]:
    zh, _sep, en = str(filing.get_state_display()).partition(" ")
    driver = filing.driver
    person = getattr(driver, "person", None)
    name = (person.name if person is not None else "") or driver.get_full_name()
    return {
        "id": filing.pk, "role": "driver" if filing.driver_id == caller_id else "owner",
        "plate_number": filing.vehicle.plate_number or "", "plate_type": filing.vehicle.plate_type,
        "state": filing.state, "state_zh": zh, "state_en": en, "consent_via": filing.consent_via,
        "driver": mask_name(name) if name else "",
        "code_pending": filing.state == VehicleFiling.State.AWAITING_CONSENT and bool(filing.code_hash),
        "requested_at": filing.requested_at, "consented_at": filing.consented_at, "ended_at": filing.ended_at,
        "end_reason": filing.end_reason,
    }  # fmt: skip


def _concerning(request: HttpRequest, filing_id: int) -> dict[str, Any]:
    user = caller(request)
    filing = (
        selectors.filings_concerning(actor=user).select_related("driver__person").filter(pk=filing_id).first()
    )
    if filing is None:
        raise NotFound(
            "delegations.not_found", "没有这项委托、代办或备案。", "No such entrustment, proxy or filing."
        )
    return filing_out(filing, user.pk)


@router.post("/me/vehicle-filings", response={201: FilingOut, **ERRORS}, auth=ME_AUTH)
@access_required(services.FILING_REQUEST)
def filing_request(request: HttpRequest, payload: FilingIn) -> Any:
    """File (备案) a vehicle owned by someone else that I drive (U7), named by plate number, plate
    type (GA 36 code, e.g. ``02``) and the last six characters of its VIN. The owner gets an SMS
    with a 6-digit code (10 minutes, 5 tries) and can also consent in their account. 404
    ``delegations.filing.no_match`` for an unknown plate or a wrong VIN tail alike; 409
    ``delegations.filing.own_vehicle``, ``.vehicle_not_normal``, ``.already_filed``; 429 with
    ``Retry-After`` for too many requests. Accepts ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        user = caller(request)
        filing = services.filing_request(
            actor=user,
            plate_number=payload.plate_number,
            plate_type=payload.plate_type,
            vin_tail=payload.vin_tail,
        )
        return 201, filing_out(filing, user.pk)

    return run_idempotent(request, scope="vehicle-filings", body=payload.dict(), call=call)


@router.get("/me/vehicle-filings", response={200: list[FilingOut], **ERRORS}, auth=ME_AUTH)
@access_required(selectors.VIEW)
def my_filings(request: HttpRequest) -> Any:
    """Filings I asked for as a driver and filings of my vehicles as their owner, newest first
    (at most 100); a filing whose vehicle changed owner or whose consent window passed reads lapsed."""
    user = caller(request)
    services.filings_settle(
        driver_id=user.pk, owner_person_id=getattr(user, "person_id", None),
        owner_organisation_id=getattr(user, "organisation_id", None),
    )  # fmt: skip
    rows = selectors.filings_concerning(actor=user).select_related("driver__person")[:100]
    return [filing_out(f, user.pk) for f in rows]


@router.post("/me/vehicle-filings/{filing_id}/consent", response={200: FilingOut, **ERRORS}, auth=ME_AUTH)
@access_required(services.FILING_CONSENT)
def filing_consent(request: HttpRequest, filing_id: int, payload: FilingConsentIn) -> Any:
    """As the vehicle's owner, agree to (``accept`` true) or refuse a filing awaiting my consent.
    409 ``delegations.filing.not_awaiting`` once decided, ``delegations.filing.lapsed`` after the
    consent window or a change of owner; 404 for a filing of somebody else's vehicle."""
    services.filing_consent(actor=caller(request), filing_id=filing_id, accept=payload.accept)
    return 200, _concerning(request, filing_id)


@router.post("/me/vehicle-filings/{filing_id}/code", response={200: FilingOut, **ERRORS}, auth=ME_AUTH)
@access_required(services.FILING_REQUEST)
def filing_code(request: HttpRequest, filing_id: int, payload: FilingCodeIn) -> Any:
    """As the driver, enter the code the owner received by SMS (the owner's consent). 422
    ``delegations.filing.code_wrong`` (``detail.tries_left``); 409 ``delegations.filing.code_expired``
    after 10 minutes or 5 wrong tries."""
    services.filing_consent_by_code(actor=caller(request), filing_id=filing_id, code=payload.code)
    return 200, _concerning(request, filing_id)


@router.post("/me/vehicle-filings/{filing_id}/withdrawal", response={200: FilingOut, **ERRORS}, auth=ME_AUTH)
@access_required(services.REVOKE)
def filing_withdraw(request: HttpRequest, filing_id: int) -> Any:
    """Withdraw a filing, as its driver or as the vehicle's owner: the mark is gone at once."""
    services.filing_withdraw(actor=caller(request), filing_id=filing_id)
    return 200, _concerning(request, filing_id)


# ---------------------------------------------------------------- counter (O5 checks)
