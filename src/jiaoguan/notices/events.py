"""Event messages (N1, N4): what other apps publish on the outbox, told to the people concerned.

Each subscriber turns one outbox message into messages of the message centre (and their SMS),
keyed by the fact, so a repeated outbox delivery tells nobody twice. The apps that publish
never import this module (they sit below it); they only name the topic.
"""

from __future__ import annotations

import logging
from typing import Any

from django.urls import reverse

from jiaoguan.accidents.models import Party, ResultDocument, StageRecord
from jiaoguan.accidents.services import DOCUMENT_RELEASED, STAGE_RECORDED
from jiaoguan.accounts.models import User
from jiaoguan.applications import notify as application_notify
from jiaoguan.applications.models import Application
from jiaoguan.applications.services import STATE_CHANGED
from jiaoguan.core.outbox import outbox_handler
from jiaoguan.credentials.models import Credential
from jiaoguan.credentials.services import CREDENTIAL_CHANGED
from jiaoguan.exams import rules as exam_rules
from jiaoguan.exams.models import ExamApplication, ExamPlan
from jiaoguan.exams.services import TOPIC_DECIDED, TOPIC_LICENSED, TOPIC_RESULT
from jiaoguan.parking.services import SEGMENT_CHANGED as PARKING_CHANGED
from jiaoguan.payments.models import Payable, Refund
from jiaoguan.payments.services import PAID_TOPIC, REFUNDED_TOPIC
from jiaoguan.registry.models import DrivingLicence, Person, Vehicle
from jiaoguan.violations import rules as violation_rules
from jiaoguan.violations.models import Fine, Violation
from jiaoguan.violations.services import DECIDED, RECORDED

from .catalogue import w01_drafts
from .categories import Category
from .delivery import Draft, deliveries_send, messages_create

logger = logging.getLogger(__name__)

# Above this many messages an event's SMS wait for the delivery pass instead of going out at once:
# an import of thousands of records must not send thousands of texts inside its request.
SEND_AT_ONCE = 20


def _send(drafts: list[Draft]) -> None:
    """Write the messages; send their SMS now when they are few. The outbox runs this after the
    event's commit, so the text cannot tell of a change that was rolled back."""
    pending = messages_create(drafts)
    if pending and len(pending) <= SEND_AT_ONCE:
        deliveries_send(pending)


def _mobile_of(person: Any) -> str:
    return str(getattr(person, "mobile", "") or "")


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def owner_recipients(vehicle: Vehicle) -> list[dict[str, Any]]:
    """Who is told about a vehicle: its owner, person or organisation, with the mobile on record."""
    if vehicle.owner_person_id:
        person = vehicle.owner_person
        mobile = vehicle.owner_mobile or (person.mobile if person is not None else "")
        return [{"person_id": vehicle.owner_person_id, "mobile": mobile}]
    if vehicle.owner_organisation_id:
        return [{"organisation_id": vehicle.owner_organisation_id, "mobile": vehicle.owner_mobile}]
    return []


def holder_recipients(licence: DrivingLicence) -> list[dict[str, Any]]:
    """Who is told about a licence: the holder, and the employer for its drivers (N5)."""
    found: list[dict[str, Any]] = [
        {"person_id": licence.holder_id, "mobile": licence.mobile or licence.holder.mobile}
    ]
    if licence.employer_id:
        found.append({"organisation_id": licence.employer_id, "mobile": ""})
    return found


def _key(base: str, recipient: dict[str, Any]) -> str:
    if recipient.get("person_id"):
        return f"{base}:p{recipient['person_id']}"
    return f"{base}:o{recipient['organisation_id']}"


# ---------------------------------------------------------------- violations (N1 W01, V5)


def offence_words(violation: Violation) -> tuple[str, str]:
    try:
        version = violation_rules.code_version(violation.code, on=violation.occurred_at.date())
    except Exception:  # a code the table no longer knows still gets its message
        return violation.code, violation.code
    return version.name_zh, version.name_en


@outbox_handler(RECORDED)
def _violations_recorded(payload: dict[str, Any], dedup_key: str) -> None:
    numbers = [str(n) for n in payload.get("record_numbers", [])]
    drafts: list[Draft] = []
    for start in range(0, len(numbers), 1000):
        found = Violation.objects.select_related("vehicle__owner_person").filter(
            record_number__in=numbers[start : start + 1000], vehicle__isnull=False
        )
        for violation in found:
            drafts += w01_drafts(violation)  # the daily scan writes the same keys: told once
    if drafts:
        _send(drafts)


