"""JSON API: my violations (Q3), handling (B16), fines and payments (B17) with Idempotency-Key."""

from __future__ import annotations

import pytest

from jiaoguan.payments.models import PaymentOrder
from jiaoguan.violations.models import Fine

from ..violations.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(client):
    def login(user) -> dict[str, str]:
        response = client.post(
            "/api/v1/auth/tokens",
            {"username": user.username, "password": PASSWORD},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}

    return login


def test_my_violations_list_and_detail(client, api, owner_driver, record):
    user, _p, vehicle, _l = owner_driver()
    _other, _p2, other_vehicle, _l2 = owner_driver(name="李娜")
    mine = [record(vehicle, code="1039") for _ in range(3)]
    record(other_vehicle)
    auth = api(user)
    page = client.get("/api/v1/me/violations?limit=2", **auth).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(f"/api/v1/me/violations?limit=2&cursor={page['next_cursor']}", **auth).json()
    ids = {v["id"] for v in page["items"] + rest["items"]}
    assert ids == {v.pk for v in mine} and rest["next_cursor"] is None
    item = page["items"][0]
    assert item["status"] == "unhandled" and item["source"] == "monitoring" and item["description_zh"]
    assert client.get(f"/api/v1/me/violations/{mine[0].pk}", **auth).status_code == 200
    assert client.get("/api/v1/me/violations?cursor=garbage", **auth).status_code == 422
    assert client.get("/api/v1/me/violations").status_code == 401


def test_handle_online_then_pay_with_idempotency_key(client, api, owner_driver, record, payment_gateway):
    user, _p, vehicle, licence = owner_driver()
    violation = record(vehicle)
    auth = api(user)
    response = client.post(
        f"/api/v1/me/violations/{violation.pk}/handling",
        {"no_dispute": True, "drove_self": True, "expected_points": 0},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="handle-1",
        **auth,
    )
    assert response.status_code == 201, response.content
    decision = response.json()
    assert len(decision["decision_number"]) == 15 and decision["amount_due_fen"] == 20000
    replay = client.post(
        f"/api/v1/me/violations/{violation.pk}/handling",
        {"no_dispute": True, "drove_self": True, "expected_points": 0},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="handle-1",
        **auth,
    )
    assert replay.status_code == 201 and replay.json()["decision_number"] == decision["decision_number"]

    fine_id = decision["id"]
    first = client.post(f"/api/v1/fines/{fine_id}/payments", HTTP_IDEMPOTENCY_KEY="pay-1", **auth)
    again = client.post(f"/api/v1/fines/{fine_id}/payments", HTTP_IDEMPOTENCY_KEY="pay-1", **auth)
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["order_number"] == again.json()["order_number"]
    assert first.json()["pay_url"].startswith(payment_gateway.url)
    assert PaymentOrder.objects.count() == 1
    order_number = first.json()["order_number"]
    payment_gateway.pay(order_number)
    state = client.get(f"/api/v1/payments/{order_number}?refresh=true", **auth).json()
    assert state["state"] == "paid"
    fine = client.get(f"/api/v1/fines/{fine_id}", **auth).json()
    assert fine["status"] == "paid" and fine["amount_due_fen"] == 0 and fine["payments"][0]["state"] == "paid"
    paid_again = client.post(f"/api/v1/fines/{fine_id}/payments", HTTP_IDEMPOTENCY_KEY="pay-2", **auth)
    assert paid_again.status_code == 409 and paid_again.json()["code"] == "payments.already_paid"
    listed = client.get("/api/v1/me/violations?status=paid", **auth).json()["items"]
    assert [v["id"] for v in listed] == [violation.pk]
    assert licence.points_entries.get().fine_unpaid is False


def test_handling_refusals_are_json_errors(client, api, owner_driver, record):
    user, _p, vehicle, _l = owner_driver()
    violation = record(vehicle, source="on_site")
    auth = api(user)
    response = client.post(
        f"/api/v1/me/violations/{violation.pk}/handling",
        {"no_dispute": True, "drove_self": True},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
        **auth,
    )
    assert response.status_code == 403
    assert response.json()["code"] == "violations.not_monitoring"
    stranger, *_ = owner_driver(name="王芳")
    response = client.post(
        f"/api/v1/me/violations/{violation.pk}/handling",
        {"no_dispute": True, "drove_self": True},
        content_type="application/json",
        **api(stranger),
    )
    assert response.status_code == 404


def test_gateway_outage_is_503_and_the_same_key_resumes(client, api, owner_driver, record, payment_gateway):
    from jiaoguan.violations.services import violation_handle_online

    user, _p, vehicle, _l = owner_driver()
    fine = violation_handle_online(
        actor=user, violation_id=record(vehicle).pk, no_dispute=True, drove_self=True
    )
    auth = api(user)
    payment_gateway.configure(error_rate=1.0)
    down = client.post(f"/api/v1/fines/{fine.pk}/payments", HTTP_IDEMPOTENCY_KEY="k", **auth)
    assert down.status_code == 503 and down.json()["code"] == "payments.gateway_unavailable"
    payment_gateway.configure(error_rate=0.0)
    up = client.post(f"/api/v1/fines/{fine.pk}/payments", HTTP_IDEMPOTENCY_KEY="k", **auth)
    assert up.status_code == 201 and up.json()["pay_url"]
    assert PaymentOrder.objects.filter(payable_id=fine.payable_id).count() == 1


def test_dispute_via_api(client, api, owner_driver, record):
    user, _p, vehicle, _l = owner_driver()
    violation = record(vehicle)
    auth = api(user)
    short = client.post(
        f"/api/v1/me/violations/{violation.pk}/disputes",
        {"reason": "no"},
        content_type="application/json",
        **auth,
    )
    assert short.status_code == 422
    ok = client.post(
        f"/api/v1/me/violations/{violation.pk}/disputes",
        {"reason": "车辆当日在外地维修，未上路行驶"},
        content_type="application/json",
        **auth,
    )
    assert ok.status_code == 200 and ok.json()["status"] == "disputed"


def test_notify_endpoint_refuses_unsigned_posts(client):
    response = client.post("/api/v1/payments/notify", b"{}", content_type="application/json")
    assert response.status_code == 401 and response.json()["code"] == "FAIL"
    assert not Fine.objects.exists()
