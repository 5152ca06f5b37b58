"""API plumbing shared by every router: auth, error rendering, idempotency."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer
from ninja.utils import check_csrf
from pydantic import field_validator

from .errors import DomainError, NotAllowed, Throttled, TooLarge
from .idempotency import idempotent_call
from .middleware import api_error_body, request_id_of
from .personal_reads import cached_read

logger = logging.getLogger("jiaoguan.api")

# NUL and other C0 controls never belong in a form value; PostgreSQL cannot even store NUL.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InputSchema(Schema):
    """Base of every request body: strings with control characters are refused (422)."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and _CONTROL_CHARACTERS.search(value):
            raise ValueError("control characters are not allowed")
        return value


class ErrorOut(Schema):
    code: str
    message: str
    detail: dict[str, Any] = {}


TokenResolver = Callable[[str], Any]
_token_resolvers: list[TokenResolver] = []


def register_token_resolver(resolver: TokenResolver) -> None:
    """The accounts app tells core how a bearer token becomes a user (core cannot import accounts)."""
    if resolver not in _token_resolvers:
        _token_resolvers.append(resolver)


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>`` from POST /api/v1/auth/tokens."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        for resolve in _token_resolvers:
            user = resolve(token)
            if user is not None:
                request.user = user
                return user
        return None


_renderer = JSONRenderer()


def personal_json(
    request: HttpRequest, name: str, params: tuple[Any, ...], schema: type[Schema], build: Callable[[], Any]
) -> HttpResponse:
    """The caller's own data as the JSON ``schema`` describes, from the cache while it holds.

    The body is validated and rendered once, as the router would, and kept as bytes: a cached
    answer costs no query, no validation and no encoding (issue 12).
    """

    def render() -> bytes:
        data = schema.model_validate(build()).model_dump(by_alias=True)
        return _renderer.render(request, data, response_status=200).encode()  # type: ignore[no-any-return]

    body = cached_read(request.auth, name, params, render)  # type: ignore[attr-defined]
    return HttpResponse(body, content_type=f"{_renderer.media_type}; charset={_renderer.charset}")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class SessionUser:
    """The logged-in browser session; safe methods only need the cookie, others need CSRF too.

    A cookie goes with every request the browser makes, including one a page of another site
    sends, so a change made on the strength of the session must carry the CSRF token the pages
    hold (``X-CSRFToken`` header) and pass Django's origin checks (issue 10, item 9). Bearer
    tokens and client credentials are not sent by the browser on its own and need no token.
    """

    openapi_type = "apiKey"

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise NotAllowed(
                "auth.csrf_failed",
                "请求缺少有效的安全校验（CSRF）令牌，已拒绝。请刷新页面后重试。",
                "The request lacks a valid CSRF token and was refused; reload the page and try again.",
            )
        return user


def error_response(api: NinjaAPI, request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    return api.create_response(request, body, status=status)


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        response = error_response(api, request, exc.status, exc.as_dict())
        if isinstance(exc, Throttled):
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(ValidationError)
    def schema_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields = []
        for err in exc.errors:
            loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query")]
            fields.append({"field": ".".join(loc), "problem": err.get("msg", "")})
        return error_response(
            api,
            request,
            422,
            {
                "code": "request.invalid",
                "message": _bilingual(
                    request, "请求内容不完整或格式不正确。", "The request is incomplete or malformed."
                ),
                "detail": {"fields": fields},
            },
        )

    @api.exception_handler(AuthenticationError)
    def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(
            api,
            request,
            401,
            {
                "code": "auth.required",
                "message": _bilingual(request, "请先登录。", "Log in first."),
                "detail": {},
            },
        )

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {400: "request.malformed", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "request.error"
        )
        return error_response(
            api,
            request,
            exc.status_code,
            {
                "code": code,
                "message": _bilingual(
                    request, "请求无法处理：格式不正确。", "The request could not be processed."
                ),
                "detail": {"reason": str(exc)[:200]},
            },
        )

    @api.exception_handler(RequestDataTooBig)
    def too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        error = TooLarge(
            "request.too_large",
            f"请求内容过大（最多 {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KB）。",
            f"The request body is too large (at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KB).",
            detail={"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
        )
        return error_response(api, request, error.status, error.as_dict())

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Nothing is said of the failure but its request id; the log has the whole traceback.
        logger.exception(
            "API %s %s failed (request %s)", request.method, request.path, request_id_of(request)
        )
        return error_response(api, request, 500, api_error_body(request, 500))


def _bilingual(request: HttpRequest, zh: str, en: str) -> str:
    lang = getattr(request, "LANGUAGE_CODE", "zh-hans") or "zh-hans"
    return en if lang.startswith("en") else zh


def run_idempotent(
    request: HttpRequest, *, scope: str, body: Any, call: Any, owner: str | None = None
) -> tuple[int, Any]:
    """Apply the ``Idempotency-Key`` header to a creating call."""
    key = request.headers.get("Idempotency-Key")
    if owner is None:
        user = getattr(request, "user", None)
        owner = (
            f"user:{user.pk}"
            if user is not None and user.is_authenticated
            else f"anon:{request.META.get('REMOTE_ADDR', '')}"
        )
    return idempotent_call(scope=scope, owner=owner, key=key, body=body, call=call)
