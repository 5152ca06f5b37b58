"""Access matrix for the inspection actions (issue 14, B4): every ``inspections.*`` action of the
access table x every role x a record on the actor's side ("own") or the other side, through the
services, the pages and the API, expecting exactly what the table says."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.errors import NotAllowed, NotFound, Unauthenticated
from jiaoguan.core.identifiers import make_uscc
from jiaoguan.inspections import services
from jiaoguan.inspections.models import InspectionBooking, InspectionSlot, InspectionStation
from jiaoguan.registry.models import Organisation

pytestmark = pytest.mark.django_db

INSPECTION_ACTIONS = sorted(name for name in ACTIONS if name.startswith("inspections."))
ROLES = [role.value for role in Role]
KINDS = ",small_passenger,small_van,heavy_truck,"


def _station(
    division: str, *, organisation: Organisation | None = None, suffix: str = "A"
) -> InspectionStation:
    organisation = organisation or Organisation.objects.create(
        uscc=make_uscc(f"91{division}MA4TN{suffix}000"), name=f"检测站{division}{suffix}",
        kind="inspection_station", division=division,
    )  # fmt: skip
    station = InspectionStation.objects.create(
        organisation=organisation, division=division, address="检测站地址1号", vehicle_kinds=KINDS,
        weekly={str(d): [5, 5] for d in range(7)},
    )  # fmt: skip
    services.slots_extend(station_ids=[station.pk], weeks=1)
    return station


def _slot(station: InspectionStation, days: int = 1) -> InspectionSlot:
    return InspectionSlot.objects.get(
        station=station, day=timezone.localdate() + timedelta(days=days), half="am"
    )


def _owner_of(world: Any, vehicle: Any) -> Any:
    from jiaoguan.accounts.models import User

    if vehicle.owner_organisation_id:
        return world.organisation_user
    if vehicle.owner_person_id == world.person_a.pk:
        return world.citizen_user
    return User.objects.filter(person=vehicle.owner_person).first() or world._citizen(vehicle.owner_person)


def _outcome(call: Any) -> str:
    try:
        call()
    except (NotAllowed, NotFound, Unauthenticated):
        return "refused"
    return "allowed"


def _book(world: Any, role: str, where: str) -> str:
    station = _station("411702")
    vehicle = world.records(role, where).vehicle
    outcome = _outcome(
        lambda: services.booking_create(
            actor=world.actor(role), vehicle_id=vehicle.pk, slot_id=_slot(station).pk
        )
    )
    assert InspectionBooking.objects.filter(vehicle=vehicle).exists() == (outcome == "allowed")
    # The API says the same.
    other = _station("411702", suffix="B")
    response = world.api(role).post(
        "/api/v1/me/inspection-bookings", {"vehicle_id": vehicle.pk, "slot_id": _slot(other, 2).pk},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code in (401, 403, 404, 409), response.content
    return outcome


def _view(world: Any, role: str, where: str, check) -> str:
    vehicle = world.records(role, where).vehicle
    station = _station(vehicle.division)
    booking = services.booking_create(
        actor=_owner_of(world, vehicle), vehicle_id=vehicle.pk, slot_id=_slot(station).pk
    )
    outcome = check(world.api(role).get(f"/api/v1/me/inspection-bookings/{booking.pk}"))
    page = world.client(role).get("/inspections/")
    listed = page.status_code == 200 and f'id="booking-{booking.pk}"' in page.content.decode()
    assert listed == (outcome == "allowed")
    return outcome


def _station_view(world: Any, role: str, where: str, check) -> str:
    station = _station(world.records(role, where).division)
    return check(world.client(role).get(f"/counter/inspections/stations/{station.pk}/"))


def _station_manage(world: Any, role: str, where: str) -> str:
    station = _station(world.records(role, where).division)
    outcome = _outcome(
        lambda: services.station_change(actor=world.actor(role), station_id=station.pk, active=False)
    )
    station.refresh_from_db()
    assert station.active == (outcome != "allowed")
    return outcome


def _station_bookings(world: Any, role: str, where: str, check) -> str:
    """Own: the bookings at the organisation's own station; other: another station's."""
    mine = _station("411702", organisation=world.organisation)
    theirs = _station("411702", suffix="C")
    target = mine if where == "own" else theirs
    vehicle = world.vehicle_c
    services.booking_create(
        actor=_owner_of(world, vehicle), vehicle_id=vehicle.pk, slot_id=_slot(target, 0).pk
    )
    page = world.client(role).get("/inspections/station/")
    if check(page) == "refused":
        return "refused"
    return "allowed" if vehicle.plate_number in page.content.decode() else "refused"


PROBES: dict[str, Any] = {
    "inspections.own.book": lambda world, role, where, check: _book(world, role, where),
    "inspections.own.view": _view,
    "inspections.station.view": _station_view,
    "inspections.station.manage": lambda world, role, where, check: _station_manage(world, role, where),
    "inspections.station.bookings": _station_bookings,
}


def test_every_inspection_action_has_a_probe():
    assert sorted(PROBES) == INSPECTION_ACTIONS


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", INSPECTION_ACTIONS)
def test_matrix(name, role, where, access_world, access_check, insurer, settings):
    expected, check = access_check
    outcome = PROBES[name](access_world, role, where, check)
    assert outcome == ("allowed" if expected(name, role, where) else "refused"), (name, role, where)
