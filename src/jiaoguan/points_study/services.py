"""State changes of the study to reduce points (学法减分) and the full-score education (满分学习), V7.

Each use case checks access first, then works in one transaction. A reduction is decided under
the row lock of the licence's :class:`StudyStanding` (created once, then locked), so two passes
submitted at the same moment are counted one after the other and never exceed 6 points a cycle;
the negative ledger entry is written by the registry in the same transaction. Lock order: the
licence (registry), then the standing, then a session or a booking or an attempt.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, NotFound, ValidationFailed
from jiaoguan.core.outbox import outbox_enqueue
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.models import DrivingLicence, PointsEntry
from jiaoguan.registry.rules import scoring_cycle, split_classes

from . import questions, rules, selectors
from .models import (
    Course,
    CourseKind,
    FullScoreCase,
    FullScoreDay,
    SessionBooking,
    StudyAttempt,
    StudySession,
    StudyStanding,
)
from .selectors import CENTRE, STUDY

logger = logging.getLogger(__name__)

# A day of online full-score study on this platform is one lesson of an hour, timed by the server.
FULL_SCORE_ONLINE_MINUTES = 60


def _no_licence() -> NotFound:
    return NotFound("points_study.no_licence", "您名下没有驾驶证。", "You hold no driving licence.")


def _own_licence(actor: Any) -> DrivingLicence:
    require(actor, STUDY)
    licence = selectors.my_licence(actor=actor)
    if licence is None:
        raise _no_licence()
    require(actor, STUDY, owner_person_id=licence.holder_id)
    return licence


def _course(code: str) -> Course:
    course = selectors.course_get(code)
    if course is None:
        raise NotFound("points_study.no_course", "没有这门课程。", "No such course.")
    return course


def _excluded(reasons: list[rules.Reason]) -> Conflict:
    first = reasons[0]
    return Conflict(
        first.code,
        "不能学法减分：" + "".join(r.zh for r in reasons),
        "Study to reduce points is not open to this licence: " + " ".join(r.en for r in reasons),
        detail={"reasons": [{"code": r.code, "zh": r.zh, "en": r.en} for r in reasons]},
    )


def _lock_standing(licence: DrivingLicence) -> StudyStanding:
    """The licence's standing row, created once and then locked for the rest of the transaction."""
    try:
        with transaction.atomic():
            StudyStanding.objects.get_or_create(licence=licence)
    except IntegrityError:
        pass  # made by a parallel request a moment ago
    return StudyStanding.objects.select_for_update().get(licence=licence)


def _check_eligible(licence: DrivingLicence, today: date) -> selectors.Standing:
    standing = selectors.standing(licence, today=today)
    if standing.exclusions:
        raise _excluded(standing.exclusions)
    return standing


def _passed_this_cycle(licence: DrivingLicence, course: Course, cycle_start: date) -> Conflict | None:
    if StudyAttempt.objects.filter(
        licence=licence, course=course, passed=True, cycle_start=cycle_start
    ).exists():
        return Conflict(
            "points_study.course_passed",
            "本记分周期已通过这门课程的考试，请选择其他课程。",
            "You passed this course's test in this cycle already; choose another course.",
        )
    return None


def _cap_reached(standing: selectors.Standing) -> Conflict:
    return Conflict(
        "points_study.cap_reached",
        f"本记分周期已减免{standing.reduced_in_cycle}分，已达上限{rules.CYCLE_CAP}分或已无可减记分。",
        f"{standing.reduced_in_cycle} points were reduced this cycle: the cap of {rules.CYCLE_CAP} "
        "is reached or no points are left to reduce.",
    )


# ---------------------------------------------------------------- online courses (V7)


