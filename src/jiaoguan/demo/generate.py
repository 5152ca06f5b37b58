"""Demonstration data for the Zhumadian detachment (驻马店市公安局交通管理支队, 411700, plates 豫Q).

``generate_demo`` fills the registry with persons, organisations, vehicles, driving licences
and points entries that look like a real detachment's records and obey the regulation rules
in ``registry/rules.py``: every ID number, VIN, plate and USCC validates, inspection dates
follow the inspection schedule, licence validity follows the 6 → 10 → long-term progression.
``ensure_demo_logins`` then creates one login per staff role and a few citizen and
organisation logins that point at interesting records.

Determinism
    Everything is drawn from one ``random.Random(seed)``, person after person, so the same
    seed and the same ``today`` on an empty database give identical rows, whatever the batch
    size. Dates come from ``today``, never from the clock.

Running twice on the same database (same or another seed)
    Unique values (citizen ID numbers, VINs, plate numbers, licence archive numbers, USCCs)
    are first drawn from the seed, then claimed batch by batch: a value already in the
    database, or already taken earlier in the same batch, is moved deterministically to
    the next free one without touching the random stream (ID sequence code + 2, which
    keeps the sex; VIN serial + 1 with a new check digit; the digits of a plate serial
    + 1; archive number + 1; organisation code + 1). So a second call with any seed
    succeeds, and the first call of a seed on an empty database is still reproducible.

Edge cases
    The first ``len(_SCENARIOS)`` persons of every call are scripted (see ``_SCENARIOS``),
    so each call has, for its ``today``: an online citizen with 9 points and an overdue
    inspection, points 10 and 11, a taxi within a year of compulsory scrapping, a licence
    in its renewal window, a driver on probation, a driver aged 70+, a cancelled but
    restorable licence, non-local owners of local vehicles, and a transport company
    (key vehicles, yellow plates), a hospital and a car dealer.

Memory
    Persons are planned and inserted ``batch_size`` at a time, each batch (persons, their
    vehicles, licences and points) in one transaction with ``bulk_create``; nothing is kept
    between batches except counters and the three legal representatives. The organisations
    are planned first and inserted last, in their own transaction, so row order does not
    depend on the batch size either.

Formats the standards leave open
    Licence archive numbers are the issuing city's 4-digit prefix (4117 here) and 8 digits.
    Points entries cite a violation record number made of the recording office (411700),
    the date (YYYYMMDD) and 6 digits; the violations app owns the real format.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate, islice
from typing import Generic, TypeVar

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from jiaoguan.accounts.models import OrganisationMember, StaffRole, User
from jiaoguan.accounts.services import (
    account_register_at_counter,
    clean_password,
    organisation_register,
    staff_create,
)
from jiaoguan.core.divisions import DIVISIONS, ZHUMADIAN, ZHUMADIAN_COUNTIES
from jiaoguan.core.identifiers import make_citizen_id, make_uscc, make_vin
from jiaoguan.registry import rules
from jiaoguan.registry.documents import IdDocumentType
from jiaoguan.registry.models import DrivingLicence, Organisation, Person, PlateType, PointsEntry, Vehicle
from jiaoguan.registry.rules import UseNature, ValidityTerm, VehicleKind, add_months, add_years, age_on
from jiaoguan.registry.selectors import licence_status, vehicle_status

__all__ = ["DEMO_SEED", "MIN_PERSONS", "PLATE_PREFIX", "demo_password", "ensure_demo_logins", "generate_demo"]

PLATE_PREFIX = "豫Q"  # Henan (豫), office letter Q: Zhumadian
MIN_PERSONS = 20  # the scripted edge cases come first and need this many persons at most

_K = VehicleKind
_U = UseNature
_T = TypeVar("_T")

# ---------------------------------------------------------------------------------------
# Reference tables (realistic, not real people or companies)
# ---------------------------------------------------------------------------------------

# Relative population of the Zhumadian districts and counties (2020 census, rounded).
_COUNTY_POPULATION: dict[str, int] = {
    "411702": 95,  # 驿城区
    "411721": 68,  # 西平县
    "411722": 110,  # 上蔡县
    "411723": 75,  # 平舆县
    "411724": 62,  # 正阳县
    "411725": 40,  # 确山县
    "411726": 80,  # 泌阳县
    "411727": 62,  # 汝南县
    "411728": 45,  # 遂平县
    "411729": 80,  # 新蔡县
}
_COUNTY_WEIGHTS: dict[str, int] = {code: _COUNTY_POPULATION.get(code, 60) for code in ZHUMADIAN_COUNTIES}

# Non-locals who own a vehicle registered here: Zhengzhou districts and Beijing Dongcheng.
_NON_LOCAL_AREAS: tuple[str, ...] = ("410105", "410102", "110101")
_NON_LOCAL_LICENCE_OFFICE: dict[str, str] = {"410105": "410100", "410102": "410100", "110101": "110000"}

# Surnames with rough frequencies (per mille) in Henan.
_SURNAMES: dict[str, float] = {
    "王": 75, "李": 73, "张": 70, "刘": 55, "陈": 45, "杨": 33, "赵": 29, "郭": 18, "周": 17, "孙": 16,
    "马": 15, "黄": 14, "徐": 13, "胡": 13, "朱": 13, "高": 13, "吴": 12, "宋": 10, "郑": 10, "何": 9,
    "韩": 9, "冯": 8, "梁": 8, "董": 7, "曹": 7, "许": 7, "魏": 6, "程": 6, "于": 6, "林": 6, "罗": 6,
    "谢": 6, "贾": 5, "吕": 5, "苏": 5, "丁": 5, "杜": 5, "田": 5, "任": 5, "范": 5, "袁": 5, "邓": 5,
    "闫": 5, "唐": 5, "肖": 5, "付": 4, "卢": 4, "蒋": 4, "蔡": 4, "薛": 4, "石": 4, "姚": 4, "白": 4,
    "崔": 4, "史": 4, "侯": 4, "孟": 4, "郝": 4, "彭": 4, "常": 3, "武": 3, "乔": 3, "牛": 3, "秦": 3,
    "段": 3, "康": 3, "毛": 3, "孔": 3, "方": 3, "姜": 3, "余": 3, "潘": 3, "沈": 3, "汪": 3, "夏": 3,
    "申": 2, "翟": 2, "岳": 2, "耿": 2, "聂": 2, "尹": 2, "贺": 2, "邵": 2, "邱": 2, "熊": 2, "雷": 2,
    "万": 2, "金": 2, "江": 2, "戴": 2, "曾": 2, "叶": 2, "祁": 1, "柴": 1, "龚": 1, "钱": 1, "汤": 1,
    "陆": 1, "顾": 1, "龙": 1, "文": 1, "易": 1, "欧阳": 0.2, "司马": 0.1, "上官": 0.1,
}  # fmt: skip

# Given-name characters by sex and generation (born before 1975: "old").
_GIVEN: dict[tuple[str, bool], tuple[str, str, str]] = {
    # (sex, old): (first of two, second of two, single-character names)
    ("M", True): (
        "建国志德振保文永卫新金长春庆明",
        "国军强华平林明山成发民生忠福贵海学义",
        "军强平刚明华林勇斌忠",
    ),
    ("M", False): (
        "子浩俊宇家文天志晓博一嘉泽明思",
        "杰涛鹏磊超凯鑫帅阳帆晨昊轩豪宇航然博辉诚",
        "浩宇杰涛鹏磊超凯鑫帅",
    ),
    ("F", True): ("秀桂玉凤淑素翠春丽红海金", "英兰珍梅芳荣华云霞琴莲香娥", "芳英兰梅霞琴红华云萍"),
    ("F", False): (
        "欣雨梓诗子梦佳思雅晓紫可婉静一",
        "怡涵萱琪瑶婷颖雪璐倩悦洁琳蕾彤妍",
        "静丽敏娜婷雪璐瑶欣颖",
    ),
}

_MOBILE_PREFIXES: tuple[str, ...] = tuple(
    (
        "130 131 132 133 134 135 136 137 138 139 147 150 151 152 153 155 156 157 158 159 "
        "166 172 173 175 176 177 178 180 181 182 183 185 186 187 188 189 191 198 199"
    ).split()
)

_CITY_ROADS = (
    "解放路 乐山大道 文明大道 雪松大道 开源大道 驿城大道 中华大道 风光路 练江大道 交通路 淮河大道 光明路 "
    "正阳路 置地大道 天中山大道"
).split()
_COUNTY_TOWN_ROADS = "人民路 建设路 解放路 文化路 中山路 健康路 新华路 东风路 团结路 工业路".split()
_TOWN_STEMS = (
    "朱里 蔡沟 杨埠 师灵 和店 金铺 韩庄 黄埠 老王坡 出山 焦庄 芦庙 常庄 顿岗 宋集 东岳 杨屯 李屯 万冢 "
    "清河 双庙 陈店 刘阁 玉山 孙召 留盆 三桥 板桥 古城 高邑"
).split()
_VILLAGE_SUFFIXES = "庄 楼 寨 湾 营 店 岗 桥 集 屯 洼 园".split()
_NON_LOCAL_ADDRESS: dict[str, tuple[str, tuple[str, ...]]] = {
    "410105": ("河南省郑州市金水区", ("花园路", "经三路", "农业路", "纬五路", "东风路", "丰产路")),
    "410102": ("河南省郑州市中原区", ("建设西路", "中原西路", "桐柏路", "棉纺路")),
    "110101": ("北京市东城区", ("东直门南大街", "朝阳门北大街", "安定门外大街", "东四十条", "和平里北街")),
}

# Brands and models with a plausible world manufacturer identifier (VIN positions 1-3).
_BrandList = tuple[tuple[str, str], ...]
_BRANDS: dict[str, _BrandList] = {
    "car": (
        ("大众 朗逸", "LSV"), ("大众 速腾", "LFV"), ("丰田 卡罗拉", "LVG"), ("本田 雅阁", "LHG"),
        ("日产 轩逸", "LGB"), ("别克 英朗", "LSG"), ("吉利 帝豪", "L6T"), ("长安 逸动", "LS5"),
        ("哈弗 H6", "LGW"), ("五菱 宏光", "LZW"), ("宝骏 510", "LZW"), ("现代 伊兰特", "LBE"),
        ("奇瑞 艾瑞泽5", "LVV"), ("传祺 GS4", "LMG"), ("比亚迪 F3", "LGX"),
    ),
    "car_electric": (
        ("五菱 宏光MINIEV", "LZW"), ("比亚迪 海豚", "LGX"), ("特斯拉 Model 3", "LRW"),
        ("特斯拉 Model Y", "LRW"), ("埃安 AION S", "LMG"), ("比亚迪 元PLUS", "LGX"), ("零跑 C11", "LFZ"),
    ),
    "car_hybrid": (("比亚迪 秦PLUS DM-i", "LGX"), ("比亚迪 宋PLUS DM-i", "LGX"), ("理想 L7", "LW4"), ("问界 M7", "LM8")),
    "taxi": (("大众 桑塔纳", "LSV"), ("大众 捷达", "LFV"), ("比亚迪 秦", "LGX")),
    "taxi_electric": (("比亚迪 e5", "LGX"), ("埃安 AION S", "LMG")),
    "van": (("五菱 荣光", "LZW"), ("长安 之星", "LS4"), ("金杯 海狮", "LSY")),
    "light_truck": (
        ("福田 欧马可", "LVB"), ("江淮 帅铃", "LJ1"), ("五菱 荣光小卡", "LZW"), ("东风 多利卡", "LGD"),
        ("江铃 凯运", "LEF"),
    ),
    "medium_truck": (("解放 J6L", "LFN"), ("东风 天锦", "LGA")),
    "heavy_truck": (("解放 J6P", "LFW"), ("东风 天龙", "LGA"), ("重汽 豪沃", "LZZ"), ("陕汽 德龙", "LZG")),
    "tractor": (("解放 J6P牵引车", "LFW"), ("重汽 豪沃T7H牵引车", "LZZ"), ("陕汽 德龙X3000牵引车", "LZG")),
    "semitrailer": (("中集 仓栅式半挂车", "LJR"), ("梁山 平板半挂车", "LA9")),
    "coach": (("宇通 ZK6117", "LZY"), ("金龙 XMQ6112", "LKL"), ("中通 LCK6108", "LDY")),
    "minibus": (("宇通 ZK6729", "LZY"), ("金旅 XML6729", "LKL")),
    "motorcycle": (("豪爵 HJ125-8", "LC6"), ("五羊本田 WH125", "LWB"), ("雅马哈 JYM125", "LBP"), ("新大洲本田 SDH125", "LTM")),
}  # fmt: skip

_CAR_COLOURS: dict[str, float] = {
    "白": 38,
    "黑": 18,
    "银": 14,
    "灰": 12,
    "红": 6,
    "蓝": 6,
    "棕": 2,
    "绿": 2,
    "黄": 2,
}
_TRUCK_COLOURS: dict[str, float] = {"红": 30, "蓝": 30, "白": 25, "黄": 10, "绿": 5}

# Vehicles of private persons: (weight, kind, use, brand list, oldest age in years). The oldest
# age stays just under the compulsory scrapping age (S8), so only a few are within a year of it.
_PERSONAL_VEHICLES: tuple[tuple[float, VehicleKind, UseNature, str, float], ...] = (
    (79.0, _K.SMALL_PASSENGER, _U.PRIVATE, "car", 20.0),
    (3.0, _K.SMALL_VAN, _U.PRIVATE, "van", 15.0),
    (4.5, _K.SMALL_TRUCK, _U.FREIGHT, "light_truck", 14.8),
    (0.8, _K.MEDIUM_TRUCK, _U.FREIGHT, "medium_truck", 14.8),
    (1.5, _K.HEAVY_TRUCK, _U.FREIGHT, "heavy_truck", 14.8),
    (0.7, _K.TRACTOR, _U.FREIGHT, "tractor", 14.8),
    (9.5, _K.MOTORCYCLE, _U.PRIVATE, "motorcycle", 12.8),
    (1.0, _K.SMALL_PASSENGER, _U.TAXI, "taxi", 7.9),
)

_YELLOW_PLATE_KINDS = frozenset(
    {_K.MEDIUM_TRUCK, _K.HEAVY_TRUCK, _K.TRACTOR, _K.MEDIUM_PASSENGER, _K.LARGE_PASSENGER}
)

# Licence classes of randomly generated holders: (weight, classes).
_CLASS_MIX_MALE: tuple[tuple[float, str], ...] = (
    (72, "C1"), (5, "C2"), (3, "A2"), (8, "B2"), (5, "C1D"), (7, "C1E"),
)  # fmt: skip
_CLASS_MIX_FEMALE: tuple[tuple[float, str], ...] = ((80, "C1"), (18, "C2"), (1, "C1E"), (1, "B2"))

# Points of one offence (S2 values) with how often each occurs: (weight, points).
_OFFENCES: tuple[tuple[float, int], ...] = ((45, 1), (36, 3), (18, 6), (1, 9))

_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # plate letters: never I or O
_VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # never I, O or Q
_VIN_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # model year 1980 = A, 30-year cycle
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

_COUNTS_KEYS = ("persons", "organisations", "vehicles", "licences", "points_entries")

# ---------------------------------------------------------------------------------------
# Scripted edge cases: person index -> scenario. Each is built by ``_Planner._scenario``.
# ---------------------------------------------------------------------------------------

_SCENARIOS: tuple[str, ...] = (
    "online_citizen",  # 0: 9 points in the cycle and a car overdue for inspection
    "counter_citizen",  # 1: everything in order (a counter-level login points here)
    "points_10",  # 2
    "points_11",  # 3: B2 lorry driver with a heavy truck
    "taxi_scrapping",  # 4: taxi registered 7.5 years ago, scrapping age 8
    "renewal_window",  # 5: licence expires within 90 days
    "probation",  # 6: licensed less than a year ago
    "senior",  # 7: aged 70+, medical certificate every year
    "cancelled_recoverable",  # 8: status R, more than a year overdue for renewal
    "rep_transport",  # 9: legal representative of the transport company
    "rep_hospital",  # 10
    "rep_dealer",  # 11
    "non_local_zhengzhou",  # 12: lives in Zhengzhou, car registered here
    "non_local_beijing",  # 13: lives in Beijing, light truck registered here
)
assert len(_SCENARIOS) <= MIN_PERSONS

_REP_SCENARIOS = {
    "rep_transport": "transport_company",
    "rep_hospital": "hospital",
    "rep_dealer": "car_dealer",
}


# ---------------------------------------------------------------------------------------
# Plans: what will be inserted, before unique values are claimed
# ---------------------------------------------------------------------------------------


@dataclass
class _VehiclePlan:
    kind: str
    use: str
    plate_type: str
    plate_serial: str  # after the 豫Q prefix
    vin: str
    brand_model: str
    colour: str
    registered_on: date
    last_inspected_on: date | None
    on_site_required: bool
    division: str

    @property
    def plate_number(self) -> str:
        return PLATE_PREFIX + self.plate_serial


@dataclass
class _LicencePlan:
    archive_number: str
    classes: str
    first_issued_on: date
    valid_from: date
    validity_term: str
    probation_started_on: date | None
    last_medical_on: date | None
    division: str
    status: str = "A"
    cancelled_on: date | None = None
    points: list[tuple[int, date, str]] = field(default_factory=list)


@dataclass
class _PersonPlan:
    area: str
    birth_date: date
    sequence: int
    name: str
    mobile: str
    address: str
    id_number: str = ""
    vehicles: list[_VehiclePlan] = field(default_factory=list)
    licence: _LicencePlan | None = None
    scenario: str = ""
    bumps: int = 0

    def __post_init__(self) -> None:
        if not self.id_number:
            self.id_number = make_citizen_id(self.area, self.birth_date, self.sequence)

    @property
    def sex(self) -> str:
        return "M" if self.sequence % 2 else "F"


@dataclass
class _OrganisationPlan:
    kind: str
    name: str
    uscc_head: str  # registering authority, category and division: 8 characters
    org_code: str  # organisation code without its check character: 8 characters
    division: str
    address: str
    phone: str
    vehicles: list[_VehiclePlan]
    uscc: str = ""

    def __post_init__(self) -> None:
        self.uscc = make_uscc(self.uscc_head + self.org_code + _org_code_check(self.org_code))


def _org_code_check(code8: str) -> str:
    """GB 11714 check character of an organisation code (positions 9-17 of a USCC)."""
    total = sum(int(ch, 36) * w for ch, w in zip(code8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


# ---------------------------------------------------------------------------------------
# Random helpers
# ---------------------------------------------------------------------------------------


class _Weighted(Generic[_T]):
    """A weighted choice with precomputed cumulative weights (fast for repeated draws)."""

    def __init__(self, items: Iterable[tuple[_T, float]]) -> None:
        pairs = list(items)
        self.values = [value for value, _ in pairs]
        self.cum = list(accumulate(weight for _, weight in pairs))

    def draw(self, rng: random.Random) -> _T:
        return rng.choices(self.values, cum_weights=self.cum)[0]


def _days_between(rng: random.Random, start: date, end: date) -> date:
    """A uniformly random day in [start, end]."""
    if end < start:
        raise ValueError(f"empty date range {start}..{end}")
    return start + timedelta(days=rng.randint(0, (end - start).days))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _new_energy_share(use: UseNature, age_years: float) -> float:
    """Share of new-energy cars among small passenger cars of a registration age (green plates from 2017)."""
    if use == _U.TAXI:
        return 0.5 if age_years < 5 else 0.0
    for below, share in ((2, 0.35), (4, 0.2), (7, 0.07)):
        if age_years < below:
            return share
    return 0.0


@lru_cache(maxsize=8192)
def _dues(kind: str, use: str, year: int, month: int, on_site: bool, today: date) -> tuple[date, ...]:
    """Inspection due dates; they depend on the registration month only, so they are cached."""
    schedule = rules.inspection_schedule(
        kind=kind, use=use, registered_on=date(year, month, 1), as_of=today, on_site_required=on_site
    )
    return tuple(due.due_on for due in schedule)


# ---------------------------------------------------------------------------------------
# The planner: turns the random stream into plans
# ---------------------------------------------------------------------------------------


class _Planner:
    def __init__(self, *, seed: int, today: date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
        self.today = today
        self.surnames = _Weighted(_SURNAMES.items())
        self.counties = _Weighted(_COUNTY_WEIGHTS.items())
        self.car_colours = _Weighted(_CAR_COLOURS.items())
        self.truck_colours = _Weighted(_TRUCK_COLOURS.items())
        self.personal_vehicles = _Weighted((row, row[0]) for row in _PERSONAL_VEHICLES)
        self.class_mix = {
            "M": _Weighted((c, w) for w, c in _CLASS_MIX_MALE),
            "F": _Weighted((c, w) for w, c in _CLASS_MIX_FEMALE),
        }
        self.offences = _Weighted((p, w) for w, p in _OFFENCES)
        # Birth years 1950-2006, more in the working ages; everyone is an adult on ``today``.
        self.latest_birth = min(date(2006, 12, 31), add_years(today, -18))
        years = range(1950, self.latest_birth.year + 1)
        self.birth_years = _Weighted((y, 0.8 if y < 1960 else 1.2 if y >= 2000 else 1.6) for y in years)

    # -- persons ------------------------------------------------------------------------

    def person(self, index: int) -> _PersonPlan:
        if index < len(_SCENARIOS):
            return self._scenario(_SCENARIOS[index])
        return self._random_person()

    def _identity(
        self, *, area: str | None = None, sex: str | None = None, ages: tuple[int, int] | None = None
    ) -> _PersonPlan:
        """A person's identity; ``ages`` is (youngest, oldest) on ``today``, else the population mix."""
        rng = self.rng
        area = area or self.counties.draw(rng)
        sex = sex or ("M" if rng.random() < 0.51 else "F")
        if ages is None:
            year = self.birth_years.draw(rng)
            birth = min(_days_between(rng, date(year, 1, 1), date(year, 12, 31)), self.latest_birth)
        else:
            youngest, oldest = ages
            birth = _days_between(
                rng, add_years(self.today, -oldest - 1) + timedelta(days=1), add_years(self.today, -youngest)
            )
        sequence = 2 * rng.randrange(500) + 1 if sex == "M" else 2 * rng.randrange(1, 500)
        return _PersonPlan(
            area=area,
            birth_date=birth,
            sequence=sequence,
            name=self._name(sex, birth.year),
            mobile=rng.choice(_MOBILE_PREFIXES) + _digits(rng, 8),
            address=self._address(area),
        )

    def _name(self, sex: str, birth_year: int) -> str:
        rng = self.rng
        first, second, single = _GIVEN[(sex, birth_year < 1975)]
        surname = self.surnames.draw(rng)
        if rng.random() < (0.25 if birth_year < 1975 else 0.15):
            return surname + rng.choice(single)
        return surname + rng.choice(first) + rng.choice(second)

    def _address(self, area: str) -> str:
        rng = self.rng
        if area in _NON_LOCAL_ADDRESS:
            prefix, streets = _NON_LOCAL_ADDRESS[area]
            return f"{prefix}{rng.choice(streets)}{rng.randint(1, 300)}号"
        county = f"河南省驻马店市{DIVISIONS[area]}"
        if area == "411702" or rng.random() < 0.35:
            roads = _CITY_ROADS if area == "411702" else _COUNTY_TOWN_ROADS
            street = f"{county}{rng.choice(roads)}{rng.randint(1, 400)}号"
            if rng.random() < 0.6:
                street += f"{rng.randint(1, 24)}号楼{rng.randint(1, 4)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}室"
            return street
        town = rng.choice(_TOWN_STEMS) + ("镇" if rng.random() < 0.7 else "乡")
        village = self.surnames.draw(rng) + rng.choice(_VILLAGE_SUFFIXES)
        return f"{county}{town}{village}村{rng.randint(1, 12)}组{rng.randint(1, 80)}号"

    def _random_person(self) -> _PersonPlan:
        rng = self.rng
        non_local = rng.random() < 0.012
        plan = self._identity(area=rng.choice(_NON_LOCAL_AREAS) if non_local else None)
        age = age_on(plan.birth_date, self.today)
        if rng.random() < self._licence_probability(plan.sex, age):
            plan.licence = self._random_licence(plan)
        weights = (20, 62, 15, 3) if plan.licence else (70, 27, 3, 0)
        n_vehicles = rng.choices((0, 1, 2, 3), weights=weights)[0]
        if non_local:
            n_vehicles = max(1, n_vehicles)  # they are on file here because of a local vehicle
        for _ in range(n_vehicles):
            _w, kind, use, brands, oldest = self.personal_vehicles.draw(rng)
            if plan.licence is None and kind in (_K.TRACTOR, _K.HEAVY_TRUCK):
                kind, use, brands, oldest = _K.SMALL_PASSENGER, _U.PRIVATE, "car", 20.0
            plan.vehicles.append(
                self._vehicle(
                    kind=kind, use=use, brands=brands, oldest=oldest, division=self._office(plan.area)
                )
            )
        return plan

    @staticmethod
    def _licence_probability(sex: str, age: int) -> float:
        if age < 18:
            return 0.0
        if age < 23:
            return 0.55
        if age < 61:
            return 0.9 if sex == "M" else 0.68
        if age < 70:
            return 0.66 if sex == "M" else 0.3
        return 0.35 if sex == "M" else 0.08

    def _office(self, area: str) -> str:
        """Registering office: the county branch, or the city office (always for Yicheng and non-locals)."""
        if area == "411702" or area in _NON_LOCAL_AREAS or self.rng.random() < 0.4:
            return ZHUMADIAN
        return area

    # -- licences -----------------------------------------------------------------------

    def _archive_number(self, area: str) -> str:
        office = _NON_LOCAL_LICENCE_OFFICE.get(area, ZHUMADIAN)
        return office[:4] + _digits(self.rng, 8)

    def _licence_office(self, area: str) -> str:
        return _NON_LOCAL_LICENCE_OFFICE.get(area) or self._office(area)

    def _random_licence(self, plan: _PersonPlan) -> _LicencePlan:
        rng, today = self.rng, self.today
        age = age_on(plan.birth_date, today)
        classes = self.class_mix[plan.sex].draw(rng)
        if age >= 70 and classes != "C2":
            classes = "C1"  # S1 art. 65: from 70 no D or E; large classes went at 60/63
        minimum_age = {"A2": 22, "B2": 20}.get(classes, 18)
        if age < minimum_age + 1 or rules.driving_age_limit_classes(
            birth_date=plan.birth_date, classes=classes, today=today
        ):
            classes = "C1"
        earliest = max(add_years(plan.birth_date, 18), date(1988, 1, 1))
        latest = today - timedelta(days=1)
        u = rng.random()
        if rng.random() < 0.4:  # licences became common late: skew towards recent years
            u = max(u, rng.random())
        first = earliest + timedelta(days=int((latest - earliest).days * u))
        return self._licence(plan, classes=classes, first_issued_on=first)

    def _licence(
        self,
        plan: _PersonPlan,
        *,
        classes: str,
        first_issued_on: date,
        valid_from: date | None = None,
        term: ValidityTerm | None = None,
        points: Sequence[int] | None = None,
    ) -> _LicencePlan:
        rng, today = self.rng, self.today
        if first_issued_on < add_years(plan.birth_date, 18) or first_issued_on > today:
            raise AssertionError("a licence is first issued between the 18th birthday and today")
        if valid_from is None or term is None:
            valid_from, term = self._validity(first_issued_on)
        probation = first_issued_on if today < add_years(first_issued_on, 1) else None
        last_medical = None
        if age_on(plan.birth_date, today) >= 70:
            last_medical = today - timedelta(days=rng.randint(40, 330))
        licence = _LicencePlan(
            archive_number=self._archive_number(plan.area),
            classes=classes,
            first_issued_on=first_issued_on,
            valid_from=valid_from,
            validity_term=term.value,
            probation_started_on=probation,
            last_medical_on=last_medical,
            division=self._licence_office(plan.area),
        )
        if points is None:
            points = self._random_points()
        cycle_start, _end = rules.scoring_cycle(first_issued_on=first_issued_on, today=today)
        dates = sorted(_days_between(rng, cycle_start, today) for _ in points)
        for value, day in zip(points, dates, strict=True):
            licence.points.append((value, day, f"{ZHUMADIAN}{day:%Y%m%d}{_digits(rng, 6)}"))
        return licence

    def _random_points(self) -> list[int]:
        rng = self.rng
        if rng.random() >= 0.14:
            return []
        values: list[int] = []
        for _ in range(rng.choices((1, 2, 3), weights=(70, 22, 8))[0]):
            value = self.offences.draw(rng)
            if sum(values) + value <= 11:  # the demo keeps random drivers below the limit
                values.append(value)
        return values

    def _validity(self, first_issued_on: date) -> tuple[date, ValidityTerm]:
        """Term in force today: 6 years, then 10, then long-term (S1 art. 13), renewed on time.

        Each new term starts on the old expiry date. A few holders repeat a 6-year term
        (12 points in a cycle) and a few have not renewed (overdue, status M derived).
        """
        rng, today = self.rng, self.today
        terms = [ValidityTerm.SIX_YEARS, ValidityTerm.TEN_YEARS, ValidityTerm.LONG_TERM]
        if rng.random() < 0.03:
            terms.insert(0, ValidityTerm.SIX_YEARS)
        valid_from = first_issued_on
        for term in terms:
            until = rules.licence_valid_until(valid_from=valid_from, term=term)
            if until is None:
                return valid_from, term
            window_start, _ = rules.renewal_window(valid_until=until)
            if today < window_start:
                return valid_from, term
            if today <= until:
                # In the window. A renewal now would start the new term on the old expiry date,
                # in the future; the demo keeps valid_from <= today, so nobody has renewed yet.
                return valid_from, term
            if (today - until).days < 300 and rng.random() < 0.006:
                return valid_from, term  # overdue for renewal (status M is derived)
            valid_from = until
        raise AssertionError("the long term ends the chain")  # pragma: no cover

    # -- vehicles -----------------------------------------------------------------------

    def _vehicle(
        self,
        *,
        kind: VehicleKind,
        use: UseNature,
        brands: str,
        division: str,
        oldest: float = 20.0,
        youngest: float = 0.0,
        registered_on: date | None = None,
        new_energy: bool | None = None,
        overdue: bool | None = None,
    ) -> _VehiclePlan:
        rng, today = self.rng, self.today
        if registered_on is None:
            # More recent registrations: the local fleet has grown fast.
            age_years = youngest + (oldest - youngest) * rng.random() ** 1.35
            registered_on = today - timedelta(days=max(1, int(age_years * 365.25)))
        age = (today - registered_on).days / 365.25
        if new_energy is None:
            new_energy = kind == _K.SMALL_PASSENGER and rng.random() < _new_energy_share(use, age)
        electric = bool(new_energy) and rng.random() < 0.72
        if new_energy:
            brand_key = ("taxi_electric" if use == _U.TAXI else "car_electric") if electric else "car_hybrid"
        else:
            brand_key = brands
        brand_model, wmi = rng.choice(_BRANDS[brand_key])
        if kind == _K.TRAILER_SEMI:
            plate_type, serial = PlateType.TRAILER, self._trailer_serial()
        elif kind == _K.MOTORCYCLE:
            plate_type, serial = PlateType.MOTORCYCLE, self._ordinary_serial()
        elif kind in _YELLOW_PLATE_KINDS:
            plate_type, serial = PlateType.LARGE, self._ordinary_serial()
        elif new_energy:
            plate_type, serial = PlateType.SMALL_NEW_ENERGY, self._new_energy_serial(electric)
        else:
            # Small and light vehicles, light trucks included (under 4.5 t: blue plates).
            plate_type, serial = PlateType.SMALL, self._ordinary_serial()
        colours = (
            self.truck_colours if kind in _YELLOW_PLATE_KINDS or kind == _K.TRAILER_SEMI else self.car_colours
        )
        on_site = rng.random() < 0.005
        if overdue is None:
            overdue = rng.random() < 0.03
        return _VehiclePlan(
            kind=kind.value,
            use=use.value,
            plate_type=plate_type.value,
            plate_serial=serial,
            vin=self._vin(wmi, registered_on),
            brand_model=brand_model,
            colour=colours.draw(rng),
            registered_on=registered_on,
            last_inspected_on=self._last_inspected(kind, use, registered_on, on_site, overdue=overdue),
            on_site_required=on_site,
            division=division,
        )

    def _last_inspected(
        self, kind: VehicleKind, use: UseNature, registered_on: date, on_site: bool, *, overdue: bool
    ) -> date | None:
        """Last inspection consistent with the schedule (S4 art. 16, S3 art. 54).

        Owners inspect in the 3-month window before each due, so the validity runs to the
        next due. ``overdue``: the most recent past due was missed.
        """
        rng, today = self.rng, self.today
        dues = _dues(kind.value, use.value, registered_on.year, registered_on.month, on_site, today)
        past = [due for due in dues if due < today]
        if overdue and past:
            if len(past) == 1:
                return None  # never inspected: valid only to the first due, which has passed
            return _days_between(rng, rules.inspection_window_start(past[-2]), past[-2])
        upcoming = next(due for due in dues if due >= today)
        window_start = rules.inspection_window_start(upcoming)
        if today >= window_start and rng.random() < 0.5:
            return _days_between(rng, max(window_start, registered_on), today)  # already done this time
        if not past:
            return None
        return _days_between(rng, rules.inspection_window_start(past[-1]), past[-1])

    def _vin(self, wmi: str, registered_on: date) -> str:
        rng = self.rng
        model_year = registered_on.year - (1 if rng.random() < 0.3 else 0)
        vds = "".join(rng.choice(_VIN_CHARS) for _ in range(5))
        year_code = _VIN_YEAR_CODES[(model_year - 1980) % 30]
        plant = rng.choice(_VIN_CHARS)
        return make_vin(f"{wmi}{vds}0{year_code}{plant}{_digits(rng, 6)}")

    def _ordinary_serial(self) -> str:
        rng = self.rng

        def letter() -> str:
            return rng.choice(_LETTERS)

        shape = rng.choices(range(6), weights=(45, 15, 12, 12, 10, 6))[0]
        if shape == 0:
            return letter() + _digits(rng, 4)
        if shape == 1:
            return _digits(rng, 5)
        if shape == 2:
            return _digits(rng, 4) + letter()
        if shape == 3:
            return letter() + letter() + _digits(rng, 3)
        if shape == 4:
            return _digits(rng, 1) + letter() + _digits(rng, 3)
        return letter() + _digits(rng, 1) + letter() + _digits(rng, 2)

    def _new_energy_serial(self, electric: bool) -> str:
        rng = self.rng
        energy = rng.choices("DA", weights=(90, 10))[0] if electric else "F"
        second = rng.choice(_LETTERS) if rng.random() < 0.3 else _digits(rng, 1)
        return energy + second + _digits(rng, 4)

    def _trailer_serial(self) -> str:
        return _digits(self.rng, 4) + "挂"

    # -- organisations ------------------------------------------------------------------

    def organisations(self) -> list[_OrganisationPlan]:
        rng = self.rng
        transport = _OrganisationPlan(
            kind=Organisation.Kind.TRANSPORT_COMPANY,
            name=f"驻马店市{rng.choice('通达 顺安 天中 恒通 宏远 驿通 畅达 鸿运'.split())}"
            f"{rng.choice(('运输', '物流', '汽车运输'))}有限公司",
            uscc_head="91411702",
            org_code="MA" + "".join(rng.choice(_USCC_CHARS[:10]) for _ in range(6)),
            division="411702",
            address=self._address("411702"),
            phone=f"0396-{rng.randint(2, 8)}{_digits(rng, 6)}",
            vehicles=[],
        )
        office = ZHUMADIAN
        for kind, brands in (
            (_K.HEAVY_TRUCK, "heavy_truck"),
            (_K.HEAVY_TRUCK, "heavy_truck"),
            (_K.HEAVY_TRUCK, "heavy_truck"),
            (_K.TRACTOR, "tractor"),
            (_K.TRAILER_SEMI, "semitrailer"),
        ):
            transport.vehicles.append(
                self._vehicle(
                    kind=kind, use=_U.FREIGHT, brands=brands, division=office, oldest=9, overdue=False
                )
            )
        for kind, brands in (
            (_K.LARGE_PASSENGER, "coach"),
            (_K.LARGE_PASSENGER, "coach"),
            (_K.MEDIUM_PASSENGER, "minibus"),
        ):
            transport.vehicles.append(
                self._vehicle(
                    kind=kind,
                    use=_U.COMMERCIAL_PASSENGER,
                    brands=brands,
                    division=office,
                    oldest=8,
                    overdue=False,
                )
            )
        hospital = _OrganisationPlan(
            kind=Organisation.Kind.HOSPITAL,
            name=f"驻马店{rng.choice('仁和 康宁 济民 博爱 同济 健民'.split())}医院",
            uscc_head="12411700",
            org_code="417" + _digits(rng, 5),
            division="411702",
            address=self._address("411702"),
            phone=f"0396-{rng.randint(2, 8)}{_digits(rng, 6)}",
            vehicles=[
                self._vehicle(
                    kind=_K.SMALL_PASSENGER,
                    use=_U.ORGANISATION,
                    brands="car",
                    division=office,
                    oldest=8,
                    overdue=False,
                ),
                self._vehicle(
                    kind=_K.SMALL_VAN,
                    use=_U.ORGANISATION,
                    brands="van",
                    division=office,
                    oldest=6,
                    overdue=False,
                ),
            ],
        )
        dealer_division = self.counties.draw(rng)
        dealer = _OrganisationPlan(
            kind=Organisation.Kind.CAR_DEALER,
            name=f"驻马店市{rng.choice('恒信 鑫源 骏达 润华 东方 永达'.split())}汽车销售服务有限公司",
            uscc_head="91" + dealer_division,
            org_code="MA" + "".join(rng.choice(_USCC_CHARS[:10]) for _ in range(6)),
            division=dealer_division,
            address=self._address(dealer_division),
            phone=f"0396-{rng.randint(2, 8)}{_digits(rng, 6)}",
            vehicles=[
                self._vehicle(
                    kind=_K.SMALL_PASSENGER,
                    use=_U.ORGANISATION,
                    brands="car",
                    division=office,
                    oldest=2,
                    new_energy=False,
                    overdue=False,
                ),
                self._vehicle(
                    kind=_K.SMALL_PASSENGER,
                    use=_U.ORGANISATION,
                    brands="car",
                    division=office,
                    oldest=1,
                    new_energy=True,
                    overdue=False,
                ),
            ],
        )
        return [transport, hospital, dealer]

    # -- scripted edge cases ------------------------------------------------------------

    def _first_issue_in_cycle(self, *, years_held: tuple[int, int], days_into_cycle: tuple[int, int]) -> date:
        """A first-issue date whose current scoring cycle started ``days_into_cycle`` days ago."""
        rng, today = self.rng, self.today
        cycle_start = today - timedelta(days=rng.randint(*days_into_cycle))
        return add_years(cycle_start, -rng.randint(*years_held))

    def _car(self, plan: _PersonPlan, **kwargs: object) -> _VehiclePlan:
        options: dict[str, object] = {"overdue": False, "oldest": 10.0}
        options.update(kwargs)
        return self._vehicle(
            kind=_K.SMALL_PASSENGER,
            use=_U.PRIVATE,
            brands="car",
            division=self._office(plan.area),
            **options,  # type: ignore[arg-type]
        )

    def _scenario(self, name: str) -> _PersonPlan:
        rng, today = self.rng, self.today
        if name == "online_citizen":
            plan = self._identity(ages=(30, 45))
            first = self._first_issue_in_cycle(years_held=(7, 11), days_into_cycle=(100, 250))
            plan.licence = self._licence(plan, classes="C1", first_issued_on=first, points=(6, 3))
            # Registered 6 years and 4-5 months ago: the year-6 on-site due passed unattended.
            registered = add_months(today, -(6 * 12 + 4)) - timedelta(days=rng.randint(0, 25))
            plan.vehicles.append(self._car(plan, registered_on=registered, new_energy=False, overdue=True))
        elif name == "counter_citizen":
            plan = self._identity(ages=(28, 50))
            first = today - timedelta(days=rng.randint(550, 1800))
            plan.licence = self._licence(plan, classes="C1", first_issued_on=first, points=())
            plan.vehicles.append(self._car(plan, oldest=5.0))
        elif name == "points_10":
            plan = self._identity(ages=(33, 55))
            first = self._first_issue_in_cycle(years_held=(3, 14), days_into_cycle=(60, 300))
            plan.licence = self._licence(plan, classes="C1", first_issued_on=first, points=(6, 3, 1))
            plan.vehicles.append(self._car(plan))
        elif name == "points_11":
            plan = self._identity(sex="M", ages=(35, 50))
            first = self._first_issue_in_cycle(years_held=(10, 15), days_into_cycle=(60, 300))
            plan.licence = self._licence(plan, classes="B2", first_issued_on=first, points=(6, 3, 1, 1))
            plan.vehicles.append(
                self._vehicle(
                    kind=_K.HEAVY_TRUCK,
                    use=_U.FREIGHT,
                    brands="heavy_truck",
                    division=ZHUMADIAN,
                    oldest=8,
                    overdue=False,
                )
            )
        elif name == "taxi_scrapping":
            plan = self._identity(sex="M", ages=(40, 55))
            first = today - timedelta(days=rng.randint(9 * 365, 20 * 365))
            plan.licence = self._licence(plan, classes="C1", first_issued_on=first, points=())
            # Registered 7.5 years ago; taxis are scrapped at 8 years (S8).
            registered = add_months(today, -90) - timedelta(days=rng.randint(0, 20))
            plan.vehicles.append(
                self._vehicle(
                    kind=_K.SMALL_PASSENGER,
                    use=_U.TAXI,
                    brands="taxi",
                    division=ZHUMADIAN,
                    registered_on=registered,
                    new_energy=False,
                    overdue=False,
                )
            )
        elif name == "renewal_window":
            plan = self._identity(ages=(36, 60))
            valid_until = today + timedelta(days=rng.randint(15, 80))
            valid_from = add_years(valid_until, -10)
            plan.licence = self._licence(
                plan,
                classes="C1",
                first_issued_on=add_years(valid_from, -6),
                valid_from=valid_from,
                term=ValidityTerm.TEN_YEARS,
                points=(),
            )
            plan.vehicles.append(self._car(plan))
        elif name == "probation":
            first = today - timedelta(days=rng.randint(20, 300))
            plan = self._identity(ages=(18, 18))
            # Born so that the 18th birthday fell 1 month to 3 years before the first issue.
            birth = add_years(first, -18) - timedelta(days=rng.randint(30, 1100))
            plan.birth_date, plan.id_number = birth, make_citizen_id(plan.area, birth, plan.sequence)
            plan.licence = self._licence(plan, classes="C1", first_issued_on=first, points=())
            plan.vehicles.append(
                self._car(
                    plan, registered_on=_days_between(rng, first, today - timedelta(days=1)), new_energy=True
                )
            )
        elif name == "senior":
            plan = self._identity(ages=(71, 76))
            first = today - timedelta(days=rng.randint(17 * 365, 30 * 365))
            plan.licence = self._licence(plan, classes="C1", first_issued_on=first, points=())
            plan.vehicles.append(self._car(plan, oldest=15.0, youngest=8.0, new_energy=False))
        elif name == "cancelled_recoverable":
            plan = self._identity(ages=(30, 60))
            valid_until = today - timedelta(days=rng.randint(380, 600))
            valid_from = add_years(valid_until, -6)
            plan.licence = self._licence(
                plan,
                classes="C1",
                first_issued_on=valid_from,
                valid_from=valid_from,
                term=ValidityTerm.SIX_YEARS,
                points=(),
            )
            # S1 art. 79: more than a year overdue for renewal; restorable within 2 years.
            plan.licence.status = "R"
            plan.licence.cancelled_on = add_years(valid_until, 1) + timedelta(days=rng.randint(1, 10))
        elif name in _REP_SCENARIOS:
            plan = self._identity(sex="M" if name == "rep_transport" else None, ages=(40, 58))
            classes = "A2" if name == "rep_transport" else "C1"
            first = today - timedelta(days=rng.randint(12 * 365, 20 * 365))
            plan.licence = self._licence(plan, classes=classes, first_issued_on=first, points=())
            plan.vehicles.append(self._car(plan, new_energy=name == "rep_dealer", oldest=3.0))
        elif name == "non_local_zhengzhou":
            plan = self._identity(area="410105", ages=(30, 55))
            first = today - timedelta(days=rng.randint(3 * 365, 11 * 365))
            plan.licence = self._licence(plan, classes="C1", first_issued_on=first, points=())
            plan.vehicles.append(self._car(plan))
        elif name == "non_local_beijing":
            plan = self._identity(area="110101", ages=(30, 55))
            plan.vehicles.append(
                self._vehicle(
                    kind=_K.SMALL_TRUCK,
                    use=_U.FREIGHT,
                    brands="light_truck",
                    division=ZHUMADIAN,
                    oldest=6,
                    overdue=False,
                )
            )
        else:  # pragma: no cover
            raise AssertionError(f"unknown scenario {name}")
        plan.scenario = name
        return plan


