"""Access matrix of the violations actions (core/access.py): every ``violations.*`` action x every
role x a record on the actor's own side or the other, through its page, its API endpoint and
the back office where the action governs one.

Each probe does the action with valid input on every channel and reports, per channel, the
outcome and whether the effect really happened; both must match what the table says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.violations.models import ImportBatch, Violation

pytestmark = pytest.mark.django_db

ACTION_NAMES = sorted(name for name in ACTIONS if name.startswith("violations."))


@dataclass
class Case:
    world: Any
    role: str
    where: str
    record: Callable[..., Violation]
    outcome: Callable[[Any], str]

    def __post_init__(self) -> None:
        self.side = self.world.records(self.role, self.where)
        self.page = self.world.client(self.role)
        self.api = self.world.api(self.role)

    def violation(self, *, code: str = "1344") -> Violation:
        """An unhandled camera record of the side's vehicle, recorded in the side's division."""
        return self.record(self.side.vehicle, code=code, division=self.side.division)

    def driver_fields(self) -> dict[str, str]:
        """What an organisation names the driver by when it handles online (the side's licence)."""
        if self.role != "organisation":
            return {}
        licence = self.world.licence_a
        return {"licence_number": licence.holder.id_number, "archive_number": licence.archive_number}


def _status(violation: Violation) -> str:
    return Violation.objects.get(pk=violation.pk).status


def _admin_outcome(response: Any, marker: str) -> tuple[str, bool]:
    """The back office answers a record outside the list with a redirect to its index: refused."""
    shown = response.status_code == 200 and marker in response.content.decode()
    return ("allowed" if shown else "refused"), shown


def probe_own_view(c: Case) -> list[tuple[str, str, bool]]:
    v = c.violation()
    page = c.page.get(f"/violations/{v.pk}/")
    api = c.api.get(f"/api/v1/me/violations/{v.pk}")
    return [
        ("page", c.outcome(page), page.status_code == 200 and v.record_number in page.content.decode()),
        ("api", c.outcome(api), api.status_code == 200 and api.json()["record_number"] == v.record_number),
    ]


def probe_own_handle(c: Case) -> list[tuple[str, str, bool]]:
    first, second = c.violation(), c.violation()
    page = c.page.post(
        f"/violations/{first.pk}/handle/", {"no_dispute": "on", "drove_self": "on", **c.driver_fields()}
    )
    api = c.api.post(
        f"/api/v1/me/violations/{second.pk}/handling",
        {"no_dispute": True, "drove_self": True, **c.driver_fields()},
        content_type="application/json",
    )
    return [
        ("page", c.outcome(page), _status(first) == "handled"),
        ("api", c.outcome(api), _status(second) == "handled"),
    ]


def probe_own_dispute(c: Case) -> list[tuple[str, str, bool]]:
    first, second = c.violation(), c.violation()
    reason = "当时车辆停放在小区内，并未上路行驶"
    page = c.page.post(f"/violations/{first.pk}/dispute/", {"dispute-reason": reason})
    api = c.api.post(
        f"/api/v1/me/violations/{second.pk}/disputes", {"reason": reason}, content_type="application/json"
    )
    return [
        ("page", c.outcome(page), _status(first) == "disputed"),
        ("api", c.outcome(api), _status(second) == "disputed"),
    ]


def probe_counter_view(c: Case) -> list[tuple[str, str, bool]]:
    v = c.violation()
    page = c.page.get(f"/counter/violations/{v.pk}/")
    admin_outcome, admin_shown = _admin_outcome(
        c.page.get(f"/admin/violations/violation/{v.pk}/change/"), v.record_number
    )
    return [
        ("page", c.outcome(page), page.status_code == 200 and v.record_number in page.content.decode()),
        ("admin", admin_outcome, admin_shown),
    ]


def probe_handle_at_counter(c: Case) -> list[tuple[str, str, bool]]:
    v = c.violation()
    page = c.page.post(
        f"/counter/violations/{v.pk}/handle/", {"handle-licence_number": c.side.person.id_number}
    )
    return [("page", c.outcome(page), _status(v) == "handled")]


def probe_record_on_site(c: Case) -> list[tuple[str, str, bool]]:
    before = Violation.objects.filter(source="on_site").count()
    page = c.page.post(
        "/counter/violations/on-site/",
        {
            "onsite-plate_number": c.side.vehicle.plate_number,
            "onsite-plate_type": c.side.vehicle.plate_type,
            "onsite-licence_number": c.side.person.id_number,
            "onsite-code": "1344",
            "onsite-occurred_at": (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "onsite-place": "驻马店市开源大道",
            "onsite-division": c.side.division,
        },
    )
    return [("page", c.outcome(page), Violation.objects.filter(source="on_site").count() == before + 1)]


def probe_cancel(c: Case) -> list[tuple[str, str, bool]]:
    first, second = c.violation(), c.violation()
    reason = "核实为套牌车辆，撤销记录"
    page = c.page.post(
        f"/counter/violations/{first.pk}/cancel/", {"cancel-reason": reason, "cancel-confirm": "on"}
    )
    api = c.api.post(
        f"/api/v1/counter/violations/{second.pk}/cancellation",
        {"reason": reason, "confirm": True},
        content_type="application/json",
    )
    return [
        ("page", c.outcome(page), _status(first) == "cancelled"),
        ("api", c.outcome(api), _status(second) == "cancelled"),
    ]


def probe_batch_view(c: Case) -> list[tuple[str, str, bool]]:
    # Import batches belong to no division (camera deliveries for the whole platform).
    batch = ImportBatch.objects.create(submitted_by=f"cam-{c.where}", format="csv", total_rows=1)
    outcome, shown = _admin_outcome(
        c.page.get(f"/admin/violations/importbatch/{batch.pk}/change/"), f"cam-{c.where}"
    )
    return [("admin", outcome, shown)]


PROBES: dict[str, Callable[[Case], list[tuple[str, str, bool]]]] = {
    "violations.own.view": probe_own_view,
    "violations.own.handle": probe_own_handle,
    "violations.own.dispute": probe_own_dispute,
    "violations.counter.view": probe_counter_view,
    "violations.handle_at_counter": probe_handle_at_counter,
    "violations.record_on_site": probe_record_on_site,
    "violations.cancel": probe_cancel,
    "violations.batch.view": probe_batch_view,
}


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("name", ACTION_NAMES)
def test_access_matrix(name, role, where, access_world, access_check, record):
    access_expected, access_outcome = access_check
    assert name in PROBES, f"no probe for {name}: add one"
    expected = access_expected(name, role, where)
    case = Case(world=access_world, role=role, where=where, record=record, outcome=access_outcome)
    results = PROBES[name](case)
    assert results
    for channel, outcome, effect in results:
        assert outcome == ("allowed" if expected else "refused"), (channel, outcome)
        assert effect == expected, (channel, "effect" if expected else "changed although refused")


def test_every_probe_names_an_action():
    assert set(PROBES) == set(ACTION_NAMES)
