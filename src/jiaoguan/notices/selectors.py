"""Reads of the message centre, scoped to the actor (N1, N5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from jiaoguan.core.access import division_prefix_for, require
from jiaoguan.core.errors import NotFound, ValidationFailed
from jiaoguan.core.personal_reads import cached_read

from .categories import Category
from .models import Delivery, Message

VIEW_OWN = "notices.own.view"
DELIVERY_VIEW = "notices.delivery.view"
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def _mine(actor: Any) -> Q:
    """The messages addressed to the actor's person or organisation; nothing for anyone else."""
    person_id = getattr(actor, "person_id", None)
    organisation_id = getattr(actor, "organisation_id", None)
    if getattr(actor, "kind", "") == "organisation" and organisation_id:
        return Q(organisation_id=organisation_id)
    if person_id:
        return Q(person_id=person_id)
    return Q(pk__in=[])


def unread_count(actor: Any) -> int:
    """How many of the actor's messages are unread (header and home page); 0 for anyone else.

    Kept with the owner's other cached reads (core/personal_reads.py): a new message or a read one
    renews the owner's data version, so every page after it shows the new count."""
    if not getattr(actor, "is_authenticated", False) or getattr(actor, "kind", "") == "staff":
        return 0
    return cached_read(
        actor,
        "unread_messages",
        (),
        lambda: Message.objects.filter(_mine(actor), read_at__isnull=True).count(),
    )


def _cursor(text: str | None) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise ValidationFailed(
            "core.bad_cursor", "分页游标无效。", "The page cursor is invalid.", field="cursor"
        )
    return int(text)


def _category(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return Category(value).value
    except ValueError:
        raise ValidationFailed(
            "notices.bad_category", "没有这个消息类别。", "No such message category.", field="category"
        ) from None


@dataclass(frozen=True)
class MessagePage:
    messages: list[Message]
    next_cursor: str | None


def message_list(
    *,
    actor: Any,
    category: str | None = None,
    unread_only: bool = False,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> MessagePage:
    """The actor's messages, newest first, a page at a time (keyset on the id)."""
    require(actor, VIEW_OWN)
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    qs: QuerySet[Message] = Message.objects.filter(_mine(actor))
    if (value := _category(category)) is not None:
        qs = qs.filter(category=value)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    if (before := _cursor(cursor)) is not None:
        qs = qs.filter(pk__lt=before)
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return MessagePage(rows, str(rows[-1].pk) if more and rows else None)


def message_get(*, actor: Any, message_id: int) -> Message:
    """One of the actor's messages; someone else's is "not found" (404), so ids cannot be probed."""
    require(actor, VIEW_OWN)
    message = Message.objects.filter(_mine(actor), pk=message_id).first()
    if message is None:
        raise NotFound("notices.message_not_found", "没有这条消息。", "No such message.")
    return message


def delivery_log(
    *,
    actor: Any,
    rule_code: str = "",
    state: str = "",
    channel: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Delivery], str | None]:
    """The delivery log inside the officer's jurisdiction, newest first (proof of telling, N1)."""
    require(actor, DELIVERY_VIEW)
    prefix = division_prefix_for(actor, DELIVERY_VIEW)
    if prefix is None:
        return [], None
    limit = max(1, min(int(limit), 200))
    qs = Delivery.objects.select_related("message").filter(message__division__startswith=prefix)
    if rule_code:
        qs = qs.filter(message__rule_code=rule_code.strip().upper()[:16])
    if state:
        qs = qs.filter(state=state)
    if channel:
        qs = qs.filter(channel=channel)
    if (before := _cursor(cursor)) is not None:
        qs = qs.filter(pk__lt=before)
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].pk) if more and rows else None)
