"""Fake record systems (模拟核查服务): real-person authentication (实人认证, U6), exit and entry
records (出入境记录, O4) and the military licence registry (军队驾驶证信息, O3), as one local HTTP
service for the demo and the tests.

It speaks the protocols of :mod:`.real_person`, :mod:`.exit_entry` and :mod:`.military_licence`
and misbehaves the way real ones do, each system on its own: slow answers, 503s, answers too late,
duplicated (replayed) answers and wrongly signed answers. It uses the standard library only and
never imports Django::

    python -m jiaoguan.integrations.fake_records_service --port 8095 --key KEY

What it knows without seeding:

* real-person authentication decides by :func:`.real_person.decide`: a capture that is not an image
  fails (bad_image), the registry photo itself held up to the camera fails (liveness), no registry
  photo fails (no_reference), anything else passes; a person can be forced to pass or fail;
* a person nobody seeded never crossed the border (no movements);
* a military licence nobody seeded is not found (the check does not pass).

API (requests signed with the client key; every answer is signed):

    POST /api/real-person/authentications                  the authentication
    GET  /api/exit-entry/persons/{id}/movements?since=&request_id=
    GET  /api/military-licences/{number}/check?id_number=&name=&request_id=
    POST /control/real-person/persons/{id}      {"outcome": "pass" | "fail" | null}
    POST /control/exit-entry/persons/{id}       {"movements": [{"kind", "on", "port"}]}
    POST /control/military/licences/{number}    a licence (military_licence.licence_to_json)
    GET|POST /control/{system}/behaviour        read or change misbehaviour of one system
    POST /control/{system}/reset                forget its seeds and request log, restore start-up
    GET  /control/{system}/requests             its log of questions (key, status, fault)
    GET  /health                                unsigned liveness check

``{system}`` is ``real-person``, ``exit-entry`` or ``military``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import json
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .exit_entry import Movement, movement_from_json, movement_to_json
from .fake_http import (
    ApiError,
    Behaviour,
    FakeServer,
    Misbehaviour,
    Route,
    SignedHandler,
    add_server_arguments,
    find_route,
    json_bytes,
    json_object,
    run,
    startup,
)
from .military_licence import MilitaryLicence, compare, licence_from_json, licence_to_json, normalise_number
from .payment_gateway import SHANGHAI
from .real_person import decide, result_to_json
from .records_transport import RecordsTransport

# A capture and a registry photo travel base64-encoded in one body.
MAX_BODY_BYTES = 6 * 1024 * 1024
REQUEST_LOG_LIMIT = 2000
SYSTEMS = ("real-person", "exit-entry", "military")


class _System:
    """One record system's misbehaviour, request log and last answer."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.misbehaviour = Misbehaviour(behaviour)
        self.requests: collections.deque[dict[str, Any]] = collections.deque(maxlen=REQUEST_LOG_LIMIT)
        self.last_answer: bytes | None = None


