"""Query budget of "my violations" (Q3, issue 12 item 2): the same number of queries for one
violation or a page of them, handled with fines or not, on the owner's vehicles and licence."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client

from jiaoguan.accounts.services import api_token_issue
from jiaoguan.violations import services

CITIZEN_PASSWORD = "Citizen#2026x"  # the citizen fixture's (tests/conftest.py)
# The ids of the citizen's vehicles and licence (one query for both), then the page with fines.
VIOLATIONS_QUERIES = 2


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    settings.API_TOKEN_CACHE_SECONDS = 30  # as deployed, with the shared cache (REDIS_URL)
    cache.clear()
    yield
    cache.clear()


def _bearer(user) -> dict[str, str]:
    raw, _ = api_token_issue(username=user.username, password=CITIZEN_PASSWORD)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.django_db(transaction=True)
def test_my_violations_cost_the_same_for_one_or_a_page(
    owner_driver, make_vehicle, record, django_assert_num_queries
):
    user, person, vehicle, _licence = owner_driver()
    record(vehicle, code="1625")
    client, auth = Client(), _bearer(user)
    for _ in range(2):  # the token is cached from the second call on
        assert client.get("/api/v1/me/violations", **auth).status_code == 200
    with django_assert_num_queries(VIOLATIONS_QUERIES):
        one = client.get("/api/v1/me/violations", **auth).json()["items"]
    assert len(one) == 1

    second = make_vehicle(owner=person)
    base = datetime.now().astimezone() - timedelta(days=20)
    for n in range(12):
        record(second if n % 2 else vehicle, code="1352", occurred_at=base + timedelta(hours=n))
    services.violation_handle_online(
        actor=user, violation_id=one[0]["id"], no_dispute=True, drove_self=True
    )  # a handled one with its fine
    with django_assert_num_queries(VIOLATIONS_QUERIES):
        page = client.get("/api/v1/me/violations?limit=20", **auth).json()["items"]
    assert len(page) == 13
    assert any(item["fine_id"] for item in page)


@pytest.mark.django_db(transaction=True)
def test_a_citizen_without_vehicles_or_licence_costs_one_query(
    make_person, citizen, django_assert_num_queries
):
    user = citizen(make_person())
    client, auth = Client(), _bearer(user)
    for _ in range(2):
        assert client.get("/api/v1/me/violations", **auth).json()["items"] == []
    with django_assert_num_queries(1):  # the ids, which are none: no violation query at all
        assert client.get("/api/v1/me/violations", **auth).json()["items"] == []
