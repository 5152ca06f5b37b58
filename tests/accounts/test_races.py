"""Races that row locks and unique constraints must decide (PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jiaoguan.accounts import services
from jiaoguan.accounts.models import SmsCode, User
from jiaoguan.core.errors import DomainError

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")


def test_parallel_sms_requests_for_one_number_send_one_code(run_together):
    results = run_together(*[lambda: services.sms_code_send(mobile="13500000000", purpose="register")] * 6)
    sent = [r for r in results if isinstance(r, SmsCode)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(sent) == 1, results
    assert len(refused) == 5 and all(r.code == "accounts.sms_too_soon" for r in refused)


def test_parallel_registrations_of_one_person_create_one_account(make_person, sms_inbox, run_together):
    person = make_person()
    mobiles = ["13500000001", "13500000002", "13500000003"]
    now = timezone.now() - timedelta(seconds=1)
    for mobile in mobiles:
        services.sms_code_send(mobile=mobile, purpose="register", now=now)
    codes = {m: sms_inbox(m) for m in mobiles}

    def register(mobile):
        return lambda: services.account_register_online(
            id_type="resident_id", id_number=person.id_number, name=person.name,
            mobile=mobile, sms_code=codes[mobile], password="Lvse-Chuxing9",
        )  # fmt: skip

    results = run_together(*[register(m) for m in mobiles])
    assert sum(isinstance(r, User) for r in results) == 1, results
    assert all(
        isinstance(r, User) or getattr(r, "code", "") == "accounts.identity_not_confirmed" for r in results
    )
    assert User.objects.filter(person=person).count() == 1


def test_one_code_used_by_two_parallel_requests_registers_once(make_person, sms_inbox, run_together):
    first, second = make_person(), make_person(name="李娜")
    services.sms_code_send(mobile="13500000009", purpose="register")
    code = sms_inbox("13500000009")

    def register(person):
        return lambda: services.account_register_online(
            id_type="resident_id", id_number=person.id_number, name=person.name,
            mobile="13500000009", sms_code=code, password="Lvse-Chuxing9",
        )  # fmt: skip

    results = run_together(register(first), register(second))
    assert sum(isinstance(r, User) for r in results) == 1, results
    assert [r.code for r in results if isinstance(r, DomainError)] == ["accounts.sms_code_used"]
