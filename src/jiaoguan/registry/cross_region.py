"""The registry's side of a cross-region used-car transfer (二手车异地交易登记, T2, T3).

The transfers app (above the registry) calls these: the origin reads the record it sends in the
archive and closes its vehicle once the destination registered it; the destination registers the
car for its buyer. Each runs in the caller's transaction or its own and tells the credentials
through ``registry_changed``: the old owner's inspection mark is revoked, the buyer gets a new one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction

from jiaoguan.core.errors import Conflict, NotFound

from . import validation
from .events import registry_changed
from .models import Person, Vehicle, VehicleMortgage
from .rules import add_status

ARCHIVE_FIELDS = (
    "plate_number", "plate_type", "vin", "kind", "use_nature", "brand_model", "colour", "registered_on",
    "last_inspected_on", "on_site_inspection_required", "status", "division",
)  # fmt: skip
TRANSFERRED_OUT = "B"


def vehicle_by_vin(*, vin: str) -> Vehicle | None:
    return Vehicle.objects.select_related("owner_person").filter(vin=vin.strip().upper()).first()


def vehicle_mortgaged(*, vehicle_id: int) -> bool:
    """A mortgage in force (O6) keeps the car where it is registered until it is released."""
    return VehicleMortgage.objects.filter(vehicle_id=vehicle_id, state=VehicleMortgage.State.FILED).exists()


def vehicle_archive_record(vehicle: Vehicle) -> dict[str, Any]:
    """The registry record that travels in the archive package (T3): dates as ISO text."""
    record: dict[str, Any] = {}
    for name in ARCHIVE_FIELDS:
        value = getattr(vehicle, name)
        record[name] = value.isoformat() if isinstance(value, date) else value
    return record


def vehicle_transfer_close(*, vehicle_id: int, reference: str) -> Vehicle:
    """Close the origin's record: the car is transferred out (转出, status B) to its new owner.

    ``transferred_out_on`` stays empty on purpose: it dates a transfer-out whose transfer-in is
    still due (the N1 reminder); here the destination registered the car before we close (T2).
    Closing twice changes nothing, so the destination may repeat its message.
    """
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update().filter(pk=vehicle_id).first()
        if vehicle is None:
            raise NotFound("registry.vehicle_not_found", "没有这辆车。", "No such vehicle.")
        if TRANSFERRED_OUT in (vehicle.status or ""):
            return vehicle
        vehicle.status = add_status(vehicle.status or "A", TRANSFERRED_OUT)
        vehicle.save(update_fields=["status"])
        registry_changed(event="transferred_out", vehicle_id=vehicle.pk)
    return vehicle


def _day(value: Any) -> Any:
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _transferred_in_values(
    *, record: dict[str, Any], plate_number: str, person: Person, division: str, today: date
) -> dict[str, Any]:
    values = {
        "plate_number": plate_number, "plate_type": record.get("plate_type", ""), "vin": record.get("vin", ""),
        "kind": record.get("kind", ""), "use_nature": record.get("use_nature", ""),
        "brand_model": record.get("brand_model", ""), "colour": record.get("colour", ""),
        "owner_mobile": person.mobile, "registered_on": _day(record.get("registered_on")),
        "last_inspected_on": _day(record.get("last_inspected_on")),
        "on_site_inspection_required": bool(record.get("on_site_inspection_required")), "status": "A",
        "division": division,
    }  # fmt: skip
    checked = validation.check_vehicle(values, today=today)
    if checked.errors:
        first = checked.errors[0]
        raise Conflict(
            "registry.transfer_record_invalid", first.message_zh, first.message_en, field=first.field
        )
    values = checked.values
    if Vehicle.objects.filter(vin=values["vin"]).exists():
        raise Conflict(
            "registry.duplicate", "该车辆识别代号已在本地登记。", "A vehicle with this VIN is registered here already.",
            field="vin",
        )  # fmt: skip
    if Vehicle.objects.filter(plate_number=values["plate_number"]).exists():
        raise Conflict(
            "registry.duplicate", "该号牌号码已核发给另一辆车。", "This plate number is already issued to another vehicle.",
            field="plate_number",
        )  # fmt: skip
    return values


def _owner(owner_person_id: int) -> Person:
    person = Person.objects.filter(pk=owner_person_id).first()
    if person is None:
        raise NotFound("registry.person_not_found", "没有这位所有人。", "No such owner.")
    return person


def vehicle_transferred_in_check(
    *, record: dict[str, Any], plate_number: str, owner_person_id: int, division: str, today: date
) -> None:
    """Refuse now what :func:`vehicle_register_transferred_in` would refuse: the destination checks
    before it tells the origin to close, so a closed origin is never left without a registration."""
    _transferred_in_values(
        record=record,
        plate_number=plate_number,
        person=_owner(owner_person_id),
        division=division,
        today=today,
    )


def vehicle_register_transferred_in(
    *, record: dict[str, Any], plate_number: str, owner_person_id: int, division: str, today: date
) -> Vehicle:
    """Register at the destination the car of an archive for its buyer, under a new local plate."""
    person = _owner(owner_person_id)
    values = _transferred_in_values(
        record=record, plate_number=plate_number, person=person, division=division, today=today
    )
    try:
        with transaction.atomic():
            vehicle = Vehicle.objects.create(**values, owner_person=person)
    except IntegrityError:
        raise Conflict(
            "registry.duplicate", "号牌号码或车辆识别代号刚刚被登记，请核对。",
            "The plate or the VIN was registered just now; please check.",
        ) from None  # fmt: skip
    registry_changed(event="transferred_in", vehicle_id=vehicle.pk)
    return vehicle
