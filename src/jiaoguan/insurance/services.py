"""Online check of compulsory insurance and vehicle tax (交强险和车船税联网核验, O7).

Registration, the temporary plate and inspection ask :func:`insurance_check` before they open
their own transaction. The insurer is asked through :mod:`jiaoguan.integrations.insurer`; a
failed check is written here in its own transaction, for the insurers' weekly feedback list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.db import transaction

from jiaoguan.core.errors import Unavailable, ValidationFailed
from jiaoguan.integrations.insurer import (
    InsurerError,
    InsurerRefused,
    get_insurer_service,
    vin_valid,
)

from . import rules
from .models import InsuranceCheckFailure

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InsuranceAnswer:
    """Result of the online check of compulsory insurance and vehicle tax (O7).

    When ``required`` is False nothing was asked: ``insured`` and ``tax_paid`` are then False
    and say nothing; ``ok`` is True. Callers decide on ``ok`` and show ``message_zh/_en``.
    """

    required: bool  # False for motorcycles, low-speed trucks and tricycles (O7): nothing asked
    insured: bool  # compulsory insurance (交强险) in force on the day checked
    insured_until: date | None
    insurer_name: str
    policy_number: str
    tax_paid: bool  # vehicle and vessel tax (车船税) paid for the year of the day checked
    missing: tuple[str, ...]  # subset of ("compulsory_insurance", "vehicle_tax"); empty when ok
    message_zh: str  # what is missing and what to do ("" when ok)
    message_en: str

    @property
    def ok(self) -> bool:
        return not self.missing


def _unavailable() -> Unavailable:
    return Unavailable(
        "insurance.unavailable",
        "暂时无法核验交强险和车船税信息，请稍后重试。",
        "Insurance and vehicle tax cannot be checked right now; please try again later.",
    )


def insurance_check(
    *,
    vin: str,
    kind: str,
    purpose: str,
    on: date,
    plate_number: str | None = None,
    division: str = "",
    requested_by: str = "",
) -> InsuranceAnswer:
    """purpose: "inspection" | "temporary_plate" | "registration".  `kind` is the registry
    vehicle kind value (registry.rules.VehicleKind). Not required for the exempt kinds: returns
    required=False, ok, without calling the insurer. A failed check (missing not empty) is
    recorded in its own transaction (table InsuranceCheckFailure: vin, plate, purpose, missing,
    insurer_name, division, checked_at, requested_by) for the weekly feedback list; callers call
    this BEFORE opening their own transaction. On timeout/outage raises
    core.errors.Unavailable("insurance.unavailable", "暂时无法核验交强险和车船税信息，请稍后重试。",
    "Insurance and vehicle tax cannot be checked right now; please try again later.")
    — nothing is assumed on a guess."""
    try:
        purpose = rules.Purpose(purpose).value
    except ValueError:
        raise ValidationFailed(
            "insurance.bad_purpose",
            "核验事由不正确。",
            "Unknown reason for the insurance check.",
            field="purpose",
            detail={"purpose": purpose},
        ) from None
    if not rules.insurance_required(kind):
        return InsuranceAnswer(
            required=False,
            insured=False,
            insured_until=None,
            insurer_name="",
            policy_number="",
            tax_paid=False,
            missing=(),
            message_zh="",
            message_en="",
        )
    vin = vin.strip().upper()
    if not vin_valid(vin):
        raise ValidationFailed(
            "insurance.bad_vin",
            "车辆识别代号不正确，无法核验交强险。",
            "The VIN is not valid; insurance cannot be checked.",
            field="vin",
        )
    try:
        status = get_insurer_service().vehicle_status(vin=vin, on=on)
    except InsurerRefused as exc:
        # A valid VIN the exchange refuses is its fault or ours; never guess an answer (O7).
        logger.warning("insurer refused the check of %s: %s (%s)", vin, exc, exc.code)
        raise _unavailable() from exc
    except InsurerError as exc:
        logger.warning("insurer check of %s failed: %s (%s)", vin, exc, exc.code)
        raise _unavailable() from exc
    missing = rules.missing_items(insured=status.insured, tax_paid=status.tax_paid)
    message_zh, message_en = rules.missing_message(missing, tax_year=on.year)
    # The policy in force, else the lapsed one: its insurer is the one the feedback goes to.
    policy = status.policy or status.last_policy
    answer = InsuranceAnswer(
        required=True,
        insured=status.insured,
        insured_until=status.policy.end if status.policy else None,
        insurer_name=policy.insurer_name if policy else "",
        policy_number=policy.policy_number if policy else "",
        tax_paid=status.tax_paid,
        missing=missing,
        message_zh=message_zh,
        message_en=message_en,
    )
    if missing:
        _record_failure(
            answer,
            vin=vin,
            plate_number=plate_number or "",
            purpose=purpose,
            on=on,
            division=division,
            requested_by=requested_by,
        )
    return answer


def _record_failure(
    answer: InsuranceAnswer,
    *,
    vin: str,
    plate_number: str,
    purpose: str,
    on: date,
    division: str,
    requested_by: str,
) -> InsuranceCheckFailure:
    """Keep one failed check for the weekly feedback list (O7), in a transaction of its own."""
    with transaction.atomic():
        return InsuranceCheckFailure.objects.create(
            vin=vin,
            plate_number=plate_number[:16],
            purpose=purpose,
            missing=",".join(answer.missing),
            checked_for=on,
            insurer_name=answer.insurer_name[:100],
            policy_number=answer.policy_number[:40],
            division=division[:6],
            requested_by=requested_by[:150],
        )
