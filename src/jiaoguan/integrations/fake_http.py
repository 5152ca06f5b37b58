"""What the fake outside systems share (the insurers' exchange, the record systems): how they
misbehave, how they check a signed request and sign an answer, and how they run as a process.

Standard library only, never Django: a fake runs as ``python -m jiaoguan.integrations.<fake>``
beside the platform, the way the real system would.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import signal
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from .payment_gateway import (
    HEADER_NONCE,
    MAX_CLOCK_SKEW_SECONDS,
    check_signed,
    header_value,
    request_message,
    signed_headers,
)

FAULTS = ("error", "timeout", "duplicate", "bad_signature")
BEHAVIOUR_OPTIONS = (
    "latency_ms",
    "error_rate",
    "timeout_rate",
    "timeout_sleep_ms",
    "duplicate_rate",
    "bad_signature_rate",
    "seed",
)


@dataclass(frozen=True)
class Behaviour:
    """How a fake misbehaves; every rate is a probability between 0 and 1."""

    latency_ms: int = 0
    error_rate: float = 0.0  # answer 503
    timeout_rate: float = 0.0  # answer after timeout_sleep_ms
    # Long enough to outlast the clients' default timeouts; tests set it short.
    timeout_sleep_ms: int = 5000
    duplicate_rate: float = 0.0  # send again the previous answer (to another request), signed
    bad_signature_rate: float = 0.0  # sign the answer with a wrong key
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
            elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 600_000:
                raise ValueError(f"{name} must be a whole number from 0 to 600000")
            checked[name] = value
        return replace(self, **checked)


class Misbehaviour:
    """One system's current behaviour and the random draw of its faults (not thread-safe on its
    own: the fake holds its lock around it)."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.startup = behaviour
        self.behaviour = behaviour
        self.rng = random.Random(behaviour.seed)  # noqa: S311 - simulated faults, not security

    def configure(self, changes: Mapping[str, Any]) -> Behaviour:
        self.behaviour = self.behaviour.updated(changes)
        if "seed" in changes:
            self.rng.seed(self.behaviour.seed)
        return self.behaviour

    def restore(self) -> None:
        self.behaviour = self.startup
        self.rng.seed(self.startup.seed)

    def draw(self) -> dict[str, bool]:
        """Which faults hit one request."""
        draw = {}
        for name in FAULTS:
            rate = getattr(self.behaviour, f"{name}_rate")
            draw[name] = bool(rate) and self.rng.random() < rate
        return draw


class NonceBook:
    """Nonces seen within the clock-skew window: a request signed with one again is a replay."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}
        self._order: collections.deque[tuple[float, str]] = collections.deque()

    def accept(self, nonce: str) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._order and self._order[0][0] < now - 2 * MAX_CLOCK_SKEW_SECONDS:
                _, old = self._order.popleft()
                self._seen.pop(old, None)
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            self._order.append((now, nonce))
            return True


class ApiError(Exception):
    """A refusal the fake answers with ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


Route = tuple[str, "re.Pattern[str]", str]


def find_route(routes: list[Route], method: str, path: str) -> tuple[str, dict[str, str]]:
    """The name of the route a request takes and its path parameters, or a 404 refusal."""
    for route_method, pattern, name in routes:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return name, {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
    raise ApiError(404, "not_found", f"no endpoint {method} {path}")


def json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise ApiError(400, "invalid_request", f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "body must be a JSON object")
    return data


def json_bytes(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}, ensure_ascii=False).encode()


class FakeServer(ThreadingHTTPServer):
    """The HTTP server of a fake; ``service`` holds its state (with ``client_id`` and ``key``)."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], service: Any, handler: type[BaseHTTPRequestHandler], *, verbose: bool
    ) -> None:
        super().__init__(address, handler)
        self.service = service
        self.verbose = verbose
        self.nonces = NonceBook()


class SignedHandler(BaseHTTPRequestHandler):
    """Routes ``/health`` (unsigned) and ``/api/``, ``/control/`` (signed both ways) to ``api``."""

    server: FakeServer
    max_body_bytes: ClassVar[int] = 64 * 1024

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def api(self, method: str, path: str, body: bytes) -> None:
        """Answer one signed request (the signature is already checked)."""
        raise NotImplementedError

    def _dispatch(self, method: str) -> None:
        service = self.server.service
        path = self.path.partition("?")[0]
        try:
            body = self._read_body()
            if path == "/health":
                self.send_json(200, {"status": "ok", "client_id": service.client_id})
            elif path.startswith(("/api/", "/control/")):
                self._check_signature(method, body)
                self.api(method, path, body)
            else:
                raise ApiError(404, "not_found", f"no endpoint {path}")
        except ApiError as exc:
            self.send_json(exc.status, {"code": exc.code, "message": exc.message})

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        if not length.isdigit() or int(length) > self.max_body_bytes:
            raise ApiError(413, "invalid_request", "body too large")
        return self.rfile.read(int(length))

    def _check_signature(self, method: str, body: bytes) -> None:
        service = self.server.service
        headers = dict(self.headers.items())
        problem = check_signed(
            headers,
            merchant_id=service.client_id,
            key=service.key,
            message=request_message(method, self.path, body),
        )
        if problem is None and not self.server.nonces.accept(header_value(headers, HEADER_NONCE)):
            problem = "replayed_nonce"
        if problem is not None:
            raise ApiError(401, "bad_signature", f"request refused: {problem}")

    def send_json(self, status: int, data: Any) -> None:
        self.send(status, json.dumps(data, ensure_ascii=False).encode())

    def send(self, status: int, content: bytes, *, key: bytes | None = None) -> None:
        service = self.server.service
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            for name, value in signed_headers(service.client_id, key or service.key, content).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (simulated timeouts do exactly that)


def add_server_arguments(
    parser: argparse.ArgumentParser, *, port: int, key_env: str, defaults: Mapping[str, Any] | None = None
) -> None:
    """The options every fake takes; the Django commands pass defaults taken from settings."""
    d = dict(defaults or {})
    parser.add_argument("--host", default=d.get("host", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=d.get("port", port), help="0 picks a free port")
    parser.add_argument("--client-id", default=d.get("client_id", "jiaoguan-demo"))
    parser.add_argument("--key", default=d.get("key", ""), help=f"client key (default: ${key_env})")
    parser.add_argument("--port-file", default="", help="write the port listened on to this file")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--timeout-rate", type=float, default=0.0)
    parser.add_argument("--timeout-sleep-ms", type=int, default=5000)
    parser.add_argument("--duplicate-rate", type=float, default=0.0)
    parser.add_argument("--bad-signature-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")


def startup(options: Mapping[str, Any], *, key_env: str, label: str) -> tuple[bytes, Behaviour]:
    """The key and the start-up behaviour from the parsed options, or exit saying what is wrong."""
    key = options["key"] or os.environ.get(key_env, "")
    if not key:
        raise SystemExit(f"{label}: --key (or {key_env}) is required")
    try:
        behaviour = Behaviour().updated({name: options[name] for name in BEHAVIOUR_OPTIONS})
    except ValueError as exc:
        raise SystemExit(f"{label}: {exc}") from exc
    return key.encode(), behaviour


def run(server: FakeServer, options: Mapping[str, Any], *, out: Callable[[str], None]) -> int:
    """Announce the address (and write the port file), then serve until SIGTERM or Ctrl-C."""
    host, port = str(server.server_address[0]), int(server.server_address[1])
    shown_host = "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104 - only compared
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
