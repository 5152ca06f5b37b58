"""The truck pass API (Idempotency-Key, the TK1 text, bilingual refusals) and the pages: public
rules, the applicant's page with QR and PDF, the rule editor refusing O1a breaches, and the
roadside check (O1, O1a)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.truck_passes.models import PassApplication, RestrictionZone, TruckPass

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, body: dict, key: str = "") -> object:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        "/api/v1/me/truck-passes", json.dumps(body), content_type="application/json", **headers
    )


def test_apply_through_the_api_once_per_idempotency_key(zone, owner):
    user, truck = owner
    client = _client(user)
    body = {"zone_id": zone.pk, "plates": [truck.plate_number], "start": "07:00", "end": "09:00",
            "valid_from": timezone.localdate().isoformat(), "days": 20}  # fmt: skip
    first = _post(client, body, "tk-1")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["passes"][0]["token"].startswith("TK1:") and data["passes"][0]["status"] == "valid"
    assert data["refused"] == [] and data["blacklist_reason_zh"] == ""
    again = _post(client, body, "tk-1")
    assert again.status_code == 201 and again.json()["id"] == data["id"]
    assert PassApplication.objects.count() == 1 and TruckPass.objects.count() == 1
    listed = client.get("/api/v1/me/truck-passes").json()
    assert [(p["plate"], p["window"]) for p in listed] == [("豫QH1234", "07:00-09:00")]
    cancelled = client.post(
        f"/api/v1/me/truck-passes/{listed[0]['id']}/cancellation", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    assert (
        cancelled.status_code == 200
        and cancelled.json()["status"] == "revoked"
        and cancelled.json()["token"] == ""
    )


def test_api_refusals_are_bilingual_and_never_500(zone, owner):
    user, truck = owner
    client = _client(user)
    base = {"zone_id": zone.pk, "plates": [truck.plate_number], "start": "07:00", "end": "09:00",
            "valid_from": timezone.localdate().isoformat(), "days": 20}  # fmt: skip
    outside = _post(client, {**base, "start": "12:00", "end": "13:00"})
    assert outside.status_code == 422 and outside.json()["code"] == "truck_passes.window.outside"
    missing = _post(client, {**base, "zone_id": 999999})
    assert missing.status_code == 404 and missing.json()["code"] == "truck_passes.zone.not_published"
    english = client.post(
        "/api/v1/me/truck-passes", json.dumps({**base, "zone_id": 999999}), content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert "published" in english.json()["message"] or "公布" in english.json()["message"]
    assert _post(client, {**base, "start": "7点"}).status_code == 422
    assert _post(client, {**base, "days": 400}).status_code in (400, 422)
    assert _post(client, {**base, "plates": []}).status_code in (400, 422)
    assert (
        Client()
        .post("/api/v1/me/truck-passes", json.dumps(base), content_type="application/json")
        .status_code
        == 401
    )


def test_the_published_rules_are_public(zone, rule_officer):
    from jiaoguan.truck_passes import services

    from .conftest import zone_input

    services.zone_save(actor=rule_officer, data=zone_input(name="草稿"))
    rules = Client().get("/api/v1/truck-rules?city=411700").json()
    assert [(z["name"], z["closed_windows"][0]) for z in rules] == [
        ("中心城区", {"days": [1, 2, 3, 4, 5], "start": "07:00", "end": "09:00"})
    ]
    page = Client().get("/truck-rules/")
    assert (
        page.status_code == 200
        and "中心城区" in page.content.decode()
        and "草稿" not in page.content.decode()
    )


def test_the_owner_applies_on_the_page_sees_the_qr_and_prints_it(zone, owner):
    user, truck = owner
    client = _client(user)
    page = client.get("/truck-passes/")
    assert page.status_code == 200 and truck.plate_number in page.content.decode()
    done = client.post("/truck-passes/application", {
        "zone": zone.pk, "plates": [truck.plate_number], "start": "17:00", "end": "19:00",
        "valid_from": timezone.localdate().isoformat(), "days": "10",
    })  # fmt: skip
    assert done.status_code == 302
    shown = client.get("/truck-passes/").content.decode()
    truck_pass = TruckPass.objects.get()
    assert f'id="pass-{truck_pass.pk}"' in shown and "<svg" in shown and "17:00-19:00" in shown
    pdf = client.get(f"/truck-passes/{truck_pass.pk}/print")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    bad = client.post("/truck-passes/application", {"zone": zone.pk, "plates": [truck.plate_number],
                      "start": "10:00", "end": "11:00", "valid_from": "2026-13-40", "days": "x"})  # fmt: skip
    assert bad.status_code == 302
    assert client.get("/truck-passes/999999/print").status_code == 404


def test_the_editor_refuses_o1a_breaches_with_the_reason_and_publishes(rule_officer):
    client = _client(rule_officer)
    assert client.get("/counter/truck-rules/").status_code == 200
    refused = client.post("/counter/truck-rules/", {
        "name": "全市", "kind": "city", "roads": "全市道路", "vehicle_kinds": ["heavy_truck"],
        "windows": "1-7 00:00-24:00",
    })  # fmt: skip
    assert refused.status_code == 422 and "全城24小时" in refused.content.decode()
    saved = client.post("/counter/truck-rules/", {
        "name": "中心城区", "kind": "core", "roads": "解放路以内", "vehicle_kinds": ["heavy_truck", "medium_truck"],
        "windows": "1-5 07:00-09:00\n1-7 17:00-19:00",
    })  # fmt: skip
    assert saved.status_code == 302
    zone = RestrictionZone.objects.get()
    client.post("/counter/truck-rules/state", {"zone_id": zone.pk, "do": "publish"})
    zone.refresh_from_db()
    assert zone.state == "published"
    edit = client.get(f"/counter/truck-rules/?zone={zone.pk}")
    assert "1-5 07:00-09:00" in edit.content.decode()


def test_the_roadside_check_page_by_plate(zone, owner, make_staff):
    user, truck = owner
    _client(user).post("/truck-passes/application", {
        "zone": zone.pk, "plates": [truck.plate_number], "start": "07:00", "end": "09:00",
        "valid_from": timezone.localdate().isoformat(), "days": "10",
    })  # fmt: skip
    police = _client(make_staff(role="violation_officer", jurisdiction="411702", username="truck-road-page"))
    shown = police.get("/counter/truck-passes/", {"q": "豫QH1234"}).content.decode()
    assert "中心城区" in shown and "07:00-09:00" in shown
    assert "没有有效的货车通行码" in police.get("/counter/truck-passes/", {"q": "豫Q00000"}).content.decode()
    assert police.get("/counter/truck-passes/", {"q": "?"}).status_code == 422
