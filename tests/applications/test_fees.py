"""Application fees through the payment gateway (issue 13 "Fees through the payment gateway").

The fake gateway is the real subprocess (fixture ``payment_gateway``); payments and the
application change in one transaction, so a fee is paid once however often the gateway says so.
"""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from jiaoguan.applications import fees, selectors, services
from jiaoguan.applications.deadlines import accept_due
from jiaoguan.applications.models import Application, ApplicationEvent
from jiaoguan.applications.rules import State
from jiaoguan.applications.services import DeliveryInput
from jiaoguan.core.errors import Conflict, NotFound
from jiaoguan.core.models import AuditEntry
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.integrations.payment_gateway import signed_headers
from jiaoguan.payments import services as payments
from jiaoguan.payments.models import GatewayCharge, Payable, PaymentOrder, Refund
from jiaoguan.registry.rules import add_years

from .conftest import deferral as deferral_particulars

pytestmark = pytest.mark.django_db(transaction=True)

POST = DeliveryInput(
    method="post", recipient_name="张伟", recipient_phone="13800138000", address_division="411702",
    address_line="驻马店市驿城区解放路1号",
)  # fmt: skip
RECEIPT = {"receipt_number": "HN2026-000123", "reason": "窗口缴纳工本费"}


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def applicant(make_person, make_licence, citizen):
    """A counter-registered citizen with a C1 licence of the Zhumadian DMV: (user, licence)."""
    person = make_person(name="张伟", mobile="13800138000", area="411702")
    licence = make_licence(holder=person, division="411702", valid_from=add_years(timezone.localdate(), -3))
    return citizen(person, level="counter"), licence


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-zhumadian")


def _renewal(applicant) -> Application:
    user, licence = applicant
    return services.application_submit(actor=user, business_code="B11", licence_id=licence.pk, delivery=POST)


def _pay_online(gateway, user, app) -> PaymentOrder:
    order = payments.payment_start(actor=user, payable_id=app.fee_payable_id)
    gateway.pay(order.order_number)
    return payments.payment_return(actor=user, order_number=order.order_number, cancelled=False)


def _notices(gateway, order_number: str) -> list[tuple[bytes, dict[str, str]]]:
    """The signed notice the gateway sends for each charge of an order."""
    trade = gateway.client().query_order(out_trade_no=order_number)
    out = []
    for charge in trade.charges:
        body = json.dumps(
            {
                "notify_id": "N" + charge.trade_no, "out_trade_no": order_number, "trade_no": charge.trade_no,
                "trade_state": "SUCCESS", "amount_fen": charge.amount_fen, "paid_at": charge.paid_at.isoformat(),
            }
        ).encode()  # fmt: skip
        out.append((body, signed_headers(gateway.merchant_id, gateway.key.encode(), body)))
    return out


def test_submission_opens_the_fee_payable_with_the_application(applicant):
    app = _renewal(applicant)
    payable = Payable.objects.get(pk=app.fee_payable_id)
    assert (payable.kind, payable.reference, payable.principal_fen) == ("app_fee", app.number, 1000)
    assert payable.state == "unpaid" and payable.division == "411702" and "工本费" in payable.description
    user, licence = applicant
    deferral = services.application_submit(
        actor=user, business_code="B12", licence_id=licence.pk, particulars=deferral_particulars(licence)
    )
    assert deferral.fee_fen == 0 and deferral.fee_payable_id is None
    assert Payable.objects.count() == 1


def test_acceptance_waits_for_the_fee_and_the_deadline_restarts_at_payment(applicant, clerk, payment_gateway):
    user, _ = applicant
    app = _renewal(applicant)
    with pytest.raises(Conflict) as refused:
        services.application_accept(actor=clerk, application_id=app.pk)
    assert refused.value.code == "applications.fee_unpaid"
    assert "10.00" in refused.value.message_zh and "10.00" in refused.value.message_en
    assert Application.objects.get(pk=app.pk).state == State.SUBMITTED

    order = _pay_online(payment_gateway, user, app)
    assert order.state == "paid"
    app.refresh_from_db()
    paid_at = Payable.objects.get(pk=app.fee_payable_id).paid_at
    assert app.fee_paid_at == paid_at and app.state == State.SUBMITTED
    assert (app.accept_due_on, app.deadline_known) == accept_due(paid_at)
    step = ApplicationEvent.objects.get(application=app, action="fee_paid")
    assert (step.from_state, step.to_state, step.actor_id) == ("submitted", "submitted", None)
    assert "10.00" in step.note and "online" in step.note

    accepted = services.application_accept(actor=clerk, application_id=app.pk)
    assert accepted.state == State.ACCEPTED
    assert [e.action for e in selectors.timeline(accepted)] == ["submit", "fee_paid", "accept"]


