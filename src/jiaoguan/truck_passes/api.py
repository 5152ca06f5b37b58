"""Truck pass code endpoints (货车通行码, O1, O1a): the published restriction rules for everyone,
and my codes: apply (Idempotency-Key), list with the TK1 QR text, cancel. Thin handlers over
``services`` and ``selectors``."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.errors import DomainError

from . import rules, selectors, services, tokens
from .models import RestrictionZone, TruckPass

router = Router(tags=["truck-passes"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}
ME_AUTH = [BearerToken(), SessionUser()]


def caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class WindowOut(Schema):
    days: list[int]  # 1 Monday .. 7 Sunday
    start: str  # "07:00"
    end: str  # "09:00" ("24:00": to midnight)


class ZoneOut(Schema):
    id: int
    city: str  # GB/T 2260 code
    name: str
    kind: str  # city | core | ordinary
    individual_road: bool
    roads: str
    vehicle_kinds: list[str]
    closed_windows: list[WindowOut]
    version: int


def zone_out(zone: RestrictionZone) -> dict[str, Any]:
    return {
        "id": zone.pk, "city": zone.division, "name": zone.name, "kind": zone.kind,
        "individual_road": zone.individual_road, "roads": zone.roads, "vehicle_kinds": list(zone.vehicle_kinds),
        "closed_windows": [
            {"days": sorted(w.days), "start": rules.hhmm(w.start), "end": rules.hhmm(w.end)} for w in zone.closed()
        ],
        "version": zone.version,
    }  # fmt: skip


@router.get("/truck-rules", response={200: list[ZoneOut]}, auth=None)
def truck_rules(request: HttpRequest, city: str = "") -> Any:
    """The published truck restriction zones (O1a), of one ``city`` (GB/T 2260 code) if given."""
    return [zone_out(z) for z in selectors.published_zones(division=city[:6])[:200]]


class PassOut(Schema):
    id: int
    number: str
    plate: str
    zone_id: int
    zone: str
    window: str  # "07:00-09:00"
    weekdays: list[int]
    valid_from: date
    valid_until: date
    status: str  # valid | not_yet | expired | revoked
    blacklisted: bool
    token: str  # the TK1 QR text ("" once revoked or expired)


def pass_out(truck_pass: TruckPass) -> dict[str, Any]:
    state = tokens.pass_state(truck_pass)
    try:
        token = tokens.pass_token(truck_pass=truck_pass).text if state in ("valid", "not_yet") else ""
    except DomainError:
        token = ""
    return {
        "id": truck_pass.pk, "number": truck_pass.number, "plate": truck_pass.plate_number,
        "zone_id": truck_pass.zone_id, "zone": truck_pass.zone.name,
        "window": f"{rules.hhmm(truck_pass.start)}-{rules.hhmm(truck_pass.end)}", "weekdays": list(truck_pass.weekdays),
        "valid_from": truck_pass.valid_from, "valid_until": truck_pass.valid_until, "status": state,
        "blacklisted": truck_pass.blacklisted, "token": token,
    }  # fmt: skip


class RefusedOut(Schema):
    plate: str
    reason_zh: str
    reason_en: str


class ApplicationOut(Schema):
    id: int
    passes: list[PassOut]
    refused: list[RefusedOut]
    blacklist_reason_zh: str
    blacklist_reason_en: str


class ApplyIn(InputSchema):
    zone_id: int
    plates: list[str] = Field(..., min_length=1, max_length=rules.MAX_VEHICLES_PER_APPLICATION)
    start: str = Field(..., max_length=5)  # "07:00"
    end: str = Field(..., max_length=5)
    valid_from: date
    days: int = Field(..., ge=1, le=rules.MAX_PASS_DAYS)


@router.post("/me/truck-passes", response={201: ApplicationOut, **ERRORS}, auth=ME_AUTH)
@access_required(selectors.APPLY)
def pass_apply(request: HttpRequest, payload: ApplyIn) -> Any:
    """Apply for truck pass codes: one published zone, a daily window inside one of its closed
    windows, one or more of my trucks (a company: its fleet). Issued at once within the rules and
    the quota; ``refused`` lists trucks given no code, with the reason; a blacklisted company or
    truck gets fewer codes and shorter validity, ``blacklist_reason_*`` says why. Refused with
    nothing saved: 404 ``truck_passes.zone.not_published``; 422 ``truck_passes.window.outside``,
    ``truck_passes.not_your_truck``, ``truck_passes.dates``; 409 ``truck_passes.none_issued``.
    Accepts ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        decision = services.pass_apply(
            actor=caller(request), zone_id=payload.zone_id, plates=payload.plates, start=payload.start,
            end=payload.end, valid_from=payload.valid_from, days=payload.days,
        )  # fmt: skip
        application = decision.application
        return 201, {
            "id": application.pk,
            "passes": [pass_out(p) for p in decision.passes],
            "refused": [
                {"plate": r["plate"], "reason_zh": r["zh"], "reason_en": r["en"]} for r in decision.refused
            ],
            "blacklist_reason_zh": application.reason_zh,
            "blacklist_reason_en": application.reason_en,
        }

    return run_idempotent(request, scope="truck-passes", body=payload.model_dump(mode="json"), call=call)


@router.get("/me/truck-passes", response={200: list[PassOut], **ERRORS}, auth=ME_AUTH)
@access_required(selectors.APPLY)
def my_passes(request: HttpRequest) -> Any:
    """My truck pass codes, newest first (at most 100), each with its TK1 QR text while in force."""
    return [pass_out(p) for p in selectors.my_passes(actor=caller(request))[: selectors.LIST_LIMIT]]


@router.post("/me/truck-passes/{pass_id}/cancellation", response={200: PassOut, **ERRORS}, auth=ME_AUTH)
@access_required(selectors.APPLY)
def pass_cancel(request: HttpRequest, pass_id: int) -> Any:
    """Cancel one of my codes; its QR answers revoked at once. Accepts ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        return 200, pass_out(services.pass_cancel(actor=caller(request), pass_id=pass_id))

    return run_idempotent(request, scope="truck-pass-cancel", body={"id": pass_id}, call=call)
