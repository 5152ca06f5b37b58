"""The 5 violation notices (交通违法业务告知信息, seed 002 附件2, REQ N1) and the points safety
warning (N4): each with a state that triggers it and one that must not, at the edges."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from jiaoguan.notices.catalogue import w01_drafts
from jiaoguan.notices.delivery import messages_create
from jiaoguan.notices.models import Message
from jiaoguan.registry.models import PointsEntry

DAY = timedelta(days=1)
TODAY = date(2026, 6, 15)


@pytest.fixture
def car(make_person, make_vehicle):
    return make_vehicle(owner=make_person(mobile="13500135000"), last_inspected_on=date(2026, 1, 1))


@pytest.fixture
def coach(make_company, make_vehicle):
    return make_vehicle(
        owner=make_company(), kind="large_passenger", use_nature="commercial_passenger", plate_type="01",
        registered_on=date(2022, 1, 1), last_inspected_on=date(2026, 1, 1),
    )  # fmt: skip


# ---------------------------------------------------------------- W01 camera records


def test_w01_camera_record_told_to_the_owner_once(car, make_violation, scan_messages):
    today = timezone.localdate()
    record = make_violation(vehicle=car)
    [message] = scan_messages("W01", record, today)
    assert message.dedup_key == f"N1:W01:violation:{record.pk}:p{car.owner_person_id}"
    assert message.link == f"/violations/{record.pk}/"
    assert "驿城区解放大道" in message.body_zh and car.plate_number in message.body_zh
    assert scan_messages("W01", record, today) == []


def test_w01_event_path_and_scan_share_the_key(car, make_violation, scan_messages):
    """The import event writes the message first: the scan finds it and writes nothing."""
    record = make_violation(vehicle=car)
    messages_create(w01_drafts(record))
    assert scan_messages("W01", record, timezone.localdate()) == []
    assert Message.objects.filter(rule_code="W01").count() == 1


def test_w01_not_for_on_site_handled_or_old_records(car, make_violation, scan_messages):
    today = timezone.localdate()
    assert scan_messages("W01", make_violation(vehicle=car, source="on_site"), today) == []
    assert scan_messages("W01", make_violation(vehicle=car, status="cancelled"), today) == []
    old = make_violation(vehicle=car)
    type(old).objects.filter(pk=old.pk).update(created_at=old.created_at - 31 * DAY)
    assert scan_messages("W01", old, today) == []
    type(old).objects.filter(pk=old.pk).update(created_at=old.created_at - 30 * DAY)
    assert len(scan_messages("W01", old, today)) == 1  # 30 days: within the lookback


def test_w01_of_a_company_vehicle_goes_to_the_company(coach, make_violation):
    [draft] = w01_drafts(make_violation(vehicle=coach))
    assert draft.organisation_id == coach.owner_organisation_id and draft.person_id is None
    assert draft.dedup_key.endswith(f":o{coach.owner_organisation_id}")


# ---------------------------------------------------------------- W02, W03 unhandled records


def test_w02_twenty_unhandled_records(car, make_violation, scan_messages):
    for _ in range(19):
        make_violation(vehicle=car)
    make_violation(vehicle=car, status="cancelled")
    assert scan_messages("W02", car, TODAY) == []
    make_violation(vehicle=car, status="disputed")
    [message] = scan_messages("W02", car, TODAY)
    assert "20起" in message.body_zh


def test_w03_three_unhandled_records_of_a_commercial_vehicle(coach, car, make_violation, scan_messages):
    for _ in range(2):
        make_violation(vehicle=coach)
        make_violation(vehicle=car)
    assert scan_messages("W03", coach, TODAY) == []
    make_violation(vehicle=coach)
    make_violation(vehicle=car)
    [message] = scan_messages("W03", coach, TODAY)
    assert message.organisation_id == coach.owner_organisation_id
    assert scan_messages("W03", car, TODAY) == []  # a private car: 3 records are not a notice


# ---------------------------------------------------------------- W04, W05, S01 points in the cycle


@pytest.fixture
def driver(make_person, make_licence):
    """First issued 2010-05-01: the cycle of TODAY is 2026-05-01..2027-04-30."""
    return make_licence(holder=make_person(), classes="C1", first_issued_on=date(2010, 5, 1))


def points(licence, value, on, *, unpaid=False):
    PointsEntry.objects.create(
        licence=licence, points=value, occurred_on=on, source="test", fine_unpaid=unpaid
    )


def test_w04_nine_points_in_the_cycle(driver, scan_messages):
    points(driver, 6, date(2026, 5, 1))
    points(driver, 3, date(2026, 4, 30))  # the previous cycle, fine paid
    assert scan_messages("W04", driver, TODAY) == []
    points(driver, 3, date(2026, 5, 2))
    [message] = scan_messages("W04", driver, TODAY)
    assert "9分" in message.body_zh and "2027年04月30日" in message.body_zh


def test_w04_counts_unpaid_points_carried_over(driver, scan_messages):
    points(driver, 6, date(2026, 5, 1))
    points(driver, 3, date(2026, 4, 30), unpaid=True)
    assert len(scan_messages("W04", driver, TODAY)) == 1


def test_w04_not_at_twelve_and_w05_then(driver, scan_messages):
    points(driver, 12, date(2026, 5, 10))
    assert scan_messages("W04", driver, TODAY) == []
    assert len(scan_messages("W05", driver, TODAY)) == 1


def test_w05_not_below_twelve_nor_once_cancelled(driver, scan_messages):
    points(driver, 9, date(2026, 5, 10))
    points(driver, 2, date(2026, 5, 11))
    assert scan_messages("W05", driver, TODAY) == []
    points(driver, 1, date(2026, 5, 12))
    driver.cancelled_on, driver.status = TODAY, "G"
    driver.save()
    assert scan_messages("W05", driver, TODAY) == []


def test_s01_safety_warning_from_nine_points(driver, scan_messages):
    points(driver, 6, date(2026, 5, 1))
    points(driver, 2, date(2026, 5, 2))
    assert scan_messages("S01", driver, TODAY) == []
    points(driver, 1, date(2026, 5, 3))
    [message] = scan_messages("S01", driver, TODAY)
    assert message.category == "safety" and not message.required
