"""Fixtures of the driving-test tests (issue 16): a centre registered at the counter, an exam
officer, learners enrolled and past subject 1, plans in each state and the centre's API client."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from jiaoguan.exams import services
from jiaoguan.exams.models import ExamPlan, LearnerPermit

_USCC = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Application limits are counted in the cache, which outlives a test's database rollback."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-exams")


@pytest.fixture
def exam_officer(make_staff):
    return make_staff(role="exam_officer", jurisdiction="411700", username="officer-exams")


@pytest.fixture
def make_centre(clerk):
    from jiaoguan.core.identifiers import make_uscc

    def make(
        *,
        division="411702",
        subjects=(1, 2, 3, 4),
        classes=("C1", "C2", "B2"),
        name="驻马店市机动车驾驶人考试中心",
    ):
        n = next(_USCC)
        return services.centre_register(
            actor=clerk,
            data=services.CentreInput(
                uscc=make_uscc(f"12411700MB{n:06d}X"[:17]), name=f"{name}{n}", division=division,
                address="驻马店市驿城区雪松大道18号", subjects=tuple(subjects), vehicle_classes=tuple(classes),
            ),
        )  # fmt: skip

    return make


@pytest.fixture
def make_school(db):
    from jiaoguan.core.identifiers import make_uscc
    from jiaoguan.registry.models import Organisation

    def make(*, name="驻马店市安达驾驶培训有限公司", division="411702"):
        n = next(_USCC)
        return Organisation.objects.create(
            uscc=make_uscc(f"91411702MA{n:06d}Y"[:17]),
            name=f"{name}{n}",
            kind="driving_school",
            division=division,
        )

    return make


@pytest.fixture
def school_user(db):
    """A login of a driving school (organisation user)."""
    from jiaoguan.accounts.models import User

    def make(school):
        return User.objects.create_user(
            username=school.uscc,
            password="x",
            kind="organisation",
            organisation=school,
            registration_level="counter",
        )

    return make


@pytest.fixture
def make_permit(db, today):
    """A learner's file straight in the table: ``issued_days_ago`` None leaves subject 1 pending."""

    counter = itertools.count(1)

    def make(
        person,
        *,
        vehicle_class="C1",
        kind="first",
        issued_days_ago=None,
        school=None,
        test_division="411702",
        consent=False,
    ):
        issued = None if issued_days_ago is None else today - timedelta(days=issued_days_ago)
        from jiaoguan.exams.rules import permit_valid_until

        return LearnerPermit.objects.create(
            number=f"XJ{today:%Y%m%d}{next(counter):08d}", person=person, school=school, vehicle_class=vehicle_class,
            kind=kind, division=test_division, test_division=test_division,
            enrolled_on=(issued or today) - timedelta(days=30), issued_on=issued,
            valid_until=permit_valid_until(issued) if issued else None,
            state="learning" if issued else "enrolled",
            school_consent_at=timezone.now() if consent else None,
        )  # fmt: skip

    return make


@pytest.fixture
def make_plan(exam_officer, now):
    """A plan published and open now (window from an hour ago to ``closes_in``)."""

    def make(
        centre, *, subject=2, vehicle_class="C1", places=10, method="lottery", days_ahead=7,
        closes_in=timedelta(hours=2), publish=True,
    ):  # fmt: skip
        exam_date = timezone.localdate(now) + timedelta(days=days_ahead)
        plan = services.plan_create(
            actor=exam_officer,
            data=services.PlanInput(
                centre_id=centre.pk, subject=subject, vehicle_class=vehicle_class, exam_date=exam_date,
                starts_at=time(8, 30), places=places, window_opens_at=now - timedelta(hours=1),
                window_closes_at=now + closes_in, method=method,
            ),
            now=now,
        )  # fmt: skip
        if publish:
            plan = services.plan_publish(actor=exam_officer, plan_id=plan.pk)
        return plan

    return make


def close_window(plan: ExamPlan) -> ExamPlan:
    """Move a plan's window into the past (tests cannot wait for it to close)."""
    ExamPlan.objects.filter(pk=plan.pk).update(
        window_opens_at=timezone.now() - timedelta(hours=3),
        window_closes_at=timezone.now() - timedelta(minutes=1),
    )
    plan.refresh_from_db()
    return plan


def on_exam_day(plan: ExamPlan) -> date:
    return plan.exam_date


def aware(day: date, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))
