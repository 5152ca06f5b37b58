"""State changes of acting for others (issue 18): each one transaction, access checked first.

Lock order wherever several are taken: the grant row (entrustment, proxy or filing), then what
was done under it (applications), then the log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jiaoguan.accounts import throttles
from jiaoguan.accounts.rules import Limit
from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, DomainError, NotFound, Throttled, ValidationFailed
from jiaoguan.core.identifiers import mask_name
from jiaoguan.core.outbox import outbox_enqueue
from jiaoguan.registry.models import PlateType, Vehicle

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


# ---------------------------------------------------------------- filed vehicles (U7)

FILING_REQUEST = "delegations.filing.request"
FILING_CONSENT = "delegations.filing.consent"
# Per account: a driver files the few cars they drive; a script probing plates and VIN tails
# tries many (the neutral answer below tells it nothing, the limit stops it trying).
FILING_LIMITS = (Limit(10, timedelta(hours=1)), Limit(30, timedelta(days=1)))
FILING_LIVE = (VehicleFiling.State.AWAITING_CONSENT, VehicleFiling.State.ACTIVE)
SETTLE_BATCH = 2000
_FS = VehicleFiling.State


def _filing_throttled(limit: Limit, wait: int) -> Throttled:
    minutes = max(1, (wait + 59) // 60)
    return Throttled(
        "delegations.filing.too_many_requests",
        f"备案申请过于频繁，请{minutes}分钟后再试。",
        f"Too many filing requests; try again in {minutes} minutes.",
        retry_after=wait,
    )


def _no_matching_vehicle() -> NotFound:
    # One answer for an unknown plate and for a wrong VIN tail, so plates cannot be probed.
    return NotFound(
        "delegations.filing.no_match",
        "没有找到号牌号码、号牌种类和车辆识别代号后六位都相符的机动车，请核对后再试。",
        "No vehicle matches this plate number, plate type and last six characters of the VIN.",
    )


def _filing_code_hash(filing_id: int, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"filing:{filing_id}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def _driver_name(user: Any) -> str:
    person = getattr(user, "person", None)
    return (person.name if person is not None else "") or user.get_full_name() or ""


def _owner_mobile(vehicle: Vehicle) -> str:
    """Where the owner's SMS goes: the vehicle's contact number, else the owner person's mobile."""
    if vehicle.owner_mobile:
        return vehicle.owner_mobile
    person = vehicle.owner_person if vehicle.owner_person_id else None
    return (person.mobile if person is not None else "") or ""


def filing_owner_changed(filing: VehicleFiling, vehicle: Vehicle) -> bool:
    """Whether the vehicle has a new owner since the filing was asked (a transfer ends it, U7)."""
    return (vehicle.owner_person_id, vehicle.owner_organisation_id) != (
        filing.owner_person_id,
        filing.owner_organisation_id,
    )


def _filing_settle(filing: VehicleFiling, vehicle: Vehicle, now: datetime) -> DomainError | None:
    """Write down what time or a transfer has already decided for a live filing (locked by the
    caller); the refusal to give for it, or None while it stands."""
    if filing.state not in FILING_LIVE:
        return None
    if filing_owner_changed(filing, vehicle):
        reason_zh, reason_en = "机动车所有人已变更", "The vehicle has a new owner."
    elif filing.state == _FS.AWAITING_CONSENT and rules.filing_consent_expired(
        requested_on=timezone.localdate(filing.requested_at), today=timezone.localdate(now)
    ):
        reason_zh, reason_en = "车主未在期限内同意", "The owner did not consent in time."
    else:
        return None
    filing.state = _FS.LAPSED
    filing.ended_at = now
    filing.end_reason = reason_zh
    filing.code_hash = ""
    filing.save(update_fields=["state", "ended_at", "end_reason", "code_hash"])
    return Conflict(
        "delegations.filing.lapsed", f"该备案已失效：{reason_zh}。", f"This filing has lapsed: {reason_en}",
        detail={"filing_id": filing.pk},
    )  # fmt: skip


