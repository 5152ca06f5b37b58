"""The platform's authentication backend: Django's ``authenticate()`` (the back-office login)
goes through :func:`services.account_authenticate`, like the login page and the API, so it has
the same account lock, per-client throttle and equal work for unknown accounts (issue 10, item 10).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from jiaoguan.core.errors import Unauthenticated

from . import services
from .models import User


class PlatformBackend(ModelBackend):
    """Passwords through the accounts service; sessions and permissions as Django's own backend.

    A lock or a throttled client raises :class:`~jiaoguan.core.errors.Throttled` out of the
    login view, which the error page answers with 429 and ``Retry-After``.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            return services.account_authenticate(username=username, password=password, request=request)
        except Unauthenticated:
            return None

    def get_user(self, user_id: Any) -> User | None:
        """The session's user, kept in the shared cache like a bearer token's (issue 12): any
        change of the user (a password change, a deactivation) retires it at once."""
        return services.session_user(user_id, load=super().get_user)
