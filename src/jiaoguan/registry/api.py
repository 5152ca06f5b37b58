"""Registry endpoints: my vehicles and my licences with every Q1/Q2 status."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, SessionUser, personal_json

from . import selectors

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
