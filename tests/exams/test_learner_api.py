"""A learner's permits and applications through the API (B22, B23, X2, X3; issue 16): the
subjects with the day they open, applying with Idempotency-Key, refusals with the rule and the
date, another person's permit, cancellation until the deadline, consent and the test location."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.exams.models import ExamApplication, ExamPlan, LearnerPermit

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_permits_show_each_subject_with_the_day_it_opens(make_person, citizen, make_permit, today):
    person = make_person()
    permit = make_permit(person, issued_days_ago=5)
    answer = _client(citizen(person)).get("/api/v1/me/exam-permits")
    assert answer.status_code == 200
    (found,) = answer.json()
    assert found["id"] == permit.pk and found["location_changes_left"] == 3
    subjects = {s["subject"]: s for s in found["subjects"]}
    assert subjects[1]["passed"] is True
    # X2: subject 2 of C1 opens 10 days after the permit, subject 3 30 days after.
    assert subjects[2]["opens_on"] == (today + timedelta(days=5)).isoformat()
    assert subjects[2]["can_apply"] is False
    assert subjects[2]["refusal"]["code"] == "exams.too_early"
    assert subjects[2]["refusal"]["opens_on"] == (today + timedelta(days=5)).isoformat()
    assert subjects[3]["opens_on"] == (today + timedelta(days=25)).isoformat()
    assert subjects[2]["bookings_used"] == 0 and subjects[2]["bookings_max"] == 5


def test_apply_idempotent_list_read_and_cancel(make_person, citizen, make_centre, make_permit, make_plan):
    person = make_person()
    permit = make_permit(person, issued_days_ago=40)
    plan = make_plan(make_centre(), subject=2, places=3, method="first_come")
    client = _client(citizen(person))
    body = {"permit_id": permit.pk, "plan_id": plan.pk}
    first = client.post(
        "/api/v1/me/exam-applications", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == 201, first.content
    again = client.post(
        "/api/v1/me/exam-applications", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert again.status_code == 201 and again.json() == first.json()
    assert ExamApplication.objects.filter(permit=permit).count() == 1
    assert ExamPlan.objects.get(pk=plan.pk).taken == 1
    made = first.json()
    assert made["state"] == "allocated" and made["plan"]["taken"] == 1 and made["cancellable"] is True
    assert made["plan"]["subject2_items"][0] == "倒车入库" and made["plan"]["pass_mark"] == 80

    twice = client.post("/api/v1/me/exam-applications", body, content_type="application/json")
    assert twice.status_code == 409 and twice.json()["code"] == "exams.already_applied"

    page = client.get("/api/v1/me/exam-applications").json()
    assert [a["id"] for a in page["items"]] == [made["id"]] and page["next_cursor"] is None
    assert client.get(f"/api/v1/me/exam-applications/{made['id']}").json()["number"] == made["number"]

    cancelled = client.post(f"/api/v1/me/exam-applications/{made['id']}/cancellation")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert ExamPlan.objects.get(pk=plan.pk).taken == 0  # B23: the place returns to the plan
    over = client.post(f"/api/v1/me/exam-applications/{made['id']}/cancellation")
    assert over.status_code == 409 and over.json()["code"] == "exams.not_cancellable"


def test_list_pages_with_a_cursor(make_person, citizen, make_centre, make_permit, make_plan):
    person = make_person()
    centre = make_centre()
    permit = make_permit(person, issued_days_ago=60)
    client = _client(citizen(person))
    for subject in (2, 3, 4):
        plan = make_plan(centre, subject=subject)
        assert (
            client.post(
                "/api/v1/me/exam-applications", {"permit_id": permit.pk, "plan_id": plan.pk},
                content_type="application/json",
            ).status_code
            == 201
        )  # fmt: skip
    first = client.get("/api/v1/me/exam-applications", {"limit": 2}).json()
    assert [a["subject"] for a in first["items"]] == [4, 3]
    rest = client.get("/api/v1/me/exam-applications", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [a["subject"] for a in rest["items"]] == [2] and rest["next_cursor"] is None


def test_bad_input_answers_the_rule_and_the_date(
    make_person, citizen, make_centre, make_permit, make_plan, today
):
    person = make_person()
    early = make_permit(person, issued_days_ago=3)
    plan = make_plan(make_centre(), subject=2)
    client = _client(citizen(person))
    refused = client.post(
        "/api/v1/me/exam-applications",
        {"permit_id": early.pk, "plan_id": plan.pk},
        content_type="application/json",
    )
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "exams.too_early"
    assert body["detail"]["opens_on"] == (today + timedelta(days=7)).isoformat()
    assert (today + timedelta(days=7)).isoformat() in body["message"]
    english = client.post(
        "/api/v1/me/exam-applications", {"permit_id": early.pk, "plan_id": plan.pk},
        content_type="application/json", HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert "applications open on" in english.json()["message"]

    # Another person's permit: no such permit (404), nothing said about it.
    other = make_person(name="李娜")
    theirs = make_permit(other, issued_days_ago=40)
    stranger = client.post(
        "/api/v1/me/exam-applications",
        {"permit_id": theirs.pk, "plan_id": plan.pk},
        content_type="application/json",
    )
    assert stranger.status_code == 404 and stranger.json()["code"] == "exams.permit_not_found"
    assert client.get(f"/api/v1/me/exam-applications/{999999}").status_code == 404

    # Past the permit's three years: the attempts end.
    old = make_person(name="王芳")
    expired = make_permit(old, issued_days_ago=40)
    LearnerPermit.objects.filter(pk=expired.pk).update(valid_until=today + timedelta(days=1))
    late = _client(citizen(old)).post(
        "/api/v1/me/exam-applications",
        {"permit_id": expired.pk, "plan_id": plan.pk},
        content_type="application/json",
    )
    assert late.status_code == 409 and late.json()["code"] == "exams.permit_expired"


def test_five_bookings_used_up(make_person, citizen, make_centre, make_permit, make_plan, today):
    person = make_person()
    permit = make_permit(person, issued_days_ago=200)
    centre = make_centre()
    old_plan = make_plan(centre, subject=2)
    for n in range(5):
        ExamApplication.objects.create(
            number=f"KSOLD{n}", plan=old_plan, permit=permit, person=person, subject=2, state="failed",
            ended_on=today - timedelta(days=30 + n),
        )  # fmt: skip
    answer = _client(citizen(person)).post(
        "/api/v1/me/exam-applications", {"permit_id": permit.pk, "plan_id": old_plan.pk},
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 409 and answer.json()["code"] == "exams.bookings_used_up"


def test_cancel_after_the_deadline_is_refused(make_person, citizen, make_centre, make_permit, make_plan):
    person = make_person()
    permit = make_permit(person, issued_days_ago=40)
    plan = make_plan(make_centre(), subject=2)
    client = _client(citizen(person))
    made = client.post(
        "/api/v1/me/exam-applications",
        {"permit_id": permit.pk, "plan_id": plan.pk},
        content_type="application/json",
    ).json()
    ExamPlan.objects.filter(pk=plan.pk).update(cancel_until=timezone.now() - timedelta(minutes=1))
    assert client.get(f"/api/v1/me/exam-applications/{made['id']}").json()["cancellable"] is False
    late = client.post(f"/api/v1/me/exam-applications/{made['id']}/cancellation")
    assert late.status_code == 409 and late.json()["code"] == "exams.cancel_deadline_passed"


def test_consent_and_test_location(make_person, citizen, make_permit, make_school):
    person = make_person()
    school = make_school()
    permit = make_permit(person, issued_days_ago=40, school=school)
    client = _client(citizen(person))
    given = client.post(
        f"/api/v1/me/exam-permits/{permit.pk}/consent", {"consent": True}, content_type="application/json"
    )
    assert given.status_code == 200 and given.json()["school_consent"] is True
    withdrawn = client.post(
        f"/api/v1/me/exam-permits/{permit.pk}/consent", {"consent": False}, content_type="application/json"
    )
    assert withdrawn.json()["school_consent"] is False

    # X3: three moves of the test location, the fourth is refused.
    for n, division in enumerate(("410100", "411700", "410100"), start=1):
        moved = client.post(
            f"/api/v1/me/exam-permits/{permit.pk}/test-location", {"division": division},
            content_type="application/json",
        )  # fmt: skip
        assert moved.status_code == 200, moved.content
        assert moved.json()["location_changes"] == n and moved.json()["location_changes_left"] == 3 - n
    fourth = client.post(
        f"/api/v1/me/exam-permits/{permit.pk}/test-location",
        {"division": "411700"},
        content_type="application/json",
    )
    assert fourth.status_code == 409 and fourth.json()["code"] == "exams.location_changes_used_up"


def test_throttled_script_gets_429_with_retry_after(
    make_person, citizen, make_centre, make_permit, make_plan, settings
):
    person = make_person()
    permit = make_permit(person, issued_days_ago=40)
    centre = make_centre()
    plans = [make_plan(centre, subject=2, places=1) for _ in range(2)]
    client = _client(citizen(person))
    statuses = []
    for _attempt in range(12):
        made = client.post(
            "/api/v1/me/exam-applications", {"permit_id": permit.pk, "plan_id": plans[0].pk},
            content_type="application/json",
        )  # fmt: skip
        if made.status_code == 201:  # cancel so the next attempt is a real one again
            client.post(f"/api/v1/me/exam-applications/{made.json()['id']}/cancellation")
        statuses.append(made.status_code)
        if made.status_code == 429:
            assert int(made["Retry-After"]) > 0
            assert made.json()["code"] == "exams.too_many_applications"
            break
    assert statuses[-1] == 429 and statuses.count(201) == 10  # 10 a minute per account
