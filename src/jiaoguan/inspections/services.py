"""State changes of inspection booking (B4, O7; issue 14): stations and their calendar at the
counter, owners' bookings (book, change, cancel), the station's result.

Lock order (every service here, so two never wait on each other in a cycle): the booking row
(``select_for_update``), then slots in ascending primary key, each by a single conditional
UPDATE (``booked = booked + 1 WHERE booked < capacity``: the database decides who gets the last
place, on PostgreSQL and on SQLite alike), then the vehicle (registry, on a pass). The
insurer is asked (O7) before any transaction opens: an outside call never holds a lock, and a
failed check is recorded by the insurance app whatever happens here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from jiaoguan.accounts.rules import check_business_allowed
from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import validate_division
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from jiaoguan.core.outbox import outbox_enqueue
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.models import Organisation, Vehicle
from jiaoguan.registry.rules import VehicleKind
from jiaoguan.registry.selectors import vehicle_status, with_mortgagee_name

from . import rules
from .models import InspectionBooking, InspectionResult, InspectionSlot, InspectionStation, StationDay

logger = logging.getLogger(__name__)

BOOK = "inspections.own.book"
VIEW_OWN = "inspections.own.view"
STATION_MANAGE = "inspections.station.manage"
BUSINESS = "B4"
PAPER_LABEL_TOPIC = "inspections.paper_label_requested"
SCOPE_RESULTS = "inspections:results"
SMS_SIGNATURE = "【交管服务平台】"
Booked = InspectionBooking.State.BOOKED


# ---------------------------------------------------------------- refusals


def _refused(refusal: rules.Refusal, **detail: Any) -> Conflict:
    return Conflict(refusal.code, refusal.zh, refusal.en, detail=detail)


def _vehicle_not_found() -> NotFound:
    return NotFound("inspections.vehicle_not_found", "没有这辆车。", "No such vehicle.")


def _booking_not_found() -> NotFound:
    return NotFound("inspections.booking_not_found", "没有这条检验预约。", "No such inspection booking.")


def _slot_full() -> Conflict:
    return Conflict(
        "inspections.slot_full",
        "该时段已约满，请选择其他时段或其他检验机构。",
        "This slot is fully booked; choose another slot or station.",
    )


def _already_booked(existing: InspectionBooking | None = None) -> Conflict:
    detail = {"booking_id": existing.pk} if existing is not None else {}
    return Conflict(
        "inspections.already_booked",
        "该车已有一个有效的检验预约；如需调整，请改约或先取消原预约。",
        "This vehicle already has an active inspection booking; change or cancel it instead.",
        detail=detail,
    )


# ---------------------------------------------------------------- whose vehicle, which window


def _own_vehicles(actor: Any, *, with_owner: bool = False) -> Any:
    """The actor's own vehicles: a citizen's in their name, an organisation user's in the organisation's;
    ``with_owner`` joins the owner (the status names it; only the side that can be set) and the
    mortgagee (O6), so that :func:`vehicle_status` asks nothing more per vehicle."""
    person_id = getattr(actor, "person_id", None)
    organisation_id = getattr(actor, "organisation_id", None)
    if getattr(actor, "kind", "") == "organisation" and organisation_id:
        vehicles = Vehicle.objects.filter(owner_organisation_id=organisation_id)
        return with_mortgagee_name(vehicles.select_related("owner_organisation")) if with_owner else vehicles
    if person_id:
        vehicles = Vehicle.objects.filter(owner_person_id=person_id)
        return with_mortgagee_name(vehicles.select_related("owner_person")) if with_owner else vehicles
    return Vehicle.objects.none()


def own_vehicle(*, actor: Any, vehicle_id: int) -> Vehicle:
    """The actor's vehicle, or 404 (somebody else's vehicle is not found, so ids cannot be probed)."""
    vehicle = _own_vehicles(actor, with_owner=True).filter(pk=vehicle_id).first()
    if vehicle is None:
        raise _vehicle_not_found()
    return vehicle


def check_u5(actor: Any) -> None:
    """B4 is an online business for every registered user (U5); the table decides, not this app."""
    organisation = getattr(actor, "organisation", None)
    check_business_allowed(
        business_code=BUSINESS,
        user_kind=getattr(actor, "kind", ""),
        level=getattr(actor, "registration_level", ""),
        organisation_kind=getattr(organisation, "kind", "") or "",
    )


def vehicle_window(vehicle: Vehicle, *, today: date) -> rules.BookingWindow:
    """The days the vehicle may be booked on, or the refusal (not due, label only, status) (B4)."""
    refusal = rules.status_refusal(vehicle.status)
    if refusal is not None:
        raise _refused(refusal)
    status = vehicle_status(vehicle, today=today)
    answer = rules.booking_window(
        valid_until=status.inspection_valid_until,
        state=status.inspection_state,
        on_site=status.next_inspection_on_site,
        today=today,
    )
    if isinstance(answer, rules.Refusal):
        raise _refused(answer, valid_until=status.inspection_valid_until.isoformat())
    return answer


def _check_station(station: InspectionStation, vehicle: Vehicle) -> None:
    if not station.active:
        raise Conflict(
            "inspections.station_inactive",
            "该检验机构暂停预约，请选择其他检验机构。",
            "This station takes no bookings now; choose another one.",
        )
    if not station.tests_kind(vehicle.kind):
        raise Conflict(
            "inspections.kind_not_tested",
            "该检验机构不检验此类车辆，请选择其他检验机构。",
            "This station does not test vehicles of this kind; choose another one.",
            detail={"kind": vehicle.kind},
        )
    if not rules.same_city(station.division, vehicle.division):
        raise Conflict(
            "inspections.station_elsewhere",
            "只能预约车辆登记地所在城市的检验机构。",
            "Only stations in the city where the vehicle is registered can be booked.",
        )


def _check_slot(slot: InspectionSlot, vehicle: Vehicle, window: rules.BookingWindow) -> None:
    _check_station(slot.station, vehicle)
    if not window.contains(slot.day):
        raise Conflict(
            "inspections.outside_window",
            f"只能预约{window.opens_on:%Y年%m月%d日}至{window.closes_on:%Y年%m月%d日}之间的时段。",
            f"Only slots from {window.opens_on:%Y-%m-%d} to {window.closes_on:%Y-%m-%d} can be booked.",
            detail={"opens_on": window.opens_on.isoformat(), "closes_on": window.closes_on.isoformat()},
        )
    if slot.capacity == 0:
        raise Conflict(
            "inspections.station_closed",
            "检验机构该时段不开放，请选择其他时段。",
            "The station is closed in this slot; choose another one.",
        )
    if slot.booked >= slot.capacity:
        raise _slot_full()


def _slot(slot_id: int) -> InspectionSlot:
    slot = InspectionSlot.objects.select_related("station__organisation").filter(pk=slot_id).first()
    if slot is None:
        raise NotFound("inspections.slot_not_found", "没有这个预约时段。", "No such slot.")
    return slot


# ---------------------------------------------------------------- insurance (O7)


def _insurance_check(**kwargs: Any) -> Any:
    """The insurance app's online check (O7); imported late: it sits beside this app."""
    from jiaoguan.insurance.services import insurance_check

    return insurance_check(**kwargs)


