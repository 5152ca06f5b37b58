"""Application use cases (issue 13): submit, withdraw, supplement (the applicant); claim, accept,
return, reject, production, post, pickup, hand-over, complete (the DMV's clerks).

Each is one transaction: access check, lock the application row, re-check the state through
the transition table (``rules``), change, timeline event, audit row for staff, outbox event
``applications.state_changed``. Only one row is ever locked per call, so there is no lock
order to keep. Staff actions hold the application's claim: a second clerk is refused while
a claim is live (``rules.check_claim``), so two clerks never act on one application at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from jiaoguan.core.access import division_prefix_for, require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import validate_division
from jiaoguan.core.errors import Conflict, NotFound, Unavailable, ValidationFailed
from jiaoguan.core.identifiers import validate_mobile
from jiaoguan.core.outbox import outbox_enqueue, outbox_handler
from jiaoguan.integrations.postal import (
    PostalError,
    PostalRefused,
    TrackingCallbackInvalid,
    TrackingEvent,
    get_postal_service,
    waybill_number_valid,
)
from jiaoguan.payments.models import Payable
from jiaoguan.payments.services import payable_create
from jiaoguan.registry import licence_rules, selectors
from jiaoguan.registry.models import DrivingLicence, Person, Vehicle

from . import catalogue, completion, deadlines, delivery, eligibility, fees, notify, rules
from .catalogue import Delivery
from .models import Application, ApplicationCounter, ApplicationEvent, PostalNotice
from .rules import Action, State

logger = logging.getLogger(__name__)

APPLY = "applications.own.apply"
VIEW_OWN = "applications.own.view"
HANDLE = "applications.counter.handle"
STATE_CHANGED = "applications.state_changed"
PICKUP_CODE_DIGITS = 8


# ---------------------------------------------------------------- loading with the access check


def _not_found() -> NotFound:
    return NotFound("applications.not_found", "没有这份申请。", "No such application.")


def application_for_applicant(
    *, actor: Any, application_id: int, action: str = VIEW_OWN, lock: bool = False
) -> Application:
    """The actor's own application; someone else's is "not found", like a missing one (404)."""
    require(actor, action)
    qs = Application.objects.select_for_update() if lock else Application.objects.all()
    found = qs.filter(pk=application_id, applicant_id=actor.pk).first()
    if found is None:
        raise _not_found()
    return found


def application_for_staff(*, actor: Any, application_id: int, lock: bool = False) -> Application:
    """An application of the actor's jurisdiction; one outside it is "not found" (ids cannot be probed)."""
    require(actor, HANDLE)
    prefix = division_prefix_for(actor, HANDLE)
    qs = Application.objects.select_for_update() if lock else Application.objects.all()
    found = None if prefix is None else qs.filter(pk=application_id, division__startswith=prefix).first()
    if found is None:
        raise _not_found()
    require(actor, HANDLE, division=found.division)
    return found


# ---------------------------------------------------------------- shared steps

_NOW = object()  # a field set to the moment of the change


def _move(
    app: Application,
    *,
    action: Action,
    actor: Any,
    now: datetime,
    note: str = "",
    changes: dict[str, Any] | None = None,
) -> ApplicationEvent:
    """Apply ``action`` through the transition table, then record the event and the outbox message.

    The caller holds the row lock. ``changes`` (fields of the application, ``_NOW`` for the
    moment of the change) are made only once the transition is allowed, since the check
    reads the application as it was.
    """
    previous = app.state
    app.state = rules.next_state(
        app.state,
        action,
        delivers=catalogue.entry(app.business_code).delivers,
        returned_before=app.returned_at is not None,
    )
    for name, value in (changes or {}).items():
        setattr(app, name, now if value is _NOW else value)
    if app.state == State.COMPLETED and previous != State.COMPLETED:
        # The licence changes in this same transaction: both or neither (issue 13).
        completion.apply(app, today=timezone.localdate(now))
    app.save()
    event = ApplicationEvent.objects.create(
        application=app,
        from_state=previous,
        to_state=app.state,
        action=action,
        actor=actor,
        at=now,
        note=note[:300],
    )
    _announce(app, event)
    return event


def _announce(app: Application, event: ApplicationEvent) -> None:
    outbox_enqueue(
        topic=STATE_CHANGED,
        payload={
            "application_id": app.pk,
            "number": app.number,
            "business": app.business_code,
            "applicant_id": app.applicant_id,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "action": event.action,
            "at": event.at.isoformat(),
        },
        dedup_key=f"applications-{app.pk}-event-{event.pk}",
    )


@outbox_handler(STATE_CHANGED)
def _state_changed_deliver(payload: dict[str, Any], dedup_key: str) -> None:
    # An in-app message and an SMS to the applicant, each once per outbox message (issue 13);
    # the notifications work takes these over later.
    notify.applicant_notify(payload, dedup_key)


def _hold_claim(app: Application, *, actor: Any, now: datetime) -> None:
    """Take or renew the claim for ``actor``; refused while another clerk's claim is live."""
    holder = app.claimed_by
    rules.check_claim(
        held_by_id=app.claimed_by_id,
        held_by_label=holder.get_username() if holder is not None else "",
        claimed_at=app.claimed_at,
        actor_id=actor.pk,
        now=now,
    )
    app.claimed_by = actor
    app.claimed_at = now


def _staff_step(
    *,
    actor: Any,
    application_id: int,
    action: Action,
    summary: str,
    reason: str = "",
    note: str = "",
    **changes: Any,
) -> Application:
    """The common shape of a staff action: lock, claim, transition, audit."""
    now = timezone.now()
    with transaction.atomic():
        app = application_for_staff(actor=actor, application_id=application_id, lock=True)
        _hold_claim(app, actor=actor, now=now)
        _move(app, action=action, actor=actor, now=now, note=note, changes=changes)
        audit_record(
            actor=actor,
            action="change",
            subject=app,
            subject_person_id=app.subject_person_id,
            summary=f"{summary} {app.number}",
            reason=reason,
        )
    return app


