"""``jiaoguan import-violations FILE``: import camera records (电子监控记录) from JSON lines or CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.errors import DomainError
from jiaoguan.violations.importing import import_records

SHOWN_ERRORS = 20
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}


class Command(BaseCommand):
    help = (
        "Import violation records from a JSON-lines or CSV file ('-' reads standard input). Invalid lines are "
        "reported with their line number, duplicates by record number are ignored. Exit code 0 when the file "
        "was processed (even with invalid lines), 1 when it could not be read."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="path of the file, or - for standard input")
        parser.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file's extension")
        parser.add_argument(
            "--division", default=None, help="refuse rows recorded outside this GB/T 2260 code"
        )
        parser.add_argument("--chunk-size", type=int, default=5000)

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        fmt = options["format"] or _EXTENSIONS.get(Path(name).suffix.lower())
        if fmt is None:
            raise CommandError(
                "cannot tell the format from the file name; pass --format jsonl or --format csv"
            )
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be positive")
        try:
            stream: IO[bytes] = sys.stdin.buffer if name == "-" else open(name, "rb")
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror}") from exc
        try:
            batch = import_records(
                stream, fmt=fmt, submitted_by="cli", file_name="" if name == "-" else Path(name).name,
                allowed_divisions=options["division"], chunk_size=options["chunk_size"],
            )  # fmt: skip
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message_en}") from exc
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc}") from exc
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
        self.stdout.write(
            f"batch {batch.pk}: {batch.total_rows} rows, {batch.accepted_rows} accepted, "
            f"{batch.duplicate_rows} duplicates, {batch.invalid_rows} invalid"
        )
        for error in batch.errors[:SHOWN_ERRORS]:
            field = f" [{error['field']}]" if error["field"] else ""
            self.stdout.write(f"  line {error['line']}{field} {error['code']}: {error['message_en']}")
        if batch.invalid_rows > SHOWN_ERRORS:
            self.stdout.write(f"  ... {batch.invalid_rows - SHOWN_ERRORS} more invalid lines")
