"""Background tasks of the cross-region transfer (Django Tasks API)."""

from __future__ import annotations

from django_tasks import task

from .services import transfers_retry


@task()
def transfers_retry_task() -> int:
    """Ask again the origins that did not answer: archives to fetch, registrations to close (T2, T3),
    problems and answers to deliver (T4). Nothing is lost while a DMV is down."""
    return transfers_retry()
