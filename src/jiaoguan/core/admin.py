"""Back office (后台) plumbing: every model admin asks the access table, and the audit trail.

A model admin names the actions that govern it (``view_action``, ``add_action``,
``change_action``); the list is filtered to the divisions the actor's scope covers and a
record outside them cannot be opened or changed. Nothing is ever deleted here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .access import can, division_prefix_for, require
from .errors import NotAllowed
from .models import AuditEntry


class AccessAdmin(admin.ModelAdmin):
    """A model admin whose permissions come from the access table, scoped by division."""

    view_action: str = ""
    add_action: str = ""
    change_action: str = ""
    # Lookups of the record's divisions; a record is listed when any of them is in scope.
    division_fields: tuple[str, ...] = ("division",)

    def divisions_of(self, obj: Any) -> list[str]:
        """The divisions of a record, each of which must be in scope to change it."""
        values = []
        for lookup in self.division_fields:
            value: Any = obj
            for part in lookup.split("__"):
                value = getattr(value, part, None) if value is not None else None
            if value:
                values.append(str(value))
        return values

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        prefix = division_prefix_for(request.user, self.view_action) if self.view_action else None
        if prefix is None:
            return qs.none()
        if prefix == "" or not self.division_fields:
            return qs
        match = Q()
        for lookup in self.division_fields:
            match |= Q(**{f"{lookup}__startswith": prefix})
        return (
            qs.filter(match).distinct() if any("__" in f for f in self.division_fields) else qs.filter(match)
        )

    def _in_scope(self, request: HttpRequest, name: str, obj: Any) -> bool:
        if not name or not can(request.user, name):
            return False
        if obj is None:
            return True
        try:
            require(request.user, name, division=self.divisions_of(obj)[:1] or [""])
        except NotAllowed:
            return False
        return True

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(self.view_action) and can(request.user, self.view_action)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._in_scope(request, self.view_action, obj) or self.has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(self.add_action) and can(request.user, self.add_action)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._in_scope(request, self.change_action, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # records are cancelled by a business, never deleted


@admin.register(AuditEntry)
class AuditEntryAdmin(AccessAdmin):
    """Audit trail (审计日志): read-only; searchable by ID number, plate and staff member."""

    view_action = "core.audit.view"
    division_fields = ("actor_jurisdiction",)
    list_display = [
        "local_time",
        "actor_label",
        "actor_role_words",
        "actor_jurisdiction",
        "action",
        "subject_type",
        "summary",
        "reason",
    ]
    list_filter = ["action", "actor_role", "subject_type"]
    search_help_text = "按证件号码(完整)、号牌号码、工作人员账号或记录编号查找 · ID number, plate, staff account or record id"
    search_fields = ["actor_label", "=subject_id", "summary"]
    date_hierarchy = "at"
    show_full_result_count = False

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        """An ID number finds every row about that person, a plate every row about that vehicle."""
        from .audit import subjects_matching

        term = (search_term or "").strip()
        subjects = subjects_matching(term) if term else None
        if subjects is not None:
            return queryset.filter(subjects), False
        return super().get_search_results(request, queryset, term)

    @admin.display(description="时间(北京时间) time (Asia/Shanghai)", ordering="at")
    def local_time(self, obj: AuditEntry) -> str:
        return f"{timezone.localtime(obj.at):%Y-%m-%d %H:%M:%S}"

    @admin.display(description="岗位 role", ordering="actor_role")
    def actor_role_words(self, obj: AuditEntry) -> str:
        from .access import Role

        words = {
            Role.CITIZEN: "个人用户 citizen",
            Role.ORGANISATION: "单位用户 organisation",
            Role.COUNTER_CLERK: "窗口业务员 counter clerk",
            Role.VIOLATION_OFFICER: "违法处理民警 violation officer",
            Role.ACCIDENT_OFFICER: "事故处理民警 accident officer",
            Role.ACCIDENT_HEAD: "事故处理部门负责人 head of accident unit",
            Role.AUDITOR: "审计员 auditor",
            Role.ADMINISTRATOR: "系统管理员 administrator",
        }
        return words.get(obj.actor_role, obj.actor_role or "系统 system")  # type: ignore[call-overload]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can(request.user, self.view_action)
