"""Rules of the driving test (驾驶人考试): subjects, intervals, limits and priority classes.

Pure decisions, no ORM and no clock: every function takes the dates it needs. Sources:
RULES.md "Driving test" (S1 art. 30-47), seed 004 §三 (the intervals and items of
2021-06-01, remote test locations), requirements X1-X7, B22, B23.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum, StrEnum

from jiaoguan.registry.rules import LICENCE_CLASSES, add_years

# The classes a learner can be examined for here. M, N and P (machinery, trolleybus, tram) are
# examined by their operators' own arrangements and are not offered.
EXAM_CLASSES: tuple[str, ...] = (
    "A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "C6", "D", "E", "F",
)  # fmt: skip
LARGE_CLASSES = frozenset({"A1", "A2", "A3", "B1", "B2"})
# Small cars may take a subject in another city (异地分科目考试) and change that place (X3).
REMOTE_CLASSES = frozenset({"C1", "C2", "C5"})

PERMIT_YEARS = 3  # a learner permit is valid 3 years (S1 art. 32)
MAX_BOOKINGS_PER_SUBJECT = 5  # per subject per permit (S1 art. 42)
REBOOK_AFTER_FAILED_DAYS = 10  # after failing the retake (S1 art. 42)
MAX_LOCATION_CHANGES = 3  # remote test location, seed 004 §三 (X3)
NEW_INTERVALS_FROM = date(2021, 6, 1)  # seed 004 §三: bookings made from 2021-06-01 (X7)
LONG_WAIT_DAYS = 30  # priority class 2: eligible this long before the window opened
EXPIRING_WITHIN_DAYS = 90  # priority class 1: the permit ends within this of the exam


class Subject(IntEnum):
    """The four examinations (考试科目). 4 is subject 3's safety-knowledge paper (科目三安全文明常识)."""

    LAW = 1
    SITE = 2
    ROAD = 3
    SAFETY = 4

    @property
    def label_zh(self) -> str:
        return _SUBJECT_WORDS[self][0]

    @property
    def label_en(self) -> str:
        return _SUBJECT_WORDS[self][1]


_SUBJECT_WORDS = {
    Subject.LAW: ("科目一 道路交通安全法律、法规和相关知识", "Subject 1: traffic law and related knowledge"),
    Subject.SITE: ("科目二 场地驾驶技能", "Subject 2: site driving skills"),
    Subject.ROAD: ("科目三 道路驾驶技能", "Subject 3: road driving skills"),
    Subject.SAFETY: ("科目三 安全文明驾驶常识", "Subject 3: safe and courteous driving knowledge"),
}
ALL_SUBJECTS: tuple[Subject, ...] = tuple(Subject)


class PermitKind(StrEnum):
    """Why the learner is examined: a first licence (初次申领) or a class added to one (增加准驾车型)."""

    FIRST = "first"
    ADDED = "added"


def class_name(code: str) -> tuple[str, str]:
    lc = LICENCE_CLASSES[code]
    return lc.name_zh, lc.name_en


# ---------------------------------------------------------------- refusals


@dataclass(frozen=True)
class Refusal:
    """Why an application, a change or a result cannot be made, with a stable code; ``opens_on``
    is the day it becomes possible, where there is one."""

    code: str
    zh: str
    en: str
    opens_on: date | None = None


# ---------------------------------------------------------------- dates and marks


def permit_valid_until(issued_on: date) -> date:
    """The last day of a learner permit (学习驾驶证明有效期三年)."""
    return add_years(issued_on, PERMIT_YEARS) - timedelta(days=1)


