"""Access matrix for acting for others (issue 18): every ``delegations.*`` action of the access
table x every role x a grant on the actor's side ("own") or somebody else's, through the
services and selectors, expecting exactly what the table says."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role, can
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, Unauthenticated
from jiaoguan.delegations import selectors, services
from jiaoguan.delegations.models import DelegatedAction, Entrustment, ProxyAuthorisation, VehicleFiling

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


# ---------------------------------------------------------------- elderly proxy (O2, U6)


def _elder(world: Any) -> Any:
    """A person aged 60 or over, on nobody's side of the matrix."""
    from datetime import date

    from jiaoguan.core.identifiers import make_citizen_id
    from jiaoguan.registry.models import Person

    number = make_citizen_id("411702", date(1950, 5, 6), 901)
    return Person.objects.filter(id_number=number).first() or Person.objects.create(
        id_number=number, name="张建国", sex="M", birth_date=date(1950, 5, 6), residence_division="411702",
        mobile="13903960072",
    )  # fmt: skip


def _others_proxy(world: Any, elder: Any) -> ProxyAuthorisation:
    from jiaoguan.accounts.models import User

    relative = User.objects.filter(person=world.person_c).first() or world._citizen(
        world.person_c, level="counter"
    )
    return ProxyAuthorisation.objects.create(
        relative=relative, elder=elder, relationship="child", business_code="B8", state="active",
        id_card=b"\xff\xd8\xff", id_card_content_type="image/jpeg", valid_until=timezone.localdate(),
        created_at=timezone.now(),
    )  # fmt: skip


def _proxy_create(world: Any, role: str, where: str, check: Any) -> str:
    """delegations.proxy.create (O2): a citizen asks to act for an elderly person; somebody else's
    authorisation cannot be authenticated (not found), and the page is the citizen's only."""
    import io

    from PIL import Image

    page = check(world.client(role).get("/me/elder-proxy/"))
    elder = _elder(world)
    actor = world.actor(role)
    if where == "other":
        proxy = _others_proxy(world, elder)
        ProxyAuthorisation.objects.filter(pk=proxy.pk).update(state="awaiting_auth")
        outcome = _outcome(lambda: services.proxy_authenticate(actor=actor, proxy_id=proxy.pk, capture=b"x"))
        proxy.refresh_from_db()
        assert proxy.authentication_attempts == 0
        return outcome
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (230, 230, 250)).save(out, format="JPEG")
    outcome = _outcome(
        lambda: services.proxy_create(
            actor=actor, elder_id_number=elder.id_number, elder_name=elder.name, relationship="child",
            business_code="B8", id_card=out.getvalue(),
        )
    )  # fmt: skip
    assert page == outcome
    return outcome


def _proxy_act(world: Any, role: str, where: str, check: Any) -> str:
    """delegations.proxy.act (O2): the relative applies under their own active authorisation (here
    for a business outside it, refused with its reason after the access check); somebody else's
    authorisation is not found."""
    from jiaoguan.core.errors import ValidationFailed

    elder = _elder(world)
    actor = world.actor(role)
    proxy = _others_proxy(world, elder)
    if where == "own" and actor is not None and getattr(actor, "person_id", None):
        ProxyAuthorisation.objects.filter(pk=proxy.pk).update(relative=actor)
    try:
        services.proxy_application_submit(actor=actor, proxy_id=proxy.pk, business_code="B10")
    except REFUSALS:
        return "refused"
    except ValidationFailed as reached:
        assert reached.code == "delegations.proxy.business_outside"
        return "allowed"
    raise AssertionError("a business outside the authorisation was accepted")


def _proxy_view(world: Any, role: str, where: str, check: Any) -> str:
    """delegations.proxy.view (U6): staff list the proxies of elderly people living in their
    jurisdiction ("own": 411702, "other": 411602); the page answers as the table says."""
    page = check(world.client(role).get("/counter/elder-proxies/"))
    elder = _elder(world)
    division = world.records(role, where).division
    type(elder).objects.filter(pk=elder.pk).update(residence_division=division)
    proxy = _others_proxy(world, elder)
    try:
        listed = any(p.pk == proxy.pk for p in selectors.proxies_in_jurisdiction(actor=world.actor(role)))
    except REFUSALS:
        assert page == "refused"
        return "refused"
    assert page == "allowed"
    return "allowed" if listed else "refused"