class FakeRecordsService:
    """The three systems' state and rules, independent of HTTP; everything under one lock."""

    def __init__(self, *, client_id: str, key: bytes, behaviour: Behaviour | None = None) -> None:
        self.client_id = client_id
        self.key = key
        self._lock = threading.RLock()
        self._systems = {name: _System(behaviour or Behaviour()) for name in SYSTEMS}
        self._forced: dict[str, str] = {}  # id number -> "pass" | "fail"
        self._travels: dict[str, list[Movement]] = {}
        self._licences: dict[str, MilitaryLicence] = {}
        self._serial = 0

    # -- behaviour and control --

    def system(self, name: str) -> _System:
        if name not in self._systems:
            raise ApiError(404, "not_found", f"no system {name}")
        return self._systems[name]

    def behaviour(self, name: str) -> Behaviour:
        with self._lock:
            return self.system(name).misbehaviour.behaviour

    def configure(self, name: str, changes: Mapping[str, Any]) -> Behaviour:
        with self._lock:
            return self.system(name).misbehaviour.configure(changes)

    def reset(self, name: str) -> None:
        with self._lock:
            system = self.system(name)
            system.misbehaviour.restore()
            system.requests.clear()
            system.last_answer = None
            if name == "real-person":
                self._forced.clear()
            elif name == "exit-entry":
                self._travels.clear()
            else:
                self._licences.clear()

    def requests(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.system(name).requests)

    def log_request(self, name: str, entry: dict[str, Any]) -> None:
        with self._lock:
            self.system(name).requests.append(entry)

    def draw_faults(self, name: str) -> dict[str, bool]:
        with self._lock:
            return self.system(name).misbehaviour.draw()

    def swap_last_answer(self, name: str, content: bytes) -> bytes | None:
        """Remember this answer; return the one before (what a duplicate sends)."""
        with self._lock:
            system = self.system(name)
            previous, system.last_answer = system.last_answer, content
            return previous

    # -- seeds --

    def force_person(self, id_number: str, outcome: Any) -> dict[str, Any]:
        if outcome not in (None, "pass", "fail"):
            raise ApiError(400, "invalid_request", "outcome must be pass, fail or null")
        with self._lock:
            if outcome is None:
                self._forced.pop(id_number, None)
            else:
                self._forced[id_number] = outcome
        return {"id_number": id_number, "outcome": outcome}

    def seed_travel(self, id_number: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        try:
            raw = payload["movements"]
            if not isinstance(raw, list):
                raise TypeError("movements must be a list")
            movements = [movement_from_json(item) for item in raw]
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(400, "invalid_request", str(exc)) from exc
        with self._lock:
            self._travels[id_number] = movements
        return {"id_number": id_number, "movements": [movement_to_json(m) for m in movements]}

    def seed_licence(self, number: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        try:
            licence = licence_from_json({**payload, "number": number})
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(400, "invalid_request", str(exc)) from exc
        with self._lock:
            self._licences[licence.number] = licence
        return licence_to_json(licence)

    # -- questions --

    def authenticate(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        try:
            id_number = str(payload["id_number"])
            capture = base64.b64decode(str(payload["capture"]), validate=True)
            raw_reference = payload.get("reference_photo")
            reference = base64.b64decode(str(raw_reference), validate=True) if raw_reference else None
        except (KeyError, binascii.Error, ValueError) as exc:
            raise ApiError(
                400, "invalid_request", f"id_number and base64 capture are required: {exc}"
            ) from exc
        with self._lock:
            self._serial += 1
            serial = f"RP{datetime.now(SHANGHAI):%Y%m%d}{self._serial:08d}"
            forced = self._forced.get(id_number)
        result = decide(capture=capture, reference_photo=reference, forced=forced, serial=serial)
        return {**result_to_json(result), "id_number": id_number}

    def movements(self, id_number: str, since: date) -> dict[str, Any]:
        with self._lock:
            found = [m for m in self._travels.get(id_number, []) if m.on >= since]
        return {"id_number": id_number, "movements": [movement_to_json(m) for m in found]}

    def military_check(self, number: str, id_number: str, name: str) -> dict[str, Any]:
        number = normalise_number(number)
        with self._lock:
            found = self._licences.get(number)
        result = compare(found, id_number=id_number, name=name)
        return {
            "number": number, "passed": result.passed, "reason": result.reason,
            "licence": licence_to_json(result.licence) if result.licence else None,
        }  # fmt: skip


# --- HTTP -------------------------------------------------------------------------------------------

_ROUTES: list[Route] = [
    ("POST", re.compile(r"/api/real-person/authentications"), "api_authenticate"),
    ("GET", re.compile(r"/api/exit-entry/persons/(?P<id>[^/]+)/movements"), "api_movements"),
    ("GET", re.compile(r"/api/military-licences/(?P<number>[^/]+)/check"), "api_military"),
    ("POST", re.compile(r"/control/real-person/persons/(?P<id>[^/]+)"), "control_person"),
    ("POST", re.compile(r"/control/exit-entry/persons/(?P<id>[^/]+)"), "control_travel"),
    ("POST", re.compile(r"/control/military/licences/(?P<number>[^/]+)"), "control_licence"),
    ("GET", re.compile(r"/control/(?P<system>[a-z-]+)/behaviour"), "control_behaviour"),
    ("POST", re.compile(r"/control/(?P<system>[a-z-]+)/behaviour"), "control_behaviour"),
    ("POST", re.compile(r"/control/(?P<system>[a-z-]+)/reset"), "control_reset"),
    ("GET", re.compile(r"/control/(?P<system>[a-z-]+)/requests"), "control_requests"),
]
_API_SYSTEM = {"api_authenticate": "real-person", "api_movements": "exit-entry", "api_military": "military"}


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    return find_route(_ROUTES, method, path)


class _Handler(SignedHandler):
    server: FakeServer
    server_version = "FakeRecordsService/1.0"
    max_body_bytes = MAX_BODY_BYTES

    def api(self, method: str, path: str, body: bytes) -> None:
        name, params = _route(method, path)
        if name.startswith("control_"):
            self._control(name, params, body)
            return
        self._question(_API_SYSTEM[name], name, params, body)

    def _question(self, system: str, name: str, params: Mapping[str, str], body: bytes) -> None:
        service: FakeRecordsService = self.server.service
        behaviour = service.behaviour(system)
        faults = service.draw_faults(system)
        fault = next((f for f, hit in faults.items() if hit), "")
        query = {k: v[0] for k, v in urllib.parse.parse_qs(self.path.partition("?")[2]).items()}
        subject = params.get("id") or params.get("number") or ""
        request_id = query.get("request_id", "")
        if behaviour.latency_ms:
            time.sleep(behaviour.latency_ms / 1000)
        if faults["error"]:
            service.log_request(
                system, {"key": subject, "request_id": request_id, "status": 503, "fault": "error"}
            )
            self.send_json(503, {"code": "unavailable", "message": f"simulated {system} failure"})
            return
        try:
            if name == "api_authenticate":
                payload = json_object(body)
                request_id = str(payload.get("request_id") or "")
                subject = str(payload.get("id_number") or "")
                result = service.authenticate(payload)
            elif name == "api_movements":
                try:
                    since = date.fromisoformat(query.get("since", ""))
                except ValueError as exc:
                    raise ApiError(400, "invalid_request", "since (YYYY-MM-DD) is required") from exc
                result = service.movements(params["id"], since)
            else:
                result = service.military_check(
                    params["number"], query.get("id_number", ""), query.get("name", "")
                )
            if not request_id:
                raise ApiError(400, "invalid_request", "request_id is required")
            status, content = (
                200,
                json.dumps({**result, "request_id": request_id}, ensure_ascii=False).encode(),
            )
        except ApiError as exc:
            status, content = exc.status, json_bytes(exc.code, exc.message)
        if status == 200:
            previous = service.swap_last_answer(system, content)
            if faults["duplicate"] and previous is not None:
                content = previous
            else:
                fault = "" if fault == "duplicate" else fault
        service.log_request(
            system, {"key": subject, "request_id": request_id, "status": status, "fault": fault}
        )
        if faults["timeout"]:
            time.sleep(behaviour.timeout_sleep_ms / 1000)
        key = b"not-the-key" if faults["bad_signature"] else service.key
        self.send(status, content, key=key)

    def _control(self, name: str, params: Mapping[str, str], body: bytes) -> None:
        service: FakeRecordsService = self.server.service
        if name == "control_person":
            self.send_json(200, service.force_person(params["id"], json_object(body).get("outcome")))
        elif name == "control_travel":
            self.send_json(200, service.seed_travel(params["id"], json_object(body)))
        elif name == "control_licence":
            self.send_json(200, service.seed_licence(params["number"], json_object(body)))
        elif name == "control_behaviour":
            if body:
                try:
                    service.configure(params["system"], json_object(body))
                except ValueError as exc:
                    raise ApiError(400, "invalid_request", str(exc)) from exc
            self.send_json(200, asdict(service.behaviour(params["system"])))
        elif name == "control_reset":
            service.reset(params["system"])
            self.send_json(200, {"code": "SUCCESS"})
        else:
            self.send_json(200, {"requests": service.requests(params["system"])})


# --- test and demo helper ------------------------------------------------------------------------


class _ControlTransport(RecordsTransport):
    service_name = "fake record systems"


class RecordsControl:
    """Drives one system of a running fake records service (tests, demo set-up). The same methods
    for every system: ``behaviour(...)``, ``requests()``, ``reset()``; and the system's seed:
    ``person(id, outcome)``, ``travel(id, movements)`` or ``licence(MilitaryLicence)``."""

    def __init__(
        self, *, base_url: str, client_id: str, key: str | bytes, system: str, timeout: float = 10.0
    ) -> None:
        if system not in SYSTEMS:
            raise ValueError(f"no system {system}")
        self.base_url = base_url.rstrip("/")
        self.system = system
        self._http = _ControlTransport(
            base_url=base_url, party_id=client_id, key=key, timeout=timeout, retries=0
        )

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=1) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            return False

    def configure(self, **behaviour: Any) -> dict[str, Any]:
        """Change misbehaviour (latency_ms, error_rate, timeout_rate, timeout_sleep_ms, duplicate_rate,
        bad_signature_rate, seed)."""
        result: dict[str, Any] = self._http.request_json(
            "POST", f"/control/{self.system}/behaviour", behaviour
        )
        return result

    def behaviour(self, *, unavailable: bool | None = None, latency_ms: int | None = None) -> dict[str, Any]:
        """An outage (every question answered 503) or slow answers; nothing given reads the behaviour."""
        changes: dict[str, Any] = {}
        if unavailable is not None:
            changes["error_rate"] = 1.0 if unavailable else 0.0
        if latency_ms is not None:
            changes["latency_ms"] = latency_ms
        if not changes:
            result: dict[str, Any] = self._http.request_json("GET", f"/control/{self.system}/behaviour")
            return result
        return self.configure(**changes)

    def reset(self) -> None:
        self._http.request_json("POST", f"/control/{self.system}/reset", {})

    def requests(self) -> list[dict[str, Any]]:
        """Questions received, oldest first: key (ID number or licence number), request_id (the
        caller's reference, a dot and a fresh part), status, fault."""
        result: list[dict[str, Any]] = self._http.request_json("GET", f"/control/{self.system}/requests")[
            "requests"
        ]
        return result

    def person(self, id_number: str, outcome: str | None) -> dict[str, Any]:
        """Real-person authentication: force "pass" or "fail" for one person; None to decide again.
        For an outage use ``behaviour(unavailable=True)``."""
        if outcome == "unavailable":
            return self.behaviour(unavailable=True)
        path = f"/control/real-person/persons/{urllib.parse.quote(id_number, safe='')}"
        result: dict[str, Any] = self._http.request_json("POST", path, {"outcome": outcome})
        return result

    def travel(self, id_number: str, movements: list[Movement]) -> dict[str, Any]:
        """Exit and entry records: the person's crossings (replacing what was seeded)."""
        path = f"/control/exit-entry/persons/{urllib.parse.quote(id_number, safe='')}"
        payload = {"movements": [movement_to_json(m) for m in movements]}
        result: dict[str, Any] = self._http.request_json("POST", path, payload)
        return result

    def licence(self, licence: MilitaryLicence) -> dict[str, Any]:
        """Military licence registry: a licence (replacing one of the same number)."""
        path = f"/control/military/licences/{urllib.parse.quote(normalise_number(licence.number), safe='')}"
        result: dict[str, Any] = self._http.request_json("POST", path, licence_to_json(licence))
        return result


# --- command line -------------------------------------------------------------------------------


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Fake record systems (模拟核查服务).")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser, defaults: Mapping[str, Any] | None = None) -> None:
    """The server's options; the Django command passes defaults taken from settings."""
    add_server_arguments(parser, port=8095, key_env="JIAOGUAN_RECORDS_KEY", defaults=defaults)
    parser.add_argument(
        "--seed-file",
        default=dict(defaults or {}).get("seed_file", ""),
        help='JSON seeds loaded at start: {"real-person": {id: outcome}, "exit-entry": {id: [movement]}, '
        '"military": [licence]} (the demo\'s)',
    )


def load_seeds(service: FakeRecordsService, path: str) -> int:
    """Load a seed file written by the demo set-up; the number of records seeded."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    count = 0
    for id_number, outcome in (data.get("real-person") or {}).items():
        service.force_person(id_number, outcome)
        count += 1
    for id_number, movements in (data.get("exit-entry") or {}).items():
        service.seed_travel(id_number, {"movements": movements})
        count += 1
    for licence in data.get("military") or []:
        service.seed_licence(licence["number"], licence)
        count += 1
    return count


def serve(options: Mapping[str, Any], *, out: Callable[[str], None] = print) -> int:
    """Run until SIGTERM or Ctrl-C; ``options`` are the parsed arguments as a mapping."""
    key, behaviour = startup(options, key_env="JIAOGUAN_RECORDS_KEY", label="fake records service")
    service = FakeRecordsService(client_id=options["client_id"], key=key, behaviour=behaviour)
    if options.get("seed_file") and Path(options["seed_file"]).exists():
        try:
            out(f"seeded {load_seeds(service, options['seed_file'])} records from {options['seed_file']}")
        except (OSError, ValueError, KeyError, ApiError) as exc:
            raise SystemExit(f"fake records service: bad seed file: {exc}") from exc
    server = FakeServer(
        (options["host"], options["port"]), service, _Handler, verbose=bool(options["verbose"])
    )
    return run(server, options, out=out)


def main(argv: list[str] | None = None) -> int:
    args = build_parser("python -m jiaoguan.integrations.fake_records_service").parse_args(argv)
    return serve(vars(args), out=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
