"""Pure rules of announcements (公告) and publications (公布) (N3, seed 002 附件4).

No ORM and no clock: the kinds and their wording are tables, the state machine is a table, the
number format and the search keys are small functions, and every date decision takes ``today``.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from jiaoguan.registry.rules import MEDICAL_CERTIFICATE_VALID, add_years, medical_certificate_due


@dataclass(frozen=True)
class Refusal:
    code: str
    zh: str
    en: str


# ---------------------------------------------------------------- the 20 announcements (附件4 一)


class Subject(StrEnum):
    """What an announcement lists."""

    VEHICLE = "vehicle"
    LICENCE = "licence"
    SCHOOL_BUS_SIGN = "school_bus_sign"


@dataclass(frozen=True)
class AnnouncementKind:
    code: str
    name_zh: str  # the seed's words
    name_en: str
    subject: Subject
    fact_zh: str  # what the row's date means
    fact_en: str
    basis_zh: str  # the sentence the generated body is built on


_V, _L, _S = Subject.VEHICLE, Subject.LICENCE, Subject.SCHOOL_BUS_SIGN
_VOID_VEHICLE = "根据《机动车登记规定》，下列已注销机动车的{thing}未收回，现公告作废。"
_VOID_LICENCE = "根据《机动车驾驶证申领和使用规定》，下列机动车驾驶证已注销但未收回，现公告作废。"

ANNOUNCEMENT_KINDS: dict[str, AnnouncementKind] = {
    k.code: k
    for k in (
        AnnouncementKind("G01", "收缴机动车报废", "confiscated vehicles scrapped", _V,
                         "号牌收回日期", "plates collected on",
                         "下列机动车已被依法收缴并强制注销，现公告予以报废。"),
        AnnouncementKind("G02", "机动车登记证书未收回作废", "vehicle registration certificates not returned, void", _V,
                         "注销状态", "deregistered", _VOID_VEHICLE.format(thing="登记证书")),
        AnnouncementKind("G03", "机动车号牌未收回作废", "vehicle plates not returned, void", _V,
                         "注销状态", "deregistered", _VOID_VEHICLE.format(thing="号牌")),
        AnnouncementKind("G04", "机动车行驶证未收回作废", "vehicle licences not returned, void", _V,
                         "注销状态", "deregistered", _VOID_VEHICLE.format(thing="行驶证")),
        AnnouncementKind("G05", "机动车临界强制报废", "vehicles near the compulsory scrapping age", _V,
                         "强制报废期止", "compulsory scrapping date",
                         "根据《机动车强制报废标准规定》，下列机动车将在一年内达到强制报废年限，请机动车所有人及时办理注销登记。"),
        AnnouncementKind("G06", "机动车逾期未参加检验", "vehicles overdue for inspection", _V,
                         "检验有效期至", "inspection valid until",
                         "根据《道路交通安全法实施条例》第十六条，下列机动车已超过检验有效期未参加安全技术检验，请机动车所有人尽快检验。"),
        AnnouncementKind("G07", "驾驶证逾期未换证", "driving licences overdue for renewal", _L,
                         "有效期至", "valid until",
                         "根据《机动车驾驶证申领和使用规定》第六十二条，下列机动车驾驶证已超过有效期未换证，请驾驶人尽快办理换证；超过有效期一年以上的将依法注销。"),
        AnnouncementKind("G08", "驾驶证逾期未审验", "driving licences overdue for review", _L,
                         "审验期限", "review due",
                         "根据《机动车驾驶证申领和使用规定》第七十二条，下列驾驶人逾期未参加审验，请尽快参加审验。"),
        AnnouncementKind("G09", "驾驶人逾期未提交身体条件证明", "drivers overdue with the medical certificate", _L,
                         "提交期限", "certificate due",
                         "根据《机动车驾驶证申领和使用规定》，下列驾驶人逾期未提交身体条件证明，请尽快提交；逾期一年以上的将依法注销驾驶证。"),
        AnnouncementKind("G10", "注销机动车驾驶证增加的准驾车型", "added driving classes cancelled", _L,
                         "注销日期", "cancelled on",
                         "根据《机动车驾驶证申领和使用规定》第七十七条，下列驾驶人增加准驾车型后在实习期内记满12分（或延长实习期内记6分以上），其增加的准驾车型资格已注销，现予公告。"),
        AnnouncementKind("G11", "达到强制报废年限的机动车未办理注销登记", "vehicles past the scrapping age not deregistered", _V,
                         "强制报废期止", "compulsory scrapping date",
                         "根据《机动车登记规定》，下列机动车已达到强制报废年限仍未办理注销登记，其号牌、行驶证作废，现予公告。"),
        AnnouncementKind("G12", "校车标牌未交回作废", "school-bus signs not returned, void", _S,
                         "标牌注销日期", "sign revoked on",
                         "根据《校车安全管理条例》，下列校车标牌已注销但未交回，现公告作废。"),
        AnnouncementKind("G13", "机动车连续3个检验周期未检验注销", "vehicles deregistered after 3 inspection cycles missed", _V,
                         "检验有效期至", "inspection valid until",
                         "根据《机动车登记规定》，下列机动车连续3个机动车检验周期内未取得机动车检验合格标志，将依法注销登记，其号牌、行驶证作废。"),
        AnnouncementKind("G14", "准驾车型降级未换证原驾驶资格作废", "downgraded classes not exchanged, former qualification void", _L,
                         "降级日期", "downgraded on",
                         "根据《机动车驾驶证申领和使用规定》，下列驾驶人准驾车型已降级但逾期未换领驾驶证，其原准驾车型驾驶资格作废。"),
        AnnouncementKind("G15", "初领A3和B2驾驶证延长实习期内记6分以上注销未收回作废",
                         "first A3/B2 licences cancelled for 6+ points in extended probation, not returned, void", _L,
                         "注销日期", "cancelled on", _VOID_LICENCE),
        AnnouncementKind("G16", "初领驾驶证实习期内记12分注销未收回作废",
                         "first licences cancelled for 12 points in probation, not returned, void", _L,
                         "注销日期", "cancelled on", _VOID_LICENCE),
        AnnouncementKind("G17", "未按规定办理降级换证业务注销", "licences cancelled: downgrade not exchanged", _L,
                         "注销日期", "cancelled on",
                         "根据《机动车驾驶证申领和使用规定》，下列驾驶人未按规定办理降级换证业务，其机动车驾驶证已注销，现予公告。"),
        AnnouncementKind("G18", "满分后未按时接受教育驾驶证停止使用", "licences suspended: no study after the full score", _L,
                         "状态", "status",
                         "根据《道路交通安全违法行为记分管理办法》，下列驾驶人记分满分后逾期未参加学习、考试，其机动车驾驶证停止使用。"),
        AnnouncementKind("G19", "驾驶证注销未收回作废", "cancelled licences not returned, void", _L,
                         "注销日期", "cancelled on", _VOID_LICENCE),
        AnnouncementKind("G20", "校车驾驶资格注销未收回机动车驾驶证其资格作废",
                         "school-bus driving qualification cancelled, licence not returned, qualification void", _L,
                         "校车驾驶资格注销日期", "qualification cancelled on",
                         "根据《校车安全管理条例》，下列驾驶人的校车驾驶资格已注销，机动车驾驶证未交回签注，其校车驾驶资格作废。"),
    )
}  # fmt: skip

ANNOUNCEMENT_CODES = tuple(ANNOUNCEMENT_KINDS)


def announcement_kind(code: str) -> AnnouncementKind | Refusal:
    kind = ANNOUNCEMENT_KINDS.get((code or "").strip().upper())
    if kind is None:
        return Refusal("announcements.unknown_kind", "没有这一项公告。", "No such kind of announcement.")
    return kind


def default_title(kind: AnnouncementKind, *, division_name: str) -> str:
    return f"{division_name}关于{kind.name_zh}的公告"


def default_body(kind: AnnouncementKind, *, count: int, today: date) -> str:
    return f"{kind.basis_zh}\n\n本公告列明{count}条记录，数据截至{today:%Y年%m月%d日}。\n\n特此公告。"


# ---------------------------------------------------------------- states (draft → approval → publication)


class State(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


STATE_WORDS: dict[State, tuple[str, str]] = {
    State.DRAFT: ("草稿", "draft"),
    State.PENDING_APPROVAL: ("待审批", "awaiting approval"),
    State.APPROVED: ("已审批待发布", "approved, not yet published"),
    State.PUBLISHED: ("已发布", "published"),
    State.WITHDRAWN: ("已撤回", "withdrawn"),
}


class Verb(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    PUBLISH = "publish"
    WITHDRAW = "withdraw"


# (state before, verb) -> state after; anything else is a conflict.
TRANSITIONS: dict[tuple[State, Verb], State] = {
    (State.DRAFT, Verb.EDIT): State.DRAFT,
    (State.DRAFT, Verb.SUBMIT): State.PENDING_APPROVAL,
    (State.PENDING_APPROVAL, Verb.APPROVE): State.APPROVED,
    (State.PENDING_APPROVAL, Verb.REJECT): State.DRAFT,  # rejected back to the drafter
    (State.APPROVED, Verb.PUBLISH): State.PUBLISHED,
    (State.PUBLISHED, Verb.WITHDRAW): State.WITHDRAWN,
}

VERB_WORDS: dict[Verb, tuple[str, str]] = {
    Verb.EDIT: ("修改", "edit"),
    Verb.SUBMIT: ("提交审批", "submit for approval"),
    Verb.APPROVE: ("审批通过", "approve"),
    Verb.REJECT: ("退回修改", "reject"),
    Verb.PUBLISH: ("发布", "publish"),
    Verb.WITHDRAW: ("撤回", "withdraw"),
}


def next_state(state: str, verb: Verb) -> State | Refusal:
    after = TRANSITIONS.get((State(state), verb))
    if after is None:
        zh_state, en_state = STATE_WORDS[State(state)]
        zh_verb, en_verb = VERB_WORDS[verb]
        return Refusal(
            "announcements.wrong_state",
            f"该公告当前为“{zh_state}”，不能{zh_verb}。",
            f'The announcement is {en_state}; "{en_verb}" is not possible now.',
        )
    return after


def approval_refusal(*, drafted_by_id: int | None, approver_id: int) -> Refusal | None:
    """Four eyes: whoever drafted an announcement never approves it (issue 15)."""
    if drafted_by_id is not None and drafted_by_id == approver_id:
        return Refusal(
            "announcements.own_draft",
            "不能审批本人起草的公告，请由其他部门负责人审批。",
            "You cannot approve an announcement you drafted; another head of unit must.",
        )
    return None


REASON_MIN_CHARS = 4


def reason_refusal(reason: str, *, what_zh: str, what_en: str) -> Refusal | None:
    if len((reason or "").strip()) < REASON_MIN_CHARS:
        return Refusal(
            "announcements.reason_required",
            f"请填写{what_zh}原因（至少{REASON_MIN_CHARS}个字）。",
            f"Give the reason for the {what_en} (at least {REASON_MIN_CHARS} characters).",
        )
    return None


# ---------------------------------------------------------------- numbers (文号)

# ASSUMPTION: the issuing office's short name per city (the first four digits of the division);
# seed 002 is Zhumadian's detachment (驻马店市公安局交通管理支队), whose announcements are
# "驻公交告". Another city adds a row; one without a row uses its division code.
ISSUER_ABBREVIATIONS: dict[str, str] = {
    "4117": "驻公交告",
    "4116": "周公交告",
    "4101": "郑公交告",
}


def issuer_abbreviation(division: str) -> str:
    return ISSUER_ABBREVIATIONS.get(division[:4], f"{division}公交告")


def announcement_number(*, division: str, year: int, sequence: int) -> str:
    """The number (文号) of a published announcement: "驻公交告〔2026〕第12号".

    One sequence per issuing division and year, starting at 1 (issue 15)."""
    return f"{issuer_abbreviation(division)}〔{year}〕第{sequence}号"


# ---------------------------------------------------------------- search keys


def normalise_plate(text: str) -> str:
    """A plate as typed ("豫q·12345 ") in the stored form ("豫Q12345")."""
    cleaned = unicodedata.normalize("NFKC", text or "")
    return "".join(ch for ch in cleaned if ch not in " ·.-\u3000\t").upper()


def normalise_name(text: str) -> str:
    cleaned = unicodedata.normalize("NFKC", text or "")
    return "".join(cleaned.split())


def name_key(name: str, *, secret: bytes) -> str:
    """The keyed hash a full name is searched by: the clear name is never stored with an item.

    ASSUMPTION: a name is low in entropy, so a plain hash could be reversed from a list of
    names; an HMAC keyed with a server secret cannot be computed by someone who has the table.
    """
    normal = normalise_name(name)
    if not normal:
        return ""
    return hmac.new(secret, f"announcement-name:{normal}".encode(), hashlib.sha256).hexdigest()


def looks_like_plate(text: str) -> bool:
    """Plates start with a province character and an office letter ("豫Q"); names do not."""
    plate = normalise_plate(text)
    return (
        len(plate) >= 6 and "\u4e00" <= plate[0] <= "\u9fff" and plate[1:2].isascii() and plate[1].isalpha()
    )


# ---------------------------------------------------------------- generator decisions (pure)

DOWNGRADE_EXCHANGE_DAYS = 30  # S1 art. 65: exchange within 30 days of the downgrade


def downgrade_exchange_overdue(*, downgraded_on: date | None, exchanged_on: date | None, today: date) -> bool:
    """G14: a downgraded licence not exchanged within 30 days (S1 art. 65)."""
    if downgraded_on is None or exchanged_on is not None:
        return False
    return today > downgraded_on + timedelta(days=DOWNGRADE_EXCHANGE_DAYS)


INSPECTION_CYCLES_BEFORE_DEREGISTRATION = 3  # S3: 连续3个机动车检验周期未取得检验合格标志


def inspection_cycles_missed(*, valid_until: date, later_dues: list[date], today: date) -> int:
    """How many scheduled inspections have passed unmet: the validity's own due, if passed, and
    every later due before today (G13). ``later_dues`` are the schedule's dues after it."""
    if today <= valid_until:
        return 0
    return 1 + sum(1 for due in later_dues if valid_until < due < today)


