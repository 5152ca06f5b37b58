"""Two web processes and one worker sharing PostgreSQL and Redis (issue 12, items 3 and 5).

Starts ``jiaoguan serve`` on two ports and ``jiaoguan worker``, all in the production profile,
and shows across processes: a session made on one is valid on the other, a rate limit counted
on one applies on the other, an idempotency key used on one replays on the other, and an
outbox message enqueued by a web process is delivered by the worker.

Needs PostgreSQL and Redis: skipped with a note when either is unreachable, a failure in CI.
The database is made afresh and dropped afterwards: ``JIAOGUAN_MULTIPROCESS_DATABASE_URL``, or
DATABASE_URL's server and name with ``_multiprocess`` (postgresql://postgres@127.0.0.1:5432/
jiaoguan_multiprocess by default). Redis: ``JIAOGUAN_MULTIPROCESS_REDIS_URL`` (default database
5 of 127.0.0.1:6379), flushed before and after; nothing else in Redis is touched.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Citizen#2026x"
MOBILE = "13912345678"
# Generous: two cold Django starts on a shared 2-core machine. A wait, never a measured duration.
START_SECONDS = 120
DELIVERY_SECONDS = 60


def _database_url() -> str:
    explicit = os.environ.get("JIAOGUAN_MULTIPROCESS_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(base)
        return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_multiprocess"))
    return "postgresql://postgres@127.0.0.1:5432/jiaoguan_multiprocess"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the multi-process test")
    pytest.skip(f"{reason}; the multi-process test needs PostgreSQL and Redis")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(condition: Callable[[], Any], *, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.25)


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Iterator[dict[str, Any]]:
    psycopg = pytest.importorskip("psycopg")
    redis = pytest.importorskip("redis")
    database_url = _database_url()
    redis_url = os.environ.get("JIAOGUAN_MULTIPROCESS_REDIS_URL", "redis://127.0.0.1:6379/5")
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        _unavailable(f"PostgreSQL is not reachable at {admin_url} ({error})")
    store = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        store.ping()
    except redis.RedisError as error:
        admin.close()
        _unavailable(f"Redis is not reachable at {redis_url} ({error})")
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    store.flushdb()

    data_dir = tmp_path_factory.mktemp("multiprocess")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("JIAOGUAN_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        PYTHONPATH=str(ROOT / "src"),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JIAOGUAN_SECRET_KEY="multiprocess-test-secret-" + "k" * 40,
        JIAOGUAN_DATA_DIR=str(data_dir),
        JIAOGUAN_CREDENTIAL_AUTO_KEY="1",
        JIAOGUAN_ALLOWED_HOSTS="127.0.0.1",
        JIAOGUAN_LOGIN_CLIENT_MAX_FAILURES="3",
        JIAOGUAN_LOG_LEVEL="INFO",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cli = [sys.executable, "-m", "jiaoguan.cli"]
    subprocess.run([*cli, "migrate", "--verbosity", "0"], env=env, check=True, timeout=600)
    make_citizen = (
        "import django; django.setup()\n"
        "from datetime import date\n"
        "from jiaoguan.accounts.models import User\n"
        "from jiaoguan.core.identifiers import make_citizen_id\n"
        "from jiaoguan.registry.models import Person\n"
        "number = make_citizen_id('411702', date(1985, 6, 15), 103)\n"
        "person = Person.objects.create(id_number=number, name='张伟', sex='M', birth_date=date(1985, 6, 15),"
        " residence_division='411702', mobile='13800138000')\n"
        f"user = User.objects.create_user(username=number, password={PASSWORD!r}, person=person,"
        " registration_level='online')\n"
        "print(number, user.pk)\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", make_citizen], env=env, check=True, timeout=120, capture_output=True, text=True
    )
    username, user_id = made.stdout.split()[-2:]

    ports = [_free_port(), _free_port()]
    logs = [open(data_dir / f"web-{port}.log", "wb") for port in ports] + [
        open(data_dir / "worker.log", "wb")
    ]
    processes = [
        subprocess.Popen(
            [*cli, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"], env=env, stdout=log, stderr=log
        )
        for port, log in zip(ports, logs, strict=False)
    ]
    processes.append(
        subprocess.Popen([*cli, "worker", "--interval", "0.2"], env=env, stdout=logs[2], stderr=logs[2])
    )
    import requests

    def ready(port: int) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/api/v1/ready", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    try:
        for port in ports:
            _wait_for(lambda port=port: ready(port), seconds=START_SECONDS, what=f"web process on {port}")
        assert all(process.poll() is None for process in processes)
        yield {
            "a": f"http://127.0.0.1:{ports[0]}",
            "b": f"http://127.0.0.1:{ports[1]}",
            "db": psycopg.connect(database_url, autocommit=True),
            "username": username,
            "user_id": int(user_id),
            "log_a": data_dir / f"web-{ports[0]}.log",
        }
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
        store.flushdb()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _count(platform: dict[str, Any], sql: str, *params: object) -> int:
    return int(platform["db"].execute(sql, params).fetchone()[0])


def test_a_session_made_on_one_web_process_is_valid_on_the_other(platform):
    import requests

    browser = requests.Session()
    form = browser.get(f"{platform['a']}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token is not None
    login = browser.post(
        f"{platform['a']}/login/",
        data={"account": platform["username"], "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        allow_redirects=False,
        timeout=10,
    )
    assert login.status_code == 302, login.text[:500]
    on_b = browser.get(f"{platform['b']}/api/v1/me", timeout=10)
    assert on_b.status_code == 200
    assert on_b.json()["id"] == platform["user_id"]
    # The session lives in Redis, not in the database's session table.
    assert _count(platform, "SELECT count(*) FROM django_session") == 0
    assert requests.get(f"{platform['b']}/api/v1/me", timeout=10).status_code == 401


def test_a_rate_limit_counted_on_one_process_applies_on_the_other(platform):
    import requests

    def failed_login(base: str, n: int) -> requests.Response:
        return requests.post(
            f"{base}/api/v1/auth/tokens",
            json={"username": f"nobody-{n}", "password": "wrong-password"},
            timeout=10,
        )

    # Three failures from this client (JIAOGUAN_LOGIN_CLIENT_MAX_FAILURES=3), spread over both processes.
    answers = [
        failed_login(base, n).status_code
        for n, base in enumerate([platform["a"], platform["b"], platform["a"]])
    ]
    assert 429 not in answers
    refused = failed_login(platform["b"], 4)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0


def test_an_idempotency_key_used_on_one_process_replays_on_the_other_and_the_worker_delivers_the_sms(
    platform,
):
    import requests

    body = {"mobile": MOBILE, "purpose": "register"}
    headers = {"Idempotency-Key": "multiprocess-sms-0001"}
    first = requests.post(f"{platform['a']}/api/v1/auth/sms-codes", json=body, headers=headers, timeout=10)
    assert first.status_code == 202, first.text
    replay = requests.post(f"{platform['b']}/api/v1/auth/sms-codes", json=body, headers=headers, timeout=10)
    assert replay.status_code == 202
    assert replay.json() == first.json()
    assert _count(platform, "SELECT count(*) FROM accounts_smscode WHERE mobile = %s", MOBILE) == 1
    # Without the key it is a new request, refused by the number's one-a-minute limit.
    again = requests.post(f"{platform['b']}/api/v1/auth/sms-codes", json=body, timeout=10)
    assert again.status_code == 429

    # The web process stored the message and a delivery task; the worker process sent it.
    _wait_for(
        lambda: (
            _count(platform, "SELECT count(*) FROM integrations_fakesmsmessage WHERE mobile = %s", MOBILE)
            == 1
        ),
        seconds=DELIVERY_SECONDS,
        what="the worker to deliver the SMS",
    )
    sent = _count(
        platform,
        "SELECT count(*) FROM core_outboxmessage WHERE topic = 'sms.send' AND payload->>'mobile' = %s"
        " AND sent_at IS NOT NULL",
        MOBILE,
    )
    assert sent == 1
    by_worker = _count(
        platform,
        "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE task_path = %s AND status = 'SUCCESSFUL'"
        " AND jsonb_array_length(worker_ids) = 1",
        "jiaoguan.core.tasks.outbox_deliver_task",
    )
    assert by_worker >= 1


def test_web_processes_log_json_lines_with_the_request_id_and_answer_metrics_locally(platform):
    import json

    import requests

    answer = requests.get(
        f"{platform['a']}/api/v1/health", headers={"X-Request-ID": "multiprocess-log-0001"}, timeout=10
    )
    assert answer.headers["X-Request-ID"] == "multiprocess-log-0001"

    def access_line() -> dict[str, Any] | None:
        for line in platform["log_a"].read_text(encoding="utf-8", errors="replace").splitlines():
            if "multiprocess-log-0001" in line:
                return dict(json.loads(line))
        return None

    line = _wait_for(access_line, seconds=DELIVERY_SECONDS, what="the access line in the web log")
    assert line["logger"] == "jiaoguan.access"
    assert (line["request_id"], line["method"], line["path"], line["status"]) == (
        "multiprocess-log-0001", "GET", "/api/v1/health", 200,
    )  # fmt: skip
    assert {"time", "level", "message", "duration_ms"} <= set(line)

    metrics = requests.get(f"{platform['a']}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert "django_http_requests_total_by_method_total" in metrics.text
