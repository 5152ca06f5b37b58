"""The unread count for the header and the home page (N1), read only when a page shows it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import unread_count


def unread(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"UNREAD_MESSAGES": SimpleLazyObject(lambda: unread_count(user))}
