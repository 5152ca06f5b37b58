"""Exit and entry records adapter (出入境记录, O4): when a person left the country and came back.

The overseas relief (seed 004 §八 二) counts 6 months from the first return after the licence was
cancelled while abroad; the counter checks it here instead of asking for passports. Services talk
only to :class:`ExitEntryService`; :func:`get_exit_entry_service` builds the configured one.

Wire protocol (see :mod:`.records_transport`), shared with :mod:`.fake_records_service`::

    GET /api/exit-entry/persons/{id_number}/movements?since=YYYY-MM-DD&request_id=R
      -> {"request_id", "id_number", "movements": [{"kind": "exit" | "entry", "on", "port"}]}
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from .records_transport import DECODE_ERRORS, RecordsRefused, RecordsTransport, RecordsUnavailable, text


class ExitEntryUnavailable(RecordsUnavailable):
    """The records could not be read: nothing is known, ask again later."""


class ExitEntryRefused(RecordsRefused):
    """The records service refused the request itself."""


@dataclass(frozen=True)
class Movement:
    """One crossing of the border (出境 exit or 入境 entry)."""

    kind: str  # "exit" or "entry"
    on: date
    port: str = ""


class ExitEntryService(Protocol):
    def movements(self, *, id_number: str, since: date, request_id: str | None = None) -> list[Movement]: ...


def first_return_after(movements: list[Movement], day: date) -> date | None:
    """The first entry on or after ``day`` (首次回国（入境）), or None if not yet back."""
    entries = sorted(m.on for m in movements if m.kind == "entry" and m.on >= day)
    return entries[0] if entries else None


def abroad_on(movements: list[Movement], day: date) -> bool:
    """Whether the person was outside the country on ``day``: the last crossing before it was an exit."""
    before = sorted((m for m in movements if m.on <= day), key=lambda m: (m.on, m.kind == "entry"))
    return bool(before) and before[-1].kind == "exit"


def movement_to_json(movement: Movement) -> dict[str, str]:
    return {"kind": movement.kind, "on": movement.on.isoformat(), "port": movement.port}


def movement_from_json(data: Any) -> Movement:
    kind = text(data["kind"])
    if kind not in ("exit", "entry"):
        raise ValueError(f"movement kind {kind!r}")
    return Movement(kind, date.fromisoformat(text(data["on"])), text(data.get("port") or ""))


class HttpExitEntryService(RecordsTransport):
    service_name = "exit and entry records service"
    unavailable_error = ExitEntryUnavailable
    timeout_error = ExitEntryUnavailable
    refused_error = ExitEntryRefused

    def movements(self, *, id_number: str, since: date, request_id: str | None = None) -> list[Movement]:
        """The person's crossings on or after ``since``, oldest first."""
        path = (
            f"/api/exit-entry/persons/{urllib.parse.quote(id_number, safe='')}/movements"
            f"?since={since.isoformat()}"
        )
        _, data = self.ask("GET", path, request_id=request_id)
        try:
            if text(data["id_number"]) != id_number:
                raise ValueError("answered for another person")
            found = [movement_from_json(item) for item in data["movements"]]
        except DECODE_ERRORS as exc:
            raise ExitEntryUnavailable("bad_response", f"unexpected movements answer: {exc}") from exc
        return sorted(found, key=lambda m: (m.on, m.kind == "entry"))


def get_exit_entry_service() -> ExitEntryService:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if not settings.EXIT_ENTRY_KEY:
        raise ImproperlyConfigured("JIAOGUAN_EXIT_ENTRY_KEY is not set")
    return HttpExitEntryService(
        base_url=settings.EXIT_ENTRY_URL, party_id=settings.EXIT_ENTRY_CLIENT_ID, key=settings.EXIT_ENTRY_KEY,
        timeout=float(settings.RECORDS_TIMEOUT_SECONDS), retries=int(settings.RECORDS_RETRIES),
    )  # fmt: skip
