"""Benchmark: the applications staff queue and "my applications" on a province's year (issue 13).

    .venv/bin/python bench/bench_applications.py --database-url postgresql://postgres@127.0.0.1:5432/
    .venv/bin/python bench/bench_applications.py --applications 300000   # a quicker, smaller year
    .venv/bin/python bench/bench_applications.py --keep-database         # reuse the data next time

A database ``jiaoguan_bench_applications`` is created on the server the URL names, with the
demo data of ``jiaoguan up`` (``--persons``), one login per demo person, and a year of
applications for a province (``--applications``, default 3,000,000: about what a province of
100 million people files in a year) loaded with ``COPY``. Rows are spread over Henan's
cities alike, their dates over the last 365 days; those older than a week are finished
(completed, rejected or withdrawn), the rest are open in every state, as in a queue at work.
Timeline events are not generated: neither measured read touches them.

Two servers then run on that database (gunicorn, ``--workers`` sync workers): the platform
and the bare project of bench/bare/ (startproject's middleware and a primary-key read of a
vehicle). wrk (``apt-get install -y wrk``) drives, in every round, the bare ORM read, the
staff queue page ``/counter/applications/`` of a Zhumadian counter clerk (HTML, session
cookie) and ``GET /api/v1/me/applications`` of a demo citizen (bearer token). The target
(issue 13): each at a p99 within twice the ORM read's p99 in the same run.

The server and load helpers are shared with bench/bench_reads.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import bench_reads as shared  # noqa: E402  (bench/ is not a package)

DATABASE_NAME = "jiaoguan_bench_applications"
RESULT_PREFIX = shared.RESULT_PREFIX
SEED = 13
QUEUE_PATH = "/counter/applications/"
MINE_PATH = "/api/v1/me/applications"
ORM_READ = "bare ORM primary-key read"


# --------------------------------------------------------------------------- worker: set-up


def _row_factory(model, explicit: set[str]):  # type: ignore[no-untyped-def]
    """Columns to COPY and, for the columns the generator does not set, the value every row gets.

    Read from the model, so a column added later is filled with its default (or NULL, or '')
    instead of breaking the benchmark.
    """
    from django.db.models import NOT_PROVIDED, CharField, TextField
    from django.db.models.fields.json import JSONField

    columns, fixed = [], {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field)
        if field.attname in explicit:
            continue
        if field.null:
            fixed[field.attname] = None
        elif field.default is not NOT_PROVIDED:
            value = field.default() if callable(field.default) else field.default
            fixed[field.attname] = json.dumps(value) if isinstance(field, JSONField) else value
        elif isinstance(field, (CharField, TextField)):
            fixed[field.attname] = ""
        else:
            raise RuntimeError(f"{model.__name__}.{field.name}: no value for a NOT NULL column")
    return columns, fixed


def _copy(cursor, model, columns, rows) -> int:  # type: ignore[no-untyped-def]
    table = model._meta.db_table
    names = ", ".join(f'"{field.column}"' for field in columns)
    count = 0
    with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _users_for_persons(cursor) -> None:  # type: ignore[no-untyped-def]
    """One individual login per demo person without one (unusable password): the applicants."""
    from django.utils import timezone

    from jiaoguan.accounts.models import User
    from jiaoguan.registry.models import Person

    have = set(User.objects.exclude(person_id=None).values_list("person_id", flat=True))
    persons = list(Person.objects.exclude(pk__in=have).values_list("pk", "id_number", "mobile"))
    explicit = {"username", "password", "kind", "registration_level", "person_id", "date_joined", "mobile"}
    columns, fixed = _row_factory(User, explicit)
    now = timezone.now()

    def rows():  # type: ignore[no-untyped-def]
        for pk, id_number, mobile in persons:
            values = {
                **fixed,
                "username": id_number,
                "password": "!",
                "kind": "individual",
                "registration_level": "online",
                "person_id": pk,
                "date_joined": now,
                "mobile": mobile or "",
            }
            yield [values[field.attname] for field in columns]

    made = _copy(cursor, User, columns, rows())
    print(f"setup: {made:,} applicant logins", flush=True)


def _applications(cursor, *, count: int, citizen_id: int, citizen_person_id: int, today) -> int:  # type: ignore[no-untyped-def]
    """A year of applications for the province, finished ones and an open queue (see the module doc)."""
    from django.utils import timezone

    from jiaoguan.accounts.models import User
    from jiaoguan.applications import catalogue, deadlines
    from jiaoguan.applications.models import Application
    from jiaoguan.applications.rules import OPEN_STATES, State
    from jiaoguan.core.divisions import DIVISIONS

    rng = random.Random(SEED)
    # Every city of Henan alike, a county inside it by number: the table in core.divisions names
    # only the demo's counties, and Zhumadian's share must be a city's, not most of the province.
    cities = sorted(
        code[:4]
        for code in DIVISIONS
        if len(code) == 6 and code.startswith("41") and code.endswith("00") and code != "410000"
    )
    counties = [f"{city}{n:02d}" for city in cities for n in range(1, 11)]
    applicants = list(
        User.objects.filter(kind="individual").exclude(pk=citizen_id).values_list("pk", "person_id")
    )
    codes = sorted(catalogue.CATALOGUE)
    finished = [State.COMPLETED] * 90 + [State.REJECTED] * 4 + [State.WITHDRAWN] * 6
    open_states = sorted(OPEN_STATES)
    explicit = {
        "number", "business_code", "applicant_id", "subject_person_id", "division", "state",
        "fee_fen", "accept_due_on", "deadline_known", "created_at", "submitted_at", "accepted_at",
        "completed_at", "delivery_method",
    }  # fmt: skip
    columns, fixed = _row_factory(Application, explicit)
    now = timezone.now()
    serial: dict[tuple[str, object], int] = {}
    open_pairs: set[tuple[int, str]] = set()
    tz = timezone.get_current_timezone()
    # The deadline of each day, before and after the day's cut-off, worked out before COPY
    # starts: the calendar reads its table on the connection the COPY holds.
    due: dict[tuple[object, bool], tuple[object, bool]] = {}
    for back in range(-1, 368):
        day = today - timedelta(days=back)
        for hour in (9, 18):
            moment = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
            due[(day, moment.hour >= 17)] = deadlines.accept_due(moment)

    def one(applicant_id: int, person_id: int, at: datetime, *, open_ok: bool = True) -> list:
        code = rng.choice(codes)
        entry = catalogue.CATALOGUE[code]
        division = rng.choice(counties)
        day = at.astimezone(tz).date()
        serial[(division, day)] = serial.get((division, day), 0) + 1
        age = now - at
        state = rng.choice(finished)
        if age < timedelta(days=7) and open_ok and (applicant_id, code) not in open_pairs:
            state = rng.choice(open_states)
            open_pairs.add((applicant_id, code))
        local = at.astimezone(tz)
        due_on, known = due[(local.date(), local.hour >= 17)]
        done = state in (State.COMPLETED, State.REJECTED, State.WITHDRAWN)
        values = {
            **fixed,
            "number": f"{division}-{day:%Y%m%d}-{serial[(division, day)]:05d}",
            "business_code": code,
            "applicant_id": applicant_id,
            "subject_person_id": person_id,
            "division": division,
            "state": state,
            "fee_fen": catalogue.fee_on(code, day),
            "accept_due_on": due_on,
            "deadline_known": known,
            "created_at": at,
            "submitted_at": at,
            "accepted_at": at + timedelta(hours=5)
            if state not in (State.SUBMITTED, State.RETURNED)
            else None,
            "completed_at": at + timedelta(days=3) if done else None,
            "delivery_method": rng.choice(entry.delivery) if entry.delivery else "",
        }
        if state == State.REJECTED:
            values["reject_reason"] = "材料不全"
        if state == State.POSTED:
            values["waybill_number"] = f"EB{rng.randrange(10**8):08d}0CN"
        return [values[field.attname] for field in columns]

    def rows():  # type: ignore[no-untyped-def]
        # The citizen measured through the API: a dozen applications over the year, one open.
        for n in range(12):
            yield one(citizen_id, citizen_person_id, now - timedelta(days=30 * n + 1), open_ok=n == 0)
        for _ in range(count - 12):
            applicant_id, person_id = rng.choice(applicants)
            yield one(applicant_id, person_id, now - timedelta(seconds=rng.randrange(365 * 86400)))

    started = time.perf_counter()
    made = _copy(cursor, Application, columns, rows())
    print(f"setup: {made:,} applications by COPY in {time.perf_counter() - started:.0f} s", flush=True)
    return made


def worker_setup(spec: dict) -> None:
    """Migrate, load the demo data and the year of applications once, hand out a session and a token."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from jiaoguan.accounts import services as account_services
    from jiaoguan.accounts.models import User
    from jiaoguan.applications.models import Application
    from jiaoguan.demo.generate import demo_password, ensure_demo_logins, generate_demo
    from jiaoguan.registry.models import Person, Vehicle

    started = time.perf_counter()
    today = timezone.localdate()
    call_command("migrate", verbosity=0, interactive=False)
    if not Person.objects.exists():
        print(f"setup: demo data, {spec['persons']:,} persons ...", flush=True)
        generate_demo(persons=spec["persons"], seed=SEED, today=today)
    password = demo_password()
    logins = ensure_demo_logins(today=today, password=password)
    citizen = (
        User.objects.filter(username__in=[r["username"] for r in logins], kind=User.Kind.INDIVIDUAL)
        .order_by("pk")
        .first()
    )
    assert citizen is not None and citizen.person_id
    if not Application.objects.exists():
        with transaction.atomic(), connection.cursor() as wrapper:
            raw = wrapper.cursor
            _users_for_persons(raw)
            _applications(
                raw, count=spec["applications"], citizen_id=citizen.pk, citizen_person_id=citizen.person_id,
                today=today,
            )  # fmt: skip
        with connection.cursor() as cursor:
            # As autovacuum would leave it after a day: statistics, and the visibility map that
            # lets the queue read a page's ids from the index alone.
            cursor.execute("VACUUM ANALYZE")
    raw_token, _ = account_services.api_token_issue(username=citizen.username, password=password)
    clerk = User.objects.get(username="clerk")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(clerk)
    assert client.get("/").status_code in (200, 302)
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    vehicle = Vehicle.objects.order_by("pk").first()
    assert vehicle is not None
    prefix = clerk.jurisdiction[:4]
    print(
        RESULT_PREFIX
        + json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "persons": Person.objects.count(),
                "applications": Application.objects.count(),
                "open_in_jurisdiction": Application.objects.filter(
                    division__startswith=prefix, completed_at=None, rejected_at=None, withdrawn_at=None
                )
                .exclude(state__in=["completed", "rejected", "withdrawn"])
                .count(),
                "citizen_applications": Application.objects.filter(applicant_id=citizen.pk).count(),
                "token": raw_token,
                "clerk_cookie": cookie,
                "vehicle_pk": vehicle.pk,
                "session_cookie_name": settings.SESSION_COOKIE_NAME,
            }
        ),
        flush=True,
    )


