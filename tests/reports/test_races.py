"""Two workers make the same reports at once (N2, PostgreSQL): each recipient gets one run and one
message, and both runs end without an error."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from jiaoguan.notices.models import Message
from jiaoguan.registry.models import SchoolBusSign
from jiaoguan.reports import services
from jiaoguan.reports.models import ReportBatch, ReportRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def test_two_runs_at_once_deliver_each_report_once(make_org, make_vehicle, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent runs are exercised on PostgreSQL")
    authorities = [make_org(kind="education_authority", division=d) for d in ("411700", "411702", "411721")]
    school = make_org(kind="school")
    bus = make_vehicle(owner=school, use_nature="school_bus", kind="medium_passenger")
    SchoolBusSign.objects.create(vehicle=bus, number="XC-RACE", school=school, valid_from=date(2026, 1, 1),
                                 valid_until=date(2027, 1, 1), division="411702")  # fmt: skip

    results = run_together(
        lambda: services.reports_generate(today=date(2026, 12, 1), codes=["R02", "R03"]),
        lambda: services.reports_generate(today=date(2026, 12, 1), codes=["R02", "R03"]),
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    # R02 to the three authorities; R03 to them and the school
    assert ReportRun.objects.filter(code="R02").count() == 3
    assert ReportRun.objects.filter(code="R03").count() == 4
    assert sum(r.runs for r in results) == 7
    assert Message.objects.filter(category="reports").count() == 7
    assert set(ReportRun.objects.values_list("recipient_id", flat=True)) == {a.pk for a in authorities} | {
        school.pk
    }
    assert ReportBatch.objects.filter(finished_at__isnull=False).count() == 2
