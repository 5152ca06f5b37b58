"""State changes of driving tests (B22, B23, X1-X7; issue 16): learners' files and permits, exam
plans and their allocation, applications (by the learner or their school), cancellations,
results and the licence they lead to.

Lock order (every service here, so two never wait on each other in a cycle): the permit row,
then the application row, then the plan row (a first-come place is taken by one conditional
UPDATE, ``taken = taken + 1 WHERE taken < places``: the database decides who gets the last
place, on PostgreSQL and SQLite alike), then the registry (licence). An application of a lottery
plan touches no shared row at all: it is one INSERT, guarded by the partial unique constraint
"one active application per subject"; the plan is counted and allocated when its window closes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.utils import timezone

from jiaoguan.accounts import throttles
from jiaoguan.accounts.rules import Limit, check_business_allowed
from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import validate_division
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, Throttled, ValidationFailed
from jiaoguan.core.identifiers import mask_id_number
from jiaoguan.core.outbox import outbox_enqueue, outbox_enqueue_many
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.models import Organisation, Person

from . import allocation, rules
from .models import ExamApplication, ExamCentre, ExamPlan, ExamResult, LearnerPermit, TestLocationChange

logger = logging.getLogger(__name__)

APPLY = "exams.own.apply"
VIEW_OWN = "exams.own.view"
SCHOOL_APPLY = "exams.school.apply"
SCHOOL_VIEW = "exams.school.view"
CENTRE_MANAGE = "exams.centre.manage"
PLAN_MANAGE = "exams.plan.manage"
ENROL = "exams.learner.enrol"
LEARNER_VIEW = "exams.learner.view"
RESULT_RECORD = "exams.result.record"
MONITORING = "exams.monitoring.view"
BUSINESS = "B22"

# Outbox topics (the notices app subscribes; payloads carry ids and the facts of the message).
TOPIC_DECIDED = "exams.application_decided"  # allocated, waiting, not allocated, offered a freed place
TOPIC_RESULT = "exams.result_recorded"
TOPIC_LICENSED = "exams.licence_granted"

A = ExamApplication.State
P = ExamPlan.State

# Per account and per client (network address or API client) limits on applying (issue 16 §4):
# a person applies a few times a day; a school's office or a carrier's shared address more, but
# not at the rate of a script.
ACCOUNT_LIMITS = (Limit(10, timedelta(minutes=1)), Limit(60, timedelta(hours=1)))
CLIENT_LIMITS = (Limit(120, timedelta(minutes=1)), Limit(2000, timedelta(hours=1)))
SCHOOL_LIMITS = (Limit(600, timedelta(minutes=1)),)


# ---------------------------------------------------------------- refusals and helpers


def refused(refusal: rules.Refusal, **detail: Any) -> Conflict:
    if refusal.opens_on is not None:
        detail.setdefault("opens_on", refusal.opens_on.isoformat())
    return Conflict(refusal.code, refusal.zh, refusal.en, detail=detail)


def _not_found(what: str = "application") -> NotFound:
    words = {
        "application": ("没有这条考试预约。", "No such exam application."),
        "permit": ("没有这份学习驾驶证明。", "No such learner permit."),
        "plan": ("没有这个考试计划。", "No such exam plan."),
        "centre": ("没有这个考场。", "No such exam centre."),
    }[what]
    return NotFound(f"exams.{what}_not_found", *words)


def _throttled(limit: Limit, wait: int) -> Throttled:
    minutes = max(1, (wait + 59) // 60)
    return Throttled(
        "exams.too_many_applications",
        f"考试预约操作过于频繁，请{minutes}分钟后再试。",
        f"Too many exam applications; try again in {minutes} minutes.",
        retry_after=wait,
    )


def client_key_of(address: str) -> str:
    """What is stored of a caller's address or API client id for monitoring (X6): an HMAC."""
    if not address:
        return ""
    return hmac.new(settings.SECRET_KEY.encode(), f"exams\x00{address}".encode(), hashlib.sha256).hexdigest()[
        :32
    ]


def _new_number(prefix: str, on: date) -> str:
    return f"{prefix}{on:%Y%m%d}{secrets.randbelow(10**8):08d}"


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def school_of(*, actor: Any) -> Organisation:
    """The actor's organisation, which must be a driving school (驾驶培训机构)."""
    organisation_id = getattr(actor, "organisation_id", None)
    organisation = Organisation.objects.filter(pk=organisation_id).first() if organisation_id else None
    if organisation is None or organisation.kind != Organisation.Kind.DRIVING_SCHOOL:
        raise NotAllowed(
            "exams.school_only",
            "仅驾驶培训机构单位用户可以为学员预约考试。",
            "Only driving-school organisation users may apply for exams for learners.",
        )
    return organisation


def _is_school_user(actor: Any) -> bool:
    return getattr(actor, "kind", "") == "organisation"


# ---------------------------------------------------------------- history and eligibility


def permit_facts(permit: LearnerPermit) -> rules.PermitFacts:
    return rules.PermitFacts(
        vehicle_class=permit.vehicle_class,
        kind=rules.PermitKind(permit.kind),
        issued_on=permit.issued_on,
        valid_until=permit.valid_until,
        open=permit.is_open,
    )


def subject_history(permit: LearnerPermit, subject: int) -> rules.SubjectHistory:
    """The learner's past in ``subject`` under ``permit``, from their applications."""
    rows = ExamApplication.objects.filter(permit=permit, subject=subject).aggregate(
        used=Count("pk", filter=Q(state__in=ExamApplication.USED_STATES)),
        passed=Count("pk", filter=Q(state=A.PASSED)),
        failed_on=Max("ended_on", filter=Q(state__in=[A.FAILED, A.MISSED])),
    )
    return rules.SubjectHistory(
        bookings_used=rows["used"] or 0, passed=bool(rows["passed"]), failed_booking_on=rows["failed_on"]
    )


def eligibility(
    permit: LearnerPermit, subject: int, *, applied_on: date, exam_date: date
) -> rules.Eligibility:
    return rules.check_application(
        rules.Subject(subject),
        permit_facts(permit),
        subject_history(permit, subject),
        applied_on=applied_on,
        exam_date=exam_date,
    )


# ---------------------------------------------------------------- learners (enrolment, consent, location)


