"""Payment of payables (B17) with no double charge (V5): orders, gateway results, counter, reconciliation.

Every transition is lock, re-check, change, audit, in this lock order: payable row, then its
payment orders, then (through the kind's ``on_paid``) the owner's own rows, such as the
fine. The apps that create payables lock their rows (licence, violation, fine) before they
create the payable, and never lock a payable afterwards, so the two orders cannot cross.

The database backs the code: one pending and one paid order per payable at most, and each
gateway charge is stored once by its trade number, so a repeated callback is a no-op and a
charge that arrives for an already-paid payable is refunded, never lost.

Calls to the gateway never run inside a transaction: an order is stored as pending first,
then the gateway is asked; whatever happens in between is settled by asking the gateway
again (``order_refresh``) or by the daily statement (``payments_reconcile``).

Who may do what comes from the access table (``payments.*`` in core/access.py): each entry
point checks the role first, then finds the payable through the actor's scope (a payable
the actor may not see is "not found", so ids cannot be probed), then checks the scope.
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

from jiaoguan.core.access import Scope, division_prefix_for, require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, NotFound, Unavailable, ValidationFailed
from jiaoguan.core.outbox import outbox_enqueue, outbox_handler
from jiaoguan.integrations.payment_gateway import (
    CallbackSignatureInvalid,
    GatewayError,
    GatewayRejected,
    GatewayUnavailable,
    get_payment_gateway,
)

from .kinds import payable_kind
from .models import CallbackLog, GatewayCharge, Payable, PaymentOrder, ReconciliationRun, Refund
from .reasons import staff_reason

logger = logging.getLogger(__name__)

REFUND_TOPIC = "payments.refund"
CLOSE_TOPIC = "payments.close"
PAID_TOPIC = "payments.paid"
REFUNDED_TOPIC = "payments.refunded"
# A pending order younger than this may still be in the payer's hands at the gateway.
STALE_AFTER = timedelta(minutes=15)
_RECEIPT_RE = re.compile(r"[0-9A-Za-z\-]{6,32}")

PAY_ONLINE = "payments.fine.pay_online"
PAY_AT_COUNTER = "payments.fine.pay_at_counter"
RECORD_ELSEWHERE = "payments.fine.record_elsewhere"
ORDER_REFRESH = "payments.order.refresh"
ORDER_VIEW = "payments.order.view"
RECONCILE = "payments.reconcile"


def _new_number(prefix: str) -> str:
    return f"{prefix}{timezone.localtime():%y%m%d%H%M%S}{secrets.token_hex(5).upper()}"


def _not_found() -> NotFound:
    return NotFound("payments.payable_not_found", "没有这笔应缴款项。", "No such payable.")


def _order_not_found() -> NotFound:
    return NotFound("payments.order_not_found", "没有这笔缴款订单。", "No such payment order.")


def _already_paid() -> Conflict:
    return Conflict(
        "payments.already_paid",
        "该款项已缴纳，无需重复缴款。",
        "This has already been paid; it cannot be paid again.",
    )


def _pending_elsewhere() -> Conflict:
    return Conflict(
        "payments.pending",
        "该款项有一笔缴款结果尚未确认，确认前不能通过其他渠道缴款，请稍后查看或等待对账。",
        "A payment of this is still being confirmed; it cannot be paid on another channel until "
        "the result is known. Check again later or wait for reconciliation.",
    )


# ---------------------------------------------------------------- payables and who sees them


def payable_create(
    *,
    kind: str,
    reference: str,
    description: str,
    principal_fen: int,
    division: str,
    home_division: str = "",
    subject_person_id: int | None = None,
) -> Payable:
    """Open a payable of a registered kind (应缴款项), in the caller's transaction.

    The caller (the owner of the record, e.g. violations deciding a fine) has checked the
    actor's access for its own action and writes the audit row of that action.
    """
    payable_kind(kind)  # an unregistered kind could never be paid: refuse it now
    if principal_fen < 0:
        raise ValueError("a payable cannot be negative")
    return Payable.objects.create(
        kind=kind, reference=reference[:32], description=description[:100], principal_fen=principal_fen,
        division=division, home_division=home_division or "", subject_person_id=subject_person_id,
    )  # fmt: skip


def staff_division_of(actor: Any, name: str, payable: Payable) -> str | None:
    """The payable's division inside the actor's scope for the action, or None.

    A payable is the staff's when the issuing agency is in their jurisdiction, or when the
    subject's vehicle is registered there (V6: a local vehicle's fine from elsewhere).
    """
    prefix = division_prefix_for(actor, name)
    if prefix is None:
        return None
    for code in (payable.division, payable.home_division):
        if code and code.startswith(prefix):
            return code
    return None


def _visible(actor: Any, name: str, payable: Payable) -> bool:
    """Whether the actor may see the payable for the action: own records, or inside the scope."""
    scope = require(actor, name)  # the role first: a refused role is 403 before any lookup
    if scope is Scope.OWN:
        return payable_kind(payable.kind).visible_to(actor, payable)
    code = staff_division_of(actor, name, payable)
    if code is None:
        return False
    require(actor, name, division=code)
    return True


def _payable_for(actor: Any, name: str, payable_id: int) -> Payable:
    require(actor, name)
    payable = Payable.objects.filter(pk=payable_id).first()
    if payable is None or not _visible(actor, name, payable):
        raise _not_found()
    return payable


def amount_due(payable: Payable, *, today: date) -> tuple[int, int]:
    """(late fee, total) in fen for paying ``payable`` on ``today``, by its kind's rule."""
    late = payable_kind(payable.kind).late_fee(payable, today)
    return late, payable.principal_fen + late


