"""A learner's pages (B22, B23, X1-X3; issue 16): the 考试预约 tile, 我的考试 with each subject's
state and the day it opens, the plans of a subject, applying, the refusal in words with the date,
cancelling until the deadline, the school's consent and the test-location change; in English too."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.exams import services
from jiaoguan.exams.models import ExamApplication, ExamPlan, LearnerPermit

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def logged(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_tile_leads_to_my_exams(make_person, citizen, make_permit, today):
    person = make_person()
    make_permit(person, issued_days_ago=5)
    client = logged(citizen(person))
    home = client.get("/").content.decode()
    assert 'href="/exams/"' in home
    page = text(client.get("/exams/"))
    assert "我的考试" in page and "科目二 场地驾驶技能" in page
    # X2: subject 2 of C1 opens 10 days after the permit, said with the date.
    opens = (today + timedelta(days=5)).strftime("%Y-%m-%d")
    assert f"{opens}起可以预约" in page and "已预约 0/5 次" in page


def test_apply_from_the_plans_page_then_cancel(make_person, citizen, make_centre, make_permit, make_plan):
    person = make_person()
    permit = make_permit(person, issued_days_ago=40)
    plan = make_plan(make_centre(), subject=2, places=2, method="first_come")
    client = logged(citizen(person))
    plans = text(client.get(f"/exams/permits/{permit.pk}/subjects/2/"))
    assert f'id="plan-{plan.pk}"' in plans and "倒车入库" in plans and "80 分及以上" in plans
    assert "剩余 2" in plans
    applied = client.post("/exams/apply/", {"permit": permit.pk, "plan": plan.pk, "subject": 2}, follow=True)
    assert applied.redirect_chain[-1][0] == "/exams/"
    page = text(applied)
    assert "预约成功" in page and "已约上" in page
    application = ExamApplication.objects.get(permit=permit)
    assert f'action="/exams/applications/{application.pk}/cancel/"' in page
    cancelled = text(client.post(f"/exams/applications/{application.pk}/cancel/", follow=True))
    assert "考试预约已取消" in cancelled
    assert ExamPlan.objects.get(pk=plan.pk).taken == 0


def test_a_refusal_is_shown_in_words_with_the_date(
    make_person, citizen, make_centre, make_permit, make_plan, today
):
    person = make_person()
    permit = make_permit(person, issued_days_ago=3)
    plan = make_plan(make_centre(), subject=2)
    client = logged(citizen(person))
    plans = text(client.get(f"/exams/permits/{permit.pk}/subjects/2/"))
    opens = (today + timedelta(days=7)).strftime("%Y-%m-%d")
    assert f"取得学习驾驶证明满10日后才能预约科目二 场地驾驶技能，{opens}起可以预约" in plans
    assert 'action="/exams/apply/"' not in plans  # no button while the rule refuses
    refused = text(
        client.post("/exams/apply/", {"permit": permit.pk, "plan": plan.pk, "subject": 2}, follow=True)
    )
    assert f"{opens}起可以预约" in refused
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = text(client.get(f"/exams/permits/{permit.pk}/subjects/2/"))
    assert f"applications open on {opens}" in english
    assert "My driving tests" in english and "Pass mark" in english and "我的考试" not in english


def test_another_persons_permit_and_application_are_not_found(
    make_person, citizen, make_centre, make_permit, make_plan
):
    owner = make_person()
    permit = make_permit(owner, issued_days_ago=40)
    plan = make_plan(make_centre(), subject=2)
    application = services.application_create(actor=citizen(owner), permit_id=permit.pk, plan_id=plan.pk)
    stranger = logged(citizen(make_person(name="李娜")))
    assert stranger.get(f"/exams/permits/{permit.pk}/subjects/2/").status_code == 404
    assert stranger.post("/exams/apply/", {"permit": permit.pk, "plan": plan.pk}).status_code == 404
    assert stranger.post(f"/exams/applications/{application.pk}/cancel/").status_code == 404
    assert stranger.post(f"/exams/permits/{permit.pk}/consent/", {"consent": "1"}).status_code == 404


def test_cancel_button_only_until_the_deadline(make_person, citizen, make_centre, make_permit, make_plan):
    person = make_person()
    permit = make_permit(person, issued_days_ago=40)
    plan = make_plan(make_centre(), subject=2)
    user = citizen(person)
    application = services.application_create(actor=user, permit_id=permit.pk, plan_id=plan.pk)
    client = logged(user)
    assert f"/exams/applications/{application.pk}/cancel/" in text(client.get("/exams/"))
    ExamPlan.objects.filter(pk=plan.pk).update(cancel_until=timezone.now() - timedelta(minutes=1))
    assert f"/exams/applications/{application.pk}/cancel/" not in text(client.get("/exams/"))
    late = text(client.post(f"/exams/applications/{application.pk}/cancel/", follow=True))
    assert "已过" in late


def test_consent_and_location_forms(make_person, citizen, make_permit, make_school):
    person = make_person()
    permit = make_permit(person, issued_days_ago=40, school=make_school())
    client = logged(citizen(person))
    page = text(client.get("/exams/"))
    assert "同意驾校代为预约" in page and "还可变更 3 次" in page
    client.post(f"/exams/permits/{permit.pk}/consent/", {"consent": "1"})
    permit.refresh_from_db()
    assert permit.school_consent_at is not None
    assert "撤回同意" in text(client.get("/exams/"))
    moved = text(client.post(f"/exams/permits/{permit.pk}/location/", {"division": "410100"}, follow=True))
    assert "考试地已变更为410100，还可变更2次" in moved
    permit.refresh_from_db()
    assert permit.test_division == "410100" and permit.location_changes == 1
    bad = text(client.post(f"/exams/permits/{permit.pk}/location/", {"division": "410100"}, follow=True))
    assert "新考试地与当前考试地相同" in bad


def test_a_large_class_has_no_location_form_and_results_are_shown(
    make_person, citizen, make_centre, make_permit, make_plan, exam_officer
):
    person = make_person()
    permit = make_permit(person, issued_days_ago=60, vehicle_class="B2")
    plan = make_plan(make_centre(), subject=2, vehicle_class="B2", method="first_come")
    user = citizen(person)
    application = services.application_create(actor=user, permit_id=permit.pk, plan_id=plan.pk)
    services.result_record(
        actor=exam_officer,
        data=services.ResultInput(application.number, score=85, examiner="K1", taken_on=plan.exam_date),
        today=plan.exam_date,
    )
    page = text(logged(user).get("/exams/"))
    assert "变更考试地" not in page  # X3: small cars only
    assert "考试成绩" in page and "85 分" in page  # B2 subject 2 passes at 90: a retake is left
    assert LearnerPermit.objects.get(pk=permit.pk).vehicle_class == "B2"


def test_anonymous_is_sent_to_log_in_and_staff_are_refused(client, make_staff):
    assert client.get("/exams/").status_code == 302
    staff = logged(make_staff(role="counter_clerk", username="clerk-x"))
    assert staff.get("/exams/").status_code == 403
