"""State changes of acting for others (issue 18): each one transaction, access checked first.

Lock order wherever several are taken: the grant row (entrustment, proxy or filing), then what
was done under it (applications), then the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from jiaoguan.core.identifiers import mask_name, validate_citizen_id, validate_mobile
from jiaoguan.core.outbox import outbox_enqueue

from . import rules
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
    with transaction.atomic():
        entrustment = Entrustment.objects.select_for_update().filter(pk=entrustment_id).first()
        # Timed once the row is ours: a counter check that held the lock first comes before it.
        now = timezone.now()
        if entrustment is None or entrustment.principal_id != actor.pk:
            raise _not_found()
        require(actor, REVOKE, owner_person_id=entrustment.principal_person_id)
        if entrustment.revoked_at is not None:
            raise _already_ended()
        entrustment.revoked_at = now
        entrustment.revoke_reason = reason.strip()[:200]
        entrustment.save(update_fields=["revoked_at", "revoke_reason"])
        _stop_pending(grant=DelegatedAction.Grant.ENTRUSTMENT, grant_id=entrustment.pk, at=now)
        # The agent was told of the entrustment; they are told it has ended, before a wasted trip.
        principal_sms(
            mobile=entrustment.agent_mobile,
            text=f"【交管12123】委托人已撤销对您的网上委托（EN{entrustment.pk}），该委托不能再办理业务。",
            dedup_key=f"entrustment:{entrustment.pk}:agent-told-revoked",
        )
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


# ---------------------------------------------------------------- online entrustment (O5)

ENTRUST = "delegations.entrustment.create"
CHECK = "delegations.entrustment.check"


def _on_field(error: DomainError, field: str) -> ValidationFailed:
    """A shared identifier check's refusal, placed on this form's field."""
    return ValidationFailed(error.code, error.message_zh, error.message_en, field=field, detail=error.detail)


def _agent_name(value: str) -> str:
    name = " ".join((value or "").split())
    if not name or len(name) > 64 or not name.isprintable():
        raise ValidationFailed(
            "delegations.entrustment.agent_name", "请填写被委托人姓名（与身份证一致）。",
            "Enter the agent's name as on their ID card.", field="agent_name",
        )  # fmt: skip
    return name


def entrustment_create(
    *,
    actor: Any,
    agent_id_number: str,
    agent_name: str,
    agent_mobile: str,
    businesses: list[str],
    valid_from: date,
    valid_until: date,
    purpose: str = "ordinary",
    today: date | None = None,
) -> Entrustment:
    """The principal entrusts a named person with named businesses for at most 30 days (网上委托,
    O5; seed 004 §九). ``purpose`` "abroad" (O4, seed 004 §八 一) covers deferrals only. The agent
    is told by SMS; the counter then checks the agent and the business against it."""
    require(actor, ENTRUST)
    person_id = getattr(actor, "person_id", None)
    require(actor, ENTRUST, owner_person_id=person_id)
    today = today or timezone.localdate()
    try:
        agent_id = validate_citizen_id(agent_id_number, today=today).number
    except ValidationFailed as error:
        raise _on_field(error, "agent_id_number") from None
    try:
        mobile = validate_mobile(agent_mobile)
    except ValidationFailed as error:
        raise _on_field(error, "agent_mobile") from None
    name = _agent_name(agent_name)
    chosen = rules.check_entrustment(
        businesses=list(businesses), valid_from=valid_from, valid_until=valid_until, today=today
    )
    rules.check_entrustment_purpose(purpose=purpose, businesses=chosen)
    with transaction.atomic():
        principal = actor.person
        if agent_id == principal.id_number.upper():
            raise ValidationFailed(
                "delegations.entrustment.self", "不能委托本人。本人办理业务无需委托。",
                "You cannot entrust yourself; no entrustment is needed to do your own business.",
                field="agent_id_number",
            )  # fmt: skip
        entrustment = Entrustment.objects.create(
            principal=actor, principal_person=principal, purpose=purpose, agent_id_number=agent_id,
            agent_name=name, agent_mobile=mobile, businesses=chosen, valid_from=valid_from,
            valid_until=valid_until, created_at=timezone.now(),
        )  # fmt: skip
        audit_record(
            actor=actor, action="create", subject=entrustment, subject_person_id=principal.pk,
            summary=f"网上委托 entrustment EN{entrustment.pk} {','.join(chosen)} {valid_from}..{valid_until}",
        )  # fmt: skip
        principal_sms(
            mobile=mobile,
            text=(
                f"【交管12123】{mask_name(principal.name)}委托您办理交管业务（{len(chosen)}项），"
                f"有效期{valid_from:%Y-%m-%d}至{valid_until:%Y-%m-%d}。办理时请携带本人身份证件，"
                "委托人可随时撤销。"
            ),
            dedup_key=f"entrustment:{entrustment.pk}:agent-told",
        )
    return entrustment


# ---------------------------------------------------------------- counter (O5 checks)


@dataclass(frozen=True)
class CounterCheck:
    """What the counter was told, and the line the principal sees in "谁替我办理了业务"."""

    outcome: str  # done | refused
    reason: str  # ok | revoked | not_yet | expired | agent_mismatch | business_mismatch
    message_zh: str
    message_en: str
    entrustment: Entrustment
    action: DelegatedAction

    @property
    def message(self) -> str:
        from django.utils import translation

        english = (translation.get_language() or "").lower().startswith("en")
        return self.message_en if english else self.message_zh


def _unreadable(zh: str, en: str, reason: str) -> ValidationFailed:
    return ValidationFailed(
        "delegations.entrustment.token_rejected", zh, en, field="token_or_id", detail={"reason": reason}
    )


def _entrustment_id_from_token(text: str) -> int:
    """The id inside a scanned EN1 QR, once its signature has checked out (the public verifier's
    path); a tampered, foreign or expired QR is refused here and nothing is recorded."""
    from jiaoguan.credentials.services import credential_verify

    verdict = credential_verify(text=text)
    if verdict.kind and verdict.kind != "EN1":
        raise _unreadable(
            "这不是网上委托书二维码。", "That QR is not an online entrustment.", "not_entrustment"
        )
    if not verdict.credential_id:
        raise _unreadable(
            f"委托书二维码未通过核验：{verdict.message_zh}",
            f"The entrustment QR did not pass: {verdict.message_en}",
            verdict.reason,
        )
    return int(verdict.credential_id)


def _best_for_lookup(candidates: list[Entrustment], agent_id: str, business: str, today: date) -> Entrustment:
    """Of a principal's entrustments, the one the counter should judge: in force, naming the agent
    and covering the business if there is one; else the closest, so the refusal names the reason."""

    def rank(e: Entrustment) -> tuple[int, int, int]:
        live = rules.entrustment_status(
            revoked=e.revoked_at is not None, valid_from=e.valid_from, valid_until=e.valid_until, today=today
        )
        return (
            int(live == "valid"),
            int(e.agent_id_number.upper() == agent_id),
            int(rules.entrustment_covers(businesses=list(e.businesses), business=business)),
        )

    return max(candidates, key=rank)  # max keeps the first (newest) of equals


def _principal_entrustments(id_number: str) -> list[Entrustment]:
    from jiaoguan.registry.models import Person

    person_ids = list(Person.objects.filter(id_number=id_number).values_list("pk", flat=True)[:5])
    return list(
        Entrustment.objects.filter(principal_person_id__in=person_ids)
        .select_related("principal_person")
        .order_by("-created_at", "-pk")[:50]
    )


def entrustment_check_at_counter(
    *,
    actor: Any,
    token_or_id: str,
    agent_id_number: str,
    business: str,
    agent_name: str = "",
    request: Any = None,
    today: date | None = None,
) -> CounterCheck:
    """The counter checks an entrustment (O5; seed 004 §九 二): by its scanned ``EN1:`` QR, or by the
    principal's ID number; the agent standing there (ID number, and the name read from their ID
    card) and the business being done (an engine code such as B10, or an entrustable code).

    Recorded for the principal as one counter action, done or refused with the reason (revoked,
    not yet in force, expired, 被委托人与实际业务办理人不一致 or 委托业务与实际申请办理业务不一致:
    需重新委托). A QR that does not pass its signature, an unknown business or an ID number
    without entrustments is refused before anything is looked at, and nothing is recorded.
    """
    require(actor, CHECK)
    today = today or timezone.localdate()
    try:
        agent_id = validate_citizen_id(agent_id_number, today=today).number
    except ValidationFailed as error:
        raise _on_field(error, "agent_id_number") from None
    present_name = " ".join((agent_name or "").split())[:64]
    business = (business or "").strip()
    if not rules.known_business(business):
        raise ValidationFailed(
            "delegations.entrustment.business_unknown", "请选择正在办理的、可网上委托的业务。",
            "Choose the business being done; it must be one that may be entrusted.", field="business",
        )  # fmt: skip
    text = (token_or_id or "").strip()
    if text[:4].upper() == "EN1:":
        entrustment_id = _entrustment_id_from_token(text)
        found = Entrustment.objects.select_related("principal_person").filter(pk=entrustment_id).first()
        if found is None:
            raise _not_found()
    else:
        try:
            principal_id = validate_citizen_id(text, today=today).number
        except ValidationFailed as error:
            raise _on_field(error, "token_or_id") from None
        candidates = _principal_entrustments(principal_id)
        if not candidates:
            raise NotFound(
                "delegations.entrustment.none_for_principal",
                "没有查到该委托人的网上委托。如持纸质委托书，按纸质委托办理。",
                "No online entrustment of this principal was found; a paper entrustment is still accepted.",
                field="token_or_id",
            )  # fmt: skip
        # Seen by division first: a principal outside the jurisdiction is not looked at further.
        require(actor, CHECK, division=candidates[0].principal_person.residence_division)
        found = _best_for_lookup(candidates, agent_id, business, today)
    require(actor, CHECK, division=found.principal_person.residence_division)
    with transaction.atomic():
        # Lock and re-read: a revocation committed a moment ago is seen here (O5: 可随时撤销).
        entrustment = Entrustment.objects.select_for_update().get(pk=found.pk)
        now = timezone.now()
        reason = rules.entrustment_checks(
            revoked=entrustment.revoked_at is not None, valid_from=entrustment.valid_from,
            valid_until=entrustment.valid_until, today=today, entrusted_id_number=entrustment.agent_id_number,
            present_id_number=agent_id, entrusted_name=entrustment.agent_name, present_name=present_name,
            businesses=list(entrustment.businesses), business=business,
        )  # fmt: skip
        zh, en = rules.CHECK_WORDS[reason]
        outcome = DelegatedAction.Outcome.DONE if reason == "ok" else DelegatedAction.Outcome.REFUSED
        action = delegated_action_record(
            principal_person_id=entrustment.principal_person_id, grant=DelegatedAction.Grant.ENTRUSTMENT,
            grant_id=entrustment.pk, business_code=business, channel=DelegatedAction.Channel.COUNTER,
            outcome=outcome, at=now, agent_name=present_name or (entrustment.agent_name if reason == "ok" else ""),
            staff=actor, note_zh="" if reason == "ok" else zh, note_en="" if reason == "ok" else en,
        )  # fmt: skip
        audit_record(
            actor=actor, action="view", subject=entrustment, subject_person_id=entrustment.principal_person_id,
            summary=f"核查网上委托 entrustment checked EN{entrustment.pk} {business} {reason}", request=request,
        )  # fmt: skip
    return CounterCheck(str(outcome), reason, zh, en, entrustment, action)
