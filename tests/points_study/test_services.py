"""Services of the study to reduce points (V7): an online course studied for 30 minutes and a test
passed take 1 point off the ledger; the exclusions refuse with their reason; the 6-point cap
holds across online and on-site study and starts again with the next cycle; on-site sessions are
booked and recorded by the centre; the full-score education is opened, completed and, when
missed for 30 days, stops the licence (J)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.errors import Conflict, NotAllowed
from jiaoguan.points_study import selectors, services
from jiaoguan.points_study.models import (
    Course,
    FullScoreCase,
    FullScoreDay,
    SessionBooking,
    StudyAttempt,
)
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.models import PointsEntry
from jiaoguan.registry.rules import scoring_cycle

pytestmark = pytest.mark.django_db


def _points(licence, today):
    return selectors.standing(licence, today=today).points_in_cycle


def _pass(user, studied, answers, course="online-signals"):
    attempt = services.attempt_start(actor=user, course_code=course)
    studied(attempt)
    return services.attempt_submit(actor=user, course_code=course, answers=answers(attempt))


def test_a_passed_online_test_takes_one_point_off_the_ledger(driver, studied, answers, today):
    user, licence = driver(points=10)
    attempt = _pass(user, studied, answers)
    assert attempt.passed and attempt.score == 100 and attempt.points_reduced == 1
    entry = PointsEntry.objects.get(licence=licence, points__lt=0)
    assert entry.points == -1 and entry.occurred_on == today and attempt.number in entry.source
    standing = selectors.standing(licence, today=today)
    assert standing.points_in_cycle == 9 and standing.reduced_in_cycle == 1 and standing.remaining_cap == 5


def test_the_test_opens_only_after_30_minutes_counted_by_the_server(driver, studied, answers):
    user, _licence = driver(points=10)
    attempt = services.attempt_start(actor=user, course_code="online-signals")
    assert services.attempt_start(actor=user, course_code="online-signals").pk == attempt.pk  # same attempt
    with pytest.raises(Conflict) as refused:
        services.attempt_submit(actor=user, course_code="online-signals", answers=answers(attempt))
    assert refused.value.code == "points_study.too_early" and refused.value.detail["minutes_left"] >= 30
    studied(attempt, minutes=29)
    with pytest.raises(Conflict):
        services.attempt_submit(actor=user, course_code="online-signals", answers=answers(attempt))
    studied(attempt, minutes=30)
    assert services.attempt_submit(actor=user, course_code="online-signals", answers=answers(attempt)).passed


def test_a_failed_test_reduces_nothing_and_may_be_taken_again(driver, studied, answers, today):
    user, licence = driver(points=10)
    attempt = services.attempt_start(actor=user, course_code="online-signals")
    studied(attempt)
    wrong = {code: "x" for code in attempt.questions}
    failed = services.attempt_submit(actor=user, course_code="online-signals", answers=wrong)
    assert not failed.passed and failed.score == 0 and failed.points_reduced == 0
    assert _points(licence, today) == 10
    assert _pass(user, studied, answers).passed


def test_a_course_counts_once_a_cycle(driver, studied, answers):
    user, _licence = driver(points=10)
    _pass(user, studied, answers)
    with pytest.raises(Conflict) as refused:
        services.attempt_start(actor=user, course_code="online-signals")
    assert refused.value.code == "points_study.course_passed"


def test_an_on_site_course_is_not_started_online(driver):
    user, _licence = driver(points=10)
    with pytest.raises(Conflict) as refused:
        services.attempt_start(actor=user, course_code="onsite-law")
    assert refused.value.code == "points_study.on_site_course"


@pytest.mark.parametrize(
    ("licence_kw", "code"),
    [
        ({"probation_started_on": date.today() - timedelta(days=100)}, "study.probation"),
        ({"status": "D"}, "study.held"),
        ({"status": "U"}, "study.held"),
    ],
)
def test_an_excluded_driver_is_refused_with_the_reason(driver, licence_kw, code):
    user, _licence = driver(points=10, **licence_kw)
    with pytest.raises(Conflict) as refused:
        services.attempt_start(actor=user, course_code="online-signals")
    assert refused.value.code == code
    assert "不能学法减分" in refused.value.message_zh and refused.value.message_en
    assert code in [r["code"] for r in refused.value.detail["reasons"]]
    assert not StudyAttempt.objects.exists()


def test_a_serious_offence_in_the_last_three_cycles_excludes(driver, today):
    user, licence = driver(points=3)
    cycle = scoring_cycle(first_issued_on=licence.first_issued_on, today=today)
    two_back = scoring_cycle(first_issued_on=licence.first_issued_on, today=cycle[0] - timedelta(days=370))
    PointsEntry.objects.create(licence=licence, points=12, occurred_on=two_back[0], source="酒驾")
    with pytest.raises(Conflict) as refused:
        services.attempt_start(actor=user, course_code="online-signals")
    assert refused.value.code == "study.serious_offence"
    # One day earlier it falls out of the three cycles.
    PointsEntry.objects.filter(source="酒驾").update(occurred_on=two_back[0] - timedelta(days=1))
    assert services.attempt_start(actor=user, course_code="online-signals")


def test_an_own_vehicle_overdue_for_inspection_excludes(driver, make_vehicle, today):
    user, licence = driver(points=4)
    make_vehicle(owner=licence.holder, registered_on=date(2008, 1, 10), last_inspected_on=date(2020, 1, 5))
    with pytest.raises(Conflict) as refused:
        services.attempt_start(actor=user, course_code="online-signals")
    assert refused.value.code == "study.vehicle_overdue"


def test_a_driver_at_12_points_is_refused_study_to_reduce(driver):
    user, _licence = driver(points=12)
    with pytest.raises(Conflict) as refused:
        services.attempt_start(actor=user, course_code="online-signals")
    assert refused.value.code == "study.full_score"


def test_the_cap_of_6_a_cycle_holds_and_starts_again_with_the_next_cycle(driver, studied, answers, today):
    user, licence = driver(points=10)
    cycle = scoring_cycle(first_issued_on=licence.first_issued_on, today=today)
    previous = scoring_cycle(first_issued_on=licence.first_issued_on, today=cycle[0] - timedelta(days=1))
    signals = Course.objects.get(code="online-signals")
    # 6 reduced on the last day of the previous cycle do not count in this one.
    StudyAttempt.objects.create(
        licence=licence, course=signals, started_at=timezone.now(), submitted_at=timezone.now(), passed=True,
        score=100, cycle_start=previous[0], points_reduced=2,
    )  # fmt: skip
    assert selectors.standing(licence, today=today).remaining_cap == 6
    for code in ("online-drink", "online-pedestrians", "online-expressway"):
        StudyAttempt.objects.create(
            licence=licence, course=Course.objects.get(code=code), started_at=timezone.now(),
            submitted_at=timezone.now(), passed=True, score=100, cycle_start=cycle[0], points_reduced=2,
        )  # fmt: skip
    assert selectors.standing(licence, today=today).remaining_cap == 0
    with pytest.raises(Conflict) as refused:
        services.attempt_start(actor=user, course_code="online-signals")
    assert refused.value.code == "points_study.cap_reached"


def test_an_on_site_pass_reduces_only_what_is_left_of_the_6(driver, session, clerk, today):
    user, licence = driver(points=10)
    cycle = scoring_cycle(first_issued_on=licence.first_issued_on, today=today)
    for code in ("online-drink", "online-pedestrians"):
        StudyAttempt.objects.create(
            licence=licence, course=Course.objects.get(code=code), started_at=timezone.now(),
            submitted_at=timezone.now(), passed=True, score=100, cycle_start=cycle[0], points_reduced=2,
        )  # fmt: skip
    StudyAttempt.objects.create(
        licence=licence, course=Course.objects.get(code="onsite-cases"), started_at=timezone.now(),
        submitted_at=timezone.now(), passed=True, score=100, cycle_start=cycle[0], points_reduced=1,
    )  # fmt: skip
    booking = services.session_book(actor=user, session_id=session().pk)
    services.booking_record(actor=clerk, booking_id=booking.pk, result="passed", score=95, today=today)
    booking.refresh_from_db()
    assert booking.state == "passed" and booking.attempt.points_reduced == 1
    assert PointsEntry.objects.get(licence=licence, points__lt=0).points == -1
    assert selectors.standing(licence, today=today).reduced_in_cycle == 6


def test_on_site_booking_counts_places_and_refuses_twice(driver, session):
    user, _licence = driver(points=10)
    other, _l2 = driver(points=5, mobile="13900000702")
    full = session(capacity=1)
    services.session_book(actor=user, session_id=full.pk)
    with pytest.raises(Conflict) as twice:
        services.session_book(actor=user, session_id=full.pk)
    assert twice.value.code == "points_study.booked"
    with pytest.raises(Conflict) as no_place:
        services.session_book(actor=other, session_id=full.pk)
    assert no_place.value.code == "points_study.session_full"
    full.refresh_from_db()
    assert full.booked == 1


def test_the_centre_records_only_its_jurisdiction_and_consistent_scores(driver, session, make_staff, clerk):
    user, _licence = driver(points=10)
    booking = services.session_book(actor=user, session_id=session().pk)
    outsider = make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zhoukou")
    with pytest.raises(NotAllowed):
        services.booking_record(actor=outsider, booking_id=booking.pk, result="passed", score=95)
    from jiaoguan.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.booking_record(actor=clerk, booking_id=booking.pk, result="passed", score=80)
    with pytest.raises(ValidationFailed):
        services.booking_record(actor=clerk, booking_id=booking.pk, result="failed", score=95)
    services.booking_record(actor=clerk, booking_id=booking.pk, result="absent")
    assert SessionBooking.objects.get(pk=booking.pk).state == "absent"
    with pytest.raises(Conflict):
        services.booking_record(actor=clerk, booking_id=booking.pk, result="absent")


def test_the_registry_writes_a_study_reduction_within_1_to_6(driver, today):
    _user, licence = driver(points=10)
    entry = registry_services.points_reduce_by_study(licence=licence, points=2, on=today, source="学法减分 X")
    assert entry.points == -2
    for bad in (0, 7, -1):
        with pytest.raises(ValueError):
            registry_services.points_reduce_by_study(licence=licence, points=bad, on=today, source="x")


# ---------------------------------------------------------------- full-score education


def _full(driver, today, *, days_ago=10, classes="C1"):
    user, licence = driver(points=0, status="B", classes=classes)
    PointsEntry.objects.create(
        licence=licence, points=12, occurred_on=today - timedelta(days=days_ago), source="F"
    )
    return user, licence


def test_the_sweep_opens_the_education_once_and_tells_the_driver(driver, today):
    from jiaoguan.core.models import OutboxMessage

    _user, licence = _full(driver, today, days_ago=3)
    assert services.full_score_sweep(today=today) == {"opened": 1, "stopped": 0}
    assert services.full_score_sweep(today=today) == {"opened": 0, "stopped": 0}
    case = FullScoreCase.objects.get(licence=licence)
    assert case.reached_on == today - timedelta(days=3) and (
        case.required_days,
        case.required_on_site_days,
    ) == (7, 2)
    assert OutboxMessage.objects.filter(topic="sms.send", dedup_key=f"full-score-{case.pk}-opened").exists()


def test_large_classes_need_30_days_with_5_on_site(driver, today):
    _user, licence = _full(driver, today, classes="A2")
    services.full_score_sweep(today=today)
    case = FullScoreCase.objects.get(licence=licence)
    assert (case.required_days, case.required_study_days, case.required_on_site_days) == (30, 10, 5)


def test_missing_the_education_for_30_days_stops_the_licence(driver, today):
    _user, licence = _full(driver, today, days_ago=31)
    services.full_score_sweep(today=today - timedelta(days=1))  # the 30th day: not yet
    licence.refresh_from_db()
    assert "J" not in licence.status
    services.full_score_sweep(today=today)  # the 31st day
    licence.refresh_from_db()
    case = FullScoreCase.objects.get(licence=licence)
    assert "J" in licence.status and case.state == "stopped" and case.stopped_on == today


def test_a_day_of_study_within_30_days_keeps_the_licence(driver, today):
    _user, licence = _full(driver, today, days_ago=40)
    services.full_score_sweep(today=today - timedelta(days=20))
    case = FullScoreCase.objects.get(licence=licence)
    FullScoreDay.objects.create(
        case=case,
        day=today - timedelta(days=12),
        kind="online",
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    services.full_score_sweep(today=today)
    licence.refresh_from_db()
    assert "J" not in licence.status


def test_full_score_days_online_and_on_site_complete_the_education(driver, clerk, today):
    user, licence = _full(driver, today, days_ago=3)
    services.full_score_sweep(today=today)
    case = FullScoreCase.objects.get(licence=licence)
    now = timezone.now()
    for n in range(6, 2, -1):
        FullScoreDay.objects.create(
            case=case, day=today - timedelta(days=n), kind="online", started_at=now, finished_at=now
        )
    day = services.full_score_online_start(actor=user)
    with pytest.raises(Conflict) as early:
        services.full_score_online_finish(actor=user)
    assert early.value.code == "points_study.too_early"
    FullScoreDay.objects.filter(pk=day.pk).update(started_at=now - timedelta(minutes=61))
    services.full_score_online_finish(actor=user)
    case.refresh_from_db()
    assert case.state == "studying"  # 5 days but none on site
    services.full_score_on_site_record(actor=clerk, case_id=case.pk, today=today)  # today becomes on site
    FullScoreDay.objects.filter(case=case, day=today - timedelta(days=6)).update(kind="on_site")
    services.full_score_on_site_record(actor=clerk, case_id=case.pk, today=today)
    case.refresh_from_db()
    assert case.state == "complete" and case.completed_on == today
    assert selectors.standing(licence, today=today).exclusions  # no study to reduce at 12 points
