"""Counting attempts per client, number or login name (限流), for the limits in ``rules``.

Each (scope, key) has one :class:`~jiaoguan.accounts.models.ThrottleBucket` row. An attempt
locks the row, decides with :func:`rules.count_attempt` and records the result before the
lock is let go, so parallel requests cannot all pass a limit that only one of them fits
(check and record in one step). The key is stored as an HMAC, never as the address, mobile
or name itself.

Counts live in the database rather than the cache: they hold across worker processes and
restarts without Redis, and a refused request costs one row lock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from jiaoguan.core.errors import Throttled

from . import rules
from .models import ThrottleBucket

# Rows of a window that ended this long ago are removed when a new key of the scope arrives.
KEEP_AFTER_WINDOW = timedelta(days=1)
# A login name without an account keeps its failures as long as an account would in practice.
KEEP_LOGIN_NAMES = timedelta(days=30)
LOGIN_NAME_SCOPE = "login.name"

# Builds the refusal of a limit: (the limit that is full, seconds until it lets one more through).
Refusal = Callable[[rules.Limit, int], Throttled]


def _key_hash(scope: str, key: str) -> str:
    message = f"{scope}\x00{key}".encode("utf-8", "surrogatepass")
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _locked_bucket(*, scope: str, key: str, now: datetime, keep: timedelta) -> ThrottleBucket:
    """The row of (scope, key), locked until the transaction ends; made on first use."""
    bucket, created = ThrottleBucket.objects.select_for_update().get_or_create(
        scope=scope, key_hash=_key_hash(scope, key), defaults={"window_start": now, "hits": 0}
    )
    if created:
        ThrottleBucket.objects.filter(scope=scope, window_start__lt=now - keep).filter(
            Q(blocked_until__isnull=True) | Q(blocked_until__lt=now)
        ).exclude(pk=bucket.pk).delete()
    return bucket


def throttle_take(
    *, scope: str, key: str, limits: Sequence[rules.Limit], refuse: Refusal, now: datetime
) -> None:
    """Count one attempt of ``key`` against every limit of ``scope``, or refuse it with
    ``refuse(limit, seconds to wait)`` and count nothing.

    Inside the caller's transaction the count stands or falls with it; called outside one it
    is committed at once, so a request that fails afterwards still counts. An empty key (no
    client address: a command or a test calling the service) is not limited.
    """
    if not key:
        return
    with transaction.atomic():
        # Always the same order (the order of ``limits``), so two requests never wait on each other.
        for limit in limits:
            bucket = _locked_bucket(
                scope=f"{scope}:{limit.name}", key=key, now=now, keep=limit.window + KEEP_AFTER_WINDOW
            )
            fresh = bucket.hits == 0
            count = rules.count_attempt(
                limit=limit, window_start=None if fresh else bucket.window_start, hits=bucket.hits, now=now
            )
            if count.refused:
                raise refuse(limit, count.wait_seconds)
            bucket.window_start, bucket.hits = count.window_start, count.hits
            bucket.save(update_fields=["window_start", "hits"])


def throttle_give_back(*, scope: str, key: str, limits: Sequence[rules.Limit], now: datetime) -> None:
    """Take back an attempt that :func:`throttle_take` counted and that turned out well."""
    if not key:
        return
    with transaction.atomic():
        for limit in limits:
            bucket = (
                ThrottleBucket.objects.select_for_update()
                .filter(scope=f"{scope}:{limit.name}", key_hash=_key_hash(f"{scope}:{limit.name}", key))
                .first()
            )
            if bucket is None:
                continue
            hits = rules.give_back_attempt(
                limit=limit, window_start=bucket.window_start, hits=bucket.hits, now=now
            )
            if hits != bucket.hits:
                bucket.hits = hits
                bucket.save(update_fields=["hits"])


def login_name_state(*, name: str, now: datetime) -> ThrottleBucket:
    """The failure count and lock of a login name that has no account, locked for the caller's
    transaction. ``hits`` plays ``User.failed_logins`` and ``blocked_until`` ``User.locked_until``,
    so an unknown name locks exactly as an account would (the caller saves it)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("login_name_state() must run inside transaction.atomic()")
    return _locked_bucket(scope=LOGIN_NAME_SCOPE, key=name, now=now, keep=KEEP_LOGIN_NAMES)


def throttle_take_cached(
    *, scope: str, key: str, limits: Sequence[rules.Limit], refuse: Refusal, now: datetime
) -> None:
    """:func:`throttle_take` for a hot path: the counts live in the cache (Redis when deployed).

    Made for rushes (thousands of exam applications in the first minute of a window), where a
    locked row per attempt costs more than the attempt itself. Each limit is a fixed window
    counted with one atomic increment, so parallel requests cannot all pass; the price is that
    a burst across a window's edge may get up to twice the limit. Without Redis the local-memory
    cache counts per process. An empty key is not limited.
    """
    if not key:
        return
    from django.core.cache import cache

    hashed = _key_hash(scope, key)
    stamp = int(now.timestamp())
    for limit in limits:
        seconds = max(1, int(limit.window.total_seconds()))
        name = f"throttle:{scope}:{limit.name}:{hashed}:{stamp // seconds}"
        cache.add(name, 0, timeout=seconds + 5)
        try:
            hits = cache.incr(name)
        except ValueError:  # evicted between add and incr: this attempt starts the window again
            cache.add(name, 1, timeout=seconds + 5)
            hits = 1
        if hits > limit.attempts:
            raise refuse(limit, seconds - stamp % seconds)
