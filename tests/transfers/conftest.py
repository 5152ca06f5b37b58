"""Fixtures of the cross-region transfer (T1-T5): another DMV run as a second installation of the
platform (its own process and SQLite file, its own city), the shared key between the two DMVs, a
buyer, a clerk and a head of unit of this installation (Zhumadian, 411700)."""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

ORIGIN_CITY = "320100"  # Nanjing: a pilot city
SHARED_KEY = secrets.token_hex(32)
SRC = str(Path(__file__).resolve().parents[2] / "src")


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 160)).save(out, format="PNG")
    return out.getvalue()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OriginInstallation:
    """The origin DMV: ``jiaoguan`` migrated into its own SQLite file and served by gunicorn."""

    def __init__(self, data_dir: Path, *, destination_city: str, destination_public_key: str) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir / "origin.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.secret = secrets.token_hex(32)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            PYTHONPATH=os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH", "")) if p),
            DJANGO_SETTINGS_MODULE="jiaoguan.settings", JIAOGUAN_DATA_DIR=str(data_dir),
            JIAOGUAN_JURISDICTION=ORIGIN_CITY, JIAOGUAN_PLATE_PREFIX="苏A", JIAOGUAN_SECRET_KEY=self.secret,
            JIAOGUAN_DMV_PEERS=json.dumps(
                {destination_city: {"url": "", "key": SHARED_KEY, "public_key": destination_public_key}}
            ),
        )  # fmt: skip
        self.env = env
        self.manage("migrate", "--noinput")
        self.public_key = ""

    def manage(self, *argv: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "django", *argv],
            env=self.env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        if result.returncode:
            pytest.fail(f"origin: {argv[0]} failed:\n{result.stdout.decode()}\n{result.stderr.decode()}")
        return result.stdout.decode()

    def seed(self, *, owner_id: str, vin: str, plate: str, **options: str) -> None:
        argv = [
            "transfer_seed",
            "--owner-id",
            owner_id,
            "--password",
            "Origin-pass-2021",
            "--vin",
            vin,
            "--plate",
            plate,
        ]
        for name, value in options.items():
            argv += [f"--{name.replace('_', '-')}", value]
        self.public_key = json.loads(self.manage(*argv).strip().splitlines()[-1])["public_key"]

    def start(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "jiaoguan.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                 "--workers", "1", "--threads", "4"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 180  # a busy machine starts slowly
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"origin exited while starting:\n{self.log_path.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail("origin did not answer within 180 s")
            time.sleep(0.1)

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def api(
        self, method: str, path: str, body: dict | None = None, *, token: str = ""
    ) -> tuple[int, dict | list]:
        return http_json(self.url, method, path, body, token=token)


def http_json(base: str, method: str, path: str, body: dict | None = None, *, token: str = "", key: str = ""):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if key:
        request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def login(base: str, username: str, password: str) -> str:
    status, answer = http_json(
        base, "POST", "/api/v1/auth/tokens", {"username": username, "password": password}
    )
    assert status == 201, answer
    return answer["token"]


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    from django.conf import settings

    from jiaoguan.integrations import inter_dmv

    installation = OriginInstallation(
        tmp_path_factory.mktemp("origin-dmv"), destination_city=str(settings.JIAOGUAN_JURISDICTION),
        destination_public_key=inter_dmv.public_key_b64(),
    )  # fmt: skip
    recently = (date.today() - timedelta(days=30)).isoformat()
    installation.seed(owner_id=seller_id(0), vin=origin_vin(0), plate="苏A00000", last_inspected=recently)
    installation.start()
    yield installation
    installation.stop()


def seller_id(n: int) -> str:
    from jiaoguan.core.identifiers import make_citizen_id

    return make_citizen_id("320102", date(1980, 1, 1), 101 + 2 * n)


def origin_vin(n: int) -> str:
    from jiaoguan.core.identifiers import make_vin

    return make_vin(f"LFV2A21K0N{n:07d}")


@pytest.fixture
def peers(settings, origin):
    """This installation's channel to the origin, with quick give-ups for the tests."""
    origin.ensure_running()
    settings.DMV_PEERS = {
        ORIGIN_CITY: {"url": origin.url, "key": SHARED_KEY, "public_key": origin.public_key}
    }
    settings.DMV_RETRIES = 0
    settings.DMV_TIMEOUT_SECONDS = 5
    return settings.DMV_PEERS


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-transfer")


@pytest.fixture
def head(make_staff):
    return make_staff(role="unit_head", jurisdiction="411700", username="head-transfer")


@pytest.fixture
def buyer(make_person, citizen):
    person = make_person(name="周买方", mobile="13900000417")
    return citizen(person)
