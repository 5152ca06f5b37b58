"""Random 5-choose-1 draws that anyone can recompute (随机选号，公开可验证).

Every morning's seed is committed before the day's first draw: the platform draws 256 random
bits and publishes only their SHA-256. After the day ends the seed itself is published with the
day's log, and anyone can replay the day:

- each pool (office prefix and plate type, ``豫Q:02``) numbers its state changes 1, 2, 3 ...
  without gaps (the log's ``sequence``); the log of a day starts with the pool's numbers that
  could still be drawn when its first change of the day was made (the *opening*), then lists
  every change of the day in order: numbers imported or withdrawn, draws, self-composed holds,
  choices, releases and registrations;
- a draw's ticket is ``HMAC-SHA256(key=seed, msg=inputs)`` where the inputs are facts nobody can
  pick freely, ``date|pool|sequence|masked user`` (the sequence is the pool's next, without gaps;
  the masked user is the buyer's masked ID number); its first 8 bytes modulo the pool's span of
  positions give a starting position;
- from there the draw walks the pool's positions upwards (then from 0) and takes the first five
  numbers that are available at that time: free, or held or selected with their hold or
  quarantine ended by then.

A number's position was fixed when it entered the pool, in the order of SHA-256 of a pool salt
and the number, so a walk from a random point cannot be aimed at a run of "good" numbers; and
the seed was fixed before the day's requests, which no one could see in advance, so no one can
have been handed a chosen number. :func:`replay` does the whole check; it is pure and has no
Django import, so the ``verify-draws`` command and the public page share it with anyone who
copies it.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FORMAT = "jiaoguan-plate-draws/1"

FREE, HELD, SELECTED, REGISTERED, WITHDRAWN = "free", "held", "selected", "registered", "withdrawn"
# Event kinds of the log: each is one state change of some of a pool's numbers.
IMPORT, WITHDRAW, DRAW, HOLD, CHOOSE, RELEASE, REGISTER = (
    "import", "withdraw", "draw", "hold", "choose", "release", "register",
)  # fmt: skip
CANDIDATES = 5


def new_seed() -> str:
    return secrets.token_hex(32)


def commitment_of(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def stamp(moment: datetime) -> str:
    """A time as the log writes it: UTC with microseconds, so the draw's inputs are exact."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def draw_inputs(*, day: str, pool: str, sequence: int, user: str) -> str:
    """The public facts a draw's ticket is made from, in their canonical form.

    The request's time and its selection number are left out on purpose: the platform sets both,
    and someone who knew the seed could try values until a favoured buyer's walk started where
    they wanted. What remains is fixed by the pool's gapless order and by who the buyer is.
    """
    return f"{day}|{pool}|{sequence}|{user}"


def start_position(seed: str, inputs: str, span: int) -> int:
    """Where a draw starts walking the pool: the ticket's first 8 bytes modulo the span."""
    if span <= 0:
        return 0
    ticket = hmac.new(bytes.fromhex(seed), inputs.encode(), hashlib.sha256).digest()
    return int.from_bytes(ticket[:8], "big") % span


def available(state: str, available_at: datetime | None, at: datetime) -> bool:
    """Whether a number can be drawn or held at ``at`` (P5: an ended hold is free at once)."""
    if state == FREE:
        return True
    if state in (HELD, SELECTED):
        return available_at is not None and available_at <= at
    return False


# ---------------------------------------------------------------- replaying a published day


@dataclass
class _Number:
    number: str
    state: str
    available_at: datetime | None = None
    holder: str | None = None


@dataclass
class _Pool:
    span: int
    numbers: dict[int, _Number] = field(default_factory=dict)
    by_number: dict[str, int] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)  # positions, ascending

    def put(self, position: int, entry: _Number) -> None:
        if position not in self.numbers:
            bisect.insort(self.order, position)
        self.numbers[position] = entry
        self.by_number[entry.number] = position

    def walk(self, start: int, at: datetime, count: int) -> list[str]:
        found: list[str] = []
        split = bisect.bisect_left(self.order, start)
        for position in self.order[split:] + self.order[:split]:
            entry = self.numbers[position]
            if available(entry.state, entry.available_at, at):
                found.append(entry.number)
                if len(found) == count:
                    break
        return found


@dataclass(frozen=True)
class Report:
    ok: bool
    problems: list[str]
    draws: int
    events: int


def _when(text: Any) -> datetime | None:
    return parse_stamp(text) if text else None


