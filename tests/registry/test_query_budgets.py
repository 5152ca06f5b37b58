"""Query budgets of the citizen's most frequent reads (issue 12, item 2): my vehicles (Q1) and my
licence (Q2) each cost the same number of queries whatever the citizen holds, so an N+1 fails here.

The bearer token is looked up once and then kept in the cache for a short while; the budgets are
for a call after that (what nearly every call of the app is), plus one for the first call.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from jiaoguan.accounts.services import api_token_issue
from jiaoguan.registry.models import PointsEntry

VEHICLES_QUERIES = 1  # the vehicles with their owners
LICENCES_QUERIES = 2  # the licence with its holder; the points of this cycle and the last
CITIZEN_PASSWORD = "Citizen#2026x"  # the citizen fixture's (tests/conftest.py)
FIRST_CALL_TOKEN_QUERIES = 1  # the token with its user, on a call that finds nothing cached


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    settings.API_TOKEN_CACHE_SECONDS = 30  # as deployed, with the shared cache (REDIS_URL)
    cache.clear()
    yield
    cache.clear()


def _bearer(user) -> dict[str, str]:
    raw, _ = api_token_issue(username=user.username, password=CITIZEN_PASSWORD)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _warm(client: Client, path: str, auth: dict[str, str]) -> None:
    for _ in range(2):  # the token is cached by the first call, the answer by the second
        assert client.get(path, **auth).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_my_vehicles_costs_one_query_for_one_or_many(owner_driver, make_vehicle, django_assert_num_queries):
    user, person, _vehicle, _licence = owner_driver()
    client, auth = Client(), _bearer(user)
    _warm(client, "/api/v1/me/vehicles", auth)
    with django_assert_num_queries(VEHICLES_QUERIES):
        one = client.get("/api/v1/me/vehicles", **auth).json()["items"]
    assert len(one) == 1

    for n in range(6):
        make_vehicle(owner=person, registered_on=date(2016 + n, 3, 1), kind="small_passenger")
    with django_assert_num_queries(VEHICLES_QUERIES):
        many = client.get("/api/v1/me/vehicles", **auth).json()["items"]
    assert len(many) == 7


@pytest.mark.django_db(transaction=True)
def test_my_vehicles_first_call_adds_only_the_token_lookup(owner_driver, django_assert_num_queries):
    user, *_ = owner_driver()
    client, auth = Client(), _bearer(user)
    with django_assert_num_queries(FIRST_CALL_TOKEN_QUERIES + VEHICLES_QUERIES):
        assert client.get("/api/v1/me/vehicles", **auth).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_my_licence_costs_the_same_with_no_points_or_many(owner_driver, django_assert_num_queries):
    user, _person, _vehicle, licence = owner_driver()
    client, auth = Client(), _bearer(user)
    _warm(client, "/api/v1/me/licences", auth)
    with django_assert_num_queries(LICENCES_QUERIES):
        before = client.get("/api/v1/me/licences", **auth).json()["items"]
    assert before[0]["points_in_cycle"] == 0

    today = timezone.localdate()
    for n in range(8):  # this cycle, the last one, and unpaid ones carried over
        PointsEntry.objects.create(
            licence=licence,
            points=1,
            occurred_on=today - timedelta(days=200 * n),
            fine_unpaid=n % 3 == 0,
            source="test",
        )
    with django_assert_num_queries(LICENCES_QUERIES):
        after = client.get("/api/v1/me/licences", **auth).json()["items"]
    assert after[0]["points_in_cycle"] > 0


@pytest.mark.django_db(transaction=True)
def test_session_callers_of_the_api_cost_the_session_and_user_reads(owner_driver, django_assert_num_queries):
    user, *_ = owner_driver()
    client = Client()
    client.force_login(user)
    with django_assert_num_queries(2 + VEHICLES_QUERIES):  # the session row and the user
        assert client.get("/api/v1/me/vehicles").status_code == 200
