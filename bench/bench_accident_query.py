"""Benchmark: an unknown accident number against a wrong query code (A5), as ratios to a bare baseline.

    .venv/bin/python bench/bench_accident_query.py                    # SQLite
    .venv/bin/python bench/bench_accident_query.py --pg postgresql://postgres@127.0.0.1:5432/

The two failures must be told apart by nothing, their time included: both do the same
queries, one HMAC and the same comparisons (tests/accidents/test_query_limits.py asserts the
structure). This prints what they cost, each call timed on its own and the two interleaved,
as the median over the calls:

* baseline: the one indexed look-up by number that any answer needs;
* unknown: a well-formed number nobody was given, with a code;
* wrong: a real case's number with a wrong code (the case has three live credentials).

The guessing limits are part of both paths; the failure rows the calls leave are removed
between calls (not timed), so neither path meets a limit. Each database is fresh: a
temporary SQLite file, or a database ``jiaoguan_bench`` created and dropped on the server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "jiaoguan_bench"
RESULT_PREFIX = "BENCH-RESULT "


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


# --------------------------------------------------------------------------- worker


def worker(calls: int) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from datetime import date, timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from jiaoguan.accidents import rules, services
    from jiaoguan.accidents.models import AccidentCase, QueryAttempt
    from jiaoguan.accounts.services import staff_create
    from jiaoguan.core.errors import NotFound
    from jiaoguan.core.identifiers import make_citizen_id

    call_command("migrate", verbosity=0, interactive=False)
    officer = staff_create(
        username="bench-officer", password="Counter#2026x", role="accident_officer", jurisdiction="411702"
    )
    case = services.case_open(
        actor=officer, occurred_at=timezone.now() - timedelta(days=1), place="驿城区解放大道"
    )
    for n, label in enumerate("甲乙丙"):
        services.party_add(
            actor=officer, case_id=case.pk, label=label, name="马超", id_type="resident_id",
            id_number=make_citizen_id("411702", date(1980 + n, 5, 1), 101 + 2 * n), phone="13800001111",
        )  # fmt: skip
    unknown = rules.accident_number_make(division="411702", opened_on=timezone.localdate(), serial=99999)
    wrong = "ABCDEFGHJKMN"

    def baseline() -> None:
        AccidentCase.objects.filter(number=unknown).values_list("pk", flat=True).first()

    def failing(number: str):
        def call() -> None:
            try:
                services.progress_query(accident_number=number, code=wrong, client="ip:192.0.2.1")
            except NotFound:
                return
            raise AssertionError("a wrong code was accepted")

        return call

    runs = {"baseline": baseline, "unknown": failing(unknown), "wrong": failing(case.number)}
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for call in runs.values():  # warm up: the lock rows, the statement caches
        for _ in range(5):
            call()
    for _ in range(calls):
        for name, call in runs.items():
            started = time.perf_counter()
            call()
            timings[name].append(time.perf_counter() - started)
            QueryAttempt.objects.all().delete()
    result = {"backend": connection.vendor, "calls": calls}
    for name, values in timings.items():
        result[f"{name}_us"] = statistics.median(values) * 1e6
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- parent


def _run(label: str, database_url: str | None, calls: int) -> dict | None:
    data_dir = tempfile.mkdtemp(prefix="jiaoguan-bench-")
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="jiaoguan.settings", JIAOGUAN_DATA_DIR=data_dir)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    print(f"{label}: {calls:,} calls of each ...", flush=True)
    try:
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", f"--calls={calls}"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    print(f"{label}: failed (exit {done.returncode})\n{done.stderr[-4000:]}", file=sys.stderr)
    return None


def _postgres(server_url: str, calls: int) -> dict | None:
    import psycopg

    admin_url = _with_database(server_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    try:
        return _run("postgresql", _with_database(server_url, BENCH_DATABASE), calls)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server URL")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.calls)
        return
    results = []
    result = _run("sqlite", None, args.calls)
    if result:
        results.append(("sqlite", result))
    if args.pg:
        result = _postgres(args.pg, args.calls)
        if result:
            results.append(("postgresql", result))
    if not results:
        sys.exit(1)
    print()
    header = (
        f"{'database':<12}{'calls':>7}{'baseline us':>13}{'unknown us':>12}{'wrong us':>10}"
        f"{'unknown/base':>14}{'wrong/base':>12}{'unknown/wrong':>15}"
    )
    print(header)
    print("-" * len(header))
    for label, r in results:
        print(
            f"{label:<12}{r['calls']:>7,}{r['baseline_us']:>13.0f}{r['unknown_us']:>12.0f}{r['wrong_us']:>10.0f}"
            f"{r['unknown_us'] / r['baseline_us']:>14.1f}{r['wrong_us'] / r['baseline_us']:>12.1f}"
            f"{r['unknown_us'] / r['wrong_us']:>15.3f}"
        )
    print("\nunknown/wrong near 1.000: the two failures cost the same (medians; noise is a few per cent).")


if __name__ == "__main__":
    main()