@dataclass(frozen=True)
class EnrolInput:
    """A learner's file as the counter (or the school, through the counter) enrols it."""

    id_number: str
    vehicle_class: str
    kind: str = rules.PermitKind.FIRST.value
    school_uscc: str = ""
    test_division: str = ""


def permit_enrol(
    *, actor: Any, data: EnrolInput, today: date | None = None, request: Any = None
) -> LearnerPermit:
    """Enrol a learner for a class (受理驾驶证申请): subject 1 may then be booked; the permit itself
    is issued when subject 1 is passed. One open file per person and class."""
    require(actor, ENROL)
    today = today or timezone.localdate()
    if data.vehicle_class not in rules.EXAM_CLASSES:
        raise ValidationFailed(
            "exams.vehicle_class", f"不能申请准驾车型“{data.vehicle_class}”。",
            f"Class {data.vehicle_class!r} cannot be applied for here.", field="vehicle_class",
        )  # fmt: skip
    if data.kind not in rules.PermitKind.__members__.values():
        raise ValidationFailed(
            "exams.kind", "申请类型应为初次申领或增加准驾车型。", "Kind is first or added.", field="kind"
        )
    person = Person.objects.filter(id_number=data.id_number.strip().upper()).first()
    if person is None:
        raise NotFound(
            "exams.person_not_found",
            "登记信息中没有这个人员，请先登记人员信息。",
            "No such person in the registry; register the person first.",
        )
    school = None
    if data.school_uscc:
        school = Organisation.objects.filter(
            uscc=data.school_uscc.strip(), kind=Organisation.Kind.DRIVING_SCHOOL
        ).first()
        if school is None:
            raise ValidationFailed(
                "exams.school_unknown",
                "没有这所驾驶培训机构。",
                "No such driving school.",
                field="school_uscc",
            )
    division = getattr(actor, "jurisdiction", "") or (school.division if school else "")
    test_division = validate_division((data.test_division or division).strip())
    with transaction.atomic():
        require(actor, ENROL, division=[test_division])
        for _draw in range(3):
            number = _new_number("XJ", today)
            try:
                with transaction.atomic():
                    permit = LearnerPermit.objects.create(
                        number=number, person=person, school=school, vehicle_class=data.vehicle_class,
                        kind=data.kind, division=test_division, test_division=test_division, enrolled_on=today,
                    )  # fmt: skip
                break
            except IntegrityError:
                # A number drawn twice is drawn again, as for applications; anything else is the
                # "one open file per class" constraint.
                if not LearnerPermit.objects.filter(number=number).exists():
                    raise Conflict(
                        "exams.already_enrolled", f"该人员已有准驾车型{data.vehicle_class}的未结束申请。",
                        f"This person already has an open file for class {data.vehicle_class}.",
                    ) from None  # fmt: skip
        else:  # pragma: no cover - three draws of 10^8 colliding
            raise Conflict(
                "exams.number_busy", "流水号分配失败，请重试。", "No file number was free; try again."
            )
        audit_record(
            actor=actor, action="create", subject=permit, subject_person_id=person.pk,
            summary=f"受理驾驶证申请 learner enrolled ({data.vehicle_class}, {data.kind})", request=request,
        )  # fmt: skip
    return permit


def _own_permit(actor: Any, permit_id: int, *, for_update: bool = False) -> LearnerPermit:
    """The actor's own permit (a citizen's), or a learner's of the actor's school; 404 otherwise."""
    permits = LearnerPermit.objects.select_related("person", "school")
    if for_update:
        permits = permits.select_for_update(of=("self",))
    if _is_school_user(actor):
        permit = permits.filter(pk=permit_id, school_id=getattr(actor, "organisation_id", None)).first()
    else:
        permit = permits.filter(pk=permit_id, person_id=getattr(actor, "person_id", None) or -1).first()
    if permit is None:
        raise _not_found("permit")
    return permit


def permit_consent_set(*, actor: Any, permit_id: int, consent: bool, request: Any = None) -> LearnerPermit:
    """The learner lets their school apply for exams for them, or withdraws that (recorded, issue 16 §3)."""
    require(actor, APPLY)
    with transaction.atomic():
        permit = _own_permit(actor, permit_id, for_update=True)
        if consent and permit.school_id is None:
            raise Conflict(
                "exams.no_school",
                "该申请没有登记驾驶培训机构。",
                "No driving school is recorded for this file.",
            )
        permit.school_consent_at = timezone.now() if consent else None
        permit.save(update_fields=["school_consent_at"])
        audit_record(
            actor=actor, action="change", subject=permit, subject_person_id=permit.person_id,
            summary="同意驾校代为预约考试 school may apply" if consent else "撤回驾校代为预约 school consent withdrawn",
            request=request,
        )  # fmt: skip
    return permit


def permit_location_change(
    *, actor: Any, permit_id: int, new_division: str, now: datetime | None = None, request: Any = None
) -> LearnerPermit:
    """Move the test location (变更考试地) of a small car's permit to another city: at most three
    times (X3, seed 004 §三); not while an application at the old place is active."""
    if _is_school_user(actor):
        require(actor, SCHOOL_APPLY)
    else:
        require(actor, APPLY)
    now = now or timezone.now()
    new_division = validate_division((new_division or "").strip())
    with transaction.atomic():
        permit = _own_permit(actor, permit_id, for_update=True)
        if _is_school_user(actor) and permit.school_consent_at is None:
            raise _no_consent()
        refusal = rules.check_location_change(
            permit.vehicle_class,
            changes_so_far=permit.location_changes,
            current=permit.test_division,
            new=new_division,
        )
        if refusal is not None:
            raise refused(refusal, changes=permit.location_changes)
        if ExamApplication.objects.filter(permit=permit, state__in=ExamApplication.ACTIVE_STATES).exists():
            raise Conflict(
                "exams.location_active_application", "请先取消在原考试地的考试预约，再变更考试地。",
                "Cancel the exam applications at the current test location before moving it.",
            )  # fmt: skip
        TestLocationChange.objects.create(
            permit=permit, school=permit.school, from_division=permit.test_division, to_division=new_division,
            changed_at=now, changed_by=actor if getattr(actor, "is_authenticated", False) else None,
        )  # fmt: skip
        updated = LearnerPermit.objects.filter(
            pk=permit.pk, location_changes__lt=rules.MAX_LOCATION_CHANGES
        ).update(test_division=new_division, location_changes=F("location_changes") + 1)
        if not updated:  # the check constraint's twin: three moves are the most
            raise refused(rules.location_changes_used_up())
        audit_record(
            actor=actor, action="change", subject=permit, subject_person_id=permit.person_id,
            summary=f"变更考试地 test location {permit.test_division} → {new_division}", request=request,
        )  # fmt: skip
    permit.refresh_from_db()
    return permit


