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
from jiaoguan.core.api import ErrorOut, InputSchema, run_idempotent

from . import selectors, services

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


# ---------------------------------------------------------------- driving schools


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
