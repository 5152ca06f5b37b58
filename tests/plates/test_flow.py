"""The whole pre-selection of one car: pre-registration, draw, choice, registration (issue 17)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.errors import Conflict, NotFound, ValidationFailed
from jiaoguan.core.identifiers import make_vin
from jiaoguan.plates import draws, selectors, services
from jiaoguan.plates.models import PlateSelection, PoolNumber
from jiaoguan.registry.models import Vehicle

pytestmark = pytest.mark.django_db


def test_random_draw_choose_and_register(pool, buyer, preregister, plates_clerk, now):
    user = buyer()
    car = preregister(user)
    selection = services.selection_start(actor=user, vin=car.vin, mode="random", now=now)
    assert len(selection.candidates) == 5
    assert PoolNumber.objects.filter(holder=selection, state="held").count() == 5
    chosen = services.selection_choose(
        actor=user, selection_id=selection.pk, number=selection.candidates[2], now=now
    )
    assert chosen.state == "chosen" and chosen.chosen == selection.candidates[2]
    assert PoolNumber.objects.filter(state="held").count() == 0
    services.selection_register(actor=plates_clerk, selection_id=selection.pk, now=now)
    vehicle = Vehicle.objects.get(vin=car.vin)
    assert vehicle.plate_number == selection.candidates[2]
    assert vehicle.owner_person_id == user.person_id
    day = selectors.draw_day_file(day=timezone.localdate(now), reveal=True)
    report = draws.replay(day)
    assert report.ok, report.problems
    assert report.draws == 1


def test_self_composed_hold_and_refusals(pool, buyer, preregister, now):
    user = buyer()
    car = preregister(user)
    with pytest.raises(ValidationFailed) as bad:
        services.selection_start(actor=user, vin=car.vin, mode="self", number="B8123", now=now)
    assert bad.value.code == "plates.rules.pattern"
    assert not PlateSelection.objects.exists()
    selection = services.selection_start(actor=user, vin=car.vin, mode="self", number="A8123", now=now)
    assert selection.candidates == ["豫QA8123"]
    with pytest.raises(Conflict) as second:
        services.selection_start(actor=user, vin=car.vin, mode="random", now=now)
    assert second.value.code == "plates.one_at_a_time"
    other = buyer(mobile="13903960002")
    other_car = preregister(other)
    with pytest.raises(Conflict) as taken:
        services.selection_start(actor=other, vin=other_car.vin, mode="self", number="豫QA8123", now=now)
    assert taken.value.code == "plates.number_unavailable"
    later = now + timedelta(minutes=6)
    again = services.selection_start(actor=other, vin=other_car.vin, mode="self", number="A8123", now=later)
    assert again.candidates == ["豫QA8123"]


def test_vin_id_and_mobile_are_matched_first(pool, buyer, preregister, now):
    user = buyer()
    with pytest.raises(NotFound) as missing:
        services.selection_start(actor=user, vin=make_vin("LFV2A21K5N9999999"), mode="random", now=now)
    assert missing.value.code == "plates.not_preregistered"
    someone = buyer(mobile="13903960003")
    car = preregister(someone)
    with pytest.raises(Conflict) as wrong:
        services.selection_start(actor=user, vin=car.vin, mode="random", now=now)
    assert wrong.value.code == "plates.id_mismatch"
    car2 = preregister(user, mobile="13903969999")
    with pytest.raises(Conflict) as wrong_mobile:
        services.selection_start(actor=user, vin=car2.vin, mode="random", now=now)
    assert wrong_mobile.value.code == "plates.mobile_mismatch"
    assert not PoolNumber.objects.filter(state="held").exists()
