"""Access matrix of the report actions (core/access.py, N2): every ``reports.*`` action x every role x
a report on the actor's own side or the other, through its page and its API endpoint.

A report outside the actor's reach (another organisation's, a recipient outside the jurisdiction)
is refused by being left out of the list and by 404 on its download; "generate now" outside the
jurisdiction makes nothing there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.registry.models import NonCompliantModel, Organisation
from jiaoguan.reports.models import ReportRun

pytestmark = pytest.mark.django_db

ACTION_NAMES = sorted(name for name in ACTIONS if name.startswith("reports."))


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

    def run(self) -> ReportRun:
        """A report already sent to the side's organisation."""
        org = self.side.organisation
        today = timezone.localdate()
        return ReportRun.objects.create(
            code="R05", period_start=today, period_end=today, period_label=today.isoformat(), recipient=org,
            recipient_role="authority", recipient_division=org.division, row_count=1,
            csv="\ufeff品牌型号 make and model\r\n某某牌 MATRIX\r\n".encode(), pdf=b"%PDF-1.4 matrix",
            sha256="0" * 64, pdf_sha256="0" * 64, delivered_at=timezone.now(),
        )  # fmt: skip


def _verdict(c: Case, response: Any, shown: bool) -> tuple[str, bool]:
    outcome = c.outcome(response)
    return ("allowed" if outcome == "allowed" and shown else "refused"), shown


def probe_own_view(c: Case) -> list[tuple[str, str, bool]]:
    run = c.run()
    page = c.page.get("/org/reports/")
    api = c.api.get("/api/v1/org/reports")
    page_file = c.page.get(f"/org/reports/{run.pk}.csv")
    api_file = c.api.get(f"/api/v1/org/reports/{run.pk}/csv")
    listed_page = page.status_code == 200 and f'id="run-{run.pk}"' in page.content.decode()
    listed_api = api.status_code == 200 and any(i["id"] == run.pk for i in api.json()["items"])
    return [
        ("page", *_verdict(c, page, listed_page)),
        ("api", *_verdict(c, api, listed_api)),
        (
            "page file",
            *_verdict(c, page_file, page_file.status_code == 200 and b"MATRIX" in page_file.content),
        ),
        ("api file", *_verdict(c, api_file, api_file.status_code == 200 and b"MATRIX" in api_file.content)),
    ]


def probe_run_view(c: Case) -> list[tuple[str, str, bool]]:
    run = c.run()
    page = c.page.get("/counter/reports/")
    api = c.api.get("/api/v1/reports/runs")
    page_file = c.page.get(f"/counter/reports/{run.pk}.csv")
    api_file = c.api.get(f"/api/v1/reports/runs/{run.pk}/csv")
    listed_page = page.status_code == 200 and f'id="run-{run.pk}"' in page.content.decode()
    listed_api = api.status_code == 200 and any(i["id"] == run.pk for i in api.json()["items"])
    return [
        ("page", *_verdict(c, page, listed_page)),
        ("api", *_verdict(c, api, listed_api)),
        (
            "page file",
            *_verdict(c, page_file, page_file.status_code == 200 and b"MATRIX" in page_file.content),
        ),
        ("api file", *_verdict(c, api_file, api_file.status_code == 200 and b"MATRIX" in api_file.content)),
    ]


def probe_run_generate(c: Case) -> list[tuple[str, str, bool]]:
    """A non-compliant model recorded in the side's division on each of two past days; the side's
    organisation is the work-safety authority R05 goes to."""
    org = c.side.organisation
    Organisation.objects.filter(pk=org.pk).update(kind="safety_authority")
    today = timezone.localdate()
    days = [today - timedelta(days=1), today - timedelta(days=2)]
    for n, day in enumerate(days):
        m = NonCompliantModel.objects.create(
            brand_model=f"某某牌 M{n}", manufacturer="某某汽车制造有限公司", finding="外廓尺寸超出公告",
            found_on=day, division=c.side.division,
        )  # fmt: skip
        moment = timezone.make_aware(
            timezone.datetime.combine(day, timezone.datetime.min.time())
        ) + timedelta(hours=10)
        NonCompliantModel.objects.filter(pk=m.pk).update(created_at=moment)
    page = c.page.post("/counter/reports/generate", {"code": "R05", "period": days[0].isoformat()})
    api = c.api.post(
        "/api/v1/reports/generate",
        {"code": "R05", "period": days[1].isoformat()},
        content_type="application/json",
    )

    def made(day):
        return ReportRun.objects.filter(code="R05", recipient=org, period_start=day).exists()

    return [("page", *_verdict(c, page, made(days[0]))), ("api", *_verdict(c, api, made(days[1])))]


PROBES: dict[str, Callable[[Case], list[tuple[str, str, bool]]]] = {
    "reports.own.view": probe_own_view,
    "reports.run.view": probe_run_view,
    "reports.run.generate": probe_run_generate,
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
