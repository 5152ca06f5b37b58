"""An on-screen QR is checked once (E3, E4; issue 10, item 13).

The page says a screenshot cannot be used, yet the same online QR verified as valid again
and again for its three minutes. The first online verification now consumes the nonce; a
second scan answers "已于 HH:MM 核验过 (already checked at HH:MM)" as its own verdict, on the
verify page and in the API, and the holder sees that the QR was checked. Offline and
printed tokens are checked by status and can be verified any number of times.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.accounts.services import api_token_issue
from jiaoguan.credentials import services
from jiaoguan.credentials.models import OnlineNonce

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen()


@pytest.fixture
def holder(make_person, citizen):
    return citizen(make_person(name="陈静"))


@pytest.fixture
def mark(holder, make_vehicle):
    vehicle = make_vehicle(owner=holder.person, registered_on=TODAY - timedelta(days=400), plate="豫QD7K21")
    credential = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    assert credential is not None
    return credential


@pytest.fixture
def app(holder):
    """The holder's app: a bearer token for the API."""
    raw, _ = api_token_issue(username=holder.username, password=PASSWORD)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def shown(app, mark, mode: str) -> str:
    response = post(Client(), f"/api/v1/me/credentials/{mark.public_id}/tokens", {"mode": mode}, **app)
    assert response.status_code == 201, response.content
    return response.json()["text"]


def verify(text: str) -> dict:
    response = post(Client(), "/api/v1/credentials/verify", {"text": text})
    assert response.status_code == 200
    return response.json()


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def hhmm(unix: int) -> str:
    return timezone.localtime(datetime.fromtimestamp(unix, tz=UTC)).strftime("%H:%M")


def test_the_second_scan_of_an_online_qr_is_already_checked(app, mark):
    text = shown(app, mark, "online")
    first = verify(text)
    assert first["valid"] is True and first["reason"] == "ok" and first["checked_at"] is None
    second = verify(text)
    assert second["valid"] is False and second["reason"] == "already_checked"
    at = hhmm(second["checked_at"])
    assert abs(second["checked_at"] - timezone.now().timestamp()) < 60
    assert f"已于 {at} 核验过" in second["message_zh"]
    assert f"already checked at {at}" in second["message_en"].lower()
    assert {"check": "freshness", "ok": False} in second["checks"]
    assert second["status"] == "valid" and second["subject"]["plate"] == "豫QD7K21"  # who, but not valid
    third = verify(text)
    assert third["reason"] == "already_checked" and third["checked_at"] == second["checked_at"]
    nonce = OnlineNonce.objects.get(credential=mark)
    assert nonce.verified_at is not None and nonce.verified_count == 3  # every scan is counted


def test_each_fresh_online_qr_is_checked_once(app, mark):
    for _ in range(3):
        assert verify(shown(app, mark, "online"))["valid"] is True


@pytest.mark.parametrize("mode", ["offline", "printed"])
def test_offline_and_printed_tokens_verify_every_time(app, mark, mode):
    text = shown(app, mark, mode)
    for _ in range(3):
        verdict = verify(text)
        assert verdict["valid"] is True and verdict["mode"] == mode


def test_an_online_qr_of_a_revoked_credential_says_revoked_and_stays_unused(app, mark, make_staff):
    text = shown(app, mark, "online")
    services.credential_revoke(
        actor=make_staff(role="counter_clerk"), credential_id=mark.pk, reason="手机遗失"
    )
    assert verify(text)["reason"] == "revoked"
    assert verify(text)["reason"] == "revoked"  # the status decides; the nonce is not what failed
    assert OnlineNonce.objects.get(credential=mark).verified_at is None


def test_an_expired_or_unknown_nonce_is_not_already_checked(app, mark):
    text = shown(app, mark, "online")
    OnlineNonce.objects.all().delete()  # as after expiry and the purge
    assert verify(text)["reason"] == "nonce_unknown"


def test_the_verify_page_answers_already_checked_in_red(client, app, mark):
    text = shown(app, mark, "online")
    first = text_of(client.post("/verify/", {"text": text}))
    assert "verdict-valid" in first and "verdict-invalid" not in first
    second = text_of(client.post("/verify/", {"text": text}))
    checked_at = OnlineNonce.objects.get(credential=mark).verified_at
    at = timezone.localtime(checked_at).strftime("%H:%M")
    assert "verdict-invalid" in second and "verdict-valid" not in second
    assert f"已于 {at} 核验过" in second
    assert "首次核验时间" in second and "豫QD7K21" in second


def test_the_holder_sees_the_qr_was_checked_and_gets_a_new_one(client, holder, mark):
    client.force_login(holder)
    page = client.get(f"/credentials/{mark.public_id}/")
    token = html.unescape(re.search(r'data-token="([^"]+)"', page.content.decode()).group(1))
    nonce = re.search(r'data-nonce="([0-9a-f]+)"', page.content.decode()).group(1)
    assert "最近一次核验" not in text_of(page)
    qr_url = f"/credentials/{mark.public_id}/qr/?shown={nonce}"
    assert client.get(qr_url).status_code == 204  # not checked yet: the screen keeps its QR
    assert verify(token)["valid"] is True
    fragment = client.get(qr_url)
    assert fragment.status_code == 200
    at = timezone.localtime(OnlineNonce.objects.get(nonce=nonce).verified_at).strftime("%H:%M")
    assert f"已于 {at} 核验" in text_of(fragment)
    new_token = html.unescape(re.search(r'data-token="([^"]+)"', fragment.content.decode()).group(1))
    assert new_token != token and verify(new_token)["valid"] is True
    assert f"最近一次核验：{at}" in text_of(client.get(f"/credentials/{mark.public_id}/"))


def test_the_holders_app_sees_when_it_was_last_checked(app, mark):
    mine = Client().get("/api/v1/me/credentials", **app).json()
    assert mine[0]["last_checked_at"] is None
    verify(shown(app, mark, "online"))
    mine = Client().get("/api/v1/me/credentials", **app).json()
    checked_at = OnlineNonce.objects.get(credential=mark).verified_at
    assert mine[0]["last_checked_at"] == checked_at.isoformat()


def test_purge_keeps_checked_nonces_as_the_holders_record(app, mark):
    checked = shown(app, mark, "online")
    verify(checked)
    shown(app, mark, "online")  # never checked
    OnlineNonce.objects.update(expires_at=timezone.now() - timedelta(minutes=5))
    assert services.online_nonces_purge() == 1
    assert OnlineNonce.objects.filter(verified_at__isnull=False).count() == 1
    OnlineNonce.objects.update(verified_at=timezone.now() - services.ONLINE_CHECK_HISTORY - timedelta(days=1))
    assert services.online_nonces_purge() == 1 and not OnlineNonce.objects.exists()
