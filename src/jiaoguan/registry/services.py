"""Registry use cases (车驾管登记信息): every change to a person, organisation, vehicle or licence.

The back office and the other apps change registry records through these functions. Each
change runs in one transaction: the access table decides the role, the row is locked, the
values are checked with ``validation`` (the validators of the public forms), the record's
divisions before and after the change must lie inside the actor's jurisdiction, then the
row is saved with one audit row, and a vehicle or licence publishes ``registry_changed``
once (credentials follow it, E1/D2).

Moving a record to another province is not an edit: it is the transfer business (转出/转入,
T1-T5), so it is refused here with its own message.

Each change locks only the row it changes; the rows it points at (owner, holder, legal
representative) are read, never changed, so there is no lock order to keep. Unique values
(VIN, plate, document number, USCC, archive number) are checked for a clear message and
kept unique by the database; a concurrent insert that wins the race ends as a conflict on
the same field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, cast

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from jiaoguan.core.identifiers import validate_vin
from jiaoguan.core.locks import lock_named

from . import licence_rules, medical, personal, rules, selectors, validation
from . import temporary_plates as tp_rules
from .documents import normalise_document_number
from .events import registry_changed
from .models import (
    ArchivePhoto,
    DrivingLicence,
    MedicalExamination,
    Organisation,
    Person,
    PointsEntry,
    TemporaryPlate,
    TemporaryPlateSerial,
    Vehicle,
)
from .selectors import (
    licences_visible_to,
    medical_examination_get,
    organisations_visible_to,
    persons_visible_to,
    vehicles_visible_to,
)
from .validation import RecordInvalid

_M = TypeVar("_M", bound=models.Model)

# The fields a service may set, per entity (the rest are kept by the platform).
PERSON_FIELDS = (
    "id_type", "id_number", "name", "sex", "birth_date", "nationality", "residence_division", "address", "mobile",
)  # fmt: skip
ORGANISATION_FIELDS = ("uscc", "name", "kind", "division", "address", "phone", "legal_representative")
VEHICLE_FIELDS = (
    "plate_number", "plate_type", "vin", "kind", "use_nature", "brand_model", "colour", "owner_person",
    "owner_organisation", "owner_mobile", "registered_on", "last_inspected_on", "on_site_inspection_required",
    "status", "division",
)  # fmt: skip
LICENCE_FIELDS = (
    "holder", "archive_number", "classes", "first_issued_on", "valid_from", "validity_term",
    "probation_started_on", "last_medical_on", "last_reviewed_on", "status", "cancelled_on", "remarks", "mobile",
    "postal_address", "division",
)  # fmt: skip
# What a credential shows of its holder or owner: a change reissues it (registry_changed).
_SHOWN_ON_CREDENTIALS = frozenset({"id_number", "name", "sex", "birth_date"})


def _today() -> date:
    return timezone.localdate()


def _fields(data: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """The given values, with ``<fk>_id`` accepted for ``<fk>``; an unknown field is a programming error."""
    allowed = tuple(allowed)
    values: dict[str, Any] = {}
    for name, value in data.items():
        key = name[:-3] if name.endswith("_id") and name[:-3] in allowed else name
        if key not in allowed:
            raise TypeError(f"{key!r} cannot be set here")
        values[key] = value
    return values


def _attname(obj: models.Model, name: str) -> str:
    """The column attribute of a field: ``owner_person_id`` for ``owner_person``."""
    return cast(models.Field, obj._meta.get_field(name)).attname  # type: ignore[type-arg]


def _current(obj: models.Model, names: Iterable[str]) -> dict[str, Any]:
    """A row's values by field name; foreign keys as ids (so nothing is fetched)."""
    return {name: getattr(obj, _attname(obj, name)) for name in names}


def _ids(values: dict[str, Any], names: Iterable[str]) -> None:
    """Foreign keys given as rows become ids."""
    for name in names:
        value = values.get(name)
        if isinstance(value, models.Model):
            values[name] = value.pk
        elif value in ("", None):
            values[name] = None
        elif name in values:
            try:
                values[name] = int(value)
            except (TypeError, ValueError):
                raise ValidationFailed(
                    "registry.reference_invalid", "关联记录编号不正确。", "The linked record number is not valid.",
                    field=name,
                ) from None  # fmt: skip


def _require_role(actor: Any, action: str) -> None:
    require(actor, action)


def _require_divisions(actor: Any, action: str, before: str | None, after: str, field: str) -> None:
    """The record's divisions before and after the change must be inside the actor's jurisdiction;
    a move to another province is the transfer business, not an edit (T1-T5)."""
    if before and after and before[:2] != after[:2]:
        raise ValidationFailed(
            "registry.cross_province_move",
            "跨省迁移不能直接修改登记信息：迁出本省请办理转出业务（转移登记、驾驶证转出），由迁入地受理转入。",
            "A record cannot be moved to another province by an edit: moving out of the province is the "
            "transfer business (transfer out here, transfer in at the receiving office).",
            field=field,
            detail={"from": before, "to": after},
        )
    divisions = [d for d in dict.fromkeys([before, after]) if d]
    try:
        require(actor, action, division=divisions)
    except NotAllowed as exc:
        if exc.code != "access.outside_jurisdiction":
            raise
        raise NotAllowed(exc.code, exc.message_zh, exc.message_en, field=field, detail=exc.detail) from None


def _check(checked: validation.Checked, *, except_fields: Iterable[str] = ()) -> None:
    skip = set(except_fields)
    errors = [e for e in checked.errors if e.field not in skip]
    if errors:
        raise RecordInvalid(errors)


def _duplicate(
    model: type[models.Model], field: str, value: Any, *, exclude_pk: Any, zh: str, en: str
) -> None:
    if value in (None, ""):
        return
    if model._default_manager.filter(**{field: value}).exclude(pk=exclude_pk).exists():
        raise Conflict("registry.duplicate", zh, en, field=field)


def _save(obj: _M, *, unique_fields: Iterable[str], update_fields: list[str] | None = None) -> _M:
    """Save inside a savepoint; a unique value taken meanwhile by another transaction is a conflict
    on its field, not a server error."""
    try:
        with transaction.atomic():
            obj.save(update_fields=update_fields)
    except IntegrityError as exc:
        text = str(exc)
        field = next((f for f in unique_fields if f in text), None)
        raise Conflict(
            "registry.duplicate",
            "与已登记的记录重复（可能刚刚由他人登记），请核对后重试。",
            "This duplicates a record already registered (perhaps just now, by someone else); check and retry.",
            field=field,
        ) from None
    return obj


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [name for name, value in after.items() if before.get(name) != value]


def _summary(verb_zh: str, verb_en: str, label: str, changed: list[str]) -> str:
    return f"{verb_zh} {verb_en} {label}: {', '.join(changed)}"[:255]


def _locked(model: type[_M], pk: int, visible: Callable[..., Any], actor: Any, action: str) -> _M:
    """The row locked for the change, or 404 when it does not exist or the actor may not see it."""
    row = model._default_manager.select_for_update().filter(pk=pk).first()
    if row is None or not visible(actor=actor, action=action).filter(pk=pk).exists():
        raise NotFound("registry.not_found", "没有这条登记记录。", "No such record.")
    return row


# ---------------------------------------------------------------- persons (自然人)


