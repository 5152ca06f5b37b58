"""Answers kept in the shared cache under a version that every change renews (issue 12).

A subject (a person's data, a credential) has a version in the cache; an answer about it is
kept with the version it was made under and given back only while that version is current.
Whoever changes the subject's rows renews the version when the change is made and again when
it commits: a read between the two sees the rows as they were and keeps them under the version
of the moment, which the renewal at commit retires. A reader takes the version before it reads
the rows, so an answer made from rows older than a renewal never carries the new version.
One round trip to the cache answers a hit: the version and the answer are read together.

Only where every process shares the cache (Redis): with a per-process cache another process
would keep answering from its own copy after a change.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import connection, transaction

_T = TypeVar("_T")

# A version lives longer than any answer stamped with it; when it has gone, a new random one is
# made and every answer under the old one is simply never matched again.
VERSION_SECONDS = 2 * 24 * 3600


def version_key(subject: str) -> str:
    return f"version:{subject}"


def renew_versions(subjects: Iterable[str]) -> None:
    """Retire every answer about these subjects, now and again when the change commits."""
    keys = [version_key(subject) for subject in set(subjects)]
    if not keys:
        return

    def renew() -> None:
        cache.set_many({key: secrets.token_hex(8) for key in keys}, timeout=VERSION_SECONDS)

    renew()
    transaction.on_commit(renew)


def versioned_read(subject: str, entry_key: str, build: Callable[[], _T | Uncached], *, seconds: int) -> _T:
    """``build()``'s answer about ``subject``, kept under ``entry_key`` for ``seconds`` at most
    and only while the subject's version holds. An answer ``build`` wraps in :class:`Uncached` is
    given once and not kept (a record not found may be created a moment later).
    """
    key = version_key(subject)
    found = cache.get_many([key, entry_key])
    version, entry = found.get(key), found.get(entry_key)
    if version is not None and entry is not None and entry[0] == version:
        return entry[1]  # type: ignore[no-any-return]
    if version is None:
        cache.add(key, secrets.token_hex(8), timeout=VERSION_SECONDS)
        version = cache.get(key)
    answer = build()
    if isinstance(answer, Uncached):
        return answer.value  # type: ignore[no-any-return]
    # Not inside a transaction that changed the data: its renewal at commit retires the entry
    # anyway, and after a rollback the entry would hold an answer that was never true.
    if version is not None and not in_changing_transaction():
        cache.set(entry_key, (version, answer), timeout=seconds)
    return answer


class Uncached:
    """An answer to give this once without keeping it."""

    def __init__(self, value: Any) -> None:
        self.value = value


def in_changing_transaction() -> bool:
    return bool(connection.in_atomic_block and connection.run_on_commit)
