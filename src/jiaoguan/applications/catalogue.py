"""The businesses handled through the applications engine, as data (业务目录, issue 13).

Names and who may apply come from ``accounts.rules.BUSINESSES`` (the U5 table) and are not
repeated here; this table adds what the engine needs: the materials asked for, the fee by
effective date, the delivery options and the registry change that completes the business.
Pure data and small lookups; no ORM and no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from jiaoguan.accounts.rules import BUSINESSES, Business
from jiaoguan.core.errors import NotFound


class Material(StrEnum):
    """Material an applicant provides (申请材料)."""

    PHOTO = "photo"
    MEDICAL_CERTIFICATE = "medical_certificate"
    ID_COPY = "id_copy"
    STATEMENT = "statement"


MATERIAL_NAMES: dict[Material, tuple[str, str]] = {
    Material.PHOTO: ("本人近期照片", "Recent photo"),
    Material.MEDICAL_CERTIFICATE: ("《机动车驾驶人身体条件证明》", "Physical-condition certificate"),
    Material.ID_COPY: ("身份证明复印件", "Copy of the identity document"),
    Material.STATEMENT: ("情况说明（书面声明）", "Written statement"),
}


class Delivery(StrEnum):
    """How the result reaches the applicant (领取方式)."""

    POST = "post"  # 邮寄
    PICKUP = "pickup"  # 窗口自取


DELIVERY_NAMES: dict[Delivery, tuple[str, str]] = {
    Delivery.POST: ("邮寄送达", "By post"),
    Delivery.PICKUP: ("到车管所窗口领取", "Pick up at the DMV window"),
}


@dataclass(frozen=True)
class Fee:
    """A fee from a date on, in fen (分), with where the amount comes from."""

    effective_from: date
    fen: int
    source: str


# 驾驶证工本费 10 yuan per licence: 国家发展改革委、财政部《关于公安部门有关证照收费标准的通知》
# (发改价格〔2004〕2831号). ASSUMPTION: the amount and the document number are as commonly
# cited and not yet checked against the text of the notice; a newer row replaces it from its date.
LICENCE_PRODUCTION_FEE = (Fee(date(2004, 12, 1), 1000, "发改价格〔2004〕2831号 (assumption, unverified)"),)
NO_FEE: tuple[Fee, ...] = ()

WITH_DELIVERY = (Delivery.POST, Delivery.PICKUP)
NO_DELIVERY: tuple[Delivery, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One business of the engine: the U5 row it extends and what the engine adds."""

    code: str
    materials: tuple[Material, ...]
    fees: tuple[Fee, ...]
    delivery: tuple[Delivery, ...]  # empty: nothing is produced, nothing to deliver
    completes_with: str  # name of the registry service that completes it (wired later)
    needs_licence: bool  # the application names one of the applicant's driving licences

    @property
    def business(self) -> Business:
        return BUSINESSES[self.code]

    @property
    def name_zh(self) -> str:
        return self.business.name_zh

    @property
    def name_en(self) -> str:
        return self.business.name_en

    @property
    def delivers(self) -> bool:
        return bool(self.delivery)


_M = Material
CATALOGUE: dict[str, Entry] = {
    e.code: e
    for e in [
        # B6/B7: hospitals record the examination and send the certificate (issue 13).
        Entry("B6", (), NO_FEE, NO_DELIVERY, "registry.medical_examination_record", needs_licence=False),
        Entry("B7", (_M.MEDICAL_CERTIFICATE,), NO_FEE, NO_DELIVERY, "registry.medical_certificate_submit",
              needs_licence=False),
        Entry("B8", (_M.PHOTO, _M.MEDICAL_CERTIFICATE), LICENCE_PRODUCTION_FEE, WITH_DELIVERY,
              "registry.licence_renew", needs_licence=True),
        Entry("B9", (_M.PHOTO, _M.MEDICAL_CERTIFICATE), LICENCE_PRODUCTION_FEE, WITH_DELIVERY,
              "registry.licence_exchange_at_age_limit", needs_licence=True),
        Entry("B10", (_M.PHOTO, _M.STATEMENT), LICENCE_PRODUCTION_FEE, WITH_DELIVERY,
              "registry.licence_replace_lost", needs_licence=True),
        Entry("B11", (_M.PHOTO,), LICENCE_PRODUCTION_FEE, WITH_DELIVERY,
              "registry.licence_replace_damaged", needs_licence=True),
        Entry("B12", (_M.STATEMENT, _M.ID_COPY), NO_FEE, NO_DELIVERY, "registry.licence_defer_renewal",
              needs_licence=True),
        Entry("B13", (_M.STATEMENT, _M.ID_COPY), NO_FEE, NO_DELIVERY, "registry.licence_defer_review",
              needs_licence=True),
        Entry("B14", (_M.STATEMENT, _M.ID_COPY), NO_FEE, NO_DELIVERY,
              "registry.licence_defer_medical_certificate", needs_licence=True),
    ]
}  # fmt: skip


def entry(code: str) -> Entry:
    """The engine's entry for a business code, or a refusal naming the code."""
    found = CATALOGUE.get((code or "").upper())
    if found is None:
        raise NotFound(
            "applications.business_unknown",
            "该业务暂不能在网上申请。",
            "This business cannot be applied for online.",
            detail={"business": code},
        )
    return found


def fee_on(code: str, day: date) -> int:
    """The fee in fen payable for a business on ``day``: the latest row in force, 0 if none."""
    rows = [f for f in entry(code).fees if f.effective_from <= day]
    return max(rows, key=lambda f: f.effective_from).fen if rows else 0
