"""Cached personal reads (个人数据读缓存): what a citizen's app asks for most (issue 12).

My vehicles, my licences, my violations and the home page are read many times for each time
the rows behind them change. Their answers are kept in the shared cache per person (or
organisation) under that owner's data version (core/versioned_cache.py): every change of a
row behind them renews it, so an answer made before the change is never given after it. An
entry also carries the day and language it was made for, because statuses follow the calendar.
The apps that own the rows say what changed (:func:`personal_data_changed`); this module knows
nothing of them.

Only where every process shares the cache (Redis, ``settings.PERSONAL_READ_CACHE_SECONDS`` > 0).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.safestring import SafeString

from .versioned_cache import renew_versions, version_key, versioned_read

_T = TypeVar("_T")


def owner_scope(user: Any) -> str | None:
    """Whose data a user's own reads are: the person they are, or the organisation."""
    person_id = getattr(user, "person_id", None)
    if person_id:
        return f"p{person_id}"
    organisation_id = getattr(user, "organisation_id", None)
    if organisation_id:
        return f"o{organisation_id}"
    return None


def _subject(scope: str) -> str:
    return f"personal:{scope}"


def owner_version_key(scope: str) -> str:
    return version_key(_subject(scope))


def enabled() -> bool:
    return int(getattr(settings, "PERSONAL_READ_CACHE_SECONDS", 0)) > 0


def personal_data_changed(
    *, person_ids: Iterable[int | None] = (), organisation_ids: Iterable[int | None] = ()
) -> None:
    """Retire every cached read of these owners, now and again when the change commits."""
    if not enabled():
        return
    subjects = [_subject(f"p{pk}") for pk in set(person_ids) if pk]
    subjects += [_subject(f"o{pk}") for pk in set(organisation_ids) if pk]
    renew_versions(subjects)


def cached_read(user: Any, name: str, params: tuple[Any, ...], build: Callable[[], _T]) -> _T:
    """``build()``'s answer for the user's own data, from the cache while nothing behind it changed.

    ``name`` and ``params`` say which read it is (a page cursor, a filter); the answer must be
    picklable and must depend only on the owner's rows, the day and the language.
    """
    scope = owner_scope(user)
    if scope is None or not enabled():
        return build()
    detail = hashlib.blake2b(repr(params).encode(), digest_size=8).hexdigest()
    language = translation.get_language() or settings.LANGUAGE_CODE
    entry_key = f"personal:{name}:{scope}:{timezone.localdate().isoformat()}:{language}:{detail}"
    return versioned_read(
        _subject(scope), entry_key, lambda: plain(build()), seconds=int(settings.PERSONAL_READ_CACHE_SECONDS)
    )


def plain(value: Any) -> Any:
    """The value with its lazy translations made text: the entry is for one language anyway, and a
    lazy string costs far more to unpickle than to keep as text."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, SafeString):
        return value
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    return value
