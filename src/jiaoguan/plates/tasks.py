"""Background tasks of plate pre-selection (Django Tasks API): the day's seed committed in advance
and revealed after the day, and the sweep that writes down expired holds and lapsed choices."""

from __future__ import annotations

import logging

from django_tasks import task

from .services import draw_days_commit, draw_days_reveal, selections_normalise

logger = logging.getLogger(__name__)


@task()
def plate_draw_days_task() -> int:
    """Commit today's and tomorrow's seeds (the commitment precedes the morning's first draw) and
    reveal the seeds of ended days, so their draws can be replayed (issue 17 §3). Idempotent."""
    return draw_days_commit() + draw_days_reveal()


@task()
def plate_selections_sweep_task() -> int:
    """Ended holds are written down as expired and unregistered choices as lapsed (P3, P5): the
    numbers are free (after the quarantine) whether or not this runs; the lists read it."""
    return selections_normalise()


def plates_due() -> None:
    """The same work in the demo's own loop (``jiaoguan up`` runs no task worker)."""
    try:
        draw_days_commit()
        draw_days_reveal()
        selections_normalise()
    except Exception:  # a failure here must not stop the demo's loop
        logger.exception("plate selection pass failed")
