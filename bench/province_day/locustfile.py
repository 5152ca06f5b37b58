"""A province's day in miniature (issue 12, item 4): the request mix of docs/scaling.md.

    locust -f bench/province_day/locustfile.py --headless -H http://127.0.0.1:8000 -u 40 -r 10 -t 3m

Run it through ``run.py``, which prepares the database and writes the fixture this file reads
(``PROVINCE_DAY_FIXTURE``: citizen logins, their password, accident numbers with codes).

Each simulated person is one citizen with a network address of their own (127.x.y.z, so the
per-client login and accident-query limits count them apart as they would count real
phones), an app token from an API login, and a web session once they open the home page.
Task weights are the daily counts of ``DAILY_MIX`` (per 1,000 a day), the arithmetic in
docs/scaling.md. Outcomes a real person meets are answers, not errors: a wrong accident code
is refused (404) or, after repeated tries, throttled (429); everything else must be 2xx/3xx.
At the end, ``PROVINCE_DAY_SUMMARY`` (a file) receives the counts by status class per request.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from requests.adapters import HTTPAdapter

FIXTURE = json.loads(Path(os.environ.get("PROVINCE_DAY_FIXTURE", "fixture.json")).read_text(encoding="utf-8"))

# A province's day, in requests (docs/scaling.md, "A province's day"); the task weights are
# these counts per 1,000.
DAILY_MIX = {
    "login_app": 400_000,
    "login_web": 200_000,
    "home": 600_000,
    "my_vehicles": 900_000,
    "my_licences": 900_000,
    "my_violations": 1_500_000,
    "credential_show": 500_000,
    "credential_verify": 400_000,
    "accident_query": 45_000,
    "accident_query_wrong": 5_000,
    "violation_handle": 45_000,
    "fine_pay": 45_000,
}


def weight(name: str) -> int:
    return max(1, DAILY_MIX[name] // 1000)


_next_citizen = itertools.count()
_next_address = itertools.count(1)
# Online QR texts shown by one person and waiting for a checkpoint (another person) to verify.
_shown: collections.deque[str] = collections.deque(maxlen=500)
_status_counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
_lock = threading.Lock()
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class SourceAddressAdapter(HTTPAdapter):
    """Connects from one loopback address (127.0.0.0/8 all reach the server on Linux)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _address() -> str:
    n = next(_next_address)
    return f"127.{(n >> 16) % 256}.{(n >> 8) % 256}.{n % 256 or 1}"


@events.request.add_listener
def _count(name: str, response: Any, exception: Any, **_: Any) -> None:
    status = getattr(response, "status_code", 0) or 0
    outcome = "no answer" if exception is not None and not status else f"{status // 100}xx"
    with _lock:
        _status_counts[name][outcome] += 1


@events.quitting.add_listener
def _write_summary(environment: Any, **_: Any) -> None:
    target = os.environ.get("PROVINCE_DAY_SUMMARY")
    if target:
        Path(target).write_text(
            json.dumps({name: dict(counts) for name, counts in _status_counts.items()}), encoding="utf-8"
        )


