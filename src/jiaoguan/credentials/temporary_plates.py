"""Dealers' temporary plates as signed credentials (机动车临时号牌电子凭证, ``TP1:``, B18, issue 14).

The plate itself is a registry record (registry.TemporaryPlate, written by registry.services);
this module applies for it (the compulsory insurance is asked online first, O7), and signs
its QR: printed on the paper plate and verifiable like the inspection mark (E4) at /verify/
and through ``POST /api/v1/credentials/verifications``. A TP1 carries the plate's id as its
index, in a status space of its own: revoked plates are listed revoked offline, and online a
plate past its last day answers "expired" even before the token itself runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from jiaoguan.core.errors import Conflict
from jiaoguan.insurance.services import insurance_check
from jiaoguan.registry import services as registry_services
from jiaoguan.registry import temporary_plates as tp_rules
from jiaoguan.registry.models import TemporaryPlate

from .services import STATUS_CODE, register_status_resolver, register_status_space, sign_payload
from .token import TEMPORARY_PLATE, Decoded, DisplayMode, date_int

logger = logging.getLogger(__name__)

INSURANCE_PURPOSE = "temporary_plate"


def masked_vin(vin: str) -> str:
    """The VIN as a verifier sees it: the maker (WMI) and the last 6 characters."""
    return vin[:3] + "*" * max(0, len(vin) - 9) + vin[-6:] if len(vin) > 9 else vin


def plate_data(plate: TemporaryPlate) -> dict[str, Any]:
    """What the TP1 token signs: nothing more than the paper plate shows, the VIN masked."""
    return {
        "plate": plate.number,
        "vin": masked_vin(plate.vin),
        "kind": plate.kind,
        "valid_from": date_int(plate.valid_from),
        "valid_until": date_int(plate.valid_until),
        "dealer": plate.dealer.name,
        "issue": plate.issue_no,
        "model": plate.brand_model,
    }


def _end_of_day(day: date) -> int:
    return int(timezone.make_aware(datetime.combine(day, datetime.max.time())).timestamp())


def temporary_plate_state(plate: TemporaryPlate, *, today: date | None = None) -> str:
    return tp_rules.plate_state(
        valid_from=plate.valid_from,
        valid_until=plate.valid_until,
        revoked=plate.revoked_at is not None,
        today=today or timezone.localdate(),
    )


@dataclass(frozen=True)
class PlateToken:
    text: str
    expires_at: int


def temporary_plate_token(
    *, plate: TemporaryPlate, mode: int = DisplayMode.PRINTED, now: datetime | None = None
) -> PlateToken:
    """Sign the plate's QR. Printed (on the paper plate) and offline tokens live to the end of the
    plate's last day; an on-screen one minutes. A revoked or expired plate is not signed (409)."""
    now = now or timezone.now()
    state = temporary_plate_state(plate, today=timezone.localtime(now).date())
    if state in ("revoked", "expired"):
        zh, en = tp_rules.STATE_WORDS[state]
        raise Conflict(
            "credentials.temporary_plate_not_valid",
            f"该临时号牌{zh}，不能出示或打印。",
            f"This temporary plate is {en} and cannot be shown or printed.",
        )
    legal_end = _end_of_day(plate.valid_until)
    if mode == DisplayMode.ONLINE:
        end = int(now.timestamp()) + settings.CREDENTIAL_ONLINE_SECONDS
    else:
        end = legal_end
    expires_at = min(end, legal_end)
    text = sign_payload(
        schema=TEMPORARY_PLATE,
        data=plate_data(plate),
        index=plate.pk,
        issued_at=int(now.timestamp()),
        expires_at=expires_at,
        mode=mode,
    )
    return PlateToken(text, expires_at)


def temporary_plate_apply(
    *, actor: Any, data: Mapping[str, Any], today: date | None = None, request: Any = None
) -> TemporaryPlate:
    """A car dealer applies for a new car's temporary plate (B18), issued at once when the rules hold.

    ``data``: ``vin``, ``kind`` (registry VehicleKind value), ``brand_model``, ``buyer_name``
    (optional), ``days`` (1-30). The application is checked first (dealer, VIN, kind, days, not a
    registered car, fewer than 3 plates); then the compulsory insurance is asked online (O7)
    outside any transaction: not insured is refused with the insurer's words (409
    ``registry.temporary_plate.not_insured``), an insurer that does not answer is 503
    ``insurance.unavailable`` and nothing is issued; the insurance's end caps the validity.
    """
    today = today or timezone.localdate()
    application = registry_services.temporary_plate_request_check(actor=actor, data=data)
    dealer = registry_services.dealer_of(actor=actor)
    answer = insurance_check(
        vin=application.vin,
        kind=application.kind,
        purpose=INSURANCE_PURPOSE,
        on=today,
        division=dealer.division,
        requested_by=str(getattr(actor, "username", "") or ""),
    )
    if answer.required and not answer.insured:
        raise Conflict(
            "registry.temporary_plate.not_insured",
            answer.message_zh or "该车交强险不在有效期内，不能核发临时号牌，请先投保。",
            answer.message_en
            or "The vehicle has no compulsory insurance in force; insure it before applying.",
            field="vin",
            detail={"missing": list(answer.missing)},
        )
    facts = registry_services.InsuranceFacts(
        required=answer.required,
        insured_until=answer.insured_until,
        insurer_name=answer.insurer_name,
        policy_number=answer.policy_number,
    )
    plate = registry_services.temporary_plate_issue(
        actor=actor, application=application, insurance=facts, today=today, request=request
    )
    logger.info(
        "temporary plate %s issued (issue %s, until %s)", plate.number, plate.issue_no, plate.valid_until
    )
    return plate


# ---------------------------------------------------------------- status, online and offline


def _status(decoded: Decoded) -> str:
    plate = (
        TemporaryPlate.objects.filter(pk=decoded.index)
        .only("valid_from", "valid_until", "revoked_at")
        .first()
    )
    if plate is None:
        return "unknown"
    state = temporary_plate_state(plate)
    return "valid" if state == "not_yet_valid" else state


def _listed() -> tuple[int, dict[int, int]]:
    """TP1's own index space in the signed status list: the revoked plates (expired ones end with
    their token, which never outlives the plate's last day)."""
    last = TemporaryPlate.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    revoked = TemporaryPlate.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)
    return last + 1, {pk: STATUS_CODE["revoked"] for pk in revoked.iterator()}


register_status_resolver(TEMPORARY_PLATE.prefix, _status)
register_status_space((TEMPORARY_PLATE.prefix,), _listed)
