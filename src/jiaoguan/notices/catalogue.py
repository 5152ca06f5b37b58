"""The 37 notices (37项交通安全信息告知, seed 002 附件2) and the safety warnings, as a table of rules.

REQ N1 (the 37 notices to owners and drivers: 10 vehicle, 22 licence, 5 violation), N4 (safety
warnings), N5 (road-transport companies are told about their vehicles and drivers).

Each :class:`NoticeRule` row says what the notice is about (vehicle, licence or violation),
what starts it (the daily scan of the registry, or an event), who is told, on which channels,
and how often: once per fact, or again every ``repeat_days`` until the state is resolved. The
SQL that finds the rows a rule fires on is in ``scan_sql``; the decision for one row is the pure
function :func:`evaluate` here (no ORM, no clock: ``today`` is passed), built on
``registry.rules``. The scan selects candidates with SQL and confirms each with
:func:`evaluate`, which also yields the fact that makes the message's dedup key.

Recipients: a vehicle's notice goes to its owner (a person, or the owning organisation, which for
operating vehicles, school buses and dangerous-goods vehicles is the company, N5); a licence's
notice goes to the holder and, when recorded, to the employer (``DrivingLicence.employer``, N5).
All 37 are notices the law requires (``required=True``: their SMS cannot be switched off); the
safety warnings (N4) are not.

Rule facts that RULES.md and the seeds do not state are marked ASSUMPTION where they are used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.urls import reverse
from django.utils import timezone

from jiaoguan.registry import rules as reg

from .categories import Category
from .delivery import Draft

__all__ = [
    "LOOKBACK_DAYS",
    "RULES",
    "Hit",
    "LicenceFacts",
    "NoticeRule",
    "PointsFact",
    "Subject",
    "Trigger",
    "VehicleFacts",
    "dedup_key",
    "evaluate",
    "inspection_state",
    "is_commercial",
    "w01_drafts",
]

# Facts recorded by date (a cancellation, a cleared cloned-plate case, a camera record) are
# looked for over this many days back, so a day the scan did not run loses nothing; the dedup
# key tells each fact once. ASSUMPTION: 30 days.
LOOKBACK_DAYS = 30
# ASSUMPTION (S3 art. 29 as we read it): the transfer-in is due within 90 days of the archive
# leaving this office.
TRANSFER_IN_DAYS = 90
# ASSUMPTION: "临界报废" (scrapping imminent) is the last 3 months before the scrapping date;
# "临近强制报废年限1年以内" is the last year (S3: no transfer within a year of scrapping).
IMMINENT_SCRAPPING_MONTHS = 3
# S1 art. 77 as we read it: 6 or more (but under 12) points in probation extend it by a year.
PROBATION_EXTENSION_POINTS = 6
# ASSUMPTION: the A/B probation warning at 9 points, the extended-probation warning at 3 points.
AB_PROBATION_WARNING_POINTS = 9
AB_EXTENDED_WARNING_POINTS = 3
# S1: A/B holders take the knowledge test within 30 days after their probation ends.
AB_PROBATION_TEST_DAYS = 30
MEDICAL_OVERDUE_NOTICE_YEARS = 1  # "未按期提交身体条件证明不足一年"
UNHANDLED_MANY = 20  # W02
UNHANDLED_COMMERCIAL = 3  # W03


class Subject(StrEnum):
    VEHICLE = "vehicle"
    LICENCE = "licence"
    VIOLATION = "violation"


class Trigger(StrEnum):
    SCAN = "scan"  # the daily scan of the registry finds the state
    RECORDED = "recorded"  # a fact recorded by date (cancellation, import...), scanned over LOOKBACK_DAYS
    EVENT = "event"  # also sent at once by the event path (violation import)


@dataclass(frozen=True)
class NoticeRule:
    """One notice (告知项目): what, when, to whom, how, how often."""

    code: str
    title_zh: str
    title_en: str
    subject: Subject
    category: Category
    trigger: Trigger
    body_zh: str
    body_en: str
    repeat_days: int | None = None  # None: once per fact; N: again every N days until resolved
    required: bool = True
    channels: tuple[str, ...] = ("in_app", "sms")
    to_employer: bool = True  # licence notices also go to the employer (N5)

    @property
    def repeat_policy(self) -> str:
        return "once" if self.repeat_days is None else f"every {self.repeat_days} days until resolved"


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class VehicleFacts:
    """What the vehicle rules read of a vehicle row (no ORM here)."""

    kind: str
    use_nature: str
    registered_on: date
    last_inspected_on: date | None = None
    status: str = "A"
    transferred_out_on: date | None = None
    cloned_plate_cleared_on: date | None = None
    unhandled_violations: int = 0


@dataclass(frozen=True)
class PointsFact:
    occurred_on: date
    points: int
    fine_unpaid: bool = False


@dataclass(frozen=True)
class LicenceFacts:
    """What the licence rules read of a licence row, its holder's birth date and its points."""

    classes: str
    first_issued_on: date
    valid_from: date
    validity_term: str
    birth_date: date
    status: str = "A"
    probation_started_on: date | None = None
    last_medical_on: date | None = None
    last_reviewed_on: date | None = None
    renewal_deferred_until: date | None = None
    review_deferred_until: date | None = None
    medical_deferred_until: date | None = None
    cancelled_on: date | None = None
    cancellation_reason: str = ""
    downgraded_from: str = ""
    school_bus_qualification_cancelled_on: date | None = None
    points: Sequence[PointsFact] = field(default_factory=tuple)


