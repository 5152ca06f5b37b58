"""Benchmark: the rush of exam applications through the API on PostgreSQL (issue 16 §4, B22).

    .venv/bin/python bench/bench_exam_rush.py --database-url postgresql://postgres@127.0.0.1:5432/
    .venv/bin/python bench/bench_exam_rush.py --learners 10000 --places 4000   # a quicker run

A database ``jiaoguan_bench_exam_rush`` is created on the server the URL names with one exam centre,
``--learners`` learners (default 50,000), each a citizen with a bearer token and a C1 learner
permit issued 60 days ago (subjects 2 and 3 are open to them), and two published plans of
``--places`` places (default 20,000) whose windows opened a minute ago: subject 2 first come,
first served, and subject 3 by lottery.

Two servers then run on that database (gunicorn, ``--workers`` sync workers, the platform with
``JIAOGUAN_PROXY_HOPS=1``): the platform and the bare project of bench/bare/, whose ``/book``
view only locks a slot row with ``select_for_update``, checks and increments it and inserts a
row (one slot of the same places). Every learner sends one ``POST /api/v1/me/exam-applications``
to the first-come plan with its own ``Idempotency-Key`` and its own address in
``X-Forwarded-For`` (so the per-client limit, which stops scripts, is not what is measured),
``--concurrency`` at a time, as fast as the servers answer; the same number of requests goes to
the bare view; then every learner applies to the lottery plan (inserts only, no shared row).
Last, the lottery plan's window is closed and the plan allocated (priority classes, lottery,
waiting list) in one process, timed.

Printed: per run the requests, places taken, refusals, req/s, p50 and p99; the first-come
throughput as a ratio of the bare view's in the same run; whether the rush fitted in a minute;
and, from the database, the oversubscription (places taken beyond the plan's, or a counter that
differs from the allocated rows: must be 0) and learners holding two places in one subject.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import bench_reads as shared  # noqa: E402  (bench/ is not a package)

DATABASE_NAME = "jiaoguan_bench_exam_rush"
RESULT_PREFIX = shared.RESULT_PREFIX


# --------------------------------------------------------------------------- worker: set-up


def worker_setup(spec: dict) -> None:
    """Migrate; a centre, two open plans, the learners with tokens and permits; the bare slot."""
    import hashlib
    import secrets
    from datetime import time as clock
    from datetime import timedelta

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from jiaoguan.accounts.models import ApiToken, User
    from jiaoguan.core.identifiers import make_citizen_id, make_uscc
    from jiaoguan.exams import allocation, rules
    from jiaoguan.exams.models import ExamCentre, ExamPlan, LearnerPermit
    from jiaoguan.registry.models import Organisation, Person
    from jiaoguan.registry.rules import add_years

    started = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()
    call_command("migrate", verbosity=0, interactive=False)
    learners, places = spec["learners"], spec["places"]
    organisation = Organisation.objects.create(
        uscc=make_uscc("12411700MB4BENCH1"), name="驻马店市基准驾驶人考试中心", kind="exam_centre",
        division="411702", address="驻马店市驿城区雪松大道18号",
    )  # fmt: skip
    centre = ExamCentre.objects.create(
        organisation=organisation, division="411702", address="驻马店市驿城区雪松大道18号",
        subjects=",1,2,3,4,", vehicle_classes=",C1,",
    )  # fmt: skip
    plan_ids = {}
    for subject, method in ((2, "first_come"), (3, "lottery")):
        seed = allocation.new_seed()
        plan = ExamPlan.objects.create(
            centre=centre, division="411702", subject=subject, vehicle_class="C1",
            exam_date=today + timedelta(days=7), starts_at=clock(8, 30), places=places, method=method,
            window_opens_at=now - timedelta(minutes=1), window_closes_at=now + timedelta(hours=6),
            cancel_until=now + timedelta(days=5), state="open", seed=seed,
            seed_commitment=allocation.commitment(seed), published_at=now,
        )  # fmt: skip
        plan_ids[method] = plan.pk

    print(f"setup: {learners:,} learners with tokens and permits ...", flush=True)
    born = [add_years(today, -20) - timedelta(days=n // 400) for n in range(learners)]
    persons = Person.objects.bulk_create(
        [
            Person(
                id_number=make_citizen_id("411702", born[n], 1 + 2 * (n % 400)),
                name="张伟",
                sex="M",
                birth_date=born[n],
                residence_division="411702",
                mobile="13800138000",
            )
            for n in range(learners)
        ],
        batch_size=2000,
    )
    users = User.objects.bulk_create(
        [
            User(username=p.id_number, person=p, kind="individual", registration_level="online", password="!")
            for p in persons
        ],
        batch_size=2000,
    )
    issued = today - timedelta(days=60)
    permits = LearnerPermit.objects.bulk_create(
        [
            LearnerPermit(
                number=f"XJ{today:%Y%m%d}{n:08d}",
                person=p,
                vehicle_class="C1",
                kind="first",
                division="411702",
                test_division="411702",
                state="learning",
                enrolled_on=issued - timedelta(days=30),
                issued_on=issued,
                valid_until=rules.permit_valid_until(issued),
            )
            for n, p in enumerate(persons)
        ],
        batch_size=2000,
    )
    expires = timezone.now() + timedelta(days=1)
    tokens = [secrets.token_urlsafe(24) for _ in users]
    ApiToken.objects.bulk_create(
        [
            ApiToken(user=u, token_hash=hashlib.sha256(raw.encode()).hexdigest(), expires_at=expires)
            for u, raw in zip(users, tokens, strict=True)
        ],
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_booking, bench_bare_slot")
        cursor.execute(
            "CREATE TABLE bench_bare_slot (id serial PRIMARY KEY, capacity integer NOT NULL, booked integer NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE bench_bare_booking (id serial PRIMARY KEY, owner integer NOT NULL, "
            "slot_id integer NOT NULL REFERENCES bench_bare_slot (id))"
        )
        cursor.execute("INSERT INTO bench_bare_slot (capacity, booked) VALUES (%s, 0) RETURNING id", [places])
        bare_slot = cursor.fetchone()[0]
    print(
        RESULT_PREFIX
        + json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "plans": plan_ids,
                "bare_slot": bare_slot,
                "learners": [[p.pk, raw] for p, raw in zip(permits, tokens, strict=True)],
            }
        ),
        flush=True,
    )


def worker_allocate(spec: dict) -> None:
    """Close the lottery plan's window and allocate it, timed (issue 16: under 10 seconds)."""
    from datetime import timedelta

    import django

    django.setup()
    from django.utils import timezone

    from jiaoguan.exams import services
    from jiaoguan.exams.models import ExamPlan

    now = timezone.now()
    ExamPlan.objects.filter(pk=spec["plan_id"]).update(
        window_opens_at=now - timedelta(hours=1), window_closes_at=now - timedelta(seconds=1)
    )
    started = time.perf_counter()
    plan = services.plan_allocate(plan_id=spec["plan_id"], now=now)
    seconds = time.perf_counter() - started
    print(
        RESULT_PREFIX
        + json.dumps({"seconds": seconds, "taken": plan.taken, "count": plan.applications_count})
    )


