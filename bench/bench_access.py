"""Benchmark: the access check and the data check, each as a ratio to a bare baseline of the same run.

    .venv/bin/python bench/bench_access.py                          # SQLite, 20,000 and 80,000 persons
    .venv/bin/python bench/bench_access.py --persons 20000 80000 --pg postgresql://postgres@127.0.0.1:5432/

1. ``require()`` (core/access.py) with a record's divisions before and after, against the
   bare containment test it must do anyway (``is_within`` twice): what the table costs
   every service call.
2. ``check-data`` over the registry and accounts tables, against reading the same rows in the
   same keyset batches without validating them; and its peak RSS at two sizes, which must
   not grow with the table (the check reads in batches and keeps nothing).

Each size gets a fresh database (a temporary SQLite file, or a database ``jiaoguan_bench``
created and dropped on the PostgreSQL server). One subprocess generates the demo data (not
timed); a second one measures, so its peak RSS is the check's own plus Django's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "jiaoguan_bench"
RESULT_PREFIX = "BENCH-RESULT "
CALLS = 200_000


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _best_of(rounds: int, fn) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


# --------------------------------------------------------------------------- worker


def worker(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from jiaoguan.core.access import require
    from jiaoguan.core.datachecks import CheckContext, in_batches, registered_checks, run_checks
    from jiaoguan.core.divisions import is_within
    from jiaoguan.demo.generate import generate_demo

    today = date.fromisoformat(args.today)
    if args.worker == "generate":
        call_command("migrate", verbosity=0, interactive=False)
        generate_demo(persons=args.persons, seed=args.seed, today=today)
        return
    rss_before_check = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    clerk = SimpleNamespace(
        is_authenticated=True, is_active=True, kind="staff", staff_role="counter_clerk", jurisdiction="411700"
    )
    divisions = ["411702", "411721"]

    def with_table() -> None:
        for _ in range(CALLS):
            require(clerk, "registry.vehicle.change", division=divisions)

    def bare() -> None:
        for _ in range(CALLS):
            for code in divisions:
                is_within(code, "411700")

    require_s = _best_of(3, with_table)
    bare_s = _best_of(3, bare)

    context = CheckContext(today=today, batch_size=2000)
    models = {}
    from jiaoguan.accounts.models import User
    from jiaoguan.registry.models import DrivingLicence, Organisation, Person, Vehicle

    for model in (Person, Organisation, Vehicle, DrivingLicence, User):
        models[model._meta.db_table] = model
    rows = sum(model.objects.count() for model in models.values())

    def check() -> int:
        return sum(1 for _ in run_checks(context=context))

    def read_only() -> None:
        for model in models.values():
            fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
            for _batch in in_batches(model.objects.all(), fields=fields, size=context.batch_size):
                pass

    started = time.perf_counter()
    findings = check()
    check_s = time.perf_counter() - started
    read_s = _best_of(2, read_only)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "backend": connection.vendor,
        "persons": args.persons,
        "rows": rows,
        "checks": sorted(registered_checks()),
        "findings": findings,
        "require_ns": require_s / CALLS * 1e9,
        "bare_ns": bare_s / CALLS * 1e9,
        "check_s": check_s,
        "read_s": read_s,
        "rss_before_check_mib": rss_before_check,
        "peak_rss_mib": peak,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- parent


def _run(label: str, database_url: str | None, persons: int, args: argparse.Namespace) -> dict | None:
    data_dir = tempfile.mkdtemp(prefix="jiaoguan-bench-")
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="jiaoguan.settings", JIAOGUAN_DATA_DIR=data_dir)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    common = [f"--persons={persons}", f"--seed={args.seed}", f"--today={args.today}"]
    print(f"{label}: {persons:,} persons ...", flush=True)
    try:
        for phase in ("generate", "measure"):
            command = [sys.executable, str(Path(__file__).resolve()), f"--worker={phase}", *common]
            done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
            if done.returncode:
                break
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    print(f"{label}: failed (exit {done.returncode})\n{done.stderr[-4000:]}", file=sys.stderr)
    return None


def _postgres(server_url: str, persons: int, args: argparse.Namespace) -> dict | None:
    import psycopg

    admin_url = _with_database(server_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    try:
        return _run("postgresql", _with_database(server_url, BENCH_DATABASE), persons, args)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, nargs="+", default=[20_000, 80_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default=date.today().isoformat())
    parser.add_argument("--pg", metavar="URL", help="PostgreSQL server URL")
    parser.add_argument("--worker", choices=["generate", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.persons = args.persons[0]
        worker(args)
        return

    results = []
    for persons in args.persons:
        result = _run("sqlite", None, persons, args)
        if result:
            results.append(("sqlite", result))
        if args.pg:
            result = _postgres(args.pg, persons, args)
            if result:
                results.append(("postgresql", result))
    if not results:
        sys.exit(1)
    print()
    header = (
        f"{'database':<12}{'persons':>9}{'rows':>10}{'require ns':>12}{'bare ns':>9}{'ratio':>7}"
        f"{'check s':>9}{'rows/s':>10}{'read s':>8}{'ratio':>7}{'RSS before':>12}{'peak RSS':>10}"
    )
    print(header)
    print("-" * len(header))
    for label, r in results:
        print(
            f"{label:<12}{r['persons']:>9,}{r['rows']:>10,}{r['require_ns']:>12.0f}{r['bare_ns']:>9.0f}"
            f"{r['require_ns'] / r['bare_ns']:>7.1f}{r['check_s']:>9.2f}{r['rows'] / r['check_s']:>10,.0f}"
            f"{r['read_s']:>8.2f}{r['check_s'] / r['read_s']:>7.1f}{r['rss_before_check_mib']:>10.0f} M"
            f"{r['peak_rss_mib']:>8.0f} M"
        )
    print()
    print(
        f"checks: {', '.join(results[0][1]['checks'])}; findings on demo data: "
        f"{', '.join(str(r['findings']) for _, r in results)} (must be 0)"
    )


if __name__ == "__main__":
    main()
