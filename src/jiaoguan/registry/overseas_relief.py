"""Restoring a licence under the overseas relief (恢复驾驶资格, O4; seed 004 §八 二 3).

The registry owns the licence, so the restoration happens here; the case, its reviews and the
access check live in ``jiaoguan.overseas_relief``, which calls :func:`licence_relief_restore` only
after the head of the unit approved (部门负责人复核). The seed has the driver "正常办理驾驶证换证、
审验手续" to be restored: a renewal that fell due gets a new validity period from the day of the
restoration (as an overdue renewal does, ``services.licence_renew``); a review that fell due is
recorded as done that day. The first-issue date never moves (the driving age continues).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict

from . import overseas_relief_rules, selectors
from .events import registry_changed
from .models import DrivingLicence, LicenceCancellationReason
from .services import _licence_for_business, _without_codes

# The stored codes the restoration clears: the cancellation (R, G) and the overdue states the
# renewal or review done with it ends (M, S are derived, stored ones are cleared too).
_CLEARED = "RGMS"

CAUSE_OF_REASON = {
    LicenceCancellationReason.RENEWAL_OVERDUE: overseas_relief_rules.Cause.RENEWAL,
    LicenceCancellationReason.REVIEW_OVERDUE: overseas_relief_rules.Cause.REVIEW,
}


def relief_cause(licence: DrivingLicence) -> overseas_relief_rules.Cause | None:
    """Renewal or review, from the recorded cancellation reason; None for any other reason."""
    return CAUSE_OF_REASON.get(licence.cancellation_reason)  # type: ignore[call-overload]


def licence_relief_restore(
    *, actor: Any, licence_id: int, today: date, reference: str = ""
) -> DrivingLicence:
    """Restore a licence cancelled while abroad: R and G removed, the due renewal or review done
    today, the cancellation fields cleared; audited, and announced (``registry_changed``) so the
    electronic licence (DL1) follows. Call inside the approving transaction; the caller checked
    access and the case."""
    with transaction.atomic():
        licence = _licence_for_business(licence_id)
        if not set(licence.status or "") & {"R", "G"}:
            raise Conflict(
                "registry.licence_not_cancelled",
                "该驾驶证不是“注销可恢复”或“注销”状态，无需恢复。",
                "The licence is not cancelled (R or G): there is nothing to restore.",
            )
        cause = relief_cause(licence)
        fields = ["status", "cancelled_on", "cancellation_reason", "returned_on"]
        before = licence.status
        licence.status = _without_codes(licence.status, _CLEARED)
        licence.cancelled_on = None
        licence.cancellation_reason = ""
        licence.returned_on = None
        event = "licence_restored"
        if cause is overseas_relief_rules.Cause.RENEWAL:
            licence.validity_term = selectors.licence_next_validity_term(licence, today=today)
            licence.valid_from = today
            licence.renewal_deferred_until = None
            fields += ["validity_term", "valid_from", "renewal_deferred_until"]
            event = "licence_renewed"  # a new card: the e-licence is reissued (credentials)
        else:
            licence.last_reviewed_on = today
            licence.review_deferred_until = None
            fields += ["last_reviewed_on", "review_deferred_until"]
        licence.save(update_fields=fields)
        audit_record(
            actor=actor, action="change", subject=licence,
            subject_person_id=licence.holder_id,
            summary=f"恢复驾驶资格 licence restored (O4) {before}→{licence.status} {reference}".strip(),
        )  # fmt: skip
        registry_changed(event=event, licence_id=licence.pk)
    return licence
