"""Each report's query (N2, seed 002 附件3) against figures worked out by hand on data made here.

Given registry facts on both sides of each rule's line, when the report's query runs for a
period, then exactly the rows counted by hand come back, with the figures counted by hand.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry.models import DrugUseRecord, NonCompliantModel, PointsEntry, SchoolBusSign
from jiaoguan.reports import catalogue, queries
from jiaoguan.reports.rules import day_period, month_period

from .conftest import aware

pytestmark = pytest.mark.django_db

NOV = month_period(date(2026, 11, 1))  # 2026-11-01 .. 2026-11-30
DAY = day_period(date(2026, 12, 3))


def _by_plate(rows):
    return {r.cells[0]: r for r in rows}


def test_every_report_is_listed_in_order_with_its_columns():
    assert catalogue.CODES == tuple(f"R{n:02d}" for n in range(1, 12))
    for r in catalogue.REPORTS:
        if r.available:
            assert r.columns[-1].zh == "行政区划"
    assert all(r.available for r in catalogue.REPORTS)
    assert [c.en for c in catalogue.report("R06").columns] == [
        "rank", "driving school", "tests", "passes", "pass rate", "division",
    ]  # fmt: skip


def test_r01_counts_overdue_unhandled_violations_of_commercial_vehicles(
    make_person, make_vehicle, make_org, make_violation
):
    company = make_org(kind="transport_company", name="天中出租汽车公司")
    owner = make_person(name="王建军")
    taxi = make_vehicle(owner=company, use_nature="taxi", plate="豫QT0001")
    truck = make_vehicle(owner=company, use_nature="freight", kind="heavy_truck", plate="豫QH0002")
    private = make_vehicle(owner=owner, plate="豫QP0003")
    bus = make_vehicle(owner=owner, use_nature="school_bus", kind="medium_passenger", plate="豫QX0004")
    gone = make_vehicle(owner=company, use_nature="dangerous_goods", plate="豫QD0005", status="E")
    elsewhere = make_vehicle(owner=company, use_nature="freight", plate="豫PF0006", division="411602")
    # taxi: 3 overdue (the cut-off is 15 days before the month's end: offences up to 11-15 count)
    for day in (date(2026, 11, 1), date(2026, 11, 10)):
        make_violation(vehicle=taxi, at=aware(day))
    make_violation(vehicle=taxi, at=aware(date(2026, 11, 15), 23))
    make_violation(vehicle=taxi, at=aware(date(2026, 11, 16), 1))  # not overdue yet at 11-30
    # truck: 2 unhandled and a cancelled one -> 2, below the threshold
    make_violation(vehicle=truck, at=aware(date(2026, 10, 1)))
    make_violation(vehicle=truck, at=aware(date(2026, 10, 2)))
    make_violation(vehicle=truck, at=aware(date(2026, 10, 3)), status="cancelled")
    for n in range(5):  # a private car is not in the report whatever its count
        make_violation(vehicle=private, at=aware(date(2026, 10, 1 + n)))
    for n in range(3):
        make_violation(vehicle=bus, at=aware(date(2026, 10, 1 + n)))
    make_violation(vehicle=bus, at=aware(date(2026, 10, 9)), status="disputed")  # disputed still unhandled
    for n in range(3):
        make_violation(vehicle=gone, at=aware(date(2026, 10, 1 + n)))
        make_violation(vehicle=elsewhere, at=aware(date(2026, 10, 1 + n)))

    rows = _by_plate(queries.r01_overdue_violations(NOV))

    assert set(rows) == {"豫QT0001", "豫QX0004", "豫PF0006"}
    assert rows["豫QT0001"].cells[4] == "3"
    assert rows["豫QT0001"].cells[5] == "2026-11-01 10:00"
    assert rows["豫QT0001"].cells[6] == "2026-11-15 23:00"
    assert rows["豫QT0001"].company_id == company.pk
    assert rows["豫QT0001"].cells[3] == "天中出租汽车公司"
    assert rows["豫QX0004"].cells[4] == "4"
    assert rows["豫QX0004"].cells[3] == "王**"  # a private owner only masked
    assert rows["豫QX0004"].company_id is None
    assert rows["豫PF0006"].division == "411602"


def test_r02_lists_the_signs_in_force_in_the_month_with_their_state(make_person, make_vehicle, make_org):
    school = make_org(kind="school", name="驿城区第一小学")
    bus = make_vehicle(owner=school, use_nature="school_bus", kind="medium_passenger")

    def sign(number, valid_from, valid_until, revoked_on=None):
        return SchoolBusSign.objects.create(
            vehicle=bus, number=number, school=school, valid_from=valid_from, valid_until=valid_until,
            revoked_on=revoked_on, division="411702",
        )  # fmt: skip

    sign("XC001", date(2026, 1, 1), date(2027, 1, 1))
    sign("XC002", date(2025, 9, 1), date(2026, 11, 15))
    sign("XC003", date(2026, 1, 1), date(2027, 1, 1), revoked_on=date(2026, 11, 10))
    sign("XC004", date(2026, 1, 1), date(2027, 1, 1), revoked_on=date(2026, 10, 20))
    sign("XC005", date(2025, 11, 1), date(2026, 10, 31))
    sign("XC006", date(2026, 12, 1), date(2027, 12, 1))

    rows = _by_plate(queries.r02_school_bus_signs(NOV))

    assert {n: r.cells[6] for n, r in rows.items()} == {"XC001": "有效", "XC002": "已过期", "XC003": "已注销"}
    assert rows["XC003"].cells[7] == "2026-11-10"
    assert rows["XC001"].cells[2] == "驿城区第一小学"


def test_r03_counts_each_school_buss_violations_accidents_and_inspection(
    make_person, make_vehicle, make_org, make_violation, make_accident
):
    school = make_org(kind="school", name="驿城区第二小学")
    new_bus = make_vehicle(
        owner=school, use_nature="school_bus", kind="medium_passenger", plate="豫QX1001",
        registered_on=date(2026, 3, 10),
    )  # fmt: skip
    old_bus = make_vehicle(
        owner=school, use_nature="school_bus", kind="large_passenger", plate="豫QX1002",
        registered_on=date(2015, 5, 1), last_inspected_on=date(2024, 1, 10), division="411721",
    )  # fmt: skip
    make_vehicle(owner=school, use_nature="school_bus", plate="豫QX1003", status="E")  # deregistered
    make_vehicle(owner=school, plate="豫QX1004")  # not a school bus
    SchoolBusSign.objects.create(
        vehicle=new_bus, number="XC101", school=school, valid_from=date(2026, 3, 10),
        valid_until=date(2027, 3, 9), division="411702",
    )  # fmt: skip
    make_violation(vehicle=new_bus, at=aware(date(2026, 11, 2)))
    make_violation(vehicle=new_bus, at=aware(date(2026, 11, 30), 22))
    make_violation(vehicle=new_bus, at=aware(date(2026, 11, 5)), status="cancelled")
    make_violation(vehicle=new_bus, at=aware(date(2026, 10, 31), 23))  # October
    make_accident(vehicle=new_bus, at=aware(date(2026, 11, 20)))
    make_accident(vehicle=old_bus, at=aware(date(2026, 12, 1)))  # December

    rows = _by_plate(queries.r03_school_buses(NOV))

    assert set(rows) == {"豫QX1001", "豫QX1002"}
    new, old = rows["豫QX1001"], rows["豫QX1002"]
    assert new.cells[1:5] == ("XC101", "驿城区第二小学", "2", "1")
    assert new.company_id == school.pk
    assert old.cells[1:5] == ("", "", "0", "0")
    assert old.company_id is None
    due_new = registry_rules.inspection_valid_until(
        kind="medium_passenger", use="school_bus", registered_on=date(2026, 3, 10), last_inspected_on=None,
        as_of=NOV.end,
    ).due_on  # fmt: skip
    assert due_new > NOV.end and new.cells[5:7] == (due_new.isoformat(), "有效")
    assert old.cells[6] == "逾期未检验"  # last inspected early in 2024, due every 6 months after 5 years


def test_r04_lists_passenger_and_freight_vehicles_overdue_or_past_scrapping(
    make_person, make_vehicle, make_org
):
    company = make_org(kind="transport_company", name="驻马店市货运公司")
    old_truck = make_vehicle(
        owner=company, use_nature="freight", kind="heavy_truck", plate="豫QF2001",
        registered_on=date(2010, 1, 15), last_inspected_on=date(2026, 10, 1),
    )  # fmt: skip
    make_vehicle(
        owner=company, use_nature="commercial_passenger", kind="large_passenger", plate="豫QK2002",
        registered_on=date(2024, 2, 10),
    )  # fmt: skip
    make_vehicle(owner=company, use_nature="taxi", plate="豫QT2003", registered_on=date(2025, 6, 1))
    make_vehicle(owner=company, use_nature="freight", kind="heavy_truck", plate="豫QF2004",
                 registered_on=date(2026, 1, 5))  # fmt: skip
    make_vehicle(owner=make_person(), plate="豫QP2005", registered_on=date(2010, 1, 1))  # private
    make_vehicle(owner=company, use_nature="freight", kind="heavy_truck", plate="豫QF2006",
                 registered_on=date(2012, 1, 1), status="E")  # fmt: skip

    rows = _by_plate(queries.r04_overdue_inspection_or_scrapping(NOV))

    assert set(rows) == {"豫QF2001", "豫QK2002", "豫QT2003"}
    # the truck: 15 years (S8) from 2010-01-15; inspected in October, so not overdue
    assert rows["豫QF2001"].cells[5:8] == ("否", "2025-01-15", "是")
    assert old_truck.pk and rows["豫QF2001"].cells[3] == "驻马店市货运公司"
    # the coach: never inspected since 2024, yearly: overdue; scrapping at 15 years
    assert rows["豫QK2002"].cells[5:8] == ("是", "2039-02-10", "否")
    # the taxi: first due in 2026 has passed; small taxi scrapped at 8 years
    assert rows["豫QT2003"].cells[5:8] == ("是", "2033-06-01", "否")


def test_r05_lists_the_models_recorded_on_the_day():
    today = timezone.localdate()
    for n in range(3):
        NonCompliantModel.objects.create(
            brand_model=f"某某牌 ZZ{n}", manufacturer="某某汽车制造有限公司", seller="某某汽车销售公司",
            finding="外廓尺寸超出公告", found_on=today - timedelta(days=5), division="411700",
        )  # fmt: skip
    NonCompliantModel.objects.filter(brand_model="某某牌 ZZ2").update(
        created_at=aware(today - timedelta(days=1))
    )

    rows = queries.r05_non_compliant_models(day_period(today))

    assert [r.cells[0] for r in rows] == ["某某牌 ZZ0", "某某牌 ZZ1"]
    assert rows[0].cells[4] == (today - timedelta(days=5)).isoformat()


def _driver(make_person, make_licence, *, classes, name="驾驶人", **kw):
    person = make_person(name=name)
    return make_licence(holder=person, classes=classes, **kw)


def test_r07_cancellations_for_drug_addiction_of_large_vehicle_and_taxi_drivers(
    make_person, make_licence, make_vehicle, make_org
):
    transport = make_org(kind="transport_company")
    taxi_company = make_org(kind="transport_company")
    make_vehicle(owner=taxi_company, use_nature="taxi")
    drug = {"cancellation_reason": "drug_addiction", "cancelled_on": DAY.start}
    large = _driver(make_person, make_licence, classes="A2", name="李大车", employer=transport, **drug)
    taxi = _driver(make_person, make_licence, classes="C1", employer=taxi_company, **drug)
    _driver(make_person, make_licence, classes="C1", **drug)  # a small-car driver of no company
    _driver(make_person, make_licence, classes="B2", cancellation_reason="drug_addiction",
            cancelled_on=DAY.start - timedelta(days=1))  # fmt: skip
    _driver(make_person, make_licence, classes="A1", cancellation_reason="death", cancelled_on=DAY.start)

    rows = queries.r07_drug_addiction_cancellations(DAY)

    assert {r.cells[2] for r in rows} == {large.archive_number, taxi.archive_number}
    row = next(r for r in rows if r.cells[2] == large.archive_number)
    assert row.cells[:2] == ("李大车", large.holder.id_number)
    assert row.cells[5] == DAY.start.isoformat()
    assert row.company_id == transport.pk


def test_r08_drug_use_records_received_on_the_day(make_person, make_licence, make_org):
    today = timezone.localdate()
    employer = make_org(kind="transport_company")
    coach = _driver(make_person, make_licence, classes="B1", employer=employer)
    car = _driver(make_person, make_licence, classes="C1")
    nobody = make_person()

    def record(person, addicted=False):
        return DrugUseRecord.objects.create(
            person=person, recorded_on=today - timedelta(days=2), addicted=addicted, source="驿城分局禁毒大队",
            division="411702",
        )  # fmt: skip

    record(coach.holder, addicted=True)
    old = record(coach.holder)
    DrugUseRecord.objects.filter(pk=old.pk).update(created_at=aware(today - timedelta(days=1)))
    record(car.holder)
    record(nobody)

    rows = queries.r08_drug_use_records(day_period(today))

    assert len(rows) == 1
    assert rows[0].cells[2] == coach.archive_number
    assert rows[0].cells[5:8] == ((today - timedelta(days=2)).isoformat(), "是", "驿城分局禁毒大队")
    assert rows[0].company_id == employer.pk


def test_r09_school_bus_qualifications_cancelled_on_the_day(make_person, make_licence, make_org):
    school = make_org(kind="school")
    hit = _driver(
        make_person, make_licence, classes="A1", employer=school, school_bus_qualified_on=date(2020, 9, 1),
        school_bus_qualification_cancelled_on=DAY.start,
    )  # fmt: skip
    _driver(make_person, make_licence, classes="A1", school_bus_qualified_on=date(2020, 9, 1),
            school_bus_qualification_cancelled_on=DAY.start - timedelta(days=1))  # fmt: skip

    rows = queries.r09_school_bus_qualification_cancelled(DAY)

    assert [r.cells[2] for r in rows] == [hit.archive_number]
    assert rows[0].cells[5:7] == ("2020-09-01", DAY.start.isoformat())
    assert rows[0].company_id == school.pk


def test_r10_large_classes_downgraded_or_cancelled_for_not_exchanging(make_person, make_licence):
    downgraded = _driver(
        make_person, make_licence, classes="C1", downgraded_on=DAY.start, downgraded_from="A1"
    )
    _driver(
        make_person, make_licence, classes="C2", downgraded_on=DAY.start, downgraded_from="C1"
    )  # no large
    cancelled = _driver(
        make_person, make_licence, classes="B2", cancellation_reason="downgrade", cancelled_on=DAY.start
    )

    rows = {r.cells[2]: r for r in queries.r10_large_class_downgrades(DAY)}

    assert set(rows) == {downgraded.archive_number, cancelled.archive_number}
    assert rows[downgraded.archive_number].cells[5:8] == ("降级", "A1", DAY.start.isoformat())
    assert rows[cancelled.archive_number].cells[5] == "未按规定降级换证注销"


def test_r11_instructors_reaching_12_points_on_the_day(make_person, make_licence, make_org):
    today = timezone.localdate()
    school = make_org(kind="driving_school")
    first = today - timedelta(days=100)  # the current cycle began 100 days ago
    crossing = _driver(make_person, make_licence, classes="C1", instructor=True, employer=school,
                       first_issued_on=first)  # fmt: skip
    already = _driver(make_person, make_licence, classes="C1", instructor=True, first_issued_on=first)
    not_instructor = _driver(make_person, make_licence, classes="C1", first_issued_on=first)

    def points(lic, value, *, yesterday=False):
        entry = PointsEntry.objects.create(licence=lic, points=value, occurred_on=today - timedelta(days=3),
                                           source="test")  # fmt: skip
        if yesterday:
            PointsEntry.objects.filter(pk=entry.pk).update(created_at=aware(today - timedelta(days=1)))

    points(crossing, 6, yesterday=True)
    points(crossing, 6)
    points(already, 12, yesterday=True)
    points(already, 3)
    points(not_instructor, 12)

    rows = queries.r11_instructor_full_score(day_period(today))

    assert [r.cells[2] for r in rows] == [crossing.archive_number]
    cycle = registry_rules.scoring_cycle(first_issued_on=first, today=today)
    assert rows[0].cells[5:8] == (f"{cycle[0]} 至 {cycle[1]}", "12", today.isoformat())
    assert rows[0].company_id == school.pk
