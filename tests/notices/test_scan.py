"""The daily scan (N1, N4, N5): the table of 37 notices, idempotency, resumability, channels and
recipients, the command and the worker's daily slot."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command

from jiaoguan.notices import scan
from jiaoguan.notices.catalogue import RULES, Subject, Trigger
from jiaoguan.notices.models import Delivery, Message, ScanRun
from jiaoguan.notices.scan import notices_scan, rule_scan
from jiaoguan.registry.models import PointsEntry

TODAY = date(2026, 6, 15)


def test_the_table_has_the_37_notices_of_the_seed_in_order():
    """Seed 002 附件2: 10 vehicle, 22 licence, 5 violation notices (N1), plus 3 safety warnings (N4)."""
    codes = list(RULES)
    assert codes[:37] == [f"V{n:02d}" for n in range(1, 11)] + [f"L{n:02d}" for n in range(1, 23)] + [
        f"W{n:02d}" for n in range(1, 6)
    ]
    assert codes[37:] == ["S01", "S02", "S03"]
    assert all(RULES[c].required for c in codes[:37]) and not any(RULES[c].required for c in codes[37:])
    assert RULES["V01"].title_zh == "逾期未检验" and RULES["L22"].title_zh == "校车驾驶资格注销"
    assert RULES["W05"].title_zh == "交通违法记分满分"
    assert RULES["W01"].trigger == Trigger.EVENT and RULES["W01"].subject == Subject.VIOLATION
    assert (
        RULES["V01"].repeat_policy == "every 30 days until resolved" and RULES["V02"].repeat_policy == "once"
    )


@pytest.fixture
def world(make_person, make_vehicle, make_licence, make_company):
    """A few overdue vehicles and licences, one of each kind of recipient."""
    company = make_company()
    no_mobile = make_person(mobile="")
    overdue = [
        make_vehicle(owner=make_person(), kind="heavy_truck", use_nature="organisation", registered_on=date(2015, 1, 1),
                     last_inspected_on=date(2024, 1, 10))
        for _ in range(5)
    ]  # fmt: skip
    silent = make_vehicle(
        owner=no_mobile, kind="heavy_truck", use_nature="organisation", registered_on=date(2015, 1, 1),
        last_inspected_on=date(2024, 1, 10),
    )  # fmt: skip
    driver = make_licence(
        holder=make_person(),
        classes="C1",
        first_issued_on=date(2010, 5, 1),
        employer=company,
        mobile="13300133000",
    )
    PointsEntry.objects.create(licence=driver, points=9, occurred_on=date(2026, 5, 10), source="t")
    return {"company": company, "overdue": overdue, "silent": silent, "driver": driver}


def test_running_twice_sends_nothing_twice(world):
    first = notices_scan(today=TODAY)
    count = Message.objects.count()
    assert count >= 8 and sum(r.messages for r in first) == count
    again = notices_scan(today=TODAY)  # finished rules are skipped
    assert all(r.skipped for r in again) and Message.objects.count() == count
    notices_scan(today=TODAY, rerun=True)  # scanned again: every fact is told already
    assert Message.objects.count() == count
    notices_scan(today=TODAY + timedelta(days=1))  # the next day: same facts, same periods
    assert Message.objects.count() == count


def test_an_interrupted_scan_resumes_without_duplicates(world, monkeypatch):
    real = scan.messages_create
    calls = {"n": 0}

    def failing(drafts, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the worker was stopped")
        return real(drafts, **kw)

    monkeypatch.setattr(scan, "messages_create", failing)
    with pytest.raises(RuntimeError):
        rule_scan("V01", today=TODAY, chunk_size=2)
    run = ScanRun.objects.get(day=TODAY, rule_code="V01")
    assert not run.done and run.last_id == world["overdue"][1].pk and run.messages == 2
    assert Message.objects.filter(rule_code="V01").count() == 2

    monkeypatch.setattr(scan, "messages_create", real)
    result = rule_scan("V01", today=TODAY, chunk_size=2)
    run.refresh_from_db()
    assert run.done and run.messages == 6 and result.messages == 6
    assert Message.objects.filter(rule_code="V01").count() == 6


def test_a_time_boxed_run_continues_the_next_time(world):
    rule_scan("V01", today=TODAY, chunk_size=2, max_chunks=1)
    assert Message.objects.filter(rule_code="V01").count() == 2
    assert not ScanRun.objects.get(day=TODAY, rule_code="V01").done
    rule_scan("V01", today=TODAY, chunk_size=2)
    assert Message.objects.filter(rule_code="V01").count() == 6


def test_each_message_has_its_channels_logged(world):
    rule_scan("V01", today=TODAY)
    silent = Message.objects.get(rule_code="V01", person=world["silent"].owner_person)
    sms = silent.deliveries.get(channel=Delivery.Channel.SMS)
    assert sms.state == Delivery.State.SKIPPED and "no mobile" in sms.result
    assert silent.deliveries.get(channel=Delivery.Channel.IN_APP).state == Delivery.State.SENT
    told = Message.objects.filter(rule_code="V01").exclude(pk=silent.pk).first()
    assert told.deliveries.get(channel=Delivery.Channel.SMS).state == Delivery.State.PENDING


def test_licence_notices_go_to_the_employer_too(world):
    """N5: road-transport companies are told about their drivers."""
    rule_scan("W04", today=TODAY)
    messages = Message.objects.filter(rule_code="W04")
    assert {(m.person_id, m.organisation_id) for m in messages} == {
        (world["driver"].holder_id, None),
        (None, world["company"].pk),
    }
    to_company = messages.get(organisation=world["company"])
    assert to_company.deliveries.get(channel="sms").address == "13900139000"
    to_driver = messages.get(person=world["driver"].holder)
    assert to_driver.deliveries.get(channel="sms").address == "13300133000"  # the licence's mobile first


def test_safety_warnings_do_not_go_to_the_employer(world):
    rule_scan("S01", today=TODAY)
    assert list(Message.objects.filter(rule_code="S01").values_list("organisation", flat=True)) == [None]


def test_command_scans_and_reports(world, capsys):
    call_command("notices_scan", "--date", TODAY.isoformat(), "--rule", "V01", "W04")
    out = capsys.readouterr().out
    assert "V01: 6 candidates, 6 hits, 6 new messages" in out and "total: 8 new messages" in out
    call_command("notices_scan", "--date", TODAY.isoformat(), "--rule", "V01")
    assert "already done" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("notices_scan", "--rule", "X99")
    with pytest.raises(CommandError):
        call_command("notices_scan", "--date", "15/06/2026")


def test_the_worker_runs_the_scan_daily():
    from jiaoguan.worker import DAILY, SCHEDULE

    [periodic] = [p for p in SCHEDULE if p.name == "notices.scan"]
    assert periodic.every_seconds is DAILY


def test_the_task_scans_the_given_day(world):
    from jiaoguan.notices.tasks import notices_scan_task

    assert notices_scan_task.call(day=TODAY.isoformat()) == Message.objects.count() > 0


def test_the_demo_registry_gets_its_notices(db):
    """`jiaoguan up` scans the demo registry once it is generated: a few notices, quickly."""
    import time

    from django.utils import timezone

    from jiaoguan.demo.generate import generate_demo

    today = timezone.localdate()
    generate_demo(persons=300, seed=7, today=today)
    started = time.monotonic()
    results = notices_scan(today=today)
    assert time.monotonic() - started < 30
    assert sum(r.messages for r in results) == Message.objects.count() > 0
    assert Message.objects.filter(rule_code__startswith="V").exists()
