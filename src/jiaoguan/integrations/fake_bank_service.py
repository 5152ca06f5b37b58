"""Fake bank interconnection (模拟银行): a local HTTP service for the demo and the tests (O6).

It answers the contract checks of :mod:`jiaoguan.integrations.bank` from a book of loan
contracts, for any number of banks (by USCC), and misbehaves the way a real interconnection
does: slow answers, 503s, answers lost after the question was answered (the client times out and
asks again with the same check id), and duplicated answers (a copy of an earlier answer sent in
place of the right one, which the client must not believe). It uses the standard library only
and never imports Django::

    python -m jiaoguan.integrations.fake_bank_service --port 8094 --key KEY [--contracts FILE]

API (requests signed with the client key; every answer is signed):

    POST /api/contract-checks          answer a check (idempotent by check_id)
    GET|POST /control/contracts        list the contract book, or add/replace one contract
    GET|POST /control/behaviour        read or change misbehaviour
    POST /control/reset                forget checks, restore start-up contracts and behaviour
    GET  /control/checks               log of the checks answered (with repeats)
    GET  /health                       unsigned liveness check

A contract is ``{"bank_uscc", "contract_number", "vin", "borrower_id_number", "principal_fen",
"state"}`` with state ``active`` or ``settled``. ``--contracts`` names a JSON file holding a list
of them, loaded at start and on reset (the demo writes one for its bank).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .bank import HttpBankService
from .payment_gateway import (
    HEADER_NONCE,
    MAX_CLOCK_SKEW_SECONDS,
    SHANGHAI,
    check_signed,
    header_value,
    request_message,
    signed_headers,
)

MAX_BODY_BYTES = 64 * 1024
CHECK_LOG_LIMIT = 2000
_CHECK_ID = re.compile(r"[A-Za-z0-9_\-:.]{1,128}")
_CONTRACT_FIELDS = ("bank_uscc", "contract_number", "vin", "borrower_id_number", "principal_fen", "state")


@dataclass(frozen=True)
class Behaviour:
    """How the service misbehaves; every rate is a probability between 0 and 1."""

    latency_ms: int = 0
    error_rate: float = 0.0  # answer 503 and decide nothing
    timeout_rate: float = 0.0  # answer the check, then send the answer after timeout_sleep_ms
    # Long enough to outlast the client's default 5 s timeout; tests set it short.
    timeout_sleep_ms: int = 6000
    duplicate_rate: float = 0.0  # send a copy of the previous answer instead of this one's
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


class ApiError(Exception):
    """A refusal the service answers with ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def contract_from_json(data: Any) -> dict[str, Any]:
    """One contract of the book, checked."""
    if not isinstance(data, Mapping):
        raise ApiError(400, "invalid_request", "a contract is a JSON object")
    contract: dict[str, Any] = {}
    for name in _CONTRACT_FIELDS:
        value = data.get(name)
        if name == "principal_fen":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ApiError(400, "invalid_request", "principal_fen must be a positive whole number")
        elif name == "state":
            if value not in ("active", "settled"):
                raise ApiError(400, "invalid_request", "state must be active or settled")
        elif not isinstance(value, str) or not value.strip() or len(value) > 64:
            raise ApiError(400, "invalid_request", f"{name} must be 1 to 64 characters")
        contract[name] = value
    return contract


