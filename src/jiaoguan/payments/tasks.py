"""Background tasks of payments (Django Tasks API): reconciliation with the gateway."""

from __future__ import annotations

from datetime import date

from django_tasks import task

from .services import payments_reconcile


@task()
def payments_reconcile_task(day: str) -> int:
    """Reconcile ``day`` (YYYY-MM-DD) against the gateway's statement; safe to run again."""
    return payments_reconcile(day=date.fromisoformat(day)).pk
