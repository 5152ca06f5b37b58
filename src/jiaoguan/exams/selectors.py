"""Reads of driving tests, scoped to what the actor may see (issue 16)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from jiaoguan.core.access import division_prefix_for
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import NotFound, ValidationFailed
from jiaoguan.registry.models import Organisation

from . import allocation, rules, services
from .models import ExamApplication, ExamCentre, ExamPlan, ExamResult, LearnerPermit

# ---------------------------------------------------------------- public plans and allocation proof

PLAN_PAGE_LIMIT = 20
PLAN_PAGE_LIMIT_MAX = 100
# States the public sees: a draft is nobody's business until published (X4).
PUBLIC_PLAN_STATES = (
    ExamPlan.State.OPEN,
    ExamPlan.State.ALLOCATED,
    ExamPlan.State.FINISHED,
    ExamPlan.State.WITHDRAWN,
)


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "exams.bad_cursor", "分页游标无效。", "The page cursor is invalid.", field="cursor"
    )


def _plan_cursor(plan: ExamPlan) -> str:
    return f"{plan.exam_date:%Y%m%d}.{plan.starts_at:%H%M}.{plan.pk}"


def _plan_after(text: str) -> Q:
    """The keyset condition "after this plan" in the order (exam date, start, id)."""
    try:
        day_text, start_text, pk_text = text.split(".")
        day = date(int(day_text[:4]), int(day_text[4:6]), int(day_text[6:8]))
        start = time(int(start_text[:2]), int(start_text[2:4]))
        pk = int(pk_text)
    except (ValueError, IndexError):
        raise _bad_cursor() from None
    return (
        Q(exam_date__gt=day)
        | Q(exam_date=day, starts_at__gt=start)
        | Q(exam_date=day, starts_at=start, pk__gt=pk)
    )


def public_plans(
    *, subject: int | None = None, centre: int | None = None, start: date | None = None
) -> QuerySet[ExamPlan]:
    """Published plans (考试计划公开), soonest exam first: by subject, centre, exam date from."""
    plans = ExamPlan.objects.select_related("centre__organisation").filter(state__in=PUBLIC_PLAN_STATES)
    if subject:
        plans = plans.filter(subject=subject)
    if centre:
        plans = plans.filter(centre_id=centre)
    if start is not None:
        plans = plans.filter(exam_date__gte=start)
    return plans.order_by("exam_date", "starts_at", "pk")


def public_plans_page(
    qs: QuerySet[ExamPlan], *, cursor: str = "", limit: int = PLAN_PAGE_LIMIT
) -> tuple[list[ExamPlan], str | None]:
    """One page of plans after ``cursor`` and the next page's cursor (None on the last)."""
    limit = max(1, min(int(limit or PLAN_PAGE_LIMIT), PLAN_PAGE_LIMIT_MAX))
    if cursor:
        qs = qs.filter(_plan_after(cursor))
    rows = list(qs[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, _plan_cursor(rows[-1])


def public_plan(*, plan_id: int) -> ExamPlan:
    plan = (
        ExamPlan.objects.select_related("centre__organisation")
        .filter(pk=plan_id, state__in=PUBLIC_PLAN_STATES)
        .first()
    )
    if plan is None:
        raise NotFound("exams.plan_not_found", "没有这个考试计划。", "No such exam plan.")
    return plan


def public_centres() -> QuerySet[ExamCentre]:
    return ExamCentre.objects.select_related("organisation").filter(active=True).order_by("division", "pk")


def plan_facts(plan: ExamPlan) -> dict[str, Any]:
    """What a published plan says of itself: the rules it is allocated by (X4, X1)."""
    subject = rules.Subject(plan.subject)
    return {
        "id": plan.pk,
        "centre_id": plan.centre_id,
        "centre": plan.centre.organisation.name,
        "centre_address": plan.centre.address,
        "division": plan.division,
        "subject": plan.subject,
        "subject_zh": subject.label_zh,
        "subject_en": subject.label_en,
        "vehicle_class": plan.vehicle_class,
        "exam_date": plan.exam_date,
        "starts_at": plan.starts_at.strftime("%H:%M"),
        "method": plan.method,
        "window_opens_at": plan.window_opens_at,
        "window_closes_at": plan.window_closes_at,
        "cancel_until": plan.cancel_until,
        "places": plan.places,
        "taken": plan.taken,
        "state": plan.state,
        "seed_commitment": plan.seed_commitment,
        "inputs_sha256": plan.inputs_sha256,
        "applications_count": plan.applications_count,
        "allocated_at": plan.allocated_at,
        "pass_mark": rules.pass_mark(subject, plan.vehicle_class),
        "items": [{"zh": zh, "en": en} for zh, en in rules.subject2_items(plan.vehicle_class)]
        if subject == rules.Subject.SITE
        else [],
        "priority_classes": [{"class": p.value, "zh": p.label_zh, "en": p.label_en} for p in rules.Priority]
        if plan.method == ExamPlan.Method.LOTTERY
        else [],
    }


def _plan_header(plan: ExamPlan) -> dict[str, Any]:
    """The plan as written into its allocation document: enough to know which draw it is."""
    return {
        "id": plan.pk,
        "centre": plan.centre.organisation.name,
        "subject": plan.subject,
        "vehicle_class": plan.vehicle_class,
        "exam_date": plan.exam_date.isoformat(),
        "starts_at": plan.starts_at.strftime("%H:%M"),
        "method": plan.method,
        "window_opens_at": plan.window_opens_at.isoformat(),
        "window_closes_at": plan.window_closes_at.isoformat(),
    }


def allocation_proof(*, plan: ExamPlan) -> dict[str, Any]:
    """The allocation of a plan as anyone may check it (公开可验证, X4).

    Lottery, before allocation: only the seed's commitment (the seed stays secret while people
    apply). After: the whole ``allocation.document`` (masked inputs, their SHA-256, the seed and
    the result) and the platform's own run of ``allocation.verify`` on it. First come: the
    numbers that got a place, in the order the places were taken."""
    out: dict[str, Any] = {
        "plan_id": plan.pk,
        "method": plan.method,
        "state": plan.state,
        "places": plan.places,
        "commitment": plan.seed_commitment,
        # A plan withdrawn after its draw keeps its proof: the draw happened and was told.
        "allocated": plan.allocated_at is not None and plan.state != ExamPlan.State.OPEN,
        "document": None,
        "check": None,
        "first_come": None,
    }
    if plan.method == ExamPlan.Method.FIRST_COME:
        taken = (
            ExamApplication.objects.filter(plan=plan, decided_at__isnull=False, rank__isnull=True)
            .exclude(state=ExamApplication.State.APPLIED)
            .order_by("decided_at", "pk")
            .values_list("number", "state")
        )
        out["first_come"] = [
            {"order": i, "number": number, "state": state} for i, (number, state) in enumerate(taken, 1)
        ]
        return out
    if not out["allocated"] or not plan.seed:
        return out
    # The inputs are every application that took part in the draw: those ranked by it.
    ranked = ExamApplication.objects.select_related("person").filter(plan=plan, rank__isnull=False)
    from .services import allocation_entry

    entries = [allocation_entry(a) for a in ranked]
    doc = allocation.document(
        plan=_plan_header(plan), places=plan.places, seed_hex=plan.seed, entries=entries
    )
    check = allocation.verify(
        doc, published_commitment=plan.seed_commitment, published_inputs_sha256=plan.inputs_sha256
    )
    out["document"] = doc
    out["check"] = {"ok": check.ok, "problems": list(check.problems)}
    return out


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


def plan_choice_facts(plan: ExamPlan, *, now: datetime | None = None) -> dict[str, Any]:
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


def centres_visible_to(*, actor: Any, action: str = "exams.centre.manage") -> QuerySet[ExamCentre]:
    """Exam centres inside the staff member's jurisdiction."""
    prefix = division_prefix_for(actor, action)
    if prefix is None:
        return ExamCentre.objects.none()
    return ExamCentre.objects.select_related("organisation").filter(division__startswith=prefix)


def plans_visible_to(*, actor: Any, state: str = "", action: str = "exams.plan.manage") -> QuerySet[ExamPlan]:
    """Plans of centres in the staff member's jurisdiction, drafts included; newest exam first."""
    prefix = division_prefix_for(actor, action)
    if prefix is None:
        return ExamPlan.objects.none()
    plans = ExamPlan.objects.select_related("centre__organisation").filter(division__startswith=prefix)
    if state:
        plans = plans.filter(state=state)
    return plans.order_by("-exam_date", "-starts_at", "-pk")


def staff_plan(*, actor: Any, plan_id: int, action: str = "exams.plan.manage") -> ExamPlan:
    plan = plans_visible_to(actor=actor, action=action).filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("exams.plan_not_found", "没有这个考试计划。", "No such exam plan.")
    return plan


def plan_applications(plan: ExamPlan) -> QuerySet[ExamApplication]:
    """A plan's applications in the order of the draw (rank), then as they came."""
    return (
        ExamApplication.objects.select_related("person", "school")
        .prefetch_related("results")
        .filter(plan=plan)
        .order_by("rank", "pk")
    )


def booking_by_number(*, actor: Any, number: str, action: str = "exams.result.record") -> ExamApplication:
    """A booking of a plan in the staff member's jurisdiction, by its application number."""
    prefix = division_prefix_for(actor, action)
    booking = None
    if prefix is not None:
        booking = (
            ExamApplication.objects.select_related("plan__centre__organisation", "person", "permit")
            .prefetch_related("results")
            .filter(number=(number or "").strip(), plan__division__startswith=prefix)
            .first()
        )
    if booking is None:
        raise NotFound("exams.application_not_found", "没有这条考试预约。", "No such exam application.")
    return booking


def booking_results(booking: ExamApplication) -> list[ExamResult]:
    return sorted(booking.results.all(), key=lambda r: r.attempt)


def learner_file(
    *, actor: Any, id_number: str, request: Any = None, action: str = "exams.learner.view"
) -> tuple[Any, list[LearnerPermit], list[ExamApplication]]:
    """A learner's permits and bookings by identity number, for staff; the read is audited.

    Only permits whose test location lies in the staff member's jurisdiction are shown."""
    from jiaoguan.registry.models import Person

    prefix = division_prefix_for(actor, action)
    person = Person.objects.filter(id_number=(id_number or "").strip().upper()).first()
    if prefix is None or person is None:
        raise NotFound("exams.person_not_found", "没有这个学员。", "No such learner.")
    permits = list(
        LearnerPermit.objects.select_related("school")
        .filter(person=person)
        .filter(Q(test_division__startswith=prefix) | Q(division__startswith=prefix))
        .order_by("-enrolled_on", "-pk")
    )
    if not permits:
        raise NotFound("exams.person_not_found", "没有这个学员。", "No such learner.")
    applications = list(
        ExamApplication.objects.select_related("plan__centre__organisation")
        .prefetch_related("results")
        .filter(permit__in=permits)
        .order_by("-created_at", "-pk")
    )
    audit_record(
        actor=actor, action="view", subject=person, subject_person_id=person.pk,
        summary="查看学员考试档案 learner's exam file viewed", request=request,
    )  # fmt: skip
    return person, permits, applications


def subject_passed_on(*, person_id: int, subject: int, since: date) -> date | None:
    """The first day on or after ``since`` the person passed ``subject`` (any class), or None.

    Other apps ask through this, e.g. the overseas relief restores a cancelled (G) licence only
    after subject 1 is passed (O4, seed 004 §八 二 3)."""
    return (
        ExamResult.objects.filter(
            application__person_id=person_id,
            application__subject=subject,
            outcome=ExamResult.Outcome.PASSED,
            taken_on__gte=since,
        )
        .order_by("taken_on")
        .values_list("taken_on", flat=True)
        .first()
    )
