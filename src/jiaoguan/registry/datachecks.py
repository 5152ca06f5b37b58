"""Data checks of the registry (``jiaoguan check-data``): the validators of ``validation`` over stored rows.

Each check reads its table in keyset batches and yields one finding per refused field,
plus one when a stored identifier is valid but not in the form the services store (a VIN
in lower case, a plate with its dot): uniqueness is enforced on the stored form, so such a
row could hide a duplicate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import Model

from jiaoguan.core.datachecks import CheckContext, Finding, in_batches, register_check, table_of
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import PROVINCE_ABBREVIATIONS, validate_vin

from . import services, validation
from .models import DrivingLicence, Organisation, Person, TemporaryPlate, Vehicle
from .temporary_plates import MAX_DAYS, SERIAL_DIGITS, TEMPORARY_MARK

# Fields whose stored form must be the normal form (uniqueness and look-ups depend on it).
_CANONICAL = frozenset({"id_number", "uscc", "vin", "plate_number", "classes", "status", "nationality"})


def _findings(
    model: type[Model], row: Mapping[str, Any], checked: validation.Checked, fields: tuple[str, ...]
) -> Iterator[Finding]:
    table, pk = table_of(model), str(row["pk"])
    refused = set()
    for error in checked.errors:
        refused.add(error.field)
        yield Finding(table, pk, error.field or "", f"{error.code}: {error.message}")
    for name in fields:
        if name in _CANONICAL and name not in refused and checked.values.get(name) != row.get(name):
            yield Finding(
                table, pk, name,
                f"registry.not_normalised: 存储形式应为 {checked.values.get(name)!r} "
                f"(stored {row.get(name)!r}; stored form must be the normal one)",
            )  # fmt: skip


def check_persons(context: CheckContext) -> Iterator[Finding]:
    fields = services.PERSON_FIELDS
    for rows in in_batches(Person.objects.all(), fields=fields, size=context.batch_size):
        for row in rows:
            values = {name: row[name] for name in fields}
            yield from _findings(Person, row, validation.check_person(values, today=context.today), fields)


def check_organisations(context: CheckContext) -> Iterator[Finding]:
    fields = tuple(f for f in services.ORGANISATION_FIELDS if f != "legal_representative")
    for rows in in_batches(Organisation.objects.all(), fields=fields, size=context.batch_size):
        for row in rows:
            values = {name: row[name] for name in fields}
            yield from _findings(
                Organisation, row, validation.check_organisation(values, today=context.today), fields
            )


def check_vehicles(context: CheckContext) -> Iterator[Finding]:
    fields = tuple(f for f in services.VEHICLE_FIELDS if f not in ("owner_person", "owner_organisation"))
    for rows in in_batches(Vehicle.objects.all(), fields=fields, size=context.batch_size):
        for row in rows:
            values = {name: row[name] for name in fields}
            yield from _findings(Vehicle, row, validation.check_vehicle(values, today=context.today), fields)


def check_licences(context: CheckContext) -> Iterator[Finding]:
    fields = tuple(f for f in services.LICENCE_FIELDS if f != "holder")
    for rows in in_batches(
        DrivingLicence.objects.all(), fields=(*fields, "holder__birth_date"), size=context.batch_size
    ):
        for row in rows:
            values = {name: row[name] for name in fields}
            checked = validation.check_licence(
                values, today=context.today, holder_birth_date=row["holder__birth_date"]
            )
            yield from _findings(DrivingLicence, row, checked, fields)


# A temporary plate number as temporary_plates.plate_number makes it: 豫Q临00042.
_TEMPORARY_NUMBER = re.compile(
    rf"^[{''.join(PROVINCE_ABBREVIATIONS)}][A-Z]{TEMPORARY_MARK}\d{{{SERIAL_DIGITS}}}$"
)


def check_temporary_plates(context: CheckContext) -> Iterator[Finding]:
    """Dealers' temporary plates (B18): a valid VIN in its stored form, a well-formed number and a
    validity of at most 30 days (the database keeps the 3 issues and the insurance end)."""
    table = table_of(TemporaryPlate)
    fields = ("vin", "number", "valid_from", "valid_until")
    for rows in in_batches(TemporaryPlate.objects.all(), fields=fields, size=context.batch_size):
        for row in rows:
            pk = str(row["pk"])
            try:
                if validate_vin(row["vin"]) != row["vin"]:
                    yield Finding(table, pk, "vin", "registry.not_normalised: VIN stored in another form")
            except DomainError as error:
                yield Finding(table, pk, "vin", f"{error.code}: {error.message}")
            if not _TEMPORARY_NUMBER.fullmatch(row["number"] or ""):
                yield Finding(table, pk, "number", "registry.temporary_plate.number: 临时号牌号码格式不正确")
            if (row["valid_until"] - row["valid_from"]).days + 1 > MAX_DAYS:
                yield Finding(
                    table, pk, "valid_until", f"registry.temporary_plate.days: 有效期超过{MAX_DAYS}天 (B18)"
                )


def register() -> None:
    """Called from the registry's AppConfig.ready."""
    register_check("registry.persons")(check_persons)
    register_check("registry.organisations")(check_organisations)
    register_check("registry.vehicles")(check_vehicles)
    register_check("registry.licences")(check_licences)
    register_check("registry.temporary_plates")(check_temporary_plates)