# ---------------------------------------------------------------- online entrustment (O5)


def _user_of(world: Any, person: Any) -> Any:
    from jiaoguan.accounts.models import User

    return User.objects.filter(person=person).first() or world._citizen(person, level="counter")


def _entrust(world: Any, role: str, where: str, check: Any) -> str:
    """delegations.entrustment.create: a citizen entrusts in their own name only; nobody makes an
    entrustment in somebody else's name (person C's)."""
    page = check(world.client(role).get("/me/entrustments/"))
    assert page == ("allowed" if can(world.actor(role), "delegations.entrustment.create") else "refused")
    today = timezone.localdate()
    principal = world.person_a if where == "own" else world.person_c
    agent = world.person_b
    try:
        services.entrustment_create(
            actor=world.actor(role), agent_id_number=agent.id_number, agent_name=agent.name,
            agent_mobile=agent.mobile, businesses=["vehicle.plate"], valid_from=today, valid_until=today,
        )  # fmt: skip
    except REFUSALS:
        assert not Entrustment.objects.filter(agent_id_number=agent.id_number).exists()
        return "refused"
    made = Entrustment.objects.filter(principal_person=principal, agent_id_number=agent.id_number).exists()
    return "allowed" if made else "refused"


def _use(world: Any, role: str, where: str, check: Any) -> str:
    """delegations.entrustment.use: the agent sees (and shows the QR of) an entrustment naming them;
    agent A never sees one naming B."""
    page = check(world.client(role).get("/me/entrustments/"))
    agent = world.person_a if where == "own" else world.person_b
    principal = _user_of(world, world.person_c)
    today = timezone.localdate()
    entrustment = Entrustment.objects.create(
        principal=principal, principal_person=world.person_c, agent_id_number=agent.id_number,
        agent_name=agent.name, agent_mobile=agent.mobile, businesses=["vehicle.plate"], valid_from=today,
        valid_until=today, created_at=timezone.now(),
    )  # fmt: skip
    try:
        listed = selectors.entrustments_for_agent(actor=world.actor(role)).filter(pk=entrustment.pk).exists()
    except REFUSALS:
        return "refused"
    shown = selectors.entrustment_for_display(actor=world.actor(role), entrustment_id=entrustment.pk)
    assert (shown is not None) == listed
    assert page == "allowed"
    return "allowed" if listed else "refused"


def _check(world: Any, role: str, where: str, check: Any) -> str:
    """delegations.entrustment.check: the counter checks an entrustment of a principal living in its
    jurisdiction (own: 411702) and not one outside it (other: 411602); only then is it recorded."""
    page = check(world.client(role).get("/counter/entrustments/"))
    assert page == ("allowed" if can(world.actor(role), "delegations.entrustment.check") else "refused")
    person = world.person_a if where == "own" else world.person_b
    agent = world.person_c
    today = timezone.localdate()
    entrustment = Entrustment.objects.create(
        principal=_user_of(world, person), principal_person=person, agent_id_number=agent.id_number,
        agent_name=agent.name, agent_mobile=agent.mobile, businesses=["vehicle.plate"], valid_from=today,
        valid_until=today, created_at=timezone.now(),
    )  # fmt: skip
    outcome = _outcome(
        lambda: services.entrustment_check_at_counter(
            actor=world.actor(role), token_or_id=person.id_number, agent_id_number=agent.id_number,
            business="B1",
        )
    )  # fmt: skip
    recorded = DelegatedAction.objects.filter(grant="entrustment", grant_id=entrustment.pk, outcome="done")
    assert recorded.exists() == (outcome == "allowed")
    return outcome


PROBES: dict[str, Any] = {
    "delegations.entrustment.create": _entrust,
    "delegations.entrustment.use": _use,
    "delegations.entrustment.check": _check,
    "delegations.own.view": _view,
    "delegations.own.revoke": _revoke,
    "delegations.filing.request": lambda world, role, where, check: _filing_request(world, role, where),
    "delegations.filing.consent": lambda world, role, where, check: _filing_consent(world, role, where),
    "delegations.proxy.create": _proxy_create,
    "delegations.proxy.act": _proxy_act,
    "delegations.proxy.view": _proxy_view,
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
