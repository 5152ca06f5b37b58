"""Back office, read only: payables, payment orders, charges, refunds, notices and reconciliation runs.

Who sees what comes from the access table: payables, orders and refunds by the divisions of
the payable (``payments.order.view``), gateway charges and notices platform-wide for
administrators (``payments.gateway_log.view``), reconciliation runs for whoever may run one
(``payments.reconcile``). Nothing is added, changed or deleted here: payments change only
through their services. Times are shown in Beijing time.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin
from django.utils import timezone

from jiaoguan.core.admin import AccessAdmin

from .kinds import kind_words
from .models import CallbackLog, GatewayCharge, Payable, PaymentOrder, ReconciliationRun, Refund


def beijing(value: datetime | None) -> str:
    """A stored time as Beijing time (北京时间), to the second; "-" when there is none."""
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M:%S}" if value else "-"


def yuan(fen: int | None) -> str:
    return f"¥{(fen or 0) // 100}.{(fen or 0) % 100:02d}"


class ReadOnlyAccessAdmin(AccessAdmin):
    """A read-only page of the back office: listed and opened inside the actor's scope (any of a
    record's divisions, V6), each opened record audited with the person it is about."""


_PAYABLE_DIVISIONS = ("division", "home_division")


def _through(path: str) -> tuple[str, ...]:
    return tuple(f"{path}__{field}" for field in _PAYABLE_DIVISIONS)


@admin.register(Payable)
class PayableAdmin(ReadOnlyAccessAdmin):
    view_action = "payments.order.view"
    division_fields = _PAYABLE_DIVISIONS
    list_display = ["reference", "kind_label", "description", "amount", "state", "paid_channel", "paid_time"]
    list_filter = ["state", "kind", "paid_channel"]
    search_fields = ["=reference"]
    exclude = ["subject_person"]
    show_full_result_count = False

    def person_id_of(self, obj: Payable) -> int | None:
        return obj.subject_person_id

    @admin.display(description="款项类别 kind", ordering="kind")
    def kind_label(self, obj: Payable) -> str:
        return kind_words(obj.kind)

    @admin.display(description="应缴金额 amount due", ordering="principal_fen")
    def amount(self, obj: Payable) -> str:
        return yuan(obj.principal_fen)

    @admin.display(description="缴款时间（北京时间） paid at (Asia/Shanghai)", ordering="paid_at")
    def paid_time(self, obj: Payable) -> str:
        return beijing(obj.paid_at)


@admin.register(PaymentOrder)
class PaymentOrderAdmin(ReadOnlyAccessAdmin):
    view_action = "payments.order.view"
    division_fields = _through("payable")
    list_display = ["order_number", "reference", "channel", "state", "amount", "created", "paid_time"]
    list_select_related = ["payable"]
    list_filter = ["state", "channel"]
    search_fields = ["=order_number", "=payable__reference"]
    exclude = ["payer", "external_reference"]
    readonly_fields = ["external_reference_words"]
    show_full_result_count = False

    def person_id_of(self, obj: PaymentOrder) -> int | None:
        return obj.payable.subject_person_id

    @admin.display(description="票据号/流水号 receipt or reference")
    def external_reference_words(self, obj: PaymentOrder) -> str:
        """Another platform's payments are keyed "平台:流水号"; shown with the platform in words."""
        platform, sep, reference = obj.external_reference.partition(":")
        if sep and not platform.isascii():
            return f"{platform}：{reference}"
        return obj.external_reference

    @admin.display(description="款项编号 reference", ordering="payable__reference")
    def reference(self, obj: PaymentOrder) -> str:
        return obj.payable.reference

    @admin.display(description="订单金额 amount", ordering="amount_fen")
    def amount(self, obj: PaymentOrder) -> str:
        return yuan(obj.amount_fen)

    @admin.display(description="下单时间（北京时间） created (Asia/Shanghai)", ordering="created_at")
    def created(self, obj: PaymentOrder) -> str:
        return beijing(obj.created_at)

    @admin.display(description="支付时间（北京时间） paid at (Asia/Shanghai)", ordering="paid_at")
    def paid_time(self, obj: PaymentOrder) -> str:
        return beijing(obj.paid_at)


@admin.register(GatewayCharge)
class GatewayChargeAdmin(ReadOnlyAccessAdmin):
    view_action = "payments.gateway_log.view"
    division_fields = ()
    list_display = ["trade_no", "amount", "charged", "learned_from", "outcome"]
    list_filter = ["outcome", "learned_from"]
    search_fields = ["=trade_no", "=order__order_number"]
    show_full_result_count = False

    @admin.display(description="扣款金额 amount", ordering="amount_fen")
    def amount(self, obj: GatewayCharge) -> str:
        return yuan(obj.amount_fen)

    @admin.display(description="扣款时间（北京时间） charged at (Asia/Shanghai)", ordering="paid_at")
    def charged(self, obj: GatewayCharge) -> str:
        return beijing(obj.paid_at)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAccessAdmin):
    view_action = "payments.order.view"
    division_fields = _through("charge__order__payable")
    list_display = ["out_refund_no", "amount", "state", "requested", "completed"]
    list_filter = ["state"]
    search_fields = ["=out_refund_no"]
    show_full_result_count = False

    @admin.display(description="退款金额 amount", ordering="amount_fen")
    def amount(self, obj: Refund) -> str:
        return yuan(obj.amount_fen)

    @admin.display(description="申请时间（北京时间） requested (Asia/Shanghai)", ordering="created_at")
    def requested(self, obj: Refund) -> str:
        return beijing(obj.created_at)

    @admin.display(description="完成时间（北京时间） completed (Asia/Shanghai)", ordering="completed_at")
    def completed(self, obj: Refund) -> str:
        return beijing(obj.completed_at)


@admin.register(CallbackLog)
class CallbackLogAdmin(ReadOnlyAccessAdmin):
    view_action = "payments.gateway_log.view"
    division_fields = ()
    list_display = ["received", "notify_id", "order_number", "signature_valid", "outcome", "remote_addr"]
    list_filter = ["signature_valid", "outcome"]
    search_fields = ["=order_number", "=notify_id"]
    show_full_result_count = False

    @admin.display(description="收到时间（北京时间） received (Asia/Shanghai)", ordering="received_at")
    def received(self, obj: CallbackLog) -> str:
        return beijing(obj.received_at)


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAccessAdmin):
    view_action = "payments.reconcile"
    division_fields = ()
    list_display = [
        "day",
        "statement_lines",
        "settled",
        "duplicates",
        "closed",
        "still_pending",
        "error",
        "finished",
    ]

    @admin.display(description="完成时间（北京时间） finished (Asia/Shanghai)", ordering="finished_at")
    def finished(self, obj: ReconciliationRun) -> str:
        return beijing(obj.finished_at)
