"""Public exam plans and their allocation proof (X4): no login, no drafts, the proof after the draw."""

from __future__ import annotations

import pytest

from jiaoguan.exams import services

from .conftest import close_window

pytestmark = pytest.mark.django_db


def test_plans_list_shows_published_plans_only_with_filters(client, make_centre, make_plan, today):
    centre, other = make_centre(), make_centre()
    open_plan = make_plan(centre, subject=2)
    make_plan(centre, subject=3, days_ahead=9)
    make_plan(other, subject=2, days_ahead=12)
    draft = make_plan(centre, subject=2, publish=False)
    answer = client.get("/api/v1/exam-plans").json()
    ids = [p["id"] for p in answer["items"]]
    assert open_plan.pk in ids and draft.pk not in ids and len(ids) == 3
    assert [
        p["id"] for p in client.get(f"/api/v1/exam-plans?subject=2&centre={centre.pk}").json()["items"]
    ] == [open_plan.pk]
    later = today.toordinal() + 10
    from datetime import date

    assert (
        len(client.get(f"/api/v1/exam-plans?from={date.fromordinal(later).isoformat()}").json()["items"]) == 1
    )
    page = client.get("/api/v1/exam-plans?limit=2").json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(f"/api/v1/exam-plans?limit=2&cursor={page['next_cursor']}").json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert client.get("/api/v1/exam-plans?cursor=nonsense").status_code == 422
    assert client.get(f"/api/v1/exam-plans/{draft.pk}").status_code == 404


def test_plan_detail_says_its_rules(client, make_centre, make_plan):
    plan = make_plan(make_centre(), subject=2, vehicle_class="C2")
    facts = client.get(f"/api/v1/exam-plans/{plan.pk}").json()
    assert facts["method"] == "lottery" and facts["seed_commitment"] == plan.seed_commitment
    assert [p["class"] for p in facts["priority_classes"]] == [1, 2, 3, 4]
    assert len(facts["items"]) == 4  # C2: no slope (X1)
    assert facts["pass_mark"] == 80 and facts["taken"] == 0 and facts["state"] == "open"
    assert "seed" not in facts


def test_first_come_plan_lists_places_in_the_order_taken(
    client, make_person, citizen, make_centre, make_permit, make_plan
):
    plan = make_plan(make_centre(), subject=2, places=3, method="first_come")
    numbers = []
    for i in range(2):
        person = make_person(name=f"学员{i}")
        permit = make_permit(person, issued_days_ago=40)
        numbers.append(
            services.application_create(actor=citizen(person), permit_id=permit.pk, plan_id=plan.pk).number
        )
    answer = client.get(f"/api/v1/exam-plans/{plan.pk}/allocation").json()
    assert [r["number"] for r in answer["first_come"]] == numbers and answer["document"] is None


def test_pages_show_the_plan_and_the_proof(client, make_person, citizen, make_centre, make_permit, make_plan):
    plan = make_plan(make_centre(), subject=2, places=1)
    page = client.get("/exam-plans/")
    assert page.status_code == 200 and f'id="plan-{plan.pk}"' in page.content.decode()
    detail = client.get(f"/exam-plans/{plan.pk}/").content.decode()
    assert plan.seed_commitment in detail and 'id="not-yet"' in detail and plan.seed not in detail
    for i in range(3):
        person = make_person(name=f"学员{i}")
        services.application_create(
            actor=citizen(person), permit_id=make_permit(person, issued_days_ago=40).pk, plan_id=plan.pk
        )
    close_window(plan)
    services.plan_allocate(plan_id=plan.pk)
    detail = client.get(f"/exam-plans/{plan.pk}/").content.decode()
    assert plan.seed in detail and 'id="platform-check"' in detail and "verify-allocation" in detail
    assert f"/api/v1/exam-plans/{plan.pk}/allocation" in detail
    assert client.get("/exam-plans/?from=bad").status_code == 422


def test_drafts_are_not_public_pages(client, make_centre, make_plan):
    draft = make_plan(make_centre(), publish=False)
    assert client.get(f"/exam-plans/{draft.pk}/").status_code == 404


def test_a_plan_withdrawn_after_its_draw_keeps_its_proof(
    client, make_person, citizen, make_centre, make_permit, make_plan, exam_officer
):
    plan = make_plan(make_centre(), subject=2, places=1)
    for i in range(2):
        person = make_person(name=f"学员{i}")
        services.application_create(
            actor=citizen(person), permit_id=make_permit(person, issued_days_ago=40).pk, plan_id=plan.pk
        )
    close_window(plan)
    services.plan_allocate(plan_id=plan.pk)
    services.plan_withdraw(actor=exam_officer, plan_id=plan.pk, reason="考场设备检修")
    answer = client.get(f"/api/v1/exam-plans/{plan.pk}/allocation").json()
    assert answer["state"] == "withdrawn" and answer["check"]["ok"] and len(answer["document"]["result"]) == 2


def test_the_pages_in_english(client, settings, make_person, citizen, make_centre, make_permit, make_plan):
    plan = make_plan(make_centre(), subject=2, places=1)
    person = make_person()
    services.application_create(
        actor=citizen(person), permit_id=make_permit(person, issued_days_ago=40).pk, plan_id=plan.pk
    )
    close_window(plan)
    services.plan_allocate(plan_id=plan.pk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    listing = client.get("/exam-plans/").content.decode()
    assert "Exam plans" in listing and "Subject 2" in listing
    detail = client.get(f"/exam-plans/{plan.pk}/").content.decode()
    assert "Allocation rules" in detail and "Check it yourself" in detail and "分配规则" not in detail