def insurance_required_ok(vehicle: Vehicle, *, on: date, requested_by: str) -> Any:
    """Compulsory insurance and vehicle tax in force on ``on``, or 409 with what is missing.

    Called outside any transaction; ``Unavailable`` (503, insurer down) passes through: nothing is
    booked or recorded on a guess."""
    answer = _insurance_check(
        vin=vehicle.vin, kind=vehicle.kind, purpose="inspection", on=on,
        plate_number=vehicle.plate_number, division=vehicle.division, requested_by=requested_by,
    )  # fmt: skip
    if not answer.ok:
        raise Conflict(
            "inspections.insurance_missing", answer.message_zh, answer.message_en,
            detail={"missing": list(answer.missing)},
        )  # fmt: skip
    return answer


def _who(actor: Any) -> str:
    return f"user:{getattr(actor, 'pk', '')}"


# ---------------------------------------------------------------- places


def _take(slot_id: int) -> None:
    """One place of the slot, or 409: the conditional UPDATE is the whole decision."""
    taken = InspectionSlot.objects.filter(pk=slot_id, booked__lt=F("capacity")).update(booked=F("booked") + 1)
    if not taken:
        raise _slot_full()


def _release(slot_id: int) -> None:
    InspectionSlot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


# ---------------------------------------------------------------- bookings


