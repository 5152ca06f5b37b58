"""Fake postal service (模拟邮政 EMS): a local HTTP service for the demo and the tests.

Issue 13 / REQUIREMENTS S2: certificates are posted with a waybill. This service speaks the
protocol of :mod:`jiaoguan.integrations.postal` and misbehaves the way a real one does: slow
answers, 503s, answers lost after the waybill was made, tracking callbacks late, lost or
repeated (then only tracking shows the events), and parcels lost on the way. It uses the
standard library only and never imports Django::

    python -m jiaoguan.integrations.fake_postal_service --port 8092 --key KEY [--speed 60]

A parcel moves accepted → in_transit → out_for_delivery → delivered on a schedule in
simulated minutes that meets S2 (delivered within 1 day in the city, 2 in the province, 3
across provinces); ``speed`` is how many simulated seconds pass per real second, so 60 turns
minutes into seconds.

API (requests signed with the customer key; every answer is signed):

    POST /api/waybills                       create (idempotent by idempotency_key)
    GET  /api/waybills/{number}              tracking events so far
    POST /control/advance/{number}           {"kind": K}: move the parcel to K now
    GET|POST /control/behaviour              read or change misbehaviour
    POST /control/reset                      forget all parcels, restore start-up behaviour
    GET  /control/callbacks                  log of callback deliveries
    GET  /health                             unsigned liveness check
"""

from __future__ import annotations

import argparse
import collections
import http.client
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
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .payment_gateway import (
    HEADER_NONCE,
    MAX_CLOCK_SKEW_SECONDS,
    SHANGHAI,
    check_signed,
    header_value,
    request_message,
    signed_headers,
)
from .postal import (
    EVENT_KINDS,
    FINAL_KINDS,
    HttpPostalService,
    TrackingEvent,
    division_valid,
    events_from_json,
    s10_check_digit,
)

CALLBACK_ATTEMPTS = 3
CALLBACK_BACKOFF_SECONDS = (0.2, 1.0)
CALLBACK_TIMEOUT_SECONDS = 5.0
CALLBACK_LOG_LIMIT = 2000
MAX_BODY_BYTES = 64 * 1024
TICK_SECONDS = 0.05
_KEY = re.compile(r"[A-Za-z0-9_\-:.]{1,128}")
_PHONE = re.compile(r"\+?[0-9][0-9\- ]{6,19}")
# S10 service indicators EA-EW are EMS's own; EX-EZ need a bilateral agreement.
_EMS_INDICATORS = [f"E{chr(c)}" for c in range(ord("A"), ord("W") + 1)]

# Simulated minutes after acceptance, per distance, at which the parcel goes out for delivery and
# is delivered: within S2's 1 day (same city), 2 days (same province), 3 days (elsewhere).
IN_TRANSIT_MINUTES = 120
SCHEDULE_MINUTES = {"city": (960, 1200), "province": (2160, 2400), "country": (3600, 3840)}
_ROUTE_STEPS = ("accepted", "in_transit", "out_for_delivery", "delivered")


@dataclass(frozen=True)
class Behaviour:
    """How the service misbehaves; every rate is a probability between 0 and 1."""

    latency_ms: int = 0
    error_rate: float = 0.0  # answer 503 and do nothing
    timeout_rate: float = 0.0  # do it, then answer after timeout_sleep_ms
    # Long enough to outlast the client's default 5 s timeout; tests set it short.
    timeout_sleep_ms: int = 6000
    callback_delay_ms: int = 0
    callback_drop_rate: float = 0.0  # the event is only seen by tracking
    callback_duplicates: int = 0  # extra copies of every callback, sent together
    loss_rate: float = 0.0  # a new parcel is lost after leaving the origin
    speed: float = 1.0  # simulated seconds per real second
    seed: int | None = None

    def updated(self, changes: Mapping[str, Any]) -> Behaviour:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown behaviour field(s): {', '.join(sorted(unknown))}")
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError("seed must be an integer or null")
            elif name.endswith("_rate"):
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise ValueError(f"{name} must be a number from 0 to 1")
                value = float(value)
            elif name == "speed":
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 10**7:
                    raise ValueError("speed must be a number above 0, at most 10000000")
                value = float(value)
            elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 600_000:
                raise ValueError(f"{name} must be a whole number from 0 to 600000")
            checked[name] = value
        if checked.get("callback_duplicates", 0) > 100:
            raise ValueError("callback_duplicates must be at most 100")
        return replace(self, **checked)


