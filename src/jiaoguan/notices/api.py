"""Message centre API (N1): my messages with cursor pagination, read state, SMS preferences and
the private calendar feed address."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, personal_json

from . import selectors, services
from .categories import category_label
from .models import Message

router = Router(tags=["messages"])
AUTH = [BearerToken(), SessionUser()]
ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class MessageOut(Schema):
    id: int
    category: str
    category_zh: str
    category_en: str
    rule_code: str
    required: bool
    title_zh: str
    title_en: str
    text_zh: str
    text_en: str
    link: str
    created_at: datetime
    read_at: datetime | None


class MessagePageOut(Schema):
    items: list[MessageOut]
    next_cursor: str | None
    unread: int


def _out(m: Message) -> dict[str, Any]:
    return {
        "id": m.pk, "category": m.category, "category_zh": category_label(m.category),
        "category_en": category_label(m.category, english=True), "rule_code": m.rule_code,
        "required": m.required, "title_zh": m.title_zh, "title_en": m.title_en, "text_zh": m.body_zh,
        "text_en": m.body_en, "link": m.link, "created_at": m.created_at, "read_at": m.read_at,
    }  # fmt: skip


@router.get("/me/messages", response={200: MessagePageOut, **ERRORS}, auth=AUTH)
@access_required("notices.own.view")
def my_messages(
    request: HttpRequest, category: str | None = None, unread_only: bool = False, cursor: str | None = None,
    limit: int = selectors.PAGE_SIZE,
) -> Any:  # fmt: skip
    """My messages, newest first; pass ``next_cursor`` back as ``cursor`` for the next page.

    Kept as the rendered body with the owner's other personal reads: a new message or a read one
    renews the owner's data version, so the next call reads again."""
    actor = request.auth  # type: ignore[attr-defined]

    def build() -> dict[str, Any]:
        page = selectors.message_list(
            actor=actor, category=category, unread_only=unread_only, cursor=cursor, limit=limit
        )
        return {
            "items": [_out(m) for m in page.messages],
            "next_cursor": page.next_cursor,
            "unread": selectors.unread_count(actor),
        }

    return personal_json(
        request, "me.messages", (category, unread_only, cursor, limit), MessagePageOut, build
    )


@router.get("/me/messages/{message_id}", response={200: MessageOut, **ERRORS}, auth=AUTH)
@access_required("notices.own.view")
def my_message(request: HttpRequest, message_id: int) -> Any:
    """One of my messages; somebody else's is 404."""
    return _out(selectors.message_get(actor=request.auth, message_id=message_id))  # type: ignore[attr-defined]


@router.post("/me/messages/{message_id}/read", response={200: MessageOut, **ERRORS}, auth=AUTH)
@access_required("notices.own.view")
def read_message(request: HttpRequest, message_id: int) -> Any:
    """Mark one of my messages read (again is harmless); somebody else's is 404."""
    return _out(services.message_mark_read(actor=request.auth, message_id=message_id))  # type: ignore[attr-defined]


class PreferenceOut(Schema):
    category: str
    label_zh: str
    label_en: str
    sms: bool
    required_notices_always_sent: bool


class PreferenceIn(InputSchema):
    sms: bool


@router.get("/me/message-preferences", response={200: list[PreferenceOut], **ERRORS}, auth=AUTH)
@access_required("notices.own.view")
def my_preferences(request: HttpRequest) -> Any:
    """SMS on or off per category. Notices the law requires are sent by SMS whatever the choice."""
    return services.sms_preferences(actor=request.auth)  # type: ignore[attr-defined]


@router.put("/me/message-preferences/{category}", response={200: list[PreferenceOut], **ERRORS}, auth=AUTH)
@access_required("notices.own.view")
def set_preference(request: HttpRequest, category: str, body: PreferenceIn) -> Any:
    actor = request.auth  # type: ignore[attr-defined]
    services.sms_preference_set(actor=actor, category=category, sms=body.sms)
    return services.sms_preferences(actor=actor)


class FeedOut(Schema):
    url: str


@router.post("/me/calendar-feed", response={200: FeedOut, **ERRORS}, auth=AUTH)
@access_required("notices.own.calendar")
def create_feed(request: HttpRequest) -> Any:
    """A new private calendar address (shown once); the previous one stops working."""
    token = services.calendar_feed_create(actor=request.auth)  # type: ignore[attr-defined]
    return {"url": request.build_absolute_uri(reverse("notices:calendar_feed", args=[token]))}


@router.delete("/me/calendar-feed", response={204: None, **ERRORS}, auth=AUTH)
@access_required("notices.own.calendar")
def revoke_feed(request: HttpRequest) -> Any:
    services.calendar_feed_revoke(actor=request.auth)  # type: ignore[attr-defined]
    return 204, None
