"""Reads of driving tests, scoped to what the actor may see (issue 16)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from jiaoguan.core.errors import NotFound
from jiaoguan.registry.models import Organisation

from . import rules, services
from .models import ExamApplication, ExamPlan, ExamResult, LearnerPermit

# ---------------------------------------------------------------- public plans and allocation proof


# ---------------------------------------------------------------- learners and schools


def _next_plan_dates_of(permit: LearnerPermit, now: datetime) -> dict[int, date]:
    """The exam date of the next open plan of each subject the permit could apply for."""
    dates: dict[int, date] = {}
    for subject, exam_date in (
        plans_open_for(permit, now=now).order_by("exam_date", "starts_at").values_list("subject", "exam_date")
    ):
        dates.setdefault(subject, exam_date)
    return dates


def subject_status(
    permit: LearnerPermit, subject: rules.Subject, *, today: date, exam_date: date | None = None
) -> dict[str, Any]:
    """One subject of a permit (B22, X2): passed, bookings used of 5, the day applications open
    and, where the learner cannot apply now, the rule that refuses in both languages. The
    refusal is weighed against the next open plan's exam date, or today when there is none."""
    history = services.subject_history(permit, subject.value)
    passed = history.passed or (subject == rules.Subject.LAW and permit.issued_on is not None)
    facts = services.permit_facts(permit)
    opens_on = rules.earliest_application_on(subject, facts, history, applied_on=today)
    decision = rules.check_application(
        subject, facts, history, applied_on=today, exam_date=exam_date or today
    )
    refusal = None if passed else decision.refusal
    return {
        "subject": subject.value,
        "name_zh": subject.label_zh,
        "name_en": subject.label_en,
        "passed": passed,
        "bookings_used": history.bookings_used,
        "bookings_max": rules.MAX_BOOKINGS_PER_SUBJECT,
        "opens_on": opens_on,
        "can_apply": decision.ok and not passed,
        "refusal": refusal,
    }


def permit_status(permit: LearnerPermit, *, now: datetime | None = None) -> dict[str, Any]:
    """A permit with the state of each subject and the test-location changes left (X3)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    next_dates = _next_plan_dates_of(permit, now) if permit.is_open else {}
    return {
        "permit": permit,
        "subjects": [
            subject_status(permit, s, today=today, exam_date=next_dates.get(s.value))
            for s in rules.ALL_SUBJECTS
        ],
        "remote": permit.vehicle_class in rules.REMOTE_CLASSES,
        "location_changes_left": max(0, rules.MAX_LOCATION_CHANGES - permit.location_changes),
    }


def my_permits(*, actor: Any) -> QuerySet[LearnerPermit]:
    """The actor's own learner permits (学习驾驶证明), open ones first, newest first."""
    return (
        LearnerPermit.objects.select_related("school")
        .filter(person_id=getattr(actor, "person_id", None) or -1)
        .order_by("-created_at", "-pk")
    )


def my_permit(*, actor: Any, permit_id: int) -> LearnerPermit:
    permit = my_permits(actor=actor).filter(pk=permit_id).first()
    if permit is None:
        raise NotFound("exams.permit_not_found", "没有这份学习驾驶证明。", "No such learner permit.")
    return permit


def _learner_applications() -> QuerySet[ExamApplication]:
    return ExamApplication.objects.select_related(
        "plan__centre__organisation", "permit", "school"
    ).prefetch_related(Prefetch("results", queryset=ExamResult.objects.order_by("attempt")))


def _newest_first_page(
    rows: QuerySet[ExamApplication], *, cursor: int, limit: int
) -> tuple[list[ExamApplication], int | None]:
    """Newest first with a keyset cursor (the last id of the page before)."""
    limit = max(1, min(limit, 100))
    if cursor > 0:
        rows = rows.filter(pk__lt=cursor)
    page = list(rows.order_by("-pk")[: limit + 1])
    return page[:limit], (page[limit - 1].pk if len(page) > limit else None)


def my_applications(
    *, actor: Any, cursor: int = 0, limit: int = 20
) -> tuple[list[ExamApplication], int | None]:
    """The actor's exam applications, newest first, with plan, rank and results."""
    rows = _learner_applications().filter(person_id=getattr(actor, "person_id", None) or -1)
    return _newest_first_page(rows, cursor=cursor, limit=limit)


def my_application(*, actor: Any, application_id: int) -> ExamApplication:
    application = (
        _learner_applications()
        .filter(pk=application_id, person_id=getattr(actor, "person_id", None) or -1)
        .first()
    )
    if application is None:
        raise NotFound("exams.application_not_found", "没有这条考试预约。", "No such exam application.")
    return application


def plans_open_for(
    permit: LearnerPermit, *, subject: int | None = None, now: datetime | None = None
) -> QuerySet[ExamPlan]:
    """Plans a permit may apply to now or later: its class, a centre in its test city (the first
    four digits of the division), published, the window open now or opening later."""
    now = now or timezone.now()
    plans = ExamPlan.objects.select_related("centre__organisation").filter(
        vehicle_class=permit.vehicle_class,
        division__startswith=permit.test_division[:4],
        state=ExamPlan.State.OPEN,
        window_closes_at__gt=now,
    )
    if subject is not None:
        plans = plans.filter(subject=subject)
    return plans.order_by("exam_date", "starts_at", "pk")


def plan_facts(plan: ExamPlan, *, now: datetime | None = None) -> dict[str, Any]:
    """What a learner weighs before applying (X1): places, taken (first come), method, window,
    cancel deadline, the items of subject 2 and the pass mark."""
    now = now or timezone.now()
    subject = rules.Subject(plan.subject)
    first_come = plan.method == ExamPlan.Method.FIRST_COME
    return {
        "plan": plan,
        "centre": plan.centre.organisation.name,
        "address": plan.centre.address,
        "first_come": first_come,
        "taken": plan.taken if first_come else None,
        "free": plan.free if first_come else None,
        "window_open": plan.window_opens_at <= now < plan.window_closes_at,
        "items": rules.subject2_items(plan.vehicle_class) if subject == rules.Subject.SITE else (),
        "pass_mark": rules.pass_mark(subject, plan.vehicle_class),
    }


def school_learners(*, school: Organisation) -> QuerySet[LearnerPermit]:
    """A driving school's learners: the permits that name it, open ones first."""
    return (
        LearnerPermit.objects.select_related("person")
        .filter(school=school)
        .order_by("state", "-created_at", "-pk")
    )


def school_applications(
    *, school: Organisation, cursor: int = 0, limit: int = 20
) -> tuple[list[ExamApplication], int | None]:
    """The applications of the school's learners (whoever applied), newest first."""
    rows = _learner_applications().select_related("person").filter(permit__school=school)
    return _newest_first_page(rows, cursor=cursor, limit=limit)


def school_application(*, school: Organisation, application_id: int) -> ExamApplication:
    application = (
        _learner_applications()
        .select_related("person")
        .filter(pk=application_id, permit__school=school)
        .first()
    )
    if application is None:
        raise NotFound("exams.application_not_found", "没有这条考试预约。", "No such exam application.")
    return application


def cancellable(application: ExamApplication, *, now: datetime | None = None) -> bool:
    """Active and before the plan's cancel deadline (B23)."""
    now = now or timezone.now()
    return application.state in ExamApplication.ACTIVE_STATES and now <= application.plan.cancel_until


# ---------------------------------------------------------------- counter
