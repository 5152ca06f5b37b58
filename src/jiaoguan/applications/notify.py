"""Messages to the applicant (站内消息和短信, issue 13): one in-app message and one SMS per step.

Delivered by the outbox handler of ``applications.state_changed``: each message carries the
outbox message's dedup key, so a repeated delivery writes neither a second message nor a
second SMS (the SMS goes through the ``sms.send`` outbox topic with a key derived from it).
The notifications work will take these over; until then the applicant reads them through
:func:`my_messages`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.errors import NotFound

from . import catalogue, delivery
from .models import ApplicantMessage, Application

logger = logging.getLogger(__name__)

VIEW_OWN = "applications.own.view"
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
SMS_SIGNATURE = "【交管服务平台】"


def message_text(
    *,
    business_zh: str,
    business_en: str,
    number: str,
    action: str,
    to_state: str,
    details: dict[str, str],
) -> tuple[str, str]:
    """The message (zh, en) for one step of an application; pure, for the page and the SMS."""
    head_zh = f"您的“{business_zh}”申请（{number}）"
    head_en = f"Your application for '{business_en}' ({number})"
    fee = details.get("fee", "")
    if action == "fee_paid":
        return f"{head_zh}已缴费{fee}元。", f"{head_en}: the fee of {fee} yuan is paid."
    if action == "delivery_problem":
        kind = details.get("kind", "returned")
        zh, en = delivery.PROBLEMS.get(kind, delivery.PROBLEMS["returned"])
        return f"{head_zh}：{zh}。", f"{head_en}: {en}."
    if action == "submit":
        tail_zh = f"已提交，请缴费{fee}元后等待受理。" if fee else "已提交，等待车管所受理。"
        tail_en = (
            f" is submitted; pay the fee of {fee} yuan, then it is accepted." if fee else " is submitted."
        )
        return head_zh + tail_zh, head_en + tail_en
    if action == "supplement":
        return f"{head_zh}已补正提交，等待受理。", f"{head_en}: the supplementary material is in."
    if to_state == "accepted":
        return f"{head_zh}已受理。", f"{head_en} is accepted."
    if to_state == "returned":
        due, reason = details.get("due", ""), details.get("reason", "")
        return (
            f"{head_zh}需补正材料：{reason}。请于{due}前补正。",
            f"{head_en} needs supplementary material: {reason}. Hand it in by {due}.",
        )
    if to_state == "rejected":
        reason = details.get("reason", "")
        return f"{head_zh}不予受理：{reason}。", f"{head_en} is rejected: {reason}."
    if to_state == "in_production":
        return f"{head_zh}正在制证。", f"{head_en}: the document is being made."
    if to_state == "posted":
        waybill, due = details.get("waybill", ""), details.get("due", "")
        due_zh = f"，预计{due}前送达" if due else ""
        due_en = f", due by {due}" if due else ""
        return (
            f"{head_zh}已通过EMS寄出，邮件号{waybill}{due_zh}。",
            f"{head_en} was posted by EMS, waybill {waybill}{due_en}.",
        )
    if to_state == "ready_for_pickup":
        return (
            f"{head_zh}已制证，请凭取件码到车管所窗口领取。",
            f"{head_en}: the document is ready; pick it up at the DMV window with your pickup code.",
        )
    if to_state == "completed":
        return f"{head_zh}已办结。", f"{head_en} is completed."
    if to_state == "withdrawn":
        return f"{head_zh}已撤回。", f"{head_en} is withdrawn."
    return f"{head_zh}状态已更新。", f"{head_en} has changed."


def _details(app: Application, action: str) -> dict[str, str]:
    details = {"fee": f"{app.fee_fen / 100:.2f}" if app.fee_fen else ""}
    if app.supplement_due_on:
        details["due"] = f"{app.supplement_due_on:%Y-%m-%d}"
    details["reason"] = app.return_reason if app.state == "returned" else app.reject_reason
    if app.state == "posted":
        details["waybill"] = app.waybill_number
        details["due"] = f"{app.delivery_due_on:%Y-%m-%d}" if app.delivery_due_on else ""
    if action == "delivery_problem":
        notice = app.postal_notices.filter(kind__in=sorted(delivery.PROBLEMS)).order_by("-at", "-pk").first()
        details["kind"] = notice.kind if notice else "returned"
    return details


def _mobile(user: Any) -> str:
    """The applicant's verified contact mobile, else the one of their person record."""
    person = getattr(user, "person", None)
    return user.mobile or (getattr(person, "mobile", "") if person is not None else "") or ""


def text_for(app: Application, payload: dict[str, Any]) -> tuple[str, str]:
    """The message (zh, en) of one step as the application is now (the message centre's text)."""
    entry = catalogue.entry(app.business_code)
    action = str(payload.get("action", ""))
    return message_text(
        business_zh=entry.name_zh, business_en=entry.name_en, number=app.number, action=action,
        to_state=str(payload.get("to_state", "")), details=_details(app, action),
    )  # fmt: skip


def applicant_mobile(user: Any) -> str:
    return _mobile(user)


def applicant_notify(payload: dict[str, Any], dedup_key: str) -> None:
    """Write the in-app message and queue the SMS for one step (idempotent by ``dedup_key``).

    Runs inside the outbox delivery's transaction. The text describes the application as it
    is now: a message delivered late tells the latest reason or waybill, which is what the
    applicant needs.
    """
    app = Application.objects.select_related("applicant").filter(pk=int(payload["application_id"])).first()
    if app is None:
        return
    entry = catalogue.entry(app.business_code)
    action = str(payload.get("action", ""))
    text_zh, text_en = message_text(
        business_zh=entry.name_zh, business_en=entry.name_en, number=app.number, action=action,
        to_state=str(payload.get("to_state", "")), details=_details(app, action),
    )  # fmt: skip
    _message, created = ApplicantMessage.objects.get_or_create(
        dedup_key=dedup_key,
        defaults={
            "user": app.applicant,
            "application": app,
            "text_zh": text_zh[:300],
            "text_en": text_en[:300],
        },
    )
    # The SMS goes with the message-centre copy (notices), which logs its delivery (issue 15).
    logger.info(
        "application %s: %s -> %s, message %s",
        app.number, payload.get("from_state"), payload.get("to_state"),
        "written" if created else "already there",
    )  # fmt: skip


def my_messages(*, actor: Any, unread_only: bool = False, limit: int = PAGE_SIZE) -> list[ApplicantMessage]:
    """The actor's messages about their applications, newest first."""
    require(actor, VIEW_OWN)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    qs = ApplicantMessage.objects.filter(user_id=actor.pk)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return list(qs.select_related("application").order_by("-created_at", "-pk")[:limit])


def message_mark_read(*, actor: Any, message_id: int) -> ApplicantMessage:
    """Mark one of the actor's messages read; somebody else's is "not found" (404). Idempotent."""
    require(actor, VIEW_OWN)
    with transaction.atomic():
        message = ApplicantMessage.objects.select_for_update().filter(pk=message_id, user_id=actor.pk).first()
        if message is None:
            raise NotFound("applications.message_not_found", "没有这条消息。", "No such message.")
        if message.read_at is None:
            message.read_at = timezone.now()
            message.save(update_fields=["read_at"])
    return message


def application_messages_read(*, actor: Any, application_id: int) -> int:
    """Mark read the actor's messages about one application (opening it reads them); returns how many."""
    require(actor, VIEW_OWN)
    return ApplicantMessage.objects.filter(
        user_id=actor.pk, application_id=application_id, read_at__isnull=True
    ).update(read_at=timezone.now())
