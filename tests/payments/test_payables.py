"""Payables (应缴款项): payments owns the paid fact, owner apps register a kind and hear of payments
through it (B17, V5). Unit tests, the migration of existing orders, and PostgreSQL races."""

from __future__ import annotations

import ast
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from jiaoguan.core.errors import Conflict, NotFound
from jiaoguan.payments import kinds, services
from jiaoguan.payments.models import GatewayCharge, Payable, PaymentOrder
from jiaoguan.registry.models import PointsEntry
from jiaoguan.violations.models import Fine
from jiaoguan.violations.services import violation_handle_online

SHANGHAI = timezone.get_fixed_timezone(480)
PAYMENTS_SRC = Path(__file__).resolve().parents[2] / "src" / "jiaoguan" / "payments"


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


@pytest.fixture
def fee_kind(monkeypatch):
    """A second kind of payable, as a business's fee would register: records what payments told it."""
    paid: list[int] = []
    lock = threading.Lock()

    def on_paid(payable):
        with lock:
            paid.append(payable.pk)

    kind = kinds.PayableKind(
        kind="test_fee", label_zh="测试费用", label_en="test fee", visible_to=lambda actor, p: False,
        late_fee=lambda p, today: 0, on_paid=on_paid, payer_url=lambda p: "/", payer_list_url=lambda: "/",
    )  # fmt: skip
    monkeypatch.setitem(kinds._KINDS, "test_fee", kind)
    return paid


def _fee(reference: str = "FEE-0001", division: str = "411702") -> Payable:
    return services.payable_create(
        kind="test_fee", reference=reference, description="测试费用", principal_fen=1000, division=division
    )


# ---------------------------------------------------------------- layering


def test_payments_imports_nothing_from_the_apps_above_it():
    """Payments sits below violations (and every business app): no import of them, anywhere."""
    above = ("jiaoguan.violations", "jiaoguan.accidents", "jiaoguan.credentials")
    for path in PAYMENTS_SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.startswith(above) for n in names), f"{path.name} imports {names}"


# ---------------------------------------------------------------- unit


@pytest.mark.django_db
def test_deciding_a_fine_opens_its_payable(fine_of_citizen):
    user, fine = fine_of_citizen()
    payable = Payable.objects.get(pk=fine.payable_id)
    assert (payable.kind, payable.reference, payable.principal_fen) == ("fine", fine.decision_number, 20000)
    assert payable.division == fine.deciding_division and payable.home_division == "411702"
    assert payable.subject_person_id == user.person_id and payable.state == "unpaid"
    assert kinds.kind_words("fine") == "交通违法罚款 traffic fine"


@pytest.mark.django_db
def test_an_unregistered_kind_cannot_be_opened():
    with pytest.raises(LookupError):
        services.payable_create(
            kind="nothing", reference="X1", description="x", principal_fen=1, division="411702"
        )


@pytest.mark.django_db
def test_counter_payment_marks_payable_fine_and_points_paid_together(fine_of_citizen, make_staff):
    _user, fine = fine_of_citizen()
    clerk = make_staff(role="counter_clerk")
    order = services.payable_pay_at_counter(
        reason="当事人现场缴款", actor=clerk, payable_id=fine.payable_id, receipt_number="HN2026-000555"
    )
    payable = Payable.objects.get(pk=fine.payable_id)
    fine.refresh_from_db()
    assert payable.state == "paid" and payable.paid_channel == "counter" and payable.paid_total_fen == 20000
    assert (
        fine.status == "paid" and fine.paid_at == payable.paid_at and fine.paid_total_fen == order.amount_fen
    )
    assert not PointsEntry.objects.get(source=fine.violation.record_number).fine_unpaid


