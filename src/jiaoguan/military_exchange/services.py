"""State changes of military licence exchanges (退役军人换证, O3): access checked first, one
transaction each, audited, the applicant told by SMS of every decision.

The military registry is asked before the transaction opens (a slow registry holds no lock); its
answer is recorded with the case. When it cannot answer, nothing is saved and the applicant is told
to try again later.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, NotFound, Unavailable, ValidationFailed
from jiaoguan.core.outbox import outbox_enqueue
from jiaoguan.integrations.military_licence import (
    MilitaryLicenceRefused,
    MilitaryLicenceUnavailable,
    get_military_licence_service,
)
from jiaoguan.registry import military_exchange as registry_exchange
from jiaoguan.registry import military_licence_rules as mrules
from jiaoguan.registry.models import DrivingLicence, Person

from . import rules
from .models import ExchangeCase

APPLY = "military_exchange.own.apply"
HANDLE = "military_exchange.case.handle"
SUSPECT = "military_exchange.suspect.review"


def _not_found() -> NotFound:
    return NotFound("military_exchange.not_found", "没有这项换证申请。", "No such exchange case.")


def _one_open() -> Conflict:
    return Conflict(
        "military_exchange.one_open",
        "您已有一项正在办理的换证申请，请等待办结。",
        "You already have an exchange case in progress; wait for it to be decided.",
    )


def _wrong_state() -> Conflict:
    return Conflict(
        "military_exchange.state",
        "该申请当前状态不能办理此操作。",
        "The case is not in a state that allows this.",
    )


def _input_error(error: rules.InputError) -> ValidationFailed:
    return ValidationFailed(error.code, error.zh, error.en, field=error.field)


def _sms(case: ExchangeCase, text: str, step: str) -> None:
    mobile = case.person.mobile
    if mobile:
        outbox_enqueue(
            topic="sms.send",
            payload={"mobile": mobile, "text": text},
            dedup_key=f"military-exchange-{case.pk}-{step}",
        )


# ---------------------------------------------------------------- the veteran applies online


def case_apply(
    *,
    actor: Any,
    military_number: str,
    classes: str,
    first_issued_on: date | None,
    added: list[tuple[str, date | None]] | None = None,
    exchanged_before: bool = False,
    earlier_exchanged_on: date | None = None,
    today: date | None = None,
) -> ExchangeCase:
    """Apply to exchange my military licence (O3): checked online at once; a pass waits for the
    counter, a fail goes to the suspect review. Refused, with nothing saved: bad input, an earlier
    exchange that cannot take the remark (licence.military.*), a second open case, the registry
    unavailable (503 ``military_exchange.check_unavailable``)."""
    require(actor, APPLY)
    today = today or timezone.localdate()
    person_id = getattr(actor, "person_id", None)
    person = Person.objects.filter(pk=person_id).first() if person_id is not None else None
    if person is None:
        raise ValidationFailed(
            "military_exchange.no_person",
            "请先完成实名认证，再申请换证。",
            "Complete your identity verification before applying.",
        )
    try:
        number = rules.clean_number(military_number)
        classes = rules.clean_classes(classes)
        first = rules.clean_day(first_issued_on, field="first_issued_on", today=today)
        added_rows = rules.clean_added(list(added or []), first_issued_on=first, today=today)
        earlier = (
            rules.clean_day(earlier_exchanged_on, field="earlier_exchanged_on", today=today)
            if exchanged_before
            else None
        )
    except rules.InputError as error:
        raise _input_error(error) from None
    licence = DrivingLicence.objects.filter(holder_id=person.pk).first()
    if exchanged_before and licence is None:
        raise ValidationFailed(
            "military_exchange.no_licence",
            "没有找到您已换领的地方驾驶证。",
            "No civilian licence of yours was found.",
            field="exchanged_before",
        )
    path = rules.path_for(earlier_exchanged_on=earlier, military_number=number, today=today)
    if isinstance(path, mrules.Refusal):
        raise Conflict(path.code, path.zh, path.en)
    require(actor, APPLY, owner_person_id=person.pk)
    if ExchangeCase.objects.filter(person=person, state__in=ExchangeCase.OPEN_STATES).exists():
        raise _one_open()
    reference = f"MX-{secrets.token_hex(8)}"
    try:
        check = get_military_licence_service().check(
            number=number, id_number=person.id_number, name=person.name, request_id=reference
        )
    except (MilitaryLicenceUnavailable, MilitaryLicenceRefused):
        # A refusal of the question itself is no answer either: nothing may be concluded.
        raise Unavailable(
            "military_exchange.check_unavailable",
            "军队驾驶证信息核查系统暂时无法连接，申请未提交，请稍后再试。",
            "The military licence registry cannot be reached; nothing was submitted. Try again later.",
        ) from None
    found = check.licence if check.passed else None
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()
        if ExchangeCase.objects.filter(person=person, state__in=ExchangeCase.OPEN_STATES).exists():
            raise _one_open()
        case = ExchangeCase(
            applicant=actor, person=person, military_number=number, classes=classes,
            claimed_first_issued_on=first, added=added_rows, exchanged_before=exchanged_before,
            earlier_exchanged_on=earlier, licence=licence, path=str(path),
            division=licence.division if licence is not None else person.residence_division,
            check_outcome=ExchangeCase.Check.PASSED if check.passed else ExchangeCase.Check.NOT_PASSED,
            check_reason=check.reason[:24], check_reference=reference,
            registry_first_issued_on=found.first_issued_on if found else None,
            registry_classes=found.classes if found else "",
            registry_added=[[c, d.isoformat()] for c, d in found.added] if found else [],
            state=ExchangeCase.State.AWAITING_ACCEPTANCE if check.passed else ExchangeCase.State.SUSPECT_REVIEW,
            submitted_at=timezone.now(),
        )  # fmt: skip
        try:
            with transaction.atomic():
                case.save()
        except IntegrityError:
            raise _one_open() from None
    return case


# ---------------------------------------------------------------- the counter


def _locked(case_id: int) -> ExchangeCase:
    case = ExchangeCase.objects.select_for_update().select_related("person").filter(pk=case_id).first()
    if case is None:
        raise _not_found()
    return case


def _facts(case: ExchangeCase) -> tuple[date, str, list[list[str]]]:
    """The military first issue, classes and added classes the exchange uses: the registry's when
    the check found the licence, what was declared when the head of the unit cleared the case."""
    if case.registry_first_issued_on is not None:
        return case.registry_first_issued_on, case.registry_classes or case.classes, list(case.registry_added)
    return case.claimed_first_issued_on, case.classes, list(case.added)


def case_accept(*, actor: Any, case_id: int, today: date | None = None, request: Any = None) -> ExchangeCase:
    """Accept a case whose check passed (or was cleared) and complete it (O3): REISSUE issues or
    replaces the civilian licence with the continuous driving age, RECORD_ONLY notes it in the
    driving record. The exchange day is today."""
    require(actor, HANDLE)
    today = today or timezone.localdate()
    with transaction.atomic():
        case = _locked(case_id)
        require(actor, HANDLE, division=case.division)
        if case.state != ExchangeCase.State.AWAITING_ACCEPTANCE:
            raise _wrong_state()
        first, classes, added = _facts(case)
        if case.path == ExchangeCase.Path.RECORD_ONLY:
            licence = (
                DrivingLicence.objects.filter(pk=case.licence_id).first()
                if case.licence_id is not None
                else None
            )
            if licence is None:
                raise _wrong_state()
            registry_exchange.exchange_record_only(
                actor=actor, licence_id=licence.pk, military_number=case.military_number,
                military_first_issued_on=first, classes=classes, added=added, recorded_on=today,
            )  # fmt: skip
        else:
            licence = registry_exchange.exchange_reissue(
                actor=actor, person_id=case.person_id, military_number=case.military_number,
                military_first_issued_on=first, classes=classes, added=added, exchanged_on=today,
                division=case.division,
            )  # fmt: skip
        case.licence = licence
        case.state = ExchangeCase.State.COMPLETED
        case.decided_at = timezone.now()
        case.decided_by = actor
        case.exchanged_on = today
        case.save(update_fields=["licence", "state", "decided_at", "decided_by", "exchanged_on"])
        audit_record(
            actor=actor, action="change", subject=case, subject_person_id=case.person_id,
            summary=f"受理办结军队驾驶证换证 military exchange accepted MX{case.pk} {case.path}", request=request,
        )  # fmt: skip
        if case.path == ExchangeCase.Path.RECORD_ONLY:
            text = "【交管12123】您的军队驾龄备注申请已办结，原军队驾驶证信息已备注在交通安全驾驶记录中。"
        else:
            text = (
                f"【交管12123】您的军队驾驶证换证申请已办结，地方驾驶证初次领证日期为"
                f"{licence.first_issued_on.isoformat()}，有效期六年。"
            )
        _sms(case, text, "completed")
    return case


def suspect_clear(*, actor: Any, case_id: int, reason: str, request: Any = None) -> ExchangeCase:
    """The head of the unit clears a suspect case after checking it (嫌疑业务核查): it then waits
    for acceptance like a case that passed. A reason is required."""
    require(actor, SUSPECT)
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationFailed(
            "military_exchange.reason_required", "请填写核查意见。", "Give the reason.", field="reason"
        )
    with transaction.atomic():
        case = _locked(case_id)
        require(actor, SUSPECT, division=case.division)
        if case.state != ExchangeCase.State.SUSPECT_REVIEW:
            raise _wrong_state()
        case.state = ExchangeCase.State.AWAITING_ACCEPTANCE
        case.reviewed_at = timezone.now()
        case.reviewed_by = actor
        case.review_reason = reason
        case.save(update_fields=["state", "reviewed_at", "reviewed_by", "review_reason"])
        audit_record(
            actor=actor, action="change", subject=case, subject_person_id=case.person_id,
            summary=f"换证嫌疑业务核查通过 suspect exchange cleared MX{case.pk}", reason=reason, request=request,
        )  # fmt: skip
        _sms(case, "【交管12123】您的军队驾驶证换证申请已核查通过，请等待车管所受理。", "cleared")
    return case


def _reject(
    *, actor: Any, case_id: int, reason: str, action: str, from_state: str, request: Any = None
) -> ExchangeCase:
    require(actor, action)
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationFailed(
            "military_exchange.reason_required", "请填写不予办理的原因。", "Give the reason.", field="reason"
        )
    with transaction.atomic():
        case = _locked(case_id)
        require(actor, action, division=case.division)
        if case.state != from_state:
            raise _wrong_state()
        case.state = ExchangeCase.State.REJECTED
        case.decided_at = timezone.now()
        case.decided_by = actor
        case.reject_reason = reason
        case.save(update_fields=["state", "decided_at", "decided_by", "reject_reason"])
        audit_record(
            actor=actor, action="change", subject=case, subject_person_id=case.person_id,
            summary=f"军队驾驶证换证不予办理 military exchange rejected MX{case.pk}", reason=reason, request=request,
        )  # fmt: skip
        _sms(case, f"【交管12123】您的军队驾驶证换证申请未通过：{reason}", "rejected")
    return case


def case_reject(*, actor: Any, case_id: int, reason: str, request: Any = None) -> ExchangeCase:
    """The counter rejects a case awaiting acceptance, with the reason (told to the applicant)."""
    return _reject(
        actor=actor, case_id=case_id, reason=reason, action=HANDLE,
        from_state=ExchangeCase.State.AWAITING_ACCEPTANCE, request=request,
    )  # fmt: skip


def suspect_reject(*, actor: Any, case_id: int, reason: str, request: Any = None) -> ExchangeCase:
    """The head of the unit rejects a suspect case after checking it, with the reason."""
    return _reject(
        actor=actor, case_id=case_id, reason=reason, action=SUSPECT,
        from_state=ExchangeCase.State.SUSPECT_REVIEW, request=request,
    )  # fmt: skip
