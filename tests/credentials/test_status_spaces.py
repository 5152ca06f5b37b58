"""Every kind in the status list has its own index space (E4, A5; issue 10, item 3).

An AQ1 carries its query credential's id while the status list was indexed by e-credential
id: a revoked AQ1 verified as valid offline, and a valid AQ1 showed revoked when the
e-credential with the same number was revoked. Here the numbers are made to coincide on
purpose, each kind is revoked in turn, and online and offline must agree on every token.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from jiaoguan.accidents import services as accidents
from jiaoguan.accidents.models import QueryCredential
from jiaoguan.accidents.tokens import query_credential_token
from jiaoguan.core.identifiers import make_vin
from jiaoguan.credentials import services
from jiaoguan.credentials.models import Credential
from jiaoguan.credentials.temporary_plates import temporary_plate_token
from jiaoguan.credentials.token import STATUS_LIST, DisplayMode, decode_and_verify
from jiaoguan.credentials.verify import parse_trust_list, verify_offline
from jiaoguan.delegations import services as delegations
from jiaoguan.delegations.models import Entrustment
from jiaoguan.delegations.tokens import entrustment_token
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.models import TemporaryPlate
from jiaoguan.truck_passes import services as truck_passes
from jiaoguan.truck_passes.models import TruckPass
from jiaoguan.truck_passes.tokens import pass_token as truck_pass_token

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
KINDS = ("VI1", "DL1", "AQ1", "TP1", "EN1", "TK1")
# TP1: temporary plates (issue 14); EN1: entrustments (O5); TK1: truck pass codes (O1)


def ids_from(start: int, *models) -> None:
    """Make the next row of each table get id ``start``, so numbers of different kinds coincide."""
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            if connection.vendor == "postgresql":
                cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", [table, start])
            else:
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, start - 1])


@pytest.fixture
def world(make_person, make_vehicle, make_licence, make_staff, organisation_user, citizen):
    """A mark, an e-licence, two AQ1 credentials and a temporary plate (TP1): mark, first AQ1 and the
    plate share a number, so do the e-licence and the second AQ1."""
    start = 500_000 + int(time.time()) % 100_000
    ids_from(start, Credential, QueryCredential, TemporaryPlate, Entrustment, TruckPass)
    owner = make_person(name="周敏")
    vehicle = make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=400), plate="豫QF5K86")
    mark = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    licence = make_licence(holder=owner, valid_from=TODAY - timedelta(days=300))
    e_licence = services.licence_credential_issue(licence_id=licence.pk, event="test")
    officer = make_staff(role="accident_officer", jurisdiction="411702", username="officer-411702")
    case = accidents.case_open(
        actor=officer, occurred_at=timezone.now() - timedelta(days=2), place="驿城区解放大道", weather="晴"
    )
    _party, first, first_code = accidents.party_add(
        actor=officer, case_id=case.pk, label="甲", name="马超", id_type="resident_id",
        id_number=make_person(name="马超").id_number,
    )  # fmt: skip
    _party, second, second_code = accidents.party_add(
        actor=officer, case_id=case.pk, label="乙", name="赵云", id_type="resident_id",
        id_number=make_person(name="赵云").id_number,
    )  # fmt: skip
    dealer = organisation_user(name="驻马店市天中汽车销售服务有限公司", kind="car_dealer", suffix="0DLR57")
    application = registry_services.temporary_plate_request_check(
        actor=dealer,
        data={
            "vin": make_vin("LGBH52E0XSS000017"),
            "kind": "small_passenger",
            "brand_model": "吉利牌",
            "days": 30,
        },
    )
    plate = registry_services.temporary_plate_issue(
        actor=dealer, application=application, insurance=registry_services.InsuranceFacts(False, None)
    )
    assert (mark.pk, e_licence.pk) == (first.pk, second.pk) == (start, start + 1)  # the numbers coincide
    assert plate.pk == start
    principal = citizen(make_person(name="王芳", mobile="13800138001"))
    agent = make_person(name="李强", mobile="13800138003")
    entrustment = delegations.entrustment_create(
        actor=principal, agent_id_number=agent.id_number, agent_name=agent.name, agent_mobile=agent.mobile,
        businesses=["vehicle.plate"], valid_from=TODAY, valid_until=TODAY + timedelta(days=9),
    )  # fmt: skip
    assert entrustment.pk == start
    rule_officer = make_staff(role="violation_officer", jurisdiction="411700", username="truck-rules-status")
    zone = truck_passes.zone_save(
        actor=rule_officer,
        data=truck_passes.ZoneInput(
            name="中心城区", kind="core", individual_road=False, roads="解放路、中华路以内区域",
            vehicle_kinds=["small_truck"], windows="1-5 07:00-09:00",
        ),
    )  # fmt: skip
    truck_passes.zone_publish(actor=rule_officer, zone_id=zone.pk)
    truck_owner = make_person(name="刘洋", mobile="13800138011")
    make_vehicle(owner=truck_owner, kind="small_truck", use_nature="freight", plate="豫QH1234",
                 registered_on=TODAY - timedelta(days=800))  # fmt: skip
    truck_holder = citizen(truck_owner)
    (truck_pass,) = truck_passes.pass_apply(
        actor=truck_holder, zone_id=zone.pk, plates=["豫QH1234"], start="07:00", end="09:00",
        valid_from=TODAY, days=30,
    ).passes  # fmt: skip
    assert truck_pass.pk == start
    clerk = make_staff(role="counter_clerk")
    tokens = {
        "VI1": services.credential_token(credential=mark, mode=DisplayMode.OFFLINE)[0],
        "DL1": services.credential_token(credential=e_licence, mode=DisplayMode.PRINTED)[0],
        "AQ1": query_credential_token(
            number=case.number, code=first_code, role="party", credential_id=first.pk
        ),
        "AQ1-b": query_credential_token(
            number=case.number, code=second_code, role="party", credential_id=second.pk
        ),
        "TP1": temporary_plate_token(plate=plate).text,
        "EN1": entrustment_token(
            entrustment=Entrustment.objects.select_related("principal_person").get(pk=entrustment.pk)
        ).text,
        "TK1": truck_pass_token(truck_pass=truck_pass).text,
    }
    return {
        "tokens": tokens,
        "revoke": {
            "VI1": lambda: services.credential_revoke(actor=clerk, credential_id=mark.pk, reason="手机遗失"),
            "DL1": lambda: services.credential_revoke(
                actor=clerk, credential_id=e_licence.pk, reason="驾驶证已被吊销"
            ),
            "AQ1": lambda: accidents.query_credential_revoke(
                actor=officer, credential_id=first.pk, reason="遗失"
            ),
            "TP1": lambda: registry_services.temporary_plate_revoke(
                actor=clerk, plate_id=plate.pk, reason="车辆已注册登记"
            ),
            "EN1": lambda: delegations.entrustment_revoke(actor=principal, entrustment_id=entrustment.pk),
            "TK1": lambda: truck_passes.pass_cancel(actor=truck_holder, pass_id=truck_pass.pk),
        },
    }


def verdicts(tokens: dict[str, str]) -> dict[str, tuple[str, str]]:
    """(online reason, offline reason) of every token, through the public endpoints."""
    client = Client()
    trust = parse_trust_list(client.get("/api/v1/credentials/keys").content.decode())
    status_list = client.get("/api/v1/credentials/status-list").json()["status_list"]
    out = {}
    for name, text in tokens.items():
        online = client.post(
            "/api/v1/credentials/verify", json.dumps({"text": text}), content_type="application/json"
        ).json()
        offline = verify_offline(text, trust=trust, status_list=status_list, now=int(time.time()))
        out[name] = (online["reason"], offline.reason)
    return out


def test_every_listed_kind_has_a_space_of_its_own(world):
    from jiaoguan.credentials.verify import status_sections

    listed = decode_and_verify(
        services.status_list_token(), keys=lambda kid: _trusted(kid), now=int(time.time())
    )
    assert listed.schema is STATUS_LIST
    assert set(status_sections(listed.data)) == set(KINDS)


def _trusted(kid: bytes):
    from jiaoguan.credentials.keys import trusted_key

    return trusted_key(kid)


def test_nothing_revoked_everything_valid_online_and_offline(world):
    assert verdicts(world["tokens"]) == {name: ("ok", "ok") for name in world["tokens"]}


@pytest.mark.parametrize("kind", KINDS)
def test_revoking_one_kind_shows_on_that_kind_only_online_and_offline(world, kind):
    world["revoke"][kind]()
    expected = {name: ("ok", "ok") for name in world["tokens"]}
    expected[kind] = ("revoked", "revoked")
    assert verdicts(world["tokens"]) == expected


def test_everything_revoked_shows_everywhere(world):
    for kind in KINDS:
        world["revoke"][kind]()
    expected = {name: ("revoked", "revoked") for name in KINDS} | {"AQ1-b": ("ok", "ok")}
    assert verdicts(world["tokens"]) == expected


def test_a_status_list_from_before_reads_no_aq1_status(world):
    """A list signed before the change covers VI1 and DL1 only: an AQ1 gets no status from it,
    never the bit of the e-credential that happens to share its number."""
    from jiaoguan.credentials.keys import trust_list
    from jiaoguan.credentials.verify import pack_status_bits, trust_list_json

    world["revoke"]["VI1"]()
    mark_index = Credential.objects.get(kind="VI1").pk
    now = int(time.time())
    legacy = services.sign_payload(
        schema=STATUS_LIST,
        data={
            "bits": pack_status_bits({mark_index: 2}, mark_index + 2),
            "size": mark_index + 2,
            "issuer": "x",
        },
        index=0,
        issued_at=now,
        expires_at=now + 3600,
    )
    trust = parse_trust_list(trust_list_json(trust_list()))
    tokens = world["tokens"]
    assert verify_offline(tokens["VI1"], trust=trust, status_list=legacy, now=now).reason == "revoked"
    assert verify_offline(tokens["DL1"], trust=trust, status_list=legacy, now=now).valid
    assert verify_offline(tokens["AQ1"], trust=trust, status_list=legacy, now=now).reason == "unknown"
