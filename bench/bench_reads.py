"""Benchmark: the platform's most frequent reads side by side with a bare Django project (issue 12).

    .venv/bin/python bench/bench_reads.py --database-url postgresql://postgres@127.0.0.1:5432/
    .venv/bin/python bench/bench_reads.py --rounds 5 --duration 10     # longer
    .venv/bin/python bench/bench_reads.py --keep-database              # reuse it next time
    .venv/bin/python bench/bench_reads.py --profile                    # in-process profile only

The load generator is wrk (``apt-get install -y wrk``; https://github.com/wg/wrk). A fresh
database ``jiaoguan_bench_reads`` is created on the server the URL names (whatever database
it names is left alone) with the demo data of ``jiaoguan up`` (``--persons``, fixed seed),
its logins, camera violations and electronic inspection marks. One demo citizen gets a bearer
token (``POST /api/v1/auth/tokens`` underneath) and a browser session.

Two servers then run on that database with the same settings (gunicorn, ``--workers`` sync
workers, persistent connections): the platform (``jiaoguan.wsgi``) and the bare project in
bench/bare/ (startproject's middleware, a JSON view without the database and a primary-key
read of a vehicle). wrk drives each endpoint in turn (``--threads``, ``--connections``,
``--duration``), one endpoint after another in every round, ``--rounds`` rounds; the table
shows each endpoint's median req/s and p99 over the rounds and its ratio to its ceiling:

- ``me/vehicles``, ``me/licences``, ``me/violations``, ``me/messages`` (bearer token, the
  message centre's first page, issue 15) against the ORM read:
  target at least 0.8 of its req/s with a p99 at most twice its p99;
- ``credentials/verify`` (an offline inspection mark, valid) against the JSON view: 0.6;
- the citizen home page (HTML, session cookie) against the ORM read: 0.5.

``--profile`` runs each endpoint a few hundred times in one process through the WSGI application the
servers run (both lanes) under cProfile and prints where the time goes and the SQL each request sends.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
BENCH = Path(__file__).resolve().parent
DATABASE_NAME = "jiaoguan_bench_reads"
RESULT_PREFIX = "BENCH-RESULT "
# --platform-src measures another checkout's code (the same database and bare project), e.g.
# the code before a change: git archive <commit> src | tar -x -C /tmp/before
PLATFORM_SRC = Path(os.environ.get("BENCH_PLATFORM_SRC") or SRC)
SECRET_KEY = "bench-reads-secret-key-not-for-any-real-installation-0123456789"
SEED = 2015


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _platform_env(data_dir: str, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("JIAOGUAN_DEBUG", "JIAOGUAN_LOG_LEVEL"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="jiaoguan.settings",
        DATABASE_URL=database_url,
        JIAOGUAN_DATA_DIR=data_dir,
        JIAOGUAN_CREDENTIAL_KEY_DIR=str(Path(data_dir) / "keys"),
        JIAOGUAN_SECRET_KEY=SECRET_KEY,
        JIAOGUAN_DEMO="0",
        JIAOGUAN_CREDENTIAL_AUTO_KEY="1",
        # As deployed: cache, sessions and the bearer-token cache in Redis.
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(PLATFORM_SRC), env.get("PYTHONPATH", "")])),
    )
    return env


def _bare_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bare.settings",
        DATABASE_URL=database_url,
        JIAOGUAN_SECRET_KEY=SECRET_KEY,
        PYTHONPATH=os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH", "")])),
    )
    return env


def _run_worker(
    mode: str, spec: dict, env: dict[str, str], timeout: float, script: str = __file__
) -> dict | None:
    """Run ``script --worker=mode spec`` (this benchmark's, or another's that shares these helpers)
    and return the result it printed."""
    proc = subprocess.run(
        [sys.executable, script, f"--worker={mode}", json.dumps(spec)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    sys.stdout.write(
        "".join(line + "\n" for line in proc.stdout.splitlines() if not line.startswith(RESULT_PREFIX))
    )
    if proc.returncode != 0:
        print(f"{mode}: failed ({proc.returncode})\n{proc.stderr[-4000:]}", file=sys.stderr)
        return None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    return None


# --------------------------------------------------------------------------- worker: set-up


def worker_setup(spec: dict) -> None:
    """Migrate, load the demo data once, and hand out a token, a session and a credential text."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from jiaoguan.accounts import services as account_services
    from jiaoguan.accounts.models import User
    from jiaoguan.core.counters import ensure_demo_counters
    from jiaoguan.credentials import keys
    from jiaoguan.credentials import services as credential_services
    from jiaoguan.credentials import token as tok
    from jiaoguan.credentials.models import Credential
    from jiaoguan.demo.generate import demo_password, ensure_demo_logins, generate_demo
    from jiaoguan.registry.models import DrivingLicence, Person, Vehicle
    from jiaoguan.violations.demo import ensure_demo_violations
    from jiaoguan.violations.selectors import violations_of

    started = time.perf_counter()
    today = timezone.localdate()
    call_command("migrate", verbosity=0, interactive=False)
    if not Person.objects.exists():
        print(f"setup: demo data, {spec['persons']:,} persons, seed {SEED} ...", flush=True)
        generate_demo(persons=spec["persons"], seed=SEED, today=today)
    keys.signing_key_ready()  # made on the first run (JIAOGUAN_CREDENTIAL_AUTO_KEY)
    password = demo_password()
    logins = ensure_demo_logins(today=today, password=password)
    ensure_demo_counters()
    ensure_demo_violations(today=today, usernames=[row["username"] for row in logins])
    if not Credential.objects.filter(status="valid", kind=Credential.Kind.INSPECTION_MARK).exists():
        credential_services.inspection_marks_bulk_issue(today=today)
        credential_services.credential_status_sync(today=today)
    call_command("migrate", verbosity=0, interactive=False)  # nothing pending: a no-op check

    citizens = User.objects.filter(username__in=[r["username"] for r in logins], kind=User.Kind.INDIVIDUAL)
    citizen = max(citizens, key=lambda u: (violations_of(user=u).count(), -u.pk))
    raw, _ = account_services.api_token_issue(username=citizen.username, password=password)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(citizen)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    # A browser keeps the CSRF cookie its first page set; without it every page would make a new one.
    assert client.get("/").status_code == 200
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    mark = (
        Credential.objects.filter(status="valid", kind=Credential.Kind.INSPECTION_MARK).order_by("pk").first()
    )
    assert mark is not None, "no valid credential to verify"
    text, _ = credential_services.credential_token(credential=mark, mode=tok.DisplayMode.OFFLINE)
    vehicle = Vehicle.objects.filter(owner_person_id=citizen.person_id).order_by("pk").first()
    assert vehicle is not None
    # A message centre with a few pages of messages (issue 15): what a driver of some years has.
    from jiaoguan.notices.delivery import Draft, messages_create
    from jiaoguan.notices.models import Message

    messages_create(
        Draft(
            category="vehicles", title_zh="检验提醒", title_en="Inspection reminder", body_zh=f"提醒{i}",
            body_en=f"Reminder {i}", dedup_key=f"bench-reads-{citizen.person_id}-{i}",
            person_id=citizen.person_id, division=vehicle.division,
        )
        for i in range(120)
    )  # fmt: skip
    print(
        RESULT_PREFIX
        + json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "persons": Person.objects.count(),
                "vehicles": Vehicle.objects.count(),
                "citizen": citizen.username,
                "citizen_vehicles": Vehicle.objects.filter(owner_person_id=citizen.person_id).count(),
                "citizen_licences": DrivingLicence.objects.filter(holder_id=citizen.person_id).count(),
                "citizen_violations": violations_of(user=citizen).count(),
                "citizen_messages": Message.objects.filter(person_id=citizen.person_id).count(),
                "token": raw,
                "session_cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}",
                "credential_text": text,
                "vehicle_pk": vehicle.pk,
            }
        ),
        flush=True,
    )


