"""Military and armed-police driving licence check adapter (军队、武警部队驾驶证信息联网核查, O3).

From 2021-06-01 the platform checks a military licence online when it is exchanged for a civilian
one; a check that does not pass goes to the suspect-business review (seed 004 §七 一). Services
talk only to :class:`MilitaryLicenceService`; :func:`get_military_licence_service` builds it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol


class MilitaryLicenceError(Exception):
    code = "military_licence_error"


class MilitaryLicenceUnavailable(MilitaryLicenceError):
    """The registry could not answer: nothing is known, ask again later."""

    code = "unavailable"


@dataclass(frozen=True)
class MilitaryLicence:
    """A military or armed-police licence as the registry keeps it."""

    number: str  # with its prefix, e.g. JW + digits
    id_number: str  # the holder's citizen ID number
    name: str
    classes: str  # 准驾车型, e.g. "B1"
    first_issued_on: date  # 初次领取军队（武警）驾驶证日期
    issued_on: date  # when this (new-style) licence was issued
    added: tuple[tuple[str, date], ...] = ()  # 增驾车型 and when
    status: str = "valid"  # valid, revoked, exchanged


@dataclass(frozen=True)
class MilitaryCheck:
    """The registry's answer: passed with the licence, or not passed with the reason."""

    passed: bool
    reason: str = ""  # not_found, holder_mismatch, revoked, already_exchanged
    licence: MilitaryLicence | None = None


class MilitaryLicenceService(Protocol):
    def check(self, *, number: str, id_number: str, name: str, request_id: str) -> MilitaryCheck: ...


def compare(found: MilitaryLicence | None, *, id_number: str, name: str) -> MilitaryCheck:
    """The comparison the registry makes (自动核查、自动比对), shared with the fake service."""
    if found is None:
        return MilitaryCheck(False, "not_found")
    if found.id_number != id_number or found.name != name:
        return MilitaryCheck(False, "holder_mismatch")
    if found.status == "revoked":
        return MilitaryCheck(False, "revoked", found)
    if found.status == "exchanged":
        return MilitaryCheck(False, "already_exchanged", found)
    return MilitaryCheck(True, "", found)


@dataclass
class MemoryMilitaryLicenceService:
    """The fake registry in this process: licences seeded by number, latency, an outage switch."""

    latency_ms: int = 0
    unavailable: bool = False
    licences: dict[str, MilitaryLicence] = field(default_factory=dict)
    asked: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, *, number: str, id_number: str, name: str, request_id: str) -> MilitaryCheck:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        with self._lock:
            self.asked.append({"number": number, "request_id": request_id})
            if self.unavailable:
                raise MilitaryLicenceUnavailable("the military licence registry is unavailable")
            found = self.licences.get(number.strip().upper())
        return compare(found, id_number=id_number, name=name)

    def licence(self, licence: MilitaryLicence) -> None:
        """Seed a licence (replacing one of the same number)."""
        with self._lock:
            self.licences[licence.number.upper()] = licence

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
            self.licences.clear()
            self.asked.clear()
            self.unavailable = False
            self.latency_ms = 0


_MEMORY = MemoryMilitaryLicenceService()


def get_military_licence_service() -> MilitaryLicenceService:
    from django.conf import settings

    kind = getattr(settings, "MILITARY_LICENCE_SERVICE", "memory")
    if kind == "memory":
        return _MEMORY
    raise MilitaryLicenceUnavailable(f"no military licence registry named {kind!r} is configured")


def memory_military_licence_service() -> MemoryMilitaryLicenceService:
    return _MEMORY
