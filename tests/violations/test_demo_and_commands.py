"""Demo violations for the demo logins, and the reconcile-payments command."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from jiaoguan.demo.generate import ensure_demo_logins, generate_demo
from jiaoguan.payments import services as payment_services
from jiaoguan.payments.models import PaymentOrder, ReconciliationRun
from jiaoguan.violations.demo import ensure_demo_violations
from jiaoguan.violations.models import Violation


@pytest.mark.django_db
def test_demo_violations_cover_each_case_and_are_made_once():
    today = date(2026, 11, 27)
    generate_demo(persons=40, seed=5, today=today)
    rows = ensure_demo_logins(today=today, password="Tianzhong-Demo-2026")
    usernames = [row["username"] for row in rows]
    made = ensure_demo_violations(today=today, usernames=usernames)
    assert made == 18  # two citizens and the transport company, six records each
    assert ensure_demo_violations(today=today, usernames=usernames) == 0
    statuses = set(Violation.objects.values_list("status", flat=True))
    assert statuses == {"unhandled", "handled"}
    assert Violation.objects.filter(recording_division="320104").count() == 3  # V6, another province
    overdue = Violation.objects.filter(status="handled", fine__decided_on=today - timedelta(days=38))
    assert overdue.exists()  # its late fee shows on the demo's first day


@pytest.mark.django_db(transaction=True)
def test_reconcile_command_prints_each_day(payment_gateway, owner_driver, record):
    from jiaoguan.violations.services import violation_handle_online

    user, _p, vehicle, _l = owner_driver()
    fine = violation_handle_online(
        actor=user, violation_id=record(vehicle).pk, no_dispute=True, drove_self=True
    )
    order = payment_services.payment_start(actor=user, payable_id=fine.payable_id)
    payment_gateway.configure(callback_drop_rate=1.0)
    payment_gateway.pay(order.order_number)
    out = StringIO()
    call_command("reconcile_payments", "--day", timezone.localdate().isoformat(), stdout=out)
    assert "1 settled" in out.getvalue()
    assert PaymentOrder.objects.get(pk=order.pk).state == "paid"
    call_command("reconcile_payments", stdout=out)  # yesterday and today
    assert ReconciliationRun.objects.count() == 3
