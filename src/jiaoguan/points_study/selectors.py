"""Reads of the study to reduce points and the full-score education (V7), scoped to the actor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from jiaoguan.core.access import division_prefix_for
from jiaoguan.registry import selectors as registry_selectors
from jiaoguan.registry.models import DrivingLicence, PointsEntry, Vehicle

from . import rules
from .models import (
    Course,
    CourseKind,
    FullScoreCase,
    SessionBooking,
    StudyAttempt,
    StudySession,
)

STUDY = "points_study.own.study"
CENTRE = "points_study.centre.record"

LIST_LIMIT = 100
SESSIONS_SHOWN = 20


def my_licence(*, actor: Any) -> DrivingLicence | None:
    if not getattr(actor, "person_id", None):
        return None
    return DrivingLicence.objects.select_related("holder").filter(holder_id=actor.person_id).first()


def _vehicles_overdue(licence: DrivingLicence, today: date) -> tuple[str, ...]:
    plates = []
    for vehicle in Vehicle.objects.filter(owner_person_id=licence.holder_id).order_by("pk")[:20]:
        if registry_selectors.vehicle_status(vehicle, today=today).inspection_state == "overdue":
            plates.append(vehicle.plate_number or "")
    return tuple(plates)


def full_score_days(licence: DrivingLicence) -> tuple[date, ...]:
    """Days the licence reached 12 points: its full-score education cases."""
    return tuple(FullScoreCase.objects.filter(licence=licence).values_list("reached_on", flat=True))


@dataclass(frozen=True)
class Standing:
    """Where a licence stands for study (what the page and ``GET /me/points-study`` show)."""

    licence: DrivingLicence
    points_in_cycle: int
    cycle_start: date
    cycle_end: date
    reduced_in_cycle: int
    remaining_cap: int
    exclusions: list[rules.Reason]
    passed_courses: set[int] = field(default_factory=set)

    @property
    def eligible(self) -> bool:
        return not self.exclusions


def study_facts(licence: DrivingLicence, *, today: date) -> tuple[rules.StudyFacts, Any]:
    status = registry_selectors.licence_status(licence, today=today)
    codes = "".join(s.code for s in status.statuses)
    offences = tuple(
        PointsEntry.objects.filter(licence=licence, points__gt=0).values_list("occurred_on", "points")
    )
    facts = rules.StudyFacts(
        first_issued_on=licence.first_issued_on,
        points_in_cycle=status.points_in_cycle,
        status=codes,
        on_probation=status.on_probation,
        review_overdue="S" in codes,
        offences=offences,
        full_scores=full_score_days(licence),
        vehicles_overdue=_vehicles_overdue(licence, today),
    )
    return facts, status


def reduced_in_cycle(licence: DrivingLicence, *, cycle_start: date) -> int:
    total = StudyAttempt.objects.filter(licence=licence, cycle_start=cycle_start).aggregate(
        n=Sum("points_reduced")
    )["n"]
    return int(total or 0)


def standing(licence: DrivingLicence, *, today: date) -> Standing:
    facts, status = study_facts(licence, today=today)
    reduced = reduced_in_cycle(licence, cycle_start=status.cycle_start)
    passed = set(
        StudyAttempt.objects.filter(licence=licence, passed=True, cycle_start=status.cycle_start).values_list(
            "course_id", flat=True
        )
    )
    return Standing(
        licence=licence,
        points_in_cycle=status.points_in_cycle,
        cycle_start=status.cycle_start,
        cycle_end=status.cycle_end,
        reduced_in_cycle=reduced,
        remaining_cap=max(0, min(rules.CYCLE_CAP - reduced, status.points_in_cycle)),
        exclusions=rules.eligibility(facts, today),
        passed_courses=passed,
    )


def courses() -> QuerySet[Course]:
    return Course.objects.filter(active=True)


def course_get(code: str) -> Course | None:
    return Course.objects.filter(code=code[:32], active=True).first()


def open_attempt(licence: DrivingLicence, course: Course) -> StudyAttempt | None:
    return StudyAttempt.objects.filter(licence=licence, course=course, submitted_at__isnull=True).first()


def last_submitted(licence: DrivingLicence, course: Course) -> StudyAttempt | None:
    return (
        StudyAttempt.objects.filter(licence=licence, course=course, submitted_at__isnull=False)
        .order_by("-submitted_at", "-id")
        .first()
    )


def minutes_studied(attempt: StudyAttempt, *, now: datetime | None = None) -> float:
    """Minutes since the server recorded the start of study."""
    return ((now or timezone.now()) - attempt.started_at).total_seconds() / 60


def upcoming_sessions(*, now: datetime | None = None) -> QuerySet[StudySession]:
    now = now or timezone.now()
    return (
        StudySession.objects.filter(starts_at__gt=now, course__kind=CourseKind.ON_SITE)
        .select_related("centre", "course")
        .order_by("starts_at", "id")
    )


def my_bookings(licence: DrivingLicence) -> QuerySet[SessionBooking]:
    return (
        SessionBooking.objects.filter(licence=licence)
        .select_related("session", "session__centre", "session__course")
        .order_by("-session__starts_at")
    )


def full_score_case(licence: DrivingLicence) -> FullScoreCase | None:
    return FullScoreCase.objects.filter(licence=licence).prefetch_related("days").first()


def full_score_progress(case: FullScoreCase, *, today: date) -> rules.FullScoreProgress:
    return rules.full_score_progress(
        days=case.required_days,
        study_days=case.required_study_days,
        on_site=case.required_on_site_days,
        recorded=[(d.day, d.kind) for d in case.days.all() if d.finished_at is not None],
        as_of=today,
    )


# ---------------------------------------------------------------- counter (centres)


def sessions_for_staff(*, actor: Any) -> QuerySet[StudySession]:
    prefix = division_prefix_for(actor, CENTRE)
    if prefix is None:
        return StudySession.objects.none()
    return (
        StudySession.objects.filter(centre__division__startswith=prefix)
        .select_related("centre", "course")
        .order_by("-starts_at", "id")
    )


def full_score_cases_for_staff(*, actor: Any) -> QuerySet[FullScoreCase]:
    prefix = division_prefix_for(actor, CENTRE)
    if prefix is None:
        return FullScoreCase.objects.none()
    return (
        FullScoreCase.objects.filter(division__startswith=prefix, state=FullScoreCase.State.STUDYING)
        .select_related("licence", "licence__holder")
        .prefetch_related("days")
    )
