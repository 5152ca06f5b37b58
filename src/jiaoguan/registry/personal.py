"""Which owners' cached reads a registry change retires (issue 12, core/personal_reads.py).

Persons, organisations, vehicles, licences and points entries feed my vehicles, my licences,
my violations (through whose vehicle and licence a violation is) and the home page. Every save
or delete of one of them renews the versions of the owners it concerns, the owner before and
after a transfer included. Changes made with ``QuerySet.update`` send no signal; the services
that make them call :func:`jiaoguan.core.personal_reads.personal_data_changed` themselves.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save

from jiaoguan.core.personal_reads import enabled, personal_data_changed

from .models import DrivingLicence, Organisation, Person, PointsEntry, Vehicle


def _person_changed(sender: Any, instance: Person, **kwargs: Any) -> None:
    personal_data_changed(person_ids=[instance.pk])


def _organisation_changed(sender: Any, instance: Organisation, **kwargs: Any) -> None:
    personal_data_changed(organisation_ids=[instance.pk])


def _vehicle_owners_before(sender: Any, instance: Vehicle, **kwargs: Any) -> None:
    if not enabled() or instance.pk is None:
        return
    before = (
        Vehicle.objects.filter(pk=instance.pk).values_list("owner_person_id", "owner_organisation_id").first()
    )
    instance._owners_before = before  # type: ignore[attr-defined]


def _vehicle_changed(sender: Any, instance: Vehicle, **kwargs: Any) -> None:
    persons, organisations = [instance.owner_person_id], [instance.owner_organisation_id]
    before = getattr(instance, "_owners_before", None)
    if before:
        persons.append(before[0])
        organisations.append(before[1])
    personal_data_changed(person_ids=persons, organisation_ids=organisations)


def _licence_holder_before(sender: Any, instance: DrivingLicence, **kwargs: Any) -> None:
    if not enabled() or instance.pk is None:
        return
    instance._holder_before = (  # type: ignore[attr-defined]
        DrivingLicence.objects.filter(pk=instance.pk).values_list("holder_id", flat=True).first()
    )


def _licence_changed(sender: Any, instance: DrivingLicence, **kwargs: Any) -> None:
    personal_data_changed(person_ids=[instance.holder_id, getattr(instance, "_holder_before", None)])


def _points_changed(sender: Any, instance: PointsEntry, **kwargs: Any) -> None:
    if not enabled():
        return
    holder = DrivingLicence.objects.filter(pk=instance.licence_id).values_list("holder_id", flat=True).first()
    personal_data_changed(person_ids=[holder])


def owners_of(*, vehicle_ids: Any = (), licence_ids: Any = ()) -> tuple[set[int], set[int]]:
    """The persons and organisations that own these vehicles or hold these licences."""
    persons: set[int] = set()
    organisations: set[int] = set()
    vehicle_ids, licence_ids = [pk for pk in set(vehicle_ids) if pk], [pk for pk in set(licence_ids) if pk]
    owners = Vehicle.objects.filter(pk__in=vehicle_ids).values_list(
        "owner_person_id", "owner_organisation_id"
    )
    for person, organisation in owners:
        if person:
            persons.add(person)
        if organisation:
            organisations.add(organisation)
    persons.update(
        pk
        for pk in DrivingLicence.objects.filter(pk__in=licence_ids).values_list("holder_id", flat=True)
        if pk
    )
    return persons, organisations


def vehicles_and_licences_changed(*, vehicle_ids: Any = (), licence_ids: Any = ()) -> None:
    """Retire the cached reads of the owners of these vehicles and licences (a violation of
    them was recorded, handled or paid)."""
    if not enabled():
        return
    persons, organisations = owners_of(vehicle_ids=vehicle_ids, licence_ids=licence_ids)
    personal_data_changed(person_ids=persons, organisation_ids=organisations)


def connect() -> None:
    for model, handler in (
        (Person, _person_changed),
        (Organisation, _organisation_changed),
        (Vehicle, _vehicle_changed),
        (DrivingLicence, _licence_changed),
        (PointsEntry, _points_changed),
    ):
        label = model._meta.label_lower
        post_save.connect(handler, sender=model, dispatch_uid=f"personal_reads.saved.{label}")
        post_delete.connect(handler, sender=model, dispatch_uid=f"personal_reads.deleted.{label}")
    pre_save.connect(_vehicle_owners_before, sender=Vehicle, dispatch_uid="personal_reads.before.vehicle")
    pre_save.connect(
        _licence_holder_before, sender=DrivingLicence, dispatch_uid="personal_reads.before.licence"
    )
