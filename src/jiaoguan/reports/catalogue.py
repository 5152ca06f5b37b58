"""The 11 reports (通报、抄告) to government bodies and companies (N2, seed 002 附件3), R01-R11.

Each definition names the report, the kind of authority it is sent to (通报: the rows of the
authority's jurisdiction), whether it is also copied to the company a row concerns (抄告: the
owning transport company, the school using the bus, the driver's employer), how often it is made
and the query and columns of its rows.

ASSUMPTION: R05 goes to the work-safety authority (安监部门): the seed names no body, and market
regulators are not an organisation kind of the platform.
R06 ranks driving schools by their learners' exam results of the month (the driving-test tables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jiaoguan.registry.models import Organisation

from . import queries
from .queries import Row
from .rules import Cadence, Period

TRANSPORT = Organisation.Kind.TRANSPORT_AUTHORITY
EDUCATION = Organisation.Kind.EDUCATION_AUTHORITY
SAFETY = Organisation.Kind.SAFETY_AUTHORITY


@dataclass(frozen=True)
class Column:
    zh: str
    en: str

    @property
    def header(self) -> str:
        return f"{self.zh} {self.en}"


@dataclass(frozen=True)
class Report:
    code: str
    name_zh: str
    name_en: str
    authority_kind: str  # Organisation.Kind of the authority told (通报)
    copy_to_zh: str  # whom the rows are copied to (抄告), "" when nobody
    copy_to_en: str
    cadence: Cadence
    columns: tuple[Column, ...]
    query: Callable[[Period], list[Row]] | None  # None: not available yet
    unavailable_zh: str = ""
    unavailable_en: str = ""

    @property
    def available(self) -> bool:
        return self.query is not None

    @property
    def copies_to_companies(self) -> bool:
        return bool(self.copy_to_zh)

    @property
    def authority_words(self) -> tuple[str, str]:
        label = Organisation.Kind(self.authority_kind).label
        zh, _, en = str(label).partition(" ")
        return zh, en


def _c(zh: str, en: str) -> Column:
    return Column(zh, en)


DIVISION = _c("行政区划", "division")
_DRIVER = (
    _c("姓名", "name"),
    _c("驾驶证号", "licence number"),
    _c("档案编号", "archive number"),
    _c("准驾车型", "classes"),
    _c("所属单位", "employer"),
)
_EMPLOYER_ZH, _EMPLOYER_EN = "驾驶人所属单位", "the driver's employer"

REPORTS: tuple[Report, ...] = (
    Report(
        "R01", "营运车和校车及危险品运输车超期未处理违法累积3起及以上",
        "Commercial vehicles, school buses and dangerous-goods vehicles with 3 or more overdue unhandled violations",
        TRANSPORT, "车辆所属运输企业", "the owning transport company", Cadence.MONTHLY,
        (_c("号牌号码", "plate"), _c("号牌种类", "plate type"), _c("使用性质", "use"), _c("所有人", "owner"),
         _c("超期未处理违法（起）", "overdue violations"), _c("最早违法时间", "earliest"),
         _c("最近违法时间", "latest"), DIVISION),
        queries.r01_overdue_violations,
    ),
    Report(
        "R02", "每月辖区校车标牌信息", "School-bus signs of the jurisdiction, monthly",
        EDUCATION, "", "", Cadence.MONTHLY,
        (_c("标牌编号", "sign number"), _c("号牌号码", "plate"), _c("使用单位", "school"), _c("行驶线路", "route"),
         _c("有效期起", "valid from"), _c("有效期止", "valid until"), _c("月末状态", "state at month end"),
         _c("注销日期", "revoked on"), DIVISION),
        queries.r02_school_bus_signs,
    ),
    Report(
        "R03", "每月校车违法和事故及检验等信息", "School buses' violations, accidents and inspections, monthly",
        EDUCATION, "使用校车的学校", "the school using the bus", Cadence.MONTHLY,
        (_c("号牌号码", "plate"), _c("校车标牌", "sign number"), _c("使用单位", "school"),
         _c("本月违法（起）", "violations this month"), _c("本月事故（起）", "accidents this month"),
         _c("检验有效期至", "inspection valid until"), _c("月末检验状态", "inspection at month end"), DIVISION),
        queries.r03_school_buses,
    ),
    Report(
        "R04", "客货运车辆逾期未检验和未报废信息",
        "Passenger and freight vehicles overdue for inspection or past their scrapping date",
        TRANSPORT, "", "", Cadence.MONTHLY,
        (_c("号牌号码", "plate"), _c("车辆类型", "kind"), _c("使用性质", "use"), _c("所有人", "owner"),
         _c("检验有效期至", "inspection valid until"), _c("逾期未检验", "inspection overdue"),
         _c("强制报废日期", "compulsory scrapping date"), _c("逾期未报废", "past scrapping date"), DIVISION),
        queries.r04_overdue_inspection_or_scrapping,
    ),
    Report(
        "R05", "违规车型及其生产销售厂家信息", "Non-compliant vehicle models and their makers and sellers",
        SAFETY, "", "", Cadence.ON_EVENT,
        (_c("品牌型号", "make and model"), _c("生产企业", "manufacturer"), _c("销售单位", "seller"),
         _c("违规情形", "finding"), _c("发现日期", "found on"), DIVISION),
        queries.r05_non_compliant_models,
    ),
    Report(
        "R06", "驾驶培训机构排名", "Driving schools ranked",
        TRANSPORT, "", "", Cadence.MONTHLY,
        (_c("排名", "rank"), _c("驾驶培训机构", "driving school"), _c("考试人数", "tests"), _c("合格人数", "passes"),
         _c("合格率", "pass rate"), DIVISION),
        queries.r06_driving_schools_ranked,
    ),
    Report(
        "R07", "大中型客货车和出租车驾驶人吸毒成瘾注销驾驶证",
        "Licences of bus, truck and taxi drivers cancelled for drug addiction",
        TRANSPORT, _EMPLOYER_ZH, _EMPLOYER_EN, Cadence.ON_EVENT,
        (*_DRIVER, _c("注销日期", "cancelled on"), DIVISION),
        queries.r07_drug_addiction_cancellations,
    ),
    Report(
        "R08", "大中型客货车和出租车驾驶人吸毒行为记录", "Drug-use records of bus, truck and taxi drivers",
        TRANSPORT, _EMPLOYER_ZH, _EMPLOYER_EN, Cadence.ON_EVENT,
        (*_DRIVER, _c("查获日期", "recorded on"), _c("吸毒成瘾", "addiction"), _c("通报单位", "notified by"),
         DIVISION),
        queries.r08_drug_use_records,
    ),
    Report(
        "R09", "校车驾驶资格注销", "School-bus driving qualifications cancelled",
        EDUCATION, _EMPLOYER_ZH, _EMPLOYER_EN, Cadence.ON_EVENT,
        (*_DRIVER, _c("资格取得日期", "qualified on"), _c("资格注销日期", "cancelled on"), DIVISION),
        queries.r09_school_bus_qualification_cancelled,
    ),
    Report(
        "R10", "大中型客货车驾驶人降级注销", "Bus and truck drivers' large classes downgraded or cancelled",
        TRANSPORT, _EMPLOYER_ZH, _EMPLOYER_EN, Cadence.ON_EVENT,
        (*_DRIVER, _c("情形", "case"), _c("原准驾车型", "classes before"), _c("日期", "date"), DIVISION),
        queries.r10_large_class_downgrades,
    ),
    Report(
        "R11", "教练员交通违法记分满分", "Driving instructors reaching the full score of 12 points",
        TRANSPORT, _EMPLOYER_ZH, _EMPLOYER_EN, Cadence.ON_EVENT,
        (*_DRIVER, _c("记分周期", "scoring cycle"), _c("本周期记分", "points in cycle"),
         _c("满分日期", "full score on"), DIVISION),
        queries.r11_instructor_full_score,
    ),
)  # fmt: skip

BY_CODE: dict[str, Report] = {r.code: r for r in REPORTS}
CODES: tuple[str, ...] = tuple(BY_CODE)


def report(code: str) -> Report:
    """The definition of a code; KeyError for an unknown one."""
    return BY_CODE[code.upper()]
