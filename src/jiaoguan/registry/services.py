"""Registry use cases that change vehicles and licences; each one publishes a change event."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import NotFound, ValidationFailed

from .events import registry_changed
from .models import Vehicle
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