def person_create(*, actor: Any, data: Mapping[str, Any], request: Any = None) -> Person:
    """Register a natural person (自然人): document checked for its type (GB 11643 for citizens, U3),
    residence inside the actor's jurisdiction."""
    _require_role(actor, "registry.person.create")
    values = {
        "id_type": "resident_id", "name": "", "sex": "", "birth_date": None, "nationality": "CHN",
        "residence_division": "", "address": "", "mobile": "",
    } | _fields(data, PERSON_FIELDS)  # fmt: skip
    checked = validation.check_person(values, today=_today())
    _check(checked, except_fields=[f for f in PERSON_FIELDS if f != "residence_division"])
    values = checked.values
    with transaction.atomic():
        _require_divisions(
            actor, "registry.person.create", None, values["residence_division"], "residence_division"
        )
        _check(checked)
        _duplicate(
            Person, "id_number", values["id_number"], exclude_pk=None,
            zh="该证件号码已登记为自然人，请查找已有记录。", en="A person with this document number is already registered.",
        )  # fmt: skip
        person = _save(Person(**values), unique_fields=["id_number"])
        audit_record(
            actor=actor, action="create", subject=person, subject_person_id=person.pk,
            summary=_summary("新增", "created", "person", sorted(values)), request=request,
        )  # fmt: skip
    return person


def person_change(*, actor: Any, person_id: int, data: Mapping[str, Any], request: Any = None) -> Person:
    """Change a person's record; the residence before and after must be in the actor's jurisdiction."""
    _require_role(actor, "registry.person.change")
    changes = _fields(data, PERSON_FIELDS)
    with transaction.atomic():
        person = _locked(Person, person_id, persons_visible_to, actor, "registry.person.view")
        before = _current(person, PERSON_FIELDS)
        checked = validation.check_person(before | changes, today=_today())
        _check(checked, except_fields=[f for f in PERSON_FIELDS if f != "residence_division"])
        after = checked.values
        _require_divisions(
            actor, "registry.person.change", before["residence_division"], after["residence_division"],
            "residence_division",
        )  # fmt: skip
        _check(checked)
        changed = _changed(before, after)
        if not changed:
            return person
        if "id_number" in changed or "id_type" in changed:
            _duplicate(
                Person, "id_number", after["id_number"], exclude_pk=person.pk,
                zh="该证件号码已登记为另一名自然人。", en="Another person is registered with this document number.",
            )  # fmt: skip
        for name in changed:
            setattr(person, name, after[name])
        _save(person, unique_fields=["id_number"], update_fields=changed)
        audit_record(
            actor=actor, action="change", subject=person, subject_person_id=person.pk,
            summary=_summary("修改", "changed", "person", changed), request=request,
        )  # fmt: skip
        if _SHOWN_ON_CREDENTIALS & set(changed):
            for vehicle_id in Vehicle.objects.filter(owner_person_id=person.pk).values_list("pk", flat=True):
                registry_changed(event="owner_changed", vehicle_id=vehicle_id)
            for licence_id in DrivingLicence.objects.filter(holder_id=person.pk).values_list("pk", flat=True):
                registry_changed(event="holder_changed", licence_id=licence_id)
    return person


# ---------------------------------------------------------------- organisations (单位)


def _representative(values: dict[str, Any]) -> None:
    _ids(values, ["legal_representative"])
    pk = values.get("legal_representative")
    if pk is not None and not Person.objects.filter(pk=pk).exists():
        raise ValidationFailed(
            "registry.person_not_found", "没有这名自然人，请先登记或核对编号。", "No such person.",
            field="legal_representative",
        )  # fmt: skip


def organisation_create(*, actor: Any, data: Mapping[str, Any], request: Any = None) -> Organisation:
    """Register an organisation (单位, U1) with its GB 32100 code, in the actor's jurisdiction."""
    _require_role(actor, "registry.organisation.create")
    values = {
        "uscc": "", "name": "", "kind": "", "division": "", "address": "", "phone": "", "legal_representative": None,
    } | _fields(data, ORGANISATION_FIELDS)  # fmt: skip
    _representative(values)
    checked = validation.check_organisation(values, today=_today())
    _check(checked, except_fields=[f for f in ORGANISATION_FIELDS if f != "division"])
    values = checked.values
    with transaction.atomic():
        _require_divisions(actor, "registry.organisation.create", None, values["division"], "division")
        _check(checked)
        _duplicate(
            Organisation, "uscc", values["uscc"], exclude_pk=None,
            zh="该统一社会信用代码已登记，请查找已有单位。", en="An organisation with this code is already registered.",
        )  # fmt: skip
        rep = values.pop("legal_representative")
        organisation = _save(Organisation(**values, legal_representative_id=rep), unique_fields=["uscc"])
        audit_record(
            actor=actor, action="create", subject=organisation, subject_person_id=rep,
            summary=_summary("新增", "created", "organisation", sorted(values)), request=request,
        )  # fmt: skip
    return organisation


def organisation_change(
    *, actor: Any, organisation_id: int, data: Mapping[str, Any], request: Any = None
) -> Organisation:
    """Change an organisation's record; its division before and after in the actor's jurisdiction."""
    _require_role(actor, "registry.organisation.change")
    changes = _fields(data, ORGANISATION_FIELDS)
    if "legal_representative" in changes:
        _representative(changes)
    with transaction.atomic():
        organisation = _locked(
            Organisation, organisation_id, organisations_visible_to, actor, "registry.organisation.view"
        )
        before = _current(organisation, ORGANISATION_FIELDS)
        checked = validation.check_organisation(before | changes, today=_today())
        _check(checked, except_fields=[f for f in ORGANISATION_FIELDS if f != "division"])
        after = checked.values
        _require_divisions(
            actor, "registry.organisation.change", before["division"], after["division"], "division"
        )
        _check(checked)
        changed = _changed(before, after)
        if not changed:
            return organisation
        if "uscc" in changed:
            _duplicate(
                Organisation, "uscc", after["uscc"], exclude_pk=organisation.pk,
                zh="该统一社会信用代码已登记为另一个单位。", en="Another organisation has this code.",
            )  # fmt: skip
        for name in changed:
            setattr(organisation, _attname(organisation, name), after[name])
        update = [_attname(organisation, name) for name in changed]
        _save(organisation, unique_fields=["uscc"], update_fields=update)
        audit_record(
            actor=actor, action="change", subject=organisation,
            subject_person_id=organisation.legal_representative_id,
            summary=_summary("修改", "changed", "organisation", changed), request=request,
        )  # fmt: skip
        if "name" in changed:
            for vehicle_id in Vehicle.objects.filter(owner_organisation_id=organisation.pk).values_list(
                "pk", flat=True
            ):
                registry_changed(event="owner_changed", vehicle_id=vehicle_id)
    return organisation


# ---------------------------------------------------------------- vehicles (机动车)


def _owner(values: dict[str, Any]) -> None:
    """Exactly one owner, a person or an organisation, that exists."""
    _ids(values, ["owner_person", "owner_organisation"])
    person, organisation = values.get("owner_person"), values.get("owner_organisation")
    if (person is None) == (organisation is None):
        raise ValidationFailed(
            "registry.owner_required",
            "请填写机动车所有人：自然人或单位，二者选一。",
            "Give the vehicle's owner: either a person or an organisation, not both.",
            field="owner_person",
        )
    if person is not None and not Person.objects.filter(pk=person).exists():
        raise ValidationFailed(
            "registry.person_not_found", "没有这名自然人，请先登记或核对编号。", "No such person.",
            field="owner_person",
        )  # fmt: skip
    if organisation is not None and not Organisation.objects.filter(pk=organisation).exists():
        raise ValidationFailed(
            "registry.organisation_not_found", "没有这个单位，请先登记或核对编号。", "No such organisation.",
            field="owner_organisation",
        )  # fmt: skip


