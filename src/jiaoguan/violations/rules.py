"""Rules for traffic violations (交通违法) and fines, as pure functions over data tables.

No ORM, no clock: callers pass ``today`` / ``on``. Requirements Q3, V1-V6, B16, B17;
points and fines from ``design/RULES.md`` (S2 公安部令第163号, S5 行政处罚法 art. 72).

Numbers defined here (no public standard exists for the record number):

* Violation record number (违法记录编号), 20 characters: recording agency's GB/T 2260
  division (6) + source digit (1 electronic monitoring, 2 on-site) + date of the offence
  in Beijing time YYMMDD (6) + serial (6, allocated by the recording device or office) + ISO 7064
  MOD 11-2 check character over the first 19 digits (0-9 or X).
* Penalty decision number (处罚决定书编号), 15 digits (RULES.md): deciding agency's
  division (6) + year YY (2) + serial per agency and year (7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from stdnum.iso7064 import mod_11_2

from jiaoguan.core.divisions import DIVISIONS
from jiaoguan.core.errors import Conflict, DomainError, NotAllowed, ValidationFailed
from jiaoguan.registry.rules import LICENCE_STATUS, full_score_study, split_classes

POINTS_LIMIT = 12  # S2 art. 3: 12 points in a scoring cycle
POINTS_REFORM_DATE = date(2022, 4, 1)  # S2 in force: values 12/9/6/3/1 instead of 12/6/3/2/1
PAYMENT_DAYS = 15  # S5 art. 67: pay within 15 days of receiving the decision
LATE_FEE_PERCENT_PER_DAY = 3  # S5 art. 72: 3% of the fine a day, at most the fine
BEIJING = ZoneInfo("Asia/Shanghai")  # record numbers and offence days are in Beijing time


class Source(StrEnum):
    """How the offence was recorded."""

    MONITORING = "monitoring"  # 电子监控 (camera)
    ON_SITE = "on_site"  # 现场 (officer on the road)


SOURCE_DIGIT = {Source.MONITORING: "1", Source.ON_SITE: "2"}


@dataclass(frozen=True)
class CodeVersion:
    """One row of the violation code table (违法代码), valid from ``effective_from``."""

    code: str
    effective_from: date
    name_zh: str
    name_en: str
    points: int
    fine_fen: int | None  # the province's amount; None: set by the officer within the range
    fine_min_fen: int
    fine_max_fen: int
    points_expressway: int | None = None  # different points on expressways (1603)
    monitorable: bool = True  # may come from a camera

    def points_for(self, *, on_expressway: bool) -> int:
        if on_expressway and self.points_expressway is not None:
            return self.points_expressway
        return self.points


def _yuan(value: int) -> int:
    return value * 100


_OLD = date(2004, 5, 1)
_NEW = POINTS_REFORM_DATE


def _pair(
    code: str,
    name_zh: str,
    name_en: str,
    *,
    old_points: int,
    new_points: int,
    fine: int | None,
    fine_range: tuple[int, int],
    old_expressway: int | None = None,
    new_expressway: int | None = None,
    monitorable: bool = True,
) -> tuple[CodeVersion, CodeVersion]:
    common = {
        "code": code,
        "name_zh": name_zh,
        "name_en": name_en,
        "fine_fen": None if fine is None else _yuan(fine),
        "fine_min_fen": _yuan(fine_range[0]),
        "fine_max_fen": _yuan(fine_range[1]),
        "monitorable": monitorable,
    }
    return (
        CodeVersion(effective_from=_OLD, points=old_points, points_expressway=old_expressway, **common),  # type: ignore[arg-type]
        CodeVersion(effective_from=_NEW, points=new_points, points_expressway=new_expressway, **common),  # type: ignore[arg-type]
    )


# Points before/after 2022-04-01 from RULES.md; fines are the Henan amounts within the
# statutory range. A change of the table is a new row with its effective date.
CODE_TABLE: tuple[CodeVersion, ...] = (
    *_pair("1625", "驾驶机动车违反道路交通信号灯通行", "Running a red light",
           old_points=6, new_points=6, fine=200, fine_range=(20, 200)),
    *_pair("1344", "驾驶机动车违反禁令标志指示", "Disobeying a prohibition sign",
           old_points=3, new_points=1, fine=100, fine_range=(20, 200)),
    *_pair("1345", "驾驶机动车违反禁止标线指示", "Disobeying a prohibition marking",
           old_points=3, new_points=1, fine=100, fine_range=(20, 200)),
    *_pair("1223", "驾驶机动车时有拨打、接听手持电话等妨碍安全驾驶的行为", "Using a handheld phone while driving",
           old_points=2, new_points=3, fine=50, fine_range=(20, 200)),
    *_pair("1101", "驾驶时驾驶人未按规定使用安全带", "Driver not wearing a seat belt",
           old_points=2, new_points=1, fine=50, fine_range=(20, 200)),
    *_pair("1039", "机动车违反规定停放、临时停车，妨碍其他车辆、行人通行", "Illegal parking",
           old_points=0, new_points=0, fine=100, fine_range=(20, 200)),
    *_pair("1301", "机动车逆向行驶（普通道路）", "Driving the wrong way on an ordinary road",
           old_points=3, new_points=3, fine=200, fine_range=(20, 200)),
    *_pair("1352", "驾驶机动车超过规定时速10%以上未达20%", "Speeding 10-20% over the limit",
           old_points=3, new_points=0, fine=50, fine_range=(20, 200)),
    *_pair("1603", "驾驶机动车超过规定时速50%以上", "Speeding 50% or more over the limit",
           old_points=12, new_points=6, fine=1000, fine_range=(200, 2000), old_expressway=12, new_expressway=12),
    *_pair("1204", "驾驶机动车行经人行横道，不按规定减速、停车、避让行人", "Not yielding to pedestrians at a crossing",
           old_points=2, new_points=3, fine=100, fine_range=(20, 200)),
    *_pair("1207", "驾驶摩托车不戴安全头盔", "Riding a motorcycle without a helmet",
           old_points=2, new_points=1, fine=50, fine_range=(20, 200)),
    *_pair("1329", "故意遮挡、污损机动车号牌", "Covering or defacing a plate",
           old_points=12, new_points=9, fine=200, fine_range=(20, 200)),
    *_pair("1332", "驾驶未悬挂机动车号牌的机动车", "Driving without a plate",
           old_points=12, new_points=9, fine=200, fine_range=(20, 200)),
    *_pair("1017", "未按规定投保机动车交通事故责任强制保险", "No compulsory motor insurance",
           old_points=0, new_points=0, fine=None, fine_range=(20, 10000), monitorable=False),
    # S5 art. 11 and 95 (warning or 20-200 yuan); 1 point in the 2013 table, none under S2. ASSUMPTION:
    # code 1010 as in the national code table we know of (not in RULES.md); the fine is Henan's 50.
    # A vehicle with a valid electronic mark is never fined for it (E3, seed 003): see PAPER_LABEL_CODES.
    *_pair("1010", "上道路行驶的机动车未按规定放置检验合格标志", "Inspection label not displayed",
           old_points=1, new_points=0, fine=50, fine_range=(20, 200)),
)  # fmt: skip

# Offences an electronic inspection mark answers (E3): a vehicle whose mark was valid on the day
# is not fined for not displaying the paper label; imports refuse the record, staff cannot decide it.
PAPER_LABEL_CODES: frozenset[str] = frozenset({"1010"})

_BY_CODE: dict[str, tuple[CodeVersion, ...]] = {}
for _row in sorted(CODE_TABLE, key=lambda r: (r.code, r.effective_from)):
    _BY_CODE.setdefault(_row.code, ())
    _BY_CODE[_row.code] = (*_BY_CODE[_row.code], _row)


def known_codes() -> tuple[str, ...]:
    return tuple(sorted(_BY_CODE))


def code_version(code: str, *, on: date) -> CodeVersion:
    """The code table row in force on the day of the offence (the law at the time of the act)."""
    rows = _BY_CODE.get((code or "").strip())
    if not rows:
        raise ValidationFailed(
            "violations.unknown_code",
            f"违法代码 {code} 不在违法代码表中。",
            f"The violation code {code} is not in the code table.",
            field="code",
        )
    in_force = [row for row in rows if row.effective_from <= on]
    if not in_force:
        raise ValidationFailed(
            "violations.code_not_in_force",
            f"违法代码 {code} 在 {on:%Y-%m-%d} 尚未施行。",
            f"The violation code {code} was not in force on {on:%Y-%m-%d}.",
            field="code",
        )
    return in_force[-1]


def fine_for(version: CodeVersion, *, officer_amount_fen: int | None = None) -> int:
    """The fine in fen: the province's amount, or the officer's within the statutory range."""
    amount = version.fine_fen if officer_amount_fen is None else officer_amount_fen
    if amount is None:
        raise ValidationFailed(
            "violations.fine_required",
            f"违法代码 {version.code} 的罚款金额须由民警在法定幅度内确定。",
            f"The fine for code {version.code} must be set by the officer within the statutory range.",
            field="fine",
        )
    if not version.fine_min_fen <= amount <= version.fine_max_fen:
        raise ValidationFailed(
            "violations.fine_out_of_range",
            f"罚款金额应在 {version.fine_min_fen / 100:.2f} 至 {version.fine_max_fen / 100:.2f} 元之间。",
            f"The fine must be between CNY {version.fine_min_fen / 100:.2f} and {version.fine_max_fen / 100:.2f}.",
            field="fine",
        )
    return amount


# ---------------------------------------------------------------- divisions in words


def division_words(code: str) -> str:
    """A division's full name from the GB/T 2260 table, province to county ("江苏省南京市秦淮区"
    for 320104), as far as the table lists it; the bare code when it lists none of it."""
    code = (code or "").strip()
    if len(code) != 6 or not code.isdigit():
        return code
    parts = [DIVISIONS.get(f"{code[:2]}0000", "")]
    if code[2:4] != "00":
        parts.append(DIVISIONS.get(f"{code[:4]}00", ""))
    if code[4:] != "00":
        parts.append(DIVISIONS.get(code, ""))
    return "".join(parts) or code


# ---------------------------------------------------------------- numbers


def record_number_make(*, division: str, source: Source | str, occurred_on: date, serial: int) -> str:
    if not (len(division) == 6 and division.isdigit()) or not 0 <= serial <= 999_999:
        raise ValueError("division must be 6 digits and serial 0..999999")
    body = f"{division}{SOURCE_DIGIT[Source(source)]}{occurred_on:%y%m%d}{serial:06d}"
    return body + mod_11_2.calc_check_digit(body)


def record_number_check(value: str) -> str:
    """Normalise and validate a violation record number (format in the module docstring)."""
    number = (value or "").strip().upper().replace(" ", "").replace("-", "")
    if (
        len(number) != 20
        or not number[:19].isdigit()
        or number[19] not in "0123456789X"
        or number[6] not in "12"
    ):
        raise ValidationFailed(
            "violations.record_number_format",
            "违法记录编号应为20位：6位机关代码、1位来源、6位日期、6位序号和1位校验码。",
            "A violation record number has 20 characters: agency code (6), source (1), date (6), "
            "serial (6) and a check character.",
            field="record_number",
        )
    try:
        date(2000 + int(number[7:9]), int(number[9:11]), int(number[11:13]))
    except ValueError:
        raise ValidationFailed(
            "violations.record_number_format",
            "违法记录编号中的日期无效。",
            "The date inside the violation record number is invalid.",
            field="record_number",
        ) from None
    if mod_11_2.calc_check_digit(number[:19]) != number[19]:
        raise ValidationFailed(
            "violations.record_number_checksum",
            "违法记录编号校验位不正确。",
            "The violation record number's check character is wrong.",
            field="record_number",
        )
    return number


def offence_day(occurred_at: datetime) -> date:
    """The offence's date in Beijing time, the date a record number carries, whatever the
    offset the time was delivered with."""
    return occurred_at.astimezone(BEIJING).date()


def check_record_number_date(number: str, *, occurred_on: date) -> None:
    """The YYMMDD inside a record number is the offence's date (Beijing time): a camera that
    numbers a record with another day has its clock or its numbering wrong."""
    expected = f"{occurred_on:%y%m%d}"
    if number[7:13] != expected:
        raise ValidationFailed(
            "violations.record_number_date",
            f"违法记录编号中的日期 {number[7:13]} 与违法时间（北京时间 {occurred_on:%Y-%m-%d}）不一致。",
            f"The date inside the record number ({number[7:13]}) is not the offence date "
            f"({occurred_on:%Y-%m-%d}, Beijing time).",
            field="record_number",
            detail={"expected": expected, "actual": number[7:13]},
        )


def record_number_source(number: str) -> Source:
    return Source.MONITORING if number[6] == "1" else Source.ON_SITE


def decision_number_make(*, division: str, year: int, serial: int) -> str:
    """Penalty decision number (处罚决定书编号): 15 digits, the first 6 the agency's division."""
    if not (len(division) == 6 and division.isdigit()) or not 1 <= serial <= 9_999_999:
        raise ValueError("division must be 6 digits and serial 1..9999999")
    return f"{division}{year % 100:02d}{serial:07d}"


