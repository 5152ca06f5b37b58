"""The entrustment API (O5): create with Idempotency-Key, list with the EN1 QR text, revoke, and
the counter's check; refusals carry their code and change nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.delegations.models import DelegatedAction, Entrustment

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
URL = "/api/v1/me/entrustments"


@pytest.fixture(autouse=True)
def _keys(tmp_path, settings):
    from jiaoguan.credentials.keys import trust_cache_clear

    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.CREDENTIAL_AUTO_KEY = True
    trust_cache_clear()
    yield
    trust_cache_clear()


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _post(client: Client, url: str, body: dict, **headers):
    return client.post(url, json.dumps(body, default=str), content_type="application/json", **headers)


@pytest.fixture
def principal(make_person, citizen):
    return citizen(make_person(name="王芳", mobile="13800138001"))


@pytest.fixture
def agent(make_person):
    return make_person(name="李强", mobile="13800138003")


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-entrust-api")


def _body(agent, **over) -> dict:
    body = {
        "agent_id_number": agent.id_number, "agent_name": agent.name, "agent_mobile": agent.mobile,
        "businesses": ["licence.replacement"], "valid_from": TODAY.isoformat(),
        "valid_until": (TODAY + timedelta(days=29)).isoformat(),
    }  # fmt: skip
    body.update(over)
    return body


def test_create_is_idempotent_and_answers_the_qr_text(principal, agent):
    client = _client(principal)
    first = _post(client, URL, _body(agent), HTTP_IDEMPOTENCY_KEY="en-1")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["status"] == "valid" and data["token"].startswith("EN1:") and data["agent"] == "李*"
    assert data["businesses"] == ["licence.replacement"] and "*" in data["agent_id_number"]
    again = _post(client, URL, _body(agent), HTTP_IDEMPOTENCY_KEY="en-1")
    assert again.status_code == 201 and again.json()["id"] == data["id"]
    assert Entrustment.objects.count() == 1
    listed = client.get(URL)
    assert listed.status_code == 200
    assert [(e["id"], e["token"][:4]) for e in listed.json()] == [(data["id"], "EN1:")]


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"valid_until": (TODAY + timedelta(days=30)).isoformat()}, "delegations.entrustment.too_long"),
        ({"businesses": ["licence.exam"]}, "delegations.entrustment.business_not_entrustable"),
        ({"purpose": "abroad", "businesses": ["vehicle.plate"]}, "delegations.entrustment.abroad_business"),
    ],
)
def test_bad_input_is_422_with_its_code_and_nothing_is_stored(principal, agent, over, code):
    answer = _post(_client(principal), URL, _body(agent, **over))
    assert answer.status_code == 422 and answer.json()["code"] == code
    assert Entrustment.objects.count() == 0


def test_malformed_bodies_are_422_not_500(principal, agent):
    client = _client(principal)
    assert _post(client, URL, _body(agent, valid_until="2026-02-30")).status_code == 422
    assert _post(client, URL, _body(agent, businesses="vehicle.plate")).status_code == 422
    assert _post(client, URL, _body(agent, agent_name="李\x00强")).status_code == 422
    assert Entrustment.objects.count() == 0


def test_revocation_is_the_principals_only(principal, agent, citizen, make_person):
    made = _post(_client(principal), URL, _body(agent)).json()
    stranger = citizen(make_person(name="孙丽", mobile="13800138005"))
    assert _post(_client(stranger), f"{URL}/{made['id']}/revocation", {}).status_code == 404
    assert _post(_client(principal), f"{URL}/１/revocation", {}).status_code == 404
    assert _post(_client(principal), f"{URL}/{'9' * 30}/revocation", {}).status_code == 404
    revoked = _post(_client(principal), f"{URL}/{made['id']}/revocation", {})
    assert (
        revoked.status_code == 200 and revoked.json()["status"] == "revoked" and revoked.json()["token"] == ""
    )
    again = _post(_client(principal), f"{URL}/{made['id']}/revocation", {})
    assert again.status_code == 409 and again.json()["code"] == "delegations.already_ended"


def test_the_counter_check_endpoint(principal, agent, clerk, make_person):
    made = _post(_client(principal), URL, _body(agent)).json()
    counter = _client(clerk)
    check = {"token_or_id": made["token"], "agent_id_number": agent.id_number, "business": "B10"}
    done = _post(counter, "/api/v1/counter/entrustment-checks", check)
    assert done.status_code == 201 and done.json()["outcome"] == "done", done.content
    other = make_person(name="赵敏", mobile="13800138004")
    wrong = _post(
        counter, "/api/v1/counter/entrustment-checks", {**check, "agent_id_number": other.id_number}
    )
    assert wrong.json()["reason"] == "agent_mismatch" and wrong.json()["new_entrustment_needed"] is True
    _post(_client(principal), f"{URL}/{made['id']}/revocation", {})
    revoked = _post(counter, "/api/v1/counter/entrustment-checks", check)
    assert revoked.status_code == 201 and revoked.json()["reason"] == "revoked"
    tampered = _post(
        counter, "/api/v1/counter/entrustment-checks", {**check, "token_or_id": made["token"][:-3] + "AAA"}
    )
    assert tampered.status_code == 422 and tampered.json()["code"] == "delegations.entrustment.token_rejected"
    assert _post(_client(principal), "/api/v1/counter/entrustment-checks", check).status_code == 403
    assert list(DelegatedAction.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "done", "refused", "refused"
    ]  # fmt: skip
    mine = _client(principal).get("/api/v1/me/acted-for-me").json()
    assert [(r["outcome"], r["channel"]) for r in mine][-1] == ("done", "counter")


@pytest.mark.parametrize(
    "over",
    [
        {"valid_from": "9999-12-31", "valid_until": "9999-12-31"},
        {"valid_from": "0001-01-01", "valid_until": "9999-12-31"},
        {"businesses": ["x" * 5000, "vehicle.plate"]},
        {"businesses": ["vehicle.plate\x00"]},
        {"businesses": [1, None]},
        {"agent_id_number": "４１１７０２"},
        {"agent_mobile": "+86 138 0013 8003 9"},
        {"purpose": ""},
    ],
)
def test_odd_bodies_are_refused_not_server_errors(principal, agent, over):
    answer = _post(_client(principal), URL, _body(agent, **over))
    assert answer.status_code in (400, 422), answer.content
    assert {"code", "message"} <= set(answer.json())
    assert Entrustment.objects.count() == 0


@pytest.mark.parametrize(
    "over",
    [
        {"token_or_id": "EN1:" + "9" * 4000},
        {"token_or_id": ""},
        {"token_or_id": "en1:abc"},
        {"token_or_id": "４１１７０２１９８５０６１５１０５５"},
        {"agent_id_number": "x"},
        {"business": "B" * 40},
        {"business": ""},
    ],
)
def test_odd_counter_checks_are_refused_not_server_errors(principal, agent, clerk, over):
    made = _post(_client(principal), URL, _body(agent)).json()
    check = {"token_or_id": made["token"], "agent_id_number": agent.id_number, "business": "B10", **over}
    answer = _post(_client(clerk), "/api/v1/counter/entrustment-checks", check)
    assert answer.status_code in (404, 422), answer.content
    assert DelegatedAction.objects.count() == 0


def test_a_full_width_id_number_is_stored_as_ascii(principal, agent):
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in agent.id_number)
    made = _post(_client(principal), URL, _body(agent, agent_id_number=wide))
    assert made.status_code == 201
    assert Entrustment.objects.get().agent_id_number == agent.id_number
