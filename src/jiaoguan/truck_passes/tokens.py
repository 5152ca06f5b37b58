"""The signed QR of a truck pass code (货车电子通行码, ``TK1:``), in the credentials token profile (O1).

The issue called it TP1, but TP1 is the temporary plate's (B18): the truck pass is TK1. A TK1
carries its TruckPass's id as its index, in a status space of its own: revoked codes are listed
revoked in the signed status list, and online a code past its last day answers "expired". The
token never outlives the code's last day. It signs the plate (not personal data), the zone, the
daily window and its weekdays, the dates, and whether the blacklist limited it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from jiaoguan.core.errors import Conflict
from jiaoguan.credentials.services import (
    STATUS_CODE,
    register_status_resolver,
    register_status_space,
    sign_payload,
)
from jiaoguan.credentials.token import Decoded, DisplayMode, Schema, date_int, register_schema
from jiaoguan.credentials.verify import register_subject_rows

from . import rules

TRUCK_PASS = register_schema(
    Schema(
        "TK1",
        "货车电子通行码",
        "Truck pass code",
        {
            "plate": 1,  # plate number
            "vehicle_kind": 2,  # registry vehicle kind
            "zone": 3,  # zone name
            "city": 4,  # GB/T 2260 code of the city
            "window": 5,  # daily window "07:00-09:00"
            "weekdays": 6,  # 1 (Monday) .. 7
            "valid_from": 7,  # days since 1970-01-01
            "valid_until": 8,  # days since 1970-01-01, inclusive
            "limited": 9,  # 1 when the blacklist shortened or reduced it
        },
    )
)


def pass_data(truck_pass: Any) -> dict[str, Any]:
    return {
        "plate": truck_pass.plate_number,
        "vehicle_kind": truck_pass.vehicle_kind,
        "zone": truck_pass.zone.name,
        "city": truck_pass.division,
        "window": f"{rules.hhmm(truck_pass.start)}-{rules.hhmm(truck_pass.end)}",
        "weekdays": list(truck_pass.weekdays),
        "valid_from": date_int(truck_pass.valid_from),
        "valid_until": date_int(truck_pass.valid_until),
        "limited": 1 if truck_pass.blacklisted else 0,
    }


def _end_of_day(day: date) -> int:
    return int(timezone.make_aware(datetime.combine(day, datetime.max.time())).timestamp())


def pass_state(truck_pass: Any, *, today: date | None = None) -> str:
    """valid, not_yet, expired or revoked."""
    return rules.pass_state(
        revoked=truck_pass.revoked_at is not None,
        valid_from=truck_pass.valid_from,
        valid_until=truck_pass.valid_until,
        today=today or timezone.localdate(),
    )


@dataclass(frozen=True)
class PassToken:
    text: str
    expires_at: int


def pass_token(*, truck_pass: Any, now: datetime | None = None) -> PassToken:
    """Sign the code's QR, to show on a phone or print; it lives to the end of the last day. A
    revoked or expired code is not signed (409)."""
    now = now or timezone.now()
    if pass_state(truck_pass, today=timezone.localtime(now).date()) in ("revoked", "expired"):
        raise Conflict(
            "truck_passes.pass.not_in_force",
            "该通行码已注销或已过期，不能出示或打印。",
            "This pass code has been revoked or has expired and cannot be shown or printed.",
        )
    expires_at = _end_of_day(truck_pass.valid_until)
    text = sign_payload(
        schema=TRUCK_PASS,
        data=pass_data(truck_pass),
        index=truck_pass.pk,
        issued_at=int(now.timestamp()),
        expires_at=expires_at,
        mode=DisplayMode.PRINTED,
    )
    return PassToken(text, expires_at)


# ---------------------------------------------------------------- status, online and offline


def _status(decoded: Decoded) -> str:
    """Online status of a TK1: revoked at once, expired after its last day; one not yet in force is
    listed valid (its first day is in the QR, and the roadside check says so)."""
    from .models import TruckPass

    truck_pass = (
        TruckPass.objects.filter(pk=decoded.index).only("valid_from", "valid_until", "revoked_at").first()
    )
    if truck_pass is None:
        return "unknown"
    state = pass_state(truck_pass)
    return "valid" if state == "not_yet" else state


def _listed() -> tuple[int, dict[int, int]]:
    """TK1's own index space in the signed status list: the revoked codes."""
    from .models import TruckPass

    last = TruckPass.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    revoked = TruckPass.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)
    return last + 1, {pk: STATUS_CODE["revoked"] for pk in revoked.iterator()}


def weekdays_words(days: Any, *, english: bool) -> str:
    listed = sorted(int(d) for d in days or [])
    if listed == list(rules.WEEKDAYS):
        return "every day" if english else "每天"
    words = [rules.WEEKDAY_WORDS[d][1 if english else 0] for d in listed if d in rules.WEEKDAY_WORDS]
    return (", " if english else "、").join(words)


def _subject_rows(subject: dict[str, Any]) -> list[tuple[str, str]]:
    """What the public verifier (/verify/) lists for a TK1, in the reader's language."""
    from django.utils import translation

    english = (translation.get_language() or "").lower().startswith("en")

    def words(zh: str, en: str) -> str:
        return en if english else zh

    rows = [
        (words("号牌号码", "Plate"), str(subject.get("plate", ""))),
        (words("通行区域", "Zone"), str(subject.get("zone", ""))),
        (
            words("通行时段", "Daily window"),
            f"{weekdays_words(subject.get('weekdays'), english=english)} {subject.get('window', '')}",
        ),
        (words("有效期", "Valid"), f"{subject.get('valid_from', '')} — {subject.get('valid_until', '')}"),
    ]
    if subject.get("limited"):
        rows.append(
            (
                words("黑名单管理", "Blacklist"),
                words("已减少数量、缩短有效期", "fewer codes, shorter validity"),
            )
        )
    return rows


register_status_resolver(TRUCK_PASS.prefix, _status)
register_status_space((TRUCK_PASS.prefix,), _listed)
register_subject_rows(TRUCK_PASS.prefix, _subject_rows)