def _reason(text: str, *, field: str) -> str:
    text = (text or "").strip()
    if not text or len(text) > 300:
        raise ValidationFailed(
            "applications.reason_required",
            "请填写理由（300字以内）。",
            "Give the reason (at most 300 characters).",
            field=field,
        )
    return text


def _next_number(*, division: str, day: date) -> str:
    counter, _ = ApplicationCounter.objects.get_or_create(division=division, day=day)
    counter = ApplicationCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{division}-{day:%Y%m%d}-{counter.last:05d}"


# ---------------------------------------------------------------- the applicant


@dataclass(frozen=True)
class DeliveryInput:
    """How the result should reach the applicant: by post to an address, or picked up at the window."""

    method: str = ""
    recipient_name: str = ""
    recipient_phone: str = ""
    address_division: str = ""
    address_line: str = ""


def _clean_delivery(entry: catalogue.Entry, delivery: DeliveryInput) -> dict[str, str]:
    if not entry.delivers:
        return {"delivery_method": ""}
    if delivery.method not in entry.delivery:
        raise ValidationFailed(
            "applications.delivery_required",
            "请选择领取方式：邮寄或到车管所窗口领取。",
            "Choose how to receive it: by post or at the DMV window.",
            field="delivery_method",
        )
    if delivery.method == Delivery.PICKUP:
        return {"delivery_method": Delivery.PICKUP}
    name, line = delivery.recipient_name.strip(), delivery.address_line.strip()
    if not name or len(name) > 64 or not line or len(line) > 200:
        raise ValidationFailed(
            "applications.address_required",
            "邮寄须填写收件人姓名（64字以内）和详细地址（200字以内）。",
            "Posting needs the recipient's name (at most 64 characters) and the address (at most 200).",
            field="address_line",
        )
    return {
        "delivery_method": Delivery.POST,
        "recipient_name": name,
        "recipient_phone": validate_mobile(delivery.recipient_phone),
        "address_division": validate_division(delivery.address_division),
        "address_line": line,
    }


_PARTICULARS: dict[str, tuple[str, ...]] = {
    "B9": ("to_classes",),
    **{code: ("reason", "until") for code in selectors.DEFERRAL_BUSINESSES},
}


def _particular_refused(
    field: str, zh: str, en: str, code: str = "applications.particulars_invalid"
) -> ValidationFailed:
    return ValidationFailed(code, zh, en, field=field)


def _clean_particulars(
    entry: catalogue.Entry,
    answer: eligibility.Eligibility,
    particulars: dict[str, Any],
    *,
    licence: DrivingLicence | None,
    today: date,
) -> dict[str, Any]:
    """The particulars a business asks for, checked by its rule (issue 13); anything else refused.

    B9: ``to_classes``, one of the classes the age-limit exchange offers. B12-B14:
    ``reason`` (a deferral reason code) and ``until`` (ISO date), through the deferral rule.
    """
    if not isinstance(particulars, dict):
        raise _particular_refused(
            "particulars", "业务事项格式不正确。", "The particulars are not in the right form."
        )
    expected = _PARTICULARS.get(entry.code, ())
    for name in particulars:
        if name not in expected:
            raise _particular_refused(
                name[:40], f"此项业务不需要填写“{name[:40]}”。", f"This business takes no '{name[:40]}'."
            )
    for name in expected:
        if particulars.get(name) in (None, ""):
            raise _particular_refused(name, f"请填写“{name}”。", f"'{name}' is required.")
    if entry.code == "B9":
        offered = answer.details.get("to_classes", [])
        if particulars["to_classes"] not in offered:
            raise _particular_refused(
                "to_classes",
                "换领的准驾车型须为以下之一：" + "、".join(offered) + "。",
                "The classes to exchange to must be one of: " + ", ".join(offered) + ".",
            )
        return {"to_classes": particulars["to_classes"]}
    if entry.code in selectors.DEFERRAL_BUSINESSES:
        assert licence is not None
        try:
            until = date.fromisoformat(str(particulars["until"]))
        except ValueError:
            raise _particular_refused(
                "until",
                "延期截止日期须为日期（如2027-06-30）。",
                "The end of the deferral must be a date (e.g. 2027-06-30).",
            ) from None
        reason = str(particulars["reason"])
        verdict = selectors.licence_deferral_check(
            licence=licence, business_code=entry.code, reason=reason, until=until, today=today
        )
        if isinstance(verdict, licence_rules.Refusal):
            raise _particular_refused(
                "reason" if verdict.code == "licence.deferral_reason_unknown" else "until",
                " ".join(filter(None, [verdict.zh, verdict.remedy_zh])),
                " ".join(filter(None, [verdict.en, verdict.remedy_en])),
                code=verdict.code,
            )
        return {"reason": reason, "until": until.isoformat()}
    return {}


def _duplicate(entry: catalogue.Entry) -> Conflict:
    return Conflict(
        "applications.already_open",
        f"您已有一份“{entry.name_zh}”申请正在办理，请等待办结或先撤回该申请。",
        f"You already have an open application for '{entry.name_en}'; wait for it to finish or withdraw it first.",
        detail={"business": entry.code},
    )


@dataclass(frozen=True)
class OnBehalf:
    """Applying for another person (代办, O2): the subject whose licence or vehicle it is.

    ``person_id`` is the subject person: eligibility, the licence's or vehicle's ownership and the
    application's ``subject_person`` are theirs, while the applicant stays the account that acts.
    ``principal_user_id`` is the subject's own account (None when they have none);
    ``grant_reference`` names the grant it is made under ("PX12"), kept on the timeline.
    The caller (the grant's service) has checked that the actor may act for the person.
    """

    person_id: int
    principal_user_id: int | None
    grant_reference: str


