"""The signing key exists before the server answers (E4, E5; issue 10, item 2).

On a fresh server the key used to be made lazily, on the first signature: following the
README (download the trust list, then the status list) gave ``{"keys": []}`` and every
offline verification failed. Now the server makes the key at startup in demo mode and
refuses to start without one otherwise; the trust list keeps every key whose signatures
may still be unexpired.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from jiaoguan.credentials import keys, services
from jiaoguan.credentials.crypto import ES256, algorithm_for
from jiaoguan.credentials.models import SigningKey
from jiaoguan.credentials.token import STATUS_LIST, DisplayMode, decode_and_verify
from jiaoguan.credentials.verify import parse_trust_list, trust_list_json, verify_offline


def start_server() -> None:
    """What every server process (gunicorn, granian, runserver) does before its first answer."""
    module = sys.modules.get("jiaoguan.wsgi")
    if module is None:
        importlib.import_module("jiaoguan.wsgi")
    else:
        importlib.reload(module)


@pytest.fixture
def production(settings):
    settings.DEMO_MODE = False
    settings.CREDENTIAL_AUTO_KEY = False


# ---------------------------------------------------------------- in this process


@pytest.mark.django_db
def test_a_demo_server_has_its_key_before_the_first_answer():
    assert not SigningKey.objects.exists()
    start_server()
    listed = Client().get("/api/v1/credentials/keys").json()["keys"]
    assert [k["kid"] for k in listed] == list(SigningKey.objects.values_list("kid", flat=True))
    assert len(listed) == 1
    start_server()  # a second process starting finds it and makes no other
    assert SigningKey.objects.count() == 1


@pytest.mark.django_db
def test_without_a_key_a_deployment_refuses_to_start_and_says_what_to_do(production):
    with pytest.raises(ImproperlyConfigured) as refused:
        start_server()
    message = str(refused.value)
    assert "jiaoguan keys rotate" in message and "JIAOGUAN_CREDENTIAL_PRIVATE_KEY" in message
    assert not SigningKey.objects.exists()  # outside demo mode a key is never made implicitly
    keys.key_rotate()
    start_server()


@pytest.mark.django_db
def test_a_key_whose_private_half_is_missing_or_wrong_stops_the_start(production, monkeypatch, settings):
    key = keys.key_rotate()
    Path(settings.CREDENTIAL_KEY_DIR, f"{key.kid}.pem").unlink()
    keys.trust_cache_clear()
    with pytest.raises(ImproperlyConfigured) as refused:
        keys.signing_key_ready()
    assert key.kid in str(refused.value) and "JIAOGUAN_CREDENTIAL_PRIVATE_KEY" in str(refused.value)
    other = algorithm_for(ES256).generate_private_pem().decode()
    monkeypatch.setenv("JIAOGUAN_CREDENTIAL_PRIVATE_KEY", other)
    monkeypatch.setenv("JIAOGUAN_CREDENTIAL_KID", key.kid)
    with pytest.raises(ImproperlyConfigured) as refused:
        keys.signing_key_ready()
    assert "does not belong" in str(refused.value)


@pytest.mark.django_db
def test_the_active_key_given_in_the_environment_is_accepted(production, monkeypatch, settings):
    key = keys.key_rotate()
    pem = Path(settings.CREDENTIAL_KEY_DIR, f"{key.kid}.pem")
    monkeypatch.setenv("JIAOGUAN_CREDENTIAL_PRIVATE_KEY", pem.read_text())
    monkeypatch.setenv("JIAOGUAN_CREDENTIAL_KID", key.kid)
    pem.unlink()
    assert keys.signing_key_ready() == key


@pytest.mark.django_db
def test_retired_keys_stay_listed_while_anything_they_signed_is_unexpired(make_person, make_vehicle):
    vehicle = make_vehicle(owner=make_person(), registered_on=timezone.localdate() - timedelta(days=400))
    mark = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    first = keys.active_key()[0]
    printed, expires_at = services.credential_token(credential=mark, mode=DisplayMode.PRINTED)
    keys.key_rotate()
    keys.key_rotate()
    retired = SigningKey.objects.get(kid=first.kid)
    # A process may sign with the old key for up to a minute after the rotation; what it signs
    # then lives MAX_TOKEN_LIFETIME longer still.
    assert retired.not_after >= retired.retired_at + keys.MAX_TOKEN_LIFETIME + timedelta(seconds=60)
    late = timezone.datetime.fromtimestamp(expires_at, tz=timezone.get_current_timezone())
    for moment in (timezone.now(), late - timedelta(seconds=1)):
        listed = keys.trust_list(now=moment)
        assert first.kid in {k.kid.hex() for k in listed}
        trust = parse_trust_list(trust_list_json(listed))
        assert verify_offline(printed, trust=trust, status_list=None, now=int(moment.timestamp())).reason in {
            "ok", "unknown"  # no status list given: the signature and the dates are what is checked
        }  # fmt: skip
    assert first.kid not in {
        k.kid.hex() for k in keys.trust_list(now=retired.not_after + timedelta(seconds=1))
    }


@pytest.mark.django_db
def test_nothing_is_signed_to_outlive_its_key():
    now = int(time.time())
    with pytest.raises(ValueError):
        services.sign_payload(
            schema=STATUS_LIST, data={"size": 1}, index=0, issued_at=now,
            expires_at=now + int(keys.MAX_TOKEN_LIFETIME.total_seconds()) + 1,
        )  # fmt: skip


# ---------------------------------------------------------------- real server processes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(data_dir: Path, *, demo: bool) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("JIAOGUAN_") and name not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(JIAOGUAN_DATA_DIR=str(data_dir), JIAOGUAN_DEMO="1" if demo else "0")
    return env


def _jiaoguan(data_dir: Path, *args: str, demo: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jiaoguan.cli", *args], env=_env(data_dir, demo=demo),
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


class Server:
    """``gunicorn jiaoguan.wsgi:application`` as the README runs it in production."""

    def __init__(self, data_dir: Path, *, demo: bool, workers: int = 1) -> None:
        self.port = _free_port()
        self.log = data_dir / f"server-{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "jiaoguan.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--timeout", "60"],
            env=_env(data_dir, demo=demo), stdout=subprocess.DEVNULL, stderr=self.log.open("w"),
        )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str, timeout: float = 40.0) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"the server stopped:\n{self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as answer:
                    return answer.read()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def test_real_servers_refuse_without_a_key_and_answer_with_one(tmp_path):
    """The README's production and demo servers on a fresh SQLite database of their own."""
    import json

    production_dir, demo_dir = tmp_path / "production", tmp_path / "demo"
    production_dir.mkdir()
    migrated = _jiaoguan(production_dir, "migrate", "--verbosity", "0")
    assert migrated.returncode == 0, migrated.stderr
    shutil.copytree(production_dir, demo_dir)  # the same fresh database, no key in either

    # Production without a key: the server does not start, and says why and what to do.
    refused = Server(production_dir, demo=False)
    try:
        refused.process.wait(timeout=60)
    finally:
        refused.stop()
    assert refused.process.returncode != 0
    assert (
        "jiaoguan keys rotate" in refused.output() and "JIAOGUAN_CREDENTIAL_PRIVATE_KEY" in refused.output()
    )

    rotated = _jiaoguan(production_dir, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    kid = rotated.stdout.split("new signing key ", 1)[1].split()[0]
    server = Server(production_dir, demo=False)
    try:
        listed = json.loads(server.get("/api/v1/credentials/keys"))["keys"]
        assert [k["kid"] for k in listed] == [kid]
    finally:
        server.stop()

    # Demo: the first answer already lists the key, and the status list verifies against it.
    demo = Server(demo_dir, demo=True, workers=2)
    try:
        trust_text = demo.get("/api/v1/credentials/keys").decode()
        status_list = json.loads(demo.get("/api/v1/credentials/status-list"))["status_list"]
        trust = parse_trust_list(trust_text)
        assert len(trust) == 1  # two workers started together made one key
        listed = decode_and_verify(status_list, keys=trust.get, now=int(time.time()))
        assert listed.schema is STATUS_LIST
    finally:
        demo.stop()


def test_jiaoguan_up_makes_the_key_before_its_server_answers(tmp_path):
    """The README's first command on an empty data folder: the first answer lists the key."""
    import json
    import signal

    port, gateway_port, postal_port, bank_port = _free_port(), _free_port(), _free_port(), _free_port()
    insurer_port, records_port = _free_port(), _free_port()
    log = tmp_path / "up.log"
    up = subprocess.Popen(  # our own interpreter and command
        [sys.executable, "-m", "jiaoguan.cli", "up", "--data-dir", str(tmp_path / "var"), "--port", str(port),
         "--gateway-port", str(gateway_port), "--postal-port", str(postal_port), "--bank-port", str(bank_port),
         "--insurer-port", str(insurer_port), "--records-port", str(records_port), "--persons", "20",
         "--workers", "1"],
        env=_env(tmp_path, demo=True), stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert up.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/credentials/keys", timeout=10
                ) as answer:
                    listed = json.loads(answer.read())["keys"]
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
        kid = log.read_text().split("credential signing key ", 1)[1].split()[0]
        assert [k["kid"] for k in listed] == [kid]
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            up.kill()
    # Stopped while its fake services were still starting, it stopped them too: nothing is left
    # answering on any of its ports.
    left = []
    for used in (port, gateway_port, postal_port, insurer_port, bank_port, records_port):
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex(("127.0.0.1", used)) == 0:
                left.append(used)
    assert left == [], log.read_text()[-3000:]
