"""Fine payment (B17) with no double charge (V5): orders, gateway results, counter, reconciliation.

Every transition is lock, re-check, change, audit, in this lock order: fine row, then its
payment orders (the violations app locks licence and violation rows before the fine).
The database backs the code: one pending and one paid order per fine at most, and each
gateway charge is stored once by its trade number, so a repeated callback is a no-op and
a charge that arrives for an already-paid fine is refunded, never lost.

Calls to the gateway never run inside a transaction: an order is stored as pending
first, then the gateway is asked; whatever happens in between is settled by asking the
gateway again (``order_refresh``) or by the daily statement (``payments_reconcile``).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, Unavailable, ValidationFailed
from jiaoguan.core.outbox import outbox_enqueue, outbox_handler
from jiaoguan.integrations.payment_gateway import (
    CallbackSignatureInvalid,
    GatewayError,
    GatewayRejected,
    GatewayUnavailable,
    get_payment_gateway,
)
from jiaoguan.registry.models import PointsEntry
from jiaoguan.violations import rules as violation_rules
from jiaoguan.violations.models import Fine
from jiaoguan.violations.selectors import fine_of

from .models import CallbackLog, GatewayCharge, PaymentOrder, ReconciliationRun, Refund

logger = logging.getLogger(__name__)

REFUND_TOPIC = "payments.refund"
CLOSE_TOPIC = "payments.close"
# A pending order younger than this may still be in the payer's hands at the gateway.
STALE_AFTER = timedelta(minutes=15)
_RECEIPT_RE = re.compile(r"[0-9A-Za-z\-]{6,32}")


def _new_number(prefix: str) -> str:
    return f"{prefix}{timezone.localtime():%y%m%d%H%M%S}{secrets.token_hex(5).upper()}"


def _person_of(fine: Fine) -> int | None:
    violation = fine.violation
    if violation.licence_id:
        return violation.licence.holder_id if violation.licence else None
    return None


def amount_due(fine: Fine, *, today: date) -> tuple[int, int]:
    """(late fee, total) in fen for paying ``fine`` on ``today`` (S5 art. 72)."""
    late = violation_rules.late_fee(fine_fen=fine.amount_fen, decided_on=fine.decided_on, today=today)
    return late, fine.amount_fen + late


def _already_paid() -> Conflict:
    return Conflict(
        "payments.already_paid",
        "该罚款已缴纳，无需重复缴款。",
        "This fine has already been paid; it cannot be paid again.",
    )


def _pending_elsewhere() -> Conflict:
    return Conflict(
        "payments.pending",
        "该罚款有一笔缴款结果尚未确认，确认前不能通过其他渠道缴款，请稍后查看或等待对账。",
        "A payment for this fine is still being confirmed; it cannot be paid on another channel until "
        "the result is known. Check again later or wait for reconciliation.",
    )


def _mark_fine_paid(fine: Fine, order: PaymentOrder, *, at: datetime) -> None:
    fine.status = Fine.Status.PAID
    fine.paid_at = at
    fine.paid_channel = order.channel
    fine.late_fee_fen = order.late_fee_fen
    fine.paid_total_fen = order.amount_fen
    fine.save(update_fields=["status", "paid_at", "paid_channel", "late_fee_fen", "paid_total_fen"])
    # Paid: the offence's points no longer carry over into the next cycle (S2).
    PointsEntry.objects.filter(source=fine.violation.record_number).update(fine_unpaid=False)


# ---------------------------------------------------------------- online payment


def _notify_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + "/api/v1/payments/notify"


def _return_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + "/payments/return/"


def _ask_gateway_to_create(order: PaymentOrder) -> PaymentOrder:
    fine = order.fine
    try:
        created = get_payment_gateway().create_order(
            out_trade_no=order.order_number,
            amount_fen=order.amount_fen,
            subject=f"交通违法罚款 {fine.decision_number}",
            notify_url=_notify_url(),
            return_url=_return_url(),
        )
    except GatewayRejected as error:
        _close(order, note=f"支付平台拒绝: {error.code}")
        raise Unavailable(
            "payments.gateway_rejected", "支付平台拒绝了这笔订单，请稍后重试。",
            "The payment gateway refused this order; please try again later.",
        ) from error  # fmt: skip
    except GatewayError as error:
        # Timeout or unreachable: the order may or may not exist there; it stays pending
        # and a retry asks again with the same number (create is idempotent).
        raise Unavailable(
            "payments.gateway_unavailable", "支付平台暂时无法连接，请稍后再试；您没有被扣款或扣款会在核实后入账。",
            "The payment gateway cannot be reached now; please try again shortly. Nothing is lost: any "
            "charge is confirmed with the gateway.",
        ) from error  # fmt: skip
    PaymentOrder.objects.filter(pk=order.pk).update(pay_url=created.pay_url)
    order.pay_url = created.pay_url
    return order


def payment_prepare(*, actor: User, fine_id: int, today: date | None = None) -> Fine:
    """Check the fine is the payer's and settle a pending order that is not theirs to resume.

    Runs before the order is opened and outside any transaction, because settling asks
    the gateway (an order left by another payer or an older amount is closed there first).
    """
    today = today or timezone.localdate()
    fine = fine_of(user=actor, fine_id=fine_id)
    if fine is None:
        raise NotFound("payments.fine_not_found", "没有这笔罚款。", "No such fine.")
    _late, total = amount_due(fine, today=today)
    pending = PaymentOrder.objects.filter(fine_id=fine.pk, state=PaymentOrder.State.PENDING).first()
    if pending is not None and not _resumable(pending, actor=actor, total=total):
        order_refresh(order_id=pending.pk, close_unpaid=True)
    return fine


def _resumable(order: PaymentOrder, *, actor: User, total: int) -> bool:
    return (
        order.channel == PaymentOrder.Channel.ONLINE
        and order.payer_id == actor.pk
        and order.amount_fen == total
    )


def payment_order_open(
    *, actor: User, fine_id: int, today: date | None = None, request: Any = None
) -> PaymentOrder:
    """Open the online order for a fine, or return the payer's own open one (a double click)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        fine = (
            Fine.objects.select_for_update(of=("self",))
            .select_related("violation__licence")
            .filter(pk=fine_id)
            .first()
        )
        if fine is None or fine_of(user=actor, fine_id=fine_id) is None:
            raise NotFound("payments.fine_not_found", "没有这笔罚款。", "No such fine.")
        if fine.status == Fine.Status.PAID:
            raise _already_paid()
        late, total = amount_due(fine, today=today)
        pending = (
            PaymentOrder.objects.select_for_update()
            .filter(fine=fine, state=PaymentOrder.State.PENDING)
            .first()
        )
        if pending is not None:
            if _resumable(pending, actor=actor, total=total):
                return pending
            raise _pending_elsewhere()
        order = PaymentOrder.objects.create(
            order_number=_new_number("JG"),
            fine=fine,
            channel=PaymentOrder.Channel.ONLINE,
            fine_fen=fine.amount_fen,
            late_fee_fen=late,
            amount_fen=total,
            payer=actor,
        )
        audit_record(
            actor=actor, action="create", subject=order, subject_person_id=_person_of(fine),
            summary=f"网上缴款 {fine.decision_number} {total / 100:.2f}", request=request,
        )  # fmt: skip
    return order