def _own_vehicle(
    actor: Any, entry: catalogue.Entry, vehicle_id: int | None, *, person_id: int | None = None
) -> Vehicle | None:
    """The applicant's vehicle named for a vehicle business (issue 14); someone else's is "not
    found" (404), like a missing one. With none named, the only vehicle, or a request to choose.
    ``person_id``: the subject's vehicles instead of the applicant's (on behalf of someone)."""
    if not entry.needs_vehicle:
        if vehicle_id is not None:
            raise _particular_refused(
                "vehicle_id", "此项业务不需要选择机动车。", "This business is not about a vehicle."
            )
        return None
    own = (
        selectors.vehicles_owned_by(user=actor)
        if person_id is None
        else eligibility.vehicles_of_person(person_id)
    )
    if vehicle_id is None:
        found = list(own[:2])
        if len(found) == 1:
            return found[0]
        if not found:
            return None  # the eligibility says there is none, in its words
        raise ValidationFailed(
            "applications.vehicle_required", "请选择要办理的机动车。", "Choose the vehicle this is for.",
            field="vehicle_id",
        )  # fmt: skip
    vehicle = own.filter(pk=vehicle_id).first()
    if vehicle is None:
        raise NotFound("applications.vehicle_not_found", "没有这辆机动车。", "No such vehicle.")
    return vehicle


def application_submit(
    *,
    actor: Any,
    business_code: str,
    licence_id: int | None = None,
    delivery: DeliveryInput | None = None,
    particulars: dict[str, Any] | None = None,
    note: str = "",
    vehicle_id: int | None = None,
    on_behalf_of: OnBehalf | None = None,
) -> Application:
    """Submit an application for a business of the catalogue (issue 13).

    Who may apply is the U5 table (``accounts.rules.check_business_allowed``). A licence
    or vehicle named must be the applicant's own (anyone else's is "not found"). A second open
    application of the same business for the same person and vehicle is refused; the
    database's partial unique constraint holds the same line against a race.

    ``on_behalf_of`` (O2): the licence or vehicle, the eligibility and the subject are that
    person's; U5 is still asked of the applicant's own account.
    """
    require(actor, APPLY)
    entry = catalogue.entry(business_code)
    if entry.by_system:
        # E2 is opened by the platform with the exempt application or an inspection (issue 14).
        raise NotFound(
            "applications.business_unknown", "该业务暂不能在网上申请。", "This business cannot be applied for online.",
            detail={"business": entry.code},
        )  # fmt: skip
    organisation = getattr(actor, "organisation", None)
    today = timezone.localdate()
    subject_id = on_behalf_of.person_id if on_behalf_of is not None else None
    vehicle = _own_vehicle(actor, entry, vehicle_id, person_id=subject_id)
    answer = eligibility.check_can_apply(
        actor=actor, business_code=entry.code, today=today, vehicle_id=vehicle.pk if vehicle else None,
        person_id=subject_id,
    )  # fmt: skip
    person_id = actor.person_id if on_behalf_of is None else on_behalf_of.person_id
    licence = None
    if entry.needs_licence:
        if licence_id is None:
            raise ValidationFailed(
                "applications.licence_required",
                "请选择要办理的驾驶证。",
                "Choose the driving licence this is for.",
                field="licence_id",
            )
    if licence_id is not None:
        licence = (
            DrivingLicence.objects.filter(pk=licence_id, holder_id=person_id).first() if person_id else None
        )
        if licence is None:
            raise NotFound("applications.licence_not_found", "没有这本驾驶证。", "No such driving licence.")
    if on_behalf_of is None:
        require(actor, APPLY, owner_person_id=person_id)
    particulars = _clean_particulars(entry, answer, particulars or {}, licence=licence, today=today)
    cleaned = _clean_delivery(entry, delivery or DeliveryInput())
    if licence is not None:
        division = licence.division
    elif vehicle is not None:
        division = vehicle.division
    elif organisation is not None:
        division = organisation.division
    elif on_behalf_of is not None:
        division = Person.objects.get(pk=on_behalf_of.person_id).residence_division
    else:
        division = actor.person.residence_division
    if on_behalf_of is not None:
        # The timeline says under which grant the applicant acted for the subject.
        note = f"{on_behalf_of.grant_reference} {note}".strip()
    now = timezone.now()
    due_on, known = deadlines.accept_due(now)
    with transaction.atomic():
        open_ones = Application.objects.filter(
            applicant_id=actor.pk,
            business_code=entry.code,
            subject_person_id=person_id,
            vehicle=vehicle,
            state__in=sorted(rules.OPEN_STATES),
        )
        if open_ones.exists():
            raise _duplicate(entry)
        try:
            with transaction.atomic():
                app = Application.objects.create(
                    number=_next_number(division=division, day=timezone.localdate(now)),
                    business_code=entry.code,
                    applicant=actor,
                    subject_person_id=person_id,
                    licence=licence,
                    vehicle=vehicle,
                    division=division,
                    state=State.SUBMITTED,
                    particulars=particulars,
                    fee_fen=catalogue.fee_on(
                        entry.code, timezone.localdate(now), plate_type=vehicle.plate_type if vehicle else ""
                    ),
                    accept_due_on=due_on,
                    deadline_known=known,
                    submitted_at=now,
                    **cleaned,
                )
        except IntegrityError:
            # A parallel submission won the partial unique constraint (application_one_open).
            if open_ones.exists():
                raise _duplicate(entry) from None
            raise
        if app.fee_fen > 0:
            # Issue 13: the fee is paid through the payment gateway (or at the counter) before
            # the clerk may accept; the payable is opened with the application, or neither is.
            app.fee_payable = payable_create(
                kind=fees.FEE_KIND, reference=app.number, description=fees.fee_description(name_zh=entry.name_zh),
                principal_fen=app.fee_fen, division=app.division, subject_person_id=person_id,
            )  # fmt: skip
            app.save(update_fields=["fee_payable"])
        event = ApplicationEvent.objects.create(
            application=app,
            from_state="",
            to_state=app.state,
            action="submit",
            actor=actor,
            at=now,
            note=note[:300],
        )
        _announce(app, event)
    return app


def application_withdraw(*, actor: Any, application_id: int, note: str = "") -> Application:
    """The applicant withdraws an application that is not yet accepted."""
    now = timezone.now()
    with transaction.atomic():
        app = application_for_applicant(actor=actor, application_id=application_id, action=APPLY, lock=True)
        _move(app, action=Action.WITHDRAW, actor=actor, now=now, note=note, changes={"withdrawn_at": _NOW})
    return app