@dataclass(frozen=True)
class LabelInput:
    """A paper label asked with the booking (E2): post or pickup; the address when posted."""

    delivery: str = ""
    recipient_name: str = ""
    recipient_phone: str = ""
    address_division: str = ""
    address_line: str = ""


def _label_clean(label: LabelInput | None) -> dict[str, str]:
    label = label or LabelInput()
    delivery = (label.delivery or "").strip()
    if delivery not in ("", "post", "pickup"):
        raise ValidationFailed(
            "inspections.label_delivery", "纸质检验标志的领取方式只能是邮寄或自取。",
            "The paper label is either posted or picked up.", field="delivery",
        )  # fmt: skip
    values = {
        "label_delivery": delivery, "recipient_name": "", "recipient_phone": "",
        "address_division": "", "address_line": "",
    }  # fmt: skip
    if delivery != "post":
        return values
    name = label.recipient_name.strip()
    phone = label.recipient_phone.strip()
    line = label.address_line.strip()
    if not 1 <= len(name) <= 64:
        raise ValidationFailed(
            "inspections.recipient_name",
            "请填写收件人姓名。",
            "Enter the recipient's name.",
            field="recipient_name",
        )
    if not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
        raise ValidationFailed(
            "inspections.recipient_phone", "请填写11位手机号码。", "Enter an 11-digit mobile number.",
            field="recipient_phone",
        )  # fmt: skip
    if not 4 <= len(line) <= 200:
        raise ValidationFailed(
            "inspections.address_line",
            "请填写详细收件地址。",
            "Enter the full postal address.",
            field="address_line",
        )
    values.update(
        recipient_name=name, recipient_phone=phone, address_line=line,
        address_division=validate_division(label.address_division.strip()),
    )  # fmt: skip
    return values


def booking_create(
    *, actor: Any, vehicle_id: int, slot_id: int, label: LabelInput | None = None, today: date | None = None
) -> InspectionBooking:
    """Book a slot for one's own vehicle (B4): due or overdue, inside the window, at an open station
    of the vehicle's city testing its kind, insured (O7), one active booking per vehicle."""
    require(actor, BOOK)
    check_u5(actor)
    today = today or timezone.localdate()
    vehicle = own_vehicle(actor=actor, vehicle_id=vehicle_id)
    window = vehicle_window(vehicle, today=today)
    slot = _slot(slot_id)
    existing = InspectionBooking.objects.select_related("slot").filter(vehicle=vehicle, state=Booked).first()
    if existing is not None and existing.slot.day < today:
        # A booking whose day passed without a result no longer holds the vehicle: the owner did
        # not come (or the station has not reported). One conditional UPDATE, so a result that
        # arrives meanwhile wins.
        InspectionBooking.objects.filter(pk=existing.pk, state=Booked).update(
            state=InspectionBooking.State.MISSED
        )
        existing = InspectionBooking.objects.filter(vehicle=vehicle, state=Booked).first()
    if existing is not None:
        raise _already_booked(existing)
    _check_slot(slot, vehicle, window)
    values = _label_clean(label)
    answer = insurance_required_ok(vehicle, on=slot.day, requested_by=_who(actor))
    with transaction.atomic():
        _take(slot.pk)
        try:
            with transaction.atomic():
                booking = InspectionBooking.objects.create(
                    vehicle=vehicle, booked_by=actor, station=slot.station, slot=slot, division=vehicle.division,
                    insured_until=answer.insured_until, **values,
                )  # fmt: skip
        except IntegrityError:
            # Another request booked this vehicle meanwhile (partial unique constraint); the place
            # taken above goes back with this transaction.
            raise _already_booked() from None
        _notify_owner(vehicle, _booked_text(booking, slot), key=f"inspection-booked-{booking.pk}-{slot.pk}")
    return booking