@dataclass(frozen=True)
class Hit:
    """A rule fires: ``fact`` goes into the dedup key; ``values`` fill the message text."""

    fact: str
    values: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers

_INACTIVE_VEHICLE = frozenset("BEM")  # transferred out, deregistered, compulsorily deregistered
_INACTIVE_LICENCE = frozenset("CEFG")  # transferred out, annulled, revoked, cancelled


def _zh(day: date) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def _dated(day: date) -> dict[str, str]:
    return {"date_zh": _zh(day), "date_en": day.isoformat()}


def _repeat(anchor: date, today: date, days: int) -> str:
    """The fact of a repeated notice: the anchor (the last day before the state began) and the
    period of ``days`` days today falls in, counted from the day after the anchor."""
    return f"{anchor.isoformat()}#{((today - anchor).days - 1) // days}"


def is_commercial(use_nature: str) -> bool:
    """客货运 / 营运车: the key-vehicle uses (REQ V2: passenger transport, freight, taxi, dangerous
    goods, school bus, city bus). ASSUMPTION: the notices' "客货运机动车" and "营运车和校车及危化品
    运输车" are these uses; an unknown use counts (the stricter rule, as in registry.rules)."""
    return reg.is_key_vehicle("small_passenger", use_nature)


def _active_vehicle(v: VehicleFacts) -> bool:
    return not (set(v.status) & _INACTIVE_VEHICLE)


def _active_licence(lic: LicenceFacts) -> bool:
    return lic.cancelled_on is None and not (set(lic.status) & _INACTIVE_LICENCE)


def _valid_until(v: VehicleFacts, last_inspected_on: date | None, today: date) -> date:
    try:
        return reg.inspection_valid_until(
            kind=v.kind,
            use=v.use_nature,
            registered_on=v.registered_on,
            last_inspected_on=last_inspected_on,
            as_of=today,
        ).due_on
    except ValueError:  # a kind or use the tables do not know: yearly (S4 art. 16)
        return reg.fallback_inspection_valid_until(
            registered_on=v.registered_on, last_inspected_on=last_inspected_on, as_of=today
        ).due_on


def inspection_state(v: VehicleFacts, today: date, *, up_to: int = 3) -> tuple[date, int]:
    """(检验有效期至, scheduled dues passed since it without an inspection, counted up to ``up_to``),
    REQ Q1.

    The validity is registry.rules.inspection_valid_until (or its fallback for unknown kinds);
    the count includes it and every later scheduled due before ``today``: 1 or more is overdue,
    3 or more is "three inspection cycles missed" (V02). Dues are at least 6 months apart, so
    the due after ``d`` is the validity an inspection on ``d`` would give (the first due at
    least 3 months after it, S3 art. 54).
    """
    valid_until = _valid_until(v, v.last_inspected_on, today)
    missed, due = 0, valid_until
    while due < today:
        missed += 1
        if missed >= up_to:
            break
        due = _valid_until(v, due, today)
    return valid_until, missed


def _scrapping_date(v: VehicleFacts) -> date | None:
    try:
        return reg.compulsory_scrapping_date(kind=v.kind, use=v.use_nature, registered_on=v.registered_on)
    except ValueError:
        return None


def _large(classes: str) -> bool:
    return "A" in classes or "B" in classes


def _codes(classes: str) -> set[str]:
    return set(reg.split_classes(classes)[0])


def _cycle_points(points: Sequence[PointsFact], cycle: tuple[date, date]) -> int:
    """Points of a cycle plus earlier unpaid fines' points (S2), as registry.selectors counts them."""
    total = 0
    for p in points:
        if cycle[0] <= p.occurred_on <= cycle[1] or (
            p.occurred_on < cycle[0] and p.fine_unpaid and p.points > 0
        ):
            total += p.points
    return max(0, total)


def _window_points(points: Sequence[PointsFact], start: date, end: date) -> int:
    return max(0, sum(p.points for p in points if start <= p.occurred_on <= end))


@dataclass(frozen=True)
class _Probation:
    started_on: date
    end: date  # last day of the original probation
    points: int  # points within the original probation
    extended: bool
    extended_end: date
    extended_points: int


def _probation(lic: LicenceFacts) -> _Probation | None:
    if lic.probation_started_on is None:
        return None
    start = lic.probation_started_on
    end = reg.probation_end(first_issued_on=start)
    points = _window_points(lic.points, start, end)
    extended = PROBATION_EXTENSION_POINTS <= points < reg.POINTS_LIMIT
    extended_end = reg.add_years(end, 1)
    extended_points = _window_points(lic.points, end + timedelta(days=1), extended_end) if extended else 0
    return _Probation(start, end, points, extended, extended_end, extended_points)


def _previous_cycles(lic: LicenceFacts, today: date, count: int) -> list[tuple[date, date]]:
    """The ``count`` finished cycles before the current one, newest first (fewer near first issue)."""
    cycles: list[tuple[date, date]] = []
    start = reg.scoring_cycle(first_issued_on=lic.first_issued_on, today=today)[0]
    while len(cycles) < count and start > lic.first_issued_on:
        cycle = reg.scoring_cycle(first_issued_on=lic.first_issued_on, today=start - timedelta(days=1))
        cycles.append(cycle)
        start = cycle[0]
    return cycles


def _review_overdue(lic: LicenceFacts, cycle: tuple[date, date], today: date) -> date | None:
    """The review deadline after ``cycle`` when it passed without a review (S1 art. 72), else None."""
    due = reg.review_due(
        classes=lic.classes, cycle_end=cycle[1], points_in_cycle=_cycle_points(lic.points, cycle)
    )
    if due is None or today <= due:
        return None
    if lic.last_reviewed_on and lic.last_reviewed_on > cycle[1]:
        return None
    return due


