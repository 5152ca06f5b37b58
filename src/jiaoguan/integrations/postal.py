"""Postal service (邮政 EMS) adapter: waybills for posted certificates and their tracking.

Issue 13 / REQUIREMENTS S2: a certificate (a new driving licence, plates) is posted to the
applicant with a waybill, or picked up at the window. The applications engine talks to the
postal service only through :class:`PostalService`; :class:`HttpPostalService` speaks signed
JSON over HTTP and is built from the current settings by :func:`get_postal_service`.

Wire protocol, shared with :mod:`jiaoguan.integrations.fake_postal_service`:

* Requests, answers and tracking callbacks are signed exactly as the payment gateway's are
  (:mod:`jiaoguan.integrations.payment_gateway`: ``X-Merchant-Id`` carries our postal customer
  number, ``X-Timestamp``, ``X-Nonce``, ``X-Signature``), with the postal key.
* ``POST /api/waybills`` creates a waybill; it is idempotent on ``idempotency_key``, so a
  retry after a timeout returns the same waybill and never posts a second parcel.
* ``GET /api/waybills/{number}`` lists the tracking events so far, whether or not their
  callbacks arrived.
* A callback body is ``{"events": [...]}``; the same event may arrive more than once, always
  with the same ``event_id``, which the receiver de-duplicates on.
* Errors are ``{"code", "message"}`` with a 4xx status; a 5xx means nothing was done (or the
  service cannot say), and is retried.

Django is imported only inside :func:`get_postal_service`, so the fake service reuses this
module without settings.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .payment_gateway import SignedJsonTransport, check_signed

EVENT_KINDS = frozenset({"accepted", "in_transit", "out_for_delivery", "delivered", "returned", "lost"})
# Events after which nothing more happens to the parcel.
FINAL_KINDS = frozenset({"delivered", "returned", "lost"})

# GB/T 2260 province-level codes (the first two digits of a division code).
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)
# UPU S10 (the identifiers EMS prints on its waybills): two letters (EA-EZ for EMS), eight
# serial digits, a check digit, and the ISO 3166 country code of the issuing post.
_WAYBILL = re.compile(r"[A-Z]{2}(\d{8})(\d)CN")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)

_MESSAGES = {
    "invalid_request": "the postal service refused the request as malformed",
    "invalid_address": "the postal service cannot deliver to this address",
    "idempotency_mismatch": "this idempotency key was already used for another parcel",
    "not_found": "the postal service has no such waybill",
    "bad_signature": "the signature is missing or wrong",
    "missing_signature": "the message is not signed",
    "wrong_merchant": "the message is for another postal customer",
    "stale_timestamp": "the message timestamp is too far from now",
    "bad_body": "the signed body is not a valid tracking notice",
    "unreachable": "the postal service could not be reached",
    "server_error": "the postal service failed to process the request",
    "timeout": "the postal service did not answer in time; the outcome is unknown",
    "bad_response_signature": "the postal service's answer is not properly signed",
    "bad_response": "the postal service's answer could not be understood",
}


class PostalError(Exception):
    """A postal service failure; ``code`` is machine-readable, ``str(e)`` is for people."""

    default_code = "postal_error"
    code: str

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        self.code = code or self.default_code
        super().__init__(message or _MESSAGES.get(self.code, self.code.replace("_", " ")))


class PostalUnavailable(PostalError):
    """The service could not be used: nothing happened, or we cannot tell what did. Try later."""

    default_code = "unreachable"


class PostalTimeout(PostalUnavailable):
    """A request went out and no answer came: the waybill may exist; retry with the same key."""

    default_code = "timeout"


class PostalRefused(PostalError):
    """The service answered with a signed refusal; ``code`` is its reason (``invalid_address`` ...)."""

    default_code = "invalid_request"


class TrackingCallbackInvalid(PostalError):
    """A callback that is unsigned, wrongly signed, stale or malformed; never act on it."""

    default_code = "bad_signature"


@dataclass(frozen=True)
class Waybill:
    number: str
    created_at: datetime


@dataclass(frozen=True)
class TrackingEvent:
    waybill_number: str
    event_id: str  # unique per event; a repeated callback repeats it
    kind: str  # one of EVENT_KINDS
    at: datetime
    place: str


class PostalService(Protocol):
    def waybill_create(
        self,
        *,
        reference: str,
        idempotency_key: str,
        sender: str,
        recipient_name: str,
        recipient_phone: str,
        address_division: str,
        address_line: str,
        weight_g: int = 50,
        callback_url: str = "",
    ) -> Waybill: ...

    def waybill_track(self, number: str) -> list[TrackingEvent]: ...

    def tracking_callback_verify(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingEvent]: ...


# --- rules ------------------------------------------------------------------------------------


def division_valid(code: str) -> bool:
    """A GB/T 2260 county-level division: six digits, a known province, a county part."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    return int(code[:2]) in PROVINCE_CODES and code[2:] != "0000"


