"""Background tasks of the study to reduce points and the full-score education (Django Tasks API)."""

from __future__ import annotations

from django_tasks import task

from .services import full_score_sweep


@task()
def full_score_sweep_task() -> dict[str, int]:
    """Open the full-score education of licences that reached 12 points and stop (J) those whose
    education was missed for 30 days (V7, RULES.md "Points (S2)"). Idempotent."""
    return full_score_sweep()
