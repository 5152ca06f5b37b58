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


def business_eligibility(*, actor: Any, business_code: str, today: date) -> Eligibility:
    """May ``actor`` apply for ``business_code`` on ``today``; if not, why and what to do instead."""
    entry = catalogue.entry(business_code)
    refusal = _u5_refusal(actor, entry)
    if refusal is not None:
        # The U5 message already names the remedy (the counter upgrade, a hospital account).
        return Eligibility(entry.code, False, refusal.code, refusal.message_zh, refusal.message_en)
    return Eligibility(entry.code, True)


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
