"""Rules of the online check of compulsory insurance and vehicle tax (交强险和车船税核验, O7).

Pure functions: no ORM, no clock. The day checked and the insurer's answer come in as values.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum

from jiaoguan.registry.rules import VehicleKind

COMPULSORY_INSURANCE = "compulsory_insurance"
VEHICLE_TAX = "vehicle_tax"
MISSING_ITEMS = (COMPULSORY_INSURANCE, VEHICLE_TAX)


class Purpose(StrEnum):
    """Why the check is made: the businesses O7 names, and the temporary plate (临时号牌)."""

    INSPECTION = "inspection"
    TEMPORARY_PLATE = "temporary_plate"
    REGISTRATION = "registration"

    @property
    def label_zh(self) -> str:
        return {"inspection": "机动车检验", "temporary_plate": "核发临时号牌", "registration": "注册登记"}[
            self
        ]

    @property
    def label_en(self) -> str:
        return {
            "inspection": "inspection",
            "temporary_plate": "temporary plate",
            "registration": "registration",
        }[self]


# O7: motorcycles (mopeds and three-wheeled motorcycles are motorcycles), low-speed trucks and
# tricycles (三轮汽车) are not asked for compulsory insurance at registration and inspection.
EXEMPT_KINDS: frozenset[VehicleKind] = frozenset(
    {
        VehicleKind.MOTORCYCLE,
        VehicleKind.MOPED,
        VehicleKind.THREE_WHEELED_MOTORCYCLE,
        VehicleKind.THREE_WHEELED,
        VehicleKind.LOW_SPEED_TRUCK,
    }
)


def insurance_required(kind: str) -> bool:
    """Whether the check is made for a vehicle of this registry kind (O7); unknown kinds are asked."""
    return kind not in EXEMPT_KINDS


def missing_items(*, insured: bool, tax_paid: bool) -> tuple[str, ...]:
    """What is missing, in a fixed order (the stored and answered value)."""
    return tuple(item for item, ok in ((COMPULSORY_INSURANCE, insured), (VEHICLE_TAX, tax_paid)) if not ok)


def missing_message(missing: tuple[str, ...], *, tax_year: int) -> tuple[str, str]:
    """What is missing and what to do, in Chinese and English ("" when nothing is missing)."""
    if not missing:
        return "", ""
    zh, en = [], []
    if COMPULSORY_INSURANCE in missing:
        zh.append("未查询到有效的机动车交通事故责任强制保险（交强险）信息，请先向保险公司投保或续保")
        en.append(
            "No compulsory traffic insurance in force was found; take out or renew the policy with an insurer"
        )
    if VEHICLE_TAX in missing:
        zh.append(f"未查询到{tax_year}年度车船税缴纳信息，请在投保交强险时由保险公司代收或向税务机关缴纳")
        en.append(
            f"The vehicle and vessel tax for {tax_year} is not paid; pay it with the insurer when insuring"
            " or at the tax office"
        )
    return (
        "；".join(zh) + "。办妥后即可重新核验。",
        "; ".join(en) + ". Then check again.",
    )


_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def week_parse(text: str) -> tuple[date, date]:
    """The Monday and the following Monday of an ISO week written ``2026-W49``; ValueError otherwise."""
    match = _WEEK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an ISO week: {text!r}")
    monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    return monday, monday + timedelta(days=7)


def week_of(day: date) -> str:
    """The ISO week of a day, written ``2026-W49``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
