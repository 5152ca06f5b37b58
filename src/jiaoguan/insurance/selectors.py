"""Reads of the failed insurance checks: the weekly feedback list per insurer (O7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from jiaoguan.core.access import Role, division_prefix_for, require, role_of
from jiaoguan.core.errors import NotAllowed, ValidationFailed

from . import rules
from .models import InsuranceCheckFailure

ACTION = "insurance.feedback.view"


@dataclass(frozen=True)
class Week:
    label: str  # 2026-W49
    monday: date
    next_monday: date

    @property
    def sunday(self) -> date:
        return date.fromordinal(self.next_monday.toordinal() - 1)

    @property
    def previous(self) -> str:
        return rules.week_of(date.fromordinal(self.monday.toordinal() - 7))

    @property
    def following(self) -> str:
        return rules.week_of(self.next_monday)


def week_from(text: str | None, *, today: date) -> Week:
    """The ISO week asked for (``2026-W49``), this week when none is given; 422 when malformed."""
    label = (text or "").strip() or rules.week_of(today)
    try:
        monday, next_monday = rules.week_parse(label)
    except ValueError:
        raise ValidationFailed(
            "insurance.bad_week",
            "周次格式不正确，应为“2026-W49”这样的年份和周数。",
            "The week must be written as a year and an ISO week number, like 2026-W49.",
            field="week",
        ) from None
    return Week(rules.week_of(monday), monday, next_monday)


def _aware(day: date) -> datetime:
    # Weeks run Monday to Sunday in the platform's time zone (Beijing time).
    return timezone.make_aware(datetime.combine(day, time.min))


def feedback_rows(*, actor: Any, week: Week) -> QuerySet[InsuranceCheckFailure]:
    """The failures of one ISO week the actor may read, by insurer then time (O7).

    Staff read the failures of their jurisdiction; an insurer organisation reads the rows that
    name it (its name as registered, exactly as the exchange reports it) and the "no policy
    found" rows of its city. Any other organisation is refused.
    """
    require(actor, ACTION)
    rows = InsuranceCheckFailure.objects.filter(
        checked_at__gte=_aware(week.monday), checked_at__lt=_aware(week.next_monday)
    )
    role = role_of(actor)
    if role is Role.ORGANISATION:
        organisation = getattr(actor, "organisation", None)
        if organisation is None or organisation.kind != "insurer":
            raise NotAllowed(
                "insurance.insurers_only",
                "核验失败反馈清单仅向保险公司提供。",
                "Only insurers receive the failed check feedback list.",
            )
        city = organisation.division[:4]
        own = Q(insurer_name=organisation.name)
        if len(city) == 4:
            own |= Q(insurer_name="", division__startswith=city)
        rows = rows.filter(own)
    else:
        prefix = division_prefix_for(actor, ACTION)
        if prefix is None:  # pragma: no cover - require() refused already
            raise NotAllowed("access.role_not_allowed", "无权查看。", "Not allowed.")
        if prefix:
            rows = rows.filter(division__startswith=prefix)
    return rows.order_by("insurer_name", "checked_at", "id")


@dataclass(frozen=True)
class InsurerGroup:
    insurer_name: str  # "" for "no policy found"
    rows: list[InsuranceCheckFailure]

    @property
    def count(self) -> int:
        return len(self.rows)


def feedback_groups(rows: QuerySet[InsuranceCheckFailure]) -> list[InsurerGroup]:
    """The rows grouped per insurer, "no policy found" last."""
    groups: dict[str, list[InsuranceCheckFailure]] = {}
    for row in rows:
        groups.setdefault(row.insurer_name, []).append(row)
    names = sorted(groups, key=lambda name: (name == "", name))
    return [InsurerGroup(name, groups[name]) for name in names]


MISSING_LABELS = {
    rules.COMPULSORY_INSURANCE: ("交强险", "compulsory insurance"),
    rules.VEHICLE_TAX: ("车船税", "vehicle tax"),
}


def missing_label(row: InsuranceCheckFailure, *, english: bool) -> str:
    words = [
        MISSING_LABELS[item][1 if english else 0] for item in row.missing_items if item in MISSING_LABELS
    ]
    return (", " if english else "、").join(words)


def purpose_label(row: InsuranceCheckFailure, *, english: bool) -> str:
    purpose = rules.Purpose(row.purpose)
    return purpose.label_en if english else purpose.label_zh
