"""Demo data is consistent (issue 11 item 7): handled on the decision day and after the offence,
no late fee on a fine paid in time, every division named in full, and the same printed logins on
every restart and every fresh set-up."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from jiaoguan.core.datachecks import CheckContext
from jiaoguan.core.divisions import DIVISIONS
from jiaoguan.demo.generate import demo_password, ensure_demo_logins, generate_demo
from jiaoguan.registry.models import DrivingLicence, Organisation, Person, Vehicle
from jiaoguan.violations import rules
from jiaoguan.violations.datachecks import check_fines
from jiaoguan.violations.demo import ensure_demo_violations
from jiaoguan.violations.models import Fine, Violation

from .conftest import SHANGHAI

TODAY = date(2026, 11, 27)


def _demo(today: date = TODAY) -> list[dict[str, str]]:
    generate_demo(persons=40, seed=5, today=today)
    rows = ensure_demo_logins(today=today, password=demo_password())
    ensure_demo_violations(today=today, usernames=[row["username"] for row in rows])
    return rows


# ---------------------------------------------------------------- the rule


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def test_timeline_in_order_has_no_problem():
    offence = date(2026, 3, 1)
    assert rules.fine_timeline_problems(
        occurred_at=_at(offence, 8), handled_at=_at(offence + timedelta(days=2)), decided_on=offence + timedelta(days=2),
        paid_at=_at(offence + timedelta(days=10)), fine_fen=20000, late_fee_fen=0,
    ) == []  # fmt: skip


def test_handled_after_the_decision_day_and_a_late_fee_paid_in_time_are_problems():
    offence = date(2026, 3, 1)
    problems = rules.fine_timeline_problems(
        occurred_at=_at(offence, 8), handled_at=_at(offence + timedelta(days=30)), decided_on=offence + timedelta(days=2),
        paid_at=_at(offence + timedelta(days=5)), fine_fen=20000, late_fee_fen=600,
    )  # fmt: skip
    assert [field for field, _zh, _en in problems] == ["handled_at", "late_fee_fen"]


def test_handled_before_the_offence_is_a_problem():
    offence = date(2026, 3, 1)
    problems = rules.fine_timeline_problems(
        occurred_at=_at(offence, 12), handled_at=_at(offence, 9), decided_on=offence,
        paid_at=None, fine_fen=20000, late_fee_fen=0,
    )  # fmt: skip
    assert [field for field, _zh, _en in problems] == ["handled_at"]


# ---------------------------------------------------------------- generated demo data


@pytest.mark.django_db
def test_demo_fines_are_handled_on_their_decision_day_and_pass_the_data_check():
    _demo()
    fines = list(Fine.objects.select_related("violation"))
    assert fines
    for fine in fines:
        handled = timezone.localtime(fine.violation.handled_at, SHANGHAI)
        assert handled.date() == fine.decided_on and handled >= fine.violation.occurred_at
    assert list(check_fines(CheckContext(today=TODAY))) == []


@pytest.mark.django_db
def test_demo_has_a_fine_paid_in_time_without_a_late_fee():
    _demo()
    paid = list(Fine.objects.filter(status="paid"))
    assert paid
    for fine in paid:
        assert timezone.localtime(fine.paid_at, SHANGHAI).date() <= rules.payment_due(fine.decided_on)
        assert fine.late_fee_fen == 0 and fine.paid_total_fen == fine.amount_fen


@pytest.mark.django_db
def test_every_division_of_the_demo_data_is_named_in_full():
    _demo()
    codes = (
        set(Person.objects.values_list("residence_division", flat=True))
        | set(Vehicle.objects.values_list("division", flat=True))
        | set(DrivingLicence.objects.values_list("division", flat=True))
        | set(Organisation.objects.values_list("division", flat=True))
        | set(Violation.objects.values_list("recording_division", flat=True))
    ) - {""}
    assert "320104" in codes
    for code in codes:
        assert code in DIVISIONS, code
    assert rules.division_words("320104") == "江苏省南京市秦淮区"
    assert rules.division_words("411702") == "河南省驻马店市驿城区"
    assert rules.division_words("110101") == "北京市东城区"


@pytest.mark.django_db
def test_demo_logins_are_the_same_on_a_later_restart():
    first = _demo()
    later = ensure_demo_logins(today=TODAY + timedelta(days=200), password=demo_password())
    assert [(r["role"], r["username"]) for r in later] == [(r["role"], r["username"]) for r in first]
    assert {r["password"] for r in first} == {demo_password()}


class _Undo(Exception):
    """Rolls a set-up back, as if it never happened."""


@pytest.mark.django_db
def test_demo_logins_are_the_same_on_every_fresh_set_up():
    runs = []
    for _ in range(2):
        try:
            with transaction.atomic():
                runs.append([(r["role"], r["username"], r["password"]) for r in _demo()])
                raise _Undo
        except _Undo:
            pass
        assert not Person.objects.exists()  # the next run starts from an empty database
    assert runs[0] == runs[1]


def test_demo_password_derives_from_the_seed():
    assert demo_password() == demo_password() and demo_password(7) != demo_password(8)
