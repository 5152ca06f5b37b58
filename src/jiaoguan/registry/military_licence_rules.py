"""Exchanging a military or armed-police driving licence for a civilian one (军队、武警部队驾驶证换领
地方驾驶证, O3; seed 004 §七), as pure functions: no ORM, no clock, every date an argument.

From 2021-06-01 the driving age continues from the military licence:

- the civilian licence's first-issue date (初次领证日期) takes its year from the military first
  issue, and its month and day from the exchange (the start of the new licence's validity), so
  the scoring cycles run on from the exchange day; when the military month and day fall after
  the exchange's, the year is the next one;
- it is never earlier than the day the holder reached the civilian minimum age for the class
  (S1 art. 14, RULES.md "Application age"): a military licence obtained younger counts from
  that day;
- the first validity term after the exchange is 6 years from the exchange day (seed §七 五);
- the electronic licence carries the military licence's real first-issue date, classes and
  added classes as remarks.

Licences exchanged on or before 2021-05-31 are not reissued: on request the remark goes into
the driving record only, and only for holders of the new military licences, whose numbers start
with one of the prefixes the seed lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .rules import ValidityTerm, add_years, licence_valid_until

# The day the continuous driving age starts to apply (seed 004 §七: 自2021年6月1日起).
CONTINUOUS_FROM = date(2021, 6, 1)
# Exchanged on or before this day: a remark in the driving record, no new licence (seed §七 三.2).
RECORD_ONLY_UNTIL = date(2021, 5, 31)
FIRST_TERM_YEARS = 6  # seed §七 五: the first validity term after the exchange is six years

# The new military and armed-police licence prefixes (新军警驾驶证字头号), seed §七 三.2.
NEW_MILITARY_PREFIXES: frozenset[str] = frozenset(
    {
        "JW", "JH", "LA", "HA", "KA", "JA", "YA", "BA", "QD", "QN", "QX", "QB", "QZ", "SS",
        "BS", "LS", "JS", "NS", "GS", "CS", "WA", "WJ", "WH", "WD", "WN", "WX", "WB", "WZ",
    }
)  # fmt: skip

# Minimum application age per class (S1 art. 14; RULES.md "Application age"; S6 changed only the
# upper limits).
MINIMUM_AGE: dict[str, int] = {
    "C1": 18, "C2": 18, "C5": 18, "F": 18, "D": 18, "E": 18, "C3": 18, "C4": 18, "M": 18,
    "A3": 20, "B1": 20, "B2": 20, "N": 20, "P": 20, "C6": 20,
    "A1": 22, "A2": 22,
}  # fmt: skip


def minimum_age(classes: str | list[str] | tuple[str, ...]) -> int:
    """The highest minimum age among the classes a licence carries ("C1", "A2D", ["B2", "C1"])."""
    items = _split_classes(classes) if isinstance(classes, str) else list(classes)
    unknown = [c for c in items if c not in MINIMUM_AGE]
    if not items or unknown:
        raise ValueError(f"unknown licence classes: {classes!r}")
    return max(MINIMUM_AGE[c] for c in items)


def _split_classes(text: str) -> list[str]:
    """ "A2D" -> ["A2", "D"]; "C1E" -> ["C1", "E"]: a letter, with its digit when it has one."""
    out: list[str] = []
    for ch in text.strip().upper():
        if ch.isdigit() and out:
            out[-1] += ch
        elif ch.isalpha():
            out.append(ch)
    return out


def first_issue_date(
    *, military_first_issued_on: date, birth_date: date, classes: str, exchanged_on: date
) -> date:
    """The civilian licence's first-issue date (初次领证日期) after a military exchange (O3).

    The age floor comes first: a military licence obtained before the civilian minimum age of
    the classes counts from the day that age was reached. Then the year is that day's, the month
    and day the exchange's, and the year moves on by one when the military month and day fall
    after the exchange's (seed §七 四). A 29 February exchange in a common year is 28 February.
    """
    age_reached = add_years(birth_date, minimum_age(classes))
    start = max(military_first_issued_on, age_reached)
    year = start.year + (1 if (start.month, start.day) > (exchanged_on.month, exchanged_on.day) else 0)
    return add_years(exchanged_on, year - exchanged_on.year)


def first_valid_until(exchanged_on: date) -> date | None:
    """The end of the first validity term after the exchange: six years from the exchange day,
    printed like every card's term ("2021-07-10 至 2027-07-10")."""
    return licence_valid_until(valid_from=exchanged_on, term=ValidityTerm.SIX_YEARS)


class Path(StrEnum):
    """How a military licence's driving age is recorded (seed §七 三)."""

    REISSUE = "reissue"  # applied from 2021-06-01, or earlier and not finished: new first-issue date
    RECORD_ONLY = "record_only"  # exchanged by 2021-05-31: remark in the driving record, no reissue


@dataclass(frozen=True)
class Refusal:
    code: str
    zh: str
    en: str


def recording_path(*, exchanged_on: date | None, military_number: str, today: date) -> Path | Refusal:
    """Which way the driving age is recorded, or why it cannot be.

    ``exchanged_on`` is the day an earlier exchange was completed (None for a new application or
    one not finished). Before 2021-06-01 nothing applies; a licence exchanged by 2021-05-31 gets
    the remark only when the military licence was a new one (its number's prefix listed).
    """
    if today < CONTINUOUS_FROM:
        return Refusal(
            "licence.military.not_yet",
            "驾龄连续计算自2021年6月1日起办理。",
            "The continuous driving age applies from 2021-06-01.",
        )
    if exchanged_on is None or exchanged_on > RECORD_ONLY_UNTIL:
        return Path.REISSUE
    prefix = (military_number or "").strip().upper()[:2]
    if prefix not in NEW_MILITARY_PREFIXES:
        return Refusal(
            "licence.military.old_licence",
            "2021年5月31日前已换发地方驾驶证的，仅持新军警驾驶证（字头号为JW、JH、LA等）换证的可申请备注原驾驶证信息。",
            "For licences exchanged by 2021-05-31, the remark is only for holders of the new military "
            "licences (numbers starting JW, JH, LA and the other listed prefixes).",
        )
    return Path.RECORD_ONLY