class Citizen(HttpUser):
    """One app and web user of the province, plus the checkpoints that verify what they show."""

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        citizens = FIXTURE["citizens"]
        self.username = citizens[next(_next_citizen) % len(citizens)]
        self.client.mount("http://", SourceAddressAdapter(_address()))
        self.token = ""
        self.web = False
        self.login_app()

    # ------------------------------------------------------------------ helpers

    def _api(self, method: str, path: str, name: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        headers["Authorization"] = f"Bearer {self.token}"
        with self.client.request(
            method, path, name=name, headers=headers, catch_response=True, **kwargs
        ) as r:
            if r.status_code >= 400:
                r.failure(f"{r.status_code} {r.text[:200]}")
                return None
            return r.json() if r.content else {}

    # ------------------------------------------------------------------ logins

    @task(weight("login_app"))
    def login_app(self) -> None:
        with self.client.post(
            "/api/v1/auth/tokens",
            json={"username": self.username, "password": FIXTURE["password"]},
            name="login (app, API token)",
            catch_response=True,
        ) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code} {r.text[:200]}")
                return
            self.token = r.json()["token"]

    @task(weight("login_web"))
    def login_web(self) -> None:
        self.client.cookies.clear()
        page = self.client.get("/login/", name="login page")
        match = _CSRF.search(page.text)
        if match is None:
            return
        with self.client.post(
            "/login/",
            data={"account": self.username, "password": FIXTURE["password"], "csrfmiddlewaretoken": match[1]},
            headers={"Referer": f"{self.host}/login/"},
            name="login (web, session)",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code != 302:
                r.failure(f"{r.status_code}: no redirect after login")
                return
        self.web = True

    # ------------------------------------------------------------------ reads

    @task(weight("home"))
    def home(self) -> None:
        if not self.web:
            self.login_web()
        with self.client.get("/", name="home page (session)", catch_response=True) as r:
            if r.status_code != 200 or "/logout/" not in r.text:
                r.failure(f"{r.status_code}: not the logged-in home page")

    @task(weight("my_vehicles"))
    def my_vehicles(self) -> None:
        self._api("GET", "/api/v1/me/vehicles", "GET /api/v1/me/vehicles")

    @task(weight("my_licences"))
    def my_licences(self) -> None:
        self._api("GET", "/api/v1/me/licences", "GET /api/v1/me/licences")

    @task(weight("my_violations"))
    def my_violations(self) -> None:
        self._api("GET", "/api/v1/me/violations", "GET /api/v1/me/violations")

    @task(weight("credential_show"))
    def credential_show(self) -> None:
        credentials = self._api("GET", "/api/v1/me/credentials", "GET /api/v1/me/credentials")
        valid = [c for c in credentials or [] if c["status"] == "valid"]
        if not valid:
            return
        shown = self._api(
            "POST",
            f"/api/v1/me/credentials/{valid[0]['id']}/tokens",
            "POST /api/v1/me/credentials/{id}/tokens (online QR)",
            json={"mode": "online"},
        )
        if shown:
            _shown.append(shown["text"])

    @task(weight("credential_verify"))
    def credential_verify(self) -> None:
        try:
            text = _shown.popleft()
        except IndexError:
            return
        with self.client.post(
            "/api/v1/credentials/verify", json={"text": text}, name="POST /api/v1/credentials/verify",
            catch_response=True,
        ) as r:  # fmt: skip
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:200]}")
            elif not r.json().get("valid") and r.json().get("reason") != "already_checked":
                r.failure(f"refused: {r.text[:200]}")

    @task(weight("accident_query"))
    def accident_query(self) -> None:
        case = FIXTURE["accidents"][hash(self.username) % len(FIXTURE["accidents"])]
        with self.client.post(
            "/api/v1/accidents/progress", json={"accident_number": case["number"], "code": case["code"]},
            name="POST /api/v1/accidents/progress (right code)", catch_response=True,
        ) as r:  # fmt: skip
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:200]}")

    @task(weight("accident_query_wrong"))
    def accident_query_wrong(self) -> None:
        case = FIXTURE["accidents"][hash(self.username) % len(FIXTURE["accidents"])]
        wrong = case["code"][::-1] if case["code"][::-1] != case["code"] else "ABCDEFGHJKMN"
        with self.client.post(
            "/api/v1/accidents/progress", json={"accident_number": case["number"], "code": wrong},
            name="POST /api/v1/accidents/progress (wrong code)", catch_response=True,
        ) as r:  # fmt: skip
            # Refused (404) or, after too many tries from this client or on this number, 429.
            if r.status_code in (404, 429):
                r.success()
            else:
                r.failure(f"{r.status_code}: a wrong code was not refused")

    # ------------------------------------------------------------------ transactions

    @task(weight("violation_handle"))
    def violation_handle(self) -> None:
        page = self._api(
            "GET", "/api/v1/me/violations?status=unhandled", "GET /api/v1/me/violations?status=unhandled"
        )
        for item in (page or {}).get("items", []):
            detail = self._api("GET", f"/api/v1/me/violations/{item['id']}", "GET /api/v1/me/violations/{id}")
            state = (detail or {}).get("online_handling", {})
            if not state.get("allowed"):
                continue
            self._api(
                "POST", f"/api/v1/me/violations/{item['id']}/handling",
                "POST /api/v1/me/violations/{id}/handling",
                # The licence's points as the page showed them: a change meanwhile answers 409.
                json={"no_dispute": True, "drove_self": True, "expected_points": state.get("points_now")},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )  # fmt: skip
            return

    @task(weight("fine_pay"))
    def fine_pay(self) -> None:
        page = self._api(
            "GET", "/api/v1/me/violations?status=unpaid", "GET /api/v1/me/violations?status=unpaid"
        )
        unpaid = [item for item in (page or {}).get("items", []) if item.get("fine_id")]
        if not unpaid:
            return
        order = self._api(
            "POST", f"/api/v1/fines/{unpaid[0]['fine_id']}/payments", "POST /api/v1/fines/{id}/payments",
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )  # fmt: skip
        if not order:
            return
        # The payer presses 确认支付 on the gateway's page; the gateway then calls the platform back.
        with self.client.post(
            order["pay_url"], data={"action": "pay"}, name="gateway: pay", allow_redirects=False,
            catch_response=True,
        ) as r:  # fmt: skip
            if r.status_code != 303:
                r.failure(f"{r.status_code}: the gateway did not take the payment")
                return
        self._api("GET", f"/api/v1/payments/{order['order_number']}", "GET /api/v1/payments/{order}")
