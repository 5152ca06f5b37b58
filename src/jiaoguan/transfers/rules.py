"""Business rules of the cross-region used-car transfer (二手车异地交易登记, T1-T5). Pure functions.

The rollout (T5) is the table of cities and dates in seed 004 §二 二: 20 pilot cities from
2021-06-01 (during the pilot only between pilot cities), every municipality, provincial capital,
autonomous-region capital and separately planned city (计划单列市) from 2021-09-01, and the whole
country by the end of June 2022.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from jiaoguan.registry.rules import UseNature, VehicleKind

# ---------------------------------------------------------------- rollout by city and date (T5)

PILOT_FROM = date(2021, 6, 1)
CAPITALS_FROM = date(2021, 9, 1)
NATIONWIDE_FROM = date(2022, 6, 30)  # "2022年6月底前，全国全面推行"

# City-level codes (GB/T 2260) of the 20 pilot cities (试点城市).
PILOT_CITIES: dict[str, str] = {
    "120100": "天津", "140100": "太原", "210100": "沈阳", "310100": "上海", "320100": "南京",
    "320500": "苏州", "330100": "杭州", "330200": "宁波", "340100": "合肥", "350100": "福州",
    "360100": "南昌", "370300": "淄博", "410100": "郑州", "420100": "武汉", "440300": "深圳",
    "450100": "南宁", "500100": "重庆", "510100": "成都", "530100": "昆明", "630100": "西宁",
}  # fmt: skip
# Municipalities (直辖市), provincial capitals (省会市), autonomous-region capitals (自治区首府市) and
# separately planned cities (计划单列市), the pilot cities among them included.
CAPITAL_CITIES: dict[str, str] = {
    "110100": "北京", "120100": "天津", "310100": "上海", "500100": "重庆",
    "130100": "石家庄", "140100": "太原", "210100": "沈阳", "220100": "长春", "230100": "哈尔滨",
    "320100": "南京", "330100": "杭州", "340100": "合肥", "350100": "福州", "360100": "南昌",
    "370100": "济南", "410100": "郑州", "420100": "武汉", "430100": "长沙", "440100": "广州",
    "460100": "海口", "510100": "成都", "520100": "贵阳", "530100": "昆明", "610100": "西安",
    "620100": "兰州", "630100": "西宁",
    "150100": "呼和浩特", "450100": "南宁", "540100": "拉萨", "640100": "银川", "650100": "乌鲁木齐",
    "210200": "大连", "370200": "青岛", "330200": "宁波", "350200": "厦门", "440300": "深圳",
}  # fmt: skip
_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})


@dataclass(frozen=True)
class Refusal:
    code: str
    zh: str
    en: str


def city_of(division: str) -> str:
    """The city-level code of a division code: a municipality's districts and counties are one city."""
    code = (division or "").strip()[:6]
    if len(code) != 6 or not code.isdigit():
        return ""
    if code[:2] in _MUNICIPALITIES:
        return f"{code[:2]}0100"
    return f"{code[:4]}00"


def covered_on(city: str, on: date) -> str:
    """Which phase of the rollout covers ``city`` on ``on``: "pilot", "capitals", "nationwide" or ""."""
    if on >= NATIONWIDE_FROM:
        return "nationwide"
    if on >= CAPITALS_FROM and (city in CAPITAL_CITIES or city in PILOT_CITIES):
        return "capitals"
    if on >= PILOT_FROM and city in PILOT_CITIES:
        return "pilot"
    return ""


def rollout_check(*, origin: str, destination: str, on: date) -> Refusal | None:
    """T5: both cities must be covered on the day; during the pilot, only between pilot cities."""
    origin_city, destination_city = city_of(origin), city_of(destination)
    if not origin_city or not destination_city:
        return Refusal(
            "transfers.city_unknown",
            "转出地或转入地的行政区划代码无效。",
            "The origin or destination city code is not valid.",
        )
    if origin_city == destination_city:
        return Refusal(
            "transfers.same_city", "转出地与转入地是同一城市，请按本地转移登记办理。",
            "The origin and the destination are the same city: this is a local transfer, not a cross-region one.",
        )  # fmt: skip
    for city, zh, en in ((origin_city, "转出地", "origin"), (destination_city, "转入地", "destination")):
        if not covered_on(city, on):
            return Refusal(
                "transfers.not_rolled_out",
                f"{on:%Y年%m月%d日}{zh}尚未推行二手车异地交易登记，请按原规定办理。",
                f"On {on:%Y-%m-%d} the {en} city does not yet take part in cross-region used-car transfers; "
                "the former rules apply.",
            )
    return None


# ---------------------------------------------------------------- eligibility (T1)

ELIGIBLE_PLATE_TYPES = frozenset({"02", "52"})  # small, small new-energy
ELIGIBLE_KINDS = frozenset({VehicleKind.SMALL_PASSENGER.value})  # small and mini passenger cars
NON_OPERATING_USES = frozenset({UseNature.PRIVATE.value, UseNature.ORGANISATION.value})


