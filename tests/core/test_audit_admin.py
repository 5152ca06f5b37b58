"""The audit trail in the back office: Beijing time, roles and record types in words, scoped to the auditor."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from jiaoguan.core.audit import audit_record
from jiaoguan.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_rows_show_beijing_time_and_words(client, make_staff, make_person):
    auditor = make_staff(role="auditor")
    clerk = make_staff(role="counter_clerk")
    person = make_person()
    entry = audit_record(actor=clerk, action="view", subject=person, summary="窗口查看")
    # 16:30 UTC is half past midnight the next day in Beijing.
    AuditEntry.objects.filter(pk=entry.pk).update(at=datetime(2026, 12, 4, 16, 30, tzinfo=ZoneInfo("UTC")))
    client.force_login(auditor)

    page = client.get("/admin/core/auditentry/").content.decode()

    assert "2026-12-05 00:30:00" in page
    assert "窗口业务员 counter clerk" in page
    assert "自然人 person" in page  # the record type in words, not "registry.person"
    filtered = client.get("/admin/core/auditentry/", {"actor_role": "auditor"}).content.decode()
    assert "窗口查看" not in filtered


def test_the_auditor_of_another_city_does_not_see_zhumadian_rows(client, make_staff, make_person):
    clerk = make_staff(role="counter_clerk")
    audit_record(actor=clerk, action="view", subject=make_person(), summary="驻马店的查询")
    client.force_login(make_staff(role="auditor", jurisdiction="411600", username="zhoukou-auditor"))

    assert "驻马店的查询" not in client.get("/admin/core/auditentry/").content.decode()
