"""Run the fake postal service (模拟邮政 EMS, issue 13) with this installation's settings.

The defaults come from the settings the platform itself uses (postal URL, customer number,
key), so ``jiaoguan up`` and this command agree without extra configuration. Parcels are
kept in the data folder across restarts.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jiaoguan.integrations import fake_postal_service


class Command(BaseCommand):
    help = "Serve the fake postal service for the demo and manual tests."
    # The service needs neither the database nor the checks; it must start even before migrate.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        url = urllib.parse.urlsplit(settings.POSTAL_URL)
        fake_postal_service.add_arguments(
            parser,
            {
                "host": url.hostname or "127.0.0.1",
                "port": url.port or (443 if url.scheme == "https" else 80),
                "customer_id": settings.POSTAL_CUSTOMER_ID,
                "key": settings.POSTAL_KEY,
                "state": str(settings.DATA_DIR / "fake_postal_service.json"),
            },
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["key"]:
            raise CommandError("no postal key: set JIAOGUAN_POSTAL_KEY or pass --key")
        fake_postal_service.serve(options, out=self._say)

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
