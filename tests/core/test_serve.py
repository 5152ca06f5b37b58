"""The production profile: refusals, readiness, metrics access and the JSON log line (issue 12, item 3)."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpResponse
from django.test import RequestFactory

from jiaoguan.core import health
from jiaoguan.core.logging import JsonFormatter, RequestIdFilter, RequestLogMiddleware
from jiaoguan.core.metrics import metrics_allowed
from jiaoguan.core.middleware import RequestIdMiddleware
from jiaoguan.settings import production_problems

ROOT = Path(__file__).resolve().parents[2]

GOOD_ENV = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/jiaoguan",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "JIAOGUAN_SECRET_KEY": "x" * 50,
}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------- refusals


def test_a_complete_production_environment_has_no_problems():
    assert production_problems(GOOD_ENV) == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "DATABASE_URL"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"REDIS_URL": ""}, "REDIS_URL"),
        ({"JIAOGUAN_SECRET_KEY": ""}, "JIAOGUAN_SECRET_KEY"),
        ({"JIAOGUAN_DEMO": "1"}, "JIAOGUAN_DEMO"),
        ({"JIAOGUAN_DEBUG": "true"}, "JIAOGUAN_DEBUG"),
    ],
)
def test_each_missing_production_setting_is_named(change, named):
    problems = production_problems({**GOOD_ENV, **change})
    assert len(problems) == 1
    assert named in problems[0]


def _run_cli(tmp_path, *args: str, **env_changes: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("JIAOGUAN_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(PYTHONPATH=str(ROOT / "src"), JIAOGUAN_DATA_DIR=str(tmp_path / "data"), **env_changes)
    return subprocess.run(
        [sys.executable, "-m", "jiaoguan.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_sqlite_with_what_to_set(tmp_path, command):
    done = _run_cli(tmp_path, command, REDIS_URL="redis://127.0.0.1:6379/5", JIAOGUAN_SECRET_KEY="x" * 50)
    assert done.returncode == 2
    assert "DATABASE_URL must name a PostgreSQL database" in done.stderr
    assert "jiaoguan up" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "jiaoguan.sqlite3").exists()  # nothing was started or prepared


def test_serve_refuses_without_redis_and_secret_naming_both(tmp_path):
    done = _run_cli(tmp_path, "serve", DATABASE_URL=GOOD_ENV["DATABASE_URL"])
    assert done.returncode == 2
    assert "REDIS_URL" in done.stderr and "JIAOGUAN_SECRET_KEY" in done.stderr


def test_serve_refuses_a_bad_bind_before_loading_anything(tmp_path):
    done = _run_cli(tmp_path, "serve", "--bind", "8000")
    assert done.returncode == 2
    assert "HOST:PORT" in done.stderr


# ---------------------------------------------------------------- readiness


@pytest.fixture
def fresh_readiness(monkeypatch):
    monkeypatch.setattr(health, "_migrations_seen_applied", False)


@pytest.mark.django_db
def test_ready_answers_200_when_migrated_and_reachable(client, fresh_readiness):
    response = client.get("/api/v1/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "database": "ok",
        "migrations": "ok",
        "redis": "not_configured",
    }


@pytest.mark.django_db
def test_ready_answers_503_while_a_migration_is_pending(client, fresh_readiness):
    # The database forgets one migration this code has: exactly what a deploy sees before migrate.
    latest = MigrationRecorder.Migration.objects.filter(app="core").order_by("-id").first()
    assert latest is not None
    latest.delete()
    response = client.get("/api/v1/ready")
    assert response.status_code == 503
    assert response.json()["migrations"] == "pending"
    assert response.json()["status"] == "not_ready"
    assert f"core.{latest.name}" in health.pending_migrations()


@pytest.mark.django_db
def test_ready_answers_503_while_redis_is_unreachable(client, settings, fresh_readiness):
    url = f"redis://127.0.0.1:{_closed_port()}/5"
    settings.REDIS_URL = url
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        },
    }
    response = client.get("/api/v1/ready")
    assert response.status_code == 503
    assert response.json()["redis"] == "unreachable"
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_ready_reports_a_reachable_redis(client, settings, fresh_readiness):
    url = os.environ.get("JIAOGUAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {url}")
        pytest.skip(f"Redis is not reachable at {url}")
    settings.REDIS_URL = url
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url},
    }
    response = client.get("/api/v1/ready")
    assert response.status_code == 200
    assert response.json()["redis"] == "ok"


def test_ready_answers_503_when_the_database_is_unreachable(tmp_path):
    # A fresh process: the settings read DATABASE_URL once, at start.
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/api/v1/ready')\n"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env.update(
        PYTHONPATH=str(ROOT / "src"),
        DJANGO_SETTINGS_MODULE="jiaoguan.settings",
        JIAOGUAN_DATA_DIR=str(tmp_path),
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{_closed_port()}/nowhere",
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["database"] == "unreachable"
    assert answer["body"]["migrations"] == "unknown"


# ---------------------------------------------------------------- metrics


def test_metrics_are_for_allowed_addresses_or_the_token():
    allowed = ["127.0.0.1", "10.0.0.9"]
    assert metrics_allowed(peer_address="10.0.0.9", authorization="", allowed=allowed, token="")
    assert not metrics_allowed(peer_address="203.0.113.7", authorization="", allowed=allowed, token="")
    assert metrics_allowed(
        peer_address="203.0.113.7", authorization="Bearer s3cret", allowed=allowed, token="s3cret"
    )
    assert not metrics_allowed(
        peer_address="203.0.113.7", authorization="Bearer guess", allowed=allowed, token="s3cret"
    )
    # No token configured: no bearer value opens it, not even an empty one.
    assert not metrics_allowed(peer_address="203.0.113.7", authorization="Bearer ", allowed=allowed, token="")


@pytest.mark.django_db
def test_metrics_endpoint_refuses_strangers_and_answers_prometheus_text(client, settings):
    settings.METRICS_ALLOWED_ADDRESSES = ["127.0.0.1"]
    settings.METRICS_TOKEN = "scrape-token-1234"
    stranger = client.get("/metrics", REMOTE_ADDR="203.0.113.7")
    assert stranger.status_code == 403
    # A forwarded header does not make a stranger local.
    spoofed = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert spoofed.status_code == 403
    local = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert local.status_code == 200
    assert local["Content-Type"].startswith("text/plain")
    assert b"# TYPE " in local.content
    with_token = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer scrape-token-1234"
    )
    assert with_token.status_code == 200


# ---------------------------------------------------------------- JSON log lines


def test_every_request_writes_one_json_access_line_with_its_request_id():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    access = logging.getLogger("jiaoguan.access")
    inner = logging.getLogger("jiaoguan.test_inner")
    for logger in (access, inner):
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)

    def view(request):
        inner.warning("inside the view")
        return HttpResponse(status=418)

    app = RequestIdMiddleware(RequestLogMiddleware(view))
    try:
        response = app(RequestFactory().get("/api/v1/health", HTTP_X_REQUEST_ID="support-call-0042"))
    finally:
        for logger in (access, inner):
            logger.removeHandler(handler)
    assert response["X-Request-ID"] == "support-call-0042"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == ["jiaoguan.test_inner", "jiaoguan.access"]
    assert all(line["request_id"] == "support-call-0042" for line in lines)
    access_line = lines[1]
    assert set(access_line) == {
        "time", "level", "logger", "message", "request_id", "method", "path", "status", "duration_ms"
    }  # fmt: skip
    assert (access_line["method"], access_line["path"], access_line["status"]) == (
        "GET",
        "/api/v1/health",
        418,
    )
    assert access_line["level"] == "INFO"
    assert isinstance(access_line["duration_ms"], float) and access_line["duration_ms"] >= 0
    assert access_line["time"].endswith("+00:00")
    assert "request_id" in lines[0] and "status" not in lines[0]


def test_a_record_logged_after_the_middleware_takes_the_id_of_its_request():
    # django.request logs a 4xx/5xx after the middleware chain, with the request attached.
    request = RequestFactory().get("/x")
    request.request_id = "abcdef0123456789"
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Unauthorized", (), None)
    record.request = request
    RequestIdFilter().filter(record)
    assert json.loads(JsonFormatter().format(record))["request_id"] == "abcdef0123456789"
