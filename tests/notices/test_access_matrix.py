"""Access matrix of the notices actions (core/access.py): every ``notices.*`` action x every role x
a record on the actor's own side or the other, through its page and its API endpoint.

Lists answer every allowed actor; a message of somebody else, or a delivery outside the officer's
jurisdiction, is refused by being left out."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.notices.delivery import Draft, messages_create

pytestmark = pytest.mark.django_db

ACTION_NAMES = sorted(name for name in ACTIONS if name.startswith("notices."))
_SERIAL = itertools.count(1)


@dataclass
class Case:
    world: Any
    role: str
    where: str
    outcome: Callable[[Any], str]

    def __post_init__(self) -> None:
        self.side = self.world.records(self.role, self.where)
        self.page = self.world.client(self.role)
        self.api = self.world.api(self.role)

    def message(self) -> str:
        """A message on the side (to its organisation for the organisation role); its marker."""
        marker = f"矩阵消息{next(_SERIAL)}"
        to_org = self.role == "organisation"
        messages_create(
            [
                Draft(
                    category="vehicles", title_zh=marker, title_en=marker, body_zh=marker, body_en=marker,
                    dedup_key=f"matrix-{marker}", person_id=None if to_org else self.side.person.pk,
                    organisation_id=self.side.organisation.pk if to_org else None, mobile="13800138009",
                    division=self.side.division,
                )
            ]
        )  # fmt: skip
        return marker


def _text(response: Any) -> str:
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode()


def _listed(c: Case, response: Any, marker: str) -> tuple[str, bool]:
    shown = response.status_code == 200 and marker in _text(response)
    outcome = c.outcome(response)
    return ("allowed" if outcome == "allowed" and shown else "refused"), shown


def probe_own_view(c: Case) -> list[tuple[str, str, bool]]:
    marker = c.message()
    return [
        ("page", *_listed(c, c.page.get("/messages/"), marker)),
        ("api", *_listed(c, c.api.get("/api/v1/me/messages"), marker)),
    ]


def probe_own_calendar(c: Case) -> list[tuple[str, str, bool]]:
    """The feed is of the actor's own dates only: "other" has no record to reach, so it is the
    citizen's own page and address either way (an allowed role sees its own vehicle's plate)."""
    plate = c.side.vehicle.plate_number
    page = c.page.get("/messages/calendar/")
    api = c.api.post("/api/v1/me/calendar-feed")
    results = []
    for channel, response in (("page", page), ("api", api)):
        outcome = c.outcome(response)
        if outcome == "allowed" and channel == "page":
            shown = plate in response.content.decode()
        else:
            shown = outcome == "allowed"
        results.append((channel, "allowed" if outcome == "allowed" and shown else "refused", shown))
    return results


def probe_delivery_view(c: Case) -> list[tuple[str, str, bool]]:
    marker = c.message()
    return [("page", *_listed(c, c.page.get("/counter/notices/deliveries/"), marker))]


PROBES: dict[str, Callable[[Case], list[tuple[str, str, bool]]]] = {
    "notices.own.view": probe_own_view,
    "notices.own.calendar": probe_own_calendar,
    "notices.delivery.view": probe_delivery_view,
}


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("name", ACTION_NAMES)
def test_access_matrix(name, role, where, access_world, access_check):
    access_expected, access_outcome = access_check
    assert name in PROBES, f"no probe for {name}: add one"
    expected = access_expected(name, role, where)
    if name == "notices.own.calendar" and role == "citizen":
        expected = where == "own"  # the citizen's own vehicle is on the "own" side only
    case = Case(world=access_world, role=role, where=where, outcome=access_outcome)
    results = PROBES[name](case)
    assert results
    for channel, outcome, effect in results:
        if name == "notices.own.calendar" and role == "citizen" and where == "other" and channel == "api":
            assert outcome == "allowed"  # the API makes the citizen's own address, whatever the side
            continue
        assert outcome == ("allowed" if expected else "refused"), (channel, outcome)
        assert effect == expected, (channel, "shown" if not expected else "not shown")


def test_every_probe_names_an_action():
    assert set(PROBES) == set(ACTION_NAMES)
