"""Driving-test endpoints (B22, B23, X1-X7; issue 16): public exam plans and their allocation
proof, a learner's permits and applications, a school's learners, and the centres' results
(client credentials, scope ``exams:results``). Thin handlers over ``services``/``selectors``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from jiaoguan.accounts.clients import SCOPE_EXAM_RESULTS, ClientCredentials
from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.identifiers import mask_id_number
from jiaoguan.core.middleware import client_address

from . import rules, selectors, services
from .models import ExamApplication, ExamPlan, LearnerPermit

router = Router(tags=["exams"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


# ---------------------------------------------------------------- public plans and allocation proof

PUBLIC = "exams.plan.public"


class ItemOut(Schema):
    zh: str
    en: str


class PlanOut(Schema):
    id: int
    centre_id: int
    centre: str
    centre_address: str
    division: str
    subject: int
    subject_zh: str
    subject_en: str
    vehicle_class: str
    exam_date: date
    starts_at: str
    method: str  # lottery | first_come
    window_opens_at: datetime
    window_closes_at: datetime
    cancel_until: datetime
    places: int
    taken: int
    state: str  # open | allocated | finished | withdrawn
    seed_commitment: str
    inputs_sha256: str
    applications_count: int
    allocated_at: datetime | None
    pass_mark: int
    items: list[ItemOut]  # subject 2's items (X1)
    priority_classes: list[dict[str, Any]]


class PlanPageOut(Schema):
    items: list[PlanOut]
    next_cursor: str | None


class AllocationCheckOut(Schema):
    ok: bool
    problems: list[str]


class FirstComeOut(Schema):
    order: int
    number: str
    state: str


class AllocationOut(Schema):
    plan_id: int
    method: str
    state: str
    places: int
    commitment: str
    allocated: bool
    document: dict[str, Any] | None  # allocation.document(): inputs, inputs_sha256, seed, result
    check: AllocationCheckOut | None  # the platform's own run of allocation.verify on the document
    first_come: list[FirstComeOut] | None


_FROM = Query(None, alias="from")


@router.get("/exam-plans", response={200: PlanPageOut, **ERRORS}, auth=None)
@access_required(PUBLIC)
def exam_plans(
    request: HttpRequest,
    subject: int = 0,
    centre: int = 0,
    start: date | None = _FROM,
    cursor: str = "",
    limit: int = Query(20, ge=1, le=100),
) -> Any:
    """Published exam plans (考试计划, X4), soonest exam first; drafts are never listed. Filters:
    ``subject`` 1-4, ``centre`` (id), ``from`` (exam date, ISO). Pass ``next_cursor`` back as
    ``cursor`` for the next page."""
    qs = selectors.public_plans(subject=subject or None, centre=centre or None, start=start)
    rows, after = selectors.public_plans_page(qs, cursor=cursor, limit=limit)
    return {"items": [selectors.plan_facts(p) for p in rows], "next_cursor": after}


@router.get("/exam-plans/{plan_id}", response={200: PlanOut, **ERRORS}, auth=None)
@access_required(PUBLIC)
def exam_plan(request: HttpRequest, plan_id: int) -> Any:
    """One published plan: method, window, places and taken, state, the seed's commitment, the
    priority classes in words, subject 2's items and the pass mark."""
    return selectors.plan_facts(selectors.public_plan(plan_id=plan_id))


@router.get("/exam-plans/{plan_id}/allocation", response={200: AllocationOut, **ERRORS}, auth=None)
@access_required(PUBLIC)
def exam_plan_allocation(request: HttpRequest, plan_id: int) -> Any:
    """The allocation proof (X4). Before the window closes only the seed's commitment; after the
    allocation the whole document (masked inputs, their SHA-256, the revealed seed, the result)
    and ``check``, the platform's own verification of it. Anyone can recompute it with
    ``jiaoguan verify-allocation`` on the ``document``. First-come plans: the numbers that got a
    place, in the order the places were taken."""
    return selectors.allocation_proof(plan=selectors.public_plan(plan_id=plan_id))


