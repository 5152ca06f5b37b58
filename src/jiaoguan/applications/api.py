"""Business application endpoints (issue 13): the catalogue with the caller's eligibility, and
the applicant's own applications (submit, list, read with the timeline, withdraw, supplement,
add material). Thin handlers over ``applications.services``/``selectors``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from jiaoguan.core.access import access_required, require
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.cursors import decode_cursor, encode_cursor
from jiaoguan.core.errors import Unauthenticated
from jiaoguan.core.personal_reads import cached_read

from . import catalogue, eligibility, notify, rules, selectors, services
from .models import Application

router = Router(tags=["applications"])
AUTH = [BearerToken(), SessionUser()]
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    503: ErrorOut,
}


# ---------------------------------------------------------------- the catalogue


class NamedOut(Schema):
    code: str
    name_zh: str
    name_en: str


class EligibilityOut(Schema):
    allowed: bool
    code: str
    reason_zh: str
    reason_en: str
    remedy_zh: str
    remedy_en: str
    licence_id: int | None
    details: dict[str, Any]
    vehicle_id: int | None = None  # the vehicle the answer is for (vehicle businesses, issue 14)


class BusinessOut(Schema):
    code: str
    name_zh: str
    name_en: str
    materials: list[NamedOut]
    fee_fen: int
    delivery: list[NamedOut]
    eligibility: EligibilityOut | None  # null for an anonymous caller


def business_out(
    entry: catalogue.Entry, *, today: date, answer: eligibility.Eligibility | None
) -> dict[str, Any]:
    """One business of the catalogue as the API and the pages describe it."""
    return {
        "code": entry.code,
        "name_zh": entry.name_zh,
        "name_en": entry.name_en,
        "materials": [
            {
                "code": m.value,
                "name_zh": catalogue.MATERIAL_NAMES[m][0],
                "name_en": catalogue.MATERIAL_NAMES[m][1],
            }
            for m in entry.materials
        ],
        "fee_fen": catalogue.fee_on(entry.code, today),
        "delivery": [
            {
                "code": d.value,
                "name_zh": catalogue.DELIVERY_NAMES[d][0],
                "name_en": catalogue.DELIVERY_NAMES[d][1],
            }
            for d in entry.delivery
        ],
        "eligibility": None
        if answer is None
        else {
            "allowed": answer.allowed,
            "code": answer.code,
            "reason_zh": answer.reason_zh,
            "reason_en": answer.reason_en,
            "remedy_zh": answer.remedy_zh,
            "remedy_en": answer.remedy_en,
            "licence_id": answer.licence_id,
            "details": answer.details,
            "vehicle_id": answer.vehicle_id,
        },
    }


def _optional_caller(request: HttpRequest) -> Any:
    """The caller if they sent a token or have a session, else None; a bad token is 401, not anonymous."""
    if request.headers.get("Authorization"):
        user = BearerToken()(request)
        if user is None:
            raise Unauthenticated("auth.required", "请先登录。", "Log in first.")
        return user
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


@router.get("/businesses", response={200: list[BusinessOut], **ERRORS}, auth=None)
def businesses(request: HttpRequest) -> Any:
    """The businesses that can be applied for (issue 13): materials, today's fee in fen, delivery
    options, and for a logged-in caller whether they may apply now and, if not, why and what to do."""
    today = timezone.localdate()
    caller = _optional_caller(request)
    return [
        business_out(
            entry,
            today=today,
            answer=None
            if caller is None
            else eligibility.business_eligibility(actor=caller, business_code=entry.code, today=today),
        )
        for entry in catalogue.CATALOGUE.values()
        if not entry.by_system  # E2 is opened by the platform itself (issue 14)
    ]


# ---------------------------------------------------------------- my applications


class DeliveryIn(InputSchema):
    method: str = ""
    recipient_name: str = ""
    recipient_phone: str = ""
    address_division: str = ""
    address_line: str = ""


class ApplicationIn(InputSchema):
    business: str
    licence_id: int | None = None
    vehicle_id: int | None = None  # one of my vehicles, for B1, B2, B3, B20, B21 (issue 14)
    delivery: DeliveryIn = DeliveryIn()
    particulars: dict[str, Any] = {}
    note: str = ""


class NoteIn(InputSchema):
    note: str = ""


class StepOut(Schema):
    from_state: str
    to_state: str
    action: str
    at: datetime
    actor: str  # "车管所" for the DMV's staff, never a clerk's name
    actor_en: str
    note: str


class DeadlineOut(Schema):
    what: str  # "accept": the DMV's; "supplement": the applicant's
    due_on: date | None
    known: bool


class MaterialOut(Schema):
    id: int
    kind: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class ApplicationOut(Schema):
    id: int
    number: str
    business: str
    business_name_zh: str
    business_name_en: str
    state: str
    state_zh: str
    state_en: str
    licence_id: int | None
    vehicle_id: int | None = None
    plate_number: str = ""  # the vehicle's plate (not personal data here); empty without a vehicle
    delivery_method: str
    particulars: dict[str, Any]
    fee_fen: int
    fee_state: str  # none, due, paid
    waybill_number: str
    delivery_problem: str
    return_reason: str
    supplement_due_on: date | None
    reject_reason: str
    submitted_at: datetime
    created_at: datetime
    next_deadline: DeadlineOut | None
    timeline: list[StepOut] | None = None  # only on one application's own answer
    materials: list[MaterialOut] | None = None


class ApplicationPage(Schema):
    items: list[ApplicationOut]
    next_cursor: str | None


def application_out(app: Application, *, full: bool = False) -> dict[str, Any]:
    entry = catalogue.entry(app.business_code)
    state_zh, state_en = rules.STATE_NAMES.get(rules.State(app.state), (app.state, app.state))
    deadline = selectors.next_deadline(app)
    out: dict[str, Any] = {
        "id": app.pk,
        "number": app.number,
        "business": app.business_code,
        "business_name_zh": entry.name_zh,
        "business_name_en": entry.name_en,
        "state": app.state,
        "state_zh": state_zh,
        "state_en": state_en,
        "licence_id": app.licence_id,
        "vehicle_id": app.vehicle_id,
        "plate_number": selectors.plate_of(app),
        "delivery_method": app.delivery_method,
        "particulars": app.particulars,
        "fee_fen": app.fee_fen,
        "fee_state": selectors.fee_state(app),
        "waybill_number": app.waybill_number,
        "delivery_problem": app.delivery_problem,
        "return_reason": app.return_reason,
        "supplement_due_on": app.supplement_due_on,
        "reject_reason": app.reject_reason,
        "submitted_at": app.submitted_at,
        "created_at": app.created_at,
        "next_deadline": None
        if deadline is None
        else {"what": deadline.what, "due_on": deadline.due_on, "known": deadline.known},
    }
    if full:
        out["timeline"] = [
            {
                "from_state": s.from_state,
                "to_state": s.to_state,
                "action": s.action,
                "at": s.at,
                "actor": s.actor_label_zh,
                "actor_en": s.actor_label_en,
                "note": s.note,
            }
            for s in selectors.applicant_timeline(app)
        ]
        out["materials"] = [
            {
                "id": m.pk,
                "kind": m.kind,
                "content_type": m.content_type,
                "size": m.size,
                "sha256": m.sha256,
                "uploaded_at": m.uploaded_at,
            }
            for m in selectors.application_materials(app)
        ]
    return out


_encode_cursor, _decode_cursor = encode_cursor, decode_cursor  # shared with the pages


def _full(request: HttpRequest, application_id: int) -> dict[str, Any]:
    app = selectors.my_application(actor=request.auth, application_id=application_id)  # type: ignore[attr-defined]
    return application_out(app, full=True)


@router.post("/me/applications", response={201: ApplicationOut, **ERRORS}, auth=AUTH)
@access_required("applications.own.apply")
def submit_application(request: HttpRequest, payload: ApplicationIn) -> Any:
    """Apply for a business of the catalogue (issue 13). Accepts ``Idempotency-Key``: a retry
    with the same key and body answers the first answer, a refusal included."""

    def call() -> tuple[int, Any]:
        app = services.application_submit(
            actor=request.auth,  # type: ignore[attr-defined]
            business_code=payload.business,
            licence_id=payload.licence_id,
            vehicle_id=payload.vehicle_id,
            delivery=services.DeliveryInput(**payload.delivery.dict()),
            particulars=payload.particulars,
            note=payload.note,
        )
        return 201, application_out(app, full=True)

    return run_idempotent(request, scope="applications", body=payload.dict(), call=call)


@router.get("/me/applications", response={200: ApplicationPage, **ERRORS}, auth=AUTH)
@access_required("applications.own.view")
def my_applications(request: HttpRequest, cursor: str = "", limit: int = selectors.PAGE_SIZE) -> Any:
    """My applications, newest first; pass ``next_cursor`` back as ``cursor`` for the next page.

    Kept in the shared cache while none of the caller's applications changes (applications/personal.py).
    """
    actor = request.auth  # type: ignore[attr-defined]
    after = _decode_cursor(cursor)

    def build() -> dict[str, Any]:
        page = selectors.my_applications(actor=actor, after=after, limit=limit)
        return {"items": [application_out(a) for a in page.items], "next_cursor": _encode_cursor(page.after)}

    require(actor, "applications.own.view")
    return cached_read(actor, "my-applications", (cursor, limit), build)


@router.get("/me/applications/{application_id}", response={200: ApplicationOut, **ERRORS}, auth=AUTH)
@access_required("applications.own.view")
def my_application(request: HttpRequest, application_id: int) -> Any:
    """One of my applications with its timeline, next deadline, fee, waybill and materials."""
    return _full(request, application_id)


@router.post(
    "/me/applications/{application_id}/withdrawal", response={200: ApplicationOut, **ERRORS}, auth=AUTH
)
@access_required("applications.own.apply")
def withdraw_application(request: HttpRequest, application_id: int, payload: NoteIn) -> Any:
    """Withdraw an application the DMV has not accepted yet."""
    services.application_withdraw(actor=request.auth, application_id=application_id, note=payload.note)  # type: ignore[attr-defined]
    return _full(request, application_id)


def _material(kind: str, upload: UploadedFile | None) -> tuple[services.MaterialInput, ...]:
    if upload is None:
        return ()
    upload.seek(0)
    return (
        services.MaterialInput(
            kind=kind, content=upload.read(services.MATERIAL_MAX_BYTES + 1), filename=upload.name or ""
        ),
    )


@router.post(
    "/me/applications/{application_id}/supplements", response={200: ApplicationOut, **ERRORS}, auth=AUTH
)
@access_required("applications.own.apply")
def supplement_application(
    request: HttpRequest,
    application_id: int,
    note: Form[str] = "",
    kind: Form[str] = "",
    file: UploadedFile | None = File(None),  # noqa: B008 - how django-ninja declares an optional file
) -> Any:
    """Hand in the supplement a returned application asks for (multipart): a note and, optionally,
    one file (``kind`` names the material). The file and the resubmission happen together or not at all."""
    services.application_supplement_with_materials(
        actor=request.auth,  # type: ignore[attr-defined]
        application_id=application_id,
        note=note,
        materials=_material(kind, file),
    )
    return _full(request, application_id)


@router.post("/me/applications/{application_id}/materials", response={201: MaterialOut, **ERRORS}, auth=AUTH)
@access_required("applications.own.apply")
def add_material(request: HttpRequest, application_id: int, kind: Form[str], file: File[UploadedFile]) -> Any:
    """Add a file (JPEG, PNG or PDF, at most 2 MB) to an application while it is submitted or returned."""
    (material,) = _material(kind, file)
    stored = services.material_add(
        actor=request.auth,  # type: ignore[attr-defined]
        application_id=application_id,
        material=material,
    )
    return 201, {
        "id": stored.pk,
        "kind": stored.kind,
        "content_type": stored.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
        "uploaded_at": stored.uploaded_at,
    }


# ---------------------------------------------------------------- messages about my applications


class MessageOut(Schema):
    id: int
    application_id: int
    text_zh: str
    text_en: str
    created_at: datetime
    read_at: datetime | None


@router.get("/me/application-messages", response={200: list[MessageOut], **ERRORS}, auth=AUTH)
@access_required("applications.own.view")
def my_messages(request: HttpRequest, unread_only: bool = False, limit: int = selectors.PAGE_SIZE) -> Any:
    """The in-app messages about my applications (one per step), newest first."""
    found = notify.my_messages(actor=request.auth, unread_only=unread_only, limit=limit)  # type: ignore[attr-defined]
    return [
        {
            "id": m.pk, "application_id": m.application_id, "text_zh": m.text_zh, "text_en": m.text_en,
            "created_at": m.created_at, "read_at": m.read_at,
        }
        for m in found
    ]  # fmt: skip


@router.post("/me/application-messages/{message_id}/read", response={200: MessageOut, **ERRORS}, auth=AUTH)
@access_required("applications.own.view")
def read_message(request: HttpRequest, message_id: int) -> Any:
    """Mark one of my messages read (again is harmless); someone else's is 404."""
    m = notify.message_mark_read(actor=request.auth, message_id=message_id)  # type: ignore[attr-defined]
    return {
        "id": m.pk, "application_id": m.application_id, "text_zh": m.text_zh, "text_en": m.text_en,
        "created_at": m.created_at, "read_at": m.read_at,
    }  # fmt: skip