@outbox_handler(DECIDED)
def _violation_decided(payload: dict[str, Any], dedup_key: str) -> None:
    fine = (
        Fine.objects.select_related("violation__licence__holder", "violation__licence__employer")
        .filter(pk=int(payload["fine_id"]))
        .first()
    )
    if fine is None or fine.violation.licence is None:
        return
    violation, licence = fine.violation, fine.violation.licence
    total = int(payload.get("total", 0))
    offence_zh, _offence_en = offence_words(violation)
    body_zh = (
        f"您的交通违法（{violation.plate_number}，{offence_zh}）已处理，"
        f"决定书编号{fine.decision_number}，罚款{_yuan(fine.amount_fen)}元，记{violation.points}分，"
        f"本记分周期累计{total}分。"
    )
    body_en = (
        f"Your violation ({violation.plate_number}) is decided: decision {fine.decision_number}, "
        f"fine {_yuan(fine.amount_fen)} yuan, {violation.points} points, {total} in this cycle."
    )
    _send(
        [
            Draft(
                category=Category.VIOLATION,
                title_zh="违法处理决定",
                title_en="Penalty decision",
                body_zh=body_zh,
                body_en=body_en,
                link=reverse("violations:detail", args=[violation.pk]),
                division=licence.division,
                dedup_key=_key(f"event:decided:{fine.pk}", r),
                **r,
            )
            for r in holder_recipients(licence)[:1]  # the decision is the driver's own
        ]
    )


# ---------------------------------------------------------------- payments


@outbox_handler(PAID_TOPIC)
def _paid(payload: dict[str, Any], dedup_key: str) -> None:
    payable = Payable.objects.select_related("subject_person").filter(pk=int(payload["payable_id"])).first()
    if payable is None or payable.subject_person_id is None:
        return
    _send(
        [
            Draft(
                category=Category.PAYMENT,
                title_zh="缴款成功",
                title_en="Payment received",
                body_zh=f"{payable.description}已缴款{_yuan(payable.paid_total_fen)}元，感谢您的配合。",
                body_en=f"{payable.reference}: {_yuan(payable.paid_total_fen)} yuan received.",
                person_id=payable.subject_person_id,
                mobile=_mobile_of(payable.subject_person),
                division=payable.division,
                dedup_key=f"event:paid:{payable.pk}",
            )
        ]
    )


@outbox_handler(REFUNDED_TOPIC)
def _refunded(payload: dict[str, Any], dedup_key: str) -> None:
    refund = (
        Refund.objects.select_related("charge__order__payable__subject_person")
        .filter(pk=int(payload["refund_id"]))
        .first()
    )
    if refund is None:
        return
    payable = refund.charge.order.payable
    if payable.subject_person_id is None:
        return
    _send(
        [
            Draft(
                category=Category.PAYMENT,
                title_zh="退款到账",
                title_en="Refund made",
                body_zh=f"{payable.description}的重复缴款{_yuan(refund.amount_fen)}元已原路退回。",
                body_en=f"{payable.reference}: the duplicate payment of {_yuan(refund.amount_fen)} yuan is refunded.",
                person_id=payable.subject_person_id,
                mobile=_mobile_of(payable.subject_person),
                division=payable.division,
                dedup_key=f"event:refunded:{refund.pk}",
            )
        ]
    )


# ---------------------------------------------------------------- accidents (A2, A5)


def _tell_parties(case: Any, *, base: str, title: tuple[str, str], body: tuple[str, str]) -> None:
    """Tell each party of a case who is in the registry (the others are told by the officer and
    their query code), keyed by the fact and the person."""
    drafts = [
        Draft(
            category=Category.ACCIDENT, title_zh=title[0], title_en=title[1], body_zh=body[0], body_en=body[1],
            link=reverse("accidents:mine_case", args=[case.number]), person_id=party.person_id,
            mobile=party.phone, division=case.division, dedup_key=f"{base}:p{party.person_id}",
        )
        for party in Party.objects.filter(case=case, person__isnull=False)
    ]  # fmt: skip
    if drafts:
        _send(drafts)


