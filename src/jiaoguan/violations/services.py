"""Violation use cases: record, dispute, handle online (B16) or at the counter, decide and score.

Lock order: licence row, then violation row; the fine and its payable are created last in
the same transaction. Payments locks a payable, then its orders, then (through the fine
kind's ``on_paid`` in ``payables.py``) the fine; nothing here locks a payable, so the two
orders never cross. Points go to the registry's ledger through its services.

Who may do what comes from the access table (``violations.*`` in core/access.py): each use
case checks the role first, finds the record through the actor's scope (outside it the
record is "not found", as ids must not be probed), then checks the record's division.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import DIVISIONS, validate_division
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from jiaoguan.core.identifiers import PlateNumber, validate_plate
from jiaoguan.core.outbox import outbox_enqueue
from jiaoguan.credentials.selectors import inspection_mark_valid_on
from jiaoguan.payments import services as payment_services
from jiaoguan.payments.reasons import staff_reason
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.models import DrivingLicence, Vehicle
from jiaoguan.registry.selectors import licence_status

from . import rules
from .models import Fine, ImportBatch, SerialCounter, Violation
from .rules import Source
from .selectors import FINE_KIND, staff_division, staff_scope, violations_of

OWN_HANDLE = "violations.own.handle"
OWN_DISPUTE = "violations.own.dispute"
COUNTER_VIEW = "violations.counter.view"
HANDLE_AT_COUNTER = "violations.handle_at_counter"
RECORD_ON_SITE = "violations.record_on_site"
CANCEL = "violations.cancel"


def _take_serial(*, kind: str, division: str, period: str) -> int:
    counter, _ = SerialCounter.objects.get_or_create(kind=kind, division=division, period=period)
    counter = SerialCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def _recording_division(code: str) -> str:
    """The recording agency's division; other provinces' county codes are accepted by their province (V6)."""
    code = (code or "").strip()
    if code in DIVISIONS:
        return code
    if len(code) == 6 and code.isdigit() and f"{code[:2]}0000" in DIVISIONS:
        return code
    return validate_division(code)  # raises with the platform's message


@dataclass(frozen=True)
class RecordInput:
    """A violation record as delivered by a camera system or typed by an officer."""

    plate_number: str
    plate_type: str
    occurred_at: datetime
    place: str
    code: str
    recording_division: str
    source: Source = Source.MONITORING
    record_number: str = ""
    device_id: str = ""
    on_expressway: bool = False
    fine_fen: int | None = None


def check_plate_fits_type(plate: PlateNumber, plate_type: str) -> None:
    """GA 36: the number must have the form of its plate type (the registry's table, which
    it enforces for vehicles): a small new-energy number is not a blue small-car plate."""
    rule = registry_rules.PLATE_TYPES[plate_type]
    if plate.kind.value not in rule.shapes:
        raise ValidationFailed(
            "plate.type_mismatch",
            f"号牌号码 {plate.number} 的格式不是{rule.zh}（{rule.code}）的格式，请核对号牌种类或号码。",
            f"The plate number {plate.number} does not have the form of a {rule.en} ({rule.code}); "
            "check the plate type or the number.",
            field="plate_number", detail={"plate_type": rule.code, "shape": plate.kind.value},
        )  # fmt: skip


def record_clean(data: RecordInput, *, now: datetime) -> dict[str, Any]:
    """Validate one record and return the model fields; every refusal names its field."""
    plate = validate_plate(data.plate_number)
    if data.plate_type not in registry_rules.PLATE_TYPES:
        raise ValidationFailed(
            "violations.plate_type", f"号牌种类 {data.plate_type} 无效。", f"Unknown plate type {data.plate_type}.",
            field="plate_type",
        )  # fmt: skip
    check_plate_fits_type(plate, data.plate_type)
    if timezone.is_naive(data.occurred_at):
        raise ValidationFailed(
            "violations.time_zone",
            "违法时间须带时区。",
            "The violation time needs a time zone.",
            field="occurred_at",
        )
    if data.occurred_at > now:
        raise ValidationFailed(
            "violations.time_in_future", "违法时间不能晚于现在。", "The violation time cannot be in the future.",
            field="occurred_at",
        )  # fmt: skip
    place = (data.place or "").strip()
    if not 2 <= len(place) <= 100:
        raise ValidationFailed(
            "violations.place",
            "违法地点须为2至100个字。",
            "The place must have 2 to 100 characters.",
            field="place",
        )
    division = _recording_division(data.recording_division)
    source = Source(data.source)
    device_id = (data.device_id or "").strip()
    if source == Source.MONITORING and not (
        1 <= len(device_id) <= 32 and device_id.isascii() and device_id.isprintable()
    ):
        raise ValidationFailed(
            "violations.device_id", "电子监控记录须有设备编号（1至32个字母或数字）。",
            "A monitoring record needs a device id (1-32 ASCII characters).", field="device_id",
        )  # fmt: skip
    local_day = rules.offence_day(data.occurred_at)
    version = rules.code_version(data.code, on=local_day)
    if source == Source.MONITORING and not version.monitorable:
        raise ValidationFailed(
            "violations.code_not_monitorable", f"违法代码 {version.code} 不能由电子监控记录。",
            f"The code {version.code} cannot be recorded by a camera.", field="code",
        )  # fmt: skip
    fine = rules.fine_for(version, officer_amount_fen=data.fine_fen)
    number = ""
    if data.record_number:
        number = rules.record_number_check(data.record_number)
        if rules.record_number_source(number) != source or number[:6] != division:
            raise ValidationFailed(
                "violations.record_number_mismatch", "违法记录编号与来源或记录机关不一致。",
                "The record number does not match the source or the recording agency.", field="record_number",
            )  # fmt: skip
        rules.check_record_number_date(number, occurred_on=local_day)
    return {
        "record_number": number,
        "source": source.value,
        "plate_number": plate.number,
        "plate_type": data.plate_type,
        "occurred_at": data.occurred_at,
        "place": place,
        "recording_division": division,
        "device_id": device_id,
        "code": version.code,
        "on_expressway": data.on_expressway,
        "points": version.points_for(on_expressway=data.on_expressway),
        "fine_fen": fine,
    }


def violation_record(
    *, actor: Any, data: RecordInput, batch: ImportBatch | None = None
) -> tuple[Violation, bool]:
    """Keep one record; a record number already kept is a duplicate and is ignored (False)."""
    now = timezone.now()
    fields = record_clean(data, now=now)
    with transaction.atomic():
        if not fields["record_number"]:
            day = rules.offence_day(fields["occurred_at"])
            serial = _take_serial(
                kind="record", division=fields["recording_division"], period=f"{day:%y%m%d}"
            )
            fields["record_number"] = rules.record_number_make(
                division=fields["recording_division"], source=fields["source"], occurred_on=day, serial=serial
            )
        existing = Violation.objects.filter(record_number=fields["record_number"]).first()
        if existing is not None:
            return existing, False
        vehicle = Vehicle.objects.filter(plate_number=fields["plate_number"]).only("id").first()
        try:
            with transaction.atomic():
                violation = Violation.objects.create(vehicle=vehicle, batch=batch, **fields)
        except IntegrityError:
            return Violation.objects.get(record_number=fields["record_number"]), False
        if actor is not None and getattr(actor, "kind", None) == User.Kind.STAFF:
            audit_record(
                actor=actor, action="create", subject=violation, summary=f"录入违法 {violation.record_number}"
            )
        violations_recorded_publish([violation.record_number])
    return violation, True


RECORDED = "violations.recorded"
DECIDED = "violations.decided"


def violations_recorded_publish(record_numbers: list[str]) -> None:
    """Tell, after commit, that records were kept (issue 15, N1 W01: the owner is told of each
    camera record). One outbox message per import slice, keyed by its first and last number."""
    if record_numbers:
        outbox_enqueue(
            topic=RECORDED,
            payload={"record_numbers": record_numbers},
            dedup_key=f"violations-recorded-{record_numbers[0]}-{record_numbers[-1]}-{len(record_numbers)}",
        )


def _decision_number(division: str, today: date) -> str:
    serial = _take_serial(kind="decision", division=division, period=f"{today:%Y}")
    return rules.decision_number_make(division=division, year=today.year, serial=serial)


def _points_in_cycle(licence: DrivingLicence, today: date) -> tuple[int, str]:
    status = licence_status(licence, today=today)
    return status.points_in_cycle, "".join(s.code for s in status.statuses)


def paper_label_refusal(*, code: str, plate_number: str, occurred_at: datetime) -> Conflict | None:
    """E3 (seed 003): the refusal of a paper-label offence when the vehicle's electronic mark was
    valid on the offence day, or None. Imports refuse such records; nobody decides one (409)."""
    if code not in rules.PAPER_LABEL_CODES:
        return None
    valid = inspection_mark_valid_on(plate_number=plate_number, on=rules.offence_day(occurred_at))
    return rules.paper_label_refusal(code=code, mark_valid=valid)


def _decide(
    *,
    violation: Violation,
    licence: DrivingLicence,
    actor: Any,
    channel: str,
    today: date,
    handled_at: datetime | None = None,
    request: Any = None,
) -> Fine:
    """Issue the penalty decision, score the licence and record full points (B at 12).

    ``handled_at`` (default now) is on the decision day ``today``: a decision made on a past
    day (demonstration data) is handled on that day, never after it."""
    refusal = paper_label_refusal(
        code=violation.code, plate_number=violation.plate_number, occurred_at=violation.occurred_at
    )
    if refusal is not None:
        raise refusal
    points_before, _codes = _points_in_cycle(licence, today)
    violation.status = Violation.Status.HANDLED
    violation.licence = licence
    violation.handled_at = handled_at or timezone.now()
    violation.handled_by = actor if getattr(actor, "pk", None) else None
    violation.handling_channel = channel
    violation.save(update_fields=["status", "licence", "handled_at", "handled_by", "handling_channel"])
    division = violation.recording_division  # the agency where it happened decides, also for V6
    decision_number = _decision_number(division, today)
    vehicle = violation.vehicle
    # The payments app keeps whether it is paid; created here, in the same transaction.
    payable = payment_services.payable_create(
        kind=FINE_KIND, reference=decision_number, description=f"交通违法罚款 {decision_number}",
        principal_fen=violation.fine_fen, division=division,
        home_division=vehicle.division if vehicle is not None else "", subject_person_id=licence.holder_id,
    )  # fmt: skip
    fine = Fine.objects.create(
        violation=violation,
        payable=payable,
        decision_number=decision_number,
        deciding_division=division,
        decided_on=today,
        amount_fen=violation.fine_fen,
    )
    registry_services.points_record(
        licence=licence,
        points=violation.points,
        occurred_on=timezone.localtime(violation.occurred_at).date(),
        source=violation.record_number,
        fine_unpaid=violation.fine_fen > 0,
    )
    total, full = rules.points_after(points_before, violation.points)
    if full:
        registry_services.licence_status_add(licence=licence, code="B", event="points_full")
    outbox_enqueue(
        topic=DECIDED,
        payload={
            "violation_id": violation.pk,
            "fine_id": fine.pk,
            "points_before": points_before,
            "total": total,
        },
        dedup_key=f"violations-decided-{violation.pk}",
    )
    audit_record(
        actor=actor,
        action="change",
        subject=violation,
        subject_person_id=licence.holder_id,
        summary=f"处理违法 {violation.record_number} 决定书 {fine.decision_number} 记{violation.points}分 共{total}分",
        request=request,
    )
    return fine


def _locked_licence(licence_id: int) -> DrivingLicence:
    return DrivingLicence.objects.select_for_update(of=("self",)).select_related("holder").get(pk=licence_id)


def _find_licence_for_organisation(*, licence_number: str, archive_number: str) -> DrivingLicence:
    licence = (
        DrivingLicence.objects.filter(holder__id_number=(licence_number or "").strip().upper())
        .filter(archive_number=(archive_number or "").strip())
        .first()
    )
    if licence is None:
        raise NotFound(
            "violations.driver_licence_not_found",
            "驾驶证号码与档案编号不匹配或不存在。",
            "No driving licence matches this number and archive number.",
            field="licence_number",
        )
    return licence


def violation_handle_online(
    *,
    actor: User,
    violation_id: int,
    no_dispute: bool,
    drove_self: bool,
    licence_number: str = "",
    archive_number: str = "",
    expected_points: int | None = None,
    today: date | None = None,
    handled_at: datetime | None = None,
    request: Any = None,
) -> Fine:
    """Handle an electronic-monitoring violation online (B16) when V1-V4 hold."""
    require(actor, OWN_HANDLE)
    today = today or timezone.localdate()
    violation = violations_of(user=actor).filter(pk=violation_id).select_related("vehicle").first()
    if violation is None:
        raise NotFound("violations.not_found", "没有这条违法记录。", "No such violation.")
    if actor.kind == User.Kind.ORGANISATION:
        licence_id = _find_licence_for_organisation(
            licence_number=licence_number, archive_number=archive_number
        ).pk
    else:
        own = DrivingLicence.objects.filter(holder_id=actor.person_id).only("id").first()
        if own is None:
            raise NotAllowed(
                "violations.no_licence", "您名下没有驾驶证，不能网上处理，请到违法处理窗口。",
                "You hold no driving licence here; handle it at a counter.",
            )  # fmt: skip
        licence_id = own.pk
    with transaction.atomic():
        licence = _locked_licence(licence_id)
        violation = (
            Violation.objects.select_for_update(of=("self",)).select_related("vehicle").get(pk=violation.pk)
        )
        vehicle = violation.vehicle
        owns = vehicle is not None and (
            (actor.person_id is not None and vehicle.owner_person_id == actor.person_id)
            or (actor.organisation_id is not None and vehicle.owner_organisation_id == actor.organisation_id)
        )
        points_in_cycle, codes = _points_in_cycle(licence, today)
        rules.check_online_handling(
            rules.HandlingCase(
                source=Source(violation.source),
                status=violation.status,
                actor_kind="organisation" if actor.kind == User.Kind.ORGANISATION else "individual",
                actor_owns_vehicle=owns,
                key_vehicle=bool(vehicle and registry_rules.is_key_vehicle(vehicle.kind, vehicle.use_nature)),
                licence_statuses=codes,
                points_in_cycle=points_in_cycle,
                points=violation.points,
                no_dispute=no_dispute,
                drove_self=drove_self,
            )
        )
        if (
            expected_points is not None and expected_points != points_in_cycle
        ):  # V4: never act on stale points
            raise Conflict(
                "violations.points_changed",
                f"驾驶证记分已更新为 {points_in_cycle} 分，请重新确认后再处理。",
                f"The licence's points changed to {points_in_cycle}; review and confirm again.",
                detail={"points_in_cycle": points_in_cycle},
            )
        return _decide(
            violation=violation, licence=licence, actor=actor, channel=Violation.Channel.ONLINE, today=today,
            handled_at=handled_at, request=request,
        )  # fmt: skip


def _staff_violation(actor: User, name: str, violation_id: int) -> Violation:
    """The record if the actor may do ``name`` on it: the role, then the record's division (its
    recording agency's or, V6, its local vehicle's) inside the scope; otherwise not found."""
    require(actor, name)
    violation = Violation.objects.select_related("vehicle").filter(pk=violation_id).first()
    code = staff_division(actor, name, violation) if violation is not None else None
    if violation is None or code is None:
        raise NotFound("violations.not_found", "没有这条违法记录。", "No such violation.")
    require(actor, name, division=code)
    return violation


def violation_handle_at_counter(
    *,
    actor: User,
    violation_id: int,
    licence_number: str,
    note: str = "",
    confirm_full_score: bool = False,
    today: date | None = None,
    request: Any = None,
) -> Fine:
    """Handle at the counter (窗口处理): any source, disputes settled, points may reach 12 (status B),
    but only with ``confirm_full_score`` once the officer was told the licence fills up (409 otherwise)."""
    today = today or timezone.localdate()
    violation = _staff_violation(actor, HANDLE_AT_COUNTER, violation_id)
    licence = DrivingLicence.objects.filter(holder__id_number=(licence_number or "").strip().upper()).first()
    if licence is None:
        raise NotFound(
            "violations.driver_licence_not_found", "没有这本驾驶证。", "No such driving licence.",
            field="licence_number",
        )  # fmt: skip
    with transaction.atomic():
        licence = _locked_licence(licence.pk)
        violation = Violation.objects.select_for_update().get(pk=violation.pk)
        if violation.status == Violation.Status.HANDLED:
            raise Conflict(
                "violations.already_handled", "该违法记录已处理。", "This violation has already been handled."
            )
        if violation.status == Violation.Status.CANCELLED:
            raise Conflict(
                "violations.cancelled", "该违法记录已撤销。", "This violation record was cancelled."
            )
        if "F" in licence.status or "G" in licence.status or "E" in licence.status:
            raise NotAllowed(
                "violations.licence_invalid", "该驾驶证已吊销、撤销或注销。",
                "This licence is revoked or cancelled.", field="licence_number",
            )  # fmt: skip
        if not confirm_full_score:
            points_before, _codes = _points_in_cycle(licence, today)
            unconfirmed = rules.full_score_unconfirmed(
                points_before=points_before, points=violation.points, classes=licence.classes
            )
            if unconfirmed is not None:
                raise unconfirmed
        fine = _decide(
            violation=violation, licence=licence, actor=actor, channel=Violation.Channel.COUNTER, today=today,
            request=request,
        )  # fmt: skip
        if note:
            audit_record(actor=actor, action="change", subject=violation, summary="窗口处理说明", reason=note)
        return fine


def violation_record_on_site(
    *,
    actor: User,
    plate_number: str,
    plate_type: str,
    licence_number: str,
    code: str,
    occurred_at: datetime,
    place: str,
    fine_fen: int | None = None,
    on_expressway: bool = False,
    recording_division: str = "",
    confirm_full_score: bool = False,
    request: Any = None,
) -> Fine:
    """Record an on-site violation (现场违法) and decide it at once under the summary procedure.

    Recorded in the division where it happened (the officer's own unit when not given),
    which must be inside the officer's jurisdiction; kept only with its decision: a
    refusal of the decision (no such licence, say) leaves no undecided record behind.
    """
    require(actor, RECORD_ON_SITE)
    division = (recording_division or "").strip() or actor.jurisdiction
    require(actor, RECORD_ON_SITE, division=division)
    with transaction.atomic():
        violation, _created = violation_record(
            actor=actor,
            data=RecordInput(
                plate_number=plate_number, plate_type=plate_type, occurred_at=occurred_at, place=place,
                code=code, recording_division=division, source=Source.ON_SITE, fine_fen=fine_fen,
                on_expressway=on_expressway,
            ),
        )  # fmt: skip
        return violation_handle_at_counter(
            actor=actor, violation_id=violation.pk, licence_number=licence_number,
            confirm_full_score=confirm_full_score, request=request,
        )  # fmt: skip


def violation_dispute(*, actor: User, violation_id: int, reason: str, request: Any = None) -> Violation:
    """The owner disputes a record (提出异议); it then goes to a counter (V3)."""
    require(actor, OWN_DISPUTE)
    reason = (reason or "").strip()
    if not 5 <= len(reason) <= 500:
        raise ValidationFailed(
            "violations.dispute_reason", "请用5至500个字说明异议理由。", "Explain the dispute in 5 to 500 characters.",
            field="reason",
        )  # fmt: skip
    with transaction.atomic():
        violation = violations_of(user=actor).select_for_update().filter(pk=violation_id).first()
        if violation is None:
            raise NotFound("violations.not_found", "没有这条违法记录。", "No such violation.")
        if violation.status != Violation.Status.UNHANDLED:
            raise Conflict(
                "violations.not_disputable", "只有未处理的违法记录可以提出异议。",
                "Only an unhandled violation can be disputed.",
            )  # fmt: skip
        violation.status = Violation.Status.DISPUTED
        violation.dispute_reason = reason
        violation.save(update_fields=["status", "dispute_reason"])
    return violation


def violation_cancel(
    *, actor: User, violation_id: int, reason: str, confirmed: bool, request: Any = None
) -> Violation:
    """Cancel a wrong record after review of a dispute (撤销违法记录): irreversible, so every way in
    must show what happens and pass the officer's confirmation, and a reason of at least 4
    characters is required (400 without it) and audited with the change."""
    require(actor, CANCEL)
    reason = staff_reason(reason, code="violations.cancel_reason")
    if confirmed is not True:
        raise ValidationFailed(
            "violations.cancel_unconfirmed", "撤销不能恢复，请确认后再撤销。",
            "Cancelling cannot be undone; confirm it first.", field="confirm",
        )  # fmt: skip
    violation = _staff_violation(actor, CANCEL, violation_id)
    with transaction.atomic():
        violation = Violation.objects.select_for_update().get(pk=violation.pk)
        if violation.status not in (Violation.Status.UNHANDLED, Violation.Status.DISPUTED):
            raise Conflict(
                "violations.not_cancellable", "已处理的违法记录不能在此撤销。",
                "A handled violation cannot be cancelled here.",
            )  # fmt: skip
        violation.status = Violation.Status.CANCELLED
        violation.save(update_fields=["status"])
        owner = violation.vehicle.owner_person_id if violation.vehicle_id and violation.vehicle else None
        audit_record(
            actor=actor, action="change", subject=violation, subject_person_id=owner,
            summary=f"撤销违法 {violation.record_number}", reason=reason, request=request,
        )  # fmt: skip
    return violation


def staff_violation_search(*, actor: User, query: str, request: Any = None) -> list[Violation]:
    """Counter search by plate, record number or decision number, inside the staff's jurisdiction."""
    require(actor, COUNTER_VIEW)
    text = (query or "").strip().upper().replace("·", "")
    if not text:
        return []
    qs = (
        staff_scope(actor, COUNTER_VIEW)
        .select_related("vehicle", "licence__holder")
        .order_by("-occurred_at", "-id")
    )
    if len(text) == 20 and text[:19].isdigit():
        found = list(qs.filter(record_number=text)[:1])
    elif len(text) == 15 and text.isdigit():
        found = list(qs.filter(fine__decision_number=text)[:1])
    else:
        found = list(qs.filter(plate_number=text)[:50])
    for violation in found[:1]:
        audit_record(
            actor=actor, action="list", subject=violation,
            subject_person_id=violation.vehicle.owner_person_id if violation.vehicle else None,
            summary=f"查询违法 {text[:20]}", request=request,
        )  # fmt: skip
    return found


def staff_violation_get(*, actor: User, violation_id: int, request: Any = None) -> Violation:
    """One record for the counter, inside the jurisdiction (or a local vehicle's, V6); the read is audited."""
    violation = _staff_violation(actor, COUNTER_VIEW, violation_id)
    audit_record(
        actor=actor, action="view", subject=violation,
        subject_person_id=violation.vehicle.owner_person_id if violation.vehicle else None,
        summary=f"查看违法 {violation.record_number}", request=request,
    )  # fmt: skip
    return violation
