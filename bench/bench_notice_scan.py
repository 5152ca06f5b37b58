"""Benchmark: the daily scan of the notice rules (N1, N4, N5) over a province's registry.

    .venv/bin/python bench/bench_notice_scan.py --scale 0.01          # 100,000 licences, 80,000 vehicles
    .venv/bin/python bench/bench_notice_scan.py                       # 10,000,000 licences, 8,000,000 vehicles
    .venv/bin/python bench/bench_notice_scan.py --database-url postgresql://postgres@127.0.0.1:5432/ --keep

A fresh PostgreSQL database ``jiaoguan_bench_notices`` is migrated and filled with COPY (psycopg):
10,000,000 x scale persons with one driving licence each, 8,000,000 x scale vehicles (about 5 %
owned by organisations), points entries for about 6 % of the licences and camera records for
about 2 % of the vehicles, with realistic date spreads so that a few per cent of the rows trigger
a notice (inspections overdue, licences overdue for renewal, points near the limit, recent
cancellations...). The COPY is timed as the baseline. The scan of all 40 rules then runs in its
own process, so its elapsed time and peak RSS (``ru_maxrss``) are its own; per-rule seconds,
candidates, hits and messages are printed. A second scan the same day (``--rerun``: every rule
scanned again) must write no message.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "jiaoguan_bench_notices"
RESULT_PREFIX = "BENCH-RESULT "
LICENCES, VEHICLES = 10_000_000, 8_000_000
PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
COUNTIES = ("411702", "411721", "411722", "411723", "411724", "411725", "411726", "411727", "411728")
NOW = "2026-12-05 08:00:00+08"
BLOCK = 50_000

# (weight, kind, use): the vehicle mix of a Chinese prefecture, roughly.
VEHICLE_MIX = (
    (70, "small_passenger", "private"), (4, "small_van", "private"), (3, "small_passenger", "organisation"),
    (6, "small_truck", "freight"), (3, "heavy_truck", "freight"), (1, "tractor", "freight"),
    (1, "semitrailer", "freight"), (5, "motorcycle", "private"), (1, "moped", "private"),
    (1, "large_passenger", "commercial_passenger"), (1, "small_passenger", "taxi"),
    (0.5, "heavy_truck", "dangerous_goods"), (0.3, "large_passenger", "school_bus"),
    (0.5, "large_passenger", "city_bus"), (1, "small_passenger", "rental"), (1, "three_wheeled", "private"),
    (0.7, "low_speed_truck", "private"),
)  # fmt: skip
CLASS_MIX = (
    (76, "C1"), (6, "C2"), (3, "C1E"), (3, "A2"), (4, "B2"), (1, "A1"), (1, "B1"), (0.5, "A3"), (0.3, "C5"),
    (2, "E"), (1, "C1D"), (0.2, "N"), (0.5, "C3"), (0.5, "D"),
)  # fmt: skip
REASONS = (
    "renewal_overdue", "medical_overdue", "review_overdue", "age_limit", "probation_full_score",
    "extended_probation", "full_score", "fatal_accident", "drug_addiction", "death", "own_request",
)  # fmt: skip


def _scrapping_ages() -> dict[tuple[str, str], int | None]:
    """(kind, use) -> compulsory scrapping age (S8), from the registry's pure rules."""
    sys.path.insert(0, str(ROOT / "src"))
    from jiaoguan.registry.rules import UseNature, VehicleKind, scrapping_age_years  # no Django needed

    return {(k.value, u.value): scrapping_age_years(k, u) for k in VehicleKind for u in UseNature}


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _picker(rng: random.Random, mix):
    weights = [w for w, *_ in mix]
    values = [tuple(rest) if len(rest) > 1 else rest[0] for _, *rest in mix]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    import bisect

    return lambda: values[bisect.bisect_right(cumulative, rng.random() * total)]


def _d(day: date | None) -> str:
    return "\\N" if day is None else day.isoformat()


def _plate(n: int) -> str:
    chars = []
    for _ in range(5):
        n, r = divmod(n, len(PLATE_CHARS))
        chars.append(PLATE_CHARS[r])
    return "豫Q" + "".join(reversed(chars)) + (PLATE_CHARS[n] if n else "")


# --------------------------------------------------------------------------- generation


def _columns(cur, table: str) -> list[tuple[str, str, bool, bool]]:
    cur.execute(
        "SELECT column_name, data_type, is_nullable = 'YES', column_default IS NOT NULL "
        "FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        [table],
    )
    return cur.fetchall()


