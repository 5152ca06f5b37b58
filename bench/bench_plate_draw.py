"""Benchmark: 5,000 buyers drawing plate numbers within a minute on PostgreSQL (issue 17 §5, P5).

    .venv/bin/python bench/bench_plate_draw.py
    .venv/bin/python bench/bench_plate_draw.py --users 2000 --pool 10000 --processes 4 --threads 2

Environment: a PostgreSQL server (``--database-url``, default ``$DATABASE_URL`` or
postgresql://postgres@127.0.0.1:5432/; only its server part is used) on which the benchmark may
create and drop the database ``jiaoguan_proofs_bench``; ``--redis-url`` (or ``$BENCH_REDIS_URL``)
puts the selection limits in Redis as deployed, otherwise they are counted in the process's memory.
Run from the repository root with the project's virtual environment.

Set-up (not timed): the database is migrated; a counter clerk opens the 豫Q small-car pool and
generates ``--pool`` numbers (default 30,000) through ``services.pool_numbers_add``; ``--users``
citizens (default 5,000) each with a new car pre-registered by a dealer are written in the tables.

Measured with ``--processes`` forked worker processes (default 8, like a server's sync workers,
one interpreter lock each) of ``--threads`` threads (default 1), each on its own connection, every
call its own transaction:

- the platform: every buyer calls ``services.selection_start(mode="random")`` once, as fast as
  the threads go (the pool row lock, the day's seed, the log entry, the audit record, the limits);
- the baseline in the same run: the same number of draws on a plain table of the same size,
  ``SELECT id FROM ... WHERE state = 'free' ORDER BY position LIMIT 5 FOR UPDATE SKIP LOCKED``
  then ``UPDATE ... SET state = 'held', holder = ...``, raw SQL on the same connections;
- the day's replay: the public day file read back and every draw recomputed by ``draws.replay``.

Printed: draws, refusals, draws/s, p50 and p99 for both, the platform's throughput as a ratio of
the baseline's, whether 5,000 fit in a minute, the replay's time, and from the database the
double holds (a number held by two selections, or two selections listing one candidate; must be 0).
"""

from __future__ import annotations

