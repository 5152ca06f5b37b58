"""Back office for registry master data: jurisdiction-scoped, masked lists, every open audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from jiaoguan.core.audit import audit_record
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone

from . import selectors
from .events import registry_changed
from .models import DrivingLicence, Organisation, Person, PointsEntry, Vehicle


class AuditedJurisdictionAdmin(admin.ModelAdmin):
    """Staff see only records inside their jurisdiction; opening or saving one is audited."""

    def scoped(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        user = request.user
        if getattr(user, "is_superuser", False) and not getattr(user, "jurisdiction", ""):
            return qs
        return self.scoped(request, qs)

    def person_id_of(self, obj: Any) -> int | None:
        return None

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
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

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if isinstance(obj, Vehicle):
            registry_changed(event="back_office", vehicle_id=obj.pk)
        elif isinstance(obj, DrivingLicence):
            registry_changed(event="back_office", licence_id=obj.pk)
        changed = ", ".join(form.changed_data) if form is not None else ""
        audit_record(
            actor=request.user,
            action="change" if change else "create",
            subject=obj,
            subject_person_id=self.person_id_of(obj),
            summary=f"后台{'修改' if change else '新增'} {obj._meta.verbose_name}: {changed}"[:255],
            request=request,
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # registry records are cancelled by business, never deleted


@admin.register(Person)
class PersonAdmin(AuditedJurisdictionAdmin):
    list_display = ["masked_name", "id_type", "masked_id", "masked_mobile", "residence_division"]
    list_filter = ["id_type", "residence_division"]
    search_fields = ["=id_number"]  # exact match only: no browsing by partial ID numbers
    show_full_result_count = False

    def scoped(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(pk__in=selectors.persons_visible_to(actor=request.user).values("pk"))  # type: ignore[arg-type]

    def person_id_of(self, obj: Any) -> int | None:
        return int(obj.pk)

    @admin.display(description="姓名 name")
    def masked_name(self, obj: Person) -> str:
        return mask_name(obj.name)

    @admin.display(description="证件号码 document number")
    def masked_id(self, obj: Person) -> str:
        return mask_id_number(obj.id_number)

    @admin.display(description="手机 mobile")
    def masked_mobile(self, obj: Person) -> str:
        return mask_phone(obj.mobile) if obj.mobile else ""


@admin.register(Organisation)
class OrganisationAdmin(AuditedJurisdictionAdmin):
    list_display = ["name", "uscc", "kind", "division"]
    list_filter = ["kind", "division"]
    search_fields = ["=uscc", "name"]
    raw_id_fields = ["legal_representative"]

    def scoped(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        from jiaoguan.core.divisions import division_prefix

        return qs.filter(division__startswith=division_prefix(request.user.jurisdiction))  # type: ignore[union-attr]

    def person_id_of(self, obj: Any) -> int | None:
        return obj.legal_representative_id  # type: ignore[no-any-return]


@admin.action(description="登记今日检验合格 Record inspection passed today", permissions=["change"])
def record_inspection_passed(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]
) -> None:
    from django.utils import timezone

    from .services import vehicle_inspection_pass

    for vehicle in queryset:
        vehicle_inspection_pass(
            actor=request.user, vehicle_id=vehicle.pk, inspected_on=timezone.localdate(), request=request
        )
    modeladmin.message_user(request, f"已登记 {queryset.count()} 辆车检验合格,电子检验标志随后更新。")


@admin.register(Vehicle)
class VehicleAdmin(AuditedJurisdictionAdmin):
    actions = [record_inspection_passed]
    list_display = [
        "plate_number",
        "plate_type",
        "kind",
        "use_nature",
        "registered_on",
        "status",
        "owner_masked",
    ]
    list_filter = ["plate_type", "kind", "use_nature", "division"]
    search_fields = ["=plate_number", "=vin"]
    raw_id_fields = ["owner_person", "owner_organisation"]
    list_select_related = ["owner_person", "owner_organisation"]

    def scoped(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(pk__in=selectors.vehicles_visible_to(actor=request.user).values("pk"))  # type: ignore[arg-type]

    def person_id_of(self, obj: Any) -> int | None:
        return obj.owner_person_id  # type: ignore[no-any-return]

    @admin.display(description="所有人 owner")
    def owner_masked(self, obj: Vehicle) -> str:
        if obj.owner_person is not None:
            return mask_name(obj.owner_person.name)
        return obj.owner_organisation.name if obj.owner_organisation else ""


class PointsEntryInline(admin.TabularInline):
    model = PointsEntry
    extra = 0
    can_delete = False
    fields = ["points", "occurred_on", "source"]


@admin.register(DrivingLicence)
class DrivingLicenceAdmin(AuditedJurisdictionAdmin):
    list_display = ["archive_number", "holder_masked", "classes", "valid_from", "validity_term", "status"]
    list_filter = ["validity_term", "division"]
    search_fields = ["=archive_number", "=holder__id_number"]
    raw_id_fields = ["holder"]
    list_select_related = ["holder"]
    inlines = [PointsEntryInline]

    def scoped(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(pk__in=selectors.licences_visible_to(actor=request.user).values("pk"))  # type: ignore[arg-type]

    def person_id_of(self, obj: Any) -> int | None:
        return obj.holder_id  # type: ignore[no-any-return]

    @admin.display(description="持证人 holder")
    def holder_masked(self, obj: DrivingLicence) -> str:
        return f"{mask_name(obj.holder.name)} {mask_id_number(obj.holder.id_number)}"
