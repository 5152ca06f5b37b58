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
    DAMAGED_PHOTO = "damaged_photo"  # issue 14: the damaged plate or vehicle licence (B2, B21)


MATERIAL_NAMES: dict[Material, tuple[str, str]] = {
    Material.PHOTO: ("本人近期照片", "Recent photo"),
    Material.MEDICAL_CERTIFICATE: ("《机动车驾驶人身体条件证明》", "Physical-condition certificate"),
    Material.ID_COPY: ("身份证明复印件", "Copy of the identity document"),
    Material.STATEMENT: ("情况说明（书面声明）", "Written statement"),
    Material.DAMAGED_PHOTO: ("损毁号牌或行驶证的照片", "Photo of the damaged plate or vehicle licence"),
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
    """A fee from a date on, in fen (分), with where the amount comes from.

    ``plate_types``: the plate types (GA 36) the row is for; None for any (the row used when
    the application names no vehicle, or its plate type has no row of its own).
    """

    effective_from: date
    fen: int
    source: str
    plate_types: frozenset[str] | None = None


# 驾驶证工本费 10 yuan per licence: 国家发展改革委、财政部《关于公安部门有关证照收费标准的通知》
# (发改价格〔2004〕2831号). ASSUMPTION: the amount and the document number are as commonly
# cited and not yet checked against the text of the notice; a newer row replaces it from its date.
LICENCE_PRODUCTION_FEE = (Fee(date(2004, 12, 1), 1000, "发改价格〔2004〕2831号 (assumption, unverified)"),)
NO_FEE: tuple[Fee, ...] = ()

# 号牌工本费 (issue 14, B1, B2): 汽车反光号牌 100 yuan a pair, 挂车 50 yuan (one plate), 摩托车 and
# 低速车 35 yuan a pair: 国家计委、财政部《关于发布公安部门有关收费标准的通知》(计价格〔1994〕783号),
# kept by 发改价格〔2004〕2831号. ASSUMPTION: the amounts are as commonly cited and not yet checked
# against the texts of the notices; a newer row replaces them from its date.
_PLATE_SOURCE = "计价格〔1994〕783号, 发改价格〔2004〕2831号 (assumption, unverified)"
PLATE_PRODUCTION_FEE = (
    Fee(date(2004, 12, 1), 10000, _PLATE_SOURCE),  # cars, coaches, new-energy cars: a pair
    Fee(date(2004, 12, 1), 5000, _PLATE_SOURCE, plate_types=frozenset({"15"})),  # trailer: one plate
    Fee(date(2004, 12, 1), 3500, _PLATE_SOURCE, plate_types=frozenset({"07", "08", "13"})),
)
# 行驶证工本费 10 yuan (issue 14, B20, B21): 发改价格〔2004〕2831号. ASSUMPTION as for the licence's.
VEHICLE_LICENCE_PRODUCTION_FEE = (
    Fee(date(2004, 12, 1), 1000, "发改价格〔2004〕2831号 (assumption, unverified)"),
)

WITH_DELIVERY = (Delivery.POST, Delivery.PICKUP)
NO_DELIVERY: tuple[Delivery, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One business of the engine: the U5 row it extends and what the engine adds."""

    code: str
    materials: tuple[Material, ...]
    fees: tuple[Fee, ...]
    delivery: tuple[Delivery, ...]  # empty: nothing is produced, nothing to deliver
    completes_with: str  # name of the service that completes it (completion.py)
    needs_licence: bool  # the application names one of the applicant's driving licences
    needs_vehicle: bool = False  # the application names one of the applicant's vehicles (issue 14)
    # Opened by the platform itself, never applied for on a page: the paper mark of an exempt
    # vehicle or of a passed inspection (E2, issue 14). It starts accepted: nothing to check.
    by_system: bool = False

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
        # Issue 14: plates and vehicle licences (B1, B2, B20, B21) and the paper inspection mark
        # (B3 a replacement, E2 the first one of an exempt vehicle or a passed inspection).
        Entry("B1", (_M.STATEMENT,), PLATE_PRODUCTION_FEE, WITH_DELIVERY, "registry.vehicle_plate_reissue",
              needs_licence=False, needs_vehicle=True),
        Entry("B2", (_M.DAMAGED_PHOTO,), PLATE_PRODUCTION_FEE, WITH_DELIVERY, "registry.vehicle_plate_reissue",
              needs_licence=False, needs_vehicle=True),
        Entry("B3", (_M.STATEMENT,), NO_FEE, WITH_DELIVERY, "credentials.paper_mark_request_sent",
              needs_licence=False, needs_vehicle=True),
        Entry("B20", (_M.STATEMENT,), VEHICLE_LICENCE_PRODUCTION_FEE, WITH_DELIVERY,
              "registry.vehicle_licence_reissue", needs_licence=False, needs_vehicle=True),
        Entry("B21", (_M.DAMAGED_PHOTO,), VEHICLE_LICENCE_PRODUCTION_FEE, WITH_DELIVERY,
              "registry.vehicle_licence_reissue", needs_licence=False, needs_vehicle=True),
        Entry("E2", (), NO_FEE, WITH_DELIVERY, "credentials.paper_mark_request_sent", needs_licence=False,
              needs_vehicle=True, by_system=True),
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


def fee_on(code: str, day: date, *, plate_type: str = "") -> int:
    """The fee in fen payable for a business on ``day``: the latest row in force, 0 if none.

    A row for the vehicle's plate type wins over the general row (plates cost by type).
    """
    rows = [f for f in entry(code).fees if f.effective_from <= day]
    own = [f for f in rows if f.plate_types is not None and plate_type in f.plate_types]
    general = [f for f in rows if f.plate_types is None]
    rows = own or general
    return max(rows, key=lambda f: f.effective_from).fen if rows else 0