import argparse
import os
import queue
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE_NAME = "jiaoguan_proofs_bench"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _django(database_url: str, redis_url: str, data_dir: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="jiaoguan.settings",
        DATABASE_URL=database_url,
        JIAOGUAN_DATA_DIR=data_dir,
        JIAOGUAN_CREDENTIAL_KEY_DIR=str(Path(data_dir) / "keys"),
        JIAOGUAN_SECRET_KEY="bench-plate-draw-secret-key-not-for-any-real-installation-0123456789",
        JIAOGUAN_DEMO="0",
        JIAOGUAN_CREDENTIAL_AUTO_KEY="1",
        JIAOGUAN_DB_CONN_MAX_AGE="600",
    )
    for name in ("JIAOGUAN_DEBUG", "REDIS_URL"):
        os.environ.pop(name, None)
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def _setup(users: int, pool_size: int) -> tuple[int, list[tuple[object, str]]]:
    """The pool (generated through the services) and the buyers with their cars (in the tables)."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from jiaoguan.accounts.models import User
    from jiaoguan.accounts.services import staff_create
    from jiaoguan.core.identifiers import make_citizen_id, make_uscc, make_vin
    from jiaoguan.plates import services
    from jiaoguan.plates.models import PreRegistration
    from jiaoguan.registry.models import Organisation, Person

    call_command("migrate", verbosity=0, interactive=False)
    clerk = staff_create(
        username="clerk-bench", password="Counter#2026x", role="counter_clerk", jurisdiction="411700"
    )
    # Series of 10,000 (A0000-A9999, B0000-...), as many as the pool needs, the last one narrowed.
    series, left = [], pool_size
    for letter in "ABCDEFGHJK":
        if left <= 0:
            break
        if left >= 10000:
            series.append(f"{letter}dddd")
            left -= 10000
        else:
            series += [f"{letter}{n}ddd" for n in range(left // 1000)]
            left -= 1000 * (left // 1000)
    pool = services.pool_create(
        actor=clerk, division="411702", rules_data={"plate_type": "02", "patterns": series, "max_letters": 1}
    )
    batch = services.pool_numbers_add(actor=clerk, pool_id=pool.pk)
    print(f"setup: pool {pool.key} of {batch.added:,} numbers ({', '.join(series)})", flush=True)

    today = timezone.localdate()
    dealer = Organisation.objects.create(
        uscc=make_uscc("91411702MA9BENCH1"),
        name="驻马店市基准汽车销售有限公司",
        kind="car_dealer",
        division="411702",
    )
    mobile = "13903960001"
    born = [today.replace(year=today.year - 30) - timedelta(days=n // 400) for n in range(users)]
    persons = Person.objects.bulk_create(
        [
            Person(
                id_number=make_citizen_id("411702", born[n], 1 + 2 * (n % 400)), name="王芳", sex="F",
                birth_date=born[n], residence_division="411702", mobile=mobile,
            )
            for n in range(users)
        ],
        batch_size=2000,
    )  # fmt: skip
    accounts = User.objects.bulk_create(
        [
            User(username=p.id_number, person=p, kind="individual", registration_level="online", password="!",
                 mobile=mobile)
            for p in persons
        ],
        batch_size=2000,
    )  # fmt: skip
    cars = PreRegistration.objects.bulk_create(
        [
            PreRegistration(
                dealer=dealer, vin=make_vin(f"LRW3E7EA1P{n:07d}"), plate_type="02", brand_model="特斯拉 TSL7000",
                buyer_id_number=p.id_number, buyer_name=p.name, buyer_mobile=mobile, division="411702",
            )
            for n, p in enumerate(persons)
        ],
        batch_size=2000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_number")
        cursor.execute(
            "CREATE TABLE bench_bare_number (id serial PRIMARY KEY, number varchar(10) NOT NULL UNIQUE, "
            "position integer NOT NULL UNIQUE, state varchar(10) NOT NULL DEFAULT 'free', holder integer)"
        )
        cursor.execute(
            "INSERT INTO bench_bare_number (number, position) "
            "SELECT number, position FROM plates_poolnumber WHERE pool_id = %s",
            [pool.pk],
        )
        cursor.execute("ANALYZE")
    return pool.pk, list(zip(accounts, [c.vin for c in cars], strict=True))


def _threads(indexes: list[int], threads: int, one, start) -> list[tuple[int, float, str]]:
    """Call ``one(i)`` for each index on ``threads`` threads, each on its own connection."""
    from django.db import connections

    done: list[tuple[int, float, str]] = []
    work: queue.Queue[int] = queue.Queue()
    for i in indexes:
        work.put(i)

    def worker() -> None:
        try:
            while True:
                try:
                    i = work.get_nowait()
                except queue.Empty:
                    return
                began = time.perf_counter()
                try:
                    outcome = one(i)
                except Exception as exc:
                    outcome = getattr(exc, "code", type(exc).__name__)
                done.append((i, time.perf_counter() - began, outcome))
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    start()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return done


def _run(calls: int, processes: int, threads: int, one) -> dict:
    """Call ``one(i)`` for i in 0..calls-1 in ``processes`` forked processes of ``threads``
    threads (as a server's worker processes would: one interpreter lock each); all start together."""
    import multiprocessing as mp

    from django.db import connections

    connections.close_all()  # a forked child opens its own
    context = mp.get_context("fork")
    barrier = context.Barrier(processes + 1)
    results = context.Queue()

    def child(k: int) -> None:
        results.put(_threads(list(range(k, calls, processes)), threads, one, barrier.wait))

    children = [context.Process(target=child, args=(k,)) for k in range(processes)]
    for c in children:
        c.start()
    barrier.wait()
    started = time.perf_counter()
    done = [row for _ in children for row in results.get()]
    elapsed = time.perf_counter() - started
    for c in children:
        c.join()
    ordered = sorted(latency for _i, latency, _o in done)
    return {
        "calls": calls,
        "seconds": elapsed,
        "rate": calls / elapsed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "outcomes": Counter(o for _i, _l, o in done),
    }


def _platform(buyers: list[tuple[object, str]], processes: int, threads: int) -> dict:
    from jiaoguan.plates import services

    def one(i: int) -> str:
        user, vin = buyers[i]
        services.selection_start(
            actor=user, vin=vin, mode="random", client=f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        )
        return "held"

    return _run(len(buyers), processes, threads, one)


def _bare(calls: int, processes: int, threads: int, span: int) -> dict:
    """The plain draw: five free rows from a random position on (then from 0), locked or skipped."""
    from django.db import connection, transaction

    sql = (
        "SELECT id FROM bench_bare_number WHERE state = 'free' AND position {} %s "
        "ORDER BY position LIMIT %s FOR UPDATE SKIP LOCKED"
    )

    def one(i: int) -> str:
        start = secrets.randbelow(span)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql.format(">="), [start, 5])
            ids = [row[0] for row in cursor.fetchall()]
            if len(ids) < 5:
                cursor.execute(sql.format("<"), [start, 5 - len(ids)])
                ids += [row[0] for row in cursor.fetchall()]
            if not ids:
                return "empty"
            cursor.execute(
                "UPDATE bench_bare_number SET state = 'held', holder = %s WHERE id = ANY(%s)", [i, ids]
            )
        return "held"

    return _run(calls, processes, threads, one)


