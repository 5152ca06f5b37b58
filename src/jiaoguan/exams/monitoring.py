"""Monitoring of driving tests (考试业务监管, X6, X7; seed 004 §三 last paragraph): the weekly or
monthly analysis of learners moving their test location in and out, of one school moving many
learners in a short time, of transfers into a city coming from one place, of many applications
from one client, of examiners whose pass rate is far from their colleagues', and of bookings
used up and permits running out in numbers.

The threshold functions are pure (they take counts and return a :class:`Flag` with its words in
both languages and the figures it rests on); :func:`flags_for` runs the queries, scoped to the
actor's jurisdiction by the plan's, the permit's or the move's division. A flag is a reason to
look, not a finding: the figures show why it was raised.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from statistics import mean
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from jiaoguan.core.access import division_prefix_for, require
from jiaoguan.core.divisions import division_name
from jiaoguan.core.identifiers import mask_id_number

from . import rules
from .models import ExamApplication, ExamResult, LearnerPermit, TestLocationChange

MONITORING = "exams.monitoring.view"

# (a) one school moving many learners' test location in a short time (seed 004 §三).
SCHOOL_MOVES_MIN = 10
SCHOOL_MOVES_DAYS = 7
# (b) transfers into one city concentrated from one origin city.
ORIGIN_MIN_TRANSFERS = 10
ORIGIN_MIN_SHARE_PERCENT = 60
# (c) applications from one client (address or API client, kept as an HMAC): for one plan, one day.
CLIENT_PER_PLAN_MIN = 30
CLIENT_PER_DAY_MIN = 100
# (d) an examiner's pass rate this many points from the mean of the subject's examiners, counted
# over examiners with enough results for a rate to mean something.
EXAMINER_MIN_RESULTS = 30
EXAMINER_GAP_POINTS = 20
# (e) learners of one school who used up the five bookings of a subject in the period, and
# permits of one school that end within the next days with subjects still to pass.
USED_UP_MIN = 5
EXPIRING_MIN = 10
EXPIRING_DAYS = 30

DETAIL_ROWS = 20  # rows shown under a flag; the figures count them all


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"

    @property
    def days(self) -> int:
        return 7 if self is Period.WEEK else 30

    @property
    def label_zh(self) -> str:
        return "近7天" if self is Period.WEEK else "近30天"

    @property
    def label_en(self) -> str:
        return "last 7 days" if self is Period.WEEK else "last 30 days"


def period_of(value: str | None) -> Period:
    try:
        return Period(value or Period.WEEK)
    except ValueError:
        return Period.WEEK


@dataclass(frozen=True)
class Flag:
    """One abnormal pattern: a stable code, the words, the figures and where it lies."""

    code: str
    key: str  # unique on the page (the anchor of its details)
    zh: str
    en: str
    figures: dict[str, Any]
    division: str = ""
    details: tuple[tuple[str, ...], ...] = field(default=())


# ---------------------------------------------------------------- pure thresholds


def busiest_window(times: Iterable[datetime], days: int) -> tuple[int, datetime | None]:
    """The most moments that fall within any ``days``-long window, and where that window starts."""
    ordered = sorted(times)
    best, start, left = 0, None, 0
    span = timedelta(days=days)
    for right, moment in enumerate(ordered):
        while moment - ordered[left] >= span:
            left += 1
        if right - left + 1 > best:
            best, start = right - left + 1, ordered[left]
    return best, start


def school_moves_flag(
    *, school: str, moves: int, days: int = SCHOOL_MOVES_DAYS, since: date | None = None
) -> Flag | None:
    """(a) A school moved ``moves`` learners' test location within ``days`` days."""
    if moves < SCHOOL_MOVES_MIN:
        return None
    return Flag(
        "school_moves", "", f"{school}在{days}天内为{moves}名学员变更考试地（阈值{SCHOOL_MOVES_MIN}）。",
        f"{school} moved the test location of {moves} learners within {days} days (threshold {SCHOOL_MOVES_MIN}).",
        {"moves": moves, "days": days, "threshold": SCHOOL_MOVES_MIN, "from": since.isoformat() if since else ""},
    )  # fmt: skip


