"""Fake payment gateway (模拟支付平台): a local HTTP service for the demo and the tests.

It speaks the protocol of :mod:`jiaoguan.integrations.payment_gateway` and can misbehave the
way real gateways do: slow answers, 503s, answers lost after the change was applied, lost,
late, repeated and racing callbacks, and charging a payer twice. It uses the standard
library only and never imports Django, so it runs without settings or a database::

    python -m jiaoguan.integrations.fake_payment_gateway --port 8090 --key KEY [--state FILE]

API (requests signed with the merchant key; every answer is signed):

    POST /api/orders                         create (idempotent by out_trade_no)
    GET  /api/orders/{out_trade_no}          query
    POST /api/orders/{out_trade_no}/close    close
    POST /api/refunds                        refund (idempotent by out_refund_no)
    GET  /api/statements/YYYY-MM-DD          CSV statement of one Asia/Shanghai day
    GET|POST /pay/{merchant_id}/{out_trade_no}?t=TOKEN    the payer's page
    POST /control/pay/{out_trade_no}         pay as if the payer pressed the button
    GET|POST /control/behaviour              read or change misbehaviour
    POST /control/reset                      forget all orders, restore start-up behaviour
    GET  /control/callbacks                  log of callback deliveries
    GET  /health                             unsigned liveness check
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import hmac
import html
import http.client
import io
import json
import os
import random
import re
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .payment_gateway import (
    HEADER_NONCE,
    MAX_CLOCK_SKEW_SECONDS,
    SHANGHAI,
    STATEMENT_COLUMNS,
    GatewayTrade,
    HttpPaymentGateway,
    check_signed,
    header_value,
    request_message,
    signed_headers,
    trade_from_json,
)

CALLBACK_ATTEMPTS = 3
CALLBACK_BACKOFF_SECONDS = (0.2, 1.0)
CALLBACK_TIMEOUT_SECONDS = 5.0
CALLBACK_LOG_LIMIT = 2000
MAX_BODY_BYTES = 1024 * 1024
_ORDER_NO = re.compile(r"[A-Za-z0-9_\-]{1,64}")


@dataclass(frozen=True)
class Behaviour:
    """How the gateway misbehaves; every rate is a probability between 0 and 1."""

    latency_ms: int = 0
    callback_delay_ms: int = 0
    callback_drop_rate: float = 0.0
    callback_duplicates: int = 0
    timeout_rate: float = 0.0
    # Long enough to outlast the client's default 5 s timeout; tests set it short.
    timeout_sleep_ms: int = 6000
    error_rate: float = 0.0
    duplicate_charge: bool = False  # one-shot: the next pay charges twice, then turns itself off
    seed: int | None = None

    def updated(self, changes: Mapping[str, Any]) -> Behaviour:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown behaviour field(s): {', '.join(sorted(unknown))}")
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "duplicate_charge":
                if not isinstance(value, bool):
                    raise ValueError("duplicate_charge must be true or false")
            elif name == "seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError("seed must be an integer or null")
            elif name.endswith("_rate"):
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise ValueError(f"{name} must be a number from 0 to 1")
                value = float(value)
            elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 600_000:
                raise ValueError(f"{name} must be a whole number from 0 to 600000")
            checked[name] = value
        if checked.get("callback_duplicates", 0) > 100:
            raise ValueError("callback_duplicates must be at most 100")
        return replace(self, **checked)


@dataclass
class _Charge:
    trade_no: str
    amount_fen: int
    paid_at: str


@dataclass
class _Order:
    out_trade_no: str
    amount_fen: int
    subject: str
    notify_url: str
    return_url: str
    created_at: str
    closed_at: str = ""
    charges: list[_Charge] = field(default_factory=list)


@dataclass
class _Refund:
    out_refund_no: str
    refund_no: str
    out_trade_no: str
    trade_no: str
    amount_fen: int
    reason: str
    refunded_at: str


class ApiError(Exception):
    """A refusal the gateway answers with ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _now() -> datetime:
    return datetime.now(SHANGHAI)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _new_number(prefix: str, moment: datetime) -> str:
    return f"{prefix}{moment:%Y%m%d}{secrets.randbelow(10**14):014d}"


def format_yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