def _no_consent() -> NotAllowed:
    return NotAllowed(
        "exams.no_consent",
        "该学员未同意驾校代为预约考试。",
        "The learner has not allowed the school to apply for them.",
    )


def permits_expire_due(*, today: date | None = None) -> int:
    """Close permits past their three years (X: the attempts end); returns how many."""
    today = today or timezone.localdate()
    return LearnerPermit.objects.filter(state=LearnerPermit.State.LEARNING, valid_until__lt=today).update(
        state=LearnerPermit.State.EXPIRED
    )


# ---------------------------------------------------------------- centres and plans (staff)


@dataclass(frozen=True)
class CentreInput:
    """An exam centre registered by the exam section: its organisation (U1) and what it examines."""

    uscc: str
    name: str
    division: str
    address: str
    subjects: tuple[int, ...]
    vehicle_classes: tuple[str, ...]
    phone: str = ""


def centre_register(*, actor: Any, data: CentreInput, request: Any = None) -> ExamCentre:
    """Register an exam centre (考场) in the actor's jurisdiction: the registry organisation of kind
    exam_centre and the subjects and classes it examines."""
    require(actor, CENTRE_MANAGE, division=data.division)
    subjects = sorted({int(s) for s in data.subjects})
    classes = [c for c in rules.EXAM_CLASSES if c in set(data.vehicle_classes)]
    if not subjects or any(s not in [x.value for x in rules.Subject] for s in subjects):
        raise ValidationFailed(
            "exams.subjects",
            "请选择考场考试的科目。",
            "Choose the subjects the centre examines.",
            field="subjects",
        )
    if not classes or len(classes) != len(set(data.vehicle_classes)):
        raise ValidationFailed(
            "exams.vehicle_classes",
            "请选择考场考试的准驾车型。",
            "Choose the classes the centre examines.",
            field="vehicle_classes",
        )
    if not 4 <= len(data.address.strip()) <= 200:
        raise ValidationFailed(
            "exams.address", "请填写考场地址。", "Enter the centre's address.", field="address"
        )
    with transaction.atomic():
        organisation = registry_services.organisation_create(
            actor=actor,
            data={
                "uscc": data.uscc, "name": data.name, "kind": Organisation.Kind.EXAM_CENTRE,
                "division": data.division, "address": data.address.strip(), "phone": data.phone.strip(),
            },
            request=request,
        )  # fmt: skip
        centre = ExamCentre.objects.create(
            organisation=organisation, division=organisation.division, address=data.address.strip(),
            phone=data.phone.strip(), subjects="," + ",".join(str(s) for s in subjects) + ",",
            vehicle_classes="," + ",".join(classes) + ",",
        )  # fmt: skip
        audit_record(
            actor=actor,
            action="create",
            subject=centre,
            summary=f"登记考场 centre registered: {organisation.name}",
            request=request,
        )
    return centre


def centre_client_issue(*, actor: Any, centre_id: int, request: Any = None) -> tuple[Any, str]:
    """Give a centre the API client its system reports results with (scope ``exams:results``,
    bound to its organisation); returns the client and its secret, shown this once."""
    from jiaoguan.accounts.clients import SCOPE_EXAM_RESULTS, api_client_create

    require(actor, CENTRE_MANAGE)
    with transaction.atomic():
        centre = (
            ExamCentre.objects.select_for_update().select_related("organisation").filter(pk=centre_id).first()
        )
        if centre is None:
            raise _not_found("centre")
        require(actor, CENTRE_MANAGE, division=centre.division)
        client, secret = api_client_create(
            name=f"{centre.organisation.name} 考试成绩上报"[:100], scopes=SCOPE_EXAM_RESULTS,
            division=centre.division, organisation_uscc=centre.organisation.uscc,
        )  # fmt: skip
        audit_record(
            actor=actor,
            action="create",
            subject=centre,
            summary=f"考场接入凭据 centre API client {client.client_id}",
            request=request,
        )
    return client, secret


def _staff_plan(actor: Any, plan_id: int, *, for_update: bool = True) -> ExamPlan:
    plans = ExamPlan.objects.select_related("centre__organisation")
    if for_update:
        plans = plans.select_for_update(of=("self",))
    plan = plans.filter(pk=plan_id).first()
    if plan is None:
        raise _not_found("plan")
    require(actor, PLAN_MANAGE, division=[plan.division])
    return plan


@dataclass(frozen=True)
class PlanInput:
    centre_id: int
    subject: int
    vehicle_class: str
    exam_date: date
    starts_at: time
    places: int
    window_opens_at: datetime
    window_closes_at: datetime
    cancel_until: datetime | None = None
    method: str = ExamPlan.Method.LOTTERY


def _plan_clean(data: PlanInput, centre: ExamCentre, now: datetime) -> dict[str, Any]:
    def bad(code: str, zh: str, en: str, field: str) -> ValidationFailed:
        return ValidationFailed(f"exams.{code}", zh, en, field=field)

    if data.subject not in [s.value for s in rules.Subject]:
        raise bad("subject", "考试科目应为1至4。", "The subject is 1 to 4.", "subject")
    if not centre.examines(data.subject, data.vehicle_class):
        raise bad(
            "centre_cannot",
            "该考场不考这个科目或车型。",
            "This centre does not examine that subject or class.",
            "vehicle_class",
        )
    if not 1 <= data.places <= 100_000:
        raise bad("places", "计划人数应为1至100000。", "Places are 1 to 100,000.", "places")
    if data.method not in ExamPlan.Method.values:
        raise bad("method", "分配方式无效。", "Unknown allocation method.", "method")
    if not data.window_opens_at < data.window_closes_at:
        raise bad(
            "window",
            "截止申请时间应晚于开始申请时间。",
            "The window must close after it opens.",
            "window_closes_at",
        )
    exam_start = timezone.make_aware(datetime.combine(data.exam_date, data.starts_at))
    if data.window_closes_at > exam_start - timedelta(hours=12):
        raise bad(
            "window_too_late", "申请须在开考前至少12小时截止，以便分配和通知。",
            "The window must close at least 12 hours before the exam, to allocate and tell.", "window_closes_at",
        )  # fmt: skip
    if data.exam_date <= timezone.localdate(now):
        raise bad("exam_date", "考试日期应在今天之后。", "The exam date must be after today.", "exam_date")
    cancel_until = data.cancel_until or timezone.make_aware(
        datetime.combine(data.exam_date - timedelta(days=1), time(17, 0))
    )
    if cancel_until > exam_start:
        raise bad(
            "cancel_until",
            "取消截止时间不能晚于开考时间。",
            "Cancelling must end before the exam starts.",
            "cancel_until",
        )
    return {"cancel_until": cancel_until}