# ---------------------------------------------------------------- import batches


class BatchState(StrEnum):
    """Where a delivery of camera records stands (批量导入状态)."""

    RECEIVING = "receiving"  # 接收中: its process is reading and storing it
    COMPLETE = "complete"  # 已完成: every line read; the counters are final
    FAILED = "failed"  # 失败: stopped by an error, with the reason; sending it again completes it
    INTERRUPTED = "interrupted"  # 已中断: its process died part-way; sending it again completes it


# A chunk commits every second or two; a batch on another machine that made no progress for
# this long has stopped (its own machine can tell at once whether the process is gone).
BATCH_SILENT_AFTER = timedelta(minutes=5)


def batch_state(
    *, stored: str, last_progress: datetime | None, now: datetime, process_alive: bool | None
) -> BatchState:
    """What a batch is now, from its stored state and its process.

    ``process_alive``: whether the importing process still runs, or None when it cannot be
    told (another machine); then silence beyond :data:`BATCH_SILENT_AFTER` decides.
    """
    state = BatchState(stored)
    if state is not BatchState.RECEIVING or process_alive is True:
        return state
    if process_alive is False or last_progress is None or now - last_progress > BATCH_SILENT_AFTER:
        return BatchState.INTERRUPTED
    return BatchState.RECEIVING