def s10_check_digit(serial: str) -> int:
    """The UPU S10 check digit of an eight-digit serial number."""
    total = sum(int(digit) * weight for digit, weight in zip(serial, _S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def waybill_number_valid(number: str) -> bool:
    match = _WAYBILL.fullmatch(number)
    return match is not None and s10_check_digit(match.group(1)) == int(match.group(2))


# --- decoding ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _aware(value: Any) -> datetime:
    parsed = datetime.fromisoformat(_text(value))
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"time without offset: {value!r}")
    return parsed


def event_from_json(data: Any) -> TrackingEvent:
    kind = _text(data["kind"])
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    event_id = _text(data["event_id"])
    if not event_id:
        raise ValueError("empty event_id")
    return TrackingEvent(
        waybill_number=_text(data["waybill_number"]),
        event_id=event_id,
        kind=kind,
        at=_aware(data["at"]),
        place=_text(data["place"]),
    )


def events_from_json(data: Any) -> list[TrackingEvent]:
    events = data["events"]
    if not isinstance(events, list):
        raise TypeError("events is not a list")
    return [event_from_json(event) for event in events]


# --- the HTTP client --------------------------------------------------------------------------


_DECODE_ERRORS = (ValueError, KeyError, TypeError, UnicodeDecodeError)


class HttpPostalService(SignedJsonTransport):
    """The postal service over signed JSON (the payment gateway's transport and signing)."""

    service_name = "postal service"
    unavailable_error = PostalUnavailable
    timeout_error = PostalTimeout

    def __init__(
        self,
        *,
        base_url: str,
        customer_id: str,
        key: str | bytes,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: tuple[float, ...] = (0.05, 0.2),
    ) -> None:
        super().__init__(
            base_url=base_url,
            party_id=customer_id,
            key=key,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
        )
        self.customer_id = customer_id

    def refused(self, status: int, content: bytes) -> Exception:
        return _refusal(status, content)

    def waybill_create(
        self,
        *,
        reference: str,
        idempotency_key: str,
        sender: str,
        recipient_name: str,
        recipient_phone: str,
        address_division: str,
        address_line: str,
        weight_g: int = 50,
        callback_url: str = "",
    ) -> Waybill:
        """Create (or, for a key already used, return) the waybill of one parcel."""
        if not division_valid(address_division):
            raise PostalRefused("invalid_address", f"not a GB/T 2260 county division: {address_division!r}")
        payload = {
            "reference": reference,
            "idempotency_key": idempotency_key,
            "sender": sender,
            "recipient_name": recipient_name,
            "recipient_phone": recipient_phone,
            "address_division": address_division,
            "address_line": address_line,
            "weight_g": weight_g,
            "callback_url": callback_url,
        }
        data = self.request_json("POST", "/api/waybills", payload, mutating=True)
        try:
            waybill = Waybill(number=_text(data["number"]), created_at=_aware(data["created_at"]))
            answered_key = _text(data["idempotency_key"])
        except _DECODE_ERRORS as exc:
            raise PostalUnavailable("bad_response", f"unexpected waybill answer: {exc}") from exc
        # A validly signed answer about another parcel is a replay or a service bug.
        if answered_key != idempotency_key or not waybill_number_valid(waybill.number):
            raise PostalUnavailable("bad_response", f"the answer is not the waybill asked for: {data!r}")
        return waybill

    def waybill_track(self, number: str) -> list[TrackingEvent]:
        data = self.request_json("GET", f"/api/waybills/{urllib.parse.quote(number, safe='')}")
        try:
            events = events_from_json(data)
        except _DECODE_ERRORS as exc:
            raise PostalUnavailable("bad_response", f"unexpected tracking answer: {exc}") from exc
        if any(event.waybill_number != number for event in events):
            raise PostalUnavailable("bad_response", f"tracking of {number} holds another waybill's events")
        return events

    def tracking_callback_verify(self, body: bytes, headers: Mapping[str, str]) -> list[TrackingEvent]:
        """The events of a signed tracking callback; raises :class:`TrackingCallbackInvalid` otherwise.

        The signature is compared in constant time and the timestamp must be within the
        allowed clock skew, as for payment callbacks. Repeated events keep their event id.
        """
        problem = check_signed(headers, merchant_id=self.customer_id, key=self._key, message=body)
        if problem is not None:
            raise TrackingCallbackInvalid(problem)
        try:
            return events_from_json(json.loads(body))
        except _DECODE_ERRORS as exc:
            raise TrackingCallbackInvalid(
                "bad_body", f"signed callback is not a tracking notice: {exc}"
            ) from exc


def _refusal(status: int, content: bytes) -> PostalRefused:
    try:
        data = json.loads(content)
        code = _text(data["code"])
        message = data.get("message")
    except _DECODE_ERRORS:
        return PostalRefused("invalid_request", f"postal service refused with HTTP {status}")
    return PostalRefused(code, message if isinstance(message, str) and message else None)


def get_postal_service() -> PostalService:
    """The postal service as configured now (tests change settings between calls)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    key = settings.POSTAL_KEY
    if not key:
        raise ImproperlyConfigured("JIAOGUAN_POSTAL_KEY is not set")
    return HttpPostalService(
        base_url=settings.POSTAL_URL,
        customer_id=settings.POSTAL_CUSTOMER_ID,
        key=key,
        timeout=float(settings.POSTAL_TIMEOUT_SECONDS),
        retries=int(settings.POSTAL_RETRIES),
    )