def plan_create(*, actor: Any, data: PlanInput, now: datetime | None = None, request: Any = None) -> ExamPlan:
    """A centre's exam plan (考试计划) as a draft: nothing is visible until published."""
    require(actor, PLAN_MANAGE)
    now = now or timezone.now()
    centre = ExamCentre.objects.select_related("organisation").filter(pk=data.centre_id, active=True).first()
    if centre is None:
        raise _not_found("centre")
    extra = _plan_clean(data, centre, now)
    with transaction.atomic():
        require(actor, PLAN_MANAGE, division=[centre.division])
        plan = ExamPlan.objects.create(
            centre=centre, division=centre.division, subject=data.subject, vehicle_class=data.vehicle_class,
            exam_date=data.exam_date, starts_at=data.starts_at, places=data.places, method=data.method,
            window_opens_at=data.window_opens_at, window_closes_at=data.window_closes_at, created_by=actor, **extra,
        )  # fmt: skip
        audit_record(
            actor=actor, action="create", subject=plan, summary=f"新建考试计划 plan {plan}", request=request
        )
    return plan


def plan_publish(*, actor: Any, plan_id: int, request: Any = None) -> ExamPlan:
    """Publish a draft plan: the lottery seed is drawn now and only its SHA-256 is shown, so the
    draw is fixed before anyone applies (issue 16 §3)."""
    require(actor, PLAN_MANAGE)
    with transaction.atomic():
        plan = _staff_plan(actor, plan_id)
        if plan.state != P.DRAFT:
            raise Conflict(
                "exams.plan_not_draft",
                "只有未发布的考试计划可以发布。",
                "Only a draft plan can be published.",
            )
        seed = allocation.new_seed()
        plan.seed, plan.seed_commitment = seed, allocation.commitment(seed)
        plan.state, plan.published_at = P.OPEN, timezone.now()
        plan.save(update_fields=["seed", "seed_commitment", "state", "published_at"])
        audit_record(
            actor=actor, action="change", subject=plan,
            summary=f"发布考试计划 plan published, seed commitment {plan.seed_commitment}", request=request,
        )  # fmt: skip
    return plan


def plan_withdraw(*, actor: Any, plan_id: int, reason: str, request: Any = None) -> ExamPlan:
    """Withdraw a plan (the centre cannot hold it): every active application is cancelled and told."""
    require(actor, PLAN_MANAGE)
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 200:
        raise ValidationFailed(
            "exams.reason", "请填写撤回原因。", "Give the reason for withdrawing.", field="reason"
        )
    with transaction.atomic():
        plan = _staff_plan(actor, plan_id)
        if plan.state in (P.FINISHED, P.WITHDRAWN):
            raise Conflict("exams.plan_over", "该考试计划已结束。", "This plan is over.")
        now = timezone.now()
        active = list(ExamApplication.objects.filter(plan=plan, state__in=ExamApplication.ACTIVE_STATES))
        ExamApplication.objects.filter(pk__in=[a.pk for a in active]).update(
            state=A.CANCELLED, cancelled_at=now
        )
        plan.state = P.WITHDRAWN
        plan.save(update_fields=["state"])
        for application in active:
            _decided(application, plan, "withdrawn", reason=reason)
        audit_record(
            actor=actor,
            action="change",
            subject=plan,
            summary=f"撤回考试计划 plan withdrawn: {reason}",
            reason=reason,
            request=request,
        )
    return plan


def allocation_entry(application: ExamApplication) -> allocation.Entry:
    return allocation.Entry(
        application.number, mask_id_number(application.person.id_number), int(application.priority or 4)
    )


def plan_allocate(*, plan_id: int, now: datetime | None = None) -> ExamPlan:
    """Close the window of a plan and allocate it (issue 16 §3, X4).

    Lottery: every application gets its priority class, the inputs are fixed and hashed, the seed
    is revealed, and the places go in the order of :func:`allocation.allocate`; the rest wait in
    that order (候补). First come: the places were taken as people applied; the plan just closes.
    Idempotent: a plan already allocated is returned as it is.
    """
    now = now or timezone.now()
    with transaction.atomic():
        plan = ExamPlan.objects.select_for_update().filter(pk=plan_id).first()
        if plan is None:
            raise _not_found("plan")
        if plan.state != P.OPEN:
            return plan
        if now < plan.window_closes_at:
            raise Conflict(
                "exams.window_open",
                "申请尚未截止，不能分配。",
                "The window is still open; it cannot be allocated yet.",
            )
        applications = list(
            ExamApplication.objects.select_related("person", "permit")
            .filter(plan=plan, state=A.APPLIED)
            .only(  # what the draw and the messages read: 50,000 whole rows of three tables took seconds
                "pk", "number", "person_id", "permit_id", "eligible_on", "state", "priority", "rank",
                "person__id_number", "permit__valid_until",
            )
            .order_by("pk")
        )  # fmt: skip
        if plan.method == ExamPlan.Method.LOTTERY:
            _allocate_lottery(plan, applications, now)
        plan.applications_count = ExamApplication.objects.filter(plan=plan).exclude(state=A.CANCELLED).count()
        plan.state, plan.allocated_at = P.ALLOCATED, now
        plan.save(update_fields=["taken", "state", "allocated_at", "inputs_sha256", "applications_count"])
    return plan