def _vehicle_unique(values: Mapping[str, Any], *, exclude_pk: Any) -> None:
    _duplicate(
        Vehicle, "vin", values["vin"], exclude_pk=exclude_pk,
        zh="该车辆识别代号（VIN）已登记在另一辆车上（不区分大小写），请核对。",
        en="Another vehicle is registered with this VIN (in any letter case); please check it.",
    )  # fmt: skip
    _duplicate(
        Vehicle, "plate_number", values.get("plate_number"), exclude_pk=exclude_pk,
        zh="该号牌号码已核发给另一辆车，请核对。", en="This plate number is already issued to another vehicle.",
    )  # fmt: skip


_VEHICLE_UNIQUE = ["vin", "plate_number"]


def vehicle_create(*, actor: Any, data: Mapping[str, Any], request: Any = None) -> Vehicle:
    """Register a motor vehicle (机动车) in the actor's jurisdiction: GB 16735 VIN stored upper case and
    unique in any case, GA 36 plate of the right type and unique, status codes from the table (S7)."""
    _require_role(actor, "registry.vehicle.create")
    values = {
        "plate_number": None, "plate_type": "", "vin": "", "kind": "", "use_nature": "", "brand_model": "",
        "colour": "", "owner_person": None, "owner_organisation": None, "owner_mobile": "", "registered_on": None,
        "last_inspected_on": None, "on_site_inspection_required": False, "status": "A", "division": "",
    } | _fields(data, VEHICLE_FIELDS)  # fmt: skip
    _owner(values)
    if not values.get("owner_mobile") and values["owner_person"] is not None:
        values["owner_mobile"] = Person.objects.values_list("mobile", flat=True).get(
            pk=values["owner_person"]
        )
    checked = validation.check_vehicle(values, today=_today())
    _check(checked, except_fields=[f for f in VEHICLE_FIELDS if f != "division"])
    values = checked.values
    with transaction.atomic():
        _require_divisions(actor, "registry.vehicle.create", None, values["division"], "division")
        _check(checked)
        _vehicle_unique(values, exclude_pk=None)
        person, organisation = values.pop("owner_person"), values.pop("owner_organisation")
        vehicle = _save(
            Vehicle(**values, owner_person_id=person, owner_organisation_id=organisation),
            unique_fields=_VEHICLE_UNIQUE,
        )
        audit_record(
            actor=actor, action="create", subject=vehicle, subject_person_id=person,
            summary=_summary("新增", "created", "vehicle", sorted(values)), request=request,
        )  # fmt: skip
        registry_changed(event="created", vehicle_id=vehicle.pk)
    return vehicle


def vehicle_change(*, actor: Any, vehicle_id: int, data: Mapping[str, Any], request: Any = None) -> Vehicle:
    """Change a vehicle's record; its division before and after in the actor's jurisdiction.

    A change of owner within the province is allowed here for correcting a record; a move to
    another province is the transfer business.
    """
    _require_role(actor, "registry.vehicle.change")
    changes = _fields(data, VEHICLE_FIELDS)
    with transaction.atomic():
        vehicle = _locked(Vehicle, vehicle_id, vehicles_visible_to, actor, "registry.vehicle.view")
        before = _current(vehicle, VEHICLE_FIELDS)
        merged = before | changes
        _owner(merged)
        checked = validation.check_vehicle(merged, today=_today())
        _check(checked, except_fields=[f for f in VEHICLE_FIELDS if f != "division"])
        after = checked.values
        _require_divisions(
            actor, "registry.vehicle.change", before["division"], after["division"], "division"
        )
        _check(checked)
        changed = _changed(before, after)
        if not changed:
            return vehicle
        _vehicle_unique(after, exclude_pk=vehicle.pk)
        for name in changed:
            setattr(vehicle, _attname(vehicle, name), after[name])
        _save(
            vehicle,
            unique_fields=_VEHICLE_UNIQUE,
            update_fields=[_attname(vehicle, name) for name in changed],
        )
        audit_record(
            actor=actor, action="change", subject=vehicle, subject_person_id=vehicle.owner_person_id,
            summary=_summary("修改", "changed", "vehicle", changed), request=request,
        )  # fmt: skip
        registry_changed(event="changed", vehicle_id=vehicle.pk)
    return vehicle


def vehicle_inspection_pass(
    *, actor: Any, vehicle_id: int, inspected_on: date, request: Any = None
) -> Vehicle:
    """Record that a vehicle passed its periodic inspection (or got its label); its mark follows (E1)."""
    require(actor, "registry.vehicle.inspection_pass")
    today = timezone.localdate()
    if inspected_on > today:
        raise ValidationFailed(
            "registry.inspection_in_future", "检验日期不能晚于今天。", "The inspection date cannot be in the future.",
            field="inspected_on",
        )  # fmt: skip
    with transaction.atomic():
        vehicle = _locked(Vehicle, vehicle_id, vehicles_visible_to, actor, "registry.vehicle.view")
        require(actor, "registry.vehicle.inspection_pass", division=vehicle.division)
        if vehicle.last_inspected_on and inspected_on < vehicle.last_inspected_on:
            raise ValidationFailed(
                "registry.inspection_older",
                "检验日期早于已登记的上次检验。",
                "The date is earlier than the inspection already on record.",
                field="inspected_on",
            )
        if inspected_on < vehicle.registered_on:
            raise ValidationFailed(
                "registry.inspection_before_registration",
                "检验日期早于初次登记日期。",
                "The inspection date is earlier than the first registration.",
                field="inspected_on",
            )
        vehicle.last_inspected_on = inspected_on
        vehicle.save(update_fields=["last_inspected_on"])
        audit_record(
            actor=actor,
            action="change",
            subject=vehicle,
            subject_person_id=vehicle.owner_person_id,
            summary=f"检验合格 inspection passed {inspected_on:%Y-%m-%d}",
            request=request,
        )
        registry_changed(event="inspection", vehicle_id=vehicle.pk)
    return vehicle


# ---------------------------------------------------------------- driving licences (驾驶证)


def _holder(values: dict[str, Any]) -> Person:
    _ids(values, ["holder"])
    pk = values.get("holder")
    holder = Person.objects.filter(pk=pk).first() if pk is not None else None
    if holder is None:
        raise ValidationFailed(
            "registry.holder_required", "请填写持证人（已登记的自然人）。", "Give the holder (a registered person).",
            field="holder",
        )  # fmt: skip
    return holder


def _licence_unique(values: Mapping[str, Any], *, exclude_pk: Any) -> None:
    _duplicate(
        DrivingLicence, "archive_number", values["archive_number"], exclude_pk=exclude_pk,
        zh="该档案编号已用于另一本驾驶证。", en="Another licence has this archive number.",
    )  # fmt: skip


_LICENCE_UNIQUE = ["archive_number", "holder"]


