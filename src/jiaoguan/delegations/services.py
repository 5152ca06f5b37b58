"""State changes of acting for others (issue 18): each one transaction, access checked first.

Lock order wherever several are taken: the grant row (entrustment, proxy or filing), then what
was done under it (applications), then the log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from jiaoguan.accounts import throttles
from jiaoguan.accounts.rules import Limit
from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, DomainError, NotFound, Throttled, ValidationFailed
from jiaoguan.core.identifiers import mask_name, validate_citizen_id, validate_mobile
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


def _stop_pending(
    *, grant: str, grant_id: int, at: datetime, going_on: set[str] | frozenset[str] = frozenset()
) -> int:
    """Mark the actions still in progress under a revoked grant as stopped, except those whose
    reference goes on (an application already accepted is finished as at the counter)."""
    return (
        DelegatedAction.objects.filter(
            grant=grant, grant_id=grant_id, outcome=DelegatedAction.Outcome.PENDING
        )
        .exclude(reference__in=sorted(going_on))
        .update(outcome=DelegatedAction.Outcome.STOPPED, at=at)
    )


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
        going_on: set[str] = set()
        for stop in _PROXY_STOPPERS:
            going_on |= stop(proxy, now)
        proxy.state = ProxyAuthorisation.State.REVOKED
        proxy.ended_at = now
        proxy.end_reason = reason.strip()[:200]
        proxy.save(update_fields=["state", "ended_at", "end_reason"])
        _stop_pending(grant=DelegatedAction.Grant.PROXY, grant_id=proxy.pk, at=now, going_on=going_on)
        audit_record(
            actor=actor, action="change", subject=proxy, subject_person_id=proxy.elder_id,
            summary=f"撤销老年人代办 revoked PX{proxy.pk} {proxy.business_code}",
        )  # fmt: skip
    return proxy


# What else a revoked proxy stops (the application made under it), registered by the part of this
# app that opened it, so revocation stays one transaction. Each returns the references of what it
# could not stop (already accepted), whose lines stay pending until they finish.
_PROXY_STOPPERS: list[Callable[[ProxyAuthorisation, datetime], set[str]]] = []


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


# ---------------------------------------------------------------- elderly proxy (O2, U6)

from datetime import timedelta  # noqa: E402

from jiaoguan.applications import catalogue as application_catalogue  # noqa: E402
from jiaoguan.applications import rules as application_rules  # noqa: E402
from jiaoguan.applications import services as application_services  # noqa: E402
from jiaoguan.applications.models import Application  # noqa: E402
from jiaoguan.core.errors import Unavailable  # noqa: E402
from jiaoguan.core.outbox import outbox_handler  # noqa: E402
from jiaoguan.core.uploads import check_upload  # noqa: E402
from jiaoguan.integrations.real_person import (  # noqa: E402
    MAX_CAPTURE_BYTES,
    RealPersonRefused,
    RealPersonUnavailable,
    get_real_person_service,
)
from jiaoguan.registry import selectors as registry_selectors  # noqa: E402
from jiaoguan.registry.models import Person  # noqa: E402
from jiaoguan.registry.portraits import placeholder_portrait  # noqa: E402

PROXY_CREATE = "delegations.proxy.create"
PROXY_ACT = "delegations.proxy.act"
ID_CARD_MAX_BYTES = 2 * 1024 * 1024
ID_CARD_CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}
# The provider takes captures up to its own limit; a larger one is refused here, in words.
CAPTURE_MAX_BYTES = MAX_CAPTURE_BYTES
# U6: an authentication that keeps failing is not retried for ever on one authorisation; a new
# one may be asked for (ASSUMPTION: 5 answered attempts, the seed is silent).
PROXY_MAX_AUTH_ATTEMPTS = 5
# What the elderly person is told in every text: the seed's "如非本人授权" line.
_NOT_YOU_ZH = "如非您本人同意，请拨打12123。"

_AUTH_REASONS: dict[str, tuple[str, str]] = {
    "liveness": ("未通过活体检测，请老人本人正对镜头重新拍摄，不要翻拍照片。",
                 "The liveness check failed: the elderly person should face the camera; do not photograph a photo."),
    "no_match": ("人像与档案照片比对不一致，请老人本人重新拍摄。",
                 "The face does not match the registry photo; the elderly person should take it again."),
    "no_reference": ("未找到老人的档案照片，无法比对，请到车管所窗口办理。",
                     "There is no registry photo to compare with; please go to a DMV counter."),
    "bad_image": ("照片无法识别，请重新拍摄。", "The picture cannot be read; take it again."),
}  # fmt: skip


def auth_reason_words(reason: str) -> tuple[str, str]:
    """Why a real-person authentication failed, in Chinese and English."""
    return _AUTH_REASONS.get(
        reason, ("实人认证未通过，请重新拍摄。", "The real-person authentication failed; try again.")
    )


def _business_name(code: str) -> str:
    return rules.PROXY_BUSINESSES.get(code, (code, code))[0]


def relative_name(user: Any) -> str:
    person = getattr(user, "person", None)
    return (person.name if person is not None else "") or user.get_full_name() or ""


def _mask_relative(user: Any) -> str:
    from jiaoguan.core.identifiers import mask_name

    name = relative_name(user)
    return mask_name(name) if name else "您的亲友"


def _elder_not_found() -> ValidationFailed:
    # One neutral answer for an unknown ID number and a name that does not match it: the form
    # must not tell whether a person is on file (no probing of the registry).
    return ValidationFailed(
        "delegations.proxy.elder_unverified",
        "未能核实老年人的身份信息，请核对身份证号码和姓名。",
        "The elderly person's identity could not be verified; check the ID number and the name.",
        field="elder_id_number",
    )


def _proxy_of_relative(actor: Any, proxy_id: int, *, lock: bool) -> ProxyAuthorisation:
    qs = ProxyAuthorisation.objects.select_for_update() if lock else ProxyAuthorisation.objects.all()
    proxy = qs.select_related("elder").filter(pk=proxy_id, relative_id=actor.pk).first()
    if proxy is None:
        raise _not_found()
    return proxy


def proxy_create(
    *,
    actor: Any,
    elder_id_number: str,
    elder_name: str,
    relationship: str,
    business_code: str,
    id_card: bytes,
    id_card_content_type: str = "",
    id_card_filename: str = "",
) -> ProxyAuthorisation:
    """A relative asks to act for a person aged 60 or over (老年人代办, O2) for one business.

    The elderly person is found in the registry by ID number and name (a mismatch is the same
    refusal as an unknown person); their ID card image is checked like an application's
    material (JPEG, PNG or PDF, 2 MB). The authorisation waits for the elderly person's
    real-person authentication (U6); the elderly person is told by SMS.
    """
    require(actor, PROXY_CREATE)
    today = timezone.localdate()
    if relationship not in ProxyAuthorisation.Relationship.values:
        raise ValidationFailed(
            "delegations.proxy.relationship", "请选择您与老人的关系。", "Choose how you are related to the elderly person.",
            field="relationship",
        )  # fmt: skip
    code = (business_code or "").strip().upper()
    number = (elder_id_number or "").strip().upper()
    name = (elder_name or "").strip()
    if not number or not name or len(number) > 18 or len(name) > 64:
        raise _elder_not_found()
    elder = Person.objects.filter(id_number=number).first()
    if elder is None or elder.name != name:
        raise _elder_not_found()
    if elder.pk == getattr(actor, "person_id", None):
        raise ValidationFailed(
            "delegations.proxy.self", "不能为自己申请老年人代办，请直接办理业务。",
            "You cannot be your own proxy; apply for the business yourself.", field="elder_id_number",
        )  # fmt: skip
    rules.check_proxy(business_code=code, elder_birth_date=elder.birth_date, today=today)
    sniffed = check_upload(id_card or b"", name=id_card_filename, max_bytes=ID_CARD_MAX_BYTES)
    now = timezone.now()
    with transaction.atomic():
        if ProxyAuthorisation.objects.filter(
            relative_id=actor.pk, elder=elder, business_code=code,
            state__in=[ProxyAuthorisation.State.AWAITING_AUTHENTICATION, ProxyAuthorisation.State.ACTIVE],
        ).exists():  # fmt: skip
            raise _proxy_open(code)
        try:
            with transaction.atomic():
                proxy = ProxyAuthorisation.objects.create(
                    relative=actor, elder=elder, relationship=relationship, business_code=code,
                    id_card=id_card, id_card_content_type=ID_CARD_CONTENT_TYPES[sniffed],
                    valid_until=today + timedelta(days=rules.PROXY_VALID_DAYS), created_at=now,
                )  # fmt: skip
        except IntegrityError:
            # A parallel request won the partial unique constraint (proxy_one_open_per_business).
            raise _proxy_open(code) from None
        principal_sms(
            mobile=elder.mobile,
            text=f"【交管12123】{_mask_relative(actor)}正在申请为您代办“{_business_name(code)}”，"
            f"需要您本人进行实人认证。{_NOT_YOU_ZH}",
            dedup_key=f"proxy-{proxy.pk}-created",
        )
    return proxy


def _proxy_open(code: str) -> Conflict:
    return Conflict(
        "delegations.proxy.already_open",
        "您已为这位老人申请了同一业务的代办，请继续完成该申请。",
        "You already asked to act for this person for this business; continue with that one.",
        detail={"business": code},
    )


def _reference_photo(elder: Person) -> bytes:
    """The photo the face is matched against: the registry archive photo (档案照片) when there is
    one; demo and test persons have none, so the placeholder portrait the demo draws for them
    stands in (registry.portraits), the same picture their licence shows."""
    archive = registry_selectors.archive_photo_of(person_id=elder.pk)
    if archive is not None:
        return bytes(archive.photo)
    return placeholder_portrait(elder.id_number)


def proxies_settle(*, now: datetime | None = None) -> int:
    """Write down the proxy authorisations past their last day that were never used (O2): waiting
    for the elderly person's authentication, or active without an application. A used one stays
    used: its application goes on. Using a lapsed one is refused at once anyway (``_check_live``);
    this keeps the stored state true for the lists. Returns how many lapsed."""
    today = timezone.localdate(now or timezone.now())
    ended = (ProxyAuthorisation.State.AWAITING_AUTHENTICATION, ProxyAuthorisation.State.ACTIVE)
    due = list(
        ProxyAuthorisation.objects.filter(state__in=ended, valid_until__lt=today)
        .order_by("pk")
        .values_list("pk", flat=True)[:SETTLE_BATCH]
    )
    lapsed = 0
    for pk in due:
        with transaction.atomic():
            # Re-read under the lock: an application submitted meanwhile made it used.
            changed = (
                ProxyAuthorisation.objects.select_for_update()
                .filter(pk=pk, state__in=ended, valid_until__lt=today)
                .update(state=ProxyAuthorisation.State.LAPSED)
            )
            lapsed += changed
    return lapsed


def _check_live(proxy: ProxyAuthorisation, *, today: Any) -> None:
    if proxy.state in (ProxyAuthorisation.State.REVOKED, ProxyAuthorisation.State.LAPSED):
        raise _already_ended()
    if proxy.valid_until < today:
        raise Conflict(
            "delegations.proxy.lapsed", "该代办授权已过期，请重新申请。", "This proxy authorisation has lapsed; ask again.",
        )  # fmt: skip


def proxy_authenticate(*, actor: Any, proxy_id: int, capture: bytes) -> ProxyAuthorisation:
    """Real-person authentication of the ELDERLY person (实人认证, U6): liveness and a face match of
    the capture against the registry photo, by the configured provider.

    pass: the authorisation becomes active for ``rules.PROXY_VALID_DAYS``. fail: it stays waiting,
    with the reason; at most ``PROXY_MAX_AUTH_ATTEMPTS`` answered attempts. The provider
    unavailable: 503 and nothing changes. The elderly person is told by SMS of each answer.
    """
    require(actor, PROXY_CREATE)
    today = timezone.localdate()
    proxy = _proxy_of_relative(actor, proxy_id, lock=False)
    _check_authenticable(proxy, today=today)
    if not capture or len(capture) > CAPTURE_MAX_BYTES:
        raise ValidationFailed(
            "delegations.proxy.capture", "请拍摄老人本人的正面照片（2MB以内）。",
            "Take a frontal picture of the elderly person (at most 2 MB).", field="capture",
        )  # fmt: skip
    reference = _reference_photo(proxy.elder)
    # Asked outside the transaction: no row is locked while the provider answers.
    try:
        result = get_real_person_service().authenticate(
            id_number=proxy.elder.id_number, name=proxy.elder.name, capture=capture,
            reference_photo=reference, request_id=f"PX{proxy.pk}-{proxy.authentication_attempts + 1}",
        )  # fmt: skip
    except RealPersonRefused:
        # The provider would not take this picture (malformed or too large for it): nothing is
        # counted against the authorisation, and the relative takes another one.
        raise ValidationFailed(
            "delegations.proxy.capture", "这张照片无法用于实人认证，请重新拍摄老人本人的正面照片。",
            "This picture cannot be used for real-person authentication; take another frontal picture.",
            field="capture",
        ) from None  # fmt: skip
    except RealPersonUnavailable:
        raise Unavailable(
            "delegations.proxy.auth_unavailable", "暂时无法进行实人认证，请稍后再试。",
            "Real-person authentication is not available now; please try again later.",
        ) from None  # fmt: skip
    now = timezone.now()
    with transaction.atomic():
        proxy = _proxy_of_relative(actor, proxy_id, lock=True)
        _check_authenticable(proxy, today=today)
        proxy.authentication_attempts += 1
        proxy.authentication_outcome = result.outcome
        proxy.authentication_reference = result.reference[:64]
        proxy.authentication_reason = "" if result.passed else (result.reason or "no_match")[:16]
        if result.passed:
            proxy.state = ProxyAuthorisation.State.ACTIVE
            proxy.authenticated_at = now
            proxy.valid_until = today + timedelta(days=rules.PROXY_VALID_DAYS)
            text = (
                f"【交管12123】您已通过实人认证，同意{_mask_relative(actor)}为您代办“"
                f"{_business_name(proxy.business_code)}”，授权有效期至{proxy.valid_until:%Y-%m-%d}。{_NOT_YOU_ZH}"
            )
        else:
            text = (
                f"【交管12123】{_mask_relative(actor)}为您申请代办“{_business_name(proxy.business_code)}”"
                f"的实人认证未通过。{_NOT_YOU_ZH}"
            )
        proxy.save(
            update_fields=[
                "authentication_attempts", "authentication_outcome", "authentication_reference",
                "authentication_reason", "state", "authenticated_at", "valid_until",
            ]
        )  # fmt: skip
        principal_sms(
            mobile=proxy.elder.mobile,
            text=text,
            dedup_key=f"proxy-{proxy.pk}-auth-{proxy.authentication_attempts}",
        )
    return proxy


def _check_authenticable(proxy: ProxyAuthorisation, *, today: Any) -> None:
    _check_live(proxy, today=today)
    if proxy.state != ProxyAuthorisation.State.AWAITING_AUTHENTICATION:
        raise Conflict(
            "delegations.proxy.already_authenticated", "老人已通过实人认证，无需再次认证。",
            "The elderly person has already passed real-person authentication.",
        )  # fmt: skip
    if proxy.authentication_attempts >= PROXY_MAX_AUTH_ATTEMPTS:
        raise Conflict(
            "delegations.proxy.auth_attempts",
            f"实人认证已失败{PROXY_MAX_AUTH_ATTEMPTS}次，该代办授权不能再认证；请撤销后重新申请，或由老人到车管所窗口办理。",
            f"Real-person authentication failed {PROXY_MAX_AUTH_ATTEMPTS} times; this authorisation cannot be "
            "authenticated any more. Revoke it and ask again, or the elderly person may go to a DMV counter.",
            detail={"attempts": proxy.authentication_attempts},
        )


def proxy_application_submit(
    *,
    actor: Any,
    proxy_id: int,
    business_code: str = "",
    licence_id: int | None = None,
    vehicle_id: int | None = None,
    delivery: application_services.DeliveryInput | None = None,
    particulars: dict[str, Any] | None = None,
    note: str = "",
    materials: tuple[application_services.MaterialInput, ...] = (),
) -> Application:
    """The relative applies for the ONE business of an active proxy on the elderly person's
    behalf (O2: 一次代办仅限办理单笔业务), through the applications engine: the licence or vehicle
    and the eligibility are the elderly person's. A business outside the authorisation and a
    second application under it are refused; the elderly person's "who acted for me" list gets
    the application (pending until it is completed or refused) and every step is texted to them.
    """
    require(actor, PROXY_ACT)
    today = timezone.localdate()
    with transaction.atomic():
        proxy = _proxy_of_relative(actor, proxy_id, lock=True)
        code = (business_code or proxy.business_code).strip().upper()
        if code != proxy.business_code:
            raise ValidationFailed(
                "delegations.proxy.business_outside",
                f"该代办授权仅限办理“{_business_name(proxy.business_code)}”，不能办理其他业务。",
                f"This proxy authorisation covers only {rules.PROXY_BUSINESSES[proxy.business_code][1]}.",
                field="business_code", detail={"business": code[:8], "authorised": proxy.business_code},
            )  # fmt: skip
        _check_live(proxy, today=today)
        if proxy.state == ProxyAuthorisation.State.USED:
            raise Conflict(
                "delegations.proxy.used", "一次代办仅限办理单笔业务，该授权已经用过；办理其他业务请重新申请代办。",
                "A proxy authorisation is for one business and this one has been used; ask again for another.",
                detail={"application": proxy.application_number},
            )  # fmt: skip
        if proxy.state != ProxyAuthorisation.State.ACTIVE:
            raise Conflict(
                "delegations.proxy.not_authenticated", "老人尚未通过实人认证，暂不能代办。",
                "The elderly person has not yet passed real-person authentication.",
            )  # fmt: skip
        principal = _account_of(proxy.elder)
        app = application_services.application_submit_with_materials(
            actor=actor, business_code=proxy.business_code, licence_id=licence_id, vehicle_id=vehicle_id,
            delivery=delivery, particulars=particulars, note=note, materials=materials,
            on_behalf_of=application_services.OnBehalf(
                person_id=proxy.elder_id, principal_user_id=principal.pk if principal else None,
                grant_reference=f"PX{proxy.pk}",
            ),
        )  # fmt: skip
        proxy.state = ProxyAuthorisation.State.USED
        proxy.application_number = app.number
        proxy.save(update_fields=["state", "application_number"])
        delegated_action_record(
            principal_person_id=proxy.elder_id, grant=DelegatedAction.Grant.PROXY, grant_id=proxy.pk,
            business_code=proxy.business_code, channel=DelegatedAction.Channel.ONLINE,
            outcome=DelegatedAction.Outcome.PENDING, agent_user=actor, agent_name=relative_name(actor),
            reference=app.number, note_zh="亲友网上代办", note_en="applied online by a relative",
        )  # fmt: skip
    return app


def _account_of(person: Person) -> Any:
    """The person's own account, or None (an elderly person need not have one)."""
    from django.core.exceptions import ObjectDoesNotExist

    try:
        return person.account  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        return None


