"""Benchmark: "my violations" (Q3), ``GET /api/v1/me/violations?limit=20``, at 1M and 10M rows (PostgreSQL).

    .venv/bin/python bench/bench_my_violations.py --database-url postgresql://postgres@127.0.0.1:5432/
    .venv/bin/python bench/bench_my_violations.py --sizes 1000000 --calls 500     # one size only

A fresh database ``jiaoguan_bench_myviol`` is created on the server (dropped at the end).
Rows are made by the server (``INSERT ... SELECT generate_series``), not the ORM:
persons with a driving licence each and two vehicles each, so that the violations spread
over about N/20 vehicles; 30% of the violations are handled (on the owner's licence, with
a penalty decision, half of them paid), the rest unhandled; times spread over two years.
After ``VACUUM ANALYZE`` a few hundred users of those persons get a bearer token from
``POST /api/v1/auth/tokens`` and the real endpoint is called through Django's test client
over random users: p50/p90/p99 per size, then the table grows to the next size (more
persons, vehicles and violations) and the same users are measured again. The plan of the
violation query is printed with ``EXPLAIN (ANALYZE, BUFFERS)``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "jiaoguan_bench_myviol"
RESULT_PREFIX = "BENCH-RESULT "
PASSWORD = "Bench-Pass-2026"
VIOLATIONS_PER_VEHICLE = 20
VEHICLES_PER_PERSON = 2
FILL_STEP = 1_000_000  # violations per INSERT statement (one transaction each)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


# --------------------------------------------------------------------------- worker (Django)


def _codes_values() -> str:
    from datetime import date

    from jiaoguan.violations import rules

    rows = []
    for n, code in enumerate(
        c for c in rules.known_codes() if rules.code_version(c, on=date.today()).monitorable
    ):
        version = rules.code_version(code, on=date.today())
        rows.append(f"({n}, '{code}', {version.points}, {version.fine_fen or version.fine_min_fen})")
    return ", ".join(rows)


def _fill(cursor, *, violations_from: int, violations_to: int) -> dict[str, float]:
    """Grow persons, licences and vehicles to match ``violations_to``, then add the violations."""
    timings: dict[str, float] = {}
    cursor.execute("SELECT count(*), coalesce(max(id), 0) FROM registry_vehicle")
    vehicles_now, _ = cursor.fetchone()
    vehicles_target = violations_to // VIOLATIONS_PER_VEHICLE
    persons_target = vehicles_target // VEHICLES_PER_PERSON
    cursor.execute("SELECT count(*) FROM registry_person")
    persons_now = cursor.fetchone()[0]

    started = time.perf_counter()
    cursor.execute(
        """
        INSERT INTO registry_person (id_type, id_number, name, sex, birth_date, nationality,
                                     residence_division, address, mobile, created_at)
        SELECT 'resident_id', 'B' || lpad(g::text, 17, '0'), '张伟', 'M', date '1970-01-01' + (g %% 15000),
               'CHN', '411702', '', '', now()
        FROM generate_series(%s, %s) AS g
        """,
        [persons_now + 1, persons_target],
    )
    cursor.execute(
        """
        INSERT INTO registry_drivinglicence (holder_id, archive_number, classes, first_issued_on, valid_from,
                                             validity_term, status, remarks, mobile, postal_address, division,
                                             created_at)
        SELECT p.id, lpad(p.id::text, 12, '0'), 'C1', date '2010-03-05', date '2016-03-05', '10y', 'A', '', '',
               '', '411702', now()
        FROM registry_person p LEFT JOIN registry_drivinglicence l ON l.holder_id = p.id
        WHERE l.id IS NULL
        """
    )
    cursor.execute("SELECT min(id) - 1 FROM registry_person")
    person_base = cursor.fetchone()[0]
    # Vehicle g belongs to person (g + 1) / 2: person ids are contiguous in a fresh database.
    cursor.execute(
        """
        INSERT INTO registry_vehicle (plate_number, plate_type, vin, kind, use_nature, brand_model, colour,
                                      owner_person_id, owner_organisation_id, owner_mobile, registered_on,
                                      last_inspected_on, on_site_inspection_required, status, division,
                                      created_at)
        SELECT '豫' || substr('QABCDEFGHJKLMNPRSTUVWXYZ', 1 + g / 100000, 1) || lpad((g %% 100000)::text, 5, '0'),
               '02', 'LBENCH' || lpad(g::text, 11, '0'), 'small_passenger', 'private', '', '',
               %s + (g + 1) / 2, NULL, '', date '2020-05-13', NULL, false, 'A', '411702', now()
        FROM generate_series(%s, %s) AS g
        """,
        [person_base, vehicles_now + 1, vehicles_target],
    )
    timings["persons_vehicles_licences_s"] = time.perf_counter() - started

    cursor.execute("SELECT min(id), max(id) FROM registry_vehicle")
    vehicle_min, vehicle_max = cursor.fetchone()
    cursor.execute("SELECT coalesce(max(id), 0) FROM violations_violation")
    violation_before = cursor.fetchone()[0]
    codes = _codes_values()
    started = time.perf_counter()
    for start in range(violations_from + 1, violations_to + 1, FILL_STEP):
        end = min(start + FILL_STEP - 1, violations_to)
        cursor.execute(
            f"""
            WITH codes(idx, code, points, fine) AS (VALUES {codes}),
            picked AS (
                SELECT g, %s + floor(random() * %s)::bigint AS vid,
                       floor(random() * (SELECT count(*) FROM codes))::int AS ci,
                       now() - random() * interval '730 days' AS at, random() AS r
                FROM generate_series(%s, %s) AS g
            )
            INSERT INTO violations_violation (record_number, source, status, plate_number, plate_type, vehicle_id,
                occurred_at, place, recording_division, device_id, code, on_expressway, points, fine_fen,
                licence_id, handled_at, handled_by_id, handling_channel, dispute_reason, batch_id, created_at)
            SELECT '4117021' || lpad(p.g::text, 12, '0') || '0', 'monitoring',
                   CASE WHEN p.r < 0.3 THEN 'handled' ELSE 'unhandled' END,
                   v.plate_number, v.plate_type, v.id, p.at, '驿城区解放大道与交通路交叉口', '411702',
                   'CAM-411702-0001', c.code, false, c.points, c.fine,
                   CASE WHEN p.r < 0.3 THEN l.id END,
                   CASE WHEN p.r < 0.3 THEN p.at + interval '3 days' END, NULL,
                   CASE WHEN p.r < 0.3 THEN 'online' ELSE '' END, '', NULL, now()
            FROM picked p
            JOIN registry_vehicle v ON v.id = p.vid
            JOIN codes c ON c.idx = p.ci
            JOIN registry_drivinglicence l ON l.holder_id = v.owner_person_id
            """,  # the VALUES list is built from our own code table
            [vehicle_min, vehicle_max - vehicle_min + 1, start, end],
        )
        print(f"    violations {end:,} ({time.perf_counter() - started:.0f} s)", flush=True)
    timings["violations_s"] = time.perf_counter() - started
    started = time.perf_counter()
    cursor.execute(
        """
        INSERT INTO violations_fine (violation_id, decision_number, deciding_division, decided_on, amount_fen,
                                     status, paid_at, paid_channel, late_fee_fen, paid_total_fen, created_at)
        SELECT id, lpad(id::text, 15, '0'), '411702', (handled_at AT TIME ZONE 'Asia/Shanghai')::date, fine_fen,
               CASE WHEN id %% 2 = 0 THEN 'paid' ELSE 'unpaid' END,
               CASE WHEN id %% 2 = 0 THEN handled_at + interval '1 day' END,
               CASE WHEN id %% 2 = 0 THEN 'online' ELSE '' END, 0,
               CASE WHEN id %% 2 = 0 THEN fine_fen ELSE 0 END, now()
        FROM violations_violation WHERE status = 'handled' AND id > %s
        """,
        [violation_before],
    )
    timings["fines_s"] = time.perf_counter() - started
    started = time.perf_counter()
    for table in ("registry_person", "registry_drivinglicence", "registry_vehicle", "violations_violation",
                  "violations_fine"):  # fmt: skip
        cursor.execute(f"VACUUM ANALYZE {table}")
    timings["vacuum_analyze_s"] = time.perf_counter() - started
    return timings


def _users(count: int, seed: int) -> list[str]:
    """Accounts for random persons (created once, measured again after the table grows)."""
    from django.contrib.auth.hashers import make_password

    from jiaoguan.accounts.models import User
    from jiaoguan.registry.models import Person

    existing = list(User.objects.filter(username__startswith="bench-").values_list("username", flat=True))
    if existing:
        return existing
    ids = list(Person.objects.values_list("id", flat=True))
    hashed = make_password(PASSWORD)  # one hash for all: the bench measures the query, not Argon2
    picked = random.Random(seed).sample(ids, min(count, len(ids)))
    User.objects.bulk_create(
        [
            User(username=f"bench-{n}", password=hashed, kind="individual", registration_level="online",
                 person_id=pid)
            for n, pid in enumerate(picked)
        ]
    )  # fmt: skip
    return [f"bench-{n}" for n in range(len(picked))]


def _measure(usernames: list[str], *, calls: int, seed: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    tokens = {}
    for name in usernames:
        response = client.post(
            "/api/v1/auth/tokens",
            data={"username": name, "password": PASSWORD},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        tokens[name] = {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}
    rng = random.Random(seed)
    for _ in range(100):  # warm-up: connections, code paths, the cache of the indexes' upper levels
        client.get("/api/v1/me/violations?limit=20", **tokens[rng.choice(usernames)])
    samples = []
    items = []
    for _ in range(calls):
        auth = tokens[rng.choice(usernames)]
        started = time.perf_counter()
        response = client.get("/api/v1/me/violations?limit=20", **auth)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
        items.append(len(response.json()["items"]))
    # The plan of the violation query for one user, as the endpoint runs it.
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/v1/me/violations?limit=20", **tokens[usernames[0]])
    query = next(q["sql"] for q in captured.captured_queries if 'FROM "violations_violation"' in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query)
        plan = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM violations_violation")
        rows = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('violations_violation'))")
        size = cursor.fetchone()[0]
    samples.sort()
    return {
        "rows": rows,
        "table_size": size,
        "calls": calls,
        "users": len(usernames),
        "queries_per_call": len(captured.captured_queries),
        "mean_items": statistics.mean(items),
        "p50_ms": samples[len(samples) // 2],
        "p90_ms": samples[int(len(samples) * 0.9)],
        "p99_ms": samples[int(len(samples) * 0.99)],
        "max_ms": samples[-1],
        "mean_ms": statistics.mean(samples),
        "plan": plan,
        "query": query,
    }


def worker(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    done = 0
    for size in args.sizes:
        print(f"  filling to {size:,} violations ...", flush=True)
        with connection.cursor() as cursor:
            timings = _fill(cursor, violations_from=done, violations_to=size)
        done = size
        usernames = _users(args.users, args.seed)
        print(f"  measuring {args.calls} calls over {len(usernames)} users ...", flush=True)
        result = _measure(usernames, calls=args.calls, seed=args.seed + size)
        result["fill"] = timings
        print(RESULT_PREFIX + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- parent


def _admin(server_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(statement)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="PostgreSQL server, e.g. postgresql://postgres@127.0.0.1:5432/")  # fmt: skip
    parser.add_argument("--sizes", default="1000000,10000000", help="violation counts, growing")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.sizes = sorted(int(s) for s in str(args.sizes).split(","))
    if args.worker:
        worker(args)
        return
    if urlsplit(args.database_url).scheme not in {"postgres", "postgresql"}:
        parser.error("needs a PostgreSQL server: --database-url postgresql://...")

    _admin(args.database_url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    _admin(args.database_url, f'CREATE DATABASE "{BENCH_DATABASE}"')
    data_dir = tempfile.mkdtemp(prefix="jiaoguan-bench-")
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="jiaoguan.settings", JIAOGUAN_DATA_DIR=data_dir)
    env["DATABASE_URL"] = _with_database(args.database_url, BENCH_DATABASE)
    command = [
        sys.executable, str(Path(__file__).resolve()), "--worker", f"--sizes={','.join(map(str, args.sizes))}",
        f"--calls={args.calls}", f"--users={args.users}", f"--seed={args.seed}",
    ]  # fmt: skip
    results = []
    try:
        with subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
        ) as worker_process:
            assert worker_process.stdout is not None
            for line in worker_process.stdout:
                if line.startswith(RESULT_PREFIX):
                    result = json.loads(line[len(RESULT_PREFIX) :])
                    results.append(result)
                    print(
                        f"  {result['rows']:,} rows: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"
                    )
                else:
                    print(line, end="", flush=True)
        if worker_process.returncode:
            print(f"worker failed with exit code {worker_process.returncode}", file=sys.stderr)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        _admin(args.database_url, f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    if not results:
        sys.exit(1)
    header = (
        f"{'violations':>12}{'table':>10}{'users':>7}{'calls':>7}{'queries':>9}{'items':>7}"
        f"{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'fill s':>9}"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        fill = sum(r["fill"].values())
        print(
            f"{r['rows']:>12,}{r['table_size']:>10}{r['users']:>7}{r['calls']:>7}{r['queries_per_call']:>9}"
            f"{r['mean_items']:>7.1f}{r['p50_ms']:>9.1f}{r['p90_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}"
            f"{fill:>9.0f}"
        )
    for r in results:
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) at {r['rows']:,} violations:\n{r['query']}\n")
        print("\n".join(r["plan"]))
    if len(results) < len(args.sizes):
        sys.exit(1)


if __name__ == "__main__":
    main()
