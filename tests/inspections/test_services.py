"""Inspection booking services (B4, O7, E1): every refusal, change and cancel releasing places,
one active booking per vehicle, the station's result (pass issues a new e-mark, fail keeps the
defects and the re-test deadline, a second result or one without a booking is refused)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jiaoguan.core.errors import Conflict, NotFound, Unavailable, ValidationFailed
from jiaoguan.core.models import OutboxMessage
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.credentials.models import Credential
from jiaoguan.inspections import services
from jiaoguan.inspections.models import InspectionBooking, InspectionResult, InspectionSlot

from .conftest import slot_on

pytestmark = pytest.mark.django_db


def booked(slot):
    slot.refresh_from_db()
    return slot.booked


# ---------------------------------------------------------------- the calendar


def test_registering_a_station_makes_eight_weeks_of_slots(make_station, today):
    station = make_station(weekly={"0": [3, 2], **{str(d): [0, 0] for d in range(1, 7)}})
    slots = InspectionSlot.objects.filter(station=station)
    assert slots.count() == 8 * 7 * 2
    assert slots.filter(day__gte=today + timedelta(weeks=8)).count() == 0
    monday = next(today + timedelta(days=n) for n in range(7) if (today + timedelta(days=n)).weekday() == 0)
    assert (slot_on(station, monday).capacity, slot_on(station, monday, "pm").capacity) == (3, 2)
    assert slots.filter(day__week_day=3).exclude(capacity=0).count() == 0  # Tuesdays closed
    assert station.organisation.kind == "inspection_station"
    # Extending again changes nothing (the periodic task runs daily).
    assert services.slots_extend(today=today) == 0


def test_closing_a_day_cancels_its_bookings_and_texts_the_owners(
    make_station, owner, overdue_car, insurer, clerk, today
):
    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    day = today + timedelta(days=3)
    booking = services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, day).pk)
    services.station_day_set(
        actor=clerk, station_id=station.pk, day=day, morning=0, afternoon=0, reason="设备检修"
    )
    booking.refresh_from_db()
    assert booking.state == "cancelled"
    assert (slot_on(station, day).capacity, slot_on(station, day).booked) == (0, 0)
    assert OutboxMessage.objects.filter(dedup_key=f"inspection-day-closed-{booking.pk}").exists()
    # Fewer places than booked keeps the bookings: the slot never drops below them.
    other = today + timedelta(days=4)
    services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, other).pk)
    services.station_day_set(actor=clerk, station_id=station.pk, day=other, morning=0, afternoon=5)
    assert (slot_on(station, other).capacity, slot_on(station, other).booked) == (1, 1)


def test_a_clerk_outside_the_jurisdiction_cannot_touch_the_station(make_station, make_staff, today):
    from jiaoguan.core.errors import NotAllowed

    station = make_station()
    outsider = make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zhoukou")
    with pytest.raises(NotFound):
        services.station_change(actor=outsider, station_id=station.pk, active=False)
    with pytest.raises(NotAllowed):
        services.station_register(
            actor=outsider,
            data=services.StationInput(
                uscc="91411702MA9ZZZZZ1W",
                name="x",
                division="411702",
                address="驻马店市驿城区",
                vehicle_kinds=["small_passenger"],
            ),
        )


# ---------------------------------------------------------------- booking and its refusals


def test_an_overdue_owner_books_a_slot(make_station, owner, overdue_car, insurer, today):
    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    slot = slot_on(station, today + timedelta(days=2))
    booking = services.booking_create(
        actor=user, vehicle_id=vehicle.pk, slot_id=slot.pk,
        label=services.LabelInput(
            delivery="post", recipient_name="张伟", recipient_phone="13800138000", address_division="411702",
            address_line="驻马店市驿城区解放路1号",
        ),
    )  # fmt: skip
    assert booking.state == "booked" and booking.station == station and booked(slot) == 1
    assert booking.label_delivery == "post" and booking.insured_until is not None
    # The insurer was asked for the slot's day, for an inspection (O7).
    assert insurer.calls == [(vehicle.vin, "inspection", slot.day)]


def test_due_soon_books_inside_the_window_only(make_station, owner, due_truck, insurer, today):
    from jiaoguan.registry.selectors import vehicle_status

    station = make_station()
    user, person = owner()
    truck = due_truck(person)
    status = vehicle_status(truck, today=today)
    assert status.inspection_state == "due_soon" and status.next_inspection_on_site
    after = slot_on(station, status.inspection_valid_until + timedelta(days=1))
    with pytest.raises(Conflict) as refused:
        services.booking_create(actor=user, vehicle_id=truck.pk, slot_id=after.pk)
    assert refused.value.code == "inspections.outside_window"
    inside = slot_on(station, status.inspection_valid_until, "pm")
    assert services.booking_create(actor=user, vehicle_id=truck.pk, slot_id=inside.pk).slot == inside


def test_refusals(make_station, owner, overdue_car, valid_truck, insurer, today, make_vehicle):
    station = make_station()
    user, person = owner()
    _, stranger = owner(name="李娜")
    slot = slot_on(station, today + timedelta(days=1))

    def refused(vehicle_id, slot_id=slot.pk, error=Conflict):
        with pytest.raises(error) as caught:
            services.booking_create(actor=user, vehicle_id=vehicle_id, slot_id=slot_id)
        return caught.value.code

    # Somebody else's vehicle is not found (404), so ids cannot be probed.
    assert refused(overdue_car(stranger).pk, error=NotFound) == "inspections.vehicle_not_found"
    assert refused(valid_truck(person).pk) == "inspections.not_due"
    uninsured = overdue_car(person)
    insurer.uninsured.add(uninsured.vin)
    assert refused(uninsured.pk) == "inspections.insurance_missing"
    stolen = overdue_car(person, status="C")
    assert refused(stolen.pk) == "inspections.vehicle_status"
    bike = make_vehicle(
        owner=person, kind="motorcycle", plate_type="07", registered_on=today - timedelta(days=3000)
    )
    assert refused(bike.pk) == "inspections.kind_not_tested"
    elsewhere = overdue_car(person, division="411602")
    assert refused(elsewhere.pk) == "inspections.station_elsewhere"
    car = overdue_car(person)
    closed = slot_on(station, today + timedelta(days=5))
    InspectionSlot.objects.filter(pk=closed.pk).update(capacity=0)
    assert refused(car.pk, closed.pk) == "inspections.station_closed"
    full = slot_on(station, today + timedelta(days=6))
    InspectionSlot.objects.filter(pk=full.pk).update(booked=full.capacity)
    assert refused(car.pk, full.pk) == "inspections.slot_full"
    late = slot_on(station, today + timedelta(weeks=5))
    assert refused(car.pk, late.pk) == "inspections.outside_window"
    services.booking_create(actor=user, vehicle_id=car.pk, slot_id=slot.pk)
    assert refused(car.pk) == "inspections.already_booked"
    station.active = False
    station.save()
    assert refused(overdue_car(person).pk) == "inspections.station_inactive"
    # Nothing of the refused ones holds a place.
    assert booked(slot) == 1 and InspectionBooking.objects.count() == 1


def test_label_address_is_checked(make_station, owner, overdue_car, insurer, today):
    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    with pytest.raises(ValidationFailed) as refused:
        services.booking_create(
            actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, today).pk,
            label=services.LabelInput(delivery="post", recipient_name="张伟", recipient_phone="123"),
        )  # fmt: skip
    assert refused.value.field == "recipient_phone"


def test_insurer_down_books_nothing(make_station, owner, overdue_car, insurer, today):
    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    insurer.down = True
    slot = slot_on(station, today + timedelta(days=1))
    with pytest.raises(Unavailable):
        services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot.pk)
    assert booked(slot) == 0 and not InspectionBooking.objects.exists()


def test_one_active_booking_per_vehicle_is_a_database_rule(make_station, owner, overdue_car, insurer, today):
    from django.db import IntegrityError, transaction

    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    first = services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, today).pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        InspectionBooking.objects.create(
            vehicle=vehicle, booked_by=user, station=station, slot=first.slot, division=vehicle.division
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        InspectionSlot.objects.filter(pk=first.slot_id).update(booked=999)  # never above capacity


# ---------------------------------------------------------------- change and cancel


def test_change_moves_the_place_and_cancel_releases_it(make_station, owner, overdue_car, insurer, today):
    station = make_station()
    other_station = make_station(name="驻马店市通达机动车检测站")
    user, person = owner()
    vehicle = overdue_car(person)
    first, second = (
        slot_on(station, today + timedelta(days=1)),
        slot_on(other_station, today + timedelta(days=2)),
    )
    booking = services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=first.pk)
    services.booking_change(actor=user, booking_id=booking.pk, slot_id=second.pk)
    booking.refresh_from_db()
    assert (booking.slot, booking.station, booking.changes) == (second, other_station, 1)
    assert (booked(first), booked(second)) == (0, 1)
    # A full slot refuses the change and nothing moves.
    full = slot_on(station, today + timedelta(days=3))
    InspectionSlot.objects.filter(pk=full.pk).update(booked=full.capacity)
    with pytest.raises(Conflict):
        services.booking_change(actor=user, booking_id=booking.pk, slot_id=full.pk)
    assert (booked(second), booked(full)) == (1, full.capacity)
    services.booking_cancel(actor=user, booking_id=booking.pk)
    assert booked(second) == 0
    with pytest.raises(Conflict) as again:
        services.booking_cancel(actor=user, booking_id=booking.pk)
    assert again.value.code == "inspections.booking_not_active"
    # After a cancellation the vehicle books again.
    services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=first.pk)


def test_nobody_changes_or_cancels_somebody_elses_booking(make_station, owner, overdue_car, insurer, today):
    station = make_station()
    user, person = owner()
    other, _ = owner(name="李娜")
    booking = services.booking_create(
        actor=user, vehicle_id=overdue_car(person).pk, slot_id=slot_on(station, today).pk
    )
    with pytest.raises(NotFound):
        services.booking_cancel(actor=other, booking_id=booking.pk)
    with pytest.raises(NotFound):
        services.booking_change(actor=other, booking_id=booking.pk, slot_id=slot_on(station, today, "pm").pk)


# ---------------------------------------------------------------- the station's result


def _book(station, user, vehicle, today, **kw):
    return services.booking_create(
        actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, today).pk, **kw
    )


def test_pass_records_the_inspection_issues_a_new_mark_and_queues_the_paper_label(
    make_station, owner, overdue_car, insurer, station_client, today
):
    station = make_station()
    client, _secret = station_client(station)
    user, person = owner()
    vehicle = overdue_car(person)
    assert not Credential.objects.filter(vehicle=vehicle, status="valid").exists()
    booking = _book(
        station, user, vehicle, today,
        label=services.LabelInput(delivery="pickup"),
    )  # fmt: skip
    result = services.inspection_result_record(
        client=client,
        data=services.ResultInput(outcome="pass", inspected_on=today, plate_number=vehicle.plate_number),
    )
    assert result.booking == booking and result.outcome == "pass" and result.defects == []
    vehicle.refresh_from_db()
    booking.refresh_from_db()
    assert vehicle.last_inspected_on == today and booking.state == "passed"
    label = OutboxMessage.objects.get(dedup_key=f"paper-label-booking-{booking.pk}")
    assert label.topic == "inspections.paper_label_requested"
    assert label.payload == {
        "vehicle_id": vehicle.pk, "owner_user_id": user.pk, "credential_id": None, "delivery": "pickup",
        "recipient_name": "", "recipient_phone": "", "address_division": "", "address_line": "",
        "division": vehicle.division, "source": f"inspection_booking:{booking.pk}",
    }  # fmt: skip
    # The insurer is asked again at the station (O7), for the inspection day.
    assert insurer.calls[-1] == (vehicle.vin, "inspection", today)
    outbox_dispatch()
    mark = Credential.objects.get(vehicle=vehicle, status="valid")
    assert mark.valid_until > today
    # The paper-mark queue of the applications engine took the label request (E2).
    from jiaoguan.applications.models import Application

    label_application = Application.objects.get(source_key=f"inspection_booking:{booking.pk}")
    assert label_application.applicant_id == user.pk and label_application.delivery_method == "pickup"
    # The owner is told.
    assert OutboxMessage.objects.filter(dedup_key=f"inspection-result-{result.pk}", topic="sms.send").exists()


def test_fail_records_defects_and_the_retest_deadline(
    make_station, owner, overdue_car, insurer, station_client, today
):
    station = make_station()
    client, _ = station_client(station)
    user, person = owner()
    vehicle = overdue_car(person)
    booking = _book(station, user, vehicle, today)
    result = services.inspection_result_record(
        client=client,
        data=services.ResultInput(
            outcome="fail",
            inspected_on=today,
            booking_id=booking.pk,
            defects=["制动力不平衡", "前照灯远光偏移"],
        ),
    )
    assert result.defects == ["制动力不平衡", "前照灯远光偏移"]
    assert result.retest_by == today + timedelta(days=30)  # overdue: 30 days (ASSUMPTION in rules)
    vehicle.refresh_from_db()
    assert vehicle.last_inspected_on is None
    sms = OutboxMessage.objects.get(dedup_key=f"inspection-result-{result.pk}")
    assert "制动力不平衡" in sms.payload["text"]
    # After a fail the owner books the re-test.
    assert services.booking_create(
        actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, today, "pm").pk
    )


def test_second_result_and_result_without_booking_are_refused(
    make_station, owner, overdue_car, insurer, station_client, today
):
    station = make_station()
    other_station = make_station(name="驻马店市通达机动车检测站")
    client, _ = station_client(station)
    user, person = owner()
    vehicle = overdue_car(person)
    booking = _book(station, user, vehicle, today)
    services.inspection_result_record(
        client=client, data=services.ResultInput(outcome="pass", inspected_on=today, booking_id=booking.pk)
    )
    with pytest.raises(Conflict) as second:
        services.inspection_result_record(
            client=client,
            data=services.ResultInput(outcome="pass", inspected_on=today, booking_id=booking.pk),
        )
    assert second.value.code == "inspections.result_exists"
    with pytest.raises(Conflict) as by_plate:
        services.inspection_result_record(
            client=client, data=services.ResultInput(outcome="pass", inspected_on=today, vin=vehicle.vin)
        )
    assert by_plate.value.code == "inspections.no_booking"
    # A booking at another station is no booking here.
    other_vehicle = overdue_car(person)
    other_booking = _book(other_station, user, other_vehicle, today)
    with pytest.raises(Conflict) as elsewhere:
        services.inspection_result_record(
            client=client,
            data=services.ResultInput(outcome="pass", inspected_on=today, booking_id=other_booking.pk),
        )
    assert elsewhere.value.code == "inspections.no_booking"
    assert InspectionResult.objects.count() == 1


def test_result_input_and_insurance_at_the_station(
    make_station, owner, overdue_car, insurer, station_client, today
):
    from jiaoguan.core.errors import NotAllowed

    station = make_station()
    client, _ = station_client(station)
    user, person = owner()
    vehicle = overdue_car(person)
    booking = _book(station, user, vehicle, today)
    for bad, field in [
        (services.ResultInput(outcome="maybe", inspected_on=today, booking_id=booking.pk), "outcome"),
        (services.ResultInput(outcome="fail", inspected_on=today, booking_id=booking.pk), "defects"),
        (
            services.ResultInput(
                outcome="pass", inspected_on=today + timedelta(days=1), booking_id=booking.pk
            ),
            "inspected_on",
        ),
        (services.ResultInput(outcome="pass", inspected_on=today), "booking_id"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            services.inspection_result_record(client=client, data=bad)
        assert refused.value.field == field
    insurer.uninsured.add(vehicle.vin)
    with pytest.raises(Conflict) as uninsured:
        services.inspection_result_record(
            client=client,
            data=services.ResultInput(outcome="pass", inspected_on=today, booking_id=booking.pk),
        )
    assert uninsured.value.code == "inspections.insurance_missing"
    from jiaoguan.accounts.clients import api_client_create

    camera, _ = api_client_create(name="电子警察", scopes="inspections:results", division="411700")
    with pytest.raises(NotAllowed):
        services.inspection_result_record(
            client=camera,
            data=services.ResultInput(outcome="pass", inspected_on=today, booking_id=booking.pk),
        )
    booking.refresh_from_db()
    assert booking.state == "booked" and not InspectionResult.objects.exists()


def test_a_booking_whose_day_passed_does_not_hold_the_vehicle(
    make_station, owner, overdue_car, insurer, today
):
    station = make_station()
    user, person = owner()
    vehicle = overdue_car(person)
    missed = services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, today).pk)
    # The day passes without a result (the owner did not come): booking again is allowed.
    later = today + timedelta(days=1)
    again = services.booking_create(
        actor=user, vehicle_id=vehicle.pk, slot_id=slot_on(station, later).pk, today=later
    )
    missed.refresh_from_db()
    assert missed.state == "missed" and again.state == "booked"