def origin_flag(*, city: str, origins: dict[str, int]) -> Flag | None:
    """(b) Transfers into ``city`` (city code → count by origin city) mostly from one origin."""
    total = sum(origins.values())
    if total < ORIGIN_MIN_TRANSFERS:
        return None
    origin, count = max(sorted(origins.items()), key=lambda item: item[1])
    share = count * 100 // total
    if share < ORIGIN_MIN_SHARE_PERCENT:
        return None
    return Flag(
        "origin_concentrated", "",
        f"转入{_place(city)}的{total}名学员中{count}名（{share}%）来自{_place(origin)}。",
        f"{count} of the {total} learners moved into {city} ({share}%) came from {origin}.",
        {"transfers": total, "from_origin": count, "share_percent": share, "origin": origin,
         "threshold_percent": ORIGIN_MIN_SHARE_PERCENT},
        division=city,
    )  # fmt: skip


def client_plan_flag(*, client: str, plan: str, applications: int) -> Flag | None:
    """(c) One client sent ``applications`` applications for one plan."""
    if applications < CLIENT_PER_PLAN_MIN:
        return None
    return Flag(
        "client_plan", "", f"同一客户端{client}为考试计划{plan}提交{applications}份申请（阈值{CLIENT_PER_PLAN_MIN}）。",
        f"One client {client} sent {applications} applications for plan {plan} (threshold {CLIENT_PER_PLAN_MIN}).",
        {"client": client, "plan": plan, "applications": applications, "threshold": CLIENT_PER_PLAN_MIN},
    )  # fmt: skip


def client_day_flag(*, client: str, day: date, applications: int) -> Flag | None:
    """(c) One client sent ``applications`` applications on one day."""
    if applications < CLIENT_PER_DAY_MIN:
        return None
    return Flag(
        "client_day", "", f"同一客户端{client}在{day:%Y-%m-%d}提交{applications}份申请（阈值{CLIENT_PER_DAY_MIN}）。",
        f"One client {client} sent {applications} applications on {day:%Y-%m-%d} (threshold {CLIENT_PER_DAY_MIN}).",
        {"client": client, "day": day.isoformat(), "applications": applications, "threshold": CLIENT_PER_DAY_MIN},
    )  # fmt: skip


@dataclass(frozen=True)
class ExaminerCount:
    examiner: str
    subject: int
    tests: int  # results passed or failed (a miss is nobody's examination)
    passes: int

    @property
    def rate(self) -> float:
        return 100.0 * self.passes / self.tests if self.tests else 0.0


def examiner_flags(counts: Sequence[ExaminerCount]) -> list[Flag]:
    """(d) Examiners whose pass rate in a subject is at least ``EXAMINER_GAP_POINTS`` from the mean
    of that subject's examiners; only examiners with ``EXAMINER_MIN_RESULTS`` results count, and a
    subject needs two of them for a mean to compare with."""
    flags = []
    by_subject: dict[int, list[ExaminerCount]] = defaultdict(list)
    for c in counts:
        if c.tests >= EXAMINER_MIN_RESULTS:
            by_subject[c.subject].append(c)
    for subject, rows in sorted(by_subject.items()):
        if len(rows) < 2:
            continue
        average = mean(r.rate for r in rows)
        words = rules.Subject(subject)
        for r in sorted(rows, key=lambda r: r.examiner):
            gap = r.rate - average
            if abs(gap) < EXAMINER_GAP_POINTS:
                continue
            flags.append(
                Flag(
                    "examiner_rate",
                    "",
                    f"考试员{r.examiner}{words.label_zh.split(' ')[0]}合格率{r.rate:.1f}%（{r.passes}/{r.tests}），"
                    f"与该科目考试员平均{average:.1f}%相差{abs(gap):.1f}个百分点。",
                    f"Examiner {r.examiner}: {words.label_en.split(':')[0]} pass rate {r.rate:.1f}% ({r.passes}/{r.tests}), "
                    f"{abs(gap):.1f} points from the subject's mean of {average:.1f}%.",
                    {
                        "examiner": r.examiner,
                        "subject": subject,
                        "tests": r.tests,
                        "passes": r.passes,
                        "rate": round(r.rate, 1),
                        "mean": round(average, 1),
                        "gap": round(gap, 1),
                        "examiners": len(rows),
                        "threshold_points": EXAMINER_GAP_POINTS,
                    },
                )
            )
    return flags


