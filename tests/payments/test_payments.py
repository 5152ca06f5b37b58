"""Fine payment through the fake gateway subprocess (B17, V5): orders, results, counter, refunds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.errors import Conflict, Unavailable
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.payments import services
from jiaoguan.payments.models import GatewayCharge, PaymentOrder, Refund
from jiaoguan.registry.models import PointsEntry
from jiaoguan.violations.models import Fine
from jiaoguan.violations.services import violation_handle_online

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fine_of_citizen(owner_driver, record):
    """A handled red-light violation: (user, fine) with a 200 yuan fine."""

    def make(**kw):
        user, _person, vehicle, _licence = owner_driver(**kw)
        violation = record(vehicle)
        fine = violation_handle_online(
            actor=user, violation_id=violation.pk, no_dispute=True, drove_self=True
        )
        return user, fine

    return make


def test_pay_online_then_query_marks_fine_paid(payment_gateway, fine_of_citizen):
    user, fine = fine_of_citizen()
    order = services.payment_start(actor=user, payable_id=fine.payable_id)
    assert order.state == "pending" and order.pay_url.startswith(payment_gateway.url)
    assert order.amount_fen == 20000 and order.late_fee_fen == 0
    payment_gateway.pay(order.order_number)
    order = services.payment_return(actor=user, order_number=order.order_number, cancelled=False)
    assert order.state == "paid"
    fine.refresh_from_db()
    assert fine.status == Fine.Status.PAID and fine.paid_channel == "online" and fine.paid_total_fen == 20000
    assert not PointsEntry.objects.get(source=fine.violation.record_number).fine_unpaid


def test_double_click_resumes_the_same_order(payment_gateway, fine_of_citizen):
    user, fine = fine_of_citizen()
    first = services.payment_start(actor=user, payable_id=fine.payable_id)
    second = services.payment_start(actor=user, payable_id=fine.payable_id)
    assert first.pk == second.pk and PaymentOrder.objects.count() == 1


def test_late_fee_is_charged_after_fifteen_days(payment_gateway, fine_of_citizen):
    user, fine = fine_of_citizen()
    order = services.payment_start(
        actor=user, payable_id=fine.payable_id, today=fine.decided_on + timedelta(days=20)
    )
    assert order.late_fee_fen == 20000 * 3 * 5 // 100 and order.amount_fen == 20000 + 3000


def test_cancel_at_gateway_closes_the_order(payment_gateway, fine_of_citizen):
    user, fine = fine_of_citizen()
    order = services.payment_start(actor=user, payable_id=fine.payable_id)
    order = services.payment_return(actor=user, order_number=order.order_number, cancelled=True)
    assert order.state == "closed"
    assert payment_gateway.client().query_order(out_trade_no=order.order_number).trade_state == "CLOSED"


def test_counter_is_refused_while_online_result_unknown(payment_gateway, fine_of_citizen, make_staff):
    user, fine = fine_of_citizen()
    clerk = make_staff(role="counter_clerk")
    services.payment_start(actor=user, payable_id=fine.payable_id)
    with pytest.raises(Conflict) as error:
        services.payable_pay_at_counter(
            reason="当事人现场缴款", actor=clerk, payable_id=fine.payable_id, receipt_number="HN2026-000123"
        )
    assert error.value.code == "payments.pending"


def test_counter_paid_fine_cannot_be_paid_online(payment_gateway, fine_of_citizen, make_staff):
    user, fine = fine_of_citizen()
    clerk = make_staff(role="counter_clerk")
    services.payable_pay_at_counter(
        reason="当事人现场缴款", actor=clerk, payable_id=fine.payable_id, receipt_number="HN2026-000124"
    )
    with pytest.raises(Conflict) as error:
        services.payment_start(actor=user, payable_id=fine.payable_id)
    assert error.value.code == "payments.already_paid"


def test_gateway_down_keeps_order_pending_and_retry_resumes(payment_gateway, fine_of_citizen):
    user, fine = fine_of_citizen()
    payment_gateway.configure(error_rate=1.0)
    with pytest.raises(Unavailable):
        services.payment_start(actor=user, payable_id=fine.payable_id)
    payment_gateway.configure(error_rate=0.0)
    order = services.payment_start(actor=user, payable_id=fine.payable_id)
    assert order.pay_url and PaymentOrder.objects.count() == 1


def test_paid_elsewhere_then_online_charge_is_refunded(payment_gateway, fine_of_citizen):
    user, fine = fine_of_citizen()
    order = services.payment_start(actor=user, payable_id=fine.payable_id)
    payment_gateway.pay(order.order_number)  # charged, but we have not heard yet
    services.payable_paid_elsewhere(
        actor=None, kind="fine", payable_reference=fine.decision_number, platform="bank", reference="BK20261127001",
        paid_at=timezone.now(),
    )  # fmt: skip
    # Closing the pending order (after commit, via the outbox) finds the charge and refunds it;
    # reconciliation then finds nothing new to do.
    run = services.payments_reconcile(day=timezone.localdate(), stale_after=timedelta(0))
    assert run.error == "" and run.settled == 0
    outbox_dispatch()
    refund = Refund.objects.get()
    assert refund.state == "succeeded" and refund.amount_fen == order.amount_fen
    assert PaymentOrder.objects.get(pk=order.pk).state == "refunded"
    assert GatewayCharge.objects.get().outcome == "duplicate"
    trade = payment_gateway.client().query_order(out_trade_no=order.order_number)
    assert trade.refunded_fen == order.amount_fen
    assert Fine.objects.get(pk=fine.pk).paid_channel == "other_platform"


def test_reconciliation_closes_unpaid_stale_orders(payment_gateway, fine_of_citizen):
    user, fine = fine_of_citizen()
    order = services.payment_start(actor=user, payable_id=fine.payable_id)
    run = services.payments_reconcile(day=date.today(), stale_after=timedelta(0))
    assert run.closed == 1 and PaymentOrder.objects.get(pk=order.pk).state == "closed"
