"""Pages of inspection booking (B4, issue 14): the booking page of a vehicle (station, slot with
the places left, paper label), my bookings with change and cancel, the counter's stations with
their calendar, and a station's own list of the day's bookings.

Thin views over ``services``/``selectors``; a refusal is shown on the page in the active language.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.accounts.forms import add_domain_error
from jiaoguan.core.access import access_required
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_phone
from jiaoguan.registry.models import Vehicle
from jiaoguan.registry.rules import VehicleKind

from . import rules, selectors, services
from .forms import BookingForm, CalendarForm, DayForm, StationForm
from .models import InspectionBooking, InspectionSlot, InspectionStation, StationDay

STATE_LEVELS = {"booked": "info", "cancelled": "muted", "passed": "ok", "failed": "red", "missed": "muted"}


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _words(zh: str, en: str) -> str:
    return en if _english() else zh


def _kind_words(kind: str) -> str:
    try:
        k = VehicleKind(kind)
    except ValueError:
        return kind
    return _words(k.label_zh, k.label_en)


def _slot_words(slot: InspectionSlot) -> str:
    half = rules.Half(slot.half)
    weekday = _words(rules.WEEKDAYS_ZH[slot.day.weekday()], rules.WEEKDAYS_EN[slot.day.weekday()])
    return f"{slot.day:%Y-%m-%d} {weekday} {_words(half.label_zh, half.label_en)}"


def _booking_row(booking: InspectionBooking) -> dict[str, Any]:
    label = InspectionBooking.State(booking.state).label.split(" ", 1)
    result = getattr(booking, "result", None)
    return {
        "booking": booking,
        "state_words": _words(label[0], label[1]),
        "level": STATE_LEVELS.get(booking.state, "info"),
        "slot_words": _slot_words(booking.slot),
        "station": booking.station.organisation.name,
        "address": booking.station.address,
        "plate": booking.vehicle.plate_number or booking.vehicle.vin[-6:],
        "result": result,
        "active": booking.state == InspectionBooking.State.BOOKED
        and booking.slot.day >= timezone.localdate(),
        "change_url": reverse("inspections:book", args=[booking.vehicle_id]),
    }


# ---------------------------------------------------------------- owners


@never_cache
@access_required(services.VIEW_OWN)
def my_bookings(request: HttpRequest) -> HttpResponse:
    """我的检验预约: every booking of my vehicles, with change and cancel for the active ones."""
    rows = [_booking_row(b) for b in selectors.my_bookings(actor=request.user)]
    today = timezone.localdate()
    vehicles = []
    owned = services._own_vehicles(request.user, with_owner=True)
    for vehicle in owned.order_by("pk"):
        try:
            window = services.vehicle_window(vehicle, today=today)
        except DomainError as refusal:
            vehicles.append({"vehicle": vehicle, "bookable": False, "reason": refusal.message})
        else:
            vehicles.append({"vehicle": vehicle, "bookable": True, "window": window})
    return render(request, "inspections/mine.html", {"rows": rows, "vehicles": vehicles})


def _book_context(
    request: HttpRequest, vehicle: Vehicle, form: BookingForm | None, error: str = ""
) -> dict[str, Any]:
    today = timezone.localdate()
    active = selectors.active_booking_of(vehicle)
    window = refusal = None
    try:
        services.check_u5(request.user)
        window = services.vehicle_window(vehicle, today=today)
    except DomainError as refused:
        refusal = refused.message
    stations = list(selectors.stations_for_vehicle(vehicle))
    chosen = None
    wanted = request.GET.get("station") or request.POST.get("station")
    if wanted and wanted.isdigit():
        chosen = next((s for s in stations if s.pk == int(wanted)), None)
    if chosen is None and active is not None:
        chosen = next((s for s in stations if s.pk == active.station_id), None)
    if chosen is None and stations:
        chosen = stations[0]
    days: list[dict[str, Any]] = []
    if window is not None and chosen is not None:
        by_day: dict[date, list[dict[str, Any]]] = {}
        for slot in selectors.bookable_slots(station=chosen, window=window):
            half = rules.Half(slot.half)
            by_day.setdefault(slot.day, []).append(
                {
                    "slot": slot,
                    "half": _words(half.label_zh, half.label_en),
                    "free": slot.free,
                    "closed": slot.capacity == 0,
                    "mine": active is not None and active.slot_id == slot.pk,
                }
            )
        days = [
            {
                "day": d,
                "weekday": _words(rules.WEEKDAYS_ZH[d.weekday()], rules.WEEKDAYS_EN[d.weekday()]),
                "halves": h,
            }
            for d, h in sorted(by_day.items())
        ]
    return {
        "vehicle": vehicle,
        "kind": _kind_words(vehicle.kind),
        "active": _booking_row(active) if active is not None else None,
        "window": window,
        "refusal": refusal,
        "stations": stations,
        "chosen": chosen,
        "days": days,
        "form": form or BookingForm(),
        "error": error,
    }


@never_cache
@access_required(services.VIEW_OWN)
def book(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    """预约检验 for one of my vehicles: pick a station and a half day (places left shown), ask for
    a paper label; with an active booking the same page changes it (改约)."""
    try:
        vehicle = services.own_vehicle(actor=request.user, vehicle_id=vehicle_id)
    except DomainError:
        raise Http404("vehicle") from None
    if request.method != "POST":
        return render(request, "inspections/book.html", _book_context(request, vehicle, None))
    return _book_post(request, vehicle)


@access_required(services.BOOK)
def _book_post(request: HttpRequest, vehicle: Vehicle) -> HttpResponse:
    form = BookingForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        active = selectors.active_booking_of(vehicle)
        try:
            if active is not None:
                services.booking_change(actor=request.user, booking_id=active.pk, slot_id=data["slot"])
                messages.success(request, _("已改约。"))
            else:
                services.booking_create(
                    actor=request.user,
                    vehicle_id=vehicle.pk,
                    slot_id=data["slot"],
                    label=services.LabelInput(
                        delivery=data.get("delivery") or "",
                        recipient_name=data.get("recipient_name") or "",
                        recipient_phone=data.get("recipient_phone") or "",
                        address_division=data.get("address_division") or "",
                        address_line=data.get("address_line") or "",
                    ),
                )
                messages.success(request, _("预约成功，请按时到检验机构检验。"))
        except DomainError as error:
            add_domain_error(form, error, {"delivery": "delivery"})
            status = error.status
        else:
            return redirect("inspections:mine")
    return render(request, "inspections/book.html", _book_context(request, vehicle, form), status=status)


@require_POST
@access_required(services.BOOK)
def cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    try:
        services.booking_cancel(actor=request.user, booking_id=booking_id)
    except DomainError as error:
        if error.status == 404:
            raise Http404("booking") from None
        messages.error(request, error.message)
    else:
        messages.success(request, _("预约已取消。"))
    return redirect("inspections:mine")


# ---------------------------------------------------------------- the station's own staff


@never_cache
@access_required("inspections.station.bookings")
def station_today(request: HttpRequest) -> HttpResponse:
    """The station's bookings of a day (today by default), for its own staff."""
    station = selectors.station_of_user(request.user)
    if station is None:
        raise Http404("station")
    day = timezone.localdate()
    wanted = request.GET.get("day", "")
    if wanted:
        try:
            day = date.fromisoformat(wanted)
        except ValueError:
            pass
    rows = [
        {
            "booking": b,
            "plate": b.vehicle.plate_number or "",
            "kind": _kind_words(b.vehicle.kind),
            "half": _words(rules.Half(b.slot.half).label_zh, rules.Half(b.slot.half).label_en),
            "state": _words(*InspectionBooking.State(b.state).label.split(" ", 1)),
            "label": b.get_label_delivery_display() if b.label_delivery else "",
            "phone": mask_phone(b.recipient_phone) if b.recipient_phone else "",
        }
        for b in selectors.station_day_bookings(station=station, day=day)
    ]
    return render(request, "inspections/station_day.html", {"station": station, "day": day, "rows": rows})


