"""Monitoring of driving tests (X6, X7; seed 004 §三): the pure thresholds at their edges, the
queries over rows made through the ORM, the jurisdiction, and the staff page with its audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.audit import AuditEntry
from jiaoguan.core.errors import NotAllowed
from jiaoguan.exams import monitoring
from jiaoguan.exams.models import ExamApplication, ExamResult, LearnerPermit
from jiaoguan.exams.models import TestLocationChange as LocationMove
from jiaoguan.exams.monitoring import ExaminerCount

# ---------------------------------------------------------------- pure thresholds


def test_busiest_window_counts_moments_within_the_days():
    t0 = timezone.now()
    times = [t0, t0 + timedelta(days=1), t0 + timedelta(days=6, hours=23), t0 + timedelta(days=7)]
    count, start = monitoring.busiest_window(times, 7)
    assert count == 3 and start == t0  # the fourth is 7 days after the first: another window
    assert monitoring.busiest_window([], 7) == (0, None)


def test_school_moves_threshold_edge():
    assert monitoring.school_moves_flag(school="安达驾校", moves=monitoring.SCHOOL_MOVES_MIN - 1) is None
    flag = monitoring.school_moves_flag(school="安达驾校", moves=monitoring.SCHOOL_MOVES_MIN)
    assert flag is not None and flag.code == "school_moves" and flag.figures["moves"] == 10
    assert "安达驾校" in flag.zh and "threshold 10" in flag.en


def test_origin_concentration_needs_numbers_and_share():
    assert monitoring.origin_flag(city="411700", origins={"411600": 9}) is None  # too few
    assert monitoring.origin_flag(city="411700", origins={"411600": 5, "410100": 5}) is None  # 50 %
    flag = monitoring.origin_flag(city="411700", origins={"411600": 6, "410100": 4})
    assert flag is not None and flag.figures == {
        "transfers": 10, "from_origin": 6, "share_percent": 60, "origin": "411600", "threshold_percent": 60,
    }  # fmt: skip
    assert "驻马店市" in flag.zh and flag.division == "411700"


def test_client_thresholds():
    assert monitoring.client_plan_flag(client="ab12", plan="#1", applications=29) is None
    assert monitoring.client_plan_flag(client="ab12", plan="#1", applications=30) is not None
    day = timezone.localdate()
    assert monitoring.client_day_flag(client="ab12", day=day, applications=99) is None
    assert monitoring.client_day_flag(client="ab12", day=day, applications=100).figures["applications"] == 100


def test_examiner_far_from_the_mean_of_the_subject():
    counts = [
        ExaminerCount("K001", 2, 40, 32),  # 80 %
        ExaminerCount("K002", 2, 40, 30),  # 75 %
        ExaminerCount("K003", 2, 40, 16),  # 40 %: mean 65, 25 points below
        ExaminerCount("K004", 2, 29, 0),  # too few results to count or to be flagged
        ExaminerCount("K005", 3, 50, 10),  # alone in subject 3: nothing to compare with
    ]
    flags = monitoring.examiner_flags(counts)
    assert [(f.figures["examiner"], f.figures["gap"]) for f in flags] == [("K003", -25.0)]
    assert flags[0].figures["mean"] == 65.0 and flags[0].figures["examiners"] == 3
    # 19.9 points off is not enough
    near = [ExaminerCount("A", 1, 100, 80), ExaminerCount("B", 1, 100, 41)]
    assert monitoring.examiner_flags(near) == []  # mean 60.5, gaps 19.5


def test_used_up_and_expiring_thresholds():
    assert monitoring.used_up_flag(school="安达", learners=4) is None
    assert monitoring.used_up_flag(school="安达", learners=5).code == "bookings_used_up"
    assert monitoring.expiring_flag(school="安达", permits=9) is None
    assert monitoring.expiring_flag(school="安达", permits=10).figures["days"] == 30


def test_period_words():
    assert monitoring.period_of("month") is monitoring.Period.MONTH
    assert monitoring.period_of("year") is monitoring.Period.WEEK
    assert monitoring.Period.MONTH.days == 30


# ---------------------------------------------------------------- queries


@pytest.fixture
def learners(make_person, make_permit, make_school):
    """Twelve learners of one school, with permits learning in Zhumadian."""
    school = make_school()
    permits = [
        make_permit(make_person(name=f"学员{i}"), issued_days_ago=40, school=school, test_division="411702")
        for i in range(12)
    ]
    return school, permits


def _moves(permits, school, *, start, spacing=timedelta(hours=4), origin="411602", to="411702"):
    for i, permit in enumerate(permits):
        LocationMove.objects.create(
            permit=permit, school=school, from_division=origin, to_division=to, changed_at=start + i * spacing
        )


@pytest.mark.django_db
def test_school_moving_many_learners_and_one_origin_are_flagged(learners, exam_officer, make_staff, now):
    school, permits = learners
    _moves(permits[:11], school, start=now - timedelta(days=3))
    report = monitoring.flags_for(actor=exam_officer, period="week", now=now)
    by_code = {f.code: f for f in report.flags}
    moves = by_code["school_moves"]
    assert moves.figures["moves"] == 11 and school.name in moves.zh and moves.division == school.division
    assert len(moves.details) == 11
    # masked ids only: the first 3 and last 4 digits of the ID number
    number = permits[0].person.id_number
    assert moves.details[0][2] == number[:3] + "*" * (len(number) - 7) + number[-4:]
    origin = by_code["origin_concentrated"]
    assert origin.figures["origin"] == "411600" and origin.figures["share_percent"] == 100
    assert report.figures["moves"] == 11
    assert (report.figures["moves_in"], report.figures["moves_out"]) == (11, 0)

    # Another city's staff sees none of it (jurisdiction of the move's divisions).
    zhoukou_far = make_staff(role="exam_officer", jurisdiction="410100", username="officer-zz")
    assert monitoring.flags_for(actor=zhoukou_far, period="week", now=now).flags == []


@pytest.mark.django_db
def test_moves_spread_over_weeks_are_not_flagged(learners, exam_officer, now):
    school, permits = learners
    # 11 moves, one every 3 days: at most 3 in any 7 days.
    _moves(permits[:11], school, start=now - timedelta(days=29), spacing=timedelta(days=2, hours=16))
    report = monitoring.flags_for(actor=exam_officer, period="month", now=now)
    assert "school_moves" not in {f.code for f in report.flags}
    assert report.figures["moves"] == 11


def _bulk_applications(plan, permit, n, *, state, client="", prefix="M"):
    return ExamApplication.objects.bulk_create(
        ExamApplication(
            number=f"{prefix}{plan.pk:04d}{i:06d}",
            plan=plan,
            permit=permit,
            person_id=permit.person_id,
            subject=plan.subject,
            state=state,
            client_key=client,
            ended_on=timezone.localdate() - timedelta(days=1),
        )
        for i in range(n)
    )


@pytest.mark.django_db
def test_many_applications_from_one_client_and_an_examiner_far_from_the_mean(
    learners, make_centre, make_plan, exam_officer, now
):
    _, permits = learners
    plan = make_plan(make_centre(), subject=2, places=50)
    _bulk_applications(plan, permits[0], 30, state="cancelled", client="c" * 32)
    # Results: three examiners with 40 results each in subject 2, one far below the others.
    today = timezone.localdate(now)
    for examiner, passes, permit in (
        ("K001", 32, permits[1]),
        ("K002", 30, permits[2]),
        ("K003", 16, permits[3]),
    ):
        bookings = _bulk_applications(plan, permit, 40, state="failed", prefix=examiner)
        ExamResult.objects.bulk_create(
            ExamResult(application=b, attempt=1, outcome="passed" if i < passes else "failed", score=90 if i < passes else 60,
                       examiner=examiner, taken_on=today - timedelta(days=1))
            for i, b in enumerate(bookings)
        )  # fmt: skip
    report = monitoring.flags_for(actor=exam_officer, period="week")
    codes = [f.code for f in report.flags]
    assert codes.count("client_plan") == 1 and "client_day" not in codes
    client = next(f for f in report.flags if f.code == "client_plan")
    assert client.figures["client"] == "cccccccc" and client.figures["applications"] == 30
    examiner = next(f for f in report.flags if f.code == "examiner_rate")
    assert examiner.figures["examiner"] == "K003" and examiner.figures["rate"] == 40.0
    assert examiner.figures["mean"] == 65.0
    assert report.figures["results"] == 120
    # Outside the jurisdiction the plan's division hides them.
    assert not monitoring.flags_for(actor=_other_officer(), period="week").flags


def _other_officer():
    from jiaoguan.accounts.services import staff_create

    return staff_create(
        username="officer-zk", password="Counter#2026x", role="exam_officer", jurisdiction="411600"
    )


@pytest.mark.django_db
def test_bookings_used_up_and_permits_expiring_by_school(
    learners, make_centre, make_plan, exam_officer, now, today
):
    _, permits = learners
    plan = make_plan(make_centre(), subject=2, places=50)
    for i, permit in enumerate(permits[:5]):
        _bulk_applications(plan, permit, 5, state="failed", prefix=f"U{i}")
    LearnerPermit.objects.filter(pk__in=[p.pk for p in permits[:10]]).update(
        valid_until=today + timedelta(days=20)
    )
    report = monitoring.flags_for(actor=exam_officer, period="week", now=now)
    used = next(f for f in report.flags if f.code == "bookings_used_up")
    assert used.figures["learners"] == 5 and len(used.details) == 5
    expiring = next(f for f in report.flags if f.code == "permits_expiring")
    assert expiring.figures["permits"] == 10


# ---------------------------------------------------------------- access and the page


@pytest.mark.django_db
def test_only_monitoring_roles_may_read_flags(make_staff, make_person, citizen):
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-m")
    with pytest.raises(NotAllowed):
        monitoring.flags_for(actor=clerk)
    with pytest.raises(NotAllowed):
        monitoring.flags_for(actor=citizen(make_person()))
    auditor = make_staff(role="auditor", jurisdiction="411700", username="auditor-m")
    assert monitoring.flags_for(actor=auditor).flags == []


@pytest.mark.django_db
def test_the_page_shows_flags_and_is_audited(client, learners, exam_officer, now, make_staff):
    school, permits = learners
    _moves(permits[:10], school, start=now - timedelta(days=2))
    client.force_login(exam_officer)
    page = client.get("/counter/exams/monitoring/?period=month")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'class="card panel flag flag-school_moves"' in body and school.name in body
    assert permits[0].person.id_number not in body  # masked
    assert 'aria-current="page">按月' in body
    assert AuditEntry.objects.filter(
        actor_id=exam_officer.pk, action="view", summary__contains="monitoring"
    ).exists()
    # In the staff menu of the exam officer.
    assert "/counter/exams/monitoring/" in client.get("/counter/").content.decode()

    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-page")
    client.force_login(clerk)
    assert client.get("/counter/exams/monitoring/").status_code == 403
    client.logout()
    assert "/login" in client.get("/counter/exams/monitoring/")["Location"]


@pytest.mark.django_db
def test_the_page_in_english(client, exam_officer, settings):
    client.force_login(exam_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/counter/exams/monitoring/")
    assert page.status_code == 200 and "Exam monitoring" in page.content.decode()


@pytest.mark.django_db
def test_many_applications_from_one_client_in_a_day(learners, make_centre, make_plan, exam_officer):
    _, permits = learners
    centre = make_centre()
    # 100 applications from one client over four plans: no plan has 30 from it, the day has 100.
    for i, permit in enumerate(permits[:4]):
        plan = make_plan(centre, subject=2, places=5, days_ahead=7 + i)
        _bulk_applications(plan, permit, 25, state="cancelled", client="d" * 32, prefix=f"D{i}")
    report = monitoring.flags_for(actor=exam_officer, period="week")
    day = next(f for f in report.flags if f.code == "client_day")
    assert day.figures["applications"] == 100 and day.figures["day"] == timezone.localdate().isoformat()
    assert "client_plan" not in {f.code for f in report.flags}
