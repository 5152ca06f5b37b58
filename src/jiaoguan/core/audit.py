"""Writing the audit trail. Every staff read or change of personal data comes through here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

from .identifiers import mask_id_number
from .models import AuditEntry

if TYPE_CHECKING:
    from django.http import HttpRequest


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {"actor": None, "actor_label": "anonymous", "actor_role": "", "actor_jurisdiction": ""}
    username = actor.get_username()
    label = mask_id_number(username) if len(username) == 18 and username[:17].isdigit() else username
    role = getattr(actor, "role_label", "") or ""
    return {
        "actor": actor,
        "actor_label": label,
        "actor_role": role[:64],
        "actor_jurisdiction": getattr(actor, "jurisdiction", "") or "",
    }


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    ip = request.META.get("REMOTE_ADDR")
    return ip or None


def audit_record(
    *,
    actor: Any,
    action: str,
    subject: models.Model,
    subject_person_id: int | None = None,
    summary: str = "",
    reason: str = "",
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Append one audit row; the caller's transaction keeps it with the change it records."""
    return AuditEntry.objects.create(
        **_actor_fields(actor),
        action=action,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
        subject_person_id=subject_person_id,
        summary=summary[:255],
        reason=reason[:255],
        ip_address=_client_ip(request),
    )


# Apps that know what an ID number or a plate stands for register how to find the audit
# rows about it (the registry does); core itself knows no registry.
AuditSearch = Callable[[str], "Q | None"]
_AUDIT_SEARCHES: list[AuditSearch] = []


def register_audit_search(search: AuditSearch) -> AuditSearch:
    """Register a function that turns a search term into a filter of audit rows, or None."""
    _AUDIT_SEARCHES.append(search)
    return search


def subjects_matching(term: str) -> Q | None:
    """The audit rows about the person or record a term names (an ID number, a plate), or None."""
    found = [q for q in (search(term) for search in _AUDIT_SEARCHES) if q is not None]
    if not found:
        return None
    match = found[0]
    for q in found[1:]:
        match |= q
    return match
