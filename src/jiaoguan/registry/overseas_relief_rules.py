"""Relief for drivers whose licence was cancelled while they were abroad (出国（境）人员驾驶证救济, O4;
seed 004 §八 二), as pure functions: no ORM, no clock, every date an argument.

A licence cancelled because its renewal or review fell due while the holder was abroad, between
the outbreak and 2021-12-31, is restored when the holder applies within 6 months of their first
return; for returns before 2021-06-01 the 6 months count from 2021-06-01. A licence whose status
became "cancelled, restorable" (R) in that period is restored directly; one that became
"cancelled" (G) after passing subject 1. The exit and entry records are checked (an adapter) and
the head of the unit reviews each restoration (the workflow, not this module).

Periods are counted as the Civil Code counts them (民法典 第二百零一条): the starting day is not
counted, so 6 months from a return on 10 July end on 10 January.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .rules import add_months

# The relief covers cancellations "since the outbreak"; the seed gives no day. 2020-01-01 is used
# as the first day (not in RULES.md or the seeds): no licence fell due abroad because of the
# epidemic before it.
CANCELLED_FROM = date(2020, 1, 1)
CANCELLED_UNTIL = date(2021, 12, 31)  # seed: 疫情发生以来至2021年12月31日
COUNT_FROM = date(2021, 6, 1)  # seed: returns before 2021-06-01 count from 2021-06-01
WITHIN_MONTHS = 6


class Cause(StrEnum):
    """Why the licence was cancelled: its renewal (换证) or its review (审验) fell due."""

    RENEWAL = "renewal"
    REVIEW = "review"


class Path(StrEnum):
    DIRECT = "direct"  # status R: restored at once
    AFTER_SUBJECT_1 = "after_subject_1"  # status G: restored once subject 1 is passed


@dataclass(frozen=True)
class Restoration:
    path: Path
    apply_by: date


@dataclass(frozen=True)
class Refusal:
    code: str
    zh: str
    en: str


def apply_by(first_return_on: date) -> date:
    """The last day to apply: 6 months after the first return, or after 2021-06-01 when earlier."""
    return add_months(max(first_return_on, COUNT_FROM), WITHIN_MONTHS)


def restoration(
    *,
    status: str,
    cause: Cause | str | None,
    cancelled_on: date,
    abroad_when_cancelled: bool,
    first_return_on: date | None,
    today: date,
) -> Restoration | Refusal:
    """Whether a cancelled licence is restored under the relief, how, and by when (O4)."""
    if status not in ("R", "G"):
        return Refusal(
            "licence.relief.status",
            "救济措施只适用于状态为“注销可恢复”或“注销”的驾驶证。",
            "The relief is only for licences whose status is cancelled, restorable (R) or cancelled (G).",
        )
    if cause not in (Cause.RENEWAL, Cause.REVIEW):
        return Refusal(
            "licence.relief.cause",
            "救济措施只适用于因未按时换证、审验被注销的驾驶证。",
            "The relief is only for licences cancelled because the renewal or review was not done in time.",
        )
    if not CANCELLED_FROM <= cancelled_on <= CANCELLED_UNTIL:
        return Refusal(
            "licence.relief.period",
            "救济措施只适用于疫情发生以来至2021年12月31日期间被注销的驾驶证。",
            "The relief is only for licences cancelled from the outbreak up to 2021-12-31.",
        )
    if not abroad_when_cancelled or first_return_on is None:
        return Refusal(
            "licence.relief.not_abroad",
            "出入境记录显示注销时您不在国（境）外，不适用此救济措施。",
            "The exit and entry records do not show you abroad when the licence was cancelled.",
        )
    last_day = apply_by(first_return_on)
    if today > last_day:
        return Refusal(
            "licence.relief.too_late",
            f"应在首次回国（入境）后6个月内（{last_day:%Y年%m月%d日}前）办理，已超过期限。",
            f"The relief had to be applied for within 6 months of the first return (by {last_day:%Y-%m-%d}).",
        )
    return Restoration(Path.DIRECT if status == "R" else Path.AFTER_SUBJECT_1, last_day)
