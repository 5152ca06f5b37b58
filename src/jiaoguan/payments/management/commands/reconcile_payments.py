"""Reconcile fine payments with the gateway's daily statement (对账): ``jiaoguan reconcile-payments``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from jiaoguan.payments.services import payments_reconcile


class Command(BaseCommand):
    help = "Settle pending payments, refund duplicate charges and close unpaid orders for a day."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--day", help="YYYY-MM-DD (Asia/Shanghai); default: yesterday and today")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["day"]:
            try:
                days = [date.fromisoformat(options["day"])]
            except ValueError:
                raise CommandError("--day must be YYYY-MM-DD") from None
        else:
            today = timezone.localdate()
            days = [today - timedelta(days=1), today]
        failed = False
        for day in days:
            run = payments_reconcile(day=day)
            self.stdout.write(
                f"{day}: {run.statement_lines} statement lines, {run.settled} settled, "
                f"{run.duplicates} duplicates refunded, {run.closed} closed, {run.still_pending} still pending"
                + (f", error: {run.error}" if run.error else "")
            )
            failed = failed or bool(run.error)
        if failed:
            raise CommandError("the statement could not be fetched; nothing was lost, run again later")
