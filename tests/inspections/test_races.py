"""The last places of a slot under a rush (B4, PostgreSQL): 200 owners, each with their own vehicle,
thread and database connection, book the last 10 places of one slot at once: exactly 10 succeed,
the others are told the slot is full, and the slot is booked to its capacity, never beyond."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from jiaoguan.core.errors import Conflict
from jiaoguan.inspections import services
from jiaoguan.inspections.models import InspectionBooking, InspectionSlot

from .conftest import slot_on

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

OWNERS = 200
LAST_PLACES = 10
# The shared PostgreSQL server allows 100 connections for every suite running on it: the 200
# threads start together and hold at most this many connections at a time.
CONNECTIONS = int(os.environ.get("JIAOGUAN_RACE_CONNECTIONS", "40"))


def test_two_hundred_owners_race_for_the_last_ten_places(
    make_station, make_person, citizen, make_vehicle, insurer, today
):
    if connection.vendor != "postgresql":
        pytest.skip("the booking race is exercised on PostgreSQL (row-level concurrency)")
    from jiaoguan.registry.rules import add_years

    station = make_station(weekly={str(d): [60, 60] for d in range(7)})
    slot = slot_on(station, today + timedelta(days=2))
    InspectionSlot.objects.filter(pk=slot.pk).update(booked=60 - LAST_PLACES)
    owners = []
    for n in range(OWNERS):
        person = make_person(name="张伟", sequence=1 + 2 * n)
        vehicle = make_vehicle(owner=person, registered_on=add_years(today, -7), plate=f"豫Q{n:04d}R")
        owners.append((citizen(person), vehicle))

    barrier = threading.Barrier(OWNERS)
    gate = threading.BoundedSemaphore(CONNECTIONS)
    outcomes: list[object] = [None] * OWNERS

    def book(i: int) -> None:
        user, vehicle = owners[i]
        try:
            barrier.wait()
            with gate:
                try:
                    outcomes[i] = services.booking_create(actor=user, vehicle_id=vehicle.pk, slot_id=slot.pk)
                finally:
                    connections.close_all()
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=book, args=(i,)) for i in range(OWNERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    won = [o for o in outcomes if isinstance(o, InspectionBooking)]
    lost = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(won) == LAST_PLACES, [o for o in outcomes if not isinstance(o, InspectionBooking | Conflict)][
        :3
    ]
    assert len(lost) == OWNERS - LAST_PLACES
    assert {e.code for e in lost} == {"inspections.slot_full"}
    slot.refresh_from_db()
    assert slot.booked == slot.capacity == 60
    assert InspectionBooking.objects.filter(slot=slot).count() == LAST_PLACES
