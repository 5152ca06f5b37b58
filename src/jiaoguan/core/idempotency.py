"""Idempotency keys for externally retried calls (``Idempotency-Key`` header).

The first request with a key stores its answer; a repeat with the same key and the
same body gets that answer again; the same key with another body is a conflict.
The unique constraint on (scope, owner, key) decides a race between two first
requests: the loser waits for the winner's row and replays it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from .errors import Conflict, DomainError, ValidationFailed
from .models import IdempotencyRecord
from .purges import BATCH, purge_in_batches

MAX_KEY_LENGTH = 128


def _hash_body(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def idempotent_call(
    *, scope: str, owner: str, key: str | None, body: Any, call: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run ``call`` once per key; ``call`` returns (status, json-able body).

    Domain errors are stored too, so a retry of a refused request is refused the same way.
    """
    if not key:
        return call()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            "core.idempotency_key_too_long",
            "Idempotency-Key 过长（最多128个字符）。",
            "The Idempotency-Key header is too long (at most 128 characters).",
        )
    request_hash = _hash_body(body)
    existing = IdempotencyRecord.objects.filter(scope=scope, owner=owner, key=key).first()
    if existing is not None:
        return _replay(existing, request_hash)
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                scope=scope, owner=owner, key=key, request_hash=request_hash
            )
            status, response = _run(call)
            # Stored and answered as plain JSON, so the replay is byte-for-byte the first answer.
            response = json.loads(json.dumps(response, cls=DjangoJSONEncoder))
            record.status_code = status
            record.response = response
            record.save(update_fields=["status_code", "response"])
            return status, response
    except IntegrityError:
        existing = IdempotencyRecord.objects.filter(scope=scope, owner=owner, key=key).first()
        if existing is None:
            raise
        return _replay(existing, request_hash)


def _run(call: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
    try:
        return call()
    except DomainError as error:
        return error.status, error.as_dict()


def _replay(record: IdempotencyRecord, request_hash: str) -> tuple[int, Any]:
    if record.request_hash != request_hash:
        raise Conflict(
            "core.idempotency_key_reused",
            "该 Idempotency-Key 已用于另一个不同的请求。",
            "This Idempotency-Key was already used for a different request.",
        )
    if record.status_code is None:
        raise Conflict(
            "core.idempotency_in_progress",
            "相同请求正在处理中，请稍后重试。",
            "The same request is still being processed; try again shortly.",
        )
    return record.status_code, record.response


def idempotency_records_purge(
    *, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False
) -> int:
    """Answers stored more than ``PURGE_IDEMPOTENCY_HOURS`` (24) hours ago (issue 12).

    Rule: the table has no expiry column, so the age of the first request decides: a client
    retries within minutes, and after a day a repeated key is a new request.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.PURGE_IDEMPOTENCY_HOURS)
    return purge_in_batches(
        IdempotencyRecord.objects.filter(created_at__lt=cutoff), batch=batch, dry_run=dry_run
    )
