"""``jiaoguan issue_inspection_marks``: electronic marks for every vehicle within its validity (E1)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from jiaoguan.credentials.services import (
    credential_status_sync,
    inspection_marks_bulk_issue,
    online_nonces_purge,
)


class Command(BaseCommand):
    help = "Issue electronic inspection marks in bulk, then bring every credential's status up to date."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        issued = inspection_marks_bulk_issue(batch_size=options["batch_size"])
        changed = credential_status_sync()
        purged = online_nonces_purge()
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"issued {issued} marks, {changed} status changes, {purged} expired nonces purged in {seconds:.1f} s"
        )
