"""Background tasks of acting for others (Django Tasks API)."""

from __future__ import annotations

from django_tasks import task

from .services import filings_settle, proxies_settle


@task()
def vehicle_filings_sweep_task() -> int:
    """Write down filings that lapsed (consent window passed, or the vehicle changed owner, U7).
    The driver's mark already disappears at read time; this keeps the stored states true."""
    return filings_settle()


@task()
def elder_proxies_sweep_task() -> int:
    """Write down the elderly proxies past their last day that were never used (O2)."""
    return proxies_settle()
