"""Overseas relief endpoints (出国（境）人员恢复驾驶资格, O4): the driver applies with the
physical-condition certificate and follows the case. Thin handlers over ``services`` and
``selectors``."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import File, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.identifiers import mask_id_number, mask_name

from . import selectors, services
from .models import CERTIFICATE_MAX_BYTES, ReliefCase

router = Router(tags=["overseas-relief"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
    503: ErrorOut,
}
ME_AUTH = [BearerToken(), SessionUser()]

_STATE_WORDS = {s.value: s.label.split(" ", 1) for s in ReliefCase.State}


def caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class ReliefCaseOut(Schema):
    id: int
    number: str
    state: str  # submitted | accepted | restored | rejected
    state_zh: str
    state_en: str
    path: str  # direct | after_subject_1
    waiting_for_subject_1: bool
    status_at_application: str
    cancelled_on: date
    first_return_on: date
    apply_by: date
    subject_1_passed_on: date | None
    submitted_at: datetime
    accepted_at: datetime | None
    approved_at: datetime | None
    rejected_at: datetime | None
    reject_reason: str


def case_out(case: ReliefCase) -> dict[str, Any]:
    zh, en = _STATE_WORDS[case.state]
    return {
        "id": case.pk,
        "number": case.number,
        "state": case.state,
        "state_zh": zh,
        "state_en": en,
        "path": case.path,
        "waiting_for_subject_1": case.path == ReliefCase.Path.AFTER_SUBJECT_1
        and case.state in ReliefCase.OPEN_STATES
        and case.subject_1_passed_on is None,
        "status_at_application": case.status_at_application,
        "cancelled_on": case.cancelled_on,
        "first_return_on": case.first_return_on,
        "apply_by": case.apply_by,
        "subject_1_passed_on": case.subject_1_passed_on,
        "submitted_at": case.submitted_at,
        "accepted_at": case.accepted_at,
        "approved_at": case.approved_at,
        "rejected_at": case.rejected_at,
        "reject_reason": case.reject_reason,
    }


@router.post("/me/overseas-reliefs", response={201: ReliefCaseOut, **ERRORS}, auth=ME_AUTH)
@access_required(selectors.APPLY)
def relief_apply(request: HttpRequest, certificate: File[UploadedFile]) -> Any:
    """Apply to restore my licence cancelled while I was abroad (multipart, ``certificate``: the
    physical-condition certificate, JPEG, PNG or PDF, at most 2 MB). The exit and entry records are
    checked. Refused with nothing saved: 503 ``overseas_relief.records_unavailable``; 409
    ``licence.relief.status``, ``licence.relief.cause``, ``licence.relief.period``,
    ``licence.relief.not_abroad``, ``licence.relief.too_late`` (the message names the last day),
    ``overseas_relief.open_case``; 422 ``upload.*``. A G licence gives ``path`` ``after_subject_1``
    and ``waiting_for_subject_1`` until a subject 1 pass is on record. Accepts ``Idempotency-Key``."""
    certificate.seek(0)
    content = certificate.read(CERTIFICATE_MAX_BYTES + 1)

    def call() -> tuple[int, Any]:
        case = services.case_apply(
            actor=caller(request),
            certificate=services.Certificate(content=content, filename=certificate.name or ""),
        )
        return 201, case_out(case)

    body = {"certificate_sha256": hashlib.sha256(content).hexdigest()}
    return run_idempotent(request, scope="overseas-reliefs", body=body, call=call)


@router.get("/me/overseas-reliefs", response={200: list[ReliefCaseOut], **ERRORS}, auth=ME_AUTH)
@access_required(selectors.APPLY)
def my_reliefs(request: HttpRequest) -> Any:
    """My overseas relief cases, newest first (at most 100)."""
    return [case_out(c) for c in selectors.my_cases(actor=caller(request))[: selectors.LIST_LIMIT]]


# ---------------------------------------------------------------- counter: clerks and heads of unit


class CounterCaseOut(ReliefCaseOut):
    driver_name: str  # masked in lists
    driver_id_number: str  # masked in lists
    division: str
    accepted_by: str
    approved_by: str


class ReasonIn(InputSchema):
    reason: str = Field(..., max_length=200)


def counter_case_out(case: ReliefCase) -> dict[str, Any]:
    return {
        **case_out(case),
        "driver_name": mask_name(case.person.name),
        "driver_id_number": mask_id_number(case.person.id_number),
        "division": case.division,
        "accepted_by": case.accepted_by.username if case.accepted_by else "",
        "approved_by": case.approved_by.username if case.approved_by else "",
    }


@router.get("/counter/overseas-reliefs", response={200: list[CounterCaseOut], **ERRORS}, auth=ME_AUTH)
@access_required(selectors.VIEW)
def counter_cases(request: HttpRequest, state: str = "") -> Any:
    """Cases of my jurisdiction, newest first (at most 100), optionally of one ``state``; names
    and ID numbers masked."""
    rows = selectors.cases_for_staff(actor=caller(request), state=state[:12]).select_related(
        "accepted_by", "approved_by"
    )
    return [counter_case_out(c) for c in rows[: selectors.LIST_LIMIT]]


@router.post(
    "/counter/overseas-reliefs/{case_id}/acceptance", response={200: CounterCaseOut, **ERRORS}, auth=ME_AUTH
)
@access_required(selectors.ACCEPT)
def counter_accept(request: HttpRequest, case_id: int) -> Any:
    """业务受理岗 accepts a submitted case (409 ``overseas_relief.state`` when it moved on)."""
    services.case_accept(actor=caller(request), case_id=case_id, request=request)
    return counter_case_out(selectors.case_get(case_id=case_id))


@router.post(
    "/counter/overseas-reliefs/{case_id}/approval", response={200: CounterCaseOut, **ERRORS}, auth=ME_AUTH
)
@access_required(selectors.APPROVE)
def counter_approve(request: HttpRequest, case_id: int) -> Any:
    """The head of the unit approves an accepted case and the licence is restored. 409
    ``overseas_relief.four_eyes`` for whoever accepted it, ``overseas_relief.subject_1_pending``
    for a G licence without a subject 1 pass after the cancellation."""
    services.case_approve(actor=caller(request), case_id=case_id, request=request)
    return counter_case_out(selectors.case_get(case_id=case_id))


@router.post(
    "/counter/overseas-reliefs/{case_id}/rejection", response={200: CounterCaseOut, **ERRORS}, auth=ME_AUTH
)
@access_required(selectors.VIEW)
def counter_reject(request: HttpRequest, case_id: int, payload: ReasonIn) -> Any:
    """Reject with a ``reason``: the clerk a submitted case, the head an accepted one."""
    services.case_reject(actor=caller(request), case_id=case_id, reason=payload.reason, request=request)
    return counter_case_out(selectors.case_get(case_id=case_id))