def _filler(data_type: str) -> str:
    if data_type in {"integer", "smallint", "bigint", "double precision", "numeric"}:
        return "0"
    if data_type == "boolean":
        return "f"
    if data_type.startswith("timestamp"):
        return NOW
    if data_type == "jsonb":
        return "[]"
    return ""


def _copy(conn, table: str, given: list[str], rows) -> int:
    """COPY ``rows`` (tuples of strings for the ``given`` columns) into ``table``; every other
    non-null column without a default gets a filler of its type."""
    with conn.cursor() as cur:
        cols = _columns(cur, table)
    extra = [(name, _filler(t)) for name, t, nullable, has_default in cols
             if name not in given and name != "id" and not nullable and not has_default]  # fmt: skip
    names = given + [n for n, _ in extra]
    tail = "".join("\t" + v for _, v in extra)
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        buf = io.StringIO()
        for row in rows:
            buf.write("\t".join(row))
            buf.write(tail)
            buf.write("\n")
            count += 1
            if count % BLOCK == 0:
                copy.write(buf.getvalue())
                buf = io.StringIO()
        copy.write(buf.getvalue())
    conn.commit()
    return count


def generate(database_url: str, scale: float, seed: int, today: date) -> dict:
    import psycopg

    rng = random.Random(seed)
    n_lic, n_veh = int(LICENCES * scale), int(VEHICLES * scale)
    n_org = max(20, n_lic // 2000)
    counts: dict[str, int] = {}
    timings: dict[str, float] = {}
    with psycopg.connect(database_url) as conn:

        def timed(name, fn):
            started = time.monotonic()
            counts[name] = fn()
            timings[name] = time.monotonic() - started
            print(f"  {name}: {counts[name]:,} rows in {timings[name]:.1f} s", flush=True)

        persons_born: list[date] = []  # ~40 MB at full scale: the licences need the holder's age

        def persons():
            for i in range(1, n_lic + 1):
                born = today - timedelta(days=rng.randint(18 * 365, 85 * 365))
                persons_born.append(born)
                mobile = (
                    "" if rng.random() < 0.05 else f"1{rng.randint(3, 9)}{rng.randint(0, 999_999_999):09d}"
                )
                yield ("resident_id", f"4117{i:014d}", "张伟", "M" if i % 2 else "F", born.isoformat(), "CHN",
                       rng.choice(COUNTIES), "", mobile, NOW)  # fmt: skip

        timed("persons", lambda: _copy(conn, "registry_person",
              ["id_type", "id_number", "name", "sex", "birth_date", "nationality", "residence_division",
               "address", "mobile", "created_at"], persons()))  # fmt: skip

        def orgs():
            for i in range(1, n_org + 1):
                yield (f"91411700BENCH{i:05d}", f"驻马店市第{i}运输有限公司", "transport_company",
                       rng.choice(COUNTIES), "", f"139{i:08d}", NOW)  # fmt: skip

        timed("organisations", lambda: _copy(conn, "registry_organisation",
              ["uscc", "name", "kind", "division", "address", "phone", "created_at"], orgs()))  # fmt: skip
        with conn.cursor() as cur:
            cur.execute("SELECT min(id), max(id) FROM registry_person")
            p_lo, p_hi = cur.fetchone()
            cur.execute("SELECT min(id), max(id) FROM registry_organisation")
            o_lo, o_hi = cur.fetchone()

        classes = _picker(rng, CLASS_MIX)

        def licences():
            for i in range(n_lic):
                holder = p_lo + i
                first = today - timedelta(days=rng.randint(0, 30 * 365))
                cls = classes()
                r = rng.random()
                term = "6y" if r < 0.4 else "10y" if r < 0.8 else "long"
                years = 6 if term == "6y" else 10
                span = min((today - first).days, years * 365)
                # 97 %: within validity; 3 %: overdue by up to two years.
                if rng.random() < 0.97 or term == "long":
                    valid_from = today - timedelta(days=rng.randint(0, span))
                else:
                    valid_from = today - timedelta(days=years * 365 + rng.randint(1, 730))
                valid_from = max(valid_from, first)
                probation = first if (today - first).days < 800 else None
                large = "A" in cls or "B" in cls
                reviewed = (
                    today - timedelta(days=rng.randint(0, 700)) if large and rng.random() < 0.8 else None
                )
                # Drivers who owe certificates (70+, C5) mostly keep them up to date.
                born = persons_born[i]
                owes = (today - born).days > 69 * 365 or "C5" in cls
                if owes and rng.random() < 0.98:
                    medical = today - timedelta(days=rng.randint(0, 150))
                else:
                    medical = today - timedelta(days=rng.randint(0, 500)) if rng.random() < 0.3 else None
                cancelled, reason, status = None, "", "A"
                if rng.random() < 0.01:
                    cancelled = today - timedelta(days=rng.randint(0, 1000))
                    reason, status = rng.choice(REASONS), "G"
                employer = str(rng.randint(o_lo, o_hi)) if large and rng.random() < 0.3 else "\\N"
                sb_cancelled = today - timedelta(days=rng.randint(0, 400)) if rng.random() < 0.0002 else None
                yield (str(holder), f"{i + 1:012d}", cls, first.isoformat(), valid_from.isoformat(), term,
                       _d(probation), _d(medical), _d(reviewed), status, _d(cancelled), reason, "", "",
                       COUNTIES[i % len(COUNTIES)], employer, _d(sb_cancelled), NOW)  # fmt: skip

        timed("licences", lambda: _copy(conn, "registry_drivinglicence",
              ["holder_id", "archive_number", "classes", "first_issued_on", "valid_from", "validity_term",
               "probation_started_on", "last_medical_on", "last_reviewed_on", "status", "cancelled_on",
               "cancellation_reason", "downgraded_from", "mobile", "division", "employer_id",
               "school_bus_qualification_cancelled_on", "created_at"], licences()))  # fmt: skip
        with conn.cursor() as cur:
            cur.execute("SELECT min(id), max(id) FROM registry_drivinglicence")
            l_lo, l_hi = cur.fetchone()

        def points():
            for licence in range(l_lo, l_hi + 1):
                if rng.random() >= 0.06:
                    continue
                for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                    value = rng.choice((1, 1, 1, 3, 3, 3, 6, 6, 9, 12))
                    day = today - timedelta(days=rng.randint(0, 730))
                    yield (
                        str(licence),
                        str(value),
                        day.isoformat(),
                        "bench",
                        "t" if rng.random() < 0.1 else "f",
                        NOW,
                    )

        timed("points", lambda: _copy(conn, "registry_pointsentry",
              ["licence_id", "points", "occurred_on", "source", "fine_unpaid", "created_at"], points()))  # fmt: skip

        mix = _picker(rng, VEHICLE_MIX)
        scrapping_ages = _scrapping_ages()

        def vehicles():
            for i in range(n_veh):
                kind, use = mix()
                # Vehicles are scrapped at their age (S8): 99 % younger, 1 % past it (V05, V10).
                years = scrapping_ages[kind, use] or 25
                if rng.random() < 0.99:
                    registered = today - timedelta(days=rng.randint(0, years * 365 - 1))
                else:
                    registered = today - timedelta(days=rng.randint(years * 365 + 1, years * 365 + 700))
                r = rng.random()
                # Inspected within the last 85 days: valid whatever the plan (the next due is at
                # least 3 months after it); 2 %: long ago, mostly overdue now.
                if (today - registered).days < 400:
                    last = None
                elif r < 0.98:
                    last = today - timedelta(days=rng.randint(0, 85))
                else:
                    last = today - timedelta(days=rng.randint(86, 2000))
                last = max(last, registered) if last else None
                company = use in {
                    "freight",
                    "dangerous_goods",
                    "school_bus",
                    "city_bus",
                    "commercial_passenger",
                    "taxi",
                    "rental",
                }
                if company and rng.random() < 0.8:
                    owner_p, owner_o = "\\N", str(rng.randint(o_lo, o_hi))
                else:
                    owner_p, owner_o = str(rng.randint(p_lo, p_hi)), "\\N"
                status, moved = "A", None
                r = rng.random()
                if r < 0.01:
                    status = "E"
                elif r < 0.015:
                    status, moved = "B", today - timedelta(days=rng.randint(0, 400))
                cloned = today - timedelta(days=rng.randint(0, 365)) if rng.random() < 0.0001 else None
                yield (_plate(i), "01" if kind in {"heavy_truck", "large_passenger", "tractor"} else "02",
                       f"LBENCH{i:011d}", kind, use, owner_p, owner_o, "", registered.isoformat(), _d(last), "f",
                       status, COUNTIES[i % len(COUNTIES)], _d(moved), _d(cloned), NOW)  # fmt: skip

        timed("vehicles", lambda: _copy(conn, "registry_vehicle",
              ["plate_number", "plate_type", "vin", "kind", "use_nature", "owner_person_id",
               "owner_organisation_id", "owner_mobile", "registered_on", "last_inspected_on",
               "on_site_inspection_required", "status", "division", "transferred_out_on",
               "cloned_plate_cleared_on", "created_at"], vehicles()))  # fmt: skip
        with conn.cursor() as cur:
            cur.execute("SELECT min(id), max(id) FROM registry_vehicle")
            v_lo, v_hi = cur.fetchone()

        def violations():
            n = 0
            for vehicle in range(v_lo, v_hi + 1):
                if rng.random() >= 0.02:
                    continue
                many = rng.random() < 0.01
                for _ in range(rng.randint(20, 30) if many else rng.randint(1, 4)):
                    n += 1
                    occurred = today - timedelta(days=rng.randint(0, 400))
                    recorded = occurred + timedelta(days=rng.randint(0, 5))
                    yield (f"B{n:015d}", "monitoring", "unhandled", "豫Q00000", "02", str(vehicle),
                           f"{occurred.isoformat()} 09:30:00+08", "驿城区解放大道与交通路交叉口", "411702", "1625",
                           "6", "20000", f"{recorded.isoformat()} 10:00:00+08")  # fmt: skip

        timed("violations", lambda: _copy(conn, "violations_violation",
              ["record_number", "source", "status", "plate_number", "plate_type", "vehicle_id", "occurred_at",
               "place", "recording_division", "code", "points", "fine_fen", "created_at"], violations()))  # fmt: skip
        started = time.monotonic()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        timings["vacuum_analyze"] = time.monotonic() - started
    return {"rows": counts, "seconds": timings}


# --------------------------------------------------------------------------- the scan (its own process)


def worker_scan(today: date, rerun: bool) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from jiaoguan.notices.scan import RULE_ORDER, rule_scan

    rules = []
    started = time.monotonic()
    for code in RULE_ORDER:
        r = rule_scan(code, today=today, rerun=rerun)
        rules.append({"code": r.code, "seconds": r.seconds, "candidates": r.candidates, "hits": r.hits,
                      "messages": r.messages})  # fmt: skip
        print(f"  {code}: {r.seconds:7.2f} s  {r.candidates:>9,} candidates  {r.hits:>9,} hits  "
              f"{r.messages:>9,} messages", file=sys.stderr, flush=True)  # fmt: skip
    total = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(RESULT_PREFIX + json.dumps({"rules": rules, "seconds": total, "peak_rss_mib": peak}), flush=True)


def _scan(env: dict[str, str], today: date, rerun: bool) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker=scan", f"--today={today}"]
    if rerun:
        command.append("--rerun")
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT, check=False)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise SystemExit(f"scan failed (exit {done.returncode})\n{done.stdout[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 10M licences, 8M vehicles")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--today", default="2026-12-05")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse the database of a --keep run: scan only")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--rerun", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    today = date.fromisoformat(args.today)
    if args.worker == "scan":
        worker_scan(today, args.rerun)
        return

    import psycopg

    url = _with_database(args.database_url, BENCH_DATABASE)
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="jiaoguan.settings", DATABASE_URL=url)
    admin = _with_database(args.database_url, "postgres")
    if not args.reuse:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
        print(f"migrating {BENCH_DATABASE} ...", flush=True)
        subprocess.run([str(ROOT / "jiaoguan"), "migrate", "-v0"], env=env, cwd=ROOT, check=True)
        print(f"generating at scale {args.scale} with COPY ...", flush=True)
        started = time.monotonic()
        generated = generate(url, args.scale, args.seed, today)
        copy_seconds = time.monotonic() - started
        print(f"baseline (COPY + VACUUM ANALYZE): {copy_seconds:.1f} s", flush=True)
    else:  # the registry of a --keep run; the messages of its scans are removed
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE notices_delivery, notices_message, notices_scanrun")
        generated, copy_seconds = {"rows": {}}, 0.0
    try:
        print("scan of all rules (first run of the day) ...", flush=True)
        first = _scan(env, today, rerun=False)
        print("scan again (--rerun: every rule from the start; nothing new may be written) ...", flush=True)
        again = _scan(env, today, rerun=True)
        written_again = sum(r["messages"] for r in again["rules"])
        messages = sum(r["messages"] for r in first["rules"])
        print()
        print(f"registry: {generated['rows']}")
        print(f"COPY baseline: {copy_seconds:.1f} s")
        print(
            f"scan: {first['seconds']:.1f} s, {messages:,} messages, peak RSS {first['peak_rss_mib']:.0f} MiB"
        )
        print(
            f"rerun: {again['seconds']:.1f} s, {written_again:,} messages, peak RSS {again['peak_rss_mib']:.0f} MiB"
        )
        slowest = sorted(first["rules"], key=lambda r: -r["seconds"])[:5]
        print("slowest rules: " + ", ".join(f"{r['code']} {r['seconds']:.1f} s" for r in slowest))
        if written_again:
            raise SystemExit("the second scan wrote messages: not idempotent")
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    main()
