"""Vehicle business rules (issue 14, REQ B1, B2, B3, B20, B21, E6), as pure functions over tables.

The applications engine asks these before it offers a vehicle business (机动车业务) and again
when it completes one: replace a lost plate (补领号牌, B1), exchange a damaged plate (换领号牌,
B2), replace a lost vehicle licence (补领行驶证, B20), exchange a damaged one (换领行驶证, B21),
and replace the paper inspection mark (补领检验合格标志, B3), which E6 makes needless while
the electronic mark is valid.

Like ``licence_rules`` this module has no ORM, no clock and no Django: the caller gathers the
facts (the stored status codes, whether the inspection is overdue, whether a valid
electronic mark exists) and passes ``today`` where a date matters. The answers are the same
``Allowed``/``Refusal`` objects the licence rules give, so one page shows both.

Sources (design/RULES.md): S3 公安部令第164号 机动车登记规定 (2022-05-01), the chapter on
replacing and exchanging plates and the vehicle licence (article numbers not checked here);
S7 vehicle status codes; E6 (a lost or damaged paper mark needs no replacement business while
the electronic one is valid).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from . import rules
from .licence_rules import ALLOWED, Allowed, Refusal

__all__ = [
    "VEHICLE_BUSINESSES",
    "Business",
    "VehicleFacts",
    "paper_mark_replacement",
    "status_refusal",
    "vehicle_business_allowed",
]


class Business(StrEnum):
    """The vehicle businesses a status can stop."""

    PLATE = "plate"  # B1 补领号牌, B2 换领号牌
    VEHICLE_LICENCE = "vehicle_licence"  # B20 补领行驶证, B21 换领行驶证
    PAPER_MARK = "paper_mark"  # B3 补领检验合格标志; E2 paper mark of an exempt vehicle


# Business code of the catalogue -> (what it reissues, the cause recorded in the registry).
VEHICLE_BUSINESSES: dict[str, tuple[Business, str]] = {
    "B1": (Business.PLATE, "lost"),
    "B2": (Business.PLATE, "damaged"),
    "B20": (Business.VEHICLE_LICENCE, "lost"),
    "B21": (Business.VEHICLE_LICENCE, "damaged"),
    "B3": (Business.PAPER_MARK, "lost"),
    "E2": (Business.PAPER_MARK, "first"),
}


@dataclass(frozen=True)
class VehicleFacts:
    """What the rules decide on: the stored S7 codes and the inspection state of ``today``."""

    status: str = "A"
    inspection_overdue: bool = False


@dataclass(frozen=True)
class _Block:
    stops: frozenset[Business]
    remedy_zh: str
    remedy_en: str


_ALL = frozenset(Business)
_NEW_DOCUMENTS = frozenset({Business.PLATE, Business.VEHICLE_LICENCE})

# Which S7 statuses stop which business, and the remedy. RULES.md and the seeds do not list
# which statuses stop a new plate or licence, so this table is the platform's reading: nothing
# new for a vehicle that is gone or void (B E M P), stolen or wanted (C J N), held by an
# authority (H K L) or locked (O), nor for one laid up (D, its plates are handed in). Unfinished
# violations and accidents (G I) stop nothing here: a replacement changes no rights in the
# vehicle, and the owner must be able to drive it legally to settle them. ASSUMPTION, to check
# against the local DMV's practice. Unknown codes and Z stop everything: an officer must look.
_STATUS_BLOCKS: dict[str, _Block] = {
    "B": _Block(
        _ALL,
        "机动车档案已转出，请向转入地车辆管理所申请。",
        "The vehicle record was transferred out; apply to the office it went to.",
    ),
    "C": _Block(
        _ALL,
        "被盗抢机动车不能补换牌证；找回后请到车辆管理所办理解除。",
        "No new plate or papers for a stolen vehicle; once it is recovered, have the status lifted "
        "at a vehicle administration office.",
    ),
    "D": _Block(
        _ALL,
        "停驶期间号牌、行驶证已交回，请先到车辆管理所办理恢复行驶。",
        "While laid up the plates and licence are handed in; resume use at a vehicle "
        "administration office first.",
    ),
    "E": _Block(_ALL, "机动车已注销，不能补换牌证。", "The vehicle is deregistered; no new plate or papers."),
    "H": _Block(
        _ALL,
        "海关监管期间请到车辆管理所窗口办理。",
        "Under customs supervision: apply at a vehicle administration office counter.",
    ),
    "J": _Block(
        _ALL, "请到车辆管理所核实车辆情况。", "Have the vehicle checked at a vehicle administration office."
    ),
    "K": _Block(
        _ALL, "机动车被查封，解除查封后再申请。", "The vehicle is sealed up; apply once that is lifted."
    ),
    "L": _Block(_ALL, "机动车被暂扣，领回后再申请。", "The vehicle is detained; apply once it is returned."),
    "M": _Block(
        _ALL,
        "机动车已强制注销，不能补换牌证。",
        "The vehicle was compulsorily deregistered; no new plate or papers.",
    ),
    "N": _Block(
        _ALL, "请先到公安机关交通管理部门处理事故。", "Report to the traffic police about the accident first."
    ),
    "O": _Block(
        _ALL,
        "机动车已锁定，请到登记地车辆管理所咨询。",
        "The vehicle is locked; ask the vehicle administration office that registered it.",
    ),
    "P": _Block(
        _ALL,
        "机动车已达到报废标准，牌证作废，请办理报废注销。",
        "The vehicle reached the scrapping standard and its plates and papers are void; deregister it.",
    ),
    "Z": _Block(_ALL, "请到车辆管理所咨询。", "Ask a vehicle administration office."),
}
_UNKNOWN_BLOCK = _Block(
    _ALL,
    "机动车状态无法识别，请到车辆管理所核实。",
    "The vehicle status is not recognised; have it checked at a vehicle administration office.",
)
_NO_BLOCK = frozenset("AGIQ")  # normal, unfinished violation or accident, inspection overdue (below)

_BUSINESS_LABELS: dict[Business, tuple[str, str]] = {
    Business.PLATE: ("补领或换领号牌", "a new plate"),
    Business.VEHICLE_LICENCE: ("补领或换领行驶证", "a new vehicle licence"),
    Business.PAPER_MARK: ("领取检验合格标志", "a paper inspection mark"),
}


def status_refusal(status: str, business: Business) -> Refusal | None:
    """The refusal for the first stored status code that stops ``business``, or None (S7)."""
    for code in status or "A":
        if code in _NO_BLOCK:
            continue
        block = _STATUS_BLOCKS.get(code, _UNKNOWN_BLOCK)
        if business not in block.stops:
            continue
        zh_status, en_status = rules.VEHICLE_STATUS.get(code, (f"未知状态 {code}", f"unknown status {code}"))
        label_zh, label_en = _BUSINESS_LABELS[business]
        return Refusal(
            f"vehicle.status_{code}",
            f"机动车状态为“{zh_status}”，不能{label_zh}。",
            f"The vehicle is marked “{en_status.lower()}”, which rules out {label_en}.",
            block.remedy_zh,
            block.remedy_en,
        )
    return None


def paper_mark_replacement(*, e_mark_valid: bool) -> Allowed | Refusal:
    """B3 online (E6): with a valid electronic mark a lost or damaged paper mark needs no
    replacement, the owner shows or prints the electronic one; without one it may be replaced."""
    if e_mark_valid:
        return Refusal(
            "vehicle.e_mark_valid",
            "您的车辆已有有效的检验标志电子凭证，纸质检验合格标志遗失或损毁无需补领。",
            "Your vehicle has a valid electronic inspection mark, so a lost or damaged paper mark needs no "
            "replacement.",
            "请在“电子证照”中查看或下载检验标志电子凭证，出示即可。",
            "View or download the electronic mark under 'Electronic credentials' and show it instead.",
        )
    return ALLOWED


def vehicle_business_allowed(facts: VehicleFacts, business_code: str) -> Allowed | Refusal:
    """Whether a vehicle business may be applied for on the facts (statuses first).

    A paper mark (B3, E2) also needs an inspection in date: an overdue vehicle has no mark
    to replace and is sent to inspection instead. Plates and licences do not wait for it.
    """
    business, _cause = VEHICLE_BUSINESSES[business_code]
    refusal = status_refusal(facts.status, business)
    if refusal is not None:
        return refusal
    if business is Business.PAPER_MARK and facts.inspection_overdue:
        return Refusal(
            "vehicle.inspection_overdue",
            "机动车检验已逾期，没有可补领的检验合格标志。",
            "The inspection is overdue, so there is no mark to replace.",
            "请先预约检验，检验合格后即签发检验标志。",
            "Book an inspection first; the mark is issued when it passes.",
        )
    return ALLOWED