def attempt_start(*, actor: Any, course_code: str, today: date | None = None) -> StudyAttempt:
    """The driver starts an online course; the server records the start. An attempt already open
    is returned as it is (starting twice changes nothing)."""
    licence = _own_licence(actor)
    course = _course(course_code)
    today = today or timezone.localdate()
    if course.kind != CourseKind.ONLINE:
        raise Conflict(
            "points_study.on_site_course",
            "现场学习课程须预约学习点的场次，到场学习和考试。",
            "An on-site course is taken by booking a session at a study centre.",
        )
    standing = _check_eligible(licence, today)
    passed = _passed_this_cycle(licence, course, standing.cycle_start)
    if passed:
        raise passed
    if standing.remaining_cap <= 0:
        raise _cap_reached(standing)
    existing = selectors.open_attempt(licence, course)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            attempt = StudyAttempt.objects.create(
                licence=licence, course=course, started_at=timezone.now(),
                questions=questions.draw(secrets.randbits(32), rules.QUESTIONS_DRAWN),
            )  # fmt: skip
    except IntegrityError:
        found = selectors.open_attempt(licence, course)
        if found is None:
            raise
        return found
    return attempt


def _clean_answers(answers: Any, codes: list[str]) -> dict[str, str]:
    if not isinstance(answers, dict):
        raise ValidationFailed("points_study.answers", "答案格式不正确。", "The answers are not well formed.")
    clean = {}
    for code in codes:
        value = answers.get(code)
        if value is not None:
            clean[code] = str(value)[:4]
    return clean


def attempt_submit(
    *, actor: Any, course_code: str, answers: Any, today: date | None = None, request: Any = None
) -> StudyAttempt:
    """The driver hands in the test of an online course after 30 minutes of study counted by the
    server. 9 of 10 right pass, and the course's point (within the 6 a cycle and the points held)
    is taken off the ledger in the same transaction, under the standing's lock."""
    licence = _own_licence(actor)
    course = _course(course_code)
    today = today or timezone.localdate()
    with transaction.atomic():
        DrivingLicence.objects.select_for_update().filter(pk=licence.pk).first()
        _lock_standing(licence)
        attempt = (
            StudyAttempt.objects.select_for_update()
            .filter(licence=licence, course=course, submitted_at__isnull=True)
            .first()
        )
        if attempt is None:
            raise Conflict(
                "points_study.not_started",
                "请先开始学习这门课程。",
                "Start studying the course first.",
            )
        studied = selectors.minutes_studied(attempt)
        if studied < course.minutes:
            left = int(course.minutes - studied) + 1
            raise Conflict(
                "points_study.too_early",
                f"学习时间未满{course.minutes}分钟，还需约{left}分钟才能参加考试。",
                f"{course.minutes} minutes of study are needed before the test; about {left} more.",
                detail={"minutes_left": left},
            )
        clean = _clean_answers(answers, list(attempt.questions))
        _finish(attempt, licence=licence, course=course, answers=clean, today=today)
        audit_record(
            actor=actor, action="change", subject=attempt, subject_person_id=licence.holder_id,
            summary=f"学法减分考试 {attempt.number} {course.code} {attempt.score}% 减{attempt.points_reduced}分",
            request=request,
        )  # fmt: skip
    return attempt


def _finish(
    attempt: StudyAttempt,
    *,
    licence: DrivingLicence,
    course: Course,
    answers: dict[str, str],
    today: date,
    score: int | None = None,
) -> None:
    """Score the attempt and, when passed, reduce the points. The caller holds the standing's lock."""
    standing = _check_eligible(licence, today)
    passed_before = _passed_this_cycle(licence, course, standing.cycle_start)
    if passed_before:
        raise passed_before
    key = questions.answer_key(list(attempt.questions))
    attempt.answers = answers
    attempt.score = rules.score(answers, key) if score is None else score
    attempt.passed = attempt.score >= rules.PASS_MARK
    attempt.submitted_at = timezone.now()
    attempt.cycle_start = standing.cycle_start
    if attempt.passed:
        attempt.points_reduced = rules.reduction(
            course_points=course.points,
            reduced_in_cycle=standing.reduced_in_cycle,
            points_in_cycle=standing.points_in_cycle,
        )
    attempt.save()
    if attempt.points_reduced:
        registry_services.points_reduce_by_study(
            licence=licence, points=attempt.points_reduced, on=today, source=f"学法减分 {attempt.number}"
        )


# ---------------------------------------------------------------- on-site sessions (V7)