# Step of the application -> the outcome of its line in "who acted for me".
_OUTCOME_OF_STATE = {
    application_rules.State.COMPLETED: DelegatedAction.Outcome.DONE,
    application_rules.State.REJECTED: DelegatedAction.Outcome.REFUSED,
    application_rules.State.WITHDRAWN: DelegatedAction.Outcome.STOPPED,
}


@outbox_handler(application_services.STATE_CHANGED)
def _proxy_application_step(payload: dict[str, Any], dedup_key: str) -> None:
    """Every step of an application made under a proxy is texted to the elderly person (O2), and
    its line in their "who acted for me" list follows the outcome. The engine announces its steps
    on the outbox and knows nothing of proxies."""
    number = str(payload.get("number") or "")
    if not number:
        return
    proxy = (
        ProxyAuthorisation.objects.select_related("elder", "relative")
        .filter(application_number=number)
        .first()
    )
    if proxy is None:
        return
    to_state = str(payload.get("to_state") or "")
    outcome = _OUTCOME_OF_STATE.get(to_state)  # type: ignore[call-overload]
    if outcome is not None:
        DelegatedAction.objects.filter(
            grant=DelegatedAction.Grant.PROXY, grant_id=proxy.pk, reference=number
        ).exclude(outcome=outcome).update(outcome=outcome)
    state_zh = application_rules.STATE_NAMES.get(to_state, (to_state, to_state))[0]  # type: ignore[call-overload]
    business = application_catalogue.entry(proxy.business_code).name_zh
    text = (
        f"【交管12123】{_mask_relative(proxy.relative)}以您的名义申请的“{business}”（申请编号{number}）"
        f"{'已提交' if payload.get('action') == 'submit' else '状态：' + state_zh}。{_NOT_YOU_ZH}"
    )
    principal_sms(mobile=proxy.elder.mobile, text=text, dedup_key=f"proxy-{proxy.pk}-{dedup_key}")


def _stop_proxy_application(proxy: ProxyAuthorisation, now: datetime) -> set[str]:
    """Revoking a proxy withdraws its application while it is not yet accepted (issue 18); an
    accepted one goes on, as at the counter, and its number is returned."""
    if not proxy.application_number:
        return set()
    app = Application.objects.filter(number=proxy.application_number).only("pk", "state").first()
    if app is None:
        return set()
    if app.state not in (application_rules.State.SUBMITTED, application_rules.State.RETURNED):
        return {proxy.application_number}
    # Withdrawn as the applicant (the relative), whoever revoked: the timeline notes why.
    application_services.application_withdraw(
        actor=proxy.relative, application_id=app.pk, note=f"PX{proxy.pk} 代办授权已撤销 proxy revoked"
    )
    return set()


_PROXY_STOPPERS.append(_stop_proxy_application)
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
