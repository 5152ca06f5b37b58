"""Races of the cross-region transfer on PostgreSQL (T2, T3): two DMVs asking for one car at once
lock it for one transfer; two clerks giving one new plate to two cars at once give it once; two
closings of one transfer at once close the car once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jiaoguan.core.errors import Conflict
from jiaoguan.core.identifiers import make_citizen_id, make_vin
from jiaoguan.registry.models import Vehicle
from jiaoguan.transfers import services
from jiaoguan.transfers.models import OriginRelease, Transfer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the races are exercised on PostgreSQL (row locks, unique constraints)")


@pytest.fixture
def car(make_person, make_vehicle):
    seller = make_person(name="钱卖方")
    return make_vehicle(owner=seller, last_inspected_on=timezone.localdate() - timedelta(days=20))


def _ask(vehicle, reference):
    return services.origin_archive_request(
        peer_city="320100",
        data={"reference": reference, "vin": vehicle.vin, "plate_number": vehicle.plate_number,
              "seller_id_number": vehicle.owner_person.id_number},
    )  # fmt: skip


def test_two_transfers_of_one_car_at_once_lock_it_once(car, run_together):
    results = run_together(lambda: _ask(car, "320100000000000001"), lambda: _ask(car, "320100000000000002"))
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(lost) == 1 and lost[0].code == "transfers.vehicle_locked", results
    assert OriginRelease.objects.filter(vehicle=car).count() == 1


def test_two_closings_at_once_close_once(car, run_together):
    _ask(car, "320100000000000003")
    data = {"reference": "320100000000000003"}
    results = run_together(
        lambda: services.origin_close(peer_city="320100", data=data),
        lambda: services.origin_close(peer_city="320100", data=data),
    )
    assert results[0] == results[1] and isinstance(results[0], dict), results
    car.refresh_from_db()
    assert car.status == "B"


def test_one_new_plate_given_to_two_cars_at_once_goes_to_one(buyer, make_staff, run_together, settings):
    settings.DMV_PEERS = {}
    clerks = [
        make_staff(role="counter_clerk", jurisdiction="411700", username=f"race-clerk-{i}") for i in (1, 2)
    ]
    transfers = []
    for i in (1, 2):
        vin = make_vin(f"LFV2A21K0N{900 + i:07d}")
        record = {"vin": vin, "plate_type": "02", "kind": "small_passenger", "use_nature": "private",
                  "registered_on": "2019-05-13", "last_inspected_on": (date.today() - timedelta(days=9)).isoformat()}  # fmt: skip
        transfers.append(
            Transfer.objects.create(
                number=f"R{i}",
                applicant=buyer,
                buyer_id=buyer.person_id,
                division="411700",
                origin_city="320100",
                plate_number=f"苏A0000{i}",
                plate_type="02",
                vin=vin,
                seller_id_number=make_citizen_id("320102", date(1980, 1, 1), 11),
                invoice_number="1",
                invoice_date=date(2023, 1, 1),
                trade_place="origin",
                state="inspected",
                package={"vin": vin, "record": record},
                package_signature="x",
            )
        )
    results = run_together(
        lambda: services.transfer_register(
            actor=clerks[0], transfer_id=transfers[0].pk, plate_number="豫QT5555"
        ),
        lambda: services.transfer_register(
            actor=clerks[1], transfer_id=transfers[1].pk, plate_number="豫QT5555"
        ),
    )
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(lost) == 1, results
    assert Transfer.objects.filter(new_plate_number="豫QT5555").count() == 1
    assert not Vehicle.objects.filter(
        plate_number="豫QT5555"
    ).exists()  # no origin answered: nothing registered
