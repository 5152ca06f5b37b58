"""Reads of plate pre-selection (B19, P1-P5): the actor's selections, a dealer's records, the pools
and monitoring lists of a jurisdiction, and the public day file a draw is replayed from."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from jiaoguan.core.access import division_prefix_for, require

from . import draws
from .models import (
    DrawDay,
    PlatePool,
    PlateSelection,
    PoolEvent,
    PoolNumber,
    PoolOpening,
    PreRegistration,
)

PUBLIC = "plates.draws.public"
SELECT = "plates.own.select"
PREREGISTER = "plates.preregistration.create"
POOL_MANAGE = "plates.pool.manage"
REGISTER = "plates.selection.register"
MONITOR = "plates.selection.view"

S = PlateSelection.State


# ---------------------------------------------------------------- lazily decided states


def effective_state(selection: PlateSelection, now: Any = None) -> str:
    """The state time has already decided, before the sweep writes it down (an ended hold is expired)."""
    now = now or timezone.now()
    if selection.state == S.HOLDING and selection.held_until <= now:
        return S.EXPIRED
    if (
        selection.state == S.CHOSEN
        and selection.register_by
        and selection.register_by < timezone.localdate(now)
    ):
        return S.LAPSED
    return selection.state


# ---------------------------------------------------------------- the buyer's own (P1-P5)


def selections_of(*, actor: Any) -> QuerySet[PlateSelection]:
    require(actor, SELECT)
    return (
        PlateSelection.objects.filter(account=actor)
        .select_related("preregistration", "pool")
        .order_by("-created_at", "-pk")
    )


def selection_get(*, actor: Any, selection_id: int) -> PlateSelection | None:
    return selections_of(actor=actor).filter(pk=selection_id).first()


def open_selection_of(*, actor: Any) -> PlateSelection | None:
    """The actor's selection that is holding or waiting for registration, if time has not ended it."""
    now = timezone.now()
    for selection in selections_of(actor=actor).filter(state__in=PlateSelection.OPEN_STATES):
        if effective_state(selection, now) in PlateSelection.OPEN_STATES:
            return selection
    return None


# ---------------------------------------------------------------- dealers (P2)


def preregistrations_of_dealer(*, actor: Any) -> QuerySet[PreRegistration]:
    require(actor, PREREGISTER)
    return PreRegistration.objects.filter(dealer_id=getattr(actor, "organisation_id", None)).order_by(
        "-created_at"
    )


# ---------------------------------------------------------------- staff


def _in_jurisdiction(actor: Any, action: str, field: str) -> Q:
    require(actor, action)
    prefix = division_prefix_for(actor, action)
    return Q() if prefix is None else Q(**{f"{field}__startswith": prefix})


def pools_visible_to(*, actor: Any, action: str = POOL_MANAGE) -> QuerySet[PlatePool]:
    return PlatePool.objects.filter(_in_jurisdiction(actor, action, "division")).order_by(
        "prefix", "plate_type"
    )


def pool_state_counts(pools: list[PlatePool], now: datetime) -> dict[int, dict[str, int]]:
    """Numbers per state; a hold or quarantine whose time has run out counts as free (P5)."""
    live = Q(state__in=[PoolNumber.State.HELD, PoolNumber.State.SELECTED], available_at__gt=now)
    rows = (
        PoolNumber.objects.filter(pool__in=pools)
        .values("pool_id")
        .annotate(
            free=Count("pk", filter=Q(state=PoolNumber.State.FREE)
                       | Q(state__in=[PoolNumber.State.HELD, PoolNumber.State.SELECTED], available_at__lte=now)),
            held=Count("pk", filter=live & Q(state=PoolNumber.State.HELD)),
            selected=Count("pk", filter=live & Q(state=PoolNumber.State.SELECTED)),
            registered=Count("pk", filter=Q(state=PoolNumber.State.REGISTERED)),
            withdrawn=Count("pk", filter=Q(state=PoolNumber.State.WITHDRAWN)),
        )
    )  # fmt: skip
    empty = {"free": 0, "held": 0, "selected": 0, "registered": 0, "withdrawn": 0}
    counts: dict[int, dict[str, int]] = {p.pk: dict(empty) for p in pools}
    for row in rows:
        counts[row["pool_id"]] = {key: int(row[key]) for key in empty}  # type: ignore[literal-required]
    return counts


