"""The worker process of the production profile (后台任务进程), started by ``jiaoguan worker``.

It runs the tasks web processes enqueue (Django Tasks API, database backend: the
``db_worker`` loop of django-tasks-db) and enqueues the periodic work itself, so no cron is
needed: the outbox retry pass, payment reconciliation (today's, every ten minutes, and the
previous day's statement once after midnight), the daily credential status sync and the daily
purge of short-lived tables (jiaoguan.core.purges).

Each periodic task has slots (every N seconds, or one per local day). A slot is claimed with
an atomic ``cache.add`` in the shared Redis before its task is enqueued, so however many
worker processes run, each slot is enqueued once; the tasks are idempotent besides.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import close_old_connections
from django.utils import timezone

from jiaoguan.announcements.tasks import publications_regenerate_task
from jiaoguan.applications.tasks import postal_tracking_poll_task
from jiaoguan.core.tasks import outbox_dispatch_task, purges_run_task
from jiaoguan.credentials.tasks import credential_status_sync_task
from jiaoguan.delegations.tasks import elder_proxies_sweep_task, vehicle_filings_sweep_task
from jiaoguan.exams.tasks import exam_plans_allocate_task, exams_daily_task
from jiaoguan.inspections.tasks import inspection_slots_extend_task
from jiaoguan.notices.tasks import notices_deliveries_task, notices_scan_task
from jiaoguan.payments.tasks import payments_reconcile_task
from jiaoguan.plates.tasks import plate_draw_days_task, plate_selections_sweep_task
from jiaoguan.points_study.tasks import full_score_sweep_task
from jiaoguan.reports.tasks import reports_generate_task
from jiaoguan.transfers.tasks import transfers_retry_task

logger = logging.getLogger("jiaoguan.worker")

SCHEDULE_CHECK_SECONDS = 5
DAILY = None


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: int | None  # DAILY: once per local calendar day
    enqueue: Callable[[datetime], object]


def schedule_slot(*, now: datetime, every_seconds: int | None) -> str:
    """The slot ``now`` falls in: the local date for a daily task, else the interval's number."""
    if every_seconds is DAILY:
        return timezone.localdate(now).isoformat()
    return str(int(now.timestamp()) // every_seconds)


def _reconcile_today(now: datetime) -> None:
    payments_reconcile_task.enqueue(day=timezone.localdate(now).isoformat())


def _reconcile_previous_day(now: datetime) -> None:
    # The gateway's statement of a day is complete once the day is over.
    payments_reconcile_task.enqueue(day=(timezone.localdate(now) - timedelta(days=1)).isoformat())


def _status_sync(now: datetime) -> None:
    credential_status_sync_task.enqueue(day=timezone.localdate(now).isoformat())


SCHEDULE: tuple[Periodic, ...] = (
    Periodic("outbox.dispatch", 30, lambda now: outbox_dispatch_task.enqueue()),
    Periodic("payments.reconcile", 600, _reconcile_today),
    Periodic("payments.reconcile_previous_day", DAILY, _reconcile_previous_day),
    Periodic("credentials.status_sync", DAILY, _status_sync),
    # Tracking of posted documents whose callbacks may have been lost (issue 13).
    Periodic("applications.postal_poll", 3600, lambda now: postal_tracking_poll_task.enqueue()),
    # The inspection stations' slots, kept 8 weeks ahead (issue 14, B4).
    Periodic("inspections.slots_extend", DAILY, lambda now: inspection_slots_extend_task.enqueue()),
    # The message centre's SMS: new ones and those waiting after a failure (issue 15, N1).
    Periodic("notices.deliveries", 30, lambda now: notices_deliveries_task.enqueue()),
    # Expired tokens, sent outbox messages, old idempotency answers, sessions... (issue 12).
    Periodic("core.purge", DAILY, lambda now: purges_run_task.enqueue()),
    Periodic("announcements.publications", DAILY, lambda now: publications_regenerate_task.enqueue()),  # N3
    # Reports to authorities and companies (issue 15, N2): last month's from the 1st, events daily.
    Periodic("reports.generate", DAILY, lambda now: reports_generate_task.enqueue()),
    # The 37 notices and the safety warnings (issue 15, N1, N4, N5): resumable, idempotent.
    Periodic(
        "notices.scan", DAILY, lambda now: notices_scan_task.enqueue(day=timezone.localdate(now).isoformat())
    ),
    # Exam plans whose window closed are allocated within 30 s (issue 16, X4); missed exams and
    # expired permits once a day (B22).
    Periodic("exams.allocate", 30, lambda now: exam_plans_allocate_task.enqueue()),
    Periodic("exams.daily", DAILY, lambda now: exams_daily_task.enqueue()),
    # Plate draws (issue 17): seeds committed ahead and revealed after their day; the sweep of
    # ended holds and lapsed choices for the lists (the numbers are free again without it).
    Periodic("plates.days", 300, lambda now: plate_draw_days_task.enqueue()),
    Periodic("plates.sweep", 60, lambda now: plate_selections_sweep_task.enqueue()),
    # Filed vehicles (U7): lapsed filings written down; the marks already follow at read time.
    Periodic("delegations.filings", 3600, lambda now: vehicle_filings_sweep_task.enqueue()),
    # Elderly proxies (O2) past their last day and never used are written down as lapsed.
    Periodic("delegations.proxies", 3600, lambda now: elder_proxies_sweep_task.enqueue()),
    # Full-score education (V7): opened for licences at 12 points, status J after 30 days missed.
    Periodic("points_study.full_score", DAILY, lambda now: full_score_sweep_task.enqueue()),
    # Cross-region transfers (T2-T4): origins that did not answer are asked again every minute.
    Periodic("transfers.retry", 60, lambda now: transfers_retry_task.enqueue()),
)


def enqueue_due(*, now: datetime, schedule: tuple[Periodic, ...] = SCHEDULE) -> list[str]:
    """Enqueue every periodic task whose current slot no process has claimed yet; their names."""
    enqueued = []
    for item in schedule:
        slot = schedule_slot(now=now, every_seconds=item.every_seconds)
        key = f"worker-schedule:{item.name}:{slot}"
        keep = 2 * (item.every_seconds or 24 * 3600)
        if not cache.add(key, now.isoformat(), timeout=keep):
            continue
        try:
            item.enqueue(now)
        except Exception:
            cache.delete(key)  # the slot is tried again on the next check
            raise
        enqueued.append(item.name)
    return enqueued


def _schedule_loop(stop: threading.Event) -> None:
    while True:
        try:
            names = enqueue_due(now=timezone.now())
            if names:
                logger.info("enqueued periodic tasks: %s", ", ".join(names))
        except Exception:  # a database or Redis restart must not end the schedule
            logger.exception("could not enqueue periodic tasks")
        finally:
            close_old_connections()
        if stop.wait(SCHEDULE_CHECK_SECONDS):
            return


def run_worker(*, interval: float = 1.0) -> None:
    """Run the schedule in a thread and the task loop in this one, until SIGTERM or SIGINT."""
    from django.core.management import call_command

    stop = threading.Event()
    threading.Thread(target=_schedule_loop, args=(stop,), name="schedule", daemon=True).start()
    try:
        call_command("db_worker", "--no-reload", "--no-startup-delay", "--interval", str(interval))
    finally:
        stop.set()