def session_book(
    *, actor: Any, session_id: int, now: datetime | None = None, request: Any = None
) -> SessionBooking:
    """The driver books a place in an on-site session (1 hour and a test: 2 points). The session
    row is locked while its places are counted; the database refuses more bookings than places."""
    licence = _own_licence(actor)
    now = now or timezone.now()
    standing = _check_eligible(licence, timezone.localdate(now))
    try:
        with transaction.atomic():
            session = (
                StudySession.objects.select_for_update()
                .select_related("course", "centre")
                .filter(pk=session_id)
                .first()
            )
            if session is None:
                raise NotFound("points_study.no_session", "没有这个学习场次。", "No such study session.")
            if session.starts_at <= now:
                raise Conflict(
                    "points_study.session_past", "该场次已开始或已结束。", "The session has started or ended."
                )
            passed = _passed_this_cycle(licence, session.course, standing.cycle_start)
            if passed:
                raise passed
            if SessionBooking.objects.filter(session=session, licence=licence).exists():
                raise _booked_already()
            if session.booked >= session.capacity:
                raise Conflict(
                    "points_study.session_full", "该场次名额已满，请选择其他场次。", "The session is full."
                )
            booking = SessionBooking.objects.create(session=session, licence=licence)
            session.booked += 1
            session.save(update_fields=["booked"])
            audit_record(
                actor=actor, action="create", subject=booking, subject_person_id=licence.holder_id,
                summary=f"预约现场学习 {session}", request=request,
            )  # fmt: skip
    except IntegrityError:
        raise _booked_already() from None
    return booking


def _booked_already() -> Conflict:
    return Conflict("points_study.booked", "您已预约该场次。", "You have booked this session already.")


def booking_record(
    *, actor: Any, booking_id: int, result: str, score: int | None = None, today: date | None = None,
    request: Any = None,
) -> SessionBooking:  # fmt: skip
    """The centre records a booking's result: absent, failed, or passed with the test score; a pass
    reduces the course's 2 points (within the cap) in the same transaction."""
    require(actor, CENTRE)
    today = today or timezone.localdate()
    if result not in ("passed", "failed", "absent"):
        raise ValidationFailed(
            "points_study.result", "请选择学习考试结果。", "Choose the result.", field="result"
        )
    if result != "absent" and (score is None or not 0 <= score <= 100):
        raise ValidationFailed(
            "points_study.score",
            "请填写0至100之间的考试成绩。",
            "Enter a test score from 0 to 100.",
            field="score",
        )
    if result == "failed" and score is not None and score >= rules.PASS_MARK:
        raise ValidationFailed(
            "points_study.score_is_pass",
            f"成绩达到{rules.PASS_MARK}分为合格。",
            f"A score of {rules.PASS_MARK} or more is a pass.",
            field="score",
        )
    if result == "passed" and score is not None and score < rules.PASS_MARK:
        raise ValidationFailed(
            "points_study.score_below_pass",
            f"成绩低于{rules.PASS_MARK}分为不合格。",
            f"A score below {rules.PASS_MARK} is a fail.",
            field="score",
        )
    peek = SessionBooking.objects.filter(pk=booking_id).values_list("licence_id", flat=True).first()
    if peek is None:
        raise NotFound("points_study.no_booking", "没有这条预约。", "No such booking.")
    with transaction.atomic():
        licence = DrivingLicence.objects.select_for_update().select_related("holder").get(pk=peek)
        _lock_standing(licence)
        booking = (
            SessionBooking.objects.select_for_update()
            .select_related("session", "session__centre", "session__course")
            .get(pk=booking_id)
        )
        require(actor, CENTRE, division=booking.session.centre.division)
        if booking.state != SessionBooking.State.BOOKED:
            raise Conflict(
                "points_study.recorded", "该预约已登记结果。", "This booking's result is recorded already."
            )
        if result in ("passed", "failed"):
            attempt = StudyAttempt.objects.create(
                licence=licence, course=booking.session.course, booking=booking,
                started_at=booking.session.starts_at, questions=[],
            )  # fmt: skip
            _finish(
                attempt, licence=licence, course=booking.session.course, answers={}, today=today, score=score
            )
        booking.state = result
        booking.recorded_by = actor
        booking.recorded_at = timezone.now()
        booking.save(update_fields=["state", "recorded_by", "recorded_at"])
        audit_record(
            actor=actor, action="change", subject=booking, subject_person_id=licence.holder_id,
            summary=f"登记现场学习结果 {result} {score if score is not None else ''}", request=request,
        )  # fmt: skip
    return booking


