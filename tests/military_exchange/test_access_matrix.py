"""Access matrix for the military licence exchange (O3): every ``military_exchange.*`` action of the
access table x every role x a case on the actor's side ("own") or the other side, through the
services, selectors and pages, expecting exactly what the table says.

Sides: a citizen's own case is their own, the other one somebody else's; staff work in 411700,
where their own cases are those of 411702 and the other ones of 411602 (Zhoukou)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role, can
from jiaoguan.core.errors import NotAllowed, NotFound, Unauthenticated
from jiaoguan.integrations.military_licence import MilitaryLicence
from jiaoguan.military_exchange import selectors, services
from jiaoguan.military_exchange.models import ExchangeCase

pytestmark = pytest.mark.django_db

MILITARY_ACTIONS = sorted(name for name in ACTIONS if name.startswith("military_exchange."))
ROLES = [role.value for role in Role]
REFUSALS = (NotAllowed, NotFound, Unauthenticated)


def _outcome(call: Any) -> str:
    try:
        call()
    except REFUSALS:
        return "refused"
    return "allowed"


def _case(person: Any, state: str) -> ExchangeCase:
    return ExchangeCase.objects.create(
        applicant=_anyone(person), person=person, military_number="JW20080301", classes="B1",
        claimed_first_issued_on=date(2008, 3, 1), path="reissue", division=person.residence_division,
        check_outcome="passed" if state == "awaiting" else "not_passed", check_reference="MX-matrix",
        state=state, submitted_at=timezone.now(),
    )  # fmt: skip


def _anyone(person: Any) -> Any:
    from jiaoguan.accounts.models import User

    return User.objects.filter(person=person).first() or User.objects.create_user(
        username=person.id_number, password="x", person=person, registration_level="online"
    )


def _apply(world: Any, role: str, where: str, check: Any) -> str:
    """military_exchange.own.apply: a citizen applies for their own exchange and reads their own
    cases; somebody else's case is no case of theirs."""
    page = check(world.client(role).get("/military-exchange/"))
    assert (page == "allowed") == can(world.actor(role), services.APPLY)
    actor = world.actor(role)
    if where == "own":
        person = world.person_a
        world.military_registry.licence(
            MilitaryLicence(
                number="JW20080301", id_number=person.id_number, name=person.name, classes="B1",
                first_issued_on=date(2008, 3, 1), issued_on=date(2018, 1, 1),
            )
        )  # fmt: skip
        outcome = _outcome(
            lambda: services.case_apply(
                actor=actor, military_number="JW20080301", classes="B1", first_issued_on=date(2008, 3, 1)
            )
        )
        assert ExchangeCase.objects.filter(person=person).exists() == (outcome == "allowed")
        return outcome
    other = _case(world.person_c, "awaiting")
    try:
        seen = selectors.case_of(actor=actor, case_id=other.pk)
    except REFUSALS:
        return "refused"
    return "allowed" if seen is not None else "refused"


def _handle(world: Any, role: str, where: str, check: Any) -> str:
    """military_exchange.case.handle: the counter of the jurisdiction accepts a case (and the
    licence is issued); a case of another jurisdiction stays as it was."""
    page = check(world.client(role).get("/counter/military-exchanges/"))
    assert (page == "allowed") == can(world.actor(role), services.HANDLE)
    case = _case(world.records(role, where).person, "awaiting")
    outcome = _outcome(lambda: services.case_accept(actor=world.actor(role), case_id=case.pk))
    case.refresh_from_db()
    assert (case.state == "completed") == (outcome == "allowed")
    return outcome


def _review(world: Any, role: str, where: str, check: Any) -> str:
    """military_exchange.suspect.review: the head of the unit clears a suspect case of the
    jurisdiction; nobody else can, and another jurisdiction's stays in review."""
    page = check(world.client(role).get("/counter/military-exchanges/suspects/"))
    assert (page == "allowed") == can(world.actor(role), services.SUSPECT)
    case = _case(world.records(role, where).person, "suspect")
    outcome = _outcome(
        lambda: services.suspect_clear(actor=world.actor(role), case_id=case.pk, reason="已核对原件")
    )
    case.refresh_from_db()
    assert (case.state == "awaiting") == (outcome == "allowed")
    return outcome


PROBES: dict[str, Any] = {
    "military_exchange.own.apply": _apply,
    "military_exchange.case.handle": _handle,
    "military_exchange.suspect.review": _review,
}


def test_every_military_exchange_action_has_a_probe():
    assert set(MILITARY_ACTIONS) <= set(PROBES)


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", MILITARY_ACTIONS)
def test_matrix(name, role, where, access_world, access_check, military_licence_service):
    expected, check = access_check
    access_world.military_registry = military_licence_service
    outcome = PROBES[name](access_world, role, where, check)
    assert outcome == ("allowed" if expected(name, role, where) else "refused"), (name, role, where)