def licence_create(*, actor: Any, data: Mapping[str, Any], request: Any = None) -> DrivingLicence:
    """Register a driving licence (驾驶证) issued in the actor's jurisdiction: classes from the class
    table (S1 art. 11), dates in order, status codes from the table (S7)."""
    _require_role(actor, "registry.licence.create")
    values = {
        "holder": None, "archive_number": "", "classes": "", "first_issued_on": None, "valid_from": None,
        "validity_term": "", "probation_started_on": None, "last_medical_on": None, "last_reviewed_on": None,
        "status": "A", "cancelled_on": None, "remarks": "", "mobile": "", "postal_address": "", "division": "",
    } | _fields(data, LICENCE_FIELDS)  # fmt: skip
    holder = _holder(values)
    if DrivingLicence.objects.filter(holder_id=holder.pk).exists():
        raise Conflict(
            "registry.holder_has_licence", "该人员已有驾驶证，请在原驾驶证上办理增驾或变更。",
            "This person already holds a licence; add classes or change that one.", field="holder",
        )  # fmt: skip
    values["mobile"] = values["mobile"] or holder.mobile
    values["postal_address"] = values["postal_address"] or holder.address
    checked = validation.check_licence(values, today=_today(), holder_birth_date=holder.birth_date)
    _check(checked, except_fields=[f for f in LICENCE_FIELDS if f != "division"])
    values = checked.values
    with transaction.atomic():
        _require_divisions(actor, "registry.licence.create", None, values["division"], "division")
        _check(checked)
        _licence_unique(values, exclude_pk=None)
        values.pop("holder")
        licence = _save(DrivingLicence(**values, holder=holder), unique_fields=_LICENCE_UNIQUE)
        audit_record(
            actor=actor, action="create", subject=licence, subject_person_id=holder.pk,
            summary=_summary("新增", "created", "licence", sorted(values)), request=request,
        )  # fmt: skip
        registry_changed(event="created", licence_id=licence.pk)
    return licence


def licence_change(
    *, actor: Any, licence_id: int, data: Mapping[str, Any], request: Any = None
) -> DrivingLicence:
    """Change a licence's record; its issuing division before and after in the actor's jurisdiction.

    The holder cannot change: the licence number is the holder's ID number.
    """
    _require_role(actor, "registry.licence.change")
    changes = _fields(data, LICENCE_FIELDS)
    with transaction.atomic():
        licence = _locked(DrivingLicence, licence_id, licences_visible_to, actor, "registry.licence.view")
        before = _current(licence, LICENCE_FIELDS)
        merged = before | changes
        _ids(merged, ["holder"])
        if merged["holder"] != before["holder"]:
            raise ValidationFailed(
                "registry.holder_fixed",
                "驾驶证不能改给另一人：驾驶证号码就是持证人的身份证号码。",
                "A licence cannot be given to another person: its number is the holder's ID number.",
                field="holder",
            )
        holder = Person.objects.get(pk=licence.holder_id)
        checked = validation.check_licence(merged, today=_today(), holder_birth_date=holder.birth_date)
        _check(checked, except_fields=[f for f in LICENCE_FIELDS if f != "division"])
        after = checked.values
        _require_divisions(
            actor, "registry.licence.change", before["division"], after["division"], "division"
        )
        _check(checked)
        changed = _changed(before, after)
        if not changed:
            return licence
        if "archive_number" in changed:
            _licence_unique(after, exclude_pk=licence.pk)
        for name in changed:
            setattr(licence, name, after[name])
        _save(licence, unique_fields=_LICENCE_UNIQUE, update_fields=changed)
        audit_record(
            actor=actor, action="change", subject=licence, subject_person_id=licence.holder_id,
            summary=_summary("修改", "changed", "licence", changed), request=request,
        )  # fmt: skip
        registry_changed(event="changed", licence_id=licence.pk)
    return licence


# ---------------------------------------------------------------- points ledger (记分, S2)
#
# Other apps score a licence through these functions; the registry owns the ledger and the
# stored status codes. Each runs inside the caller's transaction, which already holds the
# licence row lock in the caller's documented order, and audits nothing on its own: the
# business that scores (a penalty decision) writes the audit row for the whole change.


def points_record(
    *, licence: DrivingLicence, points: int, occurred_on: date, source: str, fine_unpaid: bool
) -> PointsEntry | None:
    """Add an offence's points to the ledger in the cycle of ``occurred_on``; nothing for 0 points."""
    if points == 0:
        return None
    return PointsEntry.objects.create(
        licence=licence, points=points, occurred_on=occurred_on, source=source, fine_unpaid=fine_unpaid
    )


def points_fine_settled(*, source: str) -> int:
    """The offence's fine is paid: its points no longer carry over into the next cycle (S2)."""
    entries = PointsEntry.objects.filter(source=source, fine_unpaid=True)
    # An update sends no signal: the holder's cached licence reads are retired here (issue 12).
    personal.vehicles_and_licences_changed(licence_ids=list(entries.values_list("licence_id", flat=True)))
    return entries.update(fine_unpaid=False)


def points_reduce_by_study(*, licence: DrivingLicence, points: int, on: date, source: str) -> PointsEntry:
    """Take ``points`` (1-6) off the licence in the cycle of ``on`` after a passed study test
    (学法减分, V7): a negative ledger entry. The caller decided the amount under its own lock."""
    if not 1 <= points <= 6:
        raise ValueError(f"a study reduction is 1 to 6 points, not {points}")
    entry = PointsEntry.objects.create(
        licence=licence, points=-points, occurred_on=on, source=source[:64], fine_unpaid=False
    )
    registry_changed(event="points_reduced", licence_id=licence.pk)
    return entry


def licence_status_add(*, licence: DrivingLicence, code: str, event: str) -> bool:
    """Add a stored status code (e.g. B, 12 points reached) and publish the change once; False if held."""
    if code in licence.status:
        return False
    licence.status = rules.add_status(licence.status, code)
    licence.save(update_fields=["status"])
    registry_changed(event=event, licence_id=licence.pk)
    return True


def person_contact_change(*, person_id: int, mobile: str, postal_address: str | None = None) -> None:
    """A person's contact details change on every record that carries them (B5, B15).

    The caller (the account's contact change) has verified the new number and audits the
    change; each vehicle and licence touched publishes the registry change event once.
    """
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person_id)
        person.mobile = mobile
        fields = ["mobile"]
        if postal_address is not None:
            person.address = postal_address
            fields.append("address")
        person.save(update_fields=fields)
        vehicle_ids = list(Vehicle.objects.filter(owner_person_id=person_id).values_list("pk", flat=True))
        Vehicle.objects.filter(pk__in=vehicle_ids).update(owner_mobile=mobile)
        licence_update: dict[str, Any] = {"mobile": mobile}
        if postal_address is not None:
            licence_update["postal_address"] = postal_address
        licence_ids = list(DrivingLicence.objects.filter(holder_id=person_id).values_list("pk", flat=True))
        DrivingLicence.objects.filter(pk__in=licence_ids).update(**licence_update)
        for vehicle_id in vehicle_ids:
            registry_changed(event="contact", vehicle_id=vehicle_id)
        for licence_id in licence_ids:
            registry_changed(event="contact", licence_id=licence_id)


# ---------------------------------------------------------------- archive photo (档案照片)

ARCHIVE_PHOTO_MAX_BYTES = 2 * 1024 * 1024