class FakeBankService:
    """The book of contracts and the answers given, independent of HTTP; all under one lock."""

    def __init__(
        self,
        *,
        client_id: str,
        key: bytes,
        behaviour: Behaviour | None = None,
        contracts: list[dict[str, Any]] | None = None,
    ) -> None:
        self.client_id = client_id
        self.key = key
        self._startup = behaviour or Behaviour()
        self._startup_contracts = [contract_from_json(c) for c in contracts or []]
        self._behaviour = self._startup
        self._rng = random.Random(self._startup.seed)  # noqa: S311 - simulated faults, not security
        self._lock = threading.RLock()
        self._contracts: dict[tuple[str, str], dict[str, Any]] = {}
        self._answers: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # check_id: (question, answer)
        self._last_answer: dict[str, Any] | None = None
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=CHECK_LOG_LIMIT)
        self._nonces: dict[str, float] = {}
        self._nonce_order: collections.deque[tuple[float, str]] = collections.deque()
        self.reset()

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
            self._behaviour = self._startup
            self._rng.seed(self._startup.seed)
            self._contracts = {
                (c["bank_uscc"], c["contract_number"]): dict(c) for c in self._startup_contracts
            }
            self._answers.clear()
            self._last_answer = None
            self._log.clear()

    def put_contract(self, data: Any) -> dict[str, Any]:
        contract = contract_from_json(data)
        with self._lock:
            self._contracts[(contract["bank_uscc"], contract["contract_number"])] = contract
        return contract

    def contracts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self._contracts.values()]

    def check_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._log)

    def draw_faults(self) -> tuple[bool, bool, bool]:
        """(answer 503 without deciding, answer too late, send an earlier answer) for one call."""
        with self._lock:
            b = self._behaviour
            fail = bool(b.error_rate) and self._rng.random() < b.error_rate
            slow = not fail and bool(b.timeout_rate) and self._rng.random() < b.timeout_rate
            duplicate = not fail and bool(b.duplicate_rate) and self._rng.random() < b.duplicate_rate
            return fail, slow, duplicate

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

    # -- checks --

    def check(self, payload: Mapping[str, Any], *, duplicate: bool = False) -> dict[str, Any]:
        check_id = payload.get("check_id")
        if not isinstance(check_id, str) or not _CHECK_ID.fullmatch(check_id):
            raise ApiError(400, "invalid_request", "check_id must be 1 to 128 of A-Z a-z 0-9 _ - : .")
        purpose = payload.get("purpose")
        if purpose not in ("file", "release"):
            raise ApiError(400, "invalid_request", "purpose must be file or release")
        question = {name: payload.get(name) for name in _CONTRACT_FIELDS if name != "state"}
        question = contract_from_json({**question, "state": "active"})
        question.pop("state")
        question["purpose"] = purpose
        with self._lock:
            earlier = self._answers.get(check_id)
            if earlier is not None:
                if earlier[0] != question:
                    raise ApiError(409, "idempotency_mismatch", "this check_id was used for another question")
                answer = earlier[1]
            else:
                answer = self._decide(check_id, question)
                self._answers[check_id] = (question, answer)
            self._log.append(
                {"check_id": check_id, "confirmed": answer["confirmed"], "repeat": earlier is not None,
                 "at": datetime.now(SHANGHAI).isoformat(timespec="milliseconds")}
            )  # fmt: skip
            sent = self._last_answer if duplicate and self._last_answer is not None else answer
            self._last_answer = answer
            return dict(sent)

    def _decide(self, check_id: str, question: Mapping[str, Any]) -> dict[str, Any]:
        contract = self._contracts.get((question["bank_uscc"], question["contract_number"]))
        if contract is None:
            return {"check_id": check_id, "confirmed": False, "state": "unknown", "mismatches": ["not_found"]}
        mismatches = [
            name
            for name, key in (
                ("vin", "vin"),
                ("borrower", "borrower_id_number"),
                ("principal", "principal_fen"),
            )
            if contract[key] != question[key]
        ]
        wanted = "active" if question["purpose"] == "file" else "settled"
        if contract["state"] != wanted:
            mismatches.append("state")
        return {
            "check_id": check_id,
            "confirmed": not mismatches,
            "state": contract["state"],
            "mismatches": mismatches,
        }


# --- HTTP -------------------------------------------------------------------------------------------

_ROUTES: list[tuple[str, str, str]] = [
    ("POST", "/api/contract-checks", "api_check"),
    ("GET", "/control/contracts", "control_contracts"),
    ("POST", "/control/contracts", "control_contracts"),
    ("GET", "/control/behaviour", "control_behaviour"),
    ("POST", "/control/behaviour", "control_behaviour"),
    ("POST", "/control/reset", "control_reset"),
    ("GET", "/control/checks", "control_checks"),
]


