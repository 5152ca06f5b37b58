"""State changes of the overseas relief (出国（境）人员恢复驾驶资格, O4; seed 004 §八 二).

Each use case checks access first, then works in one transaction: lock, re-check, change, audit,
outbox. The exit and entry records are read before the transaction (an outside call must not
hold a lock). Lock order: the licence (registry), then the case.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.core.access import can, require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, Unavailable, ValidationFailed
from jiaoguan.core.outbox import outbox_enqueue
from jiaoguan.core.uploads import check_upload
from jiaoguan.exams.selectors import subject_passed_on
from jiaoguan.integrations.exit_entry import (
    ExitEntryRefused,
    ExitEntryUnavailable,
    Movement,
    abroad_on,
    first_return_after,
    get_exit_entry_service,
)
from jiaoguan.registry import overseas_relief_rules as rules
from jiaoguan.registry.models import DrivingLicence
from jiaoguan.registry.overseas_relief import licence_relief_restore, relief_cause
from jiaoguan.registry.rules import add_years

from .models import CERTIFICATE_MAX_BYTES, ReliefCase
from .selectors import ACCEPT, APPLY, APPROVE, VIEW

logger = logging.getLogger(__name__)


CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}
# How far back the records are read: the last crossing before the cancellation decides whether the
# driver was abroad then, and people stayed abroad for years.
RECORDS_YEARS = 10
SUBJECT_1 = 1
# Refusals the licence record alone decides, before the exit and entry records are read.
_LICENCE_REFUSALS = frozenset({"licence.relief.status", "licence.relief.cause", "licence.relief.period"})


@dataclass(frozen=True)
class Certificate:
    """The uploaded physical-condition certificate (身体条件证明): its bytes and the browser's name."""

    content: bytes
    filename: str = ""


def _not_found() -> NotFound:
    return NotFound(
        "overseas_relief.not_found", "没有这项恢复驾驶资格申请。", "No such overseas relief case."
    )


def _refused(refusal: rules.Refusal) -> Conflict:
    return Conflict(refusal.code, refusal.zh, refusal.en)


def _sms(*, mobile: str, text: str, key: str) -> None:
    if mobile:
        outbox_enqueue(topic="sms.send", payload={"mobile": mobile, "text": text}, dedup_key=key)


def _own_licence(actor: Any) -> DrivingLicence:
    licence = DrivingLicence.objects.select_related("holder").filter(holder_id=actor.person_id).first()
    if licence is None:
        raise NotFound("overseas_relief.no_licence", "您名下没有驾驶证。", "You hold no driving licence.")
    return licence


def _cancelled(licence: DrivingLicence) -> str:
    """R or G, whichever the licence holds, or the whole status when neither (the rule refuses it)."""
    for code in ("R", "G"):
        if code in (licence.status or ""):
            return code
    return licence.status or "A"


def _read_movements(*, id_number: str, since: date) -> list[Movement]:
    started = time.monotonic()
    request_id = uuid.uuid4().hex
    try:
        found = get_exit_entry_service().movements(id_number=id_number, since=since, request_id=request_id)
    except (ExitEntryUnavailable, ExitEntryRefused):
        # A refusal of the question itself is no answer either: nothing may be concluded.
        logger.warning(
            "exit-entry records unavailable request=%s after %.0f ms",
            request_id, (time.monotonic() - started) * 1000,
        )  # fmt: skip
        raise Unavailable(
            "overseas_relief.records_unavailable",
            "暂时无法核查出入境记录，申请未提交，请稍后再试。",
            "The exit and entry records cannot be checked now; nothing was submitted. Please try again later.",
        ) from None
    logger.info(
        "exit-entry records read request=%s movements=%d in %.0f ms",
        request_id, len(found), (time.monotonic() - started) * 1000,
    )  # fmt: skip
    return found


def relief_check(
    *, licence: DrivingLicence, movements: list[Movement], today: date
) -> rules.Restoration | rules.Refusal:
    """What the rules say of this licence and these crossings today (O4)."""
    cancelled_on = licence.cancelled_on
    if cancelled_on is None:
        return rules.Refusal(
            "licence.relief.status",
            "救济措施只适用于状态为“注销可恢复”或“注销”的驾驶证。",
            "The relief is only for licences whose status is cancelled, restorable (R) or cancelled (G).",
        )
    return rules.restoration(
        status=_cancelled(licence), cause=relief_cause(licence), cancelled_on=cancelled_on,
        abroad_when_cancelled=abroad_on(movements, cancelled_on),
        first_return_on=first_return_after(movements, cancelled_on), today=today,
    )  # fmt: skip