def _mark_paid(payable: Payable, order: PaymentOrder, *, at: datetime) -> None:
    """The payable is paid by ``order``; its owner hears of it in this same transaction."""
    payable.state = Payable.State.PAID
    payable.paid_at = at
    payable.paid_channel = order.channel
    payable.late_fee_fen = order.late_fee_fen
    payable.paid_total_fen = order.amount_fen
    payable.save(update_fields=["state", "paid_at", "paid_channel", "late_fee_fen", "paid_total_fen"])
    payable_kind(payable.kind).on_paid(payable)
    # The payer is told of the result after commit (issue 15): the message centre subscribes.
    outbox_enqueue(
        topic=PAID_TOPIC,
        payload={"payable_id": payable.pk, "order_id": order.pk},
        dedup_key=f"paid-{payable.pk}",
    )


def _lock_payable(payable_id: int) -> Payable:
    return Payable.objects.select_for_update().get(pk=payable_id)


# ---------------------------------------------------------------- online payment


def _notify_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + "/api/v1/payments/notify"


def _return_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + "/payments/return/"


def _ask_gateway_to_create(order: PaymentOrder) -> PaymentOrder:
    payable = order.payable
    try:
        created = get_payment_gateway().create_order(
            out_trade_no=order.order_number,
            amount_fen=order.amount_fen,
            subject=payable.description,
            notify_url=_notify_url(),
            return_url=_return_url(),
        )
    except GatewayRejected as error:
        _close(order, note=f"支付平台拒绝：{error.code}")
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


def payment_prepare(*, actor: Any, payable_id: int, today: date | None = None) -> Payable:
    """Check the payable is the payer's and settle a pending order that is not theirs to resume.

    Runs before the order is opened and outside any transaction, because settling asks
    the gateway (an order left by another payer or an older amount is closed there first).
    """
    today = today or timezone.localdate()
    payable = _payable_for(actor, PAY_ONLINE, payable_id)
    _late, total = amount_due(payable, today=today)
    pending = PaymentOrder.objects.filter(payable_id=payable.pk, state=PaymentOrder.State.PENDING).first()
    if pending is not None and not _resumable(pending, actor=actor, total=total):
        order_refresh(order_id=pending.pk, close_unpaid=True)
    return payable


def _resumable(order: PaymentOrder, *, actor: Any, total: int) -> bool:
    return (
        order.channel == PaymentOrder.Channel.ONLINE
        and order.payer_id == actor.pk
        and order.amount_fen == total
    )


