"""Back office (后台) for registry records: persons, organisations, vehicles, driving licences.

Who may list, open, add or change a record is the access table's answer (``AccessAdmin``),
scoped to the staff member's jurisdiction; a record outside it answers 404, as elsewhere.
Saving goes through the registry services and nothing else: the form's validation calls
the service, so a refusal (a bad VIN, a plate of the wrong type, a division outside the
jurisdiction) appears next to its field and nothing is saved; the service writes the audit
row and the change event. Lists mask personal data; opening a record is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, cast

from django import forms
from django.contrib import admin, messages
from django.core.validators import MaxLengthValidator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from jiaoguan.core.access import can
from jiaoguan.core.admin import AccessAdmin
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import (
    mask_id_number,
    mask_name,
    mask_phone,
    parse_plate,
    validate_mobile,
    validate_uscc,
    validate_vin,
)

from . import rules, selectors, services
from .models import DrivingLicence, Organisation, Person, Vehicle
from .validation import RecordInvalid


def _compact(term: str) -> str:
    """A typed identifier in its stored form: no spaces or dots, ASCII letters upper case."""
    text = "".join((term or "").split()).replace("·", "")
    return "".join(ch.upper() if ch.isascii() else ch for ch in text)


# The validators of identifiers that stand alone (a plate needs its type, an ID number its kind).
IDENTIFIER_CHECKS: dict[str, Callable[[str], Any]] = {
    "vin": validate_vin,
    "uscc": validate_uscc,
    "mobile": validate_mobile,
    "owner_mobile": validate_mobile,
}
UNKNOWN_VALUE = "未知取值 {value}（请改为表中的值） unknown value {value}"


def _status_choices(table: Mapping[str, tuple[str, str]], derived: frozenset[str]) -> list[tuple[str, str]]:
    return [(code, f"{code} {zh} {en}") for code, (zh, en) in table.items() if code not in derived]


class RegistryForm(forms.ModelForm):
    """A back-office form whose validation is the registry service's, which also saves.

    Django's model validation is replaced: after the fields parse, the service is called
    with the cleaned values; every refusal it gives is put on its field (or at the top), and
    on success the form's instance is the saved row, so the admin saves nothing itself.
    """

    service: ClassVar[Callable[..., Any]]
    request: ClassVar[HttpRequest]

    # Identifiers may be typed with spaces, dots, hyphens or a +86 prefix: the field takes
    # them and the service's validator normalises them or says what is wrong.
    typed_identifiers = ("vin", "plate_number", "mobile", "owner_mobile", "id_number", "uscc", "classes")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.typed_identifiers:
            form_field = self.fields.get(name)
            if isinstance(form_field, forms.CharField):
                form_field.max_length = 64
                form_field.validators = [
                    v for v in form_field.validators if not isinstance(v, MaxLengthValidator)
                ]
                form_field.widget.attrs["maxlength"] = "64"
        self._show_unknown_stored_values()

    def _show_unknown_stored_values(self) -> None:
        """A stored value missing from the choices is offered as unknown, so the clerk sees it
        (and the service refuses it until it is corrected) instead of a silently changed value."""
        if self.instance.pk is None:
            return
        for name, form_field in self.fields.items():
            if not isinstance(form_field, forms.ChoiceField) or not hasattr(self.instance, name):
                continue
            stored = getattr(self.instance, name)
            choices = list(cast(Iterable[tuple[Any, Any]], form_field.choices))
            values = {str(value) for value, _label in choices}
            if isinstance(form_field, forms.MultipleChoiceField):
                extra = [c for c in dict.fromkeys(str(stored or "")) if c not in values]
            else:
                extra = [str(stored)] if stored not in (None, "") and str(stored) not in values else []
            if extra:
                form_field.choices = [
                    *choices,
                    *((value, UNKNOWN_VALUE.format(value=value)) for value in extra),
                ]

    def _post_clean(self) -> None:
        # In place of ModelForm._post_clean rather than in clean(): Django's own model checks
        # (unique values) would otherwise run after the service saved the row, against it.
        if self.errors:
            self._check_identifiers_alone()
            return
        try:
            self.instance = type(self).service(
                request=self.request, instance=self.instance, data=self.cleaned_data
            )
        except RecordInvalid as exc:
            for error in exc.errors:
                self._put(error)
        except DomainError as exc:
            self._put(exc)

    def _check_identifiers_alone(self) -> None:
        """With other fields still missing the service cannot run; identifiers that need no other
        field are checked anyway, so a wrong VIN is shown together with the missing fields."""
        for name, check in IDENTIFIER_CHECKS.items():
            value = self.cleaned_data.get(name)
            if name in self.fields and value and name not in self.errors:
                try:
                    check(value)
                except DomainError as exc:
                    self.add_error(name, exc.message)

    def _put(self, error: DomainError) -> None:
        name = error.field if error.field in self.fields else None
        self.add_error(name, error.message)


class StatusField(forms.MultipleChoiceField):
    """Stored status codes (S7) as check boxes with their meaning; none ticked is A (normal)."""

    widget = forms.CheckboxSelectMultiple

    def prepare_value(self, value: Any) -> Any:
        return list(value) if isinstance(value, str) else value


class RegistryAdmin(AccessAdmin):
    """Scoped by the registry selectors; saved by the registry services; opens audited."""

    form = RegistryForm
    visible: ClassVar[Callable[..., QuerySet[Any]]]
    create_service: ClassVar[Callable[..., Any]]
    change_service: ClassVar[Callable[..., Any]]
    id_argument: ClassVar[str]
    service_fields: ClassVar[tuple[str, ...]]
    show_full_result_count = False  # no COUNT(*) over millions of rows on every page

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = type(self).visible(actor=request.user, action=self.view_action)
        ordering = self.get_ordering(request)
        return qs.order_by(*ordering) if ordering else qs

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not can(request.user, self.view_action):
            return self.has_change_permission(request, obj)
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        admin_ = self

        def save(*, request: HttpRequest, instance: Any, data: Mapping[str, Any]) -> Any:
            values = {name: value for name, value in data.items() if name in admin_.service_fields}
            if instance.pk is None:
                return type(admin_).create_service(actor=request.user, data=values, request=request)
            return type(admin_).change_service(
                actor=request.user, data=values, request=request, **{admin_.id_argument: instance.pk}
            )

        return type(form.__name__, (form,), {"service": staticmethod(save), "request": request})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Saved already by the service the form called (with its audit row and event)."""

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("not found")  # not visible and missing answer alike, so ids cannot be probed
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        if self.get_object(request, object_id) is None:
            raise Http404("not found")
        return super().history_view(request, object_id, extra_context)


