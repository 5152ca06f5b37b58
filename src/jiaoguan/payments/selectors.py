"""Reads of payment orders and refunds, as the payer and the counter see them."""

from __future__ import annotations

from typing import Any

from .models import PaymentOrder, Refund


def order_out(order: PaymentOrder) -> dict[str, Any]:
    """An order without anything the payer should not see (no gateway key material, no staff)."""
    return {
        "order_number": order.order_number,
        "payable_id": order.payable_id,
        "kind": order.payable.kind,
        "reference": order.payable.reference,
        "channel": order.channel,
        "state": order.state,
        "principal_fen": order.principal_fen,
        "late_fee_fen": order.late_fee_fen,
        "amount_fen": order.amount_fen,
        "pay_url": order.pay_url if order.state == PaymentOrder.State.PENDING else "",
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "note": order.note,
    }


def payments_of_payable(payable_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every payment order of the payable and every refund of a duplicate charge, oldest first.

    The caller has found the payable through the actor's own records or jurisdiction.
    """
    orders = [
        order_out(o)
        for o in PaymentOrder.objects.select_related("payable")
        .filter(payable_id=payable_id)
        .order_by("created_at", "id")
    ]
    refunds = [
        {
            "out_refund_no": r.out_refund_no,
            "order_number": r.charge.order.order_number,
            "amount_fen": r.amount_fen,
            "reason": r.reason,
            "state": r.state,
            "created_at": r.created_at,
            "completed_at": r.completed_at,
        }
        for r in Refund.objects.select_related("charge__order")
        .filter(charge__order__payable_id=payable_id)
        .order_by("created_at", "id")
    ]
    return orders, refunds


def pending_order_number(*, payable_id: int, payer: Any) -> str:
    """The payer's own unconfirmed online order of the payable, to resume it; "" if none."""
    return (
        PaymentOrder.objects.filter(payable_id=payable_id, payer=payer, state=PaymentOrder.State.PENDING)
        .values_list("order_number", flat=True)
        .first()
        or ""
    )