def _medical_overdue(lic: LicenceFacts, today: date) -> date | None:
    """The latest certificate deadline (S1 art. 74) that passed without a certificate, else None.

    A deadline counts as required when registry.rules.medical_certificate_due, asked on that
    day, names it. A certificate issued within its 6-month validity before the deadline (or any
    time after) meets it.
    """
    for cycle in _previous_cycles(lic, today, 3):
        deadline = cycle[1] + timedelta(days=reg.REVIEW_DAYS_AFTER_CYCLE)
        if deadline >= today:
            continue
        due = reg.medical_certificate_due(
            birth_date=lic.birth_date,
            classes=lic.classes,
            first_issued_on=lic.first_issued_on,
            today=deadline,
        )
        if due != deadline:
            continue
        if lic.last_medical_on and lic.last_medical_on >= deadline - reg.MEDICAL_CERTIFICATE_VALID:
            return None
        return deadline
    return None


def _deferred(until: date | None, today: date) -> bool:
    return until is not None and today <= until


def _recent(day: date | None, today: date) -> bool:
    return day is not None and today - timedelta(days=LOOKBACK_DAYS) <= day <= today


# --------------------------------------------------------------------------- vehicle rules


def _v_overdue(commercial: bool) -> Callable[[VehicleFacts, date], Hit | None]:
    def check(v: VehicleFacts, today: date) -> Hit | None:
        if not _active_vehicle(v) or is_commercial(v.use_nature) != commercial:
            return None
        valid_until, missed = inspection_state(v, today, up_to=1)
        if missed < 1:
            return None
        return Hit(_repeat(valid_until, today, 30), _dated(valid_until))

    return check


def _v_three_cycles(v: VehicleFacts, today: date) -> Hit | None:
    if not _active_vehicle(v):
        return None
    valid_until, missed = inspection_state(v, today)
    if missed < 3:
        return None
    return Hit(valid_until.isoformat(), _dated(valid_until))


def _v_scrapping(window: Callable[[date], date] | None, *, commercial: bool | None, overdue: bool = False):
    """Within ``window(s) <= today < s``, or past ``s`` when ``overdue``; ``commercial`` None: any use."""

    def check(v: VehicleFacts, today: date) -> Hit | None:
        if not _active_vehicle(v) or (commercial is not None and is_commercial(v.use_nature) != commercial):
            return None
        s = _scrapping_date(v)
        if s is None:
            return None
        if overdue:
            return Hit(_repeat(s, today, 30), _dated(s)) if today > s else None
        assert window is not None
        return Hit(s.isoformat(), _dated(s)) if window(s) <= today < s else None

    return check


def _v_transfer_in(v: VehicleFacts, today: date) -> Hit | None:
    if "B" not in v.status or v.transferred_out_on is None:
        return None
    due = v.transferred_out_on + timedelta(days=TRANSFER_IN_DAYS)
    if today <= due:
        return None
    return Hit(_repeat(due, today, 30), _dated(v.transferred_out_on))


def _v_cloned(v: VehicleFacts, today: date) -> Hit | None:
    if not _active_vehicle(v) or not _recent(v.cloned_plate_cleared_on, today):
        return None
    assert v.cloned_plate_cleared_on is not None
    return Hit(v.cloned_plate_cleared_on.isoformat(), _dated(v.cloned_plate_cleared_on))


def _v_due_soon(v: VehicleFacts, today: date) -> Hit | None:
    if not _active_vehicle(v) or not is_commercial(v.use_nature):
        return None
    valid_until = _valid_until(v, v.last_inspected_on, today)
    if reg.inspection_status(valid_until=valid_until, today=today) != "due_soon":
        return None
    return Hit(valid_until.isoformat(), _dated(valid_until))


def _w_unhandled(threshold: int, *, commercial: bool | None) -> Callable[[VehicleFacts, date], Hit | None]:
    def check(v: VehicleFacts, today: date) -> Hit | None:
        if not _active_vehicle(v) or v.unhandled_violations < threshold:
            return None
        if commercial is not None and is_commercial(v.use_nature) != commercial:
            return None
        # ASSUMPTION: no date anchors a pile of records, so the repeat periods are calendar
        # periods of 30 days.
        return Hit(f"c{today.toordinal() // 30}", {"count": v.unhandled_violations})

    return check


# --------------------------------------------------------------------------- licence rules


def _l_probation_points(lic: LicenceFacts, today: date) -> Hit | None:  # L01
    p = _probation(lic)
    if p is None or not _active_licence(lic) or not _large(lic.classes) or today > p.end:
        return None
    if not AB_PROBATION_WARNING_POINTS <= p.points < reg.POINTS_LIMIT:
        return None
    return Hit(p.started_on.isoformat(), {**_dated(p.end), "points": p.points})


def _l_probation_extended(lic: LicenceFacts, today: date) -> Hit | None:  # L02
    p = _probation(lic)
    if p is None or not _active_licence(lic) or not p.extended or today > p.extended_end:
        return None
    return Hit(p.started_on.isoformat(), {**_dated(p.extended_end), "points": p.points})


def _l_extended_points(lic: LicenceFacts, today: date) -> Hit | None:  # L03
    p = _probation(lic)
    if p is None or not _active_licence(lic) or not _large(lic.classes) or not p.extended:
        return None
    if not p.end < today <= p.extended_end:
        return None
    if not AB_EXTENDED_WARNING_POINTS <= p.extended_points < PROBATION_EXTENSION_POINTS:
        return None
    return Hit(p.started_on.isoformat(), {**_dated(p.extended_end), "points": p.extended_points})


