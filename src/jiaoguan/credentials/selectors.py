"""Reads of credentials, limited to what the actor may see."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from jiaoguan.core.access import division_prefix_for, require
from jiaoguan.core.errors import NotFound
from jiaoguan.registry.models import Vehicle
from jiaoguan.registry.selectors import vehicle_status

from .models import Credential, LicenceApplication, OnlineNonce, PaperMarkRequest

PHOTO_REVIEW = "credentials.photo.review"


def _last_online_check() -> Subquery:
    return Subquery(
        OnlineNonce.objects.filter(credential=OuterRef("pk"), verified_at__isnull=False)
        .order_by("-verified_at")
        .values("verified_at")[:1]
    )


# Vehicles a user may show the inspection mark of without owning them (a filed vehicle, 备案车辆,
# U7). The apps that grant such a right live in higher layers: they register a provider here in
# their AppConfig.ready, so this layer imports none of them. A provider answers the ids visible
# right now (an ended grant is gone from its answer at once).
SharedVehicleProvider = Callable[[Any], Iterable[int]]
_shared_vehicle_providers: list[SharedVehicleProvider] = []


def register_shared_vehicles(provider: SharedVehicleProvider) -> None:
    """Add a provider of "vehicle ids whose mark this user may see" (idempotent)."""
    if provider not in _shared_vehicle_providers:
        _shared_vehicle_providers.append(provider)


def shared_vehicle_ids(*, user: Any) -> set[int]:
    """Ids of vehicles not the user's own whose inspection mark the user may see and show (U7)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    found: set[int] = set()
    for provider in _shared_vehicle_providers:
        found.update(int(pk) for pk in provider(user))
    return found


def is_shared(*, user: Any, credential: Credential) -> bool:
    """Whether the user sees this credential through a shared vehicle rather than as its owner."""
    vehicle = credential.vehicle if credential.vehicle_id else None
    if vehicle is None:
        return False
    person_id = getattr(user, "person_id", None)
    organisation_id = getattr(user, "organisation_id", None)
    owns = (person_id is not None and vehicle.owner_person_id == person_id) or (
        organisation_id is not None and vehicle.owner_organisation_id == organisation_id
    )
    return not owns


def my_credentials(*, user: Any) -> QuerySet[Credential]:
    """Current credentials of the user's vehicles and licence (superseded ones are history), and
    the inspection marks of vehicles shared with the user (a filed vehicle, U7).

    Each carries ``last_checked_at``: when one of its on-screen QRs was last verified (E3).
    """
    mine = Q(pk__in=[])
    if getattr(user, "person_id", None):
        mine = Q(vehicle__owner_person_id=user.person_id) | Q(licence__holder_id=user.person_id)
    elif getattr(user, "organisation_id", None):
        mine = Q(vehicle__owner_organisation_id=user.organisation_id)
    shared = shared_vehicle_ids(user=user)
    if shared:
        mine |= Q(kind="VI1", vehicle_id__in=sorted(shared))
    return (
        Credential.objects.filter(mine, status__in=["valid", "suspended", "revoked"])
        .exclude(status="revoked", superseded_by__isnull=False)
        .annotate(last_checked_at=_last_online_check())
        .select_related("vehicle", "licence")
        .order_by("kind", "pk")
    )


def my_credential_get(*, user: Any, public_id: str) -> Credential:
    """One of my credentials by its public id; anything else is 'not found'."""
    found = my_credentials(user=user).filter(public_id=public_id).first() if _is_uuid(public_id) else None
    if found is None:
        raise NotFound("credentials.not_found", "没有找到该凭证。", "No such credential.")
    return found


def online_checked_at(*, credential: Credential, nonce: str) -> datetime | None:
    """When the holder's on-screen QR with this nonce was verified; None while it is unused (E3)."""
    return (
        OnlineNonce.objects.filter(credential=credential, nonce=nonce[:32])
        .values_list("verified_at", flat=True)
        .first()
    )


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


# ---------------------------------------------------------------- paper marks and E6 (issue 14)


def vehicle_mark_valid(*, vehicle_id: int, today: Any) -> Credential | None:
    """The vehicle's valid electronic inspection mark on ``today``, or None (E6: with one, a lost
    paper mark needs no replacement)."""
    return (
        Credential.objects.filter(
            vehicle_id=vehicle_id,
            kind=Credential.Kind.INSPECTION_MARK,
            status="valid",
            valid_until__gte=today,
        )
        .order_by("-pk")
        .first()
    )


def paper_mark_requests_unsent() -> QuerySet[PaperMarkRequest]:
    """Paper-mark requests of exempt applications not sent yet, oldest first, with their vehicle
    and owner (for turning stored requests into applications, issue 14)."""
    return (
        PaperMarkRequest.objects.filter(sent_at__isnull=True)
        .select_related("credential__vehicle__owner_person")
        .order_by("pk")
    )


# ---------------------------------------------------------------- the paper label rule (issue 14, E3)


# Registry statuses (S7) under which no mark is valid: transferred out, stolen, deregistered, forced
# deregistration, scrapped, and the pausing ones (suspect, sealed, detained, locked); as services.
VEHICLE_ENDING = frozenset("BCEMPJKLO")


def _end_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.max))


def inspection_mark_valid_on(*, plate_number: str, on: date) -> bool:
    """Whether the vehicle with this plate had a valid electronic inspection mark on ``on`` (E3).

    The one question the violations app asks before fining for the paper label (未按规定放置检验
    合格标志): yes when a mark (VI1) issued by then covered the day and was not yet revoked,
    suspended or superseded that day, or when the registry's inspection validity covered it and the
    vehicle had no ending status (E1: every vehicle within its validity is entitled to the mark;
    one inspected since the day is judged only by its marks, as the registry keeps the last
    inspection only). A plate the registry does not know has no mark.
    """
    end = _end_of_day(on)
    marks = Credential.objects.filter(
        kind=Credential.Kind.INSPECTION_MARK,
        vehicle__plate_number=plate_number,
        issued_at__lte=end,
        valid_until__gte=on,
    ).filter(
        Q(status=Credential.Status.VALID) | Q(status_changed_at__isnull=True) | Q(status_changed_at__gt=end)
    )
    if marks.exists():
        return True
    vehicle = Vehicle.objects.filter(plate_number=plate_number).first()
    if vehicle is None or (vehicle.last_inspected_on is not None and vehicle.last_inspected_on > on):
        return False
    if set(vehicle.status or "A") & VEHICLE_ENDING:
        return False
    try:
        status = vehicle_status(vehicle, today=on)
    except Exception:  # a record the rules cannot read decides nothing in the owner's favour
        return False
    return status.inspection_state != "overdue"
