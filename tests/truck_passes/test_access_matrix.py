"""Access matrix for truck pass codes (O1, O1a): every ``truck_passes.*`` action of the access table
x every role x a record on the actor's side ("own") or the other side, through the services and
pages, expecting exactly what the table says.

Sides: a citizen's or company's own truck is theirs, the other one somebody else's; staff work in
411700, their own zones and codes are of Zhumadian (411700), the other ones of Zhoukou (411600),
which the province-wide roadside check still covers."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.errors import NotAllowed, NotFound, Unauthenticated, ValidationFailed
from jiaoguan.truck_passes import rules, services, tokens
from jiaoguan.truck_passes.models import PassApplication, RestrictionZone, TruckPass

from .conftest import zone_input

pytestmark = pytest.mark.django_db

TRUCK_ACTIONS = sorted(name for name in ACTIONS if name.startswith("truck_passes."))
ROLES = [role.value for role in Role]
REFUSALS = (NotAllowed, NotFound, Unauthenticated)
CITIES = {"own": "411700", "other": "411600"}


def _outcome(call: Any, refusals: tuple[type[Exception], ...] = REFUSALS) -> str:
    try:
        call()
    except refusals:
        return "refused"
    return "allowed"


def _zone(world: Any, where: str, *, state: str = "published") -> RestrictionZone:
    author = world.make_staff(
        role="administrator", jurisdiction="410000", username=f"x-truck-{where}-{state}"
    )
    return RestrictionZone.objects.create(
        division=CITIES[where], name=f"中心城区{where}{state}", kind="core", roads="解放路以内",
        vehicle_kinds=list(rules.TRUCK_KINDS), windows=rules.windows_data(rules.parse_windows("1-7 07:00-09:00")),  # type: ignore[arg-type]
        state=state, changed_by=author,
    )  # fmt: skip


def _truck(world: Any, role: str, where: str) -> Any:
    """The side's vehicle made a small truck: the actor's own, or somebody else's."""
    from jiaoguan.registry.models import Vehicle

    vehicle = world.records(role, where).vehicle
    Vehicle.objects.filter(pk=vehicle.pk).update(kind="small_truck")
    vehicle.refresh_from_db()
    return vehicle


def _apply(world: Any, role: str, where: str, check: Any) -> str:
    """truck_passes.own.apply: a citizen or company applies for its own truck; nobody for somebody
    else's (the service takes only the actor's own or filed trucks)."""
    zone = _zone(world, "own")
    truck = _truck(world, role, where)
    page = check(world.client(role).get("/truck-passes/"))
    outcome = _outcome(
        lambda: services.pass_apply(
            actor=world.actor(role),
            zone_id=zone.pk,
            plates=[truck.plate_number],
            start="07:00",
            end="08:00",
            valid_from=timezone.localdate(),
            days=10,
        ),
        (*REFUSALS, ValidationFailed),
    )
    assert TruckPass.objects.exists() == (outcome == "allowed")
    if where == "own":
        assert page == outcome
    return outcome


def _manage(world: Any, role: str, where: str, check: Any) -> str:
    """truck_passes.rules.manage: the city's police edit and publish its zones, in the jurisdiction."""
    actor = world.actor(role)
    outcome = _outcome(
        lambda: services.zone_save(actor=actor, data=zone_input(name=f"区域{where}"), division=CITIES[where])
    )
    assert RestrictionZone.objects.filter(name=f"区域{where}").exists() == (outcome == "allowed")
    draft = _zone(world, where, state="draft")
    published = _outcome(lambda: services.zone_publish(actor=actor, zone_id=draft.pk))
    assert published == outcome
    if where == "own":
        assert check(world.client(role).get("/counter/truck-rules/")) == outcome
    return outcome


def _check(world: Any, role: str, where: str, check: Any) -> str:
    """truck_passes.pass.check: police check a code by its QR anywhere in the province (audited)."""
    zone = _zone(world, where)
    truck = world.records("citizen", "own").vehicle
    application = PassApplication.objects.create(
        applicant=world.actor("citizen"), person=truck.owner_person, zone=zone, start=420, end=480,
        valid_from=timezone.localdate(), days_asked=10,
    )  # fmt: skip
    truck_pass = TruckPass.objects.create(
        application=application, vehicle=truck, plate_number=truck.plate_number, vehicle_kind="small_truck",
        person=truck.owner_person, zone=zone, zone_version=1, division=zone.division, start=420, end=480,
        weekdays=[1, 2, 3, 4, 5, 6, 7], valid_from=timezone.localdate(), valid_until=timezone.localdate(),
    )  # fmt: skip
    text = tokens.pass_token(truck_pass=truck_pass).text
    outcome = _outcome(lambda: services.roadside_check(actor=world.actor(role), text=text))
    if where == "own":
        assert check(world.client(role).get("/counter/truck-passes/")) == outcome
    return outcome


PROBES: dict[str, Any] = {
    "truck_passes.own.apply": _apply,
    "truck_passes.rules.manage": _manage,
    "truck_passes.pass.check": _check,
}


def test_every_truck_action_has_a_probe():
    assert set(TRUCK_ACTIONS) == set(PROBES)


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", TRUCK_ACTIONS)
def test_matrix(name, role, where, access_world, access_check):
    expected, check = access_check
    outcome = PROBES[name](access_world, role, where, check)
    assert outcome == ("allowed" if expected(name, role, where) else "refused"), (name, role, where)