def _l_probation_test(lic: LicenceFacts, today: date) -> Hit | None:  # L08
    p = _probation(lic)
    if p is None or not _active_licence(lic) or not _large(lic.classes):
        return None
    end = p.extended_end if p.extended else p.end
    if not end < today <= end + timedelta(days=AB_PROBATION_TEST_DAYS):
        return None
    return Hit(end.isoformat(), _dated(end + timedelta(days=AB_PROBATION_TEST_DAYS)))


def _l_renewal_overdue(lic: LicenceFacts, today: date) -> Hit | None:  # L09
    if not _active_licence(lic) or _deferred(lic.renewal_deferred_until, today):
        return None
    valid_until = reg.licence_valid_until(valid_from=lic.valid_from, term=lic.validity_term)
    if reg.renewal_status(valid_until=valid_until, today=today) != "overdue":
        return None
    assert valid_until is not None
    return Hit(_repeat(valid_until, today, 30), _dated(valid_until))


def _l_review_overdue(lic: LicenceFacts, today: date) -> Hit | None:  # L13
    if not _active_licence(lic) or _deferred(lic.review_deferred_until, today):
        return None
    previous = _previous_cycles(lic, today, 1)
    due = _review_overdue(lic, previous[0], today) if previous else None
    return Hit(_repeat(due, today, 30), _dated(due)) if due else None


def _l_review_two_cycles(lic: LicenceFacts, today: date) -> Hit | None:  # L14
    if not _active_licence(lic) or _deferred(lic.review_deferred_until, today):
        return None
    previous = _previous_cycles(lic, today, 2)
    if len(previous) < 2:
        return None
    last, before = (_review_overdue(lic, c, today) for c in previous)
    if last is None or before is None:
        return None
    # Not reviewed since the earlier cycle ended: neither review was taken.
    if lic.last_reviewed_on and lic.last_reviewed_on > previous[1][1]:
        return None
    return Hit(last.isoformat(), _dated(last))


def _l_medical_overdue(lic: LicenceFacts, today: date) -> Hit | None:  # L16
    if not _active_licence(lic) or _deferred(lic.medical_deferred_until, today):
        return None
    deadline = _medical_overdue(lic, today)
    if deadline is None or today > reg.add_years(deadline, MEDICAL_OVERDUE_NOTICE_YEARS):
        return None
    return Hit(_repeat(deadline, today, 30), _dated(deadline))


def _l_cancelled(reason: str, extra: Callable[[LicenceFacts, date], bool] | None = None):
    def check(lic: LicenceFacts, today: date) -> Hit | None:
        if lic.cancellation_reason != reason or not _recent(lic.cancelled_on, today):
            return None
        if extra is not None and not extra(lic, today):
            return None
        assert lic.cancelled_on is not None
        return Hit(lic.cancelled_on.isoformat(), _dated(lic.cancelled_on))

    return check


def _first_class(lic: LicenceFacts, _today: date) -> bool:
    """The probation was of the first licence (初领), not of an added class (增驾)."""
    return lic.probation_started_on is None or lic.probation_started_on == lic.first_issued_on


def _added_class(lic: LicenceFacts, _today: date) -> bool:
    return lic.probation_started_on is not None and lic.probation_started_on > lic.first_issued_on


def _had_large(lic: LicenceFacts, _today: date) -> bool:
    return _large(lic.classes) or _large(lic.downgraded_from)


def _aged(years: int) -> Callable[[LicenceFacts, date], bool]:
    # ASSUMPTION: the age is taken on the scan day (at most LOOKBACK_DAYS after the cancellation).
    return lambda lic, today: reg.age_on(lic.birth_date, today) >= years


def _l_school_bus(lic: LicenceFacts, today: date) -> Hit | None:  # L22
    day = lic.school_bus_qualification_cancelled_on
    if not _recent(day, today):
        return None
    assert day is not None
    return Hit(day.isoformat(), _dated(day))


def _w_cycle_points(low: int, high: int | None) -> Callable[[LicenceFacts, date], Hit | None]:
    def check(lic: LicenceFacts, today: date) -> Hit | None:
        if not _active_licence(lic):
            return None
        cycle = reg.scoring_cycle(first_issued_on=lic.first_issued_on, today=today)
        points = _cycle_points(lic.points, cycle)
        if points < low or (high is not None and points >= high):
            return None
        return Hit(cycle[0].isoformat(), {**_dated(cycle[1]), "points": points})

    return check


def _s_probation_start(lic: LicenceFacts, today: date) -> Hit | None:  # S02
    if not _active_licence(lic) or not _recent(lic.probation_started_on, today):
        return None
    p = _probation(lic)
    assert p is not None
    return Hit(p.started_on.isoformat(), _dated(p.end))


# --------------------------------------------------------------------------- the table

_V, _L, _W = Subject.VEHICLE, Subject.LICENCE, Subject.VIOLATION
_S, _R, _E = Trigger.SCAN, Trigger.RECORDED, Trigger.EVENT
_CV, _CL, _CW, _CS = Category.VEHICLE, Category.LICENCE, Category.VIOLATION, Category.SAFETY

_PLATE = "您的机动车{plate}"
_LIC = "您的驾驶证（准驾车型{classes}）"


def _r(code, zh, en, subject, category, trigger, body_zh, body_en, **kw) -> NoticeRule:
    return NoticeRule(code, zh, en, subject, category, trigger, body_zh, body_en, **kw)


