"""Credential endpoints: trust list, status list, verification, my credentials and their tokens."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser
from jiaoguan.core.errors import DomainError

from . import keys, selectors, services
from .token import DisplayMode
from .verify import trust_list_json

router = Router(tags=["credentials"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class VerifyIn(InputSchema):
    text: str = Field(..., max_length=8192, description="the QR text, e.g. VI1:... or DL1:...")


class CheckOut(Schema):
    check: str
    ok: bool


class HolderOut(Schema):
    name: str = Field(..., description="the e-licence holder's full name")
    photo_url: str = Field(
        "", description="the approved photo, for a few minutes after this verification; empty when none"
    )
    photo_expires_at: int | None = Field(None, description="when photo_url stops working (unix seconds)")


class VerdictOut(Schema):
    valid: bool
    reason: str
    message_zh: str
    message_en: str
    kind: str
    kind_zh: str
    kind_en: str
    credential_id: str
    mode: str
    status: str
    issued_at: int | None
    expires_at: int | None
    subject: dict[str, Any]
    checks: list[CheckOut]
    checked_at: int | None = Field(
        None, description="reason already_checked: when this on-screen QR was first checked (unix seconds)"
    )
    holder: HolderOut | None = Field(
        None,
        description="a passing e-licence only: the holder's full name and a short-lived photo URL (D1); "
        "null for every other answer",
    )


class CredentialOut(Schema):
    id: str
    kind: str
    status: str
    valid_until: str
    subject: dict[str, Any]
    last_checked_at: str | None = Field(
        None, description="when one of its on-screen QRs was last verified (ISO 8601), if recently"
    )
    filed: bool = Field(False, description="the mark of a vehicle filed by me (U7), not mine")


class TokenIn(InputSchema):
    mode: str = Field("online", description="online | offline | printed")


class TokenOut(Schema):
    text: str
    mode: str
    expires_at: int


@router.get("/credentials/keys", auth=None)
@access_required("credentials.verify")
def trust_list(request: HttpRequest) -> HttpResponse:
    """The trust list: every public key a verifier should accept, for offline verification."""
    response = HttpResponse(trust_list_json(keys.trust_list()), content_type="application/json")
    response["Cache-Control"] = "public, max-age=300"
    return response


@router.get("/credentials/status-list", auth=None)
@access_required("credentials.verify")
def status_list(request: HttpRequest) -> HttpResponse:
    """The signed status list (SL1 token) of suspended, revoked and superseded credentials."""
    body = json.dumps({"status_list": services.status_list_token()})
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "public, max-age=60"
    return response


@router.post("/credentials/verify", response={200: VerdictOut, 422: ErrorOut}, auth=None)
@access_required("credentials.verify")
def verify(request: HttpRequest, payload: VerifyIn) -> Any:
    """Verify a credential's QR text: always 200 with valid true/false and the reason (E4).

    A passing electronic driving licence also answers the holder's full name and a photo URL
    that works for a few minutes; a failing answer never carries them.

    An on-screen (online) QR is valid once: the first verification uses it up, a repeat answers
    ``already_checked`` with ``checked_at``. Offline and printed ones are checked by status only.
    """
    answer = services.credential_verify(text=payload.text).as_dict()
    holder = answer.get("holder")
    if holder and holder.get("photo_url"):
        holder["photo_url"] = request.build_absolute_uri(holder["photo_url"])
    return answer


@router.get(
    "/me/credentials", response={200: list[CredentialOut], **ERRORS}, auth=[BearerToken(), SessionUser()]
)
@access_required("credentials.own.view")
def my_credentials(request: HttpRequest) -> Any:
    """My credentials, and the marks of vehicles filed by me (``filed`` true: no owner in the
    subject, shown online only, U7)."""
    user = request.auth  # type: ignore[attr-defined]
    answer = []
    for c in selectors.my_credentials(user=user):
        shared = selectors.is_shared(user=user, credential=c)
        subject = {k: v for k, v in (c.data or {}).items() if not (shared and k == "owner")}
        answer.append(
            {
                "id": str(c.public_id),
                "kind": c.kind,
                "status": c.status,
                "valid_until": c.valid_until.isoformat(),
                "subject": subject,
                "last_checked_at": c.last_checked_at.isoformat() if c.last_checked_at else None,  # type: ignore[attr-defined]
                "filed": shared,
            }
        )
    return answer


@router.post(
    "/me/credentials/{credential_id}/tokens", response={201: TokenOut, **ERRORS}, auth=[BearerToken()]
)
@access_required("credentials.own.view")
def make_token(request: HttpRequest, credential_id: str, payload: TokenIn) -> Any:
    """A signed token to show the credential: online (minutes, nonce), offline (days), printed."""
    modes = {"online": DisplayMode.ONLINE, "offline": DisplayMode.OFFLINE, "printed": DisplayMode.PRINTED}
    if payload.mode not in modes:
        from jiaoguan.core.errors import ValidationFailed

        raise ValidationFailed("credentials.mode", "出示方式不正确。", "Unknown display mode.", field="mode")
    credential = selectors.my_credential_get(user=request.auth, public_id=credential_id)  # type: ignore[attr-defined]
    if payload.mode != "online" and selectors.is_shared(user=request.auth, credential=credential):  # type: ignore[attr-defined]
        from jiaoguan.core.errors import Conflict

        # A kept copy would outlive the owner's withdrawal of the filing (U7).
        raise Conflict(
            "credentials.shared_online_only", "备案车辆的检验标志只能在线出示。",
            "A filed vehicle's mark can only be shown online.", field="mode",
        )  # fmt: skip
    text, expires_at = services.credential_token(
        credential=credential, mode=modes[payload.mode], now=timezone.now()
    )
    return 201, {"text": text, "mode": payload.mode, "expires_at": expires_at}


# ---------------------------------------------------------------- dealers' temporary plates (issue 14, B18)

TEMPORARY_PLATE_ERRORS: dict[int, Any] = {
    401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 503: ErrorOut,
}  # fmt: skip


class TemporaryPlateIn(InputSchema):
    """A new car's temporary plate: VIN (GB 16735), make and model, registry vehicle kind, the buyer
    (optional) and the days wanted (1-30)."""

    vin: str
    brand_model: str
    kind: str
    buyer_name: str = ""
    days: int = 30


class TemporaryPlateOut(Schema):
    id: int
    number: str
    vin: str
    issue_no: int
    kind: str
    brand_model: str
    buyer_masked: str
    dealer_name: str
    valid_from: date
    valid_until: date
    insurance_required: bool
    insurer_name: str
    policy_number: str
    insured_until: date | None
    state: str  # valid / expired / revoked / not_yet_valid
    issued_at: datetime
    revoked_at: datetime | None
    qr_text: str | None = Field(None, description="the signed TP1 QR (printed mode); none when not valid")
    print_url: str


class TemporaryPlatePage(Schema):
    items: list[TemporaryPlateOut]
    next_cursor: int | None


def _temporary_plate_json(request: HttpRequest, plate: Any, *, with_qr: bool) -> dict[str, Any]:
    from django.urls import reverse

    from jiaoguan.registry.selectors import temporary_plate_view

    from .temporary_plates import temporary_plate_token

    shown = temporary_plate_view(plate, today=timezone.localdate())
    qr_text = None
    if with_qr and shown["state"] in ("valid", "not_yet_valid"):
        try:
            qr_text = temporary_plate_token(plate=plate, mode=DisplayMode.PRINTED).text
        except DomainError:  # no key can sign now: the plate is issued all the same, printed later
            qr_text = None
    url = request.build_absolute_uri(reverse("credentials:dealer_temporary_plate_pdf", args=[plate.pk]))
    return {**shown, "qr_text": qr_text, "print_url": url}


@router.post(
    "/temporary-plates",
    response={201: TemporaryPlateOut, **TEMPORARY_PLATE_ERRORS},
    auth=[BearerToken(), SessionUser()],
)
@access_required("registry.temporary_plate.apply")
def apply_temporary_plate(request: HttpRequest, payload: TemporaryPlateIn) -> Any:
    """A car dealer applies for a new car's temporary plate (B18). Accepts ``Idempotency-Key``.

    Issued at once when the rules hold: at most 30 days, at most 3 plates per VIN, never beyond
    the compulsory insurance's end (asked online from the insurer). 409 for a registered VIN
    (``registry.temporary_plate.registered``), a fourth plate (``...too_many``), no insurance
    (``...not_insured``, with the insurer's words); 503 ``insurance.unavailable`` when the
    insurer does not answer (nothing issued: retry with the same key); 403 for anyone but a car
    dealer's user. The answer carries the signed QR text (``TP1:``) and the PDF link.
    """
    from jiaoguan.core.api import run_idempotent

    from .temporary_plates import temporary_plate_apply

    def call() -> tuple[int, Any]:
        plate = temporary_plate_apply(actor=request.auth, data=payload.dict(), request=request)  # type: ignore[attr-defined]
        return 201, _temporary_plate_json(request, plate, with_qr=True)

    return run_idempotent(request, scope="temporary-plates", body=payload.dict(), call=call)


@router.get(
    "/temporary-plates",
    response={200: TemporaryPlatePage, **TEMPORARY_PLATE_ERRORS},
    auth=[BearerToken(), SessionUser()],
)
@access_required("registry.temporary_plate.view")
def list_temporary_plates(request: HttpRequest, cursor: int = 0, limit: int = 20, vin: str = "") -> Any:
    """My dealership's temporary plates (staff: those of dealers in the jurisdiction), newest first."""
    from jiaoguan.registry.selectors import temporary_plates_visible_to

    limit = max(1, min(limit, 100))
    qs = temporary_plates_visible_to(actor=request.auth)  # type: ignore[attr-defined]
    if vin:
        qs = qs.filter(vin=vin.strip().upper())
    if cursor > 0:
        qs = qs.filter(pk__lt=cursor)
    rows = list(qs.order_by("-pk")[: limit + 1])
    items = [_temporary_plate_json(request, p, with_qr=False) for p in rows[:limit]]
    return {"items": items, "next_cursor": rows[limit - 1].pk if len(rows) > limit else None}