def scrapping_near(*, scrapping_date: date | None, today: date) -> bool:
    """G05: the compulsory scrapping date falls within the coming year (not yet reached)."""
    if scrapping_date is None:
        return False
    return today < scrapping_date <= add_years(today, 1)


def scrapping_reached(*, scrapping_date: date | None, today: date) -> bool:
    """G11: the compulsory scrapping date has come."""
    return scrapping_date is not None and scrapping_date <= today


def deregistered(status: str) -> bool:
    """Vehicle status E (注销) or M (强制注销) (S7)."""
    return "E" in (status or "") or "M" in (status or "")


def licence_cancelled(status: str) -> bool:
    return "G" in (status or "")


def missed_medical_deadline(
    *, birth_date: date, classes: str, first_issued_on: date, last_medical_on: date | None, today: date
) -> date | None:
    """G09: a certificate deadline of the last year that passed without a certificate issued in
    the 6 months before it (S1 art. 74, registry rule ``medical_certificate_due``), or None."""
    if first_issued_on > today:
        return None  # a bad row: no cycle has begun
    day = max(add_years(today, -1), first_issued_on)
    for _ in range(4):  # at most a few deadlines fall in one year
        due = medical_certificate_due(
            birth_date=birth_date, classes=classes, first_issued_on=first_issued_on, today=day
        )
        if due is None or due >= today:
            return None
        met = last_medical_on is not None and due - MEDICAL_CERTIFICATE_VALID <= last_medical_on <= due
        if not met:
            return due
        day = due + timedelta(days=1)
    return None


