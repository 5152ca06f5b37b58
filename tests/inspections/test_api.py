"""Inspection booking through the API (B4, issue 14): stations and slots, my bookings with
Idempotency-Key, change and cancellation, refusals in both languages, and the stations' results
with client credentials (scope ``inspections:results``)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.test import Client

from jiaoguan.inspections.models import InspectionBooking, InspectionResult

from .conftest import slot_on

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def test_stations_and_slots_are_public(make_station, today):
    station = make_station()
    county = make_station(name="西平县检测站", division="411721", kinds=("motorcycle",))
    anonymous = Client()
    found = anonymous.get(
        "/api/v1/inspection-stations", {"division": "411700", "kind": "small_passenger"}
    ).json()
    assert [s["id"] for s in found] == [station.pk]
    assert found[0]["vehicle_kinds"] == ["heavy_truck", "small_passenger", "small_truck"]
    assert anonymous.get("/api/v1/inspection-stations", {"kind": "tractor"}).json() == []
    assert [s["id"] for s in anonymous.get("/api/v1/inspection-stations", {"division": "411721"}).json()] == [
        county.pk
    ]
    slots = anonymous.get(
        f"/api/v1/inspection-stations/{station.pk}/slots",
        {"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()},
    ).json()
    assert [(s["day"], s["half"], s["free"]) for s in slots] == [
        (today.isoformat(), "am", 10), (today.isoformat(), "pm", 10),
        ((today + timedelta(days=1)).isoformat(), "am", 10), ((today + timedelta(days=1)).isoformat(), "pm", 10),
    ]  # fmt: skip
    too_long = anonymous.get(
        f"/api/v1/inspection-stations/{station.pk}/slots",
        {"from": today.isoformat(), "to": (today + timedelta(days=90)).isoformat()},
    )
    assert too_long.status_code == 422 and too_long.json()["code"] == "inspections.slot_range"
    assert anonymous.get("/api/v1/inspection-stations/999999/slots").status_code == 404


def test_book_list_change_cancel(make_station, owner, overdue_car, insurer, today):
    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    api = _client(user)
    slot = slot_on(station, today + timedelta(days=1))
    body = {"vehicle_id": vehicle.pk, "slot_id": slot.pk, "label": {"delivery": "pickup"}}
    created = api.post(
        "/api/v1/me/inspection-bookings", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert created.status_code == 201, created.json()
    booking = created.json()
    assert (
        booking["state"] == "booked"
        and booking["station"]["id"] == station.pk
        and booking["label_delivery"] == "pickup"
    )
    # A retry with the key answers the first answer and books nothing more.
    again = api.post(
        "/api/v1/me/inspection-bookings", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert again.status_code == 201 and again.json()["id"] == booking["id"]
    assert InspectionBooking.objects.count() == 1
    # Without the key it is a second booking of the vehicle: refused with the reason.
    second = api.post("/api/v1/me/inspection-bookings", body, content_type="application/json")
    assert second.status_code == 409 and second.json()["code"] == "inspections.already_booked"
    listed = api.get("/api/v1/me/inspection-bookings").json()
    assert [b["id"] for b in listed] == [booking["id"]]
    new_slot = slot_on(station, today + timedelta(days=2), "pm")
    changed = api.post(
        f"/api/v1/me/inspection-bookings/{booking['id']}/change", {"slot_id": new_slot.pk},
        content_type="application/json",
    )  # fmt: skip
    assert (
        changed.status_code == 200
        and changed.json()["slot_id"] == new_slot.pk
        and changed.json()["changes"] == 1
    )
    cancelled = api.post(f"/api/v1/me/inspection-bookings/{booking['id']}/cancellation")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    twice = api.post(f"/api/v1/me/inspection-bookings/{booking['id']}/cancellation")
    assert twice.status_code == 409


def test_refusals_carry_the_reason_in_both_languages(make_station, owner, overdue_car, insurer, today):
    station = make_station()
    user, person = owner()
    _, stranger = owner(name="李娜")
    api = _client(user)
    slot = slot_on(station, today)
    not_mine = api.post(
        "/api/v1/me/inspection-bookings", {"vehicle_id": overdue_car(stranger).pk, "slot_id": slot.pk},
        content_type="application/json",
    )  # fmt: skip
    assert not_mine.status_code == 404
    uninsured = overdue_car(person)
    insurer.uninsured.add(uninsured.vin)
    body = {"vehicle_id": uninsured.pk, "slot_id": slot.pk}
    zh = api.post("/api/v1/me/inspection-bookings", body, content_type="application/json")
    assert zh.status_code == 409 and zh.json()["code"] == "inspections.insurance_missing"
    assert "交强险" in zh.json()["message"] and zh.json()["detail"]["missing"] == ["compulsory_insurance"]
    en = api.post(
        "/api/v1/me/inspection-bookings", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "insurance" in en.json()["message"]
    assert (
        Client().post("/api/v1/me/inspection-bookings", body, content_type="application/json").status_code
        == 401
    )


def test_insurer_down_answers_503_and_a_retry_with_the_same_key_books(
    make_station, owner, overdue_car, insurer, today
):
    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    api = _client(user)
    body = {"vehicle_id": vehicle.pk, "slot_id": slot_on(station, today).pk}
    insurer.down = True
    down = api.post(
        "/api/v1/me/inspection-bookings", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="r1"
    )
    assert down.status_code == 503 and down.json()["code"] == "insurance.unavailable"
    assert not InspectionBooking.objects.exists()
    insurer.down = False  # the 503 was not stored under the key: the retry asks the insurer again
    retry = api.post(
        "/api/v1/me/inspection-bookings", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="r1"
    )
    assert retry.status_code == 201


def test_station_reports_results_with_client_credentials(
    make_station, owner, overdue_car, insurer, station_client, today
):
    station = make_station()
    client, secret = station_client(station)
    user, person = owner()
    vehicle = overdue_car(person)
    booking = _client(user).post(
        "/api/v1/me/inspection-bookings", {"vehicle_id": vehicle.pk, "slot_id": slot_on(station, today).pk},
        content_type="application/json",
    ).json()  # fmt: skip
    body = {"plate_number": vehicle.plate_number, "result": "pass", "inspected_on": today.isoformat()}
    anonymous = Client()
    assert (
        anonymous.post("/api/v1/stations/inspections", body, content_type="application/json").status_code
        == 401
    )
    wrong_secret = anonymous.post(
        "/api/v1/stations/inspections",
        body,
        content_type="application/json",
        headers=basic(client.client_id, "x"),
    )
    assert wrong_secret.status_code == 401
    camera, camera_secret = station_client(station, scopes="violations:import")
    no_scope = anonymous.post(
        "/api/v1/stations/inspections", body, content_type="application/json",
        headers=basic(camera.client_id, camera_secret),
    )  # fmt: skip
    assert no_scope.status_code == 403
    headers = {**basic(client.client_id, secret), "Idempotency-Key": "station-1"}
    first = anonymous.post(
        "/api/v1/stations/inspections", body, content_type="application/json", headers=headers
    )
    assert first.status_code == 201, first.json()
    assert first.json()["booking_id"] == booking["id"] and first.json()["outcome"] == "pass"
    replay = anonymous.post(
        "/api/v1/stations/inspections", body, content_type="application/json", headers=headers
    )
    assert replay.status_code == 201 and replay.json() == first.json()
    second = anonymous.post(
        "/api/v1/stations/inspections", {**body, "booking_id": booking["id"]}, content_type="application/json",
        headers=basic(client.client_id, secret),
    )  # fmt: skip
    assert second.status_code == 409 and second.json()["code"] == "inspections.result_exists"
    assert InspectionResult.objects.count() == 1
    mine = _client(user).get(f"/api/v1/me/inspection-bookings/{booking['id']}").json()
    assert mine["state"] == "passed" and mine["result"]["outcome"] == "pass"


def test_station_result_for_an_unbooked_vehicle_is_refused(
    make_station, owner, overdue_car, insurer, station_client, today
):
    station = make_station()
    client, secret = station_client(station)
    _, person = owner()
    vehicle = overdue_car(person)
    refused = Client().post(
        "/api/v1/stations/inspections",
        {"vin": vehicle.vin, "result": "fail", "inspected_on": today.isoformat(), "defects": ["灯光"]},
        content_type="application/json", headers=basic(client.client_id, secret),
    )  # fmt: skip
    assert refused.status_code == 409 and refused.json()["code"] == "inspections.no_booking"


def test_my_bookings_take_the_same_queries_for_one_booking_or_three(
    make_station, owner, overdue_car, insurer, today
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from jiaoguan.inspections import services

    station = make_station()
    user, person = owner()
    api = _client(user)

    def count(path):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(path).status_code == 200
        return len(queries)

    services.booking_create(actor=user, vehicle_id=overdue_car(person).pk, slot_id=slot_on(station, today).pk)
    one = (count("/api/v1/me/inspection-bookings"), count("/inspections/"))
    for n in (1, 2):
        services.booking_create(
            actor=user,
            vehicle_id=overdue_car(person).pk,
            slot_id=slot_on(station, today + timedelta(days=n)).pk,
        )
    assert (count("/api/v1/me/inspection-bookings"), count("/inspections/")) == one
