"""Credential use cases: issue, reissue, status changes, staff revocation, tokens for display,
verification.

Nothing is signed from a registry record that today's validators would refuse (a plate, a
VIN or an ID number that fails ``core.identifiers``, a status code the status tables do not
know): such a subject gets no credential, its current one is suspended, and a warning is
logged for the data check to follow up.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing as django_signing
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from jiaoguan.core.access import division_prefix_for, require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, DomainError, NotAllowed, NotFound, ValidationFailed
from jiaoguan.core.identifiers import mask_name, validate_plate, validate_vin
from jiaoguan.core.outbox import outbox_enqueue, outbox_handler
from jiaoguan.core.purges import BATCH, purge_in_batches
from jiaoguan.core.versioned_cache import Uncached, renew_versions, versioned_read
from jiaoguan.registry.documents import normalise_document_number
from jiaoguan.registry.events import REGISTRY_CHANGED
from jiaoguan.registry.models import DrivingLicence, Vehicle
from jiaoguan.registry.rules import LICENCE_STATUS, VEHICLE_STATUS, UseNature, VehicleKind
from jiaoguan.registry.selectors import licence_status, vehicle_status

from . import keys as signing
from . import photos
from .crypto import algorithm_for
from .models import Credential, LicenceApplication, OnlineNonce, PaperMarkRequest
from .token import (
    DRIVING_LICENCE,
    INSPECTION_MARK,
    STATUS_LIST,
    Decoded,
    DisplayMode,
    Schema,
    TokenRejected,
    date_int,
    encode,
)
from .verify import Verdict, pack_status_bits, verdict_for

# Registry status codes that end a credential (S7) and those that pause it.
VEHICLE_REVOKING = frozenset("BCEMP")  # transferred out, stolen, deregistered, forced, scrapped
VEHICLE_SUSPENDING = frozenset("JKLO")  # suspect, sealed, detained, locked
LICENCE_REVOKING = frozenset("CEFG")  # transferred out, revoked, withdrawn, cancelled
LICENCE_SUSPENDING = frozenset(
    "BDJKLRU"
)  # full points, suspended, stopped, held, locked, cancelled-recoverable
STATUS_CODE = {"valid": 0, "suspended": 1, "revoked": 2, "superseded": 3}

logger = logging.getLogger(__name__)

# Status reasons (Credential.status_reason) the pages put into words.
RECORD_INVALID = "registry record invalid"
VEHICLE_STATUS_UNKNOWN = "vehicle status unknown"
LICENCE_STATUS_UNKNOWN = "licence status unknown"
REVOKED_BY_STAFF = "revoked by staff: "


# ---------------------------------------------------------------- registry values fit to sign

_KINDS = frozenset(k.value for k in VehicleKind)
_USES = frozenset(u.value for u in UseNature)


def unknown_codes(stored: str | None, table: dict[str, tuple[str, str]]) -> str:
    """The characters of a stored status string that the status table does not list."""
    return "".join(sorted({code for code in (stored or "A") if code not in table}))


def vehicle_problem(vehicle: Vehicle) -> tuple[str, str]:
    """Why the vehicle's record may not be signed: (status reason, detail for the log), or ("", "")."""
    try:
        validate_plate(vehicle.plate_number or "")
    except DomainError as error:
        return RECORD_INVALID, f"plate {error.code}"
    try:
        if validate_vin(vehicle.vin) != vehicle.vin:
            return RECORD_INVALID, "vin not stored in canonical form"
    except DomainError as error:
        return RECORD_INVALID, f"vin {error.code}"
    if vehicle.kind not in _KINDS or vehicle.use_nature not in _USES:
        return RECORD_INVALID, "vehicle kind or use not in the code tables"
    unknown = unknown_codes(vehicle.status, VEHICLE_STATUS)
    if unknown:
        return VEHICLE_STATUS_UNKNOWN, f"status codes {unknown!r}"
    return "", ""


def licence_problem(licence: DrivingLicence) -> tuple[str, str]:
    """Why the licence's record may not be signed: (status reason, detail for the log), or ("", "")."""
    holder = licence.holder
    try:
        if normalise_document_number(holder.id_type, holder.id_number) != holder.id_number:
            return RECORD_INVALID, "holder id number not stored in canonical form"
    except DomainError as error:
        return RECORD_INVALID, f"holder id number {error.code}"
    unknown = unknown_codes(licence.status, LICENCE_STATUS)
    if unknown:
        return LICENCE_STATUS_UNKNOWN, f"status codes {unknown!r}"
    return "", ""


def _refuse_to_sign(kind: str, pk: int, detail: str) -> None:
    logger.warning("no %s signed for registry record %s: %s fails validation", kind, pk, detail)


def _end_of_day(day: date) -> int:
    return int(timezone.make_aware(datetime.combine(day, datetime.max.time())).timestamp())


# ---------------------------------------------------------------- issue


def _mark_data(vehicle: Vehicle, today: date) -> tuple[dict[str, Any], date, bool]:
    status = vehicle_status(vehicle, today=today)
    owner = vehicle.owner_person.name if vehicle.owner_person_id else vehicle.owner_organisation.name  # type: ignore[union-attr]
    data = {
        "plate": vehicle.plate_number or "",
        "plate_type": vehicle.plate_type,
        "vin_tail": vehicle.vin[-6:],
        "kind": vehicle.kind,
        "use": vehicle.use_nature,
        "valid_until": date_int(status.inspection_valid_until),
        "owner": mask_name(owner) if vehicle.owner_person_id else owner,
        "exempt": 0 if status.next_inspection_on_site else 1,
    }
    return data, status.inspection_valid_until, status.inspection_state != "overdue"


def _replace_current(
    *,
    subject: dict[str, Any],
    kind: str,
    data: dict[str, Any],
    valid_until: date,
    event: str,
    new_document: bool = False,
) -> Credential:
    """Issue a credential for a subject, superseding the current one; runs inside a transaction.

    ``new_document``: a new plate or vehicle licence was issued (issue 14), so the mark is
    reissued even when its data read the same.
    """
    current = (
        Credential.objects.select_for_update().filter(**subject, status__in=["valid", "suspended"]).first()
    )
    if (
        new_document
        and current is not None
        and current.event == event
        and timezone.localdate(current.issued_at) == timezone.localdate()
    ):
        # The same announcement delivered again (the outbox is at least once): reissued already.
        new_document = False
    if (
        not new_document
        and current is not None
        and current.status == "valid"
        and current.data == data
        and current.valid_until == valid_until
    ):
        return current  # nothing changed: issuing again is a no-op, so retries are safe
    now = timezone.now()
    if current is not None:
        current.status = Credential.Status.SUPERSEDED
        current.status_reason = f"reissued: {event}"
        current.status_changed_at = now
        current.save(update_fields=["status", "status_reason", "status_changed_at"])
    new = Credential.objects.create(kind=kind, data=data, valid_until=valid_until, event=event, **subject)
    if current is not None:
        Credential.objects.filter(pk=current.pk).update(superseded_by=new)
    credential_event_publish(new, change="issued")
    return new