def booking_interval_days(subject: Subject, vehicle_class: str, kind: PermitKind, *, applied_on: date) -> int:
    """Days after the permit before a subject may be booked (预约间隔, X2, seed 004 §三).

    Subject 1 comes before the permit: no interval. Subject 2: 10 days, 20 for the large classes
    and C6. Subject 3 (both papers): 20 days for C2/C5 and C3/C4 and mopeds, 30 for C1, C6, D and
    E, 30 for large classes added to a licence, 40 for a first large class. Before 2021-06-01
    C2/C5 waited 30 days and added large classes 40 (the old rule, for bookings made then).
    """
    if subject == Subject.LAW:
        return 0
    if subject == Subject.SITE:
        return 20 if vehicle_class in LARGE_CLASSES or vehicle_class == "C6" else 10
    new_rule = applied_on >= NEW_INTERVALS_FROM
    if vehicle_class in LARGE_CLASSES:
        if kind == PermitKind.ADDED:
            return 30 if new_rule else 40
        return 40
    if vehicle_class in ("C2", "C5"):
        return 20 if new_rule else 30
    if vehicle_class in ("C3", "C4", "F"):
        return 20
    return 30  # C1, C6, D, E


def pass_mark(subject: Subject, vehicle_class: str) -> int:
    """The lowest passing score out of 100 (S1 art. 41): subject 2 is 80, 90 for the large classes
    and C6; every other paper is 90."""
    if subject == Subject.SITE and vehicle_class not in LARGE_CLASSES and vehicle_class != "C6":
        return 80
    return 90


SUBJECT2_ITEMS_C1: tuple[tuple[str, str], ...] = (
    ("倒车入库", "reverse parking"),
    ("坡道定点停车和起步", "stop and start on a slope"),
    ("侧方停车", "parallel parking"),
    ("曲线行驶", "curve driving"),
    ("直角转弯", "right-angle turn"),
)


def subject2_items(vehicle_class: str) -> tuple[tuple[str, str], ...]:
    """The items of subject 2 (X1): five for C1; four for C2 and C5, which have no slope since
    2021-06-01 (seed 004 §三). Other classes follow their own syllabus and return nothing here."""
    if vehicle_class == "C1":
        return SUBJECT2_ITEMS_C1
    if vehicle_class in ("C2", "C5"):
        return tuple(item for item in SUBJECT2_ITEMS_C1 if item[0] != "坡道定点停车和起步")
    return ()


# ---------------------------------------------------------------- eligibility (B22)


@dataclass(frozen=True)
class PermitFacts:
    """What the rules need to know of a learner permit (学习驾驶证明)."""

    vehicle_class: str
    kind: PermitKind
    issued_on: date | None  # None: enrolled, subject 1 not yet passed
    valid_until: date | None
    open: bool = True  # False once licensed, expired or withdrawn


@dataclass(frozen=True)
class SubjectHistory:
    """A learner's past in one subject under one permit."""

    bookings_used: int = 0  # bookings that were allocated a place (each includes one retake)
    passed: bool = False
    failed_booking_on: date | None = None  # the day the last booking ended failed (retake failed or missed)


@dataclass(frozen=True)
class Eligibility:
    ok: bool
    opens_on: date | None = None  # the earliest day to apply, where a date rule applies
    refusal: Refusal | None = None


def earliest_application_on(
    subject: Subject, permit: PermitFacts, history: SubjectHistory, *, applied_on: date
) -> date | None:
    """The first day an application for ``subject`` may be made, or None before the permit."""
    if subject == Subject.LAW:
        return None
    if permit.issued_on is None:
        return None
    interval = booking_interval_days(subject, permit.vehicle_class, permit.kind, applied_on=applied_on)
    opens_on = permit.issued_on + timedelta(days=interval)
    if history.failed_booking_on is not None:
        opens_on = max(opens_on, history.failed_booking_on + timedelta(days=REBOOK_AFTER_FAILED_DAYS))
    return opens_on


