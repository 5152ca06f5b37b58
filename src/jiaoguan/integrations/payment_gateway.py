"""Payment gateway (支付平台) adapter.

The payments app talks to the gateway only through :class:`PaymentGateway`; the
concrete :class:`HttpPaymentGateway` speaks signed JSON over HTTP and is built from
the current Django settings by :func:`get_payment_gateway`.

Wire protocol, shared with :mod:`jiaoguan.integrations.fake_payment_gateway`:

* Every request, response and callback carries ``X-Merchant-Id``, ``X-Timestamp``
  (unix seconds), ``X-Nonce`` and ``X-Signature``, the hex HMAC-SHA256 computed by
  :func:`sign` with the merchant key. Responses and callbacks sign their body; a
  request signs :func:`request_message` (method, path with query, then body), so a
  signed GET cannot be replayed against another path.
* Amounts are integer fen (分); times are ISO-8601 with an offset.
* Errors are ``{"code": ..., "message": ...}`` with a 4xx status; a 5xx means the
  gateway did nothing (or cannot say), and is retried.

This module imports Django only inside :func:`get_payment_gateway`, so the fake
gateway can reuse the signing code without settings.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import http.client
import io
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar, Protocol

# China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact and
# needs no tz database in the fake gateway's process.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
MAX_CLOCK_SKEW_SECONDS = 600

HEADER_MERCHANT = "X-Merchant-Id"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"

TRADE_STATES = frozenset({"NOTPAY", "SUCCESS", "CLOSED", "REFUND"})
STATEMENT_COLUMNS = ("kind", "out_trade_no", "trade_no", "amount_fen", "occurred_at", "out_refund_no")

_MESSAGES = {
    "amount_mismatch": "the gateway already holds this order with a different amount",
    "already_paid": "the order has already been paid",
    "closed": "the order is closed",
    "not_found": "the gateway has no such order or charge",
    "refund_exceeds": "the refund is larger than what is left of the charge",
    "refund_mismatch": "this refund number was already used with other details",
    "invalid_request": "the gateway refused the request as malformed",
    "bad_signature": "the signature is missing or wrong",
    "missing_signature": "the message is not signed",
    "wrong_merchant": "the message is for another merchant",
    "stale_timestamp": "the message timestamp is too far from now",
    "bad_body": "the signed body is not a valid notice",
    "unreachable": "the payment gateway could not be reached",
    "server_error": "the payment gateway failed to process the request",
    "timeout": "the payment gateway did not answer in time; the outcome is unknown",
    "bad_response_signature": "the payment gateway's answer is not properly signed",
    "bad_response": "the payment gateway's answer could not be understood",
}


class GatewayError(Exception):
    """A payment gateway failure; ``code`` is machine-readable, ``str(e)`` is for people."""

    default_code = "gateway_error"
    code: str

    def __init__(self, code: str | None = None, message: str | None = None) -> None:
        self.code = code or self.default_code
        super().__init__(message or _MESSAGES.get(self.code, self.code.replace("_", " ")))


class GatewayUnavailable(GatewayError):
    """The gateway could not be used: nothing happened, or we cannot tell what did."""

    default_code = "unreachable"


class GatewayTimeout(GatewayUnavailable):
    """The request went out but no answer came: it may have been applied."""

    default_code = "timeout"


class GatewayRejected(GatewayError):
    """The gateway answered with a signed refusal (``amount_mismatch``, ``already_paid`` ...)."""

    default_code = "invalid_request"


class CallbackSignatureInvalid(GatewayError):
    """A callback that is unsigned, wrongly signed, stale or malformed; never act on it."""

    default_code = "bad_signature"


@dataclass(frozen=True)
class GatewayCharge:
    trade_no: str
    amount_fen: int
    paid_at: datetime


@dataclass(frozen=True)
class GatewayOrder:
    out_trade_no: str
    pay_url: str
    trade_state: str


@dataclass(frozen=True)
class GatewayTrade:
    out_trade_no: str
    trade_state: str  # "NOTPAY" | "SUCCESS" | "CLOSED" | "REFUND"
    amount_fen: int
    charges: tuple[GatewayCharge, ...]  # more than one when the gateway charged twice
    refunded_fen: int


@dataclass(frozen=True)
class RefundResult:
    out_refund_no: str
    refund_no: str
    amount_fen: int
    state: str  # "SUCCESS"


@dataclass(frozen=True)
class StatementLine:
    kind: str  # "charge" | "refund"
    out_trade_no: str
    trade_no: str
    amount_fen: int
    occurred_at: datetime
    out_refund_no: str  # "" for charges


@dataclass(frozen=True)
class CallbackNotice:
    notify_id: str
    out_trade_no: str
    trade_no: str
    trade_state: str
    amount_fen: int
    paid_at: datetime


class PaymentGateway(Protocol):
    def create_order(
        self, *, out_trade_no: str, amount_fen: int, subject: str, notify_url: str, return_url: str
    ) -> GatewayOrder: ...

    def query_order(self, *, out_trade_no: str) -> GatewayTrade: ...

    def close_order(self, *, out_trade_no: str) -> GatewayTrade: ...

    def refund(
        self, *, out_trade_no: str, trade_no: str, out_refund_no: str, amount_fen: int, reason: str
    ) -> RefundResult: ...

    def statement(self, *, day: date) -> list[StatementLine]: ...

    def parse_callback(self, *, body: bytes, headers: Mapping[str, str]) -> CallbackNotice: ...


# --- signing -------------------------------------------------------------------------------------


def sign(key: bytes, timestamp: str, nonce: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over ``timestamp\\nnonce\\n`` followed by the body."""
    return hmac.new(key, f"{timestamp}\n{nonce}\n".encode() + body, hashlib.sha256).hexdigest()


