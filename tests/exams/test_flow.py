"""The whole way of one learner (issue 16): enrol, subject 1, permit, intervals, lottery plan,
allocation with its proof, cancel to the waiting list, results and the licence."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jiaoguan.core.errors import Conflict
from jiaoguan.exams import allocation, services
from jiaoguan.exams.models import ExamApplication, ExamPlan, LearnerPermit
from jiaoguan.registry.models import DrivingLicence

from .conftest import close_window

pytestmark = pytest.mark.django_db


def test_lottery_allocation_waiting_list_results_and_licence(
    make_person, citizen, make_centre, make_permit, make_plan, exam_officer, today
):
    centre = make_centre()
    learners = []
    for i in range(4):
        person = make_person(name=f"学员{i}")
        learners.append((citizen(person), make_permit(person, issued_days_ago=40)))
    plan = make_plan(centre, subject=2, places=2)
    assert plan.state == ExamPlan.State.OPEN and len(plan.seed_commitment) == 64
    applications = [
        services.application_create(actor=user, permit_id=permit.pk, plan_id=plan.pk)
        for user, permit in learners
    ]
    assert {a.state for a in applications} == {"applied"}
    with pytest.raises(Conflict) as again:
        services.application_create(actor=learners[0][0], permit_id=learners[0][1].pk, plan_id=plan.pk)
    assert again.value.code == "exams.already_applied"

    close_window(plan)
    plan = services.plan_allocate(plan_id=plan.pk)
    assert plan.state == ExamPlan.State.ALLOCATED and plan.taken == 2
    states = sorted(ExamApplication.objects.filter(plan=plan).values_list("rank", "state"))
    assert states == [(1, "allocated"), (2, "allocated"), (3, "waiting"), (4, "waiting")]

    entries = [services.allocation_entry(a) for a in ExamApplication.objects.filter(plan=plan).select_related("person")]
    doc = allocation.document(plan={"id": plan.pk}, places=plan.places, seed_hex=plan.seed, entries=entries)
    assert allocation.verify(
        doc, published_commitment=plan.seed_commitment, published_inputs_sha256=plan.inputs_sha256
    ).ok
    by_rank = {a.rank: a for a in ExamApplication.objects.filter(plan=plan)}
    assert [r["number"] for r in doc["result"]] == [by_rank[i].number for i in (1, 2, 3, 4)]

    # The first allocated cancels: the first on the waiting list is offered the place.
    first = by_rank[1]
    owner = next(user for user, permit in learners if permit.pk == first.permit_id)
    services.application_cancel(actor=owner, application_id=first.pk)
    assert ExamApplication.objects.get(pk=by_rank[3].pk).state == "allocated"
    assert ExamPlan.objects.get(pk=plan.pk).taken == 2

    # Results: a fail then a retake pass.
    second = by_rank[2]
    exam_day = plan.exam_date
    r1 = services.result_record(
        actor=exam_officer,
        data=services.ResultInput(second.number, score=70, examiner="K001", taken_on=exam_day),
        today=exam_day,
    )
    assert r1.attempt == 1 and r1.outcome == "failed"
    r2 = services.result_record(
        actor=exam_officer,
        data=services.ResultInput(second.number, score=85, examiner="K001", taken_on=exam_day),
        today=exam_day,
    )
    assert r2.attempt == 2 and r2.outcome == "passed"
    assert ExamApplication.objects.get(pk=second.pk).state == "passed"
    # A waiting learner has no place: no result.
    with pytest.raises(Conflict) as not_allocated:
        services.result_record(
            actor=exam_officer, data=services.ResultInput(by_rank[4].number, score=90), today=exam_day
        )
    assert not_allocated.value.code == "exams.not_allocated"


def test_interval_refusal_names_the_day(make_person, citizen, make_centre, make_permit, make_plan, today):
    person = make_person()
    permit = make_permit(person, issued_days_ago=5)
    plan = make_plan(make_centre(), subject=2)
    with pytest.raises(Conflict) as early:
        services.application_create(actor=citizen(person), permit_id=permit.pk, plan_id=plan.pk)
    assert early.value.code == "exams.too_early"
    assert early.value.detail["opens_on"] == (today + timedelta(days=5)).isoformat()


def test_first_come_full_and_passing_everything_issues_the_licence(
    make_person, citizen, make_centre, make_permit, make_plan, exam_officer, today
):
    centre = make_centre()
    person = make_person()
    user = citizen(person)
    permit = make_permit(person, issued_days_ago=60)
    other = make_person(name="李娜")
    other_permit = make_permit(other, issued_days_ago=60)
    for subject in (2, 3, 4):
        plan = make_plan(centre, subject=subject, places=1, method="first_come")
        application = services.application_create(actor=user, permit_id=permit.pk, plan_id=plan.pk)
        assert application.state == "allocated"
        with pytest.raises(Conflict) as full:
            services.application_create(
                actor=citizen(other) if subject == 2 else user,
                permit_id=other_permit.pk if subject == 2 else permit.pk,
                plan_id=plan.pk,
            )
        assert full.value.code in ("exams.plan_full", "exams.already_applied")
        # subject 1 was passed before the permit; record it as passed history
    # Subject 1 passed long ago (the permit exists): one passed application stands for it.
    law_plan = make_plan(centre, subject=1, places=5, method="first_come")
    ExamApplication.objects.create(
        number="KS_LAW_1",
        plan=law_plan,
        permit=permit,
        person=person,
        subject=1,
        state="passed",
        ended_on=today,
    )
    for application in ExamApplication.objects.filter(permit=permit, state="allocated").select_related(
        "plan"
    ):
        services.result_record(
            actor=exam_officer,
            data=services.ResultInput(application.number, score=95, taken_on=application.plan.exam_date),
            today=application.plan.exam_date,
        )
    permit.refresh_from_db()
    assert permit.state == LearnerPermit.State.LICENSED
    licence = DrivingLicence.objects.get(holder=person)
    assert licence.classes == "C1" and licence.probation_started_on is not None
