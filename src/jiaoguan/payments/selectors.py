"""Reads of payment orders and refunds, as the payer sees them."""

from __future__ import annotations

from typing import Any

from jiaoguan.violations.models import Fine

from .models import PaymentOrder, Refund


def order_out(order: PaymentOrder) -> dict[str, Any]:
    """An order without anything the payer should not see (no gateway key material, no staff)."""
    return {
        "order_number": order.order_number,
        "fine_id": order.fine_id,
        "channel": order.channel,
        "state": order.state,
        "fine_fen": order.fine_fen,
        "late_fee_fen": order.late_fee_fen,
        "amount_fen": order.amount_fen,
        "pay_url": order.pay_url if order.state == PaymentOrder.State.PENDING else "",
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "note": order.note,
    }


def payments_of_fine(fine: Fine) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every payment order of the fine and every refund of a duplicate charge, oldest first."""
    orders = [order_out(o) for o in fine.payment_orders.order_by("created_at", "id")]
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
        .filter(charge__order__fine=fine)
        .order_by("created_at", "id")
    ]
    return orders, refunds
