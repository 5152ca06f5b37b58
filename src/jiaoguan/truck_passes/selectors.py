"""Reads of truck restrictions and pass codes (O1, O1a), scoped to what the actor may see."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from jiaoguan.accidents.models import Party
from jiaoguan.core.access import division_prefix_for
from jiaoguan.delegations.selectors import filed_vehicle_ids
from jiaoguan.registry.models import DrivingLicence, Vehicle
from jiaoguan.registry.rules import parse_classes
from jiaoguan.violations.models import Violation

from . import rules
from .models import BlacklistDecision, PassApplication, RestrictionZone, TruckPass

APPLY = "truck_passes.own.apply"
MANAGE = "truck_passes.rules.manage"
CHECK = "truck_passes.pass.check"

LIST_LIMIT = 100


def published_zones(*, division: str = "") -> QuerySet[RestrictionZone]:
    """The published zones, of one city when ``division`` is given (public: O1a asks they are)."""
    qs = RestrictionZone.objects.filter(state=RestrictionZone.State.PUBLISHED)
    return qs.filter(division=division) if division else qs


def zones_for_staff(*, actor: Any) -> QuerySet[RestrictionZone]:
    """Every zone (draft, published, withdrawn) of the cities inside the actor's jurisdiction."""
    prefix = division_prefix_for(actor, MANAGE)
    if prefix is None:
        return RestrictionZone.objects.none()
    return RestrictionZone.objects.filter(division__startswith=prefix).exclude(
        state=RestrictionZone.State.WITHDRAWN
    )


def _licence_classes(person_id: int) -> tuple[str, ...]:
    licence = DrivingLicence.objects.filter(holder_id=person_id).only("classes").first()
    if licence is None:
        return ()
    try:
        return parse_classes(licence.classes)
    except ValueError:
        return ()


def eligible_vehicles(*, actor: Any) -> list[Vehicle]:
    """Trucks the actor may ask codes for: a company's own trucks; a person's own trucks, and the
    trucks filed to them as their driver (U7, with the owner's consent) when their licence class
    may drive that kind."""
    trucks = Vehicle.objects.filter(kind__in=rules.TRUCK_KINDS, plate_number__isnull=False)
    if getattr(actor, "kind", "") == "organisation" and getattr(actor, "organisation_id", None):
        return list(trucks.filter(owner_organisation_id=actor.organisation_id).order_by("plate_number"))
    person_id = getattr(actor, "person_id", None)
    if not person_id:
        return []
    owned = list(trucks.filter(owner_person_id=person_id).order_by("plate_number"))
    filed_ids = set(filed_vehicle_ids(actor)) - {v.pk for v in owned}
    if filed_ids:
        classes = _licence_classes(person_id)
        owned += [
            v
            for v in trucks.filter(pk__in=filed_ids).order_by("plate_number")
            if rules.can_drive(classes, v.kind)
        ]
    return owned


def my_passes(*, actor: Any) -> QuerySet[TruckPass]:
    qs = TruckPass.objects.select_related("zone")
    if getattr(actor, "kind", "") == "organisation" and getattr(actor, "organisation_id", None):
        return qs.filter(organisation_id=actor.organisation_id)
    if getattr(actor, "person_id", None):
        return qs.filter(person_id=actor.person_id)
    return TruckPass.objects.none()


def my_applications(*, actor: Any) -> QuerySet[PassApplication]:
    qs = PassApplication.objects.select_related("zone")
    if getattr(actor, "kind", "") == "organisation" and getattr(actor, "organisation_id", None):
        return qs.filter(organisation_id=actor.organisation_id)
    if getattr(actor, "person_id", None):
        return qs.filter(person_id=actor.person_id)
    return PassApplication.objects.none()


def my_pass(*, actor: Any, pass_id: int) -> TruckPass | None:
    return my_passes(actor=actor).filter(pk=pass_id).first()


def in_force(qs: QuerySet[TruckPass], today: date) -> QuerySet[TruckPass]:
    """Codes not revoked whose last day is not past (including those not yet started)."""
    return qs.filter(revoked_at__isnull=True, valid_until__gte=today)


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def violation_days(*, vehicle_ids: list[int], since: date) -> dict[int, list[date]]:
    """The days of the vehicles' violations after ``since`` (cancelled records do not count)."""
    out: dict[int, list[date]] = {pk: [] for pk in vehicle_ids}
    rows = (
        Violation.objects.filter(vehicle_id__in=vehicle_ids, occurred_at__gte=_start_of(since))
        .exclude(status=Violation.Status.CANCELLED)
        .values_list("vehicle_id", "occurred_at")
    )
    for vehicle_id, at in rows:
        out[vehicle_id].append(timezone.localtime(at).date())
    return out


def accident_days(*, vehicle_ids: list[int], since: date) -> dict[int, list[date]]:
    """The days of the accidents the vehicles were a party to after ``since`` (one per case)."""
    out: dict[int, list[date]] = {pk: [] for pk in vehicle_ids}
    rows = (
        Party.objects.filter(vehicle_id__in=vehicle_ids, case__occurred_at__gte=_start_of(since))
        .values_list("vehicle_id", "case_id", "case__occurred_at")
        .distinct()
    )
    for vehicle_id, _case, at in rows:
        out[vehicle_id].append(timezone.localtime(at).date())
    return out


def blacklist_for_staff(*, actor: Any) -> QuerySet[BlacklistDecision]:
    prefix = division_prefix_for(actor, CHECK)
    if prefix is None:
        return BlacklistDecision.objects.none()
    return BlacklistDecision.objects.filter(division__startswith=prefix).select_related(
        "organisation", "vehicle"
    )


def passes_for_plate(*, plate: str, today: date) -> QuerySet[TruckPass]:
    return in_force(TruckPass.objects.filter(plate_number=plate), today).select_related("zone")
