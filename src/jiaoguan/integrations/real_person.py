"""Real-person authentication adapter (实人认证, U6): liveness and a face match against the
registry's photo of the person, as identity authentication providers answer it.

The platform asks it before a relative may act for an elderly person (O2). Services talk only to
:class:`RealPersonService`; :func:`get_real_person_service` builds the configured one. Answers:
``pass`` or ``fail`` (with the reason), and :class:`RealPersonUnavailable` when the provider cannot
say (down, slow, garbled), which is never taken for a pass.

Wire protocol (see :mod:`.records_transport` for signing and request ids), shared with
:mod:`jiaoguan.integrations.fake_records_service`::

    POST /api/real-person/authentications
         {"id_number", "name", "capture": base64, "reference_photo": base64 | null, "request_id"}
      -> {"request_id", "outcome": "pass" | "fail", "reference", "liveness", "match_score", "reason"}
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Protocol

from .records_transport import DECODE_ERRORS, RecordsRefused, RecordsTransport, RecordsUnavailable, text

# A capture is a phone camera's photo; larger uploads are refused before they are sent.
MAX_CAPTURE_BYTES = 2 * 1024 * 1024


class RealPersonUnavailable(RecordsUnavailable):
    """The provider could not answer: nothing is known, ask again later."""


class RealPersonRefused(RecordsRefused):
    """The provider refused the request itself (malformed, too large)."""


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
        self,
        *,
        id_number: str,
        name: str,
        capture: bytes,
        reference_photo: bytes | None,
        request_id: str | None = None,
    ) -> RealPersonResult: ...


# Image signatures a camera capture may have (JPEG, PNG, WebP); anything else is not a capture.
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")
MIN_CAPTURE_BYTES = 64


def decide(
    *, capture: bytes, reference_photo: bytes | None, forced: str | None, serial: str
) -> RealPersonResult:
    """How the fake provider decides (kept here, beside the answer it builds).

    ``forced`` (set through the fake's control) wins: "pass" or "fail". Otherwise a capture that
    is not an image is refused (bad_image); a capture that is byte for byte the registry photo is a
    replayed photo, not a live person (liveness); with no registry photo there is nothing to match
    (no_reference); everything else passes.
    """
    if forced == "fail":
        return RealPersonResult("fail", serial, liveness=True, match_score=31, reason="no_match")
    if forced == "pass":
        return RealPersonResult("pass", serial, liveness=True, match_score=96)
    if len(capture) < MIN_CAPTURE_BYTES or not capture.startswith(_IMAGE_SIGNATURES):
        return RealPersonResult("fail", serial, liveness=False, match_score=0, reason="bad_image")
    if reference_photo is not None and capture == reference_photo:
        return RealPersonResult("fail", serial, liveness=False, match_score=100, reason="liveness")
    if reference_photo is None:
        return RealPersonResult("fail", serial, liveness=True, match_score=0, reason="no_reference")
    return RealPersonResult("pass", serial, liveness=True, match_score=92)


def result_to_json(result: RealPersonResult) -> dict[str, object]:
    return {
        "outcome": result.outcome, "reference": result.reference, "liveness": result.liveness,
        "match_score": result.match_score, "reason": result.reason,
    }  # fmt: skip


def result_from_json(data: dict[str, object]) -> RealPersonResult:
    outcome = text(data["outcome"])
    liveness, score = data["liveness"], data["match_score"]
    if outcome not in ("pass", "fail") or not isinstance(liveness, bool) or not isinstance(score, int):
        raise ValueError("outcome, liveness or match_score malformed")
    return RealPersonResult(outcome, text(data["reference"]), liveness, score, text(data.get("reason") or ""))


class HttpRealPersonService(RecordsTransport):
    service_name = "real-person authentication service"
    unavailable_error = RealPersonUnavailable
    timeout_error = RealPersonUnavailable
    refused_error = RealPersonRefused

    def authenticate(
        self,
        *,
        id_number: str,
        name: str,
        capture: bytes,
        reference_photo: bytes | None,
        request_id: str | None = None,
    ) -> RealPersonResult:
        """Authenticate one capture; ``request_id`` is the caller's reference of the question
        (logged on both sides), a fresh one when none is given."""
        if len(capture) > MAX_CAPTURE_BYTES:
            raise RealPersonRefused("invalid_request", "the capture is larger than 2 MB")
        _, data = self.ask(
            "POST",
            "/api/real-person/authentications",
            {
                "id_number": id_number, "name": name, "capture": base64.b64encode(capture).decode(),
                "reference_photo": base64.b64encode(reference_photo).decode() if reference_photo else None,
            },
            request_id=request_id,
        )  # fmt: skip
        try:
            return result_from_json(data)
        except DECODE_ERRORS as exc:
            raise RealPersonUnavailable("bad_response", f"unexpected authentication answer: {exc}") from exc


def get_real_person_service() -> RealPersonService:
    """The provider as configured now (tests change settings between calls)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if not settings.REAL_PERSON_KEY:
        raise ImproperlyConfigured("JIAOGUAN_REAL_PERSON_KEY is not set")
    return HttpRealPersonService(
        base_url=settings.REAL_PERSON_URL, party_id=settings.REAL_PERSON_CLIENT_ID, key=settings.REAL_PERSON_KEY,
        timeout=float(settings.RECORDS_TIMEOUT_SECONDS), retries=int(settings.RECORDS_RETRIES),
    )  # fmt: skip
