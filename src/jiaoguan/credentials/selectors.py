"""Reads of credentials, limited to what the actor may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from jiaoguan.core.access import division_prefix_for, require
from jiaoguan.core.errors import NotFound

from .models import Credential, LicenceApplication

PHOTO_REVIEW = "credentials.photo.review"


def my_credentials(*, user: Any) -> QuerySet[Credential]:
    """Current credentials of the user's vehicles and licence (superseded ones are history)."""
    mine = Q(pk__in=[])
    if getattr(user, "person_id", None):
        mine = Q(vehicle__owner_person_id=user.person_id) | Q(licence__holder_id=user.person_id)
    elif getattr(user, "organisation_id", None):
        mine = Q(vehicle__owner_organisation_id=user.organisation_id)
    return (
        Credential.objects.filter(mine, status__in=["valid", "suspended", "revoked"])
        .exclude(status="revoked", superseded_by__isnull=False)
        .select_related("vehicle", "licence")
        .order_by("kind", "pk")
    )


def my_credential_get(*, user: Any, public_id: str) -> Credential:
    """One of my credentials by its public id; anything else is 'not found'."""
    found = my_credentials(user=user).filter(public_id=public_id).first() if _is_uuid(public_id) else None
    if found is None:
        raise NotFound("credentials.not_found", "没有找到该凭证。", "No such credential.")
    return found


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def licence_applications_for_review(*, actor: Any) -> QuerySet[LicenceApplication]:
    """E-licence applications (D1) of licences registered inside what the reviewer may see."""
    require(actor, PHOTO_REVIEW)
    prefix = division_prefix_for(actor, PHOTO_REVIEW)
    if prefix is None:
        return LicenceApplication.objects.none()
    return LicenceApplication.objects.filter(licence__division__startswith=prefix).select_related(
        "licence__holder"
    )
