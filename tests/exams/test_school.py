"""A driving school applies for its learners (B22, issue 16 §3): only for its own learners who
consented, recorded with that consent; its learners' list is masked; other organisations and
citizens are refused; the learner sees the school's application and may withdraw consent."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from jiaoguan.core.audit import AuditEntry
from jiaoguan.exams.models import ExamApplication

pytestmark = pytest.mark.django_db


def logged(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def school_setup(make_school, school_user, make_person, citizen, make_permit, make_centre, make_plan):
    school = make_school()
    office = school_user(school)
    agreeing = make_person(name="赵磊")
    refusing = make_person(name="钱敏")
    permits = {
        "agreeing": make_permit(agreeing, issued_days_ago=40, school=school, consent=True),
        "refusing": make_permit(refusing, issued_days_ago=40, school=school),
    }
    plan = make_plan(make_centre(), subject=2, places=5, method="first_come")
    return {
        "school": school, "office": office, "permits": permits, "plan": plan,
        "agreeing": (agreeing, citizen(agreeing)), "refusing": refusing,
    }  # fmt: skip


def test_api_learners_apply_list_and_cancel(school_setup):
    s = school_setup
    client = logged(s["office"])
    learners = client.get("/api/v1/school/learners").json()
    by_id = {row["permit_id"]: row for row in learners}
    agreeing = by_id[s["permits"]["agreeing"].pk]
    assert agreeing["consent"] is True and by_id[s["permits"]["refusing"].pk]["consent"] is False
    assert "*" in agreeing["id_number"] and agreeing["id_number"] != s["agreeing"][0].id_number

    made = client.post(
        "/api/v1/school/exam-applications",
        {"permit_id": s["permits"]["agreeing"].pk, "plan_id": s["plan"].pk},
        content_type="application/json", HTTP_IDEMPOTENCY_KEY="school-1",
    )  # fmt: skip
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["by_school"] is True and body["state"] == "allocated" and "*" in body["learner_id_number"]
    application = ExamApplication.objects.get(pk=body["id"])
    assert application.school_id == s["school"].pk and application.consent_at is not None
    assert AuditEntry.objects.filter(summary__startswith="驾校代为预约考试").exists()

    refused = client.post(
        "/api/v1/school/exam-applications",
        {"permit_id": s["permits"]["refusing"].pk, "plan_id": s["plan"].pk},
        content_type="application/json",
    )
    assert refused.status_code == 403 and refused.json()["code"] == "exams.no_consent"

    page = client.get("/api/v1/school/exam-applications").json()
    assert [a["id"] for a in page["items"]] == [body["id"]]
    # The learner sees it among their own, marked as the school's.
    own = logged(s["agreeing"][1]).get("/api/v1/me/exam-applications").json()
    assert own["items"][0]["by_school"] is True

    cancelled = client.post(f"/api/v1/school/exam-applications/{body['id']}/cancellation")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"


def test_another_schools_learner_is_not_found(school_setup, make_school, school_user):
    s = school_setup
    other = logged(school_user(make_school(name="驻马店市顺通驾校")))
    answer = other.post(
        "/api/v1/school/exam-applications",
        {"permit_id": s["permits"]["agreeing"].pk, "plan_id": s["plan"].pk},
        content_type="application/json",
    )
    assert answer.status_code == 404
    assert other.get("/api/v1/school/learners").json() == []


def test_withdrawn_consent_stops_the_school(school_setup):
    s = school_setup
    learner = logged(s["agreeing"][1])
    learner.post(
        f"/api/v1/me/exam-permits/{s['permits']['agreeing'].pk}/consent", {"consent": False},
        content_type="application/json",
    )  # fmt: skip
    answer = logged(s["office"]).post(
        "/api/v1/school/exam-applications",
        {"permit_id": s["permits"]["agreeing"].pk, "plan_id": s["plan"].pk},
        content_type="application/json",
    )
    assert answer.status_code == 403 and answer.json()["code"] == "exams.no_consent"


def test_other_organisations_and_citizens_are_refused(school_setup, make_person, citizen):
    from jiaoguan.accounts.models import User
    from jiaoguan.registry.models import Organisation

    hospital = Organisation.objects.create(
        uscc="12411700MB1234567X", name="驻马店市中心医院", kind="hospital", division="411702"
    )
    hospital_user = User.objects.create_user(
        username="hospital-x", password="x", kind="organisation", organisation=hospital,
        registration_level="counter",
    )  # fmt: skip
    assert logged(hospital_user).get("/api/v1/school/learners").status_code == 403
    assert logged(hospital_user).get("/org/exams/").status_code == 404
    assert "/org/exams/" not in logged(hospital_user).get("/").content.decode()
    person_client = logged(citizen(make_person(name="孙强")))
    assert person_client.get("/api/v1/school/learners").status_code == 403
    assert person_client.get("/org/exams/").status_code == 403


def test_school_page_lists_learners_and_applies(school_setup):
    s = school_setup
    client = logged(s["office"])
    assert 'href="/org/exams/"' in client.get("/").content.decode()
    page = text(client.get("/org/exams/"))
    assert "赵磊" in page and "钱敏" in page and s["agreeing"][0].id_number not in page
    assert "已同意代为预约" in page and "未同意代为预约" in page
    assert f'id="plan-{s["permits"]["agreeing"].pk}"' in page  # a plan choice for the consenting one
    assert f'id="plan-{s["permits"]["refusing"].pk}"' not in page
    done = text(
        client.post(
            "/org/exams/apply/", {"permit": s["permits"]["agreeing"].pk, "plan": s["plan"].pk}, follow=True
        )
    )
    assert "已为学员提交考试预约" in done and "已约上" in done
    refused = text(
        client.post(
            "/org/exams/apply/", {"permit": s["permits"]["refusing"].pk, "plan": s["plan"].pk}, follow=True
        )
    )
    assert "该学员未同意驾校代为预约考试" in refused


def test_school_page_cancels_a_learners_booking_until_the_deadline(school_setup, make_school, school_user):
    """B23 for a school: the cancel button of a consenting learner's booking frees the place; another
    school's office cannot reach it (404)."""
    s = school_setup
    client = logged(s["office"])
    client.post("/org/exams/apply/", {"permit": s["permits"]["agreeing"].pk, "plan": s["plan"].pk})
    application = ExamApplication.objects.get(permit=s["permits"]["agreeing"])
    page = client.get("/org/exams/").content.decode()
    assert f'action="/org/exams/applications/{application.pk}/cancel/"' in page
    stranger = logged(school_user(make_school(name="驻马店市远方驾驶培训有限公司")))
    assert stranger.post(f"/org/exams/applications/{application.pk}/cancel/").status_code == 404
    done = text(client.post(f"/org/exams/applications/{application.pk}/cancel/", follow=True))
    assert "考试预约已取消" in done
    application.refresh_from_db()
    assert application.state == "cancelled"
    s["plan"].refresh_from_db()
    assert s["plan"].taken == 0
    assert AuditEntry.objects.filter(
        subject_id=str(application.pk), summary__contains="取消考试预约"
    ).exists()
