"""Run the fake bank interconnection (模拟银行, issue 14, O6) with this installation's settings.

The defaults come from the settings the platform itself uses (bank URL, client id, key), so
``jiaoguan up`` and this command agree without extra configuration. The contract book starts
from ``demo_bank_contracts.json`` in the data folder when the demo wrote one.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jiaoguan.integrations import fake_bank_service

DEMO_CONTRACTS_FILE = "demo_bank_contracts.json"


class Command(BaseCommand):
    help = "Serve the fake bank interconnection for the demo and manual tests."
    # The service needs neither the database nor the checks; it must start even before migrate.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        url = urllib.parse.urlsplit(settings.BANK_URL)
        fake_bank_service.add_arguments(
            parser,
            {
                "host": url.hostname or "127.0.0.1",
                "port": url.port or (443 if url.scheme == "https" else 80),
                "client_id": settings.BANK_CLIENT_ID,
                "key": settings.BANK_KEY,
                "contracts": str(settings.DATA_DIR / DEMO_CONTRACTS_FILE),
            },
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["key"]:
            raise CommandError("no bank key: set JIAOGUAN_BANK_KEY or pass --key")
        fake_bank_service.serve(options, out=self._say)

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
