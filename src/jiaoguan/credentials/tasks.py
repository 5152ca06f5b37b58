"""Background tasks of credentials (Django Tasks API): the daily status sync."""

from __future__ import annotations

from datetime import date

from django_tasks import task

from .services import credential_status_sync


@task()
def credential_status_sync_task(day: str) -> int:
    """Bring credential statuses in line with the registry as of ``day`` (E4, D2); idempotent."""
    return credential_status_sync(today=date.fromisoformat(day))