# ---------------------------------------------------------------- persons


class PersonForm(RegistryForm):
    class Meta:
        model = Person
        fields = services.PERSON_FIELDS
        help_texts = {
            "sex": "居民身份证按号码第 17 位确定，留空则自动填写 From the ID number when left empty",
            "residence_division": "6 位行政区划代码，须在本人辖区内 6-digit division code inside your jurisdiction",
            "mobile": "11 位手机号码 11-digit mainland mobile",
        }


@admin.register(Person)
class PersonAdmin(RegistryAdmin):
    view_action, add_action, change_action = (
        "registry.person.view",
        "registry.person.create",
        "registry.person.change",
    )
    division_fields = ("residence_division",)
    visible = selectors.persons_visible_to
    create_service, change_service, id_argument = services.person_create, services.person_change, "person_id"
    service_fields = services.PERSON_FIELDS
    form = PersonForm
    fields = services.PERSON_FIELDS
    list_display = ["masked_name", "id_type", "masked_id", "masked_mobile", "residence_division"]
    list_filter = ["id_type"]
    search_fields = ["=id_number"]  # exact match only: no browsing by partial ID numbers
    search_help_text = "按完整证件号码查找 · full document number"

    def person_id_of(self, obj: Any) -> int | None:
        return int(obj.pk)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        """A full document number, matched exactly on its stored form (indexed, no partial browsing)."""
        term = _compact(search_term)
        return (queryset.filter(id_number=term), False) if term else (queryset, False)

    @admin.display(description="姓名 name")
    def masked_name(self, obj: Person) -> str:
        return mask_name(obj.name)

    @admin.display(description="证件号码 document number")
    def masked_id(self, obj: Person) -> str:
        return mask_id_number(obj.id_number)

    @admin.display(description="手机 mobile")
    def masked_mobile(self, obj: Person) -> str:
        return mask_phone(obj.mobile) if obj.mobile else ""