def _allocate_lottery(plan: ExamPlan, applications: list[ExamApplication], now: datetime) -> None:
    opened_on = timezone.localdate(plan.window_opens_at)
    failed_before = set(
        ExamApplication.objects.filter(
            # A subquery, not a parameter per permit: tens of thousands pass SQLite's limit.
            permit_id__in=ExamApplication.objects.filter(plan=plan, state=A.APPLIED).values("permit_id"),
            subject=plan.subject,
            state__in=[A.FAILED, A.MISSED],
        ).values_list("permit_id", flat=True)
    )
    for application in applications:
        application.priority = rules.priority_class(
            valid_until=application.permit.valid_until,
            eligible_on=application.eligible_on,
            failed_before=application.permit_id in failed_before,
            exam_date=plan.exam_date,
            window_opened_on=opened_on,
        ).value
    entries = [allocation_entry(a) for a in applications]
    plan.inputs_sha256 = allocation.inputs_sha256(allocation.inputs_text(entries))
    placed = {p.number: p for p in allocation.allocate(entries, places=plan.places, seed_hex=plan.seed)}
    for application in applications:
        result = placed[application.number]
        application.rank = result.rank
        application.state = A.ALLOCATED if result.outcome == allocation.ALLOCATED else A.WAITING
        application.decided_at = now
    # One UPDATE ... FROM (VALUES ...) per 4,000 rows: bulk_update's CASE per row took 35 s for
    # 50,000 applications.
    applications_write_decisions(applications, now)
    plan.taken = sum(1 for a in applications if a.state == A.ALLOCATED)
    # One outbox row per learner, written in bulk and delivered after the commit in the background:
    # one by one, 50,000 of them took minutes inside the allocation's transaction.
    decisions_enqueue(applications, plan)


def plans_allocate_due(*, now: datetime | None = None) -> int:
    """Allocate every open plan whose window has closed (the worker's pass); returns how many."""
    now = now or timezone.now()
    done = 0
    for plan_id in ExamPlan.objects.filter(state=P.OPEN, window_closes_at__lte=now).values_list(
        "pk", flat=True
    ):
        plan_allocate(plan_id=plan_id, now=now)
        done += 1
    return done


def _decided(application: ExamApplication, plan: ExamPlan, outcome: str, **extra: Any) -> None:
    outbox_enqueue(
        topic=TOPIC_DECIDED,
        payload={
            "application_id": application.pk, "number": application.number, "person_id": application.person_id,
            "plan_id": plan.pk, "outcome": str(outcome), "rank": application.rank, "subject": plan.subject,
            "vehicle_class": plan.vehicle_class, "exam_date": plan.exam_date.isoformat(),
            "starts_at": plan.starts_at.strftime("%H:%M"), "centre": plan.centre.organisation.name, **extra,
        },
        dedup_key=f"exams-decided-{application.pk}-{outcome}-{secrets.token_hex(4) if outcome == 'offered' else ''}",
    )  # fmt: skip


# ---------------------------------------------------------------- applications (B22)


def _count_attempt(*, actor: Any, client: str, school: bool) -> None:
    """Per account and per client limits (issue 16 §4), counted in the cache: under a rush a
    database row per attempt would cost more than the application itself."""
    now = timezone.now()
    throttles.throttle_take_cached(
        scope="exams.apply.account", key=f"user:{getattr(actor, 'pk', '')}",
        limits=SCHOOL_LIMITS if school else ACCOUNT_LIMITS, refuse=_throttled, now=now,
    )  # fmt: skip
    throttles.throttle_take_cached(
        scope="exams.apply.client", key=client, limits=CLIENT_LIMITS, refuse=_throttled, now=now
    )


def _plan_for_application(plan_id: int) -> ExamPlan:
    plan = (
        ExamPlan.objects.select_related("centre__organisation")
        .filter(pk=plan_id)
        .exclude(state=P.DRAFT)
        .first()
    )
    if plan is None:
        raise _not_found("plan")
    return plan


def _check_plan(plan: ExamPlan, permit: LearnerPermit, now: datetime) -> None:
    if plan.state != P.OPEN or not plan.window_opens_at <= now < plan.window_closes_at:
        opens = _local(plan.window_opens_at)
        closes = _local(plan.window_closes_at)
        raise Conflict(
            "exams.window_closed",
            f"该考试计划的申请时间为{opens:%Y-%m-%d %H:%M}至{closes:%Y-%m-%d %H:%M}，现在不能申请。",
            f"Applications to this plan are taken from {opens:%Y-%m-%d %H:%M} to {closes:%Y-%m-%d %H:%M}; not now.",
            detail={"window_opens_at": opens.isoformat(), "window_closes_at": closes.isoformat()},
        )
    if plan.vehicle_class != permit.vehicle_class:
        raise Conflict(
            "exams.wrong_class", f"该考试计划考{plan.vehicle_class}，学习驾驶证明的准驾车型是{permit.vehicle_class}。",
            f"This plan examines {plan.vehicle_class}; the permit is for {permit.vehicle_class}.",
        )  # fmt: skip
    if plan.division[:4] != permit.test_division[:4]:
        raise Conflict(
            "exams.other_location", "该考场不在学员的考试地；小型汽车可先申请变更考试地（最多3次）。",
            "This centre is not in the learner's test location; a small car may move the location first (at most 3 times).",
            detail={"test_division": permit.test_division, "centre_division": plan.division},
        )  # fmt: skip