# ---------------------------------------------------------------- learners (me)


LEARNER_AUTH = [BearerToken(), SessionUser()]


def _caller(request: HttpRequest) -> Any:
    """The authenticated user (a learner, or a driving school's organisation user)."""
    return request.auth  # type: ignore[attr-defined]


class MeRefusalOut(Schema):
    code: str
    message_zh: str
    message_en: str
    opens_on: date | None


class MeSubjectOut(Schema):
    subject: int
    name_zh: str
    name_en: str
    passed: bool
    bookings_used: int
    bookings_max: int
    opens_on: date | None  # the first day applications for it are taken (X2), where a date rule applies
    can_apply: bool
    refusal: MeRefusalOut | None  # why not now, with the day it opens (issue 16 "Bad input")


class MePermitOut(Schema):
    id: int
    number: str
    vehicle_class: str
    kind: str
    state: str
    issued_on: date | None
    valid_until: date | None
    test_division: str
    location_changes: int
    location_changes_left: int
    school: str
    school_consent: bool
    subjects: list[MeSubjectOut]


class MePlanOut(Schema):
    id: int
    centre: str
    address: str
    division: str
    subject: int
    vehicle_class: str
    exam_date: date
    starts_at: str
    places: int
    taken: int | None  # first come only: a lottery's places are allocated when the window closes
    method: str
    state: str
    window_opens_at: datetime
    window_closes_at: datetime
    cancel_until: datetime
    subject2_items: list[str]
    pass_mark: int


class MeResultOut(Schema):
    attempt: int
    outcome: str
    score: int | None
    taken_on: date


class MeApplicationOut(Schema):
    id: int
    number: str
    permit_id: int
    subject: int
    state: str
    state_zh: str
    state_en: str
    priority: int | None
    rank: int | None
    by_school: bool
    plan: MePlanOut
    created_at: datetime
    decided_at: datetime | None
    cancelled_at: datetime | None
    cancellable: bool
    results: list[MeResultOut]


class MeApplicationPage(Schema):
    items: list[MeApplicationOut]
    next_cursor: int | None


class ConsentIn(InputSchema):
    consent: bool


class LocationIn(InputSchema):
    division: str = Field(..., max_length=6)


class ApplicationIn(InputSchema):
    permit_id: int
    plan_id: int


def me_refusal_out(refusal: rules.Refusal | None) -> dict[str, Any] | None:
    if refusal is None:
        return None
    return {
        "code": refusal.code,
        "message_zh": refusal.zh,
        "message_en": refusal.en,
        "opens_on": refusal.opens_on,
    }


def me_permit_out(permit: LearnerPermit) -> dict[str, Any]:
    status = selectors.permit_status(permit)
    return {
        "id": permit.pk,
        "number": permit.number,
        "vehicle_class": permit.vehicle_class,
        "kind": permit.kind,
        "state": permit.state,
        "issued_on": permit.issued_on,
        "valid_until": permit.valid_until,
        "test_division": permit.test_division,
        "location_changes": permit.location_changes,
        "location_changes_left": status["location_changes_left"],
        "school": permit.school.name if permit.school_id else "",  # type: ignore[union-attr]
        "school_consent": permit.school_consent_at is not None,
        "subjects": [{**s, "refusal": me_refusal_out(s["refusal"])} for s in status["subjects"]],
    }


def me_plan_out(plan: ExamPlan) -> dict[str, Any]:
    facts = selectors.plan_choice_facts(plan)
    return {
        "id": plan.pk,
        "centre": facts["centre"],
        "address": facts["address"],
        "division": plan.division,
        "subject": plan.subject,
        "vehicle_class": plan.vehicle_class,
        "exam_date": plan.exam_date,
        "starts_at": plan.starts_at.strftime("%H:%M"),
        "places": plan.places,
        "taken": facts["taken"],
        "method": plan.method,
        "state": plan.state,
        "window_opens_at": plan.window_opens_at,
        "window_closes_at": plan.window_closes_at,
        "cancel_until": plan.cancel_until,
        "subject2_items": [zh for zh, _en in facts["items"]],
        "pass_mark": facts["pass_mark"],
    }


