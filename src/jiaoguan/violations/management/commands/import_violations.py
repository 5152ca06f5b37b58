"""``jiaoguan import-violations FILE``: import camera records (电子监控记录) from JSON lines or CSV."""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError

from jiaoguan.core.errors import DomainError
from jiaoguan.violations.importing import batch_state_now, import_records

SHOWN_ERRORS = 20
READ_BLOCK = 1024 * 1024
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}


def _digest(stream: IO[bytes]) -> tuple[str, int]:
    """SHA-256 and size of a seekable file, read from its start; the file is left at its start."""
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while block := stream.read(READ_BLOCK):
        digest.update(block)
        size += len(block)
    stream.seek(0)
    return digest.hexdigest(), size


class Command(BaseCommand):
    help = (
        "Import violation records from a JSON-lines or CSV file ('-' reads standard input). Invalid lines are "
        "reported with their line number, duplicates by record number are ignored. A batch whose import was "
        "interrupted (the process died) is completed by running the command again with the same file. Exit "
        "code 0 when the file was processed (even with invalid lines), 1 when it could not be read."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="path of the file, or - for standard input")
        parser.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file's extension")
        parser.add_argument(
            "--division", default=None, help="refuse rows recorded outside this GB/T 2260 code"
        )
        parser.add_argument(
            "--client",
            default=None,
            help="import on behalf of this API client (client id): the batch is the client's, shown to it "
            "by the API, and rows outside the client's area are refused",
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
        submitted_by, allowed = "cli", options["division"]
        if options["client"]:
            from jiaoguan.accounts.models import ApiClient

            client = ApiClient.objects.filter(client_id=options["client"], revoked_at__isnull=True).first()
            if client is None:
                raise CommandError(f"no active API client {options['client']}")
            submitted_by, allowed = client.client_id, allowed or client.division
        try:
            stream = self._open(name)
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror or exc}") from exc
        try:
            sha256, size = _digest(stream)
            batch = import_records(
                stream, fmt=fmt, submitted_by=submitted_by, file_name="" if name == "-" else Path(name).name,
                allowed_divisions=allowed, chunk_size=options["chunk_size"], sha256=sha256, size_bytes=size,
                progress=lambda batch, started: self._progress(batch, started, options["verbosity"]),
            )  # fmt: skip
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message_en}") from exc
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc}") from exc
        finally:
            stream.close()
        self.stdout.write(
            f"batch {batch.pk} {batch_state_now(batch).value}: {batch.total_rows} rows, "
            f"{batch.accepted_rows} accepted, {batch.duplicate_rows} duplicates, {batch.invalid_rows} invalid"
        )
        for error in batch.errors[:SHOWN_ERRORS]:
            field = f" [{error['field']}]" if error["field"] else ""
            self.stdout.write(f"  line {error['line']}{field} {error['code']}: {error['message_en']}")
        if batch.invalid_rows > SHOWN_ERRORS:
            self.stdout.write(f"  ... {batch.invalid_rows - SHOWN_ERRORS} more invalid lines")

    def _progress(self, batch: Any, started: bool, verbosity: int) -> None:
        """A line when the batch starts (and, with -v 2, after every chunk), flushed at once."""
        if started:
            going_on = f" (going on after line {batch.lines_done})" if batch.lines_done else ""
            self.stdout.write(f"batch {batch.pk}: importing {batch.file_name or 'standard input'}{going_on}")
        elif verbosity >= 2:
            self.stdout.write(f"batch {batch.pk}: {batch.total_rows} rows, {batch.accepted_rows} accepted")
        else:
            return
        self.stdout.flush()

    def _open(self, name: str) -> IO[bytes]:
        """The file, seekable: standard input is copied to a temporary file first, so that its
        content can be hashed and an interrupted batch of it found and completed."""
        if name != "-":
            return open(name, "rb")
        spool = tempfile.TemporaryFile()
        shutil.copyfileobj(sys.stdin.buffer, spool, READ_BLOCK)
        return spool