# ---------------------------------------------------------------------------------------
# Claiming unique values
# ---------------------------------------------------------------------------------------

_IN_CHUNK = 900  # below SQLite's historic limit of 999 variables per statement


def _existing(model: type, field_name: str, values: Sequence[str], **filters: object) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), _IN_CHUNK):
        part = values[start : start + _IN_CHUNK]
        query = model._default_manager.filter(**{f"{field_name}__in": part}, **filters)  # type: ignore[attr-defined]
        found.update(query.values_list(field_name, flat=True))
    return found


def _claim(
    items: Sequence[_T],
    *,
    key: Callable[[_T], str],
    bump: Callable[[_T], None],
    taken: Callable[[list[str]], set[str]],
) -> None:
    """Give each item, in order, a key free both in the database and within ``items``.

    A clash moves the item with ``bump`` (deterministic, no random draw), and the moved
    keys are checked again until none clashes.
    """
    used: set[str] = set()
    pending = list(items)
    while pending:
        in_db = taken([key(item) for item in pending])
        retry: list[_T] = []
        for item in pending:
            value = key(item)
            if value in in_db or value in used:
                bump(item)
                retry.append(item)
            else:
                used.add(value)
        pending = retry


def _bump_person(plan: _PersonPlan) -> None:
    """Next sequence code of the same sex (+2); after all 499, the next day of birth."""
    plan.bumps += 1
    if plan.bumps % 499 == 0:
        plan.birth_date -= timedelta(days=1)
    plan.sequence = plan.sequence + 2 if plan.sequence + 2 <= 999 else plan.sequence + 2 - 998
    plan.id_number = make_citizen_id(plan.area, plan.birth_date, plan.sequence)


