"""Payment races decided by row locks and unique constraints, with real concurrent connections (V5).

The PostgreSQL-only tests run many threads, each with its own connection, released at the
same moment; the crash test runs on both databases.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jiaoguan.core.errors import Conflict
from jiaoguan.integrations.payment_gateway import signed_headers
from jiaoguan.payments import services
from jiaoguan.payments.models import CallbackLog, GatewayCharge, PaymentOrder, Refund
from jiaoguan.violations.models import Fine
from jiaoguan.violations.services import violation_handle_online

pytestmark = pytest.mark.django_db(transaction=True)


def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")


@pytest.fixture
def fine_of_citizen(owner_driver, record):
    def make(**kw):
        user, _person, vehicle, _licence = owner_driver(**kw)
        violation = record(vehicle)
        fine = violation_handle_online(
            actor=user, violation_id=violation.pk, no_dispute=True, drove_self=True
        )
        return user, fine

    return make


def signed_notice(gateway, order_number: str) -> tuple[bytes, dict[str, str]]:
    """The notice the gateway sends for the (only) charge of an order, signed with its key."""
    trade = gateway.client().query_order(out_trade_no=order_number)
    charge = trade.charges[0]
    body = json.dumps(
        {
            "notify_id": "N" + charge.trade_no,
            "out_trade_no": order_number,
            "trade_no": charge.trade_no,
            "trade_state": "SUCCESS",
            "amount_fen": charge.amount_fen,
            "paid_at": charge.paid_at.isoformat(),
        }
    ).encode()
    return body, signed_headers(gateway.merchant_id, gateway.key.encode(), body)


def test_fifty_duplicate_callbacks_pay_the_fine_once(payment_gateway, fine_of_citizen, run_together):
    postgres_only()
    user, fine = fine_of_citizen()
    order = services.payment_start(actor=user, payable_id=fine.payable_id)
    payment_gateway.pay(order.order_number)
    body, headers = signed_notice(payment_gateway, order.order_number)

    results = run_together(*[lambda: services.payment_notice_receive(body=body, headers=headers)] * 50)

    assert all(r == (200, {"code": "SUCCESS"}) for r in results), results
    fine.refresh_from_db()
    assert fine.status == Fine.Status.PAID and fine.paid_total_fen == order.amount_fen
    assert GatewayCharge.objects.count() == 1 and not Refund.objects.exists()
    assert PaymentOrder.objects.get(pk=order.pk).state == "paid"
    outcomes = sorted(CallbackLog.objects.values_list("outcome", flat=True))
    assert outcomes.count("paid") == 1 and outcomes.count("already_recorded") == 49


def test_fifty_duplicate_callbacks_over_http(payment_gateway, fine_of_citizen, live_server, settings):
    """The fake gateway itself sends 50 copies of the notice at once to the running server."""
    postgres_only()
    settings.PUBLIC_BASE_URL = live_server.url
    user, fine = fine_of_citizen()
    order = services.payment_start(actor=user, payable_id=fine.payable_id)
    payment_gateway.configure(callback_duplicates=49)
    payment_gateway.pay(order.order_number)
    deliveries = payment_gateway.wait_for_callbacks(
        50, timeout=30, out_trade_no=order.order_number, status=200
    )
    assert len(deliveries) >= 50
    assert Fine.objects.get(pk=fine.pk).status == Fine.Status.PAID
    assert GatewayCharge.objects.count() == 1 and not Refund.objects.exists()


def test_online_and_counter_at_the_same_moment_one_wins(
    payment_gateway, fine_of_citizen, make_staff, run_together
):
    postgres_only()
    for attempt in range(3):  # either side may win; each time exactly one does
        user, fine = fine_of_citizen(sequence=201 + attempt * 2)
        clerk = make_staff(role="counter_clerk", username=f"clerk-{attempt}")
        online, counter = run_together(
            lambda fine=fine, user=user: services.payment_start(actor=user, payable_id=fine.payable_id),
            lambda fine=fine, clerk=clerk, receipt=f"HN2026-{attempt:06d}": services.payable_pay_at_counter(
                reason="当事人现场缴款", actor=clerk, payable_id=fine.payable_id, receipt_number=receipt
            ),
        )
        outcomes = [online, counter]
        winners = [r for r in outcomes if isinstance(r, PaymentOrder)]
        losers = [r for r in outcomes if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert losers[0].code in ("payments.pending", "payments.already_paid")
        assert (
            PaymentOrder.objects.filter(payable_id=fine.payable_id, state__in=["pending", "paid"]).count()
            == 1
        )


def test_two_counters_and_another_platform_at_once_record_one_payment(
    fine_of_citizen, make_staff, run_together
):
    postgres_only()
    _user, fine = fine_of_citizen()
    first = make_staff(role="counter_clerk", username="clerk-a")
    second = make_staff(role="counter_clerk", username="clerk-b")
    results = run_together(
        lambda: services.payable_pay_at_counter(reason="当事人现场缴款", actor=first, payable_id=fine.payable_id, receipt_number="HN2026-100001"),
        lambda: services.payable_pay_at_counter(reason="当事人现场缴款", actor=second, payable_id=fine.payable_id, receipt_number="HN2026-100002"),
        lambda: services.payable_paid_elsewhere(
            actor=None, kind="fine", payable_reference=fine.decision_number, platform="bank", reference="BK-100003",
            paid_at=timezone.now(),
        ),
    )  # fmt: skip
    assert sum(isinstance(r, PaymentOrder) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 2
    assert PaymentOrder.objects.filter(payable_id=fine.payable_id, state="paid").count() == 1


def test_crash_after_charge_before_commit_is_repaired_by_reconciliation(
    payment_gateway, fine_of_citizen, monkeypatch
):
    """The gateway charged; our process dies inside the transaction that records it; the
    callbacks are lost. The daily reconciliation finds the charge and pays the fine once."""
    user, fine = fine_of_citizen()
    order = services.payment_start(actor=user, payable_id=fine.payable_id)
    payment_gateway.configure(callback_drop_rate=1.0)
    payment_gateway.pay(order.order_number)
    body, headers = signed_notice(payment_gateway, order.order_number)

    def crash(*args, **kwargs):
        raise SystemExit("killed while recording the charge")

    with monkeypatch.context() as patch:
        patch.setattr(services, "_mark_paid", crash)
        with pytest.raises(SystemExit):
            services.payment_notice_receive(body=body, headers=headers)
    # Nothing half-done survived the crash: the charge row rolled back with the rest.
    assert not GatewayCharge.objects.exists()
    assert Fine.objects.get(pk=fine.pk).status == Fine.Status.UNPAID
    assert PaymentOrder.objects.get(pk=order.pk).state == "pending"
    # Meanwhile the pending order keeps the counter from taking the money a second time (V5).
    with pytest.raises(Conflict):
        services.payable_pay_at_counter(
            reason="当事人现场缴款", actor=_clerk(), payable_id=fine.payable_id, receipt_number="HN2026-200001"
        )  # fmt: skip

    run = services.payments_reconcile(day=timezone.localdate(), stale_after=timedelta(hours=1))
    assert run.settled == 1 and run.error == ""
    fine.refresh_from_db()
    assert fine.status == Fine.Status.PAID and fine.paid_total_fen == order.amount_fen
    assert GatewayCharge.objects.get().learned_from == "statement"
    again = services.payments_reconcile(day=timezone.localdate())
    assert again.settled == 0 and again.duplicates == 0 and GatewayCharge.objects.count() == 1


def _clerk():
    from jiaoguan.accounts.services import staff_create

    return staff_create(
        username="clerk-crash", password="Counter#2026x", role="counter_clerk", jurisdiction="411700"
    )


def test_unsigned_or_wrongly_signed_notice_changes_nothing(payment_gateway, fine_of_citizen):
    user, fine = fine_of_citizen()
    order = services.payment_start(actor=user, payable_id=fine.payable_id)
    payment_gateway.pay(order.order_number)
    body, headers = signed_notice(payment_gateway, order.order_number)
    forged = signed_headers(payment_gateway.merchant_id, b"not-the-key", body)
    assert services.payment_notice_receive(body=body, headers={})[0] == 401
    assert services.payment_notice_receive(body=body, headers=forged)[0] == 401
    tampered = body.replace(b'"amount_fen": ', b'"amount_fen": 1')
    assert services.payment_notice_receive(body=tampered, headers=headers)[0] == 401
    assert Fine.objects.get(pk=fine.pk).status == Fine.Status.UNPAID and not GatewayCharge.objects.exists()
    assert CallbackLog.objects.filter(signature_valid=False).count() == 3
