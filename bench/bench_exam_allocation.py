"""Benchmark: allocation of a lottery exam plan on PostgreSQL (issue 16 §3, X4).

    .venv/bin/python bench/bench_exam_allocation.py --database-url postgresql://postgres@127.0.0.1:5432/
    .venv/bin/python bench/bench_exam_allocation.py --applications 5000 --places 2000   # a quicker run

A database ``jiaoguan_bench_exam_allocation`` is created and migrated on the server the URL names, with
one exam centre, one published lottery plan of ``--places`` places (default 20,000) and
``--applications`` learners (default 50,000), each with a learner permit of a different age (so
the priority classes are mixed) and one application to the plan, written with bulk inserts. The
window is then closed and three things are timed in the same run:

- the pure draw: ``allocation.allocate`` on the same entries, in memory (the lower bound of the
  work that cannot be avoided: one HMAC per application and a sort);
- a bare database write of the same result: the ranks and states COPY'd into a temporary table
  and written to the applications with one ``UPDATE ... FROM`` (what the platform writes, with
  nothing else);
- ``services.plan_allocate`` itself: priority classes, the canonical inputs and their SHA-256,
  the draw, the bulk update of every application, and one outbox message per learner (the
  notices of issue 16 §6). Outbox messages are stored for the worker to deliver
  (``JIAOGUAN_OUTBOX_IN_WORKER`` as in production), so the time is the allocation's, not the
  sending of 50,000 texts.

Asserted from the database: exactly ``--places`` applications allocated, the rest waiting, the
plan's ``taken`` equal to the places, and the platform's own ``allocation.verify`` of the
published document OK. The target is under 10 seconds for 50,000 applications.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
DATABASE_NAME = "jiaoguan_bench_exam_allocation"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _setup_database(url: str) -> str:
    import psycopg

    admin = _with_database(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return _with_database(url, DATABASE_NAME)


def generate(applications: int, places: int) -> int:
    """The centre, the plan and the learners with their applications; returns the plan's id."""
    from datetime import date, timedelta
    from datetime import time as clock

    from django.utils import timezone

    from jiaoguan.accounts.services import staff_create
    from jiaoguan.core.identifiers import make_citizen_id, make_uscc
    from jiaoguan.exams import services
    from jiaoguan.exams.models import ExamApplication, ExamPlan, LearnerPermit
    from jiaoguan.exams.rules import permit_valid_until
    from jiaoguan.registry.models import Person

    clerk = staff_create(
        username="bench-clerk", password="Counter#2026x", role="counter_clerk", jurisdiction="411700"
    )
    officer = staff_create(
        username="bench-officer", password="Counter#2026x", role="exam_officer", jurisdiction="411700"
    )
    centre = services.centre_register(
        actor=clerk,
        data=services.CentreInput(
            uscc=make_uscc("12411700MB0000001"), name="驻马店市机动车驾驶人考试中心", division="411702",
            address="驻马店市驿城区雪松大道18号", subjects=(1, 2, 3, 4), vehicle_classes=("C1",),
        ),
    )  # fmt: skip
    now = timezone.now()
    today = timezone.localdate()
    plan = services.plan_create(
        actor=officer,
        data=services.PlanInput(
            centre_id=centre.pk, subject=2, vehicle_class="C1", exam_date=today + timedelta(days=10),
            starts_at=clock(8, 30), places=places, window_opens_at=now - timedelta(hours=1),
            window_closes_at=now + timedelta(hours=1),
        ),
    )  # fmt: skip
    plan = services.plan_publish(actor=officer, plan_id=plan.pk)
    batch = 5000
    for start in range(0, applications, batch):
        stop = min(applications, start + batch)
        persons = Person.objects.bulk_create(
            [
                Person(
                    id_number=make_citizen_id("411702", date(1970, 1, 1) + timedelta(days=i // 900), 100 + i % 900),
                    name="学员", sex="M" if (100 + i % 900) % 2 else "F",
                    birth_date=date(1970, 1, 1) + timedelta(days=i // 900), residence_division="411702",
                    mobile=f"139{i:08d}",
                )
                for i in range(start, stop)
            ]
        )  # fmt: skip
        permits = []
        for i, person in zip(range(start, stop), persons, strict=True):
            # Permits from 40 days to about 3 years old: some expire soon, some waited long.
            issued = today - timedelta(days=40 + (i * 37) % 1050)
            permits.append(
                LearnerPermit(
                    number=f"XJ{i:016d}", person=person, vehicle_class="C1", kind="first", division="411702",
                    test_division="411702", enrolled_on=issued - timedelta(days=30), issued_on=issued,
                    valid_until=permit_valid_until(issued), state="learning",
                )
            )  # fmt: skip
        permits = LearnerPermit.objects.bulk_create(permits)
        ExamApplication.objects.bulk_create(
            [
                ExamApplication(
                    number=f"KS{today:%Y%m%d}{i:08d}", plan=plan, permit=permit, person_id=permit.person_id,
                    subject=2, state="applied", eligible_on=permit.issued_on + timedelta(days=10),
                )
                for i, permit in zip(range(start, stop), permits, strict=True)
            ]
        )  # fmt: skip
    ExamPlan.objects.filter(pk=plan.pk).update(
        window_opens_at=now - timedelta(hours=3), window_closes_at=now - timedelta(minutes=1)
    )
    return plan.pk


def bare_baseline(plan_id: int) -> tuple[float, float]:
    """The pure draw in memory, and a COPY + UPDATE ... FROM of its result; seconds of each.
    Written in a transaction that is rolled back, so the platform's run starts from the same rows."""
    from django.db import connection, transaction

    from jiaoguan.exams import allocation
    from jiaoguan.exams.models import ExamApplication, ExamPlan
    from jiaoguan.exams.services import allocation_entry

    plan = ExamPlan.objects.get(pk=plan_id)
    rows = list(ExamApplication.objects.select_related("person").filter(plan_id=plan_id))
    for a in rows:
        a.priority = 4
    entries = [allocation_entry(a) for a in rows]
    ids = {a.number: a.pk for a in rows}
    started = time.perf_counter()
    placed = allocation.allocate(entries, places=plan.places, seed_hex=plan.seed)
    draw = time.perf_counter() - started
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bench_rank (id bigint, rank int, state varchar(16)) ON COMMIT DROP"
            )
            with cursor.copy("COPY bench_rank (id, rank, state) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for p in placed:
                    copy.write_row((ids[p.number], p.rank, p.outcome))
            cursor.execute(
                "UPDATE exams_examapplication a SET rank = b.rank, state = b.state, decided_at = now() "
                "FROM bench_rank b WHERE a.id = b.id"
            )
        write = time.perf_counter() - started
        transaction.set_rollback(True)
    return draw, write


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/")
    parser.add_argument("--applications", type=int, default=50_000)
    parser.add_argument("--places", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--profile", action="store_true", help="print where plan_allocate spends its time")
    args = parser.parse_args()
    url = _setup_database(args.database_url)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="jiaoguan.settings", DATABASE_URL=url, JIAOGUAN_OUTBOX_IN_WORKER="1"
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # As in production: the learners' messages are a task stored for the worker, not run here.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    try:
        print(f"migrating {DATABASE_NAME} ...", flush=True)
        call_command("migrate", interactive=False, verbosity=0)
        started = time.perf_counter()
        plan_id = generate(args.applications, args.places)
        print(
            f"generated {args.applications:,} applications in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        draw, write = bare_baseline(plan_id)
        from jiaoguan.exams import selectors, services
        from jiaoguan.exams.models import ExamApplication, ExamPlan

        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        services.plan_allocate(plan_id=plan_id)
        seconds = time.perf_counter() - started
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        plan = ExamPlan.objects.get(pk=plan_id)
        allocated = ExamApplication.objects.filter(plan_id=plan_id, state="allocated").count()
        waiting = ExamApplication.objects.filter(plan_id=plan_id, state="waiting").count()
        proof = selectors.allocation_proof(plan=plan)
        print()
        print(f"applications {args.applications:,}, places {args.places:,}")
        print(f"baseline: pure draw (allocation.allocate) {draw:.2f} s")
        print(f"baseline: COPY + UPDATE ... FROM of the result {write:.2f} s")
        print(f"baseline total {draw + write:.2f} s")
        print(f"plan_allocate {seconds:.2f} s ({seconds / (draw + write):.1f}x the baseline)")
        print(f"allocated {allocated:,}, waiting {waiting:,}, plan.taken {plan.taken:,}")
        print(f"platform check: {'OK' if proof['check']['ok'] else proof['check']['problems']}")
        assert allocated == min(args.places, args.applications) == plan.taken
        assert allocated + waiting == args.applications
        assert proof["check"]["ok"]
        print(f"target (under 10 s): {'met' if seconds < 10 else 'NOT met'}")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            import psycopg

            with psycopg.connect(_with_database(args.database_url, "postgres"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
