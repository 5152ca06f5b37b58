"""Pages of the study to reduce points (学法减分) and the full-score education (满分学习), V7: the
driver's standing and courses, a course's study and test, and the study centre's counter page.
The same service and selector calls as the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.core.access import access_required
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name
from jiaoguan.registry.rules import FULL_SCORE_STOP_AFTER_DAYS

from . import questions, rules, selectors, services
from .models import Course, FullScoreCase, SessionBooking


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def words(zh: str, en: str) -> str:
    return en if _english() else zh


def label_words(label: Any) -> str:
    zh, _sep, en = str(label).partition(" ")
    return (en or zh) if _english() else zh


def _course_row(course: Course, standing: selectors.Standing | None) -> dict[str, Any]:
    return {
        "course": course,
        "title": words(course.title_zh, course.title_en),
        "kind": label_words(course.get_kind_display()),
        "passed": bool(standing and course.pk in standing.passed_courses),
    }


def full_score_context(licence: Any, today: Any) -> dict[str, Any] | None:
    case = selectors.full_score_case(licence)
    if case is None:
        return None
    progress = selectors.full_score_progress(case, today=today)
    today_entry = next((d for d in case.days.all() if d.day == today), None)
    return {
        "case": case,
        "state": label_words(case.get_state_display()),
        "progress": progress,
        "days": [{"day": d.day, "kind": label_words(d.get_kind_display()), "done": d.finished_at is not None}
                 for d in case.days.all()],
        "today": today_entry,
        "studying": case.state == FullScoreCase.State.STUDYING,
        "stop_after": case.reached_on + timedelta(days=FULL_SCORE_STOP_AFTER_DAYS),
    }  # fmt: skip


@never_cache
@access_required(selectors.STUDY)
def home(request: HttpRequest) -> HttpResponse:
    """My points, what keeps me from studying, the courses, the on-site sessions and my bookings,
    and the full-score education when the licence reached 12 points."""
    licence = selectors.my_licence(actor=request.user)
    today = timezone.localdate()
    context: dict[str, Any] = {"licence": licence, "cap": rules.CYCLE_CAP}
    if licence is not None:
        standing = selectors.standing(licence, today=today)
        bookings = list(selectors.my_bookings(licence)[:20])
        booked_ids = {b.session_id for b in bookings}
        context.update(
            standing=standing,
            exclusions=[words(r.zh, r.en) for r in standing.exclusions],
            online=[_course_row(c, standing) for c in selectors.courses() if c.kind == "online"],
            sessions=[
                {"session": s, "title": words(s.course.title_zh, s.course.title_en), "mine": s.pk in booked_ids,
                 "left": s.capacity - s.booked}
                for s in selectors.upcoming_sessions()[: selectors.SESSIONS_SHOWN]
            ],
            bookings=[{"booking": b, "state": label_words(b.get_state_display()),
                       "title": words(b.session.course.title_zh, b.session.course.title_en)} for b in bookings],
            full_score=full_score_context(licence, today),
        )  # fmt: skip
    return render(request, "points_study/home.html", context)


def _open_course(code: str) -> Course:
    course = selectors.course_get(code)
    if course is None or course.kind != "online":
        raise Http404("course")
    return course


@never_cache
@access_required(selectors.STUDY)
def course(request: HttpRequest, code: str) -> HttpResponse:
    """One online course: start studying, the study text while the 30 minutes run, then the test;
    after a test, its result with the questions answered wrongly."""
    course = _open_course(code)
    licence = selectors.my_licence(actor=request.user)
    if licence is None:
        return redirect("points_study:home")
    attempt = selectors.open_attempt(licence, course)
    context: dict[str, Any] = {
        "course": course,
        "title": words(course.title_zh, course.title_en),
        "summary": words(course.summary_zh, course.summary_en),
        "attempt": attempt,
        "pass_mark": rules.PASS_MARK,
    }
    if attempt is not None:
        studied = selectors.minutes_studied(attempt)
        context["minutes_left"] = max(
            0, int(course.minutes - studied) + (0 if studied >= course.minutes else 1)
        )
        context["test_open"] = studied >= course.minutes
        context["questions"] = [
            {"q": q, "text": words(q.zh, q.en), "choices": [(k, words(zh, en)) for k, zh, en in q.choices]}
            for q in (questions.BY_CODE[c] for c in attempt.questions if c in questions.BY_CODE)
        ]
    last = selectors.last_submitted(licence, course)
    if last is not None and attempt is None:
        wrong = []
        for code_ in last.questions:
            q = questions.BY_CODE.get(code_)
            if q is not None and last.answers.get(code_) != q.answer:
                right = next((words(zh, en) for k, zh, en in q.choices if k == q.answer), "")
                wrong.append({"text": words(q.zh, q.en), "right": right})
        context["last"] = last
        context["wrong"] = wrong
    return render(request, "points_study/course.html", context)


def _error(request: HttpRequest, error: DomainError) -> None:
    if error.status in (401, 403):
        raise error
    messages.error(request, error.message)


@require_POST
@access_required(selectors.STUDY)
def course_start(request: HttpRequest, code: str) -> HttpResponse:
    _open_course(code)
    try:
        services.attempt_start(actor=request.user, course_code=code)
    except DomainError as error:
        _error(request, error)
        return redirect("points_study:home")
    return redirect("points_study:course", code=code)


@require_POST
@access_required(selectors.STUDY)
def course_submit(request: HttpRequest, code: str) -> HttpResponse:
    _open_course(code)
    answers = {key: value for key, value in request.POST.items() if key.startswith("q") and len(key) <= 4}
    try:
        attempt = services.attempt_submit(
            actor=request.user, course_code=code, answers=answers, request=request
        )
    except DomainError as error:
        _error(request, error)
        return redirect("points_study:course", code=code)
    if attempt.passed and attempt.points_reduced:
        messages.success(
            request,
            _("考试合格，已减免记分%(points)d分。") % {"points": attempt.points_reduced},
        )
    elif attempt.passed:
        messages.success(request, _("考试合格。本记分周期的减分已达上限，本次未再减分。"))
    else:
        messages.error(request, _("考试不合格，可重新学习后再考。"))
    return redirect("points_study:course", code=code)


@require_POST
@access_required(selectors.STUDY)
def book(request: HttpRequest, session_id: int) -> HttpResponse:
    try:
        services.session_book(actor=request.user, session_id=session_id, request=request)
        messages.success(request, _("已预约现场学习，请按时携带身份证明到学习点学习和考试。"))
    except DomainError as error:
        if error.status == 404:
            raise Http404("session") from None
        _error(request, error)
    return redirect("points_study:home")


@require_POST
@access_required(selectors.STUDY)
def full_score_day(request: HttpRequest) -> HttpResponse:
    step = request.POST.get("step", "")
    try:
        if step == "start":
            services.full_score_online_start(actor=request.user)
            messages.success(request, _("今天的网络学习已开始，学满60分钟后点击“完成今天的学习”。"))
        elif step == "finish":
            services.full_score_online_finish(actor=request.user)
            messages.success(request, _("今天的网络学习已记录。"))
        else:
            raise Http404("step")
    except DomainError as error:
        _error(request, error)
    return redirect("points_study:home")


# ---------------------------------------------------------------- study centre counter


@never_cache
@access_required(selectors.CENTRE)
def counter(request: HttpRequest) -> HttpResponse:
    """Sessions of my jurisdiction with their bookings (names masked), and the drivers in
    full-score education, whose days on site the centre records."""
    sessions = []
    for session in selectors.sessions_for_staff(actor=request.user)[:30]:
        rows = [
            {"booking": b, "name": mask_name(b.licence.holder.name), "id_number": mask_id_number(b.licence.holder.id_number),
             "state": label_words(b.get_state_display()), "open": b.state == SessionBooking.State.BOOKED}
            for b in session.bookings.select_related("licence", "licence__holder")
        ]  # fmt: skip
        sessions.append(
            {
                "session": session,
                "title": words(session.course.title_zh, session.course.title_en),
                "rows": rows,
            }
        )
    cases = [
        {"case": c, "name": mask_name(c.licence.holder.name), "id_number": mask_id_number(c.licence.holder.id_number),
         "progress": selectors.full_score_progress(c, today=timezone.localdate())}
        for c in selectors.full_score_cases_for_staff(actor=request.user)[: selectors.LIST_LIMIT]
    ]  # fmt: skip
    return render(
        request,
        "points_study/counter.html",
        {"sessions": sessions, "cases": cases, "pass_mark": rules.PASS_MARK},
    )


def _score(text: str) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) <= 3 else None


@require_POST
@access_required(selectors.CENTRE)
def counter_record(request: HttpRequest, booking_id: int) -> HttpResponse:
    try:
        services.booking_record(
            actor=request.user, booking_id=booking_id, result=request.POST.get("result", "")[:8],
            score=_score(request.POST.get("score", "")), request=request,
        )  # fmt: skip
        messages.success(request, _("已登记现场学习结果。"))
    except DomainError as error:
        if error.status == 404:
            raise Http404("booking") from None
        _error(request, error)
    return redirect("points_study:counter")


@require_POST
@access_required(selectors.CENTRE)
def counter_full_score_day(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        services.full_score_on_site_record(actor=request.user, case_id=case_id, request=request)
        messages.success(request, _("已登记今天的满分现场学习。"))
    except DomainError as error:
        if error.status == 404:
            raise Http404("case") from None
        _error(request, error)
    return redirect("points_study:counter")