_ME_STATE_WORDS = {s.value: s.label.split(" ", 1) for s in ExamApplication.State}


def me_application_out(application: ExamApplication, *, new: bool = False) -> dict[str, Any]:
    """An application as its learner reads it; ``new``: just made, so no results to read (the
    answer under a rush costs no second read)."""
    zh, en = _ME_STATE_WORDS[application.state]
    return {
        "id": application.pk,
        "number": application.number,
        "permit_id": application.permit_id,
        "subject": application.subject,
        "state": application.state,
        "state_zh": zh,
        "state_en": en,
        "priority": application.priority,
        "rank": application.rank,
        "by_school": application.school_id is not None,
        "plan": me_plan_out(application.plan),
        "created_at": application.created_at,
        "decided_at": application.decided_at,
        "cancelled_at": application.cancelled_at,
        "cancellable": selectors.cancellable(application),
        "results": []
        if new
        else [
            {"attempt": r.attempt, "outcome": r.outcome, "score": r.score, "taken_on": r.taken_on}
            for r in application.results.all()
        ],
    }


@router.get("/me/exam-permits", response={200: list[MePermitOut], **ERRORS}, auth=LEARNER_AUTH)
@access_required(services.VIEW_OWN)
def my_permits(request: HttpRequest) -> Any:
    """My learner permits (学习驾驶证明, B22): per subject, passed, bookings used of 5, the day
    applications open (X2) or the rule that refuses now, and the test-location changes left (X3)."""
    return [me_permit_out(p) for p in selectors.my_permits(actor=_caller(request))]


@router.post("/me/exam-permits/{permit_id}/consent", response={200: MePermitOut, **ERRORS}, auth=LEARNER_AUTH)
@access_required(services.APPLY)
def permit_consent(request: HttpRequest, permit_id: int, payload: ConsentIn) -> Any:
    """Let my driving school apply for exams for me (``{"consent": true}``), or withdraw that."""
    permit = services.permit_consent_set(
        actor=_caller(request),
        permit_id=permit_id,
        consent=payload.consent,
        request=request,
    )
    return 200, me_permit_out(selectors.my_permit(actor=_caller(request), permit_id=permit.pk))


@router.post(
    "/me/exam-permits/{permit_id}/test-location", response={200: MePermitOut, **ERRORS}, auth=LEARNER_AUTH
)
@access_required(services.APPLY)
def permit_location(request: HttpRequest, permit_id: int, payload: LocationIn) -> Any:
    """Move the test location (变更考试地) of a small car's permit to another city (X3): at most
    three times; 409 ``exams.location_changes_used_up`` after that, ``exams.location_not_remote``
    for other classes, ``exams.location_active_application`` while an application is active."""
    permit = services.permit_location_change(
        actor=_caller(request),
        permit_id=permit_id,
        new_division=payload.division,
        request=request,
    )
    return 200, me_permit_out(selectors.my_permit(actor=_caller(request), permit_id=permit.pk))


@router.post("/me/exam-applications", response={201: MeApplicationOut, **ERRORS}, auth=LEARNER_AUTH)
@access_required(services.APPLY)
def apply(request: HttpRequest, payload: ApplicationIn) -> Any:
    """Apply for a place in an exam plan (考试预约, B22) for my own permit. A first-come plan
    answers ``allocated`` or 409 ``exams.plan_full`` at once; a lottery plan ``applied`` until the
    window closes. Refusals carry the rule and, where waiting helps, ``detail.opens_on``: too early
    (X2), past the permit, 5 bookings used, an active application in the subject, window closed;
    404 for a permit that is not mine; 429 with ``Retry-After`` for too many attempts.
    Accepts ``Idempotency-Key``: a retry answers the first answer and makes no second row."""

    def call() -> tuple[int, Any]:
        application = services.application_create(
            actor=_caller(request),
            permit_id=payload.permit_id,
            plan_id=payload.plan_id,
            client=client_address(request),
            request=request,
        )
        return 201, me_application_out(application, new=True)

    return run_idempotent(request, scope="exam-applications", body=payload.dict(), call=call)


