"""Registry endpoints: my vehicles and my licences with every Q1/Q2 status."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, personal_json, run_idempotent

from . import selectors, services
from .rules import MEDICAL_CERTIFICATE_VALID

router = Router(tags=["registry"])
AUTH = [BearerToken(), SessionUser()]


class StatusCodeOut(Schema):
    code: str
    zh: str
    en: str


class AlertOut(Schema):
    level: str
    code: str
    zh: str
    en: str


class VehicleOut(Schema):
    id: int
    plate_number: str | None
    plate_type: str
    plate_type_label: str
    plate_colour: str
    vin_masked: str
    kind: str
    kind_zh: str
    kind_en: str
    use_nature: str
    use_zh: str
    use_en: str
    brand_model: str
    registered_on: date
    statuses: list[StatusCodeOut]
    inspection_valid_until: date
    inspection_state: str
    next_inspection_on_site: bool
    scrapping_date: date | None
    scrapping_within_a_year: bool
    scrapping_known: bool
    is_key_vehicle: bool
    owner_masked: str
    alerts: list[AlertOut]
    mortgaged: bool = False  # a mortgage in force (抵押登记, O6)
    mortgagee_name: str = ""


class LicenceClassOut(Schema):
    code: str
    zh: str
    en: str


class LicenceOut(Schema):
    id: int
    number_masked: str
    archive_number: str
    holder_masked: str
    classes: list[LicenceClassOut]
    statuses: list[StatusCodeOut]
    first_issued_on: date
    valid_from: date
    valid_until: date | None
    validity_term: str
    renewal_state: str
    renewal_window_start: date | None
    points_in_cycle: int
    points_limit: int
    cycle_start: date
    cycle_end: date
    points_warning: str | None
    probation_end: date | None
    on_probation: bool
    review_due: date | None
    medical_due: date | None
    age_limit_exchange: dict[str, str]
    alerts: list[AlertOut]


class VehiclePage(Schema):
    items: list[VehicleOut]
    next_cursor: int | None


class LicencePage(Schema):
    items: list[LicenceOut]
    next_cursor: int | None


@router.get("/me/vehicles", response={200: VehiclePage, 401: ErrorOut, 403: ErrorOut}, auth=AUTH)
@access_required("registry.own.view")
def my_vehicles(request: HttpRequest, cursor: int = 0, limit: int = 20) -> Any:
    """My vehicles with status codes, inspection validity and scrapping date (Q1)."""
    limit, cursor = max(1, min(limit, 100)), max(cursor, 0)

    def build() -> dict[str, Any]:
        qs = selectors.my_vehicles_for_status(user=request.auth).filter(pk__gt=cursor).order_by("pk")  # type: ignore[attr-defined]
        rows = list(qs[: limit + 1])
        today = timezone.localdate()
        items = [asdict(selectors.vehicle_status(v, today=today)) for v in rows[:limit]]
        return {"items": items, "next_cursor": rows[limit - 1].pk if len(rows) > limit else None}

    return personal_json(request, "me.vehicles", (cursor, limit), VehiclePage, build)


@router.get("/me/licences", response={200: LicencePage, 401: ErrorOut, 403: ErrorOut}, auth=AUTH)
@access_required("registry.own.view")
def my_licences(request: HttpRequest) -> Any:
    """My driving licence with status, validity, points, probation, review and medical dates (Q2)."""

    def build() -> dict[str, Any]:
        today = timezone.localdate()
        items = []
        for licence in selectors.my_licences(user=request.auth):  # type: ignore[attr-defined]
            data = asdict(selectors.licence_status(licence, today=today))
            data["classes"] = [{"code": c, "zh": zh, "en": en} for c, zh, en in data["classes"]]
            items.append(data)
        return {"items": items, "next_cursor": None}

    return personal_json(request, "me.licences", (), LicencePage, build)


# ---------------------------------------------------------------- hospital examinations (issue 13, B6/B7)

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class ExaminationIn(InputSchema):
    """The national form's fields (《机动车驾驶人身体条件证明》) and the driver's identity."""

    id_type: str = "resident_id"
    id_number: str
    name: str
    classes_applied: str
    height_cm: int
    vision_left: Decimal
    vision_right: Decimal
    corrected_vision_left: Decimal | None = None
    corrected_vision_right: Decimal | None = None
    colour_vision_ok: bool
    hearing_left_ok: bool
    hearing_right_ok: bool
    hearing_aid: bool = False
    upper_limbs: str
    lower_limbs: str
    trunk_neck_ok: bool
    declared_conditions: list[str] = []
    doctor_name: str
    examined_on: date
    conclusion: str


class ConditionOut(Schema):
    code: str
    zh: str
    en: str


class ExaminationOut(Schema):
    id: int
    state: str
    hospital_name: str
    driver_masked: str
    id_number_masked: str
    classes_applied: str
    fit_classes: str
    height_cm: int
    vision_left: Decimal
    vision_right: Decimal
    corrected_vision_left: Decimal | None
    corrected_vision_right: Decimal | None
    colour_vision_ok: bool
    hearing_left_ok: bool
    hearing_right_ok: bool
    hearing_aid: bool
    upper_limbs: str
    lower_limbs: str
    trunk_neck_ok: bool
    declared_conditions: list[ConditionOut]
    doctor_name: str
    examined_on: date
    conclusion: str
    recorded_at: datetime
    submitted_at: datetime | None


class ExaminationSummaryOut(Schema):
    """A list row: no findings, so listing is no read of a driver's health data (the detail is audited)."""

    id: int
    state: str
    driver_masked: str
    id_number_masked: str
    classes_applied: str
    examined_on: date
    conclusion: str
    recorded_at: datetime
    submitted_at: datetime | None


