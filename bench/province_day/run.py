"""A province's day on this machine (issue 12, item 4): prepare, serve, load, report.

    .venv/bin/python bench/province_day/run.py                       # 3 minutes, 60 users
    .venv/bin/python bench/province_day/run.py --users 120 --time 5m
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/province_day/run.py

1. Creates the PostgreSQL database ``jiaoguan_province_day`` on ``--pg`` (dropped at the end
   unless ``--keep``) and fills it with ``prepare.py``: the demo registry (``--persons``),
   ``--citizens`` online logins with the demo password, their camera records, electronic
   inspection marks and ``--accidents`` accident cases with query codes.
2. Starts the fake payment gateway as its own HTTP service, and the platform in production
   settings (no demo mode, PostgreSQL, Redis when ``REDIS_URL`` is set): ``jiaoguan serve``
   and ``jiaoguan worker`` where those commands exist (they need ``REDIS_URL``), else gunicorn
   ``jiaoguan.wsgi:application`` with ``--workers`` sync workers and a loop running
   ``jiaoguan dispatch_outbox`` every 5 s as the worker.
3. Runs locust headless (``locustfile.py``, the mix of docs/scaling.md) for ``--time`` with
   ``--users`` simulated people, and prints per request type and overall: requests, req/s,
   p50, p99, failures and the answers by status class. Requests to the fake gateway are
   listed but left out of the platform's totals. Exit status 1 when the platform answered
   any 5xx or failed any request.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATABASE = "jiaoguan_province_day"
GATEWAY_PREFIX = "gateway:"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"province day: {process.args[:4]} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"province day: nothing listens on port {port} after {seconds:.0f} s")


def _serve_help() -> str | None:
    """The help of ``jiaoguan serve`` when this checkout has that command, else None."""
    done = subprocess.run(
        [sys.executable, "-m", "jiaoguan.cli", "serve", "--help"],
        capture_output=True, text=True, cwd=ROOT, check=False, env=dict(os.environ, JIAOGUAN_DEMO="0"),
    )  # fmt: skip
    return done.stdout if done.returncode == 0 and "usage" in done.stdout.lower() else None


def _server_command(port: int, workers: int) -> tuple[list[str], str]:
    # `serve` refuses to start without Redis; without it the run falls back to gunicorn.
    help_text = _serve_help() if os.environ.get("REDIS_URL") else None
    if help_text is not None:
        command = [sys.executable, "-m", "jiaoguan.cli", "serve"]
        for option, value in (("--host", "127.0.0.1"), ("--port", str(port)), ("--workers", str(workers))):
            if option in help_text:
                command += [option, value]
        if "--bind" in help_text and "--port" not in help_text:
            command += ["--bind", f"127.0.0.1:{port}"]
        return command, "jiaoguan serve"
    return [
        sys.executable, "-m", "gunicorn", "jiaoguan.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60",
    ], f"gunicorn jiaoguan.wsgi:application ({workers} sync workers)"  # fmt: skip


def _outbox_loop(env: dict[str, str]) -> subprocess.Popen:
    """The background worker of the gunicorn fallback: the outbox every 5 s, as ``jiaoguan up`` does."""
    script = (
        "import subprocess, sys, time\n"
        "while True:\n"
        "    subprocess.run([sys.executable, '-m', 'jiaoguan.cli', 'dispatch_outbox'], check=False)\n"
        "    time.sleep(5)\n"
    )
    return subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


def _cpu_seconds(server: subprocess.Popen, database_url: str) -> dict[int, float]:
    """CPU seconds used so far by the web server's processes and this database's backends, by pid.

    On a machine shared with other work, requests per second tell how busy the machine was;
    CPU seconds per request tell what a request costs, whoever else is running.
    """
    import psutil
    import psycopg

    processes = [psutil.Process(server.pid)]
    processes += processes[0].children(recursive=True)
    with psycopg.connect(database_url, autocommit=True) as db:
        backends = [
            pid
            for (pid,) in db.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    used: dict[int, float] = {}
    for process in processes + [psutil.Process(pid) for pid in backends if psutil.pid_exists(pid)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        used[process.pid] = (
            times.user
            + times.system
            + getattr(times, "children_user", 0)
            + getattr(times, "children_system", 0)
        )
    return used


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _report(stats_csv: Path, summary: dict[str, dict[str, int]], seconds: float) -> bool:
    rows = list(csv.DictReader(stats_csv.open(encoding="utf-8")))
    lines = [r for r in rows if r["Name"] != "Aggregated"]
    platform = [r for r in lines if not r["Name"].startswith(GATEWAY_PREFIX)]

    def n(row: dict[str, str], key: str) -> float:
        return float(row[key] or 0)

    header = f"{'request':<58}{'count':>8}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'fail':>6}  answers"
    print("\n" + header + "\n" + "-" * (len(header) + 20))
    for row in sorted(lines, key=lambda r: -n(r, "Request Count")):
        answers = " ".join(f"{k}:{v}" for k, v in sorted(summary.get(row["Name"], {}).items()))
        print(
            f"{row['Name'][:57]:<58}{int(n(row, 'Request Count')):>8}{n(row, 'Requests/s'):>8.1f}"
            f"{n(row, '50%'):>8.0f}{n(row, '99%'):>8.0f}{int(n(row, 'Failure Count')):>6}  {answers}"
        )
    total = sum(n(r, "Request Count") for r in platform)
    failures = sum(n(r, "Failure Count") for r in platform)
    server_errors = sum(
        count for name, counts in summary.items() if not name.startswith(GATEWAY_PREFIX)
        for outcome, count in counts.items() if outcome in ("5xx", "no answer")
    )  # fmt: skip
    aggregated = next((r for r in rows if r["Name"] == "Aggregated"), None)
    print("-" * (len(header) + 20))
    print(f"platform requests       {int(total):,} in {seconds:.0f} s: {total / seconds:.1f} req/s sustained")
    if aggregated is not None:  # the gateway's few requests barely move the percentiles
        print(f"all requests            p50 {n(aggregated, '50%'):.0f} ms, p99 {n(aggregated, '99%'):.0f} ms")
    print(f"failed requests         {int(failures)}")
    print(f"5xx or no answer        {int(server_errors)}")
    return failures == 0 and server_errors == 0


def _table_sizes(database_url: str) -> None:
    """Rows, size on disk (table, indexes and TOAST) and bytes per row of the largest tables.

    Measured after the load, so the tables a day fills (audit, tokens, nonces, orders ...) have
    rows; docs/scaling.md multiplies these by a province's daily counts.
    """
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute("ANALYZE")
        tables = [
            name for (name,) in db.execute(
                "SELECT relname FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC LIMIT 40"
            )
        ]  # fmt: skip
        rows = []
        for name in tables:
            (count,) = db.execute(f'SELECT count(*) FROM "{name}"').fetchone()  # our own table names
            (size,) = db.execute("SELECT pg_total_relation_size(%s::regclass)", [name]).fetchone()
            (tuple_size,) = db.execute(f'SELECT avg(pg_column_size(t.*)) FROM "{name}" t').fetchone()
            rows.append((name, count, size, tuple_size))
    # bytes/row: everything on disk over the rows (small tables: mostly empty pages);
    # row bytes: the average row itself, without page, index or tuple-header overhead.
    header = f"{'table':<34}{'rows':>10}{'total kB':>10}{'bytes/row':>11}{'row bytes':>11}"
    print("\n" + header + "\n" + "-" * len(header))
    for name, count, size, tuple_size in rows:
        per_row = f"{size / count:>11.0f}{float(tuple_size):>11.0f}" if count else f"{'-':>11}{'-':>11}"
        print(f"{name:<34}{count:>10,}{size / 1024:>10,.0f}{per_row}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/", help="PostgreSQL server URL")
    parser.add_argument("--persons", type=int, default=20000)
    parser.add_argument("--citizens", type=int, default=2000)
    parser.add_argument("--accidents", type=int, default=300)
    parser.add_argument("--users", type=int, default=60, help="simulated people at once")
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--time", default="3m", help="locust run time, e.g. 90s, 3m")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes")
    parser.add_argument(
        "--sizes", action="store_true", help="then print rows and bytes per row of the largest tables"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the data folder")
    args = parser.parse_args()

    import psycopg

    admin_url = _with_database(args.pg, "postgres")
    database_url = _with_database(args.pg, DATABASE)
    data_dir = Path(tempfile.mkdtemp(prefix="jiaoguan-province-day-"))
    port, gateway_port = _free_port(), _free_port()
    gateway_key = secrets.token_hex(32)
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="jiaoguan.settings",
        DATABASE_URL=database_url,
        JIAOGUAN_DATA_DIR=str(data_dir),
        JIAOGUAN_DEMO="0",
        JIAOGUAN_SECRET_KEY=secrets.token_urlsafe(50),
        JIAOGUAN_ACCIDENT_CODE_SECRET=secrets.token_urlsafe(32),
        JIAOGUAN_ALLOWED_HOSTS="127.0.0.1,localhost",
        JIAOGUAN_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        JIAOGUAN_PAYMENT_GATEWAY_URL=f"http://127.0.0.1:{gateway_port}",
        JIAOGUAN_PAYMENT_GATEWAY_KEY=gateway_key,
        JIAOGUAN_CREDENTIAL_AUTO_KEY="1",
        JIAOGUAN_ACCIDENT_LOCAL_ROLLOUT="online_query=2020-06-01,evidence_review=2021-07-01",
    )
    fixture, summary_file = data_dir / "fixture.json", data_dir / "summary.json"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
    gateway = server = worker = None
    ok = False
    try:
        subprocess.run(
            [sys.executable, str(HERE / "prepare.py"), f"--persons={args.persons}", f"--citizens={args.citizens}",
             f"--accidents={args.accidents}", f"--out={fixture}"],
            env=env, cwd=ROOT, check=True,
        )  # fmt: skip
        gateway = subprocess.Popen(
            [sys.executable, "-m", "jiaoguan.integrations.fake_payment_gateway", "--port", str(gateway_port),
             "--key", gateway_key],
            env=env, cwd=ROOT,
        )  # fmt: skip
        command, how = _server_command(port, args.workers)
        server = subprocess.Popen(command, env=env, cwd=ROOT)
        # The production profile's background work runs in `jiaoguan worker`, as deployed.
        worker = (
            _outbox_loop(env)
            if how.startswith("gunicorn")
            else subprocess.Popen([sys.executable, "-m", "jiaoguan.cli", "worker"], env=env, cwd=ROOT)
        )
        _wait_for(gateway_port, gateway)
        _wait_for(port, server)
        print(f"province day: platform on :{port} by {how}; Redis {'on' if env.get('REDIS_URL') else 'off'}")
        print(f"province day: locust, {args.users} users for {args.time} ...", flush=True)
        cpu_before = _cpu_seconds(server, database_url)
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless", "--only-summary",
             "-H", f"http://127.0.0.1:{port}", "-u", str(args.users), "-r", str(args.spawn_rate),
             "-t", args.time, "--csv", str(data_dir / "locust"), "--loglevel", "WARNING"],
            env=dict(env, PROVINCE_DAY_FIXTURE=str(fixture), PROVINCE_DAY_SUMMARY=str(summary_file)),
            cwd=ROOT, check=False,
        )  # fmt: skip
        seconds = time.monotonic() - started
        cpu_after = _cpu_seconds(server, database_url)
        summary = json.loads(summary_file.read_text(encoding="utf-8")) if summary_file.exists() else {}
        ok = _report(data_dir / "locust_stats.csv", summary, seconds)
        # Backends that ended during the run are missed, new ones counted whole: an estimate.
        cpu = sum(after - cpu_before.get(pid, 0.0) for pid, after in cpu_after.items())
        requests = sum(
            sum(counts.values()) for name, counts in summary.items() if not name.startswith(GATEWAY_PREFIX)
        )
        if requests:
            print(
                f"platform CPU            {cpu:.0f} s (web processes and their PostgreSQL backends): "
                f"{1000 * cpu / requests:.1f} ms per request, {requests / cpu:.0f} req/s per core of this mix"
            )
        if args.sizes:
            _table_sizes(database_url)
    finally:
        for process in (worker, server, gateway):
            _stop(process)
        if not args.keep:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            print(f"province day: kept database {DATABASE} and {data_dir}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
