"""Fines as payables (罚款缴纳, B17): what the payments app asks about a fine, and what a
payment changes here.

Registered with payments from ``ViolationsConfig.ready``. Payments calls :func:`_on_paid`
with the payable locked, inside the transaction that records the payment, so the fine, its
points and the payment are written together or not at all.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.urls import reverse

from jiaoguan.payments.kinds import register_payable_kind
from jiaoguan.payments.models import Payable
from jiaoguan.registry import services as registry_services

from . import rules
from .models import Fine
from .selectors import FINE_KIND, violations_of


def _visible_to(actor: Any, payable: Payable) -> bool:
    """A fine is the payer's when it is for their vehicle or their licence (Q3, V2)."""
    return Fine.objects.filter(payable_id=payable.pk, violation__in=violations_of(user=actor)).exists()


def _late_fee(payable: Payable, today: date) -> int:
    """加处罚款 (S5 art. 72): 3% a day after the payment term, never more than the fine."""
    decided_on = Fine.objects.filter(payable_id=payable.pk).values_list("decided_on", flat=True).get()
    return rules.late_fee(fine_fen=payable.principal_fen, decided_on=decided_on, today=today)


def _on_paid(payable: Payable) -> None:
    """The fine is paid: its own columns follow, and its points stop carrying over (S2)."""
    fine = Fine.objects.select_for_update().select_related("violation").get(payable_id=payable.pk)
    fine.status = Fine.Status.PAID
    fine.paid_at = payable.paid_at
    fine.paid_channel = payable.paid_channel
    fine.late_fee_fen = payable.late_fee_fen
    fine.paid_total_fen = payable.paid_total_fen
    fine.save(update_fields=["status", "paid_at", "paid_channel", "late_fee_fen", "paid_total_fen"])
    registry_services.points_fine_settled(source=fine.violation.record_number)


def _payer_url(payable: Payable) -> str:
    violation_id = Fine.objects.filter(payable_id=payable.pk).values_list("violation_id", flat=True).get()
    return reverse("violations:detail", args=[violation_id])


def _payer_list_url() -> str:
    return reverse("violations:list")


def register() -> None:
    register_payable_kind(
        FINE_KIND, label_zh="交通违法罚款", label_en="traffic fine", visible_to=_visible_to,
        late_fee=_late_fee, on_paid=_on_paid, payer_url=_payer_url, payer_list_url=_payer_list_url,
    )  # fmt: skip
