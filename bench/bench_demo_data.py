"""Benchmark: generate demo data (``jiaoguan.demo.generate_demo``) on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_demo_data.py                      # SQLite, 100,000 persons
    .venv/bin/python bench/bench_demo_data.py --persons 20000
    .venv/bin/python bench/bench_demo_data.py --pg postgresql://postgres@127.0.0.1:5432/

Each database runs in its own subprocess, so Django settings are fresh and the peak RSS
is that run's own. Every run gets a new temporary data directory (``JIAOGUAN_DATA_DIR``),
so SQLite starts from a fresh file. PostgreSQL runs when ``--pg URL`` or a PostgreSQL
``DATABASE_URL`` is given: a fresh database ``jiaoguan_bench`` is created on that server
(whatever database the URL names is left alone) and dropped afterwards. Migrations run
first and are not counted in the timing; the peak RSS covers the whole subprocess.
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
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "jiaoguan_bench"
RESULT_PREFIX = "BENCH-RESULT "


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in {"postgres", "postgresql", "pgsql", "postgis"}


# --------------------------------------------------------------------------- worker


def worker(args: argparse.Namespace) -> None:
    """Runs inside the subprocess: migrate, generate, report one JSON line."""
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from jiaoguan.demo.generate import generate_demo

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_seconds = time.perf_counter() - started

    started = time.perf_counter()
    counts = generate_demo(
        persons=args.persons, seed=args.seed, today=date.fromisoformat(args.today), batch_size=args.batch_size
    )
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = {
        "backend": connection.vendor,
        "server": connection.Database.sqlite_version
        if connection.vendor == "sqlite"
        else f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}",
        "counts": counts,
        "total": sum(counts.values()),
        "seconds": seconds,
        "migrate_seconds": migrate_seconds,
        "peak_rss_mib": peak_kib / 1024,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- parent


def _run(label: str, database_url: str | None, args: argparse.Namespace) -> dict | None:
    data_dir = tempfile.mkdtemp(prefix="jiaoguan-bench-")
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "jiaoguan.settings"
    env["JIAOGUAN_DATA_DIR"] = data_dir
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        f"--persons={args.persons}",
        f"--seed={args.seed}",
        f"--today={args.today}",
        f"--batch-size={args.batch_size}",
    ]
    print(f"{label}: generating {args.persons:,} persons ...", flush=True)
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    print(
        f"{label}: failed (exit {done.returncode})\n{done.stdout[-2000:]}{done.stderr[-4000:]}",
        file=sys.stderr,
    )
    return None


def _postgres(server_url: str, args: argparse.Namespace) -> dict | None:
    import psycopg

    admin_url = _with_database(server_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    try:
        return _run("postgresql", _with_database(server_url, BENCH_DATABASE), args)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def _print_table(results: list[tuple[str, dict]]) -> None:
    header = (
        f"{'database':<30}{'persons':>10}{'vehicles':>10}{'licences':>10}{'total rows':>12}"
        f"{'seconds':>10}{'rows/s':>10}{'peak RSS MiB':>14}"
    )
    print()
    print(header)
    print("-" * len(header))
    for label, r in results:
        c = r["counts"]
        name = f"{label} ({r['server']})"
        print(
            f"{name:<30}{c['persons']:>10,}{c['vehicles']:>10,}{c['licences']:>10,}{r['total']:>12,}"
            f"{r['seconds']:>10.1f}{r['total'] / r['seconds']:>10,.0f}{r['peak_rss_mib']:>14.0f}"
        )
    print()
    for label, r in results:
        c = r["counts"]
        print(
            f"{label}: also {c['organisations']} organisations and {c['points_entries']:,} points entries; "
            f"migrations took {r['migrate_seconds']:.1f} s (not counted)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", default=date.today().isoformat(), help="YYYY-MM-DD (default: today)")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument(
        "--pg", metavar="URL", help="PostgreSQL server URL, e.g. postgresql://postgres@127.0.0.1:5432/"
    )
    parser.add_argument("--no-sqlite", action="store_true", help="run PostgreSQL only")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    pg_url = args.pg or (os.environ.get("DATABASE_URL") or "")
    if pg_url and not _is_postgres(pg_url):
        pg_url = ""
    results: list[tuple[str, dict]] = []
    if not args.no_sqlite:
        result = _run("sqlite", None, args)
        if result:
            results.append(("sqlite", result))
    if pg_url:
        result = _postgres(pg_url, args)
        if result:
            results.append(("postgresql", result))
    if results:
        _print_table(results)
    if len(results) < (0 if args.no_sqlite else 1) + (1 if pg_url else 0):
        sys.exit(1)


if __name__ == "__main__":
    main()
