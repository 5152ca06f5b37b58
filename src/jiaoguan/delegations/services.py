"""State changes of acting for others (issue 18): each one transaction, access checked first.

Lock order wherever several are taken: the grant row (entrustment, proxy or filing), then what
was done under it (applications), then the log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, NotFound
from jiaoguan.core.outbox import outbox_enqueue

from .models import DelegatedAction, Entrustment, ProxyAuthorisation, VehicleFiling

REVOKE = "delegations.own.revoke"


# ---------------------------------------------------------------- who acted for me (shared)


def delegated_action_record(
    *,
    principal_person_id: int,
    grant: str,
    grant_id: int,
    business_code: str,
    channel: str,
    outcome: str,
    at: datetime | None = None,
    agent_user: Any = None,
    agent_name: str = "",
    staff: Any = None,
    reference: str = "",
    note_zh: str = "",
    note_en: str = "",
) -> DelegatedAction:
    """One line of the principal's "谁替我办理了业务" list, in the caller's transaction."""
    return DelegatedAction.objects.create(
        principal_person_id=principal_person_id,
        grant=grant,
        grant_id=grant_id,
        business_code=business_code,
        channel=channel,
        outcome=outcome,
        agent_user=agent_user,
        agent_name=agent_name[:64],
        staff=staff,
        reference=reference[:40],
        note_zh=note_zh[:200],
        note_en=note_en[:200],
        at=at or timezone.now(),
    )


def principal_sms(*, mobile: str, text: str, dedup_key: str) -> None:
    """Tell the principal by SMS after commit (the elderly person for every step taken in their
    name, O2); no mobile on record, no message."""
    if mobile:
        outbox_enqueue(topic="sms.send", payload={"mobile": mobile, "text": text}, dedup_key=dedup_key)


def _stop_pending(*, grant: str, grant_id: int, at: datetime) -> int:
    """Mark the actions still in progress under a revoked grant as stopped."""
    return DelegatedAction.objects.filter(
        grant=grant, grant_id=grant_id, outcome=DelegatedAction.Outcome.PENDING
    ).update(outcome=DelegatedAction.Outcome.STOPPED, at=at)


def _not_found() -> NotFound:
    return NotFound(
        "delegations.not_found", "没有这项委托、代办或备案。", "No such entrustment, proxy or filing."
    )


def _already_ended() -> Conflict:
    return Conflict(
        "delegations.already_ended", "该授权已经撤销或失效。", "This has already been revoked or has ended."
    )


# ---------------------------------------------------------------- revocation by the principal


def entrustment_revoke(*, actor: Any, entrustment_id: int, reason: str = "") -> Entrustment:
    """The principal revokes an entrustment: from now on it fails at the counter and in the QR's
    online status check (O5: 可随时撤销)."""
    require(actor, REVOKE)
    now = timezone.now()
    with transaction.atomic():
        entrustment = Entrustment.objects.select_for_update().filter(pk=entrustment_id).first()
        if entrustment is None or entrustment.principal_id != actor.pk:
            raise _not_found()
        require(actor, REVOKE, owner_person_id=entrustment.principal_person_id)
        if entrustment.revoked_at is not None:
            raise _already_ended()
        entrustment.revoked_at = now
        entrustment.revoke_reason = reason.strip()[:200]
        entrustment.save(update_fields=["revoked_at", "revoke_reason"])
        _stop_pending(grant=DelegatedAction.Grant.ENTRUSTMENT, grant_id=entrustment.pk, at=now)
        audit_record(
            actor=actor, action="change", subject=entrustment, subject_person_id=entrustment.principal_person_id,
            summary=f"撤销网上委托 revoked EN{entrustment.pk}",
        )  # fmt: skip
    return entrustment


def proxy_revoke(*, actor: Any, proxy_id: int, reason: str = "") -> ProxyAuthorisation:
    """The elderly person (or the relative who asked for it) ends a proxy authorisation; an
    application made under it that is not yet accepted is stopped with it (issue 18)."""
    now = timezone.now()
    with transaction.atomic():
        proxy = ProxyAuthorisation.objects.select_for_update().filter(pk=proxy_id).first()
        if proxy is None:
            raise _not_found()
        if actor.pk == proxy.relative_id:
            require(actor, REVOKE)
        else:
            if getattr(actor, "person_id", None) != proxy.elder_id:
                raise _not_found()
            require(actor, REVOKE, owner_person_id=proxy.elder_id)
        if proxy.state not in (
            ProxyAuthorisation.State.AWAITING_AUTHENTICATION,
            ProxyAuthorisation.State.ACTIVE,
            ProxyAuthorisation.State.USED,
        ):
            raise _already_ended()
        for stop in _PROXY_STOPPERS:
            stop(proxy, now)
        proxy.state = ProxyAuthorisation.State.REVOKED
        proxy.ended_at = now
        proxy.end_reason = reason.strip()[:200]
        proxy.save(update_fields=["state", "ended_at", "end_reason"])
        _stop_pending(grant=DelegatedAction.Grant.PROXY, grant_id=proxy.pk, at=now)
        audit_record(
            actor=actor, action="change", subject=proxy, subject_person_id=proxy.elder_id,
            summary=f"撤销老年人代办 revoked PX{proxy.pk} {proxy.business_code}",
        )  # fmt: skip
    return proxy


# What else a revoked proxy stops (the application made under it), registered by the part of this
# app that opened it, so revocation stays one transaction.
_PROXY_STOPPERS: list[Any] = []


def filing_withdraw(*, actor: Any, filing_id: int, reason: str = "") -> VehicleFiling:
    """The owner (or the driver who filed) ends a filing: the driver no longer sees the mark (U7)."""
    now = timezone.now()
    with transaction.atomic():
        filing = VehicleFiling.objects.select_for_update().filter(pk=filing_id).first()
        if filing is None:
            raise _not_found()
        if actor.pk == filing.driver_id:
            require(actor, REVOKE)
        elif (
            filing.owner_person_id is not None and getattr(actor, "person_id", None) == filing.owner_person_id
        ):
            require(actor, REVOKE, owner_person_id=filing.owner_person_id)
        elif (
            filing.owner_organisation_id is not None
            and getattr(actor, "organisation_id", None) == filing.owner_organisation_id
        ):
            require(actor, REVOKE, owner_organisation_id=filing.owner_organisation_id)
        else:
            raise _not_found()
        if filing.state not in (VehicleFiling.State.AWAITING_CONSENT, VehicleFiling.State.ACTIVE):
            raise _already_ended()
        filing.state = VehicleFiling.State.WITHDRAWN
        filing.ended_at = now
        filing.end_reason = reason.strip()[:200]
        filing.save(update_fields=["state", "ended_at", "end_reason"])
        audit_record(
            actor=actor, action="change", subject=filing, subject_person_id=filing.owner_person_id,
            summary=f"撤销车辆备案 withdrew FV{filing.pk}",
        )  # fmt: skip
    return filing