# ---------------------------------------------------------------- organisations


class OrganisationForm(RegistryForm):
    class Meta:
        model = Organisation
        fields = services.ORGANISATION_FIELDS
        help_texts = {
            "uscc": "18 位，见营业执照或登记证书 18 characters, from the business licence",
            "division": "6 位行政区划代码，须在本人辖区内 6-digit division code inside your jurisdiction",
        }


@admin.register(Organisation)
class OrganisationAdmin(RegistryAdmin):
    view_action, add_action, change_action = (
        "registry.organisation.view",
        "registry.organisation.create",
        "registry.organisation.change",
    )
    visible = selectors.organisations_visible_to
    create_service, change_service = services.organisation_create, services.organisation_change
    id_argument = "organisation_id"
    service_fields = services.ORGANISATION_FIELDS
    form = OrganisationForm
    fields = services.ORGANISATION_FIELDS
    list_display = ["name", "uscc", "kind", "division"]
    list_filter = ["kind"]
    search_fields = ["=uscc", "name"]
    raw_id_fields = ["legal_representative"]

    def person_id_of(self, obj: Any) -> int | None:
        return obj.legal_representative_id  # type: ignore[no-any-return]


# ---------------------------------------------------------------- vehicles


class VehicleForm(RegistryForm):
    status = StatusField(
        label="机动车状态 status",
        required=False,
        choices=_status_choices(rules.VEHICLE_STATUS, rules.DERIVED_VEHICLE_STATUS),
        help_text="不勾选即为 A 正常；Q 逾期未检验由系统按日期判断 None ticked is A (normal); Q is worked out",
    )

    class Meta:
        model = Vehicle
        fields = services.VEHICLE_FIELDS
        help_texts = {
            "vin": "17 位，不含 I、O、Q，第 9 位为校验位 17 characters, no I O Q, check digit in position 9",
            "plate_number": "例如 豫Q12345、豫QD12345（小型新能源）e.g. 豫Q12345, 豫QD12345 (new energy)",
            "division": "6 位行政区划代码，须在本人辖区内 6-digit division code inside your jurisdiction",
            "owner_mobile": "留空则取所有人登记的手机号码 Empty: the owner's mobile on record",
        }


