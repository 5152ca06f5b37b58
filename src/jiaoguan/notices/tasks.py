"""Background tasks of the notices (Django Tasks API): the SMS delivery pass."""

from __future__ import annotations

from django_tasks import task

from .delivery import deliveries_send_due


@task()
def notices_deliveries_task() -> int:
    """Send the SMS whose time has come (new, or waiting after a failed attempt)."""
    return deliveries_send_due()
