"""Access matrix for acting for others (issue 18): every ``delegations.*`` action of the access
table x every role x a grant on the actor's side ("own") or somebody else's, through the
services and selectors, expecting exactly what the table says."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, Unauthenticated
from jiaoguan.delegations import selectors, services
from jiaoguan.delegations.models import Entrustment, VehicleFiling

pytestmark = pytest.mark.django_db

DELEGATION_ACTIONS = sorted(name for name in ACTIONS if name.startswith("delegations."))
ROLES = [role.value for role in Role]
REFUSALS = (NotAllowed, NotFound, Unauthenticated)


def _outcome(call: Any, refusals: tuple[type[Exception], ...] = REFUSALS) -> str:
    try:
        call()
    except refusals:
        return "refused"
    return "allowed"


def _entrustment(world: Any, where: str) -> Entrustment:
    """An entrustment of the matrix citizen (own) or of somebody else (other) to a third person."""
    from jiaoguan.accounts.models import User

    principal = world.actor("citizen") if where == "own" else (
        User.objects.filter(person=world.person_c).first() or world._citizen(world.person_c, level="counter")
    )  # fmt: skip
    today = timezone.localdate()
    return Entrustment.objects.create(
        principal=principal, principal_person_id=principal.person_id, agent_id_number=world.person_b.id_number,
        agent_name=world.person_b.name, agent_mobile=world.person_b.mobile, businesses=["vehicle.plate"],
        valid_from=today, valid_until=today, created_at=timezone.now(),
    )  # fmt: skip


def _filing(world: Any, where: str) -> VehicleFiling:
    """A filing of the organisation's car (own for the organisation) or of person C's car."""
    from jiaoguan.accounts.models import User

    driver = User.objects.filter(person=world.person_b).first() or world._citizen(
        world.person_b, level="counter"
    )
    vehicle = world.vehicle_o if where == "own" else world.vehicle_c
    return VehicleFiling.objects.create(
        driver=driver, vehicle=vehicle, owner_person_id=vehicle.owner_person_id,
        owner_organisation_id=vehicle.owner_organisation_id, state="active", consent_via="account",
        requested_at=timezone.now(),
    )  # fmt: skip


def _view(world: Any, role: str, where: str, check: Any) -> str:
    """delegations.own.view: the page, and an action taken in the person's name is listed to them
    only (the organisation sees the filings of its own cars)."""
    page = check(world.client(role).get("/me/delegations/"))
    if role == "organisation":
        filing = _filing(world, where)
        try:
            seen = selectors.filings_concerning(actor=world.actor(role)).filter(pk=filing.pk).exists()
        except REFUSALS:
            return "refused"
        assert page == "allowed"
        return "allowed" if seen else "refused"
    entrustment = _entrustment(world, where)
    services.delegated_action_record(
        principal_person_id=entrustment.principal_person_id, grant="entrustment", grant_id=entrustment.pk,
        business_code="B1", channel="counter", outcome="done",
    )  # fmt: skip
    try:
        listed = selectors.acted_for_me(actor=world.actor(role)).filter(grant_id=entrustment.pk).exists()
    except REFUSALS:
        assert page == "refused"
        return "refused"
    assert page == "allowed"
    return "allowed" if listed else "refused"


def _revoke(world: Any, role: str, where: str, check: Any) -> str:
    """delegations.own.revoke: a citizen revokes their own entrustment, an organisation withdraws a
    filing of its own car; anybody else's is out of reach and stays as it was."""
    if role == "organisation":
        filing = _filing(world, where)
        outcome = _outcome(lambda: services.filing_withdraw(actor=world.actor(role), filing_id=filing.pk))
        filing.refresh_from_db()
        assert (filing.state == "withdrawn") == (outcome == "allowed")
        return outcome
    entrustment = _entrustment(world, where)
    outcome = _outcome(
        lambda: services.entrustment_revoke(actor=world.actor(role), entrustment_id=entrustment.pk),
        (*REFUSALS, Conflict),
    )
    entrustment.refresh_from_db()
    assert (entrustment.revoked_at is not None) == (outcome == "allowed")
    return outcome


def _filing_request(world: Any, role: str, where: str) -> str:
    """delegations.filing.request (U7): a citizen files a car they drive (person C's) when they know
    its plate and VIN tail ("own"); named with a VIN tail that is not the car's ("other") nothing is
    filed. Organisations and staff do not file."""
    vehicle = world.vehicle_c
    tail = vehicle.vin[-6:] if where == "own" else ("000000" if vehicle.vin[-6:] != "000000" else "111111")
    outcome = _outcome(
        lambda: services.filing_request(
            actor=world.actor(role), plate_number=vehicle.plate_number, plate_type=vehicle.plate_type, vin_tail=tail
        ),
        (*REFUSALS, Conflict),
    )  # fmt: skip
    assert VehicleFiling.objects.filter(vehicle=vehicle).exists() == (outcome == "allowed")
    return outcome


def _filing_consent(world: Any, role: str, where: str) -> str:
    """delegations.filing.consent (U7): the owner of the car (a citizen, or the organisation for its
    company car) agrees to a filing; a filing of somebody else's car is out of reach."""
    from jiaoguan.accounts.models import User

    driver = User.objects.filter(person=world.person_b).first() or world._citizen(
        world.person_b, level="counter"
    )
    own_vehicle = world.vehicle_o if role == "organisation" else world.vehicle_a
    vehicle = own_vehicle if where == "own" else world.vehicle_c
    filing = VehicleFiling.objects.create(
        driver=driver, vehicle=vehicle, owner_person_id=vehicle.owner_person_id,
        owner_organisation_id=vehicle.owner_organisation_id, requested_at=timezone.now(),
    )  # fmt: skip
    outcome = _outcome(
        lambda: services.filing_consent(actor=world.actor(role), filing_id=filing.pk, accept=True)
    )
    filing.refresh_from_db()
    assert (filing.state == "active") == (outcome == "allowed")
    return outcome


PROBES: dict[str, Any] = {
    "delegations.own.view": _view,
    "delegations.own.revoke": _revoke,
    "delegations.filing.request": lambda world, role, where, check: _filing_request(world, role, where),
    "delegations.filing.consent": lambda world, role, where, check: _filing_consent(world, role, where),
}


def test_every_delegation_action_has_a_probe():
    assert set(DELEGATION_ACTIONS) <= set(PROBES)


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", DELEGATION_ACTIONS)
def test_matrix(name, role, where, access_world, access_check):
    expected, check = access_check
    outcome = PROBES[name](access_world, role, where, check)
    assert outcome == ("allowed" if expected(name, role, where) else "refused"), (name, role, where)
