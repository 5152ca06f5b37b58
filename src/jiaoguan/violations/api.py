"""Violation endpoints: my violations (Q3), online handling (B16), disputes, fines and paying them
(B17), and the counter's cancellation of a wrong record."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, personal_json, run_idempotent
from jiaoguan.core.cursors import decode_cursor, encode_cursor
from jiaoguan.core.errors import NotFound
from jiaoguan.payments import services as payment_services
from jiaoguan.payments.api import PaymentOut, pay_online
from jiaoguan.payments.selectors import order_out, payments_of_payable

from . import rules, selectors, services

router = Router(tags=["violations"])
AUTH = [BearerToken(), SessionUser()]
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    503: ErrorOut,
}


class OnlineHandlingOut(Schema):
    """Whether the record can be handled online now (B16), asked before offering the form; a
    refusal has its stable code and the reason in the active language with where to go instead."""

    allowed: bool
    reason_code: str
    reason: str
    reason_zh: str
    reason_en: str
    points_now: int | None
    points_after: int | None


class ViolationOut(Schema):
    id: int
    record_number: str
    occurred_at: datetime
    place: str
    code: str
    description_zh: str
    description_en: str
    points: int
    fine_fen: int
    source: str
    status: str
    plate_number: str
    other_province: bool
    decision_number: str
    fine_id: int | None
    late_fee_fen: int
    amount_due_fen: int
    payment_due: date | None
    online_handling: OnlineHandlingOut | None = None  # only on one record's own answer


class ViolationPage(Schema):
    items: list[ViolationOut]
    next_cursor: str | None


class HandlingIn(InputSchema):
    no_dispute: bool
    drove_self: bool
    licence_number: str = ""
    archive_number: str = ""
    expected_points: int | None = None


class DisputeIn(InputSchema):
    reason: str


class CancelIn(InputSchema):
    """Cancelling is irreversible: the reason (at least 4 characters, 400 without it) is required
    and ``confirm`` must be true."""

    reason: str = ""
    confirm: bool


class CounterPaymentIn(InputSchema):
    """Taking the payment at the counter is irreversible: the receipt number and the reason (at
    least 4 characters, 400 without it; kept in the audit log)."""

    receipt_number: str
    reason: str = ""


class CounterHandlingIn(InputSchema):
    """Counter handling: the driver's licence number (their ID number) and, once told that the
    decision fills the licence, ``confirm_full_score: true``."""

    licence_number: str
    note: str = ""
    confirm_full_score: bool = False


class CancelledOut(Schema):
    id: int
    record_number: str
    status: str


class FineOut(Schema):
    id: int
    decision_number: str
    decided_on: date
    amount_fen: int
    status: str
    late_fee_fen: int
    amount_due_fen: int
    payment_due: date
    paid_at: datetime | None
    paid_channel: str
    paid_total_fen: int
    points: int
    payments: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    decision_pdf_url: str  # the penalty decision (处罚决定书) as PDF
    receipt_pdf_url: str  # the payment receipt (缴款凭证) as PDF once paid, else ""


def _home_province() -> str:
    return str(settings.JIAOGUAN_JURISDICTION)[:2]


_encode_cursor, _decode_cursor = encode_cursor, decode_cursor  # shared with the pages


@router.get("/me/violations", response={200: ViolationPage, **ERRORS}, auth=AUTH)
@access_required("violations.own.view")
def my_violations(request: HttpRequest, cursor: str = "", limit: int = 20, status: str = "") -> Any:
    """Violations of my vehicles and my licence, newest first (Q3); status filters
    unhandled, disputed, handled, unpaid, paid or cancelled."""
    limit, before = max(1, min(limit, 100)), _decode_cursor(cursor)
    # Anything else filters nothing; one cache entry stands for all of it.
    status = status if status in ("unhandled", "disputed", "handled", "unpaid", "paid", "cancelled") else ""

    def build() -> dict[str, Any]:
        views, next_cursor = selectors.my_violations_page(
            user=request.auth,  # type: ignore[attr-defined]
            today=timezone.localdate(),
            home_province=_home_province(),
            limit=limit,
            before=before,
            status=status or None,
        )
        return {"items": [asdict(v) for v in views], "next_cursor": _encode_cursor(next_cursor)}

    return personal_json(
        request, "me.violations", (limit, before, status, _home_province()), ViolationPage, build
    )


def _view(request: HttpRequest, violation_id: int) -> dict[str, Any]:
    violation = selectors.my_violation_get(user=request.auth, violation_id=violation_id)  # type: ignore[attr-defined]
    if violation is None:
        raise NotFound("violations.not_found", "没有这条违法记录。", "No such violation.")
    today = timezone.localdate()
    out = asdict(selectors.violation_view(violation, today=today, home_province=_home_province()))
    state = selectors.online_handling(user=request.auth, violation=violation, today=today)  # type: ignore[attr-defined]
    refusal = state.refusal
    out["online_handling"] = {
        "allowed": state.allowed,
        "reason_code": refusal.code if refusal else "",
        "reason": refusal.message if refusal else "",
        "reason_zh": refusal.message_zh if refusal else "",
        "reason_en": refusal.message_en if refusal else "",
        "points_now": state.points_now,
        "points_after": state.points_after,
    }
    return out


@router.get("/me/violations/{violation_id}", response={200: ViolationOut, **ERRORS}, auth=AUTH)
@access_required("violations.own.view")
def my_violation(request: HttpRequest, violation_id: int) -> Any:
    """One of my violations with its decision and amount due today."""
    return _view(request, violation_id)


@router.post("/me/violations/{violation_id}/handling", response={201: FineOut, **ERRORS}, auth=AUTH)
@access_required("violations.own.handle")
def handle_violation(request: HttpRequest, violation_id: int, payload: HandlingIn) -> Any:
    """Handle an electronic-monitoring violation online (B16, V1-V4); answers the penalty decision.

    An organisation names the driver by licence number and archive number. Pass the
    points you were shown as ``expected_points``: if they changed, the answer is 409.
    Accepts ``Idempotency-Key``.
    """

    def call() -> tuple[int, Any]:
        fine = services.violation_handle_online(
            actor=request.auth,  # type: ignore[arg-type, attr-defined]
            violation_id=violation_id,
            request=request,
            **payload.dict(),
        )
        return 201, fine_out(fine, today=timezone.localdate())

    return run_idempotent(request, scope=f"violation-handling:{violation_id}", body=payload.dict(), call=call)


@router.post("/me/violations/{violation_id}/disputes", response={200: ViolationOut, **ERRORS}, auth=AUTH)
@access_required("violations.own.dispute")
def dispute_violation(request: HttpRequest, violation_id: int, payload: DisputeIn) -> Any:
    """Dispute a record; it is then handled at a counter (V3)."""
    services.violation_dispute(actor=request.auth, violation_id=violation_id, reason=payload.reason)  # type: ignore[arg-type, attr-defined]
    return _view(request, violation_id)


def fine_out(fine: Any, *, today: date) -> dict[str, Any]:
    late = (
        0
        if fine.status == "paid"
        else rules.late_fee(fine_fen=fine.amount_fen, decided_on=fine.decided_on, today=today)
    )
    payments, refunds = payments_of_payable(fine.payable_id)
    return {
        "id": fine.pk,
        "decision_number": fine.decision_number,
        "decided_on": fine.decided_on,
        "amount_fen": fine.amount_fen,
        "status": fine.status,
        "late_fee_fen": fine.late_fee_fen if fine.status == "paid" else late,
        "amount_due_fen": 0 if fine.status == "paid" else fine.amount_fen + late,
        "payment_due": rules.payment_due(fine.decided_on),
        "paid_at": fine.paid_at,
        "paid_channel": fine.paid_channel,
        "paid_total_fen": fine.paid_total_fen,
        "points": fine.violation.points,
        "payments": payments,
        "refunds": refunds,
        "decision_pdf_url": reverse("violations:fine_decision_pdf", args=[fine.pk]),
        "receipt_pdf_url": reverse("violations:fine_receipt_pdf", args=[fine.pk])
        if fine.status == "paid"
        else "",
    }


def _my_fine(request: HttpRequest, fine_id: int) -> Any:
    fine = selectors.fine_of(user=request.auth, fine_id=fine_id)  # type: ignore[arg-type, attr-defined]
    if fine is None:
        raise NotFound("violations.fine_not_found", "没有这笔罚款。", "No such fine.")
    return fine


@router.get("/fines/{fine_id}", response={200: FineOut, **ERRORS}, auth=AUTH)
@access_required("violations.own.view")
def get_fine(request: HttpRequest, fine_id: int) -> Any:
    """A fine of mine: amount, late fee today, payments and any refund of a duplicate charge."""
    return fine_out(_my_fine(request, fine_id), today=timezone.localdate())


@router.post("/fines/{fine_id}/payments", response={201: PaymentOut, **ERRORS}, auth=AUTH)
@access_required("payments.fine.pay_online")
def start_fine_payment(request: HttpRequest, fine_id: int) -> Any:
    """Start paying a fine of mine online (B17); send the payer to ``pay_url``.

    Send an ``Idempotency-Key``: a retry with the same key answers the same order. While
    another payment of the fine is unconfirmed the answer is 409 (V5); a paid fine is 409;
    an unreachable gateway is 503 and the retry resumes the same order.
    """
    return pay_online(request, _my_fine(request, fine_id).payable_id)


@router.post(
    "/counter/violations/{violation_id}/cancellation", response={200: CancelledOut, **ERRORS}, auth=AUTH
)
@access_required("violations.cancel")
def cancel_violation(request: HttpRequest, violation_id: int, payload: CancelIn) -> Any:
    """Cancel a wrong record (撤销违法记录) of my jurisdiction: irreversible, so ``reason`` (at
    least 4 characters, kept in the audit trail; 400 without it) and ``confirm: true`` are both required."""
    violation = services.violation_cancel(
        actor=request.auth,  # type: ignore[attr-defined]
        violation_id=violation_id,
        reason=payload.reason,
        confirmed=payload.confirm,
        request=request,
    )
    return {"id": violation.pk, "record_number": violation.record_number, "status": violation.status}


@router.post("/counter/violations/{violation_id}/handling", response={201: FineOut, **ERRORS}, auth=AUTH)
@access_required("violations.handle_at_counter")
def handle_violation_at_counter(request: HttpRequest, violation_id: int, payload: CounterHandlingIn) -> Any:
    """Handle a record of my jurisdiction at the counter (窗口处理) and answer the penalty decision.

    When the points of this decision bring the licence to 12 or more, the answer is 409
    ``violations.full_score_unconfirmed`` with ``points_before``, ``points`` and
    ``points_after``: tell the driver, then send the same request with ``confirm_full_score: true``.
    """
    fine = services.violation_handle_at_counter(
        actor=request.auth,  # type: ignore[attr-defined]
        violation_id=violation_id,
        licence_number=payload.licence_number,
        note=payload.note,
        confirm_full_score=payload.confirm_full_score,
        request=request,
    )
    return 201, fine_out(fine, today=timezone.localdate())


@router.post("/counter/violations/{violation_id}/payment", response={201: PaymentOut, **ERRORS}, auth=AUTH)
@access_required("payments.fine.pay_at_counter")
def take_payment_at_counter(request: HttpRequest, violation_id: int, payload: CounterPaymentIn) -> Any:
    """Take the payment of a handled record's fine at the counter (窗口收款), the amount due today
    with any late fee. Irreversible: ``reason`` is required (400 without it). 409 while an online
    payment of the fine is unconfirmed (V5) or when it is already paid."""
    violation = services.staff_violation_get(actor=request.auth, violation_id=violation_id, request=request)  # type: ignore[attr-defined]
    fine = getattr(violation, "fine", None)
    if fine is None:
        raise NotFound("violations.fine_not_found", "没有这笔罚款。", "No such fine.")
    order = payment_services.payable_pay_at_counter(
        actor=request.auth,  # type: ignore[attr-defined]
        payable_id=fine.payable_id,
        receipt_number=payload.receipt_number,
        reason=payload.reason,
        request=request,
    )
    return 201, order_out(order)
