"""Pure rules of the study to reduce points (学法减分) and the full-score education (满分学习), V7.

RULES.md "Points (S2)" and "Study to reduce points": only below 12 points; at most 6 points a
cycle; online 30 min + test = 1 point, on site 1 h + test = 2 points; excluded: 2+ full scores in
this or the previous cycle, serious offences in the last 3 cycles, probation, overdue review, a
held or suspended licence, an own vehicle overdue for inspection. Full score: 7 days (A/B 30), at
least 5 (A/B 10) days of study with 2 (5) on site, then a subject-1 exam; missing it 30 days sets
status J. Cycles come from the registry's one cycle arithmetic (``registry.rules.scoring_cycle``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from jiaoguan.registry.rules import (
    FULL_SCORE_STOP_AFTER_DAYS,
    POINTS_LIMIT,
    full_score_study,
    scoring_cycle,
)

CYCLE_CAP = 6  # at most 6 points reduced a cycle (V7)
ONLINE_MINUTES = 30
ON_SITE_MINUTES = 60
QUESTIONS_DRAWN = 10
PASS_MARK = 90  # per cent: 9 of 10 questions
# Serious offences (严重违法) that shut study for 3 cycles: the offences scored 12 at once
# (RULES.md examples: drink-driving, fake plates, 20%+ overloaded coach, 50%+ over the limit on an
# expressway). A single ledger entry of 12 points is exactly such an offence.
SERIOUS_OFFENCE_POINTS = 12
SERIOUS_OFFENCE_CYCLES = 3
# Licence status codes (S7) that shut study: D 暂扣 (suspended) and U 扣留 (held) as the rule says;
# a licence not in force (E 撤销, F 吊销, G 注销, R 注销可恢复, J 停止使用) cannot be studied on either.
HELD_CODES = frozenset("DU")
NOT_IN_FORCE_CODES = frozenset("EFGRJ")


@dataclass(frozen=True)
class Reason:
    """Why a licence may not study now, in both languages."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class StudyFacts:
    """What the eligibility needs of a licence, as of one day."""

    first_issued_on: date
    points_in_cycle: int
    status: str
    on_probation: bool
    review_overdue: bool
    offences: tuple[tuple[date, int], ...]  # (occurred_on, points) of positive ledger entries
    full_scores: tuple[date, ...]  # days the licence reached 12 points
    vehicles_overdue: tuple[str, ...]  # plates of own vehicles overdue for inspection


def cycle_of(first_issued_on: date, day: date) -> tuple[date, date]:
    return scoring_cycle(first_issued_on=first_issued_on, today=day)


def cycles_back_start(first_issued_on: date, as_of: date, cycles: int) -> date:
    """First day of the window made of the current cycle and the ``cycles - 1`` before it (never
    before the first issue): for 3, the start of the cycle two before the current one."""
    start = cycle_of(first_issued_on, as_of)[0]
    for _ in range(cycles - 1):
        if start <= first_issued_on:
            break
        start = cycle_of(first_issued_on, start - timedelta(days=1))[0]
    return start


def eligibility(facts: StudyFacts, as_of: date) -> list[Reason]:
    """Every reason the licence may not study to reduce points on ``as_of``; empty when it may."""
    reasons: list[Reason] = []
    codes = set(facts.status or "A")
    if codes & NOT_IN_FORCE_CODES:
        reasons.append(
            Reason(
                "study.not_in_force", "驾驶证已注销、吊销、撤销或停止使用。", "The licence is not in force."
            )
        )
    if codes & HELD_CODES:
        reasons.append(Reason("study.held", "驾驶证被扣留或暂扣。", "The licence is held or suspended."))
    if facts.points_in_cycle >= POINTS_LIMIT:
        reasons.append(
            Reason(
                "study.full_score",
                "本记分周期记分已满12分，须参加满分学习，不能学法减分。",
                "12 points reached this cycle: full-score education applies, not study to reduce points.",
            )
        )
    elif facts.points_in_cycle <= 0:
        reasons.append(Reason("study.no_points", "本记分周期没有记分，无需减分。", "No points this cycle."))
    window = cycles_back_start(facts.first_issued_on, as_of, 2)
    full = [d for d in facts.full_scores if window <= d <= as_of]
    if len(full) >= 2:
        reasons.append(
            Reason(
                "study.full_scores",
                "本记分周期或上一个记分周期内有两次以上满分记录。",
                "Two or more full scores in this or the previous cycle.",
            )
        )
    serious_since = cycles_back_start(facts.first_issued_on, as_of, SERIOUS_OFFENCE_CYCLES)
    serious = [
        d for d, points in facts.offences if points >= SERIOUS_OFFENCE_POINTS and serious_since <= d <= as_of
    ]
    if serious:
        last = max(serious)
        reasons.append(
            Reason(
                "study.serious_offence",
                f"最近三个记分周期内有记12分的严重交通违法（{last:%Y-%m-%d}）。",
                f"A serious offence scored 12 points in the last three cycles ({last:%Y-%m-%d}).",
            )
        )
    if facts.on_probation:
        reasons.append(Reason("study.probation", "驾驶证处于实习期。", "The licence is on probation."))
    if facts.review_overdue:
        reasons.append(Reason("study.review_overdue", "驾驶证逾期未审验。", "The licence review is overdue."))
    if facts.vehicles_overdue:
        plates = "、".join(facts.vehicles_overdue)
        reasons.append(
            Reason(
                "study.vehicle_overdue",
                f"名下机动车逾期未检验：{plates}。",
                f"An own vehicle is overdue for inspection: {', '.join(facts.vehicles_overdue)}.",
            )
        )
    return reasons


