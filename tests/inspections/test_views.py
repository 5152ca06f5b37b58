"""Inspection booking pages (B4, issue 14): from the home page's alert to the booking page of the
vehicle, booking, my bookings with change and cancel, the counter's stations and calendar, the
station's own day list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from jiaoguan.inspections.models import InspectionBooking, InspectionSlot, StationDay

from .conftest import slot_on

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def logged(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_overdue_alert_leads_to_the_booking_page_and_a_booking(
    make_station, owner, overdue_car, insurer, today
):
    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    client = logged(user)
    home = text(client.get("/"))
    book_url = f"/inspections/book/{vehicle.pk}/"
    assert "检验已逾期" in home and f'href="{book_url}"' in home
    page = client.get(book_url)
    assert page.status_code == 200
    html = text(page)
    assert station.organisation.name in html and "余 10 / 10" in html
    slot = slot_on(station, today + timedelta(days=1), "pm")
    done = client.post(book_url, {"slot": slot.pk, "delivery": "pickup"})
    assert done.status_code == 302 and done["Location"] == "/inspections/"
    booking = InspectionBooking.objects.get(vehicle=vehicle)
    assert booking.slot == slot and booking.label_delivery == "pickup"
    mine = text(client.get("/inspections/"))
    assert "已预约" in mine and "改约" in mine and "取消预约" in mine
    # The same page changes the booking; a cancellation frees the place.
    other = slot_on(station, today + timedelta(days=2))
    assert client.post(book_url, {"slot": other.pk}).status_code == 302
    booking.refresh_from_db()
    assert booking.slot == other and booking.changes == 1
    assert client.post(f"/inspections/bookings/{booking.pk}/cancel/").status_code == 302
    booking.refresh_from_db()
    assert booking.state == "cancelled"
    assert InspectionSlot.objects.get(pk=other.pk).booked == 0


def test_refusals_show_on_the_page(make_station, owner, overdue_car, valid_truck, insurer, today):
    station = make_station()
    user, person = owner()
    client = logged(user)
    valid = valid_truck(person)
    assert "尚未到预约时间" in text(client.get(f"/inspections/book/{valid.pk}/"))
    uninsured = overdue_car(person)
    insurer.uninsured.add(uninsured.vin)
    refused = client.post(f"/inspections/book/{uninsured.pk}/", {"slot": slot_on(station, today).pk})
    assert refused.status_code == 409 and "交强险" in text(refused)
    insurer.down = True
    down = client.post(f"/inspections/book/{overdue_car(person).pk}/", {"slot": slot_on(station, today).pk})
    assert down.status_code == 503 and "稍后重试" in text(down)
    _, stranger = owner(name="李娜")
    assert client.get(f"/inspections/book/{overdue_car(stranger).pk}/").status_code == 404
    assert not InspectionBooking.objects.exists()


def test_the_b4_tile_opens_my_inspection_bookings(owner):
    user, _ = owner()
    response = logged(user).get("/services/B4/")
    assert response.status_code == 302 and response["Location"] == "/inspections/"


def test_counter_registers_a_station_and_keeps_its_calendar(clerk, today):
    client = logged(clerk)
    assert "检验机构" in text(client.get("/counter/"))
    form = {
        "uscc": "91411702MA9ABCDE1" , "name": "驻马店市平安机动车检测有限公司", "division": "411702",
        "address": "驻马店市驿城区雪松大道1号", "phone": "0396-2911111", "vehicle_kinds": ["small_passenger", "small_truck"],
    }  # fmt: skip
    from jiaoguan.core.identifiers import make_uscc

    form["uscc"] = make_uscc(form["uscc"])
    created = client.post("/counter/inspections/stations/", form)
    assert created.status_code == 302
    url = created["Location"]
    assert "驻马店市平安机动车检测有限公司" in text(client.get("/counter/inspections/stations/"))
    weekly = {"form": "calendar", "vehicle_kinds": ["small_passenger"], "active": "on"}
    weekly |= {f"am{d}": 5 for d in range(7)} | {f"pm{d}": 0 for d in range(7)}
    assert client.post(url, weekly).status_code == 302
    station_id = int(url.rstrip("/").rsplit("/", 1)[1])
    assert slot_on_id(station_id, today).capacity == 5
    day = today + timedelta(days=3)
    closed = client.post(
        url, {"form": "day", "day": day.isoformat(), "morning": 0, "afternoon": 0, "reason": "检修"}
    )
    assert closed.status_code == 302
    assert StationDay.objects.get(station_id=station_id, day=day).closed
    assert slot_on_id(station_id, day).capacity == 0


def slot_on_id(station_id, day):
    return InspectionSlot.objects.get(station_id=station_id, day=day, half="am")


def test_who_may_open_which_page(clerk, make_station, owner, make_staff):
    user, _ = owner()
    assert logged(user).get("/counter/inspections/stations/").status_code == 403
    assert logged(clerk).get("/inspections/").status_code == 403
    auditor = make_staff(role="auditor", username="auditor-x")
    assert logged(auditor).get("/counter/inspections/stations/").status_code == 403
    station = make_station()
    outsider = make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zk")
    assert logged(outsider).get(f"/counter/inspections/stations/{station.pk}/").status_code == 404


def test_the_station_staff_see_the_days_bookings(make_station, owner, overdue_car, insurer, today):
    from jiaoguan.accounts.models import User

    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    from jiaoguan.inspections import services

    services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, today).pk)
    staff = User.objects.create_user(
        username=station.organisation.uscc, password="x", kind="organisation", organisation=station.organisation,
        registration_level="counter",
    )  # fmt: skip
    page = logged(staff).get("/inspections/station/")
    assert page.status_code == 200 and vehicle.plate_number in text(page)


def test_the_counter_gives_a_station_its_results_client(clerk, make_station):
    from jiaoguan.accounts.clients import api_client_authenticate

    station = make_station()
    page = logged(clerk).post(f"/counter/inspections/stations/{station.pk}/", {"form": "client"})
    assert page.status_code == 200
    html = page.content.decode()
    client_id = re.search(r'<span class="mono">(jgc_[0-9a-f]+)</span>', html).group(1)
    secret = re.search(r'id="issued".*?密钥 <span class="mono">([^<]+)</span>', html, re.S).group(1)
    client = api_client_authenticate(client_id, secret, "inspections:results")
    assert client is not None and client.organisation_id == station.organisation_id


def test_station_staff_are_registered_at_the_counter_with_the_stations_code(
    clerk, make_station, make_person, owner, overdue_car, insurer, today
):
    """The station's login is the counter's organisation registration (U1) with its USCC: the
    registry organisation the station was registered with gets the account."""
    from jiaoguan.accounts.models import OrganisationMember
    from jiaoguan.accounts.services import organisation_register
    from jiaoguan.inspections import services

    station = make_station()
    head = make_person(name="赵军", mobile="13900139000")
    staff = organisation_register(
        actor=clerk, uscc=station.organisation.uscc, name=station.organisation.name, kind="inspection_station",
        division=station.division, representative_id_type="resident_id", representative_id_number=head.id_number,
        representative_name=head.name, representative_role=OrganisationMember.Role.LEGAL_REPRESENTATIVE,
        mobile=head.mobile, password="Station#2026x",
    )  # fmt: skip
    assert staff.organisation_id == station.organisation_id
    user, person = owner()
    vehicle = overdue_car(person)
    services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, today).pk)
    page = logged(staff).get("/inspections/station/")
    assert page.status_code == 200 and vehicle.plate_number in text(page)