@pytest.mark.django_db
def test_a_failing_owner_leaves_nothing_half_written(fine_of_citizen, make_staff, monkeypatch):
    """on_paid runs inside the payment's transaction: if the owner fails, no payment is recorded."""
    _user, fine = fine_of_citizen()
    clerk = make_staff(role="counter_clerk")
    registered = kinds.payable_kind("fine")

    def broken(payable):
        raise RuntimeError("fine table unavailable")

    monkeypatch.setitem(kinds._KINDS, "fine", kinds.PayableKind(**{**registered.__dict__, "on_paid": broken}))
    with pytest.raises(RuntimeError):
        services.payable_pay_at_counter(
            reason="当事人现场缴款", actor=clerk, payable_id=fine.payable_id, receipt_number="HN2026-000556"
        )
    assert Payable.objects.get(pk=fine.payable_id).state == "unpaid"
    assert not PaymentOrder.objects.filter(payable_id=fine.payable_id).exists()
    assert Fine.objects.get(pk=fine.pk).status == "unpaid"


@pytest.mark.django_db
def test_another_kind_is_paid_and_told_once(fee_kind, make_staff):
    payable = _fee()
    clerk = make_staff(role="counter_clerk")
    services.payable_pay_at_counter(
        reason="当事人现场缴款", actor=clerk, payable_id=payable.pk, receipt_number="HN2026-000557"
    )
    assert fee_kind == [payable.pk]
    with pytest.raises(Conflict):
        services.payable_pay_at_counter(
            reason="当事人现场缴款", actor=clerk, payable_id=payable.pk, receipt_number="HN2026-000558"
        )
    with pytest.raises(Conflict):
        services.payable_paid_elsewhere(
            actor=None, kind="test_fee", payable_reference="FEE-0001", platform="bank", reference="BK-000559",
            paid_at=timezone.now(),
        )  # fmt: skip
    assert fee_kind == [payable.pk]  # refused as already paid: the owner is not told twice


@pytest.mark.django_db
def test_staff_outside_both_divisions_do_not_find_the_payable(fee_kind, make_staff, owner_driver, record):
    payable = _fee(division="411602")
    with pytest.raises(NotFound):
        services.payable_pay_at_counter(
            reason="当事人现场缴款",
            actor=make_staff(role="counter_clerk"),
            payable_id=payable.pk,
            receipt_number="HN2026-000560",
        )
    # V6: a fine decided in another province for a vehicle registered here is ours to take.
    user, _person, vehicle, _licence = owner_driver()
    fine = violation_handle_online(
        actor=user, violation_id=record(vehicle, division="320102").pk, no_dispute=True, drove_self=True
    )
    assert Payable.objects.get(pk=fine.payable_id).division == "320102"
    services.payable_pay_at_counter(
        reason="当事人现场缴款", actor=make_staff(role="counter_clerk", username="clerk-v6"), payable_id=fine.payable_id,
        receipt_number="HN2026-000561",
    )  # fmt: skip
    assert Fine.objects.get(pk=fine.pk).status == "paid"


# ---------------------------------------------------------------- migration of existing orders


