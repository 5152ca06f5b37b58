"""Background tasks of applications (Django Tasks API): tracking of posted documents."""

from __future__ import annotations

from django_tasks import task

from .services import postal_tracking_poll


@task()
def postal_tracking_poll_task() -> int:
    """Ask the postal service about parcels whose callbacks may be lost; safe to run again."""
    return postal_tracking_poll().checked
