"""Which owners' cached reads a violation or fine change retires (issue 12, core/personal_reads.py).

A violation shows in my violations and the home page's counts of the vehicle's owner and of
the licence holder; a fine's decision and payment change what they show. Imports create rows
with ``bulk_create``, which sends no signal: the importer calls :func:`violations_recorded`.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save

from jiaoguan.core.personal_reads import enabled
from jiaoguan.registry.personal import vehicles_and_licences_changed

from .models import Fine, Violation


def _violation_before(sender: Any, instance: Violation, **kwargs: Any) -> None:
    if not enabled() or instance.pk is None:
        return
    instance._parties_before = (  # type: ignore[attr-defined]
        Violation.objects.filter(pk=instance.pk).values_list("vehicle_id", "licence_id").first()
    )


def _violation_changed(sender: Any, instance: Violation, **kwargs: Any) -> None:
    vehicles, licences = [instance.vehicle_id], [instance.licence_id]
    before = getattr(instance, "_parties_before", None)
    if before:
        vehicles.append(before[0])
        licences.append(before[1])
    vehicles_and_licences_changed(vehicle_ids=vehicles, licence_ids=licences)


def _fine_changed(sender: Any, instance: Fine, **kwargs: Any) -> None:
    if not enabled():
        return
    parties = (
        Violation.objects.filter(pk=instance.violation_id).values_list("vehicle_id", "licence_id").first()
    )
    if parties:
        vehicles_and_licences_changed(vehicle_ids=[parties[0]], licence_ids=[parties[1]])


def violations_recorded(violations: list[Violation]) -> None:
    """Rows created in bulk: retire the cached reads of their vehicles' owners and drivers."""
    vehicles_and_licences_changed(
        vehicle_ids=[v.vehicle_id for v in violations], licence_ids=[v.licence_id for v in violations]
    )


def connect() -> None:
    pre_save.connect(_violation_before, sender=Violation, dispatch_uid="personal_reads.before.violation")
    for model, handler in ((Violation, _violation_changed), (Fine, _fine_changed)):
        label = model._meta.label_lower
        post_save.connect(handler, sender=model, dispatch_uid=f"personal_reads.saved.{label}")
        post_delete.connect(handler, sender=model, dispatch_uid=f"personal_reads.deleted.{label}")