class ExaminationPage(Schema):
    items: list[ExaminationSummaryOut]
    next_cursor: int | None


class CertificateOut(Schema):
    id: int
    hospital_name: str
    examined_on: date
    classes_applied: str
    conclusion: str
    submitted_at: datetime
    valid_until: date


class CertificatePage(Schema):
    items: list[CertificateOut]


def _examination_json(examination: Any) -> dict[str, Any]:
    return selectors.medical_examination_view(examination)


@router.post("/hospital/examinations", response={201: ExaminationOut, **ERRORS}, auth=AUTH)
@access_required("registry.medical.record")
def record_examination(request: HttpRequest, payload: ExaminationIn) -> Any:
    """Record a driver's physical examination at my hospital (B6). Accepts ``Idempotency-Key``.

    The driver is named by document number and name; both must match a licence holder, else
    422 ``registry.medical.driver_mismatch``. Only hospital organisation users (403 otherwise).
    """

    def call() -> tuple[int, Any]:
        examination = services.medical_examination_record(
            actor=request.auth,  # type: ignore[attr-defined]
            data=payload.dict(),
            request=request,
        )
        return 201, _examination_json(examination)

    return run_idempotent(request, scope="hospital-examinations", body=payload.dict(), call=call)


@router.get("/hospital/examinations", response={200: ExaminationPage, **ERRORS}, auth=AUTH)
@access_required("registry.medical.view")
def list_examinations(request: HttpRequest, cursor: int = 0, limit: int = 20) -> Any:
    """My hospital's examinations, newest first, as summaries; a clerk sees those of licences of the
    jurisdiction. The findings are read one at a time (``GET .../{id}``, audited)."""
    limit = max(1, min(limit, 100))
    qs = selectors.hospital_examinations(actor=request.auth)  # type: ignore[attr-defined]
    if cursor > 0:
        qs = qs.filter(pk__lt=cursor)
    rows = list(qs.order_by("-pk")[: limit + 1])
    items = [_examination_json(e) for e in rows[:limit]]
    return {"items": items, "next_cursor": rows[limit - 1].pk if len(rows) > limit else None}


@router.get("/hospital/examinations/{examination_id}", response={200: ExaminationOut, **ERRORS}, auth=AUTH)
@access_required("registry.medical.view")
def get_examination(request: HttpRequest, examination_id: int) -> Any:
    """One examination (the read is audited); another hospital's is 404."""
    examination = services.medical_examination_read(
        actor=request.auth,  # type: ignore[attr-defined]
        examination_id=examination_id,
        request=request,
    )
    return _examination_json(examination)


@router.post(
    "/hospital/examinations/{examination_id}/certificate",
    response={200: ExaminationOut, **ERRORS},
    auth=AUTH,
)
@access_required("registry.medical.submit")
def submit_certificate(request: HttpRequest, examination_id: int) -> Any:
    """Submit the examination as the driver's physical-condition certificate (B7).

    Sets the licence's medical date; repeating it answers the same certificate. An "unfit"
    examination, or one more than six months old, is 422.
    """
    examination = services.medical_certificate_submit(
        actor=request.auth,  # type: ignore[attr-defined]
        examination_id=examination_id,
        request=request,
    )
    return 200, _examination_json(examination)


@router.get("/me/medical-certificates", response={200: CertificatePage, **ERRORS}, auth=AUTH)
@access_required("registry.own.view")
def my_medical_certificates(request: HttpRequest) -> Any:
    """The physical-condition certificates hospitals submitted for my licence, newest first."""

    def build() -> dict[str, Any]:
        rows = selectors.my_medical_certificates(user=request.auth)[:50]  # type: ignore[attr-defined]
        return {
            "items": [
                {
                    "id": e.pk,
                    "hospital_name": e.hospital.name,
                    "examined_on": e.examined_on,
                    "classes_applied": e.classes_applied,
                    "conclusion": e.conclusion,
                    "submitted_at": e.submitted_at,
                    "valid_until": e.examined_on + MEDICAL_CERTIFICATE_VALID,
                }
                for e in rows
            ]
        }

    return personal_json(request, "me.medical_certificates", (), CertificatePage, build)
