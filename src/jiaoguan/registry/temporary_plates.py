"""Dealers' temporary plates (机动车临时号牌, B18) as pure rules: no ORM, no clock.

RULES.md, after S3 (机动车登记规定): a temporary plate for an unsold or unregistered vehicle is
valid at most 30 days, a vehicle gets at most 3 of them, and a plate is never valid beyond the
end of the compulsory insurance (交强险) in force.

Number format (ASSUMPTION, documented here since GA 36-2018 gives the printed layout, not an
allocation rule we could follow online): province abbreviation + office letter of the issuing
office + "临" + a 5-digit serial per office, e.g. ``豫Q临00042``. The serial is allocated from
one counter row per office, locked, so numbers never repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from jiaoguan.core.errors import Conflict, ValidationFailed

MAX_DAYS = 30  # RULES.md: unsold or unregistered, at most 30 days
MAX_ISSUES = 3  # RULES.md: at most 3 issues per vehicle
SERIAL_DIGITS = 5
TEMPORARY_MARK = "临"

# Henan's plate offices (GA 36: province abbreviation + office letter), by the city part of the
# GB/T 2260 code. A dealer is served by the office of its city; a county shares its city's.
OFFICE_PREFIXES: dict[str, str] = {
    "4101": "豫A", "4102": "豫B", "4103": "豫C", "4104": "豫D", "4105": "豫E", "4106": "豫F",
    "4107": "豫G", "4108": "豫H", "4109": "豫J", "4110": "豫K", "4111": "豫L", "4112": "豫M",
    "4113": "豫R", "4114": "豫N", "4115": "豫S", "4116": "豫P", "4117": "豫Q", "4190": "豫U",
}  # fmt: skip


def office_prefix(division: str) -> str:
    """The plate prefix of the office that serves a division (豫Q for Zhumadian, 411700)."""
    prefix = OFFICE_PREFIXES.get((division or "")[:4])
    if prefix is None:
        raise Conflict(
            "registry.temporary_plate.no_office",
            f"行政区划 {division or '未填写'} 没有本平台的发牌机关，无法核发临时号牌，请到当地车管所办理。",
            f"Division {division or 'none'} has no plate office on this platform; apply at the local DMV.",
        )
    return prefix


def plate_number(prefix: str, serial: int) -> str:
    """The temporary plate number for an office's serial (豫Q临00042)."""
    if not 1 <= serial < 10**SERIAL_DIGITS:
        raise Conflict(
            "registry.temporary_plate.numbers_exhausted",
            "本发牌机关的临时号牌号码已用完，请联系车管所。",
            "This office has no temporary plate numbers left; contact the DMV.",
        )
    return f"{prefix}{TEMPORARY_MARK}{serial:0{SERIAL_DIGITS}d}"


@dataclass(frozen=True)
class Validity:
    """The validity granted: from, until (inclusive) and whether insurance cut it short."""

    valid_from: date
    valid_until: date
    capped_by_insurance: bool


def check_days(days: object) -> int:
    """The days asked for: a whole number from 1 to 30 (422 otherwise)."""
    try:
        value = int(str(days).strip())
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= MAX_DAYS:
        raise ValidationFailed(
            "registry.temporary_plate.days",
            f"临时号牌有效期为1至{MAX_DAYS}天。",
            f"A temporary plate is valid for 1 to {MAX_DAYS} days.",
            field="days",
        )
    return value


def check_issue_count(issued_before: int) -> int:
    """The issue number of the next plate of a vehicle; a fourth one is refused (409)."""
    if issued_before >= MAX_ISSUES:
        raise Conflict(
            "registry.temporary_plate.too_many",
            f"该车已核发{issued_before}次临时号牌，同一车辆最多核发{MAX_ISSUES}次，请办理注册登记。",
            f"This vehicle already had {issued_before} temporary plates; at most {MAX_ISSUES} are issued "
            "per vehicle. Register it instead.",
            field="vin",
        )
    return issued_before + 1


def validity(*, start: date, days: int, insured_until: date | None, insurance_required: bool) -> Validity:
    """The validity of a plate asked on ``start`` for ``days`` days, never beyond the compulsory
    insurance's last day (RULES.md). A plate that would end before it starts is refused."""
    days = check_days(days)
    until = start + timedelta(days=days - 1)
    capped = False
    if insurance_required:
        if insured_until is None or insured_until < start:
            raise Conflict(
                "registry.temporary_plate.not_insured",
                "该车交强险不在有效期内，不能核发临时号牌，请先投保。",
                "The vehicle has no compulsory insurance in force; insure it before applying.",
                field="vin",
            )
        if insured_until < until:
            until, capped = insured_until, True
    return Validity(start, until, capped)


def plate_state(*, valid_from: date, valid_until: date, revoked: bool, today: date) -> str:
    """valid, expired, revoked or not_yet_valid: what the dealer and the verifier see."""
    if revoked:
        return "revoked"
    if today > valid_until:
        return "expired"
    if today < valid_from:
        return "not_yet_valid"
    return "valid"


STATE_WORDS: dict[str, tuple[str, str]] = {
    "valid": ("有效", "valid"),
    "expired": ("已过期", "expired"),
    "revoked": ("已撤销", "revoked"),
    "not_yet_valid": ("尚未生效", "not yet valid"),
}
