"""Reads of acting for others, scoped to the person they concern (issue 18)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from jiaoguan.core.access import require

from .models import DelegatedAction, Entrustment, ProxyAuthorisation, VehicleFiling

VIEW = "delegations.own.view"
ACTIONS_PER_GRANT = 50
ACTED_LIMIT = 100


@dataclass
class GrantView:
    """One grant on the principal's page, with what was done under it, newest first."""

    kind: str  # entrustment, proxy, filing
    grant: Any
    actions: list[DelegatedAction] = field(default_factory=list)


def entrustments_of_principal(*, actor: Any) -> QuerySet[Entrustment]:
    require(actor, VIEW)
    return Entrustment.objects.filter(principal_id=actor.pk).order_by("-created_at", "-pk")


def proxies_concerning(*, actor: Any) -> QuerySet[ProxyAuthorisation]:
    """Proxies for the actor as the elderly person, and those the actor asked for as the relative."""
    require(actor, VIEW)
    person_id = getattr(actor, "person_id", None)
    where = Q(relative_id=actor.pk)
    if person_id:
        where |= Q(elder_id=person_id)
    return ProxyAuthorisation.objects.filter(where).select_related("elder").order_by("-created_at", "-pk")


def filings_concerning(*, actor: Any) -> QuerySet[VehicleFiling]:
    """Filings of the actor's vehicles (as owner) and the ones the actor asked for (as driver)."""
    require(actor, VIEW)
    person_id = getattr(actor, "person_id", None)
    organisation_id = getattr(actor, "organisation_id", None)
    where = Q(driver_id=actor.pk)
    if person_id:
        where |= Q(owner_person_id=person_id)
    if organisation_id:
        where |= Q(owner_organisation_id=organisation_id)
    return VehicleFiling.objects.filter(where).select_related("vehicle").order_by("-requested_at", "-pk")


def acted_for_me(*, actor: Any) -> QuerySet[DelegatedAction]:
    """Every action taken in the actor's name under any grant ("谁替我办理了业务"), newest first;
    callers show the first ``ACTED_LIMIT``."""
    require(actor, VIEW)
    person_id = getattr(actor, "person_id", None)
    if not person_id:
        return DelegatedAction.objects.none()
    require(actor, VIEW, owner_person_id=person_id)
    return (
        DelegatedAction.objects.filter(principal_person_id=person_id)
        .select_related("agent_user", "staff")
        .order_by("-at", "-pk")
    )


def _with_actions(kind: str, grants: list[Any]) -> list[GrantView]:
    if not grants:
        return []
    rows = DelegatedAction.objects.filter(grant=kind, grant_id__in=[g.pk for g in grants]).order_by(
        "-at", "-pk"
    )
    by_grant: dict[int, list[DelegatedAction]] = {}
    for row in rows[: ACTIONS_PER_GRANT * len(grants)]:
        by_grant.setdefault(row.grant_id, []).append(row)
    return [GrantView(kind, g, by_grant.get(g.pk, [])[:ACTIONS_PER_GRANT]) for g in grants]


def principal_overview(*, actor: Any, limit: int = 50) -> dict[str, list[GrantView]]:
    """The principal's page: entrustments, proxies and filings, each with its actions."""
    return {
        "entrustments": _with_actions("entrustment", list(entrustments_of_principal(actor=actor)[:limit])),
        "proxies": _with_actions("proxy", list(proxies_concerning(actor=actor)[:limit])),
        "filings": _with_actions("filing", list(filings_concerning(actor=actor)[:limit])),
    }


# ---------------------------------------------------------------- online entrustment (O5)

USE = "delegations.entrustment.use"
ENTRUSTMENTS_SHOWN = 50


def entrustments_for_agent(*, actor: Any) -> QuerySet[Entrustment]:
    """Entrustments naming the actor as the agent ("委托给我的", by their ID number), newest first;
    an agent sees only their own, never another agent's (O5)."""
    require(actor, USE)
    person = getattr(actor, "person", None)
    if person is None:
        return Entrustment.objects.none()
    require(actor, USE, owner_person_id=person.pk)
    return (
        Entrustment.objects.filter(agent_id_number=person.id_number.upper())
        .select_related("principal_person")
        .order_by("-created_at", "-pk")
    )


def entrustment_for_display(*, actor: Any, entrustment_id: int) -> Entrustment | None:
    """One entrustment for its QR or its printed form: the principal's own, or one naming the actor
    as the agent; None for anyone else (the same answer as no such entrustment)."""
    found = (
        Entrustment.objects.select_related("principal_person").filter(pk=entrustment_id).first()
        if entrustment_id
        else None
    )
    if found is None:
        return None
    if found.principal_id == getattr(actor, "pk", None):
        require(actor, VIEW, owner_person_id=found.principal_person_id)
        return found
    if entrustments_for_agent(actor=actor).filter(pk=found.pk).exists():
        return found
    return None
