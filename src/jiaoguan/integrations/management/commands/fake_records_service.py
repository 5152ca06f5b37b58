"""Run the fake record systems (模拟核查服务, issue 18: U6, O4, O3) with this installation's settings.

The defaults come from the settings the platform itself uses (records URL, client id, key), so
``jiaoguan up`` and this command agree without extra configuration. Seeds live in memory only.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jiaoguan.integrations import fake_records_service


class Command(BaseCommand):
    help = "Serve the fake real-person authentication, exit-entry records and military licence registry."
    # The service needs neither the database nor the checks; it must start even before migrate.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        url = urllib.parse.urlsplit(settings.RECORDS_URL)
        fake_records_service.add_arguments(
            parser,
            {
                "host": url.hostname or "127.0.0.1",
                "port": url.port or (443 if url.scheme == "https" else 80),
                "client_id": settings.RECORDS_CLIENT_ID,
                "key": settings.RECORDS_KEY,
            },
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["key"]:
            raise CommandError("no records key: set JIAOGUAN_RECORDS_KEY or pass --key")
        fake_records_service.serve(options, out=self._say)

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