# --------------------------------------------------------------------------- load


def _requests(setup: dict) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("staff queue page (HTML)", QUEUE_PATH, {"Cookie": setup["clerk_cookie"]}),
        ("me/applications (API)", MINE_PATH, {"Authorization": f"Bearer {setup['token']}"}),
    ]


def run_load(args: argparse.Namespace, setup: dict, env: dict, database_url: str, data_dir: str) -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    platform_log, bare_log = Path(data_dir) / "platform.log", Path(data_dir) / "bare.log"
    platform, platform_port = shared._gunicorn("jiaoguan.wsgi:application", env, args, platform_log)
    bare, bare_port = shared._gunicorn(
        "bare.wsgi:application", shared._bare_env(database_url), args, bare_log
    )
    rounds: dict[str, list[dict]] = {}
    try:
        shared._wait(platform_port, "/api/v1/health", platform, platform_log)
        shared._wait(bare_port, "/hello", bare, bare_log)
        platform_base, bare_base = f"http://127.0.0.1:{platform_port}", f"http://127.0.0.1:{bare_port}"
        targets = [(ORM_READ, bare_base + f"/vehicle/{setup['vehicle_pk']}", {})]
        for name, path, headers in _requests(setup):
            shared._check(platform_base, "GET", path, headers, None)
            targets.append((name, platform_base + path, headers))
        rounds = {name: [] for name, *_ in targets}
        for number in range(1, args.rounds + 1):
            for name, url, headers in targets:
                result = shared._wrk(args, url, "GET", headers, None)
                rounds[name].append(result)
                print(
                    f"round {number}  {name:<28} {result['rps']:>8,.0f} req/s  p99 {result['p99_ms']:>7.1f} ms"
                    + (f"  non-2xx {result['bad']}" if result["bad"] else ""),
                    flush=True,
                )
    finally:
        shared._stop(platform)
        shared._stop(bare)
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
        f"gunicorn {args.workers} sync workers each; {shared._machine()}; {setup['applications']:,} "
        f"applications, {setup['open_in_jurisdiction']:,} open in the clerk's jurisdiction; the citizen has "
        f"{setup['citizen_applications']}\n"
    )
    print(f"| {'endpoint':<28} | {'req/s':>7} | {'p99':>8} | {'p99 ×':>5} | target |")
    print(f"|{'-' * 30}|{'-' * 9}|{'-' * 10}|{'-' * 7}|--------|")
    base = median[ORM_READ]["p99_ms"]
    for name, row in median.items():
        ratio, verdict = "", ""
        if name != ORM_READ:
            p = row["p99_ms"] / base
            ratio, verdict = f"{p:.2f}", ("met" if p <= 2.0 else "MISSED") + " p99≤2×"
        errors = f"  ({row['bad']} errors)" if row["bad"] else ""
        print(
            f"| {name:<28} | {row['rps']:>7,.0f} | {row['p99_ms']:>5.1f} ms | {ratio:>5} | {verdict}{errors}"
        )