RULES: dict[str, NoticeRule] = {
    r.code: r
    for r in (
        # Vehicle notices (机动车业务告知信息, 10).
        _r("V01", "逾期未检验", "Inspection overdue", _V, _CV, _S,
           _PLATE + "检验有效期至{date_zh}，已逾期，请及时检验。",
           "The inspection of your vehicle {plate} was valid until {date_en} and is overdue; please have it inspected.",
           repeat_days=30),
        _r("V02", "连续3个检验周期未检验强制报废", "Three inspection cycles missed: compulsory scrapping", _V, _CV, _S,
           _PLATE + "自检验有效期{date_zh}起连续3个检验周期未取得检验合格标志，将依法强制报废，请到车管所办理。",
           "Your vehicle {plate} has missed three inspection cycles since its validity ended on {date_en} and "
           "must be scrapped by law; please contact the vehicle administration office."),
        _r("V03", "临近强制报废年限1年以内", "Within a year of compulsory scrapping", _V, _CV, _S,
           _PLATE + "将于{date_zh}达到强制报废年限，不足一年，届时请及时办理报废注销。",
           "Your vehicle {plate} reaches its compulsory scrapping age on {date_en}, less than a year from now; "
           "please deregister it for scrapping then."),
        _r("V04", "临界报废", "Scrapping imminent", _V, _CV, _S,
           _PLATE + "将于{date_zh}达到强制报废年限，请按期办理报废注销。",
           "Your vehicle {plate} reaches its compulsory scrapping age on {date_en}; please deregister it for "
           "scrapping on time."),
        _r("V05", "逾期未报废", "Scrapping overdue", _V, _CV, _S,
           _PLATE + "已于{date_zh}达到强制报废年限，逾期未办理报废注销，不得上道路行驶。",
           "Your vehicle {plate} reached its compulsory scrapping age on {date_en} and has not been "
           "deregistered; it must not be driven on the road.",
           repeat_days=30),
        _r("V06", "逾期未办理机动车转入业务", "Transfer-in overdue", _V, _CV, _S,
           _PLATE + "于{date_zh}办理转出，已超过" + str(TRANSFER_IN_DAYS) + "日未办理转入，请及时到转入地车管所办理。",
           "Your vehicle {plate} was transferred out on {date_en} and the transfer-in is more than "
           f"{TRANSFER_IN_DAYS} days overdue; please register it at the destination office.",
           repeat_days=30),
        _r("V07", "涉嫌被套牌机动车恢复原号牌", "Cloned-plate case closed: original plate restored", _V, _CV, _R,
           _PLATE + "涉嫌被套牌案件已于{date_zh}查结，可恢复使用原号牌，请到车管所办理。",
           "The suspected cloned-plate case of your vehicle {plate} was closed on {date_en}; you may take back "
           "the original plate number at the vehicle administration office."),
        _r("V08", "客货运机动车临界检验", "Commercial vehicle inspection due soon", _V, _CV, _S,
           _PLATE + "检验有效期至{date_zh}，即将到期，请及时检验。",
           "The inspection of your commercial vehicle {plate} is valid until {date_en} and due soon; please "
           "have it inspected."),
        _r("V09", "客货运机动车逾期未检验", "Commercial vehicle inspection overdue", _V, _CV, _S,
           _PLATE + "检验有效期至{date_zh}，已逾期，逾期未检验的营运车辆不得上道路行驶。",
           "The inspection of your commercial vehicle {plate} was valid until {date_en} and is overdue; it must "
           "not be driven on the road until inspected.",
           repeat_days=30),
        _r("V10", "客货运机动车逾期未报废", "Commercial vehicle scrapping overdue", _V, _CV, _S,
           _PLATE + "已于{date_zh}达到强制报废年限，逾期未办理报废注销，不得从事营运。",
           "Your commercial vehicle {plate} reached its compulsory scrapping age on {date_en} and has not been "
           "deregistered; it must not be used commercially.",
           repeat_days=30),
        # Licence notices (驾驶证业务告知信息, 22).
        _r("L01", "A和B类驾驶证实习期记分达9分", "A/B licence: 9 points in probation", _L, _CL, _S,
           _LIC + "实习期内已记{points}分，实习期至{date_zh}，请安全驾驶。",
           "Your licence (classes {classes}) has {points} points in probation, which runs to {date_en}; please "
           "drive safely."),
        _r("L02", "实习期延长一年", "Probation extended by a year", _L, _CL, _S,
           _LIC + "实习期内记{points}分，实习期延长一年至{date_zh}。",
           "Your licence (classes {classes}) had {points} points in probation; the probation is extended by a "
           "year to {date_en}."),
        _r("L03", "A和B类驾驶证延长实习期内记分达3分", "A/B licence: 3 points in extended probation", _L, _CL, _S,
           _LIC + "延长实习期内已记{points}分，再记分将注销实习准驾车型，延长实习期至{date_zh}。",
           "Your licence (classes {classes}) has {points} points in the extended probation (to {date_en}); "
           "further points cancel the probation class."),
        _r("L04", "初领机动车驾驶证实习期满分注销", "First licence cancelled: full score in probation", _L, _CL, _R,
           _LIC + "实习期内记满12分，已于{date_zh}注销。",
           "Your licence (classes {classes}) reached 12 points in probation and was cancelled on {date_en}."),
        _r("L05", "增加准驾车型实习期满分注销", "Added class cancelled: full score in probation", _L, _CL, _R,
           _LIC + "增加准驾车型实习期内记满12分，所增准驾车型已于{date_zh}注销。",
           "The class added to your licence (classes {classes}) reached 12 points in probation and was "
           "cancelled on {date_en}."),
        _r("L06", "初领A3和B2驾驶证延长实习期内记6分以上注销",
           "First A3/B2 licence cancelled: 6+ points in extended probation", _L, _CL, _R,
           _LIC + "延长实习期内记6分以上，已于{date_zh}注销。",
           "Your licence (classes {classes}) had 6 or more points in the extended probation and was cancelled "
           "on {date_en}."),
        _r("L07", "增驾A和B类驾驶证延长实习期内记6分以上注销",
           "Added A/B class cancelled: 6+ points in extended probation", _L, _CL, _R,
           _LIC + "增驾的A、B类准驾车型延长实习期内记6分以上，已于{date_zh}注销。",
           "The A/B class added to your licence (classes {classes}) had 6 or more points in the extended "
           "probation and was cancelled on {date_en}."),
        _r("L08", "A和B类驾驶证实习期结束后教育考试", "A/B licence: test after probation", _L, _CL, _S,
           _LIC + "实习期已结束，请于{date_zh}前参加道路交通安全法律法规、交通安全文明驾驶、应急处置等知识考试。",
           "The probation of your licence (classes {classes}) has ended; take the knowledge test on traffic "
           "law, safe driving and emergencies by {date_en}."),
        _r("L09", "驾驶证逾期未换证", "Licence renewal overdue", _L, _CL, _S,
           _LIC + "有效期至{date_zh}，已逾期未换证，逾期一年以上将被注销，请及时办理。",
           "Your licence (classes {classes}) expired on {date_en} and has not been renewed; it is cancelled "
           "more than a year after expiry.",
           repeat_days=30),
        _r("L10", "驾驶证逾期一年以上未换证注销", "Licence cancelled: renewal over a year overdue", _L, _CL, _R,
           _LIC + "逾期一年以上未换证，已于{date_zh}注销，两年内可通过科目一考试恢复。",
           "Your licence (classes {classes}) was more than a year overdue for renewal and was cancelled on "
           "{date_en}; it can be restored within two years by passing subject 1."),
        _r("L11", "A和B类驾驶证发生同责以上死亡事故未构成犯罪注销",
           "A/B licence cancelled: fatal accident, equal or greater fault", _L, _CL, _R,
           _LIC + "因发生负同等以上责任的死亡事故（未构成犯罪），A、B类准驾车型已于{date_zh}注销。",
           "The A/B classes of your licence (classes {classes}) were cancelled on {date_en} after a fatal "
           "accident with equal or greater fault (not a crime)."),
        _r("L12", "A和B类驾驶证满分注销", "A/B licence cancelled: full score", _L, _CL, _R,
           _LIC + "记分满分，A、B类准驾车型已于{date_zh}注销。",
           "The A/B classes of your licence (classes {classes}) were cancelled on {date_en} after a full score."),
        _r("L13", "驾驶证逾期未审验", "Licence review overdue", _L, _CL, _S,
           _LIC + "应于{date_zh}前参加审验，已逾期，请及时审验。",
           "Your licence (classes {classes}) was due for review by {date_en} and is overdue; please attend.",
           repeat_days=30),
        _r("L14", "A和B类驾驶证连续两个周期未参加审验", "A/B licence: two cycles without review", _L, _CL, _S,
           _LIC + "连续两个记分周期未参加审验（最近截止日{date_zh}），连续三个周期未审验将被注销。",
           "Your licence (classes {classes}) missed the review of two cycles in a row (last deadline "
           "{date_en}); a third cancels it."),
        _r("L15", "A和B类驾驶证连续三个周期未审验注销", "A/B licence cancelled: three cycles without review", _L, _CL, _R,
           _LIC + "连续三个记分周期未参加审验，已于{date_zh}注销。",
           "Your licence (classes {classes}) missed the review of three cycles and was cancelled on {date_en}."),
        _r("L16", "未按期提交身体条件证明不足一年", "Medical certificate overdue (under a year)", _L, _CL, _S,
           _LIC + "应于{date_zh}前提交身体条件证明，已逾期，逾期一年将被注销，请及时提交。",
           "The medical certificate of your licence (classes {classes}) was due by {date_en} and is overdue; "
           "a year overdue cancels the licence.",
           repeat_days=30),
        _r("L17", "60周岁以上逾期未提交身体条件证明注销", "Aged 60+: cancelled, medical certificate overdue", _L, _CL, _R,
           _LIC + "逾期未提交身体条件证明，已于{date_zh}注销。",
           "Your licence (classes {classes}) was cancelled on {date_en}: the medical certificate was overdue."),
        _r("L18", "持C5驾驶证逾期未提交身体条件证明注销", "C5 licence cancelled: medical certificate overdue", _L, _CL, _R,
           _LIC + "逾期未提交身体条件证明，已于{date_zh}注销。",
           "Your C5 licence (classes {classes}) was cancelled on {date_en}: the medical certificate was overdue."),
        _r("L19", "60周岁以上N和P驾驶证注销", "N/P licence cancelled: age limit", _L, _CL, _R,
           _LIC + "已达到无轨电车、有轨电车准驾车型的驾驶年龄上限，已于{date_zh}注销。",
           "Your licence (classes {classes}) reached the age limit of the N/P classes and was cancelled on {date_en}."),
        _r("L20", "70周岁以上C3和C4及M驾驶证注销", "C3/C4/M licence cancelled: age limit", _L, _CL, _R,
           _LIC + "已达到准驾车型的驾驶年龄上限，已于{date_zh}注销。",
           "Your licence (classes {classes}) reached the age limit of its classes and was cancelled on {date_en}."),
        _r("L21", "吸毒成瘾人员驾驶证注销", "Licence cancelled: drug addiction", _L, _CL, _R,
           _LIC + "因吸毒成瘾，已于{date_zh}注销。",
           "Your licence (classes {classes}) was cancelled on {date_en} because of drug addiction."),
        _r("L22", "校车驾驶资格注销", "School-bus driving qualification cancelled", _L, _CL, _R,
           "您的校车驾驶资格已于{date_zh}注销。",
           "Your school-bus driving qualification was cancelled on {date_en}."),
        # Violation notices (交通违法业务告知信息, 5).
        _r("W01", "机动车电子监控违法行为记录", "Camera violation recorded", _W, _CW, _E,
           _PLATE + "于{occurred_zh}在{place}有交通违法记录（电子监控），请及时处理。",
           "A camera recorded a violation by your vehicle {plate} at {place} on {occurred_en}; please handle it."),
        _r("W02", "机动车未处理违法行为累积20起及以上", "20+ unhandled violations", _V, _CW, _S,
           _PLATE + "累积{count}起交通违法未处理，请及时处理。",
           "Your vehicle {plate} has {count} unhandled violations; please handle them.",
           repeat_days=30),
        _r("W03", "营运车和校车及危化品运输车未处理违法累积3起及以上",
           "Commercial vehicle: 3+ unhandled violations", _V, _CW, _S,
           _PLATE + "累积{count}起交通违法未处理，请督促驾驶人及时处理。",
           "Your commercial vehicle {plate} has {count} unhandled violations; please have them handled.",
           repeat_days=30),
        _r("W04", "交通违法记分达9分", "9 points in the scoring cycle", _L, _CW, _S,
           _LIC + "本记分周期已记{points}分，周期至{date_zh}结束，记满12分将被扣留驾驶证并参加学习考试。",
           "Your licence (classes {classes}) has {points} points in the cycle ending {date_en}; 12 points mean "
           "the licence is held and study and an exam follow."),
        _r("W05", "交通违法记分满分", "Full score (12 points)", _L, _CW, _S,
           _LIC + "本记分周期已记{points}分，达到满分，请到车管所或违法处理窗口参加满分学习和考试。",
           "Your licence (classes {classes}) has {points} points, a full score; attend full-score study and the "
           "exam at a vehicle administration office or a violation counter."),
        # Safety warnings (交通安全警示, N4): not required; SMS only for those who switch it on.
        _r("S01", "安全提示：记分较高", "Safety: many points", _L, _CS, _S,
           _LIC + "本记分周期已记{points}分，请谨慎驾驶，可通过学法减分减少记分。",
           "Your licence (classes {classes}) has {points} points this cycle; please drive carefully. Study can "
           "reduce points.",
           required=False, to_employer=False),
        _r("S02", "安全提示：实习期驾驶人", "Safety: probation driver", _L, _CS, _R,
           "您处于实习期（至{date_zh}），请在车身后部粘贴实习标志，不得单独驾车上高速公路。",
           "You are on probation until {date_en}: show the probation sign at the rear and do not drive alone "
           "on expressways.",
           required=False, to_employer=False),
        _r("S03", "安全提示：车辆临近报废", "Safety: vehicle near scrapping age", _V, _CS, _S,
           _PLATE + "将于{date_zh}达到强制报废年限，请加强车辆维护，注意行车安全。",
           "Your vehicle {plate} reaches its scrapping age on {date_en}; please keep it well maintained.",
           required=False),
    )
}  # fmt: skip