CREDENTIAL_CHANGED = "credentials.changed"


def credential_event_publish(credential: Credential, *, change: str) -> None:
    """Tell, after commit, that a credential was issued, suspended or revoked (issue 15: the
    message centre tells the holder). Keyed by credential and change: a retry tells once."""
    outbox_enqueue(
        topic=CREDENTIAL_CHANGED,
        payload={"credential_id": credential.pk, "change": change, "reason": credential.status_reason[:120]},
        dedup_key=f"credential-{credential.pk}-{change}",
    )


def inspection_mark_issue(
    *, vehicle_id: int, event: str, today: date | None = None, new_document: bool = False
) -> Credential | None:
    """Issue (or keep) the electronic inspection mark of a vehicle within its validity (E1).

    Returns None when the vehicle has no right to a mark (inspection overdue, stolen,
    deregistered ...); an existing mark is then suspended or revoked by the status sync.
    ``new_document``: new plates or a new vehicle licence were issued (B1, B2, B20, B21), so a
    new mark supersedes the current one even if nothing it carries changed.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        vehicle = (
            Vehicle.objects.select_for_update(of=("self",))  # owners join outer: lock the vehicle row only
            .select_related("owner_person", "owner_organisation")
            .filter(pk=vehicle_id)
            .first()
        )
        if vehicle is None:
            raise NotFound("credentials.vehicle_not_found", "没有这辆车。", "No such vehicle.")
        problem, detail = vehicle_problem(vehicle)
        if problem:
            _refuse_to_sign("inspection mark", vehicle.pk, detail)
            _sync_vehicle(vehicle, today)
            return None
        data, valid_until, in_validity = _mark_data(vehicle, today)
        stored = set(vehicle.status or "A")
        if not in_validity or stored & (VEHICLE_REVOKING | VEHICLE_SUSPENDING):
            _sync_vehicle(vehicle, today)
            return None
        return _replace_current(
            subject={"vehicle": vehicle},
            kind=Credential.Kind.INSPECTION_MARK,
            data=data,
            valid_until=valid_until,
            event=event,
            new_document=new_document,
        )


@dataclass
class BulkIssueReport:
    """What a bulk issue left out: vehicles whose registry values fail validation (logged each)."""

    skipped: int = 0
    skipped_ids: list[int] = field(default_factory=list)


def inspection_marks_bulk_issue(
    *, today: date | None = None, batch_size: int = 1000, report: BulkIssueReport | None = None
) -> int:
    """Issue marks for every vehicle within its inspection validity that has none yet (E1).

    Returns the number issued; vehicles whose plate, VIN or status code fails validation are
    skipped, logged and counted in ``report``.
    """
    today = today or timezone.localdate()
    created = 0
    last_pk = 0
    while True:
        batch = list(
            Vehicle.objects.select_related("owner_person", "owner_organisation")
            .filter(pk__gt=last_pk)
            .exclude(credentials__status__in=["valid", "suspended"])
            .order_by("pk")[:batch_size]
        )
        if not batch:
            return created
        last_pk = batch[-1].pk
        rows = []
        for vehicle in batch:
            problem, detail = vehicle_problem(vehicle)
            if problem:
                _refuse_to_sign("inspection mark", vehicle.pk, detail)
                if report is not None:
                    report.skipped += 1
                    report.skipped_ids.append(vehicle.pk)
                continue
            if set(vehicle.status or "A") & (VEHICLE_REVOKING | VEHICLE_SUSPENDING):
                continue
            data, valid_until, in_validity = _mark_data(vehicle, today)
            if in_validity:
                rows.append(
                    Credential(
                        kind=Credential.Kind.INSPECTION_MARK,
                        vehicle=vehicle,
                        data=data,
                        valid_until=valid_until,
                        event="bulk",
                    )
                )
        with transaction.atomic():
            # Lock order everywhere: the vehicle row, then its credentials. Vehicles another
            # issuer holds are skipped (it is issuing their mark); inserting without the lock
            # would deadlock against it through the foreign-key check.
            locked = set(
                Vehicle.objects.select_for_update(skip_locked=True)
                .filter(pk__in=[row.vehicle_id for row in rows])
                .values_list("pk", flat=True)
            )
            # Re-check under the lock: a mark issued since the batch was read stays as it is.
            locked -= set(
                Credential.objects.filter(
                    vehicle_id__in=locked, status__in=["valid", "suspended"]
                ).values_list("vehicle_id", flat=True)
            )
            rows = [row for row in rows if row.vehicle_id in locked]
            # A mark issued meanwhile by another path wins; the unique constraint keeps one.
            created += len(Credential.objects.bulk_create(rows, ignore_conflicts=True))


def inspection_exempt_apply(
    *, actor: Any, vehicle_id: int, delivery: str = "", address: str = "", today: date | None = None
) -> Credential:
    """Online application of an inspection-exempt vehicle (E2): the label is granted at once.

    Only the owner's own vehicle in a person's name: another's vehicle is "not found".
    """
    require(actor, "credentials.mark.apply_exempt")
    today = today or timezone.localdate()
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update().filter(pk=vehicle_id).first()
        if (
            vehicle is None
            or vehicle.owner_person_id is None
            or vehicle.owner_person_id != getattr(actor, "person_id", None)
        ):
            raise NotFound("credentials.vehicle_not_found", "没有这辆车。", "No such vehicle.")
        require(actor, "credentials.mark.apply_exempt", owner_person_id=vehicle.owner_person_id)
        if vehicle_problem(vehicle)[0]:
            raise _record_refused("机动车")
        status = vehicle_status(vehicle, today=today)
        if status.next_inspection_on_site:
            raise NotAllowed(
                "credentials.on_site_required",
                "本次检验须上线检验，不能网上申领检验标志，请预约检验。",
                "This inspection must be done on site; book an inspection instead.",
            )
        if status.inspection_state != "due_soon":
            raise Conflict(
                "credentials.exempt_window",
                "只能在检验有效期满前三个月内申领检验标志。",
                "The label can only be applied for within the 3 months before the inspection expires.",
            )
        if delivery and delivery not in PaperMarkRequest.Delivery.values:
            raise ValidationFailed(
                "credentials.delivery",
                "请选择领取方式。",
                "Choose how to receive the paper mark.",
                field="delivery",
            )
        if delivery == PaperMarkRequest.Delivery.POST and not address.strip():
            raise ValidationFailed(
                "credentials.address_required",
                "邮寄须填写地址。",
                "Enter the postal address.",
                field="address",
            )
        vehicle.last_inspected_on = today
        vehicle.save(update_fields=["last_inspected_on"])
        credential = inspection_mark_issue(vehicle_id=vehicle.pk, event="exempt_applied", today=today)
        if credential is None:
            raise Conflict(
                "credentials.not_issuable",
                "该车当前不能签发检验标志。",
                "No mark can be issued for this vehicle now.",
            )
        if delivery:
            paper = PaperMarkRequest.objects.create(
                credential=credential, delivery=delivery, address=address.strip()[:200]
            )
            # The paper mark is made and sent through the applications engine (issue 14, E2):
            # the applications app hears of it and opens the application; this app never
            # writes its tables.
            outbox_enqueue(
                topic=PAPER_MARK_REQUESTED,
                payload=paper_mark_request_payload(paper, vehicle=vehicle, owner_user_id=actor.pk),
                dedup_key=f"credentials-paper-mark-{paper.pk}",
            )
    return credential


# ---------------------------------------------------------------- paper marks (issue 14, E2)

PAPER_MARK_REQUESTED = "credentials.paper_mark_requested"
PAPER_MARK_SOURCE = "credentials.paper_mark_request"


def paper_mark_request_payload(
    paper: PaperMarkRequest, *, vehicle: Vehicle, owner_user_id: int
) -> dict[str, Any]:
    """The ``credentials.paper_mark_requested`` payload: the same shape as the inspections'
    ``inspections.paper_label_requested``, so one handler opens both kinds of application.

    The exempt application asks for one address line only; the recipient is the owner, the
    mobile the one on record, the address's division the owner's residence (or the vehicle's).
    """
    person = vehicle.owner_person
    return {
        "vehicle_id": vehicle.pk,
        "owner_user_id": owner_user_id,
        "credential_id": paper.credential_id,
        "paper_request_id": paper.pk,
        "delivery": paper.delivery,
        "recipient_name": person.name if person is not None else "",
        "recipient_phone": (vehicle.owner_mobile or (person.mobile if person is not None else "")) or "",
        "address_division": (person.residence_division if person is not None else "") or vehicle.division,
        "address_line": paper.address,
        "division": vehicle.division,
        "source": f"{PAPER_MARK_SOURCE}:{paper.pk}",
    }


def paper_mark_request_sent(*, paper_request_id: int, at: datetime) -> bool:
    """The paper mark of a request was handed over or delivered (the applications engine
    completed its application); True when this call recorded it, False if it was already."""
    return bool(PaperMarkRequest.objects.filter(pk=paper_request_id, sent_at__isnull=True).update(sent_at=at))


def _licence_data(licence: DrivingLicence, today: date) -> tuple[dict[str, Any], date]:
    status = licence_status(licence, today=today)
    remarks = [r.strip() for r in (licence.remarks or "").split(";") if r.strip()]  # codes, see token.REMARKS
    data = {
        # The QR is signed, not encrypted: it carries only masked personal data (E5, PIPL minimisation).
        "name": mask_name(licence.holder.name),
        "number": licence.holder.id_number[:6] + licence.holder.id_number[-4:],
        "archive": int(licence.archive_number),
        "classes": "".join(c for c, _zh, _en in status.classes),
        "valid_from": date_int(licence.valid_from),
        "valid_until": date_int(status.valid_until),
        "first_issued": date_int(licence.first_issued_on),
        "remarks": remarks or None,
        "office": int(licence.division),
        # The approved photo travels as its digest only (D1): an offline checker compares the
        # photo the holder shows with it; the picture itself is fetched only after a verification.
        "photo": _approved_photo_digest(licence),
    }
    return data, status.valid_until or date(9999, 12, 31)


def _approved_application(licence_id: int) -> LicenceApplication | None:
    """The licence's latest approved application with its photo in the fixed form (D1)."""
    return (
        LicenceApplication.objects.filter(
            licence_id=licence_id, state=LicenceApplication.State.APPROVED, card_photo__isnull=False
        )
        .exclude(photo_digest="")
        .order_by("-reviewed_at", "-id")
        .first()
    )


def _approved_photo_digest(licence: DrivingLicence) -> str | None:
    application = _approved_application(licence.pk)
    return application.photo_digest if application is not None else None


def _record_refused(what: str) -> Conflict:
    return Conflict(
        "credentials.registry_record_invalid",
        f"{what}登记信息未通过核验，暂不能签发电子凭证，请到车管所窗口核对登记信息。",
        "The registry record does not pass validation; no electronic credential can be issued. "
        "Have it checked at a DMV counter.",
    )


def licence_credential_issue(*, licence_id: int, event: str, today: date | None = None) -> Credential:
    """Issue (or reissue) the electronic driving licence (D1, D2)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        licence = (
            DrivingLicence.objects.select_for_update().select_related("holder").filter(pk=licence_id).first()
        )
        if licence is None:
            raise NotFound("credentials.licence_not_found", "没有这本驾驶证。", "No such licence.")
        problem, detail = licence_problem(licence)
        if problem:
            _refuse_to_sign("e-licence", licence.pk, detail)
            raise _record_refused("驾驶证")
        if set(licence.status or "A") & (LICENCE_REVOKING | LICENCE_SUSPENDING):
            raise Conflict(
                "credentials.licence_status",
                "驾驶证当前状态不能签发电子驾驶证。",
                "The licence's current status does not allow an electronic licence.",
            )
        data, valid_until = _licence_data(licence, today)
        if valid_until < today:
            raise Conflict(
                "credentials.licence_expired",
                "驾驶证已超过有效期，请先办理期满换证。",
                "The licence has expired; renew it first.",
            )
        return _replace_current(
            subject={"licence": licence},
            kind=Credential.Kind.DRIVING_LICENCE,
            data=data,
            valid_until=valid_until,
            event=event,
        )


# ---------------------------------------------------------------- D1 application with photo

PHOTO_REVIEW = "credentials.photo.review"

PHOTO_MAX_BYTES = 2 * 1024 * 1024


def check_licence_photo(photo: bytes) -> str:
    """The photo checks of the e-licence (D1): a readable JPEG or PNG portrait, 200x250 to 4000 px,
    under 2 MB; returns its format. Business applications check their photos the same way (issue 13)."""
    from PIL import Image, UnidentifiedImageError

    if not photo or len(photo) > PHOTO_MAX_BYTES:
        raise ValidationFailed(
            "credentials.photo_size",
            "照片须为2MB以内的JPEG或PNG。",
            "The photo must be a JPEG or PNG under 2 MB.",
            field="photo",
        )
    try:
        with Image.open(io.BytesIO(photo)) as image:
            kind = (image.format or "").lower()
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed(
            "credentials.photo_unreadable",
            "照片无法识别，请重新拍摄。",
            "The photo cannot be read; take it again.",
            field="photo",
        ) from None
    if kind not in {"jpeg", "png"}:
        raise ValidationFailed(
            "credentials.photo_type",
            "照片须为JPEG或PNG格式。",
            "The photo must be JPEG or PNG.",
            field="photo",
        )
    if width < 200 or height < 250 or width > 4000 or height > 4000:
        raise ValidationFailed(
            "credentials.photo_dimensions",
            "照片尺寸不合适：至少200×250像素的正面免冠照。",
            "The photo must be a frontal portrait of at least 200x250 pixels.",
            field="photo",
        )
    return kind


def licence_application_submit(*, actor: Any, photo: bytes) -> LicenceApplication:
    """Apply for the electronic licence with a photo; staff review it before issue (D1)."""
    require(actor, "credentials.licence.apply")
    licence = (
        DrivingLicence.objects.select_related("holder")
        .filter(holder_id=getattr(actor, "person_id", None))
        .first()
    )
    if licence is None:
        raise NotFound("credentials.no_licence", "您名下没有驾驶证。", "You hold no driving licence.")
    problem, detail = licence_problem(licence)
    if problem:
        _refuse_to_sign("e-licence", licence.pk, detail)
        raise _record_refused("驾驶证")
    if set(licence.status or "A") & (LICENCE_REVOKING | LICENCE_SUSPENDING):
        raise Conflict(
            "credentials.licence_status",
            "驾驶证当前状态不能申领电子驾驶证，请到窗口办理。",
            "The licence's current status does not allow an electronic licence; visit a counter.",
        )
    kind = check_licence_photo(photo)
    try:
        fixed = photos.card_photo(photo)
    except ValueError:
        raise ValidationFailed(
            "credentials.photo_unreadable", "照片无法识别，请重新拍摄。", "The photo cannot be read; take it again.",
            field="photo",
        ) from None  # fmt: skip
    try:
        with transaction.atomic():
            return LicenceApplication.objects.create(
                licence=licence,
                applicant=actor,
                photo=photo,
                photo_type=kind,
                card_photo=fixed,
                photo_digest=photos.photo_digest(fixed).hex(),
            )
    except IntegrityError:
        raise Conflict(
            "credentials.application_open",
            "您已有一份待审核的申请。",
            "You already have an application under review.",
        ) from None


def licence_application_review(
    *, actor: Any, application_id: int, approve: bool, note: str = "", request: Any = None
) -> LicenceApplication:
    """Staff approve (issue) or reject, with the reason, an application after checking the photo (D1)."""
    require(actor, PHOTO_REVIEW)
    note = (note or "").strip()[:200]
    if not approve and not note:
        raise ValidationFailed(
            "credentials.reject_reason", "不通过须写明原因。", "Give the reason for rejecting.", field="note"
        )
    with transaction.atomic():
        prefix = division_prefix_for(actor, PHOTO_REVIEW)
        application = (
            LicenceApplication.objects.select_for_update(of=("self",))
            .select_related("licence")
            .filter(pk=application_id, licence__division__startswith=prefix)
            .first()
            if prefix is not None
            else None
        )
        if application is None:
            raise NotFound("credentials.application_not_found", "没有这份申请。", "No such application.")
        require(actor, PHOTO_REVIEW, division=application.licence.division)
        if application.state != LicenceApplication.State.SUBMITTED:
            raise Conflict(
                "credentials.application_reviewed", "该申请已审核。", "This application was already reviewed."
            )
        application.state = (
            LicenceApplication.State.APPROVED if approve else LicenceApplication.State.REJECTED
        )
        application.reviewed_by = actor
        application.reviewed_at = timezone.now()
        application.review_note = note
        if approve and not application.photo_digest:
            fixed = photos.card_photo(bytes(application.photo))
            application.card_photo, application.photo_digest = fixed, photos.photo_digest(fixed).hex()
        application.save()
        if approve:
            # The issue signs the digest of the latest approved photo: this one, saved above.
            application.credential = licence_credential_issue(
                licence_id=application.licence_id, event="applied"
            )
            application.save(update_fields=["credential"])
        audit_record(
            actor=actor,
            action="change",
            subject=application,
            subject_person_id=application.licence.holder_id,
            summary=f"电子驾驶证照片审核 {'通过' if approve else '不通过'}",
            reason=note,
            request=request,
        )
    return application


def licence_photo_import(*, licence_id: int, photo: bytes, note: str) -> Credential:
    """Bring in an already approved photo for a licence and issue its e-licence with it (D1).

    For photos approved outside the counter queue (the demo data, a move from another system):
    an approved application without a reviewer, with ``note`` saying where it came from. The
    current e-licence, if any, is superseded by one that signs the photo's digest.
    """
    fixed = photos.card_photo(photo)
    with transaction.atomic():
        licence = DrivingLicence.objects.select_for_update().select_related("holder").get(pk=licence_id)
        application = LicenceApplication.objects.create(
            licence=licence,
            applicant_id=None,
            photo=photo,
            photo_type="png" if photo[:4] == b"\x89PNG" else "jpeg",
            card_photo=fixed,
            photo_digest=photos.photo_digest(fixed).hex(),
            state=LicenceApplication.State.APPROVED,
            reviewed_at=timezone.now(),
            review_note=note[:200],
        )
        application.credential = licence_credential_issue(licence_id=licence.pk, event="photo_import")
        application.save(update_fields=["credential"])
    return application.credential


# ---------------------------------------------------------------- status


def _set_status(credential: Credential, status: str, reason: str) -> bool:
    if credential.status == status:
        return False
    credential.status = status
    credential.status_reason = reason[:120]
    credential.status_changed_at = timezone.now()
    credential.save(update_fields=["status", "status_reason", "status_changed_at"])
    if status in (Credential.Status.SUSPENDED, Credential.Status.REVOKED):
        credential_event_publish(credential, change=status)
    return True


def _sync(
    credentials: Any,
    *,
    codes: set[str],
    revoking: frozenset[str],
    suspending: frozenset[str],
    what: str,
    lapsed: str,
    today: date,
    problem: str = "",
) -> int:
    """Rate a subject's current credentials from its registry status codes and validity.

    The reasons are the phrases the pages explain ("vehicle status C", "inspection lapsed").
    A record that fails validation suspends them until it is corrected (then a reissue follows).
    """
    changed = 0
    for credential in credentials.select_for_update().filter(status__in=["valid", "suspended"]):
        if codes & revoking:
            reason = f"{what} status {''.join(sorted(codes & revoking))}"
            changed += _set_status(credential, "revoked", reason)
        elif problem:
            changed += _set_status(credential, "suspended", problem)
        elif codes & suspending:
            changed += _set_status(credential, "suspended", f"{what} status")
        elif credential.valid_until < today:
            changed += _set_status(credential, "suspended", lapsed)
        else:
            changed += _set_status(credential, "valid", "")
    return changed


def _sync_vehicle(vehicle: Vehicle, today: date) -> int:
    return _sync(
        Credential.objects.filter(vehicle=vehicle), codes=set(vehicle.status or "A"),
        revoking=VEHICLE_REVOKING, suspending=VEHICLE_SUSPENDING, what="vehicle", lapsed="inspection lapsed",
        today=today, problem=vehicle_problem(vehicle)[0],
    )  # fmt: skip


def _sync_licence(licence: DrivingLicence, today: date) -> int:
    return _sync(
        Credential.objects.filter(licence=licence), codes=set(licence.status or "A"),
        revoking=LICENCE_REVOKING, suspending=LICENCE_SUSPENDING, what="licence", lapsed="licence expired",
        today=today, problem=licence_problem(licence)[0],
    )  # fmt: skip


def credential_status_sync(
    *, today: date | None = None, vehicle_id: int | None = None, licence_id: int | None = None
) -> int:
    """Bring credential statuses in line with the registry (E4, D2): lapsed, stolen, suspended ..."""
    today = today or timezone.localdate()
    changed = 0
    with transaction.atomic():
        vehicles = Vehicle.objects.filter(credentials__status__in=["valid", "suspended"]).distinct()
        licences = (
            DrivingLicence.objects.filter(credentials__status__in=["valid", "suspended"])
            .select_related("holder")
            .distinct()
        )
        if vehicle_id is not None or licence_id is not None:
            vehicles = vehicles.filter(pk=vehicle_id) if vehicle_id is not None else vehicles.none()
            licences = licences.filter(pk=licence_id) if licence_id is not None else licences.none()
        for vehicle in vehicles:
            changed += _sync_vehicle(vehicle, today)
        for licence in licences:
            changed += _sync_licence(licence, today)
    return changed


# A new licence card (renewal, age-limit exchange, replacement: B8-B11) supersedes the
# electronic licence of the old card (D2, issue 13).
_NEW_CARD_EVENTS = frozenset({"licence_renewed", "licence_exchanged", "licence_replaced"})
# New plates or a new vehicle licence (B1, B2, B20, B21, issue 14) reissue the vehicle's mark:
# the mark of the old documents is superseded, though the data it carries is the same.
_NEW_VEHICLE_DOCUMENT_EVENTS = frozenset({"vehicle_plate_reissued", "vehicle_licence_reissued"})


@outbox_handler(REGISTRY_CHANGED)
def _on_registry_change(payload: dict[str, Any], dedup_key: str) -> None:
    """A registry change (inspection passed, transfer, status) reissues or re-rates credentials (E1).

    A new licence card reissues the holder's e-licence, so the old one is superseded; a
    replaced card carries the same data, so its e-licence is superseded explicitly. A holder
    without a current e-licence gets none from it (D1: the holder applies with a photo), and
    a licence that may not carry one now (status, expiry, record) is left to the status sync.
    """
    event = payload.get("event", "changed")
    if payload.get("vehicle_id"):
        new_document = event in _NEW_VEHICLE_DOCUMENT_EVENTS
        if (
            inspection_mark_issue(vehicle_id=payload["vehicle_id"], event=event, new_document=new_document)
            is None
        ):
            credential_status_sync(vehicle_id=payload["vehicle_id"])
    licence_id = payload.get("licence_id")
    if not licence_id:
        return
    if event in _NEW_CARD_EVENTS:
        try:
            with transaction.atomic():
                current = (
                    Credential.objects.select_for_update()
                    .filter(licence_id=licence_id, status__in=["valid", "suspended"])
                    .first()
                )
                if current is not None:
                    if event == "licence_replaced":
                        current.status = Credential.Status.SUPERSEDED
                        current.status_reason = f"reissued: {event}"
                        current.status_changed_at = timezone.now()
                        current.save(update_fields=["status", "status_reason", "status_changed_at"])
                    new = licence_credential_issue(licence_id=licence_id, event=event)
                    if new.pk != current.pk:
                        Credential.objects.filter(pk=current.pk).update(superseded_by=new)
                    return
        except DomainError as refused:
            logger.info("e-licence of licence %s not reissued after %s: %s", licence_id, event, refused.code)
    credential_status_sync(licence_id=licence_id)


# ---------------------------------------------------------------- police check by plate (E4)

PLATE_CHECK = "credentials.plate.check"
CURRENT_STATUSES = ("valid", "suspended")


def vehicle_plate_check(
    *, actor: Any, plate_number: str, request: Any = None
) -> tuple[Vehicle, Credential | None] | None:
    """A vehicle of the checker's jurisdiction by plate, with its current mark; every hit is audited.

    None when no vehicle with that plate is registered where the checker may look.
    """
    require(actor, PLATE_CHECK)
    prefix = division_prefix_for(actor, PLATE_CHECK)
    vehicle = (
        Vehicle.objects.select_related("owner_person", "owner_organisation")
        .filter(plate_number=plate_number, division__startswith=prefix)
        .first()
        if prefix is not None
        else None
    )
    if vehicle is None:
        return None
    mark = Credential.objects.filter(vehicle=vehicle, status__in=CURRENT_STATUSES).order_by("-pk").first()
    audit_record(
        actor=actor, action="view", subject=vehicle, subject_person_id=vehicle.owner_person_id,
        summary="按号牌核验检验状态", request=request,
    )  # fmt: skip
    return vehicle, mark


# ---------------------------------------------------------------- staff revocation

CREDENTIAL_VIEW = "credentials.credential.view"
CREDENTIAL_REVOKE = "credentials.credential.revoke"


def _division_of(credential: Credential) -> str:
    subject = credential.vehicle if credential.vehicle_id else credential.licence
    return str(getattr(subject, "division", "") or "")


def credentials_visible_to(*, actor: Any) -> Any:
    """Credentials of vehicles and licences registered inside what the staff member may see."""
    require(actor, CREDENTIAL_VIEW)
    prefix = division_prefix_for(actor, CREDENTIAL_VIEW)
    if prefix is None:
        return Credential.objects.none()
    return Credential.objects.filter(
        Q(vehicle__division__startswith=prefix) | Q(licence__division__startswith=prefix)
    )


def credential_for_staff(*, actor: Any, credential_id: int, request: Any = None) -> Credential:
    """One credential record opened by a staff member; every opening is audited."""
    credential = (
        credentials_visible_to(actor=actor)
        .select_related("vehicle__owner_person", "licence__holder")
        .filter(pk=credential_id)
        .first()
    )
    if credential is None:
        raise NotFound("credentials.not_found", "没有找到该凭证。", "No such credential.")
    audit_record(
        actor=actor, action="view", subject=credential, subject_person_id=_person_of(credential),
        summary="后台查看电子凭证", request=request,
    )  # fmt: skip
    return credential


def _person_of(credential: Credential) -> int | None:
    if credential.vehicle_id and credential.vehicle is not None:
        return credential.vehicle.owner_person_id
    if credential.licence_id and credential.licence is not None:
        return credential.licence.holder_id
    return None


# The confirmation pattern of every irreversible staff action: a reason of at least 4 characters.
REVOKE_REASON_MIN = 4
REVOKE_REASON_MAX = 100


def credential_revoke(*, actor: Any, credential_id: int, reason: str, request: Any = None) -> Credential:
    """Revoke an electronic credential (撤销电子凭证) at once: a lost phone, a licence revoked by decision.

    The status list and online verification say revoked from then on; the right itself is
    untouched, so the next issue for the vehicle or licence (an inspection, the nightly bulk
    issue, a new e-licence application) gives a new credential with a new number.
    Lock order as everywhere: the vehicle or licence row, then its credentials.
    """
    require(actor, CREDENTIAL_REVOKE)
    reason = " ".join((reason or "").split())
    if not REVOKE_REASON_MIN <= len(reason) <= REVOKE_REASON_MAX:
        raise ValidationFailed(
            "credentials.revoke_reason",
            f"请填写撤销原因（{REVOKE_REASON_MIN}到{REVOKE_REASON_MAX}字），例如“手机遗失”“驾驶证已被吊销”。",
            f"Give the reason for revoking ({REVOKE_REASON_MIN} to {REVOKE_REASON_MAX} characters).",
            field="reason",
        )
    found = (
        credentials_visible_to(actor=actor)
        .filter(pk=credential_id)
        .values("vehicle_id", "licence_id")
        .first()
    )
    if found is None:
        raise NotFound("credentials.not_found", "没有找到该凭证。", "No such credential.")
    with transaction.atomic():
        if found["vehicle_id"]:
            Vehicle.objects.select_for_update().filter(pk=found["vehicle_id"]).first()
        else:
            DrivingLicence.objects.select_for_update().filter(pk=found["licence_id"]).first()
        credential = (
            Credential.objects.select_for_update(of=("self",))
            .select_related("vehicle", "licence")
            .get(pk=credential_id)
        )
        require(actor, CREDENTIAL_REVOKE, division=_division_of(credential))
        if credential.status in (Credential.Status.REVOKED, Credential.Status.SUPERSEDED):
            raise Conflict(
                "credentials.already_ended",
                "该凭证已撤销或已被新凭证替代，无需再撤销。",
                "This credential is already revoked or superseded.",
            )
        credential.status = Credential.Status.REVOKED
        credential.status_reason = (REVOKED_BY_STAFF + reason)[:120]
        credential.status_changed_at = timezone.now()
        credential.status_changed_by = actor
        credential.save(update_fields=["status", "status_reason", "status_changed_at", "status_changed_by"])
        credential_event_publish(credential, change="revoked")
        audit_record(
            actor=actor, action="change", subject=credential, subject_person_id=_person_of(credential),
            summary=f"撤销电子凭证 {credential.get_kind_display().split(' ')[0]}", reason=reason, request=request,
        )  # fmt: skip
    return credential


# ---------------------------------------------------------------- tokens


def _lifetime(credential: Credential, mode: int, now: datetime) -> int:
    legal_end = _end_of_day(credential.valid_until)
    if mode == DisplayMode.ONLINE:
        end = int(now.timestamp()) + settings.CREDENTIAL_ONLINE_SECONDS
    elif mode == DisplayMode.OFFLINE:
        end = int((now + timedelta(days=settings.CREDENTIAL_OFFLINE_DAYS)).timestamp())
    else:
        end = int((now + signing.MAX_TOKEN_LIFETIME).timestamp())
    return min(end, legal_end)


def _index_bytes(index: int) -> bytes:
    """The credential's number as the CWT id; it is also its index in the status list."""
    return index.to_bytes(max(1, (index.bit_length() + 7) // 8), "big")


def sign_payload(
    *,
    schema: Schema,
    data: dict[str, Any],
    index: int,
    issued_at: int,
    expires_at: int,
    mode: int = DisplayMode.OFFLINE,
    nonce: bytes | None = None,
) -> str:
    """Sign any schema's data with the active key: the one signing path for every token kind.

    Nothing outlives ``MAX_TOKEN_LIFETIME``: a retired key stays on the trust list exactly
    that long (plus the minute a process may keep signing with it), so whatever it signed
    can still be verified offline until it expires.
    """
    if expires_at - issued_at > signing.MAX_TOKEN_LIFETIME.total_seconds():
        raise ValueError(f"{schema.prefix}: a token may live at most {signing.MAX_TOKEN_LIFETIME.days} days")
    key, private_pem = signing.active_key()
    algorithm = algorithm_for(key.alg)
    if algorithm is None:
        raise Conflict(
            "credentials.alg_unavailable", "签名算法不可用。", "The signing algorithm is not available."
        )
    return encode(
        schema=schema,
        data=data,
        credential_id=_index_bytes(index),
        issuer="",
        issued_at=issued_at,
        expires_at=expires_at,
        mode=mode,
        nonce=nonce,
        kid=bytes.fromhex(key.kid),
        alg=key.alg,
        sign=lambda payload: algorithm.sign(private_pem, payload),
    )


def signable_data(data: dict[str, Any]) -> dict[str, Any]:
    """The stored data as signed: the photo digest is kept as hex in JSON and signed as bytes."""
    out = dict(data)
    if isinstance(out.get("photo"), str):
        out["photo"] = bytes.fromhex(out["photo"])
    return out


@dataclass(frozen=True)
class ShownToken:
    """A token minted for display; ``nonce`` (hex) only for the on-screen mode."""

    text: str
    expires_at: int
    nonce: str = ""


def credential_show(*, credential: Credential, mode: int, now: datetime | None = None) -> ShownToken:
    """Sign a token to display the credential in one mode (E3); an on-screen one gets a fresh nonce."""
    if credential.status != Credential.Status.VALID:
        raise Conflict(
            "credentials.not_valid",
            "该凭证当前无效，不能出示。",
            "This credential is not valid now and cannot be shown.",
        )
    now = now or timezone.now()
    expires_at = _lifetime(credential, mode, now)
    nonce = None
    if mode == DisplayMode.ONLINE:
        nonce = secrets.token_bytes(8)
        OnlineNonce.objects.create(
            nonce=nonce.hex(),
            credential=credential,
            expires_at=datetime.fromtimestamp(expires_at, tz=timezone.get_current_timezone()),
        )
    schema = INSPECTION_MARK if credential.kind == Credential.Kind.INSPECTION_MARK else DRIVING_LICENCE
    text = sign_payload(
        schema=schema,
        data=signable_data(credential.data),
        index=credential.pk,
        issued_at=int(now.timestamp()),
        expires_at=expires_at,
        mode=mode,
        nonce=nonce,
    )
    return ShownToken(text, expires_at, nonce.hex() if nonce else "")


def credential_token(*, credential: Credential, mode: int, now: datetime | None = None) -> tuple[str, int]:
    """Sign a token to display the credential in one mode; returns (text, expires_at)."""
    shown = credential_show(credential=credential, mode=mode, now=now)
    return shown.text, shown.expires_at


# Kinds numbered outside the Credential table (AQ1 accident query credentials) list their
# statuses in an index space of their own: (prefixes, callable giving (size, {index: code})).
StatusSpace = Callable[[], tuple[int, dict[int, int]]]
STATUS_SPACES: dict[tuple[str, ...], StatusSpace] = {}


def register_status_space(prefixes: tuple[str, ...], listed: StatusSpace) -> None:
    """List a kind's statuses in the signed status list under its own index space (issue 10).

    Each kind's credential id is read only in the space of its own kind, so a revoked AQ1
    shows revoked offline and another kind's revocation at the same number never shows on it.
    """
    STATUS_SPACES[tuple(prefixes)] = listed


E_CREDENTIAL_KINDS = tuple(Credential.Kind.values)  # VI1 and DL1 share one allocator: Credential.pk


def _e_credential_statuses() -> tuple[int, dict[int, int]]:
    last = Credential.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    statuses = {
        pk: STATUS_CODE[status]
        for pk, status in Credential.objects.exclude(status="valid").values_list("pk", "status").iterator()
    }
    return last + 1, statuses


def status_list_token(*, now: datetime | None = None, valid_seconds: int = 24 * 3600) -> str:
    """The signed list of non-valid credentials for offline verifiers (SL1), one index space per kind."""
    now = now or timezone.now()
    size, statuses = _e_credential_statuses()
    spaces = []
    for prefixes, listed in sorted(STATUS_SPACES.items()):
        space_size, space_statuses = listed()
        spaces.append([list(prefixes), pack_status_bits(space_statuses, space_size), space_size])
    return sign_payload(
        schema=STATUS_LIST,
        data={
            "bits": pack_status_bits(statuses, size),
            "size": size,
            "issuer": settings.CREDENTIAL_ISSUER,
            "kinds": list(E_CREDENTIAL_KINDS),
            "spaces": spaces,
        },
        index=0,
        issued_at=int(now.timestamp()),
        expires_at=int(now.timestamp()) + valid_seconds,
    )


# ---------------------------------------------------------------- verification


# Kinds whose status lives outside this app (e.g. AQ1 accident query credentials) register a resolver.
STATUS_RESOLVERS: dict[str, Callable[[Decoded], str]] = {}


def register_status_resolver(prefix: str, resolver: Callable[[Decoded], str]) -> None:
    STATUS_RESOLVERS[prefix] = resolver


def _online_status(decoded: Decoded) -> str:
    resolver = STATUS_RESOLVERS.get(decoded.schema.prefix)
    if resolver is not None:
        return resolver(decoded)
    row = credential_status_row(decoded.index)
    if row is None:
        return "unknown"
    status, valid_until = row
    if status == "valid" and valid_until < timezone.localdate():
        return "suspended"
    return status


def credential_status_row(credential_id: int) -> tuple[str, date] | None:
    """A credential's stored status and end of validity, from the shared cache while no change
    of the row retired it (credentials/apps.py renews its version on every save; issue 12)."""

    def read() -> tuple[str, date] | Uncached:
        row = Credential.objects.filter(pk=credential_id).values_list("status", "valid_until").first()
        # Not found is not kept: the row may be created a moment later.
        return row if row is not None else Uncached(None)

    seconds = settings.CREDENTIAL_STATUS_CACHE_SECONDS
    if seconds <= 0:
        found = read()
        return None if isinstance(found, Uncached) else found
    return versioned_read(
        credential_subject(credential_id), f"credential:status:{credential_id}", read, seconds=seconds
    )


def credential_subject(credential_id: int) -> str:
    return f"credential:{credential_id}"


def credential_changed(credential_id: int) -> None:
    """Retire the cached status of the credential, now and when the change commits."""
    if settings.CREDENTIAL_STATUS_CACHE_SECONDS > 0:
        renew_versions([credential_subject(credential_id)])


class AlreadyChecked(TokenRejected):
    """An on-screen QR scanned again after its first check (已核验过): a screenshot or a replay."""

    def __init__(self, checked_at: datetime) -> None:
        at = timezone.localtime(checked_at).strftime("%H:%M")
        super().__init__(
            ALREADY_CHECKED,
            f"已于 {at} 核验过：在线二维码只能核验一次（可能是截图），请让持有人刷新后重新出示。",
            f"Already checked at {at}: an on-screen QR is checked only once (a screenshot?); "
            "ask the holder to show a fresh one.",
        )
        self.checked_at = int(checked_at.timestamp())


ALREADY_CHECKED = "already_checked"


def _online_nonce_consume(decoded: Decoded) -> TokenRejected | None:
    """The first check of an on-screen QR uses up its nonce (E3); offline and printed tokens have none.

    Runs after every other check has passed. One conditional UPDATE decides: of any number of
    simultaneous scans exactly one finds the nonce unused (PostgreSQL re-reads the row once
    the first writer commits; SQLite serialises writers). Later scans are counted and told
    when the QR was checked.
    """
    if decoded.mode != DisplayMode.ONLINE:
        return None
    if not decoded.nonce:
        return TokenRejected(
            "nonce_missing", "在线凭证缺少一次性随机码。", "The on-screen credential has no nonce."
        )
    now = timezone.now()
    live = OnlineNonce.objects.filter(
        nonce=decoded.nonce.hex(), credential_id=decoded.index, expires_at__gte=now
    )
    if live.filter(verified_at__isnull=True).update(verified_at=now, verified_count=F("verified_count") + 1):
        return None
    live.update(verified_count=F("verified_count") + 1)
    checked_at = live.values_list("verified_at", flat=True).first()
    if checked_at is None:
        return TokenRejected(
            "nonce_unknown",
            "在线凭证已失效（可能是过期截图），请让持有人刷新后重新出示。",
            "The on-screen credential is no longer live (an old screenshot?); ask the holder to refresh it.",
        )
    return AlreadyChecked(checked_at)


# ---------------------------------------------------------------- the holder, after a verification

# A checker sees the e-licence holder's photo and full name only after the signature, validity
# and status checks pass (D1, E4). The photo is fetched with a ticket that the passing
# verification signs: short-lived and bound to that credential and that photo, so a credential
# id alone, or a ticket once the credential is revoked or reissued, gets no photo.
PHOTO_TICKET_SECONDS = 300
_PHOTO_TICKET_SALT = "jiaoguan.credentials.verified-photo"


def credential_photo(credential: Credential) -> bytes | None:
    """The approved photo (PNG, fixed form) of an e-licence: the one whose digest it signs, or,
    for one issued before digests were signed, the licence's latest approved photo."""
    if credential.kind != Credential.Kind.DRIVING_LICENCE or not credential.licence_id:
        return None
    digest = (credential.data or {}).get("photo")
    if digest:
        application = (
            LicenceApplication.objects.filter(
                licence_id=credential.licence_id,
                state=LicenceApplication.State.APPROVED,
                photo_digest=digest,
                card_photo__isnull=False,
            )
            .order_by("-reviewed_at", "-id")
            .first()
        )
    else:
        application = _approved_application(credential.licence_id)
    return bytes(application.card_photo) if application is not None and application.card_photo else None


def _photo_fingerprint(photo: bytes) -> str:
    return hashlib.sha256(photo).hexdigest()[:32]


def _holder_after_verification(verdict: Verdict, *, now: int) -> None:
    """Add the holder's full name and a photo ticket to a passing e-licence verdict; nothing otherwise."""
    if not verdict.valid or verdict.kind != Credential.Kind.DRIVING_LICENCE:
        return
    credential = (
        Credential.objects.select_related("licence__holder")
        .filter(pk=int(verdict.credential_id), kind=Credential.Kind.DRIVING_LICENCE, status="valid")
        .first()
    )
    if credential is None or credential.licence is None:
        return
    holder: dict[str, Any] = {
        "name": credential.licence.holder.name,
        "photo_url": "",
        "photo_expires_at": None,
    }
    photo = credential_photo(credential)
    if photo is not None:
        ticket = django_signing.dumps(
            {"c": credential.pk, "p": _photo_fingerprint(photo), "n": secrets.token_hex(8)},
            salt=_PHOTO_TICKET_SALT,
            compress=True,
        )
        holder["photo_url"] = reverse("credentials:verified_photo", args=[ticket])
        holder["photo_expires_at"] = now + PHOTO_TICKET_SECONDS
    verdict.holder = holder


def verified_photo(*, ticket: str) -> bytes:
    """The photo a passing verification's ticket points at, while the ticket is fresh and the
    credential still valid with that photo; NotFound for anything else."""
    not_found = NotFound(
        "credentials.photo_not_available",
        "照片仅在验证通过后的几分钟内可以查看，请重新核验。",
        "The photo is available only for a few minutes after a passing verification; verify again.",
    )
    try:
        claims = django_signing.loads(ticket, salt=_PHOTO_TICKET_SALT, max_age=PHOTO_TICKET_SECONDS)
        credential_pk, fingerprint = int(claims["c"]), str(claims["p"])
    except (django_signing.BadSignature, KeyError, TypeError, ValueError):
        raise not_found from None
    credential = Credential.objects.filter(pk=credential_pk, status="valid").first()
    if credential is None or credential.valid_until < timezone.localdate():
        raise not_found
    photo = credential_photo(credential)
    if photo is None or _photo_fingerprint(photo) != fingerprint:
        raise not_found
    return photo


def credential_verify(*, text: str, now: int | None = None) -> Verdict:
    """Verify a credential online: signature, validity, current status, then the on-screen nonce (E4).

    The first verification of an on-screen QR that passes everything else consumes its nonce;
    the same QR checked again answers ``already_checked`` with the time of the first check.
    """
    if not isinstance(text, str) or len(text) > 8192:
        return Verdict(
            False, "too_long", "内容过长，不是本平台的凭证。", "Too long to be a credential of this platform."
        )
    now = now if now is not None else int(timezone.now().timestamp())
    verdict = verdict_for(
        text, keys=signing.trusted_key, status_of=_online_status, now=now, extra_check=_online_nonce_consume
    )
    _holder_after_verification(verdict, now=now)
    return verdict


# A checked nonce is the holder's record of when an on-screen QR was checked; kept this long.
ONLINE_CHECK_HISTORY = timedelta(days=30)


def online_nonces_purge(*, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False) -> int:
    """Drop expired nonces, keeping checked ones for ``ONLINE_CHECK_HISTORY``; run daily by the
    worker's purge (issue 12) and after a bulk issue of inspection marks."""
    now = now or timezone.now()
    return purge_in_batches(
        OnlineNonce.objects.filter(expires_at__lt=now).filter(
            Q(verified_at__isnull=True) | Q(verified_at__lt=now - ONLINE_CHECK_HISTORY)
        ),
        batch=batch,
        dry_run=dry_run,
    )
