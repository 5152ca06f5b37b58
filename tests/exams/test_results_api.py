"""Centres report results through their API client (issue 16 §6): scope exams:results, bound to the
centre, idempotent; refused for a learner who holds no place (409 exams.not_allocated)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from jiaoguan.exams import services
from jiaoguan.exams.models import ExamApplication, ExamPlan, ExamResult

from .conftest import close_window

pytestmark = pytest.mark.django_db


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture
def allocated(make_person, citizen, make_centre, make_permit, make_plan):
    """A lottery plan of one place and two learners, allocated: (centre, plan, allocated, waiting)."""
    centre = make_centre()
    plan = make_plan(centre, subject=2, places=1, days_ahead=2, closes_in=timedelta(minutes=1))
    for i in range(2):
        person = make_person(name=f"学员{i}")
        services.application_create(
            actor=citizen(person), permit_id=make_permit(person, issued_days_ago=40).pk, plan_id=plan.pk
        )
    close_window(plan)
    services.plan_allocate(plan_id=plan.pk)
    by_state = {a.state: a for a in ExamApplication.objects.filter(plan=plan)}
    return centre, plan, by_state["allocated"], by_state["waiting"]


def exam_day_is_today(plan, today):
    """Results are taken from the exam day on; the test cannot wait for it."""
    ExamPlan.objects.filter(pk=plan.pk).update(exam_date=today)


def test_centre_reports_a_fail_then_the_retake(client, clerk, allocated, today):
    centre, plan, booking, _waiting = allocated
    exam_day_is_today(plan, today)
    api_client, secret = services.centre_client_issue(actor=clerk, centre_id=centre.pk)
    body = {"application_number": booking.number, "score": 70, "examiner": "K0012"}
    first = client.post(
        "/api/v1/exam-results", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="r-1",
        **basic(api_client.client_id, secret),
    )  # fmt: skip
    assert first.status_code == 201, first.content
    assert (
        first.json()["attempt"] == 1 and first.json()["outcome"] == "failed" and first.json()["retake_left"]
    )
    again = client.post(
        "/api/v1/exam-results", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="r-1",
        **basic(api_client.client_id, secret),
    )  # fmt: skip
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert ExamResult.objects.filter(application=booking).count() == 1
    retake = client.post(
        "/api/v1/exam-results", {**body, "score": 90}, content_type="application/json",
        **basic(api_client.client_id, secret),
    )  # fmt: skip
    assert retake.status_code == 201 and retake.json()["attempt"] == 2
    assert retake.json()["booking_state"] == "passed" and not retake.json()["retake_left"]
    assert ExamResult.objects.get(application=booking, attempt=2).client_id == api_client.client_id


def test_a_learner_without_a_place_is_refused(client, clerk, allocated, today):
    centre, plan, _booking, waiting = allocated
    exam_day_is_today(plan, today)
    api_client, secret = services.centre_client_issue(actor=clerk, centre_id=centre.pk)
    answer = client.post(
        "/api/v1/exam-results", {"application_number": waiting.number, "outcome": "missed"},
        content_type="application/json", **basic(api_client.client_id, secret),
    )  # fmt: skip
    assert answer.status_code == 409 and answer.json()["code"] == "exams.not_allocated"


def test_another_centre_or_no_credentials_cannot_report(client, clerk, allocated, make_centre):
    _centre, _plan, booking, _waiting = allocated
    stranger, secret = services.centre_client_issue(actor=clerk, centre_id=make_centre().pk)
    body = {"application_number": booking.number, "score": 95}
    other = client.post(
        "/api/v1/exam-results", body, content_type="application/json", **basic(stranger.client_id, secret)
    )
    assert other.status_code == 404
    assert client.post("/api/v1/exam-results", body, content_type="application/json").status_code == 401