VEHICLE_CHECKS: dict[str, Callable[[VehicleFacts, date], Hit | None]] = {
    "V01": _v_overdue(commercial=False),
    "V02": _v_three_cycles,
    "V03": _v_scrapping(lambda s: reg.add_years(s, -1), commercial=None),
    "V04": _v_scrapping(lambda s: reg.add_months(s, -IMMINENT_SCRAPPING_MONTHS), commercial=None),
    "V05": _v_scrapping(None, commercial=False, overdue=True),
    "V06": _v_transfer_in,
    "V07": _v_cloned,
    "V08": _v_due_soon,
    "V09": _v_overdue(commercial=True),
    "V10": _v_scrapping(None, commercial=True, overdue=True),
    "W02": _w_unhandled(UNHANDLED_MANY, commercial=None),
    "W03": _w_unhandled(UNHANDLED_COMMERCIAL, commercial=True),
    "S03": _v_scrapping(lambda s: reg.add_years(s, -1), commercial=None),
}

LICENCE_CHECKS: dict[str, Callable[[LicenceFacts, date], Hit | None]] = {
    "L01": _l_probation_points,
    "L02": _l_probation_extended,
    "L03": _l_extended_points,
    "L04": _l_cancelled("probation_full_score", _first_class),
    "L05": _l_cancelled("probation_full_score", _added_class),
    "L06": _l_cancelled(
        "extended_probation", lambda lic, t: _first_class(lic, t) and bool(_codes(lic.classes) & {"A3", "B2"})
    ),
    "L07": _l_cancelled("extended_probation", lambda lic, t: _added_class(lic, t) and _had_large(lic, t)),
    "L08": _l_probation_test,
    "L09": _l_renewal_overdue,
    "L10": _l_cancelled("renewal_overdue"),
    "L11": _l_cancelled("fatal_accident", _had_large),
    "L12": _l_cancelled("full_score", _had_large),
    "L13": _l_review_overdue,
    "L14": _l_review_two_cycles,
    "L15": _l_cancelled("review_overdue"),
    "L16": _l_medical_overdue,
    "L17": _l_cancelled(
        "medical_overdue", lambda lic, t: _aged(60)(lic, t) and "C5" not in _codes(lic.classes)
    ),
    "L18": _l_cancelled("medical_overdue", lambda lic, t: "C5" in _codes(lic.classes)),
    "L19": _l_cancelled("age_limit", lambda lic, t: bool(_codes(lic.classes) & {"N", "P"})),
    "L20": _l_cancelled(
        "age_limit",
        lambda lic, t: bool(_codes(lic.classes) & {"C3", "C4", "M"}) and not _codes(lic.classes) & {"N", "P"},
    ),
    "L21": _l_cancelled("drug_addiction"),
    "L22": _l_school_bus,
    "W04": _w_cycle_points(reg.POINTS_NEAR_LIMIT, reg.POINTS_LIMIT),
    "W05": _w_cycle_points(reg.POINTS_LIMIT, None),
    "S01": _w_cycle_points(reg.POINTS_NEAR_LIMIT, None),
    "S02": _s_probation_start,
}


