"""Data check (数据校验): the stored rows that today's validators would refuse.

Rules tighten over time and rows arrive by routes other than the services (imports,
old releases, hand-made fixes), so stored data is checked against the current rules
by ``jiaoguan check-data``: one line per problem (table, id, field, reason), exit status
1 when there is any.

Apps register their checks in ``AppConfig.ready`` with :func:`register_check`; core
knows no app. A check is called with a :class:`CheckContext` and yields
:class:`Finding` rows. It reads the table in batches of ``context.batch_size`` rows
(:func:`in_batches`), so a check of millions of rows runs in bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Model, QuerySet

__all__ = [
    "CheckContext",
    "Finding",
    "in_batches",
    "register_check",
    "registered_checks",
    "run_checks",
]


@dataclass(frozen=True)
class Finding:
    """One stored value the validators would refuse."""

    table: str  # database table, e.g. registry_vehicle
    id: str  # primary key of the row
    field: str  # column, or "" for the row as a whole
    reason: str  # the validator's code and message

    def line(self) -> str:
        return "\t".join((self.table, self.id, self.field, self.reason.replace("\t", " ").replace("\n", " ")))


@dataclass(frozen=True)
class CheckContext:
    today: date
    batch_size: int = 2000


Check = Callable[[CheckContext], Iterable[Finding]]
_CHECKS: dict[str, Check] = {}


def register_check(name: str) -> Callable[[Check], Check]:
    """Register a data check under a stable name (``registry.vehicles``); registering again replaces it."""

    def register(check: Check) -> Check:
        _CHECKS[name] = check
        return check

    return register


def registered_checks() -> Mapping[str, Check]:
    return dict(sorted(_CHECKS.items()))


def run_checks(*, context: CheckContext, only: Iterable[str] = ()) -> Iterator[tuple[str, Finding]]:
    """Every finding of every registered check (or of the ``only`` ones), with the check's name."""
    wanted = list(only)
    unknown = [name for name in wanted if name not in _CHECKS]
    if unknown:
        raise LookupError(f"no data check named {', '.join(unknown)}")
    for name, check in registered_checks().items():
        if wanted and name not in wanted:
            continue
        for finding in check(context):
            yield name, finding


def in_batches(
    queryset: QuerySet[Any], *, fields: Iterable[str], size: int
) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``queryset`` as dicts of ``fields`` (plus ``pk``), ``size`` at a time.

    Keyset pagination on the primary key: each batch is one indexed query however far the
    scan has got, and nothing is kept between batches.
    """
    columns = ["pk", *fields]
    last: Any = None
    while True:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        rows = list(page.values(*columns)[:size])
        if not rows:
            return
        yield rows
        last = rows[-1]["pk"]
        if len(rows) < size:
            return


def table_of(model: type[Model]) -> str:
    return model._meta.db_table
