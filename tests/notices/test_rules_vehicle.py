"""The 10 vehicle notices (机动车业务告知信息, seed 002 附件2, REQ N1) and the vehicle safety warning
(N4): each with a registry state that triggers it and one that must not, at the date edges.

Dates are pinned through the scan's ``today``; the inspection and scrapping dates come from
registry.rules (inspection_valid_until, compulsory_scrapping_date), so the edges are the rule's.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from jiaoguan.registry.rules import compulsory_scrapping_date, inspection_valid_until

DAY = timedelta(days=1)


def valid_until(vehicle, today):
    return inspection_valid_until(
        kind=vehicle.kind,
        use=vehicle.use_nature,
        registered_on=vehicle.registered_on,
        last_inspected_on=vehicle.last_inspected_on,
        as_of=today,
    ).due_on


@pytest.fixture
def truck(make_person, make_vehicle):
    """An organisation-use heavy truck of a person (yearly inspection to 10 years, scrapped at 15)."""
    owner = make_person(mobile="13700137000")
    return make_vehicle(
        owner=owner,
        kind="heavy_truck",
        use_nature="organisation",
        plate_type="01",
        registered_on=date(2012, 6, 10),
        last_inspected_on=date(2023, 5, 20),
    )


@pytest.fixture
def freight(make_company, make_vehicle):
    """A freight truck of a transport company: a commercial (客货运) vehicle."""
    return make_vehicle(
        owner=make_company(),
        kind="heavy_truck",
        use_nature="freight",
        plate_type="01",
        registered_on=date(2012, 6, 10),
        last_inspected_on=date(2023, 5, 20),
    )


# ---------------------------------------------------------------- inspection (V01, V02, V08, V09)


def test_v01_fires_the_day_after_the_validity_ends(truck, scan_messages):
    due = valid_until(truck, date(2024, 1, 1))
    assert due == date(2023, 12, 31)  # half-yearly after 10 years; renewed from the May inspection
    assert scan_messages("V01", truck, due) == []
    [message] = scan_messages("V01", truck, due + DAY)
    assert message.person_id == truck.owner_person_id and message.required
    assert "豫Q" in message.body_zh and "2023年12月31日" in message.body_zh and "逾期" in message.body_zh


def test_v01_repeats_every_30_days_until_inspected(truck, scan_messages):
    due = date(2023, 12, 31)
    assert len(scan_messages("V01", truck, due + DAY)) == 1
    assert len(scan_messages("V01", truck, due + 30 * DAY)) == 0  # the same period: told already
    assert len(scan_messages("V01", truck, due + 31 * DAY)) == 1  # a new 30-day period
    truck.last_inspected_on = due + 32 * DAY
    truck.save()
    assert scan_messages("V01", truck, due + 61 * DAY) == []  # resolved: nothing new


def test_v01_is_not_for_commercial_vehicles_nor_deregistered_ones(freight, truck, scan_messages):
    today = date(2024, 1, 1)
    assert scan_messages("V01", freight, today) == []
    truck.status = "E"
    truck.save()
    assert scan_messages("V01", truck, today) == []


def test_v02_fires_when_the_third_due_has_passed(make_person, make_vehicle, scan_messages):
    car = make_vehicle(
        owner=make_person(), kind="medium_truck", use_nature="organisation", registered_on=date(2020, 3, 10)
    )
    # Yearly dues 2021-03-31, 2022-03-31, 2023-03-31, never inspected.
    assert scan_messages("V02", car, date(2023, 3, 31)) == []
    [message] = scan_messages("V02", car, date(2023, 4, 1))
    assert "2021年03月31日" in message.body_zh


def test_v08_commercial_inspection_due_soon_from_the_label_window(freight, scan_messages):
    due = valid_until(freight, date(2023, 10, 1))
    assert due == date(2023, 12, 31)
    assert scan_messages("V08", freight, date(2023, 9, 30)) == []  # window opens 2023-10-01 (S3 art. 54)
    [message] = scan_messages("V08", freight, date(2023, 10, 1))
    assert message.organisation_id == freight.owner_organisation_id  # N5: the company is told
    assert scan_messages("V08", freight, due + DAY) == []  # overdue now: that is V09


def test_v09_commercial_inspection_overdue(freight, scan_messages):
    assert scan_messages("V09", freight, date(2023, 12, 31)) == []
    [message] = scan_messages("V09", freight, date(2024, 1, 1))
    assert message.organisation_id == freight.owner_organisation_id


# ---------------------------------------------------------------- scrapping (V03, V04, V05, V10, S03)

SCRAP = date(2027, 6, 10)  # heavy truck registered 2012-06-10: 15 years (S8)


def test_scrapping_date_of_the_fixture(truck):
    assert (
        compulsory_scrapping_date(kind="heavy_truck", use="organisation", registered_on=truck.registered_on)
        == SCRAP
    )


def test_v03_within_a_year_of_scrapping(truck, scan_messages):
    assert scan_messages("V03", truck, date(2026, 6, 9)) == []
    [message] = scan_messages("V03", truck, date(2026, 6, 10))
    assert "2027年06月10日" in message.body_zh
    assert scan_messages("V03", truck, SCRAP) == []  # reached: no longer "within a year"


def test_v04_scrapping_imminent_three_months_before(truck, scan_messages):
    assert scan_messages("V04", truck, date(2027, 3, 9)) == []
    assert len(scan_messages("V04", truck, date(2027, 3, 10))) == 1


def test_v05_scrapping_overdue_after_the_date(truck, scan_messages):
    assert scan_messages("V05", truck, SCRAP) == []
    assert len(scan_messages("V05", truck, SCRAP + DAY)) == 1


def test_v10_commercial_scrapping_overdue(freight, truck, scan_messages):
    assert scan_messages("V10", freight, SCRAP) == []
    [message] = scan_messages("V10", freight, SCRAP + DAY)
    assert message.organisation_id == freight.owner_organisation_id
    assert scan_messages("V10", truck, SCRAP + DAY) == []  # not commercial: that is V05


def test_s03_safety_warning_is_not_a_required_notice(truck, scan_messages):
    assert scan_messages("S03", truck, date(2026, 6, 9)) == []
    [message] = scan_messages("S03", truck, date(2026, 6, 10))
    assert message.category == "safety" and not message.required
    assert message.deliveries.get(channel="sms").state == "skipped"  # safety SMS off by default


def test_small_private_cars_have_no_scrapping_age(make_person, make_vehicle, scan_messages):
    car = make_vehicle(
        owner=make_person(), registered_on=date(1990, 1, 1), last_inspected_on=date(2026, 1, 1)
    )
    assert scan_messages("V05", car, date(2026, 6, 1)) == []


# ---------------------------------------------------------------- recorded facts (V06, V07)


def test_v06_transfer_in_overdue_after_90_days(truck, scan_messages):
    today = timezone.localdate()
    truck.status = "B"
    truck.transferred_out_on = today - 90 * DAY
    truck.save()
    assert scan_messages("V06", truck, today) == []
    assert len(scan_messages("V06", truck, today + DAY)) == 1


def test_v06_not_once_the_transfer_is_done(truck, scan_messages):
    today = timezone.localdate()
    truck.status = "A"
    truck.transferred_out_on = today - 200 * DAY
    truck.save()
    assert scan_messages("V06", truck, today) == []


def test_v07_cloned_plate_case_cleared_within_the_lookback(truck, scan_messages):
    today = timezone.localdate()
    truck.cloned_plate_cleared_on = today - 30 * DAY
    truck.save()
    assert len(scan_messages("V07", truck, today)) == 1
    assert scan_messages("V07", truck, today + DAY) == []  # 31 days ago: outside the lookback


def test_vehicle_notice_uses_the_owner_mobile_on_the_vehicle(truck, scan_messages):
    truck.owner_mobile = "13600136000"
    truck.save()
    [message] = scan_messages("V01", truck, date(2024, 1, 1))
    assert message.deliveries.get(channel="sms").address == "13600136000"
