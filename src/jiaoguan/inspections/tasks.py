"""Background tasks of inspection booking (Django Tasks API): the stations' slots ahead."""

from __future__ import annotations

from django_tasks import task

from .services import slots_extend


@task()
def inspection_slots_extend_task() -> int:
    """Keep every active station's slots 8 weeks ahead (B4); idempotent, safe to run again."""
    return slots_extend()