def used_up_flag(*, school: str, learners: int) -> Flag | None:
    """(e) ``learners`` of one school used up the five bookings of a subject in the period."""
    if learners < USED_UP_MIN:
        return None
    return Flag(
        "bookings_used_up", "",
        f"{school}有{learners}名学员在本期用完某科目的{rules.MAX_BOOKINGS_PER_SUBJECT}次预约（阈值{USED_UP_MIN}）。",
        f"{learners} learners of {school} used up the {rules.MAX_BOOKINGS_PER_SUBJECT} bookings of a subject "
        f"in the period (threshold {USED_UP_MIN}).",
        {"learners": learners, "threshold": USED_UP_MIN},
    )  # fmt: skip


def expiring_flag(*, school: str, permits: int, days: int = EXPIRING_DAYS) -> Flag | None:
    """(e) ``permits`` of one school end within ``days`` days with subjects still to pass."""
    if permits < EXPIRING_MIN:
        return None
    return Flag(
        "permits_expiring", "",
        f"{school}有{permits}份学习驾驶证明将在{days}天内到期且仍有科目未考完（阈值{EXPIRING_MIN}）。",
        f"{permits} learner permits of {school} end within {days} days with subjects still to pass "
        f"(threshold {EXPIRING_MIN}).",
        {"permits": permits, "days": days, "threshold": EXPIRING_MIN},
    )  # fmt: skip


def _place(code: str) -> str:
    try:
        return f"{division_name(code)}（{code}）"
    except Exception:  # a code outside the list is shown as it is
        return code


def _city(code: str) -> str:
    return (code or "")[:4] + "00"


def _school_name(name: str | None) -> str:
    return name or "未登记驾校 no school"


# ---------------------------------------------------------------- queries


@dataclass
class Report:
    period: Period
    since: datetime
    until: datetime
    flags: list[Flag]
    figures: dict[str, int]


def _keyed(flag: Flag, key: str, division: str = "", details: Iterable[tuple[str, ...]] = ()) -> Flag:
    return Flag(flag.code, key, flag.zh, flag.en, flag.figures, division or flag.division, tuple(details))


def _inside(division: str, prefix: str) -> bool:
    return (division or "").startswith(prefix) if prefix else True


def _scope(prefix: str, *fields: str) -> Q:
    if not prefix:
        return Q()
    q = Q()
    for name in fields:
        q |= Q(**{f"{name}__startswith": prefix})
    return q


