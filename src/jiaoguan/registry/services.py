"""Registry use cases that change vehicles and licences; each one publishes a change event."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import NotFound, ValidationFailed

from . import rules
from .events import registry_changed
from .models import DrivingLicence, Person, PointsEntry, Vehicle
from .selectors import vehicles_visible_to


def vehicle_inspection_pass(
    *, actor: Any, vehicle_id: int, inspected_on: date, request: Any = None
) -> Vehicle:
    """Record that a vehicle passed its periodic inspection (or got its label); its mark follows (E1)."""
    today = timezone.localdate()
    if inspected_on > today:
        raise ValidationFailed(
            "registry.inspection_in_future", "检验日期不能晚于今天。", "The inspection date cannot be in the future.",
            field="inspected_on",
        )  # fmt: skip
    with transaction.atomic():
        vehicle = vehicles_visible_to(actor=actor).select_for_update().filter(pk=vehicle_id).first()
        if vehicle is None:
            raise NotFound("registry.vehicle_not_found", "没有这辆车。", "No such vehicle.")
        if vehicle.last_inspected_on and inspected_on < vehicle.last_inspected_on:
            raise ValidationFailed(
                "registry.inspection_older",
                "检验日期早于已登记的上次检验。",
                "The date is earlier than the inspection already on record.",
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
    return PointsEntry.objects.filter(source=source, fine_unpaid=True).update(fine_unpaid=False)


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