def _increment_digits(text: str) -> str:
    """The digits of ``text`` read as one number, plus one (wrapping), letters left in place."""
    positions = [i for i, ch in enumerate(text) if ch.isdigit()]
    width = len(positions)
    number = (int("".join(text[i] for i in positions)) + 1) % 10**width
    chars = list(text)
    for i, digit in zip(positions, f"{number:0{width}d}", strict=True):
        chars[i] = digit
    return "".join(chars)


def _bump_vin(plan: _VehiclePlan) -> None:
    plan.vin = make_vin(plan.vin[:11] + _increment_digits(plan.vin[11:]))


def _bump_plate(plan: _VehiclePlan) -> None:
    plan.plate_serial = _increment_digits(plan.plate_serial)


def _bump_archive(plan: _LicencePlan) -> None:
    plan.archive_number = plan.archive_number[:4] + _increment_digits(plan.archive_number[4:])


def _bump_uscc(plan: _OrganisationPlan) -> None:
    plan.org_code = plan.org_code[:2] + _increment_digits(plan.org_code[2:])
    plan.uscc = make_uscc(plan.uscc_head + plan.org_code + _org_code_check(plan.org_code))


def _claim_vehicles(plans: Sequence[_VehiclePlan]) -> None:
    _claim(plans, key=lambda v: v.vin, bump=_bump_vin, taken=lambda keys: _existing(Vehicle, "vin", keys))
    _claim(
        plans,
        key=lambda v: v.plate_number,
        bump=_bump_plate,
        taken=lambda keys: _existing(Vehicle, "plate_number", keys),
    )


