"""Two submits at once and two clerks at once (O3), on PostgreSQL: one open case per person holds
under concurrency, and one acceptance completes a case once (one licence, one SMS)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from jiaoguan.core.errors import Conflict
from jiaoguan.core.outbox import OutboxMessage
from jiaoguan.military_exchange import services
from jiaoguan.military_exchange.models import ExchangeCase
from jiaoguan.registry.military_exchange import MilitaryDrivingAge

pytestmark = pytest.mark.django_db(transaction=True)


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency is exercised on PostgreSQL")


def _apply(user):
    return services.case_apply(
        actor=user,
        military_number="JW20080301",
        classes="B1",
        first_issued_on=date(2008, 3, 1),
        today=date(2021, 7, 1),
    )


def test_two_submits_at_once_make_one_case(veteran, seed_military, run_together):
    _require_postgres()
    seed_military(veteran)
    results = run_together(lambda: _apply(veteran), lambda: _apply(veteran))
    made = [r for r in results if isinstance(r, ExchangeCase)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(made) == 1 and len(refused) == 1, results
    assert refused[0].code == "military_exchange.one_open"
    assert ExchangeCase.objects.count() == 1


def test_two_clerks_accept_at_once_one_completes(veteran, clerk, make_staff, seed_military, run_together):
    _require_postgres()
    seed_military(veteran)
    case = _apply(veteran)
    other = make_staff(role="counter_clerk", jurisdiction="411700", username="mx-clerk-2")
    results = run_together(
        lambda: services.case_accept(actor=clerk, case_id=case.pk, today=date(2021, 7, 10)),
        lambda: services.case_accept(actor=other, case_id=case.pk, today=date(2021, 7, 10)),
    )
    assert sum(isinstance(r, ExchangeCase) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    assert MilitaryDrivingAge.objects.count() == 1
    assert OutboxMessage.objects.filter(dedup_key=f"military-exchange-{case.pk}-completed").count() == 1