def filings_settle(
    *,
    driver_id: int | None = None,
    owner_person_id: int | None = None,
    owner_organisation_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """The small sweep: lapse the live filings (of a driver, an owner, or all when none is given)
    whose consent window has passed or whose vehicle changed owner. Returns how many lapsed."""
    now = now or timezone.now()
    live = VehicleFiling.objects.filter(state__in=FILING_LIVE)
    if driver_id is not None or owner_person_id is not None or owner_organisation_id is not None:
        where = Q(pk__in=[])
        if driver_id is not None:
            where |= Q(driver_id=driver_id)
        if owner_person_id is not None:
            where |= Q(owner_person_id=owner_person_id)
        if owner_organisation_id is not None:
            where |= Q(owner_organisation_id=owner_organisation_id)
        live = live.filter(where)
    today = timezone.localdate(now)
    due = [
        f.pk
        for f in live.select_related("vehicle").order_by("pk")[:SETTLE_BATCH]
        if filing_owner_changed(f, f.vehicle)
        or (
            f.state == _FS.AWAITING_CONSENT
            and rules.filing_consent_expired(requested_on=timezone.localdate(f.requested_at), today=today)
        )
    ]
    lapsed = 0
    for pk in due:
        with transaction.atomic():
            filing = VehicleFiling.objects.select_for_update().filter(pk=pk).first()
            if filing is None:
                continue
            vehicle = Vehicle.objects.get(pk=filing.vehicle_id)
            if _filing_settle(filing, vehicle, now) is not None:
                lapsed += 1
    return lapsed


def filing_request(
    *, actor: Any, plate_number: str, plate_type: str, vin_tail: str, now: datetime | None = None
) -> VehicleFiling:
    """A driver files (备案) a vehicle owned by someone else that they drive (U7).

    The vehicle is named by plate number, plate type and the last six characters of its VIN; an
    unknown plate and a wrong VIN tail get one neutral answer. The filing then awaits the owner's
    consent: in the owner's account, or by the 6-digit code sent to the owner's mobile, which the
    owner gives the driver (valid 10 minutes, 5 tries; only its hash is kept).
    """
    require(actor, FILING_REQUEST)
    now = now or timezone.now()
    plate = rules.normalise_plate(plate_number)
    tail = rules.normalise_vin_tail(vin_tail)
    if not plate:
        raise ValidationFailed(
            "delegations.filing.plate_required",
            "请填写号牌号码。",
            "Enter the plate number.",
            field="plate_number",
        )
    if plate_type not in PlateType.values:
        raise ValidationFailed(
            "delegations.filing.plate_type", "请选择号牌种类。", "Choose the plate type.", field="plate_type"
        )
    if not tail:
        raise ValidationFailed(
            "delegations.filing.vin_tail", "请填写车辆识别代号后六位（6位字母或数字）。",
            "Enter the last six characters of the VIN (letters or digits).", field="vin_tail",
        )  # fmt: skip
    # Counted outside the transaction below, so an attempt that is refused still counts.
    throttles.throttle_take(
        scope="delegations.filing.request", key=f"user:{actor.pk}", limits=FILING_LIMITS,
        refuse=_filing_throttled, now=now,
    )  # fmt: skip
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        vehicle = (
            Vehicle.objects.select_for_update().filter(plate_number=plate, plate_type=plate_type).first()
        )
        if vehicle is None or not hmac.compare_digest(vehicle.vin[-6:].upper(), tail):
            raise _no_matching_vehicle()
        person_id = getattr(actor, "person_id", None)
        if vehicle.owner_person_id is not None and vehicle.owner_person_id == person_id:
            raise Conflict(
                "delegations.filing.own_vehicle",
                "这辆车登记在您本人名下，无需备案，可直接在电子证照中出示检验标志。",
                "This vehicle is registered to you: no filing is needed, its mark is already in your e-credentials.",
            )
        if set(vehicle.status or "A") & rules.FILING_REFUSED_STATUSES:
            raise Conflict(
                "delegations.filing.vehicle_not_normal",
                "该机动车已转出、被盗抢、注销或达到报废标准，不能备案。",
                "This vehicle has been transferred out, stolen, deregistered or scrapped; it cannot be filed.",
            )
        live = (
            VehicleFiling.objects.select_for_update()
            .filter(driver_id=actor.pk, vehicle=vehicle, state__in=FILING_LIVE)
            .first()
        )
        if live is not None and _filing_settle(live, vehicle, now) is None:
            raise Conflict(
                "delegations.filing.already_filed",
                "您已备案或已申请备案这辆车。",
                "You have already filed this vehicle or asked to.",
                detail={"filing_id": live.pk},
            )
        filing = VehicleFiling.objects.create(
            driver=actor, vehicle=vehicle, owner_person_id=vehicle.owner_person_id,
            owner_organisation_id=vehicle.owner_organisation_id, requested_at=now,
        )  # fmt: skip
        mobile = _owner_mobile(vehicle)
        if mobile:
            filing.code_hash = _filing_code_hash(filing.pk, code)
            filing.code_sent_at = now
            filing.save(update_fields=["code_hash", "code_sent_at"])
            driver = mask_name(_driver_name(actor)) or "他人"
            principal_sms(
                mobile=mobile,
                text=(
                    f"【交管服务平台】{driver}申请将您名下的{vehicle.plate_number}备案为其驾驶的车辆，备案后对方可出示"
                    f"该车电子检验标志。同意请登录平台在“备案车辆”中确认，或将验证码{code}告诉对方"
                    f"（{rules.FILING_CODE_MINUTES}分钟内有效）；不同意请忽略。"
                ),
                dedup_key=f"filing-request-{filing.pk}",
            )
        audit_record(
            actor=actor, action="create", subject=filing, subject_person_id=vehicle.owner_person_id,
            summary=f"FV{filing.pk} {vehicle.plate_number} requested",
        )  # fmt: skip
    return filing


def _record_consent(filing: VehicleFiling, *, via: str, accepted: bool, now: datetime) -> None:
    """The owner's consent on their "who acted for me" list (a person owner only)."""
    if filing.owner_person_id is None:
        return
    driver = filing.driver
    table: dict[tuple[str, bool], tuple[str, str]] = {
        (VehicleFiling.Consent.ACCOUNT, True): ("车主在本人账户中同意备案", "Consented in the owner's account"),
        (VehicleFiling.Consent.ACCOUNT, False): ("车主在本人账户中拒绝备案", "Refused in the owner's account"),
        (VehicleFiling.Consent.SMS, True): ("备案人输入车主短信验证码，备案生效", "The driver entered the owner's SMS code"),
    }  # fmt: skip
    words = table[(str(via), accepted)]
    delegated_action_record(
        principal_person_id=filing.owner_person_id, grant=DelegatedAction.Grant.FILING, grant_id=filing.pk,
        business_code="filing.consent", channel=DelegatedAction.Channel.ONLINE,
        outcome=DelegatedAction.Outcome.DONE if accepted else DelegatedAction.Outcome.REFUSED,
        agent_user=driver, agent_name=_driver_name(driver), reference=f"FV{filing.pk}",
        note_zh=words[0], note_en=words[1], at=now,
    )  # fmt: skip


def _awaiting(filing: VehicleFiling) -> None:
    if filing.state != _FS.AWAITING_CONSENT:
        raise Conflict(
            "delegations.filing.not_awaiting",
            "该备案已不再等待车主同意。",
            "This filing is no longer awaiting the owner's consent.",
            detail={"state": filing.state},
        )


def filing_consent(*, actor: Any, filing_id: int, accept: bool, now: datetime | None = None) -> VehicleFiling:
    """The owner agrees to or refuses a filing of their vehicle in their own account (U7)."""
    require(actor, FILING_CONSENT)
    now = now or timezone.now()
    refusal: DomainError | None = None
    with transaction.atomic():
        filing = VehicleFiling.objects.select_for_update().filter(pk=filing_id).first()
        person_id = getattr(actor, "person_id", None)
        organisation_id = getattr(actor, "organisation_id", None)
        if filing is None or not (
            (filing.owner_person_id is not None and filing.owner_person_id == person_id)
            or (filing.owner_organisation_id is not None and filing.owner_organisation_id == organisation_id)
        ):
            raise _not_found()
        require(
            actor, FILING_CONSENT, owner_person_id=filing.owner_person_id,
            owner_organisation_id=filing.owner_organisation_id,
        )  # fmt: skip
        vehicle = Vehicle.objects.get(pk=filing.vehicle_id)
        refusal = _filing_settle(filing, vehicle, now)
        if refusal is None:
            _awaiting(filing)
            filing.state = _FS.ACTIVE if accept else _FS.REFUSED
            filing.consent_via = VehicleFiling.Consent.ACCOUNT
            filing.code_hash = ""
            if accept:
                filing.consented_at = now
            else:
                filing.ended_at = now
                filing.end_reason = "车主拒绝"
            filing.save(
                update_fields=["state", "consent_via", "code_hash", "consented_at", "ended_at", "end_reason"]
            )
            _record_consent(filing, via=VehicleFiling.Consent.ACCOUNT, accepted=accept, now=now)
            audit_record(
                actor=actor, action="change", subject=filing, subject_person_id=filing.owner_person_id,
                summary=f"FV{filing.pk} {'accepted' if accept else 'refused'} by the owner",
            )  # fmt: skip
    if refusal is not None:
        raise refusal
    return filing


def filing_consent_by_code(
    *, actor: Any, filing_id: int, code: str, now: datetime | None = None
) -> VehicleFiling:
    """The driver types the code the owner received by SMS and gave them: the owner's consent (U7).

    A wrong code uses up one of 5 tries; after 10 minutes or 5 tries the code is dead and the
    owner consents in their account instead (or the driver withdraws and asks again).
    """
    require(actor, FILING_REQUEST)
    now = now or timezone.now()
    refusal: DomainError | None = None
    with transaction.atomic():
        filing = VehicleFiling.objects.select_for_update().filter(pk=filing_id).first()
        if filing is None or filing.driver_id != actor.pk:
            raise _not_found()
        vehicle = Vehicle.objects.get(pk=filing.vehicle_id)
        refusal = _filing_settle(filing, vehicle, now)
        if refusal is None:
            _awaiting(filing)
            if not filing.code_hash or filing.code_sent_at is None:
                raise Conflict(
                    "delegations.filing.no_code",
                    "没有可用的验证码，请车主登录本人账户同意备案。",
                    "There is no code to enter; the owner can consent in their own account.",
                )
            typed = str(code or "").strip()
            if not rules.filing_code_open(
                sent_at_seconds=filing.code_sent_at.timestamp(), now_seconds=now.timestamp(),
                attempts=filing.code_attempts,
            ):  # fmt: skip
                refusal = Conflict(
                    "delegations.filing.code_expired",
                    f"验证码已失效（超过{rules.FILING_CODE_MINUTES}分钟或已错误{rules.FILING_CODE_ATTEMPTS}次），"
                    "请车主登录本人账户同意，或撤销后重新申请。",
                    f"The code is no longer valid (over {rules.FILING_CODE_MINUTES} minutes or "
                    f"{rules.FILING_CODE_ATTEMPTS} wrong tries); the owner can consent in their account, "
                    "or withdraw and ask again.",
                    field="code",
                )
            elif not hmac.compare_digest(filing.code_hash, _filing_code_hash(filing.pk, typed)):
                filing.code_attempts += 1
                filing.save(update_fields=["code_attempts"])
                left = max(0, rules.FILING_CODE_ATTEMPTS - filing.code_attempts)
                refusal = ValidationFailed(
                    "delegations.filing.code_wrong", f"验证码不正确，还可尝试{left}次。",
                    f"Wrong code; {left} tries left.", field="code", detail={"tries_left": left},
                )  # fmt: skip
            else:
                filing.state = _FS.ACTIVE
                filing.consent_via = VehicleFiling.Consent.SMS
                filing.consented_at = now
                filing.code_hash = ""
                filing.save(update_fields=["state", "consent_via", "consented_at", "code_hash"])
                _record_consent(filing, via=VehicleFiling.Consent.SMS, accepted=True, now=now)
                principal_sms(
                    mobile=_owner_mobile(vehicle),
                    text=(
                        f"【交管服务平台】您名下的{vehicle.plate_number}已备案给"
                        f"{mask_name(_driver_name(actor)) or '他人'}，对方可出示该车电子检验标志。"
                        "如非您本人同意，请登录平台在“委托与代办”中撤销。"
                    ),
                    dedup_key=f"filing-active-{filing.pk}",
                )
                audit_record(
                    actor=actor, action="change", subject=filing,
                    subject_person_id=filing.owner_person_id, summary=f"FV{filing.pk} accepted by SMS code",
                )  # fmt: skip
    if refusal is not None:
        raise refusal
    return filing