def flags_for(*, actor: Any, period: Period | str = Period.WEEK, now: datetime | None = None) -> Report:
    """Every flag in the actor's jurisdiction over the last week or month (X6)."""
    require(actor, MONITORING)
    prefix = division_prefix_for(actor, MONITORING)
    if prefix is None:  # pragma: no cover - require() refused already
        prefix = "-"
    period = period_of(str(period))
    now = now or timezone.now()
    since = now - timedelta(days=period.days)
    flags: list[Flag] = []

    moves = list(
        TestLocationChange.objects.filter(changed_at__gte=since, changed_at__lte=now)
        .filter(_scope(prefix, "to_division", "from_division"))
        .select_related("school", "permit__person")
        .order_by("changed_at", "pk")
    )
    by_school: dict[int, list[TestLocationChange]] = defaultdict(list)
    for move in moves:
        if move.school_id:
            by_school[move.school_id].append(move)
    for school_id, rows in sorted(by_school.items()):
        count, start = busiest_window([m.changed_at for m in rows], SCHOOL_MOVES_DAYS)
        school = rows[0].school
        assert school is not None
        flag = school_moves_flag(
            school=school.name, moves=count, since=timezone.localdate(start) if start else None
        )
        if flag:
            details = (_move_row(m) for m in rows[:DETAIL_ROWS])
            flags.append(_keyed(flag, f"school-moves-{school_id}", school.division, details))
    into: dict[str, Counter[str]] = defaultdict(Counter)
    for move in moves:
        if not prefix or move.to_division.startswith(prefix):
            into[_city(move.to_division)][_city(move.from_division)] += 1
    for city, origins in sorted(into.items()):
        flag = origin_flag(city=city, origins=dict(origins))
        if flag:
            origin = flag.figures["origin"]
            rows = [m for m in moves if _city(m.to_division) == city and _city(m.from_division) == origin]
            flags.append(_keyed(flag, f"origin-{city}", city, (_move_row(m) for m in rows[:DETAIL_ROWS])))

    applications = ExamApplication.objects.filter(created_at__gte=since, created_at__lte=now).exclude(
        client_key=""
    )
    if prefix:
        applications = applications.filter(plan__division__startswith=prefix)
    for row in (
        applications.values("client_key", "plan_id", "plan__exam_date", "plan__subject", "plan__division")
        .annotate(n=Count("pk"))
        .filter(n__gte=CLIENT_PER_PLAN_MIN)
        .order_by("-n", "client_key")
    ):
        plan_words = f"#{row['plan_id']} {row['plan__exam_date']:%Y-%m-%d} 科目{row['plan__subject']}"
        flag = client_plan_flag(client=row["client_key"][:8], plan=plan_words, applications=row["n"])
        if flag:
            flags.append(
                _keyed(flag, f"client-plan-{row['client_key'][:8]}-{row['plan_id']}", row["plan__division"])
            )
    # Days are the platform's local days; the database groups them, however many applications.
    by_day = (
        applications.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("client_key", "day")
        .annotate(n=Count("pk"))
        .filter(n__gte=CLIENT_PER_DAY_MIN)
        .order_by("-n", "client_key", "day")
    )
    for per_day in by_day:
        key, day = per_day["client_key"], per_day["day"]
        flag = client_day_flag(client=key[:8], day=day, applications=per_day["n"])
        if flag:
            flags.append(_keyed(flag, f"client-day-{key[:8]}-{day:%Y%m%d}"))

    results = ExamResult.objects.filter(
        taken_on__gte=timezone.localdate(since), taken_on__lte=timezone.localdate(now),
        outcome__in=[ExamResult.Outcome.PASSED, ExamResult.Outcome.FAILED],
    ).exclude(examiner="")  # fmt: skip
    if prefix:
        results = results.filter(application__plan__division__startswith=prefix)
    counts = [
        ExaminerCount(r["examiner"], r["application__subject"], r["tests"], r["passes"])
        for r in results.values("examiner", "application__subject").annotate(
            tests=Count("pk"), passes=Count("pk", filter=Q(outcome=ExamResult.Outcome.PASSED))
        )
    ]
    for flag in examiner_flags(counts):
        flags.append(_keyed(flag, f"examiner-{flag.figures['examiner']}-{flag.figures['subject']}"))

    flags.extend(_used_up(prefix, since, now))
    flags.extend(_expiring(prefix, timezone.localdate(now)))
    return Report(
        period, since, now, flags,
        {
            "moves": len(moves),
            "moves_in": sum(1 for m in moves if _inside(m.to_division, prefix) and not _inside(m.from_division, prefix)),
            "moves_out": sum(1 for m in moves if _inside(m.from_division, prefix) and not _inside(m.to_division, prefix)),
            "applications": applications.count(),
            "results": sum(c.tests for c in counts),
        },
    )  # fmt: skip


def _move_row(move: TestLocationChange) -> tuple[str, ...]:
    return (
        timezone.localtime(move.changed_at).strftime("%Y-%m-%d %H:%M"),
        move.permit.number,
        mask_id_number(move.permit.person.id_number),
        f"{move.from_division} → {move.to_division}",
    )


