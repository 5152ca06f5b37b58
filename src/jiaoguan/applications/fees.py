"""Application fees (业务收费, issue 13 "Fees through the payment gateway") as payables.

An application whose business has a fee (a licence's 工本费) gets a payable of kind
``app_fee`` on submission; the applicant pays it online like a fine, or the clerk takes it
at the counter. Payments asks this module whether a payer may pay it and tells it, inside
the payment's transaction, that it is paid (:func:`jiaoguan.applications.services.application_fee_paid`).

Payments has no "cancelled" payable, so a withdrawn or rejected application's unpaid fee is
made unpayable here: the payable is no longer visible to the applicant (online payment
answers "not found"), and a counter payment is refused in ``on_paid``. Money the gateway or
another platform already took for a closed application is recorded, never lost, and marked
as due for refund on the timeline.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.urls import NoReverseMatch, reverse

from jiaoguan.core.errors import Conflict
from jiaoguan.payments.kinds import register_payable_kind
from jiaoguan.payments.models import Payable

from .models import Application
from .rules import OPEN_STATES

FEE_KIND = "app_fee"


def fee_unpaid(*, fee_fen: int, fee_paid_at: datetime | None) -> bool:
    """Whether a fee is due and not yet paid (the clerk may not accept then, issue 13)."""
    return fee_fen > 0 and fee_paid_at is None


def check_fee_paid(*, fee_fen: int, fee_paid_at: datetime | None) -> None:
    """Refuse (409) acceptance while the application's fee is unpaid."""
    if fee_unpaid(fee_fen=fee_fen, fee_paid_at=fee_paid_at):
        raise Conflict(
            "applications.fee_unpaid",
            f"申请人尚未缴纳费用（{fee_fen / 100:.2f}元），缴费后方可受理。",
            f"The applicant has not paid the fee ({fee_fen / 100:.2f} yuan) yet; accept it once it is paid.",
            detail={"fee_fen": fee_fen},
        )


def fee_description(*, name_zh: str) -> str:
    return f"{name_zh} 工本费"[:100]


def _visible_to(actor: Any, payable: Payable) -> bool:
    """The applicant's own fee, while the application is open (or once it is paid, to see the receipt)."""
    mine = Application.objects.filter(fee_payable_id=payable.pk, applicant_id=actor.pk)
    if payable.state == Payable.State.PAID:
        return mine.exists()
    return mine.filter(state__in=sorted(OPEN_STATES)).exists()


def _late_fee(payable: Payable, today: date) -> int:
    return 0  # a fee has no late fee: an unpaid application simply waits


def _on_paid(payable: Payable) -> None:
    from .services import application_fee_paid

    application_fee_paid(payable=payable)


def _payer_url(payable: Payable) -> str:
    app_id = Application.objects.filter(fee_payable_id=payable.pk).values_list("pk", flat=True).get()
    try:
        return reverse("applications:detail", args=[app_id])
    except NoReverseMatch:  # the applicant's pages are wired separately
        return "/"


def _payer_list_url() -> str:
    try:
        return reverse("applications:list")
    except NoReverseMatch:
        return "/"


def register() -> None:
    register_payable_kind(
        FEE_KIND, label_zh="业务工本费", label_en="application fee", visible_to=_visible_to,
        late_fee=_late_fee, on_paid=_on_paid, payer_url=_payer_url, payer_list_url=_payer_list_url,
    )  # fmt: skip