def _locked_own_booking(actor: Any, booking_id: int) -> InspectionBooking:
    booking = (
        InspectionBooking.objects.select_for_update()
        .filter(pk=booking_id, vehicle__in=_own_vehicles(actor))
        .first()
    )
    if booking is None:
        raise _booking_not_found()
    if booking.state != Booked:
        raise Conflict(
            "inspections.booking_not_active", "该预约已取消或已检验，不能再修改。",
            "This booking is cancelled or already inspected and cannot be changed.",
        )  # fmt: skip
    return booking


def booking_change(
    *, actor: Any, booking_id: int, slot_id: int, today: date | None = None
) -> InspectionBooking:
    """Move a booking to another slot (改约), possibly at another station: the new place is taken
    and the old one released in one transaction, so the owner never holds two or none."""
    require(actor, BOOK)
    today = today or timezone.localdate()
    current = InspectionBooking.objects.filter(pk=booking_id, vehicle__in=_own_vehicles(actor)).first()
    if current is None:
        raise _booking_not_found()
    vehicle = own_vehicle(actor=actor, vehicle_id=current.vehicle_id)
    slot = _slot(slot_id)
    if slot.pk == current.slot_id:
        raise Conflict("inspections.same_slot", "已预约该时段。", "This slot is already booked for you.")
    window = vehicle_window(vehicle, today=today)
    _check_slot(slot, vehicle, window)
    insurance_required_ok(vehicle, on=slot.day, requested_by=_who(actor))
    with transaction.atomic():
        booking = _locked_own_booking(actor, booking_id)
        old_slot_id = booking.slot_id
        for pk in sorted((slot.pk, old_slot_id)):  # the documented lock order
            if pk == slot.pk:
                _take(pk)
            else:
                _release(pk)
        booking.slot = slot
        booking.station = slot.station
        booking.changes += 1
        booking.save(update_fields=["slot", "station", "changes"])
        _notify_owner(vehicle, _booked_text(booking, slot), key=f"inspection-booked-{booking.pk}-{slot.pk}")
    return booking


def booking_cancel(*, actor: Any, booking_id: int) -> InspectionBooking:
    """Cancel an active booking; its place is free again at once."""
    require(actor, BOOK)
    with transaction.atomic():
        booking = _locked_own_booking(actor, booking_id)
        _release(booking.slot_id)
        booking.state = InspectionBooking.State.CANCELLED
        booking.cancelled_at = timezone.now()
        booking.save(update_fields=["state", "cancelled_at"])
    return booking


# ---------------------------------------------------------------- owner messages


def _owner_mobile(vehicle: Vehicle) -> str:
    if vehicle.owner_mobile:
        return vehicle.owner_mobile
    if vehicle.owner_person_id and vehicle.owner_person is not None:
        return vehicle.owner_person.mobile
    if vehicle.owner_organisation_id and vehicle.owner_organisation is not None:
        return vehicle.owner_organisation.phone if len(vehicle.owner_organisation.phone) == 11 else ""
    return ""


def _notify_owner(vehicle: Vehicle, text: str, *, key: str) -> None:
    """An SMS to the owner after commit (outbox ``sms.send``), once per key."""
    mobile = _owner_mobile(vehicle)
    if mobile:
        outbox_enqueue(
            topic="sms.send", payload={"mobile": mobile, "text": SMS_SIGNATURE + text}, dedup_key=key
        )


def _booked_text(booking: InspectionBooking, slot: InspectionSlot) -> str:
    half = rules.Half(slot.half)
    return (
        f"您的机动车{booking.vehicle.plate_number or ''}已预约{slot.day:%m月%d日}{half.label_zh}"
        f"在{slot.station.organisation.name}检验（{slot.station.address}），请携带行驶证按时到场。"
    )


# ---------------------------------------------------------------- stations at the counter


@dataclass(frozen=True)
class StationInput:
    """A station registered at the counter: its organisation (U1) and its profile."""

    uscc: str
    name: str
    division: str
    address: str
    phone: str = ""
    vehicle_kinds: Sequence[str] = ()
    weekly: Mapping[str, Any] = field(default_factory=dict)
    legal_representative: int | None = None


