"""Cross-region used-car transfer endpoints (二手车异地交易登记, T1-T5). Thin handlers over
``services`` and ``selectors``.

``/me/transfers``: the buyer applies at the destination and follows the transfer.
``/inter-dmv/...``: the other DMVs' signed messages (not public): an unsigned message is answered
401, an unknown DMV or a wrong or stale signature 403; every answer is signed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import Field

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.errors import DomainError
from jiaoguan.integrations import inter_dmv

from . import selectors, services
from .models import Transfer

router = Router(tags=["transfers"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}
ME_AUTH = [BearerToken(), SessionUser()]
_STATE_WORDS = {s.value: s.label.split(" ", 1) for s in Transfer.State}


def caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class TransferIn(InputSchema):
    plate_number: str = Field(..., max_length=12, description="the plate at the origin, e.g. 苏A12345")
    plate_type: str = Field(..., max_length=2, description="02 small or 52 small new-energy (T1)")
    vin: str = Field(..., max_length=17)
    origin_city: str = Field(..., max_length=6, description="GB/T 2260 code of the origin city")
    seller_id_number: str = Field(..., max_length=18)
    agent_uscc: str = Field("", max_length=18, description="the dealer or market acting, if any")
    invoice_number: str = Field(..., max_length=20)
    invoice_date: date
    trade_place: str = Field(..., max_length=12, description="origin | destination")


class TransferOut(Schema):
    id: int
    number: str
    state: str  # requested | archived | inspected | awaiting_origin | completed | refused | returned
    state_zh: str
    state_en: str
    plate_number: str
    new_plate_number: str | None
    vin: str
    origin_city: str
    refusal_code: str
    refusal_zh: str
    refusal_en: str
    created_at: datetime
    completed_at: datetime | None


def transfer_out(transfer: Transfer) -> dict[str, Any]:
    zh, en = _STATE_WORDS[transfer.state]
    return {
        "id": transfer.pk, "number": transfer.number, "state": transfer.state, "state_zh": zh, "state_en": en,
        "plate_number": transfer.plate_number, "new_plate_number": transfer.new_plate_number, "vin": transfer.vin,
        "origin_city": transfer.origin_city, "refusal_code": transfer.refusal_code,
        "refusal_zh": transfer.refusal_zh, "refusal_en": transfer.refusal_en, "created_at": transfer.created_at,
        "completed_at": transfer.completed_at,
    }  # fmt: skip


@router.post("/me/transfers", response={201: TransferOut, **ERRORS, 503: ErrorOut}, auth=ME_AUTH)
@access_required(selectors.APPLY)
def transfer_apply(request: HttpRequest, payload: TransferIn) -> Any:
    """Apply, as the buyer, for the cross-region transfer of a used car to this DMV (T2). The
    origin is asked for the car's signed archive at once; ``state`` ``requested`` means it did not
    answer yet and is asked again. Refused: 409 ``transfers.not_small_car``,
    ``transfers.operating_vehicle``, ``transfers.not_rolled_out``, ``transfers.seller_not_owner``,
    ``transfers.vehicle_locked``, ``transfers.package_signature`` ...; 422 on bad input. Accepts
    ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        transfer = services.transfer_apply(actor=caller(request), data=payload.dict())
        return 201, transfer_out(transfer)

    return run_idempotent(request, scope="transfers", body=payload.dict(), call=call)


@router.get("/me/transfers", response={200: list[TransferOut], **ERRORS}, auth=ME_AUTH)
@access_required(selectors.APPLY)
def my_transfers(request: HttpRequest) -> Any:
    """My cross-region transfers, newest first (at most 100)."""
    return [transfer_out(t) for t in selectors.my_transfers(actor=caller(request))[: selectors.LIST_LIMIT]]


# ---------------------------------------------------------------- between DMVs (signed, not public)


def _signed(request: HttpRequest, handle: Callable[..., dict[str, Any]]) -> HttpResponse:
    inbound, status, code = inter_dmv.inbound_check(
        request.method or "POST", request.get_full_path(), request.headers, request.body
    )
    if inbound is None:
        return HttpResponse(
            f'{{"code": "{code}", "message": "the message is not signed by a known DMV"}}'.encode(),
            status=status, content_type="application/json",
        )  # fmt: skip
    request_id = str(inbound.data.get("request_id", ""))[:80]
    try:
        answer, status = handle(peer_city=inbound.peer.city, data=inbound.data), 200
    except DomainError as refused:
        answer = {"code": refused.code, "message": refused.message_en, "message_zh": refused.message_zh}
        status = refused.status
    content, headers = inter_dmv.signed_answer(inbound.peer, {**answer, "request_id": request_id})
    response = HttpResponse(content, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@router.post("/inter-dmv/archive-requests", auth=None, include_in_schema=False)
def inter_dmv_archive(request: HttpRequest) -> HttpResponse:
    return _signed(request, services.origin_archive_request)


@router.post("/inter-dmv/closures", auth=None, include_in_schema=False)
def inter_dmv_close(request: HttpRequest) -> HttpResponse:
    return _signed(request, services.origin_close)


@router.post("/inter-dmv/returns", auth=None, include_in_schema=False)
def inter_dmv_return(request: HttpRequest) -> HttpResponse:
    return _signed(request, services.origin_return)


@router.post("/inter-dmv/problems", auth=None, include_in_schema=False)
def inter_dmv_problem(request: HttpRequest) -> HttpResponse:
    return _signed(request, services.problem_receive)


@router.post("/inter-dmv/answers", auth=None, include_in_schema=False)
def inter_dmv_answer(request: HttpRequest) -> HttpResponse:
    return _signed(request, services.answer_receive)