class FakePaymentGateway:
    """The gateway's state and rules, independent of HTTP; everything under one lock."""

    def __init__(
        self,
        *,
        merchant_id: str,
        key: bytes,
        behaviour: Behaviour | None = None,
        state_path: Path | None = None,
        public_url: str = "",
    ) -> None:
        self.merchant_id = merchant_id
        self.key = key
        self.public_url = public_url.rstrip("/")
        self._startup = behaviour or Behaviour()
        self._behaviour = self._startup
        self._rng = random.Random(self._startup.seed)  # noqa: S311 - simulated faults, not security
        self._lock = threading.RLock()
        self._orders: dict[str, _Order] = {}
        self._refunds: dict[str, _Refund] = {}
        self._callback_log: collections.deque[dict[str, Any]] = collections.deque(maxlen=CALLBACK_LOG_LIMIT)
        self._nonces: dict[str, float] = {}
        self._nonce_order: collections.deque[tuple[float, str]] = collections.deque()
        # Bumped by reset: callbacks still pending from before must not reach the next test.
        self._generation = 0
        self._state_path = state_path
        self._callback_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        if state_path is not None and state_path.exists():
            self._load(state_path)

    # -- behaviour and control --

    @property
    def behaviour(self) -> Behaviour:
        with self._lock:
            return self._behaviour

    def configure(self, changes: Mapping[str, Any]) -> Behaviour:
        with self._lock:
            self._behaviour = self._behaviour.updated(changes)
            if "seed" in changes:
                self._rng.seed(self._behaviour.seed)
            return self._behaviour

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            self._orders.clear()
            self._refunds.clear()
            self._callback_log.clear()
            self._behaviour = self._startup
            self._rng.seed(self._startup.seed)
            self._save()

    def callback_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._callback_log)

    def draw_faults(self) -> tuple[bool, bool]:
        """(answer 503 without applying, apply but answer too late) for one API call."""
        with self._lock:
            b = self._behaviour
            fail = bool(b.error_rate) and self._rng.random() < b.error_rate
            slow = not fail and bool(b.timeout_rate) and self._rng.random() < b.timeout_rate
            return fail, slow

    def accept_nonce(self, nonce: str) -> bool:
        """False for a nonce seen within the clock-skew window (a replayed request)."""
        now = time.monotonic()
        with self._lock:
            while self._nonce_order and self._nonce_order[0][0] < now - 2 * MAX_CLOCK_SKEW_SECONDS:
                _, old = self._nonce_order.popleft()
                self._nonces.pop(old, None)
            if nonce in self._nonces:
                return False
            self._nonces[nonce] = now
            self._nonce_order.append((now, nonce))
            return True

    # -- orders --

    def pay_token(self, out_trade_no: str) -> str:
        message = f"pay\n{self.merchant_id}\n{out_trade_no}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:32]

    def pay_url(self, out_trade_no: str) -> str:
        path = f"/pay/{urllib.parse.quote(self.merchant_id, safe='')}/{out_trade_no}"
        return f"{self.public_url}{path}?t={self.pay_token(out_trade_no)}"

    def create_order(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        out_trade_no = _order_no(payload.get("out_trade_no"))
        amount_fen = _amount(payload.get("amount_fen"))
        subject = payload.get("subject")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 256:
            raise ApiError(400, "invalid_request", "subject must be 1 to 256 characters")
        notify_url = _http_url(payload.get("notify_url"), "notify_url")
        return_url = _http_url(payload.get("return_url"), "return_url")
        with self._lock:
            order = self._orders.get(out_trade_no)
            if order is None:
                order = _Order(
                    out_trade_no=out_trade_no,
                    amount_fen=amount_fen,
                    subject=subject,
                    notify_url=notify_url,
                    return_url=return_url,
                    created_at=_iso(_now()),
                )
                self._orders[out_trade_no] = order
                self._save()
            elif order.amount_fen != amount_fen:
                raise ApiError(
                    409,
                    "amount_mismatch",
                    f"order {out_trade_no} exists with {order.amount_fen} fen, not {amount_fen}",
                )
            return {
                "out_trade_no": out_trade_no,
                "pay_url": self.pay_url(out_trade_no),
                "trade_state": self._trade_state(order),
            }

    def query_order(self, out_trade_no: str) -> dict[str, Any]:
        with self._lock:
            return self._trade_json(self._order(out_trade_no))

    def close_order(self, out_trade_no: str) -> dict[str, Any]:
        with self._lock:
            order = self._order(out_trade_no)
            if order.charges:
                raise ApiError(409, "already_paid", f"order {out_trade_no} is paid and cannot be closed")
            if not order.closed_at:
                order.closed_at = _iso(_now())
                self._save()
            return self._trade_json(order)

    def refund(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        out_trade_no = _order_no(payload.get("out_trade_no"))
        out_refund_no = _order_no(payload.get("out_refund_no"), name="out_refund_no")
        trade_no = payload.get("trade_no")
        amount_fen = _amount(payload.get("amount_fen"))
        reason = payload.get("reason", "")
        if not isinstance(trade_no, str) or not isinstance(reason, str) or len(reason) > 256:
            raise ApiError(400, "invalid_request", "trade_no and reason must be strings")
        with self._lock:
            existing = self._refunds.get(out_refund_no)
            if existing is not None:
                asked = (out_trade_no, trade_no, amount_fen)
                if (existing.out_trade_no, existing.trade_no, existing.amount_fen) != asked:
                    raise ApiError(
                        409, "refund_mismatch", f"refund {out_refund_no} was made with other details"
                    )
                return self._refund_json(existing)
            order = self._order(out_trade_no)
            charge = next((c for c in order.charges if c.trade_no == trade_no), None)
            if charge is None:
                raise ApiError(404, "not_found", f"order {out_trade_no} has no charge {trade_no}")
            left = charge.amount_fen - sum(
                r.amount_fen for r in self._refunds.values() if r.trade_no == trade_no
            )
            if amount_fen > left:
                raise ApiError(
                    409, "refund_exceeds", f"charge {trade_no} has {left} fen left, {amount_fen} asked"
                )
            moment = _now()
            refund = _Refund(
                out_refund_no=out_refund_no,
                refund_no=_new_number("50", moment),
                out_trade_no=out_trade_no,
                trade_no=trade_no,
                amount_fen=amount_fen,
                reason=reason,
                refunded_at=_iso(moment),
            )
            self._refunds[out_refund_no] = refund
            self._save()
            return self._refund_json(refund)

    def statement_csv(self, day: date) -> str:
        rows: list[tuple[str, str, str, int, str, str]] = []
        with self._lock:
            for order in self._orders.values():
                for charge in order.charges:
                    rows.append(
                        ("charge", order.out_trade_no, charge.trade_no, charge.amount_fen, charge.paid_at, "")
                    )
            for refund in self._refunds.values():
                rows.append(
                    (
                        "refund",
                        refund.out_trade_no,
                        refund.trade_no,
                        refund.amount_fen,
                        refund.refunded_at,
                        refund.out_refund_no,
                    )
                )
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(STATEMENT_COLUMNS)
        for row in sorted(rows, key=lambda r: r[4]):
            if datetime.fromisoformat(row[4]).astimezone(SHANGHAI).date() == day:
                writer.writerow(row)
        return out.getvalue()

    def pay(self, out_trade_no: str) -> tuple[_Order, list[_Charge]]:
        """Charge the order as the payer's button does; schedules the callbacks."""
        with self._lock:
            order = self._order(out_trade_no)
            if order.closed_at:
                raise ApiError(409, "closed", f"order {out_trade_no} is closed")
            twice = self._behaviour.duplicate_charge
            if order.charges and not twice:
                raise ApiError(409, "already_paid", f"order {out_trade_no} is already paid")
            if twice:
                self._behaviour = replace(self._behaviour, duplicate_charge=False)
            moment = _now()
            new = [
                _Charge(trade_no=_new_number("42", moment), amount_fen=order.amount_fen, paid_at=_iso(moment))
                for _ in range(1 if order.charges or not twice else 2)
            ]
            order.charges.extend(new)
            self._save()
            for charge in new:
                self._schedule_callback(order, charge)
            return order, new

    def order_view(self, out_trade_no: str) -> tuple[_Order, str] | None:
        with self._lock:
            order = self._orders.get(out_trade_no)
            return None if order is None else (replace(order), self._trade_state(order))

    # -- callbacks --

    def _schedule_callback(self, order: _Order, charge: _Charge) -> None:
        # Called with the lock held, so the draws follow the seeded sequence.
        b = self._behaviour
        notice: dict[str, Any] = {
            "notify_id": secrets.token_hex(16),
            "out_trade_no": order.out_trade_no,
            "trade_no": charge.trade_no,
            "trade_state": "SUCCESS",
            "amount_fen": charge.amount_fen,
            "paid_at": charge.paid_at,
        }
        if b.callback_drop_rate and self._rng.random() < b.callback_drop_rate:
            self._log_delivery(notice, copy=0, attempt=0, status=None, error="dropped")
            return
        body = json.dumps(notice, ensure_ascii=False).encode()
        generation = self._generation
        copies = 1 + b.callback_duplicates
        delay = b.callback_delay_ms / 1000

        def release() -> None:
            time.sleep(delay)
            start = threading.Event()
            for copy in range(copies):
                threading.Thread(
                    target=self._deliver,
                    args=(order.notify_url, body, notice, copy, generation, start),
                    name=f"callback-{notice['notify_id'][:8]}-{copy}",
                    daemon=True,
                ).start()
            start.set()  # all copies leave together, so duplicates really race

        threading.Thread(target=release, daemon=True).start()

    def _deliver(
        self,
        url: str,
        body: bytes,
        notice: Mapping[str, Any],
        copy: int,
        generation: int,
        start: threading.Event,
    ) -> None:
        start.wait()
        for attempt in range(1, CALLBACK_ATTEMPTS + 1):
            if generation != self._generation:
                return
            headers = signed_headers(self.merchant_id, self.key, body)
            headers["Content-Type"] = "application/json; charset=utf-8"
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
            status: int | None = None
            error = ""
            answer = b""
            try:
                with self._callback_opener.open(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:
                    status = response.status
                    answer = response.read(65536)
            except urllib.error.HTTPError as exc:
                status = exc.code
                error = f"HTTP {exc.code}"
            except (OSError, http.client.HTTPException) as exc:
                error = str(getattr(exc, "reason", exc)) or type(exc).__name__
            accepted = status == 200 and _is_success(answer)
            if status == 200 and not accepted:
                error = 'answer was not {"code": "SUCCESS"}'
            with self._lock:
                if generation != self._generation:
                    return
                self._log_delivery(notice, copy=copy, attempt=attempt, status=status, error=error)
            if accepted:
                return
            if attempt < CALLBACK_ATTEMPTS:
                time.sleep(CALLBACK_BACKOFF_SECONDS[attempt - 1])

    def _log_delivery(
        self, notice: Mapping[str, Any], *, copy: int, attempt: int, status: int | None, error: str
    ) -> None:
        self._callback_log.append(
            {
                "notify_id": notice["notify_id"],
                "out_trade_no": notice["out_trade_no"],
                "trade_no": notice["trade_no"],
                "copy": copy,
                "attempt": attempt,
                "status": status,
                "error": error,
                "at": _iso(_now()),
            }
        )

    # -- internals (lock held) --

    def _order(self, out_trade_no: str) -> _Order:
        order = self._orders.get(out_trade_no)
        if order is None:
            raise ApiError(404, "not_found", f"no order {out_trade_no}")
        return order

    def _refunded(self, out_trade_no: str) -> int:
        return sum(r.amount_fen for r in self._refunds.values() if r.out_trade_no == out_trade_no)

    def _trade_state(self, order: _Order) -> str:
        if order.closed_at:
            return "CLOSED"
        if not order.charges:
            return "NOTPAY"
        charged = sum(c.amount_fen for c in order.charges)
        return "REFUND" if self._refunded(order.out_trade_no) >= charged else "SUCCESS"

    def _trade_json(self, order: _Order) -> dict[str, Any]:
        return {
            "out_trade_no": order.out_trade_no,
            "trade_state": self._trade_state(order),
            "amount_fen": order.amount_fen,
            "charges": [asdict(c) for c in order.charges],
            "refunded_fen": self._refunded(order.out_trade_no),
        }

    @staticmethod
    def _refund_json(refund: _Refund) -> dict[str, Any]:
        return {
            "out_refund_no": refund.out_refund_no,
            "refund_no": refund.refund_no,
            "amount_fen": refund.amount_fen,
            "state": "SUCCESS",
        }

    def _save(self) -> None:
        if self._state_path is None:
            return
        data = {
            "version": 1,
            "merchant_id": self.merchant_id,
            "orders": [asdict(o) for o in self._orders.values()],
            "refunds": [asdict(r) for r in self._refunds.values()],
        }
        draft = self._state_path.with_name(f".{self._state_path.name}.{os.getpid()}.tmp")
        draft.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(draft, self._state_path)  # a crash mid-write leaves the previous file intact

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        for raw in data.get("orders", []):
            charges = [_Charge(**c) for c in raw.pop("charges", [])]
            order = _Order(**raw, charges=charges)
            self._orders[order.out_trade_no] = order
        for raw in data.get("refunds", []):
            refund = _Refund(**raw)
            self._refunds[refund.out_refund_no] = refund


def _is_success(answer: bytes) -> bool:
    try:
        data = json.loads(answer)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("code") == "SUCCESS"


def _order_no(value: Any, *, name: str = "out_trade_no") -> str:
    if not isinstance(value, str) or not _ORDER_NO.fullmatch(value):
        raise ApiError(400, "invalid_request", f"{name} must be 1 to 64 of A-Z a-z 0-9 _ -")
    return value


def _amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ApiError(400, "invalid_request", "amount_fen must be a positive whole number of fen")
    return value


def _http_url(value: Any, name: str) -> str:
    if not isinstance(value, str) or urllib.parse.urlsplit(value).scheme not in {"http", "https"}:
        raise ApiError(400, "invalid_request", f"{name} must be an http(s) URL")
    return value


def _with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


# --- HTTP -------------------------------------------------------------------------------------------

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/api/orders"), "api_create"),
    ("GET", re.compile(r"/api/orders/(?P<no>[^/]+)"), "api_query"),
    ("POST", re.compile(r"/api/orders/(?P<no>[^/]+)/close"), "api_close"),
    ("POST", re.compile(r"/api/refunds"), "api_refund"),
    ("GET", re.compile(r"/api/statements/(?P<day>\d{4}-\d{2}-\d{2})"), "api_statement"),
    ("POST", re.compile(r"/control/pay/(?P<no>[^/]+)"), "control_pay"),
    ("GET", re.compile(r"/control/behaviour"), "control_behaviour"),
    ("POST", re.compile(r"/control/behaviour"), "control_behaviour"),
    ("POST", re.compile(r"/control/reset"), "control_reset"),
    ("GET", re.compile(r"/control/callbacks"), "control_callbacks"),
]


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    for route_method, pattern, name in _ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return name, {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
    raise ApiError(404, "not_found", f"no endpoint {method} {path}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: FakePaymentGateway, *, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.gateway = gateway
        self.verbose = verbose


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakePaymentGateway/1.0"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # -- dispatch --

    def _dispatch(self, method: str) -> None:
        gateway = self.server.gateway
        path, _, query = self.path.partition("?")
        try:
            body = self._read_body()
            if path == "/health":
                self._send_json(200, {"status": "ok", "merchant_id": gateway.merchant_id})
            elif path.startswith("/pay/"):
                self._pay_page(method, path, query, body)
            elif path.startswith(("/api/", "/control/")):
                self._api(method, path, body)
            else:
                raise ApiError(404, "not_found", f"no endpoint {path}")
        except ApiError as exc:
            self._send_json(exc.status, {"code": exc.code, "message": exc.message})

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            raise ApiError(413, "invalid_request", "body too large")
        return self.rfile.read(int(length))

    def _api(self, method: str, path: str, body: bytes) -> None:
        gateway = self.server.gateway
        headers = dict(self.headers.items())
        problem = check_signed(
            headers,
            merchant_id=gateway.merchant_id,
            key=gateway.key,
            message=request_message(method, self.path, body),
        )
        if problem is None and not gateway.accept_nonce(header_value(headers, HEADER_NONCE)):
            problem = "replayed_nonce"
        if problem is not None:
            raise ApiError(401, "bad_signature", f"request refused: {problem}")
        name, params = _route(method, path)
        if name.startswith("control_"):
            self._control(name, params, body)
            return
        behaviour = gateway.behaviour
        fail, slow = gateway.draw_faults()
        if behaviour.latency_ms:
            time.sleep(behaviour.latency_ms / 1000)
        if fail:
            self._send_json(503, {"code": "unavailable", "message": "simulated gateway failure"})
            return
        try:
            status, content, content_type = self._apply(name, params, body)
        except ApiError as exc:
            status, content, content_type = exc.status, _json_bytes(exc.code, exc.message), "application/json"
        if slow:
            # The change is made; the payer's money moved, but the merchant hears nothing in time.
            time.sleep(behaviour.timeout_sleep_ms / 1000)
        self._send(status, content, content_type)

    def _apply(self, name: str, params: Mapping[str, str], body: bytes) -> tuple[int, bytes, str]:
        gateway = self.server.gateway
        if name == "api_statement":
            try:
                day = date.fromisoformat(params["day"])
            except ValueError as exc:
                raise ApiError(400, "invalid_request", f"bad day: {exc}") from exc
            return 200, gateway.statement_csv(day).encode(), "text/csv; charset=utf-8"
        payload = _json_object(body) if name in {"api_create", "api_refund", "api_close"} else {}
        result: Any
        if name == "api_create":
            result = gateway.create_order(payload)
        elif name == "api_query":
            result = gateway.query_order(params["no"])
        elif name == "api_close":
            if payload.get("out_trade_no", params["no"]) != params["no"]:
                raise ApiError(400, "invalid_request", "out_trade_no in the body differs from the path")
            result = gateway.close_order(params["no"])
        else:
            result = gateway.refund(payload)
        return 200, json.dumps(result, ensure_ascii=False).encode(), "application/json"

    def _control(self, name: str, params: Mapping[str, str], body: bytes) -> None:
        gateway = self.server.gateway
        if name == "control_pay":
            order, _ = gateway.pay(params["no"])
            self._send_json(200, gateway.query_order(order.out_trade_no))
        elif name == "control_behaviour":
            if body:
                try:
                    gateway.configure(_json_object(body))
                except ValueError as exc:
                    raise ApiError(400, "invalid_request", str(exc)) from exc
            self._send_json(200, asdict(gateway.behaviour))
        elif name == "control_reset":
            gateway.reset()
            self._send_json(200, {"code": "SUCCESS"})
        else:
            self._send_json(200, {"callbacks": gateway.callback_log()})

    # -- the payer's page --

    def _pay_page(self, method: str, path: str, query: str, body: bytes) -> None:
        gateway = self.server.gateway
        match = re.fullmatch(r"/pay/([^/]+)/([^/]+)", path)
        if match is None:
            raise ApiError(404, "not_found", "no such page")
        merchant_id, out_trade_no = (urllib.parse.unquote(part) for part in match.groups())
        token = urllib.parse.parse_qs(query).get("t", [""])[0]
        if merchant_id != gateway.merchant_id or not hmac.compare_digest(
            token.encode("utf-8", "replace"), gateway.pay_token(out_trade_no).encode()
        ):
            self._send_page(
                403, "链接无效 Invalid link", "<p>此支付链接无效。<br>This payment link is not valid.</p>"
            )
            return
        view = gateway.order_view(out_trade_no)
        if view is None:
            self._send_page(404, "订单不存在 No such order", "<p>订单不存在。<br>There is no such order.</p>")
            return
        order, state = view
        if method == "POST":
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            action = form.get("action", ["pay"])[0]
            if action == "cancel":
                self._redirect(_with_query(order.return_url, out_trade_no=out_trade_no, result="cancel"))
                return
            try:
                gateway.pay(out_trade_no)
            except ApiError as exc:
                self._send_order_page(409, order, "closed" if exc.code == "closed" else "paid", token)
                return
            self._redirect(_with_query(order.return_url, out_trade_no=out_trade_no))
            return
        if state == "CLOSED":
            self._send_order_page(200, order, "closed", token)
        elif state == "NOTPAY":
            self._send_order_page(200, order, "open", token)
        else:
            # With a duplicate charge armed the button stays, so a second press charges again.
            self._send_order_page(
                200, order, "paid-again" if gateway.behaviour.duplicate_charge else "paid", token
            )

    def _send_order_page(self, status: int, order: _Order, mode: str, token: str) -> None:
        gateway = self.server.gateway
        e = html.escape
        action = f"{urllib.parse.quote(self.path.partition('?')[0])}?t={urllib.parse.quote(token)}"
        notices = {
            "closed": '<p class="note">订单已关闭，无法支付。<br>This order is closed and cannot be paid.</p>',
            "paid": '<p class="note">该订单已支付。<br>This order is already paid.</p>',
            "paid-again": '<p class="note">该订单已支付。<br>This order is already paid.</p>',
            "open": "",
        }
        form = ""
        if mode in {"open", "paid-again"}:
            form = (
                f'<form method="post" action="{e(action)}">'
                '<button type="submit" name="action" value="pay" id="pay-confirm">确认支付 Pay</button>'
                '<button type="submit" name="action" value="cancel" id="pay-cancel" class="secondary">'
                "取消 Cancel</button></form>"
            )
        else:
            back = _with_query(order.return_url, out_trade_no=order.out_trade_no)
            form = f'<p><a href="{e(back)}" id="pay-return">返回商户 Back to merchant</a></p>'
        content = (
            '<dl class="order">'
            f"<dt>商户 Merchant</dt><dd>{e(gateway.merchant_id)}</dd>"
            f"<dt>商品 Item</dt><dd>{e(order.subject)}</dd>"
            f"<dt>订单号 Order no.</dt><dd>{e(order.out_trade_no)}</dd>"
            "</dl>"
            f'<p class="amount" id="pay-amount">{e(format_yuan(order.amount_fen))}</p>'
            f"{notices[mode]}{form}"
        )
        self._send_page(status, "收银台 Checkout", content)

    def _send_page(self, status: int, title: str, content: str) -> None:
        page = (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>"
            "body{font-family:system-ui,sans-serif;margin:0;background:#f2f4f7;color:#1d2129}"
            "main{max-width:420px;margin:0 auto;padding:24px 16px}"
            "h1{font-size:1.2rem;margin:0 0 16px}"
            ".card{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px #0002}"
            "dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:6px 12px;font-size:.9rem}"
            "dt{color:#86909c}dd{margin:0;word-break:break-all}"
            ".amount{font-size:2rem;font-weight:600;text-align:center;margin:20px 0}"
            ".note{background:#fff7e8;border-radius:8px;padding:10px}"
            "button{display:block;width:100%;padding:14px;margin-top:10px;font-size:1rem;border:0;"
            "border-radius:8px;background:#1677ff;color:#fff}"
            "button.secondary{background:#e5e6eb;color:#1d2129}"
            "</style></head><body><main>"
            f'<h1>模拟支付平台 Fake payment gateway</h1><div class="card">{content}</div>'
            "</main></body></html>"
        )
        self._send(status, page.encode(), "text/html; charset=utf-8", cache=False)

    # -- answers --

    def _redirect(self, location: str) -> None:
        self._send(303, b"", "text/plain; charset=utf-8", extra={"Location": location}, cache=False)

    def _send_json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode(), "application/json")

    def _send(
        self,
        status: int,
        content: bytes,
        content_type: str,
        *,
        extra: Mapping[str, str] | None = None,
        cache: bool = True,
    ) -> None:
        gateway = self.server.gateway
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            for name, value in signed_headers(gateway.merchant_id, gateway.key, content).items():
                self.send_header(name, value)
            if not cache:
                # The pay page's URL carries its token: keep it out of caches and referrers.
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (simulated timeouts do exactly that)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise ApiError(400, "invalid_request", f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "body must be a JSON object")
    return data


def _json_bytes(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}, ensure_ascii=False).encode()


# --- test and demo helper ------------------------------------------------------------------------


class GatewayControl:
    """Drives a running fake gateway's control endpoints (tests, demo scripts)."""

    def __init__(self, *, base_url: str, merchant_id: str, key: str | bytes, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = HttpPaymentGateway(
            base_url=base_url, merchant_id=merchant_id, key=key, timeout=timeout, retries=0
        )

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=1) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            return False

    def configure(self, **behaviour: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._http.request_json("POST", "/control/behaviour", behaviour)
        return result

    def behaviour(self) -> dict[str, Any]:
        result: dict[str, Any] = self._http.request_json("GET", "/control/behaviour")
        return result

    def reset(self) -> None:
        self._http.request_json("POST", "/control/reset", {})

    def pay(self, out_trade_no: str) -> GatewayTrade:
        path = f"/control/pay/{urllib.parse.quote(out_trade_no, safe='')}"
        return trade_from_json(self._http.request_json("POST", path, {}))

    def callbacks(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._http.request_json("GET", "/control/callbacks")["callbacks"]
        return result


# --- command line -------------------------------------------------------------------------------


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Fake payment gateway (模拟支付平台).")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser, defaults: Mapping[str, Any] | None = None) -> None:
    """The server's options; the Django command passes defaults taken from settings."""
    d = dict(defaults or {})
    parser.add_argument("--host", default=d.get("host", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=d.get("port", 8090), help="0 picks a free port")
    parser.add_argument("--merchant-id", default=d.get("merchant_id", "jiaoguan-demo"))
    parser.add_argument(
        "--key", default=d.get("key", ""), help="merchant key (default: $JIAOGUAN_PAYMENT_GATEWAY_KEY)"
    )
    parser.add_argument(
        "--state", default=d.get("state", ""), help="JSON file keeping orders across restarts"
    )
    parser.add_argument("--port-file", default="", help="write the port listened on to this file")
    parser.add_argument("--public-url", default=d.get("public_url", ""), help="base of pay URLs")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--callback-delay-ms", type=int, default=0)
    parser.add_argument("--callback-drop-rate", type=float, default=0.0)
    parser.add_argument("--callback-duplicates", type=int, default=0)
    parser.add_argument("--timeout-rate", type=float, default=0.0)
    parser.add_argument("--timeout-sleep-ms", type=int, default=6000)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")


def serve(options: Mapping[str, Any], *, out: Callable[[str], None] = print) -> int:
    """Run until SIGTERM or Ctrl-C; ``options`` are the parsed arguments as a mapping."""
    key = options["key"] or os.environ.get("JIAOGUAN_PAYMENT_GATEWAY_KEY", "")
    if not key:
        raise SystemExit("fake payment gateway: --key (or JIAOGUAN_PAYMENT_GATEWAY_KEY) is required")
    try:
        behaviour = Behaviour().updated(
            {
                "latency_ms": options["latency_ms"],
                "callback_delay_ms": options["callback_delay_ms"],
                "callback_drop_rate": options["callback_drop_rate"],
                "callback_duplicates": options["callback_duplicates"],
                "timeout_rate": options["timeout_rate"],
                "timeout_sleep_ms": options["timeout_sleep_ms"],
                "error_rate": options["error_rate"],
                "seed": options["seed"],
            }
        )
    except ValueError as exc:
        raise SystemExit(f"fake payment gateway: {exc}") from exc
    state_path = Path(options["state"]).resolve() if options["state"] else None
    try:
        gateway = FakePaymentGateway(
            merchant_id=options["merchant_id"], key=key.encode(), behaviour=behaviour, state_path=state_path
        )
    except (OSError, ValueError, TypeError, KeyError) as exc:
        # Starting empty would silently lose the demo's orders; make the operator decide.
        raise SystemExit(f"fake payment gateway: cannot read state file {state_path}: {exc!r}") from exc
    server = _Server((options["host"], options["port"]), gateway, verbose=bool(options["verbose"]))
    host, port = str(server.server_address[0]), int(server.server_address[1])
    shown_host = "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104 - only compared
    gateway.public_url = (options["public_url"] or f"http://{shown_host}:{port}").rstrip("/")
    if options["port_file"]:
        port_file = Path(options["port_file"])
        draft = port_file.with_name(f".{port_file.name}.tmp")
        draft.write_text(str(port), encoding="utf-8")
        os.replace(draft, port_file)  # a reader never sees a half-written number
    out(f"listening on http://{shown_host}:{port}")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser("python -m jiaoguan.integrations.fake_payment_gateway").parse_args(argv)
    return serve(vars(args), out=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