# ---------------------------------------------------------------- the 13 publications (附件4 二)


class Source(StrEnum):
    REGISTRY = "registry"  # computed from registry, violations and accidents
    STAFF = "staff"  # a list staff keep in the back office
    EXAMS = "exams"  # counted from the driving-test tables


@dataclass(frozen=True)
class PublicationKind:
    code: str
    name_zh: str
    name_en: str
    source: Source
    names_people: bool = False


PUBLICATION_KINDS: dict[str, PublicationKind] = {
    k.code: k
    for k in (
        PublicationKind("P01", "驾驶培训机构考试合格率", "driving schools' exam pass rates", Source.EXAMS),
        PublicationKind("P02", "三年内驾龄驾驶人交通违法率", "offence rate of drivers licensed under 3 years", Source.REGISTRY),
        PublicationKind("P03", "三年内驾龄驾驶人交通肇事率", "accident rate of drivers licensed under 3 years", Source.REGISTRY),
        PublicationKind("P04", "满分大中型客货车违法行为人", "bus and truck drivers with a full score", Source.REGISTRY, True),
        PublicationKind("P05", "严重交通违法人员", "serious offenders", Source.REGISTRY, True),
        PublicationKind("P06", "驾驶培训机构培训质量排名", "driving schools ranked by training quality", Source.EXAMS),
        PublicationKind("P07", "驾驶培训机构培训能力", "driving schools' training capacity", Source.EXAMS),
        PublicationKind("P08", "考试预约计划和预约人数及考试人数", "exam plans, bookings and candidates", Source.EXAMS),
        PublicationKind("P09", "办理套牌案件联系表", "where to report a cloned plate", Source.STAFF),
        PublicationKind("P10", "违规车型和生产销售单位", "non-compliant models, makers and sellers", Source.REGISTRY),
        PublicationKind("P11", "考试员各科目考试人次和合格率", "examiners' tests and pass rates by subject", Source.EXAMS),
        PublicationKind("P12", "三年内驾龄驾驶人发生交通死亡事故负主要以上责任倒查结果",
                        "fatal accidents with main fault of drivers licensed under 3 years: traced back", Source.EXAMS),
        PublicationKind("P13", "固定式交通技术监控设备设置地点", "fixed traffic cameras: locations", Source.STAFF),
    )
}  # fmt: skip

PUBLICATION_CODES = tuple(PUBLICATION_KINDS)
# P12 traces fatal accidents back to the drivers' schools and examiners: the exam records of
# drivers licensed before the driving-test module are not on the platform.
UNAVAILABLE_ZH = "待驾驶人考试记录可以倒查后公布。"
UNAVAILABLE_EN = "To be published when drivers' exam records can be traced back."

NOVICE_YEARS = 3  # "三年内驾龄"
SERIOUS_POINTS = 12  # ASSUMPTION: "serious" offences are those scoring 12 points (S2 art. 8)
LOOKBACK_DAYS = 365  # rates and lists cover the last 12 months


def period_of(today: date) -> str:
    """Publications are regenerated daily and kept one per month: the month is the period."""
    return f"{today:%Y-%m}"


def rate_per_thousand(count: int, population: int) -> str:
    """A rate as text with one decimal (‰); "—" when there is nobody to count."""
    if population <= 0:
        return "—"
    tenths = (count * 10000 + population // 2) // population
    return f"{tenths // 10}.{tenths % 10}‰"


def novice_since(today: date) -> date:
    """First issue on or after this day: licensed less than three years ago."""
    try:
        return today.replace(year=today.year - NOVICE_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year - NOVICE_YEARS, day=28)
