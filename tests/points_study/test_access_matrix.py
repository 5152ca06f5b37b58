"""Access matrix for the study to reduce points (V7): every ``points_study.*`` action of the access
table x every role x a record on the actor's side ("own") or the other side, through the services
and pages, expecting exactly what the table says.

Sides: a citizen's own licence is their own, the other one somebody else's; staff work in 411700,
their own sessions are of a 411702 centre and their own full-score drivers of 411702 licences,
the other ones of 411602 (Zhoukou)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.errors import NotAllowed, NotFound, Unauthenticated
from jiaoguan.points_study import services
from jiaoguan.points_study.models import (
    Course,
    FullScoreCase,
    SessionBooking,
    StudyAttempt,
    StudyCentre,
    StudySession,
)
from jiaoguan.registry.models import PointsEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _courses(db):
    from jiaoguan.points_study.courses import ensure_courses

    ensure_courses()


STUDY_ACTIONS = sorted(name for name in ACTIONS if name.startswith("points_study."))
ROLES = [role.value for role in Role]
REFUSALS = (NotAllowed, NotFound, Unauthenticated)


def _outcome(call: Any) -> str:
    try:
        call()
    except REFUSALS:
        return "refused"
    return "allowed"


def _points(licence: Any, points: int = 5) -> None:
    PointsEntry.objects.create(licence=licence, points=points, occurred_on=timezone.localdate(), source="M")


def _study(world: Any, role: str, where: str, check: Any) -> str:
    """points_study.own.study: a citizen studies on their own licence only (the services only ever
    take the actor's own licence, so "other" is somebody else's attempt never reached)."""
    page = check(world.client(role).get("/points-study/"))
    # Both sides may study (points, vehicles inspected: the matrix's vehicles were registered in
    # 2020 and never inspected), so only access decides the outcome here, never an exclusion (V7).
    for side in {where, "own"}:
        records = world.records(role, side)
        _points(records.licence)
        type(records.vehicle).objects.filter(owner_person=records.licence.holder).update(
            last_inspected_on=timezone.localdate()
        )
    licence = world.records(role, where).licence
    if where == "other":
        StudyAttempt.objects.create(
            licence=licence, course=Course.objects.get(code="online-signals"), started_at=timezone.now()
        )
        outcome = _outcome(
            lambda: services.attempt_start(actor=world.actor(role), course_code="online-signals")
        )
        reached = StudyAttempt.objects.filter(licence=licence).count() > 1
        return "allowed" if outcome == "allowed" and reached and page == "allowed" else "refused"
    outcome = _outcome(lambda: services.attempt_start(actor=world.actor(role), course_code="online-signals"))
    assert StudyAttempt.objects.filter(licence=licence).exists() == (outcome == "allowed")
    assert page == outcome
    return outcome


def _centre(where: str) -> StudyCentre:
    division = "411702" if where == "own" else "411602"
    return StudyCentre.objects.create(name=f"学习点{division}", address="地址", division=division)


def _record(world: Any, role: str, where: str, check: Any) -> str:
    """points_study.centre.record: a centre records a booking's result and a full-score day, both
    within its jurisdiction; the counter page opens for the same roles."""
    page = check(world.client(role).get("/counter/points-study/"))
    licence = world.records(role, where).licence
    _points(licence)
    session = StudySession.objects.create(
        centre=_centre(where), course=Course.objects.get(code="onsite-law"), capacity=5, booked=1,
        starts_at=timezone.now() - timedelta(hours=2),
    )  # fmt: skip
    booking = SessionBooking.objects.create(session=session, licence=licence)
    outcome = _outcome(
        lambda: services.booking_record(actor=world.actor(role), booking_id=booking.pk, result="absent")
    )
    booking.refresh_from_db()
    assert (booking.state == "absent") == (outcome == "allowed")
    case = FullScoreCase.objects.create(
        licence=licence, division=licence.division, reached_on=timezone.localdate()
    )
    day = _outcome(lambda: services.full_score_on_site_record(actor=world.actor(role), case_id=case.pk))
    assert day == outcome
    if where == "own":
        assert page == outcome
    return outcome


PROBES: dict[str, Any] = {
    "points_study.own.study": _study,
    "points_study.centre.record": _record,
}


def test_every_study_action_has_a_probe():
    assert set(STUDY_ACTIONS) == set(PROBES)


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", STUDY_ACTIONS)
def test_matrix(name, role, where, access_world, access_check):
    expected, check = access_check
    outcome = PROBES[name](access_world, role, where, check)
    assert outcome == ("allowed" if expected(name, role, where) else "refused"), (name, role, where)
