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

from jiaoguan.accounts.rules import check_business_allowed
from jiaoguan.core.errors import Conflict, NotAllowed
from jiaoguan.registry import licence_rules, selectors
from jiaoguan.registry.models import DrivingLicence

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


def business_eligibility(*, actor: Any, business_code: str, today: date) -> Eligibility:
    """May ``actor`` apply for ``business_code`` on ``today``; if not, why and what to do instead.

    For a licence business the applicant's own licence (the holder is the account's person)
    is asked the licence rules (B8-B14, ``registry.selectors.licence_business_check``).
    """
    entry = catalogue.entry(business_code)
    refusal = _u5_refusal(actor, entry)
    if refusal is not None:
        # The U5 message already names the remedy (the counter upgrade, a hospital account).
        return Eligibility(entry.code, False, refusal.code, refusal.message_zh, refusal.message_en)
    if not entry.needs_licence:
        return Eligibility(entry.code, True)
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


def check_can_apply(*, actor: Any, business_code: str, today: date) -> Eligibility:
    """The eligibility, or a refusal: 403 when the account may not do the business at all
    (U5), 409 when it may but not now (a licence rule), in the same words as the page."""
    refusal = _u5_refusal(actor, catalogue.entry(business_code))
    if refusal is not None:
        raise refusal
    answer = business_eligibility(actor=actor, business_code=business_code, today=today)
    if not answer.allowed:
        raise Conflict(
            answer.code or "applications.not_eligible",
            " ".join(filter(None, [answer.reason_zh, answer.remedy_zh])),
            " ".join(filter(None, [answer.reason_en, answer.remedy_en])),
            detail={"business": answer.business_code, **answer.details},
        )
    return answer
