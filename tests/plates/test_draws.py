"""Draws anyone can recompute (issue 17 §3): the pure pieces of ``draws``, the replay of a real day
made by the services, one altered entry found, and ``jiaoguan verify-draws`` on a file, a day of
this installation and an address."""

from __future__ import annotations

import copy
import functools
import hashlib
import http.server
import json
import threading
from datetime import UTC, datetime, time, timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from jiaoguan.core.errors import Conflict
from jiaoguan.plates import draws, selectors, services
from jiaoguan.plates.models import PoolNumber

SEED = "3c" * 32


# ---------------------------------------------------------------- pure pieces


def test_commitment_is_the_sha256_of_the_seed_text():
    seed = draws.new_seed()
    assert len(seed) == 64 and int(seed, 16) >= 0
    assert draws.commitment_of(seed) == hashlib.sha256(seed.encode()).hexdigest()
    assert draws.new_seed() != seed


def test_stamp_round_trip_keeps_microseconds_in_utc():
    moment = datetime(2026, 12, 5, 8, 30, 1, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    text = draws.stamp(moment)
    assert text == "2026-12-05T00:30:01.123456Z"
    assert draws.parse_stamp(text) == moment
    assert draws.parse_stamp(text).tzinfo is UTC


def test_start_position_is_deterministic_and_inside_the_span():
    inputs = draws.draw_inputs(day="2026-12-05", pool="豫Q:02", sequence=7, user="411***1234")
    assert inputs == "2026-12-05|豫Q:02|7|411***1234"
    first = draws.start_position(SEED, inputs, 1000)
    assert first == draws.start_position(SEED, inputs, 1000)
    assert 0 <= first < 1000
    assert draws.start_position(SEED, inputs, 0) == 0
    starts = {draws.start_position(SEED, inputs + str(i), 1000) for i in range(50)}
    assert len(starts) > 40  # spread, not stuck
    assert draws.start_position("4d" * 32, inputs, 10**9) != draws.start_position(SEED, inputs, 10**9)


def test_availability_at_the_boundary():
    at = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    tick = timedelta(microseconds=1)
    assert draws.available(draws.FREE, None, at)
    assert draws.available(draws.HELD, at, at)  # a hold ending exactly now is free (P5)
    assert not draws.available(draws.HELD, at + tick, at)
    assert draws.available(draws.SELECTED, at - tick, at)  # quarantine over
    assert not draws.available(draws.SELECTED, None, at)
    assert not draws.available(draws.REGISTERED, None, at)
    assert not draws.available(draws.WITHDRAWN, None, at)


AT = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _hand_day(span: int, start: int, *, until_of_first: datetime | None) -> tuple[dict[str, Any], str]:
    """A one-pool day with a single draw whose ticket starts at ``start``: the number there is held
    until ``until_of_first``, every other number is free."""
    day, pool = "2026-12-05", "豫Q:02"
    at_text, inputs, user = draws.stamp(AT), "", ""
    for n in range(100_000):
        user = f"u{n}"
        inputs = draws.draw_inputs(day=day, pool=pool, sequence=1, user=user)
        if draws.start_position(SEED, inputs, span) == start:
            break
    opening = [[p, f"豫QA81{p:02d}", draws.FREE, None, None] for p in range(span)]
    if until_of_first is not None:
        opening[start] = [start, f"豫QA81{start:02d}", draws.HELD, draws.stamp(until_of_first), "XH0"]
    data = {
        "format": draws.FORMAT, "date": day, "seed": SEED, "commitment": draws.commitment_of(SEED),
        "pools": [{
            "pool": pool, "opening_sequence": 0, "opening_span": span, "opening": opening,
            "events": [{"sequence": 1, "at": at_text, "kind": draws.DRAW, "numbers": [], "selection": "XH1",
                        "user": user, "inputs": inputs}],
        }],
    }  # fmt: skip
    return data, at_text


def _drawn(data: dict[str, Any], numbers: list[str]) -> dict[str, Any]:
    data["pools"][0]["events"][0]["numbers"] = numbers
    return data


def test_walk_wraps_around_to_position_zero():
    data, _at = _hand_day(10, 8, until_of_first=None)
    wanted = ["豫QA8108", "豫QA8109", "豫QA8100", "豫QA8101", "豫QA8102"]
    assert draws.replay(_drawn(data, wanted)).ok
    assert not draws.replay(_drawn(data, ["豫QA8108", "豫QA8109", "豫QA8107", "豫QA8106", "豫QA8105"])).ok


def test_a_hold_ending_at_the_draw_counts_as_free_and_one_ending_later_does_not():
    _data, at = _hand_day(10, 3, until_of_first=None)
    ended, _ = _hand_day(10, 3, until_of_first=draws.parse_stamp(at))
    report = draws.replay(_drawn(ended, ["豫QA8103", "豫QA8104", "豫QA8105", "豫QA8106", "豫QA8107"]))
    assert report.ok, report.problems
    running, _ = _hand_day(10, 3, until_of_first=draws.parse_stamp(at) + timedelta(microseconds=1))
    report = draws.replay(_drawn(running, ["豫QA8104", "豫QA8105", "豫QA8106", "豫QA8107", "豫QA8108"]))
    assert report.ok, report.problems


def test_replay_refuses_a_day_whose_seed_is_not_revealed():
    data, _at = _hand_day(10, 0, until_of_first=None)
    data["seed"] = None
    report = draws.replay(data)
    assert not report.ok and "not revealed" in report.problems[0]
    assert not draws.replay({"format": "other"}).ok


# ---------------------------------------------------------------- a real day made by the services


class Clock:
    """The platform's clock, set by the test: the whole day of a test falls on one local day
    whatever the time it runs, and the calls that take no ``now`` (staff imports) follow it."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch):
    tomorrow = timezone.localdate() + timedelta(days=1)
    fixed = Clock(timezone.make_aware(datetime.combine(tomorrow, time(9, 0))))
    monkeypatch.setattr(timezone, "now", fixed)
    return fixed


@pytest.fixture
def busy_day(db, clock, make_pool, plates_clerk, buyer, preregister):
    """One pool's day with every kind of entry: draws, a self-composed hold, choices, an abandon,
    an expired hold taken by a later draw, an import, a withdrawal and a registration."""
    base = clock.at
    clock.at = base - timedelta(days=1)  # numbers added the day before: the day's opening
    pool = make_pool(patterns=("A812d", "A813d"), generate=False)
    services.pool_numbers_add(actor=plates_clerk, pool_id=pool.pk, patterns="A812d")
    users = [buyer(mobile=f"139039601{i:02d}") for i in range(5)]
    cars = [preregister(user) for user in users]

    def start(i: int, minutes: float, mode: str = "random", number: str = "") -> Any:
        clock.at = base + timedelta(minutes=minutes)
        return services.selection_start(actor=users[i], vin=cars[i].vin, mode=mode, number=number)

    first = start(0, 0)
    free = list(PoolNumber.objects.filter(pool=pool, state="free").values_list("number", flat=True))
    composed = start(1, 1, "self", free[0])
    services.selection_choose(
        actor=users[1], selection_id=composed.pk, number=free[0], now=base + timedelta(minutes=1.5)
    )
    clock.at = base + timedelta(minutes=2)
    services.selection_register(actor=plates_clerk, selection_id=composed.pk)
    clock.at += timedelta(seconds=10)
    services.pool_numbers_add(actor=plates_clerk, pool_id=pool.pk, numbers_text="A8130\nA8131\nA8132")
    withdrawn = PoolNumber.objects.filter(pool=pool, state="free").order_by("number").first()
    services.pool_numbers_withdraw(
        actor=plates_clerk, pool_id=pool.pk, numbers=[withdrawn.number], reason="留作窗口选号"
    )
    third = start(2, 3)
    fourth = start(3, 3.5)
    clock.at = base + timedelta(minutes=4)
    services.selection_abandon(actor=users[3], selection_id=fourth.pk)
    fifth = start(4, 6)  # the first hold ended at minute 5
    clock.at = base + timedelta(minutes=7)
    services.selection_choose(actor=users[4], selection_id=fifth.pk, number=fifth.candidates[-1])
    return {
        "day": timezone.localdate(base),
        "base": base,
        "first": first,
        "third": third,
        "fourth": fourth,
        "fifth": fifth,
        "withdrawn": withdrawn.number,
    }


def _file(busy_day: dict[str, Any]) -> dict[str, Any]:
    data = selectors.draw_day_file(day=busy_day["day"], reveal=True)
    assert data is not None
    return data


def _events(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["pools"][0]["events"]


def test_a_busy_day_replays(busy_day):
    data = _file(busy_day)
    kinds = [e["kind"] for e in _events(data)]
    assert set(kinds) == {"draw", "hold", "choose", "register", "import", "withdraw", "release"}
    assert len(busy_day["fourth"].candidates) == 1  # the pool was nearly empty then
    # The expired first hold was free again at once and went to the later draw (P5).
    assert set(busy_day["fifth"].candidates) & set(busy_day["first"].candidates)
    report = draws.replay(data)
    assert report.ok, report.problems
    assert report.draws == 4 and report.events == len(kinds) == 11
    # A file as published is the same day.
    assert draws.replay(json.loads(draws.dumps(data)), commitment=data["commitment"]).ok


def _first(data: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e for e in _events(data) if e["kind"] == kind)


def test_one_changed_draw_number_is_found(busy_day):
    data = _file(busy_day)
    draw = _first(data, "draw")
    draw["numbers"][0] = busy_day["withdrawn"]
    report = draws.replay(data)
    assert not report.ok and any(f"#{draw['sequence']}: drew" in p for p in report.problems)


def test_a_removed_entry_is_found(busy_day):
    data = _file(busy_day)
    removed = _events(data).pop(3)
    report = draws.replay(data)
    assert not report.ok
    assert any(f"expected sequence {removed['sequence']}" in p for p in report.problems)


def test_a_changed_seed_is_found(busy_day):
    data = _file(busy_day)
    commitment = data["commitment"]
    data["seed"] = "0" * 64
    data["commitment"] = draws.commitment_of(data["seed"])  # even with the file's hash made to fit
    report = draws.replay(data, commitment=commitment)
    assert not report.ok and "does not match the commitment" in report.problems[0]


def test_a_changed_draw_user_is_found(busy_day):
    data = _file(busy_day)
    draw = _first(data, "draw")
    draw["user"] = "411***********0000"
    report = draws.replay(data)
    assert not report.ok
    assert any(f"#{draw['sequence']}: inputs differ" in p for p in report.problems)


def test_a_changed_draw_user_is_found_without_the_inputs_when_it_moves_the_draw(busy_day):
    """A verifier without the inputs column sees another draw, as soon as the changed user moves
    the draw. The day's seed is new on every run and the pool is nearly full, so one changed user
    may by chance walk to the very same free numbers; that change cannot be seen from the numbers
    and is not a miss. Among twenty changed users at least one moves it."""
    moved = []
    for n in range(20):
        data = _file(busy_day)
        draw = _first(data, "draw")
        draw["user"] = f"411***********{n:04d}"
        del draw["inputs"]
        report = draws.replay(data)
        if any(f"#{draw['sequence']}: drew" in p for p in report.problems):
            moved.append(n)
            assert not report.ok
    assert moved


def test_a_draw_moved_before_the_previous_entry_is_found(busy_day):
    data = _file(busy_day)
    events = _events(data)
    index, draw = next((i, e) for i, e in enumerate(events) if e["kind"] == "draw" and i > 0)
    draw["at"] = draws.stamp(draws.parse_stamp(events[index - 1]["at"]) - timedelta(microseconds=1))
    report = draws.replay(data)
    assert not report.ok
    assert any(f"#{draw['sequence']}: time goes back" in p for p in report.problems)


def test_a_changed_opening_state_is_found(busy_day):
    data = _file(busy_day)
    taken = _first(data, "draw")["numbers"][0]
    row = next(r for r in data["pools"][0]["opening"] if r[1] == taken)
    row[2] = draws.WITHDRAWN
    report = draws.replay(data)
    assert not report.ok and any(": drew" in p for p in report.problems)


def test_numbers_added_out_of_their_hashed_order_are_found(busy_day):
    data = _file(busy_day)
    added = _first(data, "import")
    (first_position, first), (second_position, second) = added["positions"][:2]
    added["positions"][:2] = [[first_position, second], [second_position, first]]
    report = draws.replay(data)
    assert not report.ok
    assert any(f"#{added['sequence']}: the new numbers are not placed" in p for p in report.problems)


def test_a_choice_logged_after_its_hold_ended_is_refused(db, clock, make_pool, buyer, preregister):
    """A choice waiting for the pool lock while another change is logged later: it is decided at its
    own log time, so the log never shows a choice of an ended hold (found by this replay)."""
    base = clock.at
    make_pool(patterns=("A812d",))
    users = [buyer(mobile=f"139039602{i:02d}") for i in range(2)]
    cars = [preregister(user) for user in users]
    first = services.selection_start(actor=users[0], vin=cars[0].vin, mode="random", now=base)
    ended = first.held_until
    other = services.selection_start(
        actor=users[1], vin=cars[1].vin, mode="random", now=ended + timedelta(seconds=1)
    )
    keep = next((n for n in first.candidates if n not in other.candidates), first.candidates[0])
    with pytest.raises(Conflict) as late:
        services.selection_choose(
            actor=users[0], selection_id=first.pk, number=keep, now=ended - timedelta(seconds=1)
        )
    assert late.value.code == "plates.hold_expired"
    report = draws.replay(selectors.draw_day_file(day=timezone.localdate(base), reveal=True) or {})
    assert report.ok, report.problems


# ---------------------------------------------------------------- jiaoguan verify-draws


def run(*arguments: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_draws", *arguments, stdout=out)
    except SystemExit as leaving:
        return int(leaving.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_verify_draws_on_a_file(busy_day, tmp_path):
    data = _file(busy_day)
    path = tmp_path / "day.json"
    path.write_text(draws.dumps(data), encoding="utf-8")
    assert run(str(path), "--commitment", data["commitment"]) == (0, "OK: 4 draws, 11 entries replayed\n")
    status, out = run(str(path), "--commitment", "ab" * 32)
    assert status == 1 and out.startswith("PROBLEM: seed does not match the commitment")
    altered = copy.deepcopy(data)
    _first(altered, "draw")["numbers"].reverse()
    path.write_text(json.dumps(altered, ensure_ascii=False), encoding="utf-8")
    status, out = run(str(path))
    assert status == 1 and out.count("PROBLEM:") == 1 and ": drew " in out
    with pytest.raises(CommandError):
        run(str(tmp_path / "missing.json"))
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(CommandError):
        run(str(path))


def test_verify_draws_on_a_day_of_this_installation(busy_day):
    day = busy_day["day"].isoformat()
    status, out = run(day)  # the day has not ended: its seed is still secret
    assert status == 1 and "not revealed yet" in out
    services.draw_days_reveal(now=busy_day["base"] + timedelta(days=1))
    assert run(day) == (0, "OK: 4 draws, 11 entries replayed\n")
    with pytest.raises(CommandError):
        run("1999-01-01")


@pytest.fixture
def file_server(tmp_path):
    """A plain HTTP server publishing ``tmp_path``, as a mirror of the day files would."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_verify_draws_on_an_address(busy_day, tmp_path, file_server):
    data = _file(busy_day)
    (tmp_path / "good.json").write_text(draws.dumps(data), encoding="utf-8")
    assert run(f"{file_server}/good.json") == (0, "OK: 4 draws, 11 entries replayed\n")
    gap = copy.deepcopy(data)
    del _events(gap)[-1]["sequence"]
    (tmp_path / "bad.json").write_text(draws.dumps(gap), encoding="utf-8")
    status, out = run(f"{file_server}/bad.json")
    assert status == 1 and "PROBLEM:" in out
    with pytest.raises(CommandError, match="HTTP 404"):
        run(f"{file_server}/missing.json")
