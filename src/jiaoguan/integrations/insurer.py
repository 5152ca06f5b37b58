"""Insurer data exchange adapter (保险信息平台): compulsory insurance and vehicle tax of a vehicle.

Issue 14 / REQUIREMENTS O7: compulsory traffic insurance (交强险) is checked online at
registration and inspection, with the vehicle and vessel tax (车船税) the insurer collects
with it. The insurance app talks to the insurers only through :class:`InsurerService`;
:class:`HttpInsurerService` speaks signed JSON over HTTP and is built from the current settings
by :func:`get_insurer_service`.

Wire protocol, shared with :mod:`jiaoguan.integrations.fake_insurer_service`:

* Requests and answers are signed exactly as the payment gateway's are
  (:mod:`jiaoguan.integrations.payment_gateway`: ``X-Merchant-Id`` carries our client id,
  ``X-Timestamp``, ``X-Nonce``, ``X-Signature``), with the insurer key.
* ``GET /api/vehicles/{vin}/status?on=YYYY-MM-DD&request_id=R`` answers the policy in force on
  that day and whether the tax of that day's year is paid. The answer repeats ``vin``, ``on``
  and ``request_id``: an answer to another question (a replayed or duplicated answer) is
  refused, and the request is asked again.
* Errors are ``{"code", "message"}`` with a 4xx status; a 5xx means the insurer cannot say, and
  is retried. A check changes nothing at the insurer, so every request may be retried.

Django is imported only inside :func:`get_insurer_service`, so the fake service reuses this
module without settings.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from .payment_gateway import SignedJsonTransport

# GB 16735: 17 characters, digits and capital letters without I, O and Q.
_VIN = re.compile(r"[0-9A-HJ-NPR-Z]{17}")

_MESSAGES = {
    "invalid_request": "the insurer refused the request as malformed",
    "bad_signature": "the signature is missing or wrong",
    "unreachable": "the insurer could not be reached",
    "server_error": "the insurer failed to process the request",
    "timeout": "the insurer did not answer in time",
    "bad_response_signature": "the insurer's answer is not properly signed",
    "bad_response": "the insurer's answer could not be understood",
    "wrong_answer": "the insurer answered another question (a duplicated or replayed answer)",
}


class InsurerError(Exception):
    """An insurer failure; ``code`` is machine-readable, ``str(e)`` is for people."""

    default_code = "insurer_error"
    code: str

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        self.code = code or self.default_code
        super().__init__(message or _MESSAGES.get(self.code, self.code.replace("_", " ")))


class InsurerUnavailable(InsurerError):
    """The insurer could not answer (down, 5xx, unsigned or strange answer): nothing is known."""

    default_code = "unreachable"


class InsurerTimeout(InsurerUnavailable):
    """A request went out and no answer came in time."""

    default_code = "timeout"


class InsurerRefused(InsurerError):
    """The insurer answered with a signed refusal (``invalid_request`` ...)."""

    default_code = "invalid_request"


@dataclass(frozen=True)
class Policy:
    """A compulsory insurance policy (交强险保单)."""

    policy_number: str
    insurer_name: str
    start: date
    end: date  # the last day covered


@dataclass(frozen=True)
class VehicleStatus:
    """What the insurers know of one VIN on one day."""

    vin: str
    on: date
    policy: Policy | None  # the policy in force on ``on``; None when there is none
    last_policy: Policy | None  # the latest policy ever known (an expired one names its insurer)
    tax_year: int
    tax_paid: bool

    @property
    def insured(self) -> bool:
        return self.policy is not None


class InsurerService(Protocol):
    def vehicle_status(self, *, vin: str, on: date) -> VehicleStatus: ...


def vin_valid(vin: str) -> bool:
    return _VIN.fullmatch(vin) is not None


# --- decoding ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _day(value: Any) -> date:
    return date.fromisoformat(_text(value))


def policy_from_json(data: Any) -> Policy | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TypeError("policy is not an object")
    return Policy(
        policy_number=_text(data["policy_number"]),
        insurer_name=_text(data["insurer_name"]),
        start=_day(data["start"]),
        end=_day(data["end"]),
    )


def policy_to_json(policy: Policy | None) -> dict[str, str] | None:
    if policy is None:
        return None
    return {
        "policy_number": policy.policy_number,
        "insurer_name": policy.insurer_name,
        "start": policy.start.isoformat(),
        "end": policy.end.isoformat(),
    }


def status_from_json(data: Any) -> VehicleStatus:
    tax = data["vehicle_tax"]
    paid = tax["paid"]
    year = tax["year"]
    if not isinstance(paid, bool) or isinstance(year, bool) or not isinstance(year, int):
        raise TypeError("vehicle_tax must hold a boolean paid and an integer year")
    return VehicleStatus(
        vin=_text(data["vin"]),
        on=_day(data["on"]),
        policy=policy_from_json(data["compulsory_insurance"]),
        last_policy=policy_from_json(data.get("last_policy")),
        tax_year=year,
        tax_paid=paid,
    )


# --- the HTTP client --------------------------------------------------------------------------


_DECODE_ERRORS = (ValueError, KeyError, TypeError, UnicodeDecodeError)


class HttpInsurerService(SignedJsonTransport):
    """The insurer data exchange over signed JSON (the payment gateway's transport and signing)."""

    service_name = "insurer"
    unavailable_error = InsurerUnavailable
    timeout_error = InsurerTimeout

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        key: str | bytes,
        timeout: float = 3.0,
        retries: int = 1,
        backoff: tuple[float, ...] = (0.05, 0.2),
    ) -> None:
        super().__init__(
            base_url=base_url, party_id=client_id, key=key, timeout=timeout, retries=retries, backoff=backoff
        )
        self.client_id = client_id

    def refused(self, status: int, content: bytes) -> Exception:
        import json

        try:
            data = json.loads(content)
            code = _text(data["code"])
            message = data.get("message")
        except _DECODE_ERRORS:
            return InsurerRefused("invalid_request", f"insurer refused with HTTP {status}")
        return InsurerRefused(code, message if isinstance(message, str) and message else None)

    def vehicle_status(self, *, vin: str, on: date) -> VehicleStatus:
        """The policy and tax of ``vin`` on ``on``; an answer to another question is asked again."""
        if not vin_valid(vin):
            raise InsurerRefused("invalid_request", f"not a GB 16735 VIN: {vin!r}")
        last: InsurerUnavailable | None = None
        # A duplicated or replayed answer is signed and well formed but answers another request;
        # it costs one of the transport's retries, never more.
        for _ in range(self.retries + 1):
            request_id = secrets.token_hex(8)
            query = urllib.parse.urlencode({"on": on.isoformat(), "request_id": request_id})
            path = f"/api/vehicles/{urllib.parse.quote(vin, safe='')}/status?{query}"
            data = self.request_json("GET", path)
            try:
                status = status_from_json(data)
                answered_id = _text(data["request_id"])
            except _DECODE_ERRORS as exc:
                raise InsurerUnavailable("bad_response", f"unexpected status answer: {exc}") from exc
            if answered_id == request_id and status.vin == vin and status.on == on:
                return status
            last = InsurerUnavailable(
                "wrong_answer", f"asked {vin} on {on} ({request_id}), answered {data!r}"
            )
        assert last is not None
        raise last


def get_insurer_service() -> InsurerService:
    """The insurer exchange as configured now (tests change settings between calls)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    key = settings.INSURER_KEY
    if not key:
        raise ImproperlyConfigured("JIAOGUAN_INSURER_KEY is not set")
    return HttpInsurerService(
        base_url=settings.INSURER_URL,
        client_id=settings.INSURER_CLIENT_ID,
        key=key,
        timeout=float(settings.INSURER_TIMEOUT_SECONDS),
        retries=int(settings.INSURER_RETRIES),
    )
