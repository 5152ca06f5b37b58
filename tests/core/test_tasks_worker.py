"""Background work on the Tasks API (issue 12, item 3): the worker runs what web processes enqueue,
the schedule enqueues each periodic slot once, and running a task twice does no harm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from jiaoguan import worker as schedule
from jiaoguan.core import outbox
from jiaoguan.core.models import OutboxMessage
from jiaoguan.core.tasks import outbox_deliver_task
from jiaoguan.payments.models import ReconciliationRun

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def database_tasks(settings, monkeypatch):
    """The production set-up: tasks stored in the database, outbox delivery left to the worker."""
    # The worker drops connections between tasks, as Django does between requests; inside the
    # test's transaction that would drop the test's own connection (Django's test client skips it too).
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    settings.TASKS = DATABASE_TASKS
    settings.OUTBOX_DELIVERY_IN_WORKER = True
    cache.clear()  # the schedule's slot claims
    yield
    cache.clear()


@pytest.fixture
def delivered():
    received: list[dict] = []
    outbox._HANDLERS["test.worker"] = {"test": lambda payload, dedup_key: received.append(payload)}
    yield received
    outbox._HANDLERS.pop("test.worker", None)


def run_worker_until_idle() -> None:
    """What `jiaoguan worker` does, until the queue is empty (without taking over the signals)."""
    Worker(
        queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id="test-worker", excluded_queue_names=[],
    ).run()  # fmt: skip


@pytest.mark.django_db
def test_an_outbox_message_waits_for_the_worker_and_is_delivered_once(database_tasks, delivered):
    with transaction.atomic():  # a web request's change
        message = outbox.outbox_enqueue(topic="test.worker", payload={"n": 1}, dedup_key="worker-test-1")
    assert delivered == []  # not in the web process
    task_row = DBTaskResult.objects.get()
    assert task_row.status == TaskResultStatus.READY
    assert task_row.args_kwargs["kwargs"] == {"message_id": message.pk}

    run_worker_until_idle()
    assert delivered == [{"n": 1}]
    message.refresh_from_db()
    assert message.sent_at is not None
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL

    # The same delivery task again (a retry after a lost acknowledgement): nothing is sent twice.
    outbox_deliver_task.enqueue(message_id=message.pk)
    run_worker_until_idle()
    assert delivered == [{"n": 1}]
    assert DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL).count() == 2


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_task(database_tasks, delivered):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.outbox_enqueue(topic="test.worker", payload={"n": 2}, dedup_key="worker-test-2")
        raise RuntimeError("the change failed")
    assert not DBTaskResult.objects.exists()
    assert not OutboxMessage.objects.filter(dedup_key="worker-test-2").exists()


@pytest.mark.django_db
def test_the_schedule_enqueues_each_periodic_task_once_per_slot_and_the_worker_runs_them(
    database_tasks, delivered, payment_gateway
):
    # At the start of a 10-minute slot, so that the next 30-second slot below stays inside it.
    longest = max(item.every_seconds or 0 for item in schedule.SCHEDULE)
    epoch = int(timezone.now().timestamp())
    now = datetime.fromtimestamp(epoch - epoch % longest + 1, tz=UTC)
    names = schedule.enqueue_due(now=now)
    assert sorted(names) == sorted(item.name for item in schedule.SCHEDULE)
    assert {"outbox.dispatch", "payments.reconcile", "credentials.status_sync", "core.purge"} <= set(names)
    assert DBTaskResult.objects.count() == len(schedule.SCHEDULE)
    # A second worker process (or the next check of this one) within the same slots adds nothing.
    assert schedule.enqueue_due(now=now) == []
    assert DBTaskResult.objects.count() == len(schedule.SCHEDULE)

    with transaction.atomic():  # a message whose first delivery is due to the periodic pass
        OutboxMessage.objects.create(topic="test.worker", payload={"n": 3}, dedup_key="worker-test-3")
    run_worker_until_idle()
    statuses = set(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == {TaskResultStatus.SUCCESSFUL}
    today = timezone.localdate(now)
    assert set(ReconciliationRun.objects.values_list("day", flat=True)) == {today, today - timedelta(days=1)}
    assert all(run.error == "" for run in ReconciliationRun.objects.all())
    assert delivered == [{"n": 3}]

    # The next outbox, SMS and exam allocation slots come 30 s later; the daily ones wait for the next day.
    later = now + timedelta(seconds=schedule.SCHEDULE[0].every_seconds or 0)
    assert sorted(schedule.enqueue_due(now=later)) == [
        "exams.allocate",
        "notices.deliveries",
        "outbox.dispatch",
    ]


def test_the_short_lived_tables_are_purged_once_a_day():
    (purge,) = [item for item in schedule.SCHEDULE if item.name == "core.purge"]
    assert purge.every_seconds is schedule.DAILY


def test_a_daily_slot_is_the_local_calendar_day():
    # 16:30 UTC is already the next day in Asia/Shanghai (UTC+8).
    assert (
        schedule.schedule_slot(now=datetime(2026, 1, 1, 16, 30, tzinfo=UTC), every_seconds=None)
        == "2026-01-02"
    )
    assert (
        schedule.schedule_slot(now=datetime(2026, 1, 1, 15, 59, tzinfo=UTC), every_seconds=None)
        == "2026-01-01"
    )
    first = schedule.schedule_slot(now=datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC), every_seconds=30)
    assert schedule.schedule_slot(now=datetime(2026, 1, 1, 0, 0, 29, tzinfo=UTC), every_seconds=30) == first
    assert schedule.schedule_slot(now=datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC), every_seconds=30) != first


def test_a_slot_whose_enqueue_failed_is_tried_again():
    cache.clear()
    calls: list[datetime] = []

    def flaky(now: datetime) -> None:
        calls.append(now)
        if len(calls) == 1:
            raise ConnectionError("database restarting")

    plan = (schedule.Periodic("test.flaky", 60, flaky),)
    now = timezone.now()
    with pytest.raises(ConnectionError):
        schedule.enqueue_due(now=now, schedule=plan)
    assert schedule.enqueue_due(now=now, schedule=plan) == ["test.flaky"]
    assert schedule.enqueue_due(now=now, schedule=plan) == []
    assert len(calls) == 2
    cache.clear()
