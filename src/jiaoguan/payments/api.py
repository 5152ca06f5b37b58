"""Payment endpoints: pay a fine online (B17), read an order, and the gateway's notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, JsonResponse
from ninja import Router, Schema

from jiaoguan.core.api import BearerToken, ErrorOut, SessionUser, run_idempotent

from . import selectors, services

router = Router(tags=["payments"])
AUTH = [BearerToken(), SessionUser()]
ERRORS: dict[int, Any] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    503: ErrorOut,
}


class PaymentOut(Schema):
    order_number: str
    fine_id: int
    channel: str
    state: str
    fine_fen: int
    late_fee_fen: int
    amount_fen: int
    pay_url: str
    created_at: datetime
    paid_at: datetime | None
    note: str


@router.post("/fines/{fine_id}/payments", response={201: PaymentOut, **ERRORS}, auth=AUTH)
def start_payment(request: HttpRequest, fine_id: int) -> Any:
    """Start paying a fine online (B17); send the payer to ``pay_url``.

    Send an ``Idempotency-Key``: a retry with the same key answers the same order. While
    another payment of the fine is unconfirmed the answer is 409 (V5); a paid fine is 409;
    an unreachable gateway is 503 and the retry resumes the same order.
    """
    services.payment_prepare(actor=request.auth, fine_id=fine_id)  # type: ignore[arg-type, attr-defined]

    def call() -> tuple[int, Any]:
        order = services.payment_order_open(actor=request.auth, fine_id=fine_id, request=request)  # type: ignore[arg-type, attr-defined]
        return 201, {"order_number": order.order_number}

    status, body = run_idempotent(
        request, scope=f"fine-payment:{fine_id}", body={"fine_id": fine_id}, call=call
    )
    if status != 201:
        return status, body
    # The gateway is asked outside the stored answer, so a retry after a gateway outage
    # resumes the same order instead of replaying the outage.
    order = services.payment_get(actor=request.auth, order_number=body["order_number"])  # type: ignore[arg-type, attr-defined]
    order = services.payment_order_at_gateway(order)
    return 201, selectors.order_out(order)


@router.post("/payments/notify", auth=None, include_in_schema=False)
def gateway_notice(request: HttpRequest) -> Any:
    """The gateway's signed asynchronous notice; an unsigned or wrongly signed one changes nothing.

    Registered before ``/payments/{order_number}`` so that path does not swallow it.
    """
    status, body = services.payment_notice_receive(
        body=request.body, headers=dict(request.headers), remote_addr=request.META.get("REMOTE_ADDR")
    )
    return JsonResponse(body, status=status)


@router.get("/payments/{order_number}", response={200: PaymentOut, **ERRORS}, auth=AUTH)
def get_payment(request: HttpRequest, order_number: str, refresh: bool = False) -> Any:
    """A payment order of mine; ``refresh=true`` asks the gateway for the result first."""
    order = services.payment_get(actor=request.auth, order_number=order_number)  # type: ignore[arg-type, attr-defined]
    if refresh and order.state == order.State.PENDING:
        order = services.order_refresh(order_id=order.pk, close_unpaid=False)
    return selectors.order_out(order)
