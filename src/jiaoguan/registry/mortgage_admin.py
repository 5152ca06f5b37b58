"""Back office for mortgages with e-seals (issue 14, O6): read-only, scoped, opens audited.

Mortgages are filed and released only by the banks' signed requests; seal keys are registered
and revoked at the counter page (``/counter/seal-keys/``), whose service writes the audit row.
Here staff read them, with the signed evidence.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from jiaoguan.core.admin import AccessAdmin

from .models import OrganisationSealKey, VehicleMortgage


class _ReadOnly(AccessAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(VehicleMortgage)
class VehicleMortgageAdmin(_ReadOnly):
    view_action = "registry.mortgage.view"
    list_display = ("contract_number", "vehicle", "mortgagee", "state", "filed_at", "released_at")
    list_filter = ("state",)
    search_fields = ("contract_number", "vehicle__plate_number", "vehicle__vin")
    list_select_related = ("vehicle", "mortgagee")
    show_full_result_count = False
    readonly_fields = (
        "vehicle", "mortgagee", "division", "contract_number", "principal_fen", "term_start", "term_end",
        "state", "filed_at", "filed_by", "filing_key", "filing_payload", "filing_signature",
        "bank_check_reference", "released_at", "released_by", "release_key", "release_payload",
        "release_signature",
    )  # fmt: skip
    fields = readonly_fields

    def person_id_of(self, obj: Any) -> int | None:
        return obj.vehicle.owner_person_id  # type: ignore[no-any-return]


@admin.register(OrganisationSealKey)
class OrganisationSealKeyAdmin(_ReadOnly):
    view_action = "registry.seal_key.register"
    division_fields = ("organisation__division",)
    audit_on_open = False  # a public key is no personal data
    list_display = ("organisation", "algorithm", "fingerprint", "active", "registered_at", "revoked_at")
    list_filter = ("active", "algorithm")
    search_fields = ("fingerprint", "organisation__name", "organisation__uscc")
    list_select_related = ("organisation",)
    readonly_fields = (
        "organisation", "algorithm", "fingerprint", "public_key_pem", "active", "registered_by", "registered_at",
        "revoked_at", "revoked_reason",
    )  # fmt: skip
    fields = readonly_fields
