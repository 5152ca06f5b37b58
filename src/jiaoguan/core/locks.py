"""Named row locks for serialising work on something that has no row of its own yet."""

from __future__ import annotations

from django.db import transaction

from .models import NamedLock


def lock_named(name: str) -> None:
    """Hold a row lock on ``name`` until the current transaction ends.

    Two first callers race on the unique insert; the loser waits for the winner's
    commit and then locks the same row. On SQLite the IMMEDIATE transaction mode
    already serialises writers, so the lock is implied.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_named() must run inside transaction.atomic()")
    NamedLock.objects.get_or_create(name=name[:128])
    NamedLock.objects.select_for_update().get(name=name[:128])