# ---------------------------------------------------------------------------------------
# Inserting
# ---------------------------------------------------------------------------------------


def _vehicle_row(
    plan: _VehiclePlan, *, owner_person: Person | None, owner_organisation: Organisation | None, mobile: str
) -> Vehicle:
    return Vehicle(
        plate_number=plan.plate_number,
        plate_type=plan.plate_type,
        vin=plan.vin,
        kind=plan.kind,
        use_nature=plan.use,
        brand_model=plan.brand_model,
        colour=plan.colour,
        owner_person=owner_person,
        owner_organisation=owner_organisation,
        owner_mobile=mobile,
        registered_on=plan.registered_on,
        last_inspected_on=plan.last_inspected_on,
        on_site_inspection_required=plan.on_site_required,
        status="A",
        division=plan.division,
    )


def _insert_persons(plans: list[_PersonPlan], *, batch_size: int, counts: dict[str, int]) -> list[Person]:
    _claim(
        plans,
        key=lambda p: p.id_number,
        bump=_bump_person,
        taken=lambda keys: _existing(Person, "id_number", keys, id_type=IdDocumentType.RESIDENT_ID),
    )
    persons = Person.objects.bulk_create(
        [
            Person(
                id_type=IdDocumentType.RESIDENT_ID,
                id_number=p.id_number,
                name=p.name,
                sex=p.sex,
                birth_date=p.birth_date,
                nationality="CHN",
                residence_division=p.area,
                address=p.address,
                mobile=p.mobile,
            )
            for p in plans
        ],
        batch_size=batch_size,
    )
    counts["persons"] += len(persons)

    owned = [(v, person) for p, person in zip(plans, persons, strict=True) for v in p.vehicles]
    _claim_vehicles([v for v, _ in owned])
    vehicles = Vehicle.objects.bulk_create(
        [
            _vehicle_row(v, owner_person=person, owner_organisation=None, mobile=person.mobile)
            for v, person in owned
        ],
        batch_size=batch_size,
    )
    counts["vehicles"] += len(vehicles)

    held = [(p.licence, person) for p, person in zip(plans, persons, strict=True) if p.licence is not None]
    _claim(
        [lp for lp, _ in held],
        key=lambda lp: lp.archive_number,
        bump=_bump_archive,
        taken=lambda keys: _existing(DrivingLicence, "archive_number", keys),
    )
    licences = DrivingLicence.objects.bulk_create(
        [
            DrivingLicence(
                holder=person,
                archive_number=lp.archive_number,
                classes=lp.classes,
                first_issued_on=lp.first_issued_on,
                valid_from=lp.valid_from,
                validity_term=lp.validity_term,
                probation_started_on=lp.probation_started_on,
                last_medical_on=lp.last_medical_on,
                status=lp.status,
                cancelled_on=lp.cancelled_on,
                mobile=person.mobile,
                postal_address=person.address,
                division=lp.division,
            )
            for lp, person in held
        ],
        batch_size=batch_size,
    )
    counts["licences"] += len(licences)

    entries = PointsEntry.objects.bulk_create(
        [
            PointsEntry(licence=licence, points=value, occurred_on=day, source=source)
            for (lp, _), licence in zip(held, licences, strict=True)
            for value, day, source in lp.points
        ],
        batch_size=batch_size,
    )
    counts["points_entries"] += len(entries)
    return persons