def _double_holds(pool_id: int) -> dict[str, int]:
    from jiaoguan.plates.models import PlateSelection, PoolNumber

    listed: Counter[str] = Counter()
    holding = PlateSelection.objects.filter(pool_id=pool_id, state="holding").values_list("pk", "candidates")
    for _pk, candidates in holding.iterator():
        listed.update(candidates)
    held = PoolNumber.objects.filter(pool_id=pool_id, state="held")
    mismatched = sum(
        1
        for number, holder in held.values_list("number", "holder_id").iterator()
        if listed[number] != 1 or holder is None
    )
    return {
        "listed_twice": sum(1 for n in listed.values() if n > 1),
        "held_not_listed_once": mismatched,
        "listed_not_held": len(set(listed) - set(held.values_list("number", flat=True))),
        "held": held.count(),
    }


def _line(name: str, r: dict) -> str:
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(r["outcomes"].items()))
    return f"{name:44} {r['calls']:>7,} {r['seconds']:>7.1f} {r['rate']:>8.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}  {outcomes}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/",
        help="PostgreSQL server (its database part is ignored)",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", ""))
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--pool", type=int, default=30000, help="numbers in the pool (at most 100,000)")
    parser.add_argument(
        "--processes", type=int, default=8, help="worker processes (like sync server workers)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per worker process")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args()
    if urlsplit(args.database_url).scheme not in {"postgres", "postgresql"}:
        sys.exit("the benchmark needs PostgreSQL (--database-url postgresql://...)")
    if not 1000 <= args.pool <= 100000:
        sys.exit("--pool is 1,000 to 100,000 numbers")

    import psycopg

    admin_url = _with_database(args.database_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    data_dir = tempfile.mkdtemp(prefix=DATABASE_NAME)
    try:
        _django(_with_database(args.database_url, DATABASE_NAME), args.redis_url, data_dir)
        started = time.perf_counter()
        print(f"setup: {DATABASE_NAME} on {urlsplit(args.database_url).netloc} ...", flush=True)
        pool_id, buyers = _setup(args.users, args.pool)
        print(
            f"setup: {len(buyers):,} buyers with pre-registered cars; {time.perf_counter() - started:.0f} s",
            flush=True,
        )

        print(f"load: {args.users:,} bare SKIP LOCKED draws ...", flush=True)
        bare = _bare(args.users, args.processes, args.threads, args.pool)
        print(f"load: {args.users:,} draws through services.selection_start ...", flush=True)
        platform = _platform(buyers, args.processes, args.threads)
        checks = _double_holds(pool_id)

        from django.db import connection
        from django.utils import timezone

        from jiaoguan.plates import draws, selectors

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT number FROM bench_bare_number WHERE state = 'held' "
                "GROUP BY number HAVING count(*) > 1) d"
            )
            bare_doubles = cursor.fetchone()[0]
        began = time.perf_counter()
        day = selectors.draw_day_file(day=timezone.localdate(), reveal=True)
        loaded = time.perf_counter() - began
        began = time.perf_counter()
        report = draws.replay(day) if day else None
        replayed = time.perf_counter() - began
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_database:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')

    print()
    print(f"{'':44} {'draws':>7} {'s':>7} {'draws/s':>8} {'p50 ms':>8} {'p99 ms':>8}  outcomes")
    print(_line("bare SELECT ... FOR UPDATE SKIP LOCKED LIMIT 5", bare))
    print(_line("platform selection_start (random, 5 of pool)", platform))
    print(f"throughput ratio platform / bare: {platform['rate'] / bare['rate']:.2f}")
    print(
        f"rush: {platform['calls']:,} draws in {platform['seconds']:.1f} s "
        f"({'within' if platform['seconds'] <= 60 else 'NOT within'} a minute; {platform['rate'] * 60:,.0f} per minute)"
    )
    print(
        f"double holds: platform {checks['listed_twice']} numbers listed by two selections, "
        f"{checks['held_not_listed_once']} held numbers not listed by exactly one, {checks['listed_not_held']} listed "
        f"but not held ({checks['held']:,} held); bare {bare_doubles}"
    )
    if report is not None:
        print(
            f"replay: day file read in {loaded:.2f} s, {report.draws:,} draws of {report.events:,} entries "
            f"recomputed in {replayed:.2f} s: {'ok' if report.ok else 'PROBLEMS ' + '; '.join(report.problems[:3])}"
        )
    print(
        f"{args.processes} processes x {args.threads} threads; pool {args.pool:,}; limits in {'Redis' if args.redis_url else 'process memory'}; "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    assert checks["listed_twice"] == checks["held_not_listed_once"] == checks["listed_not_held"] == 0, (
        "double holds"
    )
    assert bare_doubles == 0
    assert report is not None and report.ok, "the day does not replay"


if __name__ == "__main__":
    main()
