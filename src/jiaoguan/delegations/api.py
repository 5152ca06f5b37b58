"""Endpoints of acting for others (issue 18): the principal's overview ("who acted for me"),
entrustments (O5), elderly proxies (O2, U6) and filed vehicles (U7). Thin handlers over
``services`` and ``selectors``."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone, record_id

from . import rules, selectors, services, tokens
from .models import DelegatedAction, Entrustment, ProxyAuthorisation, VehicleFiling

router = Router(tags=["delegations"])
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
    number = record_id(value)
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


class ProxyOut(Schema):
    id: int
    reference: str  # "PX12"
    elder_name: str  # masked
    relationship: str
    business_code: str
    business_name_zh: str
    business_name_en: str
    state: str  # awaiting_auth | active | used | revoked | lapsed
    authentication_outcome: str  # "" | pass | fail
    authentication_reason: str  # why the last attempt failed: liveness, no_match, no_reference, bad_image
    authentication_reason_zh: str
    authentication_reason_en: str
    authentication_attempts: int
    authentication_attempts_left: int
    valid_until: date
    application_number: str
    created_at: datetime


def proxy_out(proxy: ProxyAuthorisation) -> dict[str, Any]:
    zh, en = rules.PROXY_BUSINESSES.get(proxy.business_code, (proxy.business_code, proxy.business_code))
    reason_zh, reason_en = (
        services.auth_reason_words(proxy.authentication_reason) if proxy.authentication_reason else ("", "")
    )
    return {
        "id": proxy.pk, "reference": f"PX{proxy.pk}", "elder_name": mask_name(proxy.elder.name),
        "relationship": proxy.relationship, "business_code": proxy.business_code, "business_name_zh": zh,
        "business_name_en": en, "state": proxy.state, "authentication_outcome": proxy.authentication_outcome,
        "authentication_reason": proxy.authentication_reason, "authentication_reason_zh": reason_zh,
        "authentication_reason_en": reason_en, "authentication_attempts": proxy.authentication_attempts,
        "authentication_attempts_left": max(0, services.PROXY_MAX_AUTH_ATTEMPTS - proxy.authentication_attempts),
        "valid_until": proxy.valid_until, "application_number": proxy.application_number,
        "created_at": proxy.created_at,
    }  # fmt: skip


def _read(upload: UploadedFile | None, limit: int) -> tuple[bytes, str]:
    if upload is None:
        return b"", ""
    upload.seek(0)
    return upload.read(limit + 1), upload.name or ""


@router.post("/me/elder-proxies", response={201: ProxyOut, **ERRORS}, auth=ME_AUTH)
@access_required(services.PROXY_CREATE)
def proxy_start(
    request: HttpRequest,
    elder_id_number: Form[str],
    elder_name: Form[str],
    relationship: Form[str],
    business_code: Form[str],
    id_card: File[UploadedFile],
) -> Any:
    """Ask to act for a person aged 60 or over for ONE business (老年人代办, O2), multipart with the
    elderly person's ID card image (``id_card``: JPEG, PNG or PDF, at most 2 MB). The answer waits
    for their real-person authentication (``state`` ``awaiting_auth``); they are told by SMS.
    Refused: 422 ``delegations.proxy.under_age``, ``delegations.proxy.business_not_allowed``,
    ``delegations.proxy.elder_unverified`` (ID number and name do not name one person: one answer
    for both), ``delegations.proxy.self``, ``upload.*``; 409 ``delegations.proxy.already_open``.
    Accepts ``Idempotency-Key``."""
    content, name = _read(id_card, services.ID_CARD_MAX_BYTES)
    body = {
        "elder_id_number": elder_id_number, "elder_name": elder_name, "relationship": relationship,
        "business_code": business_code, "id_card_sha256": hashlib.sha256(content).hexdigest(),
    }  # fmt: skip

    def call() -> tuple[int, Any]:
        proxy = services.proxy_create(
            actor=caller(request), elder_id_number=elder_id_number, elder_name=elder_name,
            relationship=relationship, business_code=business_code, id_card=content,
            id_card_content_type=id_card.content_type or "", id_card_filename=name,
        )  # fmt: skip
        return 201, proxy_out(proxy)

    return run_idempotent(
        request, scope="elder-proxies", body=body, call=call, owner=f"user:{caller(request).pk}"
    )


@router.get("/me/elder-proxies", response={200: list[ProxyOut], **ERRORS}, auth=ME_AUTH)
@access_required(services.PROXY_CREATE)
def proxy_list(request: HttpRequest) -> Any:
    """The proxy authorisations I asked for as the relative, newest first (at most 50)."""
    return [proxy_out(p) for p in selectors.proxies_of_relative(actor=caller(request))[:50]]


@router.post("/me/elder-proxies/{proxy_id}/authentication", response={200: ProxyOut, **ERRORS}, auth=ME_AUTH)
@access_required(services.PROXY_CREATE)
def proxy_authentication(request: HttpRequest, proxy_id: int, capture: File[UploadedFile]) -> Any:
    """Real-person authentication of the elderly person (实人认证, U6), multipart ``capture``: a
    picture taken now. 200 with ``state`` ``active`` on a pass; on a fail 200 with ``state``
    ``awaiting_auth`` and ``authentication_reason`` (at most 5 attempts, then 409
    ``delegations.proxy.auth_attempts``); 503 ``delegations.proxy.auth_unavailable`` when the
    provider cannot answer (nothing changed, try again later)."""
    content, _name = _read(capture, services.CAPTURE_MAX_BYTES)
    proxy = services.proxy_authenticate(actor=caller(request), proxy_id=proxy_id, capture=content)
    return proxy_out(proxy)


class ProxyDeliveryIn(InputSchema):
    method: str = ""
    recipient_name: str = ""
    recipient_phone: str = ""
    address_division: str = ""
    address_line: str = ""


class ProxyApplicationIn(InputSchema):
    business_code: str = ""  # must be the proxy's business when given
    vehicle_id: int | None = None  # one of the elderly person's vehicles (vehicle businesses)
    delivery: ProxyDeliveryIn = ProxyDeliveryIn()
    particulars: dict[str, Any] = {}
    note: str = ""


class ProxyApplicationOut(Schema):
    proxy: ProxyOut
    application_id: int
    application_number: str
    application_state: str


@router.post(
    "/me/elder-proxies/{proxy_id}/applications", response={201: ProxyApplicationOut, **ERRORS}, auth=ME_AUTH
)
@access_required(services.PROXY_ACT)
def proxy_apply(request: HttpRequest, proxy_id: int, payload: ProxyApplicationIn) -> Any:
    """Apply for the proxy's ONE business on the elderly person's behalf (O2): their licence (or
    ``vehicle_id``, one of their vehicles) and eligibility; I am the applicant, and the application
    shows in my list and theirs. Files are added afterwards with
    ``POST /api/v1/me/applications/{id}/materials``. Refused: 422
    ``delegations.proxy.business_outside``; 409 ``delegations.proxy.used`` (one business per
    proxy), ``delegations.proxy.not_authenticated``, ``delegations.proxy.lapsed`` and the engine's
    own refusals. Accepts ``Idempotency-Key``."""
    actor = caller(request)

    def call() -> tuple[int, Any]:
        from jiaoguan.applications.services import DeliveryInput

        found = selectors.proxy_of_relative(actor=actor, proxy_id=proxy_id)
        licence = selectors.proxy_licence(found)
        app = services.proxy_application_submit(
            actor=actor, proxy_id=proxy_id, business_code=payload.business_code,
            licence_id=licence.pk if licence is not None and payload.vehicle_id is None else None,
            vehicle_id=payload.vehicle_id, delivery=DeliveryInput(**payload.delivery.dict()),
            particulars=payload.particulars, note=payload.note,
        )  # fmt: skip
        found.refresh_from_db()
        return 201, {
            "proxy": proxy_out(found), "application_id": app.pk, "application_number": app.number,
            "application_state": app.state,
        }  # fmt: skip

    return run_idempotent(
        request, scope="elder-proxy-applications", body={"proxy": proxy_id, **payload.dict()}, call=call,
        owner=f"user:{actor.pk}",
    )  # fmt: skip


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
