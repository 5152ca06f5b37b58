"""Deadlines of an application (办理时限), computed in one place (issue 13, S1).

Acceptance is due within one working day of submission, on the official calendar with the
years staff entered (``core.workdays``). Beyond the known calendar no deadline is guessed:
the application stores ``deadline_known=False`` and staff see it flagged.
"""

from __future__ import annotations

from datetime import date, datetime

from jiaoguan.core.workdays import add_working_days

ACCEPT_WITHIN_WORKING_DAYS = 1  # S1: 1个工作日受理


def accept_due(submitted_at: datetime) -> tuple[date | None, bool]:
    """The date acceptance is due by, and whether the calendar knew it."""
    deadline = add_working_days(submitted_at, ACCEPT_WITHIN_WORKING_DAYS)
    return deadline.due_on, deadline.known