def _insert_organisations(
    plans: list[_OrganisationPlan],
    representatives: dict[str, Person],
    *,
    batch_size: int,
    counts: dict[str, int],
) -> None:
    _claim(
        plans, key=lambda o: o.uscc, bump=_bump_uscc, taken=lambda keys: _existing(Organisation, "uscc", keys)
    )
    organisations = Organisation.objects.bulk_create(
        [
            Organisation(
                uscc=o.uscc,
                name=o.name,
                kind=o.kind,
                division=o.division,
                address=o.address,
                phone=o.phone,
                legal_representative=representatives[o.kind],
            )
            for o in plans
        ],
        batch_size=batch_size,
    )
    counts["organisations"] += len(organisations)
    owned = [(v, org) for o, org in zip(plans, organisations, strict=True) for v in o.vehicles]
    _claim_vehicles([v for v, _ in owned])
    vehicles = Vehicle.objects.bulk_create(
        [
            _vehicle_row(
                v, owner_person=None, owner_organisation=org, mobile=representatives[org.kind].mobile
            )
            for v, org in owned
        ],
        batch_size=batch_size,
    )
    counts["vehicles"] += len(vehicles)


def _batches(items: Iterator[_T], size: int) -> Iterator[list[_T]]:
    while batch := list(islice(items, size)):
        yield batch