@router.get("/me/exam-applications", response={200: MeApplicationPage, **ERRORS}, auth=LEARNER_AUTH)
@access_required(services.VIEW_OWN)
def my_applications(request: HttpRequest, cursor: int = 0, limit: int = Query(20, ge=1, le=100)) -> Any:
    """My exam applications, newest first, with plan, state, rank and results; ``next_cursor``
    is the ``cursor`` of the next page (null at the end)."""
    rows, next_cursor = selectors.my_applications(actor=_caller(request), cursor=cursor, limit=limit)
    return {"items": [me_application_out(a) for a in rows], "next_cursor": next_cursor}


@router.get(
    "/me/exam-applications/{application_id}", response={200: MeApplicationOut, **ERRORS}, auth=LEARNER_AUTH
)
@access_required(services.VIEW_OWN)
def my_application(request: HttpRequest, application_id: int) -> Any:
    return me_application_out(selectors.my_application(actor=_caller(request), application_id=application_id))


@router.post(
    "/me/exam-applications/{application_id}/cancellation",
    response={200: MeApplicationOut, **ERRORS},
    auth=LEARNER_AUTH,
)
@access_required(services.APPLY)
def cancel(request: HttpRequest, application_id: int) -> Any:
    """Cancel my application or booking (取消考试预约, B23) until the plan's cancel deadline
    (409 ``exams.cancel_deadline_passed`` after it); a freed place goes to the waiting list in
    order. Accepts ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        services.application_cancel(actor=_caller(request), application_id=application_id, request=request)
        return 200, me_application_out(
            selectors.my_application(actor=_caller(request), application_id=application_id)
        )

    return run_idempotent(
        request, scope="exam-application-cancel", body={"application_id": application_id}, call=call
    )


# ---------------------------------------------------------------- driving schools


class SchoolLearnerOut(Schema):
    permit_id: int
    number: str
    name: str
    id_number: str  # masked
    vehicle_class: str
    state: str
    issued_on: date | None
    valid_until: date | None
    test_division: str
    consent: bool
    consent_at: datetime | None


class SchoolApplicationOut(MeApplicationOut):
    learner_name: str
    learner_id_number: str  # masked


class SchoolApplicationPage(Schema):
    items: list[SchoolApplicationOut]
    next_cursor: int | None


def school_application_out(application: ExamApplication) -> dict[str, Any]:
    return {
        **me_application_out(application),
        "learner_name": application.person.name,
        "learner_id_number": mask_id_number(application.person.id_number),
    }


@router.get("/school/learners", response={200: list[SchoolLearnerOut], **ERRORS}, auth=LEARNER_AUTH)
@access_required(services.SCHOOL_VIEW)
def school_learners(request: HttpRequest, limit: int = Query(200, ge=1, le=1000)) -> Any:
    """A driving school's learners (permits naming the school), identity numbers masked, with
    whether each learner lets the school apply for them (consent, issue 16 §3)."""
    school = services.school_of(actor=_caller(request))
    return [
        {
            "permit_id": p.pk,
            "number": p.number,
            "name": p.person.name,
            "id_number": mask_id_number(p.person.id_number),
            "vehicle_class": p.vehicle_class,
            "state": p.state,
            "issued_on": p.issued_on,
            "valid_until": p.valid_until,
            "test_division": p.test_division,
            "consent": p.school_consent_at is not None,
            "consent_at": p.school_consent_at,
        }
        for p in selectors.school_learners(school=school)[:limit]
    ]


@router.post("/school/exam-applications", response={201: SchoolApplicationOut, **ERRORS}, auth=LEARNER_AUTH)
@access_required(services.SCHOOL_APPLY)
def school_apply(request: HttpRequest, payload: ApplicationIn) -> Any:
    """Apply for a place for one of the school's learners who consented (403 ``exams.no_consent``
    otherwise; 404 for a learner of another school). The same rules and refusals as a learner's
    own application; the consent it was made under is recorded. Accepts ``Idempotency-Key``."""
    school = services.school_of(actor=_caller(request))

    def call() -> tuple[int, Any]:
        application = services.application_create(
            actor=_caller(request),
            permit_id=payload.permit_id,
            plan_id=payload.plan_id,
            client=client_address(request),
            request=request,
        )
        return 201, school_application_out(
            selectors.school_application(school=school, application_id=application.pk)
        )

    return run_idempotent(request, scope="school-exam-applications", body=payload.dict(), call=call)


@router.get("/school/exam-applications", response={200: SchoolApplicationPage, **ERRORS}, auth=LEARNER_AUTH)
@access_required(services.SCHOOL_VIEW)
def school_applications(request: HttpRequest, cursor: int = 0, limit: int = Query(20, ge=1, le=100)) -> Any:
    """The applications of the school's learners (by the school or the learner), newest first,
    with ranks and results."""
    school = services.school_of(actor=_caller(request))
    rows, next_cursor = selectors.school_applications(school=school, cursor=cursor, limit=limit)
    return {"items": [school_application_out(a) for a in rows], "next_cursor": next_cursor}


@router.post(
    "/school/exam-applications/{application_id}/cancellation",
    response={200: SchoolApplicationOut, **ERRORS},
    auth=LEARNER_AUTH,
)
@access_required(services.SCHOOL_APPLY)
def school_cancel(request: HttpRequest, application_id: int) -> Any:
    """Cancel an application of a consenting learner of the school until the deadline (B23).
    Accepts ``Idempotency-Key``."""
    school = services.school_of(actor=_caller(request))

    def call() -> tuple[int, Any]:
        services.application_cancel(actor=_caller(request), application_id=application_id, request=request)
        return 200, school_application_out(
            selectors.school_application(school=school, application_id=application_id)
        )

    return run_idempotent(
        request, scope="school-exam-application-cancel", body={"application_id": application_id}, call=call
    )


# ---------------------------------------------------------------- centres' results


class ExamResultIn(InputSchema):
    application_number: str = Field(..., max_length=20)
    outcome: str = Field("", description='"" (from the score), "passed", "failed" or "missed" (absent)')
    score: int | None = Field(None, ge=0, le=100)
    examiner: str = Field("", max_length=32, description="the examiner's staff number at the centre")
    taken_on: date | None = None


class ExamResultOut(Schema):
    id: int
    application_number: str
    attempt: int
    outcome: str
    score: int | None
    taken_on: date
    booking_state: str
    retake_left: bool


@router.post(
    "/exam-results", response={201: ExamResultOut, **ERRORS}, auth=ClientCredentials(SCOPE_EXAM_RESULTS)
)
def exam_result(request: HttpRequest, payload: ExamResultIn) -> Any:
    """A centre reports one attempt's result (考试成绩上报, issue 16 §6) with its API client (HTTP
    Basic, scope ``exams:results``, bound to the centre): by application number, a score or
    ``missed``. The attempt is the next the booking allows (the retake after a fail). 404 for a
    booking of another centre; 409 ``exams.not_allocated`` for a learner who holds no place.
    ``Idempotency-Key`` makes a retry answer the first answer."""
    client = request.auth  # type: ignore[attr-defined]

    def call() -> tuple[int, Any]:
        result = services.result_record(
            client=client,
            data=services.ResultInput(
                application_number=payload.application_number, outcome=payload.outcome, score=payload.score,
                examiner=payload.examiner, taken_on=payload.taken_on,
            ),
            request=request,
        )  # fmt: skip
        booking = result.application
        booking.refresh_from_db(fields=["state"])
        return 201, {
            "id": result.pk,
            "application_number": booking.number,
            "attempt": result.attempt,
            "outcome": result.outcome,
            "score": result.score,
            "taken_on": result.taken_on,
            "booking_state": booking.state,
            "retake_left": booking.state == "allocated",
        }

    return run_idempotent(
        request, scope="exam-results", body=payload.dict(), call=call, owner=f"client:{client.client_id}"
    )
