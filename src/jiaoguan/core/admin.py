"""Audit trail in the back office: read-only, for auditors and administrators."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "actor_label",
        "actor_role",
        "actor_jurisdiction",
        "action",
        "subject_type",
        "summary",
    ]
    list_filter = ["action", "actor_role", "subject_type"]
    search_fields = ["actor_label", "=subject_id"]
    date_hierarchy = "at"

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = super().get_queryset(request)
        jurisdiction = getattr(request.user, "jurisdiction", "")
        if jurisdiction:
            from .divisions import division_prefix

            qs = qs.filter(actor_jurisdiction__startswith=division_prefix(jurisdiction))
        return qs

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
