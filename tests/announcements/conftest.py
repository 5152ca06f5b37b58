"""Fixtures of the announcement tests (N3): staff of Zhumadian (411700) in the roles that draft,
approve and publish, and a published-announcement factory made through the services."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from jiaoguan.announcements import services


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="a-clerk")


@pytest.fixture
def head(make_staff):
    return make_staff(role="unit_head", jurisdiction="411700", username="a-head")


@pytest.fixture
def other_head(make_staff):
    return make_staff(role="unit_head", jurisdiction="411700", username="a-head-2")


@pytest.fixture
def suspended_licence(make_person, make_licence):
    """A licence suspended after a full score without study (status J): announcement G18."""

    def make(*, name: str = "张三丰", division: str = "411702"):
        person = make_person(name=name, area=division)
        return make_licence(holder=person, division=division, status="AJ", valid_from=date(2021, 3, 5))

    return make


@pytest.fixture
def published(clerk, head):
    """Draft, submit, approve and publish announcement ``code`` of ``division``; the record."""

    def make(code: str = "G18", division: str = "411700"):
        today = timezone.localdate()
        a = services.announcement_draft_generate(actor=clerk, code=code, today=today, division=division)
        services.announcement_submit(actor=clerk, announcement_id=a.pk)
        services.announcement_approve(actor=head, announcement_id=a.pk)
        return services.announcement_publish(actor=clerk, announcement_id=a.pk)

    return make


@pytest.fixture
def exam_results(db, make_person):
    """Bookings of a driving school's learners ended on a day with passes and fails (P01, P06, P07, P08, P11), rows
    straight in the exam tables: ``make(school, passes=, fails=, on=, examiner=)``."""
    import itertools

    from jiaoguan.core.identifiers import make_uscc
    from jiaoguan.exams.models import ExamApplication, ExamCentre, ExamPlan, ExamResult, LearnerPermit
    from jiaoguan.registry.models import Organisation

    n = itertools.count(1)
    centre: list[ExamCentre] = []

    def make(school, *, passes: int, fails: int, on: date, subject: int = 2, examiner: str = "K001"):
        if not centre:
            organisation = Organisation.objects.create(
                uscc=make_uscc("12411700MB0000017"), name="驻马店市机动车驾驶人考试中心", kind="exam_centre",
                division="411702",
            )  # fmt: skip
            centre.append(ExamCentre.objects.create(
                organisation=organisation, division="411702", address="驿城区雪松大道18号", subjects=",1,2,3,4,",
                vehicle_classes=",C1,",
            ))  # fmt: skip
        moment = timezone.make_aware(datetime.combine(on - timedelta(days=10), time(9, 0)))
        plan = ExamPlan.objects.create(
            centre=centre[0], division="411702", subject=subject, vehicle_class="C1", exam_date=on, starts_at=time(8, 30),
            places=passes + fails, taken=passes + fails, window_opens_at=moment, window_closes_at=moment + timedelta(days=1),
            cancel_until=moment + timedelta(days=5), state="finished",
        )  # fmt: skip
        for i in range(passes + fails):
            k = next(n)
            person = make_person(name=f"学员{k}")
            permit = LearnerPermit.objects.create(
                number=f"XJR{k:010d}", person=person, school=school, vehicle_class="C1", kind="first",
                division=school.division, test_division="411702", enrolled_on=on - timedelta(days=90),
                issued_on=on - timedelta(days=60), valid_until=on + timedelta(days=1000), state="learning",
            )  # fmt: skip
            passed = i < passes
            application = ExamApplication.objects.create(
                number=f"KSR{k:010d}", plan=plan, permit=permit, person=person, subject=subject,
                state="passed" if passed else "failed", ended_on=on,
            )  # fmt: skip
            ExamResult.objects.create(
                application=application, attempt=1, outcome="passed" if passed else "failed",
                score=90 if passed else 60, examiner=examiner, taken_on=on,
            )  # fmt: skip
        return plan

    return make
