"""Reads of the cross-region used-car transfer (T1-T5): the buyer's files, the counter's lists."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet

from jiaoguan.core.access import division_prefix_for
from jiaoguan.core.identifiers import mask_id_number

from . import rules
from .models import OriginRelease, Problem, Transfer

APPLY = "transfers.own.apply"
VIEW = "transfers.transfer.view"
REGISTER = "transfers.transfer.register"
PROBLEM = "transfers.problem.handle"
RETURN = "transfers.archive.return"
ANOMALIES = "transfers.anomaly.view"
LIST_LIMIT = 100


def my_transfers(*, actor: Any) -> QuerySet[Transfer]:
    person_id = getattr(actor, "person_id", None)
    if not person_id:
        return Transfer.objects.none()
    return Transfer.objects.filter(buyer_id=person_id)


def my_transfer_get(*, actor: Any, transfer_id: int) -> Transfer | None:
    return my_transfers(actor=actor).filter(pk=transfer_id).first()


def transfers_visible_to(*, actor: Any, action: str = VIEW) -> QuerySet[Transfer]:
    prefix = division_prefix_for(actor, action)
    if prefix is None:
        return Transfer.objects.none()
    return Transfer.objects.filter(division__startswith=prefix).select_related("buyer")


def releases() -> QuerySet[OriginRelease]:
    """Cars of this registry sent to other DMVs (the origin's side)."""
    return OriginRelease.objects.select_related("vehicle")


def problems_of(reference: str) -> QuerySet[Problem]:
    return Problem.objects.filter(reference=reference).order_by("raised_at", "id")


def open_problems() -> QuerySet[Problem]:
    return Problem.objects.filter(answered_at__isnull=True).order_by("due_on", "id")


def overdue(problem: Problem, *, today: date) -> bool:
    return problem.answered_at is None and problem.due_on < today


def anomalies(*, actor: Any, today: date) -> list[dict[str, Any]]:
    """Traders with many transfers in a short window (seed 004 §二 三 3): masked seller or agent."""
    since = today - timedelta(days=365)
    rows = list(
        transfers_visible_to(actor=actor, action=ANOMALIES)
        .filter(created_at__date__gte=since)
        .values_list("seller_id_number", "agent_uscc", "created_at")
    )
    by_trader: list[tuple[str, date]] = []
    for seller, agent, created in rows:
        by_trader.append((f"seller:{seller}", created.date()))
        if agent:
            by_trader.append((f"agent:{agent}", created.date()))
    flagged = rules.anomalous_traders(by_trader)
    out = []
    for trader, count in sorted(flagged.items(), key=lambda kv: (-kv[1], kv[0])):
        kind, _, value = trader.partition(":")
        out.append(
            {"kind": kind, "who": mask_id_number(value) if kind == "seller" else value, "count": count}
        )
    return out
