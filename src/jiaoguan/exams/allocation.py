"""Allocation of a lottery plan's places, which anyone can recompute (公开可验证的分配).

When a plan's window opens the platform draws a 256-bit random seed and publishes only its
SHA-256 (the commitment). When the window closes it writes the inputs, one line per
application, in a canonical text (sorted by application number):

    KS20261205000123,410***********1234,2

(application number, masked identity number, priority class), publishes the text's SHA-256,
reveals the seed and allocates:

- each application gets a ticket ``HMAC-SHA256(key=seed, msg=inputs_sha256 + ":" + number)``;
- applications are ordered by priority class, then ticket, then number;
- the first ``places`` are allocated, the rest form the waiting list in that order.

The ticket depends on the whole list of inputs, which is fixed only when the window closes, so
even someone who knew the seed could not pick a winning application number in advance; and the
seed was fixed before anyone applied, so the platform could not pick it to suit the inputs.

This module is pure and has no Django import: the ``verify-allocation`` command and the public
page use it, and anyone may copy the few lines of the algorithm into their own checker.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FORMAT = "jiaoguan-exam-allocation/1"
ALLOCATED = "allocated"
WAITING = "waiting"


@dataclass(frozen=True)
class Entry:
    """One line of the inputs: an application as the public sees it."""

    number: str
    masked_id: str
    priority: int

    def line(self) -> str:
        return f"{self.number},{self.masked_id},{self.priority}"


@dataclass(frozen=True)
class Placed:
    number: str
    rank: int  # 1-based position in the lottery order
    outcome: str  # allocated | waiting


def new_seed() -> str:
    return secrets.token_hex(32)


def commitment(seed_hex: str) -> str:
    """What is published when the window opens: SHA-256 of the seed's 32 bytes, in hex."""
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def inputs_text(entries: Iterable[Entry]) -> str:
    """The canonical inputs: one line per application, sorted by number, each ending in a newline."""
    lines = sorted(entry.line() for entry in entries)
    return "".join(f"{line}\n" for line in lines)


def inputs_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_inputs(text: str) -> list[Entry]:
    """The entries of an inputs text; raises ValueError on a malformed line."""
    entries = []
    for number_of_line, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) != 3 or not parts[0] or not parts[2].isdigit():
            raise ValueError(f"line {number_of_line}: expected 'number,masked id,priority', got {line!r}")
        entries.append(Entry(parts[0], parts[1], int(parts[2])))
    return entries


def ticket(seed_hex: str, digest: str, number: str) -> str:
    return hmac.new(bytes.fromhex(seed_hex), f"{digest}:{number}".encode(), hashlib.sha256).hexdigest()


def allocate(entries: Sequence[Entry], *, places: int, seed_hex: str) -> list[Placed]:
    """The lottery order of ``entries`` and who gets the ``places``."""
    text = inputs_text(entries)
    digest = inputs_sha256(text)
    ordered = sorted(entries, key=lambda e: (e.priority, ticket(seed_hex, digest, e.number), e.number))
    return [
        Placed(entry.number, rank, ALLOCATED if rank <= places else WAITING)
        for rank, entry in enumerate(ordered, start=1)
    ]


def document(
    *, plan: Mapping[str, Any], places: int, seed_hex: str, entries: Sequence[Entry]
) -> dict[str, Any]:
    """The published allocation of a plan: everything needed to recompute it."""
    text = inputs_text(entries)
    return {
        "format": FORMAT,
        "plan": dict(plan),
        "places": places,
        "commitment": commitment(seed_hex),
        "seed": seed_hex,
        "inputs": text,
        "inputs_sha256": inputs_sha256(text),
        "result": [
            {"number": p.number, "rank": p.rank, "outcome": p.outcome}
            for p in allocate(entries, places=places, seed_hex=seed_hex)
        ],
    }


@dataclass(frozen=True)
class Check:
    ok: bool
    problems: tuple[str, ...]


def verify(
    doc: Mapping[str, Any], *, published_commitment: str = "", published_inputs_sha256: str = ""
) -> Check:
    """Recompute a published allocation and say what does not match (nothing, when it is right).

    ``published_commitment`` and ``published_inputs_sha256`` are what the checker saw published
    before (when the window opened and closed); given, they must match the document too.
    """
    problems: list[str] = []
    if doc.get("format") != FORMAT:
        problems.append(f"unknown format {doc.get('format')!r}, expected {FORMAT!r}")
        return Check(False, tuple(problems))
    seed = str(doc.get("seed") or "")
    try:
        seed_commitment = commitment(seed)
    except ValueError:
        return Check(False, ("the seed is not 64 hex digits (not revealed yet?)",))
    if seed_commitment != doc.get("commitment"):
        problems.append("the seed does not match the commitment published when the window opened")
    if published_commitment and published_commitment != doc.get("commitment"):
        problems.append("the commitment differs from the one published when the window opened")
    text = str(doc.get("inputs") or "")
    digest = inputs_sha256(text)
    if digest != doc.get("inputs_sha256"):
        problems.append(
            "the inputs do not match their published SHA-256 (a line was changed, added or removed)"
        )
    if published_inputs_sha256 and published_inputs_sha256 != digest:
        problems.append("the inputs differ from the ones published when the window closed")
    try:
        entries = parse_inputs(text)
    except ValueError as error:
        return Check(False, (*problems, f"the inputs cannot be read: {error}"))
    if text != inputs_text(entries):
        problems.append("the inputs are not in canonical order (sorted by number, one per line)")
    places = doc.get("places")
    if not isinstance(places, int) or places < 0:
        return Check(False, (*problems, "places is not a whole number"))
    expected = [
        {"number": p.number, "rank": p.rank, "outcome": p.outcome}
        for p in allocate(entries, places=places, seed_hex=seed)
    ]
    published = [
        {"number": str(r.get("number")), "rank": r.get("rank"), "outcome": r.get("outcome")}
        for r in doc.get("result") or []
    ]
    if published != expected:
        for index, (want, got) in enumerate(zip(expected, published, strict=False), start=1):
            if want != got:
                problems.append(f"result line {index}: published {got}, recomputed {want}")
                break
        else:
            problems.append(f"result has {len(published)} lines, recomputed {len(expected)}")
    return Check(not problems, tuple(problems))