# --------------------------------------------------------------------------- the load


def _rush(port: int, requests: list[tuple[str, dict, dict]], concurrency: int) -> dict:
    """Send every (path, headers, body) once, ``concurrency`` at a time; latencies and statuses."""
    latencies: list[float] = [0.0] * len(requests)
    statuses: list[int] = [0] * len(requests)
    codes: dict[str, int] = {}
    lock = threading.Lock()
    cursor = iter(range(len(requests)))

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                conn.close()
                return
            path, headers, body = requests[i]
            began = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    path,
                    body=json.dumps(body),
                    headers={"Content-Type": "application/json", **headers},
                )
                response = conn.getresponse()
                data = response.read()
                statuses[i] = response.status
                if response.status >= 400:
                    code = json.loads(data or b"{}").get("code", str(response.status))
                    with lock:
                        codes[code] = codes.get(code, 0) + 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            except (OSError, http.client.HTTPException) as exc:
                statuses[i] = -1
                with lock:
                    codes[type(exc).__name__] = codes.get(type(exc).__name__, 0) + 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            finally:
                latencies[i] = time.perf_counter() - began

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(requests),
        "seconds": elapsed,
        "rps": len(requests) / elapsed,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "created": statuses.count(201),
        "codes": codes,
    }


def _checks(database_url: str, plans: dict[str, int], bare_slot: int) -> dict[str, int]:
    """From the database: oversubscription, places taken, doubles, and the bare slot's."""
    import psycopg

    with psycopg.connect(database_url) as db:

        def one(sql: str, *params: object) -> int:
            return int(db.execute(sql, params).fetchone()[0])  # type: ignore[index]

        first_come = plans["first_come"]
        return {
            "over": one(
                "SELECT count(*) FROM exams_examplan p WHERE p.taken > p.places OR (p.method = 'first_come' AND "
                "p.taken <> (SELECT count(*) FROM exams_examapplication a WHERE a.plan_id = p.id AND a.state = 'allocated'))"
            ),
            "taken": one("SELECT taken FROM exams_examplan WHERE id = %s", first_come),
            "allocated_rows": one(
                "SELECT count(*) FROM exams_examapplication WHERE plan_id = %s AND state = 'allocated'",
                first_come,
            ),
            "doubles": one(
                "SELECT count(*) FROM (SELECT permit_id, subject FROM exams_examapplication "
                "WHERE state IN ('applied', 'allocated', 'waiting') GROUP BY permit_id, subject HAVING count(*) > 1) d"
            ),
            "lottery_rows": one(
                "SELECT count(*) FROM exams_examapplication WHERE plan_id = %s", plans["lottery"]
            ),
            "bare_over": one(
                "SELECT count(*) FROM bench_bare_slot s WHERE s.booked > s.capacity OR s.booked <> "
                "(SELECT count(*) FROM bench_bare_booking b WHERE b.slot_id = s.id)"
            ),
            "bare_booked": one("SELECT count(*) FROM bench_bare_booking WHERE slot_id = %s", bare_slot),
        }


