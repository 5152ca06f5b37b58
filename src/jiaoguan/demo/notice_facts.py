"""Demo registry facts the notices, reports and announcements are drawn from (issue 15, N1-N3).

Planted once, dated relative to ``today`` so that the reports (N2) of last month and of the days
before have something to say: the three government bodies of Zhumadian with their logins (the
recipients of the 通报), a school with its school buses, signs and a driver whose school-bus
qualification was cancelled, a transport company's drivers (a licence cancelled for drug
addiction, a drug-use record, a downgrade), a driving school's instructor reaching 12 points, a
non-compliant model, a freight truck with overdue unhandled violations, and for the notices a truck
transferred out and one deregistered with its plates not handed back. Then the reports due today
are generated (jiaoguan.reports.demo), so the organisations find them at /org/reports/.

Every planted fact is listed in :data:`PLANTED` with what the reports should count for it; the
demo test checks the reports against those figures.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from jiaoguan.accounts.models import OrganisationMember, User
from jiaoguan.accounts.services import organisation_register
from jiaoguan.core.identifiers import make_citizen_id, make_uscc, make_vin
from jiaoguan.registry.models import (
    DrivingLicence,
    DrugUseRecord,
    NonCompliantModel,
    Organisation,
    Person,
    PointsEntry,
    SchoolBusSign,
    Vehicle,
)
from jiaoguan.violations.rules import Source, record_number_make
from jiaoguan.violations.services import RecordInput, violation_record

SHANGHAI = ZoneInfo("Asia/Shanghai")
CITY = "411700"
COUNTY = "411702"
DRUG_UNIT = "驻马店市公安局驿城分局禁毒大队"  # also the marker that the facts are planted

AUTHORITIES = (
    (
        "91411700MB1N2TA01",
        "驻马店市交通运输局",
        Organisation.Kind.TRANSPORT_AUTHORITY,
        "R01 R04 R07 R08 R10 R11",
    ),
    ("91411700MB1N2ED02", "驻马店市教育局", Organisation.Kind.EDUCATION_AUTHORITY, "R02 R03 R09"),
    ("91411700MB1N2AJ03", "驻马店市应急管理局", Organisation.Kind.SAFETY_AUTHORITY, "R05"),
)
SCHOOL = ("91411702MB1N2XX04", "驿城区实验小学", Organisation.Kind.SCHOOL)
DRIVING_SCHOOL = ("91411702MB1N2JP05", "驻马店市天中驾驶培训学校", Organisation.Kind.DRIVING_SCHOOL)
TRANSPORT = ("91411702MB1N2TC06", "驻马店市天中运输有限公司", Organisation.Kind.TRANSPORT_COMPANY)

# What the reports count for the planted facts (the demo test's hand-computed figures): the code,
# the identifying cell (plate, sign number or archive number) and the recipients told.
PLANTED = {
    "R01": ("豫QN2F01", ["驻马店市交通运输局", "驻马店市天中运输有限公司"]),
    "R02": ("XC2026001", ["驻马店市教育局"]),
    "R03": ("豫QN2X01", ["驻马店市教育局", "驿城区实验小学"]),
    "R05": ("天中牌 TZ6600", ["驻马店市应急管理局"]),
    "R07": ("411799000001", ["驻马店市交通运输局", "驻马店市天中运输有限公司"]),
    "R08": ("411799000002", ["驻马店市交通运输局", "驻马店市天中运输有限公司"]),
    "R09": ("411799000003", ["驻马店市教育局", "驿城区实验小学"]),
    "R10": ("411799000004", ["驻马店市交通运输局", "驻马店市天中运输有限公司"]),
    "R11": ("411799000005", ["驻马店市交通运输局", "驻马店市天中驾驶培训学校"]),
}


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=SHANGHAI)


def _sync_password(user: User, password: str) -> None:
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])


def _login(clerk: User, rep: Person, body: str, name: str, kind: str, division: str, password: str) -> User:
    uscc = make_uscc(body)
    user = User.objects.filter(organisation__uscc=uscc).first()
    if user is not None:
        _sync_password(user, password)
        return user
    return organisation_register(
        actor=clerk, uscc=uscc, name=name, kind=kind, division=division,
        representative_id_type=rep.id_type, representative_id_number=rep.id_number,
        representative_name=rep.name, representative_role=OrganisationMember.Role.LEGAL_REPRESENTATIVE,
        mobile=rep.mobile, password=password, address="驻马店市驿城区",
    )  # fmt: skip


def _org(body: str, name: str, kind: str, division: str = COUNTY) -> Organisation:
    org, _ = Organisation.objects.get_or_create(
        uscc=make_uscc(body), defaults={"name": name, "kind": kind, "division": division}
    )
    return org


def _person(name: str, birth: date) -> Person:
    for seq in range(901, 999, 2):
        number = make_citizen_id(COUNTY, birth, seq)
        if not Person.objects.filter(id_number=number).exists():
            return Person.objects.create(
                id_number=number, name=name, sex="M", birth_date=birth, residence_division=COUNTY
            )
    raise RuntimeError("no free demo ID number")  # pragma: no cover


def _licence(n: int, name: str, classes: str, **facts) -> DrivingLicence:
    holder = _person(name, date(1975 + n, 3, 1))
    first = date(2008 + n, 5, 10)
    return DrivingLicence.objects.create(
        holder=holder, archive_number=f"4117990000{n:02d}", classes=classes, first_issued_on=first,
        valid_from=first, validity_term="long", division=COUNTY, **facts,
    )  # fmt: skip


def _vehicle(
    n: int, plate: str, owner: Organisation, use: str, kind: str, registered_on: date, **kw
) -> Vehicle:
    return Vehicle.objects.create(
        plate_number=plate, plate_type="01", vin=make_vin(f"LZYTB2HC0N{n:07d}"), kind=kind, use_nature=use,
        brand_model="宇通牌 ZK6609DX" if use == "school_bus" else "解放牌 CA1250", owner_organisation=owner,
        registered_on=registered_on, division=COUNTY, **kw,
    )  # fmt: skip


def _violations(vehicle: Vehicle, days: list[date]) -> None:
    for index, day in enumerate(days):
        violation_record(
            actor=None,
            data=RecordInput(
                plate_number=vehicle.plate_number or "", plate_type=vehicle.plate_type,
                occurred_at=_at(day, 9 + index), place="驻马店市驿城区解放大道与交通路交叉口", code="1625",
                recording_division=COUNTY,
                record_number=record_number_make(
                    division=COUNTY, source=Source.MONITORING, occurred_on=day, serial=990_000 + vehicle.pk % 1000 * 10 + index
                ),
                device_id="CAM-411702-0099",
            ),
        )  # fmt: skip


def _plant(today: date) -> None:
    yesterday = today - timedelta(days=1)
    last_month_end = today.replace(day=1) - timedelta(days=1)
    last_month_start = last_month_end.replace(day=1)
    school = _org(*SCHOOL)
    driving_school = _org(*DRIVING_SCHOOL)
    company = _org(*TRANSPORT)
    # R02, R03: two school buses; one sign in force, one revoked during last month
    bus = _vehicle(1, "豫QN2X01", school, "school_bus", "medium_passenger", today - timedelta(days=400),
                   last_inspected_on=today - timedelta(days=30))  # fmt: skip
    old_bus = _vehicle(2, "豫QN2X02", school, "school_bus", "large_passenger", date(2014, 9, 1))
    SchoolBusSign.objects.create(
        vehicle=bus, number="XC2026001", school=school, route="驿城区实验小学—雪松路—解放大道",
        valid_from=today - timedelta(days=400), valid_until=today + timedelta(days=330), division=COUNTY,
    )  # fmt: skip
    SchoolBusSign.objects.create(
        vehicle=old_bus, number="XC2019002", school=school, route="驿城区实验小学—开源大道",
        valid_from=date(2019, 9, 1), valid_until=today + timedelta(days=30), revoked_on=last_month_start,
        division=COUNTY,
    )  # fmt: skip
    _violations(bus, [last_month_start + timedelta(days=2)])
    # R01: a freight truck with three violations more than 15 days before last month's end
    truck = _vehicle(3, "豫QN2F01", company, "freight", "heavy_truck", today - timedelta(days=900),
                     last_inspected_on=today - timedelta(days=60))  # fmt: skip
    _violations(truck, [last_month_end - timedelta(days=40 + n) for n in range(3)])
    # For the notices and announcements (N1, N3): a truck transferred out to another office ten days
    # ago, and one deregistered last month whose plates and papers were never handed back.
    _vehicle(4, "豫QN2F02", company, "freight", "heavy_truck", date(2016, 4, 1), status="B",
             transferred_out_on=today - timedelta(days=10))  # fmt: skip
    _vehicle(5, "豫QN2F03", company, "freight", "heavy_truck", date(2009, 7, 1), status="E")
    # R07-R11: drivers and what happened to them yesterday (the cancelled licence is not handed
    # back and the downgraded one not exchanged: facts the notices and announcements use too)
    _licence(
        1, "孙大勇", "A2", employer=company, cancellation_reason="drug_addiction", cancelled_on=yesterday
    )
    coach = _licence(2, "周志刚", "B2", employer=company)
    record = DrugUseRecord.objects.create(
        person=coach.holder, recorded_on=yesterday - timedelta(days=1), addicted=False, source=DRUG_UNIT,
        division=COUNTY,
    )  # fmt: skip
    DrugUseRecord.objects.filter(pk=record.pk).update(created_at=_at(yesterday))  # received yesterday
    _licence(3, "吴建华", "A1", employer=school, school_bus_qualified_on=date(2018, 8, 20),
             school_bus_qualification_cancelled_on=yesterday)  # fmt: skip
    _licence(4, "郑国庆", "C1", employer=company, downgraded_on=yesterday, downgraded_from="A1")
    instructor = _licence(5, "冯立新", "C1", employer=driving_school, instructor=True)
    for points, created in ((6, today - timedelta(days=2)), (6, yesterday)):
        entry = PointsEntry.objects.create(
            licence=instructor, points=points, occurred_on=today - timedelta(days=3), source="demo"
        )
        PointsEntry.objects.filter(pk=entry.pk).update(created_at=_at(created))
    # R05
    model = NonCompliantModel.objects.create(
        brand_model="天中牌 TZ6600", manufacturer="河南天中专用汽车制造有限公司", seller="驻马店市天中汽车销售有限公司",
        finding="车辆外廓尺寸与公告参数不一致", found_on=yesterday - timedelta(days=2), division=CITY,
    )  # fmt: skip
    NonCompliantModel.objects.filter(pk=model.pk).update(created_at=_at(yesterday))


def ensure_demo_notice_facts(*, today: date, password: str) -> list[dict[str, str]]:
    """Plant the facts once, make the reports due today, and return the authorities' logins."""
    clerk = User.objects.filter(username="clerk", kind=User.Kind.STAFF).first()
    rep = Person.objects.filter(id_type="resident_id").exclude(mobile="").order_by("pk").first()
    if clerk is None or rep is None:
        return []
    rows = []
    for body, name, kind, codes in AUTHORITIES:
        user = _login(clerk, rep, body, name, kind, CITY, password)
        rows.append(
            {
                "role": "organisation",
                "username": user.username,
                "password": password,
                "note_zh": f"单位用户：{name}；收到的通报（{codes}）：/org/reports/",
                "note_en": f"Organisation user: {name}; reports received ({codes}) at /org/reports/",
            }
        )
    if not DrugUseRecord.objects.filter(source=DRUG_UNIT).exists():
        with transaction.atomic():
            _plant(today)
    from jiaoguan.reports.demo import ensure_demo_reports

    ensure_demo_reports(today=today)
    return rows
