"""Back office, read only: violations and penalty decisions of the staff member's jurisdiction.

Changes go through the counter pages and their services (handling, cancelling, payment),
never through a form here, so every rule and audit row applies.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from jiaoguan.core.divisions import division_prefix
from jiaoguan.registry.admin import AuditedJurisdictionAdmin

from .models import Fine, ImportBatch, Violation


class ReadOnlyAuditedAdmin(AuditedJurisdictionAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _jurisdiction_filter(request: HttpRequest, prefix_path: str) -> Q:
    prefix = division_prefix(getattr(request.user, "jurisdiction", "") or "")
    # V6: a record made elsewhere for a vehicle registered here is ours too.
    return Q(**{f"{prefix_path}recording_division__startswith": prefix}) | Q(
        **{f"{prefix_path}vehicle__division__startswith": prefix}
    )


@admin.register(Violation)
class ViolationAdmin(ReadOnlyAuditedAdmin):
    list_display = [
        "record_number",
        "plate_number",
        "code",
        "points",
        "fine_fen",
        "source",
        "status",
        "occurred_at",
    ]
    list_filter = ["status", "source", "code"]
    search_fields = ["=record_number", "=plate_number"]
    date_hierarchy = "occurred_at"
    exclude = ["licence", "handled_by"]
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page

    def scoped(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(_jurisdiction_filter(request, ""))

    def person_id_of(self, obj: Any) -> int | None:
        return obj.vehicle.owner_person_id if obj.vehicle_id else None


@admin.register(Fine)
class FineAdmin(ReadOnlyAuditedAdmin):
    list_display = ["decision_number", "amount_fen", "decided_on", "status", "paid_channel", "paid_at"]
    list_filter = ["status", "paid_channel"]
    search_fields = ["=decision_number"]
    show_full_result_count = False

    def scoped(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(_jurisdiction_filter(request, "violation__"))


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAuditedAdmin):
    list_display = [
        "pk",
        "submitted_by",
        "format",
        "total_rows",
        "accepted_rows",
        "duplicate_rows",
        "invalid_rows",
        "created_at",
    ]