def _line(name: str, r: dict) -> str:
    refusals = ", ".join(f"{k} {v}" for k, v in sorted(r["codes"].items()))
    return (
        f"{name:36} {r['requests']:>9,} {r['created']:>7,} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} "
        f"{r['p99_ms']:>8.1f}  {refusals}"
    )


def run_load(args: argparse.Namespace, setup: dict, env: dict, database_url: str, data_dir: str) -> None:
    plans = setup["plans"]

    def requests_for(plan_id: int, tag: str) -> list[tuple[str, dict, dict]]:
        return [
            (
                "/api/v1/me/exam-applications",
                {
                    "Authorization": f"Bearer {raw}",
                    "Idempotency-Key": f"{tag}-{permit}",
                    # One address a learner: 10.x.y.z behind one proxy hop.
                    "X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
                },
                {"permit_id": permit, "plan_id": plan_id},
            )
            for n, (permit, raw) in enumerate(setup["learners"])
        ]

    first_come_requests = requests_for(plans["first_come"], "fc")
    lottery_requests = requests_for(plans["lottery"], "lot")
    bare_requests = [
        ("/book", {}, {"slot_id": setup["bare_slot"], "owner": n}) for n in range(len(first_come_requests))
    ]
    env = {**env, "JIAOGUAN_PROXY_HOPS": "1"}
    platform_log, bare_log = Path(data_dir) / "platform.log", Path(data_dir) / "bare.log"
    platform, platform_port = shared._gunicorn("jiaoguan.wsgi:application", env, args, platform_log)
    bare, bare_port = shared._gunicorn(
        "bare.wsgi:application", shared._bare_env(database_url), args, bare_log
    )
    try:
        shared._wait(platform_port, "/api/v1/health", platform, platform_log)
        shared._wait(bare_port, "/hello", bare, bare_log)
        print(f"load: {len(bare_requests):,} bookings on the bare view ...", flush=True)
        bare_result = _rush(bare_port, bare_requests, args.concurrency)
        print(f"load: {len(first_come_requests):,} first-come applications through the API ...", flush=True)
        first_come_result = _rush(platform_port, first_come_requests, args.concurrency)
        lottery_result = None
        if not args.skip_lottery:
            print(f"load: {len(lottery_requests):,} lottery applications through the API ...", flush=True)
            lottery_result = _rush(platform_port, lottery_requests, args.concurrency)
    finally:
        shared._stop(platform)
        shared._stop(bare)
    checks = _checks(database_url, plans, setup["bare_slot"])
    allocated = None
    if lottery_result is not None:
        print("allocate: the lottery plan ...", flush=True)
        allocated = shared._run_worker(
            "allocate", {"plan_id": plans["lottery"]}, env, timeout=900, script=__file__
        )
    print()
    print(f"{'':36} {'requests':>9} {'201':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  refusals")
    print(_line("bare select_for_update view", bare_result))
    print(_line("POST me/exam-applications first come", first_come_result))
    if lottery_result is not None:
        print(_line("POST me/exam-applications lottery", lottery_result))
    ratio = first_come_result["rps"] / bare_result["rps"]
    print(
        f"\nfirst come / bare throughput: {ratio:.2f}; p99 {first_come_result['p99_ms'] / bare_result['p99_ms']:.1f} x "
        "the bare p99"
    )
    if lottery_result is not None:
        print(f"lottery / bare throughput: {lottery_result['rps'] / bare_result['rps']:.2f}")
    minute = first_come_result["requests"] / first_come_result["seconds"] * 60
    print(
        f"rush: {first_come_result['requests']:,} applications in {first_come_result['seconds']:.0f} s "
        f"({'within' if first_come_result['seconds'] <= 60 else 'NOT within'} a minute; {minute:,.0f} per minute)"
    )
    print(
        f"places {args.places:,}: first come taken {checks['taken']:,} (allocated rows {checks['allocated_rows']:,}), "
        f"bare booked {checks['bare_booked']:,}"
    )
    print(
        f"oversubscription: platform {checks['over']}, bare {checks['bare_over']}; "
        f"learners with two active applications in a subject: {checks['doubles']}"
    )
    if allocated is not None:
        print(
            f"lottery allocation: {allocated['count']:,} applications to {args.places:,} places "
            f"({allocated['taken']:,} allocated) in {allocated['seconds']:.1f} s"
        )
    print(f"concurrency {args.concurrency}; gunicorn {args.workers} sync workers each; {shared._machine()}")
    assert checks["over"] == 0 and checks["bare_over"] == 0 and checks["doubles"] == 0, "oversubscribed"
    assert checks["taken"] == min(args.places, len(first_come_requests)), "every place asked for is taken"


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1].startswith("--worker="):
        sys.path.insert(0, str(shared.SRC))
        mode, spec = sys.argv[1].split("=", 1)[1], json.loads(sys.argv[2])
        {"setup": worker_setup, "allocate": worker_allocate}[mode](spec)
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/",
        help="PostgreSQL server (its database part is ignored)",
    )
    parser.add_argument("--learners", type=int, default=50000)
    parser.add_argument("--places", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument(
        "--skip-lottery", action="store_true", help="only the first-come rush and the bare view"
    )
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args()
    if urlsplit(args.database_url).scheme not in {"postgres", "postgresql"}:
        sys.exit("the benchmark needs PostgreSQL (--database-url postgresql://...)")
    if args.learners > 400 * 36500:
        sys.exit("too many learners for the made-up identity numbers")

    import psycopg

    server_url = args.database_url
    with psycopg.connect(shared._with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    database_url = shared._with_database(server_url, DATABASE_NAME)
    data_dir = str(Path(tempfile.gettempdir()) / DATABASE_NAME)
    Path(data_dir).mkdir(exist_ok=True)
    env = shared._platform_env(data_dir, database_url)
    try:
        print(f"setup: {DATABASE_NAME} on {urlsplit(server_url).netloc} ...", flush=True)
        setup = shared._run_worker(
            "setup", {"learners": args.learners, "places": args.places}, env, timeout=1800, script=__file__
        )
        if setup is None:
            sys.exit(1)
        print(f"setup: {setup['seconds']:.0f} s", flush=True)
        run_load(args, setup, env, database_url, data_dir)
    finally:
        if not args.keep_database:
            with psycopg.connect(shared._with_database(server_url, "postgres"), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
