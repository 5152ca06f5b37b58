"""Inspection booking endpoints (B4, issue 14): stations and their slots (public facts), the
owner's bookings (book, list, read, change, cancel) and the stations' results (client
credentials, scope ``inspections:results``). Thin handlers over ``services``/``selectors``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from jiaoguan.accounts.clients import ClientCredentials
from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.errors import Unavailable
from jiaoguan.core.identifiers import mask_phone
from jiaoguan.registry.rules import VehicleKind

from . import rules, selectors, services
from .models import InspectionBooking, InspectionResult, InspectionSlot, InspectionStation

router = Router(tags=["inspections"])
AUTH = [BearerToken(), SessionUser()]
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    503: ErrorOut,
}


# ---------------------------------------------------------------- stations and slots


class StationOut(Schema):
    id: int
    name: str
    division: str
    address: str
    phone: str
    vehicle_kinds: list[str]


class SlotOut(Schema):
    id: int
    day: date
    half: str  # am | pm
    half_zh: str
    capacity: int
    booked: int
    free: int
    closed: bool


def station_out(station: InspectionStation) -> dict[str, Any]:
    return {
        "id": station.pk,
        "name": station.organisation.name,
        "division": station.division,
        "address": station.address,
        "phone": station.phone,
        "vehicle_kinds": station.kinds,
    }


def slot_out(slot: InspectionSlot) -> dict[str, Any]:
    return {
        "id": slot.pk,
        "day": slot.day,
        "half": slot.half,
        "half_zh": rules.Half(slot.half).label_zh,
        "capacity": slot.capacity,
        "booked": slot.booked,
        "free": slot.free,
        "closed": slot.capacity == 0,
    }


@router.get("/inspection-stations", response={200: list[StationOut], **ERRORS}, auth=None)
def stations(request: HttpRequest, division: str = "", kind: str = "") -> Any:
    """Active inspection stations (检验机构), optionally in a division (city or county code) and
    testing a vehicle kind (registry vehicle kind, e.g. ``small_passenger``)."""
    if kind and kind not in VehicleKind.__members__.values():
        kind = "-"  # an unknown kind matches no station rather than every one
    return [station_out(s) for s in selectors.stations_list(division=division, kind=kind)[:200]]


_FROM = Query(None, alias="from")
_TO = Query(None, alias="to")


@router.get("/inspection-stations/{station_id}/slots", response={200: list[SlotOut], **ERRORS}, auth=None)
def station_slots(
    request: HttpRequest,
    station_id: int,
    start: date | None = _FROM,
    end: date | None = _TO,
) -> Any:
    """A station's half-day slots with places, booked and free, ``from``..``to`` (ISO dates, both
    included, at most 62 days; default today and two weeks on). Closed slots have capacity 0."""
    station = selectors.station_get(station_id=station_id)
    start = start or timezone.localdate()
    end = end or start + timedelta(days=14)
    return [slot_out(s) for s in selectors.slots_of(station=station, start=start, end=end)]


# ---------------------------------------------------------------- my bookings


class LabelIn(InputSchema):
    delivery: str = ""  # "" (no paper label), "post" or "pickup"
    recipient_name: str = ""
    recipient_phone: str = ""
    address_division: str = ""
    address_line: str = ""


class BookingIn(InputSchema):
    vehicle_id: int
    slot_id: int
    label: LabelIn = LabelIn()


class ChangeIn(InputSchema):
    slot_id: int


class ResultSummaryOut(Schema):
    outcome: str
    inspected_on: date
    defects: list[str]
    retest_by: date | None


class BookingOut(Schema):
    id: int
    vehicle_id: int
    plate_number: str
    state: str
    state_zh: str
    state_en: str
    station: StationOut
    slot_id: int
    day: date
    half: str
    label_delivery: str
    recipient_phone: str  # masked
    insured_until: date | None
    changes: int
    created_at: datetime
    result: ResultSummaryOut | None


_STATE_WORDS = {s.value: s.label.split(" ", 1) for s in InspectionBooking.State}


def booking_out(booking: InspectionBooking) -> dict[str, Any]:
    zh, en = _STATE_WORDS[booking.state]
    result: InspectionResult | None = getattr(booking, "result", None)
    return {
        "id": booking.pk,
        "vehicle_id": booking.vehicle_id,
        "plate_number": booking.vehicle.plate_number or "",
        "state": booking.state,
        "state_zh": zh,
        "state_en": en,
        "station": station_out(booking.station),
        "slot_id": booking.slot_id,
        "day": booking.slot.day,
        "half": booking.slot.half,
        "label_delivery": booking.label_delivery,
        "recipient_phone": mask_phone(booking.recipient_phone) if booking.recipient_phone else "",
        "insured_until": booking.insured_until,
        "changes": booking.changes,
        "created_at": booking.created_at,
        "result": None
        if result is None
        else {
            "outcome": result.outcome,
            "inspected_on": result.inspected_on,
            "defects": list(result.defects),
            "retest_by": result.retest_by,
        },
    }


class _RetryLater(Exception):
    """Carries an ``Unavailable`` past the idempotency record, so that it is not stored: the
    insurer being down is no answer to replay, the owner's retry with the same key asks again."""

    def __init__(self, error: Unavailable) -> None:
        super().__init__(error.code)
        self.error = error


