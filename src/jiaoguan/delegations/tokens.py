"""The signed QR of an online entrustment (电子委托书, ``EN1:``), in the credentials token profile (O5).

An EN1 carries its Entrustment's id as its index, in a status space of its own: revoked
entrustments are listed revoked in the signed status list, and online an entrustment past its
last day answers "expired". The token itself never outlives the entrustment's last day. Names and
ID numbers are signed masked: the counter compares the agent standing there with the record, not
with the QR.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from jiaoguan.core.errors import Conflict
from jiaoguan.core.identifiers import mask_id_number, mask_name
from jiaoguan.credentials.services import (
    STATUS_CODE,
    register_status_resolver,
    register_status_space,
    sign_payload,
)
from jiaoguan.credentials.token import Decoded, DisplayMode, Schema, date_int, register_schema
from jiaoguan.credentials.verify import register_subject_rows

from . import rules

ENTRUSTMENT = register_schema(
    Schema(
        "EN1",
        "网上委托书",
        "Online entrustment",
        {
            "principal": 1,  # masked name
            "principal_id": 2,  # masked ID number
            "agent": 3,  # masked name
            "agent_id": 4,  # masked ID number
            "businesses": 5,  # entrustable codes (delegations.rules.ENTRUSTABLE), seed order
            "valid_from": 6,  # days since 1970-01-01
            "valid_until": 7,  # days since 1970-01-01, inclusive
            "purpose": 8,  # ordinary | abroad (O4)
        },
    )
)


def entrustment_data(entrustment: Any) -> dict[str, Any]:
    """What the EN1 token signs: the parties masked, the businesses and the dates."""
    return {
        "principal": mask_name(entrustment.principal_person.name),
        "principal_id": mask_id_number(entrustment.principal_person.id_number),
        "agent": mask_name(entrustment.agent_name),
        "agent_id": mask_id_number(entrustment.agent_id_number),
        "businesses": list(entrustment.businesses),
        "valid_from": date_int(entrustment.valid_from),
        "valid_until": date_int(entrustment.valid_until),
        "purpose": entrustment.purpose,
    }


def _end_of_day(day: date) -> int:
    return int(timezone.make_aware(datetime.combine(day, datetime.max.time())).timestamp())


def entrustment_state(entrustment: Any, *, today: date | None = None) -> str:
    """valid, not_yet, expired or revoked (O5)."""
    return rules.entrustment_status(
        revoked=entrustment.revoked_at is not None,
        valid_from=entrustment.valid_from,
        valid_until=entrustment.valid_until,
        today=today or timezone.localdate(),
    )


@dataclass(frozen=True)
class EntrustmentToken:
    text: str
    expires_at: int


def entrustment_token(*, entrustment: Any, now: datetime | None = None) -> EntrustmentToken:
    """Sign the entrustment's QR, to show on a phone or print; it lives to the end of the last day.
    A revoked or expired entrustment is not signed (409)."""
    now = now or timezone.now()
    state = entrustment_state(entrustment, today=timezone.localtime(now).date())
    if state in ("revoked", "expired"):
        raise Conflict(
            "delegations.entrustment.not_in_force",
            "该委托已撤销或已过期，不能出示或打印。",
            "This entrustment has been revoked or has expired and cannot be shown or printed.",
        )
    expires_at = _end_of_day(entrustment.valid_until)
    text = sign_payload(
        schema=ENTRUSTMENT,
        data=entrustment_data(entrustment),
        index=entrustment.pk,
        issued_at=int(now.timestamp()),
        expires_at=expires_at,
        mode=DisplayMode.PRINTED,
    )
    return EntrustmentToken(text, expires_at)


# ---------------------------------------------------------------- status, online and offline


def _status(decoded: Decoded) -> str:
    """Online status of an EN1: revoked at once, expired after its last day, not yet in force
    before its first day (O5: a verifier must not take it for one that may be used today; the
    signed status list lists only revocations, and the first day is printed in the QR)."""
    from .models import Entrustment

    entrustment = (
        Entrustment.objects.filter(pk=decoded.index).only("valid_from", "valid_until", "revoked_at").first()
    )
    if entrustment is None:
        return "unknown"
    return entrustment_state(entrustment)


def _listed() -> tuple[int, dict[int, int]]:
    """EN1's own index space in the signed status list: the revoked entrustments (expired ones end
    with their token, which never outlives the entrustment's last day)."""
    from .models import Entrustment

    last = Entrustment.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    revoked = Entrustment.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)
    return last + 1, {pk: STATUS_CODE["revoked"] for pk in revoked.iterator()}


def _subject_rows(subject: dict[str, Any]) -> list[tuple[str, str]]:
    """What the public verifier (/verify/) lists for an EN1: the parties masked as signed, the
    businesses by name and the dates, in the reader's language."""
    from django.utils import translation

    english = (translation.get_language() or "").lower().startswith("en")

    def words(zh: str, en: str) -> str:
        return en if english else zh

    names = []
    for code in subject.get("businesses") or []:
        entry = rules.ENTRUSTABLE.get(str(code))
        names.append(words(entry.name_zh, entry.name_en) if entry else str(code))
    return [
        (
            words("委托人", "Principal"),
            f"{subject.get('principal', '')} {subject.get('principal_id', '')}".strip(),
        ),
        (words("被委托人", "Agent"), f"{subject.get('agent', '')} {subject.get('agent_id', '')}".strip()),
        (words("委托事项", "Businesses"), ("、" if not english else ", ").join(names)),
        (words("有效期", "Valid"), f"{subject.get('valid_from', '')} — {subject.get('valid_until', '')}"),
    ]


register_status_resolver(ENTRUSTMENT.prefix, _status)
register_status_space((ENTRUSTMENT.prefix,), _listed)
register_subject_rows(ENTRUSTMENT.prefix, _subject_rows)
