"""Run the fake insurer data exchange (模拟保险信息平台, issue 14 / O7) with this installation's settings.

The defaults come from the settings the platform itself uses (insurer URL, client id, key), so
``jiaoguan up`` and this command agree without extra configuration. Seeded vehicles live in
memory only: unseeded VINs follow the documented defaults, which is what the demo relies on.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jiaoguan.integrations import fake_insurer_service


class Command(BaseCommand):
    help = "Serve the fake insurer data exchange for the demo and manual tests."
    # The service needs neither the database nor the checks; it must start even before migrate.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        url = urllib.parse.urlsplit(settings.INSURER_URL)
        fake_insurer_service.add_arguments(
            parser,
            {
                "host": url.hostname or "127.0.0.1",
                "port": url.port or (443 if url.scheme == "https" else 80),
                "client_id": settings.INSURER_CLIENT_ID,
                "key": settings.INSURER_KEY,
            },
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["key"]:
            raise CommandError("no insurer key: set JIAOGUAN_INSURER_KEY or pass --key")
        fake_insurer_service.serve(options, out=self._say)

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