def generate_demo(*, persons: int, seed: int, today: date, batch_size: int = 2000) -> dict[str, int]:
    """Insert ``persons`` demo persons with their vehicles, licences and points, plus 3 organisations.

    Returns the number of rows inserted per table (``persons``, ``organisations``,
    ``vehicles``, ``licences``, ``points_entries``). See the module docstring for how the
    data stays reproducible and how repeated calls avoid unique-key clashes.
    """
    if persons < MIN_PERSONS:
        raise ValueError(f"persons must be at least {MIN_PERSONS} (the scripted edge cases come first)")
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    if today.year < 2010:
        raise ValueError("today must be 2010 or later (birth years run to 2006)")
    planner = _Planner(seed=seed, today=today)
    organisations = planner.organisations()  # drawn first, inserted last: independent of the batch size
    counts = dict.fromkeys(_COUNTS_KEYS, 0)
    representatives: dict[str, Person] = {}
    plans = (planner.person(index) for index in range(persons))
    for batch in _batches(plans, batch_size):
        with transaction.atomic():
            inserted = _insert_persons(batch, batch_size=batch_size, counts=counts)
        for plan, person in zip(batch, inserted, strict=True):
            if plan.scenario in _REP_SCENARIOS:
                representatives[_REP_SCENARIOS[plan.scenario]] = person
    with transaction.atomic():
        _insert_organisations(organisations, representatives, batch_size=batch_size, counts=counts)
    return counts