def _idempotent(request: HttpRequest, *, scope: str, body: Any, call: Any, owner: str | None = None) -> Any:
    def guarded() -> tuple[int, Any]:
        try:
            return call()  # type: ignore[no-any-return]
        except Unavailable as error:
            raise _RetryLater(error) from error

    try:
        return run_idempotent(request, scope=scope, body=body, call=guarded, owner=owner)
    except _RetryLater as retry:
        raise retry.error from None


def _reread(request: HttpRequest, booking_id: int) -> dict[str, Any]:
    return booking_out(selectors.my_booking(actor=request.auth, booking_id=booking_id))  # type: ignore[attr-defined]


@router.post("/me/inspection-bookings", response={201: BookingOut, **ERRORS}, auth=AUTH)
@access_required(services.BOOK)
def book(request: HttpRequest, payload: BookingIn) -> Any:
    """Book an inspection slot for one's own vehicle (B4). Refused with the reason: vehicle not
    one's own (404), not due, label only, insurance or vehicle tax missing (O7,
    ``inspections.insurance_missing``), slot full, station closed or not testing the kind, outside
    the window, already booked (409); 503 when the insurer cannot be asked (nothing is booked).
    Accepts ``Idempotency-Key``: a retry answers the first answer."""

    def call() -> tuple[int, Any]:
        booking = services.booking_create(
            actor=request.auth,  # type: ignore[attr-defined]
            vehicle_id=payload.vehicle_id,
            slot_id=payload.slot_id,
            label=services.LabelInput(**payload.label.dict()),
        )
        return 201, _reread(request, booking.pk)

    return _idempotent(request, scope="inspection-bookings", body=payload.dict(), call=call)


@router.get("/me/inspection-bookings", response={200: list[BookingOut], **ERRORS}, auth=AUTH)
@access_required(services.VIEW_OWN)
def my_bookings(request: HttpRequest, limit: int = Query(50, ge=1, le=100)) -> Any:
    """The bookings of my vehicles, newest first (at most ``limit``), with results."""
    return [booking_out(b) for b in selectors.my_bookings(actor=request.auth, limit=limit)]  # type: ignore[attr-defined]


@router.get("/me/inspection-bookings/{booking_id}", response={200: BookingOut, **ERRORS}, auth=AUTH)
@access_required(services.VIEW_OWN)
def my_booking(request: HttpRequest, booking_id: int) -> Any:
    return _reread(request, booking_id)


@router.post("/me/inspection-bookings/{booking_id}/change", response={200: BookingOut, **ERRORS}, auth=AUTH)
@access_required(services.BOOK)
def change(request: HttpRequest, booking_id: int, payload: ChangeIn) -> Any:
    """Move an active booking to another slot (改约), at the same or another station: the new
    place is taken and the old one released together, or nothing changes (409 when the new slot
    is full). The same checks as booking apply. Accepts ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        services.booking_change(actor=request.auth, booking_id=booking_id, slot_id=payload.slot_id)  # type: ignore[attr-defined]
        return 200, _reread(request, booking_id)

    body = {"booking_id": booking_id, **payload.dict()}
    return _idempotent(request, scope="inspection-booking-change", body=body, call=call)


@router.post(
    "/me/inspection-bookings/{booking_id}/cancellation", response={200: BookingOut, **ERRORS}, auth=AUTH
)
@access_required(services.BOOK)
def cancel(request: HttpRequest, booking_id: int) -> Any:
    """Cancel an active booking; its place is free at once. A second cancellation is 409."""
    services.booking_cancel(actor=request.auth, booking_id=booking_id)  # type: ignore[attr-defined]
    return 200, _reread(request, booking_id)


# ---------------------------------------------------------------- the stations' results


class ResultIn(InputSchema):
    booking_id: int | None = None
    plate_number: str = Field("", max_length=16)
    vin: str = Field("", max_length=17)
    result: str = Field(..., description='"pass" or "fail"')
    inspected_on: date
    defects: list[str] = Field(default_factory=list, description="the defects found; required on a fail")


class ResultOut(Schema):
    id: int
    booking_id: int
    vehicle_id: int
    outcome: str
    inspected_on: date
    defects: list[str]
    retest_by: date | None


@router.post(
    "/stations/inspections",
    response={201: ResultOut, **ERRORS},
    auth=ClientCredentials(services.SCOPE_RESULTS),
)
def station_result(request: HttpRequest, payload: ResultIn) -> Any:
    """A station reports an inspection result (HTTP Basic client credentials, scope
    ``inspections:results``, the client bound to the station's organisation): the booking by
    ``booking_id`` or the vehicle by ``plate_number``/``vin``. Pass: the inspection is recorded
    and the e-mark issued; fail: the defects and the re-test deadline are kept. 409 for a
    vehicle without a booking at this station, a second result, or missing insurance (O7);
    503 when the insurer cannot be asked. ``Idempotency-Key`` makes a retry answer the first."""
    client = request.auth  # type: ignore[attr-defined]

    def call() -> tuple[int, Any]:
        result = services.inspection_result_record(
            client=client,
            data=services.ResultInput(
                outcome=payload.result, inspected_on=payload.inspected_on, booking_id=payload.booking_id,
                plate_number=payload.plate_number, vin=payload.vin, defects=payload.defects,
            ),
        )  # fmt: skip
        return 201, {
            "id": result.pk,
            "booking_id": result.booking_id,
            "vehicle_id": result.vehicle_id,
            "outcome": result.outcome,
            "inspected_on": result.inspected_on,
            "defects": list(result.defects),
            "retest_by": result.retest_by,
        }

    return _idempotent(
        request, scope="station-results", body=payload.dict(), call=call, owner=f"client:{client.client_id}"
    )
