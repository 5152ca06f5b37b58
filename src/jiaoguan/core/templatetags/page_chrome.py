"""The page chrome (header, navigation, footer), rendered once per variant in each process (issue 12).

Every page carries the same header and footer for everyone who sees the same variant: the
language, elder-care mode, demo mode, whether logged in, the links the access table gives the
role and which of them is the current page. Rendering it on every request cost about as much
as the rest of a citizen's home page, so each variant is rendered once and kept.

The chrome templates (templates/includes/chrome_*.html) see only the fields of the variant's key,
never the request or the user: anything they show is in the key, so one visitor's chrome cannot
reach another. The three things that differ per request, the CSRF token of its forms, the
page's own address they return to and the unread-message count (issue 15), are filled into the
kept HTML.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Never produced by a template or typed by anyone: NUL is refused in every input.
_CSRF_HOLE = "\x00csrf\x00"
_NEXT_HOLE = "\x00next\x00"
_UNREAD_HOLE = "\x00unread\x00"
_KEPT_VARIANTS = 512
_kept: dict[tuple[Any, ...], str] = {}


def _variant(context: template.Context, part: str) -> dict[str, Any]:
    request = context.get("request")
    path = getattr(request, "path", "") or ""
    user = context.get("user")
    menu = context.get("STAFF_MENU") or []
    return {
        "part": part,
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "DEMO_MODE": bool(context.get("DEMO_MODE")),
        "ELDER_MODE": bool(context.get("ELDER_MODE")),
        "CAN_COUNTER": bool(context.get("CAN_COUNTER")),
        "CAN_BACK_OFFICE": bool(context.get("CAN_BACK_OFFICE")),
        "OFFICE_NAME": str(context.get("OFFICE_NAME") or ""),
        "PLATE_PREFIX": str(context.get("PLATE_PREFIX") or ""),
        "STAFF_MENU": tuple(
            (str(entry["url"]), str(entry["label"]), str(entry.get("icon", "")), bool(entry["current"]))
            for entry in menu
        ),
        "authenticated": bool(getattr(user, "is_authenticated", False)),
        "at_home": path == "/",
        "at_counter": path == "/counter/",
        "at_services": "/services/" in path,
        "at_me": "/me/" in path,
        "at_login": path == "/login/",
        "at_register": path == "/register/",
    }


@register.simple_tag(takes_context=True)
def page_chrome(context: template.Context, part: str) -> SafeString:
    """The ``header`` or ``footer`` of the page in the context."""
    variant = _variant(context, part)
    key = tuple(variant.values())
    html = _kept.get(key)
    if html is None:
        fields = {
            **variant,
            "STAFF_MENU": [
                {"url": url, "label": label, "icon": icon, "current": current}
                for url, label, icon, current in variant["STAFF_MENU"]
            ],
            "csrf_token": _CSRF_HOLE,
            "next_path": _NEXT_HOLE,
            "unread_badge": mark_safe(_UNREAD_HOLE),  # noqa: S308 - a constant
        }
        html = render_to_string(f"includes/chrome_{part}.html", fields)
        if len(_kept) < _KEPT_VARIANTS:
            _kept[key] = html
    request = context.get("request")
    if _CSRF_HOLE in html:
        html = html.replace(_CSRF_HOLE, get_token(request) if request is not None else "")
    if _NEXT_HOLE in html:
        html = html.replace(_NEXT_HOLE, escape(request.get_full_path()) if request is not None else "")
    if _UNREAD_HOLE in html:
        html = html.replace(_UNREAD_HOLE, _unread_badge(context))
    return mark_safe(html)  # our own template; the two values filled in are a token and an escaped path  # noqa: S308


def _unread_badge(context: template.Context) -> str:
    """The count of the visitor's unread messages (set by the notices' context processor), or nothing."""
    try:
        count = int(str(context.get("UNREAD_MESSAGES", 0)))  # str(): the count is a lazy object
    except (TypeError, ValueError):
        return ""
    if count <= 0:
        return ""
    shown = "99+" if count > 99 else str(count)
    english = (translation.get_language() or "").lower().startswith("en")
    label = f"{count} unread" if english else f"{count} 条未读"
    return f'<span class="nav-badge" aria-label="{label}">{shown}</span>'
