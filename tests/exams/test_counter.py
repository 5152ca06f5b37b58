"""The counter pages of driving tests (issue 16): centres and their API client, plans (create,
publish, allocate now, withdraw), results by application number, and learners (enrol, audited
look-up). Every page is guarded by the access table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.accounts.models import ApiClient
from jiaoguan.core.audit import AuditEntry
from jiaoguan.exams import services
from jiaoguan.exams.models import ExamApplication, ExamCentre, ExamPlan, ExamResult, LearnerPermit

from .conftest import close_window

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_clerk_registers_a_centre_and_issues_its_client(clerk):
    from jiaoguan.core.identifiers import make_uscc

    page = logged_in(clerk)
    assert page.get("/counter/exams/centres/").status_code == 200
    answer = page.post(
        "/counter/exams/centres/",
        {
            "form": "centre", "uscc": make_uscc("12411700MB0009900"), "name": "驻马店市第二考试中心",
            "division": "411702", "address": "驻马店市驿城区开源大道9号", "subjects": ["2", "3"],
            "vehicle_classes": ["C1", "C2"],
        },
    )  # fmt: skip
    assert answer.status_code == 302
    centre = ExamCentre.objects.get(organisation__name="驻马店市第二考试中心")
    assert centre.subject_list == [2, 3] and centre.class_list == ["C1", "C2"]
    issued = page.post("/counter/exams/centres/", {"form": "client", "centre": centre.pk})
    assert issued.status_code == 200
    client = ApiClient.objects.get(organisation=centre.organisation)
    assert client.client_id in issued.content.decode() and 'id="issued"' in issued.content.decode()
    # The secret is shown once: the list afterwards has the client id only.
    assert 'id="issued"' not in page.get("/counter/exams/centres/").content.decode()


def test_the_menu_tiles_and_who_may_open_the_pages(clerk, exam_officer, make_staff, make_person, citizen):
    assert logged_in(clerk).get("/counter/exams/plans/").status_code == 403
    assert logged_in(exam_officer).get("/counter/exams/centres/").status_code == 403
    assert logged_in(citizen(make_person())).get("/counter/exams/learners/").status_code == 403
    assert Client().get("/counter/exams/results/").status_code == 302  # to log in
    assert "/counter/exams/plans/" in logged_in(exam_officer).get("/counter/").content.decode()
    assert "/counter/exams/centres/" in logged_in(clerk).get("/counter/").content.decode()


def test_officer_creates_publishes_allocates_and_withdraws(
    exam_officer, make_centre, make_person, citizen, make_permit, today
):
    centre = make_centre()
    page = logged_in(exam_officer)
    now = timezone.localtime()
    exam_date = today + timedelta(days=10)
    answer = page.post(
        "/counter/exams/plans/",
        {
            "centre": centre.pk, "subject": 2, "vehicle_class": "C1", "exam_date": exam_date.isoformat(),
            "starts_at": "08:30", "places": 2, "method": "lottery",
            "window_opens_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "window_closes_at": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[:2000]
    plan = ExamPlan.objects.get(centre=centre)
    assert plan.state == "draft"
    assert page.post(f"/counter/exams/plans/{plan.pk}/", {"form": "publish"}).status_code == 302
    plan.refresh_from_db()
    assert plan.state == "open" and plan.seed_commitment
    learners = []
    for i in range(3):
        person = make_person(name=f"学员{i}")
        learners.append(person)
        services.application_create(
            actor=citizen(person), permit_id=make_permit(person, issued_days_ago=40).pk, plan_id=plan.pk
        )
    # Not yet: the window is open, no button and a refusal if asked.
    detail = page.get(f"/counter/exams/plans/{plan.pk}/").content.decode()
    assert 'id="allocate"' not in detail
    assert page.post(f"/counter/exams/plans/{plan.pk}/", {"form": "allocate"}).status_code == 409
    close_window(plan)
    assert 'id="allocate"' in page.get(f"/counter/exams/plans/{plan.pk}/").content.decode()
    assert page.post(f"/counter/exams/plans/{plan.pk}/", {"form": "allocate"}).status_code == 302
    plan.refresh_from_db()
    assert plan.state == "allocated" and plan.taken == 2
    detail = page.get(f"/counter/exams/plans/{plan.pk}/").content.decode()
    for person in learners:
        assert person.id_number not in detail  # masked in the list
    assert f'id="plan-{plan.pk}"' in page.get("/counter/exams/plans/?state=allocated").content.decode()
    assert f'id="plan-{plan.pk}"' not in page.get("/counter/exams/plans/?state=draft").content.decode()
    refused = page.post(f"/counter/exams/plans/{plan.pk}/", {"form": "withdraw", "reason": ""})
    assert refused.status_code == 400
    assert (
        page.post(
            f"/counter/exams/plans/{plan.pk}/", {"form": "withdraw", "reason": "考场设备检修"}
        ).status_code
        == 302
    )
    assert ExamPlan.objects.get(pk=plan.pk).state == "withdrawn"
    assert set(ExamApplication.objects.filter(plan=plan).values_list("state", flat=True)) == {"cancelled"}


def test_result_recorded_by_application_number(
    exam_officer, make_centre, make_person, citizen, make_permit, make_plan, today
):
    plan = make_plan(make_centre(), subject=2, places=1, days_ahead=3)
    person = make_person()
    booking = services.application_create(
        actor=citizen(person), permit_id=make_permit(person, issued_days_ago=40).pk, plan_id=plan.pk
    )
    close_window(plan)
    services.plan_allocate(plan_id=plan.pk)
    ExamPlan.objects.filter(pk=plan.pk).update(exam_date=today)  # the exam day has come
    page = logged_in(exam_officer)
    first = page.post(
        "/counter/exams/results/",
        {
            "application_number": booking.number,
            "score": "70",
            "examiner": "K01",
            "taken_on": today.isoformat(),
        },
    )
    assert first.status_code == 302
    shown = page.get(f"/counter/exams/results/?number={booking.number}").content.decode()
    assert 'id="attempts"' in shown and person.id_number not in shown
    assert ExamResult.objects.get(application=booking).outcome == "failed"
    retake = page.post(
        "/counter/exams/results/",
        {"application_number": booking.number, "score": "92", "taken_on": today.isoformat()},
    )
    assert retake.status_code == 302
    assert ExamApplication.objects.get(pk=booking.pk).state == "passed"
    over = page.post("/counter/exams/results/", {"application_number": booking.number, "score": "95"})
    assert over.status_code == 409
    other = make_person(name="李娜")
    absent_booking = ExamApplication.objects.create(
        number="KS_ABSENT_1", plan=plan, permit=make_permit(other, issued_days_ago=40), person=other,
        subject=2, state="allocated",
    )  # fmt: skip
    absent = page.post(
        "/counter/exams/results/", {"application_number": absent_booking.number, "absent": "on"}
    )
    assert absent.status_code == 302
    assert ExamApplication.objects.get(pk=absent_booking.pk).state == "missed"
    missing = page.post("/counter/exams/results/", {"application_number": "KS000", "score": "95"})
    assert missing.status_code == 404


def test_learner_enrolled_and_looked_up_with_an_audit_row(clerk, make_person, make_school):
    person = make_person()
    school = make_school()
    page = logged_in(clerk)
    enrolled = page.post(
        "/counter/exams/learners/",
        {"form": "enrol", "id_number": person.id_number, "vehicle_class": "C1", "kind": "first",
         "school_uscc": school.uscc, "test_division": "411702"},
    )  # fmt: skip
    assert enrolled.status_code == 302
    permit = LearnerPermit.objects.get(person=person)
    assert permit.school == school and permit.state == "enrolled"
    twice = page.post(
        "/counter/exams/learners/",
        {"form": "enrol", "id_number": person.id_number, "vehicle_class": "C1", "kind": "first"},
    )
    assert twice.status_code == 409
    found = page.post("/counter/exams/learners/", {"form": "lookup", "id_number": person.id_number})
    assert found.status_code == 200 and permit.number in found.content.decode()
    assert person.id_number not in found.content.decode()
    assert AuditEntry.objects.filter(action="view", subject_person_id=person.pk).count() == 1
    unknown = page.post("/counter/exams/learners/", {"form": "lookup", "id_number": "110101199001011237"})
    assert unknown.status_code == 404
