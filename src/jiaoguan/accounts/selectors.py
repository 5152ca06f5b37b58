"""Reads about accounts: the citizen's own profile and who accessed their data."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry.documents import normalise_document_number
from jiaoguan.registry.selectors import persons_visible_to

from . import rules
from .models import OrganisationMember, User


def home_division(user: Any) -> str:
    """The division whose counters are nearest a visitor: residence, registration or jurisdiction;
    the platform's own for an anonymous visitor."""
    if getattr(user, "is_authenticated", False):
        if user.person is not None:
            return str(user.person.residence_division or "")
        if user.organisation is not None:
            return str(user.organisation.division or "")
        if user.jurisdiction:
            return str(user.jurisdiction)
    return str(settings.JIAOGUAN_JURISDICTION)


def access_log_for(*, user: User, limit: int = 50) -> QuerySet[AuditEntry]:
    """Staff reads and changes of the user's personal data ("谁查看了我的信息")."""
    if user.person_id is None:
        return AuditEntry.objects.none()
    return (
        AuditEntry.objects.filter(subject_person_id=user.person_id, actor__kind=User.Kind.STAFF)
        .exclude(action__in=["login", "login_failed"])
        .order_by("-at", "-id")[:limit]
    )


def access_groups_for(*, user: User, limit: int = 50) -> list[rules.AccessGroup]:
    """ "谁查看了我的信息" as people read it: repeated views within a minute on one line."""
    views = [
        rules.AccessView(
            at=entry.at,
            actor=entry.actor_label,
            role=entry.actor_role,
            action=entry.action,
            record=f"{entry.subject_type}#{entry.subject_id}",
            summary=entry.summary,
        )
        for entry in access_log_for(user=user, limit=limit)
    ]
    return rules.group_access_views(views)


def account_find_for_counter(
    *, actor: User, id_type: str, id_number: str, request: HttpRequest | None = None
) -> User | None:
    """Exact match of an individual account by document, for a counter clerk; audited as a staff read.

    Only persons the clerk's jurisdiction knows are found (resident there, or with a vehicle or
    licence registered there); anyone else is "not found", the same answer as no account.
    """
    number = normalise_document_number(id_type, id_number)
    require(actor, "accounts.account.lookup")
    visible = persons_visible_to(actor=actor)
    found = (
        User.objects.select_related("person")
        .filter(kind=User.Kind.INDIVIDUAL, person__id_type=id_type, person__id_number=number)
        .filter(person__in=visible.values("pk"))
        .first()
    )
    if found is not None:
        audit_record(
            actor=actor,
            action="view",
            subject=found,
            subject_person_id=found.person_id,
            summary="窗口查询用户 counter lookup",
            request=request,
        )
    return found


def organisation_members(*, organisation_id: int) -> QuerySet[OrganisationMember]:
    """The people who act for an organisation, oldest first; the caller has found it in scope."""
    return (
        OrganisationMember.objects.filter(organisation_id=organisation_id)
        .select_related("person")
        .order_by("added_at", "id")
    )
