"""``manage.py demo_data --persons N --seed S [--today YYYY-MM-DD]``: load demo registry data."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from jiaoguan.core.management.arguments import iso_date
from jiaoguan.demo.generate import MIN_PERSONS, generate_demo


class Command(BaseCommand):
    help = (
        "Generate deterministic demonstration data for the Zhumadian detachment (驻马店 411700, 豫Q): "
        "persons, organisations, vehicles, driving licences and points. The same seed and date give the "
        "same data; running again adds more without clashing with what is there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--persons", type=int, required=True, help=f"number of persons (at least {MIN_PERSONS})"
        )
        parser.add_argument(
            "--seed", type=int, required=True, help="random seed; the same seed gives the same data"
        )
        parser.add_argument(
            "--today",
            type=iso_date,
            default=None,
            help="date the data is generated for, YYYY-MM-DD (default: today in China)",
        )
        parser.add_argument(
            "--batch-size", type=int, default=2000, help="persons per transaction (default 2000)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        persons: int = options["persons"]
        if persons < MIN_PERSONS:
            raise CommandError(f"--persons must be at least {MIN_PERSONS}")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be positive")
        today: date = options["today"] or timezone.localdate()
        started = time.perf_counter()
        counts = generate_demo(
            persons=persons, seed=options["seed"], today=today, batch_size=options["batch_size"]
        )
        elapsed = time.perf_counter() - started
        total = sum(counts.values())
        self.stdout.write(f"demo data for {today:%Y-%m-%d}, seed {options['seed']}:")
        for table, rows in counts.items():
            self.stdout.write(f"  {table:<16}{rows:>12,}")
        self.stdout.write(f"  {'total rows':<16}{total:>12,}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{total:,} rows in {elapsed:.1f} s ({total / max(elapsed, 1e-9):,.0f} rows/s)"
            )
        )
