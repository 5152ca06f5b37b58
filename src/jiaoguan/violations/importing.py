"""Bulk import of camera records (电子监控违法记录批量导入) from JSON lines or CSV.

Used by ``POST /api/v1/violations/batches`` and ``jiaoguan import-violations FILE``.

* Streaming: the input is read line by line and handled in chunks, so a file of a million
  rows needs the memory of one chunk, not of the file.
* Every record goes through :func:`violations.services.record_clean`, the same checks as a
  single record; an import only adds what a file needs (a required record number, the
  client's area, parsing). A bad line is an error with its line number and reason, never
  a crash of the whole import.
* Duplicates by record number (inside the file, against the database, or against an
  import running at the same time) are counted and ignored.
* Each chunk is one transaction: its rows and the batch's counters commit together, so
  the counters of a batch always match the rows it kept. Concurrent imports take turns
  to insert (a named lock per chunk); they validate in parallel.
* A batch has a state (``rules.BatchState``): receiving while its process works on it,
  then complete, or failed with the reason. A process that dies leaves it receiving with
  the chunks it committed; it then reads as interrupted (:func:`batch_state_now`), and
  the same file sent again (same SHA-256, or the same Idempotency-Key) completes that
  batch: each chunk's counters commit with the file position after it, so the import goes
  on from there with those counters, nothing is stored twice and the batch ends as one
  uninterrupted run would have left it. A batch belongs to one process at a time; a
  process that was taken over stops at its next chunk.

Formats, one record per line (a quoted CSV field cannot span lines):

* ``jsonl``: one JSON object per line; line numbers start at 1.
* ``csv``: a header row naming the columns (any order, extra columns ignored), line 1.

Fields: record_number, plate_number, plate_type, occurred_at (ISO 8601 with an offset),
place, code, recording_division, device_id, and optionally on_expressway (boolean).
"""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from django.db import DatabaseError, DataError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from jiaoguan.core.divisions import division_prefix
from jiaoguan.core.errors import Conflict, DomainError, ValidationFailed
from jiaoguan.core.locks import lock_named
from jiaoguan.registry.models import Vehicle

from . import personal, rules
from .models import ImportBatch, Violation
from .rules import Source
from .services import RecordInput, paper_label_refusal, record_clean, violations_recorded_publish

Format = Literal["jsonl", "csv"]
FORMATS: tuple[str, ...] = ("jsonl", "csv")
REQUIRED_FIELDS: tuple[str, ...] = (
    "record_number", "plate_number", "plate_type", "occurred_at", "place", "code", "recording_division",
    "device_id",
)  # fmt: skip
OPTIONAL_FIELDS: tuple[str, ...] = ("on_expressway",)
MAX_ERRORS = 1000  # kept in ImportBatch.errors; the counters stay exact beyond it
MAX_LINE_BYTES = 64 * 1024  # a record is a few hundred bytes; longer lines are refused, not buffered
IMPORT_LOCK = "violations.import"
READ_SKIP = 1024 * 1024  # bytes per read when skipping the imported part of a stream
LOOKUP_SLICE = 500  # values per IN (...) lookup, see _slices

# Errors raised by shared validators name their own form field; in a file the column is meant.
_FIELD_NAMES = {"plate": "plate_number", "division": "recording_division"}
# PostgreSQL cannot store NUL or lone surrogates (JSON "\ud800" escapes), and no field of a
# record has a reason to hold any other control character.
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_TRUE = frozenset({"1", "true", "yes", "y", "是"})
_FALSE = frozenset({"", "0", "false", "no", "n", "否"})
_BOOLEAN_WORDS = _TRUE | _FALSE
_TOO_LONG = object()  # marks a line cut at MAX_LINE_BYTES


@dataclass
class _Row:
    """A parsed line waiting for the chunk's duplicate check and validation."""

    line: int
    number: str
    data: RecordInput


@dataclass
class _Counters:
    total: int = 0
    accepted: int = 0
    duplicates: int = 0
    invalid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_changed: bool = False

    def error(self, line: int, exc: DomainError) -> None:
        self.invalid += 1
        if len(self.errors) < MAX_ERRORS:
            name = exc.detail.get("field") or exc.field or ""
            self.errors.append(
                {
                    "line": line,
                    "code": exc.code,
                    "field": _FIELD_NAMES.get(name, name),
                    "message_zh": exc.message_zh,
                    "message_en": exc.message_en,
                }
            )
            self.errors_changed = True


