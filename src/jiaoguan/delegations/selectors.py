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


# ---------------------------------------------------------------- filed vehicles (U7)

FILING_REQUEST = "delegations.filing.request"
FILING_CONSENT = "delegations.filing.consent"


def filings_as_driver(*, actor: Any) -> QuerySet[VehicleFiling]:
    """The filings I asked for as a driver, newest first."""
    require(actor, VIEW)
    return (
        VehicleFiling.objects.filter(driver_id=actor.pk)
        .select_related("vehicle")
        .order_by("-requested_at", "-pk")
    )


def filing_of_driver(*, actor: Any, filing_id: int) -> VehicleFiling | None:
    """One of my filings as a driver; anybody else's is None (the same as a missing one)."""
    return filings_as_driver(actor=actor).filter(pk=filing_id).first()


def filings_awaiting_my_consent(*, actor: Any) -> QuerySet[VehicleFiling]:
    """Filings of my vehicles (as a person, or my organisation's) waiting for my consent."""
    require(actor, VIEW)
    person_id = getattr(actor, "person_id", None)
    organisation_id = getattr(actor, "organisation_id", None)
    where = Q(pk__in=[])
    if person_id:
        where |= Q(owner_person_id=person_id)
    if organisation_id:
        where |= Q(owner_organisation_id=organisation_id)
    return (
        VehicleFiling.objects.filter(where, state=VehicleFiling.State.AWAITING_CONSENT)
        .select_related("vehicle", "driver__person")
        .order_by("-requested_at", "-pk")
    )


def filed_vehicle_ids(user: Any) -> list[int]:
    """Vehicles whose inspection mark the user may show as their driver (U7): active filings whose
    vehicle still has the owner the filing was asked of. Read at every request, so a withdrawal,
    a lapse or a transfer takes the mark away at once. Registered with credentials in apps.ready."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "kind", "") != "individual":
        return []
    rows = VehicleFiling.objects.filter(driver_id=user.pk, state=VehicleFiling.State.ACTIVE).values_list(
        "vehicle_id",
        "owner_person_id",
        "owner_organisation_id",
        "vehicle__owner_person_id",
        "vehicle__owner_organisation_id",
    )
    return [
        vehicle_id
        for vehicle_id, person, organisation, now_person, now_organisation in rows
        if (person, organisation) == (now_person, now_organisation)
    ]


# ---------------------------------------------------------------- elderly proxy (O2, U6)

PROXY_CREATE = "delegations.proxy.create"


def proxies_of_relative(*, actor: Any) -> QuerySet[ProxyAuthorisation]:
    """The proxy authorisations the actor asked for as the relative, newest first (O2)."""
    require(actor, PROXY_CREATE)
    return (
        ProxyAuthorisation.objects.filter(relative_id=actor.pk)
        .select_related("elder")
        .defer("id_card")
        .order_by("-created_at", "-pk")
    )


def proxy_of_relative(*, actor: Any, proxy_id: int) -> ProxyAuthorisation:
    """One of the actor's proxy authorisations; anybody else's is "not found" (404)."""
    from jiaoguan.core.errors import NotFound

    found = proxies_of_relative(actor=actor).filter(pk=proxy_id).first()
    if found is None:
        raise NotFound(
            "delegations.not_found", "没有这项委托、代办或备案。", "No such entrustment, proxy or filing."
        )
    return found


def proxy_licence(proxy: ProxyAuthorisation) -> Any:
    """The elderly person's driving licence, for a licence business of the proxy (or None)."""
    from jiaoguan.registry.models import DrivingLicence

    return DrivingLicence.objects.filter(holder_id=proxy.elder_id).first()


def proxy_vehicles(proxy: ProxyAuthorisation) -> list[Any]:
    """The elderly person's vehicles, for a vehicle business of the proxy."""
    from jiaoguan.applications.eligibility import vehicles_of_person

    return list(vehicles_of_person(proxy.elder_id))


PROXY_VIEW = "delegations.proxy.view"
STAFF_PROXY_LIMIT = 100


def proxies_in_jurisdiction(
    *, actor: Any, state: str = "", request: Any = None, limit: int = STAFF_PROXY_LIMIT
) -> list[ProxyAuthorisation]:
    """The proxies of elderly people living in the actor's jurisdiction, newest first, with their
    authentication outcomes (U6); the read is audited, since it names people (shown masked)."""
    from jiaoguan.core.access import division_prefix_for
    from jiaoguan.core.audit import audit_record

    require(actor, PROXY_VIEW)
    prefix = division_prefix_for(actor, PROXY_VIEW)
    if prefix is None:
        return []
    qs = ProxyAuthorisation.objects.filter(elder__residence_division__startswith=prefix)
    if state in ProxyAuthorisation.State.values:
        qs = qs.filter(state=state)
    rows = list(
        qs.select_related("elder", "relative").defer("id_card").order_by("-created_at", "-pk")[:limit]
    )
    if rows:
        audit_record(
            actor=actor, action="list", subject=rows[0], summary=f"查看老年人代办授权列表（{len(rows)} 条）",
            request=request,
        )  # fmt: skip
    return rows


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
