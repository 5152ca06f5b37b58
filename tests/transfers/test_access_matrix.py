"""Access matrix for the cross-region transfer (T2-T4): every ``transfers.*`` action of the access
table x every role x a transfer on the actor's side ("own") or the other side, through the services
and pages, expecting exactly what the table says.

Sides: a citizen's own transfer is the one they bought, the other one somebody else's; staff work
in 411700, their own transfers are of 411702 buyers, the other ones of 411602 (Zhoukou). No other
DMV is connected here: a step that would talk to one stops there, after access was granted."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.errors import DomainError, NotAllowed, NotFound, Unauthenticated
from jiaoguan.core.identifiers import make_citizen_id, make_vin
from jiaoguan.transfers import rules, services
from jiaoguan.transfers.models import Problem, Transfer

pytestmark = pytest.mark.django_db

TRANSFER_ACTIONS = sorted(name for name in ACTIONS if name.startswith("transfers."))
ROLES = [role.value for role in Role]
REFUSALS = (NotAllowed, NotFound, Unauthenticated)
_n = {"n": 0}


def _outcome(call: Any) -> str:
    """Refused by access, or allowed: a business refusal after the access check counts as allowed."""
    try:
        call()
    except REFUSALS:
        return "refused"
    except DomainError:
        return "allowed"
    return "allowed"


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24)).save(out, format="PNG")
    return out.getvalue()


def _transfer(world: Any, role: str, where: str, *, state: str = "archived", seller: str = "") -> Transfer:
    records = world.records(role, where)
    _n["n"] += 1
    vin = make_vin(f"LFV2A21K0N{_n['n'] + 500:07d}")
    return Transfer.objects.create(
        number=f"T{_n['n']:08d}", applicant=world.actor("citizen") or world.citizen_user, buyer=records.person,
        division=records.division, origin_city="320100", plate_number="苏A12345", plate_type="02", vin=vin,
        seller_id_number=seller or make_citizen_id("320102", date(1980, 1, 1), 11), invoice_number="1",
        invoice_date=date(2023, 1, 1), trade_place="destination", state=state,
        package={"vin": vin, "record": {"vin": vin}, "documents": []}, package_signature="x",
    )  # fmt: skip


def _apply(world: Any, role: str, where: str, check: Any) -> str:
    """transfers.own.apply: a citizen applies as the buyer and sees their own transfers only."""
    page = check(world.client(role).get("/transfers/"))
    if where == "other":
        transfer = _transfer(world, role, where)
        listed = services.Transfer.objects.filter(
            pk=transfer.pk, buyer_id=getattr(world.actor(role), "person_id", -1)
        )
        return "allowed" if listed.exists() and page == "allowed" else "refused"
    data = {
        "plate_number": "苏A12345", "plate_type": "02", "vin": make_vin("LFV2A21K0N0009991"), "origin_city": "320100",
        "seller_id_number": make_citizen_id("320102", date(1980, 1, 1), 11), "invoice_number": "1",
        "invoice_date": date(2023, 1, 1), "trade_place": "destination",
    }  # fmt: skip
    outcome = _outcome(lambda: services.transfer_apply(actor=world.actor(role), data=data))
    assert page == outcome
    return outcome


def _view(world: Any, role: str, where: str, check: Any) -> str:
    transfer = _transfer(world, role, where)
    return check(world.client(role).get(f"/counter/transfers/{transfer.pk}/"))


def _register(world: Any, role: str, where: str, check: Any) -> str:
    """transfers.transfer.register: the inspection (the registration follows the same check)."""
    transfer = _transfer(world, role, where)
    outcome = _outcome(
        lambda: services.transfer_inspect(
            actor=world.actor(role), transfer_id=transfer.pk, vin_read=transfer.vin, photo=_png()
        )
    )
    transfer.refresh_from_db()
    assert (transfer.state == "inspected") == (outcome == "allowed")
    return outcome


def _problem(world: Any, role: str, where: str, check: Any) -> str:
    transfer = _transfer(world, role, where)
    outcome = _outcome(
        lambda: services.problem_raise(
            actor=world.actor(role), reference=transfer.number, question="档案缺少照片"
        )
    )
    assert Problem.objects.filter(reference=transfer.number).exists() == (outcome == "allowed")
    return outcome


def _return(world: Any, role: str, where: str, check: Any) -> str:
    """transfers.archive.return: granted, the origin is asked next (unreachable here: 503)."""
    transfer = _transfer(world, role, where)
    return _outcome(
        lambda: services.transfer_return(actor=world.actor(role), transfer_id=transfer.pk, reason="stolen")
    )


def _anomalies(world: Any, role: str, where: str, check: Any) -> str:
    """transfers.anomaly.view: a seller with many transfers on the side is listed (masked)."""
    seller = make_citizen_id("320102", date(1979, 2, 2), 33)
    for i in range(rules.ANOMALY_MIN_TRANSFERS):
        t = _transfer(world, role, where, state="refused", seller=seller)
        Transfer.objects.filter(pk=t.pk).update(created_at=timezone.now() - timedelta(days=i))
    response = world.client(role).get("/counter/transfer-anomalies/")
    if check(response) == "refused":
        return "refused"
    return "allowed" if seller[-4:] in response.content.decode() else "refused"


PROBES: dict[str, Any] = {
    "transfers.own.apply": _apply,
    "transfers.transfer.view": _view,
    "transfers.transfer.register": _register,
    "transfers.problem.handle": _problem,
    "transfers.archive.return": _return,
    "transfers.anomaly.view": _anomalies,
}


def test_every_transfer_action_has_a_probe():
    assert set(TRANSFER_ACTIONS) == set(PROBES)


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", TRANSFER_ACTIONS)
def test_matrix(name, role, where, access_world, access_check, settings):
    settings.DMV_PEERS = {}
    expected, check = access_check
    outcome = PROBES[name](access_world, role, where, check)
    assert outcome == ("allowed" if expected(name, role, where) else "refused"), (name, role, where)
