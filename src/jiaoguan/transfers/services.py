"""State changes of the cross-region used-car transfer (二手车异地交易登记, T1-T5; seed 004 §二).

Destination (转入地): the buyer applies, the archive is fetched from the origin, a clerk inspects
the car once and registers it. Registering is three steps so that nothing is lost and nothing is
registered twice: (1) the transfer is stored as "awaiting the origin" with all its data; (2) the
origin is told to close its record (idempotent by the transfer's number); (3) only on the origin's
answer the car is entered in this registry for the buyer. An origin that does not answer leaves
the transfer waiting; the worker asks again until it does.

Origin (转出地): answers a peer's signed messages: locks the car and sends the signed archive,
closes the record, takes an archive back for a suspect vehicle. Outside calls never hold a lock.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, DomainError, NotFound, Unavailable, ValidationFailed
from jiaoguan.core.identifiers import parse_plate, validate_citizen_id, validate_uscc, validate_vin
from jiaoguan.core.outbox import outbox_enqueue
from jiaoguan.core.uploads import check_upload
from jiaoguan.core.workdays import add_working_days
from jiaoguan.integrations import inter_dmv
from jiaoguan.integrations.inter_dmv import InterDmvRefused, InterDmvUnavailable
from jiaoguan.registry import cross_region
from jiaoguan.registry.models import Person, Vehicle

from . import rules
from .models import INSPECTION_PHOTO_MAX_BYTES, OriginRelease, Problem, Transfer
from .selectors import APPLY, PROBLEM, REGISTER, RETURN, VIEW

logger = logging.getLogger(__name__)
S = Transfer.State


def _today() -> date:
    return timezone.localdate()


def _conflict(refusal: rules.Refusal) -> Conflict:
    return Conflict(refusal.code, refusal.zh, refusal.en)


def _not_found() -> NotFound:
    return NotFound("transfers.not_found", "没有这项转移登记。", "No such cross-region transfer.")


def _origin_unreachable() -> Unavailable:
    return Unavailable(
        "transfers.origin_unavailable", "暂时无法联系转出地车辆管理所，请稍后再试；未作任何更改。",
        "The origin DMV cannot be reached just now; nothing was changed. Please try again later.",
    )  # fmt: skip


def _sms(*, mobile: str, text: str, key: str) -> None:
    if mobile:
        outbox_enqueue(topic="sms.send", payload={"mobile": mobile, "text": text}, dedup_key=key)


# ---------------------------------------------------------------- destination: the buyer applies


def _clean_application(data: dict[str, Any], *, today: date) -> dict[str, Any]:
    plate = parse_plate(str(data.get("plate_number", "")))
    plate_type = str(data.get("plate_type", "")).strip()
    refused = rules.plate_type_check(plate_type)
    if refused is not None:
        raise _conflict(refused)
    vin = validate_vin(str(data.get("vin", "")))
    origin = str(data.get("origin_city", "")).strip()
    if not (len(origin) == 6 and origin.isdigit()):
        raise ValidationFailed(
            "transfers.origin_city", "请填写转出地的六位行政区划代码。",
            "Enter the six-digit division code of the origin city.", field="origin_city",
        )  # fmt: skip
    seller = validate_citizen_id(str(data.get("seller_id_number", ""))).number
    agent = str(data.get("agent_uscc", "") or "").strip()
    if agent:
        agent = validate_uscc(agent)
    invoice_number = str(data.get("invoice_number", "")).strip()
    if not invoice_number or len(invoice_number) > 20:
        raise ValidationFailed(
            "transfers.invoice_number", "请填写二手车销售统一发票号码（不超过20位）。",
            "Enter the used-car sale invoice number (at most 20 characters).", field="invoice_number",
        )  # fmt: skip
    invoice_date = data.get("invoice_date")
    if isinstance(invoice_date, str):
        try:
            invoice_date = date.fromisoformat(invoice_date)
        except ValueError:
            invoice_date = None
    if not isinstance(invoice_date, date) or invoice_date > today:
        raise ValidationFailed(
            "transfers.invoice_date", "开票日期无效或晚于今天。",
            "The invoice date is missing, not a date or later than today.", field="invoice_date",
        )  # fmt: skip
    trade_place = str(data.get("trade_place", ""))
    if trade_place not in Transfer.TradePlace.values:
        raise ValidationFailed(
            "transfers.trade_place", "请选择交易地：转出地或转入地。",
            "Choose where the car was traded: at the origin or at the destination.", field="trade_place",
        )  # fmt: skip
    return {
        "plate_number": plate.number, "plate_type": plate_type, "vin": vin, "origin_city": origin,
        "seller_id_number": seller, "agent_uscc": agent, "invoice_number": invoice_number,
        "invoice_date": invoice_date, "trade_place": trade_place,
    }  # fmt: skip


def _new_number() -> str:
    return f"{inter_dmv.own_city()}{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


def transfer_apply(*, actor: Any, data: dict[str, Any], today: date | None = None) -> Transfer:
    """The buyer applies at the destination (T2) and the origin is asked for the archive at once.

    Refused with nothing saved: bad input, a large or operating car (T1), a city not yet in the
    rollout (T5), an origin we have no channel with, another open transfer of the same car. A
    refusal of the origin (not the owner, operating vehicle, locked ...) or a package whose
    signature fails is recorded on the transfer and raised. An origin that does not answer
    leaves the transfer waiting for its archive; the worker asks again.
    """
    require(actor, APPLY, owner_person_id=getattr(actor, "person_id", None))
    today = today or _today()
    person_id = getattr(actor, "person_id", None)
    person = Person.objects.filter(pk=person_id).first() if person_id else None
    if person is None:
        raise Conflict(
            "transfers.no_person", "请先完成实名认证。", "Complete your real-name registration first."
        )
    values = _clean_application(data, today=today)
    here = inter_dmv.own_city()
    refused = rules.rollout_check(origin=values["origin_city"], destination=here, on=today)
    if refused is not None:
        raise _conflict(refused)
    if inter_dmv.peer(rules.city_of(values["origin_city"])) is None:
        raise Conflict(
            "transfers.origin_not_connected", "本所尚未与该转出地车辆管理所联网，暂不能办理。",
            "This DMV has no channel with the origin DMV yet, so the transfer cannot be made here.",
        )  # fmt: skip
    values["origin_city"] = rules.city_of(values["origin_city"])
    try:
        with transaction.atomic():
            transfer = Transfer.objects.create(
                **values, number=_new_number(), applicant=actor, buyer=person, division=here
            )
            audit_record(
                actor=actor, action="create", subject=transfer, subject_person_id=person.pk,
                summary="申请跨辖区转移登记 cross-region transfer applied",
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(
            "transfers.already_open", "这辆车已有一项正在办理的转移登记。",
            "A transfer of this car is already under way.", field="vin",
        ) from None  # fmt: skip
    archive_fetch(transfer_id=transfer.pk)
    transfer.refresh_from_db()
    if transfer.state == S.REFUSED:
        raise Conflict(transfer.refusal_code, transfer.refusal_zh, transfer.refusal_en)
    return transfer


def _refuse(transfer_id: int, code: str, zh: str, en: str) -> None:
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if transfer.state != S.REQUESTED:
            return
        transfer.state = S.REFUSED
        transfer.refusal_code, transfer.refusal_zh, transfer.refusal_en = code[:64], zh[:200], en[:300]
        transfer.save(update_fields=["state", "refusal_code", "refusal_zh", "refusal_en"])


def _failed(transfer_id: int, error: Exception) -> None:
    Transfer.objects.filter(pk=transfer_id).update(last_error=str(error)[:300])


def archive_fetch(*, transfer_id: int) -> Transfer:
    """Ask the origin for the archive of a waiting transfer and check what comes back (T3)."""
    transfer = Transfer.objects.get(pk=transfer_id)
    if transfer.state != S.REQUESTED:
        return transfer
    Transfer.objects.filter(pk=transfer_id).update(attempts=transfer.attempts + 1)
    payload = {
        "reference": transfer.number, "vin": transfer.vin, "plate_number": transfer.plate_number,
        "plate_type": transfer.plate_type, "seller_id_number": transfer.seller_id_number,
        "trade_place": transfer.trade_place,
    }  # fmt: skip
    try:
        answer = inter_dmv.get_inter_dmv(transfer.origin_city).post(
            "archive-requests", payload, reference=transfer.number
        )
    except InterDmvRefused as refused:
        _refuse(transfer_id, refused.code, refused.message_zh or str(refused), str(refused))
        return Transfer.objects.get(pk=transfer_id)
    except InterDmvUnavailable as error:
        logger.info("archive of transfer %s not fetched yet: %s", transfer.number, error)
        _failed(transfer_id, error)
        return Transfer.objects.get(pk=transfer_id)
    origin = inter_dmv.peer(transfer.origin_city)
    package, signature = answer.get("package"), answer.get("signature")
    if origin is None or not inter_dmv.verify_package(package, signature, origin.public_der):
        _refuse(
            transfer_id, "transfers.package_signature", "转出地档案的电子签名校验失败，不予接收。",
            "The signature of the origin's archive package does not verify, so it was not accepted.",
        )  # fmt: skip
        return Transfer.objects.get(pk=transfer_id)
    assert isinstance(package, dict)
    problem = _package_problem(transfer, package)
    if problem is not None:
        _refuse(transfer_id, problem.code, problem.zh, problem.en)
        return Transfer.objects.get(pk=transfer_id)
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if transfer.state == S.REQUESTED:
            transfer.state = S.ARCHIVED
            transfer.package, transfer.package_signature = package, str(signature)
            transfer.package_received_at = timezone.now()
            transfer.last_error = ""
            transfer.save(
                update_fields=["state", "package", "package_signature", "package_received_at", "last_error"]
            )
    return transfer


def _package_problem(transfer: Transfer, package: dict[str, Any]) -> rules.Refusal | None:
    record = package.get("record") or {}
    if (
        package.get("format") != inter_dmv.PACKAGE_FORMAT
        or package.get("reference") != transfer.number
        or package.get("origin") != transfer.origin_city
        or not isinstance(record, dict)
    ):
        return rules.Refusal(
            "transfers.package_invalid", "转出地档案与本次业务不符，不予接收。",
            "The origin's archive package is not the one of this transfer, so it was not accepted.",
        )  # fmt: skip
    if record.get("vin") != transfer.vin or package.get("vin") != transfer.vin:
        return rules.Refusal(
            "transfers.package_vin", "转出地档案的车辆识别代号与申请不一致，不予接收。",
            "The VIN in the origin's archive does not match the application, so it was not accepted.",
        )  # fmt: skip
    for document in package.get("documents") or []:
        content = base64.b64decode(str(document.get("content", "")))
        if hashlib.sha256(content).hexdigest() != document.get("sha256"):
            return rules.Refusal(
                "transfers.package_document", "档案中的资料与其摘要不符，不予接收。",
                "A document in the archive does not match its digest, so it was not accepted.",
            )  # fmt: skip
    return rules.eligibility(
        kind=str(record.get("kind", "")), use_nature=str(record.get("use_nature", "")),
        plate_type=str(record.get("plate_type", "")),
    )  # fmt: skip


# ---------------------------------------------------------------- destination: inspect and register


def _locked_transfer(actor: Any, action: str, transfer_id: int) -> Transfer:
    transfer = Transfer.objects.select_for_update().filter(pk=transfer_id).first()
    if transfer is None:
        raise _not_found()
    require(actor, action, division=transfer.division)
    return transfer


def _state_conflict(transfer: Transfer) -> Conflict:
    return Conflict(
        "transfers.state", f"该业务当前状态为“{transfer.get_state_display().split(' ', 1)[0]}”，不能办理此项。",
        "The transfer is not at the step this needs.",
    )  # fmt: skip


def transfer_inspect(*, actor: Any, transfer_id: int, vin_read: str, photo: bytes) -> Transfer:
    """The destination inspects the car once (T2): the VIN read on it must be the archive's."""
    require(actor, REGISTER)
    check_upload(photo, name="", allowed=frozenset({"jpeg", "png"}), max_bytes=INSPECTION_PHOTO_MAX_BYTES)
    vin = validate_vin(vin_read)
    with transaction.atomic():
        transfer = _locked_transfer(actor, REGISTER, transfer_id)
        if transfer.state not in (S.ARCHIVED, S.INSPECTED):
            raise _state_conflict(transfer)
        refused = rules.vin_matches(read_on_car=vin, archived=str((transfer.package or {}).get("vin", "")))
        if refused is not None:
            raise _conflict(refused)
        transfer.state = S.INSPECTED
        transfer.inspected_vin, transfer.inspection_photo = vin, photo
        transfer.inspected_at, transfer.inspected_by = timezone.now(), actor
        transfer.save(
            update_fields=["state", "inspected_vin", "inspection_photo", "inspected_at", "inspected_by"]
        )
        audit_record(
            actor=actor, action="change", subject=transfer, subject_person_id=transfer.buyer_id,
            summary="转入查验 inspected at the destination",
        )  # fmt: skip
    return transfer


