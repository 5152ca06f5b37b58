"""Outbox: side effects recorded with the change and delivered after commit, at least once.

A service calls :func:`outbox_enqueue` inside its transaction. After commit the
message is dispatched at once in the same process, or, in the production profile, by the
worker (a delivery task stored in the same transaction); anything that failed stays
unsent and is retried by the worker's periodic pass, ``jiaoguan dispatch_outbox`` or the
demo server's background loop. Handlers must tolerate a repeat: the dedup key travels with the
payload so the receiving side can drop duplicates.

A topic may have several subscribers (the app that acts on it and the message centre that
tells the person about it): each runs in its own savepoint, and when one fails the message
stays unsent and all run again on the retry, so every subscriber must be idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage
from .purges import BATCH, purge_in_batches

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], str], None]
_HANDLERS: dict[str, dict[str, Handler]] = {}
MAX_ATTEMPTS = 10


def outbox_handler(topic: str) -> Callable[[Handler], Handler]:
    """Register a function that delivers messages of ``topic`` (one of its subscribers)."""

    def register(fn: Handler) -> Handler:
        # Keyed by the function's name: a module imported twice registers it once.
        _HANDLERS.setdefault(topic, {})[f"{fn.__module__}.{fn.__qualname__}"] = fn
        return fn

    return register


def outbox_enqueue(*, topic: str, payload: dict[str, Any], dedup_key: str) -> OutboxMessage:
    """Store a message in the current transaction and try to send it once that commits."""
    message, _ = OutboxMessage.objects.get_or_create(
        dedup_key=dedup_key, defaults={"topic": topic, "payload": payload}
    )
    if settings.OUTBOX_DELIVERY_IN_WORKER:
        from .tasks import outbox_deliver_task

        # Stored with the change: the worker sees the task exactly when the message commits.
        outbox_deliver_task.enqueue(message_id=message.pk)
    else:
        transaction.on_commit(lambda: outbox_deliver(message_id=message.pk))
    return message


def outbox_enqueue_many(*, topic: str, messages: list[tuple[str, dict[str, Any]]]) -> int:
    """Store many messages of one topic in the current transaction, ``(dedup_key, payload)`` each;
    a key already stored is skipped. Nothing is delivered here: the caller arranges delivery after
    commit (a background task, or the periodic pass picks them up). Returns how many were given.

    Made for a decision that tells tens of thousands at once (an exam plan's allocation): on
    PostgreSQL the rows go through COPY into a temporary table and one INSERT ... ON CONFLICT,
    where one INSERT per message, or the quoting of as many JSON parameters, takes many seconds.
    """
    import json

    from django.db import connection

    if connection.vendor != "postgresql":
        OutboxMessage.objects.bulk_create(
            [OutboxMessage(topic=topic, payload=payload, dedup_key=key) for key, payload in messages],
            batch_size=2000,
            ignore_conflicts=True,
        )
        return len(messages)
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    created = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE outbox_incoming (dedup_key text, payload jsonb) ON COMMIT DROP")
        with cursor.cursor.copy("COPY outbox_incoming (dedup_key, payload) FROM STDIN") as copy:
            for key, payload in messages:
                copy.write_row((key, json.dumps(payload, ensure_ascii=False)))
        cursor.execute(
            f"INSERT INTO {table} (dedup_key, topic, payload, created_at, attempts, last_error) "  # noqa: S608
            "SELECT dedup_key, %s, payload, %s, 0, '' FROM outbox_incoming ON CONFLICT (dedup_key) DO NOTHING",
            [topic, created],
        )
        cursor.execute("DROP TABLE outbox_incoming")
    return len(messages)


def outbox_deliver(*, message_id: int) -> bool:
    """Send one message if still unsent; returns whether it is sent now."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update().filter(pk=message_id, sent_at__isnull=True).first()
        )
        if message is None:
            return True
        handlers = list(_HANDLERS.get(message.topic, {}).values())
        if not handlers:
            message.last_error = f"no handler for {message.topic}"
            message.attempts += 1
            message.save(update_fields=["last_error", "attempts"])
            return False
        try:
            for handler in handlers:
                with transaction.atomic():  # a failing subscriber's writes roll back alone
                    handler(message.payload, message.dedup_key)
        except Exception as exc:  # delivery failures are recorded and retried, never raised to the user
            logger.warning("outbox delivery failed for %s: %s", message.dedup_key, exc)
            message.attempts += 1
            message.last_error = str(exc)[:255]
            message.save(update_fields=["attempts", "last_error"])
            return False
        message.sent_at = timezone.now()
        message.attempts += 1
        message.last_error = ""
        message.save(update_fields=["sent_at", "attempts", "last_error"])
        return True


def outbox_dispatch(*, limit: int = 100) -> int:
    """Retry unsent messages, oldest first; returns how many were sent."""
    ids = list(
        OutboxMessage.objects.filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS).values_list(
            "pk", flat=True
        )[:limit]
    )
    return sum(1 for pk in ids if outbox_deliver(message_id=pk))


def outbox_messages_purge(*, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False) -> int:
    """Messages sent more than ``PURGE_OUTBOX_SENT_DAYS`` (7) days ago (issue 12).

    Rule: a sent message has done its work; the week is for looking into a complaint about a
    text or a refund. An unsent message always stays, even one given up after ``MAX_ATTEMPTS``:
    it is retried, or it is the trace of a delivery that never happened.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PURGE_OUTBOX_SENT_DAYS)
    return purge_in_batches(OutboxMessage.objects.filter(sent_at__lt=cutoff), batch=batch, dry_run=dry_run)
