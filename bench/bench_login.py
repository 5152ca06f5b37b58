"""Benchmark: a login with an unknown account against one with a wrong password (issue 10, item 10).

    .venv/bin/python bench/bench_login.py
    .venv/bin/python bench/bench_login.py --rounds 60 --pg postgresql://postgres@127.0.0.1:5432/

The review measured 10 ms for an unknown account against 182 ms for a known one: the answer
was the same, the time told the accounts apart. Both now check a password hash of the same
cost. Figures are medians over interleaved rounds, each as a ratio to a bare baseline of the
same run: one ``check_password`` against the stored Argon2 hash, the work a login cannot skip.

1. ``account_authenticate`` (the service behind every way in), wrong password vs unknown account.
2. ``POST /api/v1/auth/tokens`` through Django's test client, wrong password vs unknown account,
   per-client throttle included.

The account lock and the per-client throttle are set out of reach, so every round does the
full work of a failure. A fresh database: a temporary SQLite file, or ``jiaoguan_bench`` on the
PostgreSQL server (created and dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "jiaoguan_bench"
PASSWORD = "Lvse-Chuxing9"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(rounds: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from datetime import date

    from django.contrib.auth.hashers import check_password
    from django.core.management import call_command
    from django.test import Client

    from jiaoguan.accounts import services
    from jiaoguan.accounts.models import User
    from jiaoguan.core.errors import Unauthenticated
    from jiaoguan.core.identifiers import make_citizen_id
    from jiaoguan.registry.models import Person

    call_command("migrate", verbosity=0, interactive=False)
    number = make_citizen_id("411702", date(1985, 6, 15), 101)
    person = Person.objects.create(
        id_number=number, name="张伟", sex="M", birth_date=date(1985, 6, 15), residence_division="411702"
    )
    user = User.objects.create_user(
        username=number, password=PASSWORD, person=person, registration_level="online"
    )
    unknown = make_citizen_id("411702", date(1990, 1, 1), 203)
    stored = user.password
    client = Client()

    def service(username: str) -> None:
        try:
            services.account_authenticate(username=username, password="wrong-password")
        except Unauthenticated:
            return
        raise AssertionError("a wrong password was accepted")

    def api(username: str) -> None:
        response = client.post(
            "/api/v1/auth/tokens",
            json.dumps({"username": username, "password": "wrong-password"}),
            content_type="application/json",
        )
        assert response.status_code == 401, response.content

    calls = {
        "baseline": lambda: check_password("wrong-password", stored),
        "service_wrong_password": lambda: service(number),
        "service_unknown_account": lambda: service(unknown),
        "api_wrong_password": lambda: api(number),
        "api_unknown_account": lambda: api(unknown),
    }
    for call in calls.values():  # warm up: the dummy hash, connections, URL resolving
        call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():  # interleaved, so drift touches every figure alike
            samples[name].append(_timed(call))
    return {name: statistics.median(values) for name, values in samples.items()}


def _run(database_url: str | None, rounds: int) -> dict[str, float]:
    import subprocess

    with tempfile.TemporaryDirectory(prefix="jiaoguan-bench-login-") as data_dir:
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="jiaoguan.settings",
            JIAOGUAN_DATA_DIR=data_dir,
            JIAOGUAN_LOGIN_MAX_FAILURES="1000000000",
            JIAOGUAN_LOGIN_CLIENT_MAX_FAILURES="1000000000",
        )
        env.pop("DATABASE_URL", None)
        if database_url:
            env["DATABASE_URL"] = database_url
        out = subprocess.run(
            [sys.executable, __file__, "--worker", "--rounds", str(rounds)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _postgres(server_url: str, rounds: int) -> dict[str, float]:
    import psycopg

    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    try:
        return _run(_with_database(server_url, BENCH_DATABASE), rounds)
    finally:
        with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")


def report(label: str, figures: dict[str, float]) -> None:
    base = figures["baseline"]
    print(f"\n{label}: bare check_password {base * 1000:.1f} ms = 1.00")
    for way in ("service", "api"):
        wrong = figures[f"{way}_wrong_password"]
        unknown = figures[f"{way}_unknown_account"]
        print(
            f"  {way:8s} wrong password {wrong / base:5.2f}   unknown account {unknown / base:5.2f}"
            f"   unknown / wrong {unknown / wrong:5.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server URL")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.rounds)))
        return
    print(f"Login failures, median of {args.rounds} interleaved rounds, as ratios to the bare hash check")
    report("SQLite", _run(None, args.rounds))
    if args.pg:
        report("PostgreSQL", _postgres(args.pg, args.rounds))


if __name__ == "__main__":
    main()
