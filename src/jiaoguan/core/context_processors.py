"""Values every page needs: demo mode, the detachment served, elder-care mode, the staff links."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .access import can
from .divisions import division_name


def platform(request: HttpRequest) -> dict[str, Any]:
    try:
        office = division_name(settings.JIAOGUAN_JURISDICTION)
    except Exception:
        office = settings.JIAOGUAN_JURISDICTION
    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "OFFICE_NAME": office,
        "PLATE_PREFIX": settings.JIAOGUAN_PLATE_PREFIX,
        "ELDER_MODE": request.COOKIES.get("elder_mode") == "1",
        # The header and footer links come from the access table, like the menus.
        "CAN_COUNTER": can(getattr(request, "user", None), "core.counter.enter"),
        "CAN_BACK_OFFICE": can(getattr(request, "user", None), "core.back_office.enter"),
    }