def evaluate(code: str, facts: VehicleFacts | LicenceFacts, today: date) -> Hit | None:
    """Whether rule ``code`` fires on one vehicle or licence ``today``, and on which fact (N1)."""
    if code in VEHICLE_CHECKS:
        assert isinstance(facts, VehicleFacts)
        return VEHICLE_CHECKS[code](facts, today)
    assert isinstance(facts, LicenceFacts)
    return LICENCE_CHECKS[code](facts, today)


def dedup_key(code: str, subject: Subject | str, subject_id: int, fact: str, recipient: str) -> str:
    """One message per fact and recipient: ``N1:{code}:{subject}:{id}:{fact}:{p1|o2}``."""
    return f"N1:{code}:{subject}:{subject_id}:{fact}:{recipient}"


# --------------------------------------------------------------------------- drafts


def _is_mobile(value: str) -> bool:
    return len(value) == 11 and value.isdigit() and value.startswith("1")


def render(rule: NoticeRule, values: dict[str, Any]) -> tuple[str, str]:
    return rule.body_zh.format(**values), rule.body_en.format(**values)


def drafts_for(
    rule: NoticeRule,
    *,
    subject_id: int,
    fact: str,
    values: dict[str, Any],
    recipients: Sequence[tuple[str, int, str]],
    link: str,
    division: str,
    subject: Subject | None = None,
) -> list[Draft]:
    """The messages of one hit, one per recipient ``("p"|"o", id, mobile)``."""
    body_zh, body_en = render(rule, values)
    out: list[Draft] = []
    for kind, pk, mobile in recipients:
        out.append(
            Draft(
                category=str(rule.category),
                title_zh=rule.title_zh,
                title_en=rule.title_en,
                body_zh=body_zh,
                body_en=body_en,
                dedup_key=dedup_key(rule.code, subject or rule.subject, subject_id, fact, f"{kind}{pk}"),
                person_id=pk if kind == "p" else None,
                organisation_id=pk if kind == "o" else None,
                mobile=mobile if _is_mobile(mobile) else "",
                link=link,
                required=rule.required,
                rule_code=rule.code,
                division=division,
            )
        )
    return out