# --------------------------------------------------------------------------- worker: profile


def worker_profile(spec: dict) -> None:
    """Each endpoint through the WSGI application the servers run (both lanes, jiaoguan/wsgi.py)
    in one process, under cProfile, with its SQL."""
    import cProfile
    import io
    import pstats
    from wsgiref.util import setup_testing_defaults

    from django.db import connection

    from jiaoguan.wsgi import application

    calls = spec["calls"]

    def wsgi_call(method: str, path: str, headers: dict[str, str], body: str | None) -> int:
        data = (body or "").encode()
        environ: dict = {}
        setup_testing_defaults(environ)
        environ.update(
            REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING="", HTTP_HOST="127.0.0.1",
            CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(data)),
        )  # fmt: skip
        environ["wsgi.input"] = io.BytesIO(data)
        for key, value in headers.items():
            environ[f"HTTP_{key.upper().replace('-', '_')}"] = value
        status: list[str] = []
        chunks = application(environ, lambda line, _headers, exc_info=None: status.append(line))
        b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
        return int(status[0].split()[0])

    for name, method, path, headers, body in _platform_requests(spec):

        def call(
            method: str = method, path: str = path, headers: dict = headers, body: str | None = body
        ) -> int:
            return wsgi_call(method, path, headers, body)

        assert call() == 200, f"{name}: not 200"
        queries: list[str] = []

        def note(execute, sql, params, many, context, queries=queries):  # type: ignore[no-untyped-def]
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(note):
            call()
        started = time.perf_counter()
        for _ in range(calls):
            call()
        plain = time.perf_counter() - started
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(calls):
            call()
        profiler.disable()
        elapsed = time.perf_counter() - started
        print(
            f"\n== {name}: {1000 * plain / calls:.2f} ms a request in process "
            f"({1000 * elapsed / calls:.2f} ms under cProfile), {len(queries)} queries"
        )
        for sql in queries:
            print(f"   SQL {sql[:220]}")
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(spec["lines"])
        stats.sort_stats("tottime").print_stats(spec["lines"])
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


