"""Driving tests in the message centre (issue 16 §6): every allocation and result is told to the
learner, in the message centre and by SMS, once however often the outbox delivers."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.identifiers import make_uscc
from jiaoguan.core.models import OutboxMessage
from jiaoguan.core.outbox import outbox_deliver, outbox_dispatch
from jiaoguan.exams import services
from jiaoguan.exams.models import ExamApplication, ExamPlan, LearnerPermit
from jiaoguan.exams.rules import permit_valid_until
from jiaoguan.integrations.models import FakeSmsMessage
from jiaoguan.notices.delivery import deliveries_send_due
from jiaoguan.notices.models import Message

pytestmark = pytest.mark.django_db


def _deliver_all() -> None:
    outbox_dispatch()
    deliveries_send_due()


@pytest.fixture
def world(make_staff, make_person, citizen):
    """A centre, a lottery plan of one place and two learners who applied; the window closed."""
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-exam-messages")
    officer = make_staff(role="exam_officer", jurisdiction="411700", username="officer-exam-messages")
    centre = services.centre_register(
        actor=clerk,
        data=services.CentreInput(
            uscc=make_uscc("12411700MB0077770"), name="驻马店市机动车驾驶人考试中心", division="411702",
            address="驻马店市驿城区雪松大道18号", subjects=(1, 2, 3, 4), vehicle_classes=("C1",),
        ),
    )  # fmt: skip
    now = timezone.now()
    plan = services.plan_create(
        actor=officer,
        data=services.PlanInput(
            centre_id=centre.pk, subject=2, vehicle_class="C1", exam_date=timezone.localdate() + timedelta(days=5),
            starts_at=time(8, 30), places=1, window_opens_at=now - timedelta(hours=1),
            window_closes_at=now + timedelta(hours=1),
        ),
    )  # fmt: skip
    plan = services.plan_publish(actor=officer, plan_id=plan.pk)
    learners, users = [], {}
    for i, mobile in enumerate(("13900139001", "13900139002")):
        person = make_person(name=f"学员{i}", mobile=mobile)
        issued = timezone.localdate() - timedelta(days=40)
        permit = LearnerPermit.objects.create(
            number=f"XJTEST{i:06d}", person=person, vehicle_class="C1", kind="first", division="411702",
            test_division="411702", enrolled_on=issued - timedelta(days=30), issued_on=issued,
            valid_until=permit_valid_until(issued), state="learning",
        )  # fmt: skip
        user = citizen(person)
        services.application_create(actor=user, permit_id=permit.pk, plan_id=plan.pk)
        learners.append(person)
        users[person.pk] = user
    ExamPlan.objects.filter(pk=plan.pk).update(
        window_opens_at=now - timedelta(hours=3), window_closes_at=now - timedelta(minutes=1)
    )
    return {"plan": plan, "learners": learners, "users": users, "officer": officer}


def test_allocation_tells_each_learner_once_in_app_and_by_sms(world):
    plan = services.plan_allocate(plan_id=world["plan"].pk)
    _deliver_all()
    allocated = ExamApplication.objects.get(plan=plan, state="allocated")
    waiting = ExamApplication.objects.get(plan=plan, state="waiting")
    got = Message.objects.get(person_id=allocated.person_id)
    assert got.category == "exams" and got.title_zh == "考试预约成功" and allocated.number in got.body_zh
    assert "驻马店市机动车驾驶人考试中心" in got.body_zh and got.link == f"/exam-plans/{plan.pk}/"
    told = Message.objects.get(person_id=waiting.person_id)
    assert told.title_zh == "考试预约候补" and "第2位" in told.body_zh
    for person in world["learners"]:
        assert FakeSmsMessage.objects.filter(mobile=person.mobile).count() == 1
    # Delivered again by the outbox: nobody is told twice.
    row = OutboxMessage.objects.filter(topic=services.TOPIC_DECIDED).first()
    OutboxMessage.objects.filter(pk=row.pk).update(sent_at=None)
    outbox_deliver(message_id=row.pk)
    deliveries_send_due()
    assert Message.objects.count() == 2


def test_a_freed_place_and_a_result_are_told(world):
    plan = services.plan_allocate(plan_id=world["plan"].pk)
    _deliver_all()
    allocated = ExamApplication.objects.select_related("person").get(plan=plan, state="allocated")
    waiting = ExamApplication.objects.get(plan=plan, state="waiting")
    services.application_cancel(actor=world["users"][allocated.person_id], application_id=allocated.pk)
    _deliver_all()
    offered = Message.objects.filter(person_id=waiting.person_id).order_by("-pk").first()
    assert offered.title_zh == "考试预约成功" and offered.body_zh.startswith("候补递补成功")
    ExamPlan.objects.filter(pk=plan.pk).update(exam_date=timezone.localdate())
    services.result_record(
        actor=world["officer"], data=services.ResultInput(waiting.number, score=70, examiner="K01")
    )
    _deliver_all()
    result = Message.objects.filter(person_id=waiting.person_id, title_zh="考试成绩").get()
    assert "不合格" in result.body_zh and "70分" in result.body_zh and "补考" in result.body_zh
    assert result.category == "exams"
    services.result_record(
        actor=world["officer"], data=services.ResultInput(waiting.number, score=60, examiner="K01")
    )
    _deliver_all()
    last = Message.objects.filter(person_id=waiting.person_id, title_zh="考试成绩").order_by("-pk").first()
    assert "10日后可再次预约" in last.body_zh and "有效期至" in last.body_zh
    assert FakeSmsMessage.objects.filter(mobile=waiting.person.mobile).count() == 4


def test_a_withdrawn_plan_tells_every_applicant(world):
    services.plan_withdraw(actor=world["officer"], plan_id=world["plan"].pk, reason="考场设备检修")
    _deliver_all()
    for person in world["learners"]:
        message = Message.objects.get(person_id=person.pk)
        assert message.title_zh == "考试计划撤回" and "考场设备检修" in message.body_zh and message.required
