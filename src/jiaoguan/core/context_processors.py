"""Values every page needs: demo mode, the detachment served, elder-care mode."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

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
    }