def _line_error(code: str, zh: str, en: str, *, field: str | None = None) -> ValidationFailed:
    return ValidationFailed(code, zh, en, field=field)


# ------------------------------------------------------------------------------ reading lines


def _physical_lines(source: Any) -> Iterator[bytes | str | object]:
    """The lines of a file object (read with a length limit) or of an iterable of lines."""
    readline = getattr(source, "readline", None)
    if readline is None:
        yield from source
        return
    while True:
        line = readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n" if isinstance(line, bytes) else "\n"):
            # Skip the rest of the overlong line without holding it in memory.
            while line and not line.endswith(b"\n" if isinstance(line, bytes) else "\n"):
                line = readline(MAX_LINE_BYTES)
            yield _TOO_LONG
            continue
        yield line


def _text_lines(source: Any, *, first_line: int = 1) -> Iterator[tuple[int, str | DomainError]]:
    """(line number, text without the line end) or (line number, the error for that line)."""
    for number, raw in enumerate(_physical_lines(source), start=first_line):
        if raw is _TOO_LONG or len(raw) > MAX_LINE_BYTES:  # type: ignore[arg-type]
            yield number, _line_error(
                "violations.import_line_too_long", f"该行超过 {MAX_LINE_BYTES} 字节。",
                f"The line is longer than {MAX_LINE_BYTES} bytes.",
            )  # fmt: skip
            continue
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield (
                    number,
                    _line_error(
                        "violations.import_encoding",
                        "该行不是有效的 UTF-8 文本。",
                        "The line is not valid UTF-8 text.",
                    ),
                )
                continue
        else:
            text = str(raw)
        if number == 1:
            text = text.removeprefix("\ufeff")  # byte order mark written by some spreadsheet exports
        yield number, text.rstrip("\r\n")


# ------------------------------------------------------------------------------ parsing records


def _text_field(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    if value is None:
        raise _line_error(
            "violations.import_field_missing",
            f"缺少字段 {name}。",
            f"The field {name} is missing.",
            field=name,
        )
    if not isinstance(value, str):
        raise _line_error(
            "violations.import_field_type", f"字段 {name} 应为字符串。", f"The field {name} must be a string.",
            field=name,
        )  # fmt: skip
    if _UNSTORABLE.search(value):
        raise _line_error(
            "violations.import_control_characters", f"字段 {name} 含有控制字符或无效字符。",
            f"The field {name} contains control or invalid characters.", field=name,
        )  # fmt: skip
    return value


def _boolean_field(values: dict[str, Any], name: str) -> bool:
    value = values.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        return value.strip().lower() in _TRUE
    raise _line_error(
        "violations.import_field_type", f"字段 {name} 应为 true 或 false。", f"The field {name} must be true or false.",
        field=name,
    )  # fmt: skip


def _record(values: dict[str, Any]) -> tuple[str, RecordInput]:
    """The normalised record number and the record, from one line's values."""
    text = {name: _text_field(values, name) for name in REQUIRED_FIELDS}
    if not text["record_number"].strip():
        raise _line_error(
            "violations.import_record_number_required", "批量导入的记录须有违法记录编号。",
            "Imported records need a record number.", field="record_number",
        )  # fmt: skip
    number = rules.record_number_check(text["record_number"])
    try:
        occurred_at = datetime.fromisoformat(text["occurred_at"].strip())
    except ValueError:
        raise _line_error(
            "violations.import_time_format", "违法时间应为 ISO 8601 格式并带时区，例如 2025-03-04T10:15:00+08:00。",
            "The violation time must be ISO 8601 with an offset, e.g. 2025-03-04T10:15:00+08:00.",
            field="occurred_at",
        ) from None  # fmt: skip
    return number, RecordInput(
        plate_number=text["plate_number"],
        plate_type=text["plate_type"].strip(),
        occurred_at=occurred_at,
        place=text["place"],
        code=text["code"].strip(),
        recording_division=text["recording_division"].strip(),
        source=Source.MONITORING,
        record_number=number,
        device_id=text["device_id"],
        on_expressway=_boolean_field(values, "on_expressway"),
    )


def _jsonl_values(text: str) -> dict[str, Any]:
    try:
        values = json.loads(text)
    except (ValueError, RecursionError):
        raise _line_error(
            "violations.import_json", "该行不是有效的 JSON。", "The line is not valid JSON."
        ) from None
    if not isinstance(values, dict):
        raise _line_error(
            "violations.import_json", "该行应为一个 JSON 对象。", "The line must be a JSON object."
        )
    return values


class _CsvColumns:
    """Column positions from the header row."""

    def __init__(self, header: list[str]) -> None:
        names = [name.strip().lower() for name in header]
        missing = [name for name in REQUIRED_FIELDS if name not in names]
        if missing:
            raise ValidationFailed(
                "violations.import_header",
                f"CSV 首行应为列名，缺少：{', '.join(missing)}。",
                f"The first CSV line must name the columns; missing: {', '.join(missing)}.",
                detail={"line": 1, "missing": missing},
            )
        self.width = len(names)
        self.positions = {
            name: names.index(name) for name in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS) if name in names
        }

    def values(self, text: str) -> dict[str, Any]:
        try:
            cells = next(csv.reader([text]))
        except (csv.Error, StopIteration):
            raise _line_error(
                "violations.import_csv", "该行不是有效的 CSV。", "The line is not valid CSV."
            ) from None
        if len(cells) != self.width:
            raise _line_error(
                "violations.import_columns", f"该行有 {len(cells)} 列，首行列名为 {self.width} 列。",
                f"The line has {len(cells)} columns; the header has {self.width}.",
            )  # fmt: skip
        return {name: cells[index] for name, index in self.positions.items()}


