"""Access matrix for plate pre-selection (issue 17; P1-P5, B19): every ``plates.*`` action of the
access table x every role x a record on the actor's side ("own") or the other side, through the
services and selectors, expecting exactly what the table says.

Sides: staff work in 411700; their own pools and selections are those of 豫Q (411702), the other
ones of 豫P (411602, Zhoukou). A buyer's own car is pre-registered in their own name and mobile,
the other one in somebody else's; a dealer's own records are its own, the other ones another
dealer's.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role, allowed, can
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, Unauthenticated
from jiaoguan.core.identifiers import make_uscc, make_vin
from jiaoguan.plates import selectors, services
from jiaoguan.plates.models import PlatePool, PlateSelection, PoolBatch, PreRegistration
from jiaoguan.registry.models import Organisation, Vehicle

pytestmark = pytest.mark.django_db

PLATE_ACTIONS = sorted(name for name in ACTIONS if name.startswith("plates."))
ROLES = [role.value for role in Role]
_N = itertools.count(1)
REFUSALS = (NotAllowed, NotFound, Unauthenticated)
ORGANISATION_MOBILE = "13800138009"


def _outcome(call: Any, refusals: tuple[type[Exception], ...] = REFUSALS) -> str:
    try:
        call()
    except refusals:
        return "refused"
    return "allowed"


def _setup(world: Any) -> Any:
    """A provincial administrator opens 豫Q and 豫P; a dealer sells on each side (P2)."""
    if hasattr(world, "_plates"):
        return world._plates
    from jiaoguan.accounts.models import User

    admin = world.make_staff(role="administrator", jurisdiction="410000", username="x-plates-admin")
    pools = {}
    for side, division, pattern in (("own", "411702", "A8ddd"), ("other", "411602", "B8ddd")):
        pool = services.pool_create(
            actor=admin, division=division, rules_data={"plate_type": "02", "patterns": [pattern]}
        )
        services.pool_numbers_add(actor=admin, pool_id=pool.pk)
        pools[side] = pool
    dealers = {}
    for side, division in (("own", "411702"), ("other", "411602")):
        n = next(_N)
        dealer = Organisation.objects.create(
            uscc=make_uscc(f"91{division}MA9E{n:05d}"[:17]), name=f"汽车销售服务有限公司{side}{n}",
            kind="car_dealer", division=division,
        )  # fmt: skip
        dealers[side] = User.objects.create_user(
            username=dealer.uscc, password="x", kind="organisation", organisation=dealer,
            registration_level="counter",
        )  # fmt: skip
    # The matrix's organisation sells cars too, so its own-side dealer rights can be probed (P2),
    # and has a mobile the dealers record for its own purchases.
    Organisation.objects.filter(pk=world.organisation.pk).update(kind="car_dealer")
    world.organisation.kind = "car_dealer"
    org_user = world.actor("organisation")
    org_user.mobile = ORGANISATION_MOBILE
    org_user.save(update_fields=["mobile"])
    world._plates = {"admin": admin, "pools": pools, "dealers": dealers}
    return world._plates


def _car(world: Any, *, dealer_side: str, id_number: str, mobile: str) -> PreRegistration:
    n = next(_N)
    return services.preregistration_create(
        actor=_setup(world)["dealers"][dealer_side],
        data={
            "vin": make_vin(f"LFV2A21K5P{n:07d}"), "plate_type": "02", "brand_model": "大众牌 FV7152",
            "colour": "白", "buyer_id_number": id_number, "buyer_name": "购车人", "buyer_mobile": mobile,
        },
    )  # fmt: skip


def _buyer_facts(world: Any, role: str, where: str) -> tuple[str, str]:
    """The ID number and mobile of the buyer a car on this side is recorded for."""
    records = world.records(role, where)
    if role == "organisation":
        return records.organisation.uscc, ORGANISATION_MOBILE if where == "own" else "13800138010"
    return records.person.id_number, records.person.mobile


def _select(world: Any, role: str, where: str) -> str:
    """plates.own.select: a buyer selects for a car recorded in their own name and mobile (P1, P2)."""
    _setup(world)
    id_number, mobile = _buyer_facts(world, role, where)
    car = _car(world, dealer_side="own", id_number=id_number, mobile=mobile)
    outcome = _outcome(
        lambda: services.selection_start(actor=world.actor(role), vin=car.vin, mode="random"),
        (*REFUSALS, Conflict),  # somebody else's car: the ID number does not match
    )
    assert PlateSelection.objects.filter(preregistration=car).exists() == (outcome == "allowed")
    return outcome


def _preregister(world: Any, role: str, where: str) -> str:
    """plates.preregistration.create: a dealer records its own sale, and withdraws only its own
    records; another dealer's record is out of its reach (P2)."""
    _setup(world)
    if where == "own":
        n = next(_N)
        vin = make_vin(f"LFV2A21K5R{n:07d}")
        data = {
            "vin": vin, "plate_type": "02", "brand_model": "大众牌 FV7152", "buyer_id_number": world.person_c.id_number,
            "buyer_name": "李强", "buyer_mobile": world.person_c.mobile,
        }  # fmt: skip
        outcome = _outcome(lambda: services.preregistration_create(actor=world.actor(role), data=data))
        assert PreRegistration.objects.filter(vin=vin).exists() == (outcome == "allowed")
        return outcome
    record = _car(
        world, dealer_side="other", id_number=world.person_c.id_number, mobile=world.person_c.mobile
    )
    outcome = _outcome(
        lambda: services.preregistration_withdraw(actor=world.actor(role), preregistration_id=record.pk)
    )
    record.refresh_from_db()
    assert (record.state == PreRegistration.State.WITHDRAWN) == (outcome == "allowed")
    return outcome


