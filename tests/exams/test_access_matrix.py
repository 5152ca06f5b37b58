"""Access matrix for the driving-test actions (issue 16; B22, B23, X4, X6): every ``exams.*`` action
of the access table x every role x a record on the actor's side ("own") or the other side, through
the services, expecting exactly what the table says.

Sides: staff work in 411700; their own records lie in 411702, the other ones in 411602. A citizen's
own learner file is their own, the other is somebody else's; a driving school's own learners are
the school's, the other ones another school's. The reads of learners' files are probed through
``require`` with the owner or the division the selectors of those pages pass.
"""

from __future__ import annotations

import itertools
from datetime import time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.core.access import ACTIONS, Role, allowed, can, require
from jiaoguan.core.errors import NotAllowed, NotFound, Unauthenticated
from jiaoguan.core.identifiers import make_uscc
from jiaoguan.exams import monitoring, services
from jiaoguan.exams.models import ExamApplication, ExamCentre, ExamPlan, LearnerPermit
from jiaoguan.exams.models import TestLocationChange as LocationMove
from jiaoguan.exams.rules import permit_valid_until
from jiaoguan.registry.models import Organisation

pytestmark = pytest.mark.django_db

EXAM_ACTIONS = sorted(name for name in ACTIONS if name.startswith("exams."))
ROLES = [role.value for role in Role]
_N = itertools.count(1)


def _outcome(call: Any) -> str:
    try:
        call()
    except (NotAllowed, NotFound, Unauthenticated):
        return "refused"
    return "allowed"


def _setup_admin(world: Any) -> Any:
    """An administrator of the province who makes the centres and plans on both sides."""
    if not hasattr(world, "_exam_admin"):
        world._exam_admin = world.make_staff(
            role="administrator", jurisdiction="410000", username="x-exam-admin"
        )
        # The matrix's organisation is the driving school of the "own" learners.
        Organisation.objects.filter(pk=world.organisation.pk).update(kind="driving_school")
        world.organisation.kind = "driving_school"
    return world._exam_admin


def _centre(world: Any, division: str) -> ExamCentre:
    n = next(_N)
    return services.centre_register(
        actor=_setup_admin(world),
        data=services.CentreInput(
            uscc=make_uscc(f"12{division}MB{n:06d}X"[:17]), name=f"考试中心{division}-{n}", division=division,
            address="考场地址18号", subjects=(1, 2, 3, 4), vehicle_classes=("C1", "C2"),
        ),
    )  # fmt: skip


def _plan(world: Any, division: str, *, method: str = "lottery") -> ExamPlan:
    now = timezone.now()
    centre = _centre(world, division)
    plan = services.plan_create(
        actor=_setup_admin(world),
        data=services.PlanInput(
            centre_id=centre.pk, subject=2, vehicle_class="C1", exam_date=timezone.localdate() + timedelta(days=7),
            starts_at=time(8, 30), places=5, window_opens_at=now - timedelta(hours=1),
            window_closes_at=now + timedelta(hours=2), method=method,
        ),
    )  # fmt: skip
    return services.plan_publish(actor=_setup_admin(world), plan_id=plan.pk)


def _permit(person: Any, division: str, *, school: Organisation | None = None) -> LearnerPermit:
    issued = timezone.localdate() - timedelta(days=40)
    return LearnerPermit.objects.create(
        number=f"XJM{next(_N):010d}", person=person, school=school, vehicle_class="C1", kind="first",
        division=division, test_division=division, enrolled_on=issued - timedelta(days=30), issued_on=issued,
        valid_until=permit_valid_until(issued), state="learning",
        school_consent_at=timezone.now() if school else None,
    )  # fmt: skip


def _apply(world: Any, role: str, where: str) -> str:
    """exams.own.apply: a learner applies for their own permit (B22)."""
    _setup_admin(world)
    records = world.records(role, where)
    permit = _permit(records.person, "411702")
    plan = _plan(world, "411702")
    outcome = _outcome(
        lambda: services.application_create(actor=world.actor(role), permit_id=permit.pk, plan_id=plan.pk)
    )
    assert ExamApplication.objects.filter(permit=permit).exists() == (outcome == "allowed")
    return outcome


def _school_apply(world: Any, role: str, where: str) -> str:
    """exams.school.apply: a school applies for a consenting learner of its own (B22); the learner
    is never the actor, so a citizen's own-apply right does not answer for it."""
    _setup_admin(world)
    school = world.records(role, where).organisation
    permit = _permit(world.person_c, "411702", school=school)
    plan = _plan(world, "411702")
    outcome = _outcome(
        lambda: services.application_create(actor=world.actor(role), permit_id=permit.pk, plan_id=plan.pk)
    )
    assert ExamApplication.objects.filter(permit=permit).exists() == (outcome == "allowed")
    if outcome == "allowed":  # and cancels it again (B23)
        application = ExamApplication.objects.get(permit=permit)
        services.application_cancel(actor=world.actor(role), application_id=application.pk)
    return outcome


def _own_view(world: Any, role: str, where: str) -> str:
    person = world.records(role, where).person
    return _outcome(lambda: require(world.actor(role), "exams.own.view", owner_person_id=person.pk))


def _school_view(world: Any, role: str, where: str) -> str:
    school = world.records(role, where).organisation
    return _outcome(lambda: require(world.actor(role), "exams.school.view", owner_organisation_id=school.pk))


def _centre_manage(world: Any, role: str, where: str) -> str:
    _setup_admin(world)
    division = world.records(role, where).division
    n = next(_N)
    data = services.CentreInput(
        uscc=make_uscc(f"12{division}MC{n:06d}X"[:17]), name=f"新考场{n}", division=division,
        address="考场地址20号", subjects=(1,), vehicle_classes=("C1",),
    )  # fmt: skip
    outcome = _outcome(lambda: services.centre_register(actor=world.actor(role), data=data))
    assert ExamCentre.objects.filter(organisation__uscc=data.uscc).exists() == (outcome == "allowed")
    return outcome