# ---------------------------------------------------------------- full-score education


def _sms(licence: DrivingLicence, text: str, key: str) -> None:
    mobile = licence.mobile or licence.holder.mobile
    if mobile:
        outbox_enqueue(topic="sms.send", payload={"mobile": mobile, "text": text}, dedup_key=key)


def full_score_open(*, licence: DrivingLicence, reached_on: date) -> FullScoreCase:
    """Open the full-score education of a licence that reached 12 points on ``reached_on``."""
    days, study_days, on_site = rules.full_score_requirements(split_classes(licence.classes)[0])
    case, created = FullScoreCase.objects.get_or_create(
        licence=licence, reached_on=reached_on,
        defaults={"division": licence.division, "required_days": days, "required_study_days": study_days,
                  "required_on_site_days": on_site},
    )  # fmt: skip
    if created:
        _sms(
            licence,
            f"【交管】您的驾驶证记分已满12分，请参加满分学习{days}天（其中现场学习不少于{on_site}天），"
            "可在“学法减分”中网上学习或到学习点现场学习；满分后30日内不参加学习的，驾驶证停止使用。",
            f"full-score-{case.pk}-opened",
        )
    return case


def _complete_if_done(case: FullScoreCase, today: date) -> None:
    progress = selectors.full_score_progress(case, today=today)
    if progress.complete and case.state == FullScoreCase.State.STUDYING:
        case.state = FullScoreCase.State.COMPLETE
        case.completed_on = today
        case.save(update_fields=["state", "completed_on"])
        _sms(
            case.licence,
            "【交管】您的满分学习已完成，请预约科目一考试；考试合格后记分予以清除。",
            f"full-score-{case.pk}-complete",
        )


def _studying_case(licence: DrivingLicence) -> FullScoreCase:
    case = FullScoreCase.objects.select_for_update().filter(licence=licence).order_by("-reached_on").first()
    if case is None or case.state != FullScoreCase.State.STUDYING:
        raise Conflict(
            "points_study.no_full_score",
            "没有正在进行的满分学习。",
            "There is no full-score education in progress.",
        )
    return case


def full_score_online_start(*, actor: Any, now: datetime | None = None) -> FullScoreDay:
    """The driver starts today's online full-score lesson (one a day, timed by the server)."""
    licence = _own_licence(actor)
    now = now or timezone.now()
    day = timezone.localdate(now)
    with transaction.atomic():
        case = _studying_case(licence)
        found = FullScoreDay.objects.filter(case=case, day=day).first()
        if found is not None:
            return found
        return FullScoreDay.objects.create(case=case, day=day, kind=CourseKind.ONLINE, started_at=now)


def full_score_online_finish(*, actor: Any, now: datetime | None = None) -> FullScoreDay:
    """The driver finishes today's online lesson; it counts once the hour has passed."""
    licence = _own_licence(actor)
    now = now or timezone.now()
    with transaction.atomic():
        case = _studying_case(licence)
        entry = (
            FullScoreDay.objects.select_for_update().filter(case=case, day=timezone.localdate(now)).first()
        )
        if entry is None:
            raise Conflict("points_study.not_started", "请先开始今天的学习。", "Start today's lesson first.")
        if entry.finished_at is None:
            minutes = (now - entry.started_at).total_seconds() / 60
            if minutes < FULL_SCORE_ONLINE_MINUTES:
                left = int(FULL_SCORE_ONLINE_MINUTES - minutes) + 1
                raise Conflict(
                    "points_study.too_early",
                    f"今天的网络学习未满{FULL_SCORE_ONLINE_MINUTES}分钟，还需约{left}分钟。",
                    f"Today's lesson needs {FULL_SCORE_ONLINE_MINUTES} minutes; about {left} more.",
                    detail={"minutes_left": left},
                )
            entry.finished_at = now
            entry.save(update_fields=["finished_at"])
            _complete_if_done(case, timezone.localdate(now))
    return entry


