"""Pages of the message centre (消息中心, N1, N4): messages with read state and categories, SMS
preferences, the private calendar feed, the staff delivery log, and the safety education pages.

Thin views over ``selectors``/``services``; a refusal is shown on the page in the active language.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.core.access import access_required
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_phone

from . import calendar, education, selectors, services
from .categories import CATEGORIES, category_label
from .models import Delivery, Message


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _row(m: Message) -> dict[str, Any]:
    en = _english()
    return {
        "id": m.pk,
        "title": m.title_en if en else m.title_zh,
        "body": m.body_en if en else m.body_zh,
        "category": m.category,
        "category_label": category_label(m.category, english=en),
        "required": m.required,
        "at": m.created_at,
        "unread": m.read_at is None,
        "link": m.link,
    }


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else reverse("notices:messages")


@never_cache
@access_required("notices.own.view")
def message_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    category = request.GET.get("category") or None
    unread_only = request.GET.get("unread") == "1"
    try:
        page = selectors.message_list(
            actor=user, category=category, unread_only=unread_only, cursor=request.GET.get("cursor")
        )
    except DomainError as error:
        flash.error(request, error.message)
        return redirect("notices:messages")
    en = _english()
    context = {
        "rows": [_row(m) for m in page.messages],
        "next_cursor": page.next_cursor,
        "category": category or "",
        "unread_only": unread_only,
        "categories": [(c.value, info.label_en if en else info.label_zh) for c, info in CATEGORIES.items()],
        "unread_total": selectors.unread_count(user),
        "continued": bool(request.GET.get("cursor")),
    }
    return render(request, "notices/messages.html", context)


@require_POST
@access_required("notices.own.view")
def message_open(request: HttpRequest, message_id: int) -> HttpResponse:
    """Mark read and go to the page the message is about (or back to the list)."""
    try:
        message = services.message_mark_read(actor=request.user, message_id=message_id)
    except DomainError as error:
        raise Http404(error.message) from None
    if request.POST.get("go") == "1" and message.link:
        return redirect(_safe_next(message.link))
    return redirect(_safe_next(request.POST.get("next", "")))


@require_POST
@access_required("notices.own.view")
def messages_read_all(request: HttpRequest) -> HttpResponse:
    count = services.messages_mark_all_read(actor=request.user, category=request.POST.get("category") or None)
    flash.success(request, f"{count} messages marked read." if _english() else f"已将{count}条消息标为已读。")
    return redirect(_safe_next(request.POST.get("next", "")))


@never_cache
@access_required("notices.own.view")
def preferences(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        services.sms_preferences_save(actor=user, chosen=set(request.POST.getlist("sms")))
        flash.success(request, "Saved." if _english() else "已保存短信设置。")
        return redirect("notices:preferences")
    en = _english()
    rows = [
        {**row, "label": row["label_en"] if en else row["label_zh"]}
        for row in services.sms_preferences(actor=user)
    ]
    return render(
        request, "notices/preferences.html", {"rows": rows, "mobile": mask_phone(getattr(user, "mobile", ""))}
    )


@never_cache
@access_required("notices.own.calendar")
def calendar_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    token = ""
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.calendar_feed_revoke(actor=user)
            flash.success(
                request, "The calendar address no longer works." if _english() else "日历订阅地址已停用。"
            )
            return redirect("notices:calendar")
        token = services.calendar_feed_create(actor=user)
    active = services.calendar_feed_active(actor=user)
    feed_url = request.build_absolute_uri(reverse("notices:calendar_feed", args=[token])) if token else ""
    person_id = getattr(user, "person_id", None)
    dates = calendar.due_dates(person_id=person_id, today=timezone.localdate()) if person_id else []
    return render(
        request,
        "notices/calendar.html",
        {"active": active, "feed_url": feed_url, "dates": dates, "english": _english()},
    )


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself: anyone with the address reads it, as with any calendar subscription."""
    user = services.calendar_feed_user(token)
    if user is None:
        raise Http404("no such calendar")
    text = calendar.feed_for(user, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@access_required("notices.delivery.view")
def counter_deliveries(request: HttpRequest) -> HttpResponse:
    try:
        rows, next_cursor = selectors.delivery_log(
            actor=request.user,
            rule_code=request.GET.get("rule", ""),
            state=request.GET.get("state", ""),
            channel=request.GET.get("channel", ""),
            cursor=request.GET.get("cursor"),
        )
    except DomainError as error:
        flash.error(request, error.message)
        return redirect("notices:counter_deliveries")
    en = _english()
    context = {
        "rows": [
            {
                "delivery": d,
                "title": d.message.title_en if en else d.message.title_zh,
                "rule": d.message.rule_code,
                "address": mask_phone(d.address) if d.address else "",
                "state_words": Delivery.State(d.state).label.split(" ", 1)[1 if en else 0],
                "channel_words": Delivery.Channel(d.channel).label.split(" ", 1)[1 if en else 0],
            }
            for d in rows
        ],
        "next_cursor": next_cursor,
        "rule": request.GET.get("rule", ""),
        "state": request.GET.get("state", ""),
        "states": [(s.value, s.label.split(" ", 1)[1 if en else 0]) for s in Delivery.State],
    }
    return render(request, "notices/counter_deliveries.html", context)


def education_list(request: HttpRequest) -> HttpResponse:
    return render(request, "notices/education_list.html", {"topics": education.topics(english=_english())})


def education_topic(request: HttpRequest, slug: str) -> HttpResponse:
    topic = education.topic(slug, english=_english())
    if topic is None:
        raise Http404("no such topic")
    return render(request, "notices/education_topic.html", {"topic": topic})