def _kinds_clean(kinds: Iterable[str]) -> str:
    chosen = sorted({k for k in kinds if k})
    unknown = [k for k in chosen if k not in VehicleKind.__members__.values()]
    if not chosen or unknown:
        raise ValidationFailed(
            "inspections.vehicle_kinds", "请选择检验机构可检验的车辆类型。",
            "Choose the vehicle kinds the station tests.", field="vehicle_kinds", detail={"unknown": unknown},
        )  # fmt: skip
    return "," + ",".join(chosen) + ","


def _weekly_clean(weekly: Mapping[str, Any]) -> dict[str, list[int]]:
    try:
        return rules.weekly_pattern_clean(weekly)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            "inspections.weekly", f"每周可预约数不正确：{exc}", f"The weekly places are invalid: {exc}",
            field="weekly",
        ) from None  # fmt: skip


def station_register(
    *, actor: Any, data: StationInput, today: date | None = None, request: Any = None
) -> InspectionStation:
    """Register a station at the counter: the registry organisation (U1, kind inspection_station)
    and its profile and calendar, in the clerk's jurisdiction; its slots are made at once."""
    require(actor, STATION_MANAGE, division=data.division)
    kinds = _kinds_clean(data.vehicle_kinds)
    weekly = _weekly_clean(data.weekly)
    if not 4 <= len(data.address.strip()) <= 200:
        raise ValidationFailed(
            "inspections.address", "请填写检验机构地址。", "Enter the station's address.", field="address"
        )
    with transaction.atomic():
        organisation = registry_services.organisation_create(
            actor=actor,
            data={
                "uscc": data.uscc, "name": data.name, "kind": Organisation.Kind.INSPECTION_STATION,
                "division": data.division, "address": data.address.strip(), "phone": data.phone.strip(),
                "legal_representative": data.legal_representative,
            },
            request=request,
        )  # fmt: skip
        station = InspectionStation.objects.create(
            organisation=organisation, division=organisation.division, address=data.address.strip(),
            phone=data.phone.strip(), vehicle_kinds=kinds, weekly=weekly,
        )  # fmt: skip
        audit_record(
            actor=actor, action="create", subject=station, summary=f"登记检验机构 station registered: {organisation.name}",
            request=request,
        )  # fmt: skip
        slots_extend(station_ids=[station.pk], today=today)
    return station


def _station_for_staff(actor: Any, station_id: int, action: str) -> InspectionStation:
    """The station locked for a change, or 404 outside the actor's jurisdiction."""
    from .selectors import stations_visible_to

    station = stations_visible_to(actor=actor).select_for_update(of=("self",)).filter(pk=station_id).first()
    if station is None:
        raise NotFound("inspections.station_not_found", "没有这个检验机构。", "No such inspection station.")
    require(actor, action, division=station.division)
    return station


def station_change(
    *,
    actor: Any,
    station_id: int,
    vehicle_kinds: Sequence[str] | None = None,
    weekly: Mapping[str, Any] | None = None,
    active: bool | None = None,
    address: str | None = None,
    phone: str | None = None,
    today: date | None = None,
    request: Any = None,
) -> InspectionStation:
    """Change a station's kinds, weekly places, address or active flag; slots ahead follow (places
    already booked stay: a slot never drops below its bookings)."""
    require(actor, STATION_MANAGE)
    with transaction.atomic():
        station = _station_for_staff(actor, station_id, STATION_MANAGE)
        changed = []
        if vehicle_kinds is not None:
            station.vehicle_kinds = _kinds_clean(vehicle_kinds)
            changed.append("vehicle_kinds")
        if weekly is not None:
            station.weekly = _weekly_clean(weekly)
            changed.append("weekly")
        if active is not None:
            station.active = bool(active)
            changed.append("active")
        if address is not None and address.strip():
            station.address = address.strip()[:200]
            changed.append("address")
        if phone is not None:
            station.phone = phone.strip()[:20]
            changed.append("phone")
        if changed:
            station.save(update_fields=changed)
            audit_record(
                actor=actor, action="change", subject=station, summary=f"修改检验机构 station changed: {', '.join(changed)}",
                request=request,
            )  # fmt: skip
        slots_extend(station_ids=[station.pk], today=today)
    return station


