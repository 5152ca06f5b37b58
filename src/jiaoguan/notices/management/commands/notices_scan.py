"""The daily scan of the 37 notices and the safety warnings: ``jiaoguan notices_scan`` (N1, N4, N5)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.notices.scan import notices_scan


class Command(BaseCommand):
    help = "Scan the registry for the notice rules of a day and write their messages (resumable, idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", help="YYYY-MM-DD (Asia/Shanghai); default: today")
        parser.add_argument("--rule", nargs="+", metavar="CODE", help="only these rules, e.g. V01 L09")
        parser.add_argument("--rerun", action="store_true", help="scan finished rules of the day again")

    def handle(self, *args: Any, **options: Any) -> None:
        today = None
        if options["date"]:
            try:
                today = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError("--date must be YYYY-MM-DD") from None
        try:
            results = notices_scan(today=today, codes=options["rule"], rerun=options["rerun"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for r in results:
            state = "already done" if r.skipped else f"{r.seconds:.2f}s"
            self.stdout.write(
                f"{r.code}: {r.candidates} candidates, {r.hits} hits, {r.messages} new messages ({state})"
            )
        self.stdout.write(f"total: {sum(r.messages for r in results)} new messages")
