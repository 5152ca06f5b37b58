"""Races of the study to reduce points on PostgreSQL (V7): two passed tests handed in at the same
moment with one point left of the 6 reduce one point in all; two drivers booking the last place of
a session get it once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from jiaoguan.core.errors import Conflict
from jiaoguan.points_study import selectors, services
from jiaoguan.points_study.models import Course, SessionBooking, StudyAttempt
from jiaoguan.registry.models import PointsEntry
from jiaoguan.registry.rules import scoring_cycle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the races are exercised on PostgreSQL (row locks)")


def test_two_passes_at_once_never_exceed_6_a_cycle(driver, studied, answers, today, run_together):
    user, licence = driver(points=10)
    cycle = scoring_cycle(first_issued_on=licence.first_issued_on, today=today)
    for code in ("onsite-law", "onsite-cases"):
        StudyAttempt.objects.create(
            licence=licence, course=Course.objects.get(code=code), started_at=timezone.now(),
            submitted_at=timezone.now(), passed=True, score=100, cycle_start=cycle[0], points_reduced=2,
        )  # fmt: skip
    StudyAttempt.objects.create(
        licence=licence, course=Course.objects.get(code="online-expressway"), started_at=timezone.now(),
        submitted_at=timezone.now(), passed=True, score=100, cycle_start=cycle[0], points_reduced=1,
    )  # fmt: skip
    attempts = {}
    for code in ("online-signals", "online-drink"):
        attempts[code] = studied(services.attempt_start(actor=user, course_code=code))
    results = run_together(
        *[
            (lambda c=code: services.attempt_submit(actor=user, course_code=c, answers=answers(attempts[c])))
            for code in attempts
        ]
    )
    assert all(isinstance(r, StudyAttempt) and r.passed for r in results), results
    assert sorted(r.points_reduced for r in results) == [0, 1]
    assert selectors.standing(licence, today=today).reduced_in_cycle == 6
    assert PointsEntry.objects.filter(licence=licence, points__lt=0).count() == 1


def test_two_drivers_booking_the_last_place_get_it_once(driver, session, run_together):
    first, _l1 = driver(points=10)
    second, _l2 = driver(points=10, mobile="13900000704")
    last = session(capacity=1)
    results = run_together(
        lambda: services.session_book(actor=first, session_id=last.pk),
        lambda: services.session_book(actor=second, session_id=last.pk),
    )
    won = [r for r in results if isinstance(r, SessionBooking)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].code == "points_study.session_full"
    last.refresh_from_db()
    assert last.booked == 1 and SessionBooking.objects.filter(session=last).count() == 1
