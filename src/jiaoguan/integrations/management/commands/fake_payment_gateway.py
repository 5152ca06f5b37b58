"""Run the fake payment gateway (模拟支付平台) with this installation's settings.

The defaults come from the settings the platform itself uses (gateway URL, merchant id,
merchant key), so ``jiaoguan up`` and this command agree without extra configuration.
Orders are kept in the data folder across restarts.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jiaoguan.integrations import fake_payment_gateway


class Command(BaseCommand):
    help = "Serve the fake payment gateway for the demo and manual tests."
    # The gateway needs neither the database nor the checks; it must start even before migrate.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        url = urllib.parse.urlsplit(settings.PAYMENT_GATEWAY_URL)
        fake_payment_gateway.add_arguments(
            parser,
            {
                "host": url.hostname or "127.0.0.1",
                "port": url.port or (443 if url.scheme == "https" else 80),
                "merchant_id": settings.PAYMENT_MERCHANT_ID,
                "key": settings.PAYMENT_GATEWAY_KEY,
                "state": str(settings.DATA_DIR / "fake_payment_gateway.json"),
                "public_url": settings.PAYMENT_GATEWAY_URL,
            },
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["key"]:
            raise CommandError("no merchant key: set JIAOGUAN_PAYMENT_GATEWAY_KEY or pass --key")
        if options["port"] == 0 and options["public_url"] == settings.PAYMENT_GATEWAY_URL:
            options["public_url"] = ""  # a free port is not the configured URL's port
        fake_payment_gateway.serve(options, out=self._say)

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
