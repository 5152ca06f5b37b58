"""Study to reduce points and full-score education endpoints (学法减分、满分学习, V7). Thin handlers
over ``services`` and ``selectors``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.errors import NotFound

from . import questions, selectors, services
from .models import StudyAttempt

router = Router(tags=["points-study"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}
ME_AUTH = [BearerToken(), SessionUser()]


def caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class ReasonOut(Schema):
    code: str
    zh: str
    en: str


class CourseOut(Schema):
    code: str
    kind: str  # online | on_site
    title_zh: str
    title_en: str
    minutes: int
    points: int
    passed_in_cycle: bool


class SessionOut(Schema):
    id: int
    course: str
    centre: str
    address: str
    starts_at: datetime
    capacity: int
    booked: int
    booked_by_me: bool


class FullScoreOut(Schema):
    reached_on: date
    state: str  # studying | complete | stopped
    days_required: int
    study_days_required: int
    on_site_days_required: int
    study_days: int
    on_site_days: int
    period_ends: date | None
    completed_on: date | None


class StandingOut(Schema):
    points_in_cycle: int
    cycle_start: date
    cycle_end: date
    reduced_in_cycle: int
    remaining_cap: int
    eligible: bool
    exclusions: list[ReasonOut]
    courses: list[CourseOut]
    sessions: list[SessionOut]
    full_score: FullScoreOut | None


class QuestionOut(Schema):
    code: str
    zh: str
    en: str
    choices: list[dict[str, str]]


class AttemptOut(Schema):
    id: int
    number: str
    course: str
    started_at: datetime
    test_open: bool
    minutes_left: int
    questions: list[QuestionOut]
    submitted_at: datetime | None
    score: int | None
    passed: bool
    points_reduced: int
    wrong: list[str]  # codes of the questions answered wrongly, once submitted


class AttemptIn(InputSchema):
    answers: dict[str, str] | None = None


def attempt_out(attempt: StudyAttempt) -> dict[str, Any]:
    studied = selectors.minutes_studied(attempt)
    minutes = attempt.course.minutes
    submitted = attempt.submitted_at is not None
    drawn = [questions.BY_CODE[c] for c in attempt.questions if c in questions.BY_CODE]
    return {
        "id": attempt.pk,
        "number": attempt.number,
        "course": attempt.course.code,
        "started_at": attempt.started_at,
        "test_open": not submitted and studied >= minutes,
        "minutes_left": 0 if submitted or studied >= minutes else int(minutes - studied) + 1,
        "questions": [
            {
                "code": q.code,
                "zh": q.zh,
                "en": q.en,
                "choices": [{"key": k, "zh": zh, "en": en} for k, zh, en in q.choices],
            }
            for q in drawn
        ],
        "submitted_at": attempt.submitted_at,
        "score": attempt.score,
        "passed": attempt.passed,
        "points_reduced": attempt.points_reduced,
        "wrong": [q.code for q in drawn if submitted and attempt.answers.get(q.code) != q.answer],
    }


@router.get("/me/points-study", response={200: StandingOut, **ERRORS}, auth=ME_AUTH)
@access_required(selectors.STUDY)
def my_standing(request: HttpRequest) -> Any:
    """My standing: points in the current cycle and its dates, points reduced so far and what may
    still be reduced (at most 6 a cycle), every reason I may not study now (``exclusions``, each
    in Chinese and English), the courses, the upcoming on-site sessions and my full-score education.
    404 ``points_study.no_licence`` without a licence."""
    licence = selectors.my_licence(actor=caller(request))
    if licence is None:
        raise NotFound("points_study.no_licence", "您名下没有驾驶证。", "You hold no driving licence.")
    today = timezone.localdate()
    standing = selectors.standing(licence, today=today)
    booked = set(selectors.my_bookings(licence).values_list("session_id", flat=True))
    case = selectors.full_score_case(licence)
    full = None
    if case is not None:
        progress = selectors.full_score_progress(case, today=today)
        full = {
            "reached_on": case.reached_on, "state": case.state, "days_required": case.required_days,
            "study_days_required": case.required_study_days, "on_site_days_required": case.required_on_site_days,
            "study_days": progress.study_days, "on_site_days": progress.on_site_days,
            "period_ends": progress.period_ends, "completed_on": case.completed_on,
        }  # fmt: skip
    return {
        "points_in_cycle": standing.points_in_cycle,
        "cycle_start": standing.cycle_start,
        "cycle_end": standing.cycle_end,
        "reduced_in_cycle": standing.reduced_in_cycle,
        "remaining_cap": standing.remaining_cap,
        "eligible": standing.eligible,
        "exclusions": [{"code": r.code, "zh": r.zh, "en": r.en} for r in standing.exclusions],
        "courses": [
            {"code": c.code, "kind": c.kind, "title_zh": c.title_zh, "title_en": c.title_en, "minutes": c.minutes,
             "points": c.points, "passed_in_cycle": c.pk in standing.passed_courses}
            for c in selectors.courses()
        ],
        "sessions": [
            {"id": s.pk, "course": s.course.code, "centre": s.centre.name, "address": s.centre.address,
             "starts_at": s.starts_at, "capacity": s.capacity, "booked": s.booked, "booked_by_me": s.pk in booked}
            for s in selectors.upcoming_sessions()[: selectors.SESSIONS_SHOWN]
        ],
        "full_score": full,
    }  # fmt: skip


@router.post(
    "/me/points-study/{course}/attempts", response={200: AttemptOut, 201: AttemptOut, **ERRORS}, auth=ME_AUTH
)
@access_required(selectors.STUDY)
def attempt(request: HttpRequest, course: str, payload: AttemptIn) -> Any:
    """Study an online course. Without ``answers``: start studying (201; an attempt already open
    is returned as it is); the server counts the 30 minutes from then. With ``answers``
    (question code -> choice key): hand in the test of the open attempt (200): 9 of 10 right pass
    and the course's point is taken off (``points_reduced``); ``wrong`` lists the questions
    answered wrongly. Refused: 409 with the exclusion's code (``study.probation``,
    ``study.serious_offence``... every reason in ``detail.reasons``), ``points_study.too_early``
    (``detail.minutes_left``), ``points_study.not_started``, ``points_study.course_passed``,
    ``points_study.cap_reached``, ``points_study.on_site_course``; 404 ``points_study.no_course``.
    Accepts ``Idempotency-Key``."""
    actor = caller(request)

    def call() -> tuple[int, Any]:
        if payload.answers is None:
            found = services.attempt_start(actor=actor, course_code=course)
            return 201, attempt_out(found)
        done = services.attempt_submit(
            actor=actor, course_code=course, answers=payload.answers, request=request
        )
        return 200, attempt_out(done)

    body = {"course": course, "answers": payload.answers}
    return run_idempotent(request, scope="points-study-attempts", body=body, call=call)
