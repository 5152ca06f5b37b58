"""``jiaoguan publications_regenerate [--date YYYY-MM-DD]``: recompute the 13 publications (N3)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from jiaoguan.announcements.services import publications_regenerate


class Command(BaseCommand):
    help = (
        "重新生成13项交通安全信息公布（按月），内容未变的不改动；工作进程每天自动执行一次。 "
        "Recompute the 13 publications for the month of today (or --date); unchanged ones are left "
        "as they are. The worker runs this daily."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", default="", help="the day to compute for (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            today = date.fromisoformat(options["date"]) if options["date"] else timezone.localdate()
        except ValueError as error:
            raise CommandError("--date must be YYYY-MM-DD") from error
        counts = publications_regenerate(today=today)
        self.stdout.write(
            f"publications {today:%Y-%m}: {counts['created']} created, {counts['changed']} changed, "
            f"{counts['unchanged']} unchanged"
        )