# ---------------------------------------------------------------------------------------
# Demo logins
# ---------------------------------------------------------------------------------------

# (role, username, name, zh, en)
_STAFF_LOGINS: tuple[tuple[str, str, str, str, str], ...] = (
    ("counter_clerk", "clerk", "李静", "车管所窗口业务员", "Vehicle office counter clerk"),
    ("violation_officer", "violation", "王志强", "违法处理民警", "Violation-handling officer"),
    ("accident_officer", "accident", "张伟", "事故处理民警", "Accident officer"),
    ("accident_head", "accident_head", "刘建国", "事故处理部门负责人", "Head of the accident unit"),
    ("unit_head", "unit_head", "孙志刚", "部门负责人（审批公告：/counter/announcements/）", "Head of unit (approves announcements at /counter/announcements/)"),
    ("exam_officer", "exams", "周涛", "考试科民警（考试计划、成绩录入和考试监管：/counter/exams/plans/）", "Exam officer (plans, results and monitoring at /counter/exams/plans/)"),
    ("auditor", "auditor", "陈敏", "审计员", "Auditor"),
    ("administrator", "admin", "赵磊", "系统管理员（非超级用户，权限来自岗位权限表）", "Administrator (not a superuser; rights from the access table)"),
)  # fmt: skip

_LOGIN_FALLBACK_SEED = 12123  # used only when ensure_demo_logins finds no demo records at all
DEMO_SEED = 2015  # the seed `jiaoguan up` and `jiaoguan demo` use unless told otherwise


def demo_password(seed: int = DEMO_SEED) -> str:
    """The password of every demo login, derived from the demo seed: a fresh set-up prints the
    same logins every time. Demo-only: a real installation has no demo logins."""
    return f"Jiaoguan-Demo-{seed}"


_KEY_USES = (UseNature.FREIGHT.value, UseNature.COMMERCIAL_PASSENGER.value)
_ORGANISATION_NOTES: dict[str, tuple[str, str, str, str]] = {
    Organisation.Kind.TRANSPORT_COMPANY: (
        "道路运输企业",
        "Road transport company",
        "辆车，含重点车辆",
        "vehicles, key vehicles",
    ),
    Organisation.Kind.HOSPITAL: ("医院", "Hospital", "辆单位车辆", "vehicles"),
    Organisation.Kind.CAR_DEALER: ("汽车销售商", "Car dealer", "辆单位车辆", "vehicles"),
}


@dataclass(frozen=True)
class _DemoRecords:
    """The records the citizen and organisation logins point at."""

    online_person: Person
    overdue_vehicle: Vehicle
    points: int
    counter_person: Person
    counter_vehicle: Vehicle
    organisations: dict[str, Organisation]
    overdue: bool = True  # whether overdue_vehicle is still overdue (a login kept from an earlier day)


def _earlier_demo_login(level: str, password: str) -> User | None:
    """A citizen login made by an earlier start (the demo password opens it): kept, so that every
    restart prints the same logins even when another person would fit the situation today."""
    candidates = User.objects.filter(
        kind=User.Kind.INDIVIDUAL, registration_level=level, person__isnull=False
    ).select_related("person")
    for user in candidates.order_by("pk")[:5]:
        if user.check_password(password):
            return user
    return None


def _kept_online_citizen(user: User, today: date) -> tuple[Person, Vehicle, int, bool] | None:
    person = user.person
    vehicles = list(Vehicle.objects.filter(owner_person=person).order_by("id"))
    licence = DrivingLicence.objects.filter(holder=person).first()
    if person is None or not vehicles or licence is None:
        return None
    overdue = [v for v in vehicles if vehicle_status(v, today=today).inspection_state == "overdue"]
    points = licence_status(licence, today=today).points_in_cycle
    return person, (overdue or vehicles)[0], points, bool(overdue)


def _sync_password(user: User, password: str) -> None:
    """Keep an existing demo login usable with the installation's password."""
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])


def _find_online_citizen(today: date) -> tuple[Person, Vehicle, int] | None:
    """Lowest-numbered person with 9+ points in the current cycle and a vehicle overdue for inspection."""
    recent = Q(
        points_entries__occurred_on__gt=today - timedelta(days=366), points_entries__occurred_on__lte=today
    )
    candidates = (
        DrivingLicence.objects.select_related("holder")
        .filter(status="A")
        .annotate(recent=Sum("points_entries__points", filter=recent))
        .filter(recent__gte=9)
        .order_by("holder_id")
    )
    for licence in candidates[:500]:
        person = licence.holder
        account = User.objects.filter(person=person).first()
        if account is not None and account.registration_level != User.Level.ONLINE:
            continue
        points = licence_status(licence, today=today).points_in_cycle
        if points < 9:
            continue
        for vehicle in (
            Vehicle.objects.select_related("owner_person").filter(owner_person=person).order_by("id")
        ):
            if vehicle_status(vehicle, today=today).inspection_state == "overdue":
                return person, vehicle, points
    return None


