"""Make the reports to authorities and companies due on a day (N2): ``jiaoguan reports_generate``."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from jiaoguan.core.errors import DomainError
from jiaoguan.reports.services import reports_generate


class Command(BaseCommand):
    help = (
        "Generate and deliver the due reports R01-R11: last month's monthly reports and the event "
        "reports of the days before. Idempotent: what was sent is not sent again."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", help="run as on this day, YYYY-MM-DD (Asia/Shanghai); default today")
        parser.add_argument("--code", nargs="*", help="only these reports, e.g. --code R01 R02")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        if options["date"]:
            try:
                today = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError("--date must be YYYY-MM-DD") from None
        try:
            result = reports_generate(today=today, codes=options["code"] or None)
        except DomainError as exc:
            raise CommandError(exc.message_en) from None
        for line in result.periods:
            self.stdout.write(f"made {line}")
        for line in result.skipped:
            self.stdout.write(f"skipped {line}")
        self.stdout.write(f"{result.runs} reports delivered, {result.rows} rows")
        if result.failed:
            raise CommandError(f"not made, tried again on the next run: {', '.join(result.failed)}")
