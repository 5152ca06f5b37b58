"""Truck rules and pass codes through the services (O1, O1a): the editor refuses O1a breaches,
owners and companies apply, quotas and the blacklist limit codes, the TK1 QR verifies, the
roadside check finds a code by QR or plate (audited), and two applications at once on PostgreSQL
never exceed a quota."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from jiaoguan.core.audit import AuditEntry
from jiaoguan.core.errors import Conflict, NotFound, ValidationFailed
from jiaoguan.credentials.render import decode_qr_image, qr_png
from jiaoguan.credentials.services import credential_verify, status_list_token
from jiaoguan.credentials.verify import parse_trust_list, trust_list_json, verify_offline
from jiaoguan.truck_passes import rules, services, tokens
from jiaoguan.truck_passes.models import BlacklistDecision, RestrictionZone, TruckPass

from .conftest import zone_input

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _apply(actor, zone, plates, **kw):
    args = {"start": "07:00", "end": "09:00", "valid_from": timezone.localdate(), "days": 30}
    args.update(kw)
    return services.pass_apply(actor=actor, zone_id=zone.pk, plates=plates, **args)


# ---------------------------------------------------------------- the editor (O1a)


def test_a_zone_with_fewer_than_six_open_hours_is_refused(rule_officer):
    with pytest.raises(ValidationFailed) as refused:
        services.zone_save(actor=rule_officer, data=zone_input(kind="ordinary", windows="1-7 05:00-23:30"))
    assert refused.value.code == "truck_passes.rule.open_hours" and "6小时" in refused.value.message_zh
    assert not RestrictionZone.objects.exists()


def test_a_city_wide_24_hour_ban_is_refused(rule_officer):
    with pytest.raises(ValidationFailed) as refused:
        services.zone_save(
            actor=rule_officer, data=zone_input(name="全市", kind="city", windows="1-7 00:00-24:00")
        )
    assert refused.value.code == "truck_passes.rule.city_wide_ban"


def test_publishing_only_zones_closed_all_day_is_refused(rule_officer):
    """An individual core road may close all day, but not as the city's only published rule: every
    published zone of the city closed 24 hours is the city-wide ban O1a forbids."""
    closed = zone_input(name="人民路", individual_road=True, windows="1-7 00:00-24:00")
    first = services.zone_save(actor=rule_officer, data=closed)
    with pytest.raises(Conflict) as refused:
        services.zone_publish(actor=rule_officer, zone_id=first.pk)
    assert (
        refused.value.code == "truck_passes.rule.city_wide_ban" and "全城24小时" in refused.value.message_zh
    )


def test_city_check_counts_only_published_zones(rule_officer):
    open_zone = services.zone_save(actor=rule_officer, data=zone_input(name="开发区", kind="ordinary"))
    services.zone_publish(actor=rule_officer, zone_id=open_zone.pk)
    road = services.zone_save(
        actor=rule_officer, data=zone_input(name="人民路", individual_road=True, windows="1-7 00:00-24:00")
    )
    assert services.zone_publish(actor=rule_officer, zone_id=road.pk).state == "published"
    services.zone_withdraw(actor=rule_officer, zone_id=open_zone.pk)
    other = services.zone_save(
        actor=rule_officer, data=zone_input(name="解放路", individual_road=True, windows="1-7 00:00-24:00")
    )
    with pytest.raises(Conflict) as refused:
        services.zone_publish(actor=rule_officer, zone_id=other.pk)
    assert refused.value.code == "truck_passes.rule.city_wide_ban"
    assert RestrictionZone.objects.get(pk=other.pk).state == "draft"


def test_editing_raises_the_version_and_a_county_officer_may_not_edit_the_city(
    zone, rule_officer, make_staff
):
    changed = services.zone_save(
        actor=rule_officer, zone_id=zone.pk, data=zone_input(windows="1-5 07:00-09:30")
    )
    assert changed.version == 2 and changed.state == "published"
    county = make_staff(role="violation_officer", jurisdiction="411702", username="truck-county")
    from jiaoguan.core.errors import NotAllowed

    with pytest.raises(NotAllowed):
        services.zone_publish(actor=county, zone_id=zone.pk)


# ---------------------------------------------------------------- applications (O1)


def test_an_owner_gets_a_code_whose_qr_verifies_then_reports_revoked(zone, owner):
    user, truck = owner
    decision = _apply(user, zone, [truck.plate_number.lower()])
    (truck_pass,) = decision.passes
    assert truck_pass.valid_until == truck_pass.valid_from + timedelta(days=29)
    assert truck_pass.weekdays == [1, 2, 3, 4, 5] and not truck_pass.blacklisted
    text = tokens.pass_token(truck_pass=truck_pass).text
    assert text.startswith("TK1:")
    (read,) = decode_qr_image(qr_png(text))  # zxing-cpp reads what segno drew
    verdict = credential_verify(text=read)
    assert verdict.valid and verdict.kind == "TK1" and verdict.credential_id == str(truck_pass.pk)
    assert verdict.subject["plate"] == "豫QH1234" and verdict.subject["zone"] == "中心城区"
    assert verdict.subject["window"] == "07:00-09:00"
    page = Client().post("/verify/", {"text": read})
    assert (
        page.status_code == 200
        and "货车电子通行码" in page.content.decode()
        and "中心城区" in page.content.decode()
    )

    services.pass_cancel(actor=user, pass_id=truck_pass.pk)
    assert credential_verify(text=read).reason == "revoked"
    from jiaoguan.credentials.keys import trust_list

    trust = parse_trust_list(trust_list_json(trust_list()))
    now = int(timezone.now().timestamp())
    assert verify_offline(read, trust=trust, status_list=status_list_token(), now=now).status == "revoked"
    truck_pass.refresh_from_db()
    with pytest.raises(Conflict):
        tokens.pass_token(truck_pass=truck_pass)


def test_a_zone_not_published_is_refused_with_the_reason(rule_officer, owner):
    user, truck = owner
    draft = services.zone_save(actor=rule_officer, data=zone_input(name="草稿区"))
    with pytest.raises(NotFound) as refused:
        _apply(user, draft, [truck.plate_number])
    assert refused.value.code == "truck_passes.zone.not_published" and "公布" in refused.value.message_zh


def test_a_window_outside_the_restriction_is_refused(zone, owner):
    user, truck = owner
    with pytest.raises(ValidationFailed) as refused:
        _apply(user, zone, [truck.plate_number], start="10:00", end="12:00")
    assert refused.value.code == "truck_passes.window.outside" and not TruckPass.objects.exists()


def test_somebody_elses_truck_is_refused(zone, owner, company):
    user, _truck = owner
    with pytest.raises(ValidationFailed) as refused:
        _apply(user, zone, ["豫QD0001"])
    assert refused.value.code == "truck_passes.not_your_truck"


def test_a_second_code_for_the_same_truck_and_zone_is_refused(zone, owner):
    user, truck = owner
    _apply(user, zone, [truck.plate_number])
    with pytest.raises(Conflict) as refused:
        _apply(user, zone, [truck.plate_number], start="17:00", end="18:00")
    assert refused.value.code == "truck_passes.none_issued" and "已持有" in refused.value.message_zh


def test_a_driver_applies_for_a_filed_truck_with_a_matching_licence_class(
    zone, owner, make_person, make_licence, citizen
):
    from jiaoguan.delegations.models import VehicleFiling

    _user, truck = owner
    driver = make_person(name="陈刚", mobile="13800138012")
    make_licence(holder=driver, classes="C1")
    driver_user = citizen(driver)
    # The owner consented to the filing (U7); how is delegations' business, tested there.
    VehicleFiling.objects.create(
        driver=driver_user, vehicle=truck, owner_person=truck.owner_person, state="active",
        requested_at=timezone.now(), consented_at=timezone.now(), consent_via="account",
    )  # fmt: skip
    (truck_pass,) = _apply(driver_user, zone, [truck.plate_number]).passes
    assert truck_pass.person_id == driver.pk


def test_a_company_applies_for_its_fleet_within_its_quota(zone, company, monkeypatch):
    user, trucks = company
    monkeypatch.setattr(rules, "COMPANY_QUOTA", 3)
    decision = _apply(user, zone, [t.plate_number for t in trucks])
    assert [p.plate_number for p in decision.passes] == ["豫QD0001", "豫QD0002", "豫QD0003"]
    assert decision.refused == [
        {"plate": "豫QD0004", "issued": False, "zh": "已达有效通行码数量上限（3个）。",
         "en": "The limit of 3 codes in force is reached."}
    ]  # fmt: skip


def test_a_blacklisted_company_gets_fewer_codes_and_shorter_validity(zone, company, record):
    user, trucks = company
    now = datetime.now(SHANGHAI)
    for n in range(15):  # 2026-06 table: 15 violations in 12 months
        record(trucks[n % 4], occurred_at=now - timedelta(days=10 + n))
    decision = _apply(user, zone, [t.plate_number for t in trucks], days=60)
    assert len(decision.passes) == 3  # max codes of a blacklisted company
    assert all(p.blacklisted and (p.valid_until - p.valid_from).days + 1 == 7 for p in decision.passes)
    application = decision.application
    assert "黑名单" in application.reason_zh and "违法15起" in application.reason_zh
    assert "blacklisted" in application.reason_en
    decisions = BlacklistDecision.objects.filter(application=application)
    assert {d.subject for d in decisions} == {"company"}
    assert decisions.get().max_codes == 3 and decisions.get().rule_version == "2026-06"


def test_a_truck_in_an_accident_is_blacklisted_alone(zone, owner, make_staff):
    from jiaoguan.accidents import services as accidents

    user, truck = owner
    officer = make_staff(role="accident_officer", jurisdiction="411702", username="truck-accidents")
    case = accidents.case_open(
        actor=officer, occurred_at=timezone.now() - timedelta(days=30), place="驿城区解放大道"
    )
    accidents.party_add(
        actor=officer, case_id=case.pk, label="甲", name="刘洋", id_type="resident_id",
        id_number=truck.owner_person.id_number, plate=truck.plate_number,
    )  # fmt: skip
    (truck_pass,) = _apply(user, zone, [truck.plate_number], days=30).passes
    assert truck_pass.blacklisted and (truck_pass.valid_until - truck_pass.valid_from).days == 6
    assert BlacklistDecision.objects.get().subject == "vehicle"


# ---------------------------------------------------------------- the roadside check (O1)


def test_police_check_by_plate_and_by_qr_and_every_read_is_audited(zone, owner, make_staff):
    user, truck = owner
    (truck_pass,) = _apply(user, zone, [truck.plate_number]).passes
    police = make_staff(role="violation_officer", jurisdiction="411702", username="truck-road")
    monday_8 = datetime(2026, 12, 7, 8, 0, tzinfo=SHANGHAI)
    TruckPass.objects.filter(pk=truck_pass.pk).update(valid_from=monday_8.date(), valid_until=monday_8.date())
    result = services.roadside_check(actor=police, text="豫Q·H1234", now=monday_8)
    (row,) = result.rows
    assert row.covers_now and row.restricted_now
    evening = services.roadside_check(actor=police, text="豫QH1234", now=monday_8.replace(hour=18))
    assert not evening.rows[0].covers_now and evening.rows[0].restricted_now
    TruckPass.objects.filter(pk=truck_pass.pk).update(
        valid_from=timezone.localdate(), valid_until=timezone.localdate()
    )
    truck_pass.refresh_from_db()
    by_qr = services.roadside_check(actor=police, text=tokens.pass_token(truck_pass=truck_pass).text)
    assert [r.truck_pass.pk for r in by_qr.rows] == [truck_pass.pk] and by_qr.plate == "豫QH1234"
    assert AuditEntry.objects.filter(actor_label="truck-road", action="view").count() == 3
    assert services.roadside_check(actor=police, text="豫Q99999").rows == []
    with pytest.raises(ValidationFailed):
        services.roadside_check(actor=police, text="x")


# ---------------------------------------------------------------- PostgreSQL race


@pytest.mark.django_db(transaction=True)
def test_two_applications_at_once_never_exceed_the_quota(rule_officer, company, run_together, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the quota race is exercised on PostgreSQL (row-level concurrency)")
    monkeypatch.setattr(rules, "COMPANY_QUOTA", 1)
    zone = services.zone_publish(
        actor=rule_officer, zone_id=services.zone_save(actor=rule_officer, data=zone_input()).pk
    )
    user, trucks = company
    results = run_together(
        lambda: _apply(user, zone, [trucks[0].plate_number]),
        lambda: _apply(user, zone, [trucks[1].plate_number]),
    )
    issued = [r for r in results if isinstance(r, services.Decision)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(issued) == 1 and len(refused) == 1, results
    assert TruckPass.objects.count() == 1
