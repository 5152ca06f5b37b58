"""Access matrix of the insurance actions (core/access.py): every ``insurance.*`` action x every
role x a failed check on the actor's own side or the other, through its page and its API endpoint.

The feedback list answers every allowed actor with a list; a row outside the actor's reach
(another jurisdiction, another insurer) is refused by being left out of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.identifiers import make_vin
from jiaoguan.insurance import rules
from jiaoguan.insurance.models import InsuranceCheckFailure
from jiaoguan.registry.models import Organisation

pytestmark = pytest.mark.django_db

ACTION_NAMES = sorted(name for name in ACTIONS if name.startswith("insurance."))


@dataclass
class Case:
    world: Any
    role: str
    where: str
    outcome: Callable[[Any], str]

    def __post_init__(self) -> None:
        self.side = self.world.records(self.role, self.where)
        # The world's organisation is the insurer here: the list is for insurers only.
        Organisation.objects.filter(pk=self.world.organisation.pk).update(kind="insurer")
        self.page = self.world.client(self.role)
        self.api = self.world.api(self.role)

    def failure(self) -> InsuranceCheckFailure:
        """A failed check of this week on the side: its division, and for organisations its insurer."""
        today = timezone.localdate()
        return InsuranceCheckFailure.objects.create(
            vin=make_vin("LFVBA24B0D0000771"),
            plate_number=self.side.vehicle.plate_number,
            purpose="inspection",
            missing="compulsory_insurance",
            checked_for=today,
            insurer_name=self.side.organisation.name,
            division=self.side.division,
            requested_by="matrix",
        )


def _listed(c: Case, response: Any, vin: str) -> tuple[str, bool]:
    shown = response.status_code == 200 and vin in response.content.decode()
    outcome = c.outcome(response)
    return ("allowed" if outcome == "allowed" and shown else "refused"), shown


def probe_feedback_view(c: Case) -> list[tuple[str, str, bool]]:
    row = c.failure()
    week = rules.week_of(timezone.localdate())
    page = c.page.get(f"/counter/insurance/feedback/?week={week}")
    csv = c.page.get(f"/counter/insurance/feedback/?week={week}&format=csv")
    api = c.api.get(f"/api/v1/insurance/feedback?week={week}")
    return [
        ("page", *_listed(c, page, row.vin)),
        ("csv", *_listed(c, csv, row.vin)),
        ("api", *_listed(c, api, row.vin)),
    ]


PROBES: dict[str, Callable[[Case], list[tuple[str, str, bool]]]] = {
    "insurance.feedback.view": probe_feedback_view,
}


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("name", ACTION_NAMES)
def test_access_matrix(name, role, where, access_world, access_check):
    access_expected, access_outcome = access_check
    assert name in PROBES, f"no probe for {name}: add one"
    expected = access_expected(name, role, where)
    case = Case(world=access_world, role=role, where=where, outcome=access_outcome)
    results = PROBES[name](case)
    assert results
    for channel, outcome, effect in results:
        assert outcome == ("allowed" if expected else "refused"), (channel, outcome)
        assert effect == expected, (channel, "shown" if not expected else "not shown")


def test_every_probe_names_an_action():
    assert set(PROBES) == set(ACTION_NAMES)
