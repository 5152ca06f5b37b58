"""Exit and entry records adapter (出入境记录, O4): when a person left and came back.

The overseas relief (seed 004 §八 二) counts 6 months from the first return after the licence was
cancelled while abroad; the counter checks it here instead of asking for passports. Services talk
only to :class:`ExitEntryService`; :func:`get_exit_entry_service` builds the configured one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol


class ExitEntryError(Exception):
    code = "exit_entry_error"


class ExitEntryUnavailable(ExitEntryError):
    """The records could not be read: nothing is known, ask again later."""

    code = "unavailable"


@dataclass(frozen=True)
class Movement:
    """One crossing of the border (出境 exit or 入境 entry)."""

    kind: str  # "exit" or "entry"
    on: date
    port: str = ""


class ExitEntryService(Protocol):
    def movements(self, *, id_number: str, since: date, request_id: str) -> list[Movement]: ...


def first_return_after(movements: list[Movement], day: date) -> date | None:
    """The first entry on or after ``day`` (首次回国（入境）), or None if not yet back."""
    entries = sorted(m.on for m in movements if m.kind == "entry" and m.on >= day)
    return entries[0] if entries else None


def abroad_on(movements: list[Movement], day: date) -> bool:
    """Whether the person was outside the country on ``day``: the last crossing before it was an exit."""
    before = sorted((m for m in movements if m.on <= day), key=lambda m: (m.on, m.kind == "entry"))
    return bool(before) and before[-1].kind == "exit"


@dataclass
class MemoryExitEntryService:
    """The fake records in this process: movements seeded per person, latency, an outage switch."""

    latency_ms: int = 0
    unavailable: bool = False
    travels: dict[str, list[Movement]] = field(default_factory=dict)
    asked: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def movements(self, *, id_number: str, since: date, request_id: str) -> list[Movement]:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        with self._lock:
            self.asked.append({"id_number": id_number, "request_id": request_id})
            if self.unavailable:
                raise ExitEntryUnavailable("the exit and entry records are unavailable")
            return sorted((m for m in self.travels.get(id_number, []) if m.on >= since), key=lambda m: m.on)

    def travel(self, id_number: str, movements: list[Movement]) -> None:
        """Seed a person's crossings (replacing what was there)."""
        with self._lock:
            self.travels[id_number] = list(movements)

    def behaviour(self, *, unavailable: bool | None = None, latency_ms: int | None = None) -> None:
        """Make the fake misbehave: an outage (every call unavailable) or slow answers."""
        with self._lock:
            if unavailable is not None:
                self.unavailable = unavailable
            if latency_ms is not None:
                self.latency_ms = latency_ms

    def requests(self) -> list[dict[str, str]]:
        """What was asked, oldest first."""
        with self._lock:
            return list(self.asked)

    def reset(self) -> None:
        with self._lock:
            self.travels.clear()
            self.asked.clear()
            self.unavailable = False
            self.latency_ms = 0


_MEMORY = MemoryExitEntryService()


def get_exit_entry_service() -> ExitEntryService:
    from django.conf import settings

    kind = getattr(settings, "EXIT_ENTRY_SERVICE", "memory")
    if kind == "memory":
        return _MEMORY
    raise ExitEntryUnavailable(f"no exit and entry records service named {kind!r} is configured")


def memory_exit_entry_service() -> MemoryExitEntryService:
    return _MEMORY