def payment_order_open(
    *, actor: Any, payable_id: int, today: date | None = None, request: Any = None
) -> PaymentOrder:
    """Open the online order for a payable, or return the payer's own open one (a double click)."""
    today = today or timezone.localdate()
    require(actor, PAY_ONLINE)
    with transaction.atomic():
        payable = Payable.objects.select_for_update().filter(pk=payable_id).first()
        if payable is None or not _visible(actor, PAY_ONLINE, payable):
            raise _not_found()
        if payable.state == Payable.State.PAID:
            raise _already_paid()
        late, total = amount_due(payable, today=today)
        pending = (
            PaymentOrder.objects.select_for_update()
            .filter(payable=payable, state=PaymentOrder.State.PENDING)
            .first()
        )
        if pending is not None:
            if _resumable(pending, actor=actor, total=total):
                return pending
            raise _pending_elsewhere()
        order = PaymentOrder.objects.create(
            order_number=_new_number("JG"),
            payable=payable,
            channel=PaymentOrder.Channel.ONLINE,
            principal_fen=payable.principal_fen,
            late_fee_fen=late,
            amount_fen=total,
            payer=actor,
        )
        audit_record(
            actor=actor, action="create", subject=order, subject_person_id=payable.subject_person_id,
            summary=f"网上缴款 {payable.reference} {total / 100:.2f}", request=request,
        )  # fmt: skip
    return order


def payment_order_at_gateway(order: PaymentOrder) -> PaymentOrder:
    """Make sure the gateway has the order and we have its pay page (idempotent, outside transactions)."""
    order = PaymentOrder.objects.select_related("payable").get(pk=order.pk)
    if order.state != PaymentOrder.State.PENDING or order.pay_url:
        return order
    return _ask_gateway_to_create(order)


def payment_start(
    *, actor: Any, payable_id: int, today: date | None = None, request: Any = None
) -> PaymentOrder:
    """Start (or resume) an online payment; the payer is then sent to ``order.pay_url``."""
    payment_prepare(actor=actor, payable_id=payable_id, today=today)
    order = payment_order_open(actor=actor, payable_id=payable_id, today=today, request=request)
    return payment_order_at_gateway(order)


