"""The insurance check of booking and of the station's result against the real fake insurer
exchange (O7, issue 14): insured books; uninsured or tax unpaid is refused with what is missing
and lands in the feedback list; an insurer that times out is a 503 with nothing booked on a
guess; motorcycles are not asked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from jiaoguan.core.errors import Conflict, Unavailable
from jiaoguan.inspections import services
from jiaoguan.inspections.models import InspectionBooking
from jiaoguan.insurance.models import InsuranceCheckFailure

from .conftest import slot_on

pytestmark = pytest.mark.django_db


def test_insured_books_with_the_policys_end(make_station, owner, overdue_car, insurer_service, today):
    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    insurer_service.set_policy(
        vehicle.vin, start=today - timedelta(days=100), end=today + timedelta(days=200)
    )
    booking = services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, today).pk)
    assert booking.insured_until == today + timedelta(days=200)
    assert [r["vin"] for r in insurer_service.requests()] == [vehicle.vin]


def test_uninsured_and_unpaid_tax_are_refused_and_fed_back(
    make_station, owner, overdue_car, insurer_service, today
):
    station = make_station()
    user, person = owner()
    uninsured, untaxed = overdue_car(person), overdue_car(person)
    insurer_service.set_uninsured(uninsured.vin)
    insurer_service.set_tax(untaxed.vin, paid_years=[])
    slot = slot_on(station, today + timedelta(days=1))
    for vehicle, missing in ((uninsured, "compulsory_insurance"), (untaxed, "vehicle_tax")):
        with pytest.raises(Conflict) as refused:
            services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot.pk)
        assert refused.value.code == "inspections.insurance_missing"
        assert missing in refused.value.detail["missing"] and refused.value.message_zh
    assert not InspectionBooking.objects.exists()
    slot.refresh_from_db()
    assert slot.booked == 0
    # Both failures are in the insurers' weekly feedback list, for the inspection.
    failures = InsuranceCheckFailure.objects.order_by("pk")
    assert [(f.vin, f.purpose) for f in failures] == [
        (uninsured.vin, "inspection"),
        (untaxed.vin, "inspection"),
    ]


def test_the_insurer_times_out_the_owner_is_told_to_retry_and_nothing_is_booked(
    make_station, owner, overdue_car, insurer_service, today
):
    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    slot = slot_on(station, today + timedelta(days=1))
    insurer_service.timeout()
    with pytest.raises(Unavailable) as down:
        services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot.pk)
    assert down.value.code == "insurance.unavailable"
    client = Client()
    client.force_login(user)
    answer = client.post(
        "/api/v1/me/inspection-bookings", {"vehicle_id": vehicle.pk, "slot_id": slot.pk},
        content_type="application/json", HTTP_IDEMPOTENCY_KEY="timeout-1",
    )  # fmt: skip
    assert answer.status_code == 503 and "稍后重试" in answer.json()["message"]
    slot.refresh_from_db()
    assert slot.booked == 0 and not InspectionBooking.objects.exists()
    assert not InsuranceCheckFailure.objects.exists()  # a timeout is no failed check
    # Back up: the retry with the same key books.
    insurer_service.configure(timeout_rate=0.0)
    retry = client.post(
        "/api/v1/me/inspection-bookings", {"vehicle_id": vehicle.pk, "slot_id": slot.pk},
        content_type="application/json", HTTP_IDEMPOTENCY_KEY="timeout-1",
    )  # fmt: skip
    assert retry.status_code == 201


def test_an_outage_at_the_station_records_no_result(
    make_station, owner, overdue_car, insurer_service, station_client, today
):
    station = make_station()
    client, _ = station_client(station)
    user, person = owner()
    vehicle = overdue_car(person)
    insurer_service.set_policy(
        vehicle.vin, start=today - timedelta(days=100), end=today + timedelta(days=200)
    )
    booking = services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, today).pk)
    insurer_service.outage()
    with pytest.raises(Unavailable):
        services.inspection_result_record(
            client=client,
            data=services.ResultInput(outcome="pass", inspected_on=today, booking_id=booking.pk),
        )
    booking.refresh_from_db()
    vehicle.refresh_from_db()
    assert booking.state == "booked" and vehicle.last_inspected_on is None


def test_motorcycles_are_not_asked(make_station, owner, make_vehicle, insurer_service, today):
    station = make_station(kinds=("motorcycle",))
    user, person = owner()
    bike = make_vehicle(
        owner=person, kind="motorcycle", plate_type="07", use_nature="private",
        registered_on=today - timedelta(days=8 * 365),
    )  # fmt: skip
    insurer_service.outage()  # would refuse anything asked
    booking = services.booking_create(actor=user, vehicle_id=bike.pk, slot_id=slot_on(station, today).pk)
    assert booking.state == "booked" and insurer_service.requests() == []