def payment_order_at_gateway(order: PaymentOrder) -> PaymentOrder:
    """Make sure the gateway has the order and we have its pay page (idempotent, outside transactions)."""
    order = PaymentOrder.objects.select_related("fine").get(pk=order.pk)
    if order.state != PaymentOrder.State.PENDING or order.pay_url:
        return order
    return _ask_gateway_to_create(order)


def payment_start(
    *, actor: User, fine_id: int, today: date | None = None, request: Any = None
) -> PaymentOrder:
    """Start (or resume) an online payment of a fine; the payer is then sent to ``order.pay_url``."""
    payment_prepare(actor=actor, fine_id=fine_id, today=today)
    order = payment_order_open(actor=actor, fine_id=fine_id, today=today, request=request)
    return payment_order_at_gateway(order)


def _close(order: PaymentOrder, *, note: str) -> PaymentOrder:
    with transaction.atomic():
        Fine.objects.select_for_update().only("id").get(pk=order.fine_id)
        order = PaymentOrder.objects.select_for_update().get(pk=order.pk)
        if order.state != PaymentOrder.State.PENDING:
            return order
        order.state = PaymentOrder.State.CLOSED
        order.note = note[:200]
        order.last_checked_at = timezone.now()
        order.save(update_fields=["state", "note", "last_checked_at", "updated_at"])
        audit_record(actor=None, action="change", subject=order, summary=f"订单关闭 {note}"[:255])
    return order