# --------------------------------------------------------------------------- main


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--worker=setup":
        sys.path.insert(0, str(shared.SRC))
        worker_setup(json.loads(sys.argv[2]))
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
    parser.add_argument(
        "--applications", type=int, default=3_000_000, help="applications (default 3,000,000)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep-database", action="store_true", help="leave the database for the next run")
    args = parser.parse_args()
    if urlsplit(args.database_url).scheme not in {"postgres", "postgresql"}:
        sys.exit("the benchmark needs PostgreSQL (--database-url postgresql://...)")

    import psycopg

    server_url = args.database_url
    with psycopg.connect(shared._with_database(server_url, "postgres"), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone():
            admin.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    database_url = shared._with_database(server_url, DATABASE_NAME)
    data_dir = str(Path(tempfile.gettempdir()) / DATABASE_NAME)
    Path(data_dir).mkdir(exist_ok=True)
    env = shared._platform_env(data_dir, database_url)
    try:
        print(f"setup: {DATABASE_NAME} on {urlsplit(server_url).netloc} ...", flush=True)
        proc_spec = {"persons": args.persons, "applications": args.applications}
        setup = shared._run_worker("setup", proc_spec, env, timeout=7200, script=__file__)
        if setup is None:
            sys.exit(1)
        print(
            f"setup: {setup['seconds']:.0f} s; {setup['applications']:,} applications, "
            f"{setup['open_in_jurisdiction']:,} open in the clerk's jurisdiction",
            flush=True,
        )
        run_load(args, setup, env, database_url, data_dir)
    finally:
        if not args.keep_database:
            with psycopg.connect(shared._with_database(server_url, "postgres"), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