def application_supplement(*, actor: Any, application_id: int, note: str = "") -> Application:
    """The applicant hands in the supplementary material asked for; the application is submitted again.

    The acceptance deadline starts again from the resubmission. After the supplement due date
    the application waits for the clerk's rejection instead.
    """
    now = timezone.now()
    due_on, known = deadlines.accept_due(now)
    with transaction.atomic():
        app = application_for_applicant(actor=actor, application_id=application_id, action=APPLY, lock=True)
        if app.state == State.RETURNED:
            rules.check_supplement_in_time(due_on=app.supplement_due_on, today=timezone.localdate(now))
        changes = {
            "supplemented_at": _NOW,
            "submitted_at": _NOW,
            "accept_due_on": due_on,
            "deadline_known": known,
        }
        _move(app, action=Action.SUPPLEMENT, actor=actor, now=now, note=note, changes=changes)
    return app


# ---------------------------------------------------------------- the DMV's clerks


def application_claim(*, actor: Any, application_id: int) -> Application:
    """Claim an application to work on it; refused (409, naming the holder) while another clerk holds it."""
    now = timezone.now()
    with transaction.atomic():
        app = application_for_staff(actor=actor, application_id=application_id, lock=True)
        if app.state not in rules.STAFF_STATES:
            raise Conflict(
                "applications.not_claimable",
                "该申请当前无需窗口办理。",
                "This application needs nothing from the counter now.",
                detail={"state": app.state},
            )
        _hold_claim(app, actor=actor, now=now)
        app.save(update_fields=["claimed_by", "claimed_at"])
        audit_record(
            actor=actor, action="change", subject=app, subject_person_id=app.subject_person_id,
            summary=f"认领申请 {app.number}",
        )  # fmt: skip
    return app


def application_accept(*, actor: Any, application_id: int) -> Application:
    """Accept a submitted application; refused (409) while its fee is unpaid (issue 13)."""
    now = timezone.now()
    with transaction.atomic():
        app = application_for_staff(actor=actor, application_id=application_id, lock=True)
        _hold_claim(app, actor=actor, now=now)
        # The state first, so an application that is not waiting for acceptance says so.
        rules.transition_for(
            app.state, Action.ACCEPT, delivers=catalogue.entry(app.business_code).delivers,
            returned_before=app.returned_at is not None,
        )  # fmt: skip
        fees.check_fee_paid(fee_fen=app.fee_fen, fee_paid_at=app.fee_paid_at)
        _move(app, action=Action.ACCEPT, actor=actor, now=now, changes={"accepted_at": _NOW})
        audit_record(
            actor=actor, action="change", subject=app, subject_person_id=app.subject_person_id,
            summary=f"受理申请 {app.number}",
        )  # fmt: skip
    return app


def application_return_for_supplement(
    *, actor: Any, application_id: int, reason: str, supplement_due_on: date
) -> Application:
    """Return the application once for supplementary material, by a due date (issue 13)."""
    reason = _reason(reason, field="reason")
    if supplement_due_on <= timezone.localdate():
        raise ValidationFailed(
            "applications.supplement_due_in_past",
            "补正期限须晚于今天。",
            "The due date for the supplementary material must be after today.",
            field="supplement_due_on",
        )
    return _staff_step(
        actor=actor, application_id=application_id, action=Action.RETURN_FOR_SUPPLEMENT, summary="退回补正",
        reason=reason, note=reason, return_reason=reason, supplement_due_on=supplement_due_on, returned_at=_NOW,
    )  # fmt: skip


def application_reject(*, actor: Any, application_id: int, reason: str) -> Application:
    reason = _reason(reason, field="reason")
    return _staff_step(
        actor=actor, application_id=application_id, action=Action.REJECT, summary="不予受理",
        reason=reason, note=reason, reject_reason=reason, rejected_at=_NOW,
    )  # fmt: skip


def application_start_production(*, actor: Any, application_id: int) -> Application:
    return _staff_step(
        actor=actor, application_id=application_id, action=Action.START_PRODUCTION, summary="开始制证",
        production_started_at=_NOW,
    )  # fmt: skip


def _refuse_wrong_delivery(app: Application, method: str) -> None:
    if app.delivery_method != method:
        raise Conflict(
            "applications.wrong_delivery",
            "申请人选择的领取方式不是这一种。",
            "The applicant chose the other way of receiving it.",
            detail={"delivery_method": app.delivery_method},
        )


def _postal_unavailable(error: PostalError) -> Unavailable:
    return Unavailable(
        "applications.postal_unavailable",
        "邮政系统暂时无法生成邮件号，申请仍在制证中；请稍后重试（不会重复寄件），或在邮政系统恢复前手工录入邮件号。",
        "The postal service cannot issue a waybill now; the application stays in production. Try again "
        "later (no second parcel is created), or enter the waybill by hand while the postal service is down.",
        detail={"postal_error": error.code},
    )


def _postal_callback_url() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("postal_tracking_callback")


def _waybill_for(app: Application) -> str:
    """Ask the postal service for the parcel's waybill; idempotent by application number, so a
    retry after a timeout gets the same waybill and never a second parcel."""
    try:
        waybill = get_postal_service().waybill_create(
            reference=app.number,
            idempotency_key=f"application:{app.number}",
            sender=f"{app.division} 车辆管理所",
            recipient_name=app.recipient_name,
            recipient_phone=app.recipient_phone,
            address_division=app.address_division,
            address_line=app.address_line,
            callback_url=_postal_callback_url(),
        )
    except PostalRefused as error:
        if error.code == "invalid_address":
            raise Conflict(
                "applications.postal_address_refused",
                "邮政系统无法投递到申请人填写的地址，请联系申请人改为窗口领取。",
                "The postal service cannot deliver to the applicant's address; ask them to pick it up instead.",
                detail={"postal_error": error.code},
            ) from error
        raise _postal_unavailable(error) from error
    except PostalError as error:
        raise _postal_unavailable(error) from error
    return waybill.number


