"""Pure rules of truck restrictions and pass codes (货车通行码, O1, O1a; seed 004 §四).

- O1a: every road keeps at least 6 hours a day open to trucks, except individual roads of a core
  area (城市核心区个别道路); no city-wide 24-hour ban, whether one zone covers the whole city or
  every zone of the city is closed all day.
- O1: a pass lifts a restriction the city published: its daily window lies inside one closed
  window of its zone. Companies and vehicles with many violations or accidents are blacklisted by a
  dated rule table: fewer codes, shorter validity, with the reason.

Times are minutes after midnight (0-1440); weekdays 1 (Monday) to 7 (Sunday).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from jiaoguan.registry.rules import add_months

DAY_MINUTES = 24 * 60
MIN_OPEN_MINUTES = 6 * 60  # O1a: at least 6 hours a day open
WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)
WEEKDAY_WORDS = {
    1: ("周一", "Monday"), 2: ("周二", "Tuesday"), 3: ("周三", "Wednesday"), 4: ("周四", "Thursday"),
    5: ("周五", "Friday"), 6: ("周六", "Saturday"), 7: ("周日", "Sunday"),
}  # fmt: skip

# Zone kinds: the whole city, a core area (城市核心区) or an ordinary area or road.
CITY, CORE, ORDINARY = "city", "core", "ordinary"
ZONE_KINDS = (CITY, CORE, ORDINARY)

# Trucks a city may restrict; dangerous-goods and engineering vehicles follow their own rules
# (seed 004 §四 一) and are not given codes here.
TRUCK_KINDS = ("small_truck", "medium_truck", "heavy_truck", "tractor", "low_speed_truck")

# Licence classes that may drive each kind (GA/T 947 as used by registry.rules): the driver path.
DRIVING_CLASSES: dict[str, frozenset[str]] = {
    "small_truck": frozenset({"A1", "A2", "B1", "B2", "C1"}),
    "medium_truck": frozenset({"A1", "A2", "B1", "B2"}),
    "heavy_truck": frozenset({"A2", "B2"}),
    "tractor": frozenset({"A2"}),
    "low_speed_truck": frozenset({"A1", "A2", "B1", "B2", "C1", "C2"}),
}

MAX_PASS_DAYS = 90  # validity of a code for a subject in good standing
MAX_VEHICLES_PER_APPLICATION = 50


@dataclass(frozen=True)
class Refusal:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Window:
    """A closed window (禁行时段): the weekdays and the minutes [start, end) of each."""

    days: frozenset[int]
    start: int
    end: int

    def text(self) -> str:
        return f"{days_text(self.days)} {hhmm(self.start)}-{hhmm(self.end)}"


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def days_text(days: Iterable[int]) -> str:
    """1-5, 6-7, 1-7, or a list 1,3,5."""
    ordered = sorted(set(days))
    if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 1:
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(str(d) for d in ordered)


_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
_LINE = re.compile(r"^\s*([1-7](?:\s*[-,]\s*[1-7])*)\s+(\S+)\s*[-~至]\s*(\S+)\s*$")


def minutes_of(text: str) -> int | None:
    """ "07:30" as 450; "24:00" is the end of the day; anything else is None."""
    found = _TIME.match((text or "").strip())
    if not found:
        return None
    minutes = int(found.group(1)) * 60 + int(found.group(2))
    return minutes if minutes <= DAY_MINUTES else None


def _days(text: str) -> frozenset[int] | None:
    days: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if "-" in part:
            first, last = (int(x) for x in part.split("-", 1))
            if first > last:
                return None
            days.update(range(first, last + 1))
        else:
            days.add(int(part))
    return frozenset(days)


def parse_windows(text: str) -> list[Window] | Refusal:
    """One closed window a line: "1-5 07:00-09:00" (Monday to Friday), "6,7 00:00-24:00"."""
    windows: list[Window] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        found = _LINE.match(raw)
        start = minutes_of(found.group(2)) if found else None
        end = minutes_of(found.group(3)) if found else None
        days = _days(found.group(1)) if found else None
        if not found or start is None or end is None or not days or start >= end:
            return Refusal(
                "truck_passes.rule.window_format",
                f"第{number}行禁行时段格式不正确，应为“1-5 07:00-09:00”（星期、起止时间，止时间晚于起时间）。",
                f'Line {number}: a closed window is written "1-5 07:00-09:00" (weekdays, start and a '
                "later end time).",
            )
        windows.append(Window(days, start, end))
    if not windows:
        return Refusal(
            "truck_passes.rule.no_window",
            "请至少填写一个禁行时段。",
            "Give at least one closed window.",
        )
    return windows


def windows_data(windows: Sequence[Window]) -> list[dict[str, object]]:
    return [{"days": sorted(w.days), "start": w.start, "end": w.end} for w in windows]


def windows_from(data: Sequence[dict[str, object]]) -> list[Window]:
    return [
        Window(frozenset(int(d) for d in row["days"]), int(row["start"]), int(row["end"]))  # type: ignore[call-overload, attr-defined]
        for row in data
    ]


def closed_minutes(windows: Sequence[Window], weekday: int) -> int:
    """Minutes of the day closed on ``weekday``: the union of its windows (overlaps count once)."""
    spans = sorted((w.start, w.end) for w in windows if weekday in w.days)
    total, reach = 0, 0
    for start, end in spans:
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


def open_minutes(windows: Sequence[Window], weekday: int) -> int:
    return DAY_MINUTES - closed_minutes(windows, weekday)


def zone_refusal(*, kind: str, individual_road: bool, windows: Sequence[Window]) -> Refusal | None:
    """O1a for one zone: no 24-hour ban of a whole city, and 6 open hours a day unless the zone is
    an individual road of a core area."""
    if kind not in ZONE_KINDS:
        return Refusal("truck_passes.rule.kind", "区域类型不正确。", "Unknown kind of zone.")
    if individual_road and kind != CORE:
        return Refusal(
            "truck_passes.rule.exception_not_core",
            "只有城市核心区等特殊区域的个别道路可以不预留6小时通行时间。",
            "Only individual roads of a core area may keep fewer than 6 open hours.",
        )
    for day in WEEKDAYS:
        open_ = open_minutes(windows, day)
        zh_day, en_day = WEEKDAY_WORDS[day]
        if kind == CITY and open_ == 0:
            return Refusal(
                "truck_passes.rule.city_wide_ban",
                f"不得设定全城24小时禁止货车通行（{zh_day}全天禁行）。",
                f"A city-wide 24-hour truck ban is not allowed (closed all day on {en_day}).",
            )
        if open_ < MIN_OPEN_MINUTES and not individual_road:
            return Refusal(
                "truck_passes.rule.open_hours",
                f"{zh_day}预留通行时间仅{open_ / 60:g}小时；除城市核心区个别道路外，"
                f"货车通行预留时间不少于6小时。",
                f"Only {open_ / 60:g} hours open on {en_day}; except individual roads of a core area, "
                "trucks keep at least 6 hours a day.",
            )
    return None


def city_refusal(zones: Sequence[Sequence[Window]]) -> Refusal | None:
    """O1a for the city: publishing must not leave every zone of the city closed all day on one
    weekday (a city-wide 24-hour ban made of zones)."""
    if not zones:
        return None
    for day in WEEKDAYS:
        if all(open_minutes(windows, day) == 0 for windows in zones):
            zh_day, en_day = WEEKDAY_WORDS[day]
            return Refusal(
                "truck_passes.rule.city_wide_ban",
                f"发布后本市全部区域{zh_day}均全天禁止货车通行，构成全城24小时禁行，不予发布。",
                f"Published, every zone of the city would be closed to trucks all day on {en_day}: a "
                "city-wide 24-hour ban is not allowed.",
            )
    return None


def pass_window_refusal(*, windows: Sequence[Window], start: int, end: int) -> Refusal | None:
    """A pass lifts a published restriction: its daily window lies inside one closed window."""
    if start >= end:
        return Refusal(
            "truck_passes.window.order",
            "通行时段的结束时间须晚于开始时间。",
            "The end of the passing window must be after its start.",
        )
    if not any(w.start <= start and end <= w.end for w in windows):
        listed = "；".join(w.text() for w in windows)
        return Refusal(
            "truck_passes.window.outside",
            f"申请的通行时段不在该区域的禁行时段内，无需申领通行码。该区域禁行时段：{listed}。",
            f"The window asked for is outside the zone's closed windows; no code is needed then. "
            f"Closed windows: {listed}.",
        )
    return None


def window_days(windows: Sequence[Window], start: int, end: int) -> frozenset[int]:
    """The weekdays on which the pass's window lies inside a closed window (when it is needed)."""
    return frozenset(d for w in windows if w.start <= start and end <= w.end for d in w.days)


