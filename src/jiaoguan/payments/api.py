"""Payment endpoints: pay a payable online (B17), read an order, and the gateway's notices.

Owner apps expose their own paths too (``/fines/{fine_id}/payments`` in violations) and
answer through :func:`pay_online`, so both paths behave the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, JsonResponse
from ninja import Router, Schema

from jiaoguan.core.access import access_required
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
    payable_id: int
    kind: str
    reference: str
    channel: str
    state: str
    principal_fen: int
    late_fee_fen: int
    amount_fen: int
    pay_url: str
    created_at: datetime
    paid_at: datetime | None
    note: str


def pay_online(request: HttpRequest, payable_id: int) -> tuple[int, Any]:
    """Start or resume the online payment of a payable of the caller's, idempotently.

    The gateway is asked outside the stored answer, so a retry after a gateway outage
    resumes the same order instead of replaying the outage.
    """
    actor = request.auth  # type: ignore[attr-defined]
    services.payment_prepare(actor=actor, payable_id=payable_id)

    def call() -> tuple[int, Any]:
        order = services.payment_order_open(actor=actor, payable_id=payable_id, request=request)
        return 201, {"order_number": order.order_number}

    status, body = run_idempotent(
        request, scope=f"payable-payment:{payable_id}", body={"payable_id": payable_id}, call=call
    )
    if status != 201:
        return status, body
    order = services.payment_get(actor=actor, order_number=body["order_number"])
    order = services.payment_order_at_gateway(order)
    return 201, selectors.order_out(order)


@router.post("/payables/{payable_id}/payments", response={201: PaymentOut, **ERRORS}, auth=AUTH)
@access_required("payments.fine.pay_online")
def start_payment(request: HttpRequest, payable_id: int) -> Any:
    """Start paying a payable of mine online (B17); send the payer to ``pay_url``.

    Send an ``Idempotency-Key``: a retry with the same key answers the same order. While
    another payment is unconfirmed the answer is 409 (V5); a paid one is 409; an
    unreachable gateway is 503 and the retry resumes the same order.
    """
    return pay_online(request, payable_id)


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
@access_required("payments.order.view")
def get_payment(request: HttpRequest, order_number: str, refresh: bool = False) -> Any:
    """A payment order of mine (or, for staff, of their jurisdiction); ``refresh=true`` asks the
    gateway for the result first."""
    order = services.payment_get(actor=request.auth, order_number=order_number)  # type: ignore[attr-defined]
    if refresh and order.state == order.State.PENDING:
        order = services.order_refresh(order_id=order.pk, close_unpaid=False)
    return selectors.order_out(order)
