"""Payables (应缴款项), their payment orders (缴款订单), gateway charges, refunds and reconciliation
runs (B17, V5).

The payments app owns the "paid" fact for anything payable: a fine today, fees later. The
app that creates a payable (violations for fines) registers its kind in
:mod:`jiaoguan.payments.kinds` and hears of the payment through that registration; this app
never imports it.

Guards in the database, not only in code: at most one open (pending) order per payable and
at most one paid order per payable, whatever the channel; a gateway charge is recorded once
by its trade number, so a repeated callback cannot apply twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    """Where the money was paid (缴款渠道)."""

    ONLINE = "online", "网上缴款 online"
    COUNTER = "counter", "窗口缴款 counter"
    OTHER_PLATFORM = "other_platform", "其他渠道 other platform"


class Payable(models.Model):
    """Something a citizen or an organisation owes (应缴款项): one fine, one fee."""

    class State(models.TextChoices):
        UNPAID = "unpaid", "未缴款 unpaid"
        PAID = "paid", "已缴款 paid"

    kind = models.CharField(
        "款项类别 kind", max_length=16, db_comment="registered kind (payments/kinds.py), e.g. fine"
    )
    reference = models.CharField(
        "款项编号 reference", max_length=32,
        db_comment="the kind's own number, e.g. the penalty decision number of a fine",
    )  # fmt: skip
    description = models.CharField(
        "款项说明 description", max_length=100, db_comment="shown to the payer and sent to the gateway"
    )
    principal_fen = models.PositiveIntegerField(
        "应缴金额（分） amount due in fen", db_comment="without late fee"
    )
    subject_person = models.ForeignKey(
        "registry.Person", verbose_name="当事人 subject person", null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
        db_comment="whose record it is, for the audit trail (never shown in lists)",
    )  # fmt: skip
    division = models.CharField(
        "决定机关行政区划 issuing division", max_length=6,
        db_comment="GB/T 2260 code of the agency that issued it; staff there see it",
    )  # fmt: skip
    home_division = models.CharField(
        "登记地行政区划 registration division", max_length=6, blank=True,
        db_comment="GB/T 2260 code where the subject's vehicle is registered (V6); staff there see it too",
    )  # fmt: skip
    state = models.CharField("缴款状态 state", max_length=8, choices=State.choices, default=State.UNPAID)
    paid_at = models.DateTimeField("缴款时间 paid at", null=True, blank=True)
    paid_channel = models.CharField("缴款渠道 paid on", max_length=16, choices=Channel.choices, blank=True)
    late_fee_fen = models.PositiveIntegerField(
        "加处罚款（分） late fee in fen", default=0, db_comment="late fee charged with the payment"
    )
    paid_total_fen = models.PositiveIntegerField("实缴金额（分） paid in fen", default=0)
    created_at = models.DateTimeField("创建时间 created at", auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "reference"], name="payable_kind_reference_unique"),
            models.CheckConstraint(
                condition=Q(state="unpaid") | (Q(paid_at__isnull=False) & ~Q(paid_channel="")),
                name="payable_paid_has_time_and_channel",
            ),
            models.CheckConstraint(
                condition=Q(state="unpaid")
                | Q(paid_total_fen=models.F("principal_fen") + models.F("late_fee_fen")),
                name="payable_paid_total_sum",
            ),
        ]
        indexes = [models.Index(fields=["division", "state"], name="payable_division_state")]
        verbose_name = "应缴款项 payable"
        verbose_name_plural = "应缴款项 payables"

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class PaymentOrder(models.Model):
    """One attempt to pay a payable on one channel."""

    Channel = Channel

    class State(models.TextChoices):
        PENDING = "pending", "待确认 pending"
        PAID = "paid", "已支付 paid"
        CLOSED = "closed", "已关闭（未扣款） closed, not charged"
        REFUNDED = "refunded", "重复扣款已退 duplicate, refunded"

    order_number = models.CharField(
        "订单号 order number", max_length=32, unique=True, db_comment="out_trade_no sent to the gateway"
    )
    payable = models.ForeignKey(
        Payable, verbose_name="应缴款项 payable", on_delete=models.PROTECT, related_name="orders"
    )
    channel = models.CharField("缴款渠道 channel", max_length=16, choices=Channel.choices)
    state = models.CharField("状态 state", max_length=16, choices=State.choices, default=State.PENDING)
    principal_fen = models.PositiveIntegerField("应缴金额（分） amount due in fen")
    late_fee_fen = models.PositiveIntegerField("加处罚款（分） late fee in fen", default=0)
    amount_fen = models.PositiveIntegerField(
        "订单金额（分） amount in fen", db_comment="amount due plus late fee, what is charged"
    )
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="缴款人 payer", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_comment="who started the payment (citizen, organisation or counter staff)",
    )  # fmt: skip
    pay_url = models.CharField("支付页面 pay page", max_length=500, blank=True)
    external_reference = models.CharField(
        "票据号/流水号 receipt or reference", max_length=64, blank=True,
        db_comment="counter receipt number or the other platform's reference",
    )  # fmt: skip
    created_at = models.DateTimeField("下单时间 created at", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间 updated at", auto_now=True)
    paid_at = models.DateTimeField("支付时间 paid at", null=True, blank=True)
    last_checked_at = models.DateTimeField(
        "最近核实时间 last checked at", null=True, blank=True, db_comment="last query of the gateway"
    )
    note = models.CharField(
        "结果说明 note", max_length=200, blank=True, db_comment="last outcome shown to the payer"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["payable"], condition=Q(state="pending"), name="payment_one_open_order_per_payable"
            ),
            models.UniqueConstraint(
                fields=["payable"], condition=Q(state="paid"), name="payment_one_paid_order_per_payable"
            ),
            models.CheckConstraint(
                condition=Q(amount_fen=models.F("principal_fen") + models.F("late_fee_fen")),
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
        APPLIED = "applied", "已入账 paid the payable"
        DUPLICATE = "duplicate", "重复扣款 duplicate, refunded"

    class Source(models.TextChoices):
        CALLBACK = "callback", "支付通知 callback"
        QUERY = "query", "主动查询 query"
        STATEMENT = "statement", "对账单 statement"

    order = models.ForeignKey(
        PaymentOrder, verbose_name="缴款订单 payment order", on_delete=models.PROTECT, related_name="charges"
    )
    trade_no = models.CharField(
        "支付平台交易号 trade number", max_length=64, unique=True, db_comment="gateway transaction number"
    )
    amount_fen = models.PositiveIntegerField("扣款金额（分） amount in fen")
    paid_at = models.DateTimeField("扣款时间 charged at")
    learned_from = models.CharField(
        "获知途径 learned from",
        max_length=16,
        choices=Source.choices,
        db_comment="callback, query or statement",
    )
    outcome = models.CharField("处理结果 outcome", max_length=16, choices=Outcome.choices)
    recorded_at = models.DateTimeField("记录时间 recorded at", auto_now_add=True)

    class Meta:
        verbose_name = "支付平台扣款 gateway charge"
        verbose_name_plural = "支付平台扣款 gateway charges"

    def __str__(self) -> str:
        return self.trade_no


class Refund(models.Model):
    """A refund of a duplicate charge (退款), sent to the gateway after commit and shown to the payer."""

    class State(models.TextChoices):
        REQUESTED = "requested", "退款中 requested"
        SUCCEEDED = "succeeded", "已退款 refunded"

    charge = models.OneToOneField(
        GatewayCharge, verbose_name="扣款 charge", on_delete=models.PROTECT, related_name="refund"
    )
    out_refund_no = models.CharField("退款单号 refund number", max_length=32, unique=True)
    amount_fen = models.PositiveIntegerField("退款金额（分） amount in fen")
    reason = models.CharField("退款原因 reason", max_length=200)
    state = models.CharField("状态 state", max_length=16, choices=State.choices, default=State.REQUESTED)
    refund_no = models.CharField(
        "支付平台退款号 gateway refund number", max_length=64, blank=True, db_comment="gateway refund number"
    )
    created_at = models.DateTimeField("申请时间 requested at", auto_now_add=True)
    completed_at = models.DateTimeField("完成时间 completed at", null=True, blank=True)

    class Meta:
        verbose_name = "退款 refund"
        verbose_name_plural = "退款 refunds"

    def __str__(self) -> str:
        return self.out_refund_no


class CallbackLog(models.Model):
    """Every payment notice received (支付通知), signed or not, with what it did."""

    received_at = models.DateTimeField("收到时间 received at", auto_now_add=True, db_index=True)
    notify_id = models.CharField("通知编号 notice id", max_length=64, blank=True)
    order_number = models.CharField("订单号 order number", max_length=32, blank=True)
    signature_valid = models.BooleanField("签名有效 signature valid")
    outcome = models.CharField(
        "处理结果 outcome", max_length=32, db_comment="paid, duplicate_refunded, already_recorded, ..."
    )
    remote_addr = models.GenericIPAddressField("来源地址 remote address", null=True, blank=True)

    class Meta:
        verbose_name = "支付通知 payment notice"
        verbose_name_plural = "支付通知 payment notices"

    def __str__(self) -> str:
        return f"{self.notify_id} {self.outcome}"


class ReconciliationRun(models.Model):
    """One daily reconciliation against the gateway's statement (对账)."""

    day = models.DateField("对账日期 day")
    started_at = models.DateTimeField("开始时间 started at", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间 finished at", null=True, blank=True)
    statement_lines = models.PositiveIntegerField("账单笔数 statement lines", default=0)
    settled = models.PositiveIntegerField(
        "补记到账 settled", default=0, db_comment="pending orders found paid"
    )
    duplicates = models.PositiveIntegerField(
        "重复扣款退款 duplicates refunded", default=0, db_comment="duplicate charges refunded"
    )
    closed = models.PositiveIntegerField(
        "关闭未支付 closed", default=0, db_comment="pending orders found unpaid and closed"
    )
    still_pending = models.PositiveIntegerField("仍待确认 still pending", default=0)
    error = models.CharField("错误 error", max_length=200, blank=True)

    class Meta:
        verbose_name = "对账记录 reconciliation run"
        verbose_name_plural = "对账记录 reconciliation runs"

    def __str__(self) -> str:
        return f"reconciliation {self.day}"