def _note_unknown(order: PaymentOrder, error: GatewayError) -> None:
    """The gateway did not tell: the order stays pending (and keeps blocking other channels)."""
    PaymentOrder.objects.filter(pk=order.pk, state=PaymentOrder.State.PENDING).update(
        last_checked_at=timezone.now(), note=f"结果未知 result unknown: {error.code}"[:200]
    )


def order_refresh(*, order_id: int, close_unpaid: bool) -> PaymentOrder:
    """Ask the gateway what became of a pending online order and settle it (V5).

    Charged: the charge is applied (or refunded as a duplicate). Not paid and
    ``close_unpaid``: the order is closed at the gateway first, so it can no longer be
    paid there, then here. Unreachable or an unexpected answer: it stays pending and keeps
    blocking other channels; no gateway error escapes.
    """
    order = PaymentOrder.objects.get(pk=order_id)
    if order.state != PaymentOrder.State.PENDING or order.channel != PaymentOrder.Channel.ONLINE:
        return order
    gateway = get_payment_gateway()
    try:
        trade = gateway.query_order(out_trade_no=order.order_number)
    except GatewayRejected as error:
        if error.code == "not_found":
            return _close(order, note="支付平台无此订单(未创建) never created at the gateway")
        _note_unknown(order, error)
        return PaymentOrder.objects.get(pk=order.pk)
    except GatewayError as error:
        _note_unknown(order, error)
        return PaymentOrder.objects.get(pk=order.pk)
    for charge in trade.charges:
        _apply_charge(
            order_number=order.order_number, trade_no=charge.trade_no, amount_fen=charge.amount_fen,
            paid_at=charge.paid_at, learned_from="query",
        )  # fmt: skip
    if trade.charges:
        return PaymentOrder.objects.get(pk=order.pk)
    if trade.trade_state == "CLOSED":
        return _close(order, note="支付平台已关闭 closed at the gateway")
    if close_unpaid:
        try:
            closed = gateway.close_order(out_trade_no=order.order_number)
        except GatewayRejected as error:
            if error.code == "already_paid":  # paid in between: read the charge and apply it
                return order_refresh(order_id=order.pk, close_unpaid=False)
            _note_unknown(order, error)
            return PaymentOrder.objects.get(pk=order.pk)
        except GatewayError as error:
            _note_unknown(order, error)
            return PaymentOrder.objects.get(pk=order.pk)
        if closed.trade_state == "CLOSED":
            return _close(order, note="未支付，已关闭 not paid, closed")
    PaymentOrder.objects.filter(pk=order.pk).update(
        last_checked_at=timezone.now(), note="待支付 awaiting payment"
    )
    return PaymentOrder.objects.get(pk=order.pk)


@dataclass(frozen=True)
class ChargeOutcome:
    outcome: str  # paid | duplicate_refunded | already_recorded | unknown_order
    order_id: int | None