def station_day_set(
    *,
    actor: Any,
    station_id: int,
    day: date,
    morning: int,
    afternoon: int,
    reason: str = "",
    today: date | None = None,
    request: Any = None,
) -> StationDay:
    """Set one day's places (0 and 0 closes it). Closing a day cancels its bookings and tells the
    owners by SMS; fewer places than booked keep the bookings and stop new ones."""
    require(actor, STATION_MANAGE)
    today = today or timezone.localdate()
    if day < today:
        raise ValidationFailed(
            "inspections.day_past", "不能修改已过去的日期。", "A past day cannot be changed.", field="day"
        )
    for value in (morning, afternoon):
        if not 0 <= int(value) <= rules.MAX_PLACES_PER_HALF_DAY:
            raise ValidationFailed(
                "inspections.places", f"每个时段可预约数为0至{rules.MAX_PLACES_PER_HALF_DAY}。",
                f"Places per half day are 0 to {rules.MAX_PLACES_PER_HALF_DAY}.", field="morning",
            )  # fmt: skip
    with transaction.atomic():
        station = _station_for_staff(actor, station_id, STATION_MANAGE)
        override, _ = StationDay.objects.update_or_create(
            station=station,
            day=day,
            defaults={"morning": morning, "afternoon": afternoon, "reason": reason[:100]},
        )
        if override.closed:
            cancelled = (
                # The bookings only: the owners join outer and are not locked (PostgreSQL refuses that).
                InspectionBooking.objects.select_for_update(of=("self",))
                .select_related("vehicle__owner_person", "vehicle__owner_organisation")
                .filter(station=station, slot__day=day, state=Booked)
                .order_by("pk")
            )
            for booking in cancelled:
                booking.state = InspectionBooking.State.CANCELLED
                booking.cancelled_at = timezone.now()
                booking.save(update_fields=["state", "cancelled_at"])
                _notify_owner(
                    booking.vehicle,
                    f"因{station.organisation.name}{day:%m月%d日}停止检验，您的检验预约已取消，请重新预约。",
                    key=f"inspection-day-closed-{booking.pk}",
                )
            InspectionSlot.objects.filter(station=station, day=day).update(booked=0)
        _materialise(station, [day])
        audit_record(
            actor=actor, action="change", subject=station,
            summary=f"检验机构日历 station day {day:%Y-%m-%d}: {morning}/{afternoon} {reason}"[:255], request=request,
        )  # fmt: skip
    return override


def station_client_issue(*, actor: Any, station_id: int, request: Any = None) -> tuple[Any, str]:
    """Give a station the API client its system reports results with (scope ``inspections:results``,
    bound to its organisation); returns the client and its secret, shown this once."""
    from jiaoguan.accounts.clients import SCOPE_INSPECTION_RESULTS, api_client_create

    require(actor, STATION_MANAGE)
    with transaction.atomic():
        station = _station_for_staff(actor, station_id, STATION_MANAGE)
        client, secret = api_client_create(
            name=f"{station.organisation.name} 检验结果上报"[:100], scopes=SCOPE_INSPECTION_RESULTS,
            division=station.division, organisation_uscc=station.organisation.uscc,
        )  # fmt: skip
        audit_record(
            actor=actor, action="create", subject=station,
            summary=f"检验机构接入凭据 station API client {client.client_id}", request=request,
        )  # fmt: skip
    return client, secret


def _materialise(station: InspectionStation, days: Sequence[date]) -> int:
    """Make or update the slots of ``days``; returns how many were made or changed."""
    if not days:
        return 0
    overrides = {
        d.day: (d.morning, d.afternoon)
        for d in StationDay.objects.filter(station=station, day__gte=min(days), day__lte=max(days))
    }
    existing = {
        (s.day, s.half): s
        for s in InspectionSlot.objects.filter(station=station, day__gte=min(days), day__lte=max(days))
    }
    new: list[InspectionSlot] = []
    changed = 0
    for day in days:
        places = rules.day_capacity(day=day, weekly=station.weekly, override=overrides.get(day))
        for half, wanted in zip((rules.Half.MORNING, rules.Half.AFTERNOON), places, strict=True):
            slot = existing.get((day, half.value))
            if slot is None:
                new.append(InspectionSlot(station=station, day=day, half=half.value, capacity=wanted))
            elif slot.capacity != rules.capacity_after_change(wanted=wanted, booked=slot.booked):
                # In the database: a booking may have raised ``booked`` since it was read.
                InspectionSlot.objects.filter(pk=slot.pk).update(
                    capacity=Greatest(Value(wanted), F("booked"))
                )
                changed += 1
    InspectionSlot.objects.bulk_create(new, ignore_conflicts=True)
    return changed + len(new)


