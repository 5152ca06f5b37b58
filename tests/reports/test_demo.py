"""The demo's notice facts and the reports made from them (issue 15, N2): each planted fact is in
its report, sent to the recipients worked out by hand (notice_facts.PLANTED), once."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from jiaoguan.demo.generate import ensure_demo_logins, generate_demo
from jiaoguan.demo.notice_facts import PLANTED, ensure_demo_notice_facts
from jiaoguan.reports.models import ReportRun

pytestmark = pytest.mark.django_db

PASSWORD = "Demo#2026report"


def _cells(run: ReportRun) -> list[list[str]]:
    return list(csv.reader(io.StringIO(bytes(run.csv).decode("utf-8-sig"))))[1:]


def test_the_planted_facts_reach_their_reports_and_recipients(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    today = timezone.localdate()
    generate_demo(persons=40, seed=5, today=today)
    ensure_demo_logins(today=today, password=PASSWORD)

    logins = ensure_demo_notice_facts(today=today, password=PASSWORD)

    assert [row["username"][:8] for row in logins] == ["91411700"] * 3
    for code, (key, recipients) in PLANTED.items():
        runs = ReportRun.objects.filter(code=code).select_related("recipient")
        having = sorted(run.recipient.name for run in runs if any(key in row for row in _cells(run)))
        assert having == sorted(recipients), code
    # the authority's monthly R01 holds the truck with its 3 overdue violations
    r01 = ReportRun.objects.get(code="R01", recipient__name="驻马店市交通运输局")
    truck = next(row for row in _cells(r01) if row[0] == "豫QN2F01")
    assert truck[4] == "3"
    # R06 ranks schools by exam results; this demo has none, so whatever is sent ranks nobody
    assert all(_cells(run) == [] for run in ReportRun.objects.filter(code="R06"))
    # again (the next `jiaoguan up`): nothing new, nothing planted twice
    count = ReportRun.objects.count()
    ensure_demo_notice_facts(today=today, password=PASSWORD)
    assert ReportRun.objects.count() == count
    out = io.StringIO()
    call_command("reports_generate", stdout=out)
    assert "0 reports delivered" in out.getvalue()