# ------------------------------------------------------------------------------ the import


def _slices(items: list[str]) -> Iterator[list[str]]:
    """Slices for ``IN (...)`` lookups on a unique index.

    Small enough for SQLite's 999 parameters, and for PostgreSQL to keep choosing the index:
    with thousands of values and the statistics of a table that an import is growing, it
    prefers a sequential scan of the whole table (measured on a million rows: 300 ms for one
    lookup of 5000 numbers, 80 ms for ten of 500).
    """
    for start in range(0, len(items), LOOKUP_SLICE):
        yield items[start : start + LOOKUP_SLICE]


def _existing_numbers(numbers: list[str]) -> set[str]:
    found: set[str] = set()
    for part in _slices(numbers):
        found.update(Violation.objects.filter(record_number__in=part).values_list("record_number", flat=True))
    return found


def _vehicle_ids(plates: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in _slices(plates):
        found.update(
            (plate, pk)
            for plate, pk in Vehicle.objects.filter(plate_number__in=part).values_list("plate_number", "id")
            if plate
        )
    return found


def _allowed_prefixes(allowed_divisions: str | None) -> tuple[str, ...] | None:
    if allowed_divisions is None:
        return None
    prefixes = []
    for code in allowed_divisions.split():
        prefixes.append(division_prefix(code) if len(code) == 6 else code)
    return tuple(prefixes)


@functools.cache
def _violation_layout() -> tuple[tuple[str, ...], dict[str, Any]]:
    """The model's column attributes in order, and each one's default, computed once."""
    columns = Violation._meta.concrete_fields
    if any(column.has_default() and callable(column.default) for column in columns):
        raise TypeError("a callable default must be computed per row; build the rows with keywords")
    return (
        tuple(column.attname for column in columns),
        {column.attname: None if column.primary_key else column.get_default() for column in columns},
    )


def _violation(fields: dict[str, Any], *, vehicle_id: int | None, batch_id: int) -> Violation:
    """An unsaved violation from cleaned fields.

    Positional arguments take Model.__init__'s fast path, half the cost of keywords; at a
    million rows that is measurable (about 7% of an import).
    """
    names, defaults = _violation_layout()
    if not fields.keys() <= defaults.keys():
        raise TypeError(f"not Violation fields: {sorted(fields.keys() - defaults.keys())}")
    values = {**defaults, **fields, "vehicle_id": vehicle_id, "batch_id": batch_id}
    return Violation(*[values[name] for name in names])


# ------------------------------------------------------------------------------ batches and their processes


class BatchTakenOver(Conflict):
    """Another process took the batch over (this one was thought dead); this one stops (409)."""

    def __init__(self, batch_id: int) -> None:
        super().__init__(
            "violations.batch_taken_over",
            f"导入批次 {batch_id} 已由重新发送的同一文件接续导入，本次导入停止。",
            f"Batch {batch_id} was taken over by the same file sent again; this import stops.",
            detail={"batch_id": batch_id},
        )


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), which tells a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return fields[19].decode() if len(fields) > 19 and fields[0] != b"Z" else ""


