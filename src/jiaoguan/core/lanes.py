"""Two lanes into the application: browser requests and stateless API calls (issue 12).

An app or a verifier calls the API with a bearer token, client credentials or nothing at all,
and never sends a cookie. Such a call needs nothing from the session, CSRF, messages, htmx or
the static files, yet the full middleware stack costs about as much as the read it serves.
A request under ``/api/`` that carries no ``Cookie`` header therefore goes through a shorter
stack: settings.MIDDLEWARE without ``STATELESS_API_SKIPS``, with
:class:`StatelessApiMiddleware` where the authentication middleware was. Everything else
(request ids, logs, metrics, error shapes, security headers, language, no-store) is the same
middleware in the same order. With no cookie there is no session to ride on, so no CSRF to
check; a request with any cookie takes the full stack, as does every page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse

API_PREFIX = "/api/"

# The middleware only a browser's request needs; the stateless lane leaves them out.
STATELESS_API_SKIPS: frozenset[str] = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "jiaoguan.core.middleware.PlatformCSPMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "django_htmx.middleware.HtmxMiddleware",
    }
)
_AUTHENTICATION = "django.contrib.auth.middleware.AuthenticationMiddleware"
_STATELESS = "jiaoguan.core.lanes.StatelessApiMiddleware"


def stateless_middleware(middleware: Iterable[str]) -> list[str]:
    """The stateless lane's stack: the same order, browser-only middleware left out."""
    lane = []
    for path in middleware:
        if path == _AUTHENTICATION:
            lane.append(_STATELESS)
        elif path not in STATELESS_API_SKIPS:
            lane.append(path)
    return lane


class StatelessApiMiddleware:
    """Stands for the browser middleware in the stateless lane: an anonymous user until an API
    authenticator finds one, and the headers the pages' middleware would have added (the
    Content-Security-Policy is the configured one, built once instead of on every answer)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = build_policy()
        self.frame_options = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.user = AnonymousUser()
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        if "X-Frame-Options" not in response:
            response["X-Frame-Options"] = self.frame_options
        return response


class StatelessApiHandler(WSGIHandler):
    """A WSGI handler whose middleware is the stateless lane's."""

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE; it is swapped for the lane's while
        # the chain is built, once, when the process starts and before it serves anything.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = stateless_middleware(full)
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def is_stateless_api_call(environ: dict[str, Any]) -> bool:
    return str(environ.get("PATH_INFO", "")).startswith(API_PREFIX) and not environ.get("HTTP_COOKIE")


class LanedApplication:
    """The WSGI application: stateless API calls to their lane, everything else to Django's."""

    def __init__(self, full: Callable[..., Any], stateless: Callable[..., Any]) -> None:
        self.full = full
        self.stateless = stateless

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        lane = self.stateless if is_stateless_api_call(environ) else self.full
        return lane(environ, start_response)
