"""Reads of applications (issue 13): the applicant's own list and one of them, the staff queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import F, Q, QuerySet

from jiaoguan.core.access import division_prefix_for, require
from jiaoguan.core.errors import ValidationFailed

from . import catalogue, rules
from .models import Application, ApplicationEvent
from .services import HANDLE, VIEW_OWN, application_for_applicant

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    """One page of a keyset-paged list; ``after`` is passed back to get the next one."""

    items: list[Application]
    after: tuple[datetime, int] | None


def my_applications(*, actor: Any, after: tuple[datetime, int] | None = None, limit: int = PAGE_SIZE) -> Page:
    """The actor's applications, newest first, keyset-paged by (created_at, id) (index application_mine)."""
    require(actor, VIEW_OWN)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    qs = Application.objects.filter(applicant_id=actor.pk)
    if after is not None:
        created_at, pk = after
        qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    items = list(qs.order_by("-created_at", "-pk")[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return Page(items, (items[-1].created_at, items[-1].pk) if more else None)


def my_application(*, actor: Any, application_id: int) -> Application:
    """One of the actor's applications; anybody else's is "not found" (404)."""
    return application_for_applicant(actor=actor, application_id=application_id)


def timeline(application: Application) -> list[ApplicationEvent]:
    """Every state the application went through, with who moved it and when, oldest first."""
    return list(
        ApplicationEvent.objects.filter(application=application).select_related("actor").order_by("at", "pk")
    )


def staff_queue(
    *,
    actor: Any,
    today: date,
    business: str = "",
    state: str = "",
    overdue: bool = False,
    limit: int = PAGE_SIZE,
    offset: int = 0,
) -> list[Application]:
    """The open applications of the actor's jurisdiction, soonest acceptance deadline first.

    Without a known deadline an application sorts after those with one, then by age.
    ``overdue``: only applications still waiting for acceptance past their due date.
    """
    require(actor, HANDLE)
    prefix = division_prefix_for(actor, HANDLE)
    if prefix is None:
        return []
    qs: QuerySet[Application] = Application.objects.filter(division__startswith=prefix)
    if state:
        if not rules.is_state(state):
            raise ValidationFailed(
                "applications.state_unknown", "没有这种申请状态。", "There is no such state.", field="state"
            )
        qs = qs.filter(state=state)
    else:
        qs = qs.filter(state__in=sorted(rules.STAFF_STATES))
    if business:
        qs = qs.filter(business_code=catalogue.entry(business).code)
    if overdue:
        qs = qs.filter(state=rules.State.SUBMITTED, accept_due_on__lt=today)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    return list(
        qs.order_by(F("accept_due_on").asc(nulls_last=True), "created_at", "pk")[offset : offset + limit]
    )


def is_overdue(application: Application, *, today: date) -> bool:
    """Waiting for acceptance past the due date (marked in the queue)."""
    return (
        application.state == rules.State.SUBMITTED
        and application.accept_due_on is not None
        and application.accept_due_on < today
    )
