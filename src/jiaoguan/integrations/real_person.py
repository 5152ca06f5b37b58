"""Real-person authentication adapter (实人认证, U6): liveness and a face match against the
registry's photo of the person, as the identity authentication providers answer it.

The platform asks it before a relative may act for an elderly person (O2). Services talk only to
:class:`RealPersonService`; :func:`get_real_person_service` builds the configured one. Answers:
``pass`` or ``fail`` (with the reason), and :class:`RealPersonUnavailable` when the provider cannot
say (down, slow, garbled), which is never taken for a pass.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol


class RealPersonError(Exception):
    """A provider failure; ``code`` is machine-readable."""

    code = "real_person_error"


class RealPersonUnavailable(RealPersonError):
    """The provider could not answer: nothing is known, ask again later."""

    code = "unavailable"


@dataclass(frozen=True)
class RealPersonResult:
    """The provider's answer for one capture."""

    outcome: str  # "pass" or "fail"
    reference: str  # the provider's serial number of the check (认证流水号)
    liveness: bool  # the capture is of a live person, not a photo of a photo
    match_score: int  # 0-100, face match against the reference photo
    reason: str = ""  # why it failed: "liveness", "no_match", "no_reference", "bad_image"

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"


class RealPersonService(Protocol):
    def authenticate(
        self, *, id_number: str, name: str, capture: bytes, reference_photo: bytes | None, request_id: str
    ) -> RealPersonResult: ...


# Image signatures a camera capture may have (JPEG, PNG, WebP); anything else is not a capture.
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")
MIN_CAPTURE_BYTES = 64


def decide(
    *, id_number: str, capture: bytes, reference_photo: bytes | None, forced: str | None, request_id: str
) -> RealPersonResult:
    """How the fake provider decides, shared by the in-memory fake and the fake HTTP service.

    ``forced`` (set through the fake's control) wins: "pass", "fail" or "unavailable". Otherwise a
    capture that is not an image is refused (bad_image); a capture that is byte for byte the
    registry photo is a replayed photo, not a live person (liveness); with no registry photo there
    is nothing to match (no_reference); everything else passes.
    """
    reference = "RP" + request_id[-20:]
    if forced == "unavailable":
        raise RealPersonUnavailable("the provider is unavailable (forced)")
    if forced == "fail":
        return RealPersonResult("fail", reference, liveness=True, match_score=31, reason="no_match")
    if forced == "pass":
        return RealPersonResult("pass", reference, liveness=True, match_score=96)
    if len(capture) < MIN_CAPTURE_BYTES or not capture.startswith(_IMAGE_SIGNATURES):
        return RealPersonResult("fail", reference, liveness=False, match_score=0, reason="bad_image")
    if reference_photo is not None and capture == reference_photo:
        return RealPersonResult("fail", reference, liveness=False, match_score=100, reason="liveness")
    if reference_photo is None:
        return RealPersonResult("fail", reference, liveness=True, match_score=0, reason="no_reference")
    return RealPersonResult("pass", reference, liveness=True, match_score=92)


@dataclass
class MemoryRealPersonService:
    """The fake provider in this process: per-person forced outcomes, latency, an outage switch,
    and the log of what was asked (the tests' and the demo's control)."""

    latency_ms: int = 0
    unavailable: bool = False
    forced: dict[str, str] = field(default_factory=dict)
    asked: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def authenticate(
        self, *, id_number: str, name: str, capture: bytes, reference_photo: bytes | None, request_id: str
    ) -> RealPersonResult:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        with self._lock:
            self.asked.append({"id_number": id_number, "request_id": request_id})
            forced = "unavailable" if self.unavailable else self.forced.get(id_number)
        return decide(
            id_number=id_number, capture=capture, reference_photo=reference_photo, forced=forced,
            request_id=request_id,
        )  # fmt: skip

    # control (mirrored by the fake HTTP service's control client)
    def person(self, id_number: str, outcome: str | None) -> None:
        """Force the outcome for one person ("pass", "fail", "unavailable"), or None to decide."""
        with self._lock:
            if outcome is None:
                self.forced.pop(id_number, None)
            else:
                self.forced[id_number] = outcome

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
            self.forced.clear()
            self.asked.clear()
            self.unavailable = False
            self.latency_ms = 0


_MEMORY = MemoryRealPersonService()


def get_real_person_service() -> RealPersonService:
    """The configured provider (``JIAOGUAN_REAL_PERSON_SERVICE``; ``memory`` is the fake here)."""
    from django.conf import settings

    kind = getattr(settings, "REAL_PERSON_SERVICE", "memory")
    if kind == "memory":
        return _MEMORY
    raise RealPersonUnavailable(f"no real-person authentication service named {kind!r} is configured")


def memory_real_person_service() -> MemoryRealPersonService:
    """The in-process fake (its control), for the demo and the tests."""
    return _MEMORY