# --------------------------------------------------------------------------- load


def _platform_requests(setup: dict) -> list[tuple[str, str, str, dict[str, str], str | None]]:
    bearer = {"Authorization": f"Bearer {setup['token']}"}
    return [
        ("me/vehicles", "GET", "/api/v1/me/vehicles", dict(bearer), None),
        ("me/licences", "GET", "/api/v1/me/licences", dict(bearer), None),
        ("me/violations", "GET", "/api/v1/me/violations", dict(bearer), None),
        ("me/messages", "GET", "/api/v1/me/messages", dict(bearer), None),
        (
            "credentials/verify",
            "POST",
            "/api/v1/credentials/verify",
            {},
            json.dumps({"text": setup["credential_text"]}),
        ),
        ("home page (HTML)", "GET", "/", {"Cookie": setup["session_cookie"]}, None),
    ]


_WRK_LATENCY = re.compile(r"^\s+99(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_WRK_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_WRK_BAD = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def _wrk(args: argparse.Namespace, url: str, method: str, headers: dict[str, str], body: str | None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as script:
        script.write(f"wrk.method = {json.dumps(method)}\n")
        if body is not None:
            script.write(f"wrk.body = {json.dumps(body)}\n")
            script.write('wrk.headers["Content-Type"] = "application/json"\n')
        for key, value in headers.items():
            script.write(f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}\n")
    try:
        out = subprocess.run(
            [
                "wrk", "--latency", "-t", str(args.threads), "-c", str(args.connections),
                "-d", f"{args.duration:g}s", "-s", script.name, url,
            ],
            capture_output=True, text=True, timeout=args.duration + 60,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    rate, p99 = _WRK_RATE.search(out), _WRK_LATENCY.search(out)
    if rate is None or p99 is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    bad = _WRK_BAD.search(out)
    errors = _WRK_ERRORS.search(out)
    return {
        "rps": float(rate.group(1)),
        "p99_ms": float(p99.group(1)) * scale,
        "bad": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def _check(base: str, method: str, path: str, headers: dict[str, str], body: str | None) -> None:
    """One request before the load: the endpoint must answer 200 (not a redirect to the login)."""
    request = urllib.request.Request(
        base + path, method=method, headers={**headers, "Content-Type": "application/json"},
        data=body.encode() if body is not None else None,
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 200 or response.url != base + path:
            raise RuntimeError(f"{path}: {response.status} {response.url}")
        if path == "/api/v1/credentials/verify" and not json.loads(response.read())["valid"]:
            raise RuntimeError("the benchmark's credential does not verify")


def _gunicorn(
    module: str, env: dict[str, str], args: argparse.Namespace, log: Path
) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", module, "--workers", str(args.workers),
                "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--log-level", "warning",
            ],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    return server, port


def _wait(port: int, path: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server on {port} did not come up:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # its own session: this gunicorn only
            server.wait()


def _machine() -> str:
    import platform

    return f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"


def run_load(
    args: argparse.Namespace, setup: dict, platform_env: dict, database_url: str, data_dir: str
) -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk (Debian/Ubuntu) or build it from github.com/wg/wrk")
    platform_log, bare_log = Path(data_dir) / "platform.log", Path(data_dir) / "bare.log"
    platform, platform_port = _gunicorn("jiaoguan.wsgi:application", platform_env, args, platform_log)
    bare, bare_port = _gunicorn("bare.wsgi:application", _bare_env(database_url), args, bare_log)
    try:
        _wait(platform_port, "/api/v1/health", platform, platform_log)
        _wait(bare_port, "/hello", bare, bare_log)
        bare_base, platform_base = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{platform_port}"
        targets: list[tuple[str, str, str, dict[str, str], str | None]] = [
            ("bare JSON view (no database)", bare_base, "/hello", {}, None),
            ("bare ORM primary-key read", bare_base, f"/vehicle/{setup['vehicle_pk']}", {}, None),
        ]
        for name, method, path, headers, body in _platform_requests(setup):
            _check(platform_base, method, path, headers, body)
            targets.append((name, platform_base, path, headers, body if method == "POST" else None))
        methods = {name: method for name, method, *_ in _platform_requests(setup)}
        rounds: dict[str, list[dict]] = {name: [] for name, *_ in targets}
        for number in range(1, args.rounds + 1):
            for name, base, path, headers, body in targets:
                result = _wrk(args, base + path, methods.get(name, "GET"), headers, body)
                rounds[name].append(result)
                print(
                    f"round {number}  {name:<32} {result['rps']:>9,.0f} req/s  p99 {result['p99_ms']:>7.1f} ms"
                    + (f"  non-2xx {result['bad']}" if result["bad"] else ""),
                    flush=True,
                )
    finally:
        _stop(platform)
        _stop(bare)
    _print_table(args, setup, rounds)


CEILINGS = {
    "me/vehicles": ("bare ORM primary-key read", 0.8, 2.0),
    "me/licences": ("bare ORM primary-key read", 0.8, 2.0),
    "me/violations": ("bare ORM primary-key read", 0.8, 2.0),
    # Issue 15: message centre reads at p99 within twice the ORM read's.
    "me/messages": ("bare ORM primary-key read", 0.8, 2.0),
    "credentials/verify": ("bare JSON view (no database)", 0.6, None),
    "home page (HTML)": ("bare ORM primary-key read", 0.5, None),
}


def _print_table(args: argparse.Namespace, setup: dict, rounds: dict[str, list[dict]]) -> None:
    median = {
        name: {
            "rps": statistics.median(r["rps"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "bad": sum(r["bad"] + r["socket_errors"] for r in results),
        }
        for name, results in rounds.items()
    }
    print(
        f"\nmedian of {args.rounds} rounds; wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s; "
        f"gunicorn {args.workers} sync workers each; {_machine()}; {setup['persons']:,} persons, "
        f"{setup['vehicles']:,} vehicles; the citizen has {setup['citizen_vehicles']} vehicles, "
        f"{setup['citizen_licences']} licence(s), {setup['citizen_violations']} violations\n"
    )
    print(f"| {'endpoint':<30} | {'req/s':>7} | {'p99':>8} | {'ratio':>5} | {'p99 ×':>5} | target |")
    print(f"|{'-' * 32}|{'-' * 9}|{'-' * 10}|{'-' * 7}|{'-' * 7}|--------|")
    for name, row in median.items():
        ratio, p99_ratio, verdict = "", "", ""
        if name in CEILINGS:
            ceiling, want, p99_max = CEILINGS[name]
            r = row["rps"] / median[ceiling]["rps"]
            p = row["p99_ms"] / median[ceiling]["p99_ms"]
            ratio, p99_ratio = f"{r:.2f}", f"{p:.2f}"
            met = r >= want and (p99_max is None or p <= p99_max)
            verdict = ("met" if met else "MISSED") + f" ≥{want}" + (f", p99≤{p99_max:g}×" if p99_max else "")
        errors = f"  ({row['bad']} errors)" if row["bad"] else ""
        print(
            f"| {name:<30} | {row['rps']:>7,.0f} | {row['p99_ms']:>5.1f} ms | {ratio:>5} | {p99_ratio:>5} | "
            f"{verdict}{errors}"
        )


# --------------------------------------------------------------------------- main


def main() -> None:
    global PLATFORM_SRC
    if len(sys.argv) == 3 and sys.argv[1].startswith("--worker="):
        sys.path.insert(0, str(PLATFORM_SRC))
        mode, spec = sys.argv[1].split("=", 1)[1], json.loads(sys.argv[2])
        {"setup": worker_setup, "profile": worker_profile}[mode](spec)
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/",
        help="PostgreSQL server (its database part is ignored)",
    )
    parser.add_argument("--persons", type=int, default=20000, help="demo persons (default 20,000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep-database", action="store_true", help="leave the database for the next run")
    parser.add_argument(
        "--platform-src", default="", help="the platform's src/ folder to measure (default: this checkout's)"
    )
    parser.add_argument("--profile", action="store_true", help="profile in process instead of the load")
    parser.add_argument("--profile-calls", type=int, default=300)
    parser.add_argument("--profile-lines", type=int, default=25)
    args = parser.parse_args()
    if args.platform_src:
        PLATFORM_SRC = Path(args.platform_src).resolve()
        os.environ["BENCH_PLATFORM_SRC"] = str(PLATFORM_SRC)  # for the workers started below
        print(f"platform code from {PLATFORM_SRC}", flush=True)
    if urlsplit(args.database_url).scheme not in {"postgres", "postgresql"}:
        sys.exit("the benchmark needs PostgreSQL (--database-url postgresql://...)")

    import psycopg

    server_url = args.database_url
    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    database_url = _with_database(server_url, DATABASE_NAME)
    data_dir = str(Path(tempfile.gettempdir()) / DATABASE_NAME)  # the signing key lives beside the database
    Path(data_dir).mkdir(exist_ok=True)
    env = _platform_env(data_dir, database_url)
    try:
        print(f"setup: {DATABASE_NAME} on {urlsplit(server_url).netloc} ...", flush=True)
        setup = _run_worker("setup", {"persons": args.persons}, env, timeout=3600)
        if setup is None:
            sys.exit(1)
        (Path(data_dir) / "setup.json").write_text(json.dumps(setup), encoding="utf-8")  # for a look by hand
        print(
            f"setup: {setup['seconds']:.0f} s; citizen {setup['citizen']} with {setup['citizen_vehicles']} "
            f"vehicles, {setup['citizen_licences']} licence(s), {setup['citizen_violations']} violations",
            flush=True,
        )
        if args.profile:
            _run_worker(
                "profile",
                {**setup, "calls": args.profile_calls, "lines": args.profile_lines},
                env,
                timeout=3600,
            )
        else:
            run_load(args, setup, env, database_url, data_dir)
    finally:
        if not args.keep_database:
            with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
