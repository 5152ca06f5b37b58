"""Fake insurer data exchange (模拟保险信息平台): a local HTTP service for the demo and the tests.

Issue 14 / REQUIREMENTS O7: compulsory insurance (交强险) and vehicle and vessel tax (车船税)
are checked online. This service speaks the protocol of :mod:`jiaoguan.integrations.insurer`
and misbehaves the way a real one does: slow answers, 503s, answers too late, duplicated
(replayed) answers and wrongly signed answers. It uses the standard library only and never
imports Django::

    python -m jiaoguan.integrations.fake_insurer_service --port 8093 --key KEY

What it knows, per VIN (GB 16735, 17 characters):

* A VIN seeded through ``POST /control/vehicles/{vin}`` has exactly the policies and tax years
  given there.
* Any other VIN (so the demo and other parts' tests work without seeding) is insured from one
  year before today (Beijing time, at the fake) until 1 to 12 months after today, the number of
  months and the insurer derived from the VIN; its tax is paid for every year. EXCEPT:

  - a VIN whose last character is ``0`` has no compulsory insurance policy at all (uninsured);
  - a VIN whose last character is ``9`` is insured but its vehicle tax is unpaid.

API (requests signed with the client key; every answer is signed):

    GET  /api/vehicles/{vin}/status?on=YYYY-MM-DD&request_id=R   the check
    POST /control/vehicles/{vin}          {"policies": [{"policy_number", "insurer_name",
                                          "start", "end"}...], "tax_paid_years": [2026, ...]}
    GET|POST /control/behaviour           read or change misbehaviour
    POST /control/reset                   forget seeded vehicles and the request log, restore
                                          start-up behaviour
    GET  /control/requests                log of status requests (vin, on, status, fault)
    GET  /health                          unsigned liveness check
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

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
from .insurer import (
    HttpInsurerService,
    Policy,
    policy_from_json,
    policy_to_json,
    vin_valid,
)
from .payment_gateway import SHANGHAI

MAX_BODY_BYTES = 64 * 1024
REQUEST_LOG_LIMIT = 2000

# The insurers of unseeded VINs; an insurer organisation registered with one of these names sees
# its rows of the feedback list (O7).
DEFAULT_INSURERS = (
    "中国人民财产保险股份有限公司驻马店市分公司",
    "中国平安财产保险股份有限公司驻马店中心支公司",
    "中国太平洋财产保险股份有限公司驻马店中心支公司",
)
_INSURER_CODES = ("PICC", "PAIC", "CPIC")


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(f"no day {day} + {months} months")


def default_vehicle(vin: str, today: date) -> dict[str, Any]:
    """What the exchange knows of a VIN nobody seeded (see the module docstring)."""
    digest = zlib.crc32(vin.encode())
    if vin.endswith("0"):
        policies: list[Policy] = []
    else:
        pick = digest % len(DEFAULT_INSURERS)
        start = _add_months(today, -12)
        policies = [
            Policy(
                policy_number=f"{_INSURER_CODES[pick]}{start.year}{digest % 10**10:010d}",
                insurer_name=DEFAULT_INSURERS[pick],
                start=start,
                end=_add_months(today, 1 + (digest >> 8) % 12),
            )
        ]
    return {"policies": policies, "tax_paid_years": None if not vin.endswith("9") else []}


class FakeInsurerService:
    """The exchange's state and rules, independent of HTTP; everything under one lock."""

    def __init__(self, *, client_id: str, key: bytes, behaviour: Behaviour | None = None) -> None:
        self.client_id = client_id
        self.key = key
        self._misbehaviour = Misbehaviour(behaviour or Behaviour())
        self._lock = threading.RLock()
        # vin -> {"policies": [Policy], "tax_paid_years": [int] | None (every year)}
        self._vehicles: dict[str, dict[str, Any]] = {}
        self._requests: collections.deque[dict[str, Any]] = collections.deque(maxlen=REQUEST_LOG_LIMIT)
        self._last_answer: bytes | None = None

    # -- behaviour and control --

    @property
    def behaviour(self) -> Behaviour:
        with self._lock:
            return self._misbehaviour.behaviour

    def configure(self, changes: Mapping[str, Any]) -> Behaviour:
        with self._lock:
            return self._misbehaviour.configure(changes)

    def reset(self) -> None:
        with self._lock:
            self._vehicles.clear()
            self._requests.clear()
            self._last_answer = None
            self._misbehaviour.restore()

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def draw_faults(self) -> dict[str, bool]:
        """Which faults hit one status request."""
        with self._lock:
            return self._misbehaviour.draw()

    def swap_last_answer(self, content: bytes) -> bytes | None:
        """Remember this answer; return the one before (what a duplicate sends)."""
        with self._lock:
            previous, self._last_answer = self._last_answer, content
            return previous

    # -- vehicles --

    def seed_vehicle(self, vin: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        if not vin_valid(vin):
            raise ApiError(400, "invalid_request", f"not a GB 16735 VIN: {vin}")
        raw = payload.get("policies", [])
        years = payload.get("tax_paid_years")
        try:
            if not isinstance(raw, list):
                raise TypeError("policies must be a list")
            policies = [p for p in (policy_from_json(item) for item in raw) if p is not None]
            if any(p.end < p.start for p in policies):
                raise ValueError("a policy ends before it starts")
            if years is not None and (
                not isinstance(years, list)
                or any(isinstance(y, bool) or not isinstance(y, int) for y in years)
            ):
                raise TypeError("tax_paid_years must be null or a list of years")
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(400, "invalid_request", str(exc)) from exc
        with self._lock:
            self._vehicles[vin] = {"policies": policies, "tax_paid_years": years}
        return {"vin": vin, "policies": [policy_to_json(p) for p in policies], "tax_paid_years": years}

    def status(self, vin: str, on: date, request_id: str) -> dict[str, Any]:
        if not vin_valid(vin):
            raise ApiError(400, "invalid_request", f"not a GB 16735 VIN: {vin}")
        with self._lock:
            vehicle = self._vehicles.get(vin) or default_vehicle(vin, datetime.now(SHANGHAI).date())
        policies: list[Policy] = vehicle["policies"]
        in_force = [p for p in policies if p.start <= on <= p.end]
        policy = max(in_force, key=lambda p: (p.start, p.end)) if in_force else None
        last = max(policies, key=lambda p: (p.end, p.start)) if policies else None
        years = vehicle["tax_paid_years"]
        return {
            "vin": vin,
            "on": on.isoformat(),
            "request_id": request_id,
            "compulsory_insurance": policy_to_json(policy),
            "last_policy": policy_to_json(last),
            "vehicle_tax": {"year": on.year, "paid": years is None or on.year in years},
        }


# --- HTTP -------------------------------------------------------------------------------------------

_ROUTES: list[Route] = [
    ("GET", re.compile(r"/api/vehicles/(?P<vin>[^/]+)/status"), "api_status"),
    ("POST", re.compile(r"/control/vehicles/(?P<vin>[^/]+)"), "control_vehicle"),
    ("GET", re.compile(r"/control/behaviour"), "control_behaviour"),
    ("POST", re.compile(r"/control/behaviour"), "control_behaviour"),
    ("POST", re.compile(r"/control/reset"), "control_reset"),
    ("GET", re.compile(r"/control/requests"), "control_requests"),
]


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    return find_route(_ROUTES, method, path)


class _Handler(SignedHandler):
    server: FakeServer
    server_version = "FakeInsurerService/1.0"

    def api(self, method: str, path: str, body: bytes) -> None:
        service: FakeInsurerService = self.server.service
        name, params = _route(method, path)
        if name.startswith("control_"):
            self._control(name, params, body)
            return
        query = urllib.parse.parse_qs(self.path.partition("?")[2])
        behaviour = service.behaviour
        faults = service.draw_faults()
        fault = next((name for name, hit in faults.items() if hit), "")
        vin = params["vin"]
        if behaviour.latency_ms:
            time.sleep(behaviour.latency_ms / 1000)
        if faults["error"]:
            service.log_request({"vin": vin, "status": 503, "fault": "error"})
            self.send_json(503, {"code": "unavailable", "message": "simulated insurer failure"})
            return
        try:
            on = date.fromisoformat(query.get("on", [""])[0])
        except ValueError:
            on = None
        request_id = query.get("request_id", [""])[0]
        try:
            if on is None or not request_id:
                raise ApiError(400, "invalid_request", "on (YYYY-MM-DD) and request_id are required")
            result = service.status(vin, on, request_id)
            status, content = 200, json.dumps(result, ensure_ascii=False).encode()
        except ApiError as exc:
            status, content = exc.status, json_bytes(exc.code, exc.message)
        if status == 200:
            previous = service.swap_last_answer(content)
            if faults["duplicate"] and previous is not None:
                content = previous
            else:
                fault = "" if fault == "duplicate" else fault
        service.log_request(
            {"vin": vin, "on": on.isoformat() if on else "", "status": status, "fault": fault}
        )
        if faults["timeout"]:
            time.sleep(behaviour.timeout_sleep_ms / 1000)
        key = b"not-the-key" if faults["bad_signature"] else service.key
        self.send(status, content, key=key)

    def _control(self, name: str, params: Mapping[str, str], body: bytes) -> None:
        service: FakeInsurerService = self.server.service
        if name == "control_vehicle":
            self.send_json(200, service.seed_vehicle(params["vin"], json_object(body)))
        elif name == "control_behaviour":
            if body:
                try:
                    service.configure(json_object(body))
                except ValueError as exc:
                    raise ApiError(400, "invalid_request", str(exc)) from exc
            self.send_json(200, asdict(service.behaviour))
        elif name == "control_reset":
            service.reset()
            self.send_json(200, {"code": "SUCCESS"})
        else:
            self.send_json(200, {"requests": service.requests()})


# --- test and demo helper ------------------------------------------------------------------------


class InsurerControl:
    """Drives a running fake insurer exchange's control endpoints (tests, demo scripts)."""

    def __init__(self, *, base_url: str, client_id: str, key: str | bytes, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = HttpInsurerService(
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

    def behaviour(self) -> dict[str, Any]:
        result: dict[str, Any] = self._http.request_json("GET", "/control/behaviour")
        return result

    def reset(self) -> None:
        self._http.request_json("POST", "/control/reset", {})

    def set_vehicle(
        self,
        vin: str,
        *,
        policies: list[Policy] | tuple[Policy, ...] = (),
        tax_paid_years: list[int] | None = None,
    ) -> dict[str, Any]:
        """Seed exactly what the exchange knows of a VIN: its policies, and the years its tax is
        paid (None: every year)."""
        payload = {"policies": [policy_to_json(p) for p in policies], "tax_paid_years": tax_paid_years}
        path = f"/control/vehicles/{urllib.parse.quote(vin, safe='')}"
        result: dict[str, Any] = self._http.request_json("POST", path, payload)
        return result

    def requests(self) -> list[dict[str, Any]]:
        """Status requests received: vin, on, status, fault ("" or error/timeout/duplicate/...)."""
        result: list[dict[str, Any]] = self._http.request_json("GET", "/control/requests")["requests"]
        return result


# --- command line -------------------------------------------------------------------------------


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Fake insurer data exchange (模拟保险信息平台).")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser, defaults: Mapping[str, Any] | None = None) -> None:
    """The server's options; the Django command passes defaults taken from settings."""
    add_server_arguments(parser, port=8093, key_env="JIAOGUAN_INSURER_KEY", defaults=defaults)


def serve(options: Mapping[str, Any], *, out: Callable[[str], None] = print) -> int:
    """Run until SIGTERM or Ctrl-C; ``options`` are the parsed arguments as a mapping."""
    key, behaviour = startup(options, key_env="JIAOGUAN_INSURER_KEY", label="fake insurer service")
    service = FakeInsurerService(client_id=options["client_id"], key=key, behaviour=behaviour)
    server = FakeServer(
        (options["host"], options["port"]), service, _Handler, verbose=bool(options["verbose"])
    )
    return run(server, options, out=out)


def main(argv: list[str] | None = None) -> int:
    args = build_parser("python -m jiaoguan.integrations.fake_insurer_service").parse_args(argv)
    return serve(vars(args), out=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
