"""Deadlines of an application (办理时限), computed in one place (issue 13).

Acceptance is due within one working day of submission. Working days come from the
official calendar (``core.workdays``, being built separately); until it is wired, no
deadline is known and none is guessed: the application stores ``deadline_known=False``.
"""

from __future__ import annotations

from datetime import date, datetime

ACCEPT_WITHIN_WORKING_DAYS = 1  # issue 13: accepted within 1 working day


def accept_due(submitted_at: datetime) -> tuple[date | None, bool]:
    """The date acceptance is due by, and whether the calendar knew it.

    This will call ``core.workdays.add_working_days(submitted_at's local date,
    ACCEPT_WITHIN_WORKING_DAYS)`` and return ``(due_on, known)``; until that module exists
    the deadline is unknown rather than estimated from weekends alone.
    """
    return None, False