@pytest.mark.django_db(transaction=True)
def test_existing_orders_move_from_fine_to_payable():
    """A database from before payables keeps every order: each fine gets its payable."""
    executor = MigrationExecutor(connection)
    before = [("payments", "0001_initial"), ("violations", "0002_drop_redundant_fk_indexes")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    person = old.get_model("registry", "Person").objects.create(
        id_number="411702198506150011", name="张伟", sex="M", birth_date="1985-06-15",
        residence_division="411702", mobile="13800138000",
    )  # fmt: skip
    vehicle = old.get_model("registry", "Vehicle").objects.create(
        plate_number="豫Q00001", plate_type="02", vin="LSVAB4BR0M0000001", kind="small_passenger",
        use_nature="private", brand_model="大众牌", owner_person=person, registered_on="2020-05-13",
        division="411702",
    )  # fmt: skip
    licence = old.get_model("registry", "DrivingLicence").objects.create(
        holder=person, archive_number="411700000001", classes="C1", first_issued_on="2015-03-05",
        valid_from="2021-03-05", validity_term="10y", division="411702",
    )  # fmt: skip
    at = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
    old_violation = old.get_model("violations", "Violation")
    old_fine = old.get_model("violations", "Fine")
    old_order = old.get_model("payments", "PaymentOrder")
    fines = []
    for n, status in enumerate(("paid", "unpaid")):
        violation = old_violation.objects.create(
            record_number=f"4117021261120000{n:04d}", source="monitoring", status="handled", plate_number="豫Q00001",
            plate_type="02", vehicle=vehicle, occurred_at=at, place="驻马店市解放路", recording_division="411702",
            code="1625", points=6, fine_fen=20000, licence=licence, handled_at=at, handling_channel="online",
        )  # fmt: skip
        paid = status == "paid"
        fine = old_fine.objects.create(
            violation=violation, decision_number=f"41170220260000{n}", deciding_division="411702",
            decided_on="2026-11-20", amount_fen=20000, status=status, paid_at=at if paid else None,
            paid_channel="counter" if paid else "", paid_total_fen=20000 if paid else 0,
        )  # fmt: skip
        fines.append(fine)
    old_order.objects.create(
        order_number="CT2611200900000001", fine=fines[0], channel="counter", state="paid", fine_fen=20000,
        amount_fen=20000, paid_at=at,
    )  # fmt: skip
    old_order.objects.create(
        order_number="JG2611200900000002", fine=fines[1], channel="online", state="pending", fine_fen=20000,
        amount_fen=20000,
    )  # fmt: skip

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    paid, unpaid = (Fine.objects.select_related("payable").get(pk=f.pk) for f in fines)
    assert paid.payable.state == "paid" and paid.payable.paid_channel == "counter"
    assert paid.payable.reference == paid.decision_number and paid.payable.subject_person_id == person.pk
    assert unpaid.payable.state == "unpaid" and unpaid.payable.home_division == "411702"
    assert PaymentOrder.objects.get(order_number="CT2611200900000001").payable_id == paid.payable_id
    pending = PaymentOrder.objects.get(order_number="JG2611200900000002")
    assert pending.payable_id == unpaid.payable_id and pending.principal_fen == 20000
    # The guards hold on the moved orders: the pending one still blocks the counter (V5).
    from jiaoguan.accounts.services import staff_create

    clerk = staff_create(
        username="clerk-mig", password="Counter#2026x", role="counter_clerk", jurisdiction="411700"
    )
    with pytest.raises(Conflict):
        services.payable_pay_at_counter(
            reason="当事人现场缴款", actor=clerk, payable_id=unpaid.payable_id, receipt_number="HN2026-000562"
        )


# ---------------------------------------------------------------- races (PostgreSQL)


@pytest.mark.django_db(transaction=True)
def test_counters_and_a_bank_at_once_pay_another_kind_once(fee_kind, make_staff, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    payable = _fee()
    clerks = [make_staff(role="counter_clerk", username=f"clerk-{n}") for n in range(4)]
    results = run_together(
        *[
            lambda clerk=clerk, n=n: services.payable_pay_at_counter(
                reason="当事人现场缴款", actor=clerk, payable_id=payable.pk, receipt_number=f"HN2026-1{n:05d}"
            )
            for n, clerk in enumerate(clerks)
        ],
        lambda: services.payable_paid_elsewhere(
            actor=None, kind="test_fee", payable_reference="FEE-0001", platform="bank", reference="BK-200001",
            paid_at=timezone.now(),
        ),
    )  # fmt: skip
    assert sum(isinstance(r, PaymentOrder) for r in results) == 1, results
    assert all(isinstance(r, PaymentOrder | Conflict) for r in results), results
    assert fee_kind == [payable.pk]  # the owner heard of the payment exactly once
    assert PaymentOrder.objects.filter(payable=payable, state="paid").count() == 1


@pytest.mark.django_db(transaction=True)
def test_duplicate_charges_at_once_tell_the_fine_once(payment_gateway, fine_of_citizen, run_together):
    """Twenty copies of the gateway's answer for one order: one charge, the fine paid once."""
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    user, fine = fine_of_citizen()
    order = services.payment_start(actor=user, payable_id=fine.payable_id)
    payment_gateway.pay(order.order_number)
    results = run_together(*[lambda: services.order_refresh(order_id=order.pk, close_unpaid=False)] * 20)
    assert all(isinstance(r, PaymentOrder) and r.state == "paid" for r in results), results
    assert GatewayCharge.objects.count() == 1
    fine.refresh_from_db()
    assert fine.status == "paid" and fine.paid_total_fen == order.amount_fen
    assert Payable.objects.get(pk=fine.payable_id).paid_at == fine.paid_at
    assert timezone.now() - fine.paid_at < timedelta(minutes=5)