def slots_extend(
    *,
    station_ids: Sequence[int] | None = None,
    today: date | None = None,
    weeks: int = rules.SLOT_WEEKS_AHEAD,
) -> int:
    """Keep the slots of active stations ``weeks`` ahead of today (the periodic task runs it daily);
    idempotent. Returns how many slots were made or changed."""
    today = today or timezone.localdate()
    days = [today + timedelta(days=n) for n in range(weeks * 7)]
    stations = InspectionStation.objects.filter(active=True)
    if station_ids is not None:
        stations = stations.filter(pk__in=list(station_ids))
    return sum(_materialise(station, days) for station in stations)


# ---------------------------------------------------------------- the station's result


@dataclass(frozen=True)
class ResultInput:
    """A result as the station's system reports it: the booking by id, or the vehicle by plate or VIN."""

    outcome: str
    inspected_on: date
    booking_id: int | None = None
    plate_number: str = ""
    vin: str = ""
    defects: Sequence[str] = ()


def station_of_client(client: Any) -> InspectionStation:
    """The station an API client reports for: the client's organisation must be a station here."""
    organisation_id = getattr(client, "organisation_id", None)
    station = (
        InspectionStation.objects.select_related("organisation")
        .filter(organisation_id=organisation_id)
        .first()
        if organisation_id is not None
        else None
    )
    if station is None:
        raise NotAllowed(
            "inspections.client_not_station",
            "该接入系统未绑定检验机构，不能上报检验结果。",
            "This API client is not bound to an inspection station and cannot report results.",
        )
    return station


def _result_input_clean(data: ResultInput, today: date) -> list[str]:
    if data.outcome not in InspectionResult.Outcome.values:
        raise ValidationFailed(
            "inspections.outcome",
            "检验结论只能是 pass 或 fail。",
            "The outcome is pass or fail.",
            field="outcome",
        )
    if data.inspected_on > today or data.inspected_on < today - timedelta(days=30):
        raise ValidationFailed(
            "inspections.inspected_on", "检验日期须在最近30天内且不晚于今天。",
            "The inspection date must be within the last 30 days and not in the future.", field="inspected_on",
        )  # fmt: skip
    defects = [str(d).strip()[:200] for d in data.defects if str(d).strip()][:50]
    if data.outcome == "fail" and not defects:
        raise ValidationFailed(
            "inspections.defects_required", "不合格的检验结果须列出不合格项。",
            "A failed inspection lists its defects.", field="defects",
        )  # fmt: skip
    if data.outcome == "pass" and defects:
        raise ValidationFailed(
            "inspections.defects_on_pass", "合格的检验结果不应有不合格项。",
            "A passed inspection has no defects.", field="defects",
        )  # fmt: skip
    if data.booking_id is None and not (data.plate_number or data.vin):
        raise ValidationFailed(
            "inspections.booking_reference", "请提供预约编号，或号牌号码、车辆识别代号。",
            "Give the booking id, or the plate number or VIN.", field="booking_id",
        )  # fmt: skip
    return defects


def _booking_for_result(station: InspectionStation, data: ResultInput) -> InspectionBooking:
    bookings = InspectionBooking.objects.select_related("vehicle").filter(station=station)
    if data.booking_id is not None:
        booking = bookings.filter(pk=data.booking_id).first()
    else:
        match = bookings.filter(state=Booked)
        if data.plate_number:
            match = match.filter(vehicle__plate_number=data.plate_number.strip().upper())
        if data.vin:
            match = match.filter(vehicle__vin=data.vin.strip().upper())
        booking = match.first()
    if booking is None:
        raise Conflict(
            "inspections.no_booking", "该车在本检验机构没有有效的检验预约，不能上报检验结果。",
            "The vehicle has no active booking at this station; no result can be recorded.",
        )  # fmt: skip
    if booking.state != Booked:
        raise _result_exists(booking)
    return booking