def case_apply(*, actor: Any, certificate: Certificate, today: date | None = None) -> ReliefCase:
    """The driver applies to restore their licence cancelled while abroad (O4).

    The records are read first, outside the transaction; unavailable records save nothing. The
    licence must be R or G, cancelled for an overdue renewal or review between 2020-01-01 and
    2021-12-31 while the driver was abroad, and today within 6 months of the first return
    (counted from 2021-06-01 for earlier returns). R is restored directly after the two reviews,
    G once subject 1 is passed after the cancellation; the case says which.
    """
    require(actor, APPLY)
    today = today or timezone.localdate()
    licence = _own_licence(actor)
    require(actor, APPLY, owner_person_id=licence.holder_id)
    sniffed = check_upload(certificate.content, name=certificate.filename, max_bytes=CERTIFICATE_MAX_BYTES)
    # Quick answers before the outside call (the licence alone decides them); the transaction
    # re-checks everything on the locked licence.
    early = relief_check(licence=licence, movements=[], today=today)
    if isinstance(early, rules.Refusal) and early.code in _LICENCE_REFUSALS:
        raise _refused(early)
    if ReliefCase.objects.filter(licence=licence, state__in=ReliefCase.OPEN_STATES).exists():
        raise _open_case()
    since = add_years(licence.cancelled_on or today, -RECORDS_YEARS)
    movements = _read_movements(id_number=licence.holder.id_number, since=since)
    now = timezone.now()
    try:
        with transaction.atomic():
            licence = DrivingLicence.objects.select_for_update().select_related("holder").get(pk=licence.pk)
            decision = relief_check(licence=licence, movements=movements, today=today)
            if isinstance(decision, rules.Refusal):
                raise _refused(decision)
            assert licence.cancelled_on is not None
            if ReliefCase.objects.filter(licence=licence, state__in=ReliefCase.OPEN_STATES).exists():
                raise _open_case()
            passed = None
            if decision.path is rules.Path.AFTER_SUBJECT_1:
                passed = subject_passed_on(
                    person_id=licence.holder_id, subject=SUBJECT_1, since=licence.cancelled_on
                )
            first_return = first_return_after(movements, licence.cancelled_on)
            assert first_return is not None
            case = ReliefCase.objects.create(
                applicant=actor, person=licence.holder, licence=licence, division=licence.division,
                status_at_application=licence.status, cancelled_on=licence.cancelled_on,
                cause=str(relief_cause(licence)), first_return_on=first_return, apply_by=decision.apply_by,
                path=decision.path.value,
                movements=[{"kind": m.kind, "on": m.on.isoformat(), "port": m.port} for m in movements],
                certificate=certificate.content, certificate_type=CONTENT_TYPES[sniffed],
                certificate_size=len(certificate.content),
                certificate_sha256=hashlib.sha256(certificate.content).hexdigest(),
                subject_1_passed_on=passed, submitted_at=now,
            )  # fmt: skip
            audit_record(
                actor=actor, action="create", subject=case, subject_person_id=licence.holder_id,
                summary=f"申请恢复驾驶资格 {case.number} {decision.path.value} apply_by={decision.apply_by:%Y-%m-%d}",
            )  # fmt: skip
    except IntegrityError:
        raise _open_case() from None
    return case


def _open_case() -> Conflict:
    return Conflict(
        "overseas_relief.open_case",
        "这本驾驶证已有一项正在办理的恢复驾驶资格申请。",
        "This licence already has an overseas relief case in progress.",
    )


def _locked_case(*, actor: Any, action: str, case_id: int) -> ReliefCase:
    case = ReliefCase.objects.select_for_update().select_related("person").filter(pk=case_id).first()
    if case is None:
        raise _not_found()
    require(actor, action, division=case.division)
    return case


def _moved(case: ReliefCase) -> Conflict:
    return Conflict(
        "overseas_relief.state",
        "该申请已被处理，请刷新后查看。",
        "The case has already been dealt with; reload it.",
        detail={"state": case.state},
    )


def _subject_1(case: ReliefCase) -> date | None:
    if case.path != ReliefCase.Path.AFTER_SUBJECT_1:
        return None
    return case.subject_1_passed_on or subject_passed_on(
        person_id=case.person_id, subject=SUBJECT_1, since=case.cancelled_on
    )


def case_accept(*, actor: Any, case_id: int, request: Any = None) -> ReliefCase:
    """业务受理岗 accepts a case after reviewing the certificate, the licence and the crossings
    (seed §八 二 4); it then waits for the head of the unit. The driver is told by SMS."""
    require(actor, ACCEPT)
    with transaction.atomic():
        case = _locked_case(actor=actor, action=ACCEPT, case_id=case_id)
        if case.state != ReliefCase.State.SUBMITTED:
            raise _moved(case)
        case.state = ReliefCase.State.ACCEPTED
        case.accepted_by = actor
        case.accepted_at = timezone.now()
        case.save(update_fields=["state", "accepted_by", "accepted_at"])
        audit_record(
            actor=actor, action="change", subject=case, subject_person_id=case.person_id,
            summary=f"受理恢复驾驶资格 {case.number}", request=request,
        )  # fmt: skip
        _sms(
            mobile=case.person.mobile,
            text=f"【交管】您的恢复驾驶资格申请{case.number}已受理，待部门负责人复核。",
            key=f"overseas-relief-{case.pk}-accepted",
        )
    return case