def application_post(*, actor: Any, application_id: int, waybill_number: str = "") -> Application:
    """Post the document (邮寄): the postal service issues the waybill for the application's address.

    ``waybill_number`` is only for when the postal system is down: a waybill written by hand,
    checked as an EMS (UPU S10) number. The delivery due date (1/2/3 working days, issue 13)
    is stored with the posting. The postal service is asked before the transaction, never
    inside it; a failure leaves the application in production with a message to retry.
    """
    manual = (waybill_number or "").strip().upper()
    if manual and not waybill_number_valid(manual):
        raise ValidationFailed(
            "applications.waybill_invalid",
            "邮件号格式不正确（EMS邮件号，如 EA123456785CN）。",
            "This is not an EMS waybill number (like EA123456785CN).",
            field="waybill_number",
        )
    now = timezone.now()
    number = manual
    if not number:
        # Refuse what the transaction would refuse before a parcel is booked for it.
        app = application_for_staff(actor=actor, application_id=application_id)
        _refuse_wrong_delivery(app, Delivery.POST)
        _hold_claim(app, actor=actor, now=now)
        rules.transition_for(app.state, Action.POST, delivers=catalogue.entry(app.business_code).delivers)
        number = _waybill_for(app)
    with transaction.atomic():
        app = application_for_staff(actor=actor, application_id=application_id, lock=True)
        _refuse_wrong_delivery(app, Delivery.POST)
        _hold_claim(app, actor=actor, now=now)
        due_on = delivery.delivery_due(now, origin=app.division, destination=app.address_division)
        changes = {
            "waybill_number": number, "posted_at": _NOW, "delivery_due_on": due_on, "delivery_problem": "",
        }  # fmt: skip
        note = f"{number}（手工录入 entered by hand）" if manual else number
        _move(app, action=Action.POST, actor=actor, now=now, note=note, changes=changes)
        audit_record(
            actor=actor, action="change", subject=app, subject_person_id=app.subject_person_id,
            summary=f"邮寄 {app.number} {number}" + (" 手工录入" if manual else ""),
        )  # fmt: skip
    return app


def _pickup_hash(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"pickup:{code}".encode(), hashlib.sha256).hexdigest()


def application_ready_for_pickup(*, actor: Any, application_id: int) -> tuple[Application, str]:
    """Mark the document ready at the certificate window; returns the pickup code, shown this once.

    Only a keyed hash of the code is stored; a lost code means a new one from this step's
    successor (not built yet), never a lookup.
    """
    code = "".join(secrets.choice("0123456789") for _ in range(PICKUP_CODE_DIGITS))
    now = timezone.now()
    with transaction.atomic():
        app = application_for_staff(actor=actor, application_id=application_id, lock=True)
        _refuse_wrong_delivery(app, Delivery.PICKUP)
        _hold_claim(app, actor=actor, now=now)
        changes = {"pickup_code_hash": _pickup_hash(code), "ready_at": _NOW}
        _move(app, action=Action.READY_FOR_PICKUP, actor=actor, now=now, changes=changes)
        audit_record(
            actor=actor, action="change", subject=app,
            subject_person_id=app.subject_person_id, summary=f"待领取 {app.number}",
        )  # fmt: skip
    return app, code


def application_hand_over(*, actor: Any, application_id: int, pickup_code: str) -> Application:
    """Hand the document over at the window against the pickup code (compared in constant time)."""
    now = timezone.now()
    with transaction.atomic():
        app = application_for_staff(actor=actor, application_id=application_id, lock=True)
        _hold_claim(app, actor=actor, now=now)
        given = _pickup_hash((pickup_code or "").strip())
        if app.state == State.READY_FOR_PICKUP and not hmac.compare_digest(given, app.pickup_code_hash):
            raise ValidationFailed(
                "applications.pickup_code_wrong",
                "取件码不正确。",
                "The pickup code is wrong.",
                field="pickup_code",
            )
        _move(app, action=Action.HAND_OVER, actor=actor, now=now, changes={"completed_at": _NOW})
        audit_record(
            actor=actor, action="change", subject=app, subject_person_id=app.subject_person_id,
            summary=f"窗口发证 {app.number}",
        )  # fmt: skip
    return app


def application_complete(*, actor: Any, application_id: int) -> Application:
    """Complete a posted application (delivered) or one that produces no document.

    The registry change named by the catalogue's ``completes_with`` is wired with the
    licence businesses; this step only records the state.
    """
    return _staff_step(
        actor=actor, application_id=application_id, action=Action.COMPLETE, summary="办结", completed_at=_NOW
    )


# ---------------------------------------------------------------- materials (申请材料)

from jiaoguan.core.uploads import check_upload  # noqa: E402
from jiaoguan.credentials.services import check_licence_photo  # noqa: E402

from .models import ApplicationMaterial  # noqa: E402

MATERIAL_MAX_BYTES = 2 * 1024 * 1024
MATERIAL_CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}
# Material may be handed in while nobody has decided on the application yet, or when it was
# returned for exactly that (issue 13); after acceptance the file would change nothing.
MATERIAL_STATES = frozenset({State.SUBMITTED, State.RETURNED})


@dataclass(frozen=True)
class MaterialInput:
    """One uploaded file: which material it is, its bytes and the name the browser gave it."""

    kind: str
    content: bytes
    filename: str = ""


def _material_kind(entry: catalogue.Entry, kind: str) -> catalogue.Material:
    if kind not in {m.value for m in entry.materials} or kind == catalogue.Material.MEDICAL_CERTIFICATE:
        # The medical certificate comes from the hospital electronically (B7), never as a scan.
        raise ValidationFailed(
            "applications.material_kind",
            "此项业务不需要这种材料。",
            "This business does not ask for this material.",
            field="kind",
            detail={"kind": kind[:32], "business": entry.code},
        )
    return catalogue.Material(kind)


def _store_material(app: Application, material: MaterialInput, *, now: datetime) -> ApplicationMaterial:
    kind = _material_kind(catalogue.entry(app.business_code), material.kind)
    sniffed = check_upload(material.content, name=material.filename, max_bytes=MATERIAL_MAX_BYTES)
    if kind is catalogue.Material.PHOTO:
        # The licence photo is checked as for the e-licence (issue 13, D1): a portrait image, no scan.
        check_licence_photo(material.content)
    return ApplicationMaterial.objects.create(
        application=app,
        kind=kind,
        content=material.content,
        content_type=MATERIAL_CONTENT_TYPES[sniffed],
        size=len(material.content),
        sha256=hashlib.sha256(material.content).hexdigest(),
        uploaded_at=now,
    )