def _result_exists(booking: InspectionBooking) -> Conflict:
    return Conflict(
        "inspections.result_exists", "该预约已有检验结果或已取消，不能再次上报。",
        "This booking already has a result or was cancelled; a second result is refused.",
        detail={"booking_id": booking.pk, "state": booking.state},
    )  # fmt: skip


def inspection_result_record(
    *, client: Any, data: ResultInput, today: date | None = None
) -> InspectionResult:
    """Record the station's result for a booking there (B4, E1, O7).

    The insurer is asked again (purpose "inspection", the inspection day). Pass: the registry
    records the inspection (the e-mark follows after commit), a paper label asked with the booking
    is queued (outbox ``inspections.paper_label_requested``), the owner gets an SMS. Fail: the
    defects and the re-test deadline are kept and texted to the owner. A second result, or one for
    a vehicle without a booking at this station, is refused (409).
    """
    today = today or timezone.localdate()
    station = station_of_client(client)
    defects = _result_input_clean(data, today)
    booking = _booking_for_result(station, data)
    vehicle = booking.vehicle
    insurance_required_ok(vehicle, on=data.inspected_on, requested_by=f"client:{client.client_id}")
    with transaction.atomic():
        locked = InspectionBooking.objects.select_for_update().filter(pk=booking.pk, state=Booked).first()
        if locked is None:
            raise _result_exists(booking)
        retest_by = None
        if data.outcome == "fail":
            status = vehicle_status(vehicle, today=data.inspected_on)
            retest_by = rules.retest_deadline(
                inspected_on=data.inspected_on, valid_until=status.inspection_valid_until
            )
        try:
            with transaction.atomic():
                result = InspectionResult.objects.create(
                    booking=locked, station=station, vehicle=vehicle, outcome=data.outcome,
                    inspected_on=data.inspected_on, defects=defects, retest_by=retest_by, reported_by=client.client_id,
                )  # fmt: skip
        except IntegrityError:
            raise _result_exists(booking) from None
        passed = data.outcome == "pass"
        locked.state = InspectionBooking.State.PASSED if passed else InspectionBooking.State.FAILED
        locked.save(update_fields=["state"])
        vehicle = Vehicle.objects.select_related("owner_person", "owner_organisation").get(pk=vehicle.pk)
        if passed:
            registry_services.vehicle_inspection_pass_at_station(
                vehicle_id=vehicle.pk, inspected_on=data.inspected_on, station=station.organisation.name
            )
            if locked.label_delivery:
                _paper_label_requested(locked, vehicle)
            _notify_owner(
                vehicle,
                f"您的机动车{vehicle.plate_number or ''}已于{data.inspected_on:%m月%d日}检验合格，电子检验标志已生成，"
                "可在“电子证照”中查看。",
                key=f"inspection-result-{result.pk}",
            )
        else:
            _notify_owner(
                vehicle,
                f"您的机动车{vehicle.plate_number or ''}{data.inspected_on:%m月%d日}检验不合格："
                f"{'；'.join(defects)[:120]}。请维修后于{retest_by:%Y年%m月%d日}前复检。",
                key=f"inspection-result-{result.pk}",
            )
        audit_record(
            actor=None, action="create", subject=result, subject_person_id=vehicle.owner_person_id,
            summary=f"检验结果 inspection {data.outcome} by {client.client_id} at {station.organisation.name}"[:255],
        )  # fmt: skip
    return result


def _paper_label_requested(booking: InspectionBooking, vehicle: Vehicle) -> None:
    """The paper label asked with the booking goes to the dispatch queue (another app consumes it)."""
    outbox_enqueue(
        topic=PAPER_LABEL_TOPIC,
        payload={
            "vehicle_id": vehicle.pk,
            "owner_user_id": booking.booked_by_id,
            "credential_id": None,  # the e-mark is issued after commit, by the registry's event
            "delivery": booking.label_delivery,
            "recipient_name": booking.recipient_name,
            "recipient_phone": booking.recipient_phone,
            "address_division": booking.address_division,
            "address_line": booking.address_line,
            "division": vehicle.division,
            "source": f"inspection_booking:{booking.pk}",
        },
        dedup_key=f"paper-label-booking-{booking.pk}",
    )