def _used_up(prefix: str, since: datetime, now: datetime) -> list[Flag]:
    # Only the files with a booking ended in the period are counted over their whole history.
    recent = (
        ExamApplication.objects.filter(
            state__in=ExamApplication.USED_STATES,
            ended_on__gte=timezone.localdate(since),
            ended_on__lte=timezone.localdate(now),
        )
        .filter(_scope(prefix, "permit__test_division"))
        .values("permit_id")
    )
    ended = (
        ExamApplication.objects.filter(state__in=ExamApplication.USED_STATES, permit_id__in=recent)
        .values("permit_id", "subject")
        .annotate(
            used=Count("pk"),
            recent=Count(
                "pk", filter=Q(ended_on__gte=timezone.localdate(since), ended_on__lte=timezone.localdate(now))
            ),
        )
        .filter(used__gte=rules.MAX_BOOKINGS_PER_SUBJECT, recent__gt=0)
    )
    permit_ids = {row["permit_id"] for row in ended}
    by_school: dict[int | None, list[LearnerPermit]] = defaultdict(list)
    for permit in (
        LearnerPermit.objects.filter(pk__in=permit_ids).select_related("school", "person").order_by("pk")
    ):
        by_school[permit.school_id].append(permit)
    flags: list[Flag] = []
    for school_id, permits in sorted(by_school.items(), key=lambda item: item[0] or 0):
        school = permits[0].school
        flag = used_up_flag(school=_school_name(school.name if school else None), learners=len(permits))
        if flag:
            flags.append(
                _keyed(flag, f"used-up-{school_id or 0}", school.division if school else "",
                       (_permit_row(p) for p in permits[:DETAIL_ROWS]))
            )  # fmt: skip
    return flags


def _expiring(prefix: str, today: date) -> list[Flag]:
    permits = (
        LearnerPermit.objects.filter(
            state=LearnerPermit.State.LEARNING, valid_until__gte=today, valid_until__lte=today + timedelta(days=EXPIRING_DAYS)
        )
        .filter(_scope(prefix, "test_division"))
        .select_related("school", "person")
        .order_by("valid_until", "pk")
    )  # fmt: skip
    by_school: dict[int | None, list[LearnerPermit]] = defaultdict(list)
    for permit in permits:
        by_school[permit.school_id].append(permit)
    flags: list[Flag] = []
    for school_id, rows in sorted(by_school.items(), key=lambda item: item[0] or 0):
        school = rows[0].school
        flag = expiring_flag(school=_school_name(school.name if school else None), permits=len(rows))
        if flag:
            flags.append(
                _keyed(flag, f"expiring-{school_id or 0}", school.division if school else "",
                       (_permit_row(p) for p in rows[:DETAIL_ROWS]))
            )  # fmt: skip
    return flags


def _permit_row(permit: LearnerPermit) -> tuple[str, ...]:
    return (
        permit.number,
        mask_id_number(permit.person.id_number),
        permit.vehicle_class,
        permit.valid_until.isoformat() if permit.valid_until else "",
    )


# ---------------------------------------------------------------- figures for publications and reports
#
# The public publications (P01, P06, P07, P08, P11) and the report to the transport authority
# (R06) count from the same rows: a booking ended with a pass, a fail or a miss is one test of
# its subject; a school's tests are those of its learners' files.

RANK_MIN_TESTS = 10  # a school is ranked only with this many tests in the period