def application_create(
    *,
    actor: Any,
    permit_id: int,
    plan_id: int,
    client: str = "",
    now: datetime | None = None,
    request: Any = None,
) -> ExamApplication:
    """Apply for a place in a plan (考试预约, B22) for one's own permit, or as a school for a learner
    who consented. Refused with the rule and the date it opens: before the interval (X2), past
    the permit, beyond five bookings, a second active application in the subject, a plan that is
    full (first come) or whose window is not open.

    Lottery plans: the application waits for the allocation. First come: a place is taken now or
    the answer is "full" at once (the plan row is read, not locked, to say so)."""
    school = _is_school_user(actor)
    if school:
        require(actor, SCHOOL_APPLY)
        school_org = school_of(actor=actor)
    else:
        require(actor, APPLY)
        organisation = getattr(actor, "organisation", None)
        check_business_allowed(
            business_code=BUSINESS, user_kind=getattr(actor, "kind", ""),
            level=getattr(actor, "registration_level", ""), organisation_kind=getattr(organisation, "kind", "") or "",
        )  # fmt: skip
        school_org = None
    now = now or timezone.now()
    today = timezone.localdate(now)
    permit = _own_permit(actor, permit_id)
    if school and permit.school_consent_at is None:
        raise _no_consent()
    plan = _plan_for_application(plan_id)
    _check_plan(plan, permit, now)
    first_come = plan.method == ExamPlan.Method.FIRST_COME
    if first_come and plan.taken >= plan.places:
        raise _full(plan)  # first under a rush: read without a lock, before anything else is asked
    decision = eligibility(permit, plan.subject, applied_on=today, exam_date=plan.exam_date)
    if decision.refusal is not None:
        raise refused(decision.refusal)
    if ExamApplication.objects.filter(
        permit=permit, subject=plan.subject, state__in=ExamApplication.ACTIVE_STATES
    ).exists():
        raise _already_applied(plan.subject)
    _count_attempt(actor=actor, client=client, school=school)
    with transaction.atomic():
        if first_come:
            taken = ExamPlan.objects.filter(pk=plan.pk, state=P.OPEN, taken__lt=F("places")).update(
                taken=F("taken") + 1
            )
            if not taken:
                raise _full(plan)
            # The row is ours until commit: the count the answer shows is exact.
            plan.taken = ExamPlan.objects.values_list("taken", flat=True).get(pk=plan.pk)
        for _draw in range(3):
            number = _new_number("KS", today)
            try:
                with transaction.atomic():
                    application = ExamApplication.objects.create(
                        number=number, plan=plan, permit=permit, person_id=permit.person_id,
                        subject=plan.subject, state=A.ALLOCATED if first_come else A.APPLIED,
                        eligible_on=decision.opens_on, applied_by=actor, school=school_org,
                        consent_at=permit.school_consent_at if school else None, client_key=client_key_of(client),
                        decided_at=now if first_come else None,
                    )  # fmt: skip
                break
            except IntegrityError:
                # Tens of thousands of numbers a day out of 10^8 do meet (a birthday collision):
                # a number drawn twice is drawn again, not mistaken for a second application.
                if ExamApplication.objects.filter(number=number).exists():
                    continue
                # Another request of the same learner won (partial unique constraint); a first-come
                # place taken above goes back with this transaction.
                raise _already_applied(plan.subject) from None
        else:  # pragma: no cover - three collisions in a row
            raise _already_applied(plan.subject)
        if school:
            audit_record(
                actor=actor, action="create", subject=application, subject_person_id=permit.person_id,
                summary=f"驾校代为预约考试 school applied for {plan} (consent {permit.school_consent_at:%Y-%m-%d %H:%M})",
                request=request,
            )  # fmt: skip
        if first_come:
            application.plan = plan
            _decided(application, plan, A.ALLOCATED)
    return application


def _full(plan: ExamPlan) -> Conflict:
    return Conflict(
        "exams.plan_full", "该考试计划已约满，请选择其他考试计划。", "This plan is full; choose another.",
        detail={"plan_id": plan.pk, "places": plan.places},
    )  # fmt: skip


def _already_applied(subject: int) -> Conflict:
    words = rules.Subject(subject)
    return Conflict(
        "exams.already_applied",
        f"{words.label_zh}已有未结束的考试预约，不能重复预约。",
        f"There is already an active application for {words.label_en}.",
    )


def application_cancel(
    *, actor: Any, application_id: int, now: datetime | None = None, request: Any = None
) -> ExamApplication:
    """Cancel an application or booking (取消考试预约, B23) until the plan's deadline. A freed place
    goes to the first on the waiting list, in the lottery's order, or back to a first-come plan."""
    school = _is_school_user(actor)
    require(actor, SCHOOL_APPLY if school else APPLY)
    now = now or timezone.now()
    with transaction.atomic():
        applications = ExamApplication.objects.select_for_update(of=("self",)).select_related(
            "plan__centre__organisation", "permit"
        )
        if school:
            application = applications.filter(
                pk=application_id, permit__school_id=getattr(actor, "organisation_id", None) or -1
            ).first()
        else:
            application = applications.filter(
                pk=application_id, person_id=getattr(actor, "person_id", None) or -1
            ).first()
        if application is None:
            raise _not_found()
        if school and application.permit.school_consent_at is None:
            raise _no_consent()
        plan = application.plan
        if application.state not in ExamApplication.ACTIVE_STATES:
            raise Conflict(
                "exams.not_cancellable",
                "该预约已结束，不能取消。",
                "This application is over and cannot be cancelled.",
            )
        if now > plan.cancel_until:
            until = _local(plan.cancel_until)
            raise Conflict(
                "exams.cancel_deadline_passed", f"取消截止时间为{until:%Y-%m-%d %H:%M}，已过。",
                f"Cancelling ended at {until:%Y-%m-%d %H:%M}.", detail={"cancel_until": until.isoformat()},
            )  # fmt: skip
        held_place = application.state == A.ALLOCATED
        application.state, application.cancelled_at = A.CANCELLED, now
        application.save(update_fields=["state", "cancelled_at"])
        audit_record(
            actor=actor, action="change", subject=application, subject_person_id=application.person_id,
            summary=f"取消考试预约 application cancelled ({plan})", request=request,
        )  # fmt: skip
        if held_place:
            _place_freed(plan, now)
    return application


def _place_freed(plan: ExamPlan, now: datetime) -> None:
    """The place of a cancelled booking: the first waiting application gets it, or the plan does."""
    locked = ExamPlan.objects.select_for_update().get(pk=plan.pk)
    waiting = (
        ExamApplication.objects.select_for_update(skip_locked=True)
        .filter(plan=locked, state=A.WAITING)
        .order_by("rank", "pk")
        .first()
    )
    if waiting is not None and locked.state in (P.OPEN, P.ALLOCATED):
        waiting.state, waiting.decided_at = A.ALLOCATED, now
        waiting.save(update_fields=["state", "decided_at"])
        _decided(waiting, locked, "offered")
        return
    ExamPlan.objects.filter(pk=plan.pk, taken__gt=0).update(taken=F("taken") - 1)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ResultInput:
    application_number: str
    outcome: str = ""  # passed | failed | missed; with a score, passed/failed follow the pass mark
    score: int | None = None
    examiner: str = ""
    taken_on: date | None = None


