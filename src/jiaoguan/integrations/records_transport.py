"""What the three record systems of issue 18 share on the wire: real-person authentication (U6),
exit and entry records (O4) and the military licence registry (O3).

Each speaks signed JSON exactly as the payment gateway does (``X-Merchant-Id`` carries our client
id, ``X-Timestamp``, ``X-Nonce``, ``X-Signature``), with its own key. A question carries a fresh
``request_id`` that the answer repeats: an answer to another question (a duplicated or replayed
answer) is refused and the question asked again. A check changes nothing at the other side, so
every request may be retried; 5xx, timeouts and unsigned answers mean "cannot say".
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
from typing import Any, ClassVar

from .payment_gateway import SignedJsonTransport

_MESSAGES = {
    "invalid_request": "the request was refused as malformed",
    "bad_signature": "the signature is missing or wrong",
    "unreachable": "the service could not be reached",
    "server_error": "the service failed to process the request",
    "timeout": "the service did not answer in time",
    "bad_response_signature": "the answer is not properly signed",
    "bad_response": "the answer could not be understood",
    "wrong_answer": "the service answered another question (a duplicated or replayed answer)",
}

DECODE_ERRORS = (ValueError, KeyError, TypeError, UnicodeDecodeError)


class RecordsError(Exception):
    """A failure of a record system; ``code`` is machine-readable, ``str(e)`` is for people."""

    default_code = "records_error"
    code: str

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        self.code = code or self.default_code
        super().__init__(message or _MESSAGES.get(self.code, self.code.replace("_", " ")))


class RecordsUnavailable(RecordsError):
    """The system could not answer (down, 5xx, too slow, unsigned or strange answer): nothing is
    known, and nothing may be concluded from it."""

    default_code = "unreachable"


class RecordsRefused(RecordsError):
    """The system answered with a signed refusal (``invalid_request`` ...)."""

    default_code = "invalid_request"


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


class RecordsTransport(SignedJsonTransport):
    """Signed JSON to one record system, asking again when the answer is for another question."""

    unavailable_error: ClassVar[type[Exception]] = RecordsUnavailable
    timeout_error: ClassVar[type[Exception]] = RecordsUnavailable
    refused_error: ClassVar[type[RecordsRefused]] = RecordsRefused

    def refused(self, status: int, content: bytes) -> Exception:
        try:
            data = json.loads(content)
            code = text(data["code"])
            message = data.get("message")
        except DECODE_ERRORS:
            return self.refused_error(
                "invalid_request", f"the {self.service_name} refused with HTTP {status}"
            )
        return self.refused_error(code, message if isinstance(message, str) and message else None)

    def ask(
        self, method: str, path: str, payload: dict[str, Any] | None = None, *, request_id: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Ask with a fresh request id (prefixed by the caller's reference when given; in the query
        for GET, in the body otherwise); the answer must repeat it. A duplicated answer costs one
        of the transport's retries, never more."""
        last: Exception | None = None
        caller = (request_id or "")[:40]
        for _attempt in range(self.retries + 1):
            request_id = f"{caller}.{secrets.token_hex(6)}" if caller else secrets.token_hex(8)
            if method == "GET":
                sep = "&" if "?" in path else "?"
                data = self.request_json(
                    "GET", f"{path}{sep}request_id={urllib.parse.quote(request_id, safe='')}"
                )
            else:
                data = self.request_json(method, path, {**(payload or {}), "request_id": request_id})
            if isinstance(data, dict) and data.get("request_id") == request_id:
                return request_id, data
            last = self.unavailable_error("wrong_answer", f"asked {path} ({request_id}), answered another")
        assert last is not None
        raise last