def material_add(*, actor: Any, application_id: int, material: MaterialInput) -> ApplicationMaterial:
    """The applicant adds a file to an application not yet decided on (submitted or returned).

    The type is sniffed from the content (JPEG, PNG, PDF only, at most 2 MB, ``core.uploads``);
    anything else is refused before a row is written.
    """
    now = timezone.now()
    with transaction.atomic():
        app = application_for_applicant(actor=actor, application_id=application_id, action=APPLY, lock=True)
        if app.state not in MATERIAL_STATES:
            raise Conflict(
                "applications.materials_closed",
                "申请已受理或已办结，不能再补充材料。",
                "The application is past the stage where material can be added.",
                detail={"state": app.state},
            )
        return _store_material(app, material, now=now)


def application_supplement_with_materials(
    *, actor: Any, application_id: int, note: str = "", materials: tuple[MaterialInput, ...] = ()
) -> Application:
    """Hand in the supplement asked for: the files and the resubmission together or not at all."""
    with transaction.atomic():
        for material in materials:
            material_add(actor=actor, application_id=application_id, material=material)
        return application_supplement(actor=actor, application_id=application_id, note=note)


def material_for_staff(*, actor: Any, material_id: int, request: Any = None) -> ApplicationMaterial:
    """A file of an application of the actor's jurisdiction, for the clerk; every view is audited."""
    require(actor, HANDLE)
    found = ApplicationMaterial.objects.filter(pk=material_id).only("id", "application_id").first()
    if found is None:
        raise NotFound("applications.material_not_found", "没有这份材料。", "No such material.")
    app = application_for_staff(actor=actor, application_id=found.application_id)
    material = ApplicationMaterial.objects.get(pk=material_id)
    audit_record(
        actor=actor, action="view", subject=material, subject_person_id=app.subject_person_id,
        summary=f"查看申请材料 {app.number} {material.kind}", request=request,
    )  # fmt: skip
    return material


def application_for_staff_read(*, actor: Any, application_id: int, request: Any = None) -> Application:
    """An application of the actor's jurisdiction opened by a clerk; the read is audited (personal data)."""
    app = application_for_staff(actor=actor, application_id=application_id)
    audit_record(
        actor=actor, action="view", subject=app, subject_person_id=app.subject_person_id,
        summary=f"查看申请 {app.number}", request=request,
    )  # fmt: skip
    return app


def application_submit_with_materials(
    *,
    actor: Any,
    business_code: str,
    licence_id: int | None = None,
    delivery: DeliveryInput | None = None,
    particulars: dict[str, Any] | None = None,
    note: str = "",
    materials: tuple[MaterialInput, ...] = (),
    vehicle_id: int | None = None,
    on_behalf_of: OnBehalf | None = None,
) -> Application:
    """Submit with the files in one go (the business page): a bad file leaves no application behind."""
    with transaction.atomic():
        app = application_submit(
            actor=actor, business_code=business_code, licence_id=licence_id, delivery=delivery,
            particulars=particulars, note=note, vehicle_id=vehicle_id, on_behalf_of=on_behalf_of,
        )  # fmt: skip
        now = timezone.now()
        for material in materials:
            _store_material(app, material, now=now)
    return app


# ---------------------------------------------------------------- fees (issue 13)


def _note_step(app: Application, *, action: str, at: datetime, note: str) -> ApplicationEvent:
    """A timeline step that leaves the state as it is (the fee paid, a delivery problem),
    told to the applicant like a state change."""
    event = ApplicationEvent.objects.create(
        application=app, from_state=app.state, to_state=app.state, action=action, actor=None, at=at,
        note=note[:300],
    )  # fmt: skip
    _announce(app, event)
    return event


def application_fee_paid(*, payable: Payable) -> Application:
    """The application's fee is paid (payments' ``on_paid``, in the payment's transaction, payable locked).

    The clerk's one working day to accept starts when the application is complete and paid
    (issue 13), so a submitted application's acceptance deadline restarts from the payment.
    The timeline gets a "fee_paid" step without a state change. A counter payment for a
    withdrawn or rejected application is refused; money already taken online or elsewhere is
    recorded and marked for refund, since refusing it would leave a charge nobody accounts for.
    """
    app = Application.objects.select_for_update().get(fee_payable_id=payable.pk)
    if app.fee_paid_at is not None:  # payments pays a payable once; kept safe all the same
        return app
    paid_at = payable.paid_at or timezone.now()
    note = f"缴费 {payable.paid_total_fen / 100:.2f} 元 fee paid ({payable.paid_channel})"
    if app.state in rules.FINAL_STATES:
        if payable.paid_channel == "counter":
            raise Conflict(
                "applications.fee_not_payable",
                "该申请已撤回、不予受理或已办结，不能再缴费。",
                "This application is withdrawn, rejected or completed; its fee can no longer be paid.",
                detail={"state": app.state},
            )
        note += "；申请已终结，应予退款 application closed: refund due"
        logger.warning("fee of closed application %s paid (%s): refund due", app.number, payable.paid_channel)
        audit_record(
            actor=None, action="change", subject=app, subject_person_id=app.subject_person_id,
            summary=f"已终结申请收到缴费，应退款 {app.number}",
        )  # fmt: skip
    app.fee_paid_at = paid_at
    fields = ["fee_paid_at"]
    if app.state == State.SUBMITTED:
        app.accept_due_on, app.deadline_known = deadlines.accept_due(paid_at)
        fields += ["accept_due_on", "deadline_known"]
    app.save(update_fields=fields)
    _note_step(app, action="fee_paid", at=paid_at, note=note)
    return app


# ---------------------------------------------------------------- postal tracking (issue 13)


