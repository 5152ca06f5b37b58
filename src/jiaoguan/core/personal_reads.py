"""Cached personal reads (个人数据读缓存): what a citizen's app asks for most (issue 12).

My vehicles, my licences, my violations and the home page are read many times for each time
the rows behind them change. Their answers are kept in the shared cache per person (or
organisation), stamped with that owner's data version: every change of a row behind them
renews the version, so an answer made before the change is never given after it. An entry
also carries the day and language it was made for, because statuses follow the calendar.

Versions are renewed when the change is made and again when it commits: a read between the
two sees the rows as they were and caches them under the version of the moment, which the
renewal at commit retires. The apps that own the rows say what changed
(:func:`personal_data_changed`); this module knows nothing of them.

Only where every process shares the cache (Redis, ``settings.PERSONAL_READ_CACHE_SECONDS`` > 0):
a per-process cache would keep answering from one process after another changed the data.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone, translation

_T = TypeVar("_T")

# A version lives longer than any answer stamped with it; when it has gone, a new random one
# is made and every answer under the old one is simply never matched again.
_VERSION_SECONDS = 2 * 24 * 3600


def owner_scope(user: Any) -> str | None:
    """Whose data a user's own reads are: the person they are, or the organisation."""
    person_id = getattr(user, "person_id", None)
    if person_id:
        return f"p{person_id}"
    organisation_id = getattr(user, "organisation_id", None)
    if organisation_id:
        return f"o{organisation_id}"
    return None


def _version_key(scope: str) -> str:
    return f"personal:version:{scope}"


def enabled() -> bool:
    return int(getattr(settings, "PERSONAL_READ_CACHE_SECONDS", 0)) > 0


def personal_data_changed(
    *, person_ids: Iterable[int | None] = (), organisation_ids: Iterable[int | None] = ()
) -> None:
    """Retire every cached read of these owners, now and again when the change commits."""
    if not enabled():
        return
    keys = [_version_key(f"p{pk}") for pk in set(person_ids) if pk]
    keys += [_version_key(f"o{pk}") for pk in set(organisation_ids) if pk]
    if not keys:
        return

    def renew() -> None:
        cache.set_many({key: secrets.token_hex(8) for key in keys}, timeout=_VERSION_SECONDS)

    renew()
    transaction.on_commit(renew)


def cached_read(user: Any, name: str, params: tuple[Any, ...], build: Callable[[], _T]) -> _T:
    """``build()``'s answer for the user's own data, from the cache while nothing behind it changed.

    ``name`` and ``params`` say which read it is (a page cursor, a filter); the answer must be
    picklable and must depend only on the owner's rows, the day and the language.
    """
    scope = owner_scope(user)
    if scope is None or not enabled():
        return build()
    version_key = _version_key(scope)
    detail = hashlib.blake2b(repr(params).encode(), digest_size=8).hexdigest()
    language = translation.get_language() or settings.LANGUAGE_CODE
    entry_key = f"personal:{name}:{scope}:{timezone.localdate().isoformat()}:{language}:{detail}"
    found = cache.get_many([version_key, entry_key])
    version, entry = found.get(version_key), found.get(entry_key)
    if version is not None and entry is not None and entry[0] == version:
        return entry[1]  # type: ignore[no-any-return]
    if version is None:
        cache.add(version_key, secrets.token_hex(8), timeout=_VERSION_SECONDS)
        version = cache.get(version_key)
    answer = build()
    # Not inside a transaction that changed the data: its renewal at commit would retire the
    # entry anyway, and a rollback would leave an answer that was never true.
    if version is not None and not _in_changing_transaction():
        cache.set(entry_key, (version, answer), timeout=int(settings.PERSONAL_READ_CACHE_SECONDS))
    return answer


def _in_changing_transaction() -> bool:
    from django.db import connection

    return bool(connection.in_atomic_block and connection.run_on_commit)
