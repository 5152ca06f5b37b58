"""Dated vectors of the driving-test rules (X1-X3, X7, B22; RULES.md "Driving test", seed 004 §三):
the booking intervals of every class under the rule of 2021-06-01 and before it, the refusals with
the day they open, the retake and the end of a booking, the items and pass marks, the test
location and the priority classes of a lottery."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jiaoguan.exams import rules
from jiaoguan.exams.rules import (
    AttemptFacts,
    Outcome,
    PermitFacts,
    PermitKind,
    Priority,
    Subject,
    SubjectHistory,
)

NEW = date(2026, 3, 2)  # a booking made under the rule of 2021-06-01 (X7)
OLD = date(2021, 5, 31)  # the day before it

# Subject 2 (site): 10 days, 20 for the large classes and C6.
SUBJECT2_DAYS = {
    "A1": 20, "A2": 20, "A3": 20, "B1": 20, "B2": 20, "C6": 20,
    "C1": 10, "C2": 10, "C3": 10, "C4": 10, "C5": 10, "D": 10, "E": 10, "F": 10,
}  # fmt: skip
# Subject 3 (and its safety paper): first licence and added class, new rule and old rule.
SUBJECT3_DAYS = {
    # class: (first new, added new, first old, added old)
    "A1": (40, 30, 40, 40), "A2": (40, 30, 40, 40), "A3": (40, 30, 40, 40),
    "B1": (40, 30, 40, 40), "B2": (40, 30, 40, 40),
    "C1": (30, 30, 30, 30), "C6": (30, 30, 30, 30), "D": (30, 30, 30, 30), "E": (30, 30, 30, 30),
    "C2": (20, 20, 30, 30), "C5": (20, 20, 30, 30),
    "C3": (20, 20, 20, 20), "C4": (20, 20, 20, 20), "F": (20, 20, 20, 20),
}  # fmt: skip


def test_the_vectors_cover_every_exam_class():
    assert set(SUBJECT2_DAYS) == set(SUBJECT3_DAYS) == set(rules.EXAM_CLASSES)


@pytest.mark.parametrize("vehicle_class", rules.EXAM_CLASSES)
def test_booking_interval_days_of_every_class(vehicle_class):
    """X2 (seed 004 §三): the intervals per subject and class; subject 2 did not change in 2021."""
    for kind in PermitKind:
        for day in (NEW, OLD):
            assert rules.booking_interval_days(Subject.LAW, vehicle_class, kind, applied_on=day) == 0
            assert (
                rules.booking_interval_days(Subject.SITE, vehicle_class, kind, applied_on=day)
                == SUBJECT2_DAYS[vehicle_class]
            )
    first_new, added_new, first_old, added_old = SUBJECT3_DAYS[vehicle_class]
    for subject in (Subject.ROAD, Subject.SAFETY):
        assert (
            rules.booking_interval_days(subject, vehicle_class, PermitKind.FIRST, applied_on=NEW) == first_new
        )
        assert (
            rules.booking_interval_days(subject, vehicle_class, PermitKind.ADDED, applied_on=NEW) == added_new
        )
        assert (
            rules.booking_interval_days(subject, vehicle_class, PermitKind.FIRST, applied_on=OLD) == first_old
        )
        assert (
            rules.booking_interval_days(subject, vehicle_class, PermitKind.ADDED, applied_on=OLD) == added_old
        )


def test_the_new_intervals_start_on_2021_06_01():
    day = rules.NEW_INTERVALS_FROM
    assert day == date(2021, 6, 1)
    assert rules.booking_interval_days(Subject.ROAD, "C2", PermitKind.FIRST, applied_on=day) == 20
    assert (
        rules.booking_interval_days(Subject.ROAD, "C2", PermitKind.FIRST, applied_on=day - timedelta(days=1))
        == 30
    )
    assert rules.booking_interval_days(Subject.ROAD, "B2", PermitKind.ADDED, applied_on=day) == 30
    assert (
        rules.booking_interval_days(Subject.ROAD, "B2", PermitKind.ADDED, applied_on=day - timedelta(days=1))
        == 40
    )


def _permit(
    vehicle_class="C1", kind=PermitKind.FIRST, issued_on=date(2026, 1, 10), open_=True
) -> PermitFacts:
    return PermitFacts(
        vehicle_class=vehicle_class,
        kind=kind,
        issued_on=issued_on,
        valid_until=rules.permit_valid_until(issued_on) if issued_on else None,
        open=open_,
    )


@pytest.mark.parametrize("vehicle_class", rules.EXAM_CLASSES)
@pytest.mark.parametrize("subject", [Subject.SITE, Subject.ROAD, Subject.SAFETY])
@pytest.mark.parametrize("kind", list(PermitKind))
def test_check_application_the_day_before_and_the_day_it_opens(vehicle_class, subject, kind):
    """B22, X2: one day early is refused with the opening day; on that day it is allowed."""
    issued = date(2026, 1, 10)
    permit = _permit(vehicle_class, kind, issued)
    days = rules.booking_interval_days(subject, vehicle_class, kind, applied_on=NEW)
    opens = issued + timedelta(days=days)
    exam = opens + timedelta(days=7)
    early = rules.check_application(
        subject, permit, SubjectHistory(), applied_on=opens - timedelta(days=1), exam_date=exam
    )
    assert not early.ok and early.refusal is not None
    assert early.refusal.code == "exams.too_early" and early.refusal.opens_on == opens == early.opens_on
    assert f"{opens:%Y-%m-%d}起可以预约" in early.refusal.zh
    assert f"applications open on {opens:%Y-%m-%d}" in early.refusal.en
    on_time = rules.check_application(subject, permit, SubjectHistory(), applied_on=opens, exam_date=exam)
    assert on_time.ok and on_time.opens_on == opens


def test_five_bookings_end_the_subject():
    permit = _permit()
    used_4 = rules.check_application(
        Subject.SITE,
        permit,
        SubjectHistory(bookings_used=4),
        applied_on=date(2026, 6, 1),
        exam_date=date(2026, 6, 10),
    )
    assert used_4.ok
    used_5 = rules.check_application(
        Subject.SITE,
        permit,
        SubjectHistory(bookings_used=5),
        applied_on=date(2026, 6, 1),
        exam_date=date(2026, 6, 10),
    )
    assert (
        not used_5.ok and used_5.refusal.code == "exams.bookings_used_up" and used_5.refusal.opens_on is None
    )


def test_rebook_ten_days_after_a_failed_retake():
    """S1 art. 42: after failing the retake (or missing), the next booking waits 10 days."""
    permit = _permit()
    failed_on = date(2026, 5, 20)
    history = SubjectHistory(bookings_used=1, failed_booking_on=failed_on)
    day_9 = rules.check_application(
        Subject.SITE, permit, history, applied_on=failed_on + timedelta(days=9), exam_date=date(2026, 6, 15)
    )
    assert not day_9.ok and day_9.refusal.code == "exams.too_early"
    assert day_9.refusal.opens_on == date(2026, 5, 30)
    assert "补考不合格后须满10日" in day_9.refusal.zh and "2026-05-30起可以预约" in day_9.refusal.zh
    day_10 = rules.check_application(
        Subject.SITE, permit, history, applied_on=date(2026, 5, 30), exam_date=date(2026, 6, 15)
    )
    assert day_10.ok


def test_a_permit_past_three_years_ends_the_attempts():
    issued = date(2026, 1, 10)
    permit = _permit(issued_on=issued)
    assert permit.valid_until == rules.permit_valid_until(issued) == date(2029, 1, 9)
    last_day = rules.check_application(
        Subject.ROAD, permit, SubjectHistory(), applied_on=date(2029, 1, 1), exam_date=date(2029, 1, 9)
    )
    assert last_day.ok
    after = rules.check_application(
        Subject.ROAD, permit, SubjectHistory(), applied_on=date(2029, 1, 1), exam_date=date(2029, 1, 10)
    )
    assert not after.ok and after.refusal.code == "exams.permit_expired" and "2029-01-09" in after.refusal.zh
    applied_late = rules.check_application(
        Subject.ROAD, permit, SubjectHistory(), applied_on=date(2029, 1, 10), exam_date=date(2029, 1, 20)
    )
    assert applied_late.refusal.code == "exams.permit_expired"
    closed = rules.check_application(
        Subject.ROAD,
        _permit(open_=False),
        SubjectHistory(),
        applied_on=date(2026, 6, 1),
        exam_date=date(2026, 6, 9),
    )
    assert closed.refusal.code == "exams.permit_closed"


def test_no_permit_no_subjects_two_to_four():
    enrolled = _permit(issued_on=None)
    for subject in (Subject.SITE, Subject.ROAD, Subject.SAFETY):
        answer = rules.check_application(
            subject, enrolled, SubjectHistory(), applied_on=date(2026, 6, 1), exam_date=date(2026, 6, 9)
        )
        assert not answer.ok and answer.refusal.code == "exams.no_permit"
    law = rules.check_application(
        Subject.LAW, enrolled, SubjectHistory(), applied_on=date(2026, 6, 1), exam_date=date(2026, 6, 9)
    )
    assert law.ok and law.opens_on is None
    already = rules.check_application(
        Subject.LAW, _permit(), SubjectHistory(), applied_on=date(2026, 6, 1), exam_date=date(2026, 6, 9)
    )
    assert already.refusal.code == "exams.subject_passed"
    passed = rules.check_application(
        Subject.SITE,
        _permit(),
        SubjectHistory(passed=True),
        applied_on=date(2026, 6, 1),
        exam_date=date(2026, 6, 9),
    )
    assert passed.refusal.code == "exams.subject_passed"


F1, F2 = AttemptFacts(1, Outcome.FAILED), AttemptFacts(2, Outcome.FAILED)
P1, P2 = AttemptFacts(1, Outcome.PASSED), AttemptFacts(2, Outcome.PASSED)
M1, M2 = AttemptFacts(1, Outcome.MISSED), AttemptFacts(2, Outcome.MISSED)


@pytest.mark.parametrize(
    ("attempts", "next_", "outcome"),
    [
        ([], 1, None),
        ([F1], 2, None),  # one booking includes one retake
        ([F1, F2], None, Outcome.FAILED),
        ([F1, P2], None, Outcome.PASSED),
        ([P1], None, Outcome.PASSED),
        ([M1], None, Outcome.MISSED),  # a miss ends the booking and counts as a fail
        ([F1, M2], None, Outcome.MISSED),
    ],
)
def test_next_attempt_and_booking_outcome(attempts, next_, outcome):
    assert rules.next_attempt(attempts) == next_
    assert rules.booking_outcome(attempts) == outcome


def test_subject2_items_x1():
    c1 = [zh for zh, _en in rules.subject2_items("C1")]
    assert c1 == ["倒车入库", "坡道定点停车和起步", "侧方停车", "曲线行驶", "直角转弯"]
    for automatic in ("C2", "C5"):
        items = [zh for zh, _en in rules.subject2_items(automatic)]
        assert len(items) == 4 and "坡道定点停车和起步" not in items
    for other in set(rules.EXAM_CLASSES) - {"C1", "C2", "C5"}:
        assert rules.subject2_items(other) == ()


@pytest.mark.parametrize("vehicle_class", rules.EXAM_CLASSES)
def test_pass_marks(vehicle_class):
    site = 90 if vehicle_class in rules.LARGE_CLASSES or vehicle_class == "C6" else 80
    assert rules.pass_mark(Subject.SITE, vehicle_class) == site
    for subject in (Subject.LAW, Subject.ROAD, Subject.SAFETY):
        assert rules.pass_mark(subject, vehicle_class) == 90
    assert rules.score_outcome(site, Subject.SITE, vehicle_class) == Outcome.PASSED
    assert rules.score_outcome(site - 1, Subject.SITE, vehicle_class) == Outcome.FAILED


@pytest.mark.parametrize("vehicle_class", rules.EXAM_CLASSES)
def test_check_location_change_x3(vehicle_class):
    answer = rules.check_location_change(vehicle_class, changes_so_far=0, current="411702", new="410100")
    if vehicle_class in ("C1", "C2", "C5"):
        assert answer is None
        assert (
            rules.check_location_change(vehicle_class, changes_so_far=2, current="411702", new="410100")
            is None
        )
        third = rules.check_location_change(vehicle_class, changes_so_far=3, current="411702", new="410100")
        assert third.code == "exams.location_changes_used_up"
        same = rules.check_location_change(vehicle_class, changes_so_far=0, current="411702", new="411721")
        assert same.code == "exams.location_same"  # the same city (first four digits)
    else:
        assert answer.code == "exams.location_not_remote"


EXAM = date(2026, 7, 1)
OPENED = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("valid_until", "eligible_on", "failed_before", "expected"),
    [
        (EXAM + timedelta(days=90), None, False, Priority.EXPIRING),  # ends within 90 days of the exam
        (EXAM + timedelta(days=91), OPENED - timedelta(days=30), False, Priority.LONG_WAITING),
        (EXAM + timedelta(days=91), OPENED - timedelta(days=29), True, Priority.FAILED_BEFORE),
        (EXAM + timedelta(days=91), OPENED - timedelta(days=29), False, Priority.OTHER),
        (None, None, False, Priority.OTHER),
        (
            EXAM + timedelta(days=10),
            OPENED - timedelta(days=60),
            True,
            Priority.EXPIRING,
        ),  # the first that fits
    ],
)
def test_priority_class(valid_until, eligible_on, failed_before, expected):
    assert (
        rules.priority_class(
            valid_until=valid_until, eligible_on=eligible_on, failed_before=failed_before, exam_date=EXAM,
            window_opened_on=OPENED,
        )
        == expected
    )  # fmt: skip
