"""Back office (后台) plumbing: every model admin asks the access table, and the audit trail.

A model admin names the actions that govern it (``view_action``, ``add_action``,
``change_action``); the list is filtered to the divisions the actor's scope covers and a
record outside them cannot be opened or changed. Nothing is ever deleted here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .access import ROLE_WORDS, Role, allowed, can, division_prefix_for
from .audit import audit_record
from .counters import BUSINESS_CODES
from .divisions import DIVISIONS, validate_division
from .errors import DomainError
from .models import AuditEntry, CalendarDay, CalendarYear, ServiceCounter


class AccessAdmin(admin.ModelAdmin):
    """A model admin whose permissions come from the access table, scoped by division.

    A record with several divisions (a fine decided elsewhere for a vehicle registered here,
    V6; an account by its holder's residence) is listed and opened when any of them is in
    scope, and changed only when every one is. Opening a record writes an audit row naming
    the person it is about (``person_id_of``).
    """

    view_action: str = ""
    add_action: str = ""
    change_action: str = ""
    # Lookups of the record's divisions; forward foreign keys only, so no row is listed twice.
    division_fields: tuple[str, ...] = ("division",)
    audit_on_open: bool = True

    def divisions_of(self, obj: Any) -> list[str]:
        """The record's divisions, read along ``division_fields``."""
        values = []
        for lookup in self.division_fields:
            value: Any = obj
            for part in lookup.split("__"):
                value = getattr(value, part, None) if value is not None else None
            if value:
                values.append(str(value))
        return values

    def person_id_of(self, obj: Any) -> int | None:
        """The registry person a record is about, for "who accessed my data"."""
        return None

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
        return qs.filter(match)

    def _in_scope(self, request: HttpRequest, name: str, obj: Any, *, every: bool) -> bool:
        if not name or not can(request.user, name):
            return False
        if obj is None:
            return True
        codes = self.divisions_of(obj) if self.division_fields else []
        if not codes:
            return division_prefix_for(request.user, name) == ""  # a record of no place: "any" scope only
        inside = [allowed(request.user, name, division=code) for code in codes]
        return all(inside) if every else any(inside)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(self.view_action) and can(request.user, self.view_action)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._in_scope(request, self.view_action, obj, every=False) or self.has_change_permission(
            request, obj
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(self.add_action) and can(request.user, self.add_action)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._in_scope(request, self.change_action, obj, every=True)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # records are cancelled by a business, never deleted

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if self.audit_on_open and request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                audit_record(
                    actor=request.user,
                    action="view",
                    subject=obj,
                    subject_person_id=self.person_id_of(obj),
                    summary=f"后台查看 back-office view {obj._meta.verbose_name}",
                    request=request,
                )
        return response


def _role_words(role: str) -> str:
    try:
        return ROLE_WORDS[Role(role)]
    except ValueError:
        return role or "系统 system"


def _model_words(label: str) -> str:
    """ "registry.vehicle" as the model's name in words ("机动车 vehicle")."""
    try:
        return str(apps.get_model(label)._meta.verbose_name)
    except (LookupError, ValueError):
        return label


class RoleFilter(admin.SimpleListFilter):
    title = "岗位 role"
    parameter_name = "actor_role"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(role.value, words) for role, words in ROLE_WORDS.items() if role is not Role.ANONYMOUS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(actor_role=self.value()) if self.value() else queryset


class RecordTypeFilter(admin.SimpleListFilter):
    title = "记录类型 record type"
    parameter_name = "subject_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # The platform's own records: framework tables (sessions, task results) are never audited.
        labels = sorted(
            model._meta.label_lower
            for model in apps.get_models()
            if model._meta.app_config.name.startswith("jiaoguan.")
        )
        return [(label, f"{_model_words(label)} ({label})") for label in labels]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(subject_type=self.value()) if self.value() else queryset


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
        "subject_words",
        "summary",
        "reason",
    ]
    list_filter = ["action", RoleFilter, RecordTypeFilter]
    search_help_text = "按证件号码（完整）、号牌号码、工作人员账号或记录编号查找 · ID number, plate, staff account or record id"
    search_fields = ["actor_label", "=subject_id", "summary"]
    # The entry's page shows roles and record types in words, never the stored codes.
    readonly_fields = (
        "local_time",
        "actor_label",
        "actor_role_words",
        "actor_jurisdiction",
        "action",
        "subject_words",
        "subject_id",
        "summary",
        "reason",
        "ip_address",
    )
    fields = readonly_fields
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

    @admin.display(description="时间（北京时间） time (Asia/Shanghai)", ordering="at")
    def local_time(self, obj: AuditEntry) -> str:
        return f"{timezone.localtime(obj.at):%Y-%m-%d %H:%M:%S}"

    @admin.display(description="岗位 role", ordering="actor_role")
    def actor_role_words(self, obj: AuditEntry) -> str:
        return _role_words(obj.actor_role)

    @admin.display(description="记录类型 record type", ordering="subject_type")
    def subject_words(self, obj: AuditEntry) -> str:
        return _model_words(obj.subject_type)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can(request.user, self.view_action)


class ServiceCounterForm(forms.ModelForm):
    """A counter's division must be a listed one inside the editor's jurisdiction."""

    actor: Any = None

    class Meta:
        model = ServiceCounter
        fields = ["name", "division", "address", "hours", "phone", "businesses", "active"]

    def clean_division(self) -> str:
        value = (self.cleaned_data.get("division") or "").strip()
        try:
            code = validate_division(value)
        except DomainError as error:
            raise forms.ValidationError(f"{error.message_zh} {error.message_en}") from error
        if not allowed(self.actor, "core.service_counter.change", division=code):
            raise forms.ValidationError(
                "该行政区划不在您的辖区范围内。 This division is outside your jurisdiction."
            )
        return code

    def clean_businesses(self) -> str:
        value = " ".join((self.cleaned_data.get("businesses") or "").upper().replace(",", " ").split())
        if value and not BUSINESS_CODES.match(value):
            raise forms.ValidationError(
                "请填写以空格分隔的业务代码，如 B1 B8；留空表示全部业务。 "
                "Enter business codes separated by spaces, e.g. B1 B8; leave empty for every business."
            )
        return value


@admin.register(ServiceCounter)
class ServiceCounterAdmin(AccessAdmin):
    """Service counters (业务窗口): the addresses and hours pages give where a business is not online."""

    view_action = "core.service_counter.view"
    add_action = "core.service_counter.change"
    change_action = "core.service_counter.change"
    audit_on_open = False  # public facts, no personal data
    form = ServiceCounterForm
    list_display = ["name", "division_words", "address", "hours", "phone", "businesses", "active"]
    list_filter = ["active"]
    search_fields = ["name", "address"]

    @admin.display(description="行政区划 division", ordering="division")
    def division_words(self, obj: ServiceCounter) -> str:
        return f"{DIVISIONS.get(obj.division, '')}（{obj.division}）"

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        # A form class per request, so the editor it checks against is never another request's.
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Saved and audited together: who changed the address or hours people are sent to."""
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            changed = ", ".join(form.changed_data) if change else ""
            audit_record(
                actor=request.user,
                action="change" if change else "create",
                subject=obj,
                summary=(
                    f"修改业务窗口：{obj.name}（{changed}） service counter changed"
                    if change
                    else f"新增业务窗口：{obj.name} service counter added"
                ),
                request=request,
            )


class CalendarAdmin(AccessAdmin):
    """The working-day calendar (工作日历, issue 13): national, so no division scopes it.

    Every save is audited with the values entered, since deadlines of every business follow it.
    """

    view_action = "core.calendar.view"
    add_action = "core.calendar.change"
    change_action = "core.calendar.change"
    division_fields = ()
    audit_on_open = False  # public facts, no personal data
    exclude = ("recorded_by",)

    def summary_of(self, obj: Any) -> str:
        return str(obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            obj.recorded_by = request.user
            super().save_model(request, obj, form, change)
            changed = "，".join(form.changed_data) if change else ""
            audit_record(
                actor=request.user,
                action="change" if change else "create",
                subject=obj,
                summary=(
                    f"修改工作日历：{self.summary_of(obj)}（{changed}） calendar changed"
                    if change
                    else f"新增工作日历：{self.summary_of(obj)} calendar entry added"
                ),
                request=request,
            )


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarAdmin):
    """Holidays and adjusted working days (日历调整) entered from the State Council's notice."""

    list_display = ["date", "kind", "name", "note", "recorded_by", "recorded_at"]
    list_filter = ["kind"]
    search_fields = ["name", "note"]
    date_hierarchy = "date"


@admin.register(CalendarYear)
class CalendarYearAdmin(CalendarAdmin):
    """Years entered in full (日历年度): deadlines in a year are computed once it is complete."""

    list_display = ["year", "complete", "note", "recorded_by", "recorded_at"]
    list_filter = ["complete"]

    def summary_of(self, obj: Any) -> str:
        return f"{obj.year}年 {'已录入完整 complete' if obj.complete else '未完整 incomplete'}"