def verify(key: bytes, timestamp: str, nonce: str, body: bytes, signature: str) -> bool:
    expected = sign(key, timestamp, nonce, body).encode()
    return hmac.compare_digest(expected, signature.strip().lower().encode("utf-8", "replace"))


def request_message(method: str, path: str, body: bytes) -> bytes:
    """What a request signature covers in place of the bare body."""
    return f"{method.upper()} {path}\n".encode() + body


def signed_headers(merchant_id: str, key: bytes, message: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    return {
        HEADER_MERCHANT: merchant_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: sign(key, timestamp, nonce, message),
    }


def header_value(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive header lookup that also accepts a WSGI ``META`` mapping."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        meta_name = "HTTP_" + name.upper().replace("-", "_")
        for key, candidate in headers.items():
            if key.lower() == lowered or key == meta_name:
                value = candidate
                break
    return "" if value is None else str(value)


def check_signed(
    headers: Mapping[str, str], *, merchant_id: str, key: bytes, message: bytes, now: float | None = None
) -> str | None:
    """Why the signed message is not acceptable (an error code), or None when it is."""
    timestamp = header_value(headers, HEADER_TIMESTAMP)
    nonce = header_value(headers, HEADER_NONCE)
    signature = header_value(headers, HEADER_SIGNATURE)
    if not (timestamp and nonce and signature):
        return "missing_signature"
    if header_value(headers, HEADER_MERCHANT) != merchant_id:
        return "wrong_merchant"
    if not timestamp.isdigit():
        return "stale_timestamp"
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return "stale_timestamp"
    if not verify(key, timestamp, nonce, message, signature):
        return "bad_signature"
    return None


# --- decoding the gateway's JSON ------------------------------------------------------------------


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _fen(value: Any) -> int:
    # bool is an int subclass and a float is never an amount: both are refused.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"expected a non-negative integer amount in fen, got {value!r}")
    return value


def _aware(value: Any) -> datetime:
    parsed = datetime.fromisoformat(_text(value))
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"time without offset: {value!r}")
    return parsed


def _state(value: Any) -> str:
    if value not in TRADE_STATES:
        raise ValueError(f"unknown trade state {value!r}")
    return str(value)


def trade_from_json(data: Any) -> GatewayTrade:
    """Build a :class:`GatewayTrade` from the gateway's JSON; raises on anything unexpected."""
    charges = data["charges"]
    if not isinstance(charges, list):
        raise TypeError("charges is not a list")
    return GatewayTrade(
        out_trade_no=_text(data["out_trade_no"]),
        trade_state=_state(data["trade_state"]),
        amount_fen=_fen(data["amount_fen"]),
        charges=tuple(
            GatewayCharge(
                trade_no=_text(c["trade_no"]), amount_fen=_fen(c["amount_fen"]), paid_at=_aware(c["paid_at"])
            )
            for c in charges
        ),
        refunded_fen=_fen(data["refunded_fen"]),
    )


def statement_from_csv(text: str, *, day: date) -> list[StatementLine]:
    """Parse a statement; every line must fall on ``day`` in Shanghai time."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(rows[0]) != STATEMENT_COLUMNS:
        raise ValueError("statement header is not " + ",".join(STATEMENT_COLUMNS))
    lines = []
    for row in rows[1:]:
        if not row:
            continue
        if len(row) != len(STATEMENT_COLUMNS):
            raise ValueError(f"statement row has {len(row)} fields")
        kind, out_trade_no, trade_no, amount, occurred, out_refund_no = row
        if kind not in {"charge", "refund"} or not amount.isdigit():
            raise ValueError(f"bad statement row {row!r}")
        if (kind == "charge") == bool(out_refund_no):
            raise ValueError(f"refund number does not match the kind in {row!r}")
        occurred_at = _aware(occurred)
        # A statement is signed over its body only, which does not name the day: checking the
        # dates stops an old day's statement being passed off as another's.
        if occurred_at.astimezone(SHANGHAI).date() != day:
            raise ValueError(f"statement for {day} holds a line of another day: {row!r}")
        lines.append(
            StatementLine(
                kind=kind,
                out_trade_no=out_trade_no,
                trade_no=trade_no,
                amount_fen=int(amount),
                occurred_at=occurred_at,
                out_refund_no=out_refund_no,
            )
        )
    return lines


def notice_from_json(data: Any) -> CallbackNotice:
    notify_id = _text(data["notify_id"])
    if not notify_id:
        raise ValueError("empty notify_id")
    return CallbackNotice(
        notify_id=notify_id,
        out_trade_no=_text(data["out_trade_no"]),
        trade_no=_text(data["trade_no"]),
        trade_state=_state(data["trade_state"]),
        amount_fen=_fen(data["amount_fen"]),
        paid_at=_aware(data["paid_at"]),
    )


# --- the HTTP client ------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # The gateway never redirects an API call; following one would send our signed request
    # somewhere else. The 3xx then fails the response signature check.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_DECODE_ERRORS = (ValueError, KeyError, TypeError, UnicodeDecodeError)


class SignedJsonTransport:
    """Signed JSON over HTTP to an outside service (the payment gateway, the postal service): retries
    what is safe to retry and says when an outcome is unknown.

    A subclass names the service, the errors it raises and how a refusal reads (``refused``).
    """

    service_name: ClassVar[str] = "outside service"
    accept: ClassVar[str] = "application/json"
    unavailable_error: ClassVar[type[Exception]] = ConnectionError
    timeout_error: ClassVar[type[Exception]] = TimeoutError

    def __init__(
        self,
        *,
        base_url: str,
        party_id: str,
        key: str | bytes,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: tuple[float, ...] = (0.05, 0.2),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.party_id = party_id
        self._key = key.encode() if isinstance(key, str) else key
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff or (0.0,)
        self._opener = urllib.request.build_opener(_NoRedirect)

    def refused(self, status: int, content: bytes) -> Exception:
        """The error for a signed answer other than 200: the service said no."""
        raise NotImplementedError

    def request_json(
        self, method: str, path: str, payload: Mapping[str, Any] | None = None, *, mutating: bool = False
    ) -> Any:
        content = self.request(method, path, payload, mutating=mutating)
        try:
            return json.loads(content)
        except _DECODE_ERRORS as exc:
            raise self.unavailable_error("bad_response", f"answer is not JSON: {exc}") from exc

    def request(self, method: str, path: str, payload: Mapping[str, Any] | None, *, mutating: bool) -> bytes:
        """Send a signed request, retrying connection failures, timeouts and 5xx answers.

        Every call is idempotent on the service's side, so a retry never doubles an effect; but
        when a ``mutating`` call timed out at some point and no later attempt got an answer, the
        caller gets the timeout error, since the change may have been applied.
        """
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        uncertain = False
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff[min(attempt - 1, len(self.backoff) - 1)])
            try:
                status, headers, content = self._send(method, path, body)
            except self.timeout_error as exc:
                uncertain = uncertain or mutating
                last = exc
                continue
            except self.unavailable_error as exc:
                last = exc
                continue
            if status >= 500:
                last = self.unavailable_error(
                    "server_error", f"the {self.service_name} answered HTTP {status}"
                )
                continue
            problem = check_signed(headers, merchant_id=self.party_id, key=self._key, message=content)
            if problem is not None:
                raise self.unavailable_error(
                    "bad_response_signature",
                    f"refused the {self.service_name}'s HTTP {status} answer to {method} {path}: {problem}",
                )
            if status != 200:
                raise self.refused(status, content)
            return content
        assert last is not None
        if uncertain and not isinstance(last, self.timeout_error):
            raise self.timeout_error(
                "timeout", f"{method} {path} timed out and later attempts failed ({last}); outcome unknown"
            ) from last
        raise last

    def _send(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        headers = signed_headers(self.party_id, self._key, request_message(method, path, body))
        headers["Accept"] = self.accept
        if method != "GET":
            headers["Content-Type"] = "application/json; charset=utf-8"
        req = urllib.request.Request(  # noqa: S310 - the URL comes from settings, http(s) only
            self.base_url + path, data=body if method != "GET" else None, headers=headers, method=method
        )
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as exc:
            try:
                content = exc.read()
            except (OSError, http.client.HTTPException):
                content = b""
            return exc.code, dict(exc.headers.items()), content
        except urllib.error.URLError as exc:
            # urllib wraps failures before the request was sent (refused, DNS, connect timeout):
            # the service never saw it.
            raise self.unavailable_error(
                "unreachable", f"{self.service_name} unreachable: {exc.reason}"
            ) from exc
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            # The request was sent and the answer never came (in full): it may have been applied.
            raise self.timeout_error(
                "timeout", f"{method} {path}: no answer from the {self.service_name} ({exc})"
            ) from exc


class HttpPaymentGateway(SignedJsonTransport):
    """The payment gateway over signed JSON."""

    service_name = "payment gateway"
    accept = "application/json, text/csv"
    unavailable_error = GatewayUnavailable
    timeout_error = GatewayTimeout

    def __init__(
        self,
        *,
        base_url: str,
        merchant_id: str,
        key: str | bytes,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: tuple[float, ...] = (0.05, 0.2),
    ) -> None:
        super().__init__(
            base_url=base_url,
            party_id=merchant_id,
            key=key,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
        )
        self.merchant_id = merchant_id

    def refused(self, status: int, content: bytes) -> Exception:
        return _rejection(status, content)

    # -- the PaymentGateway protocol --

    def create_order(
        self, *, out_trade_no: str, amount_fen: int, subject: str, notify_url: str, return_url: str
    ) -> GatewayOrder:
        payload = {
            "out_trade_no": out_trade_no,
            "amount_fen": amount_fen,
            "subject": subject,
            "notify_url": notify_url,
            "return_url": return_url,
        }
        data = self.request_json("POST", "/api/orders", payload, mutating=True)
        try:
            order = GatewayOrder(
                out_trade_no=_text(data["out_trade_no"]),
                pay_url=_text(data["pay_url"]),
                trade_state=_state(data["trade_state"]),
            )
        except _DECODE_ERRORS as exc:
            raise GatewayUnavailable("bad_response", f"unexpected order answer: {exc}") from exc
        self._expect_same(order.out_trade_no, out_trade_no)
        return order

    def query_order(self, *, out_trade_no: str) -> GatewayTrade:
        return self._trade("GET", f"/api/orders/{_quote(out_trade_no)}", None, out_trade_no, mutating=False)

    def close_order(self, *, out_trade_no: str) -> GatewayTrade:
        path = f"/api/orders/{_quote(out_trade_no)}/close"
        return self._trade("POST", path, {"out_trade_no": out_trade_no}, out_trade_no, mutating=True)

    def refund(
        self, *, out_trade_no: str, trade_no: str, out_refund_no: str, amount_fen: int, reason: str
    ) -> RefundResult:
        payload = {
            "out_trade_no": out_trade_no,
            "trade_no": trade_no,
            "out_refund_no": out_refund_no,
            "amount_fen": amount_fen,
            "reason": reason,
        }
        data = self.request_json("POST", "/api/refunds", payload, mutating=True)
        try:
            result = RefundResult(
                out_refund_no=_text(data["out_refund_no"]),
                refund_no=_text(data["refund_no"]),
                amount_fen=_fen(data["amount_fen"]),
                state=_text(data["state"]),
            )
        except _DECODE_ERRORS as exc:
            raise GatewayUnavailable("bad_response", f"unexpected refund answer: {exc}") from exc
        self._expect_same(result.out_refund_no, out_refund_no)
        return result

    def statement(self, *, day: date) -> list[StatementLine]:
        content = self.request("GET", f"/api/statements/{day.isoformat()}", None, mutating=False)
        try:
            return statement_from_csv(content.decode("utf-8"), day=day)
        except _DECODE_ERRORS as exc:
            raise GatewayUnavailable("bad_response", f"unusable statement for {day}: {exc}") from exc

    def parse_callback(self, *, body: bytes, headers: Mapping[str, str]) -> CallbackNotice:
        problem = check_signed(headers, merchant_id=self.merchant_id, key=self._key, message=body)
        if problem is not None:
            raise CallbackSignatureInvalid(problem)
        try:
            return notice_from_json(json.loads(body))
        except _DECODE_ERRORS as exc:
            raise CallbackSignatureInvalid(
                "bad_body", f"signed callback is not a valid notice: {exc}"
            ) from exc

    def _trade(
        self, method: str, path: str, payload: Mapping[str, Any] | None, out_trade_no: str, *, mutating: bool
    ) -> GatewayTrade:
        data = self.request_json(method, path, payload, mutating=mutating)
        try:
            trade = trade_from_json(data)
        except _DECODE_ERRORS as exc:
            raise GatewayUnavailable("bad_response", f"unexpected trade answer: {exc}") from exc
        self._expect_same(trade.out_trade_no, out_trade_no)
        return trade

    @staticmethod
    def _expect_same(answered: str, asked: str) -> None:
        # A validly signed answer about another order is a replay or a gateway bug; never use it.
        if answered != asked:
            raise GatewayUnavailable(
                "bad_response", f"asked about {asked!r}, the answer is about {answered!r}"
            )


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _rejection(status: int, content: bytes) -> GatewayRejected:
    try:
        data = json.loads(content)
        code = _text(data["code"])
        message = data.get("message")
    except _DECODE_ERRORS:
        return GatewayRejected("invalid_request", f"payment gateway refused with HTTP {status}")
    return GatewayRejected(code, message if isinstance(message, str) and message else None)


def get_payment_gateway() -> PaymentGateway:
    """The gateway as configured now (tests change settings between calls)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    key = settings.PAYMENT_GATEWAY_KEY
    if not key:
        raise ImproperlyConfigured("JIAOGUAN_PAYMENT_GATEWAY_KEY is not set")
    return HttpPaymentGateway(
        base_url=settings.PAYMENT_GATEWAY_URL,
        merchant_id=settings.PAYMENT_MERCHANT_ID,
        key=key,
        timeout=float(settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS),
        retries=int(settings.PAYMENT_GATEWAY_RETRIES),
    )
