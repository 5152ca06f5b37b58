"""Registration confirms no identity without a valid SMS code, and attempts and SMS codes are
limited per client and per number (issue 10, item 8; U2).

The review's finding: the accounts API answered "already registered", "on the registry, no
account" and "name does not match" differently, without a code and without a limit, so
anyone could test whether a document number and name belong to a registered person.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from jiaoguan.accounts import rules, services
from jiaoguan.accounts.models import SmsCode, User
from jiaoguan.core.errors import DomainError, Throttled
from jiaoguan.core.identifiers import make_citizen_id

PASSWORD = "Lvse-Chuxing9"

# The limits the platform documents (accounts/rules.py).
REGISTRATION_PER_CLIENT_HOUR = 20
REGISTRATION_PER_NUMBER_HOUR = 10
SMS_PER_CLIENT_HOUR = 20


def post(client: Client, url: str, body: dict, address: str = "198.51.100.10"):
    return client.post(url, json.dumps(body), content_type="application/json", REMOTE_ADDR=address)


def registration(number: str, name: str, mobile: str, code: str) -> dict[str, str]:
    return {
        "id_type": "resident_id",
        "id_number": number,
        "name": name,
        "mobile": mobile,
        "sms_code": code,
        "password": PASSWORD,
    }


@pytest.fixture
def identities(make_person, citizen):
    """The three identities the review told apart: (document number, name) by case."""
    on_registry = make_person(name="王芳")
    registered = make_person(name="李娜")
    citizen(registered)
    return {
        "not on the registry": (make_citizen_id("411721", date(1990, 1, 1), 11), "赵敏"),
        "name does not match": (on_registry.id_number, "王方"),
        "already registered": (registered.id_number, registered.name),
    }


def answers_alike(answers: dict[str, object]) -> bool:
    return len({json.dumps(a, sort_keys=True, ensure_ascii=False) for a in answers.values()}) == 1


# ---------------------------------------------------------------- one answer for every identity failure


@pytest.mark.django_db
def test_every_identity_failure_answers_alike_through_the_api(client, identities, sms_inbox):
    answers = {}
    for n, (case, (number, name)) in enumerate(identities.items()):
        mobile = f"1391234560{n}"
        assert post(client, "/api/v1/auth/sms-codes", {"mobile": mobile}).status_code == 202
        response = post(client, "/api/v1/accounts", registration(number, name, mobile, sms_inbox(mobile)))
        answers[case] = (response.status_code, response.json())
    assert answers_alike(answers), answers
    status, body = answers["already registered"]
    assert status == 422 and body["code"] == "accounts.identity_not_confirmed"
    assert body["detail"] == {"field": "id_number"}
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_without_a_valid_code_the_registry_is_not_consulted(client, identities, sms_inbox):
    # No code requested at all, then a wrong code: the answer is about the code, whoever it is.
    for wanted, request_code in (("accounts.sms_code_missing", False), ("accounts.sms_code_wrong", True)):
        answers = {}
        for n, (case, (number, name)) in enumerate(identities.items()):
            mobile = f"1381234{int(request_code)}00{n}"
            if request_code:
                assert post(client, "/api/v1/auth/sms-codes", {"mobile": mobile}).status_code == 202
                real = sms_inbox(mobile)
                code = "000000" if real != "000000" else "111111"
            else:
                code = "123456"
            response = post(client, "/api/v1/accounts", registration(number, name, mobile, code))
            answers[case] = (response.status_code, response.json())
        assert answers_alike(answers), answers
        assert answers["already registered"][1]["code"] == wanted


@pytest.mark.django_db
def test_every_identity_failure_reads_alike_on_the_page(client, identities, sms_inbox):
    shown = {}
    for n, (case, (number, name)) in enumerate(identities.items()):
        mobile = f"1371234560{n}"
        form = {**registration(number, name, mobile, ""), "password_confirm": PASSWORD}
        client.post("/register/sms/", form)
        response = client.post("/register/", {**form, "sms_code": sms_inbox(mobile)})
        assert response.status_code == 200
        html = response.content.decode()
        field = html.split('id="field-id_number"', 1)[1].split('id="field-name"', 1)[0]
        shown[case] = field.replace(number, "")
    assert answers_alike(shown), shown
    assert "证件号码" in shown["already registered"]


@pytest.mark.django_db
def test_a_refused_identity_uses_up_the_code(client, make_person, sms_inbox):
    """One code buys one look at the registry, so codes bound how fast it can be probed."""
    person = make_person(name="王芳")
    mobile = "13912345670"
    assert post(client, "/api/v1/auth/sms-codes", {"mobile": mobile}).status_code == 202
    code = sms_inbox(mobile)
    wrong = post(client, "/api/v1/accounts", registration(person.id_number, "王方", mobile, code))
    assert wrong.json()["code"] == "accounts.identity_not_confirmed"
    right = post(client, "/api/v1/accounts", registration(person.id_number, person.name, mobile, code))
    assert right.status_code == 422 and right.json()["code"] == "accounts.sms_code_used"
    assert not User.objects.exists()


# ---------------------------------------------------------------- limits on registration attempts


@pytest.mark.django_db
def test_registration_attempts_are_limited_per_client(client, make_person):
    person = make_person()
    attacker = "203.0.113.7"
    for n in range(REGISTRATION_PER_CLIENT_HOUR):
        body = registration(person.id_number, person.name, f"1350000{n:04d}", "123456")
        assert post(client, "/api/v1/accounts", body, attacker).status_code == 422
    body = registration(person.id_number, person.name, "13600009999", "123456")
    refused = post(client, "/api/v1/accounts", body, attacker)
    assert refused.status_code == 429, refused.content
    assert refused.json()["code"] == "accounts.client_limit" and int(refused["Retry-After"]) > 60
    # The page is the same service: refused too, with the message on the form.
    page = client.post("/register/", {**body, "password_confirm": PASSWORD}, REMOTE_ADDR=attacker)
    assert "操作过于频繁" in page.content.decode()
    # Another client is not held back.
    assert post(client, "/api/v1/accounts", body, "198.51.100.99").status_code == 422


@pytest.mark.django_db
def test_registration_attempts_are_limited_per_number(client, make_person):
    person = make_person()
    mobile = "13500001234"
    for n in range(REGISTRATION_PER_NUMBER_HOUR):
        body = registration(person.id_number, person.name, mobile, "123456")
        assert post(client, "/api/v1/accounts", body, f"198.51.100.{n + 1}").status_code == 422
    refused = post(client, "/api/v1/accounts", body, "198.51.100.200")
    assert refused.status_code == 429 and refused.json()["code"] == "accounts.mobile_attempts_limit"
    # Another number is not held back.
    other = registration(person.id_number, person.name, "13500004321", "123456")
    assert post(client, "/api/v1/accounts", other, "198.51.100.200").status_code == 422


@pytest.mark.django_db
def test_badly_formed_attempts_do_not_use_up_the_allowance(client, make_person):
    person = make_person()
    for _ in range(REGISTRATION_PER_CLIENT_HOUR + 5):
        bad = registration(person.id_number[:10], person.name, "13500001111", "123456")
        assert post(client, "/api/v1/accounts", bad).json()["code"] == "identity.citizen_id_format"
    good = registration(person.id_number, person.name, "13500001111", "123456")
    assert post(client, "/api/v1/accounts", good).json()["code"] == "accounts.sms_code_missing"


# ---------------------------------------------------------------- limits on sending SMS codes


@pytest.mark.django_db
def test_sms_codes_are_limited_per_client(client):
    attacker = "203.0.113.8"
    for n in range(SMS_PER_CLIENT_HOUR):
        response = post(client, "/api/v1/auth/sms-codes", {"mobile": f"1390000{n:04d}"}, attacker)
        assert response.status_code == 202, response.content
    refused = post(client, "/api/v1/auth/sms-codes", {"mobile": "13911112222"}, attacker)
    assert refused.status_code == 429 and refused.json()["code"] == "accounts.sms_client_limit"
    assert int(refused["Retry-After"]) > 60
    assert not SmsCode.objects.filter(mobile="13911112222").exists()
    # The page's button is the same service.
    page = client.post("/register/sms/", {"mobile": "13911112222"}, REMOTE_ADDR=attacker)
    assert "获取验证码过于频繁" in page.content.decode()
    assert (
        post(client, "/api/v1/auth/sms-codes", {"mobile": "13911112222"}, "198.51.100.3").status_code == 202
    )


@pytest.mark.django_db
def test_refused_sms_requests_do_not_use_up_the_clients_allowance(client):
    """A double tap on "获取验证码" is refused for the number and costs the client nothing."""
    for n in range(SMS_PER_CLIENT_HOUR):
        mobile = f"1390000{n:04d}"
        assert post(client, "/api/v1/auth/sms-codes", {"mobile": mobile}).status_code == 202
        assert (
            post(client, "/api/v1/auth/sms-codes", {"mobile": mobile}).json()["code"]
            == "accounts.sms_too_soon"
        )
    assert post(client, "/api/v1/auth/sms-codes", {"mobile": "13911113333"}).status_code == 429


@pytest.mark.django_db
def test_sms_codes_are_limited_per_number_per_day():
    start = timezone.now()
    for n in range(rules.SMS_MAX_PER_DAY):
        services.sms_code_send(mobile="13600000000", purpose="register", now=start + timedelta(hours=2 * n))
    later = start + timedelta(hours=2 * rules.SMS_MAX_PER_DAY - 1)
    with pytest.raises(Throttled) as refused:
        services.sms_code_send(mobile="13600000000", purpose="register", now=later)
    assert refused.value.code == "accounts.sms_daily_limit"
    services.sms_code_send(mobile="13600000000", purpose="register", now=start + timedelta(hours=25))


@pytest.mark.django_db(transaction=True)
def test_parallel_sms_requests_from_one_client_do_not_overrun_its_limit(run_together, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    from django.test import RequestFactory

    monkeypatch.setattr(rules, "SMS_CLIENT_LIMITS", (rules.Limit(3, timedelta(hours=1)),))

    def send(n: int):
        request = RequestFactory().post("/api/v1/auth/sms-codes", REMOTE_ADDR="203.0.113.60")
        return lambda: services.sms_code_send(mobile=f"1370000{n:04d}", purpose="register", request=request)

    results = run_together(*[send(n) for n in range(8)])
    assert sum(isinstance(r, SmsCode) for r in results) == 3, results
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 5 and {r.code for r in refused} == {"accounts.sms_client_limit"}
    assert SmsCode.objects.count() == 3


# ---------------------------------------------------------------- the counting rule (pure)


def test_a_fixed_window_counts_refuses_when_full_and_opens_again():
    limit = rules.Limit(2, timedelta(minutes=10))
    start = timezone.now()
    first = rules.count_attempt(limit=limit, window_start=None, hits=0, now=start)
    assert (first.window_start, first.hits, first.refused) == (start, 1, False)
    second = rules.count_attempt(limit=limit, window_start=start, hits=1, now=start + timedelta(minutes=1))
    assert (second.hits, second.refused) == (2, False)
    third = rules.count_attempt(limit=limit, window_start=start, hits=2, now=start + timedelta(minutes=4))
    assert third.refused and third.hits == 2 and third.wait_seconds == 6 * 60
    # A parallel request stamped a moment before the window opened belongs to it.
    early = rules.count_attempt(limit=limit, window_start=start, hits=2, now=start - timedelta(seconds=1))
    assert early.refused
    fresh = rules.count_attempt(limit=limit, window_start=start, hits=2, now=start + timedelta(minutes=10))
    assert (fresh.window_start, fresh.hits, fresh.refused) == (start + timedelta(minutes=10), 1, False)
    assert rules.give_back_attempt(limit=limit, window_start=start, hits=2, now=start) == 1
    assert (
        rules.give_back_attempt(limit=limit, window_start=start, hits=2, now=start + timedelta(hours=1)) == 2
    )