def test_a_cancelled_payment_leaves_the_fee_payable_again(applicant, payment_gateway):
    user, _ = applicant
    app = _renewal(applicant)
    first = payments.payment_start(actor=user, payable_id=app.fee_payable_id)
    first = payments.payment_return(actor=user, order_number=first.order_number, cancelled=True)
    assert first.state == "closed"
    app.refresh_from_db()
    assert app.state == State.SUBMITTED and app.fee_paid_at is None
    assert not ApplicationEvent.objects.filter(application=app, action="fee_paid").exists()

    second = _pay_online(payment_gateway, user, app)
    assert second.pk != first.pk and second.state == "paid"
    assert Application.objects.get(pk=app.pk).fee_paid_at is not None


def test_a_failed_gateway_leaves_the_application_submitted(applicant, payment_gateway):
    user, _ = applicant
    app = _renewal(applicant)
    payment_gateway.configure(error_rate=1.0)
    with pytest.raises(Exception) as failed:
        payments.payment_start(actor=user, payable_id=app.fee_payable_id)
    assert getattr(failed.value, "status", None) == 503
    app.refresh_from_db()
    assert app.state == State.SUBMITTED and app.fee_paid_at is None
    payment_gateway.configure(error_rate=0.0)
    assert _pay_online(payment_gateway, user, app).state == "paid"


def test_duplicate_callbacks_and_a_double_charge_pay_the_fee_once(applicant, payment_gateway):
    user, _ = applicant
    app = _renewal(applicant)
    order = payments.payment_start(actor=user, payable_id=app.fee_payable_id)
    payment_gateway.configure(duplicate_charge=True)
    payment_gateway.pay(order.order_number)
    notices = _notices(payment_gateway, order.order_number)
    assert len(notices) == 2  # the gateway took the money twice

    answers = [payments.payment_notice_receive(body=b, headers=h) for b, h in notices + notices]
    assert all(a == (200, {"code": "SUCCESS"}) for a in answers)
    outbox_dispatch()  # the refund goes out after commit
    assert GatewayCharge.objects.filter(outcome="applied").count() == 1
    assert GatewayCharge.objects.filter(outcome="duplicate").count() == 1
    assert Refund.objects.get().state == "succeeded"
    assert ApplicationEvent.objects.filter(application=app, action="fee_paid").count() == 1
    assert Application.objects.get(pk=app.pk).fee_paid_at is not None


def test_a_fee_taken_at_the_counter_lets_the_clerk_accept(applicant, clerk):
    app = _renewal(applicant)
    payments.payable_pay_at_counter(actor=clerk, payable_id=app.fee_payable_id, **RECEIPT)
    assert Application.objects.get(pk=app.pk).fee_paid_at is not None
    assert services.application_accept(actor=clerk, application_id=app.pk).state == State.ACCEPTED


def test_a_withdrawn_applications_fee_can_no_longer_be_paid(applicant, clerk, payment_gateway):
    user, _ = applicant
    app = _renewal(applicant)
    services.application_withdraw(actor=user, application_id=app.pk)
    with pytest.raises(NotFound):  # online: the payable is no longer the applicant's to pay
        payments.payment_start(actor=user, payable_id=app.fee_payable_id)
    with pytest.raises(Conflict) as refused:  # at the counter: refused with the reason
        payments.payable_pay_at_counter(actor=clerk, payable_id=app.fee_payable_id, **RECEIPT)
    assert refused.value.code == "applications.fee_not_payable"
    assert Payable.objects.get(pk=app.fee_payable_id).state == "unpaid"
    assert not PaymentOrder.objects.filter(state="paid").exists()
    assert Application.objects.get(pk=app.pk).fee_paid_at is None


def test_a_rejected_applications_fee_can_no_longer_be_paid(applicant, clerk, payment_gateway):
    user, _ = applicant
    app = _renewal(applicant)
    services.application_reject(actor=clerk, application_id=app.pk, reason="驾驶证已注销")
    with pytest.raises(NotFound):
        payments.payment_start(actor=user, payable_id=app.fee_payable_id)


def test_money_taken_after_withdrawal_is_recorded_as_due_for_refund(applicant, payment_gateway):
    user, _ = applicant
    app = _renewal(applicant)
    order = payments.payment_start(actor=user, payable_id=app.fee_payable_id)
    services.application_withdraw(actor=user, application_id=app.pk)
    payment_gateway.pay(order.order_number)  # the payer was already on the gateway's page
    order = payments.order_refresh(order_id=order.pk, close_unpaid=False)
    assert order.state == "paid"  # never lost
    app.refresh_from_db()
    assert app.state == State.WITHDRAWN and app.fee_paid_at is not None
    step = ApplicationEvent.objects.get(application=app, action="fee_paid")
    assert "refund due" in step.note
    assert AuditEntry.objects.filter(summary__startswith="已终结申请收到缴费").count() == 1
    # The paid payable stays visible to the payer, for the receipt.
    assert payments.payment_get(actor=user, order_number=order.order_number).pk == order.pk


def test_fee_rule_is_pure():
    assert fees.fee_unpaid(fee_fen=1000, fee_paid_at=None)
    assert not fees.fee_unpaid(fee_fen=1000, fee_paid_at=timezone.now())
    assert not fees.fee_unpaid(fee_fen=0, fee_paid_at=None)
    fees.check_fee_paid(fee_fen=0, fee_paid_at=None)