def _apply_charge(
    *, order_number: str, trade_no: str, amount_fen: int, paid_at: datetime, learned_from: str
) -> ChargeOutcome:
    """Record money the gateway took; pays the fine once, refunds anything beyond that."""
    found = PaymentOrder.objects.filter(order_number=order_number).only("id", "fine_id").first()
    if found is None:
        logger.warning("gateway charge %s for unknown order %s", trade_no, order_number)
        return ChargeOutcome("unknown_order", None)
    with transaction.atomic():
        fine = Fine.objects.select_for_update(of=("self",)).select_related("violation").get(pk=found.fine_id)
        order = PaymentOrder.objects.select_for_update().get(pk=found.pk)
        if GatewayCharge.objects.filter(trade_no=trade_no).exists():
            return ChargeOutcome("already_recorded", order.pk)
        if fine.status == Fine.Status.PAID or amount_fen != order.amount_fen:
            charge = GatewayCharge.objects.create(
                order=order, trade_no=trade_no, amount_fen=amount_fen, paid_at=paid_at,
                learned_from=learned_from, outcome=GatewayCharge.Outcome.DUPLICATE,
            )  # fmt: skip
            reason = (
                "罚款已通过其他订单或渠道缴纳，重复扣款自动退回 already paid, duplicate refunded"
                if fine.status == Fine.Status.PAID
                else "扣款金额与订单不符，自动退回 amount differs from the order, refunded"
            )
            refund = Refund.objects.create(
                charge=charge, out_refund_no=_new_number("RF"), amount_fen=amount_fen, reason=reason
            )
            if order.state != PaymentOrder.State.PAID:
                order.state = PaymentOrder.State.REFUNDED
                order.note = reason[:200]
                order.save(update_fields=["state", "note", "updated_at"])
            outbox_enqueue(
                topic=REFUND_TOPIC, payload={"refund_id": refund.pk}, dedup_key=f"refund-{refund.pk}"
            )
            audit_record(
                actor=None, action="change", subject=order, subject_person_id=_person_of(fine),
                summary=f"重复扣款退款 {trade_no} {amount_fen / 100:.2f}",
            )  # fmt: skip
            return ChargeOutcome("duplicate_refunded", order.pk)
        GatewayCharge.objects.create(
            order=order, trade_no=trade_no, amount_fen=amount_fen, paid_at=paid_at,
            learned_from=learned_from, outcome=GatewayCharge.Outcome.APPLIED,
        )  # fmt: skip
        order.state = PaymentOrder.State.PAID
        order.paid_at = paid_at
        order.note = "缴款成功 paid"
        order.save(update_fields=["state", "paid_at", "note", "updated_at"])
        _mark_fine_paid(fine, order, at=paid_at)
        audit_record(
            actor=None, action="change", subject=order, subject_person_id=_person_of(fine),
            summary=f"缴款成功({learned_from}) {fine.decision_number} {amount_fen / 100:.2f}",
        )  # fmt: skip
        return ChargeOutcome("paid", order.pk)


def payment_notice_receive(
    *, body: bytes, headers: Mapping[str, str], remote_addr: str | None = None
) -> tuple[int, dict[str, str]]:
    """The gateway's asynchronous notice (支付结果通知): verified, applied once, answered SUCCESS."""
    try:
        notice = get_payment_gateway().parse_callback(body=body, headers=headers)
    except CallbackSignatureInvalid:
        CallbackLog.objects.create(signature_valid=False, outcome="bad_signature", remote_addr=remote_addr)
        return 401, {"code": "FAIL", "message": "bad signature"}
    if notice.trade_state != "SUCCESS":
        outcome = f"ignored_{notice.trade_state.lower()}"[:32]
    else:
        outcome = _apply_charge(
            order_number=notice.out_trade_no, trade_no=notice.trade_no, amount_fen=notice.amount_fen,
            paid_at=notice.paid_at, learned_from="callback",
        ).outcome  # fmt: skip
    CallbackLog.objects.create(
        notify_id=notice.notify_id[:64], order_number=notice.out_trade_no[:32], signature_valid=True,
        outcome=outcome, remote_addr=remote_addr,
    )  # fmt: skip
    return 200, {"code": "SUCCESS"}