def vehicle_recipients(vehicle: Any) -> list[tuple[str, int, str]]:
    """The owner: a person (mobile: the owner's mobile on the vehicle, else the person's), or the
    owning organisation (its phone when it is a mobile). Needs owner_person/owner_organisation loaded."""
    if vehicle.owner_person_id:
        return [("p", vehicle.owner_person_id, vehicle.owner_mobile or vehicle.owner_person.mobile or "")]
    return [("o", vehicle.owner_organisation_id, vehicle.owner_organisation.phone or "")]


def w01_drafts(violation: Any, *, link: str = "") -> list[Draft]:
    """The W01 notice (机动车电子监控违法行为记录) of one camera record, for its vehicle's owner.

    The daily scan and the violation-import event both call this; the dedup key is exactly
    ``N1:W01:violation:{violation_id}:p{person_id}`` (or ``:o{organisation_id}``), so whichever
    runs first tells the owner and the other finds the message there. Empty when the record
    matched no registered vehicle.
    """
    vehicle = violation.vehicle
    if vehicle is None:
        return []
    rule = RULES["W01"]
    occurred: datetime = violation.occurred_at
    local = timezone.localtime(occurred)  # the local time of the record, as the owner knows it
    values = {
        "plate": vehicle.plate_number or vehicle.vin,
        "place": violation.place,
        "occurred_zh": f"{local.year}年{local.month:02d}月{local.day:02d}日{local:%H:%M}",
        "occurred_en": f"{local:%Y-%m-%d %H:%M}",
    }
    body_zh, body_en = render(rule, values)
    out: list[Draft] = []
    for kind, pk, mobile in vehicle_recipients(vehicle):
        out.append(
            Draft(
                category=str(rule.category),
                title_zh=rule.title_zh,
                title_en=rule.title_en,
                body_zh=body_zh,
                body_en=body_en,
                dedup_key=f"N1:W01:violation:{violation.pk}:{kind}{pk}",
                person_id=pk if kind == "p" else None,
                organisation_id=pk if kind == "o" else None,
                mobile=mobile if _is_mobile(mobile) else "",
                link=link or reverse("violations:detail", args=[violation.pk]),
                required=True,
                rule_code="W01",
                division=vehicle.division,
            )
        )
    return out