def percent(count: int, total: int) -> str:
    """A rate as text with one decimal (%); "—" when there is nothing to count."""
    if total <= 0:
        return "—"
    tenths = (count * 1000 + total // 2) // total
    return f"{tenths // 10}.{tenths % 10}%"


@dataclass
class SchoolFigures:
    school_id: int
    name: str
    division: str
    tests: dict[int, int] = field(default_factory=dict)  # subject → bookings ended
    passes: dict[int, int] = field(default_factory=dict)

    @property
    def total_tests(self) -> int:
        return sum(self.tests.values())

    @property
    def total_passes(self) -> int:
        return sum(self.passes.values())

    @property
    def rate(self) -> float:
        return self.total_passes / self.total_tests if self.total_tests else 0.0


def school_results(start: date, end: date) -> list[SchoolFigures]:
    """Per driving school, the bookings of its learners that ended between ``start`` and ``end``
    (both included) and how many passed, per subject; by school name."""
    rows = (
        ExamApplication.objects.filter(
            ended_on__gte=start, ended_on__lte=end, permit__school__isnull=False,
            state__in=[ExamApplication.State.PASSED, ExamApplication.State.FAILED, ExamApplication.State.MISSED],
        )
        .values("permit__school_id", "permit__school__name", "permit__school__division", "subject")
        .annotate(tests=Count("pk"), passes=Count("pk", filter=Q(state=ExamApplication.State.PASSED)))
    )  # fmt: skip
    schools: dict[int, SchoolFigures] = {}
    for r in rows:
        s = schools.setdefault(
            r["permit__school_id"],
            SchoolFigures(r["permit__school_id"], r["permit__school__name"], r["permit__school__division"]),
        )
        s.tests[r["subject"]] = r["tests"]
        s.passes[r["subject"]] = r["passes"]
    return sorted(schools.values(), key=lambda s: (s.name, s.school_id))


def schools_ranked(start: date, end: date) -> list[tuple[int, SchoolFigures]]:
    """Schools with at least ``RANK_MIN_TESTS`` tests, best pass rate first (then more tests,
    then name), with their rank; equal rates share a rank."""
    ranked = sorted(
        (s for s in school_results(start, end) if s.total_tests >= RANK_MIN_TESTS),
        key=lambda s: (-s.total_passes * 1_000_000 // s.total_tests, -s.total_tests, s.name),
    )
    out: list[tuple[int, SchoolFigures]] = []
    previous: tuple[int, int] | None = None
    for position, s in enumerate(ranked, start=1):
        key = (s.total_passes, s.total_tests)
        rank = (
            out[-1][0]
            if previous is not None and s.total_passes * previous[1] == previous[0] * s.total_tests
            else position
        )
        out.append((rank, s))
        previous = key
    return out


@dataclass(frozen=True)
class SchoolCapacity:
    name: str
    division: str
    learners: int  # open files (enrolled or learning) today
    enrolled: int  # files enrolled in the period
    licensed: int  # files licensed in the period
    bookings: int  # places allocated to its learners in plans examined in the period


def school_capacity(start: date, end: date) -> list[SchoolCapacity]:
    from jiaoguan.registry.models import Organisation

    open_states = [LearnerPermit.State.ENROLLED, LearnerPermit.State.LEARNING]
    schools = (
        Organisation.objects.filter(kind=Organisation.Kind.DRIVING_SCHOOL)
        .annotate(
            open_files=Count("learners", filter=Q(learners__state__in=open_states), distinct=True),
            enrolled=Count("learners", filter=Q(learners__enrolled_on__gte=start, learners__enrolled_on__lte=end), distinct=True),
            licensed=Count("learners", filter=Q(learners__licensed_on__gte=start, learners__licensed_on__lte=end), distinct=True),
        )
        .order_by("name", "pk")
    )  # fmt: skip
    bookings = dict(
        ExamApplication.objects.filter(
            permit__school__isnull=False, plan__exam_date__gte=start, plan__exam_date__lte=end,
            state__in=ExamApplication.USED_STATES,
        )
        .values_list("permit__school_id")
        .annotate(n=Count("pk"))
        .values_list("permit__school_id", "n")
    )  # fmt: skip
    return [
        SchoolCapacity(s.name, s.division, s.open_files, s.enrolled, s.licensed, bookings.get(s.pk, 0))
        for s in schools
        if s.open_files or s.enrolled or s.licensed or bookings.get(s.pk)
    ]


def examiner_results(start: date, end: date) -> list[ExaminerCount]:
    """Per examiner and subject, results passed or failed between ``start`` and ``end``."""
    rows = (
        ExamResult.objects.filter(
            taken_on__gte=start, taken_on__lte=end,
            outcome__in=[ExamResult.Outcome.PASSED, ExamResult.Outcome.FAILED],
        )
        .exclude(examiner="")
        .values("examiner", "application__subject")
        .annotate(tests=Count("pk"), passes=Count("pk", filter=Q(outcome=ExamResult.Outcome.PASSED)))
        .order_by("examiner", "application__subject")
    )  # fmt: skip
    return [ExaminerCount(r["examiner"], r["application__subject"], r["tests"], r["passes"]) for r in rows]