def payment_return(*, actor: User, order_number: str, cancelled: bool) -> PaymentOrder:
    """The payer is back from the gateway page: ask the gateway rather than trust the redirect."""
    order = (
        PaymentOrder.objects.select_related("fine__violation")
        .filter(order_number=(order_number or "").strip()[:32], payer=actor)
        .first()
    )
    if order is None:
        raise NotFound("payments.order_not_found", "没有这笔缴款订单。", "No such payment order.")
    return order_refresh(order_id=order.pk, close_unpaid=cancelled)


def payment_get(*, actor: User, order_number: str) -> PaymentOrder:
    order = (
        PaymentOrder.objects.select_related("fine__violation")
        .filter(order_number=(order_number or "").strip()[:32], fine__in=_fines_visible_to(actor))
        .first()
    )
    if order is None:
        raise NotFound("payments.order_not_found", "没有这笔缴款订单。", "No such payment order.")
    return order


def _fines_visible_to(actor: User) -> Any:
    from jiaoguan.violations.selectors import violations_of

    return Fine.objects.filter(violation__in=violations_of(user=actor))


# ---------------------------------------------------------------- counter and other platforms


def _staff_fine(actor: User, fine_id: int) -> Fine:
    if actor.kind != User.Kind.STAFF or actor.staff_role not in (
        "counter_clerk",
        "violation_officer",
        "administrator",
    ):
        raise NotAllowed(
            "payments.staff_only", "只有窗口工作人员可以收款。", "Only counter staff can take payments."
        )
    from jiaoguan.core.divisions import is_within

    fine = Fine.objects.select_related("violation__vehicle").filter(pk=fine_id).first()
    visible = fine is not None and (
        is_within(fine.deciding_division, actor.jurisdiction)
        or (
            fine.violation.vehicle is not None
            and is_within(fine.violation.vehicle.division, actor.jurisdiction)
        )
    )
    if fine is None or not visible:
        raise NotFound("payments.fine_not_found", "没有这笔罚款。", "No such fine.")
    return fine


def _record_paid_order(
    *, fine: Fine, actor: Any, channel: str, reference: str, today: date, paid_at: datetime
) -> PaymentOrder:
    late, total = amount_due(fine, today=today)
    order = PaymentOrder.objects.create(
        order_number=_new_number("CT" if channel == PaymentOrder.Channel.COUNTER else "OP"),
        fine=fine, channel=channel, state=PaymentOrder.State.PAID, fine_fen=fine.amount_fen,
        late_fee_fen=late, amount_fen=total, payer=actor if getattr(actor, "pk", None) else None,
        external_reference=reference, paid_at=paid_at, note="缴款成功 paid",
    )  # fmt: skip
    _mark_fine_paid(fine, order, at=paid_at)
    return order


def _check_reference(reference: str, field: str) -> str:
    value = (reference or "").strip()
    if not _RECEIPT_RE.fullmatch(value):
        raise ValidationFailed(
            "payments.reference_format", "票据号/流水号应为6至32位字母、数字或连字符。",
            "The receipt or reference number must be 6 to 32 letters, digits or hyphens.", field=field,
        )  # fmt: skip
    return value


