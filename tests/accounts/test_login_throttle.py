"""Login (issue 10, item 10): an unknown account and a wrong password answer alike and do the
same work, and a per-client throttle guards the login page, ``POST /api/v1/auth/tokens`` and
the back-office login together (U2).

"The same time" is asserted as structure: both branches check the password against a hash of
the same cost. The timings themselves are measured by bench/bench_login.py.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection
from django.test import Client

from jiaoguan.accounts import services
from jiaoguan.accounts.models import User
from jiaoguan.core.errors import DomainError, Throttled, Unauthenticated

PASSWORD = "Citizen#2026x"  # the citizen fixture's
STAFF_PASSWORD = "Counter#2026x"


@pytest.fixture
def fast_hashes(settings):
    # Dozens of failed logins per test: Argon2 would spend the test's time hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def api_login(client: Client, username: str, password: str, address: str = "198.51.100.10"):
    return client.post(
        "/api/v1/auth/tokens",
        json.dumps({"username": username, "password": password}),
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def answer(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["message"]


# ---------------------------------------------------------------- same answer, same work


@pytest.mark.django_db
@pytest.mark.real_password_hashing
def test_unknown_account_checks_a_password_hash_of_the_same_cost_as_a_wrong_password(
    make_person, citizen, monkeypatch
):
    user = citizen(make_person())
    checked: list[str] = []
    original = Argon2PasswordHasher.verify

    def spy(self, password, encoded):
        checked.append(encoded)
        return original(self, password, encoded)

    monkeypatch.setattr(Argon2PasswordHasher, "verify", spy)
    with pytest.raises(Unauthenticated) as wrong:
        services.account_authenticate(username=user.username, password="wrong-password")
    with pytest.raises(Unauthenticated) as unknown:
        services.account_authenticate(username="411702199001011234", password="wrong-password")
    assert len(checked) == 2, "the unknown account skipped the password check"
    assert (wrong.value.code, wrong.value.message) == (unknown.value.code, unknown.value.message)

    def cost(encoded: str) -> str:  # argon2$argon2id$v=19$m=...,t=...,p=...$salt$hash
        return "$".join(encoded.split("$")[:4])

    assert cost(checked[1]) == cost(checked[0]) == cost(user.password)


@pytest.mark.django_db
def test_unknown_account_locks_exactly_like_a_known_one(client, make_person, citizen, settings, fast_hashes):
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_CLIENT_MAX_FAILURES = 100
    user = citizen(make_person())
    known = [answer(api_login(client, user.username, "wrong-password")) for _ in range(5)]
    unknown = [answer(api_login(client, "411702199001011234", "wrong-password")) for _ in range(5)]
    assert known == unknown
    assert [status for status, _code, _message in known] == [401, 401, 429, 429, 429]
    assert known[2][1] == "accounts.locked"


# ---------------------------------------------------------------- per-client throttle


@pytest.mark.django_db
def test_failures_from_one_client_are_throttled_across_page_api_and_back_office(
    client, make_person, citizen, make_staff, settings, fast_hashes
):
    settings.LOGIN_CLIENT_MAX_FAILURES = 6
    user = citizen(make_person())
    staff = make_staff(role="administrator")
    attacker = "203.0.113.9"
    # Unknown accounts count, and every way in counts toward the same limit.
    for n in range(2):
        assert api_login(client, f"nobody-{n}", "x", attacker).status_code == 401
        page = client.post("/login/", {"account": f"ghost-{n}", "password": "x"}, REMOTE_ADDR=attacker)
        assert page.status_code == 200 and "账号或密码不正确" in page.content.decode()
        admin = client.post(
            "/admin/login/", {"username": f"shade-{n}", "password": "x"}, REMOTE_ADDR=attacker
        )
        assert admin.status_code == 200
    # The limit is reached: even the right password waits, on every way in.
    refused = api_login(client, user.username, PASSWORD, attacker)
    assert refused.status_code == 429 and refused.json()["code"] == "accounts.login_client_limit"
    assert int(refused["Retry-After"]) >= 1
    page = client.post("/login/", {"account": user.username, "password": PASSWORD}, REMOTE_ADDR=attacker)
    assert page.status_code == 429 and "_auth_user_id" not in client.session
    admin = client.post(
        "/admin/login/", {"username": staff.username, "password": STAFF_PASSWORD}, REMOTE_ADDR=attacker
    )
    assert admin.status_code == 429 and "_auth_user_id" not in client.session
    # Another client is not held back, and the accounts themselves were never locked.
    assert api_login(Client(), user.username, PASSWORD, "198.51.100.77").status_code == 201
    user.refresh_from_db()
    assert user.locked_until is None


@pytest.mark.django_db
def test_a_successful_login_does_not_use_up_the_clients_allowance(
    client, make_person, citizen, settings, fast_hashes
):
    settings.LOGIN_CLIENT_MAX_FAILURES = 3
    user = citizen(make_person())
    for _ in range(10):
        assert api_login(client, user.username, PASSWORD).status_code == 201
    for n in range(3):
        assert api_login(client, f"nobody-{n}", "x").status_code == 401
    assert api_login(client, user.username, PASSWORD).status_code == 429


@pytest.mark.django_db
def test_back_office_login_counts_failures_on_the_account_and_locks_it(
    client, make_staff, settings, fast_hashes
):
    settings.LOGIN_MAX_FAILURES = 3
    staff = make_staff(role="administrator")
    for _ in range(2):
        response = client.post("/admin/login/", {"username": staff.username, "password": "wrong-password"})
        assert response.status_code == 200
    locked = client.post("/admin/login/", {"username": staff.username, "password": "wrong-password"})
    assert locked.status_code == 429 and int(locked["Retry-After"]) >= 1
    staff.refresh_from_db()
    assert staff.locked_until is not None
    right = client.post("/admin/login/", {"username": staff.username, "password": STAFF_PASSWORD})
    assert right.status_code == 429 and "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_back_office_login_still_lets_staff_in(client, make_staff, fast_hashes):
    staff = make_staff(role="administrator")
    response = client.post(
        "/admin/login/?next=/admin/", {"username": staff.username, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


# ---------------------------------------------------------------- parallel requests (PostgreSQL)


@pytest.mark.django_db(transaction=True)
def test_parallel_failures_from_one_client_do_not_overrun_the_limit(run_together, settings, fast_hashes):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    from django.test import RequestFactory

    settings.LOGIN_CLIENT_MAX_FAILURES = 4

    def attempt(n: int):
        request = RequestFactory().post("/api/v1/auth/tokens", REMOTE_ADDR="203.0.113.50")
        return lambda: services.account_authenticate(username=f"nobody-{n}", password="x", request=request)

    results = run_together(*[attempt(n) for n in range(10)])
    assert all(isinstance(r, DomainError) for r in results), results
    assert sum(isinstance(r, Unauthenticated) for r in results) == 4, results
    throttled = [r for r in results if isinstance(r, Throttled)]
    assert len(throttled) == 6 and {r.code for r in throttled} == {"accounts.login_client_limit"}
    assert not User.objects.exists()