def _draws_public(world: Any, role: str, where: str) -> str:
    """plates.draws.public: the day's commitment, seed and masked log are anyone's (issue 17 §3)."""
    return "allowed" if allowed(world.actor(role), "plates.draws.public") else "refused"


def _pool_manage(world: Any, role: str, where: str, check: Any) -> str:
    """plates.pool.manage: numbers are added to a pool of the side (issue 17 §2)."""
    pool = _setup(world)["pools"][where]
    page = check(world.client(role).get("/counter/plates/pools/"))
    assert page == ("allowed" if can(world.actor(role), "plates.pool.manage") else "refused")
    serial = "A8ddd" if pool.prefix == "豫Q" else "B8ddd"
    before = PoolBatch.objects.filter(pool=pool).count()
    outcome = _outcome(
        lambda: services.pool_numbers_add(
            actor=world.actor(role), pool_id=pool.pk, numbers_text=pool.prefix + serial[:2] + "999"
        )
    )
    assert (PoolBatch.objects.filter(pool=pool).count() > before) == (outcome == "allowed")
    return outcome


def _chosen(world: Any, where: str) -> PlateSelection:
    """A number chosen for a car of the side (豫Q for own, 豫P for other), by a buyer of that side."""
    from jiaoguan.accounts.models import User

    _setup(world)
    if where == "own":
        person, buyer = world.person_a, world.actor("citizen")
    else:
        person = world.person_b
        buyer = User.objects.filter(person=person).first() or world._citizen(person, level="counter")
    car = _car(world, dealer_side=where, id_number=person.id_number, mobile=person.mobile)
    selection = services.selection_start(actor=buyer, vin=car.vin, mode="random")
    return services.selection_choose(actor=buyer, selection_id=selection.pk, number=selection.candidates[0])


def _register(world: Any, role: str, where: str, check: Any) -> str:
    """plates.selection.register: the counter registers a chosen number of its jurisdiction (§6, P3)."""
    selection = _chosen(world, where)
    page = check(world.client(role).get("/counter/plates/registrations/"))
    assert page == ("allowed" if can(world.actor(role), "plates.selection.register") else "refused")
    outcome = _outcome(
        lambda: services.selection_register(actor=world.actor(role), selection_id=selection.pk)
    )
    assert Vehicle.objects.filter(vin=selection.preregistration.vin).exists() == (outcome == "allowed")
    return outcome


def _monitor(world: Any, role: str, where: str, check: Any) -> str:
    """plates.selection.view: a lapsed selection of the side is listed, and its number's history read (§7)."""
    selection = _chosen(world, where)
    PlateSelection.objects.filter(pk=selection.pk).update(
        register_by=timezone.localdate() - timedelta(days=1)
    )
    page = check(world.client(role).get("/counter/plates/monitoring/"))
    assert page == ("allowed" if can(world.actor(role), "plates.selection.view") else "refused")
    try:
        listed = selectors.lapsed_selections(actor=world.actor(role)).filter(pk=selection.pk).exists()
        history = selectors.number_history(actor=world.actor(role), number=selection.chosen).exists()
    except (NotAllowed, Unauthenticated):
        return "refused"
    assert listed == history
    return "allowed" if listed else "refused"


PROBES: dict[str, Any] = {
    "plates.own.select": lambda world, role, where, check: _select(world, role, where),
    "plates.preregistration.create": lambda world, role, where, check: _preregister(world, role, where),
    "plates.draws.public": lambda world, role, where, check: _draws_public(world, role, where),
    "plates.pool.manage": _pool_manage,
    "plates.selection.register": _register,
    "plates.selection.view": _monitor,
}


def test_every_plate_action_has_a_probe():
    assert set(PLATE_ACTIONS) <= set(PROBES)


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", PLATE_ACTIONS)
def test_matrix(name, role, where, access_world, access_check):
    expected, check = access_check
    outcome = PROBES[name](access_world, role, where, check)
    assert outcome == ("allowed" if expected(name, role, where) else "refused"), (name, role, where)


def test_the_pools_exist_on_both_sides(access_world):
    pools = _setup(access_world)["pools"]
    assert {p.prefix for p in PlatePool.objects.filter(pk__in=[p.pk for p in pools.values()])} == {
        "豫Q",
        "豫P",
    }
