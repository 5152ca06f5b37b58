"""Access matrix of the payments actions (core/access.py): every ``payments.*`` action x every role
x a payable on the actor's own side or the other, through its page, its API endpoint and the
back office where the action governs one.

Each probe does the action with valid input on every channel and reports, per channel, the
outcome and whether the effect really happened; both must match what the table says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.payments import services
from jiaoguan.payments.models import CallbackLog, Payable, PaymentOrder, ReconciliationRun
from jiaoguan.violations.models import Fine
from jiaoguan.violations.services import violation_handle_at_counter

pytestmark = pytest.mark.django_db

ACTION_NAMES = sorted(name for name in ACTIONS if name.startswith("payments."))


@dataclass
class Case:
    world: Any
    role: str
    where: str
    record: Callable[..., Any]
    outcome: Callable[[Any], str]
    make_staff: Callable[..., Any]

    def __post_init__(self) -> None:
        self.side = self.world.records(self.role, self.where)
        self.page = self.world.client(self.role)
        self.api = self.world.api(self.role)
        self._decider: Any = None

    def fine(self) -> Fine:
        """A fine of the side's vehicle, decided at a counter of the province on the side's licence."""
        if self._decider is None:
            self._decider = self.make_staff(role="administrator", jurisdiction="410000", username="province")
        violation = self.record(self.side.vehicle, code="1344", division=self.side.division)
        return violation_handle_at_counter(
            actor=self._decider, violation_id=violation.pk, licence_number=self.side.person.id_number
        )

    def payer(self, fine: Fine) -> User:
        """Someone who may pay the fine online: the vehicle's owner's account."""
        vehicle = fine.violation.vehicle
        if vehicle.owner_organisation_id:
            return User.objects.get(organisation_id=vehicle.owner_organisation_id)
        user = User.objects.filter(person_id=vehicle.owner_person_id).first()
        return user or User.objects.create_user(
            username=vehicle.owner_person.id_number, person=vehicle.owner_person
        )

    def pending_order(self) -> tuple[Fine, PaymentOrder]:
        fine = self.fine()
        return fine, services.payment_order_open(actor=self.payer(fine), payable_id=fine.payable_id)


def _paid(fine: Fine) -> bool:
    return Payable.objects.get(pk=fine.payable_id).state == Payable.State.PAID


def _pending(fine: Fine) -> bool:
    return PaymentOrder.objects.filter(payable_id=fine.payable_id, state="pending").exists()


def _admin_outcome(response: Any, marker: str) -> tuple[str, bool]:
    """The back office answers a record outside the list with a redirect to its index: refused."""
    shown = response.status_code == 200 and marker in response.content.decode()
    return ("allowed" if shown else "refused"), shown


def probe_pay_online(c: Case) -> list[tuple[str, str, bool]]:
    first, second, third = c.fine(), c.fine(), c.fine()
    page = c.page.post(f"/fines/{first.pk}/pay/")
    api = c.api.post(f"/api/v1/fines/{second.pk}/payments", HTTP_IDEMPOTENCY_KEY=f"m-{second.pk}")
    payable_api = c.api.post(
        f"/api/v1/payables/{third.payable_id}/payments", HTTP_IDEMPOTENCY_KEY=f"p-{third.pk}"
    )
    return [
        ("page", c.outcome(page), _pending(first)),
        ("api", c.outcome(api), _pending(second)),
        ("api payables", c.outcome(payable_api), _pending(third)),
    ]


def probe_pay_at_counter(c: Case) -> list[tuple[str, str, bool]]:
    fine = c.fine()
    url = f"/counter/violations/{fine.violation_id}/pay/"
    page = c.page.post(url, {"pay-receipt_number": "HN2026-000321"})
    if page.status_code == 200:  # the confirmation page: confirm with the reason
        page = c.page.post(
            url, {"step": "confirm", "pay-receipt_number": "HN2026-000321", "pay-reason": "当事人现场缴纳"}
        )
    return [("page", c.outcome(page), _paid(fine))]


def probe_record_elsewhere(c: Case) -> list[tuple[str, str, bool]]:
    fine = c.fine()
    page = c.page.post(
        f"/counter/violations/{fine.violation_id}/paid-elsewhere/",
        {
            "other-platform": "中国银行",
            "other-reference": "BK-2026-0001",
            "other-paid_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )
    return [("page", c.outcome(page), _paid(fine))]


def probe_order_refresh(c: Case) -> list[tuple[str, str, bool]]:
    fine, order = c.pending_order()
    page = c.page.post(f"/counter/violations/{fine.violation_id}/orders/{order.order_number}/refresh/")
    # Never sent to the gateway, so asking it closes the order (V5: the counter may then take it).
    closed = PaymentOrder.objects.get(pk=order.pk).state == "closed"
    return [("page", c.outcome(page), closed)]


def probe_order_view(c: Case) -> list[tuple[str, str, bool]]:
    _fine, order = c.pending_order()
    api = c.api.get(f"/api/v1/payments/{order.order_number}")
    admin_outcome, admin_shown = _admin_outcome(
        c.page.get(f"/admin/payments/paymentorder/{order.pk}/change/"), order.order_number
    )
    results = [
        ("api", c.outcome(api), api.status_code == 200 and api.json()["order_number"] == order.order_number)
    ]
    if c.role not in ("citizen", "organisation"):  # the back office is for staff only
        results.append(("admin", admin_outcome, admin_shown))
    else:
        assert admin_outcome == "refused"
    return results


def probe_gateway_log_view(c: Case) -> list[tuple[str, str, bool]]:
    services.payment_notice_receive(body=b"{}", headers={}, remote_addr="127.0.0.1")  # unsigned: logged only
    log = CallbackLog.objects.latest("pk")
    outcome, shown = _admin_outcome(
        c.page.get(f"/admin/payments/callbacklog/{log.pk}/change/"), "bad_signature"
    )
    return [("admin", outcome, shown)]


def probe_reconcile(c: Case) -> list[tuple[str, str, bool]]:
    page = c.page.post("/counter/payments/reconciliation/")
    ran = ReconciliationRun.objects.exists()
    results = [("page", c.outcome(page), ran)]
    if ran:
        run = ReconciliationRun.objects.latest("pk")
        outcome, shown = _admin_outcome(
            c.page.get(f"/admin/payments/reconciliationrun/{run.pk}/change/"), f"{run.day:%Y}"
        )
        results.append(("admin", outcome, shown))
    return results


PROBES: dict[str, Callable[[Case], list[tuple[str, str, bool]]]] = {
    "payments.fine.pay_online": probe_pay_online,
    "payments.fine.pay_at_counter": probe_pay_at_counter,
    "payments.fine.record_elsewhere": probe_record_elsewhere,
    "payments.order.refresh": probe_order_refresh,
    "payments.order.view": probe_order_view,
    "payments.gateway_log.view": probe_gateway_log_view,
    "payments.reconcile": probe_reconcile,
}


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("name", ACTION_NAMES)
def test_access_matrix(name, role, where, access_world, access_check, record, make_staff, payment_gateway):
    access_expected, access_outcome = access_check
    assert name in PROBES, f"no probe for {name}: add one"
    expected = access_expected(name, role, where)
    case = Case(
        world=access_world,
        role=role,
        where=where,
        record=record,
        outcome=access_outcome,
        make_staff=make_staff,
    )
    results = PROBES[name](case)
    assert results
    for channel, outcome, effect in results:
        assert outcome == ("allowed" if expected else "refused"), (channel, outcome)
        assert effect == expected, (channel, "effect" if expected else "changed although refused")


def test_every_probe_names_an_action():
    assert set(PROBES) == set(ACTION_NAMES)
