"""Background tasks of the reports (Django Tasks API): the daily generation run (N2)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django_tasks import task

from .services import reports_generate


@task()
def reports_generate_task(*, day: str = "") -> int:
    """Make every due report period not finished yet as of ``day`` (default today); idempotent."""
    return reports_generate(today=date.fromisoformat(day) if day else timezone.localdate()).runs