def selections_visible_to(*, actor: Any, action: str = MONITOR) -> QuerySet[PlateSelection]:
    return (
        PlateSelection.objects.filter(_in_jurisdiction(actor, action, "pool__division"))
        .select_related("preregistration", "pool", "owner_person", "owner_organisation")
        .order_by("-created_at", "-pk")
    )


def lapsed_selections(*, actor: Any) -> QuerySet[PlateSelection]:
    """Chosen numbers not registered by their deadline (lapsed, or lapsing since the last sweep)."""
    today = timezone.localdate()
    return selections_visible_to(actor=actor).filter(
        Q(state=S.LAPSED) | Q(state=S.CHOSEN, register_by__lt=today)
    )


def selection_for_registration(*, actor: Any, vin: str) -> PlateSelection | None:
    """The chosen selection of a pre-registered car, for the counter's registration (by VIN)."""
    return (
        selections_visible_to(actor=actor, action=REGISTER)
        .filter(preregistration__vin=vin.strip().upper())
        .filter(state__in=[S.CHOSEN, S.REGISTERED, S.LAPSED])
        .first()
    )


def number_history(*, actor: Any, number: str) -> QuerySet[PoolEvent]:
    """Every logged change of one number (audit of issue 17 §7), oldest first.

    An import lists its numbers in ``positions``, not ``numbers``; it is found through the
    number's batch, whose log entry gives the batch as its reason."""
    changes = Q(numbers__contains=f",{number},")
    row = PoolNumber.objects.filter(number=number).values("pool_id", "batch_id").first()
    if row is not None:
        changes |= Q(pool_id=row["pool_id"], kind=draws.IMPORT, reason=f"batch {row['batch_id']}")
    return (
        PoolEvent.objects.filter(_in_jurisdiction(actor, MONITOR, "pool__division"))
        .filter(changes)
        .select_related("pool", "actor", "day")
        .order_by("pool_id", "sequence")
    )


# ---------------------------------------------------------------- the public day file (issue 17 §3)


def draw_days(*, limit: int = 60) -> list[DrawDay]:
    return list(DrawDay.objects.order_by("-day")[:limit])


def draw_day_get(*, day: date) -> DrawDay | None:
    return DrawDay.objects.filter(day=day).first()


def draw_day_file(*, day: date, reveal: bool | None = None) -> dict[str, Any] | None:
    """The day as published: commitment, the seed once revealed, and per pool its opening and log.

    ``reveal`` forces the seed in (tests and the platform's own check); by default the seed is
    shown only once the day has been revealed. Users are masked; staff actors are not named.
    """
    record = draw_day_get(day=day)
    if record is None:
        return None
    show_seed = record.revealed_at is not None if reveal is None else reveal
    pools: list[dict[str, Any]] = []
    openings = {o.pool_id: o for o in PoolOpening.objects.filter(day=record).select_related("pool")}
    events_by_pool: dict[int, list[dict[str, Any]]] = {}
    for event in (
        PoolEvent.objects.filter(day=record).order_by("pool_id", "sequence").iterator(chunk_size=2000)
    ):
        events_by_pool.setdefault(event.pool_id, []).append(event_data(event))
    for pool_id, opening in sorted(openings.items(), key=lambda item: item[1].pool.key):
        pools.append(
            {
                "pool": opening.pool.key,
                "salt": opening.pool.salt,
                "opening_sequence": opening.sequence,
                "opening_span": opening.span,
                "opening": opening.numbers,
                "events": events_by_pool.get(pool_id, []),
            }
        )
    return {
        "format": draws.FORMAT,
        "date": record.day.isoformat(),
        "commitment": record.commitment,
        "committed_at": record.committed_at.isoformat(),
        "seed": record.seed if show_seed else None,
        "revealed_at": record.revealed_at.isoformat() if record.revealed_at else None,
        "pools": pools,
    }


def event_data(event: PoolEvent) -> dict[str, Any]:
    data: dict[str, Any] = {
        "sequence": event.sequence,
        "at": draws.stamp(event.at),
        "kind": event.kind,
        "numbers": event.number_list,
    }
    if event.selection_number:
        data["selection"] = event.selection_number
        data["user"] = event.masked_user
    if event.until is not None:
        data["until"] = draws.stamp(event.until)
    if event.inputs:
        data["inputs"] = event.inputs
    if event.positions:
        data["positions"] = event.positions
    return data


def recent_days(*, today: date | None = None, days: int = 14) -> list[DrawDay]:
    today = today or timezone.localdate()
    return list(DrawDay.objects.filter(day__gte=today - timedelta(days=days)).order_by("-day"))
