"""Demo plate pre-selection (issue 17): the 豫Q pools and the online citizen's two pre-registered
cars are made once next to the demo logins; the citizen can draw and compose straight away."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.core.identifiers import PlateKind, parse_plate
from jiaoguan.demo.generate import ensure_demo_logins, generate_demo
from jiaoguan.plates import draws, selectors, services
from jiaoguan.plates.demo import ensure_demo_plates
from jiaoguan.plates.models import PlatePool, PoolBatch, PoolEvent, PoolNumber, PreRegistration

pytestmark = pytest.mark.django_db
PASSWORD = "Demo#2026-plates"


def test_demo_plates_once_and_the_citizen_can_select(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    today = timezone.localdate()
    generate_demo(persons=60, seed=5, today=today)
    logins = ensure_demo_logins(today=today, password=PASSWORD)
    online = next(row["username"] for row in logins if row["role"] == "citizen_online")
    dealer_login = next(row["username"] for row in logins if row["role"] == "car_dealer")

    rows = ensure_demo_plates(today=today, password=PASSWORD, citizen_username=online)
    assert [(r["role"], r["username"]) for r in rows] == [("car_dealer_plates", dealer_login)]
    counts = (PlatePool.objects.count(), PoolNumber.objects.count(), PreRegistration.objects.count(),
              PoolEvent.objects.count(), PoolBatch.objects.count())  # fmt: skip
    assert counts[0] == 2 and counts[2] == 2
    # Running again adds nothing and prints the same row.
    assert ensure_demo_plates(today=today, password=PASSWORD, citizen_username=online) == rows
    assert (PlatePool.objects.count(), PoolNumber.objects.count(), PreRegistration.objects.count(),
            PoolEvent.objects.count(), PoolBatch.objects.count()) == counts  # fmt: skip

    # Every demo number is a plate of its pool's kind that obeys the office's rules.
    kinds = {"02": PlateKind.ORDINARY, "52": PlateKind.NEW_ENERGY_SMALL}
    for pool in PlatePool.objects.all():
        parsed = services.pool_rules(pool)
        numbers = list(PoolNumber.objects.filter(pool=pool).values_list("number", flat=True))
        assert len(numbers) > 1000
        assert all(parse_plate(n).kind is kinds[pool.plate_type] for n in numbers)
        assert all(services.rules.serial_refusal(n[2:], parsed) is None for n in numbers)
        assert pool.prefix == "豫Q" and pool.open

    # The citizen draws five for the small car, chooses one, and may not start the new-energy car
    # until it is registered (P3); composing for the second car works after the first one's turn.
    user = User.objects.get(username=online)
    small, new_energy = PreRegistration.objects.order_by("plate_type")
    assert small.buyer_id_number == user.person.id_number and small.plate_type == "02"
    assert new_energy.plate_type == "52"
    selection = services.selection_start(actor=user, vin=small.vin, mode="random")
    assert len(selection.candidates) == draws.CANDIDATES
    services.selection_abandon(actor=user, selection_id=selection.pk)
    composed = services.selection_start(actor=user, vin=new_energy.vin, mode="self", number="DA1234")
    assert composed.candidates == ["豫QDA1234"]
    report = draws.replay(selectors.draw_day_file(day=timezone.localdate(), reveal=True))
    assert report.ok, report.problems
