"""Benchmark: a rush of inspection bookings through the API on PostgreSQL (issue 14, B4).

    .venv/bin/python bench/bench_inspection_bookings.py --database-url postgresql://postgres@127.0.0.1:5432/
    .venv/bin/python bench/bench_inspection_bookings.py --owners 2000 --places 400   # a quicker run

A database ``jiaoguan_bench_inspections`` is created on the server the URL names with one
inspection station whose 20 half-day slots of the coming 10 days hold ``--places`` places
(default 2,000), and ``--owners`` owners (default 10,000), each a citizen with a bearer token and
a car overdue for inspection. The insurer (O7) is the fake insurer exchange
(``jiaoguan.integrations.fake_insurer_service``) running as its own process with zero latency
and no faults: every check is a real signed HTTP round trip, answered at once (the VINs end in
1-8, which the fake answers as insured with tax paid).

Two servers then run on that database (gunicorn, ``--workers`` sync workers): the platform and
the bare project of bench/bare/, whose ``/book`` view only locks a slot row with
``select_for_update``, checks and increments it and inserts a booking row (its own two tables,
with the same 20 slots and places). Every owner sends one ``POST /api/v1/me/inspection-bookings``
for a slot chosen at random, ``--concurrency`` at a time, as fast as the servers answer (the rush
of 10,000 owners "within a minute" is the target rate: the run says whether it was reached);
then the same requests go to the bare view. Printed: per side the requests, bookings made,
refusals, req/s, p50 and p99; the platform's throughput as a ratio of the bare view's; and,
asserted from the database, that no slot holds more bookings than places and every slot's
counter equals its active bookings (zero overbooked places).

The server helpers are shared with bench/bench_reads.py.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import bench_reads as shared  # noqa: E402  (bench/ is not a package)

DATABASE_NAME = "jiaoguan_bench_inspections"
RESULT_PREFIX = shared.RESULT_PREFIX
SLOTS = 20  # 10 days x morning and afternoon
SEED = 14


# --------------------------------------------------------------------------- worker: set-up


def worker_setup(spec: dict) -> None:
    """Migrate; one station with the places; the owners with tokens and overdue cars; the bare tables."""
    import hashlib
    from datetime import timedelta

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from jiaoguan.accounts.models import ApiToken, User
    from jiaoguan.core.identifiers import make_citizen_id, make_uscc, make_vin
    from jiaoguan.inspections import services
    from jiaoguan.inspections.models import InspectionSlot, InspectionStation
    from jiaoguan.registry.models import Organisation, Person, Vehicle
    from jiaoguan.registry.rules import add_years

    started = time.perf_counter()
    today = timezone.localdate()
    call_command("migrate", verbosity=0, interactive=False)
    owners, places = spec["owners"], spec["places"]
    organisation = Organisation.objects.create(
        uscc=make_uscc("91411702MA4BENCH1"), name="驻马店市基准机动车检测有限公司", kind="inspection_station",
        division="411702", address="驻马店市驿城区开源大道1号",
    )  # fmt: skip
    station = InspectionStation.objects.create(
        organisation=organisation, division="411702", address="驻马店市驿城区开源大道1号",
        vehicle_kinds=",small_passenger,", weekly={str(d): [0, 0] for d in range(7)},
    )  # fmt: skip
    services.slots_extend(station_ids=[station.pk], today=today, weeks=2)
    per_slot = [places // SLOTS + (1 if i < places % SLOTS else 0) for i in range(SLOTS)]
    slot_ids = []
    for i, capacity in enumerate(per_slot):
        slot = InspectionSlot.objects.get(
            station=station, day=today + timedelta(days=1 + i // 2), half="ap"[i % 2] + "m"
        )
        InspectionSlot.objects.filter(pk=slot.pk).update(capacity=capacity, booked=0)
        slot_ids.append(slot.pk)

    print(f"setup: {owners:,} owners with tokens and overdue cars ...", flush=True)
    born = [add_years(today, -30) - timedelta(days=n // 400) for n in range(owners)]
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
            for n in range(owners)
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
    registered = add_years(today, -7)
    vehicles = Vehicle.objects.bulk_create(
        [
            Vehicle(
                plate_number=f"豫QB{n:04d}" if n < 10000 else f"豫QC{n - 10000:04d}",
                plate_type="02",
                vin=make_vin(f"LSVBN4BR0P{n:06d}{1 + n % 8}"),
                kind="small_passenger",
                use_nature="private",
                brand_model="大众牌 SVW71612",
                owner_person=p,
                registered_on=registered,
                division="411702",
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
        bare_ids = []
        for capacity in per_slot:
            cursor.execute(
                "INSERT INTO bench_bare_slot (capacity, booked) VALUES (%s, 0) RETURNING id", [capacity]
            )
            bare_ids.append(cursor.fetchone()[0])
    print(
        RESULT_PREFIX
        + json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "slots": slot_ids,
                "bare_slots": bare_ids,
                "owners": [[v.pk, raw] for v, raw in zip(vehicles, tokens, strict=True)],
            }
        ),
        flush=True,
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
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            path, headers, body = requests[i]
            began = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
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
            except OSError as exc:
                statuses[i] = -1
                with lock:
                    codes[type(exc).__name__] = codes.get(type(exc).__name__, 0) + 1
            finally:
                conn.close()
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


def _start_insurer(data_dir: str) -> tuple[subprocess.Popen, dict[str, str]]:
    """The fake insurer exchange, zero latency, no faults, on a free port."""
    key, port_file = secrets.token_hex(32), Path(data_dir) / "insurer.port"
    port_file.unlink(missing_ok=True)
    log = open(Path(data_dir) / "insurer.log", "wb")  # closed with the process
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "jiaoguan.integrations.fake_insurer_service", "--port", "0",
            "--port-file", str(port_file), "--key", key, "--client-id", "bench", "--latency-ms", "0",
        ],
        cwd=shared.ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(shared.SRC)},
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the fake insurer did not start; see " + str(Path(data_dir) / "insurer.log"))
        time.sleep(0.1)
    url = f"http://127.0.0.1:{int(port_file.read_text().strip())}"
    return proc, {
        "JIAOGUAN_INSURER_URL": url,
        "JIAOGUAN_INSURER_KEY": key,
        "JIAOGUAN_INSURER_CLIENT_ID": "bench",
    }


def _overbooked(database_url: str) -> tuple[int, int, int, int]:
    """(overbooked platform slots, platform bookings, overbooked bare slots, bare bookings), from the database."""
    import psycopg

    with psycopg.connect(database_url) as db:
        platform = db.execute(
            "SELECT count(*) FROM inspections_inspectionslot s WHERE s.booked > s.capacity OR s.booked <> "
            "(SELECT count(*) FROM inspections_inspectionbooking b WHERE b.slot_id = s.id AND b.state = 'booked')"
        ).fetchone()[0]
        booked = db.execute(
            "SELECT count(*) FROM inspections_inspectionbooking WHERE state = 'booked'"
        ).fetchone()[0]
        bare = db.execute(
            "SELECT count(*) FROM bench_bare_slot s WHERE s.booked > s.capacity OR s.booked <> "
            "(SELECT count(*) FROM bench_bare_booking b WHERE b.slot_id = s.id)"
        ).fetchone()[0]
        bare_booked = db.execute("SELECT count(*) FROM bench_bare_booking").fetchone()[0]
    return platform, booked, bare, bare_booked


def run_load(args: argparse.Namespace, setup: dict, env: dict, database_url: str, data_dir: str) -> None:
    rng = random.Random(SEED)
    picks = [rng.randrange(SLOTS) for _ in setup["owners"]]
    platform_requests = [
        ("/api/v1/me/inspection-bookings", {"Authorization": f"Bearer {raw}"}, {"vehicle_id": vehicle, "slot_id": setup["slots"][k]})
        for (vehicle, raw), k in zip(setup["owners"], picks, strict=True)
    ]  # fmt: skip
    bare_requests = [
        ("/book", {}, {"slot_id": setup["bare_slots"][k], "owner": n}) for n, k in enumerate(picks)
    ]
    insurer, insurer_env = _start_insurer(data_dir)
    env = {**env, **insurer_env}
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
        print(f"load: {len(platform_requests):,} bookings through the API ...", flush=True)
        platform_result = _rush(platform_port, platform_requests, args.concurrency)
    finally:
        shared._stop(platform)
        shared._stop(bare)
        shared._stop(insurer)
    over, booked, bare_over, bare_booked = _overbooked(database_url)
    places = args.places
    print()
    print(f"{'':34} {'requests':>9} {'booked':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  refusals")
    for name, r in (
        ("bare select_for_update view", bare_result),
        ("POST /api/v1/me/inspection-bookings", platform_result),
    ):
        refusals = ", ".join(f"{k} {v}" for k, v in sorted(r["codes"].items()))
        print(
            f"{name:34} {r['requests']:>9,} {r['created']:>7,} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}  {refusals}"
        )
    ratio = platform_result["rps"] / bare_result["rps"]
    print(
        f"\nplatform / bare throughput: {ratio:.2f}; p99 {platform_result['p99_ms'] / bare_result['p99_ms']:.1f} x the bare p99"
    )
    minute = platform_result["requests"] / platform_result["seconds"] * 60
    print(
        f"rush: {platform_result['requests']:,} owners in {platform_result['seconds']:.0f} s "
        f"({'within' if platform_result['seconds'] <= 60 else 'NOT within'} a minute; {minute:,.0f} per minute)"
    )
    print(f"places {places:,}: platform booked {booked:,}, bare booked {bare_booked:,}")
    print(f"overbooked or miscounted slots: platform {over}, bare {bare_over}")
    print(
        f"concurrency {args.concurrency}; gunicorn {args.workers} sync workers each; insurer: fake exchange, "
        f"0 ms latency, no faults; {shared._machine()}"
    )
    assert over == 0 and bare_over == 0, "overbooked"
    per_slot = [places // SLOTS + (1 if i < places % SLOTS else 0) for i in range(SLOTS)]
    expected = sum(min(capacity, picks.count(k)) for k, capacity in enumerate(per_slot))
    assert booked == expected, f"{booked} bookings, {expected} expected: every place asked for is taken"


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1].startswith("--worker="):
        sys.path.insert(0, str(shared.SRC))
        mode, spec = sys.argv[1].split("=", 1)[1], json.loads(sys.argv[2])
        {"setup": worker_setup}[mode](spec)
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/",
        help="PostgreSQL server (its database part is ignored)",
    )
    parser.add_argument("--owners", type=int, default=10000)
    parser.add_argument("--places", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args()
    if urlsplit(args.database_url).scheme not in {"postgres", "postgresql"}:
        sys.exit("the benchmark needs PostgreSQL (--database-url postgresql://...)")
    if args.owners > 20000:
        sys.exit("at most 20,000 owners (plate numbers)")

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
            "setup", {"owners": args.owners, "places": args.places}, env, timeout=900, script=__file__
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