def _plan_manage(world: Any, role: str, where: str) -> str:
    centre = _centre(world, world.records(role, where).division)
    now = timezone.now()
    data = services.PlanInput(
        centre_id=centre.pk, subject=1, vehicle_class="C1", exam_date=timezone.localdate() + timedelta(days=5),
        starts_at=time(9, 0), places=3, window_opens_at=now, window_closes_at=now + timedelta(days=1),
    )  # fmt: skip
    outcome = _outcome(lambda: services.plan_create(actor=world.actor(role), data=data))
    assert ExamPlan.objects.filter(centre=centre).exists() == (outcome == "allowed")
    return outcome


def _enrol(world: Any, role: str, where: str) -> str:
    records = world.records(role, where)
    data = services.EnrolInput(
        id_number=records.person.id_number, vehicle_class="C2", test_division=records.division
    )
    outcome = _outcome(lambda: services.permit_enrol(actor=world.actor(role), data=data))
    assert LearnerPermit.objects.filter(person=records.person, vehicle_class="C2").exists() == (
        outcome == "allowed"
    )
    return outcome


def _learner_view(world: Any, role: str, where: str) -> str:
    division = world.records(role, where).division
    return _outcome(lambda: require(world.actor(role), "exams.learner.view", division=division))


def _result_record(world: Any, role: str, where: str) -> str:
    records = world.records(role, where)
    plan = _plan(world, records.division, method="first_come")
    permit = _permit(records.person, records.division)
    application = ExamApplication.objects.create(
        number=f"KSM{next(_N):010d}", plan=plan, permit=permit, person=records.person, subject=plan.subject,
        state="allocated", decided_at=timezone.now(),
    )  # fmt: skip
    ExamPlan.objects.filter(pk=plan.pk).update(taken=1)
    data = services.ResultInput(application.number, score=90, examiner="K001", taken_on=plan.exam_date)
    try:
        services.result_record(actor=world.actor(role), data=data, today=plan.exam_date)
    except (NotAllowed, NotFound, Unauthenticated):
        assert not application.results.exists()
        return "refused"
    assert application.results.get().outcome == "passed"
    return "allowed"


def _monitoring(world: Any, role: str, where: str, check: Any) -> str:
    """Ten moves of one school's learners into the side's division: the flag is seen, or not (X6)."""
    division = world.records(role, where).division
    n = next(_N)
    school = Organisation.objects.create(
        uscc=make_uscc(f"91{division}MD{n:06d}Y"[:17]),
        name=f"驾校{n}",
        kind="driving_school",
        division=division,
    )
    start = timezone.now() - timedelta(days=2)
    # The flag counts moves, not learners: one file stands for them here.
    permit = _permit(world.person_c, division)
    for i in range(monitoring.SCHOOL_MOVES_MIN):
        LocationMove.objects.create(
            permit=permit, school=school, from_division="410102", to_division=division,
            changed_at=start + timedelta(hours=i),
        )  # fmt: skip
    page = check(world.client(role).get("/counter/exams/monitoring/"))
    assert page == ("allowed" if can(world.actor(role), "exams.monitoring.view") else "refused")
    try:
        report = monitoring.flags_for(actor=world.actor(role), period="week")
    except (NotAllowed, Unauthenticated):
        return "refused"
    return "allowed" if f"school-moves-{school.pk}" in {f.key for f in report.flags} else "refused"


def _plan_public(world: Any, role: str, where: str) -> str:
    """exams.plan.public: anyone reads published plans; a rule of the table, no owner or place."""
    return "allowed" if allowed(world.actor(role), "exams.plan.public") else "refused"


PROBES: dict[str, Any] = {
    "exams.own.apply": lambda world, role, where, check: _apply(world, role, where),
    "exams.own.view": lambda world, role, where, check: _own_view(world, role, where),
    "exams.school.apply": lambda world, role, where, check: _school_apply(world, role, where),
    "exams.school.view": lambda world, role, where, check: _school_view(world, role, where),
    "exams.centre.manage": lambda world, role, where, check: _centre_manage(world, role, where),
    "exams.plan.manage": lambda world, role, where, check: _plan_manage(world, role, where),
    "exams.plan.public": lambda world, role, where, check: _plan_public(world, role, where),
    "exams.learner.enrol": lambda world, role, where, check: _enrol(world, role, where),
    "exams.learner.view": lambda world, role, where, check: _learner_view(world, role, where),
    "exams.result.record": lambda world, role, where, check: _result_record(world, role, where),
    "exams.monitoring.view": _monitoring,
}


def test_every_exam_action_has_a_probe():
    assert set(EXAM_ACTIONS) <= set(PROBES)


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", EXAM_ACTIONS)
def test_matrix(name, role, where, access_world, access_check, settings):
    expected, check = access_check
    outcome = PROBES[name](access_world, role, where, check)
    assert outcome == ("allowed" if expected(name, role, where) else "refused"), (name, role, where)


def test_a_school_cannot_apply_without_the_learners_consent(access_world):
    _setup_admin(access_world)
    permit = _permit(access_world.person_c, "411702", school=access_world.organisation)
    LearnerPermit.objects.filter(pk=permit.pk).update(school_consent_at=None)
    plan = _plan(access_world, "411702")
    with pytest.raises(NotAllowed) as refused:
        services.application_create(
            actor=access_world.actor("organisation"), permit_id=permit.pk, plan_id=plan.pk
        )
    assert refused.value.code == "exams.no_consent"
