"""Query budget of credential verification (E4, issue 12 item 2): an offline or printed
inspection mark costs one query (its current status); an on-screen one adds its nonce."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.credentials import services
from jiaoguan.credentials import token as tok


@pytest.fixture
def mark_text(make_person, make_vehicle):
    def make(mode: int) -> str:
        person = make_person(name="黄磊")
        vehicle = make_vehicle(owner=person, registered_on=timezone.localdate() - timedelta(days=300))
        credential = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
        return services.credential_token(credential=credential, mode=mode)[0]

    return make


def _verify(text: str) -> dict:
    response = Client().post(
        "/api/v1/credentials/verify", data=json.dumps({"text": text}), content_type="application/json"
    )
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("mode", [tok.DisplayMode.OFFLINE, tok.DisplayMode.PRINTED])
def test_verifying_a_mark_costs_one_query(mark_text, mode, django_assert_num_queries):
    text = mark_text(mode)
    _verify(text)  # the trust list is read once and kept
    with django_assert_num_queries(1):
        assert _verify(text)["valid"] is True


@pytest.mark.django_db
def test_a_forged_text_costs_no_query(mark_text, django_assert_num_queries):
    text = mark_text(tok.DisplayMode.OFFLINE)
    _verify(text)
    with django_assert_num_queries(0):
        assert _verify(text[:-6] + "ABCDEF")["valid"] is False


# With the shared cache (Redis, as deployed) the live status is kept under a version every change
# of the credential renews: a repeated check costs no query, and a revocation shows at once.


@pytest.mark.django_db(transaction=True)
def test_a_kept_status_costs_no_query_and_a_revocation_shows_at_once(
    mark_text, make_staff, settings, django_assert_num_queries
):
    from django.core.cache import cache

    from jiaoguan.credentials.models import Credential

    settings.CREDENTIAL_STATUS_CACHE_SECONDS = 60
    cache.clear()
    text = mark_text(tok.DisplayMode.OFFLINE)
    _verify(text)
    _verify(text)
    with django_assert_num_queries(0):
        assert _verify(text)["valid"] is True
    credential = Credential.objects.get()
    services.credential_revoke(
        actor=make_staff(role="counter_clerk", jurisdiction="411700"),
        credential_id=credential.pk,
        reason="手机遗失",
    )
    verdict = _verify(text)
    assert verdict["valid"] is False and verdict["status"] == "revoked"
    cache.clear()