def _close(order: PaymentOrder, *, note: str) -> PaymentOrder:
    with transaction.atomic():
        _lock_payable(order.payable_id)
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
    blocking other channels; no gateway error escapes. Callers check access first.
    """
    order = PaymentOrder.objects.get(pk=order_id)
    if order.state != PaymentOrder.State.PENDING or order.channel != PaymentOrder.Channel.ONLINE:
        return order
    gateway = get_payment_gateway()
    try:
        trade = gateway.query_order(out_trade_no=order.order_number)
    except GatewayRejected as error:
        if error.code == "not_found":
            return _close(order, note="支付平台无此订单（未创建） never created at the gateway")
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
    """Record money the gateway took; pays the payable once, refunds anything beyond that."""
    found = PaymentOrder.objects.filter(order_number=order_number).only("id", "payable_id").first()
    if found is None:
        logger.warning("gateway charge %s for unknown order %s", trade_no, order_number)
        return ChargeOutcome("unknown_order", None)
    with transaction.atomic():
        payable = _lock_payable(found.payable_id)
        order = PaymentOrder.objects.select_for_update().get(pk=found.pk)
        if GatewayCharge.objects.filter(trade_no=trade_no).exists():
            return ChargeOutcome("already_recorded", order.pk)
        if payable.state == Payable.State.PAID or amount_fen != order.amount_fen:
            charge = GatewayCharge.objects.create(
                order=order, trade_no=trade_no, amount_fen=amount_fen, paid_at=paid_at,
                learned_from=learned_from, outcome=GatewayCharge.Outcome.DUPLICATE,
            )  # fmt: skip
            reason = (
                "款项已通过其他订单或渠道缴纳，重复扣款自动退回 already paid, duplicate refunded"
                if payable.state == Payable.State.PAID
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
                actor=None, action="change", subject=order, subject_person_id=payable.subject_person_id,
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
        _mark_paid(payable, order, at=paid_at)
        audit_record(
            actor=None, action="change", subject=order, subject_person_id=payable.subject_person_id,
            summary=f"缴款成功（{learned_from}） {payable.reference} {amount_fen / 100:.2f}",
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


def payment_return(*, actor: Any, order_number: str, cancelled: bool) -> PaymentOrder:
    """The payer is back from the gateway page: ask the gateway rather than trust the redirect."""
    require(actor, PAY_ONLINE)
    order = (
        PaymentOrder.objects.select_related("payable")
        .filter(order_number=(order_number or "").strip()[:32], payer=actor)
        .first()
    )
    if order is None or not _visible(actor, PAY_ONLINE, order.payable):
        raise _order_not_found()
    return order_refresh(order_id=order.pk, close_unpaid=cancelled)


def payment_get(*, actor: Any, order_number: str) -> PaymentOrder:
    """A payment order the actor may see: of their own payable, or inside their jurisdiction."""
    require(actor, ORDER_VIEW)
    order = (
        PaymentOrder.objects.select_related("payable")
        .filter(order_number=(order_number or "").strip()[:32])
        .first()
    )
    if order is None or not _visible(actor, ORDER_VIEW, order.payable):
        raise _order_not_found()
    return order


def payment_order_check(
    *, actor: Any, payable_id: int, order_number: str, request: Any = None
) -> PaymentOrder:
    """Staff ask the gateway about a pending online order (核实网上缴款); closed there when unpaid."""
    payable = _payable_for(actor, ORDER_REFRESH, payable_id)
    order = PaymentOrder.objects.filter(payable=payable, order_number=(order_number or "")[:32]).first()
    if order is None:
        raise _order_not_found()
    order = order_refresh(order_id=order.pk, close_unpaid=True)
    audit_record(
        actor=actor, action="change", subject=order, subject_person_id=payable.subject_person_id,
        summary=f"核实网上缴款 {order.order_number}: {order.state}", request=request,
    )  # fmt: skip
    return order


# ---------------------------------------------------------------- counter and other platforms


def _record_paid_order(
    *, payable: Payable, actor: Any, channel: str, reference: str, today: date, paid_at: datetime
) -> PaymentOrder:
    late, total = amount_due(payable, today=today)
    order = PaymentOrder.objects.create(
        order_number=_new_number("CT" if channel == PaymentOrder.Channel.COUNTER else "OP"),
        payable=payable, channel=channel, state=PaymentOrder.State.PAID, principal_fen=payable.principal_fen,
        late_fee_fen=late, amount_fen=total, payer=actor if getattr(actor, "pk", None) else None,
        external_reference=reference, paid_at=paid_at, note="缴款成功 paid",
    )  # fmt: skip
    _mark_paid(payable, order, at=paid_at)
    return order


def _check_reference(reference: str, field: str) -> str:
    value = (reference or "").strip()
    if not _RECEIPT_RE.fullmatch(value):
        raise ValidationFailed(
            "payments.reference_format", "票据号/流水号应为6至32位字母、数字或连字符。",
            "The receipt or reference number must be 6 to 32 letters, digits or hyphens.", field=field,
        )  # fmt: skip
    return value


def counter_payment_refusal(*, actor: Any, payable_id: int) -> Conflict | None:
    """Why the counter cannot take the payment now (already paid, or an online result unknown,
    V5), asked before the confirmation page; the payment itself checks again under lock."""
    payable = _payable_for(actor, PAY_AT_COUNTER, payable_id)
    if payable.state == Payable.State.PAID:
        return _already_paid()
    if PaymentOrder.objects.filter(payable=payable, state=PaymentOrder.State.PENDING).exists():
        return _pending_elsewhere()
    return None


def payable_pay_at_counter(
    *,
    actor: Any,
    payable_id: int,
    receipt_number: str,
    reason: str,
    today: date | None = None,
    request: Any = None,
) -> PaymentOrder:
    """Take the payment at the counter (窗口缴款); refused while an online result is unknown (V5).

    Irreversible (the payable is then paid; a refund is a separate procedure), so the clerk
    confirms it with a reason of at least 4 characters, kept in the audit entry."""
    payable = _payable_for(actor, PAY_AT_COUNTER, payable_id)
    receipt = _check_reference(receipt_number, "receipt_number")
    reason = staff_reason(reason, code="payments.reason_required")
    today = today or timezone.localdate()
    with transaction.atomic():
        payable = _lock_payable(payable.pk)
        if payable.state == Payable.State.PAID:
            raise _already_paid()
        if PaymentOrder.objects.filter(payable=payable, state=PaymentOrder.State.PENDING).exists():
            raise _pending_elsewhere()
        order = _record_paid_order(
            payable=payable, actor=actor, channel=PaymentOrder.Channel.COUNTER, reference=receipt, today=today,
            paid_at=timezone.now(),
        )  # fmt: skip
        audit_record(
            actor=actor, action="create", subject=order, subject_person_id=payable.subject_person_id,
            summary=f"窗口收款 {payable.reference} {order.amount_fen / 100:.2f} 票据 {receipt}", reason=reason,
            request=request,
        )  # fmt: skip
    return order


def payable_paid_elsewhere(
    *,
    actor: Any,
    kind: str,
    payable_reference: str,
    platform: str,
    reference: str,
    paid_at: datetime,
    request: Any = None,
) -> PaymentOrder:
    """Record a payment made on another platform (bank, another province); idempotent by reference.

    The money is already taken there, so this is never refused for a pending online
    order: that order is closed at the gateway, and if it was charged too, the charge
    becomes a duplicate and is refunded. ``actor`` None is the platform itself (a bank's
    settlement file read by a command), which no page or API can be.
    """
    if actor is not None:
        require(actor, RECORD_ELSEWHERE)
    reference = _check_reference(reference, "reference")
    platform = (platform or "").strip()[:40]
    if not platform:
        raise ValidationFailed(
            "payments.platform", "请填写缴款渠道。", "Name the platform.", field="platform"
        )
    found = Payable.objects.filter(kind=kind, reference=(payable_reference or "").strip()).first()
    if found is None or (actor is not None and not _visible(actor, RECORD_ELSEWHERE, found)):
        raise _not_found()
    with transaction.atomic():
        payable = _lock_payable(found.pk)
        reference_key = f"{platform}:{reference}"[:64]
        if payable.state == Payable.State.PAID:
            existing = payable.orders.filter(
                state=PaymentOrder.State.PAID, external_reference=reference_key
            ).first()
            if existing is not None:
                return existing
            raise _already_paid()
        order = _record_paid_order(
            payable=payable, actor=actor, channel=PaymentOrder.Channel.OTHER_PLATFORM, reference=reference_key,
            today=timezone.localtime(paid_at).date(), paid_at=paid_at,
        )  # fmt: skip
        for pending in payable.orders.filter(state=PaymentOrder.State.PENDING):
            outbox_enqueue(
                topic=CLOSE_TOPIC, payload={"order_id": pending.pk}, dedup_key=f"close-{pending.pk}"
            )
        audit_record(
            actor=actor, action="create", subject=order, subject_person_id=payable.subject_person_id,
            summary=f"其他渠道缴款 {payable.reference} {platform}", request=request,
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
        outbox_enqueue(
            topic=REFUNDED_TOPIC, payload={"refund_id": refund.pk}, dedup_key=f"refunded-{refund.pk}"
        )
        audit_record(
            actor=None, action="change", subject=refund,
            summary=f"退款完成 {refund.out_refund_no} {refund.amount_fen / 100:.2f}",
        )  # fmt: skip


@outbox_handler(CLOSE_TOPIC)
def _close_pending(payload: dict[str, Any], dedup_key: str) -> None:
    order = order_refresh(order_id=int(payload["order_id"]), close_unpaid=True)
    if order.state == PaymentOrder.State.PENDING:
        raise GatewayUnavailable("still pending")  # retried by the outbox


def payments_reconcile_by_staff(*, actor: Any, day: date, request: Any = None) -> ReconciliationRun:
    """Reconciliation started from the counter page (payments.reconcile in the access table); audited."""
    require(actor, RECONCILE)
    run = payments_reconcile(day=day)
    audit_record(
        actor=actor, action="create", subject=run, request=request,
        summary=f"对账 {day:%Y-%m-%d}: 补记 {run.settled} 退款 {run.duplicates} 关闭 {run.closed}",
    )  # fmt: skip
    return run


def payments_reconcile(*, day: date, stale_after: timedelta = STALE_AFTER) -> ReconciliationRun:
    """Daily reconciliation (对账) against the gateway's statement for ``day``.

    Charges we never heard of (lost callbacks, a crash before commit) are applied; charges
    beyond one per payable are refunded; stale pending orders are asked about and closed when
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
