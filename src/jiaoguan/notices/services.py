"""Message-centre changes: read state, SMS preferences, the private calendar feed (N1, N4)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.errors import ValidationFailed
from jiaoguan.core.personal_reads import personal_data_changed

from .categories import CATEGORIES, Category
from .models import CalendarFeedToken, Message, SmsPreference
from .selectors import VIEW_OWN, _mine, message_get

CALENDAR = "notices.own.calendar"


def message_mark_read(*, actor: Any, message_id: int) -> Message:
    """Mark one of the actor's messages read; again is harmless; somebody else's is 404."""
    message = message_get(actor=actor, message_id=message_id)
    if message.read_at is None:
        # Conditional: two tabs marking at once keep the first time.
        Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=timezone.now())
        message.refresh_from_db(fields=["read_at"])
        personal_data_changed(person_ids=[message.person_id], organisation_ids=[message.organisation_id])
    return message


def messages_mark_all_read(*, actor: Any, category: str | None = None) -> int:
    """Mark every unread message of the actor (of one category) read; how many."""
    require(actor, VIEW_OWN)
    qs = Message.objects.filter(_mine(actor), read_at__isnull=True)
    if category:
        qs = qs.filter(category=category)
    count = qs.update(read_at=timezone.now())
    if count:
        personal_data_changed(
            person_ids=[getattr(actor, "person_id", None)],
            organisation_ids=[getattr(actor, "organisation_id", None)],
        )
    return count


def sms_preferences(*, actor: Any) -> list[dict[str, Any]]:
    """Each category with whether its SMS is on for the actor, and whether the law lets it be off.

    Notices the law requires (the 37 of N1) always go by SMS where there is a mobile; a category
    switched off keeps them, it drops only the other messages of the category."""
    require(actor, VIEW_OWN)
    chosen = dict(SmsPreference.objects.filter(user_id=actor.pk).values_list("category", "sms"))
    rows = []
    for category, info in CATEGORIES.items():
        rows.append(
            {
                "category": category.value,
                "label_zh": info.label_zh,
                "label_en": info.label_en,
                "sms": chosen.get(category.value, info.sms_by_default),
                "required_notices_always_sent": category
                in (Category.VEHICLE, Category.LICENCE, Category.VIOLATION),
            }
        )
    return rows


def sms_preference_set(*, actor: Any, category: str, sms: bool) -> SmsPreference:
    require(actor, VIEW_OWN)
    try:
        value = Category(category).value
    except ValueError:
        raise ValidationFailed(
            "notices.bad_category", "没有这个消息类别。", "No such message category.", field="category"
        ) from None
    with transaction.atomic():
        try:
            with transaction.atomic():
                pref, _ = SmsPreference.objects.update_or_create(
                    user_id=actor.pk, category=value, defaults={"sms": bool(sms)}
                )
        except IntegrityError:  # a concurrent first choice: the row exists now
            pref = SmsPreference.objects.get(user_id=actor.pk, category=value)
            pref.sms = bool(sms)
            pref.save(update_fields=["sms", "changed_at"])
    return pref


def sms_preferences_save(*, actor: Any, chosen: set[str]) -> None:
    """The form's choice: SMS on for the categories in ``chosen``, off for the others; unknown
    values are ignored (the form offers only the categories)."""
    for row in sms_preferences(actor=actor):
        wanted = row["category"] in chosen
        if wanted != row["sms"]:
            sms_preference_set(actor=actor, category=row["category"], sms=wanted)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_create(*, actor: Any) -> str:
    """A new private feed token (shown once); any earlier one stops working (N1 due dates)."""
    require(actor, CALENDAR)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        CalendarFeedToken.objects.filter(user_id=actor.pk, revoked_at__isnull=True).update(revoked_at=now)
        CalendarFeedToken.objects.create(user_id=actor.pk, token_hash=_hash(token))
    return token


def calendar_feed_revoke(*, actor: Any) -> int:
    """Stop the actor's feed address; how many were active (0 or 1)."""
    require(actor, CALENDAR)
    return CalendarFeedToken.objects.filter(user_id=actor.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def calendar_feed_active(*, actor: Any) -> CalendarFeedToken | None:
    require(actor, CALENDAR)
    return CalendarFeedToken.objects.filter(user_id=actor.pk, revoked_at__isnull=True).first()


def calendar_feed_user(token: str) -> Any | None:
    """The user of an active feed token, or None (the feed answers 404 either way)."""
    if not token or len(token) > 100:
        return None
    found = (
        CalendarFeedToken.objects.select_related("user")
        .filter(token_hash=_hash(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if found is None:
        return None
    now = timezone.now()
    if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 3600:
        CalendarFeedToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found.user
