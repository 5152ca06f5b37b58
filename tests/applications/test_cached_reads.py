"""Cached application reads (issue 13): my applications (API) and the staff queue come from the
shared cache while nothing behind them changes, and every change of an application retires them
at once. Run with real transactions, as deployed: versions are renewed when the change commits.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from jiaoguan.accounts.services import api_token_issue
from jiaoguan.applications import services

from .conftest import PICKUP, settle_fee

pytestmark = pytest.mark.django_db(transaction=True)
CITIZEN_PASSWORD = "Citizen#2026x"  # the citizen fixture's (tests/conftest.py)


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.API_TOKEN_CACHE_SECONDS = 30
    settings.PERSONAL_READ_CACHE_SECONDS = 300  # as deployed with the shared cache (REDIS_URL)
    cache.clear()
    yield
    cache.clear()


def _mine(user) -> tuple[Client, dict[str, str]]:
    raw, _ = api_token_issue(username=user.username, password=CITIZEN_PASSWORD)
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _states(client: Client, auth: dict[str, str]) -> list[str]:
    response = client.get("/api/v1/me/applications", **auth)
    assert response.status_code == 200, response.content
    return [item["state"] for item in response.json()["items"]]


def test_my_applications_are_read_once_and_follow_every_change(
    driver, submit, clerk, django_assert_num_queries
):
    user, licence = driver()
    app = submit(user, licence, code="B11", delivery=PICKUP)
    client, auth = _mine(user)
    for _ in range(3):  # the token's owner, the token, the answer
        first = _states(client, auth)
    assert first == ["submitted"]
    with django_assert_num_queries(0):
        assert _states(client, auth) == first
    settle_fee(app, clerk)
    services.application_accept(actor=clerk, application_id=app.pk)
    assert _states(client, auth) == ["accepted"]
    services.application_start_production(actor=clerk, application_id=app.pk)
    assert _states(client, auth) == ["in_production"]


def test_the_queue_follows_submissions_and_claims_and_stays_inside_the_jurisdiction(
    driver, submit, clerk, make_staff
):
    elsewhere = make_staff(role="counter_clerk", jurisdiction="410100", username="clerk-zhengzhou")
    here, there = Client(), Client()
    here.force_login(clerk)
    there.force_login(elsewhere)
    assert "没有待办的申请" in here.get("/counter/applications/").content.decode()
    assert "没有待办的申请" in there.get("/counter/applications/").content.decode()

    user, licence = driver()
    app = submit(user, licence, code="B11", delivery=PICKUP)
    html = here.get("/counter/applications/").content.decode()
    assert app.number in html and "已认领" not in html
    assert app.number not in there.get("/counter/applications/").content.decode()

    services.application_claim(actor=clerk, application_id=app.pk)
    assert "已认领" in here.get("/counter/applications/").content.decode()
    services.application_withdraw(actor=user, application_id=app.pk)
    assert app.number not in here.get("/counter/applications/").content.decode()


def test_the_cached_queue_answers_the_same_as_without_the_cache(driver, submit, clerk, settings):
    user, licence = driver()
    submit(user, licence, code="B11", delivery=PICKUP)
    page = Client()
    page.force_login(clerk)
    cached = [page.get("/counter/applications/?business=B11").content.decode() for _ in range(2)]
    settings.PERSONAL_READ_CACHE_SECONDS = 0
    plain = page.get("/counter/applications/?business=B11").content.decode()

    def rows(html: str) -> str:
        return html[html.index('id="filters"') : html.index("</nav>", html.index('id="filters"'))]

    assert rows(cached[0]) == rows(cached[1]) == rows(plain)