def check_application(
    subject: Subject, permit: PermitFacts, history: SubjectHistory, *, applied_on: date, exam_date: date
) -> Eligibility:
    """May the learner apply for ``subject`` on ``applied_on`` for an exam on ``exam_date``? The
    first rule that refuses answers, with the day it opens where waiting helps (B22, X2)."""
    if not permit.open:
        return Eligibility(False, refusal=Refusal(
            "exams.permit_closed", "该学习驾驶证明已结束（已领证、已过期或已撤销），不能预约考试。",
            "This learner permit has ended (licensed, expired or withdrawn); no exam can be booked on it.",
        ))  # fmt: skip
    if history.passed:
        return Eligibility(False, refusal=Refusal(
            "exams.subject_passed", f"{subject.label_zh}已合格，无需再预约。",
            f"{subject.label_en} is already passed.",
        ))  # fmt: skip
    if subject != Subject.LAW and permit.issued_on is None:
        return Eligibility(False, refusal=Refusal(
            "exams.no_permit", "科目一考试合格并取得学习驾驶证明后，才能预约其他科目。",
            "Pass subject 1 and receive the learner permit before booking the other subjects.",
        ))  # fmt: skip
    if subject == Subject.LAW and permit.issued_on is not None:
        return Eligibility(False, refusal=Refusal(
            "exams.subject_passed", f"{subject.label_zh}已合格，无需再预约。", f"{subject.label_en} is already passed.",
        ))  # fmt: skip
    if permit.valid_until is not None and (applied_on > permit.valid_until or exam_date > permit.valid_until):
        return Eligibility(False, refusal=Refusal(
            "exams.permit_expired",
            f"学习驾驶证明有效期至{permit.valid_until:%Y-%m-%d}，该考试日期已超出有效期，考试不能继续。",
            f"The learner permit is valid until {permit.valid_until:%Y-%m-%d}; an exam after that date cannot be booked.",
        ))  # fmt: skip
    if history.bookings_used >= MAX_BOOKINGS_PER_SUBJECT:
        return Eligibility(False, refusal=Refusal(
            "exams.bookings_used_up",
            f"{subject.label_zh}在本学习驾驶证明有效期内已预约{MAX_BOOKINGS_PER_SUBJECT}次，本次考试终止。",
            f"{subject.label_en} has been booked {MAX_BOOKINGS_PER_SUBJECT} times on this permit; "
            "its examination ends.",
        ))  # fmt: skip
    opens_on = earliest_application_on(subject, permit, history, applied_on=applied_on)
    if opens_on is not None and applied_on < opens_on:
        after_fail = history.failed_booking_on is not None and opens_on == (
            history.failed_booking_on + timedelta(days=REBOOK_AFTER_FAILED_DAYS)
        )
        if after_fail:
            why_zh = f"补考不合格后须满{REBOOK_AFTER_FAILED_DAYS}日才能重新预约"
            why_en = f"after a failed retake, {REBOOK_AFTER_FAILED_DAYS} days must pass before booking again"
        else:
            days = booking_interval_days(subject, permit.vehicle_class, permit.kind, applied_on=applied_on)
            why_zh = f"取得学习驾驶证明满{days}日后才能预约{subject.label_zh}"
            why_en = f"{subject.label_en} may be booked {days} days after the learner permit"
        return Eligibility(False, opens_on=opens_on, refusal=Refusal(
            "exams.too_early", f"{why_zh}，{opens_on:%Y-%m-%d}起可以预约。",
            f"{why_en[0].upper()}{why_en[1:]}; applications open on {opens_on:%Y-%m-%d}.", opens_on=opens_on,
        ))  # fmt: skip
    return Eligibility(True, opens_on=opens_on)


# ---------------------------------------------------------------- attempts and results


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    MISSED = "missed"  # did not come: counts as a fail (S1 art. 42)


@dataclass(frozen=True)
class AttemptFacts:
    attempt: int  # 1, or 2 for the retake included in the booking
    outcome: Outcome


def next_attempt(attempts: list[AttemptFacts]) -> int | None:
    """The attempt a new result is for, or None when the booking is over: one booking includes
    one retake (补考), taken only after a failed first attempt. A miss ends the booking."""
    if not attempts:
        return 1
    last = max(attempts, key=lambda a: a.attempt)
    if last.outcome == Outcome.FAILED and last.attempt == 1:
        return 2
    return None