def case_approve(*, actor: Any, case_id: int, today: date | None = None, request: Any = None) -> ReliefCase:
    """The head of the unit approves an accepted case (部门负责人复核, seed §八 二 5) and the licence
    is restored in the same transaction. Not the clerk who accepted it (four eyes); a G licence
    only once subject 1 is passed. The driver is told by SMS."""
    require(actor, APPROVE)
    today = today or timezone.localdate()
    with transaction.atomic():
        # Lock order: the licence, then the case.
        peek = ReliefCase.objects.filter(pk=case_id).values_list("licence_id", flat=True).first()
        if peek is None:
            raise _not_found()
        DrivingLicence.objects.select_for_update().filter(pk=peek).first()
        case = _locked_case(actor=actor, action=APPROVE, case_id=case_id)
        if case.state != ReliefCase.State.ACCEPTED:
            raise _moved(case)
        if case.accepted_by_id == actor.pk:
            raise Conflict(
                "overseas_relief.four_eyes",
                "受理该申请的人员不能复核同一申请，须由部门负责人另行复核。",
                "Whoever accepted the case may not approve it: another person (the head of the unit) must.",
            )
        passed = _subject_1(case)
        if case.path == ReliefCase.Path.AFTER_SUBJECT_1 and passed is None:
            raise Conflict(
                "overseas_relief.subject_1_pending",
                "科目一考试合格后予以恢复：尚未查到该驾驶人注销后科目一考试合格的记录。",
                "Restored after subject 1 is passed: no subject 1 pass after the cancellation is on record yet.",
            )
        licence_relief_restore(actor=actor, licence_id=case.licence_id, today=today, reference=case.number)
        case.state = ReliefCase.State.RESTORED
        case.approved_by = actor
        case.approved_at = timezone.now()
        case.subject_1_passed_on = passed
        case.save(update_fields=["state", "approved_by", "approved_at", "subject_1_passed_on"])
        audit_record(
            actor=actor, action="change", subject=case, subject_person_id=case.person_id,
            summary=f"复核同意恢复驾驶资格 {case.number}", request=request,
        )  # fmt: skip
        _sms(
            mobile=case.person.mobile,
            text=f"【交管】您的驾驶证已恢复驾驶资格（申请{case.number}），可在“我的驾驶证”中查看。",
            key=f"overseas-relief-{case.pk}-restored",
        )
    return case


def case_reject(*, actor: Any, case_id: int, reason: str, request: Any = None) -> ReliefCase:
    """Reject a case with the reason: the clerk while it is submitted, the head while it is accepted.
    The licence stays as it was; the driver is told by SMS."""
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationFailed(
            "overseas_relief.reason_required", "请填写不予恢复的原因。", "Give the reason for the rejection.",
            field="reason",
        )  # fmt: skip
    if not (can(actor, ACCEPT) or can(actor, APPROVE)):
        require(actor, ACCEPT)
    with transaction.atomic():
        case = ReliefCase.objects.select_for_update().select_related("person").filter(pk=case_id).first()
        if case is None:
            raise _not_found()
        action = ACCEPT if case.state == ReliefCase.State.SUBMITTED else APPROVE
        require(actor, action, division=case.division)
        if case.state not in ReliefCase.OPEN_STATES:
            raise _moved(case)
        case.state = ReliefCase.State.REJECTED
        case.rejected_by = actor
        case.rejected_at = timezone.now()
        case.reject_reason = reason
        case.save(update_fields=["state", "rejected_by", "rejected_at", "reject_reason"])
        audit_record(
            actor=actor, action="change", subject=case, subject_person_id=case.person_id,
            summary=f"不予恢复驾驶资格 {case.number}", reason=reason, request=request,
        )  # fmt: skip
        _sms(
            mobile=case.person.mobile,
            text=f"【交管】您的恢复驾驶资格申请{case.number}未通过审核：{reason}",
            key=f"overseas-relief-{case.pk}-rejected",
        )
    return case


def case_for_staff(*, actor: Any, case_id: int, request: Any = None) -> ReliefCase:
    """A case of the actor's jurisdiction opened by a clerk or head; the read is audited."""
    require(actor, VIEW)
    case = (
        ReliefCase.objects.select_related("person", "licence", "accepted_by", "approved_by")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise _not_found()
    try:
        require(actor, VIEW, division=case.division)
    except NotAllowed:
        raise _not_found() from None
    audit_record(
        actor=actor, action="view", subject=case, subject_person_id=case.person_id,
        summary=f"查看恢复驾驶资格申请 {case.number}", request=request,
    )  # fmt: skip
    return case


def subject_1_on(case: ReliefCase) -> date | None:
    """The subject 1 pass that lets a G licence be restored (None for the direct path or none yet)."""
    return _subject_1(case)
