"""Background tasks of the kernel (Django Tasks API): outbox delivery, the daily purges.

Tasks take ids, load fresh and call the service; running one twice does no harm (a sent
message is not sent again).
"""

from __future__ import annotations

from django_tasks import task

from .outbox import outbox_deliver, outbox_dispatch
from .purges import run_purges


@task()
def outbox_deliver_task(message_id: int) -> bool:
    """Deliver one outbox message enqueued by a web process with its change."""
    return outbox_deliver(message_id=message_id)


@task()
def outbox_dispatch_task() -> int:
    """Retry every unsent message (the periodic pass of the worker's schedule)."""
    return outbox_dispatch()


@task()
def purges_run_task() -> dict[str, int | None]:
    """Purge every short-lived table past its retention (issue 12); rows per table, None if failed."""
    return run_purges()
