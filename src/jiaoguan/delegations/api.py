"""Endpoints of acting for others (issue 18): the principal's overview ("who acted for me"),
entrustments (O5), elderly proxies (O2, U6) and filed vehicles (U7). Thin handlers over
``services`` and ``selectors``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone

from . import selectors, services, tokens
from .models import DelegatedAction, Entrustment

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


class EntrustmentIn(InputSchema):
    agent_id_number: str = Field(..., max_length=32)
    agent_name: str = Field(..., max_length=64)
    agent_mobile: str = Field(..., max_length=32)
    businesses: list[str] = Field(..., max_length=40)
    valid_from: date
    valid_until: date
    purpose: str = Field("ordinary", max_length=10)


class EntrustmentOut(Schema):
    id: int
    status: str  # valid | not_yet | expired | revoked
    purpose: str  # ordinary | abroad (O4)
    principal: str  # masked name
    agent: str  # masked name
    agent_id_number: str  # masked
    agent_mobile: str  # masked
    businesses: list[str]  # entrustable codes, seed order
    valid_from: date
    valid_until: date
    created_at: datetime
    revoked_at: datetime | None
    token: str  # the EN1: QR text; empty once revoked or expired
    token_expires_at: int | None


def entrustment_out(entrustment: Entrustment, *, with_token: bool = True) -> dict[str, Any]:
    token, expires = "", None
    status = tokens.entrustment_state(entrustment)
    if with_token and status in ("valid", "not_yet"):
        try:
            signed = tokens.entrustment_token(entrustment=entrustment)
        except DomainError:  # no signing key at hand: the entrustment is listed, its QR is not
            pass
        else:
            token, expires = signed.text, signed.expires_at
    return {
        "id": entrustment.pk, "status": status, "purpose": entrustment.purpose,
        "principal": mask_name(entrustment.principal_person.name), "agent": mask_name(entrustment.agent_name),
        "agent_id_number": mask_id_number(entrustment.agent_id_number),
        "agent_mobile": mask_phone(entrustment.agent_mobile), "businesses": list(entrustment.businesses),
        "valid_from": entrustment.valid_from, "valid_until": entrustment.valid_until,
        "created_at": entrustment.created_at, "revoked_at": entrustment.revoked_at,
        "token": token, "token_expires_at": expires,
    }  # fmt: skip


@router.post("/me/entrustments", response={201: EntrustmentOut, **ERRORS}, auth=ME_AUTH)
@access_required(services.ENTRUST)
def entrustment_create(request: HttpRequest, payload: EntrustmentIn) -> Any:
    """Entrust a named person (ID number, name, mobile) with named businesses (codes of the
    entrustable list: vehicle.plate, licence.replacement ...) for at most 30 days (网上委托, O5).
    ``purpose`` ``abroad`` (O4) allows licence.deferral and licence.medical_certificate only.
    Refused with nothing stored: 422 ``delegations.entrustment.too_long``,
    ``business_not_entrustable``, ``no_business``, ``starts_in_past``, ``self``,
    ``abroad_business``, ``identity.*`` for a malformed ID number or mobile. The agent is told by
    SMS. Answers the entrustment with its ``EN1:`` QR text. Accepts ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        created = services.entrustment_create(
            actor=caller(request), agent_id_number=payload.agent_id_number, agent_name=payload.agent_name,
            agent_mobile=payload.agent_mobile, businesses=list(payload.businesses), valid_from=payload.valid_from,
            valid_until=payload.valid_until, purpose=payload.purpose,
        )  # fmt: skip
        created = Entrustment.objects.select_related("principal_person").get(pk=created.pk)
        return 201, entrustment_out(created)

    return run_idempotent(request, scope="entrustments", body=payload.dict(), call=call)


@router.get("/me/entrustments", response={200: list[EntrustmentOut], **ERRORS}, auth=ME_AUTH)
@access_required(services.ENTRUST)
def my_entrustments(request: HttpRequest) -> Any:
    """My entrustments as the principal, newest first (at most 50), each with its ``EN1:`` QR text
    while it is in force."""
    rows = selectors.entrustments_of_principal(actor=caller(request)).select_related("principal_person")
    return [entrustment_out(e) for e in rows[: selectors.ENTRUSTMENTS_SHOWN]]


def _path_id(value: str) -> int:
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else 0
    if not number:
        raise NotFound(
            "delegations.not_found", "没有这项委托、代办或备案。", "No such entrustment, proxy or filing."
        )
    return number


@router.post(
    "/me/entrustments/{entrustment_id}/revocation", response={200: EntrustmentOut, **ERRORS}, auth=ME_AUTH
)
@access_required(services.REVOKE)
def entrustment_revoke(request: HttpRequest, entrustment_id: str) -> Any:
    """Revoke one of my entrustments: its QR fails at once, online, offline (status list) and at
    the counter. 404 for anybody else's; 409 ``delegations.already_ended`` when already revoked."""
    revoked = services.entrustment_revoke(actor=caller(request), entrustment_id=_path_id(entrustment_id))
    revoked = Entrustment.objects.select_related("principal_person").get(pk=revoked.pk)
    return entrustment_out(revoked)


# ---------------------------------------------------------------- elderly proxy (O2, U6)


# ---------------------------------------------------------------- filed vehicles (U7)


# ---------------------------------------------------------------- counter (O5 checks)


class EntrustmentCheckIn(InputSchema):
    token_or_id: str = Field(
        ..., max_length=4096, description="the scanned EN1: QR text, or the principal's ID number"
    )
    agent_id_number: str = Field(..., max_length=32)
    agent_name: str = Field("", max_length=64, description="as read from the agent's ID card")
    business: str = Field(..., max_length=40, description="an engine code (B10) or an entrustable code")


class EntrustmentCheckOut(Schema):
    outcome: str  # done | refused
    reason: str  # ok | revoked | not_yet | expired | agent_mismatch | business_mismatch
    new_entrustment_needed: bool
    message_zh: str
    message_en: str
    entrustment_id: int
    principal: str  # masked
    agent: str  # masked, as entrusted
    businesses: list[str]
    valid_from: date
    valid_until: date


@router.post("/counter/entrustment-checks", response={201: EntrustmentCheckOut, **ERRORS}, auth=ME_AUTH)
@access_required(services.CHECK)
def entrustment_check(request: HttpRequest, payload: EntrustmentCheckIn) -> Any:
    """The counter checks an entrustment (O5): the agent present and the business against the
    scanned QR or the principal's entrustments. 201 with ``outcome`` done or refused (recorded in
    the principal's "who acted for me"); a mismatch of person or business sets
    ``new_entrustment_needed``. 422 ``delegations.entrustment.token_rejected`` for a QR that does
    not pass (tampered, expired, not an entrustment), 404 when the principal has none, 403 outside
    the jurisdiction; nothing is recorded then."""
    check = services.entrustment_check_at_counter(
        actor=caller(request), token_or_id=payload.token_or_id, agent_id_number=payload.agent_id_number,
        business=payload.business, agent_name=payload.agent_name, request=request,
    )  # fmt: skip
    e = check.entrustment
    return 201, {
        "outcome": check.outcome, "reason": check.reason,
        "new_entrustment_needed": check.reason in ("agent_mismatch", "business_mismatch"),
        "message_zh": check.message_zh, "message_en": check.message_en, "entrustment_id": e.pk,
        "principal": mask_name(e.principal_person.name), "agent": mask_name(e.agent_name),
        "businesses": list(e.businesses), "valid_from": e.valid_from, "valid_until": e.valid_until,
    }  # fmt: skip
