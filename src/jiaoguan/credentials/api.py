"""Credential endpoints: trust list, status list, verification, my credentials and their tokens."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser

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
    return [
        {
            "id": str(c.public_id),
            "kind": c.kind,
            "status": c.status,
            "valid_until": c.valid_until.isoformat(),
            "subject": c.data,
            "last_checked_at": c.last_checked_at.isoformat() if c.last_checked_at else None,  # type: ignore[attr-defined]
        }
        for c in selectors.my_credentials(user=request.auth)  # type: ignore[attr-defined]
    ]


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
    text, expires_at = services.credential_token(
        credential=credential, mode=modes[payload.mode], now=timezone.now()
    )
    return 201, {"text": text, "mode": payload.mode, "expires_at": expires_at}
