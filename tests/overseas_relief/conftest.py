"""Fixtures of the overseas relief (O4): a driver whose licence was cancelled while abroad, their
crossings in the fake exit and entry records, a clerk and a head of unit, and a subject 1 pass."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from jiaoguan.integrations.exit_entry import Movement


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 56), (250, 250, 250)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
def certificate_png():
    return PNG


@pytest.fixture
def driver(make_person, make_licence, citizen, exit_entry_service):
    """A driver abroad from 2019-08-01, licence cancelled (R, overdue renewal) on 2021-03-01, back
    on 2021-07-10: the 6 months run to 2022-01-10. ``make(...)`` changes any of it."""

    def make(
        *,
        status="R",
        reason="renewal_overdue",
        cancelled_on=date(2021, 3, 1),
        left_on=date(2019, 8, 1),
        returned_on=date(2021, 7, 10),
        mobile="13900000408",
        valid_from=date(2009, 5, 4),
    ):
        person = make_person(name="陈海外", mobile=mobile)
        licence = make_licence(
            holder=person, first_issued_on=date(2009, 5, 4), valid_from=valid_from, term="10y",
            status=status, cancelled_on=cancelled_on, cancellation_reason=reason, division="411702",
        )  # fmt: skip
        movements = [Movement("exit", left_on, "上海浦东")]
        if returned_on is not None:
            movements.append(Movement("entry", returned_on, "广州白云"))
        exit_entry_service.travel(person.id_number, movements)
        user = citizen(person)
        return user, licence

    return make


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-relief")


@pytest.fixture
def head(make_staff):
    return make_staff(role="unit_head", jurisdiction="411700", username="head-relief")


@pytest.fixture
def pass_subject_1(make_staff):
    """Record that ``person`` passed subject 1 on ``on`` (the exams tables, as a centre reports)."""
    from jiaoguan.core.identifiers import make_uscc
    from jiaoguan.exams.models import ExamApplication, ExamCentre, ExamPlan, ExamResult, LearnerPermit
    from jiaoguan.registry.models import Organisation

    officer = make_staff(role="exam_officer", jurisdiction="411700", username="officer-relief")
    organisation = Organisation.objects.create(
        uscc=make_uscc("12411700MB0004080"), name="驻马店市机动车驾驶人考试中心", kind="exam_centre",
        division="411702",
    )  # fmt: skip
    centre = ExamCentre.objects.create(
        organisation=organisation, division="411702", address="驻马店市驿城区雪松大道18号",
        subjects=",1,2,3,4,", vehicle_classes=",C1,",
    )  # fmt: skip

    def make(person, on: date):
        opened = timezone.make_aware(datetime.combine(on - timedelta(days=14), time(9)))
        plan = ExamPlan.objects.create(
            centre=centre, division="411702", subject=1, vehicle_class="C1", exam_date=on, starts_at=time(8, 30),
            places=10, taken=1, method=ExamPlan.Method.FIRST_COME, window_opens_at=opened,
            window_closes_at=opened + timedelta(days=7), cancel_until=opened + timedelta(days=12),
            state=ExamPlan.State.FINISHED, published_at=opened, allocated_at=opened + timedelta(days=7),
            created_by=officer,
        )  # fmt: skip
        permit = LearnerPermit.objects.create(
            number=f"XJ{on:%Y%m%d}{person.pk:08d}", person=person, vehicle_class="C1", kind="first",
            division="411702", test_division="411702", enrolled_on=on - timedelta(days=30), state="enrolled",
        )  # fmt: skip
        application = ExamApplication.objects.create(
            number=f"KS{plan.pk:06d}{permit.pk:06d}", plan=plan, permit=permit, person=person, subject=1,
            state="passed", ended_on=on,
        )  # fmt: skip
        ExamResult.objects.create(application=application, attempt=1, outcome="passed", score=95, taken_on=on)

    return make


@pytest.fixture
def sms_outbox(db):
    """The texts of every SMS queued for a mobile, oldest first (sent or not)."""
    from jiaoguan.core.models import OutboxMessage

    def texts(mobile: str) -> list[str]:
        rows = OutboxMessage.objects.filter(topic="sms.send").order_by("id")
        return [m.payload.get("text", "") for m in rows if m.payload.get("mobile") == mobile]

    return texts