def transfer_register(*, actor: Any, transfer_id: int, plate_number: str) -> Transfer:
    """Register the inspected car under a new local plate: stored first, then closed at the origin,
    then entered in this registry (see the module's docstring)."""
    require(actor, REGISTER)
    plate = parse_plate(plate_number).number
    prefix = str(settings.JIAOGUAN_PLATE_PREFIX)
    if not plate.startswith(prefix):
        raise ValidationFailed(
            "transfers.plate_not_local", f"新号牌须为本地号牌（{prefix}）。",
            f"The new plate must be one of this DMV ({prefix}).", field="plate_number",
        )  # fmt: skip
    try:
        with transaction.atomic():
            transfer = _locked_transfer(actor, REGISTER, transfer_id)
            if transfer.state != S.INSPECTED:
                raise _state_conflict(transfer)
            # Everything the registry would refuse after the origin closed is refused now (T2).
            cross_region.vehicle_transferred_in_check(
                record=(transfer.package or {}).get("record") or {}, plate_number=plate,
                owner_person_id=transfer.buyer_id, division=transfer.division, today=_today(),
            )  # fmt: skip
            transfer.state = S.AWAITING_ORIGIN
            transfer.new_plate_number = plate
            transfer.registered_by, transfer.registration_started_at = actor, timezone.now()
            transfer.save(
                update_fields=["state", "new_plate_number", "registered_by", "registration_started_at"]
            )
            audit_record(
                actor=actor, action="change", subject=transfer, subject_person_id=transfer.buyer_id,
                summary=f"转入登记 registering under {plate}",
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(
            "transfers.plate_taken", "该号牌号码刚刚被另一项业务使用。",
            "This plate number was just taken by another transfer.", field="plate_number",
        ) from None  # fmt: skip
    return transfer_complete(transfer_id=transfer_id)


def transfer_complete(*, transfer_id: int) -> Transfer:
    """Steps 2 and 3 of registering: the origin closes, then the car is entered here for the buyer.

    Safe to repeat at any time: the origin closes once per transfer number, and the registry entry
    is made in the same transaction that marks the transfer completed.
    """
    transfer = Transfer.objects.get(pk=transfer_id)
    if transfer.state != S.AWAITING_ORIGIN:
        return transfer
    Transfer.objects.filter(pk=transfer_id).update(attempts=transfer.attempts + 1)
    try:
        inter_dmv.get_inter_dmv(transfer.origin_city).post(
            "closures", {"reference": transfer.number, "vin": transfer.vin}, reference=transfer.number
        )
    except (InterDmvRefused, InterDmvUnavailable) as error:
        # Refused too stays waiting: the archive is held here, staff sort it out as a problem (T4).
        logger.info("transfer %s not closed at the origin yet: %s", transfer.number, error)
        _failed(transfer_id, error)
        return Transfer.objects.get(pk=transfer_id)
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
        if transfer.state != S.AWAITING_ORIGIN:
            return transfer
        try:
            vehicle = cross_region.vehicle_register_transferred_in(
                record=(transfer.package or {}).get("record") or {}, plate_number=transfer.new_plate_number or "",
                owner_person_id=transfer.buyer_id, division=transfer.division, today=_today(),
            )  # fmt: skip
        except DomainError as refused:
            _failed(transfer_id, refused)
            return transfer
        now = timezone.now()
        transfer.state, transfer.vehicle = S.COMPLETED, vehicle
        transfer.origin_closed_at = transfer.completed_at = now
        transfer.last_error = ""
        transfer.save(update_fields=["state", "vehicle", "origin_closed_at", "completed_at", "last_error"])
        buyer = Person.objects.get(pk=transfer.buyer_id)
        _sms(
            mobile=buyer.mobile,
            text=f"【交管】您的车辆已办结跨辖区转移登记，新号牌{transfer.new_plate_number}，请在“我的车辆”中查看。",
            key=f"transfer-{transfer.pk}-completed",
        )
    return transfer


def transfers_retry() -> int:
    """The worker's pass: fetch archives and close at origins that did not answer before; deliver
    problems and answers not yet delivered. Returns how many moved on."""
    moved = 0
    for pk in Transfer.objects.filter(state=S.REQUESTED).values_list("pk", flat=True)[:200]:
        moved += archive_fetch(transfer_id=pk).state != S.REQUESTED
    for pk in Transfer.objects.filter(state=S.AWAITING_ORIGIN).values_list("pk", flat=True)[:200]:
        moved += transfer_complete(transfer_id=pk).state == S.COMPLETED
    for problem in Problem.objects.filter(raised_here=True, question_sent=False)[:200]:
        moved += _deliver_question(problem)
    for problem in Problem.objects.filter(raised_here=False, answered_at__isnull=False, answer_sent=False)[
        :200
    ]:
        moved += _deliver_answer(problem)
    return moved


# ---------------------------------------------------------------- archive return (T4)


def transfer_return(*, actor: Any, transfer_id: int, reason: str) -> Transfer:
    """Return the archive to the origin (退档): only for a suspected stolen, smuggled or illegally
    assembled vehicle (T4); the origin is told first, nothing changes here if it cannot be."""
    require(actor, RETURN)
    refused = rules.return_check(reason)
    if refused is not None:
        raise _conflict(refused)
    with transaction.atomic():
        transfer = _locked_transfer(actor, RETURN, transfer_id)
        if transfer.state not in (S.ARCHIVED, S.INSPECTED):
            raise _state_conflict(transfer)
    try:
        inter_dmv.get_inter_dmv(transfer.origin_city).post(
            "returns", {"reference": transfer.number, "reason": reason}, reference=transfer.number
        )
    except InterDmvUnavailable:
        raise _origin_unreachable() from None
    except InterDmvRefused as error:
        raise Conflict(error.code, error.message_zh or str(error), str(error)) from None
    with transaction.atomic():
        transfer = _locked_transfer(actor, RETURN, transfer_id)
        if transfer.state in (S.ARCHIVED, S.INSPECTED):
            transfer.state, transfer.return_reason, transfer.returned_at = S.RETURNED, reason, timezone.now()
            transfer.save(update_fields=["state", "return_reason", "returned_at"])
            audit_record(
                actor=actor, action="change", subject=transfer, subject_person_id=transfer.buyer_id,
                summary=f"退档 archive returned: {reason}",
            )  # fmt: skip
    return transfer


# ---------------------------------------------------------------- problems between the DMVs (T4)


def _answer_due() -> date:
    deadline = add_working_days(timezone.now(), rules.PROBLEM_ANSWER_WORKING_DAYS)
    # A calendar not yet entered for next year: a week is never shorter than three working days.
    return deadline.due_on or _today() + timedelta(days=7)


def _peer_of_reference(reference: str) -> tuple[str, str] | None:
    """(peer city, division) of a transfer this DMV takes part in, as destination or origin."""
    transfer = Transfer.objects.filter(number=reference).first()
    if transfer is not None:
        return transfer.origin_city, transfer.division
    release = OriginRelease.objects.filter(reference=reference).select_related("vehicle").first()
    if release is not None:
        return release.destination_city, release.vehicle.division
    return None


def problem_raise(*, actor: Any, reference: str, question: str) -> Problem:
    """Raise a problem about a transfer with the other DMV, answer due in three working days (T4)."""
    require(actor, PROBLEM)
    question = question.strip()
    if not question or len(question) > 500:
        raise ValidationFailed(
            "transfers.question", "请填写问题（不超过500字）。", "Write the problem (at most 500 characters).",
            field="question",
        )  # fmt: skip
    found = _peer_of_reference(reference)
    if found is None:
        raise _not_found()
    peer_city, division = found
    require(actor, PROBLEM, division=division)
    due = _answer_due()
    with transaction.atomic():
        problem = Problem.objects.create(
            key=secrets.token_hex(16), reference=reference, raised_here=True, peer_city=peer_city,
            question=question, due_on=due,
        )  # fmt: skip
    _deliver_question(problem)
    return problem


def problem_answer(*, actor: Any, problem_id: int, answer: str) -> Problem:
    require(actor, PROBLEM)
    answer = answer.strip()
    if not answer or len(answer) > 500:
        raise ValidationFailed(
            "transfers.answer", "请填写答复（不超过500字）。", "Write the answer (at most 500 characters).",
            field="answer",
        )  # fmt: skip
    with transaction.atomic():
        problem = Problem.objects.select_for_update().filter(pk=problem_id, raised_here=False).first()
        if problem is None:
            raise NotFound("transfers.problem_not_found", "没有这个问题。", "No such problem.")
        found = _peer_of_reference(problem.reference)
        if found is not None:
            require(actor, PROBLEM, division=found[1])
        if problem.answered_at is not None:
            raise Conflict(
                "transfers.problem_answered", "该问题已答复。", "This problem was answered already."
            )
        problem.answer, problem.answered_at = answer, timezone.now()
        problem.save(update_fields=["answer", "answered_at"])
    _deliver_answer(problem)
    return problem


def _deliver_question(problem: Problem) -> bool:
    payload = {
        "key": problem.key, "reference": problem.reference, "question": problem.question,
        "due_on": problem.due_on.isoformat(),
    }  # fmt: skip
    try:
        inter_dmv.get_inter_dmv(problem.peer_city).post("problems", payload, reference=problem.reference)
    except (InterDmvRefused, InterDmvUnavailable) as error:
        logger.info("problem %s not delivered yet: %s", problem.key, error)
        return False
    Problem.objects.filter(pk=problem.pk).update(question_sent=True)
    return True


def _deliver_answer(problem: Problem) -> bool:
    payload = {"key": problem.key, "answer": problem.answer}
    try:
        inter_dmv.get_inter_dmv(problem.peer_city).post("answers", payload, reference=problem.reference)
    except (InterDmvRefused, InterDmvUnavailable) as error:
        logger.info("answer to problem %s not delivered yet: %s", problem.key, error)
        return False
    Problem.objects.filter(pk=problem.pk).update(answer_sent=True)
    return True


# ---------------------------------------------------------------- origin: a peer's signed messages


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValidationFailed(
            "transfers.message_invalid", f"报文缺少或包含无效的 {name}。", f"The message lacks a valid {name}.",
            field=name,
        )  # fmt: skip
    return value.strip()


def _build_package(release_reference: str, destination: str, vehicle: Vehicle) -> dict[str, Any]:
    record = cross_region.vehicle_archive_record(vehicle)
    content = json.dumps(record, ensure_ascii=False, sort_keys=True).encode()
    return {
        "format": inter_dmv.PACKAGE_FORMAT, "reference": release_reference, "origin": inter_dmv.own_city(),
        "destination": destination, "issued_at": timezone.now().isoformat(), "vin": vehicle.vin, "record": record,
        "documents": [
            {
                "name": "registration-record.json", "media_type": "application/json",
                "sha256": hashlib.sha256(content).hexdigest(), "content": base64.b64encode(content).decode(),
            }
        ],
    }  # fmt: skip


def origin_archive_request(
    *, peer_city: str, data: dict[str, Any], today: date | None = None
) -> dict[str, Any]:
    """A destination asks for a car's archive: checked, locked for that transfer, sent signed (T3).

    Asked again with the same number, the same package is sent; another transfer of a car that is
    locked or transferred out already is refused.
    """
    today = today or _today()
    reference = _text(data, "reference", 32)
    vin = _text(data, "vin", 17).upper()
    existing = OriginRelease.objects.filter(reference=reference, destination_city=peer_city).first()
    if existing is not None:
        return {"package": existing.package, "signature": existing.package_signature}
    vehicle = cross_region.vehicle_by_vin(vin=vin)
    if vehicle is None:
        raise NotFound(
            "transfers.vehicle_not_found",
            "转出地没有这辆车的登记记录。",
            "The origin has no record of this car.",
        )
    if (vehicle.plate_number or "") != str(data.get("plate_number", "")).upper():
        raise Conflict(
            "transfers.plate_mismatch", "号牌号码与转出地登记不一致。",
            "The plate number does not match the origin's record.",
        )  # fmt: skip
    owner = vehicle.owner_person
    if owner is None or owner.id_number != str(data.get("seller_id_number", "")).upper():
        raise Conflict(
            "transfers.seller_not_owner", "卖方不是该车的登记所有人。",
            "The seller is not the registered owner of this car.",
        )  # fmt: skip
    for refused in (
        rules.eligibility(kind=vehicle.kind, use_nature=vehicle.use_nature, plate_type=vehicle.plate_type),
        rules.blocking_status(vehicle.status),
        rules.rollout_check(origin=inter_dmv.own_city(), destination=peer_city, on=today),
    ):
        if refused is not None:
            raise _conflict(refused)
    if cross_region.vehicle_mortgaged(vehicle_id=vehicle.pk):
        raise Conflict(
            "transfers.mortgaged", "该车处于抵押登记状态，解除抵押前不能转出。",
            "The car is mortgaged; it cannot be transferred out before the mortgage is released.",
        )  # fmt: skip
    package = _build_package(reference, peer_city, vehicle)
    signature = inter_dmv.sign_package(package)
    try:
        with transaction.atomic():
            OriginRelease.objects.create(
                reference=reference, destination_city=peer_city, vehicle=vehicle, vin=vehicle.vin, package=package,
                package_signature=signature,
            )  # fmt: skip
    except IntegrityError:
        raced = OriginRelease.objects.filter(reference=reference, destination_city=peer_city).first()
        if raced is not None:
            return {"package": raced.package, "signature": raced.package_signature}
        raise Conflict(
            "transfers.vehicle_locked", "该车已在办理另一项转移登记或已转出。",
            "The car is held by another transfer or was transferred out already.",
        ) from None  # fmt: skip
    return {"package": package, "signature": signature}


def _release_locked(*, reference: str, peer_city: str) -> OriginRelease:
    """The origin's release of a transfer asked about by the DMV it was released to, locked."""
    release = (
        OriginRelease.objects.select_for_update()
        .filter(reference=reference, destination_city=peer_city)
        .first()
    )
    if release is None:
        raise NotFound(
            "transfers.release_not_found", "转出地没有这项业务。", "The origin has no such transfer."
        )
    return release


def origin_close(*, peer_city: str, data: dict[str, Any]) -> dict[str, Any]:
    """The destination registered the car: close our record (转出). Repeats answer the same."""
    reference = _text(data, "reference", 32)
    with transaction.atomic():
        release = _release_locked(reference=reference, peer_city=peer_city)
        if release.state == OriginRelease.State.RETURNED:
            raise Conflict(
                "transfers.release_returned", "该业务已退档。", "The archive of this transfer was returned."
            )
        if release.state == OriginRelease.State.LOCKED:
            cross_region.vehicle_transfer_close(vehicle_id=release.vehicle_id, reference=reference)
            release.state, release.closed_at = OriginRelease.State.CLOSED, timezone.now()
            release.save(update_fields=["state", "closed_at"])
    assert release.closed_at is not None
    return {"reference": reference, "closed_at": release.closed_at.isoformat()}


def origin_return(*, peer_city: str, data: dict[str, Any]) -> dict[str, Any]:
    """The destination returns the archive of a suspect vehicle (T4): the car is free again here."""
    reference = _text(data, "reference", 32)
    reason = str(data.get("reason", ""))
    refused = rules.return_check(reason)
    if refused is not None:
        raise _conflict(refused)
    with transaction.atomic():
        release = _release_locked(reference=reference, peer_city=peer_city)
        if release.state == OriginRelease.State.CLOSED:
            raise Conflict(
                "transfers.release_closed", "该车已转出，不能退档。", "The car was transferred out already."
            )
        if release.state == OriginRelease.State.LOCKED:
            release.state, release.returned_at, release.return_reason = (
                OriginRelease.State.RETURNED, timezone.now(), reason,
            )  # fmt: skip
            release.save(update_fields=["state", "returned_at", "return_reason"])
    return {"reference": reference, "state": release.state}


def problem_receive(*, peer_city: str, data: dict[str, Any]) -> dict[str, Any]:
    key = _text(data, "key", 40)
    reference = _text(data, "reference", 32)
    question = _text(data, "question", 500)
    try:
        due = date.fromisoformat(str(data.get("due_on", "")))
    except ValueError:
        due = _answer_due()
    if _peer_of_reference(reference) is None:
        raise NotFound("transfers.not_found", "没有这项转移登记。", "No such cross-region transfer.")
    Problem.objects.get_or_create(
        key=key,
        defaults={"reference": reference, "raised_here": False, "peer_city": peer_city, "question": question,
                  "due_on": due, "question_sent": True},
    )  # fmt: skip
    return {"key": key}


def answer_receive(*, peer_city: str, data: dict[str, Any]) -> dict[str, Any]:
    key = _text(data, "key", 40)
    answer = _text(data, "answer", 500)
    with transaction.atomic():
        problem = (
            Problem.objects.select_for_update().filter(key=key, raised_here=True, peer_city=peer_city).first()
        )
        if problem is None:
            raise NotFound("transfers.problem_not_found", "没有这个问题。", "No such problem.")
        if problem.answered_at is None:
            problem.answer, problem.answered_at, problem.answer_sent = answer, timezone.now(), True
            problem.save(update_fields=["answer", "answered_at", "answer_sent"])
    return {"key": key}


# ---------------------------------------------------------------- staff reads (audited)


def transfer_for_staff(*, actor: Any, transfer_id: int, request: Any = None) -> Transfer:
    """A transfer's file at the counter: the buyer's data and the archive; every read audited."""
    require(actor, VIEW)
    transfer = Transfer.objects.select_related("buyer").filter(pk=transfer_id).first()
    if transfer is None:
        raise _not_found()
    require(actor, VIEW, division=transfer.division)
    audit_record(
        actor=actor, action="view", subject=transfer, subject_person_id=transfer.buyer_id,
        summary="查看跨辖区转移登记 transfer file read", request=request,
    )  # fmt: skip
    return transfer


def release_for_staff(*, actor: Any, release_id: int, request: Any = None) -> OriginRelease:
    """A car of this registry sent to another DMV: its lock, closing and problems; audited."""
    require(actor, VIEW)
    release = OriginRelease.objects.select_related("vehicle").filter(pk=release_id).first()
    if release is None:
        raise NotFound("transfers.release_not_found", "没有这项转出业务。", "No such transfer out.")
    require(actor, VIEW, division=release.vehicle.division)
    audit_record(
        actor=actor, action="view", subject=release, subject_person_id=release.vehicle.owner_person_id,
        summary="查看转出档案 transfer-out file read", request=request,
    )  # fmt: skip
    return release