def replay(day: Mapping[str, Any], *, commitment: str | None = None) -> Report:
    """Recompute a published day: commitment, sequences, every draw and every hold.

    ``commitment`` is the hash the verifier saw published in the morning; without it the hash
    in the file is checked against the seed. Each problem is one line naming the pool and the
    sequence number, so a single altered entry is found.
    """
    problems: list[str] = []
    if day.get("format") != FORMAT:
        return Report(False, [f"unknown format {day.get('format')!r}, expected {FORMAT}"], 0, 0)
    seed = day.get("seed") or ""
    published = commitment or day.get("commitment") or ""
    if not seed:
        return Report(
            False, ["the seed of this day is not revealed yet; check again after the day ends"], 0, 0
        )
    if commitment_of(seed) != published:
        problems.append(
            f"seed does not match the commitment: sha256(seed) = {commitment_of(seed)}, published {published}"
        )
    draws = events = 0
    for pool_data in day.get("pools", []):
        key = str(pool_data.get("pool"))
        pool = _Pool(span=int(pool_data.get("opening_span", 0)))
        for position, number, state, until, holder in pool_data.get("opening", []):
            pool.put(int(position), _Number(number, state, _when(until), holder))
        expected_sequence = int(pool_data.get("opening_sequence", 0)) + 1
        previous_at: datetime | None = None
        for event in pool_data.get("events", []):
            events += 1
            sequence = int(event.get("sequence", 0))
            where = f"{key} #{sequence}"
            if sequence != expected_sequence:
                problems.append(
                    f"{where}: expected sequence {expected_sequence} (an entry is missing or moved)"
                )
            expected_sequence = sequence + 1
            kind = event.get("kind")
            at = _when(event.get("at"))
            if at is None:
                problems.append(f"{where}: no time")
                continue
            # The platform logs a pool's changes at strictly increasing times: a draw moved in time
            # would see other numbers free or held.
            if previous_at is not None and at <= previous_at:
                problems.append(f"{where}: time goes back to {event.get('at')}")
            previous_at = at
            numbers = list(event.get("numbers", []))
            selection = event.get("selection") or None
            until = _when(event.get("until"))
            if kind == IMPORT:
                if not _placed_in_hash_order(
                    event.get("positions", []), str(pool_data.get("salt", "")), pool.span
                ):
                    problems.append(
                        f"{where}: the new numbers are not placed after position {pool.span - 1} in the order "
                        "of sha256(salt:number)"
                    )
                for position, number in event.get("positions", []):
                    if int(position) < pool.span:
                        problems.append(
                            f"{where}: position {position} of {number} is inside the existing span"
                        )
                    pool.put(int(position), _Number(number, FREE))
                    pool.span = max(pool.span, int(position) + 1)
            elif kind == WITHDRAW:
                for number in numbers:
                    entry = _entry(pool, number, where, problems)
                    if entry is not None:
                        if not available(entry.state, entry.available_at, at):
                            problems.append(f"{where}: {number} was withdrawn while not free")
                        entry.state, entry.available_at, entry.holder = WITHDRAWN, None, None
            elif kind == DRAW:
                draws += 1
                inputs = draw_inputs(
                    day=str(day.get("date")), pool=key, sequence=sequence, user=str(event.get("user", ""))
                )
                if event.get("inputs") not in (None, inputs):
                    problems.append(f"{where}: inputs differ from the entry's own facts")
                expected = pool.walk(start_position(seed, inputs, pool.span), at, CANDIDATES)
                if numbers != expected:
                    problems.append(f"{where}: drew {','.join(numbers)}, the seed gives {','.join(expected)}")
                for number in expected:
                    entry = pool.numbers[pool.by_number[number]]
                    entry.state, entry.available_at, entry.holder = HELD, until, selection
            elif kind == HOLD:
                for number in numbers:
                    entry = _entry(pool, number, where, problems)
                    if entry is None:
                        continue
                    if not available(entry.state, entry.available_at, at):
                        problems.append(f"{where}: {number} was held while not free")
                    entry.state, entry.available_at, entry.holder = HELD, until, selection
            elif kind == CHOOSE:
                chosen, released = numbers[:1], numbers[1:]
                for number in chosen:
                    entry = _entry(pool, number, where, problems)
                    if entry is None:
                        continue
                    if (
                        entry.holder != selection
                        or entry.state != HELD
                        or not (entry.available_at is not None and entry.available_at > at)
                    ):
                        problems.append(f"{where}: {number} was chosen without being held for {selection}")
                    entry.state, entry.available_at, entry.holder = SELECTED, until, selection
                _release(pool, released, selection, where, problems)
            elif kind == RELEASE:
                _release(pool, numbers, selection, where, problems)
            elif kind == REGISTER:
                for number in numbers:
                    entry = _entry(pool, number, where, problems)
                    if entry is not None:
                        if entry.state != SELECTED or entry.holder != selection:
                            problems.append(f"{where}: {number} registered without being selected")
                        entry.state, entry.available_at, entry.holder = REGISTERED, None, selection
            else:
                problems.append(f"{where}: unknown kind {kind!r}")
    return Report(not problems, problems, draws, events)


def _placed_in_hash_order(positions: Sequence[Sequence[Any]], salt: str, span: int) -> bool:
    """Whether imported numbers took the next positions in the order of SHA-256(salt:number), as
    ``rules.positions`` places them: an order fixed by the pool's published salt, not by hand."""
    placed = sorted((int(position), str(number)) for position, number in positions)
    if [position for position, _number in placed] != list(range(span, span + len(placed))):
        return False
    numbers = [number for _position, number in placed]
    return numbers == sorted(numbers, key=lambda n: (hashlib.sha256(f"{salt}:{n}".encode()).hexdigest(), n))


def _entry(pool: _Pool, number: str, where: str, problems: list[str]) -> _Number | None:
    position = pool.by_number.get(number)
    if position is None:
        problems.append(f"{where}: {number} is not in the pool")
        return None
    return pool.numbers[position]


def _release(
    pool: _Pool, numbers: Sequence[str], selection: str | None, where: str, problems: list[str]
) -> None:
    for number in numbers:
        entry = _entry(pool, number, where, problems)
        if entry is None:
            continue
        if entry.holder != selection or entry.state != HELD:
            problems.append(f"{where}: {number} released without being held for {selection}")
        entry.state, entry.available_at, entry.holder = FREE, None, None


def dumps(day: Mapping[str, Any]) -> str:
    """The day as its published file: JSON with sorted keys, so its SHA-256 is stable."""
    return json.dumps(day, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