def centre_of_client(client: Any) -> ExamCentre:
    """The centre an API client reports for (scope exams:results, bound to the centre's organisation)."""
    organisation_id = getattr(client, "organisation_id", None)
    centre = ExamCentre.objects.filter(organisation_id=organisation_id).first() if organisation_id else None
    if centre is None:
        raise NotAllowed(
            "exams.client_not_centre", "该接入系统未绑定考场，不能上报考试成绩。",
            "This API client is not bound to an exam centre and cannot report results.",
        )  # fmt: skip
    return centre


def result_record(
    *,
    data: ResultInput,
    actor: Any = None,
    client: Any = None,
    today: date | None = None,
    request: Any = None,
) -> ExamResult:
    """Record one attempt's result (考试成绩), by the centre's system (``client``) or the exam
    section's staff page (``actor``). Only an allocated booking has a result; the attempt is the
    next one the booking allows (the retake after a failed first attempt); a pass of subject 1
    issues the learner permit, a pass of every subject issues the licence in the registry."""
    if client is None:
        require(actor, RESULT_RECORD)
    today = today or timezone.localdate()
    taken_on = data.taken_on or today
    with transaction.atomic():
        application = (
            ExamApplication.objects.select_for_update(of=("self",))
            .select_related("plan__centre__organisation", "permit", "person")
            .filter(number=(data.application_number or "").strip())
            .first()
        )
        if application is None:
            raise _not_found()
        plan = application.plan
        if client is not None:
            if centre_of_client(client).pk != plan.centre_id:
                raise _not_found()
        else:
            require(actor, RESULT_RECORD, division=[plan.division])
        if application.state != A.ALLOCATED:
            raise Conflict(
                "exams.not_allocated", "该学员没有约上这场考试，不能录入成绩。",
                "This learner was not allocated a place in this exam; no result can be recorded.",
                detail={"state": application.state},
            )  # fmt: skip
        if taken_on < plan.exam_date or taken_on > today:
            raise ValidationFailed(
                "exams.taken_on", "考试日期应在计划考试日至今天之间。", "The exam day is between the plan's date and today.",
                field="taken_on",
            )  # fmt: skip
        attempts = [
            rules.AttemptFacts(r.attempt, rules.Outcome(r.outcome)) for r in application.results.all()
        ]
        attempt = rules.next_attempt(attempts)
        if attempt is None:  # pragma: no cover - an allocated booking always has an attempt left
            raise Conflict("exams.booking_over", "该预约的考试已结束。", "This booking's attempts are over.")
        outcome = _outcome(data, plan)
        result = ExamResult.objects.create(
            application=application, attempt=attempt, outcome=outcome.value, score=data.score if outcome != rules.Outcome.MISSED else None,
            examiner=(data.examiner or "").strip()[:32], taken_on=taken_on,
            recorded_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
            client_id=getattr(client, "client_id", "") if client is not None else "",
        )  # fmt: skip
        ended = rules.booking_outcome([*attempts, rules.AttemptFacts(attempt, outcome)])
        if ended is not None:
            application.state = {
                rules.Outcome.PASSED: A.PASSED,
                rules.Outcome.FAILED: A.FAILED,
                rules.Outcome.MISSED: A.MISSED,
            }[ended]
            application.ended_on = taken_on
            application.save(update_fields=["state", "ended_on"])
        audit_record(
            actor=actor, action="create", subject=result, subject_person_id=application.person_id,
            summary=f"考试成绩 result {plan} attempt {attempt}: {outcome.value} {data.score if data.score is not None else ''}",
            request=request,
        )  # fmt: skip
        licensed = _after_result(application, ended, taken_on, actor)
        outbox_enqueue(
            topic=TOPIC_RESULT,
            payload={
                "result_id": result.pk, "application_id": application.pk, "person_id": application.person_id,
                "subject": plan.subject, "vehicle_class": plan.vehicle_class, "attempt": attempt,
                "outcome": outcome.value, "score": result.score, "taken_on": taken_on.isoformat(),
                "booking_outcome": ended.value if ended else "", "retake_left": ended is None,
                "permit_number": application.permit.number,
                "permit_valid_until": application.permit.valid_until.isoformat() if application.permit.valid_until else "",
                "licensed": licensed,
            },
            dedup_key=f"exams-result-{result.pk}",
        )  # fmt: skip
    return result


def _outcome(data: ResultInput, plan: ExamPlan) -> rules.Outcome:
    outcome = (data.outcome or "").strip()
    if outcome == rules.Outcome.MISSED:
        return rules.Outcome.MISSED
    if data.score is None:
        raise ValidationFailed(
            "exams.score",
            "请填写考试成绩（0至100分），或标记缺考。",
            "Give the score (0-100) or mark the learner absent.",
            field="score",
        )
    if not 0 <= data.score <= 100:
        raise ValidationFailed(
            "exams.score", "考试成绩应为0至100分。", "The score is 0 to 100.", field="score"
        )
    by_score = rules.score_outcome(data.score, rules.Subject(plan.subject), plan.vehicle_class)
    if outcome and outcome != by_score.value:
        mark = rules.pass_mark(rules.Subject(plan.subject), plan.vehicle_class)
        raise ValidationFailed(
            "exams.outcome_score", f"成绩{data.score}分与结果不符（合格线{mark}分）。",
            f"A score of {data.score} does not give that outcome (pass mark {mark}).", field="outcome",
        )  # fmt: skip
    return by_score