def fine_pay_at_counter(
    *, actor: User, fine_id: int, receipt_number: str, today: date | None = None, request: Any = None
) -> PaymentOrder:
    """Take the payment at the counter (窗口缴款); refused while an online result is unknown (V5)."""
    receipt = _check_reference(receipt_number, "receipt_number")
    today = today or timezone.localdate()
    fine = _staff_fine(actor, fine_id)
    with transaction.atomic():
        fine = (
            Fine.objects.select_for_update(of=("self",)).select_related("violation__licence").get(pk=fine.pk)
        )
        if fine.status == Fine.Status.PAID:
            raise _already_paid()
        if PaymentOrder.objects.filter(fine=fine, state=PaymentOrder.State.PENDING).exists():
            raise _pending_elsewhere()
        order = _record_paid_order(
            fine=fine, actor=actor, channel=PaymentOrder.Channel.COUNTER, reference=receipt, today=today,
            paid_at=timezone.now(),
        )  # fmt: skip
        audit_record(
            actor=actor, action="create", subject=order, subject_person_id=_person_of(fine),
            summary=f"窗口收款 {fine.decision_number} {order.amount_fen / 100:.2f} 票据 {receipt}", request=request,
        )  # fmt: skip
    return order


def fine_paid_elsewhere(
    *, actor: Any, decision_number: str, platform: str, reference: str, paid_at: datetime, request: Any = None
) -> PaymentOrder:
    """Record a payment made on another platform (bank, another province); idempotent by reference.

    The money is already taken there, so this is never refused for a pending online
    order: that order is closed at the gateway, and if it was charged too, the charge
    becomes a duplicate and is refunded.
    """
    if actor is not None and (
        getattr(actor, "kind", None) != User.Kind.STAFF
        or actor.staff_role not in ("counter_clerk", "violation_officer", "administrator")
    ):
        raise NotAllowed(
            "payments.staff_only", "只有窗口工作人员可以登记缴款。", "Only counter staff can record payments."
        )
    reference = _check_reference(reference, "reference")
    platform = (platform or "").strip()[:40]
    if not platform:
        raise ValidationFailed(
            "payments.platform", "请填写缴款渠道。", "Name the platform.", field="platform"
        )
    with transaction.atomic():
        fine = (
            Fine.objects.select_for_update(of=("self",)).select_related("violation__licence")
            .filter(decision_number=(decision_number or "").strip()).first()
        )  # fmt: skip
        if fine is None:
            raise NotFound("payments.fine_not_found", "没有这笔罚款。", "No such fine.")
        reference_key = f"{platform}:{reference}"[:64]
        if fine.status == Fine.Status.PAID:
            existing = fine.payment_orders.filter(
                state=PaymentOrder.State.PAID, external_reference=reference_key
            ).first()
            if existing is not None:
                return existing
            raise _already_paid()
        order = _record_paid_order(
            fine=fine, actor=actor, channel=PaymentOrder.Channel.OTHER_PLATFORM, reference=reference_key,
            today=timezone.localtime(paid_at).date(), paid_at=paid_at,
        )  # fmt: skip
        for pending in fine.payment_orders.filter(state=PaymentOrder.State.PENDING):
            outbox_enqueue(
                topic=CLOSE_TOPIC, payload={"order_id": pending.pk}, dedup_key=f"close-{pending.pk}"
            )
        audit_record(
            actor=actor, action="create", subject=order, subject_person_id=_person_of(fine),
            summary=f"其他渠道缴款 {fine.decision_number} {platform}", request=request,
        )  # fmt: skip
    return order


# ---------------------------------------------------------------- refunds, closing, reconciliation


@outbox_handler(REFUND_TOPIC)
def _send_refund(payload: dict[str, Any], dedup_key: str) -> None:
    refund = Refund.objects.select_related("charge__order").get(pk=payload["refund_id"])
    if refund.state == Refund.State.SUCCEEDED:
        return
    result = get_payment_gateway().refund(
        out_trade_no=refund.charge.order.order_number, trade_no=refund.charge.trade_no,
        out_refund_no=refund.out_refund_no, amount_fen=refund.amount_fen, reason=refund.reason[:80],
    )  # fmt: skip
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.state != Refund.State.REQUESTED:
            return
        refund.state = Refund.State.SUCCEEDED
        refund.refund_no = result.refund_no[:64]
        refund.completed_at = timezone.now()
        refund.save(update_fields=["state", "refund_no", "completed_at"])
        audit_record(
            actor=None, action="change", subject=refund,
            summary=f"退款完成 {refund.out_refund_no} {refund.amount_fen / 100:.2f}",
        )  # fmt: skip