def _archive_photo_type(photo: bytes) -> str:
    """ "jpeg" or "png" from the file's signature; anything else is refused."""
    if photo[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if photo[:3] == b"\xff\xd8\xff":
        return "jpeg"
    raise ValidationFailed(
        "registry.archive_photo_type", "档案照片须为JPEG或PNG格式。", "The archive photo must be JPEG or PNG.",
        field="photo",
    )  # fmt: skip


def archive_photo_record(
    *, person_id: int, photo: bytes, actor: Any = None, source: str = "archive", request: Any = None
) -> ArchivePhoto:
    """Record a person's archive photo, replacing the current one (one per person).

    ``actor`` None is an import or the demo data; a staff member needs ``registry.person.change``
    within the person's residence division, and the change is audited.
    """
    if not photo or len(photo) > ARCHIVE_PHOTO_MAX_BYTES:
        raise ValidationFailed(
            "registry.archive_photo_size", "档案照片须为2MB以内的JPEG或PNG。",
            "The archive photo must be a JPEG or PNG under 2 MB.", field="photo",
        )  # fmt: skip
    photo_type = _archive_photo_type(photo)
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(pk=person_id).first()
        if person is None:
            raise NotFound("registry.person_not_found", "没有这个人。", "No such person.")
        if actor is not None:
            require(actor, "registry.person.change", division=person.residence_division)
        record, _created = ArchivePhoto.objects.update_or_create(
            person=person,
            defaults={
                "photo": photo,
                "photo_type": photo_type,
                "sha256": hashlib.sha256(photo).hexdigest(),
                "recorded_by": actor,
                "source": source,
            },
        )
        if actor is not None:
            audit_record(
                actor=actor, action="change", subject=record, subject_person_id=person.pk,
                summary="登记档案照片", request=request,
            )  # fmt: skip
    return record


# ---------------------------------------------------------------- licence businesses (B8-B14, issue 13)
#
# The applications engine completes a licence business through these functions, inside the
# transaction that completes the application, so the application and the licence change
# together or not at all. They take no actor: the applications service checked the clerk's
# access and audits the step. Each locks the licence row, asks the licence rules again on
# the locked row (the licence may have changed since the application was accepted),
# changes it and publishes the change once; the save retires the holder's cached reads.


def _licence_for_business(licence_id: int) -> DrivingLicence:
    licence = (
        DrivingLicence.objects.select_for_update(of=("self",))
        .select_related("holder")
        .filter(pk=licence_id)
        .first()
    )
    if licence is None:
        raise NotFound("registry.licence_not_found", "没有这本驾驶证。", "No such driving licence.")
    return licence


def _refused(refusal: licence_rules.Refusal) -> Conflict:
    return Conflict(
        refusal.code,
        " ".join(filter(None, [refusal.zh, refusal.remedy_zh])),
        " ".join(filter(None, [refusal.en, refusal.remedy_en])),
    )


def _without_codes(status: str, codes: str) -> str:
    """The stored status without ``codes``; A (normal) when nothing is left."""
    return "".join(code for code in (status or "A") if code not in codes) or "A"


def licence_renew(*, licence_id: int, today: date, applied_on: date | None = None) -> DrivingLicence:
    """Renew a licence on expiry (期满换证, B8): a new validity period and term.

    The term steps 6 -> 10 years -> long-term unless a scoring cycle of the ending term
    reached 12 points (S1 art. 13, 63). Applied for in the renewal window (S1 art. 62), the
    new validity continues from the old end date, the date printed on the old card ("2016-03-05
    至 2026-03-05" is followed by "2026-03-05 至 2036-03-05"), so renewing early loses no days;
    applied for later (overdue, M, or during a renewal deferral, N) it counts from the day of
    the renewal. RULES.md and the seeds do not state the start date; this is the reading of
    the printed cards. The deferral and the stored M and N codes end with the renewal.
    """
    applied_on = applied_on or today
    with transaction.atomic():
        licence = _licence_for_business(licence_id)
        facts = selectors.licence_facts(licence, today=today)
        refusal = licence_rules.status_refusal(facts.status, licence_rules.Business.RENEWAL)
        if refusal is not None:
            raise _refused(refusal)
        valid_until = facts.valid_until
        if valid_until is None:
            # A long-term licence has nothing to renew; renewal_window says so in words.
            raise _refused(cast(licence_rules.Refusal, licence_rules.renewal_window(facts, today)))
        licence.validity_term = selectors.licence_next_validity_term(licence, today=today)
        licence.valid_from = valid_until if applied_on <= valid_until else today
        licence.renewal_deferred_until = None
        licence.status = _without_codes(licence.status, "MN")
        licence.save(update_fields=["validity_term", "valid_from", "renewal_deferred_until", "status"])
        registry_changed(event="licence_renewed", licence_id=licence.pk)
    return licence


def licence_exchange_at_age_limit(*, licence_id: int, to_classes: str, today: date) -> DrivingLicence:
    """Exchange a licence at a driving age limit (超龄换证, B9; S1 art. 65, S6) to the chosen classes.

    ``to_classes`` must be one the rule offers today; the validity is kept.
    """
    with transaction.atomic():
        licence = _licence_for_business(licence_id)
        answer = selectors.licence_business_check(licence=licence, business_code="B9", today=today)
        if isinstance(answer, licence_rules.Refusal):
            raise _refused(answer)
        assert isinstance(answer, licence_rules.Exchange)
        if to_classes not in answer.to_classes:
            raise ValidationFailed(
                "registry.exchange_classes",
                "换领的准驾车型须为以下之一：" + "、".join(answer.to_classes) + "。",
                "The classes exchanged to must be one of: " + ", ".join(answer.to_classes) + ".",
                field="to_classes",
                detail={"offered": list(answer.to_classes)},
            )
        licence.classes = to_classes
        licence.save(update_fields=["classes"])
        registry_changed(event="licence_exchanged", licence_id=licence.pk)
    return licence


def licence_replace(*, licence_id: int, cause: str, today: date) -> DrivingLicence:
    """Replace a lost (遗失补领, B10) or damaged (损毁换领, B11) licence card.

    The new card carries the same record and validity; what changes is the card, so the
    electronic licence is reissued and the old one superseded (credentials follow the event).
    """
    if cause not in ("lost", "damaged"):
        raise ValueError(f"unknown replacement cause {cause!r}")
    with transaction.atomic():
        licence = _licence_for_business(licence_id)
        answer = selectors.licence_business_check(licence=licence, business_code="B10", today=today)
        if isinstance(answer, licence_rules.Refusal):
            raise _refused(answer)
        # No column changes, so no save signal: the holder's cached reads are retired here.
        personal.vehicles_and_licences_changed(licence_ids=[licence.pk])
        registry_changed(event="licence_replaced", licence_id=licence.pk)
    return licence


_DEFERRAL_FIELDS: dict[licence_rules.DeferralKind, str] = {
    licence_rules.DeferralKind.RENEWAL: "renewal_deferred_until",
    licence_rules.DeferralKind.REVIEW: "review_deferred_until",
    licence_rules.DeferralKind.MEDICAL: "medical_deferred_until",
}


def licence_defer(
    *, licence_id: int, kind: licence_rules.DeferralKind | str, reason: str, until: date, today: date
) -> DrivingLicence:
    """Grant a deferral of renewal, review or the certificate (B12-B14, S1 art. 75) until ``until``.

    The status code (N, T, P) is derived from the date while it runs and ends by itself.
    """
    kind = licence_rules.DeferralKind(kind)
    business = next(code for code, k in selectors.DEFERRAL_BUSINESSES.items() if k is kind)
    with transaction.atomic():
        licence = _licence_for_business(licence_id)
        answer = selectors.licence_deferral_check(
            licence=licence, business_code=business, reason=reason, until=until, today=today
        )
        if isinstance(answer, licence_rules.Refusal):
            raise _refused(answer)
        name = _DEFERRAL_FIELDS[kind]
        setattr(licence, name, until)
        licence.save(update_fields=[name])
        registry_changed(event="licence_deferred", licence_id=licence.pk)
    return licence


# ---------------------------------------------------------------- vehicle plates and licences (issue 14)
#
# Called by the applications engine when a plate or vehicle-licence business completes (B1, B2,
# B20, B21), inside the transaction that completes the application: both change or neither.
# Like the licence businesses above they take no actor (the applications service checked the
# clerk and audits the step), lock the vehicle row, ask the vehicle rules again on the locked
# row, record the new issue and publish the change once, which reissues the electronic mark
# (credentials follow ``registry.changed``, E1).

VEHICLE_REISSUE_CAUSES = frozenset({"lost", "damaged"})
PLATE_REISSUED = "vehicle_plate_reissued"
VEHICLE_LICENCE_REISSUED = "vehicle_licence_reissued"


def _vehicle_for_business(vehicle_id: int, *, business_code: str, cause: str, today: date) -> Vehicle:
    if cause not in VEHICLE_REISSUE_CAUSES:
        raise ValueError(f"unknown reissue cause {cause!r}")
    vehicle = (
        Vehicle.objects.select_for_update(of=("self",))
        .select_related("owner_person", "owner_organisation")
        .filter(pk=vehicle_id)
        .first()
    )
    if vehicle is None:
        raise NotFound("registry.vehicle_not_found", "没有这辆车。", "No such vehicle.")
    answer = selectors.vehicle_business_check(vehicle=vehicle, business_code=business_code, today=today)
    if isinstance(answer, licence_rules.Refusal):
        raise _refused(answer)
    return vehicle


def vehicle_plate_reissue(*, vehicle_id: int, cause: str, today: date) -> Vehicle:
    """Record new plates for a vehicle (补领号牌 B1 when ``cause`` is "lost", 换领号牌 B2 when
    "damaged"; S3): the same number on a new pair, so the count and the date change, and the
    electronic mark is reissued for the new plates."""
    business = "B1" if cause == "lost" else "B2"
    with transaction.atomic():
        vehicle = _vehicle_for_business(vehicle_id, business_code=business, cause=cause, today=today)
        vehicle.plate_issue_count += 1
        vehicle.plate_issued_on = today
        vehicle.save(update_fields=["plate_issue_count", "plate_issued_on"])
        registry_changed(event=PLATE_REISSUED, vehicle_id=vehicle.pk)
    return vehicle


def vehicle_licence_reissue(*, vehicle_id: int, cause: str, today: date) -> Vehicle:
    """Record a new vehicle licence (补领行驶证 B20 when ``cause`` is "lost", 换领行驶证 B21 when
    "damaged"; S3): its issue date and the count; the electronic mark is reissued with it."""
    business = "B20" if cause == "lost" else "B21"
    with transaction.atomic():
        vehicle = _vehicle_for_business(vehicle_id, business_code=business, cause=cause, today=today)
        vehicle.vehicle_licence_issue_count += 1
        vehicle.vehicle_licence_issued_on = today
        vehicle.save(update_fields=["vehicle_licence_issue_count", "vehicle_licence_issued_on"])
        registry_changed(event=VEHICLE_LICENCE_REISSUED, vehicle_id=vehicle.pk)
    return vehicle


# ---------------------------------------------------------------- hospital examinations (issue 13, B6/B7)
#
# A hospital organisation user records a driver's examination (医院体检, B6) and submits the
# physical-condition certificate (医院提交身体条件证明, B7). The submission sets the licence's
# medical date, which Q2's deadline, B8 renewal and the yearly certificate at 70 read. Locks:
# the examination row, then the licence row.

_HOSPITAL_BUSINESSES = {
    "B6": ("医院体检", "Hospital physical exam"),
    "B7": ("医院提交身体条件证明", "Submit physical-condition certificate"),
}


def hospital_of(*, actor: Any, business: str) -> Organisation:
    """The actor's organisation, which must be a hospital (U5, Requirement.HOSPITAL).

    The same rule and words as accounts.rules.check_business_allowed, which this layer cannot
    import (the registry sits below accounts).
    """
    organisation_id = getattr(actor, "organisation_id", None)
    organisation = Organisation.objects.filter(pk=organisation_id).first() if organisation_id else None
    if organisation is None or organisation.kind != Organisation.Kind.HOSPITAL:
        zh, en = _HOSPITAL_BUSINESSES[business]
        raise NotAllowed(
            "accounts.hospital_only",
            f"“{zh}”仅限在窗口注册的医院单位用户办理。",
            f"'{en}' is only for hospital organisation users registered at the counter.",
        )
    return organisation


def _driver(data: Mapping[str, Any]) -> tuple[Person, DrivingLicence]:
    """The driver named by document number and name; one answer for every mismatch, so a wrong
    name never tells whether the number is on record."""
    mismatch = ValidationFailed(
        "registry.medical.driver_mismatch",
        "证件号码与姓名不匹配，或该人员没有驾驶证，请核对驾驶人的身份证明。",
        "The document number and name do not match a licence holder; check the driver's identity document.",
        field="id_number",
    )
    id_type = str(data.get("id_type") or "resident_id")
    try:
        number = normalise_document_number(id_type, str(data.get("id_number") or ""))
    except ValidationFailed as exc:
        raise ValidationFailed(exc.code, exc.message_zh, exc.message_en, field="id_number") from None
    name = str(data.get("name") or "").strip()
    person = Person.objects.filter(id_type=id_type, id_number=number).first()
    if person is None or not name or person.name != name:
        raise mismatch
    licence = DrivingLicence.objects.filter(holder_id=person.pk).first()
    if licence is None:
        raise mismatch
    return person, licence


def medical_examination_record(
    *, actor: Any, data: Mapping[str, Any], request: Any = None, today: date | None = None
) -> MedicalExamination:
    """Record a driver's physical examination at the actor's hospital (B6, issue 13).

    ``data``: ``id_type`` (default resident ID), ``id_number`` and ``name`` of the driver, and
    the form's fields (see ``medical.check_examination``). Nothing is submitted yet.
    """
    require(actor, "registry.medical.record")
    hospital = hospital_of(actor=actor, business="B6")
    today = today or _today()
    person, licence = _driver(data)
    values = medical.check_examination(data, today=today)
    with transaction.atomic():
        examination = MedicalExamination.objects.create(
            hospital=hospital, person=person, licence=licence, division=hospital.division,
            recorded_by=actor, **values,
        )  # fmt: skip
        audit_record(
            actor=actor, action="create", subject=examination, subject_person_id=person.pk,
            summary=f"录入体检信息 examination recorded ({values['classes_applied']}, {values['conclusion']})",
            request=request,
        )  # fmt: skip
    return examination


def medical_certificate_submit(
    *, actor: Any, examination_id: int, request: Any = None, today: date | None = None
) -> MedicalExamination:
    """Submit an examination as the physical-condition certificate (B7, issue 13).

    The licence's medical date becomes the examination date (never earlier than one already on
    record); the driver's account shows the certificate and the e-licence follows the change.
    A second submission returns the certificate as it is; once submitted nothing changes.
    """
    require(actor, "registry.medical.submit")
    hospital = hospital_of(actor=actor, business="B7")
    today = today or _today()
    with transaction.atomic():
        examination = (
            MedicalExamination.objects.select_for_update()
            .filter(pk=examination_id, hospital_id=hospital.pk)
            .first()
        )
        if examination is None:
            raise NotFound("registry.medical.not_found", "没有这条体检记录。", "No such examination.")
        require(actor, "registry.medical.submit", owner_organisation_id=examination.hospital_id)
        if examination.submitted_at is not None:
            return examination
        medical.check_submittable(
            conclusion=examination.conclusion, examined_on=examination.examined_on, today=today
        )
        licence = DrivingLicence.objects.select_for_update().get(pk=examination.licence_id)
        if licence.last_medical_on is None or licence.last_medical_on < examination.examined_on:
            licence.last_medical_on = examination.examined_on
            licence.save(update_fields=["last_medical_on"])
        examination.submitted_at = timezone.now()
        examination.save(update_fields=["submitted_at"])
        audit_record(
            actor=actor, action="change", subject=examination, subject_person_id=examination.person_id,
            summary=f"提交身体条件证明 certificate submitted ({examination.examined_on:%Y-%m-%d})",
            request=request,
        )  # fmt: skip
        registry_changed(event="medical_certificate", licence_id=licence.pk)
        # The certificate list is a cached read of the holder's too, changed or not the date.
        personal.vehicles_and_licences_changed(licence_ids=[licence.pk])
    return examination


def medical_examination_read(*, actor: Any, examination_id: int, request: Any = None) -> MedicalExamination:
    """One examination for its hospital or a clerk, with the audit row the read of a driver's
    personal data needs; another hospital's, or one outside the jurisdiction, is not found."""
    require(actor, "registry.medical.view")
    examination = medical_examination_get(actor=actor, examination_id=examination_id)
    if examination is None:
        raise NotFound("registry.medical.not_found", "没有这条体检记录。", "No such examination.")
    audit_record(
        actor=actor, action="view", subject=examination, subject_person_id=examination.person_id,
        summary="查看体检信息 examination viewed", request=request,
    )  # fmt: skip
    return examination


# ---------------------------------------------------------------- inspection stations (issue 14, B4)


def vehicle_inspection_pass_at_station(*, vehicle_id: int, inspected_on: date, station: str) -> Vehicle:
    """Record a pass reported by an inspection station's API client (B4, E1): the same change as
    :func:`vehicle_inspection_pass`, whose mark follows, for a caller that is a system rather than a
    clerk. The caller (inspections) has checked the client's scope, the booking at that station and
    the insurance (O7); ``station`` names it in the audit trail."""
    today = timezone.localdate()
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update().filter(pk=vehicle_id).first()
        if vehicle is None:
            raise NotFound("registry.not_found", "没有这条登记记录。", "No such record.")
        if inspected_on > today:
            raise ValidationFailed(
                "registry.inspection_in_future", "检验日期不能晚于今天。", "The inspection date cannot be in the future.",
                field="inspected_on",
            )  # fmt: skip
        if (vehicle.last_inspected_on and inspected_on < vehicle.last_inspected_on) or (
            inspected_on < vehicle.registered_on
        ):
            raise ValidationFailed(
                "registry.inspection_older",
                "检验日期早于已登记的上次检验或初次登记日期。",
                "The date is earlier than the inspection or the registration already on record.",
                field="inspected_on",
            )
        vehicle.last_inspected_on = inspected_on
        vehicle.save(update_fields=["last_inspected_on"])
        audit_record(
            actor=None, action="change", subject=vehicle, subject_person_id=vehicle.owner_person_id,
            summary=f"检验合格 inspection passed {inspected_on:%Y-%m-%d} ({station})",
        )  # fmt: skip
        registry_changed(event="inspection", vehicle_id=vehicle.pk)
    return vehicle


# ---------------------------------------------------------------- dealers' temporary plates (issue 14, B18)
#
# A car dealer (汽车销售商) applies online for a new car's temporary plate (申领机动车临时号牌). The
# compulsory insurance is asked by the caller (credentials.temporary_plates) BEFORE the transaction
# here, as the insurer is an outside system that may be slow; its answer comes in as plain values,
# since the registry sits below the insurance app. Locks: the VIN's named lock, then the office's
# serial row; the unique (vin, issue_no) and number constraints keep both rules if a lock is lost.

APPLY_TEMPORARY_PLATE = "registry.temporary_plate.apply"
REVOKE_TEMPORARY_PLATE = "registry.temporary_plate.revoke"


def dealer_of(*, actor: Any) -> Organisation:
    """The actor's organisation, which must be a car dealer (U5, Requirement.CAR_DEALER, B18).

    The same rule and words as accounts.rules.check_business_allowed, which this layer cannot import.
    """
    organisation_id = getattr(actor, "organisation_id", None)
    organisation = Organisation.objects.filter(pk=organisation_id).first() if organisation_id else None
    if organisation is None or organisation.kind != Organisation.Kind.CAR_DEALER:
        raise NotAllowed(
            "accounts.car_dealer_only",
            "“申领机动车临时号牌”仅限在窗口注册的汽车销售商（4S店）单位用户办理。",
            "'Temporary plate' is only for car-dealer organisation users registered at the counter.",
        )
    return organisation


@dataclass(frozen=True)
class TemporaryPlateRequest:
    """A dealer's application, checked: what the insurer is asked about and the plate is made of."""

    vin: str
    kind: str
    brand_model: str
    buyer_name: str
    days: int


@dataclass(frozen=True)
class InsuranceFacts:
    """The insurer's answer as the registry keeps it (insurance.services.InsuranceAnswer's values)."""

    required: bool
    insured_until: date | None
    insurer_name: str = ""
    policy_number: str = ""


def _registered_vin_refusal(vin: str) -> Conflict:
    return Conflict(
        "registry.temporary_plate.registered",
        f"车辆识别代号 {vin} 的车辆已注册登记并核发号牌，不是新车，不能申领临时号牌。",
        f"The vehicle with VIN {vin} is already registered with a plate; it is not a new car.",
        field="vin",
    )


def temporary_plate_request_check(*, actor: Any, data: Mapping[str, Any]) -> TemporaryPlateRequest:
    """Check a dealer's application before anything outside is asked (B18): the actor is a car
    dealer, the VIN passes GB 16735, the kind is known, 1-30 days, the car is not registered and has
    fewer than 3 plates. The same checks run again under the lock in :func:`temporary_plate_issue`."""
    require(actor, APPLY_TEMPORARY_PLATE)
    dealer_of(actor=actor)
    vin = validate_vin(str(data.get("vin") or ""))
    kind = str(data.get("kind") or "")
    if kind not in {k.value for k in rules.VehicleKind}:
        raise ValidationFailed(
            "registry.temporary_plate.kind", "请选择车辆类型。", "Choose the vehicle kind.", field="kind"
        )
    brand_model = str(data.get("brand_model") or "").strip()
    if not 1 <= len(brand_model) <= 64:
        raise ValidationFailed(
            "registry.temporary_plate.brand_model",
            "请填写品牌型号（不超过64个字）。",
            "Enter the make and model (at most 64 characters).",
            field="brand_model",
        )
    buyer_name = str(data.get("buyer_name") or "").strip()
    if len(buyer_name) > 100:
        raise ValidationFailed(
            "registry.temporary_plate.buyer",
            "购车人名称过长。",
            "The buyer's name is too long.",
            field="buyer_name",
        )
    days = tp_rules.check_days(data.get("days"))
    if Vehicle.objects.filter(vin=vin, plate_number__isnull=False).exists():
        raise _registered_vin_refusal(vin)
    tp_rules.check_issue_count(TemporaryPlate.objects.filter(vin=vin).count())
    return TemporaryPlateRequest(
        vin=vin, kind=kind, brand_model=brand_model, buyer_name=buyer_name, days=days
    )


def _next_serial(prefix: str) -> int:
    """The office's next serial: its counter row, locked until the transaction ends."""
    TemporaryPlateSerial.objects.get_or_create(prefix=prefix)
    serial = TemporaryPlateSerial.objects.select_for_update().get(prefix=prefix)
    serial.last += 1
    serial.save(update_fields=["last"])
    return serial.last


def temporary_plate_issue(
    *,
    actor: Any,
    application: TemporaryPlateRequest,
    insurance: InsuranceFacts,
    today: date | None = None,
    request: Any = None,
) -> TemporaryPlate:
    """Issue a temporary plate to the actor's dealership (B18), valid from today for the days asked,
    never beyond the compulsory insurance's end (RULES.md). Refused: a registered VIN, a fourth
    plate for one VIN (also when two applications race: one wins, the other is 409), no insurance."""
    require(actor, APPLY_TEMPORARY_PLATE)
    dealer = dealer_of(actor=actor)
    require(actor, APPLY_TEMPORARY_PLATE, owner_organisation_id=dealer.pk)
    today = today or _today()
    granted = tp_rules.validity(
        start=today, days=application.days, insured_until=insurance.insured_until,
        insurance_required=insurance.required,
    )  # fmt: skip
    prefix = tp_rules.office_prefix(dealer.division)
    vin = application.vin
    try:
        with transaction.atomic():
            lock_named(f"registry.temporary_plate.vin:{vin}")
            if Vehicle.objects.filter(vin=vin, plate_number__isnull=False).exists():
                raise _registered_vin_refusal(vin)
            issued_before = TemporaryPlate.objects.filter(vin=vin).count()
            issue_no = tp_rules.check_issue_count(issued_before)
            number = tp_rules.plate_number(prefix, _next_serial(prefix))
            plate = TemporaryPlate.objects.create(
                dealer=dealer, vin=vin, number=number, issue_no=issue_no, kind=application.kind,
                brand_model=application.brand_model, buyer_name=application.buyer_name,
                valid_from=granted.valid_from, valid_until=granted.valid_until,
                insurance_required=insurance.required, insurer_name=insurance.insurer_name[:100],
                policy_number=insurance.policy_number[:40],
                insured_until=insurance.insured_until if insurance.required else None,
                division=dealer.division, issued_by=actor if getattr(actor, "pk", None) else None,
            )  # fmt: skip
            audit_record(
                actor=actor, action="create", subject=plate,
                summary=f"核发临时号牌 temporary plate {number} ({issue_no}/{tp_rules.MAX_ISSUES}, "
                f"{granted.valid_from:%Y-%m-%d}..{granted.valid_until:%Y-%m-%d})",
                request=request,
            )  # fmt: skip
    except IntegrityError:
        # Only when the named lock was not held (it always is inside one database): the unique
        # (vin, issue_no) constraint then decides, and the loser is told plainly.
        raise Conflict(
            "registry.temporary_plate.concurrent",
            "同一车辆的另一份临时号牌申请刚刚办结，请刷新后查看该车已核发的临时号牌。",
            "Another temporary plate application for this vehicle has just been completed; reload to see it.",
            field="vin",
        ) from None
    return plate


def temporary_plate_revoke(*, actor: Any, plate_id: int, reason: str, request: Any = None) -> TemporaryPlate:
    """Revoke a temporary plate (staff of the jurisdiction): its QR then verifies as revoked."""
    reason = (reason or "").strip()
    if not 4 <= len(reason) <= 100:
        raise ValidationFailed(
            "registry.temporary_plate.reason",
            "请填写撤销原因（4至100个字）。",
            "Give the reason for the revocation (4 to 100 characters).",
            field="reason",
        )
    require(actor, REVOKE_TEMPORARY_PLATE)
    with transaction.atomic():
        plate = (
            selectors.temporary_plates_visible_to(actor=actor, action=REVOKE_TEMPORARY_PLATE)
            .select_for_update(of=("self",))
            .filter(pk=plate_id)
            .first()
        )
        if plate is None:
            raise NotFound(
                "registry.temporary_plate.not_found", "没有这副临时号牌。", "No such temporary plate."
            )
        require(actor, REVOKE_TEMPORARY_PLATE, division=plate.division)
        if plate.revoked_at is None:
            plate.revoked_at = timezone.now()
            plate.revoked_by = actor
            plate.revoked_reason = reason
            plate.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
            audit_record(
                actor=actor, action="change", subject=plate, summary=f"撤销临时号牌 {plate.number}",
                reason=reason, request=request,
            )  # fmt: skip
    return plate


# ---------------------------------------------------------------- licences from driving tests (issue 16, B22)


def _new_archive_number(division: str) -> str:
    """A free 12-digit archive number (档案编号) of the office's city: its 4-digit prefix and 8 digits."""
    import secrets

    prefix = (division or "4117")[:4]
    for _ in range(20):
        number = prefix + f"{secrets.randbelow(10**8):08d}"
        if not DrivingLicence.objects.filter(archive_number=number).exists():
            return number
    raise Conflict(
        "registry.archive_number_busy", "档案编号分配失败，请重试。", "No archive number was free; try again."
    )


def licence_grant_after_exams(
    *, person_id: int, vehicle_class: str, passed_on: date, division: str, actor: Any = None
) -> DrivingLicence:
    """Issue the licence a learner earned by passing every subject (B22, S1 art. 44): a new licence
    (first issued and valid from ``passed_on``, six years, probation from that day), or the class
    added to the licence they hold (probation again for an added large class, S1 art. 76).

    Called by the exams app inside its own transaction (``actor``: who recorded the last result,
    None for a centre's system); idempotent: a class already held changes
    nothing and returns the licence.
    """
    person = Person.objects.select_for_update().get(pk=person_id)
    licence = DrivingLicence.objects.select_for_update().filter(holder_id=person.pk).first()
    if licence is None:
        licence = DrivingLicence(
            holder=person, archive_number=_new_archive_number(division), classes=vehicle_class,
            first_issued_on=passed_on, valid_from=passed_on, validity_term=rules.ValidityTerm.SIX_YEARS.value,
            probation_started_on=passed_on, last_medical_on=None, status="A", mobile=person.mobile,
            postal_address=person.address, division=division,
        )  # fmt: skip
        licence = _save(licence, unique_fields=_LICENCE_UNIQUE)
        audit_record(
            actor=actor, action="create", subject=licence, subject_person_id=person.pk,
            summary=f"考试合格核发驾驶证 licence issued after the driving tests ({vehicle_class})",
        )  # fmt: skip
        registry_changed(event="created", licence_id=licence.pk)
        return licence
    held = rules.parse_classes(licence.classes)
    if vehicle_class in held:
        return licence
    licence.classes = rules.canonical_classes((*held, vehicle_class))
    fields = ["classes"]
    if rules.is_large_class(vehicle_class):
        licence.probation_started_on = passed_on
        fields.append("probation_started_on")
    licence.save(update_fields=fields)
    audit_record(
        actor=actor, action="change", subject=licence, subject_person_id=person.pk,
        summary=f"考试合格增加准驾车型 class added after the driving tests ({vehicle_class})",
    )  # fmt: skip
    registry_changed(event="changed", licence_id=licence.pk)
    return licence
