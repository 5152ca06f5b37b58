"""Credential endpoints: trust list, status list, verify for insurers' systems, my credentials and tokens."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.accounts.services import api_token_issue
from jiaoguan.credentials import services
from jiaoguan.credentials.verify import parse_trust_list, verify_offline

PASSWORD = "Lvse-Chuxing9"


@pytest.fixture(autouse=True)
def _keys(tmp_path, settings):
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.CREDENTIAL_AUTO_KEY = True  # a deployment would provision the key; here it is made on first use
    from jiaoguan.credentials.keys import trust_cache_clear

    trust_cache_clear()
    yield
    trust_cache_clear()


@pytest.fixture
def owner_with_mark(make_person, make_vehicle):
    person = make_person(name="黄磊")
    vehicle = make_vehicle(
        owner=person, registered_on=timezone.localdate() - timedelta(days=300), plate="豫QB7751"
    )
    user = User.objects.create_user(
        username=person.id_number, password=PASSWORD, person=person, registration_level="online"
    )
    credential = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    raw, _ = api_token_issue(username=user.username, password=PASSWORD)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}, credential, vehicle


def post(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


@pytest.mark.django_db
def test_owner_gets_tokens_and_anyone_verifies_them(owner_with_mark):
    auth, _credential, _vehicle = owner_with_mark
    client = Client()
    mine = client.get("/api/v1/me/credentials", **auth).json()
    assert [c["subject"]["plate"] for c in mine] == ["豫QB7751"]
    for mode in ("online", "offline", "printed"):
        response = post(client, f"/api/v1/me/credentials/{mine[0]['id']}/tokens", {"mode": mode}, **auth)
        assert response.status_code == 201, response.content
        text = response.json()["text"]
        verdict = post(Client(), "/api/v1/credentials/verify", {"text": text}).json()
        assert verdict["valid"] is True and verdict["subject"]["plate"] == "豫QB7751", verdict
    bad = post(client, f"/api/v1/me/credentials/{mine[0]['id']}/tokens", {"mode": "hologram"}, **auth)
    assert bad.status_code == 422


@pytest.mark.django_db
def test_verify_answers_invalid_input_with_a_reason_not_an_error():
    client = Client()
    for text in ["", "VI1:", "VI1:%%%%", "hello", "DL1:" + "A" * 5000]:
        response = post(client, "/api/v1/credentials/verify", {"text": text})
        assert response.status_code in (200, 422), response.content
        if response.status_code == 200:
            assert response.json()["valid"] is False and response.json()["reason"]


@pytest.mark.django_db
def test_someone_elses_credential_is_not_found(owner_with_mark, make_person):
    _auth, credential, _vehicle = owner_with_mark
    other = make_person(name="别人")
    User.objects.create_user(
        username=other.id_number, password=PASSWORD, person=other, registration_level="online"
    )
    raw, _ = api_token_issue(username=other.id_number, password=PASSWORD)
    response = post(
        Client(), f"/api/v1/me/credentials/{credential.public_id}/tokens", {"mode": "offline"},
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )  # fmt: skip
    assert response.status_code == 404


@pytest.mark.django_db
def test_published_trust_and_status_lists_verify_offline(owner_with_mark):
    auth, credential, vehicle = owner_with_mark
    client = Client()
    text = post(
        client, f"/api/v1/me/credentials/{credential.public_id}/tokens", {"mode": "offline"}, **auth
    ).json()["text"]
    trust = parse_trust_list(client.get("/api/v1/credentials/keys").content.decode())
    status_list = client.get("/api/v1/credentials/status-list").json()["status_list"]
    assert verify_offline(text, trust=trust, status_list=status_list, now=int(time.time())).valid
    vehicle.status = "C"
    vehicle.save()
    services.credential_status_sync(vehicle_id=vehicle.pk)
    status_list = client.get("/api/v1/credentials/status-list").json()["status_list"]
    verdict = verify_offline(text, trust=trust, status_list=status_list, now=int(time.time()))
    assert not verdict.valid and verdict.reason == "revoked"


@pytest.mark.django_db
def test_readme_on_a_fresh_server_keys_then_status_list_then_offline_verification(owner_with_mark):
    """Issue 10, item 2: the README's order on a fresh demo server. The trust list downloaded
    first already holds the key that signs the status list and the credential shown after."""
    import importlib
    import sys

    from jiaoguan.credentials.models import SigningKey

    auth, credential, _vehicle = owner_with_mark
    assert not SigningKey.objects.exists()  # nothing has been signed yet
    module = sys.modules.get("jiaoguan.wsgi")  # the server process starts
    importlib.reload(module) if module else importlib.import_module("jiaoguan.wsgi")
    client = Client()
    keys_json = client.get("/api/v1/credentials/keys").content.decode()  # curl -o keys.json
    status_json = client.get("/api/v1/credentials/status-list").content.decode()  # curl -o status.json
    assert json.loads(keys_json)["keys"]
    text = post(
        client, f"/api/v1/me/credentials/{credential.public_id}/tokens", {"mode": "offline"}, **auth
    ).json()["text"]
    verdict = verify_offline(
        text, trust=parse_trust_list(keys_json), status_list=json.loads(status_json)["status_list"],
        now=int(time.time()),
    )  # fmt: skip
    assert verdict.valid, verdict
