"""Service counters (业务窗口): nearest first, kept by the administrator, audited (issue 11, item 2)."""

from __future__ import annotations

import pytest

from jiaoguan.core.counters import DEMO_COUNTERS, closeness, counters_for, ensure_demo_counters
from jiaoguan.core.models import AuditEntry, ServiceCounter


def test_closeness_by_division():
    assert closeness("411702", "411702") == 3
    assert closeness("411721", "411702") == 2
    assert closeness("410102", "411702") == 1
    assert closeness("110101", "411702") == 0
    assert closeness("411702", "") == 0


def _counter(name, division, businesses="", active=True):
    return ServiceCounter.objects.create(
        name=name, division=division, address=f"{name}地址", hours="周一至周五 9:00–17:00",
        businesses=businesses, active=active,
    )  # fmt: skip


@pytest.mark.django_db
def test_counters_for_a_person_nearest_first_only_active_and_handling_the_business():
    _counter("市车管所", "411702")
    _counter("西平分所", "411721", businesses="B1 B8")
    _counter("遂平分所", "411728", businesses="B1")
    _counter("停用窗口", "411721", active=False)
    _counter("郑州窗口", "410102")
    names = [c.name for c in counters_for(division="411721", business_code="B8", limit=5)]
    assert names == ["西平分所", "市车管所", "郑州窗口"]
    assert [c.name for c in counters_for(division="411728", business_code="B8", limit=1)] == ["市车管所"]
    # Someone from another province is still told where this platform's counters are.
    assert len(counters_for(division="110101", business_code="B8")) == 3


@pytest.mark.django_db
def test_demo_counters_are_added_once():
    assert ensure_demo_counters() == len(DEMO_COUNTERS)
    assert ensure_demo_counters() == 0
    assert ServiceCounter.objects.count() == len(DEMO_COUNTERS)
    for row in DEMO_COUNTERS:
        assert row["businesses"] == "" or all(code.startswith("B") for code in row["businesses"].split())


@pytest.mark.django_db
def test_the_database_refuses_a_counter_without_address_or_with_a_bad_division():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceCounter.objects.create(name="无地址", division="411702", address="", hours="全天")
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceCounter.objects.create(name="错代码", division="4117", address="某地", hours="全天")


@pytest.mark.django_db
def test_the_administrator_keeps_counters_in_the_back_office_and_it_is_audited(client, make_staff):
    admin = make_staff(role="administrator", jurisdiction="411700", username="admin-counters")
    client.force_login(admin)
    form = {
        "name": "新蔡县车管分所", "division": "411729", "address": "新蔡县某路1号",
        "hours": "周一至周五 8:30–12:00", "phone": "", "businesses": "b1, b8", "active": "on",
    }  # fmt: skip
    response = client.post("/admin/core/servicecounter/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    counter = ServiceCounter.objects.get(name="新蔡县车管分所")
    assert counter.businesses == "B1 B8"
    entry = AuditEntry.objects.get(subject_type="core.servicecounter", subject_id=str(counter.pk))
    assert entry.action == "create" and entry.actor_label == "admin-counters"
    response = client.post(f"/admin/core/servicecounter/{counter.pk}/change/", {**form, "hours": "全天"})
    assert response.status_code == 302
    counter.refresh_from_db()
    assert counter.hours == "全天"
    change = AuditEntry.objects.filter(subject_type="core.servicecounter", action="change").get()
    assert "hours" in change.summary
    # A division outside the jurisdiction is refused next to the field, and nothing is saved.
    outside = client.post(
        "/admin/core/servicecounter/add/", {**form, "name": "周口窗口", "division": "411602"}
    )
    assert outside.status_code == 200 and "不在您的辖区范围内" in outside.content.decode()
    assert not ServiceCounter.objects.filter(name="周口窗口").exists()
    bad_codes = client.post("/admin/core/servicecounter/add/", {**form, "name": "乱码", "businesses": "X1"})
    assert bad_codes.status_code == 200 and not ServiceCounter.objects.filter(name="乱码").exists()


@pytest.mark.django_db
def test_a_clerk_reads_counters_but_does_not_change_them(client, make_staff):
    counter = _counter("市车管所", "411702")
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-counters")
    client.force_login(clerk)
    assert "市车管所" in client.get("/admin/core/servicecounter/").content.decode()
    assert client.get("/admin/core/servicecounter/add/").status_code == 403
    client.post(
        f"/admin/core/servicecounter/{counter.pk}/change/",
        {"name": "改名", "division": "411702", "address": "x", "hours": "x", "active": "on"},
    )
    counter.refresh_from_db()
    assert counter.name == "市车管所"
