"""Writing messages and delivering them (消息发送): the one way any part of the platform tells
an owner, a driver or an organisation something (N1, N4, N5).

:func:`messages_create` stores messages with their delivery rows in the caller's transaction,
one message per ``dedup_key`` whatever the number of repeats. SMS rows are sent after commit
by :func:`deliveries_send_due` (the worker every 30 seconds, the demo server's loop, and at
once after an event's commit); a failed send waits longer each time and is given up after
``SMS_RETRY_DELAYS`` is spent, and the row keeps every attempt's answer as the proof of
telling. A failing gateway never fails the change that caused the message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from jiaoguan.core.identifiers import mask_phone
from jiaoguan.core.personal_reads import personal_data_changed
from jiaoguan.integrations.sms import SmsGatewayError, get_gateway

from .categories import CATEGORIES, Category
from .models import Delivery, Message, SmsPreference

logger = logging.getLogger(__name__)

SMS_SIGNATURE = "【交管服务平台】"
# Waits after the 1st, 2nd, ... failed attempt; after the last the SMS is given up (state failed).
SMS_RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
CHUNK = 1000


@dataclass(frozen=True)
class Draft:
    """A message to be written: one recipient (person or organisation), one fact."""

    category: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    dedup_key: str
    person_id: int | None = None
    organisation_id: int | None = None
    mobile: str = ""
    link: str = ""
    required: bool = False
    rule_code: str = ""
    division: str = ""


def _is_mobile(value: str) -> bool:
    return len(value) == 11 and value.isdigit() and value.startswith("1")


def _opted_out(drafts: Sequence[Draft]) -> set[tuple[str, int, str]]:
    """(``p``/``o``, recipient id, category) whose users switched the category's SMS off.

    A category that sends SMS by default is off only when every user of the recipient turned
    it off; one that does not is on only when some user turned it on.
    """
    persons = {d.person_id for d in drafts if d.person_id}
    orgs = {d.organisation_id for d in drafts if d.organisation_id}
    prefs: dict[tuple[str, int, str], list[bool]] = {}
    if persons:
        for person_id, category, sms in SmsPreference.objects.filter(user__person_id__in=persons).values_list(
            "user__person_id", "category", "sms"
        ):
            prefs.setdefault(("p", person_id, category), []).append(sms)
    if orgs:
        for org_id, category, sms in SmsPreference.objects.filter(user__organisation_id__in=orgs).values_list(
            "user__organisation_id", "category", "sms"
        ):
            prefs.setdefault(("o", org_id, category), []).append(sms)
    out: set[tuple[str, int, str]] = set()
    for d in drafts:
        key = ("p", d.person_id, d.category) if d.person_id else ("o", d.organisation_id or 0, d.category)
        choices = prefs.get(key)
        try:
            default = CATEGORIES[Category(d.category)].sms_by_default
        except ValueError:
            default = True
        wanted = any(choices) if choices else default
        if not wanted:
            out.add(key)
    return out


def messages_create(drafts: Iterable[Draft], *, now: datetime | None = None) -> list[int]:
    """Store the messages not stored yet and their deliveries; the ids of the new delivery rows
    to send (SMS). Set-based: a few queries per thousand drafts. Runs in the caller's
    transaction (or its own)."""
    now = now or timezone.now()
    pending: list[int] = []
    batch: list[Draft] = []
    with transaction.atomic():
        for draft in drafts:
            batch.append(draft)
            if len(batch) >= CHUNK:
                pending += _create_chunk(batch, now)
                batch = []
        if batch:
            pending += _create_chunk(batch, now)
    return pending


def _create_chunk(drafts: list[Draft], now: datetime) -> list[int]:
    by_key: dict[str, Draft] = {}
    for d in drafts:
        if not (d.person_id or d.organisation_id):
            raise ValueError(f"message {d.dedup_key} has no recipient")
        by_key.setdefault(d.dedup_key[:160], d)
    existing = set(Message.objects.filter(dedup_key__in=list(by_key)).values_list("dedup_key", flat=True))
    fresh = {k: d for k, d in by_key.items() if k not in existing}
    if not fresh:
        return []
    Message.objects.bulk_create(
        [
            Message(
                person_id=d.person_id,
                organisation_id=None if d.person_id else d.organisation_id,
                category=d.category,
                rule_code=d.rule_code,
                required=d.required,
                title_zh=d.title_zh[:100],
                title_en=d.title_en[:160],
                body_zh=d.body_zh[:500],
                body_en=d.body_en[:800],
                link=d.link[:200],
                dedup_key=k,
                division=d.division[:6],
            )
            for k, d in fresh.items()
        ],
        ignore_conflicts=True,  # a concurrent writer of the same fact: its row stands
    )
    # Only rows this call wrote get deliveries; a row a concurrent writer won already has its own.
    ids = dict(
        Message.objects.filter(dedup_key__in=list(fresh), deliveries__isnull=True).values_list(
            "dedup_key", "pk"
        )
    )
    opted_out = _opted_out(list(fresh.values()))
    rows: list[Delivery] = []
    for key, pk in ids.items():
        d = fresh[key]
        rows.append(
            Delivery(message_id=pk, channel=Delivery.Channel.IN_APP, state=Delivery.State.SENT, sent_at=now)
        )
        recipient = (
            ("p", d.person_id, d.category) if d.person_id else ("o", d.organisation_id or 0, d.category)
        )
        if not _is_mobile(d.mobile):
            rows.append(
                Delivery(
                    message_id=pk, channel=Delivery.Channel.SMS, state=Delivery.State.SKIPPED,
                    result="无手机号码，仅站内消息 no mobile on record: in-app message only",
                )
            )  # fmt: skip
        elif recipient in opted_out and not d.required:
            rows.append(
                Delivery(
                    message_id=pk, channel=Delivery.Channel.SMS, state=Delivery.State.SKIPPED,
                    address=d.mobile, result="用户已关闭此类短信 SMS switched off for this category",
                )
            )  # fmt: skip
        else:
            rows.append(
                Delivery(
                    message_id=pk, channel=Delivery.Channel.SMS, state=Delivery.State.PENDING,
                    address=d.mobile, next_attempt_at=now,
                )
            )  # fmt: skip
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    # The recipients' cached unread counts are retired with the new messages.
    personal_data_changed(
        person_ids=[fresh[k].person_id for k in ids], organisation_ids=[fresh[k].organisation_id for k in ids]
    )
    return list(
        Delivery.objects.filter(
            message_id__in=list(ids.values()), channel=Delivery.Channel.SMS, state=Delivery.State.PENDING
        ).values_list("pk", flat=True)
    )


def message_send(draft: Draft) -> Message | None:
    """Write one event message in the caller's transaction and send its SMS after commit.

    Returns the new message, or None when the fact was told already (the same ``dedup_key``).
    """
    key = draft.dedup_key[:160]
    if Message.objects.filter(dedup_key=key).exists():
        return None
    pending = messages_create([draft])
    if pending:
        transaction.on_commit(lambda: deliveries_send(pending))
    return Message.objects.filter(dedup_key=key).first()


def sms_text(message: Message) -> str:
    return f"{SMS_SIGNATURE}{message.body_zh}"[:480]


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str:
    """Try one pending SMS once; its new state. Safe to repeat and to run in several workers:
    the row is locked (skipped when another worker holds it) and the gateway drops a repeat of
    the same message id."""
    now = now or timezone.now()
    with transaction.atomic():
        qs = Delivery.objects.select_related("message").filter(pk=delivery_id, state=Delivery.State.PENDING)
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        delivery = qs.first()
        if delivery is None:
            return "gone"
        delivery.attempts += 1
        try:
            get_gateway().send(
                mobile=delivery.address, text=sms_text(delivery.message), message_id=f"notice-{delivery.pk}"
            )
        except (SmsGatewayError, OSError, TimeoutError) as exc:
            delivery.result = f"第{delivery.attempts}次发送失败 attempt {delivery.attempts} failed: {exc}"[
                :255
            ]
            if delivery.attempts > len(SMS_RETRY_DELAYS):
                delivery.state = Delivery.State.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = now + SMS_RETRY_DELAYS[delivery.attempts - 1]
            logger.warning("SMS to %s failed (%s)", mask_phone(delivery.address), exc)
        else:
            delivery.state = Delivery.State.SENT
            delivery.sent_at = now
            delivery.next_attempt_at = None
            delivery.result = "网关已接收 accepted by the gateway"
        delivery.save(update_fields=["attempts", "result", "state", "sent_at", "next_attempt_at"])
        return str(delivery.state)


def deliveries_send(ids: Iterable[int]) -> None:
    """Send the given pending SMS now (after an event's commit); failures wait for the retry pass."""
    for pk in ids:
        try:
            delivery_attempt(delivery_id=pk)
        except Exception:  # the event is committed; the worker's pass sends what is left
            logger.exception("SMS delivery %s could not be attempted", pk)


def deliveries_send_due(*, limit: int = 500, now: datetime | None = None) -> int:
    """Send SMS whose time has come, oldest first; how many were sent."""
    now = now or timezone.now()
    ids = list(
        Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if delivery_attempt(delivery_id=pk, now=now) == Delivery.State.SENT)
