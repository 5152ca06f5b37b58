"""One error hierarchy for the whole platform.

Every refusal a citizen or officer can meet is a :class:`DomainError` with a stable
``code`` (``accounts.sms_code_expired``) and a message in Simplified Chinese and
English. Pages show the message in the active language; the API renders
``{"code", "message", "detail"}`` with the error's HTTP status. Bad input never
becomes a 500.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils import translation


class DomainError(Exception):
    """A refusal with a stable code and a bilingual message."""

    status: ClassVar[int] = 422
    code: str
    message_zh: str
    message_en: str
    detail: dict[str, Any]

    def __init__(
        self,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        field: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.field = field
        self.detail = dict(detail or {})
        if field:
            self.detail.setdefault("field", field)

    @property
    def message(self) -> str:
        """The message in the active language (zh-Hans unless English is on)."""
        lang = translation.get_language() or "zh-hans"
        return self.message_en if lang.lower().startswith("en") else self.message_zh

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class ValidationFailed(DomainError):
    """Input that can never be right as given (422)."""

    status = 422


class NotAllowed(DomainError):
    """The actor may not do this (403)."""

    status = 403


class NotFound(DomainError):
    """Missing or not visible to the actor: the same answer, so ids cannot be probed (404)."""

    status = 404


class Conflict(DomainError):
    """The state changed or already holds what was asked (409)."""

    status = 409


class Throttled(DomainError):
    """Too many attempts; ``retry_after`` seconds until the next one is accepted (429)."""

    status = 429

    def __init__(self, code: str, message_zh: str, message_en: str, *, retry_after: int, **kw: Any) -> None:
        super().__init__(code, message_zh, message_en, **kw)
        self.retry_after = max(1, int(retry_after))
        self.detail.setdefault("retry_after", self.retry_after)


class Unauthenticated(DomainError):
    """No valid login or token (401)."""

    status = 401


class TooLarge(DomainError):
    """The request body is larger than the endpoint accepts (413)."""

    status = 413


class Unavailable(DomainError):
    """An outside system (payment gateway, SMS provider) cannot be reached now; try again later (503)."""

    status = 503
