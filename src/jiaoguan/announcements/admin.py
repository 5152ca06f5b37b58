"""Back office of the lists publications are made of (N3): fixed cameras (P13) and cloned-plate
case contacts (P09). Kept by clerks and administrators of the jurisdiction; saves are audited and
the publications pick the change up at their next daily regeneration."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from jiaoguan.core.access import allowed
from jiaoguan.core.admin import AccessAdmin
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import validate_division
from jiaoguan.core.errors import DomainError

from .models import CameraSite, ClonedPlateContact
from .services import REFERENCE


class _DivisionForm(forms.ModelForm):
    """The division must be a listed one inside the editor's jurisdiction."""

    actor: Any = None

    def clean_division(self) -> str:
        value = (self.cleaned_data.get("division") or "").strip()
        try:
            code = validate_division(value)
        except DomainError as error:
            raise forms.ValidationError(f"{error.message_zh} {error.message_en}") from error
        if not allowed(self.actor, REFERENCE, division=code):
            raise forms.ValidationError(
                "该行政区划不在您的辖区范围内。 This division is outside your jurisdiction."
            )
        return code


class _ReferenceAdmin(AccessAdmin):
    view_action = add_action = change_action = REFERENCE
    audit_on_open = False  # public facts, no personal data

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action="change" if change else "create",
                subject=obj,
                summary=f"{obj._meta.verbose_name}：{obj}（{', '.join(form.changed_data)}）",
                request=request,
            )


class CameraSiteForm(_DivisionForm):
    class Meta:
        model = CameraSite
        fields = ["location", "direction", "offence_types", "division", "in_service_since", "active"]


class ClonedPlateContactForm(_DivisionForm):
    class Meta:
        model = ClonedPlateContact
        fields = ["office", "phone", "address", "hours", "division", "active"]


@admin.register(CameraSite)
class CameraSiteAdmin(_ReferenceAdmin):
    form = CameraSiteForm
    list_display = ["location", "direction", "offence_types", "division", "in_service_since", "active"]
    list_filter = ["active"]
    search_fields = ["location", "offence_types"]


@admin.register(ClonedPlateContact)
class ClonedPlateContactAdmin(_ReferenceAdmin):
    form = ClonedPlateContactForm
    list_display = ["office", "phone", "address", "hours", "division", "active"]
    list_filter = ["active"]
    search_fields = ["office", "address"]
