"""Driving tests in real Chromium at 360 px (issue 16, B22, X4): a learner applies for a lottery
plan, the window closes and the plan is allocated as the worker does, the learner follows the
link to the public proof (commitment, seed, inputs and the platform's own check), which anyone can
download and recompute; on the exam day the exam officer records a fail and a passed retake on the
counter page, and the learner sees both results."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import time, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from jiaoguan.core.identifiers import make_uscc
from jiaoguan.exams import allocation, services
from jiaoguan.exams.models import ExamApplication, ExamPlan, LearnerPermit
from jiaoguan.exams.rules import permit_valid_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen
STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width} px wide"


def _permit(person, *, issued_days_ago: int, number: str) -> LearnerPermit:
    today = timezone.localdate()
    issued = today - timedelta(days=issued_days_ago)
    return LearnerPermit.objects.create(
        number=number, person=person, vehicle_class="C1", kind="first", division="411702",
        test_division="411702", enrolled_on=issued - timedelta(days=20), issued_on=issued,
        valid_until=permit_valid_until(issued), state="learning",
    )  # fmt: skip


def _login(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_account", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/(counter/)?$"))


def test_a_learner_applies_the_plan_is_allocated_with_its_proof_and_the_result_is_shown(
    page, live_server, make_person, make_staff, citizen
):
    today = timezone.localdate()
    now = timezone.now()
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-e2e-exams")
    officer = make_staff(role="exam_officer", jurisdiction="411700", username="exams-e2e")
    centre = services.centre_register(
        actor=clerk,
        data=services.CentreInput(
            uscc=make_uscc("12411700MB1E2E001"), name="驻马店市机动车驾驶人考试中心", division="411702",
            address="驻马店市驿城区雪松大道18号", subjects=(1, 2, 3, 4), vehicle_classes=("C1", "C2"),
        ),
    )  # fmt: skip
    plan = services.plan_create(
        actor=officer,
        data=services.PlanInput(
            centre_id=centre.pk, subject=2, vehicle_class="C1", exam_date=today + timedelta(days=7),
            starts_at=time(8, 30), places=2, window_opens_at=now - timedelta(hours=1),
            window_closes_at=now + timedelta(hours=6),
        ),
    )  # fmt: skip
    plan = services.plan_publish(actor=officer, plan_id=plan.pk)
    commitment = plan.seed_commitment

    # The learner's permit ends within 90 days of the exam: priority class 1, so a place is hers
    # whatever the lottery draws among the others (class 2: eligible for a month).
    learner = make_person(name="王芳")
    citizen(learner)
    _permit(learner, issued_days_ago=3 * 365 - 40, number="XJ202612050000001")
    others = []
    for i in range(3):
        person = make_person(name=f"学员{i}")
        others.append((citizen(person), _permit(person, issued_days_ago=45, number=f"XJ20261205000001{i}")))

    # ---- the learner applies from the home tile on a phone
    _login(page, learner.id_number, PASSWORD)
    page.get_by_role("link", name=re.compile("考试预约")).first.click()
    page.wait_for_url(re.compile(r"/exams/$"))
    fits(page)
    page.locator("#permits").get_by_role("link", name=re.compile("查看考试计划.*科目二")).click()
    page.wait_for_url(re.compile(r"/exams/permits/\d+/subjects/2/$"))
    fits(page)
    assert "倒车入库" in page.locator(f"#plan-{plan.pk}").inner_text()  # C1: five items (X1)
    page.locator(f"#plan-{plan.pk}").get_by_role("button", name=re.compile("预约这场考试")).click()
    page.wait_for_url(re.compile(r"/exams/$"))
    mine = ExamApplication.objects.get(person=learner)
    assert mine.state == "applied"
    assert "待分配" in page.locator(f"#application-{mine.pk}").inner_text()

    for user, permit in others:
        services.application_create(actor=user, permit_id=permit.pk, plan_id=plan.pk)

    # ---- the window closes; the worker's pass allocates the plan
    ExamPlan.objects.filter(pk=plan.pk).update(
        window_opens_at=now - timedelta(hours=8), window_closes_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.plans_allocate_due() == 1
    mine.refresh_from_db()
    assert (mine.state, mine.rank, mine.priority) == ("allocated", 1, 1)

    page.reload()
    card = page.locator(f"#application-{mine.pk}")
    assert "已约上" in card.inner_text() or "allocated" in card.inner_text()
    card.get_by_role("link", name=re.compile("分配结果和公开验证")).click()
    page.wait_for_url(re.compile(rf"/exam-plans/{plan.pk}/$"))
    fits(page)
    assert page.locator("#commitment").inner_text().strip() == commitment
    seed = page.locator("#seed").inner_text().strip()
    assert (
        len(seed) == 64
        and "平台自行验证：分配结果与公开的输入和随机种子一致" in page.locator("#platform-check").inner_text()
    )

    # Anyone downloads the proof and recomputes it; one changed line is caught.
    with urllib.request.urlopen(
        f"{live_server.url}/api/v1/exam-plans/{plan.pk}/allocation", timeout=10
    ) as response:
        body = json.loads(response.read())
    document = body.get("document", body)
    assert allocation.verify(document, published_commitment=commitment).ok
    assert document["result"][0]["number"] == mine.number
    tampered = dict(document, inputs=document["inputs"].replace(",1\n", ",4\n", 1))
    assert not allocation.verify(tampered, published_commitment=commitment).ok

    # ---- the exam day: the officer records a fail and the retake's pass on the counter page
    ExamPlan.objects.filter(pk=plan.pk).update(exam_date=today)
    page.context.clear_cookies()
    _login(page, officer.username, STAFF_PASSWORD)
    page.goto("/counter/exams/results/")
    for score in ("72", "88"):
        page.fill("#id_application_number", mine.number)
        page.fill("#id_score", score)
        page.fill("#id_examiner", "K0371")
        page.get_by_role("button", name="录入", exact=True).click()
        page.wait_for_load_state()
    attempts = page.locator("#attempts").inner_text()
    assert "72" in attempts and "88" in attempts
    mine.refresh_from_db()
    assert mine.state == "passed"

    # ---- the learner sees both results
    page.context.clear_cookies()
    _login(page, learner.id_number, PASSWORD)
    page.goto("/exams/")
    text = page.locator(f"#application-{mine.pk}").inner_text()
    assert "72" in text and "88" in text and "补考成绩" in text
    assert "合格" in text
    fits(page)