def booking_outcome(attempts: list[AttemptFacts]) -> Outcome | None:
    """How a booking ended, or None while a result (or the retake) is still to come."""
    if any(a.outcome == Outcome.PASSED for a in attempts):
        return Outcome.PASSED
    if any(a.outcome == Outcome.MISSED for a in attempts):
        return Outcome.MISSED
    if len([a for a in attempts if a.outcome == Outcome.FAILED]) >= 2:
        return Outcome.FAILED
    return None


def score_outcome(score: int, subject: Subject, vehicle_class: str) -> Outcome:
    return Outcome.PASSED if score >= pass_mark(subject, vehicle_class) else Outcome.FAILED


# ---------------------------------------------------------------- test location (X3)


def check_location_change(
    vehicle_class: str, *, changes_so_far: int, current: str, new: str
) -> Refusal | None:
    """May a learner move the test location (考试地) to ``new``? Small cars only, at most three
    times per permit (seed 004 §三, X3); a move to the same place is no change."""
    if vehicle_class not in REMOTE_CLASSES:
        return Refusal(
            "exams.location_not_remote", "只有小型汽车（C1、C2、C5）可以申请异地分科目考试、变更考试地。",
            "Only small cars (C1, C2, C5) may take subjects in another city and change the test location.",
        )  # fmt: skip
    if new[:4] == current[:4]:
        return Refusal(
            "exams.location_same", "新考试地与当前考试地相同。", "The new test location is the current one.",
        )  # fmt: skip
    if changes_so_far >= MAX_LOCATION_CHANGES:
        return location_changes_used_up()
    return None


def location_changes_used_up() -> Refusal:
    return Refusal(
        "exams.location_changes_used_up",
        f"考试地最多变更{MAX_LOCATION_CHANGES}次，已用完。",
        f"The test location may be changed at most {MAX_LOCATION_CHANGES} times; no change is left.",
    )


# ---------------------------------------------------------------- allocation priority (issue 16 §3)


class Priority(IntEnum):
    """Priority classes of a lottery plan, published with every plan; lower goes first."""

    EXPIRING = 1  # the permit ends within 90 days of the exam
    LONG_WAITING = 2  # eligible 30+ days before the window opened
    FAILED_BEFORE = 3  # has a failed booking of this subject
    OTHER = 4

    @property
    def label_zh(self) -> str:
        return _PRIORITY_WORDS[self][0]

    @property
    def label_en(self) -> str:
        return _PRIORITY_WORDS[self][1]


_PRIORITY_WORDS = {
    Priority.EXPIRING: (
        f"学习驾驶证明将在考试日后{EXPIRING_WITHIN_DAYS}日内到期",
        f"learner permit ends within {EXPIRING_WITHIN_DAYS} days of the exam",
    ),
    Priority.LONG_WAITING: (
        f"开放申请前已可预约满{LONG_WAIT_DAYS}日",
        f"eligible for {LONG_WAIT_DAYS}+ days before the window opened",
    ),
    Priority.FAILED_BEFORE: ("本科目曾考试不合格", "failed this subject before"),
    Priority.OTHER: ("其他申请人", "everyone else"),
}


def priority_class(
    *,
    valid_until: date | None,
    eligible_on: date | None,
    failed_before: bool,
    exam_date: date,
    window_opened_on: date,
) -> Priority:
    """The priority class of one application: the first class that fits."""
    if valid_until is not None and valid_until <= exam_date + timedelta(days=EXPIRING_WITHIN_DAYS):
        return Priority.EXPIRING
    if eligible_on is not None and eligible_on <= window_opened_on - timedelta(days=LONG_WAIT_DAYS):
        return Priority.LONG_WAITING
    if failed_before:
        return Priority.FAILED_BEFORE
    return Priority.OTHER
