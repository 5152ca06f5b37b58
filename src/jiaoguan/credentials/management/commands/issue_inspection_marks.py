"""``jiaoguan issue_inspection_marks``: electronic marks for every vehicle within its validity (E1)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from jiaoguan.credentials.services import (
    BulkIssueReport,
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
        report = BulkIssueReport()
        issued = inspection_marks_bulk_issue(batch_size=options["batch_size"], report=report)
        changed = credential_status_sync()
        purged = online_nonces_purge()
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"issued {issued} marks, {changed} status changes, {purged} expired nonces purged in {seconds:.1f} s"
        )
        if report.skipped:
            # Nothing is signed from a record the validators refuse; the data check lists such rows.
            self.stderr.write(
                f"skipped {report.skipped} vehicles whose plate, VIN or status code fails validation "
                f"(ids {', '.join(str(pk) for pk in report.skipped_ids[:20])}"
                f"{' ...' if report.skipped > 20 else ''})"
            )
