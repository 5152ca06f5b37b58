"""The JSON API: registration, tokens, my data, error shape, idempotency (U2, Q1, Q2)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.core.models import AuditEntry

PASSWORD = "Lvse-Chuxing9"


@pytest.fixture
def api():
    return Client(HTTP_ACCEPT_LANGUAGE="zh-hans")


def post(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def register_via_api(api, person, sms_inbox, mobile="13912345678"):
    assert post(api, "/api/v1/auth/sms-codes", {"mobile": mobile}).status_code == 202
    body = {
        "id_type": "resident_id",
        "id_number": person.id_number,
        "name": person.name,
        "mobile": mobile,
        "sms_code": sms_inbox(mobile),
        "password": PASSWORD,
    }
    return post(api, "/api/v1/accounts", body), body


def token_for(api, username):
    response = post(api, "/api/v1/auth/tokens", {"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.content
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}


@pytest.mark.django_db
def test_health_and_openapi(api):
    assert api.get("/api/v1/health").json()["status"] == "ok"
    spec = api.get("/api/v1/openapi.json").json()
    for path in ["/api/v1/health", "/api/v1/auth/sms-codes", "/api/v1/accounts", "/api/v1/auth/tokens",
                 "/api/v1/me", "/api/v1/me/vehicles", "/api/v1/me/licences"]:  # fmt: skip
        assert path in spec["paths"], path


@pytest.mark.django_db
def test_register_token_and_my_data(api, make_person, make_vehicle, make_licence, sms_inbox):
    person = make_person()
    make_vehicle(
        owner=person, registered_on=date(2020, 5, 13), last_inspected_on=date(2022, 5, 1), plate="豫QA2345"
    )
    licence = make_licence(holder=person, classes="C1", first_issued_on=date(2015, 3, 5))
    from jiaoguan.registry.models import PointsEntry

    PointsEntry.objects.create(licence=licence, points=3, occurred_on=timezone.localdate(), source="test")

    response, _ = register_via_api(api, person, sms_inbox)
    assert response.status_code == 201, response.content
    assert response.json()["registration_level"] == "online"
    assert person.id_number not in response.content.decode()

    auth = token_for(api, person.id_number)
    me = api.get("/api/v1/me", **auth).json()
    assert me["id_number_masked"].startswith(person.id_number[:3]) and "*" in me["id_number_masked"]

    vehicles = api.get("/api/v1/me/vehicles", **auth).json()["items"]
    assert [v["plate_number"] for v in vehicles] == ["豫QA2345"]
    vehicle = vehicles[0]
    # registered 2020-05-13, label for year 2 taken 2022-05-01 -> valid to the year-4 due date
    assert vehicle["inspection_valid_until"] == "2024-05-31"
    assert vehicle["inspection_state"] == "overdue"
    assert "Q" in [s["code"] for s in vehicle["statuses"]]
    assert vehicle["scrapping_date"] is None  # small private car: no age limit

    licences = api.get("/api/v1/me/licences", **auth).json()["items"]
    assert licences[0]["points_in_cycle"] == 3
    assert licences[0]["classes"][0]["code"] == "C1"
    assert licences[0]["valid_until"] == "2025-03-05"


@pytest.mark.django_db
def test_my_data_needs_login(api):
    for url in ["/api/v1/me", "/api/v1/me/vehicles", "/api/v1/me/licences"]:
        response = api.get(url)
        assert response.status_code == 401
        assert response.json()["code"] == "auth.required"
    response = api.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401


@pytest.mark.django_db
def test_cannot_see_other_peoples_vehicles(api, make_person, make_vehicle, sms_inbox):
    me_person, other = make_person(), make_person(name="李娜")
    make_vehicle(owner=other, plate="豫Q88888")
    register_via_api(api, me_person, sms_inbox)
    auth = token_for(api, me_person.id_number)
    assert api.get("/api/v1/me/vehicles", **auth).json()["items"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"id_number": "41170219850615001"}, 422, "identity.citizen_id_format"),
        ({"id_type": "library_card"}, 422, "identity.document_type_unknown"),
        ({"name": "<img src=x onerror=alert(1)>"}, 422, "identity.name_invalid_characters"),
        ({"sms_code": "000000"}, 422, "accounts.sms_code_missing"),
        ({"mobile": "1234"}, 422, "identity.mobile_format"),
        ({"name": "张" * 300}, 422, "request.invalid"),
        ({"name": "张\x00伟"}, 422, "request.invalid"),
    ],
)
def test_bad_registration_input_is_a_clear_4xx(api, make_person, body, status, code):
    person = make_person()
    payload = {
        "id_type": "resident_id",
        "id_number": person.id_number,
        "name": person.name,
        "mobile": "13912345678",
        "sms_code": "123456",
        "password": PASSWORD,
        **body,
    }
    response = post(api, "/api/v1/accounts", payload)
    assert response.status_code == status, response.content
    data = response.json()
    assert data["code"] == code
    assert data["message"]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_errors_in_english_when_asked(make_person):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = post(client, "/api/v1/auth/sms-codes", {"mobile": "123"})
    assert response.status_code == 422
    assert "mobile" in response.json()["message"].lower()


@pytest.mark.django_db
def test_non_utf8_and_non_json_bodies_are_refused(api):
    response = api.post("/api/v1/accounts", data=b"\xff\xfe\x00garbage", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "code" in response.json()
    response = api.post("/api/v1/auth/tokens", data="not json", content_type="application/json")
    assert 400 <= response.status_code < 500


@pytest.mark.django_db
def test_sms_throttle_is_429_with_retry_after(api):
    assert post(api, "/api/v1/auth/sms-codes", {"mobile": "13600000000"}).status_code == 202
    response = post(api, "/api/v1/auth/sms-codes", {"mobile": "13600000000"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["code"] == "accounts.sms_too_soon"


@pytest.mark.django_db
def test_idempotency_key_replays_first_answer(api, make_person, sms_inbox):
    person = make_person()
    assert post(api, "/api/v1/auth/sms-codes", {"mobile": "13912345678"}).status_code == 202
    body = {
        "id_type": "resident_id",
        "id_number": person.id_number,
        "name": person.name,
        "mobile": "13912345678",
        "sms_code": sms_inbox("13912345678"),
        "password": PASSWORD,
    }
    first = post(api, "/api/v1/accounts", body, HTTP_IDEMPOTENCY_KEY="reg-1")
    again = post(api, "/api/v1/accounts", body, HTTP_IDEMPOTENCY_KEY="reg-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert User.objects.count() == 1
    other = post(api, "/api/v1/accounts", {**body, "name": "别人"}, HTTP_IDEMPOTENCY_KEY="reg-1")
    assert other.status_code == 409
    assert other.json()["code"] == "core.idempotency_key_reused"
    # without the key a retry is a plain duplicate
    assert post(api, "/api/v1/accounts", body).status_code in (409, 422)


@pytest.mark.django_db
def test_login_lock_via_api(api, make_person, sms_inbox, settings):
    settings.LOGIN_MAX_FAILURES = 2
    person = make_person()
    register_via_api(api, person, sms_inbox)
    bad = {"username": person.id_number, "password": "wrong-password"}
    assert post(api, "/api/v1/auth/tokens", bad).status_code == 401
    locked = post(api, "/api/v1/auth/tokens", bad)
    assert locked.status_code == 429 and locked.json()["code"] == "accounts.locked"
    assert post(api, "/api/v1/auth/tokens", {**bad, "password": PASSWORD}).status_code == 429


@pytest.mark.django_db
def test_a_business_not_online_names_the_counters_instead_of_an_upgrade(
    api, make_person, sms_inbox, offline_business
):
    """Issue 11, item 2: B19 is not online for anyone yet, so the answer is where to go, not how to
    upgrade (B8, then B1, were the example until issues 13 and 14 put them online)."""
    from jiaoguan.core.models import ServiceCounter

    ServiceCounter.objects.create(
        name="驿城区测试服务中心", division="411702", address="驿城区测试路1号", hours="周一至周五 9:00–17:00"
    )
    person = make_person()
    register_via_api(api, person, sms_inbox)
    auth = token_for(api, person.id_number)
    response = api.get("/api/v1/me/businesses/B19", **auth)
    assert response.status_code == 200
    body = response.json()
    # The account may do B19 (U5: online level), but nobody can do it online here yet.
    assert body["available_online"] is False and body["allowed"] is True
    assert "暂未开通网上办理" in body["message"] and "升级" not in body["message"]
    assert [c["address"] for c in body["counters"]] == ["驿城区测试路1号"]
    assert body["counters"][0]["hours"] == "周一至周五 9:00–17:00"
    online = api.get("/api/v1/me/businesses/B16", **auth)
    assert online.status_code == 200 and online.json()["available_online"] is True


@pytest.mark.django_db
def test_contact_change_and_access_log(api, make_person, make_staff, sms_inbox):
    person = make_person()
    register_via_api(api, person, sms_inbox)
    auth = token_for(api, person.id_number)
    from datetime import timedelta

    from jiaoguan.accounts.services import sms_code_send

    sms_code_send(mobile="13700001111", purpose="change_mobile", now=timezone.now() + timedelta(minutes=2))
    response = post(
        api, "/api/v1/me/contact", {"mobile": "13700001111", "sms_code": sms_inbox("13700001111")}, **auth
    )
    assert response.status_code == 200, response.content
    assert response.json()["mobile_masked"] == "137****1111"

    clerk = make_staff()
    from jiaoguan.core.audit import audit_record

    audit_record(actor=clerk, action="view", subject=person, subject_person_id=person.pk, summary="查看")
    log = api.get("/api/v1/me/access-log", **auth).json()
    assert [row["role"] for row in log] == ["counter_clerk"]
    assert AuditEntry.objects.filter(subject_person_id=person.pk).count() >= 2


@pytest.mark.django_db
def test_nul_bytes_never_reach_the_database(api):
    response = post(api, "/api/v1/auth/tokens", {"username": "a\x00b", "password": "x"})
    assert response.status_code == 422
    assert response.json()["code"] == "request.invalid"
