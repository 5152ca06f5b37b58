"""The public side of the draws (选号日志公示, issue 17 §3): the days and their commitments, a
day's file, the platform's own replay of it, and the log in words for the public page.

Reads only, apart from one idempotent step every public read takes first (:func:`publish_due`):
an ended day's seed is revealed and today's commitment exists even when no worker runs, so what
anyone is shown never depends on the worker having passed.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone, translation

from jiaoguan.core.errors import NotFound, ValidationFailed

from . import draws, selectors, services
from .models import DrawDay, PoolEvent, PoolOpening

CHECK_CACHE_SECONDS = 3600


def publish_due(*, now: datetime | None = None) -> None:
    """The morning's commitment and the night's reveal, done on read (both idempotent)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    # The reveal is an UPDATE; on SQLite even an empty one takes the write lock, so look first.
    if DrawDay.objects.filter(day__lt=today, revealed_at__isnull=True).exists():
        services.draw_days_reveal(now=now)
    services.draw_day_ensure(today)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(str(text or "").strip())
    except ValueError:
        raise ValidationFailed(
            "plates.draws.date",
            "日期格式应为 YYYY-MM-DD，例如 2026-12-05。",
            "The date must be written YYYY-MM-DD, e.g. 2026-12-05.",
            field="date",
        ) from None


def no_such_day(day: date) -> NotFound:
    return NotFound(
        "plates.draws.day_not_found",
        f"{day.isoformat()} 没有发布选号随机种子承诺，这一天没有选号日志。",
        f"No seed commitment was published for {day.isoformat()}; there is no draw log for that day.",
        detail={"date": day.isoformat()},
    )


def day_record(day: date) -> DrawDay:
    record = selectors.draw_day_get(day=day)
    if record is None:
        raise no_such_day(day)
    return record


def day_file(day: date) -> dict[str, Any]:
    """The published file of a day (the seed only once revealed), or 404."""
    data = selectors.draw_day_file(day=day)
    if data is None:
        raise no_such_day(day)
    return data


# ---------------------------------------------------------------- the days


def days(*, limit: int = 60) -> list[dict[str, Any]]:
    """The latest days, newest first (tomorrow's commitment included once published)."""
    rows = DrawDay.objects.annotate(
        draws=Count("events", filter=Q(events__kind=draws.DRAW)), entries=Count("events")
    ).order_by("-day")[:limit]
    return [
        {
            "date": row.day,
            "commitment": row.commitment,
            "committed_at": row.committed_at,
            "revealed": row.revealed_at is not None,
            "revealed_at": row.revealed_at,
            "draws": row.draws,
            "entries": row.entries,
        }
        for row in rows
    ]


# ---------------------------------------------------------------- the platform's own check


def day_check(record: DrawDay) -> draws.Report:
    """``draws.replay`` of the day as the platform holds it, with its seed even before the reveal.

    Before the reveal only the platform can run it (the seed is secret); its answer says no more
    than the log itself. The result is cached while the day's log is unchanged: a busy day's file
    is large, and an ended day's never changes.
    """
    facts = PoolEvent.objects.filter(day=record).aggregate(n=Count("pk"), last=Max("pk"))
    key = f"plates.draw_check:{record.day.isoformat()}:{facts['n']}:{facts['last']}"
    cached = cache.get(key)
    if isinstance(cached, dict):
        return draws.Report(**cached)
    data = selectors.draw_day_file(day=record.day, reveal=True) or {}
    report = draws.replay(data, commitment=record.commitment)
    cache.set(key, dataclasses.asdict(report), CHECK_CACHE_SECONDS)
    return report


# ---------------------------------------------------------------- the log in words (the page)


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


KIND_WORDS: dict[str, tuple[str, str]] = {
    draws.IMPORT: ("号码入库", "numbers added to the pool"),
    draws.WITHDRAW: ("号码收回", "numbers withdrawn"),
    draws.DRAW: ("随机选号（抽取5个号码）", "random draw (five numbers held)"),
    draws.HOLD: ("自编自选（保留号码）", "self-composed number held"),
    draws.CHOOSE: ("选定号码（其余退回）", "number chosen (the others released)"),
    draws.RELEASE: ("放弃，号码退回", "given up, numbers released"),
    draws.REGISTER: ("注册登记", "registered at the DMV"),
}


def kind_words(kind: str) -> str:
    zh, en = KIND_WORDS.get(kind, (kind, kind))
    return en if _english() else zh


def day_events(record: DrawDay) -> QuerySet[PoolEvent]:
    """The day's log, pool by pool, each in sequence order (the page pages through it)."""
    return (
        PoolEvent.objects.filter(day=record)
        .select_related("pool")
        .order_by("pool__prefix", "pool__plate_type", "sequence")
    )


def day_pools(record: DrawDay) -> list[dict[str, Any]]:
    """Each pool's opening of the day: where its log starts, its span, and how many entries."""
    counts = dict(
        PoolEvent.objects.filter(day=record).values_list("pool_id").annotate(n=Count("pk")).order_by()
    )
    openings = (
        PoolOpening.objects.filter(day=record)
        .select_related("pool")
        .only("pool__prefix", "pool__plate_type", "sequence", "span")
        .order_by("pool__prefix", "pool__plate_type")
    )
    return [
        {
            "pool": opening.pool.key,
            "opening_sequence": opening.sequence,
            "span": opening.span,
            "entries": counts.get(opening.pool_id, 0),
        }
        for opening in openings
    ]


def event_row(event: PoolEvent) -> dict[str, Any]:
    numbers = event.number_list
    if event.kind == draws.IMPORT and event.positions:
        numbers = [str(number) for _position, number in event.positions]
    shown = numbers[:10]
    return {
        "pool": event.pool.key,
        "sequence": event.sequence,
        "at": timezone.localtime(event.at),
        "kind": event.kind,
        "kind_words": kind_words(event.kind),
        "user": event.masked_user,
        "selection": event.selection_number,
        "numbers": shown,
        "more": len(numbers) - len(shown),
    }
