"""Values every page needs: demo mode, the detachment served, elder-care mode, the staff links."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_urlconf, reverse
from django.utils import translation

from .access import can, menu_for, role_of
from .divisions import division_name

# The menu's links per role, language and URL configuration: the access table and the URLs do not
# change while a process runs, and building them asks the table about every action (issue 13: the
# staff queue page is read at the counters all day).
_MENU_LINKS: dict[tuple[str, bool, str], list[tuple[str, str, str]]] = {}


def _menu_links(user: Any, english: bool) -> list[tuple[str, str, str]]:
    key = (role_of(user).value, english, str(get_urlconf() or settings.ROOT_URLCONF))
    links = _MENU_LINKS.get(key)
    if links is None:
        links = []
        for act in menu_for(user):
            if act.menu is None:
                continue
            try:
                url = reverse(act.menu.url_name)
            except NoReverseMatch:  # an app that is not installed offers nothing
                continue
            links.append((url, act.menu.icon, act.menu.label_en if english else act.menu.label_zh))
        if len(_MENU_LINKS) < 256:
            _MENU_LINKS[key] = links
    return links


def staff_menu(user: Any, path: str = "") -> list[dict[str, Any]]:
    """The staff menu of the access table as links: only what the role may open (issue 11)."""
    english = (translation.get_language() or "").lower().startswith("en")
    return [
        {
            "url": url,
            "icon": icon,
            "label": label,
            "current": bool(path) and path.startswith(url) and url != "/",
        }
        for url, icon, label in _menu_links(user, english)
    ]


def platform(request: HttpRequest) -> dict[str, Any]:
    try:
        office = division_name(settings.JIAOGUAN_JURISDICTION)
    except Exception:
        office = settings.JIAOGUAN_JURISDICTION
    user = getattr(request, "user", None)
    can_counter = can(user, "core.counter.enter")
    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "OFFICE_NAME": office,
        "PLATE_PREFIX": settings.JIAOGUAN_PLATE_PREFIX,
        "ELDER_MODE": request.COOKIES.get("elder_mode") == "1",
        # The header and footer links come from the access table, like the menus.
        "CAN_COUNTER": can_counter,
        "CAN_BACK_OFFICE": can(user, "core.back_office.enter"),
        "STAFF_MENU": staff_menu(user, request.path) if can_counter else [],
    }