def can_drive(classes: Iterable[str], kind: str) -> bool:
    return bool(set(classes) & DRIVING_CLASSES.get(kind, frozenset()))


def pass_state(*, revoked: bool, valid_from: date, valid_until: date, today: date) -> str:
    """valid, not_yet, expired or revoked."""
    if revoked:
        return "revoked"
    if today < valid_from:
        return "not_yet"
    if today > valid_until:
        return "expired"
    return "valid"


# ---------------------------------------------------------------- blacklist (黑名单管理, O1)

COMPANY, VEHICLE = "company", "vehicle"


@dataclass(frozen=True)
class BlacklistRule:
    """One row of the blacklist table: in force from ``effective_from`` to ``effective_until``
    (inclusive, None: open-ended), for companies or vehicles. At or above either threshold within
    the last ``window_months`` the subject is blacklisted: at most ``max_codes`` codes in force
    (a company's fleet in total, or one vehicle) and ``max_days`` of validity each."""

    version: str
    effective_from: date
    effective_until: date | None
    subject: str
    window_months: int
    min_violations: int
    min_accidents: int
    max_codes: int
    max_days: int
    reason_zh: str
    reason_en: str

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)


BLACKLIST_TABLE: tuple[BlacklistRule, ...] = (
    BlacklistRule(
        "2021-06", date(2021, 6, 1), date(2026, 5, 31), COMPANY, 12, 20, 3, 5, 15,
        "企业近12个月交通违法20起以上或交通事故3起以上，纳入黑名单管理",
        "The company had 20 or more violations or 3 or more accidents in the last 12 months: blacklisted",
    ),
    BlacklistRule(
        "2021-06", date(2021, 6, 1), date(2026, 5, 31), VEHICLE, 12, 6, 2, 1, 7,
        "车辆近12个月交通违法6起以上或交通事故2起以上，纳入黑名单管理",
        "The vehicle had 6 or more violations or 2 or more accidents in the last 12 months: blacklisted",
    ),
    BlacklistRule(
        "2026-06", date(2026, 6, 1), None, COMPANY, 12, 15, 2, 3, 7,
        "企业近12个月交通违法15起以上或交通事故2起以上，纳入黑名单管理",
        "The company had 15 or more violations or 2 or more accidents in the last 12 months: blacklisted",
    ),
    BlacklistRule(
        "2026-06", date(2026, 6, 1), None, VEHICLE, 12, 5, 1, 1, 7,
        "车辆近12个月交通违法5起以上或交通事故1起以上，纳入黑名单管理",
        "The vehicle had 5 or more violations or an accident in the last 12 months: blacklisted",
    ),
)  # fmt: skip

