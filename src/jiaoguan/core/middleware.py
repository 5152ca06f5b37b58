"""Turns a DomainError escaping a page view into the error page with its status, never a 500."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
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


_API_FALLBACK_ERRORS: dict[int, tuple[str, str, str]] = {
    404: ("not_found", "没有找到所请求的接口或记录。", "No such endpoint or record."),
    405: ("method_not_allowed", "该接口不支持此请求方法。", "This endpoint does not support that method."),
}


class ApiErrorShapeMiddleware:
    """Gives the API's framework-level 404/405 answers the same {code, message, detail} body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        fallback = _API_FALLBACK_ERRORS.get(response.status_code)
        if (
            fallback is None
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        code, zh, en = fallback
        lang = (getattr(request, "LANGUAGE_CODE", "") or "zh-hans").lower()
        shaped = JsonResponse(
            {"code": code, "message": en if lang.startswith("en") else zh, "detail": {}},
            status=response.status_code,
            json_dumps_params={"ensure_ascii": False},
        )
        if response.has_header("Allow"):
            shaped["Allow"] = response["Allow"]
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