def _postal_event_record(event: TrackingEvent, *, source: str) -> str:
    """Record one tracking event once and act on it; the outcome in a word.

    The application row is locked first, so repeated copies of one event arriving together
    are recorded one after another and only the first acts.
    """
    with transaction.atomic():
        app = (
            Application.objects.select_for_update()
            .filter(waybill_number=event.waybill_number)
            .exclude(waybill_number="")
            .order_by("-posted_at", "-pk")
            .first()
        )
        if app is None:
            logger.warning("tracking event %s for unknown waybill %s", event.event_id, event.waybill_number)
            return "unknown_waybill"
        if PostalNotice.objects.filter(event_id=event.event_id).exists():
            return "already_recorded"
        try:
            with transaction.atomic():
                PostalNotice.objects.create(
                    application=app, event_id=event.event_id[:64], waybill_number=event.waybill_number[:40],
                    kind=event.kind, at=event.at, place=event.place[:200], source=source,
                )  # fmt: skip
        except IntegrityError:
            return "already_recorded"
        effect = delivery.tracking_effect(state=app.state, kind=event.kind)
        if effect == delivery.COMPLETE:
            # Completed by the system: _move runs the business's completion with the state.
            changes = {"delivered_at": event.at, "completed_at": _NOW, "delivery_problem": ""}
            _move(app, action=Action.COMPLETE, actor=None, now=timezone.now(), note=f"妥投 delivered {event.place}",
                  changes=changes)  # fmt: skip
            return "completed"
        if effect == delivery.PROBLEM:
            app.delivery_problem = delivery.problem_text(event.kind, event.place)
            app.save(update_fields=["delivery_problem"])
            _note_step(app, action="delivery_problem", at=timezone.now(), note=app.delivery_problem)
            return "problem"
        return "recorded"


def postal_events_record(*, events: list[TrackingEvent], source: str) -> list[str]:
    """Record tracking events (callback or poll); late, repeated or out-of-order ones are harmless."""
    return [_postal_event_record(event, source=source) for event in events]


def postal_callback_receive(*, body: bytes, headers: Any) -> tuple[int, dict[str, str]]:
    """The postal service's signed tracking callback: verified by the adapter, each event once.

    A bad signature is 400 and changes nothing; anything signed is answered SUCCESS, an
    unknown waybill included, so the service stops repeating it.
    """
    try:
        events = get_postal_service().tracking_callback_verify(body, headers)
    except TrackingCallbackInvalid as error:
        logger.warning("postal tracking callback refused: %s", error.code)
        return 400, {"code": "FAIL", "message": error.code}
    postal_events_record(events=events, source=PostalNotice.Source.CALLBACK)
    return 200, {"code": "SUCCESS"}


POLL_AFTER = timedelta(hours=6)
POLL_BATCH = 200


@dataclass(frozen=True)
class PollResult:
    checked: int
    completed: int
    problems: int
    failed: int


def postal_tracking_poll(
    *, now: datetime | None = None, older_than: timedelta = POLL_AFTER, limit: int = POLL_BATCH
) -> PollResult:
    """Ask the postal service for the tracking of applications posted more than ``older_than`` ago
    and still posted, in case a callback was lost (the worker runs it hourly)."""
    now = now or timezone.now()
    numbers = list(
        Application.objects.filter(state=State.POSTED, posted_at__lt=now - older_than)
        .exclude(waybill_number="")
        .order_by("posted_at")
        .values_list("waybill_number", flat=True)[:limit]
    )
    if not numbers:  # nothing to ask about: the postal service need not even be configured
        return PollResult(0, 0, 0, 0)
    service = get_postal_service()
    completed = problems = failed = 0
    for number in numbers:
        try:
            events = service.waybill_track(number)
        except PostalError as error:
            logger.warning("tracking of %s unavailable: %s", number, error.code)
            failed += 1
            continue
        outcomes = postal_events_record(events=events, source=PostalNotice.Source.POLL)
        completed += outcomes.count("completed")
        problems += outcomes.count("problem")
    return PollResult(len(numbers), completed, problems, failed)


# ---------------------------------------------------------------- paper marks (issue 14, E2, B3)
#
# A paper inspection mark asked for with an exempt vehicle's online application (E2, the
# credentials app) or with a passed inspection (the inspections app) becomes an application of
# business E2, worked in the same queue and delivered by post or at the window like any other.
# The other apps announce the request through the outbox; the handlers below open the
# application, once per source (unique ``source_key``), however often the message arrives.
# It opens already accepted: the owner's right to the mark was decided when the electronic
# mark was issued (exempt application) or the inspection passed, so a clerk has nothing to
# check; the timeline shows the system's submission and acceptance.

PAPER_MARK_BUSINESS = "E2"
PAPER_MARK_REQUESTED = "credentials.paper_mark_requested"
PAPER_LABEL_REQUESTED = "inspections.paper_label_requested"


@dataclass(frozen=True)
class PaperMarkInput:
    """What a paper-mark request carries (the payload of both topics)."""

    vehicle_id: int
    owner_user_id: int
    delivery: str
    source: str
    recipient_name: str = ""
    recipient_phone: str = ""
    address_division: str = ""
    address_line: str = ""
    division: str = ""
    credential_id: int | None = None
    paper_request_id: int | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PaperMarkInput:
        def text(name: str) -> str:
            return str(payload.get(name) or "")

        return cls(
            vehicle_id=int(payload["vehicle_id"]), owner_user_id=int(payload["owner_user_id"]),
            delivery=text("delivery"), source=text("source"), recipient_name=text("recipient_name"),
            recipient_phone=text("recipient_phone"), address_division=text("address_division"),
            address_line=text("address_line"), division=text("division"),
            credential_id=payload.get("credential_id"), paper_request_id=payload.get("paper_request_id"),
        )  # fmt: skip


