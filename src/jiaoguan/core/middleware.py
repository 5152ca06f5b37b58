"""Request ids, errors in the shape each side expects, caching of private answers, client addresses.

Pages: a DomainError escaping a view becomes the error page with its status, never a 500.
API: every answer under /api/ that is an error is ``{"code", "message", "detail"}`` JSON,
including the framework's own 404/405/413 and an unexpected failure anywhere in the
stack (500, with the request id that is also in the log).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from collections.abc import Callable

from csp.constants import HEADER as CSP_HEADER
from csp.constants import HEADER_REPORT_ONLY as CSP_HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import get_supported_language_variant

from .errors import DomainError, Throttled


class DomainErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        response = render(request, "error.html", {"error": exception}, status=exception.status)
        if isinstance(exception, Throttled):
            response["Retry-After"] = str(exception.retry_after)
        return response


logger = logging.getLogger("jiaoguan.request")

# A caller's own id is kept when it looks like one (a proxy's or a client's), so a support
# call can be matched to the log; anything else is replaced.
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id_of(request: HttpRequest) -> str:
    return str(getattr(request, "request_id", "") or "-")


def client_address(request: HttpRequest | None) -> str:
    """The caller's network address, the key of per-client limits ("" when there is no request).

    Behind ``settings.CLIENT_PROXY_HOPS`` reverse proxies, each appending the address it was
    reached from to ``X-Forwarded-For``, the caller is the entry that many from the right;
    anything further left was written by the caller and is not trusted. An IPv6 caller is
    its /64, the block one subscriber line is given.
    """
    if request is None:
        return ""
    address = request.META.get("REMOTE_ADDR", "") or ""
    hops = settings.CLIENT_PROXY_HOPS
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class RequestIdMiddleware:
    """Gives every request an id, answered in ``X-Request-ID`` and written with every error logged."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if _REQUEST_ID_RE.fullmatch(given) else secrets.token_hex(8)  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


_API_FALLBACK_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("request.malformed", "请求无法处理：格式不正确。", "The request could not be processed."),
    403: ("forbidden", "无权访问。", "Access denied."),
    404: ("not_found", "没有找到所请求的接口或记录。", "No such endpoint or record."),
    405: ("method_not_allowed", "该接口不支持此请求方法。", "This endpoint does not support that method."),
    413: ("request.too_large", "请求内容过大。", "The request body is too large."),
    500: (
        "internal",
        "服务器内部错误，请稍后重试；如需帮助，请提供请求编号。",
        "Internal error; please try again later. Quote the request id when asking for help.",
    ),
}


def api_error_body(request: HttpRequest, status: int) -> dict[str, object]:
    """The API's body for a framework-level error of ``status`` (not a DomainError)."""
    code, zh, en = _API_FALLBACK_ERRORS.get(status, _API_FALLBACK_ERRORS[500])
    lang = (getattr(request, "LANGUAGE_CODE", "") or "zh-hans").lower()
    detail: dict[str, object] = {}
    if status >= 500:
        detail["request_id"] = request_id_of(request)
    if status == 413:
        detail["max_bytes"] = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return {"code": code, "message": en if lang.startswith("en") else zh, "detail": detail}


class ApiErrorShapeMiddleware:
    """Gives every non-JSON error answer under /api/ the {code, message, detail} body.

    It sits near the top of the middleware so that it also sees the 500 page Django makes
    when something below it fails (a database that went away in the session middleware).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        if response.status_code >= 500:
            logger.error(
                "API %s %s answered %s (request %s)",
                request.method, request.path, response.status_code, request_id_of(request),
            )  # fmt: skip
        shaped = JsonResponse(
            api_error_body(request, response.status_code),
            status=response.status_code,
            json_dumps_params={"ensure_ascii": False},
        )
        for header in ("Allow", "Retry-After", "X-Request-ID", "Cache-Control"):
            if response.has_header(header):
                shaped[header] = response[header]
        return shaped


class PlatformLocaleMiddleware(LocaleMiddleware):
    """Pages are in Simplified Chinese unless the visitor chose English with the switch.

    A browser's Accept-Language does not decide the page language of a Chinese public
    service; the API still honours it so that an app can ask for English errors.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith("/api/"):
            super().process_request(request)
            return
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        try:
            language = get_supported_language_variant(chosen) if chosen else settings.LANGUAGE_CODE
        except LookupError:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class PrivateAnswerMiddleware:
    """``Cache-Control: no-store`` on every answer that may hold personal data (issue 10, item 12).

    Whatever a logged-in caller gets (a session, a bearer token or client credentials) is never
    stored, whatever the view said. An anonymous answer is not stored either unless its view
    declared it cacheable with a ``Cache-Control`` of its own (a public trust list may): pages
    echo what was typed into their forms, and the accident query answers to a code, not a login.
    Static files and ``/favicon.ico`` are answered before this middleware and keep their caching.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        authenticated = bool(getattr(user, "is_authenticated", False)) or (
            getattr(request, "auth", None) is not None
        )
        cache_control = response.get("Cache-Control", "")
        if "no-store" not in cache_control and (authenticated or not cache_control):
            response["Cache-Control"] = "private, no-store"
        return response


_CSP_OVERRIDES = (
    "_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro",
    "_csp_exempt", "_csp_exempt_ro",
)  # fmt: skip


class PlatformCSPMiddleware(CSPMiddleware):
    """django-csp with the configured policy built once (issue 12).

    django-csp builds the header anew for every answer, because a view may change the policy or
    a page may ask for a nonce. An answer that does neither gets the configured policy, which is
    the same every time; any other goes through django-csp as before.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        self.policy = build_policy()
        self.policy_report_only = build_policy(report_only=True)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if (
            getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _CSP_OVERRIDES)
            or (settings.DEBUG and response.status_code in (404, 500))
        ):
            return super().process_response(request, response)
        if self.policy and CSP_HEADER not in response:
            response[CSP_HEADER] = self.policy
        if self.policy_report_only and CSP_HEADER_REPORT_ONLY not in response:
            response[CSP_HEADER_REPORT_ONLY] = self.policy_report_only
        # As django-csp does: a nonce asked for after the header was written is an error, not a
        # nonce missing from the policy.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
