"""Whether a user may apply for a business now, and if not the true reason and remedy (issue 13).

One answer for the business page, the catalogue API and the submission itself: the page
shows it, the API returns it, and :func:`check_can_apply` refuses a submission with the same
words. Two layers decide: who may apply at all (the U5 table, ``accounts.rules``) and, for
the licence businesses, the licence rules (B8-B14, ``registry.licence_rules``) on the facts
of the applicant's licence today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.urls import reverse

from jiaoguan.accounts.rules import check_business_allowed
from jiaoguan.core.errors import Conflict, NotAllowed
from jiaoguan.credentials import selectors as credential_selectors
from jiaoguan.registry import licence_rules, selectors, vehicle_rules
from jiaoguan.registry.models import DrivingLicence, Vehicle

from . import catalogue


@dataclass(frozen=True)
class Eligibility:
    """The answer for one business and one user on one day.

    ``code`` is empty when the user may apply, else a stable refusal code (the U5 refusal's
    or the licence rule's). ``details`` carries what the page needs to offer the form: the
    renewal window, the classes an age-limit exchange may choose, the latest end of a deferral.
    """

    business_code: str
    allowed: bool
    code: str = ""
    reason_zh: str = ""
    reason_en: str = ""
    remedy_zh: str = ""
    remedy_en: str = ""
    licence_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    vehicle_id: int | None = None  # the vehicle the answer is for (issue 14)


def _u5_refusal(actor: Any, entry: catalogue.Entry) -> NotAllowed | None:
    organisation = getattr(actor, "organisation", None)
    try:
        check_business_allowed(
            business_code=entry.code,
            user_kind=actor.kind,
            level=actor.registration_level,
            organisation_kind=getattr(organisation, "kind", "") or "",
        )
    except NotAllowed as refusal:
        return refusal
    return None


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _details(answer: Any, *, licence: DrivingLicence, today: date) -> dict[str, Any]:
    """What the page needs to offer the form, JSON-safe (ISO dates, lists)."""
    if isinstance(answer, licence_rules.RenewalOpen):
        return {
            "opens_on": _iso(answer.opens_on),
            "expires_on": _iso(answer.expires_on),
            "overdue": answer.overdue,
            "new_validity_term": str(selectors.licence_next_validity_term(licence, today=today)),
        }
    if isinstance(answer, licence_rules.Exchange):
        return {
            "to_classes": list(answer.to_classes),
            "from_classes": list(answer.from_classes),
            "due_by": _iso(answer.due_by),
        }
    if isinstance(answer, licence_rules.Deferral):
        return {
            "deadline": _iso(answer.deadline),
            "latest_until": _iso(answer.latest_until),
            "reasons": [
                {"code": r.code, "zh": r.zh, "en": r.en, "proof_zh": r.proof_zh, "proof_en": r.proof_en}
                for r in licence_rules.DEFERRAL_REASONS.values()
            ],
        }
    return {}


def _no_licence(entry: catalogue.Entry) -> Eligibility:
    return Eligibility(
        entry.code,
        False,
        "applications.no_licence",
        "未查询到您名下的机动车驾驶证，不能在网上办理此项业务。",
        "No driving licence is on file in your name, so this business cannot be done online.",
        "如您持有驾驶证，请携带身份证明到车辆管理所核实驾驶证档案；尚未取得驾驶证的，请先报名考试申领。",
        "If you hold a licence, bring your ID to a vehicle administration office to have its record "
        "checked; if you have none yet, apply for one through the driving test first.",
    )


def _no_vehicle(entry: catalogue.Entry) -> Eligibility:
    return Eligibility(
        entry.code,
        False,
        "applications.no_vehicle",
        "未查询到登记在您名下的机动车，不能在网上办理此项业务。",
        "No vehicle is registered in your name, so this business cannot be done online.",
        "如车辆登记在您名下，请携带身份证明和行驶证到车辆管理所核实档案。",
        "If a vehicle is registered to you, bring your ID and the vehicle licence to a vehicle "
        "administration office to have the record checked.",
    )


def _plate(vehicle: Vehicle) -> str:
    return vehicle.plate_number or vehicle.vin[-6:]


def vehicle_answer(entry: catalogue.Entry, vehicle: Vehicle, *, today: date) -> Eligibility:
    """The answer for one of the applicant's vehicles: the vehicle rules on the registry facts
    (``registry.selectors.vehicle_business_check``) and, for a paper mark's replacement (B3),
    whether a valid electronic mark makes it needless (E6), with the link to that mark."""
    answer = selectors.vehicle_business_check(vehicle=vehicle, business_code=entry.code, today=today)
    details: dict[str, Any] = {"plate_number": _plate(vehicle)}
    if not isinstance(answer, licence_rules.Refusal) and entry.code == "B3":
        mark = credential_selectors.vehicle_mark_valid(vehicle_id=vehicle.pk, today=today)
        answer = vehicle_rules.paper_mark_replacement(e_mark_valid=mark is not None)
        if mark is not None:
            details["credential_url"] = reverse("credentials:detail", args=[mark.public_id])
    if isinstance(answer, licence_rules.Refusal):
        return Eligibility(
            entry.code, False, answer.code, answer.zh, answer.en, answer.remedy_zh, answer.remedy_en,
            details=details, vehicle_id=vehicle.pk,
        )  # fmt: skip
    return Eligibility(entry.code, True, details=details, vehicle_id=vehicle.pk)


def vehicles_of_person(person_id: int) -> Any:
    """The vehicles registered to a person, oldest registration first (like the applicant's own,
    for an application made on the person's behalf, O2)."""
    return Vehicle.objects.filter(owner_person_id=person_id).order_by("registered_on", "id")


def _vehicle_eligibility(
    actor: Any, entry: catalogue.Entry, *, today: date, vehicle_id: int | None, person_id: int | None = None
) -> Eligibility:
    """The answer for the chosen vehicle; with none chosen, for each of the applicant's vehicles:
    allowed when one of them may, for the first such (the page offers the choice)."""
    vehicles = list(
        selectors.vehicles_owned_by(user=actor) if person_id is None else vehicles_of_person(person_id)
    )
    if vehicle_id is not None:
        vehicles = [v for v in vehicles if v.pk == vehicle_id]
    if not vehicles:
        return _no_vehicle(entry)
    answers = [vehicle_answer(entry, v, today=today) for v in vehicles]
    chosen = next((a for a in answers if a.allowed), answers[0])
    if len(answers) == 1:
        return chosen
    listed = [
        {"vehicle_id": a.vehicle_id, "plate_number": a.details["plate_number"], "allowed": a.allowed,
         "code": a.code, "reason_zh": a.reason_zh, "reason_en": a.reason_en}
        for a in answers
    ]  # fmt: skip
    return Eligibility(
        chosen.business_code, chosen.allowed, chosen.code, chosen.reason_zh, chosen.reason_en,
        chosen.remedy_zh, chosen.remedy_en, details={**chosen.details, "vehicles": listed},
        vehicle_id=chosen.vehicle_id,
    )  # fmt: skip


def business_eligibility(
    *,
    actor: Any,
    business_code: str,
    today: date,
    vehicle_id: int | None = None,
    person_id: int | None = None,
) -> Eligibility:
    """May ``actor`` apply for ``business_code`` on ``today``; if not, why and what to do instead.

    For a licence business the applicant's own licence (the holder is the account's person)
    is asked the licence rules (B8-B14, ``registry.selectors.licence_business_check``). For a
    vehicle business (B1-B3, B20, B21, issue 14) the applicant's own vehicle (``vehicle_id``,
    or each of them when none is named) is asked the vehicle rules.
    """
    entry = catalogue.entry(business_code)
    refusal = _u5_refusal(actor, entry)
    if refusal is not None:
        # The U5 message already names the remedy (the counter upgrade, a hospital account).
        return Eligibility(entry.code, False, refusal.code, refusal.message_zh, refusal.message_en)
    if entry.needs_vehicle:
        return _vehicle_eligibility(actor, entry, today=today, vehicle_id=vehicle_id, person_id=person_id)
    if not entry.needs_licence:
        return Eligibility(entry.code, True)
    if person_id is None:
        person_id = getattr(actor, "person_id", None)
    licence = (
        DrivingLicence.objects.select_related("holder").filter(holder_id=person_id).first()
        if person_id
        else None
    )
    if licence is None:
        return _no_licence(entry)
    answer = selectors.licence_business_check(licence=licence, business_code=entry.code, today=today)
    if isinstance(answer, licence_rules.Refusal):
        details = {"on": _iso(answer.on)} if answer.on else {}
        return Eligibility(
            entry.code, False, answer.code, answer.zh, answer.en, answer.remedy_zh, answer.remedy_en,
            licence_id=licence.pk, details=details,
        )  # fmt: skip
    return Eligibility(
        entry.code, True, licence_id=licence.pk, details=_details(answer, licence=licence, today=today)
    )


def check_can_apply(
    *,
    actor: Any,
    business_code: str,
    today: date,
    vehicle_id: int | None = None,
    person_id: int | None = None,
) -> Eligibility:
    """The eligibility, or a refusal: 403 when the account may not do the business at all
    (U5), 409 when it may but not now (a licence or vehicle rule), in the same words as the page."""
    refusal = _u5_refusal(actor, catalogue.entry(business_code))
    if refusal is not None:
        raise refusal
    answer = business_eligibility(
        actor=actor, business_code=business_code, today=today, vehicle_id=vehicle_id, person_id=person_id
    )
    if not answer.allowed:
        raise Conflict(
            answer.code or "applications.not_eligible",
            " ".join(filter(None, [answer.reason_zh, answer.remedy_zh])),
            " ".join(filter(None, [answer.reason_en, answer.remedy_en])),
            detail={"business": answer.business_code, **answer.details},
        )
    return answer