def _machine() -> str:
    """The host name, and on Linux the pid namespace: containers may share a host name, never a namespace."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()[:60]}{namespace}"


def this_process() -> str:
    """``machine pid start``: who imports a batch, precise enough to tell later whether it still runs."""
    return f"{_machine()} {os.getpid()} {_start_ticks(os.getpid())}".strip()


def process_alive(worker: str) -> bool | None:
    """Whether the process named by :func:`this_process` still runs; None when it ran on another host."""
    parts = worker.split()
    if len(parts) < 2 or not parts[1].isdigit():
        return False
    machine, pid = parts[0], int(parts[1])
    if machine != _machine():
        return None
    if os.path.isdir("/proc/self"):
        started = _start_ticks(pid)  # empty for a process that is gone or a zombie
        return bool(started) and (len(parts) < 3 or started == parts[2])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def batch_state_now(batch: ImportBatch, *, now: datetime | None = None) -> rules.BatchState:
    """The batch's state as it is now: receiving, complete, failed or interrupted."""
    alive = process_alive(batch.worker) if batch.state == ImportBatch.State.RECEIVING else None
    return rules.batch_state(
        stored=batch.state, last_progress=batch.heartbeat_at, now=now or timezone.now(), process_alive=alive
    )


def _key_reused() -> Conflict:
    return Conflict(
        "core.idempotency_key_reused",
        "该 Idempotency-Key 已用于另一个不同的请求。",
        "This Idempotency-Key was already used for a different request.",
    )


