"""Access matrix for the parking segments (O8): every ``parking.*`` action of the access table x
every role x a segment on the actor's side ("own") or the other side, through the pages and
services, expecting exactly what the table says.

Sides: staff work in 411700; their own segments are in 411702, the other ones in 411602 (Zhoukou).
Everyone reads published segments anywhere."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.errors import NotAllowed, NotFound, Unauthenticated
from jiaoguan.parking import services
from jiaoguan.parking.models import Segment, Window

pytestmark = pytest.mark.django_db

PARKING_ACTIONS = sorted(name for name in ACTIONS if name.startswith("parking."))
ROLES = [role.value for role in Role]
REFUSALS = (NotAllowed, NotFound, Unauthenticated)


def _outcome(call: Any) -> str:
    try:
        call()
    except REFUSALS:
        return "refused"
    return "allowed"


def _segment(world: Any, role: str, where: str, *, status: str = "draft") -> Segment:
    division = "411702" if where == "own" else "411602"
    author = world.make_staff(role="administrator", jurisdiction="410000", username="x-parking-author")
    segment = Segment.objects.create(
        division=division, road="交通路", from_landmark="解放路", to_landmark="雪松大道", side="north",
        neighbourhood="家属院", points=[[114.02, 32.99], [114.03, 32.99]], emergency_access_kept=True,
        status=status, version=1 if status == "published" else 0, created_by=author,
    )  # fmt: skip
    Window.objects.create(segment=segment, days="every_day", start=time(19, 0), end=time(7, 0))
    return segment


def _view(world: Any, role: str, where: str, check: Any) -> str:
    """parking.segment.view: a published segment's page and the API, for everyone."""
    segment = _segment(world, role, where, status="published")
    page = check(world.client(role).get(f"/parking/{segment.pk}/"))
    api = check(world.client(role).get(f"/api/v1/parking-segments/{segment.pk}"))
    assert page == api
    return page


def _edit(world: Any, role: str, where: str, check: Any) -> str:
    """parking.segment.edit: a draft's editor at the counter, within the jurisdiction."""
    segment = _segment(world, role, where)
    return check(world.client(role).get(f"/counter/parking/{segment.pk}/"))


def _publish(world: Any, role: str, where: str, check: Any) -> str:
    segment = _segment(world, role, where)
    outcome = _outcome(lambda: services.segment_publish(actor=world.actor(role), segment_id=segment.pk))
    segment.refresh_from_db()
    assert (segment.status == "published") == (outcome == "allowed")
    return outcome


PROBES: dict[str, Any] = {
    "parking.segment.view": _view,
    "parking.segment.edit": _edit,
    "parking.segment.publish": _publish,
}


def test_every_parking_action_has_a_probe():
    assert set(PARKING_ACTIONS) == set(PROBES)


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", PARKING_ACTIONS)
def test_matrix(name, role, where, access_world, access_check):
    expected, check = access_check
    outcome = PROBES[name](access_world, role, where, check)
    assert outcome == ("allowed" if expected(name, role, where) else "refused"), (name, role, where)
