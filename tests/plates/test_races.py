"""One holder per number under a rush (issue 17 §5, P5).

PostgreSQL: 1,000 buyers, each with a pre-registered car, draw at once from a pool of 200
numbers, on 16 threads each with its own connection: 40 draws hold five numbers each, no number
is in two holds, the other 960 are refused with ``plates.pool_empty`` and hold nothing. Then half
of the holders choose and the other holds run out; a second rush after the hold time finds every
number that was not chosen drawable again, and the day's log replays. One account racing two
draws gets one selection; two users self-composing one number: exactly one holds it.
"""

from __future__ import annotations

import os
import queue
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from jiaoguan.core.errors import Conflict
from jiaoguan.plates import draws, selectors, services
from jiaoguan.plates.models import DrawDay, PlateSelection, PoolEvent, PoolNumber, PreRegistration

BUYERS = 1000
POOL_SIZE = 200
THREADS = int(os.environ.get("JIAOGUAN_RACE_CONNECTIONS", "16"))


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the draw race is exercised on PostgreSQL (row-level concurrency)")


def _buyers(count: int, dealer, today) -> list[tuple[object, PreRegistration]]:
    """Citizens with an online account, each with a new car pre-registered in their name."""
    from jiaoguan.accounts.models import User
    from jiaoguan.core.identifiers import make_citizen_id, make_vin
    from jiaoguan.registry.models import Person

    born = [today.replace(year=today.year - 30) - timedelta(days=n // 400) for n in range(count)]
    mobile = "13903960001"
    persons = Person.objects.bulk_create(
        [
            Person(
                id_number=make_citizen_id("411702", born[n], 1 + 2 * (n % 400)), name="王芳", sex="F",
                birth_date=born[n], residence_division="411702", mobile=mobile,
            )
            for n in range(count)
        ]
    )  # fmt: skip
    users = User.objects.bulk_create(
        [
            User(username=p.id_number, person=p, kind="individual", registration_level="online", password="!",
                 mobile=mobile)
            for p in persons
        ]
    )  # fmt: skip
    cars = PreRegistration.objects.bulk_create(
        [
            PreRegistration(
                dealer=dealer, vin=make_vin(f"LRW3E7EA1P{n:07d}"), plate_type="02", brand_model="特斯拉 TSL7000",
                buyer_id_number=p.id_number, buyer_name=p.name, buyer_mobile=mobile, division="411702",
            )
            for n, p in enumerate(persons)
        ]
    )  # fmt: skip
    return list(zip(users, cars, strict=True))


def _rush(calls: list, threads: int = THREADS) -> list[object]:
    """Run every call once, ``threads`` at a time, each thread on its own connection; the calls
    start together (a barrier), then the threads work through the queue as fast as they can."""
    results: list[object] = [None] * len(calls)
    work: queue.Queue[int] = queue.Queue()
    for i in range(len(calls)):
        work.put(i)
    barrier = threading.Barrier(threads)

    def worker() -> None:
        try:
            barrier.wait()
            while True:
                try:
                    i = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    results[i] = calls[i]()
                except Exception as exc:
                    results[i] = exc
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    return results


def _draw(user, car, now, client):
    return lambda: services.selection_start(actor=user, vin=car.vin, mode="random", client=client, now=now)


def _assert_one_holder_per_number(now) -> list[PlateSelection]:
    """P5: every held number is held by one holding selection, whose candidates are exactly its
    held numbers, and no two holding selections share a candidate."""
    holding = list(PlateSelection.objects.filter(state="holding", held_until__gt=now))
    seen: set[str] = set()
    for selection in holding:
        held = set(
            PoolNumber.objects.filter(holder=selection, state="held", available_at__gt=now).values_list(
                "number", flat=True
            )
        )
        assert held == set(selection.candidates)
        assert not seen & held, "a number in two holds"
        seen |= held
    live_held = PoolNumber.objects.filter(state="held", available_at__gt=now)
    assert live_held.count() == len(seen)
    assert set(live_held.values_list("number", flat=True)) == seen
    return holding


def _replay_every_day() -> None:
    days = DrawDay.objects.filter(events__isnull=False).distinct()
    assert days.exists()
    for day in days:
        report = draws.replay(selectors.draw_day_file(day=day.day, reveal=True))
        assert report.ok, report.problems[:5]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_thousand_buyers_draw_from_two_hundred_numbers(make_pool, dealer_user):
    _require_postgres()
    pool = make_pool(patterns=("A80dd", "A81dd"))
    assert PoolNumber.objects.filter(pool=pool).count() == POOL_SIZE
    now = timezone.now()
    buyers = _buyers(BUYERS, dealer_user.organisation, timezone.localdate(now))

    # The rush: every buyer draws at once.
    results = _rush([_draw(u, car, now, f"10.1.{i // 250}.{i % 250}") for i, (u, car) in enumerate(buyers)])
    won = [r for r in results if isinstance(r, PlateSelection)]
    refused = [r for r in results if isinstance(r, Conflict)]
    strange = [r for r in results if not isinstance(r, PlateSelection | Conflict)]
    assert not strange, strange[:3]
    assert len(won) == POOL_SIZE // draws.CANDIDATES
    assert len(refused) == BUYERS - len(won)
    assert {e.code for e in refused} == {"plates.pool_empty"}
    assert all(len(s.candidates) == draws.CANDIDATES for s in won)
    # Nothing half-held: a refused draw left no selection, no held number, no log entry.
    assert PlateSelection.objects.count() == len(won)
    assert PoolEvent.objects.filter(pool=pool, kind=draws.DRAW).count() == len(won)
    holding = _assert_one_holder_per_number(now)
    assert len(holding) == len(won)
    assert sum(len(s.candidates) for s in holding) == POOL_SIZE

    # Half of the holders choose a number (in parallel too), the others let their hold run out.
    users = {u.pk: u for u, _car in buyers}
    choosers, idle = won[: len(won) // 2], won[len(won) // 2 :]
    chose = _rush(
        [
            (lambda s=s: services.selection_choose(
                actor=users[s.account_id], selection_id=s.pk, number=s.candidates[-1], now=now + timedelta(minutes=1)))
            for s in choosers
        ]
    )  # fmt: skip
    assert all(isinstance(r, PlateSelection) and r.state == "chosen" for r in chose), chose[:3]
    chosen = {s.candidates[-1] for s in choosers}
    assert set(PoolNumber.objects.filter(state="selected").values_list("number", flat=True)) == chosen

    # After the hold time every hold has been chosen or has run out: what was not chosen is
    # drawable again at once (P5), without a sweep, by the buyers refused before.
    later = now + timedelta(minutes=services.rules.HOLD_MINUTES + 1)
    assert all(selectors.effective_state(s, later) == "expired" for s in idle)
    waiting = [(u, car) for (u, car), r in zip(buyers, results, strict=True) if isinstance(r, Conflict)]
    second = _rush(
        [_draw(u, car, later, f"10.2.{i // 250}.{i % 250}") for i, (u, car) in enumerate(waiting[:300])]
    )
    won_again = [r for r in second if isinstance(r, PlateSelection)]
    assert not [r for r in second if not isinstance(r, PlateSelection | Conflict)]
    assert {r.code for r in second if isinstance(r, Conflict)} == {"plates.pool_empty"}
    free_again = POOL_SIZE - len(chosen)
    assert len(won_again) == free_again // draws.CANDIDATES
    redrawn = {n for s in won_again for n in s.candidates}
    assert len(redrawn) == free_again and not redrawn & chosen
    _assert_one_holder_per_number(later)
    assert services.selections_normalise(now=later) == len(idle)
    assert PlateSelection.objects.filter(pk__in=[s.pk for s in idle], state="expired").count() == len(idle)

    # Anyone can recompute the day's draws from the published file.
    _replay_every_day()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_one_account_racing_two_draws_gets_one_selection(make_pool, buyer, preregister, run_together):
    _require_postgres()
    make_pool()
    make_pool(plate_type="52", patterns=("D18ddd",))
    user = buyer()
    car, other_car = preregister(user), preregister(user)
    new_energy = preregister(user, plate_type="52")
    now = timezone.now()
    # Two draws for one car, two cars in one pool, and two cars in two pools (two pool locks:
    # the partial unique constraint of one open selection per account decides).
    for first, second in ((car, car), (car, other_car), (car, new_energy)):
        results = run_together(
            lambda a=first: services.selection_start(
                actor=user, vin=a.vin, mode="random", client="a", now=now
            ),
            lambda b=second: services.selection_start(
                actor=user, vin=b.vin, mode="random", client="b", now=now
            ),
        )
        won = [r for r in results if isinstance(r, PlateSelection)]
        lost = [r for r in results if isinstance(r, Conflict)]
        assert len(won) == 1 and len(lost) == 1, results
        assert lost[0].code in {"plates.one_at_a_time", "plates.concurrent"}
        assert PlateSelection.objects.filter(account=user, state="holding").count() == 1
        assert set(PoolNumber.objects.filter(state="held").values_list("number", flat=True)) == set(
            won[0].candidates
        )
        services.selection_abandon(actor=user, selection_id=won[0].pk, now=now)
        assert not PoolNumber.objects.filter(state="held").exists()
    _replay_every_day()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_two_users_composing_one_number_at_once_one_holds_it(pool, buyer, preregister, run_together):
    _require_postgres()
    first, second = buyer(), buyer(mobile="13903960002")
    first_car, second_car = preregister(first), preregister(second)
    now = timezone.now()
    results = run_together(
        lambda: services.selection_start(actor=first, vin=first_car.vin, mode="self", number="A8168", now=now),
        lambda: services.selection_start(actor=second, vin=second_car.vin, mode="self", number="豫Q·A8168", now=now),
    )  # fmt: skip
    won = [r for r in results if isinstance(r, PlateSelection)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].code == "plates.number_unavailable"
    assert lost[0].detail["switch_to"] == "random"
    row = PoolNumber.objects.get(number="豫QA8168")
    assert row.state == "held" and row.holder_id == won[0].pk
    assert PlateSelection.objects.count() == 1
    _replay_every_day()


@pytest.mark.django_db
def test_cool_down_is_kept_for_24_hours_from_the_third_abandon(pool, buyer, preregister, now):
    """Issue 17 §5: three random draws given up within a day close random selection for 24 hours
    from the third, as the refusal announces, even once the first has left the last 24 hours."""
    user = buyer()
    car = preregister(user)
    at = now
    for minutes in (0, 60, 120):
        at = now + timedelta(minutes=minutes)
        selection = services.selection_start(actor=user, vin=car.vin, mode="random", now=at)
        third = services.selection_abandon(actor=user, selection_id=selection.pk, now=at).ended_at
    with pytest.raises(Conflict) as closed:
        services.selection_start(actor=user, vin=car.vin, mode="random", now=now + timedelta(hours=25))
    assert closed.value.code == "plates.cool_down"
    opens_at = closed.value.detail["opens_at"]
    assert opens_at == timezone.localtime(third + timedelta(hours=24)).isoformat()
    # Self-composed selection stays open meanwhile; random opens at the announced time.
    services.selection_start(
        actor=user, vin=car.vin, mode="self", number="A8001", now=now + timedelta(hours=25)
    ).refresh_from_db()
    PlateSelection.objects.filter(mode="self").update(state="abandoned", ended_at=now + timedelta(hours=25))
    with pytest.raises(Conflict):
        services.selection_start(
            actor=user, vin=car.vin, mode="random", now=third + timedelta(hours=24, seconds=-1)
        )
    assert services.selection_start(actor=user, vin=car.vin, mode="random", now=third + timedelta(hours=24))
