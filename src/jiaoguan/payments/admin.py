"""Back office, read only: payment orders, charges, refunds, notices and reconciliation runs."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from jiaoguan.core.divisions import division_prefix
from jiaoguan.violations.admin import ReadOnlyAuditedAdmin

from .models import CallbackLog, GatewayCharge, PaymentOrder, ReconciliationRun, Refund


def _scoped(request: HttpRequest, qs: QuerySet[Any], path: str) -> QuerySet[Any]:
    prefix = division_prefix(getattr(request.user, "jurisdiction", "") or "")
    return qs.filter(
        Q(**{f"{path}fine__deciding_division__startswith": prefix})
        | Q(**{f"{path}fine__violation__vehicle__division__startswith": prefix})
    )


@admin.register(PaymentOrder)
class PaymentOrderAdmin(ReadOnlyAuditedAdmin):
    list_display = ["order_number", "channel", "state", "amount_fen", "late_fee_fen", "created_at", "paid_at"]
    list_filter = ["state", "channel"]
    search_fields = ["=order_number", "=fine__decision_number"]
    exclude = ["payer"]
    show_full_result_count = False

    def scoped(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return _scoped(request, qs, "")


@admin.register(GatewayCharge)
class GatewayChargeAdmin(ReadOnlyAuditedAdmin):
    list_display = ["trade_no", "amount_fen", "paid_at", "learned_from", "outcome"]
    list_filter = ["outcome", "learned_from"]

    def scoped(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return _scoped(request, qs, "order__")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAuditedAdmin):
    list_display = ["out_refund_no", "amount_fen", "state", "created_at", "completed_at"]
    list_filter = ["state"]

    def scoped(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return _scoped(request, qs, "charge__order__")


@admin.register(CallbackLog)
class CallbackLogAdmin(ReadOnlyAuditedAdmin):
    list_display = ["received_at", "notify_id", "order_number", "signature_valid", "outcome", "remote_addr"]
    list_filter = ["signature_valid", "outcome"]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAuditedAdmin):
    list_display = [
        "day",
        "statement_lines",
        "settled",
        "duplicates",
        "closed",
        "still_pending",
        "error",
        "finished_at",
    ]