@outbox_handler(STAGE_RECORDED)
def _stage_recorded(payload: dict[str, Any], dedup_key: str) -> None:
    record = StageRecord.objects.select_related("case").filter(pk=int(payload["stage_record_id"])).first()
    if record is None:
        return
    case = record.case
    stage_zh = record.get_stage_display().split(" ")[0]
    note = f"：{record.public_note}" if record.public_note else "。"
    _tell_parties(
        case,
        base=f"event:stage:{record.pk}",
        title=("事故处理进度", "Accident case progress"),
        body=(
            f"事故{case.number}已进入“{stage_zh}”阶段（{record.happened_on:%Y-%m-%d}）{note}",
            f"Accident {case.number}: stage recorded on {record.happened_on:%Y-%m-%d}.",
        ),
    )


@outbox_handler(DOCUMENT_RELEASED)
def _document_released(payload: dict[str, Any], dedup_key: str) -> None:
    document = ResultDocument.objects.select_related("case").filter(pk=int(payload["document_id"])).first()
    if document is None or not document.released:
        return
    case = document.case
    _tell_parties(
        case,
        base=f"event:document:{document.pk}",
        title=("事故文书送达", "Accident document delivered"),
        body=(
            f"事故{case.number}的文书（{document.number}）已送达，可在事故处理进度中查看和下载。",
            f"Accident {case.number}: document {document.number} is delivered; download it from the case page.",
        ),
    )


# ---------------------------------------------------------------- credentials (E1, D1)

_CHANGE_WORDS = {
    "issued": ("已签发", "is issued"),
    "suspended": ("已暂停使用", "is suspended"),
    "revoked": ("已撤销", "is revoked"),
}


@outbox_handler(CREDENTIAL_CHANGED)
def _credential_changed(payload: dict[str, Any], dedup_key: str) -> None:
    credential = (
        Credential.objects.select_related("vehicle__owner_person", "licence__holder")
        .filter(pk=int(payload["credential_id"]))
        .first()
    )
    change = str(payload.get("change", ""))
    if credential is None or change not in _CHANGE_WORDS:
        return
    words_zh, words_en = _CHANGE_WORDS[change]
    reason = str(payload.get("reason", "")) if change != "issued" else ""
    if credential.vehicle is not None:
        vehicle = credential.vehicle
        recipients = owner_recipients(vehicle)
        what_zh, what_en = (
            f"机动车{vehicle.plate_number or vehicle.vin}的检验标志电子凭证",
            "Your electronic inspection mark",
        )
        division = vehicle.division
    elif credential.licence is not None:
        licence = credential.licence
        recipients = holder_recipients(licence)[:1]
        what_zh, what_en = "您的电子驾驶证", "Your electronic driving licence"
        division = licence.division
    else:
        return
    until = f"，有效期至{credential.valid_until:%Y-%m-%d}" if change == "issued" else ""
    why = f"（原因：{reason}）" if reason else ""
    _send(
        [
            Draft(
                category=Category.CREDENTIAL,
                title_zh="电子凭证" + words_zh,
                title_en=f"Credential {change}",
                body_zh=f"{what_zh}{words_zh}{until}{why}。",
                body_en=f"{what_en} {words_en}.",
                link=reverse("credentials:detail", args=[credential.public_id]),
                division=division,
                required=change != "issued",
                dedup_key=_key(f"event:credential:{credential.pk}:{change}", r),
                **r,
            )
            for r in recipients
        ]
    )


# ---------------------------------------------------------------- applications (issue 13)


@outbox_handler(STATE_CHANGED)
def _application_changed(payload: dict[str, Any], dedup_key: str) -> None:
    app = Application.objects.select_related("applicant").filter(pk=int(payload["application_id"])).first()
    if app is None:
        return
    text_zh, text_en = application_notify.text_for(app, payload)
    applicant = app.applicant
    recipient: dict[str, Any]
    if applicant.person_id:
        recipient = {"person_id": applicant.person_id}
    elif applicant.organisation_id:
        recipient = {"organisation_id": applicant.organisation_id}
    else:
        return
    _send(
        [
            Draft(
                category=Category.APPLICATION,
                title_zh="业务办理进度",
                title_en="Application progress",
                body_zh=text_zh,
                body_en=text_en,
                link=reverse("applications:detail", args=[app.pk]),
                mobile=application_notify.applicant_mobile(applicant),
                division=app.division,
                dedup_key=f"event:{dedup_key}",
                **recipient,
            )
        ]
    )


# ---------------------------------------------------------------- driving tests (issue 16 §6)


