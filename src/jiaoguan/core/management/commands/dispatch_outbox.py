"""Retry unsent outbox messages; run from cron or a systemd timer in production."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jiaoguan.core.outbox import outbox_dispatch


class Command(BaseCommand):
    help = "Deliver outbox messages that were not sent after commit."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        sent = outbox_dispatch(limit=options["limit"])
        self.stdout.write(f"sent {sent}")