def _find_counter_citizen(today: date, *, exclude: Person) -> tuple[Person, Vehicle] | None:
    """Lowest-numbered local person whose licence and vehicles are all in order."""
    candidates = (
        Person.objects.filter(
            residence_division__startswith=ZHUMADIAN[:4], licence__status="A", vehicles__isnull=False
        )
        .exclude(pk=exclude.pk)
        .distinct()
        .order_by("pk")
    )
    for person in candidates[:500]:
        account = User.objects.filter(person=person).first()
        if account is not None and account.registration_level != User.Level.COUNTER:
            continue
        status = licence_status(person.licence, today=today)
        if (
            status.renewal_state != "valid"
            or status.on_probation
            or status.points_in_cycle
            or status.medical_due
        ):
            continue
        vehicles = list(
            Vehicle.objects.select_related("owner_person").filter(owner_person=person).order_by("id")
        )
        states = [vehicle_status(v, today=today) for v in vehicles]
        if all(s.inspection_state != "overdue" and not s.scrapping_within_a_year for s in states):
            return person, vehicles[0]
    return None


def _find_organisation(kind: str) -> Organisation | None:
    """Lowest-numbered organisation of a kind with a legal representative (the transport company: with key vehicles)."""
    query = Organisation.objects.select_related("legal_representative").filter(
        kind=kind, legal_representative__isnull=False
    )
    if kind == Organisation.Kind.TRANSPORT_COMPANY:
        query = query.filter(vehicles__use_nature__in=_KEY_USES).distinct()
    return query.order_by("pk").first()


def _find_demo_records(today: date, password: str = "") -> _DemoRecords | None:
    kept_online = _earlier_demo_login(User.Level.ONLINE, password) if password else None
    kept = _kept_online_citizen(kept_online, today) if kept_online is not None else None
    found_online = _find_online_citizen(today) if kept is None else None
    online = kept or ((*found_online, True) if found_online is not None else None)
    if online is None:
        return None
    kept_counter = _earlier_demo_login(User.Level.COUNTER, password) if password else None
    counter_vehicle = (
        Vehicle.objects.filter(owner_person=kept_counter.person).order_by("id").first()
        if kept_counter is not None
        else None
    )
    counter = (
        (kept_counter.person, counter_vehicle)
        if kept_counter is not None and kept_counter.person is not None and counter_vehicle is not None
        else _find_counter_citizen(today, exclude=online[0])
    )
    organisations = {kind: _find_organisation(kind) for kind in _ORGANISATION_NOTES}
    if counter is None or any(org is None for org in organisations.values()):
        return None
    return _DemoRecords(
        online_person=online[0],
        overdue_vehicle=online[1],
        points=online[2],
        overdue=online[3],
        counter_person=counter[0],
        counter_vehicle=counter[1],
        organisations={kind: org for kind, org in organisations.items() if org is not None},
    )


def _row(role: str, username: str, password: str, note_zh: str, note_en: str) -> dict[str, str]:
    return {"role": role, "username": username, "password": password, "note_zh": note_zh, "note_en": note_en}


def ensure_demo_logins(*, today: date, password: str) -> list[dict[str, str]]:
    """Create (once) the demo logins and return them: one per staff role, two citizens, three organisations.

    Staff are made by ``staff_create`` (jurisdiction 411700; the administrator is no superuser,
    its rights come from its post in the access table). The counter-level citizen is registered by
    ``account_register_at_counter`` and the organisations by ``organisation_register``, both
    with the demo clerk as actor; the online-level citizen is created directly, because online
    registration needs an SMS code. Citizens and organisations are the lowest-numbered records
    that show the intended situation on ``today`` (normally the scripted persons of the first
    ``generate_demo`` call); with no demo data at all, a small set is generated first.

    Idempotent: existing logins are reused (their password is reset to ``password`` when it
    differs), so a second call creates nothing and returns the same rows. Each row is
    ``{"role", "username", "password", "note_zh", "note_en"}``.
    """
    clean_password(password)
    rows: list[dict[str, str]] = []
    staff: dict[str, User] = {}
    for role, username, name, zh, en in _STAFF_LOGINS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = staff_create(
                username=username, password=password, role=role, jurisdiction=ZHUMADIAN, name=name
            )
        elif user.kind != User.Kind.STAFF or user.staff_role != role:
            raise RuntimeError(f"login {username!r} exists but is not a {role} staff login")
        else:
            _sync_password(user, password)
        staff[role] = user
        rows.append(
            _row(
                role,
                username,
                password,
                f"{zh}，辖区驻马店市（{ZHUMADIAN}）",
                f"{en}, jurisdiction Zhumadian ({ZHUMADIAN})",
            )
        )
    clerk = staff[StaffRole.COUNTER_CLERK]

    found = _find_demo_records(today, password)
    if found is None:
        generate_demo(persons=MIN_PERSONS, seed=_LOGIN_FALLBACK_SEED, today=today)
        found = _find_demo_records(today, password)
    if found is None:  # pragma: no cover - generate_demo always makes these records
        raise RuntimeError("no demo records fit the demo logins")

    person, plate = found.online_person, found.overdue_vehicle.plate_number
    user = User.objects.filter(person=person).first()
    if user is None:
        user = User(
            username=person.id_number,
            kind=User.Kind.INDIVIDUAL,
            registration_level=User.Level.ONLINE,
            person=person,
            first_name=person.name,
            mobile=person.mobile,
            mobile_verified_at=timezone.now(),
        )
        user.set_password(password)
        user.save()
    else:
        _sync_password(user, password)
    rows.append(
        _row(
            "citizen_online",
            user.username,
            password,
            f"网上注册个人用户 {person.name}：名下 {plate}{' 逾期未检验' if found.overdue else ''}，"
            f"驾驶证本记分周期已记 {found.points} 分",
            f"Online-registered citizen {person.name}: vehicle {plate}"
            f"{' is overdue for inspection' if found.overdue else ''}; "
            f"{found.points} points in the current scoring cycle",
        )
    )

    person, plate = found.counter_person, found.counter_vehicle.plate_number
    user = User.objects.filter(person=person).first()
    if user is None:
        user = account_register_at_counter(
            actor=clerk,
            id_type=person.id_type,
            id_number=person.id_number,
            name=person.name,
            mobile=person.mobile,
            password=password,
        )
    else:
        _sync_password(user, password)
    rows.append(
        _row(
            "citizen_counter",
            user.username,
            password,
            f"窗口注册个人用户 {person.name}：名下 {plate}，驾驶证状态正常，可办理全部网上业务",
            f"Counter-registered citizen {person.name}: vehicle {plate}, licence in order; every online "
            "business is open",
        )
    )

    for kind, (kind_zh, kind_en, what_zh, what_en) in _ORGANISATION_NOTES.items():
        organisation = found.organisations[kind]
        user = User.objects.filter(organisation=organisation).first()
        if user is None:
            rep = organisation.legal_representative
            assert rep is not None  # _find_organisation requires one
            user = organisation_register(
                actor=clerk,
                uscc=organisation.uscc,
                name=organisation.name,
                kind=organisation.kind,
                division=organisation.division,
                representative_id_type=rep.id_type,
                representative_id_number=rep.id_number,
                representative_name=rep.name,
                representative_role=OrganisationMember.Role.LEGAL_REPRESENTATIVE,
                mobile=rep.mobile,
                password=password,
                address=organisation.address,
            )
        else:
            _sync_password(user, password)
        n_vehicles = organisation.vehicles.count()
        # The hospital records examinations and submits certificates (B6/B7, issue 13).
        hospital = kind == Organisation.Kind.HOSPITAL
        # The car dealer applies for new cars' temporary plates (B18, issue 14).
        dealer = kind == Organisation.Kind.CAR_DEALER
        rows.append(
            _row(
                str(kind),
                user.username,
                password,
                f"单位用户：{organisation.name}（{kind_zh}，{n_vehicles} {what_zh}）"
                + ("；录入体检信息、提交身体条件证明：/hospital/examinations/" if hospital else "")
                + ("；申领新车临时号牌：/dealer/temporary-plates/" if dealer else ""),
                f"Organisation user: {organisation.name} ({kind_en}; {n_vehicles} {what_en})"
                + (
                    "; records examinations and submits certificates at /hospital/examinations/"
                    if hospital
                    else ""
                )
                + ("; applies for new cars' temporary plates at /dealer/temporary-plates/" if dealer else ""),
            )
        )

    # ---- e-licence photos (credentials): archive photos for the demo persons, an e-licence with
    # a photo for the counter citizen, and an approved photo on every demo e-licence (issue 11).
    from jiaoguan.demo.photos import demo_photos

    demo_photos(persons=[found.online_person, found.counter_person], e_licence_for=[found.counter_person])
    # ---- end of e-licence photos

    return rows
