"""The citizen home page's query budget and the cached bearer-token lookup (issue 12, item 2).

The home page reads the session and the user, the vehicles, the licence and its points, and
the violation banners; the same number of queries for one vehicle or many. A bearer token is
found in the cache from its second call on, and any change of its user (a password reset,
which revokes the tokens, or a deactivation) ends that at once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from jiaoguan.accounts import services
from jiaoguan.accounts.models import ApiToken, User

CITIZEN_PASSWORD = "Citizen#2026x"  # the citizen fixture's (tests/conftest.py)
# Session, vehicles, licence, its points, the ids of vehicles and licence, the banners, the unread
# messages (issue 15); the session's user comes from the cache after the first visit, like a
# bearer token's.
HOME_QUERIES = 7


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    settings.API_TOKEN_CACHE_SECONDS = 30  # as with a shared cache (REDIS_URL)
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_home_page_costs_the_same_for_one_vehicle_or_many(
    owner_driver, make_vehicle, record, django_assert_num_queries
):
    user, person, vehicle, _licence = owner_driver()
    record(vehicle, code="1625")
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 200
    with django_assert_num_queries(HOME_QUERIES):
        page = client.get("/")
    assert page.status_code == 200 and page.context["unhandled_violations"] == 1

    for _ in range(5):
        record(make_vehicle(owner=person), code="1352")
    with django_assert_num_queries(HOME_QUERIES):
        page = client.get("/")
    assert len(page.context["vehicles"]) == 6 and page.context["unhandled_violations"] == 6


# With the shared cache (Redis) the cards and banners are kept per owner (core/personal_reads.py).
HOME_QUERIES_CARDS_KEPT = 1  # the session (in Redis when deployed: none at all)


@pytest.mark.django_db(transaction=True)
def test_home_page_with_its_cards_kept_reads_only_the_session(
    owner_driver, record, settings, django_assert_num_queries
):
    settings.PERSONAL_READ_CACHE_SECONDS = 300
    user, _person, vehicle, _licence = owner_driver()
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 200
    with django_assert_num_queries(HOME_QUERIES_CARDS_KEPT):
        page = client.get("/")
    assert len(page.context["vehicles"]) == 1 and page.context["unhandled_violations"] == 0
    record(vehicle, code="1625")  # a camera record: the banner shows it at once
    assert client.get("/").context["unhandled_violations"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_session_user_is_kept_until_the_user_changes(owner_driver, django_assert_num_queries):
    user, *_ = owner_driver()
    client = Client()
    client.force_login(user)
    client.get("/")
    with django_assert_num_queries(HOME_QUERIES):
        assert client.get("/").status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    # The kept user is retired with the change: the session no longer logs anyone in.
    assert client.get("/").context["user"].is_authenticated is False
    user.is_active = True
    user.set_password("Changed#2026x")
    user.save()
    # A new password ends every session made with the old one (Django's session hash check).
    assert client.get("/").context["user"].is_authenticated is False


def _bearer(user) -> str:
    raw, _ = services.api_token_issue(username=user.username, password=CITIZEN_PASSWORD)
    return raw


@pytest.mark.django_db(transaction=True)
def test_a_token_is_looked_up_once_then_costs_no_query(owner_driver, django_assert_num_queries):
    user, *_ = owner_driver()
    raw = _bearer(user)
    with django_assert_num_queries(1):
        assert services.api_token_user(raw) == user
    for _ in range(2):
        with django_assert_num_queries(0):
            assert services.api_token_user(raw) == user


@pytest.mark.django_db(transaction=True)
def test_without_a_shared_cache_every_call_reads_the_token(owner_driver, settings, django_assert_num_queries):
    """A per-process cache could keep a token another process's password reset revoked."""
    settings.API_TOKEN_CACHE_SECONDS = 0
    user, *_ = owner_driver()
    raw = _bearer(user)
    for _ in range(3):
        with django_assert_num_queries(1):
            assert services.api_token_user(raw) == user


@pytest.mark.django_db(transaction=True)
def test_a_cached_token_ends_with_a_password_reset(owner_driver, sms_inbox):
    user, *_ = owner_driver()
    mobile = "13912345670"
    User.objects.filter(pk=user.pk).update(mobile=mobile, mobile_verified_at=timezone.now())
    raw = _bearer(user)
    for _ in range(3):
        assert services.api_token_user(raw) == user
    services.password_reset_request(username=user.username, mobile=mobile)
    services.password_reset_confirm(
        username=user.username, mobile=mobile, sms_code=sms_inbox(mobile), password="Another#2026x"
    )
    assert services.api_token_user(raw) is None


@pytest.mark.django_db(transaction=True)
def test_a_cached_token_ends_when_the_account_is_deactivated(owner_driver):
    user, *_ = owner_driver()
    raw = _bearer(user)
    for _ in range(3):
        assert services.api_token_user(raw) == user
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert services.api_token_user(raw) is None


@pytest.mark.django_db(transaction=True)
def test_a_cached_token_answers_the_user_as_changed(owner_driver):
    user, *_ = owner_driver()
    raw = _bearer(user)
    for _ in range(3):
        services.api_token_user(raw)
    user.registration_level = "counter"
    user.save(update_fields=["registration_level"])
    found = services.api_token_user(raw)
    assert found is not None and found.registration_level == "counter"


@pytest.mark.django_db(transaction=True)
def test_an_expired_token_is_not_answered_from_the_cache(owner_driver, monkeypatch):
    user, *_ = owner_driver()
    raw = _bearer(user)
    for _ in range(3):
        assert services.api_token_user(raw) == user
    expires_at = ApiToken.objects.get(user=user).expires_at
    monkeypatch.setattr(services.timezone, "now", lambda: expires_at + timedelta(seconds=1))
    assert services.api_token_user(raw) is None