def _after_result(
    application: ExamApplication, ended: rules.Outcome | None, taken_on: date, actor: Any
) -> bool:
    """Subject 1 passed: the permit. Every subject passed: the licence. Returns whether licensed."""
    if ended != rules.Outcome.PASSED:
        return False
    permit = LearnerPermit.objects.select_for_update().get(pk=application.permit_id)
    if application.subject == rules.Subject.LAW and permit.issued_on is None:
        permit.issued_on = taken_on
        permit.valid_until = rules.permit_valid_until(taken_on)
        permit.state = LearnerPermit.State.LEARNING
        permit.save(update_fields=["issued_on", "valid_until", "state"])
        application.permit = permit
    passed = set(
        ExamApplication.objects.filter(permit=permit, state=A.PASSED).values_list("subject", flat=True)
    )
    if passed < {s.value for s in rules.ALL_SUBJECTS} or permit.state != LearnerPermit.State.LEARNING:
        return False
    licence = registry_services.licence_grant_after_exams(
        person_id=permit.person_id, vehicle_class=permit.vehicle_class, passed_on=taken_on,
        division=permit.test_division, actor=actor,
    )  # fmt: skip
    permit.state, permit.licensed_on = LearnerPermit.State.LICENSED, taken_on
    permit.save(update_fields=["state", "licensed_on"])
    outbox_enqueue(
        topic=TOPIC_LICENSED,
        payload={"permit_id": permit.pk, "person_id": permit.person_id, "licence_id": licence.pk, "vehicle_class": permit.vehicle_class},
        dedup_key=f"exams-licensed-{permit.pk}",
    )  # fmt: skip
    return True


def applications_mark_missed(*, today: date | None = None) -> int:
    """Bookings whose exam day passed two days ago with no result are missed (a miss counts as a
    fail, S1 art. 42); lottery waiting lists of past plans end as not allocated. Returns how many."""
    today = today or timezone.localdate()
    past = today - timedelta(days=2)
    ended = ExamApplication.objects.filter(plan__exam_date__lte=past)
    exam_day = Subquery(ExamPlan.objects.filter(pk=OuterRef("plan_id")).values("exam_date")[:1])
    missed = ended.filter(state=A.ALLOCATED, results__isnull=True).update(state=A.MISSED, ended_on=exam_day)
    waiting = ended.filter(state__in=[A.WAITING, A.APPLIED]).update(state=A.NOT_ALLOCATED)
    ExamPlan.objects.filter(state=P.ALLOCATED, exam_date__lte=past).update(state=P.FINISHED)
    return missed + waiting


# ---------------------------------------------------------------- centre: decisions written and told in bulk

DECISIONS_WRITE_BATCH = 4000  # rows per UPDATE: 4 parameters each, inside SQLite's 32,766


def applications_write_decisions(applications: list[ExamApplication], now: datetime) -> None:
    """Write the priority, rank and state of a lottery's applications (the same columns as
    ``bulk_update``) with one ``UPDATE ... FROM (VALUES ...)`` per batch, on PostgreSQL and SQLite
    alike (both name a VALUES list's columns column1, column2, ...)."""
    from django.db import connection

    q = connection.ops.quote_name
    table = q(ExamApplication._meta.db_table)
    if connection.vendor == "postgresql":
        # COPY into a temporary table and one UPDATE ... FROM it: no parameter quoting per value.
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE exams_decisions (id bigint, priority smallint, rank integer, state text) "
                "ON COMMIT DROP"
            )
            with cursor.cursor.copy("COPY exams_decisions (id, priority, rank, state) FROM STDIN") as copy:
                for a in applications:
                    copy.write_row((a.pk, a.priority, a.rank, str(a.state)))
            cursor.execute(
                f"UPDATE {table} SET {q('priority')} = d.priority, {q('rank')} = d.rank, "  # noqa: S608 - names are ours
                f"{q('state')} = d.state, {q('decided_at')} = %s FROM exams_decisions d WHERE {table}.{q('id')} = d.id",
                [now],
            )
            cursor.execute("DROP TABLE exams_decisions")
        return
    for start in range(0, len(applications), DECISIONS_WRITE_BATCH):
        batch = applications[start : start + DECISIONS_WRITE_BATCH]
        values = ", ".join(["(%s, %s, %s, %s)"] * len(batch))
        params: list[Any] = [now]
        for a in batch:
            params += [a.pk, a.priority, a.rank, str(a.state)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {q('priority')} = v.column2, {q('rank')} = v.column3, "  # noqa: S608 - names are ours
                f"{q('state')} = v.column4, {q('decided_at')} = %s "
                f"FROM (VALUES {values}) AS v WHERE {table}.{q('id')} = v.column1",
                params,
            )


# At most this many decisions of one allocation are delivered in the committing process when no
# worker delivers the outbox (the demo); more wait for the outbox passes.
DECISIONS_DELIVERED_INLINE = 100


def decisions_enqueue(applications: list[ExamApplication], plan: ExamPlan) -> int:
    """The ``TOPIC_DECIDED`` messages of an allocation (issue 16 §6), the same as ``_decided``
    writes one at a time, in bulk; delivered after the commit by :func:`decisions_deliver`
    (one background task in production). Returns how many were written."""
    centre = plan.centre.organisation.name
    rows = [
        (
            f"exams-decided-{a.pk}-{a.state}-",
            {
                "application_id": a.pk, "number": a.number, "person_id": a.person_id, "plan_id": plan.pk,
                "outcome": str(a.state), "rank": a.rank, "subject": plan.subject,
                "vehicle_class": plan.vehicle_class, "exam_date": plan.exam_date.isoformat(),
                "starts_at": plan.starts_at.strftime("%H:%M"), "centre": centre,
            },
        )
        for a in applications
    ]  # fmt: skip
    outbox_enqueue_many(topic=TOPIC_DECIDED, messages=rows)
    plan_id = plan.pk
    transaction.on_commit(lambda: _decisions_after_commit(plan_id, len(rows)))
    return len(rows)


def _decisions_after_commit(plan_id: int, count: int) -> None:
    if settings.OUTBOX_DELIVERY_IN_WORKER:
        from .tasks import exam_decisions_deliver_task

        exam_decisions_deliver_task.enqueue(plan_id=plan_id)
    elif count <= DECISIONS_DELIVERED_INLINE:
        decisions_deliver(plan_id=plan_id)


def decisions_deliver(*, plan_id: int) -> int:
    """Deliver the unsent allocation messages of a plan (idempotent: a sent one is not sent again)."""
    from jiaoguan.core.models import OutboxMessage
    from jiaoguan.core.outbox import outbox_deliver

    ids = list(
        OutboxMessage.objects.filter(topic=TOPIC_DECIDED, sent_at__isnull=True, payload__plan_id=plan_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(1 for pk in ids if outbox_deliver(message_id=pk))