def _paper_delivery(request: PaperMarkInput, *, vehicle: Vehicle, person: Any) -> dict[str, str]:
    """The delivery of a paper mark: what the request says, completed from the registry where a
    field is missing or unusable (a request has no form to send back), else pickup."""
    if request.delivery != Delivery.POST:
        return {"delivery_method": Delivery.PICKUP}
    name = (request.recipient_name or (person.name if person is not None else "")).strip()[:64]
    phone = request.recipient_phone or vehicle.owner_mobile or (person.mobile if person is not None else "")
    try:
        phone = validate_mobile(phone)
    except ValidationFailed:
        phone = ""
    try:
        area = validate_division(request.address_division or vehicle.division)
    except ValidationFailed:
        area = vehicle.division
    line = request.address_line.strip()[:200]
    if not name or not line:
        logger.warning("paper mark %s asked for by post without an address: pickup instead", request.source)
        return {"delivery_method": Delivery.PICKUP}
    return {
        "delivery_method": Delivery.POST, "recipient_name": name, "recipient_phone": phone,
        "address_division": area, "address_line": line,
    }  # fmt: skip


def paper_mark_application_open(*, request: PaperMarkInput) -> Application:
    """Open the paper-mark application (E2) of a request, accepted at once; idempotent on its source.

    The same source again returns the application it opened. While the owner's vehicle has an
    open paper-mark application already, a second request joins it (one mark is made) and that
    one is returned. The vehicle must be the owner's: a request naming someone else's vehicle
    is refused (404) and changes nothing.
    """
    from jiaoguan.accounts.models import User

    source = request.source.strip()[:80]
    if not source:
        raise ValidationFailed(
            "applications.source_required", "缺少申请来源。", "The request names no source.", field="source"
        )
    existing = Application.objects.filter(source_key=source).first()
    if existing is not None:
        return existing
    owner = User.objects.filter(pk=request.owner_user_id).first()
    vehicle = (
        Vehicle.objects.select_related("owner_person").filter(pk=request.vehicle_id).first()
        if owner is not None
        else None
    )
    owned = (
        vehicle is not None
        and owner is not None
        and (
            (vehicle.owner_person_id is not None and vehicle.owner_person_id == owner.person_id)
            or (
                vehicle.owner_organisation_id is not None
                and vehicle.owner_organisation_id == owner.organisation_id
            )
        )
    )
    if not owned or vehicle is None or owner is None:
        raise NotFound("applications.vehicle_not_found", "没有这辆机动车。", "No such vehicle.")
    person = vehicle.owner_person
    cleaned = _paper_delivery(request, vehicle=vehicle, person=person)
    division = request.division or vehicle.division
    now = timezone.now()
    particulars: dict[str, Any] = {"source": source}
    if request.credential_id is not None:
        particulars["credential_id"] = int(request.credential_id)
    if request.paper_request_id is not None:
        particulars["paper_request_id"] = int(request.paper_request_id)
    with transaction.atomic():
        open_ones = Application.objects.filter(
            applicant_id=owner.pk, business_code=PAPER_MARK_BUSINESS, subject_person_id=vehicle.owner_person_id,
            vehicle=vehicle, state__in=sorted(rules.OPEN_STATES),
        )  # fmt: skip
        joined = open_ones.first()
        if joined is not None:
            logger.info("paper mark %s joins the open application %s", source, joined.number)
            return joined
        try:
            with transaction.atomic():
                app = Application.objects.create(
                    number=_next_number(division=division, day=timezone.localdate(now)),
                    business_code=PAPER_MARK_BUSINESS, applicant=owner, subject_person_id=vehicle.owner_person_id,
                    vehicle=vehicle, source_key=source, division=division, state=State.SUBMITTED,
                    # Accepted on the day it opens: its acceptance is due (and met) today.
                    particulars=particulars, fee_fen=0, accept_due_on=timezone.localdate(now), deadline_known=True,
                    submitted_at=now, **cleaned,
                )  # fmt: skip
        except IntegrityError:
            # The same request delivered twice at once: the first one's application stands.
            found = Application.objects.filter(source_key=source).first() or open_ones.first()
            if found is not None:
                return found
            raise
        event = ApplicationEvent.objects.create(
            application=app, from_state="", to_state=app.state, action="submit", actor=None, at=now,
            note="纸质检验合格标志 paper inspection mark",
        )  # fmt: skip
        _announce(app, event)
        _move(app, action=Action.ACCEPT, actor=None, now=now, changes={"accepted_at": _NOW})
        audit_record(
            actor=None, action="change", subject=app, subject_person_id=app.subject_person_id,
            summary=f"纸质检验合格标志申请（自动受理） {app.number} {source}",
        )  # fmt: skip
    return app


@outbox_handler(PAPER_MARK_REQUESTED)
def _paper_mark_requested(payload: dict[str, Any], dedup_key: str) -> None:
    # An exempt vehicle's owner asked for the paper mark with the online application (E2).
    paper_mark_application_open(request=PaperMarkInput.from_payload(payload))


@outbox_handler(PAPER_LABEL_REQUESTED)
def _paper_label_requested(payload: dict[str, Any], dedup_key: str) -> None:
    # A passed inspection came with a request for the paper label (the inspections app).
    payload = dict(payload)
    payload.setdefault("source", f"inspections:{dedup_key}")
    paper_mark_application_open(request=PaperMarkInput.from_payload(payload))


def paper_mark_requests_open(*, limit: int | None = None) -> tuple[int, int]:
    """Open the applications of stored paper-mark requests not sent yet (those made before the
    engine took them over); (opened now, already open). Idempotent: run it again and it opens none."""
    from jiaoguan.accounts.models import User
    from jiaoguan.credentials import selectors as credential_selectors
    from jiaoguan.credentials.services import paper_mark_request_payload

    opened = already = 0
    for paper in credential_selectors.paper_mark_requests_unsent()[:limit]:
        vehicle = paper.credential.vehicle
        if vehicle is None or vehicle.owner_person_id is None:
            continue
        source = paper_mark_request_payload(paper, vehicle=vehicle, owner_user_id=0)["source"]
        if Application.objects.filter(source_key=source).exists():
            already += 1
            continue
        owner = User.objects.filter(person_id=vehicle.owner_person_id).order_by("pk").first()
        if owner is None:
            logger.warning("paper mark request %s: the owner has no account, left for the counter", paper.pk)
            continue
        payload = paper_mark_request_payload(paper, vehicle=vehicle, owner_user_id=owner.pk)
        paper_mark_application_open(request=PaperMarkInput.from_payload(payload))
        opened += 1
    return opened, already
