"""Keyset page cursors (分页游标) for lists ordered by (time, id): one text form for pages and API."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .errors import ValidationFailed


def encode_cursor(cursor: tuple[datetime, int] | None) -> str | None:
    """The cursor as text: microseconds since the epoch and the id; None when there is no next page."""
    if cursor is None:
        return None
    return f"{int(cursor[0].timestamp() * 1_000_000)}.{cursor[1]}"


def decode_cursor(text: str) -> tuple[datetime, int] | None:
    """The cursor a client sent back, or a refusal (never a 500) when it is not one of ours."""
    if not text:
        return None
    try:
        micros, pk = text.split(".", 1)
        return datetime.fromtimestamp(int(micros) / 1_000_000, tz=timezone.get_current_timezone()), int(pk)
    except (ValueError, OverflowError, OSError):
        raise ValidationFailed(
            "core.bad_cursor", "分页游标无效。", "The page cursor is invalid.", field="cursor"
        ) from None
