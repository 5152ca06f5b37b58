"""Fixtures of the study to reduce points (V7): a driver with points in the current cycle, a study
centre with on-site sessions, a clerk of its jurisdiction, and a way to let the study time pass."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def driver(make_person, make_licence, citizen, today):
    """``make(points=10, ...)``: a counter-registered driver whose licence (C1, first issued
    2015-03-05, 411702) holds ``points`` in the current cycle; the licence's keyword arguments pass."""
    from jiaoguan.points_study.courses import ensure_courses
    from jiaoguan.registry.models import PointsEntry
    from jiaoguan.registry.rules import scoring_cycle

    # The courses come from a migration; a test that flushed the tables before this one took them.
    ensure_courses()
    counter = {"n": 0}

    def make(*, points=10, name="孙学法", mobile="13900000701", entries=None, **licence_kw):
        counter["n"] += 1
        person = make_person(name=name, mobile=mobile)
        licence_kw.setdefault("first_issued_on", date(2015, 3, 5))
        licence = make_licence(holder=person, **licence_kw)
        cycle = scoring_cycle(first_issued_on=licence.first_issued_on, today=today)
        for n, value in enumerate(entries if entries is not None else ([points] if points else [])):
            PointsEntry.objects.create(
                licence=licence, points=value, occurred_on=cycle[0], source=f"T{counter['n']}-{n}"
            )
        return citizen(person, level="counter"), licence

    return make


@pytest.fixture
def studied():
    """Move an open attempt's recorded start back, as if the driver had studied for ``minutes``."""

    def move(attempt, minutes=31):
        from jiaoguan.points_study.models import StudyAttempt

        StudyAttempt.objects.filter(pk=attempt.pk).update(
            started_at=timezone.now() - timedelta(minutes=minutes)
        )
        attempt.refresh_from_db()
        return attempt

    return move


def right_answers(attempt) -> dict[str, str]:
    from jiaoguan.points_study.questions import answer_key

    return answer_key(list(attempt.questions))


@pytest.fixture
def answers():
    return right_answers


@pytest.fixture
def centre(db):
    from jiaoguan.points_study.models import StudyCentre

    return StudyCentre.objects.create(
        name="驿城区车管所学法减分学习点", address="驻马店市驿城区练江大道1号", division="411702"
    )


@pytest.fixture
def session(centre):
    """``make(capacity=20, days=2)``: an on-site session of the law course ``days`` from now."""
    from jiaoguan.points_study.models import Course, StudySession

    def make(*, capacity=20, days=2, course="onsite-law"):
        return StudySession.objects.create(
            centre=centre, course=Course.objects.get(code=course), capacity=capacity,
            starts_at=timezone.now() + timedelta(days=days),
        )  # fmt: skip

    return make


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-study")
