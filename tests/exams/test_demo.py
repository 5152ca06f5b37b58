"""Demo driving tests (issue 16): made once next to the demo logins, plans in each state, results
with a pass, a fail after the retake, a retake passed, a miss and a licence; the logins work."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jiaoguan.demo.generate import ensure_demo_logins, generate_demo
from jiaoguan.exams import allocation, services
from jiaoguan.exams.demo import EXAM_LOGIN, ensure_demo_exams
from jiaoguan.exams.models import ExamApplication, ExamCentre, ExamPlan, ExamResult, LearnerPermit

pytestmark = pytest.mark.django_db
PASSWORD = "Demo#2026-exams"


def test_demo_exams_once_with_every_stage(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    today = timezone.localdate()
    generate_demo(persons=60, seed=5, today=today)
    logins = ensure_demo_logins(today=today, password=PASSWORD)
    online = next(row["username"] for row in logins if row["role"] == "citizen_online")

    rows = ensure_demo_exams(today=today, password=PASSWORD, citizen_username=online)
    # The exam officer is one of the staff logins; the school's login comes with the exams.
    assert [r["username"] for r in logins if r["role"] == "exam_officer"] == [EXAM_LOGIN]
    assert [r["role"] for r in rows] == ["driving_school"]
    counts = (ExamCentre.objects.count(), ExamPlan.objects.count(), ExamResult.objects.count())
    assert sorted(ExamCentre.objects.values_list("division", flat=True)) == ["411702", "411721"]

    # The main demo citizen: a C1 permit of about 40 days with subject 1 passed, the school may apply.
    mine = LearnerPermit.objects.get(person__account__username=online)
    assert mine.vehicle_class == "C1" and (today - mine.issued_on).days == 40
    assert mine.school_consent_at is not None and mine.school.kind == "driving_school"
    assert ExamApplication.objects.filter(permit=mine, subject=1, state="passed").exists()

    open_plans = ExamPlan.objects.filter(state="open")
    assert sorted(open_plans.values_list("method", flat=True)) == ["first_come", "lottery"]
    # The allocated plan with its proof and waiting list.
    plan = ExamPlan.objects.get(state="allocated", exam_date__gt=today)
    states = sorted(ExamApplication.objects.filter(plan=plan).values_list("state", flat=True))
    assert states == ["allocated"] * 4 + ["waiting"] * 2
    entries = [
        services.allocation_entry(a)
        for a in ExamApplication.objects.filter(plan=plan).select_related("person")
    ]
    doc = allocation.document(plan={"id": plan.pk}, places=plan.places, seed_hex=plan.seed, entries=entries)
    assert allocation.verify(
        doc, published_commitment=plan.seed_commitment, published_inputs_sha256=plan.inputs_sha256
    ).ok
    # The finished plan of subject 3: a pass, a fail after the retake, a retake passed, a miss.
    road = ExamApplication.objects.filter(plan__subject=3, plan__state="finished", plan__places=10)
    outcomes = sorted((a.state, a.results.count()) for a in road)
    assert outcomes == [("failed", 2), ("missed", 1), ("passed", 1), ("passed", 2)]
    # One learner passed everything and holds the licence in the registry.
    licensed = LearnerPermit.objects.get(state="licensed")
    assert licensed.person.licence.classes.find("C1") >= 0
    assert LearnerPermit.objects.filter(state="enrolled").count() == 1

    # Again (the next `jiaoguan up`): nothing new, the same logins.
    assert ensure_demo_exams(today=today, password=PASSWORD, citizen_username=online) == rows
    assert (ExamCentre.objects.count(), ExamPlan.objects.count(), ExamResult.objects.count()) == counts


def test_the_demo_logins_work(settings, client):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    today = timezone.localdate()
    generate_demo(persons=60, seed=5, today=today)
    logins = ensure_demo_logins(today=today, password=PASSWORD)
    online = next(row["username"] for row in logins if row["role"] == "citizen_online")
    rows = ensure_demo_exams(today=today, password=PASSWORD, citizen_username=online)
    assert client.login(username=EXAM_LOGIN, password=PASSWORD)
    page = client.get("/counter/exams/monitoring/?period=month")
    assert page.status_code == 200
    body = page.content.decode()
    assert "flag-school_moves" in body and "flag-origin_concentrated" in body
    assert client.login(username=rows[0]["username"], password=PASSWORD)


def test_no_demo_without_the_clerk_or_the_citizen(make_staff):
    assert ensure_demo_exams(today=timezone.localdate(), password=PASSWORD, citizen_username="nobody") == []