def _learner(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The learner a driving-test event tells, with the mobile on record; None if gone."""
    person = Person.objects.filter(pk=int(payload.get("person_id") or 0)).only("pk", "mobile").first()
    if person is None:
        return None
    return {"person_id": person.pk, "mobile": _mobile_of(person)}


def _exam_words(payload: dict[str, Any]) -> tuple[str, str]:
    try:
        subject = exam_rules.Subject(int(payload.get("subject") or 0))
    except ValueError:
        return f"科目{payload.get('subject')}", f"subject {payload.get('subject')}"
    cls = payload.get("vehicle_class", "")
    return f"{subject.label_zh.split(' ')[0]}（{cls}）", f"{subject.label_en.split(':')[0]} ({cls})"


@outbox_handler(TOPIC_DECIDED)
def _exam_decided(payload: dict[str, Any], dedup_key: str) -> None:
    """Every allocation is told to the learner: a place, the waiting list, a freed place offered,
    or the plan withdrawn (issue 16 §3, §5, §6)."""
    recipient = _learner(payload)
    if recipient is None:
        return
    what_zh, what_en = _exam_words(payload)
    number, outcome = payload.get("number", ""), payload.get("outcome", "")
    when = f"{payload.get('exam_date', '')} {payload.get('starts_at', '')}"
    centre = payload.get("centre", "")
    if outcome in ("allocated", "offered"):
        lead_zh = "候补递补成功，" if outcome == "offered" else ""
        lead_en = "A freed place is yours: " if outcome == "offered" else ""
        title = ("考试预约成功", "Exam place allocated")
        body = (
            f"{lead_zh}您的{what_zh}考试预约（{number}）已约上：{when}，{centre}。请携带身份证明按时参加考试。",
            f"{lead_en}your {what_en} exam application {number} has a place: {when}, {centre}.",
        )
    elif outcome == "waiting":
        title = ("考试预约候补", "Exam application on the waiting list")
        body = (
            f"您的{what_zh}考试预约（{number}）本次未约上，按公开抽签顺序列第{payload.get('rank')}位候补；"
            f"有人取消时按顺序递补并另行告知。",
            f"Your {what_en} exam application {number} has no place this time; it waits at rank "
            f"{payload.get('rank')} and is told if a place is freed.",
        )
    elif outcome == "withdrawn":
        title = ("考试计划撤回", "Exam plan withdrawn")
        body = (
            f"{when}在{centre}的{what_zh}考试计划已撤回（{payload.get('reason', '')}），"
            f"您的考试预约（{number}）已取消，请另行预约。",
            f"The {what_en} exam at {centre} on {when} is withdrawn ({payload.get('reason', '')}); "
            f"your application {number} is cancelled.",
        )
    else:
        title = ("考试预约结果", "Exam application decided")
        body = (
            f"您的{what_zh}考试预约（{number}）本次未约上。",
            f"Your {what_en} exam application {number} has no place.",
        )
    plan_id = int(payload.get("plan_id") or 0)
    division = ExamPlan.objects.filter(pk=plan_id).values_list("division", flat=True).first() or ""
    _send(
        [
            Draft(
                category=Category.EXAM, title_zh=title[0], title_en=title[1], body_zh=body[0], body_en=body[1],
                link=reverse("exams:plan", args=[plan_id]) if plan_id else "", division=division,
                required=outcome in ("allocated", "offered", "withdrawn"), dedup_key=f"event:{dedup_key}",
                **recipient,
            )
        ]
    )  # fmt: skip


@outbox_handler(TOPIC_RESULT)
def _exam_result(payload: dict[str, Any], dedup_key: str) -> None:
    """Every result is told to the learner, with what follows: the retake, the wait, the permit."""
    recipient = _learner(payload)
    if recipient is None:
        return
    what_zh, what_en = _exam_words(payload)
    outcome = payload.get("outcome", "")
    score = payload.get("score")
    said_zh = {"passed": "合格", "failed": "不合格", "missed": "缺考"}.get(outcome, outcome)
    said_en = {"passed": "passed", "failed": "failed", "missed": "absent"}.get(outcome, outcome)
    score_zh = f"，成绩{score}分" if score is not None else ""
    score_en = f", score {score}" if score is not None else ""
    if payload.get("licensed"):
        next_zh, next_en = (
            "您已通过全部科目考试，驾驶证已核发。",
            "Every subject is passed: the licence is issued.",
        )
    elif outcome == "passed":
        next_zh, next_en = "", ""
    elif payload.get("retake_left"):
        next_zh, next_en = "本次预约含一次补考，可按考场安排补考。", "This booking includes one retake."
    else:
        next_zh = f"本次预约已结束，{exam_rules.REBOOK_AFTER_FAILED_DAYS}日后可再次预约"
        next_en = (
            f"This booking is over; you may apply again after {exam_rules.REBOOK_AFTER_FAILED_DAYS} days"
        )
        if payload.get("permit_valid_until"):
            next_zh += f"（学习驾驶证明有效期至{payload['permit_valid_until']}）"
            next_en += f" (learner permit valid until {payload['permit_valid_until']})"
        next_zh, next_en = next_zh + "。", next_en + "."
    attempt = payload.get("attempt")
    division = (
        ExamApplication.objects.filter(pk=int(payload.get("application_id") or 0))
        .values_list("plan__division", flat=True)
        .first()
        or ""
    )
    _send(
        [
            Draft(
                category=Category.EXAM, title_zh="考试成绩", title_en="Exam result",
                body_zh=f"您{payload.get('taken_on', '')}参加的{what_zh}考试（第{attempt}次）{said_zh}{score_zh}。{next_zh}",
                body_en=f"Your {what_en} exam of {payload.get('taken_on', '')} (attempt {attempt}): {said_en}{score_en}. {next_en}".strip(),
                division=division, required=True, dedup_key=f"event:{dedup_key}", **recipient,
            )
        ]
    )  # fmt: skip


@outbox_handler(TOPIC_LICENSED)
def _exam_licensed(payload: dict[str, Any], dedup_key: str) -> None:
    recipient = _learner(payload)
    if recipient is None:
        return
    licence = DrivingLicence.objects.filter(pk=int(payload.get("licence_id") or 0)).first()
    cls = payload.get("vehicle_class", "")
    _send(
        [
            Draft(
                category=Category.LICENCE, title_zh="驾驶证已核发", title_en="Driving licence issued",
                body_zh=f"您已通过准驾车型{cls}的全部科目考试，驾驶证已核发，可在“我的驾驶证”中查看，并可申领电子驾驶证。",
                body_en=f"You passed every subject for class {cls}: your driving licence is issued; see it in your account and apply for the e-licence.",
                division=licence.division if licence is not None else "", required=True,
                dedup_key=f"event:{dedup_key}", **recipient,
            )
        ]
    )  # fmt: skip


# ---------------------------------------------------------------- parking segments (O8)

_PARKING_WORDS = {
    "published": ("发布", "published"),
    "changed": ("调整", "changed"),
    "withdrawn": ("撤销", "withdrawn"),
}


@outbox_handler(PARKING_CHANGED)
def _parking_changed(payload: dict[str, Any], dedup_key: str) -> None:
    """A parking segment published, changed or withdrawn is told to the residents of its district
    who have an account (O8): residence division in the district, an active individual login."""
    division = str(payload.get("division") or "")
    kind = str(payload.get("kind"))
    zh, en = _PARKING_WORDS.get(kind, _PARKING_WORDS["changed"])
    where = f"{payload.get('road', '')}（{payload.get('from', '')}—{payload.get('to', '')}）"
    reason = str(payload.get("reason") or "")
    body_zh = f"您所在区县{where}的允许停车路段已{zh}，服务{payload.get('neighbourhood', '')}等小区居民。"
    body_en = f"The parking segment {where} in your district has been {en}."
    if reason:
        body_zh, body_en = body_zh + f"原因：{reason}。", body_en + f" Reason: {reason}."
    segment_id = int(payload.get("segment_id") or 0)
    # A withdrawn segment has no public page any more: the district's list instead.
    if kind == "withdrawn" or not segment_id:
        link = reverse("parking:index") + f"?division={division}"
    else:
        link = reverse("parking:detail", args=[segment_id])
    residents = (
        Person.objects.filter(
            residence_division=division,
            pk__in=User.objects.filter(kind="individual", is_active=True, person__isnull=False).values(
                "person_id"
            ),
        )
        .values_list("pk", "mobile")
        .order_by("pk")
    )
    _send(
        [
            Draft(
                category=Category.PARKING, title_zh=f"允许停车路段{zh}", title_en=f"Parking segment {en}",
                body_zh=body_zh, body_en=body_en, link=link,
                division=division, dedup_key=f"event:{dedup_key}:p{person_id}", person_id=person_id,
                mobile=mobile or "",
            )
            for person_id, mobile in residents.iterator()
        ]
    )  # fmt: skip
