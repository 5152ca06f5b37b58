"""Fine payment orders (缴款订单), gateway charges, refunds and reconciliation runs (B17, V5).

Guards in the database, not only in code: at most one open (pending) order per fine and
at most one paid order per fine, whatever the channel; a gateway charge is recorded once
by its trade number, so a repeated callback cannot apply twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiaoguan.violations.models import Fine


class PaymentOrder(models.Model):
    """One attempt to pay a fine on one channel."""

    class Channel(models.TextChoices):
        ONLINE = "online", "网上缴款 online"
        COUNTER = "counter", "窗口缴款 counter"
        OTHER_PLATFORM = "other_platform", "其他渠道 other platform"

    class State(models.TextChoices):
        PENDING = "pending", "待确认 pending"
        PAID = "paid", "已支付 paid"
        CLOSED = "closed", "已关闭(未扣款) closed, not charged"
        REFUNDED = "refunded", "重复扣款已退 duplicate, refunded"

    order_number = models.CharField(max_length=32, unique=True, db_comment="out_trade_no sent to the gateway")
    fine = models.ForeignKey(Fine, on_delete=models.PROTECT, related_name="payment_orders")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    fine_fen = models.PositiveIntegerField()
    late_fee_fen = models.PositiveIntegerField(default=0)
    amount_fen = models.PositiveIntegerField(db_comment="fine plus late fee, what is charged")
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_comment="who started the payment (citizen, organisation or counter staff)",
    )  # fmt: skip
    pay_url = models.CharField(max_length=500, blank=True)
    external_reference = models.CharField(
        max_length=64, blank=True, db_comment="counter receipt number or the other platform's reference"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True, db_comment="last query of the gateway")
    note = models.CharField(max_length=200, blank=True, db_comment="last outcome shown to the payer")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["fine"], condition=Q(state="pending"), name="payment_one_open_order_per_fine"
            ),
            models.UniqueConstraint(
                fields=["fine"], condition=Q(state="paid"), name="payment_one_paid_order_per_fine"
            ),
            models.CheckConstraint(
                condition=Q(amount_fen=models.F("fine_fen") + models.F("late_fee_fen")),
                name="payment_amount_sum",
            ),
            models.CheckConstraint(
                condition=~Q(state="paid") | Q(paid_at__isnull=False), name="payment_paid_at"
            ),
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="payment_state_created")]
        verbose_name = "缴款订单 payment order"
        verbose_name_plural = "缴款订单 payment orders"

    def __str__(self) -> str:
        return self.order_number


class GatewayCharge(models.Model):
    """Money the gateway took for an order (扣款), known from a callback, a query or the statement."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "已入账 paid the fine"
        DUPLICATE = "duplicate", "重复扣款 duplicate, refunded"

    order = models.ForeignKey(PaymentOrder, on_delete=models.PROTECT, related_name="charges")
    trade_no = models.CharField(max_length=64, unique=True, db_comment="gateway transaction number")
    amount_fen = models.PositiveIntegerField()
    paid_at = models.DateTimeField()
    learned_from = models.CharField(max_length=16, db_comment="callback, query or statement")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.trade_no


class Refund(models.Model):
    """A refund of a duplicate charge (退款), sent to the gateway after commit and shown to the payer."""

    class State(models.TextChoices):
        REQUESTED = "requested", "退款中 requested"
        SUCCEEDED = "succeeded", "已退款 refunded"

    charge = models.OneToOneField(GatewayCharge, on_delete=models.PROTECT, related_name="refund")
    out_refund_no = models.CharField(max_length=32, unique=True)
    amount_fen = models.PositiveIntegerField()
    reason = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTED)
    refund_no = models.CharField(max_length=64, blank=True, db_comment="gateway refund number")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.out_refund_no


class CallbackLog(models.Model):
    """Every payment notice received (支付通知), signed or not, with what it did."""

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    notify_id = models.CharField(max_length=64, blank=True)
    order_number = models.CharField(max_length=32, blank=True)
    signature_valid = models.BooleanField()
    outcome = models.CharField(max_length=32)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.notify_id} {self.outcome}"


class ReconciliationRun(models.Model):
    """One daily reconciliation against the gateway's statement (对账)."""

    day = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    statement_lines = models.PositiveIntegerField(default=0)
    settled = models.PositiveIntegerField(default=0, db_comment="pending orders found paid")
    duplicates = models.PositiveIntegerField(default=0, db_comment="duplicate charges refunded")
    closed = models.PositiveIntegerField(default=0, db_comment="pending orders found unpaid and closed")
    still_pending = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"reconciliation {self.day}"
