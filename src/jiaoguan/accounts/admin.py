"""Accounts in the back office: read-only lists with masked data; changes go through counter pages."""

from __future__ import annotations

from django.contrib import admin

from jiaoguan.core.admin import AccessAdmin
from jiaoguan.core.identifiers import mask_id_number, mask_phone

from .models import User


@admin.register(User)
class UserAdmin(AccessAdmin):
    """Accounts (用户账号) of the administrator's jurisdiction: staff by their jurisdiction, citizens by
    residence, organisations by registration. Read-only; opening one is audited."""

    view_action = "accounts.account.view"
    division_fields = ("jurisdiction", "person__residence_division", "organisation__division")
    list_display = [
        "masked_username",
        "kind",
        "registration_level",
        "staff_role",
        "jurisdiction",
        "masked_mobile",
        "last_login",
    ]
    list_filter = ["kind", "registration_level", "staff_role"]
    search_fields = ["=username"]
    fields = (
        "kind",
        "registration_level",
        "staff_role",
        "jurisdiction",
        "is_active",
        "last_login",
        "upgraded_at",
        "locked_until",
    )
    readonly_fields = fields

    @admin.display(description="账号 account")
    def masked_username(self, obj: User) -> str:
        name = obj.username
        return mask_id_number(name) if len(name) == 18 and obj.kind == User.Kind.INDIVIDUAL else name

    @admin.display(description="手机 mobile")
    def masked_mobile(self, obj: User) -> str:
        return mask_phone(obj.mobile) if obj.mobile else ""

    def person_id_of(self, obj: User) -> int | None:
        return obj.person_id