def plate_type_check(plate_type: str) -> Refusal | None:
    """What the buyer can tell from the plate alone: large (yellow) plates never qualify (T1)."""
    if plate_type not in ELIGIBLE_PLATE_TYPES:
        return Refusal(
            "transfers.not_small_car", "仅小型、微型载客汽车（蓝牌或新能源小型车号牌）可以办理异地交易登记。",
            "Only small and mini passenger cars (small or small new-energy plates) qualify for a cross-region transfer.",
        )  # fmt: skip
    return None


def eligibility(*, kind: str, use_nature: str, plate_type: str) -> Refusal | None:
    """T1: only non-operating (非营运) small and mini passenger cars (小型、微型载客汽车)."""
    refused = plate_type_check(plate_type)
    if refused is not None:
        return refused
    if kind not in ELIGIBLE_KINDS:
        return Refusal(
            "transfers.not_passenger_car", "该车不是小型、微型载客汽车，不能办理异地交易登记。",
            "The vehicle is not a small or mini passenger car, so it does not qualify for a cross-region transfer.",
        )  # fmt: skip
    if use_nature not in NON_OPERATING_USES:
        return Refusal(
            "transfers.operating_vehicle", "营运车辆不能办理二手车异地交易登记。",
            "An operating (commercial) vehicle does not qualify for a cross-region used-car transfer.",
        )  # fmt: skip
    return None


def blocking_status(status: str) -> Refusal | None:
    """A record that is not normal (stolen, sealed, detained, mortgaged ...) stays where it is."""
    if (status or "A") != "A":
        return Refusal(
            "transfers.vehicle_blocked", "该车存在未处理的状态（如查封、被盗抢、违法或事故未处理），暂不能转出。",
            "The vehicle's record is not normal (sealed, stolen, an unprocessed violation or accident ...), "
            "so it cannot be transferred out yet.",
        )  # fmt: skip
    return None


def vin_matches(*, read_on_car: str, archived: str) -> Refusal | None:
    """T2: the VIN read at the destination's inspection must be the archive's."""
    if read_on_car.strip().upper() != archived.strip().upper():
        return Refusal(
            "transfers.vin_mismatch", "查验的车辆识别代号与档案不一致，不能登记。",
            "The VIN read on the car does not match the archive, so the car cannot be registered.",
        )  # fmt: skip
    return None


# ---------------------------------------------------------------- archive return and problems (T4)


class ReturnReason(StrEnum):
    """The only reasons the destination may return an archive (退档): a suspect vehicle."""

    STOLEN = "stolen"  # 被盗抢骗嫌疑
    SMUGGLED = "smuggled"  # 走私嫌疑
    ILLEGALLY_ASSEMBLED = "illegally_assembled"  # 非法拼（组）装嫌疑


RETURN_REASON_WORDS = {
    ReturnReason.STOLEN: ("被盗抢骗嫌疑车辆", "suspected stolen, robbed or defrauded vehicle"),
    ReturnReason.SMUGGLED: ("走私嫌疑车辆", "suspected smuggled vehicle"),
    ReturnReason.ILLEGALLY_ASSEMBLED: ("非法拼（组）装嫌疑车辆", "suspected illegally assembled vehicle"),
}


def return_check(reason: str) -> Refusal | None:
    """T4: the destination must not return the archive except for the three kinds of suspect."""
    if reason not in {r.value for r in ReturnReason}:
        return Refusal(
            "transfers.return_not_allowed", "除被盗抢骗、走私、非法拼（组）装嫌疑车辆外，转入地严禁退档。",
            "The destination may return an archive only for a suspected stolen, smuggled or illegally "
            "assembled vehicle.",
        )  # fmt: skip
    return None


PROBLEM_ANSWER_WORKING_DAYS = 3


# ---------------------------------------------------------------- anomalies (seed 004 §二 三 3)

ANOMALY_MIN_TRANSFERS = 5  # one trader, this many cars ...
ANOMALY_WINDOW_DAYS = 30  # ... within this many days: flagged for review


def anomalous_traders(rows: Iterable[tuple[str, date]]) -> dict[str, int]:
    """Traders (seller or agent) with at least ``ANOMALY_MIN_TRANSFERS`` transfers inside any window of
    ``ANOMALY_WINDOW_DAYS`` days: trader -> the largest count in one window."""
    days: dict[str, list[date]] = defaultdict(list)
    for trader, on in rows:
        if trader:
            days[trader].append(on)
    flagged: dict[str, int] = {}
    window = timedelta(days=ANOMALY_WINDOW_DAYS - 1)
    for trader, dated in days.items():
        dated.sort()
        best, start = 0, 0
        for end, day in enumerate(dated):
            while day - dated[start] > window:
                start += 1
            best = max(best, end - start + 1)
        if best >= ANOMALY_MIN_TRANSFERS:
            flagged[trader] = best
    return flagged
