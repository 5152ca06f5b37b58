"""Demo of truck pass codes (O1, O1a): Zhumadian's published truck rules, a truck owner with a
small truck, a delivery company with a fleet and codes, and a blacklisted logistics company whose
many violations cut its codes and their validity. Made once (the zones' names and the companies'
credit codes are the markers); returns the logins to print."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import make_citizen_id, make_uscc, make_vin
from jiaoguan.registry.models import Organisation, Person, Vehicle
from jiaoguan.violations.services import RecordInput, violation_record

from . import services
from .models import RestrictionZone, TruckPass

CITY = "411700"
DIVISION = "411702"
ZONES = (
    ("中心城区", "core", False, "解放路、中华路、交通路、雪松路合围区域",
     ["small_truck", "medium_truck", "heavy_truck"], "1-5 07:00-09:00\n1-5 17:00-19:30\n6-7 09:00-18:00"),
    ("驿城区主干道", "ordinary", False, "开源大道、驿城大道、风光路",
     ["medium_truck", "heavy_truck", "tractor"], "1-7 07:00-09:30\n1-7 17:00-19:30"),
    ("人民街步行街周边", "core", True, "人民街（文化路至乐山路）", ["small_truck", "medium_truck", "heavy_truck"],
     "1-7 00:00-24:00"),
)  # fmt: skip


def _user_for_person(person: Person, password: str) -> User:
    user = User.objects.filter(person=person).first()
    if user is None:
        user = User(
            username=person.id_number, kind=User.Kind.INDIVIDUAL, registration_level=User.Level.COUNTER,
            person=person, first_name=person.name, mobile=person.mobile, mobile_verified_at=timezone.now(),
        )  # fmt: skip
    user.set_password(password)
    user.save()
    return user


def _company(body: str, name: str, password: str) -> User:
    uscc = make_uscc(body)
    organisation, _created = Organisation.objects.get_or_create(
        uscc=uscc, defaults={"name": name, "kind": Organisation.Kind.TRANSPORT_COMPANY, "division": DIVISION}
    )
    user = User.objects.filter(organisation=organisation).first()
    if user is None:
        user = User(username=uscc, kind=User.Kind.ORGANISATION, organisation=organisation,
                    registration_level=User.Level.COUNTER)  # fmt: skip
    user.set_password(password)
    user.save()
    return user


def _truck(*, vin: str, plate: str, kind: str, today: date, person: Person | None = None,
           organisation: Organisation | None = None) -> Vehicle:  # fmt: skip
    vehicle = Vehicle.objects.filter(vin=make_vin(vin)).first()
    if vehicle is None:
        vehicle = Vehicle.objects.create(
            vin=make_vin(vin), plate_number=plate, plate_type="02" if kind == "small_truck" else "01", kind=kind,
            use_nature="freight", brand_model="福田牌 BJ5045XXY" if kind == "small_truck" else "解放牌 CA5160XXY",
            owner_person=person, owner_organisation=organisation, registered_on=today - timedelta(days=900),
            last_inspected_on=today - timedelta(days=120), division=DIVISION,
        )  # fmt: skip
    return vehicle


def _apply(
    actor: User, zone: RestrictionZone, plates: list[str], *, today: date, start: str, end: str
) -> None:
    try:
        services.pass_apply(actor=actor, zone_id=zone.pk, plates=plates, start=start, end=end, valid_from=today,
                            days=60, today=today)  # fmt: skip
    except DomainError:
        pass  # a demo rerun on another day may meet the rules differently: nothing to add then


def ensure_demo_truck_passes(*, today: date, password: str) -> list[dict[str, str]]:
    officer = User.objects.filter(username="violation", staff_role="violation_officer").first()
    if officer is None:
        return []
    zones: dict[str, RestrictionZone] = {}
    for name, kind, individual, roads, kinds, windows in ZONES:
        zone = RestrictionZone.objects.filter(division=CITY, name=name).first()
        if zone is None:
            data = services.ZoneInput(name, kind, individual, roads, kinds, windows)
            zone = services.zone_save(actor=officer, data=data, division=CITY)
            zone = services.zone_publish(actor=officer, zone_id=zone.pk)
        zones[name] = zone
    with transaction.atomic():
        number = make_citizen_id(DIVISION, date(1982, 8, 16), 931)
        owner, _created = Person.objects.get_or_create(
            id_type="resident_id", id_number=number,
            defaults={"name": "赵磊", "sex": "M", "birth_date": date(1982, 8, 16), "residence_division": DIVISION,
                      "mobile": "13903960931"},
        )  # fmt: skip
        owner_user = _user_for_person(owner, password)
        _truck(vin="LVBV3JBB0N0931001", plate="豫QH7931", kind="small_truck", today=today, person=owner)
        fleet_user = _company("91411702MA4TRK931", "驻马店市快达城市配送有限公司", password)
        assert fleet_user.organisation is not None
        fleet = [
            _truck(vin=f"LFNA4LMA0N09320{n:02d}", plate=f"豫QD93{n:02d}", kind="medium_truck", today=today,
                   organisation=fleet_user.organisation)
            for n in range(1, 5)
        ]  # fmt: skip
        listed_user = _company("91411702MA4TRK932", "驻马店市速运物流有限公司", password)
        assert listed_user.organisation is not None
        listed = [
            _truck(vin=f"LFNA4LMA0N09330{n:02d}", plate=f"豫QE93{n:02d}", kind="medium_truck", today=today,
                   organisation=listed_user.organisation)
            for n in range(1, 6)
        ]  # fmt: skip
    if not listed[0].violations.exists():
        # 16 camera records in the last months: above the company threshold of the blacklist table.
        for n in range(16):
            truck = listed[n % len(listed)]
            at = timezone.make_aware(datetime.combine(today - timedelta(days=20 + 9 * n), time(7, 40)))
            violation_record(actor=None, data=RecordInput(
                plate_number=str(truck.plate_number), plate_type=truck.plate_type, occurred_at=at,
                place="驻马店市驿城区开源大道与雪松路交叉口", code="1625", recording_division=DIVISION,
                device_id="CAM-411702-0931",
            ))  # fmt: skip
    core, artery = zones["中心城区"], zones["驿城区主干道"]
    if not TruckPass.objects.filter(organisation=fleet_user.organisation).exists():
        _apply(
            fleet_user,
            core,
            [str(t.plate_number) for t in fleet[:3]],
            today=today,
            start="07:00",
            end="09:00",
        )
    if not TruckPass.objects.filter(organisation=listed_user.organisation).exists():
        _apply(
            listed_user,
            artery,
            [str(t.plate_number) for t in listed],
            today=today,
            start="07:00",
            end="09:30",
        )
    assert fleet_user.organisation is not None and listed_user.organisation is not None
    rows: list[dict[str, Any]] = [
        {"role": "truck_owner", "username": owner_user.username, "password": password,
         "note_zh": "个人用户：赵磊，名下小型货车豫QH7931，可申领货车通行码（/truck-passes/）",
         "note_en": "Citizen 赵磊 with the small truck 豫QH7931: applies for truck pass codes (/truck-passes/)"},
        {"role": "delivery_company", "username": fleet_user.username, "password": password,
         "note_zh": f"单位用户：{fleet_user.organisation.name}，4辆中型货车，已有3个中心城区通行码",
         "note_en": f"Organisation user: {fleet_user.organisation.name}, 4 medium trucks, 3 codes for the core area"},
        {"role": "blacklisted_company", "username": listed_user.username, "password": password,
         "note_zh": f"单位用户：{listed_user.organisation.name}，近12个月违法16起，纳入黑名单：通行码减少、有效期缩短",
         "note_en": f"Organisation user: {listed_user.organisation.name}, 16 violations in 12 months: blacklisted, "
                    "fewer codes with a shorter validity"},
    ]  # fmt: skip
    return rows
