"""Mortgage endpoints for banks (机动车抵押登记, issue 14, O6).

Banks' systems sign; people do not file here. The caller authenticates as an organisation user
of a bank (bearer token from ``POST /api/v1/auth/tokens``) and sends the signed payload, the
signature and the key's fingerprint (see ``registry.mortgage_rules`` for the payload and
``core.seals`` for the canonical form that is signed).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.errors import Unavailable

from . import mortgages, selectors

router = Router(tags=["mortgages"])
AUTH = [BearerToken(), SessionUser()]
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    503: ErrorOut,
}


class SignedRequestIn(InputSchema):
    """A request signed with the organisation's e-seal."""

    payload: dict[str, Any]
    signature: str  # base64 of the raw signature over the payload's canonical form
    key_fingerprint: str  # lower-case hex SHA-256 of the registered public key (DER)


class MortgageOut(Schema):
    id: int
    state: str
    state_label: str
    vin: str
    plate_number: str | None
    mortgagee_name: str
    mortgagee_uscc: str
    contract_number: str
    principal_fen: int
    term_start: date
    term_end: date
    filed_at: datetime
    released_at: datetime | None
    filing_key_fingerprint: str


class MortgagePage(Schema):
    items: list[MortgageOut]
    next_cursor: int | None


class _Retry(Exception):
    """Carries a 503 out of the idempotent call, so it is not stored as the key's answer: the
    outside system was down and a retry with the same key must really try again."""

    def __init__(self, error: Unavailable) -> None:
        super().__init__(error.code)
        self.error = error


def _signed(request: HttpRequest, *, scope: str, body: SignedRequestIn, act: Any) -> Any:
    def call() -> tuple[int, Any]:
        try:
            return act()
        except Unavailable as error:
            raise _Retry(error) from error

    try:
        return run_idempotent(request, scope=scope, body=body.dict(), call=call)
    except _Retry as retry:
        raise retry.error from None


@router.post("/mortgages", response={201: MortgageOut, **ERRORS}, auth=AUTH)
@access_required("registry.mortgage.file")
def file_mortgage(request: HttpRequest, body: SignedRequestIn) -> Any:
    """File a vehicle mortgage with the bank's e-seal (O6). Accepts ``Idempotency-Key``.

    Refused: a signature that does not verify (422 ``registry.mortgage.signature_invalid``), a key
    that is not the bank's or is revoked (403), a replayed nonce or a vehicle already mortgaged
    (409), a contract the bank does not confirm (422 ``registry.mortgage.contract_not_confirmed``),
    a bank that cannot be asked (503; nothing filed, try again).
    """

    def act() -> tuple[int, Any]:
        mortgage = mortgages.mortgage_file(
            actor=request.auth,  # type: ignore[attr-defined]
            payload=body.payload, signature=body.signature, key_fingerprint=body.key_fingerprint,
            request=request,
        )  # fmt: skip
        return 201, selectors.mortgage_view(mortgage)

    return _signed(request, scope="mortgages", body=body, act=act)


@router.post("/mortgages/{mortgage_id}/release", response={200: MortgageOut, **ERRORS}, auth=AUTH)
@access_required("registry.mortgage.release")
def release_mortgage(request: HttpRequest, mortgage_id: int, body: SignedRequestIn) -> Any:
    """Release a mortgage the bank holds, once its loan is settled (O6). Accepts ``Idempotency-Key``.

    Another bank's mortgage is 404. The same signed release sent again answers the released mortgage.
    """

    def act() -> tuple[int, Any]:
        mortgage = mortgages.mortgage_release(
            actor=request.auth,  # type: ignore[attr-defined]
            mortgage_id=mortgage_id, payload=body.payload, signature=body.signature,
            key_fingerprint=body.key_fingerprint, request=request,
        )  # fmt: skip
        return 200, selectors.mortgage_view(mortgage)

    return _signed(request, scope=f"mortgage-release-{mortgage_id}", body=body, act=act)


@router.get("/mortgages", response={200: MortgagePage, **ERRORS}, auth=AUTH)
@access_required("registry.mortgage.view")
def list_mortgages(
    request: HttpRequest, vehicle: str = "", state: str = "", cursor: int = 0, limit: int = 20
) -> Any:
    """The bank's own filings, newest first; ``vehicle`` filters by VIN or plate, ``state`` by
    ``filed`` or ``released``. Staff see those of their jurisdiction."""
    limit = max(1, min(limit, 100))
    qs = selectors.mortgages_visible_to(actor=request.auth)  # type: ignore[attr-defined]
    if vehicle:
        text = vehicle.strip().upper()
        qs = qs.filter(vehicle__vin=text) | qs.filter(vehicle__plate_number=text)
    if state:
        qs = qs.filter(state=state)
    if cursor > 0:
        qs = qs.filter(pk__lt=cursor)
    rows = list(qs.order_by("-pk")[: limit + 1])
    items = [selectors.mortgage_view(m) for m in rows[:limit]]
    return {"items": items, "next_cursor": rows[limit - 1].pk if len(rows) > limit else None}


@router.get("/mortgages/{mortgage_id}", response={200: MortgageOut, **ERRORS}, auth=AUTH)
@access_required("registry.mortgage.view")
def get_mortgage(request: HttpRequest, mortgage_id: int) -> Any:
    """One mortgage (the read is audited); another bank's is 404."""
    actor = request.auth  # type: ignore[attr-defined]
    mortgage = mortgages.mortgage_read(actor=actor, mortgage_id=mortgage_id, request=request)
    return selectors.mortgage_view(mortgage)
