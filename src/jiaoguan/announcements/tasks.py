"""Background tasks of announcements and publications (Django Tasks API)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from .services import publications_regenerate


@task()
def publications_regenerate_task() -> dict[str, int]:
    """Recompute the 13 publications for today's month (N3); idempotent, safe to run again."""
    return publications_regenerate(today=timezone.localdate())