@outbox_handler(CLOSE_TOPIC)
def _close_pending(payload: dict[str, Any], dedup_key: str) -> None:
    order = order_refresh(order_id=int(payload["order_id"]), close_unpaid=True)
    if order.state == PaymentOrder.State.PENDING:
        raise GatewayUnavailable("still pending")  # retried by the outbox


RECONCILIATION_ROLES = ("administrator", "counter_clerk")


def payments_reconcile_by_staff(*, actor: User, day: date, request: Any = None) -> ReconciliationRun:
    """Reconciliation started from the counter page: only clerks and administrators; audited."""
    if actor.kind != User.Kind.STAFF or actor.staff_role not in RECONCILIATION_ROLES:
        raise NotAllowed(
            "payments.reconcile_not_allowed", "对账仅限窗口业务员和系统管理员。",
            "Only counter clerks and administrators run reconciliation.",
        )  # fmt: skip
    run = payments_reconcile(day=day)
    audit_record(
        actor=actor, action="create", subject=run, request=request,
        summary=f"对账 {day:%Y-%m-%d}: 补记 {run.settled} 退款 {run.duplicates} 关闭 {run.closed}",
    )  # fmt: skip
    return run


def payments_reconcile(*, day: date, stale_after: timedelta = STALE_AFTER) -> ReconciliationRun:
    """Daily reconciliation (对账) against the gateway's statement for ``day``.

    Charges we never heard of (lost callbacks, a crash before commit) are applied; charges
    beyond one per fine are refunded; stale pending orders are asked about and closed when
    unpaid. Safe to run again: every step is idempotent.
    """
    run = ReconciliationRun.objects.create(day=day)
    try:
        lines = get_payment_gateway().statement(day=day)
    except GatewayError as error:
        run.error = f"statement unavailable: {error.code}"[:200]
        run.finished_at = timezone.now()
        run.save(update_fields=["error", "finished_at"])
        return run
    run.statement_lines = len(lines)
    for line in lines:
        if line.kind == "charge":
            outcome = _apply_charge(
                order_number=line.out_trade_no, trade_no=line.trade_no, amount_fen=line.amount_fen,
                paid_at=line.occurred_at, learned_from="statement",
            ).outcome  # fmt: skip
            if outcome == "paid":
                run.settled += 1
            elif outcome == "duplicate_refunded":
                run.duplicates += 1
        elif line.kind == "refund" and line.out_refund_no:
            Refund.objects.filter(out_refund_no=line.out_refund_no, state=Refund.State.REQUESTED).update(
                state=Refund.State.SUCCEEDED, refund_no=line.trade_no[:64], completed_at=line.occurred_at
            )
    cutoff = timezone.now() - stale_after
    stale = PaymentOrder.objects.filter(
        state=PaymentOrder.State.PENDING, channel=PaymentOrder.Channel.ONLINE, created_at__lt=cutoff
    ).values_list("pk", flat=True)
    for order_id in list(stale):
        try:
            order = order_refresh(order_id=order_id, close_unpaid=True)
        except GatewayError:
            run.still_pending += 1
            continue
        if order.state == PaymentOrder.State.CLOSED:
            run.closed += 1
        elif order.state == PaymentOrder.State.PAID:
            run.settled += 1
        elif order.state == PaymentOrder.State.PENDING:
            run.still_pending += 1
    run.finished_at = timezone.now()
    run.save()
    return run


def payment_state_for_display(order: PaymentOrder) -> str:
    """paid | pending | failed | refunded, as the payer sees it after returning."""
    if order.state == PaymentOrder.State.PAID:
        return "paid"
    if order.state == PaymentOrder.State.PENDING:
        return "pending"
    if order.state == PaymentOrder.State.REFUNDED:
        return "refunded"
    return "failed"
