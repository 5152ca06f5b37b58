"""Benchmark: bulk import of camera records (``violations.importing.import_records``).

    .venv/bin/python bench/bench_violation_import.py                         # SQLite, 1,000,000 rows
    .venv/bin/python bench/bench_violation_import.py --rows 100000 --csv
    .venv/bin/python bench/bench_violation_import.py --database-url postgresql://postgres@127.0.0.1:5432/

A JSON-lines file (and with ``--csv`` the same rows as CSV) is generated into a temporary
directory: plates 豫Q + 5 characters (a share of them registered vehicles, so the plate
match has work to do, plus some from other provinces), monitorable codes from the code
table, times spread over the past two years, Zhumadian counties as recording agencies,
about 1% invalid rows of every kind and about 1% duplicates (near and far apart).

Each database gets a fresh one: SQLite in a temporary data directory, PostgreSQL as a new
database ``jiaoguan_bench_vimport`` on the given server (dropped at the end). A setup
subprocess migrates and registers the vehicles; the import then runs in its own
subprocess, so the elapsed time and peak RSS are the import's own. The same file is then
imported a second time (a re-delivery: every row a duplicate).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "jiaoguan_bench_vimport"
RESULT_PREFIX = "BENCH-RESULT "
TZ = ZoneInfo("Asia/Shanghai")
PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # GA 36: no I or O
COUNTIES = ("411702",) * 6 + ("411721", "411722", "411723", "411724", "411725", "411726", "411727", "411728")
CODES = (
    ("1625", 20), ("1352", 25), ("1039", 15), ("1345", 10), ("1344", 8), ("1101", 6), ("1223", 5),
    ("1204", 5), ("1301", 3), ("1603", 2), ("1207", 1),
)  # fmt: skip
PLACES = (
    "驿城区解放大道与交通路交叉口", "驿城区雪松大道与开源大道交叉口", "京港澳高速K900+200", "107国道K1002",
    "西平县人民路与棠溪路交叉口", "上蔡县蔡都大道", "平舆县健康大道与金山大道交叉口", "确山县盘龙路",
    "泌阳县花园路与泌水大道交叉口", "汝南县天中大道", "遂平县车站路", "正阳县慎水大道",
)  # fmt: skip
OTHER_PROVINCES = "京沪冀鲁皖鄂陕晋苏浙粤"
FIELDS = (
    "record_number", "plate_number", "plate_type", "occurred_at", "place", "code", "recording_division",
    "device_id", "on_expressway",
)  # fmt: skip


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in {"postgres", "postgresql", "pgsql", "postgis"}


def _plate(rng: random.Random, province: str = "豫", office: str = "Q") -> str:
    return province + office + "".join(rng.choice(PLATE_CHARS) for _ in range(5))


def vehicle_plates(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    plates: set[str] = set()
    while len(plates) < count:
        plates.add(_plate(rng))
    return sorted(plates)


# --------------------------------------------------------------------------- the file


def generate(
    path_jsonl: Path, path_csv: Path | None, *, rows: int, seed: int, plates: list[str]
) -> dict[str, int]:
    """Write the rows; returns how many of each kind were planted."""
    rng = random.Random(seed)
    now = datetime.now(TZ).replace(microsecond=0)
    span = int(timedelta(days=730).total_seconds())
    serials: dict[tuple[str, str], int] = {}
    recent: list[str] = []
    planted = {"valid": 0, "invalid": 0, "duplicate": 0}
    codes = [code for code, weight in CODES for _ in range(weight)]
    out_csv = path_csv.open("w", encoding="utf-8", newline="") if path_csv else None
    if out_csv:
        import csv

        writer = csv.writer(out_csv, lineterminator="\n")
        writer.writerow(FIELDS)
    with path_jsonl.open("w", encoding="utf-8") as out:
        for _ in range(rows):
            roll = rng.random()
            if roll < 0.01 and recent:  # a duplicate: mostly the same delivery again, sometimes much later
                number = (
                    recent[-rng.randint(1, min(50, len(recent)))]
                    if rng.random() < 0.7
                    else rng.choice(recent)
                )
                planted["duplicate"] += 1
                values = _values(rng, now, span, codes, plates, serials, number=number)
            else:
                values = _values(rng, now, span, codes, plates, serials, number=None)
                if roll < 0.02:
                    _spoil(rng, values, now)
                    planted["invalid"] += 1
                else:
                    planted["valid"] += 1
                    recent.append(values["record_number"])
                    if len(recent) > 200_000:  # keep the generator's memory bounded
                        del recent[:100_000]
            if values.get("_raw"):
                line = values["_raw"]
            else:
                line = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
            out.write(line + "\n")
            if out_csv:
                if values.get("_raw"):
                    out_csv.write('broken,"line\n')
                else:
                    writer.writerow(
                        ["true" if v is True else "false" if v is False else v for v in values.values()]
                    )
    if out_csv:
        out_csv.close()
    return planted


def _values(rng, now, span, codes, plates, serials, *, number) -> dict:
    from stdnum.iso7064 import mod_11_2

    occurred = now - timedelta(seconds=rng.randint(3600, span))
    division = rng.choice(COUNTIES)
    if number is None:
        key = (division, f"{occurred:%y%m%d}")
        serials[key] = serials.get(key, 0) + 1
        body = f"{division}1{key[1]}{serials[key]:06d}"
        number = body + mod_11_2.calc_check_digit(body)
    else:
        division = number[:6]
    roll = rng.random()
    if roll < 0.6:
        plate = rng.choice(plates)
    elif roll < 0.9:
        plate = _plate(rng)
    else:
        plate = _plate(rng, province=rng.choice(OTHER_PROVINCES), office=rng.choice("ABCDE"))
    code = rng.choice(codes)
    place = rng.choice(PLACES)
    return {
        "record_number": number,
        "plate_number": plate,
        "plate_type": "02" if rng.random() < 0.9 else "01",
        "occurred_at": occurred.isoformat(),
        "place": place,
        "code": code,
        "recording_division": division,
        "device_id": f"CAM-{division}-{rng.randint(1, 400):04d}",
        "on_expressway": code in ("1603", "1352") and "高速" in place,
    }


def _spoil(rng: random.Random, values: dict, now: datetime) -> None:
    kind = rng.randrange(7)
    if kind == 0:
        values["plate_number"] = "豫Q" + "".join(rng.choice(PLATE_CHARS) for _ in range(3))
    elif kind == 1:
        values["code"] = "9" + values["code"][1:]
    elif kind == 2:
        values["occurred_at"] = (now + timedelta(days=rng.randint(1, 30))).isoformat()
    elif kind == 3:
        values["device_id"] = ""
    elif kind == 4:
        last = values["record_number"][-1]
        values["record_number"] = values["record_number"][:-1] + ("0" if last != "0" else "1")
    elif kind == 5:
        values["occurred_at"] = values["occurred_at"][:19]  # no offset
    else:
        values["_raw"] = json.dumps(values, ensure_ascii=False)[:-20]  # cut off mid-object


# --------------------------------------------------------------------------- workers


def _django() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def worker_setup(args: argparse.Namespace) -> None:
    """Migrate and register the vehicles whose plates the file uses."""
    _django()
    from django.core.management import call_command

    from jiaoguan.core.identifiers import make_citizen_id, make_vin
    from jiaoguan.registry.models import Person, Vehicle

    call_command("migrate", verbosity=0, interactive=False)
    plates = vehicle_plates(args.vehicles, args.seed)
    people = []
    for n in range(len(plates)):
        birth = date(1960, 1, 1) + timedelta(days=n // 400)
        people.append(
            Person(
                id_number=make_citizen_id("411702", birth, (n % 400) * 2 + 101), name="张伟", sex="M",
                birth_date=birth, residence_division="411702",
            )
        )  # fmt: skip
    Person.objects.bulk_create(people, batch_size=2000)
    ids = list(Person.objects.order_by("id").values_list("id", flat=True))
    Vehicle.objects.bulk_create(
        [
            Vehicle(
                plate_number=plate, plate_type="02", vin=make_vin(f"LSVAB4BR0M{n:07d}"), kind="small_passenger",
                use_nature="private", owner_person_id=ids[n], registered_on=date(2020, 5, 13), division="411702",
            )
            for n, plate in enumerate(plates)
        ],
        batch_size=2000,
    )  # fmt: skip
    print(RESULT_PREFIX + json.dumps({"vehicles": Vehicle.objects.count()}), flush=True)


def worker_import(args: argparse.Namespace) -> None:
    """Import the file once; report one JSON line."""
    _django()
    from django.db import connection

    from jiaoguan.violations.importing import import_records
    from jiaoguan.violations.models import Violation

    connection.ensure_connection()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    with open(args.file, "rb") as source:
        batch = import_records(source, fmt=args.format, submitted_by="bench", chunk_size=args.chunk_size)
    seconds = time.perf_counter() - started
    result = {
        "backend": connection.vendor,
        "server": connection.Database.sqlite_version
        if connection.vendor == "sqlite"
        else f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}",
        "total": batch.total_rows,
        "accepted": batch.accepted_rows,
        "duplicates": batch.duplicate_rows,
        "invalid": batch.invalid_rows,
        "matched": Violation.objects.filter(batch=batch, vehicle__isnull=False).count(),
        "table_rows": Violation.objects.count(),
        "seconds": seconds,
        "rss_before_mib": rss_before,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- parent


def _subprocess(mode: str, env: dict[str, str], args: argparse.Namespace, *extra: str) -> dict | None:
    command = [
        sys.executable, str(Path(__file__).resolve()), f"--worker={mode}", f"--vehicles={args.vehicles}",
        f"--seed={args.seed}", f"--chunk-size={args.chunk_size}", *extra,
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    print(
        f"{mode} failed (exit {done.returncode})\n{done.stdout[-2000:]}{done.stderr[-4000:]}", file=sys.stderr
    )
    return None


def _run(
    label: str, database_url: str | None, files: dict[str, Path], args: argparse.Namespace
) -> list[tuple]:
    data_dir = tempfile.mkdtemp(prefix="jiaoguan-bench-")
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="jiaoguan.settings", JIAOGUAN_DATA_DIR=data_dir)
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    results = []
    try:
        for fmt, path in files.items():
            print(f"{label}: fresh database, {args.vehicles:,} vehicles ...", flush=True)
            if database_url:
                _recreate(database_url)
            else:
                shutil.rmtree(data_dir, ignore_errors=True)
                os.makedirs(data_dir)
            if _subprocess("setup", env, args) is None:
                continue
            for attempt in ("first", "repeat"):
                if attempt == "repeat" and args.no_repeat:
                    break
                print(f"{label}: importing {path.name} ({attempt} delivery) ...", flush=True)
                result = _subprocess("import", env, args, f"--file={path}", f"--format={fmt}")
                if result:
                    results.append((label, fmt, attempt, result))
                    print(
                        f"  {result['total']:,} rows in {result['seconds']:.1f} s = "
                        f"{result['total'] / result['seconds']:,.0f} rows/s, peak RSS {result['peak_rss_mib']:.0f} MiB",
                        flush=True,
                    )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return results


def _recreate(database_url: str) -> None:
    import psycopg

    admin_url = _with_database(database_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')


def _drop(server_url: str) -> None:
    import psycopg

    with psycopg.connect(_with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def _print_table(results: list[tuple]) -> None:
    header = (
        f"{'database':<22}{'format':<7}{'delivery':<9}{'rows':>11}{'accepted':>10}{'dupl.':>8}{'invalid':>8}"
        f"{'matched':>9}{'seconds':>9}{'rows/s':>9}{'RSS MiB':>9}{'peak':>6}"
    )
    print()
    print(header)
    print("-" * len(header))
    for label, fmt, attempt, r in results:
        name = f"{label} {r['server'].split(' ')[-1]}"
        print(
            f"{name:<22}{fmt:<7}{attempt:<9}{r['total']:>11,}{r['accepted']:>10,}{r['duplicates']:>8,}"
            f"{r['invalid']:>8,}{r['matched']:>9,}{r['seconds']:>9.1f}{r['total'] / r['seconds']:>9,.0f}"
            f"{r['rss_before_mib']:>9.0f}{r['peak_rss_mib']:>6.0f}"
        )
    print("RSS MiB: after Django setup, before the import; peak: the import process's maximum.")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--vehicles", type=int, default=50_000, help="registered vehicles (plate matches)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--csv", action="store_true", help="also import the same rows as CSV")
    parser.add_argument("--no-repeat", action="store_true", help="skip the second (all duplicates) delivery")
    parser.add_argument(
        "--database-url", metavar="URL", help="PostgreSQL server, e.g. postgresql://postgres@127.0.0.1:5432/"
    )
    parser.add_argument("--no-sqlite", action="store_true", help="run PostgreSQL only")
    parser.add_argument("--worker", choices=["setup", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "setup":
        worker_setup(args)
        return
    if args.worker == "import":
        worker_import(args)
        return

    pg_url = args.database_url or ""
    if pg_url and not _is_postgres(pg_url):
        parser.error("--database-url must be a PostgreSQL URL")
    work = Path(tempfile.mkdtemp(prefix="jiaoguan-bench-files-"))
    try:
        files = {"jsonl": work / "violations.jsonl"}
        if args.csv:
            files["csv"] = work / "violations.csv"
        print(f"generating {args.rows:,} rows into {work} ...", flush=True)
        started = time.perf_counter()
        planted = generate(
            files["jsonl"], files.get("csv"), rows=args.rows, seed=args.seed,
            plates=vehicle_plates(args.vehicles, args.seed),
        )  # fmt: skip
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:.0f} MiB" for p in files.values())
        print(f"  {time.perf_counter() - started:.1f} s; {sizes}; planted {planted}", flush=True)
        results: list[tuple] = []
        if not args.no_sqlite:
            results += _run("sqlite", None, files, args)
        if pg_url:
            try:
                results += _run("postgresql", _with_database(pg_url, BENCH_DATABASE), files, args)
            finally:
                _drop(pg_url)
        if results:
            _print_table(results)
        expected = (
            len(files) * (1 if args.no_repeat else 2) * ((0 if args.no_sqlite else 1) + (1 if pg_url else 0))
        )
        if len(results) < expected:
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