def full_score_on_site_record(
    *, actor: Any, case_id: int, today: date | None = None, request: Any = None
) -> FullScoreDay:
    """A centre records a day of on-site full-score study for a driver of its jurisdiction."""
    require(actor, CENTRE)
    today = today or timezone.localdate()
    with transaction.atomic():
        case = (
            FullScoreCase.objects.select_for_update()
            .select_related("licence", "licence__holder")
            .filter(pk=case_id)
            .first()
        )
        if case is None:
            raise NotFound(
                "points_study.no_full_score", "没有这项满分学习。", "No such full-score education."
            )
        require(actor, CENTRE, division=case.division)
        if case.state != FullScoreCase.State.STUDYING:
            raise Conflict(
                "points_study.no_full_score",
                "该满分学习不在进行中。",
                "This full-score education is not in progress.",
            )
        now = timezone.now()
        entry = FullScoreDay.objects.filter(case=case, day=today).first()
        if entry is None:
            entry = FullScoreDay.objects.create(
                case=case,
                day=today,
                kind=CourseKind.ON_SITE,
                started_at=now,
                finished_at=now,
                recorded_by=actor,
            )
        else:
            # A day begun online and then spent at the centre counts as a day on site.
            entry.kind, entry.finished_at, entry.recorded_by = (
                CourseKind.ON_SITE,
                entry.finished_at or now,
                actor,
            )
            entry.save(update_fields=["kind", "finished_at", "recorded_by"])
        audit_record(
            actor=actor, action="change", subject=case, subject_person_id=case.licence.holder_id,
            summary=f"登记满分现场学习 {today:%Y-%m-%d}", request=request,
        )  # fmt: skip
        _complete_if_done(case, today)
    return entry


def full_score_sweep(*, today: date | None = None) -> dict[str, int]:
    """Once a day: open the education of licences that reached 12 points (status B) and stop (J)
    the licences whose education was missed: no day of study within 30 days (rules.full_score_missed)."""
    today = today or timezone.localdate()
    opened = stopped = 0
    for licence in DrivingLicence.objects.filter(status__contains="B").select_related("holder"):
        cycle = scoring_cycle(
            first_issued_on=licence.first_issued_on, today=max(today, licence.first_issued_on)
        )
        entries = PointsEntry.objects.filter(licence=licence, occurred_on__lte=cycle[1]).filter(
            occurred_on__gte=cycle[0]
        ) | PointsEntry.objects.filter(
            licence=licence, occurred_on__lt=cycle[0], fine_unpaid=True, points__gt=0
        )
        reached = rules.full_score_reached_on(entries.values_list("occurred_on", "points"), cycle)
        if (
            reached is None
            or FullScoreCase.objects.filter(licence=licence, reached_on__gte=cycle[0]).exists()
        ):
            continue
        with transaction.atomic():
            full_score_open(licence=licence, reached_on=reached)
        opened += 1
    for case_id in FullScoreCase.objects.filter(state=FullScoreCase.State.STUDYING).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            licence_id = FullScoreCase.objects.values_list("licence_id", flat=True).get(pk=case_id)
            licence = DrivingLicence.objects.select_for_update().select_related("holder").get(pk=licence_id)
            case = FullScoreCase.objects.select_for_update().get(pk=case_id)
            first = (
                case.days.filter(finished_at__isnull=False)
                .order_by("day")
                .values_list("day", flat=True)
                .first()
            )
            if case.state != FullScoreCase.State.STUDYING or not rules.full_score_missed(
                reached_on=case.reached_on, first_study_day=first, as_of=today
            ):
                continue
            registry_services.licence_status_add(licence=licence, code="J", event="full_score_missed")
            case.state = FullScoreCase.State.STOPPED
            case.stopped_on = today
            case.save(update_fields=["state", "stopped_on"])
            _sms(
                licence,
                "【交管】您的驾驶证记分满分后30日内未参加满分学习，驾驶证已停止使用。",
                f"full-score-{case.pk}-stopped",
            )
            stopped += 1
    if opened or stopped:
        logger.info("full-score sweep: %d opened, %d stopped", opened, stopped)
    return {"opened": opened, "stopped": stopped}