# ---------------------------------------------------------------- counter: stations


@never_cache
@access_required("inspections.station.view")
def counter_stations(request: HttpRequest) -> HttpResponse:
    """检验机构: the stations of the jurisdiction, and the form to register one."""
    form = StationForm(request.POST or None, initial={"division": getattr(request.user, "jurisdiction", "")})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                station = services.station_register(
                    actor=request.user,
                    data=services.StationInput(
                        uscc=data["uscc"], name=data["name"], division=data["division"], address=data["address"],
                        phone=data.get("phone") or "", vehicle_kinds=data["vehicle_kinds"],
                        weekly={str(d): [20, 20] if d < 5 else [0, 0] for d in range(7)},
                    ),
                    request=request,
                )  # fmt: skip
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, _("检验机构已登记，请核对每周可预约数。"))
                return redirect("inspections:counter_station", station_id=station.pk)
        status = 400
    stations = selectors.stations_visible_to(actor=request.user).order_by("division", "pk")
    rows = [{"station": s, "kinds": "、".join(_kind_words(k) for k in s.kinds)} for s in stations]
    return render(request, "inspections/counter/stations.html", {"rows": rows, "form": form}, status=status)


def _counter_station(request: HttpRequest, station_id: int) -> InspectionStation:
    station = selectors.stations_visible_to(actor=request.user).filter(pk=station_id).first()
    if station is None:
        raise Http404("station")
    return station


