"""Access matrix for the overseas relief (O4): every ``overseas_relief.*`` action of the access
table x every role x a case on the actor's side ("own") or the other side, through the services,
selectors and pages, expecting exactly what the table says.

Sides: a citizen's own licence is their own, the other one somebody else's; staff work in 411700,
their own cases are of 411702 licences, the other ones of 411602 (Zhoukou)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.errors import NotAllowed, NotFound, Unauthenticated
from jiaoguan.integrations.exit_entry import Movement
from jiaoguan.overseas_relief import selectors, services
from jiaoguan.overseas_relief.models import ReliefCase

pytestmark = pytest.mark.django_db

RELIEF_ACTIONS = sorted(name for name in ACTIONS if name.startswith("overseas_relief."))
ROLES = [role.value for role in Role]
REFUSALS = (NotAllowed, NotFound, Unauthenticated)


def _outcome(call: Any) -> str:
    try:
        call()
    except REFUSALS:
        return "refused"
    return "allowed"


def _cancel(licence: Any) -> None:
    type(licence).objects.filter(pk=licence.pk).update(
        status="R", cancelled_on=date(2021, 3, 1), cancellation_reason="review_overdue"
    )
    licence.refresh_from_db()


def _case(
    world: Any, role: str, where: str, *, state: str = "submitted", accepted_by: Any = None
) -> ReliefCase:
    licence = world.records(role, where).licence
    _cancel(licence)
    return ReliefCase.objects.create(
        applicant=world.actor("citizen"), person=licence.holder, licence=licence,
        division=licence.division, status_at_application="R", cancelled_on=date(2021, 3, 1), cause="review",
        first_return_on=date(2021, 7, 10), apply_by=date(2022, 1, 10), path="direct",
        certificate=b"%PDF-1.4", certificate_type="application/pdf", certificate_size=8, certificate_sha256="0" * 64,
        state=state, accepted_by=accepted_by, accepted_at=timezone.now() if accepted_by else None,
        submitted_at=timezone.now(),
    )  # fmt: skip


def _apply(world: Any, role: str, where: str, check: Any) -> str:
    """overseas_relief.own.apply: a citizen applies for their own cancelled licence; nobody sees or
    applies for somebody else's (the service only ever takes the actor's own licence)."""
    page = check(world.client(role).get("/overseas-relief/"))
    if where == "other":
        case = _case(world, role, where)
        listed = selectors.my_cases(actor=world.actor(role)).filter(pk=case.pk).exists()
        return "allowed" if listed and page == "allowed" else "refused"
    licence = world.records(role, where).licence
    _cancel(licence)
    world.exit_entry_records.travel(
        licence.holder.id_number, [Movement("exit", date(2019, 8, 1)), Movement("entry", date(2021, 7, 10))]
    )
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (40, 56)).save(png, format="PNG")
    outcome = _outcome(
        lambda: services.case_apply(
            actor=world.actor(role),
            certificate=services.Certificate(png.getvalue(), "c.png"),
            today=date(2021, 9, 1),
        )
    )
    assert ReliefCase.objects.exists() == (outcome == "allowed")
    assert page == outcome
    return outcome


def _view(world: Any, role: str, where: str, check: Any) -> str:
    """overseas_relief.case.view: the case file at the counter (audited), within the jurisdiction."""
    case = _case(world, role, where)
    return check(world.client(role).get(f"/counter/overseas-reliefs/{case.pk}/"))


def _accept(world: Any, role: str, where: str, check: Any) -> str:
    case = _case(world, role, where)
    outcome = _outcome(lambda: services.case_accept(actor=world.actor(role), case_id=case.pk))
    case.refresh_from_db()
    assert (case.state == "accepted") == (outcome == "allowed")
    return outcome


def _approve(world: Any, role: str, where: str, check: Any) -> str:
    """The case was accepted by another clerk, so four eyes never decide the outcome here."""
    other_clerk = world.make_staff(role="counter_clerk", jurisdiction="411700", username="x-relief-clerk")
    case = _case(world, role, where, state="accepted", accepted_by=other_clerk)
    outcome = _outcome(
        lambda: services.case_approve(actor=world.actor(role), case_id=case.pk, today=date(2021, 9, 2))
    )
    case.refresh_from_db()
    case.licence.refresh_from_db()
    assert (case.state == "restored") == (outcome == "allowed") == (case.licence.status == "A")
    return outcome


PROBES: dict[str, Any] = {
    "overseas_relief.own.apply": _apply,
    "overseas_relief.case.view": _view,
    "overseas_relief.case.accept": _accept,
    "overseas_relief.case.approve": _approve,
}


def test_every_relief_action_has_a_probe():
    assert set(RELIEF_ACTIONS) == set(PROBES)


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", RELIEF_ACTIONS)
def test_matrix(name, role, where, access_world, access_check, exit_entry_service):
    expected, check = access_check
    access_world.exit_entry_records = exit_entry_service
    outcome = PROBES[name](access_world, role, where, check)
    assert outcome == ("allowed" if expected(name, role, where) else "refused"), (name, role, where)