def batch_resumable(state: BatchState) -> bool:
    """Sending the same file again picks up an interrupted or failed batch (and nothing else)."""
    return state in (BatchState.INTERRUPTED, BatchState.FAILED)


# ---------------------------------------------------------------- late fee (S5 art. 72)


def payment_due(decided_on: date) -> date:
    """Last day to pay without a late fee: 15 days after the decision."""
    return decided_on + timedelta(days=PAYMENT_DAYS)


def late_fee(*, fine_fen: int, decided_on: date, today: date) -> int:
    """加处罚款: 3% of the fine for each day after the 15th, never more than the fine."""
    if fine_fen < 0:
        raise ValueError("fine cannot be negative")
    days_late = (today - payment_due(decided_on)).days
    if days_late <= 0:
        return 0
    return min(fine_fen, fine_fen * LATE_FEE_PERCENT_PER_DAY * days_late // 100)


def fine_timeline_problems(
    *,
    occurred_at: datetime,
    handled_at: datetime | None,
    decided_on: date,
    paid_at: datetime | None,
    fine_fen: int,
    late_fee_fen: int,
) -> list[tuple[str, str, str]]:
    """What is inconsistent in a decided fine's dates and late fee, as (field, zh, en): handled
    not before the offence and not after the decision day, decided not before the offence day,
    and a late fee exactly as S5 art. 72 gives for the day it was paid (none within 15 days)."""
    problems: list[tuple[str, str, str]] = []
    offence_on = offence_day(occurred_at)
    if decided_on < offence_on:
        problems.append(("decided_on", "决定日期早于违法日期", "decided before the offence day"))
    if handled_at is not None:
        handled_on = handled_at.astimezone(BEIJING).date()
        if handled_at < occurred_at:
            problems.append(("handled_at", "处理时间早于违法时间", "handled before the offence"))
        if handled_on > decided_on:
            problems.append(("handled_at", "处理时间晚于决定日期", "handled after the decision day"))
    if paid_at is not None:
        expected = late_fee(
            fine_fen=fine_fen, decided_on=decided_on, today=paid_at.astimezone(BEIJING).date()
        )
        if late_fee_fen != expected:
            problems.append(
                (
                    "late_fee_fen",
                    f"加处罚款应为 {expected / 100:.2f} 元（按缴款日计）",
                    f"the late fee should be CNY {expected / 100:.2f} for the day it was paid",
                )
            )
    return problems


# ---------------------------------------------------------------- online handling (V1-V4)

# Licence statuses under which a driver may still take points online: normal, and the
# marks that only say something else is pending or was deferred with permission (S7).
HANDLING_LICENCE_STATUSES = frozenset("AHINPT")


@dataclass(frozen=True)
class HandlingCase:
    """What online handling (B16) decides on, gathered by the service."""

    source: Source
    status: str  # the violation's status
    actor_kind: str  # "individual" | "organisation"
    actor_owns_vehicle: bool
    key_vehicle: bool
    licence_statuses: str  # derived status codes of the handling licence
    points_in_cycle: int
    points: int
    no_dispute: bool
    drove_self: bool  # individuals: drove themselves; organisations: named driver drove


def online_handling_refusal(case: HandlingCase) -> DomainError | None:
    """Why online handling is refused (V1-V4), or None when it is allowed; each refusal says
    where to go instead (a violation-processing counter).

    Pages and the API ask this before offering the form (with ``no_dispute`` and
    ``drove_self`` taken as True), so a refusal is shown up front and never after the
    person has filled the form in."""
    if case.status == "handled":
        return Conflict(
            "violations.already_handled", "该违法记录已处理。", "This violation has already been handled."
        )
    if case.status == "cancelled":
        return Conflict("violations.cancelled", "该违法记录已撤销。", "This violation record was cancelled.")
    if case.status == "disputed":
        return NotAllowed(
            "violations.disputed",
            "您已对该违法记录提出异议，请携带驾驶证到违法处理窗口处理，由民警核实。",
            "You disputed this record; take the driving licence to a violation-processing counter, "
            "where an officer reviews it.",
        )
    if case.source != Source.MONITORING:  # V1
        return NotAllowed(
            "violations.not_monitoring",
            "只有电子监控记录的违法可以网上处理，现场违法请到违法处理窗口。",
            "Only violations recorded by electronic monitoring can be handled online; go to a counter.",
        )
    if not case.actor_owns_vehicle:  # V2
        return NotAllowed(
            "violations.not_own_vehicle",
            "只能处理登记在本人（本单位）名下机动车的违法记录。",
            "You can only handle violations of vehicles registered to you or your organisation.",
        )
    if case.key_vehicle and case.actor_kind != "organisation":  # V2
        return NotAllowed(
            "violations.key_vehicle_by_organisation",
            "重点车辆（客运、货运、出租、危化品运输、校车）的违法由所属单位用户网上处理，或到违法处理窗口处理。",
            "Violations of key vehicles (passenger transport, freight, taxi, hazardous goods, school bus) "
            "are handled online by their organisation user, or at a counter.",
        )
    if not case.no_dispute or not case.drove_self:  # V3
        return NotAllowed(
            "violations.counter_required",
            "对违法事实有异议或非本人驾驶的，请携带驾驶证到违法处理窗口处理。",
            "If you dispute the facts or did not drive yourself, take the driving licence to a "
            "violation-processing counter.",
            field="no_dispute" if not case.no_dispute else "drove_self",
        )
    blocking = sorted(set(case.licence_statuses) - HANDLING_LICENCE_STATUSES)
    if blocking:  # V4
        words_zh = "、".join(LICENCE_STATUS.get(code, (code, code))[0] for code in blocking)
        words_en = ", ".join(LICENCE_STATUS.get(code, (code, code))[1].lower() for code in blocking)
        return NotAllowed(
            "violations.licence_status",
            f"驾驶证状态为“{words_zh}”，不能网上处理，请携带驾驶证到违法处理窗口。",
            f"The driving licence is marked {words_en}, which rules out online handling; "
            "take it to a violation-processing counter.",
            detail={"status": "".join(blocking)},
        )
    if case.points_in_cycle + case.points >= POINTS_LIMIT:  # V4
        return NotAllowed(
            "violations.points_limit",
            f"本记分周期已记 {case.points_in_cycle} 分，处理后将达到 {case.points_in_cycle + case.points} 分"
            "（满分12分），不能网上处理，请携带驾驶证到违法处理窗口处理。"
            "记满12分后须参加满分学习和科目一考试。",
            f"This cycle already has {case.points_in_cycle} points; handling would reach "
            f"{case.points_in_cycle + case.points} of 12, which is done only at a counter: take the "
            "licence to a violation-processing counter. At 12 points the driver must attend the "
            "full-score study and pass the subject-1 exam.",
            detail={"points_in_cycle": case.points_in_cycle, "points": case.points},
        )
    return None


def check_online_handling(case: HandlingCase) -> None:
    """Refuse online handling unless V1-V4 all hold."""
    refusal = online_handling_refusal(case)
    if refusal is not None:
        raise refusal


def points_after(points_in_cycle: int, points: int) -> tuple[int, bool]:
    """Points in the cycle after handling and whether the full score (满分) is reached."""
    total = points_in_cycle + points
    return total, total >= POINTS_LIMIT


def full_score_unconfirmed(*, points_before: int, points: int, classes: str = "") -> Conflict | None:
    """A decision that fills the licence (12 points or more) needs the officer's explicit
    confirmation first (issue 11 item 2): the refusal that asks for it, with the resulting
    total and the consequence, or None when the decision does not fill the licence."""
    total, full = points_after(points_before, points)
    if points <= 0 or not full:
        return None
    days = full_score_study(split_classes(classes)[0]).days
    return Conflict(
        "violations.full_score_unconfirmed",
        f"该驾驶证本记分周期已记 {points_before} 分，本次记 {points} 分后将达到 {total} 分（满分12分）："
        f"驾驶证将被扣留，驾驶人须参加满分学习{days}天并考试合格后方可发还。请告知当事人并勾选确认后再处理。",
        f"The licence has {points_before} points this cycle; with these {points} it reaches {total} "
        f"(the limit is 12): the licence will be held and the driver must attend {days} days of "
        "full-score study and pass the exam to get it back. Tell the driver and confirm to go on.",
        field="confirm_full_score",
        detail={"points_before": points_before, "points": points, "points_after": total},
    )


def paper_label_refusal(*, code: str, mark_valid: bool) -> Conflict | None:
    """The refusal of a paper-label offence for a vehicle with a valid electronic mark (E3), or None."""
    if code not in PAPER_LABEL_CODES or not mark_valid:
        return None
    return Conflict(
        "violations.electronic_mark_valid",
        "该车在违法当日持有有效的检验合格标志电子凭证，未放置纸质检验合格标志不予处罚。",
        "The vehicle had a valid electronic inspection mark on the day, so not displaying the paper "
        "label is not an offence.",
        field="code",
    )
