"""Reads about accounts: the citizen's own profile and who accessed their data."""

from __future__ import annotations

from django.db.models import QuerySet

from jiaoguan.core.models import AuditEntry

from .models import User


def access_log_for(*, user: User, limit: int = 50) -> QuerySet[AuditEntry]:
    """Staff reads and changes of the user's personal data ("谁查看了我的信息")."""
    if user.person_id is None:
        return AuditEntry.objects.none()
    return (
        AuditEntry.objects.filter(subject_person_id=user.person_id, actor__kind=User.Kind.STAFF)
        .exclude(action__in=["login", "login_failed"])
        .order_by("-at", "-id")[:limit]
    )