def _calendar_initial(station: InspectionStation) -> dict[str, Any]:
    initial: dict[str, Any] = {"vehicle_kinds": station.kinds, "active": station.active}
    for d in range(7):
        am, pm = station.weekly.get(str(d), [0, 0])
        initial[f"am{d}"], initial[f"pm{d}"] = am, pm
    return initial


@never_cache
@access_required("inspections.station.view")
def counter_station(request: HttpRequest, station_id: int) -> HttpResponse:
    """One station: its weekly places and kinds, a day's places or closure, the coming days."""
    station = _counter_station(request, station_id)
    calendar_form = CalendarForm(initial=_calendar_initial(station))
    day_form = DayForm()
    issued: dict[str, str] | None = None
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if request.POST.get("form") == "client":
                client, secret = services.station_client_issue(
                    actor=request.user, station_id=station.pk, request=request
                )
                issued = {"client_id": client.client_id, "secret": secret}
                status = 200
            elif request.POST.get("form") == "day":
                day_form = DayForm(request.POST)
                if day_form.is_valid():
                    d = day_form.cleaned_data
                    services.station_day_set(
                        actor=request.user, station_id=station.pk, day=d["day"], morning=d["morning"],
                        afternoon=d["afternoon"], reason=d.get("reason") or "", request=request,
                    )  # fmt: skip
                    messages.success(request, _("已保存该日的可预约数。"))
                    return redirect("inspections:counter_station", station_id=station.pk)
            else:
                calendar_form = CalendarForm(request.POST)
                if calendar_form.is_valid():
                    services.station_change(
                        actor=request.user, station_id=station.pk, vehicle_kinds=calendar_form.cleaned_data["vehicle_kinds"],
                        weekly=calendar_form.weekly(), active=calendar_form.cleaned_data["active"], request=request,
                    )  # fmt: skip
                    messages.success(request, _("已保存每周可预约数。"))
                    return redirect("inspections:counter_station", station_id=station.pk)
        except DomainError as error:
            add_domain_error(day_form if request.POST.get("form") == "day" else calendar_form, error)
            status = error.status
    today = timezone.localdate()
    slots = list(InspectionSlot.objects.filter(station=station, day__gte=today).order_by("day", "half")[:28])
    overrides = StationDay.objects.filter(station=station, day__gte=today).order_by("day")[:20]
    weekday_rows = [
        {"name": rules.WEEKDAYS_ZH[d], "am": calendar_form[f"am{d}"], "pm": calendar_form[f"pm{d}"]}
        for d in range(7)
    ]
    context = {
        "station": station,
        "calendar_form": calendar_form,
        "weekday_rows": weekday_rows,
        "day_form": day_form,
        "slots": [{"slot": s, "words": _slot_words(s)} for s in slots],
        "overrides": overrides,
        "issued": issued,
        "clients": station.organisation.api_clients.filter(revoked_at__isnull=True).order_by("-created_at"),
    }
    return render(request, "inspections/counter/station.html", context, status=status)