def batch_open(
    *,
    submitted_by: str,
    fmt: str,
    file_name: str = "",
    sha256: str = "",
    size_bytes: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[ImportBatch, bool]:
    """The batch this delivery goes into, and whether it is already complete (then it is the answer).

    * The same Idempotency-Key again: its batch, complete (a replay), still receiving (409),
      or interrupted or failed (taken over to complete it); with another file: 409.
    * Without a key, or a new one: an interrupted or failed batch of the same sender and
      the same content is taken over; otherwise a new batch.
    """
    submitted_by = submitted_by[:64]
    now = timezone.now()
    with transaction.atomic():
        if idempotency_key:
            lock_named(f"violations.batch:{submitted_by}:key:{idempotency_key}")
        if sha256:
            lock_named(f"violations.batch:{submitted_by}:sha256:{sha256}")
        batch = None
        if idempotency_key:
            batch = (
                ImportBatch.objects.select_for_update()
                .filter(submitted_by=submitted_by, idempotency_key=idempotency_key)
                .first()
            )
            if batch is not None and (batch.sha256, batch.format, batch.file_name) != (
                sha256,
                fmt,
                file_name[:200],
            ):
                raise _key_reused()
        if batch is None and sha256:
            candidates = ImportBatch.objects.select_for_update().filter(
                submitted_by=submitted_by, sha256=sha256, format=fmt,
                state__in=[ImportBatch.State.RECEIVING, ImportBatch.State.FAILED, ImportBatch.State.INTERRUPTED],
            )  # fmt: skip
            if idempotency_key:  # another key is another delivery
                candidates = candidates.filter(Q(idempotency_key="") | Q(idempotency_key=idempotency_key))
            batch = next(
                (b for b in candidates.order_by("-pk") if rules.batch_resumable(batch_state_now(b, now=now))),
                None,
            )
        if batch is not None:
            state = batch_state_now(batch, now=now)
            if state is rules.BatchState.COMPLETE:
                return batch, True
            if not rules.batch_resumable(state):
                raise Conflict(
                    "core.idempotency_in_progress",
                    "相同请求正在处理中，请稍后重试。",
                    "The same request is still being processed; try again shortly.",
                    detail={"batch_id": batch.pk, "rows": batch.total_rows},
                )
            batch.idempotency_key = batch.idempotency_key or idempotency_key or ""
            _take_over(batch, now=now, size_bytes=size_bytes)
            return batch, False
        batch = ImportBatch.objects.create(
            submitted_by=submitted_by, file_name=file_name[:200], format=fmt, sha256=sha256,
            idempotency_key=idempotency_key or "", size_bytes=size_bytes, worker=this_process(),
            heartbeat_at=now,
        )  # fmt: skip
    return batch, False


def _take_over(batch: ImportBatch, *, now: datetime, size_bytes: int | None) -> None:
    """Make the batch this process's; its counters and file position stay, the import goes on from them."""
    batch.state = ImportBatch.State.RECEIVING
    batch.worker = this_process()
    batch.heartbeat_at = now
    batch.finished_at = None
    batch.failure = ""
    batch.size_bytes = size_bytes if size_bytes is not None else batch.size_bytes
    batch.save()


class _CountingReader:
    """A binary file whose bytes read so far are counted (how far an import got, where to go on)."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.consumed = 0

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self.source.readline(limit)
        self.consumed += len(line)
        return line

    def skip_to(self, offset: int) -> None:
        """Go on from ``offset``, a line boundary an earlier run of the same file reached."""
        seekable = getattr(self.source, "seekable", None)
        if seekable is not None and seekable():
            self.source.seek(offset)
            self.consumed = offset
            return
        while self.consumed < offset:
            if not self.readline(min(offset - self.consumed, READ_SKIP)):
                break
        if self.consumed != offset:
            raise ValueError("the file is shorter than the part already imported")


class _Importer:
    """Keeps the batch's counters and stores one chunk at a time, while the batch is its process's."""

    def __init__(
        self,
        batch: ImportBatch,
        *,
        allowed: tuple[str, ...] | None,
        reader: _CountingReader | None = None,
        progress: Callable[[ImportBatch, bool], None] | None = None,
    ) -> None:
        self.batch = batch
        self.progress = progress
        self.allowed = allowed
        self.reader = reader
        self.worker = batch.worker
        self.last_line = batch.lines_done
        # Going on with a batch: the counters its last chunk committed (zero for a new one).
        self.counters = _Counters(
            total=batch.total_rows, accepted=batch.accepted_rows, duplicates=batch.duplicate_rows,
            invalid=batch.invalid_rows, errors=list(batch.errors),
        )  # fmt: skip

    def chunk(self, rows: list[_Row], failed: list[tuple[int, DomainError]]) -> None:
        """Validate, deduplicate and keep one chunk; ``failed`` holds the lines that did not parse."""
        counters = self.counters
        for line, exc in failed:
            counters.error(line, exc)
        existing = _existing_numbers([row.number for row in rows])
        now = timezone.now()
        seen: set[str] = set()
        keep: list[tuple[int, dict[str, Any]]] = []
        for row in rows:
            if row.number in existing or row.number in seen:
                counters.duplicates += 1
                continue
            try:
                fields = record_clean(row.data, now=now)
                if self.allowed is not None and not fields["recording_division"].startswith(self.allowed):
                    raise _line_error(
                        "violations.import_division_not_allowed",
                        f"记录机关 {fields['recording_division']} 不在本接入系统的辖区内。",
                        f"The recording agency {fields['recording_division']} is outside this client's area.",
                        field="recording_division",
                    )
                # E3: no paper-label offence for a vehicle whose electronic mark was valid that day;
                # the reason goes to the batch report with the line.
                refusal = paper_label_refusal(
                    code=fields["code"],
                    plate_number=fields["plate_number"],
                    occurred_at=fields["occurred_at"],
                )
                if refusal is not None:
                    raise refusal
            except DomainError as exc:
                counters.error(row.line, exc)
                continue
            seen.add(row.number)
            keep.append((row.line, fields))
        keep.sort(key=lambda item: item[1]["record_number"])  # index-friendly insert order
        vehicles = _vehicle_ids(sorted({fields["plate_number"] for _, fields in keep}))
        self.counters = self._store(keep, vehicles)
        if self.progress is not None:
            self.progress(self.batch, False)

    def _store(self, keep: list[tuple[int, dict[str, Any]]], vehicles: dict[str, int]) -> _Counters:
        """Insert the rows and save the counters in one transaction; returns the counters after it."""
        after = replace(self.counters, errors=list(self.counters.errors))
        batch_id = self.batch.pk
        objs = [
            _violation(fields, vehicle_id=vehicles.get(fields["plate_number"]), batch_id=batch_id)
            for _, fields in keep
        ]
        with transaction.atomic():
            refused: list[int] = []
            if objs:
                # One import inserts at a time: two imports inside outer transactions (an
                # Idempotency-Key) holding overlapping uncommitted numbers would otherwise wait on
                # each other until PostgreSQL aborts one as a deadlock. Validation, the costly
                # part, still runs in parallel.
                lock_named(IMPORT_LOCK)
                try:
                    with transaction.atomic():
                        # ignore_conflicts: a concurrent import may have kept some of these numbers
                        # since the check above; they are duplicates, not errors.
                        Violation.objects.bulk_create(objs, ignore_conflicts=True)
                except (IntegrityError, DataError):
                    # A row the checks let through but the database refuses; transient errors
                    # (lock timeouts, lost connections) fail the import instead of every row.
                    refused = _store_one_by_one(keep, objs)
            # Bulk inserts send no signal: the owners' cached reads are retired here (issue 12).
            personal.violations_recorded(objs)
            for line in refused:
                after.error(
                    line,
                    _line_error(
                        "violations.import_storage", "数据库拒绝保存该记录，请核对各字段。",
                        "The database refused this record; check its fields.",
                    ),
                )  # fmt: skip
            # Rows with this batch's id are exactly the ones this import inserted, whatever a
            # concurrent import did; the others it tried were taken first by someone else.
            # Counted here, not with batch_id in the WHERE clause: PostgreSQL would then walk
            # the batch_id index over every row the batch has so far, once per chunk.
            inserted = 0
            told: list[str] = []
            for part in _slices([obj.record_number for obj in objs]):
                found = Violation.objects.filter(record_number__in=part).values_list(
                    "batch_id", "record_number", "vehicle_id"
                )
                for owner, number, vehicle_id in found:
                    if owner == batch_id:
                        inserted += 1
                        if vehicle_id is not None:
                            told.append(number)
            # The owners are told of the new records after commit (issue 15, N1 W01).
            violations_recorded_publish(told)
            after.accepted += inserted
            after.duplicates += len(objs) - len(refused) - inserted
            self._save(after)  # raises when the batch was taken over: the chunk is rolled back
        return after

    def _save(self, counters: _Counters, **more: Any) -> None:
        update: dict[str, Any] = {
            "total_rows": counters.total,
            "accepted_rows": counters.accepted,
            "duplicate_rows": counters.duplicates,
            "invalid_rows": counters.invalid,
            "heartbeat_at": timezone.now(),
            **more,
        }
        if self.reader is not None:
            update["bytes_done"] = self.reader.consumed
            update["lines_done"] = self.last_line
        if counters.errors_changed:
            update["errors"] = counters.errors
            counters.errors_changed = False
        if not ImportBatch.objects.filter(pk=self.batch.pk, worker=self.worker).update(**update):
            raise BatchTakenOver(self.batch.pk)
        for name, value in update.items():
            setattr(self.batch, name, value)

    def finish(self) -> None:
        """Every line read: the batch is complete and its counters final."""
        now = timezone.now()
        self._save(self.counters, state=ImportBatch.State.COMPLETE, finished_at=now)

    def stop(self, state: str, reason: str) -> None:
        """Record why the import stopped (its committed chunks stay), if the batch is still this process's."""
        try:
            ImportBatch.objects.filter(
                pk=self.batch.pk, worker=self.worker, state=ImportBatch.State.RECEIVING
            ).update(state=state, failure=reason[:300], heartbeat_at=timezone.now())
            self.batch.refresh_from_db()
        except DatabaseError:
            pass  # the database itself failed (or an outer transaction did): the batch reads as interrupted


def _store_one_by_one(keep: list[tuple[int, dict[str, Any]]], objs: list[Violation]) -> list[int]:
    """A chunk the database refused as a whole: keep what it accepts; returns the refused lines."""
    refused = []
    for (line, _), obj in zip(keep, objs, strict=True):
        try:
            with transaction.atomic():
                Violation.objects.bulk_create([obj], ignore_conflicts=True)
        except (IntegrityError, DataError):
            refused.append(line)
    return refused


def _non_blank(lines: Iterator[tuple[int, str | DomainError]]) -> Iterator[tuple[int, str | DomainError]]:
    return (item for item in lines if not isinstance(item[1], str) or item[1].strip())


def _data_lines(source: Any, fmt: str) -> tuple[_CsvColumns | None, Iterator[tuple[int, str | DomainError]]]:
    """The CSV columns (read from the first line) and the remaining non-blank lines."""
    lines = _non_blank(_text_lines(source))
    if fmt != "csv":
        return None, lines
    for number, text in lines:
        if isinstance(text, DomainError):
            raise ValidationFailed(text.code, text.message_zh, text.message_en, detail={"line": number})
        try:
            header = next(csv.reader([text]))
        except csv.Error:
            header = []
        return _CsvColumns(header), lines
    return None, lines


def import_records(
    lines_or_file: Iterable[bytes] | Iterable[str] | Any,
    *,
    fmt: Format | str,
    submitted_by: str,
    file_name: str = "",
    allowed_divisions: str | None = None,
    chunk_size: int = 5000,
    sha256: str = "",
    size_bytes: int | None = None,
    idempotency_key: str | None = None,
    progress: Callable[[ImportBatch, bool], None] | None = None,
) -> ImportBatch:
    """Import camera records from a binary file object (or an iterable of lines); returns the batch.

    ``allowed_divisions``: GB/T 2260 codes (or prefixes), space-separated, that the rows'
    recording agencies must lie in; None allows any. A CSV whose first line lacks a required
    column raises :class:`ValidationFailed` before anything is stored.

    ``sha256`` (of the whole file) and ``idempotency_key`` identify the delivery, so that
    sending it again completes an interrupted batch or, with the key, answers with the
    complete one (see :func:`batch_open`); ``size_bytes`` lets the batch show how far it got.
    ``progress(batch, started)`` is called once the batch is open (True), then after each chunk.
    """
    if fmt not in FORMATS:
        raise ValidationFailed(
            "violations.import_format",
            "格式应为 jsonl 或 csv。",
            "The format must be jsonl or csv.",
            field="format",
        )
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    allowed = _allowed_prefixes(allowed_divisions)
    reader = _CountingReader(lines_or_file) if hasattr(lines_or_file, "readline") else None
    columns, lines = _data_lines(reader or lines_or_file, fmt)
    batch, complete = batch_open(
        submitted_by=submitted_by, fmt=fmt, file_name=file_name, sha256=sha256 if reader else "",
        size_bytes=size_bytes, idempotency_key=idempotency_key,
    )  # fmt: skip
    if complete:
        return batch
    importer = _Importer(batch, allowed=allowed, reader=reader, progress=progress)
    if progress is not None:
        progress(batch, True)
    try:
        if reader is not None and batch.bytes_done:
            reader.skip_to(batch.bytes_done)
            lines = _non_blank(_text_lines(reader, first_line=batch.lines_done + 1))
        rows: list[_Row] = []
        failed: list[tuple[int, DomainError]] = []
        for line, text in lines:
            importer.last_line = line
            importer.counters.total += 1
            try:
                if isinstance(text, DomainError):
                    raise text
                values = columns.values(text) if columns is not None else _jsonl_values(text)
                number, data = _record(values)
            except DomainError as exc:
                failed.append((line, exc))
            else:
                rows.append(_Row(line, number, data))
            if len(rows) + len(failed) >= chunk_size:
                importer.chunk(rows, failed)
                rows, failed = [], []
        importer.chunk(rows, failed)
        importer.finish()
    except BatchTakenOver:
        raise
    except (KeyboardInterrupt, SystemExit):
        importer.stop(ImportBatch.State.INTERRUPTED, "stopped by the operator")
        raise
    except Exception as exc:
        importer.stop(ImportBatch.State.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    return batch