@dataclass
class _Parcel:
    number: str
    idempotency_key: str
    details: dict[str, Any]
    created_at: str
    # Events still to come: [kind, due (unix seconds), place], in order.
    schedule: list[list[Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


class ApiError(Exception):
    """A refusal the service answers with ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def distance(origin: str, destination: str) -> str:
    """ "city", "province" or "country" between two GB/T 2260 codes (prefixes 4 and 2 digits)."""
    if origin[:4] == destination[:4]:
        return "city"
    return "province" if origin[:2] == destination[:2] else "country"


def new_waybill_number(rng: random.Random) -> str:
    serial = f"{rng.randrange(10**8):08d}"
    return f"{rng.choice(_EMS_INDICATORS)}{serial}{s10_check_digit(serial)}CN"


class FakePostalService:
    """The service's state and rules, independent of HTTP; everything under one lock."""

    def __init__(
        self,
        *,
        customer_id: str,
        key: bytes,
        origin_division: str = "411702",
        behaviour: Behaviour | None = None,
        state_path: Path | None = None,
    ) -> None:
        self.customer_id = customer_id
        self.key = key
        self.origin_division = origin_division
        self._startup = behaviour or Behaviour()
        self._behaviour = self._startup
        self._rng = random.Random(self._startup.seed)  # noqa: S311 - simulated faults, not security
        self._lock = threading.RLock()
        self._parcels: dict[str, _Parcel] = {}
        self._by_key: dict[str, str] = {}
        self._callback_log: collections.deque[dict[str, Any]] = collections.deque(maxlen=CALLBACK_LOG_LIMIT)
        self._nonces: dict[str, float] = {}
        self._nonce_order: collections.deque[tuple[float, str]] = collections.deque()
        # Bumped by reset: callbacks still pending from before must not reach the next test.
        self._generation = 0
        self._state_path = state_path
        self._callback_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._stopped = threading.Event()
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
            self._parcels.clear()
            self._by_key.clear()
            self._callback_log.clear()
            self._behaviour = self._startup
            self._rng.seed(self._startup.seed)
            self._save()

    def callback_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._callback_log)

    def draw_faults(self) -> tuple[bool, bool]:
        """(answer 503 without acting, act but answer too late) for one API call."""
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

    # -- waybills --

    def create_waybill(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        key = payload.get("idempotency_key")
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ApiError(400, "invalid_request", "idempotency_key must be 1 to 128 of A-Z a-z 0-9 _ - : .")
        details = _details(payload)
        with self._lock:
            number = self._by_key.get(key)
            if number is not None:
                parcel = self._parcels[number]
                if parcel.details != details:
                    raise ApiError(
                        409, "idempotency_mismatch", f"idempotency key {key} was used for another parcel"
                    )
                return self._waybill_json(parcel)
            number = new_waybill_number(self._rng)
            while number in self._parcels:
                number = new_waybill_number(self._rng)
            now = time.time()
            parcel = _Parcel(
                number=number,
                idempotency_key=key,
                details=details,
                created_at=_iso(datetime.fromtimestamp(now, SHANGHAI)),
                schedule=self._plan(details["address_division"], now),
            )
            self._parcels[number] = parcel
            self._by_key[key] = number
            # Accepted with the waybill, so tracking never shows a parcel without events.
            self._emit_due(parcel, now)
            self._save()
            return self._waybill_json(parcel)

    def track(self, number: str) -> dict[str, Any]:
        with self._lock:
            parcel = self._parcel(number)
            return {"number": number, "events": list(parcel.events)}

    def advance(self, number: str, kind: str) -> dict[str, Any]:
        """Move a parcel to ``kind`` now (tests, demo): the events on the way, then ``kind``."""
        if kind not in EVENT_KINDS:
            raise ApiError(400, "invalid_request", f"kind must be one of {', '.join(sorted(EVENT_KINDS))}")
        with self._lock:
            parcel = self._parcel(number)
            done = {event["kind"] for event in parcel.events}
            if done & FINAL_KINDS:
                raise ApiError(409, "final", f"waybill {number} is already {sorted(done & FINAL_KINDS)[0]}")
            if kind in _ROUTE_STEPS and any(_ROUTE_STEPS.index(d) >= _ROUTE_STEPS.index(kind) for d in done):
                raise ApiError(409, "passed", f"waybill {number} is already at or past {kind}")
            # A lost parcel is lost wherever it is; a returned one was out for delivery first.
            if kind == "lost":
                before: tuple[str, ...] = ()
            elif kind == "returned":
                before = _ROUTE_STEPS[:3]
            else:
                before = _ROUTE_STEPS[: _ROUTE_STEPS.index(kind)]
            now = time.time()
            for step in before:
                if step not in done:
                    self._emit(parcel, step, self._place(step, parcel.details["address_division"]), now)
            self._emit(parcel, kind, self._place(kind, parcel.details["address_division"]), now)
            passed = {event["kind"] for event in parcel.events}
            parcel.schedule = (
                [] if kind in FINAL_KINDS else [e for e in parcel.schedule if e[0] not in passed]
            )
            self._save()
            return {"number": number, "events": list(parcel.events)}

    def tick(self) -> None:
        """Emit every event whose (real) time has come."""
        now = time.time()
        with self._lock:
            changed = False
            for parcel in self._parcels.values():
                changed = self._emit_due(parcel, now) or changed
            if changed:
                self._save()

    def run_clock(self) -> None:
        while not self._stopped.wait(TICK_SECONDS):
            self.tick()

    def stop(self) -> None:
        self._stopped.set()

    # -- internals (lock held) --

    def _plan(self, division: str, now: float) -> list[list[Any]]:
        b = self._behaviour
        out_minutes, delivered_minutes = SCHEDULE_MINUTES[distance(self.origin_division, division)]
        steps = [("accepted", 0), ("in_transit", IN_TRANSIT_MINUTES), ("out_for_delivery", out_minutes)]
        if b.loss_rate and self._rng.random() < b.loss_rate:
            steps[-1] = ("lost", out_minutes)
        else:
            steps.append(("delivered", delivered_minutes))
        return [[kind, now + minutes * 60 / b.speed, self._place(kind, division)] for kind, minutes in steps]

    def _emit_due(self, parcel: _Parcel, now: float) -> bool:
        emitted = False
        while parcel.schedule and parcel.schedule[0][1] <= now:
            kind, _, place = parcel.schedule.pop(0)
            self._emit(parcel, kind, place, now)
            emitted = True
        return emitted

    def _place(self, kind: str, destination: str) -> str:
        return {
            "accepted": f"{self.origin_division} 揽投部 已收寄",
            "in_transit": f"{self.origin_division} 邮件处理中心 已发出",
            "out_for_delivery": f"{destination} 投递部 正在投递",
            "delivered": f"{destination} 投递部 已妥投 本人签收",
            "returned": f"{destination} 投递部 收件人拒收或无法联系 退回寄件人",
            "lost": f"{self.origin_division} 邮件处理中心 邮件丢失",
        }[kind]

    def _emit(self, parcel: _Parcel, kind: str, place: str, now: float) -> None:
        event = {
            "waybill_number": parcel.number,
            "event_id": secrets.token_hex(12),
            "kind": kind,
            "at": _iso(datetime.fromtimestamp(now, SHANGHAI)),
            "place": place,
        }
        parcel.events.append(event)
        url = parcel.details.get("callback_url", "")
        if url:
            self._notify(url, event)

    def _notify(self, url: str, event: dict[str, Any]) -> None:
        # Called with the lock held, so the draws follow the seeded sequence.
        b = self._behaviour
        if b.callback_drop_rate and self._rng.random() < b.callback_drop_rate:
            self._log_delivery(event, copy=0, attempt=0, status=None, error="dropped")
            return
        body = json.dumps({"events": [event]}, ensure_ascii=False).encode()
        generation = self._generation
        copies = 1 + b.callback_duplicates
        delay = b.callback_delay_ms / 1000

        def release() -> None:
            time.sleep(delay)
            start = threading.Event()
            for copy in range(copies):
                threading.Thread(
                    target=self._deliver, args=(url, body, event, copy, generation, start), daemon=True
                ).start()
            start.set()  # all copies leave together, so duplicates really race

        threading.Thread(target=release, daemon=True).start()

    def _deliver(
        self,
        url: str,
        body: bytes,
        event: Mapping[str, Any],
        copy: int,
        generation: int,
        start: threading.Event,
    ) -> None:
        start.wait()
        for attempt in range(1, CALLBACK_ATTEMPTS + 1):
            if generation != self._generation:
                return
            headers = signed_headers(self.customer_id, self.key, body)
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
                self._log_delivery(event, copy=copy, attempt=attempt, status=status, error=error)
            if accepted:
                return
            if attempt < CALLBACK_ATTEMPTS:
                time.sleep(CALLBACK_BACKOFF_SECONDS[attempt - 1])

    def _log_delivery(
        self, event: Mapping[str, Any], *, copy: int, attempt: int, status: int | None, error: str
    ) -> None:
        self._callback_log.append(
            {
                "event_id": event["event_id"],
                "waybill_number": event["waybill_number"],
                "kind": event["kind"],
                "copy": copy,
                "attempt": attempt,
                "status": status,
                "error": error,
                "at": _iso(datetime.now(SHANGHAI)),
            }
        )

    def _parcel(self, number: str) -> _Parcel:
        parcel = self._parcels.get(number)
        if parcel is None:
            raise ApiError(404, "not_found", f"no waybill {number}")
        return parcel

    @staticmethod
    def _waybill_json(parcel: _Parcel) -> dict[str, Any]:
        return {
            "number": parcel.number,
            "idempotency_key": parcel.idempotency_key,
            "reference": parcel.details["reference"],
            "created_at": parcel.created_at,
        }

    def _save(self) -> None:
        if self._state_path is None:
            return
        data = {
            "version": 1,
            "customer_id": self.customer_id,
            "parcels": [asdict(p) for p in self._parcels.values()],
        }
        draft = self._state_path.with_name(f".{self._state_path.name}.{os.getpid()}.tmp")
        draft.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(draft, self._state_path)  # a crash mid-write leaves the previous file intact

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        for raw in data.get("parcels", []):
            parcel = _Parcel(**raw)
            self._parcels[parcel.number] = parcel
            self._by_key[parcel.idempotency_key] = parcel.number


def _details(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The parcel's details, checked as the real service would before accepting it."""
    texts = {"reference": 64, "sender": 128, "recipient_name": 64, "address_line": 200}
    details: dict[str, Any] = {}
    for name, limit in texts.items():
        value = payload.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise ApiError(400, "invalid_request", f"{name} must be 1 to {limit} characters")
        details[name] = value
    phone = payload.get("recipient_phone")
    if not isinstance(phone, str) or not _PHONE.fullmatch(phone):
        raise ApiError(400, "invalid_request", "recipient_phone is not a telephone number")
    details["recipient_phone"] = phone
    division = payload.get("address_division")
    if not isinstance(division, str) or not division_valid(division):
        raise ApiError(400, "invalid_address", "address_division must be a GB/T 2260 county-level code")
    details["address_division"] = division
    weight = payload.get("weight_g")
    if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 40_000:
        raise ApiError(400, "invalid_request", "weight_g must be a whole number of grams from 1 to 40000")
    details["weight_g"] = weight
    url = payload.get("callback_url", "")
    if not isinstance(url, str) or (url and urllib.parse.urlsplit(url).scheme not in {"http", "https"}):
        raise ApiError(400, "invalid_request", "callback_url must be empty or an http(s) URL")
    details["callback_url"] = url
    return details


def _is_success(answer: bytes) -> bool:
    try:
        data = json.loads(answer)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("code") == "SUCCESS"


# --- HTTP -------------------------------------------------------------------------------------------

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/api/waybills"), "api_create"),
    ("GET", re.compile(r"/api/waybills/(?P<no>[^/]+)"), "api_track"),
    ("POST", re.compile(r"/control/advance/(?P<no>[^/]+)"), "control_advance"),
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

    def __init__(self, address: tuple[str, int], service: FakePostalService, *, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self.verbose = verbose


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakePostalService/1.0"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _dispatch(self, method: str) -> None:
        service = self.server.service
        path = self.path.partition("?")[0]
        try:
            body = self._read_body()
            if path == "/health":
                self._send_json(200, {"status": "ok", "customer_id": service.customer_id})
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
        service = self.server.service
        headers = dict(self.headers.items())
        problem = check_signed(
            headers,
            merchant_id=service.customer_id,
            key=service.key,
            message=request_message(method, self.path, body),
        )
        if problem is None and not service.accept_nonce(header_value(headers, HEADER_NONCE)):
            problem = "replayed_nonce"
        if problem is not None:
            raise ApiError(401, "bad_signature", f"request refused: {problem}")
        name, params = _route(method, path)
        if name.startswith("control_"):
            self._control(name, params, body)
            return
        behaviour = service.behaviour
        fail, slow = service.draw_faults()
        if behaviour.latency_ms:
            time.sleep(behaviour.latency_ms / 1000)
        if fail:
            self._send_json(503, {"code": "unavailable", "message": "simulated postal service failure"})
            return
        try:
            if name == "api_create":
                result = service.create_waybill(_json_object(body))
            else:
                result = service.track(params["no"])
            status, content = 200, json.dumps(result, ensure_ascii=False).encode()
        except ApiError as exc:
            status, content = exc.status, _json_bytes(exc.code, exc.message)
        if slow:
            # The waybill exists; the client hears nothing in time and must retry with its key.
            time.sleep(behaviour.timeout_sleep_ms / 1000)
        self._send(status, content)

    def _control(self, name: str, params: Mapping[str, str], body: bytes) -> None:
        service = self.server.service
        if name == "control_advance":
            kind = _json_object(body).get("kind")
            self._send_json(200, service.advance(params["no"], str(kind)))
        elif name == "control_behaviour":
            if body:
                try:
                    service.configure(_json_object(body))
                except ValueError as exc:
                    raise ApiError(400, "invalid_request", str(exc)) from exc
            self._send_json(200, asdict(service.behaviour))
        elif name == "control_reset":
            service.reset()
            self._send_json(200, {"code": "SUCCESS"})
        else:
            self._send_json(200, {"callbacks": service.callback_log()})

    def _send_json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode())

    def _send(self, status: int, content: bytes) -> None:
        service = self.server.service
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            for name, value in signed_headers(service.customer_id, service.key, content).items():
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


class PostalControl:
    """Drives a running fake postal service's control endpoints (tests, demo scripts)."""

    def __init__(self, *, base_url: str, customer_id: str, key: str | bytes, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = HttpPostalService(
            base_url=base_url, customer_id=customer_id, key=key, timeout=timeout, retries=0
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

    def advance(self, number: str, kind: str) -> list[TrackingEvent]:
        """Move a parcel to ``kind`` now; returns all its events."""
        path = f"/control/advance/{urllib.parse.quote(number, safe='')}"
        return events_from_json(self._http.request_json("POST", path, {"kind": kind}))

    def callbacks(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._http.request_json("GET", "/control/callbacks")["callbacks"]
        return result


# --- command line -------------------------------------------------------------------------------


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Fake postal service (模拟邮政 EMS).")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser, defaults: Mapping[str, Any] | None = None) -> None:
    """The server's options; the Django command passes defaults taken from settings."""
    d = dict(defaults or {})
    parser.add_argument("--host", default=d.get("host", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=d.get("port", 8092), help="0 picks a free port")
    parser.add_argument("--customer-id", default=d.get("customer_id", "jiaoguan-demo"))
    parser.add_argument(
        "--key", default=d.get("key", ""), help="customer key (default: $JIAOGUAN_POSTAL_KEY)"
    )
    parser.add_argument(
        "--state", default=d.get("state", ""), help="JSON file keeping parcels across restarts"
    )
    parser.add_argument("--port-file", default="", help="write the port listened on to this file")
    parser.add_argument(
        "--origin-division",
        default=d.get("origin_division", "411702"),
        help="GB/T 2260 code parcels leave from",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--timeout-rate", type=float, default=0.0)
    parser.add_argument("--timeout-sleep-ms", type=int, default=6000)
    parser.add_argument("--callback-delay-ms", type=int, default=0)
    parser.add_argument("--callback-drop-rate", type=float, default=0.0)
    parser.add_argument("--callback-duplicates", type=int, default=0)
    parser.add_argument("--loss-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")


def serve(options: Mapping[str, Any], *, out: Callable[[str], None] = print) -> int:
    """Run until SIGTERM or Ctrl-C; ``options`` are the parsed arguments as a mapping."""
    key = options["key"] or os.environ.get("JIAOGUAN_POSTAL_KEY", "")
    if not key:
        raise SystemExit("fake postal service: --key (or JIAOGUAN_POSTAL_KEY) is required")
    if not division_valid(options["origin_division"]):
        raise SystemExit("fake postal service: --origin-division must be a GB/T 2260 county-level code")
    try:
        behaviour = Behaviour().updated(
            {
                name: options[name]
                for name in (
                    "speed",
                    "latency_ms",
                    "error_rate",
                    "timeout_rate",
                    "timeout_sleep_ms",
                    "callback_delay_ms",
                    "callback_drop_rate",
                    "callback_duplicates",
                    "loss_rate",
                    "seed",
                )
            }
        )
    except ValueError as exc:
        raise SystemExit(f"fake postal service: {exc}") from exc
    state_path = Path(options["state"]).resolve() if options["state"] else None
    try:
        service = FakePostalService(
            customer_id=options["customer_id"],
            key=key.encode(),
            origin_division=options["origin_division"],
            behaviour=behaviour,
            state_path=state_path,
        )
    except (OSError, ValueError, TypeError, KeyError) as exc:
        # Starting empty would silently lose the demo's parcels; make the operator decide.
        raise SystemExit(f"fake postal service: cannot read state file {state_path}: {exc!r}") from exc
    server = _Server((options["host"], options["port"]), service, verbose=bool(options["verbose"]))
    host, port = str(server.server_address[0]), int(server.server_address[1])
    shown_host = "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104 - only compared
    if options["port_file"]:
        port_file = Path(options["port_file"])
        draft = port_file.with_name(f".{port_file.name}.tmp")
        draft.write_text(str(port), encoding="utf-8")
        os.replace(draft, port_file)  # a reader never sees a half-written number
    clock = threading.Thread(target=service.run_clock, name="postal-clock", daemon=True)
    clock.start()
    out(f"listening on http://{shown_host}:{port}")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        server.server_close()
    return 0


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser("python -m jiaoguan.integrations.fake_postal_service").parse_args(argv)
    return serve(vars(args), out=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
