"""Reads of inspection booking (B4): stations, slots, the owner's bookings, the station's day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet

from jiaoguan.core.access import division_prefix_for
from jiaoguan.core.divisions import division_prefix
from jiaoguan.core.errors import NotFound, ValidationFailed
from jiaoguan.registry.models import Vehicle

from . import rules
from .models import InspectionBooking, InspectionSlot, InspectionStation

STATION_VIEW = "inspections.station.view"
MAX_SLOT_DAYS = 62


def stations_list(*, division: str = "", kind: str = "") -> QuerySet[InspectionStation]:
    """Active stations (public facts), filtered by a division (a city or county code) and a kind."""
    stations = InspectionStation.objects.select_related("organisation").filter(active=True).order_by("pk")
    if division:
        try:
            prefix = division_prefix(division)
        except ValidationFailed:  # said again with this parameter's own code
            raise ValidationFailed(
                "inspections.division",
                "行政区划代码不正确。",
                "The division code is not valid.",
                field="division",
            ) from None
        stations = stations.filter(division__startswith=prefix)
    if kind:
        stations = stations.filter(vehicle_kinds__contains=f",{kind},")
    return stations


def station_get(*, station_id: int) -> InspectionStation:
    station = (
        InspectionStation.objects.select_related("organisation").filter(pk=station_id, active=True).first()
    )
    if station is None:
        raise NotFound("inspections.station_not_found", "没有这个检验机构。", "No such inspection station.")
    return station


def stations_for_vehicle(vehicle: Vehicle) -> QuerySet[InspectionStation]:
    """Stations that may inspect this vehicle: active, in its city, testing its kind."""
    return stations_list(kind=vehicle.kind).filter(division__startswith=vehicle.division[:4])


def slots_of(*, station: InspectionStation, start: date, end: date) -> QuerySet[InspectionSlot]:
    """A station's slots from ``start`` to ``end`` (both included, at most 62 days)."""
    if end < start or (end - start).days > MAX_SLOT_DAYS:
        raise ValidationFailed(
            "inspections.slot_range", f"查询区间须在{MAX_SLOT_DAYS}天以内，且结束不早于开始。",
            f"The range must be at most {MAX_SLOT_DAYS} days, its end not before its start.", field="to",
        )  # fmt: skip
    return InspectionSlot.objects.filter(station=station, day__gte=start, day__lte=end).order_by(
        "day", "half"
    )


def bookable_slots(*, station: InspectionStation, window: rules.BookingWindow) -> list[InspectionSlot]:
    """The slots of a station inside a booking window, closed ones included (shown as closed)."""
    end = min(window.closes_on, window.opens_on + timedelta(days=MAX_SLOT_DAYS))
    return list(slots_of(station=station, start=window.opens_on, end=end))


def my_bookings(*, actor: Any, limit: int = 50) -> QuerySet[InspectionBooking]:
    """The bookings of the actor's own vehicles, newest first."""
    from .services import _own_vehicles

    return (
        InspectionBooking.objects.select_related("vehicle", "station__organisation", "slot", "result")
        .filter(vehicle__in=_own_vehicles(actor))
        .order_by("-created_at", "-pk")[:limit]
    )


def my_booking(*, actor: Any, booking_id: int) -> InspectionBooking:
    from .services import _own_vehicles

    booking = (
        InspectionBooking.objects.select_related("vehicle", "station__organisation", "slot")
        .filter(pk=booking_id, vehicle__in=_own_vehicles(actor))
        .first()
    )
    if booking is None:
        raise NotFound("inspections.booking_not_found", "没有这条检验预约。", "No such inspection booking.")
    return booking


def active_booking_of(vehicle: Vehicle) -> InspectionBooking | None:
    return (
        InspectionBooking.objects.select_related("station__organisation", "slot")
        .filter(vehicle=vehicle, state=InspectionBooking.State.BOOKED)
        .first()
    )


def stations_visible_to(*, actor: Any, action: str = STATION_VIEW) -> QuerySet[InspectionStation]:
    """Stations inside the staff member's jurisdiction."""
    prefix = division_prefix_for(actor, action)
    if prefix is None:
        return InspectionStation.objects.none()
    return InspectionStation.objects.select_related("organisation").filter(division__startswith=prefix)


def station_of_user(user: Any) -> InspectionStation | None:
    """The station an organisation user works for, if their organisation is one."""
    organisation_id = getattr(user, "organisation_id", None)
    if getattr(user, "kind", "") != "organisation" or not organisation_id:
        return None
    return (
        InspectionStation.objects.select_related("organisation")
        .filter(organisation_id=organisation_id)
        .first()
    )


def station_day_bookings(*, station: InspectionStation, day: date) -> QuerySet[InspectionBooking]:
    """The station's bookings of one day, for its own staff."""
    return (
        InspectionBooking.objects.select_related("vehicle", "slot")
        .filter(station=station, slot__day=day)
        .exclude(state=InspectionBooking.State.CANCELLED)
        .order_by("slot__half", "pk")
    )