# How far back the services read events: the longest window of any row.
LOOKBACK_MONTHS = max(rule.window_months for rule in BLACKLIST_TABLE)


@dataclass(frozen=True)
class BlacklistVerdict:
    subject: str
    blacklisted: bool
    violations: int
    accidents: int
    rule: BlacklistRule | None

    @property
    def reason_zh(self) -> str:
        if not self.rule:
            return ""
        return f"{self.rule.reason_zh}（违法{self.violations}起、事故{self.accidents}起），减少通行码数量、缩短有效期，请限期整改。"

    @property
    def reason_en(self) -> str:
        if not self.rule:
            return ""
        return (
            f"{self.rule.reason_en} ({self.violations} violations, {self.accidents} accidents): fewer codes "
            "and shorter validity until it is put right."
        )


def blacklist_rule_on(subject: str, day: date) -> BlacklistRule | None:
    for rule in BLACKLIST_TABLE:
        if rule.subject == subject and rule.in_force(day):
            return rule
    return None


def window_start(as_of: date, months: int) -> date:
    """The first day counted: events after ``as_of`` minus ``months`` and up to ``as_of``."""
    return add_months(as_of, -months)


def blacklist_verdict(
    *, subject: str, as_of: date, violations_on: Iterable[date], accidents_on: Iterable[date]
) -> BlacklistVerdict:
    """Whether the subject is blacklisted on ``as_of`` by the row in force that day, counting the
    events of its window: after ``as_of`` minus the window, up to and including ``as_of``."""
    rule = blacklist_rule_on(subject, as_of)
    if rule is None:
        return BlacklistVerdict(subject, False, 0, 0, None)
    first = window_start(as_of, rule.window_months)
    violations = sum(1 for day in violations_on if first < day <= as_of)
    accidents = sum(1 for day in accidents_on if first < day <= as_of)
    listed = violations >= rule.min_violations or accidents >= rule.min_accidents
    return BlacklistVerdict(subject, listed, violations, accidents, rule if listed else None)


@dataclass(frozen=True)
class Limits:
    max_codes: int | None  # codes in force at once; None: only the applicant's quota
    max_days: int


def limits(verdict: BlacklistVerdict) -> Limits:
    if verdict.blacklisted and verdict.rule is not None:
        return Limits(verdict.rule.max_codes, min(verdict.rule.max_days, MAX_PASS_DAYS))
    return Limits(None, MAX_PASS_DAYS)


# Codes in force at once for one applicant in good standing: a person's own or filed trucks, or a
# delivery company's fleet (its quota, 配额).
PERSON_QUOTA = 3
COMPANY_QUOTA = 30