@admin.action(description="登记今日检验合格 Record inspection passed today", permissions=["inspection"])
def record_inspection_passed(modeladmin: VehicleAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    """Each selected vehicle through the inspection service; refusals are listed, the rest recorded."""
    done = 0
    today = timezone.localdate()
    for vehicle in queryset.order_by("pk"):
        try:
            services.vehicle_inspection_pass(
                actor=request.user, vehicle_id=vehicle.pk, inspected_on=today, request=request
            )
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{vehicle}: {exc.message}", level=messages.ERROR)
    if done:
        modeladmin.message_user(
            request, f"已登记 {done} 辆车检验合格，电子检验标志随后更新。 {done} recorded."
        )


@admin.register(Vehicle)
class VehicleAdmin(RegistryAdmin):
    view_action, add_action, change_action = (
        "registry.vehicle.view",
        "registry.vehicle.create",
        "registry.vehicle.change",
    )
    visible = selectors.vehicles_visible_to
    create_service, change_service, id_argument = (
        services.vehicle_create,
        services.vehicle_change,
        "vehicle_id",
    )
    service_fields = services.VEHICLE_FIELDS
    form = VehicleForm
    fields = services.VEHICLE_FIELDS
    actions = [record_inspection_passed]
    list_display = [
        "plate_number",
        "plate_type",
        "kind",
        "use_nature",
        "registered_on",
        "status_words",
        "owner_masked",
    ]
    list_filter = ["plate_type", "kind", "use_nature"]
    search_fields = ["=plate_number", "=vin"]
    search_help_text = "按完整号牌号码或车辆识别代号查找 · full plate number or VIN"
    raw_id_fields = ["owner_person", "owner_organisation"]
    list_select_related = ["owner_person", "owner_organisation"]

    def has_inspection_permission(self, request: HttpRequest) -> bool:
        return can(request.user, "registry.vehicle.inspection_pass")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        """A full plate number or VIN, in the stored form (upper case, no dot), matched exactly."""
        term = _compact(search_term)
        if not term:
            return queryset, False
        try:
            return queryset.filter(plate_number=parse_plate(term).number), False
        except DomainError:
            return queryset.filter(vin=term), False

    def person_id_of(self, obj: Any) -> int | None:
        return obj.owner_person_id  # type: ignore[no-any-return]

    @admin.display(description="状态 status", ordering="status")
    def status_words(self, obj: Vehicle) -> str:
        return "、".join(
            f"{c} {zh}" for c, zh, _ in rules.describe_statuses(obj.status or "A", rules.VEHICLE_STATUS)
        )

    @admin.display(description="所有人 owner")
    def owner_masked(self, obj: Vehicle) -> str:
        if obj.owner_person is not None:
            return mask_name(obj.owner_person.name)
        return obj.owner_organisation.name if obj.owner_organisation else ""


# ---------------------------------------------------------------- driving licences


class LicenceForm(RegistryForm):
    status = StatusField(
        label="驾驶证状态 status",
        required=False,
        choices=_status_choices(rules.LICENCE_STATUS, rules.DERIVED_LICENCE_STATUS),
        help_text="不勾选即为 A 正常；M、S 由系统按日期判断 None ticked is A (normal); M and S are worked out",
    )

    class Meta:
        model = DrivingLicence
        fields = services.LICENCE_FIELDS
        help_texts = {
            "classes": "准驾车型代号，如 C1、A2E、C1D Codes of the class table, e.g. C1, A2E, C1D",
            "archive_number": "12 位数字 12 digits",
            "division": "6 位行政区划代码，须在本人辖区内 6-digit division code inside your jurisdiction",
        }


@admin.register(DrivingLicence)
class DrivingLicenceAdmin(RegistryAdmin):
    view_action, add_action, change_action = (
        "registry.licence.view",
        "registry.licence.create",
        "registry.licence.change",
    )
    visible = selectors.licences_visible_to
    create_service, change_service, id_argument = (
        services.licence_create,
        services.licence_change,
        "licence_id",
    )
    service_fields = services.LICENCE_FIELDS
    form = LicenceForm
    list_display = [
        "archive_number",
        "holder_masked",
        "classes",
        "valid_from",
        "validity_term",
        "status_words",
    ]
    list_filter = ["validity_term"]
    search_fields = ["=archive_number", "=holder__id_number"]
    search_help_text = "按完整档案编号或身份证号码查找 · full archive or ID number"
    raw_id_fields = ["holder"]
    list_select_related = ["holder"]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        """A full archive number or the holder's full ID number, matched exactly."""
        term = _compact(search_term)
        if not term:
            return queryset, False
        return queryset.filter(Q(archive_number=term) | Q(holder__id_number=term)), False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (
            [*services.LICENCE_FIELDS, "points_ledger"] if obj is not None else list(services.LICENCE_FIELDS)
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The holder never changes (the licence number is the holder's ID number); points are
        # recorded by the violation business, never typed here.
        return ["holder", "points_ledger"] if obj is not None else []

    def person_id_of(self, obj: Any) -> int | None:
        return obj.holder_id  # type: ignore[no-any-return]

    @admin.display(description="持证人 holder")
    def holder_masked(self, obj: DrivingLicence) -> str:
        return f"{mask_name(obj.holder.name)} {mask_id_number(obj.holder.id_number)}"

    @admin.display(description="状态 status", ordering="status")
    def status_words(self, obj: DrivingLicence) -> str:
        return "、".join(
            f"{c} {zh}" for c, zh, _ in rules.describe_statuses(obj.status or "A", rules.LICENCE_STATUS)
        )

    @admin.display(description="记分记录 points entries")
    def points_ledger(self, obj: DrivingLicence) -> str:
        entries = obj.points_entries.order_by("-occurred_on", "-pk")[:50]
        if not entries:
            return "无 none"
        return format_html(
            "<table><tr><th>违法日期 date</th><th>记分 points</th><th>来源 source</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((f"{e.occurred_on:%Y-%m-%d}", f"{e.points:+d}", e.source) for e in entries),
            ),
        )


# Mortgages with e-seals (issue 14, O6): read-only pages in their own module.
from . import mortgage_admin  # noqa: E402, F401