def _route(method: str, path: str) -> str:
    for route_method, route_path, name in _ROUTES:
        if route_path == path and route_method == method:
            return name
    raise ApiError(404, "not_found", f"no endpoint {method} {path}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: FakeBankService, *, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self.verbose = verbose


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeBankService/1.0"

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
                self._send_json(200, {"status": "ok", "client_id": service.client_id})
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
            merchant_id=service.client_id,
            key=service.key,
            message=request_message(method, self.path, body),
        )
        if problem is None and not service.accept_nonce(header_value(headers, HEADER_NONCE)):
            problem = "replayed_nonce"
        if problem is not None:
            raise ApiError(401, "bad_signature", f"request refused: {problem}")
        name = _route(method, path)
        if name.startswith("control_"):
            self._control(name, body)
            return
        behaviour = service.behaviour
        fail, slow, duplicate = service.draw_faults()
        if behaviour.latency_ms:
            time.sleep(behaviour.latency_ms / 1000)
        if fail:
            self._send_json(503, {"code": "unavailable", "message": "simulated bank failure"})
            return
        try:
            result = service.check(_json_object(body), duplicate=duplicate)
            status, content = 200, json.dumps(result, ensure_ascii=False).encode()
        except ApiError as exc:
            status, content = exc.status, _json_bytes(exc.code, exc.message)
        if slow:
            # The check is answered and remembered; the client hears nothing in time and asks again.
            time.sleep(behaviour.timeout_sleep_ms / 1000)
        self._send(status, content)

    def _control(self, name: str, body: bytes) -> None:
        service = self.server.service
        if name == "control_contracts":
            if body:
                service.put_contract(_json_object(body))
            self._send_json(200, {"contracts": service.contracts()})
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
            self._send_json(200, {"checks": service.check_log()})

    def _send_json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode())

    def _send(self, status: int, content: bytes) -> None:
        service = self.server.service
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            for name, value in signed_headers(service.client_id, service.key, content).items():
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


class BankControl:
    """Drives a running fake bank's control endpoints (tests, demo scripts)."""

    def __init__(self, *, base_url: str, client_id: str, key: str | bytes, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = HttpBankService(
            base_url=base_url, client_id=client_id, key=key, timeout=timeout, retries=0
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

    def reset(self) -> None:
        self._http.request_json("POST", "/control/reset", {})

    def put_contract(self, **contract: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._http.request_json("POST", "/control/contracts", contract)[
            "contracts"
        ]
        return result

    def contracts(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._http.request_json("GET", "/control/contracts")["contracts"]
        return result

    def checks(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._http.request_json("GET", "/control/checks")["checks"]
        return result


# --- command line -------------------------------------------------------------------------------


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Fake bank interconnection (模拟银行).")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser, defaults: Mapping[str, Any] | None = None) -> None:
    """The server's options; the Django command passes defaults taken from settings."""
    d = dict(defaults or {})
    parser.add_argument("--host", default=d.get("host", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=d.get("port", 8094), help="0 picks a free port")
    parser.add_argument("--client-id", default=d.get("client_id", "jiaoguan-demo"))
    parser.add_argument("--key", default=d.get("key", ""), help="client key (default: $JIAOGUAN_BANK_KEY)")
    parser.add_argument(
        "--contracts", default=d.get("contracts", ""), help="JSON file with the contract book to start from"
    )
    parser.add_argument("--port-file", default="", help="write the port listened on to this file")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--timeout-rate", type=float, default=0.0)
    parser.add_argument("--timeout-sleep-ms", type=int, default=6000)
    parser.add_argument("--duplicate-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")


def serve(options: Mapping[str, Any], *, out: Callable[[str], None] = print) -> int:
    """Run until SIGTERM or Ctrl-C; ``options`` are the parsed arguments as a mapping."""
    key = options["key"] or os.environ.get("JIAOGUAN_BANK_KEY", "")
    if not key:
        raise SystemExit("fake bank: --key (or JIAOGUAN_BANK_KEY) is required")
    try:
        behaviour = Behaviour().updated(
            {
                name: options[name]
                for name in (
                    "latency_ms",
                    "error_rate",
                    "timeout_rate",
                    "timeout_sleep_ms",
                    "duplicate_rate",
                    "seed",
                )
            }
        )
    except ValueError as exc:
        raise SystemExit(f"fake bank: {exc}") from exc
    contracts: list[dict[str, Any]] = []
    if options["contracts"] and Path(options["contracts"]).exists():
        try:
            contracts = json.loads(Path(options["contracts"]).read_text(encoding="utf-8"))
            service = FakeBankService(client_id=options["client_id"], key=key.encode(), behaviour=behaviour,
                                      contracts=contracts)  # fmt: skip
        except (OSError, ValueError, ApiError) as exc:
            raise SystemExit(
                f"fake bank: cannot read contracts file {options['contracts']}: {exc!r}"
            ) from exc
    else:
        service = FakeBankService(client_id=options["client_id"], key=key.encode(), behaviour=behaviour)
    server = _Server((options["host"], options["port"]), service, verbose=bool(options["verbose"]))
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser("python -m jiaoguan.integrations.fake_bank_service").parse_args(argv)
    return serve(vars(args), out=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