def reduction(*, course_points: int, reduced_in_cycle: int, points_in_cycle: int) -> int:
    """Points a passed test takes off: the course's, within the 6 a cycle and the points held."""
    return max(0, min(course_points, CYCLE_CAP - reduced_in_cycle, points_in_cycle))


def study_done(*, started_on_minutes: float, required_minutes: int) -> bool:
    """The test opens once the server has counted the course's minutes of study."""
    return started_on_minutes >= required_minutes


def score(answers: dict[str, str], key: dict[str, str]) -> int:
    """Per cent of the drawn questions answered right."""
    if not key:
        return 0
    right = sum(1 for code, answer in key.items() if answers.get(code) == answer)
    return right * 100 // len(key)


# ---------------------------------------------------------------- full-score education


@dataclass(frozen=True)
class FullScoreProgress:
    days_required: int
    study_days_required: int
    on_site_required: int
    study_days: int
    on_site_days: int
    first_day: date | None
    period_ends: date | None  # the last day of the study period counted from the first day
    complete: bool


def full_score_requirements(classes: Iterable[str]) -> tuple[int, int, int]:
    """(period days, days of study, of them on site): 7/5/2, or 30/10/5 with an A or B class."""
    study = full_score_study(classes)
    return study.days, study.online_or_on_site_days, study.on_site_days


def full_score_progress(
    *, days: int, study_days: int, on_site: int, recorded: Iterable[tuple[date, str]], as_of: date
) -> FullScoreProgress:
    """Where the education stands. RULES.md: "study 7 days (A/B 30), at least 5 (A/B 10) days
    with 2 (5) on site": the period of 7 (30) days runs from the first day of study; it is complete
    on its last day or later, once at least 5 (10) days of study, 2 (5) of them on site, are recorded.
    """
    recorded = sorted(recorded)
    first = recorded[0][0] if recorded else None
    ends = first + timedelta(days=days - 1) if first else None
    total = len(recorded)
    site = sum(1 for _d, kind in recorded if kind == "on_site")
    complete = bool(ends and as_of >= ends and total >= study_days and site >= on_site)
    return FullScoreProgress(days, study_days, on_site, total, site, first, ends, complete)


def full_score_missed(*, reached_on: date, first_study_day: date | None, as_of: date) -> bool:
    """ "Missing it 30 days sets status J" (RULES.md "Points (S2)"; registry FULL_SCORE_STOP_AFTER_DAYS):
    missed means no day of study (online or on site) recorded on or before the 30th day after the
    day the points reached 12; from the 31st day on the licence is stopped (J)."""
    deadline = reached_on + timedelta(days=FULL_SCORE_STOP_AFTER_DAYS)
    if first_study_day is not None and first_study_day <= deadline:
        return False
    return as_of > deadline


def full_score_reached_on(entries: Iterable[tuple[date, int]], cycle: tuple[date, date]) -> date | None:
    """The day the cycle's running total first reached 12 (entries in date order), or None."""
    total = 0
    for day, points in sorted(entries):
        total += points
        if total >= POINTS_LIMIT:
            return max(day, cycle[0])
    return None
