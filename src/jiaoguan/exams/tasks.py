"""Background tasks of driving tests (Django Tasks API): allocation when windows close, and the
daily pass over missed exams and expired permits."""

from __future__ import annotations

import logging

from django_tasks import task

from .services import applications_mark_missed, decisions_deliver, permits_expire_due, plans_allocate_due

logger = logging.getLogger(__name__)


@task()
def exam_plans_allocate_task() -> int:
    """Allocate every open plan whose window has closed (X4); idempotent, an allocated plan is left."""
    return plans_allocate_due()


@task()
def exam_decisions_deliver_task(plan_id: int) -> int:
    """Tell every learner of an allocated plan their outcome (issue 16 §6): the plan's messages, in
    one task rather than one per learner."""
    return decisions_deliver(plan_id=plan_id)


@task()
def exams_daily_task() -> int:
    """Exams two days past with no result count as missed (a miss is a fail, S1 art. 42); waiting
    lists of past plans end; permits past their three years close. Idempotent."""
    return applications_mark_missed() + permits_expire_due()


def exams_due(*, daily: bool) -> None:
    """The same work in the demo's own loop (``jiaoguan up`` runs no task worker)."""
    try:
        plans_allocate_due()
        if daily:
            applications_mark_missed()
            permits_expire_due()
    except Exception:  # one plan that fails must not stop the demo's loop
        logger.exception("exam allocation pass failed")
