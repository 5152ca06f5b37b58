"""Scheduled purges of short-lived tables (定期清理, issue 12).

Some tables only grow and hold rows that are useless after a while: expired bearer tokens,
sent outbox messages, idempotency answers, failed accident queries, sessions. Each app owns
the purge of its own tables (a function ``<thing>_purge(*, now=None, batch=5000, dry_run=False)
-> int`` in its services) and registers it here in ``AppConfig.ready`` with
:func:`register_purge`, so core knows no app. The worker runs :func:`run_purges` once a day
(``core.purge`` in jiaoguan.worker); ``jiaoguan purge [--dry-run]`` runs it by hand.

A purge deletes in batches of primary keys (:func:`purge_in_batches`), each batch its own
transaction, so purging millions of rows never holds one long transaction or its locks.
The kernel also purges the two framework tables it relies on: Django's sessions and the
results of finished background tasks.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any, Protocol

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

__all__ = [
    "BATCH",
    "Purge",
    "purge_in_batches",
    "register_purge",
    "registered_purges",
    "run_purges",
    "sessions_purge",
    "task_results_purge",
]

logger = logging.getLogger("jiaoguan.purge")

BATCH = 5000


class Purge(Protocol):
    def __call__(self, *, now: datetime | None = ..., batch: int = ..., dry_run: bool = ...) -> int: ...


_PURGES: dict[str, Purge] = {}


def register_purge(name: str, purge: Purge) -> Purge:
    """Register the purge of one table under its name (the table's, e.g. ``core_outboxmessage``);
    registering a name again replaces it."""
    _PURGES[name] = purge
    return purge


def registered_purges() -> list[str]:
    return sorted(_PURGES)


def purge_in_batches(queryset: QuerySet[Any], *, batch: int = BATCH, dry_run: bool = False) -> int:
    """Delete the rows of ``queryset`` ``batch`` primary keys at a time; the rows deleted.

    Every batch is a transaction of its own and deletes only rows that still match the filter,
    so a row changed since it was picked stays. ``dry_run`` counts the rows and deletes none.
    """
    if dry_run:
        return queryset.count()
    if batch < 1:
        raise ValueError("batch must be at least 1")
    label = queryset.model._meta.label
    ordered = queryset.order_by("pk")
    total = 0
    after: Any = None
    while True:
        # Each batch starts past the last key seen, so rows that stay (an unsent outbox message,
        # a checked nonce) are not scanned again by every later batch.
        window = ordered if after is None else ordered.filter(pk__gt=after)
        with transaction.atomic():
            keys = list(window.values_list("pk", flat=True)[:batch])
            if not keys:
                break
            _, per_model = queryset.filter(pk__in=keys).delete()
            total += per_model.get(label, 0)
        if len(keys) < batch:
            break
        after = keys[-1]
    return total


def run_purges(
    now: datetime | None = None,
    *,
    batch: int | None = None,
    dry_run: bool = False,
    only: list[str] | None = None,
) -> dict[str, int | None]:
    """Run every registered purge (or those named in ``only``); rows deleted per table.

    One purge that fails is logged with its exception and noted as ``None``; the others run
    all the same, and nothing is raised: tomorrow's run tries it again. ``batch`` defaults to
    ``PURGE_BATCH``.
    """
    now = now or timezone.now()
    batch = batch or settings.PURGE_BATCH
    unknown = sorted(set(only or ()) - set(_PURGES))
    if unknown:
        raise LookupError(f"no purge named {', '.join(unknown)}; known: {', '.join(registered_purges())}")
    results: dict[str, int | None] = {}
    for name in registered_purges():
        if only and name not in only:
            continue
        try:
            rows = _PURGES[name](now=now, batch=batch, dry_run=dry_run)
        except Exception:  # one table's trouble must not keep the others growing
            logger.exception("purge %s failed", name)
            results[name] = None
            continue
        results[name] = rows
        logger.info("purge %s: %d rows%s", name, rows, " (dry run, none deleted)" if dry_run else "")
    return results


# ---------------------------------------------------------------- framework tables


def sessions_purge(*, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False) -> int:
    """Expired sessions of the configured engine (``clearsessions``).

    Rule: a session row goes once its ``expire_date`` (``SESSION_COOKIE_AGE`` after the last
    save, 8 hours) has passed. With a database engine (``db``, ``cached_db``) the rows are deleted
    in batches; another engine (Redis ``cache`` in production, where keys expire by themselves,
    or ``file``) clears itself with ``SessionStore.clear_expired()`` and counts nothing.
    """
    from django.contrib.sessions.backends.db import SessionStore as DatabaseStore

    now = now or timezone.now()
    store: Any = import_module(settings.SESSION_ENGINE).SessionStore
    if issubclass(store, DatabaseStore):
        return purge_in_batches(
            store.get_model_class().objects.filter(expire_date__lt=now), batch=batch, dry_run=dry_run
        )
    if not dry_run:
        store.clear_expired()
    return 0


def task_results_purge(*, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False) -> int:
    """Results of background tasks that finished ``PURGE_TASK_RESULTS_DAYS`` (14) days ago.

    Rule: with the database task backend every task leaves a row, one per outbox delivery among
    them, and nothing else removes it; a task still waiting or running always stays.
    """
    if not apps.is_installed("django_tasks_db"):
        return 0
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PURGE_TASK_RESULTS_DAYS)
    return purge_in_batches(
        DBTaskResult.objects.finished().filter(finished_at__lt=cutoff), batch=batch, dry_run=dry_run
    )


def register() -> None:
    """The kernel's own purges; called from CoreConfig.ready."""
    from .idempotency import idempotency_records_purge
    from .outbox import outbox_messages_purge

    register_purge("core_idempotencyrecord", idempotency_records_purge)
    register_purge("core_outboxmessage", outbox_messages_purge)
    register_purge("django_session", sessions_purge)
    register_purge("django_tasks_db_dbtaskresult", task_results_purge)
