"""Reads of military licence exchanges (O3): the applicant's own cases, the counter's queues
scoped by the access table's jurisdiction."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from jiaoguan.core.access import division_prefix_for, require

from .models import ExchangeCase
from .services import APPLY, HANDLE, SUSPECT


def cases_of(*, actor: Any) -> QuerySet[ExchangeCase]:
    """My exchange cases, newest first."""
    require(actor, APPLY)
    person_id = getattr(actor, "person_id", None)
    if person_id is None:
        return ExchangeCase.objects.none()
    return (
        ExchangeCase.objects.filter(person_id=person_id)
        .select_related("licence")
        .order_by("-submitted_at", "-pk")
    )


def case_of(*, actor: Any, case_id: int) -> ExchangeCase | None:
    """One of my cases; somebody else's is no such case."""
    return cases_of(actor=actor).filter(pk=case_id).first()


def _scoped(actor: Any, action: str) -> QuerySet[ExchangeCase]:
    require(actor, action)
    prefix = division_prefix_for(actor, action)
    if prefix is None:
        return ExchangeCase.objects.none()
    rows = ExchangeCase.objects.select_related("person", "licence")
    return rows.filter(division__startswith=prefix) if prefix else rows


def acceptance_queue(*, actor: Any) -> QuerySet[ExchangeCase]:
    """Cases of the jurisdiction whose check passed or was cleared, oldest first (O3)."""
    return (
        _scoped(actor, HANDLE)
        .filter(state=ExchangeCase.State.AWAITING_ACCEPTANCE)
        .order_by("submitted_at", "pk")
    )


def suspect_queue(*, actor: Any) -> QuerySet[ExchangeCase]:
    """Cases of the jurisdiction whose check did not pass (嫌疑业务), oldest first (O3)."""
    return (
        _scoped(actor, SUSPECT).filter(state=ExchangeCase.State.SUSPECT_REVIEW).order_by("submitted_at", "pk")
    )


def recent_decided(*, actor: Any) -> QuerySet[ExchangeCase]:
    """The jurisdiction's cases decided lately, newest first."""
    return _scoped(actor, HANDLE).exclude(state__in=ExchangeCase.OPEN_STATES).order_by("-decided_at", "-pk")
