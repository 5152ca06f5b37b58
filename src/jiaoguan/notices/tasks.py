"""Background tasks of the notices (Django Tasks API): the SMS delivery pass and the daily scan of
the notice rules."""

from __future__ import annotations

from datetime import date

from django_tasks import task

from .delivery import deliveries_send_due
from .scan import notices_scan


@task()
def notices_deliveries_task() -> int:
    """Send the SMS whose time has come (new, or waiting after a failed attempt)."""
    return deliveries_send_due()


@task()
def notices_scan_task(day: str | None = None) -> int:
    """Scan the notice rules for a day (N1, N4, N5); resumable and idempotent. New messages written."""
    results = notices_scan(today=date.fromisoformat(day) if day else None)
    return sum(r.messages for r in results)
