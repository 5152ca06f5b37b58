"""Bulk delivery of camera records by systems (电子监控记录批量上传): ``/api/v1/violations/batches``.

The body is the file itself (JSON lines or CSV, chosen by Content-Type), up to 10 MB, sent
with a Content-Length or in chunks (``Transfer-Encoding: chunked``): either way it is read
from the stream under the same cap, copied to a temporary file while its size and SHA-256
are taken, so the request never sits in memory.

The batch is the stored answer: its rows commit chunk by chunk (its progress and state
show while it is received), and a delivery sent again, by its ``Idempotency-Key`` or by
the same content after an interruption, finds it (``importing.batch_open``) rather than an
idempotency record around one long transaction, which would show nothing until the end
and keep nothing of an interrupted import.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any, cast

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from jiaoguan.accounts.clients import ClientCredentials
from jiaoguan.accounts.models import ApiClient
from jiaoguan.core.api import ErrorOut
from jiaoguan.core.errors import DomainError, NotFound, ValidationFailed
from jiaoguan.core.idempotency import MAX_KEY_LENGTH

from .importing import batch_state_now, import_records
from .models import ImportBatch

router = Router(tags=["violations"])
ERRORS = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    411: ErrorOut,
    413: ErrorOut,
    415: ErrorOut,
    422: ErrorOut,
}
# About 40,000 rows, imported well inside the server's 60 s request timeout; bigger deliveries
# are split by the sender (or go through `jiaoguan import-violations` on the server).
MAX_BODY_BYTES = 10 * 1024 * 1024
SPOOL_IN_MEMORY_BYTES = 1024 * 1024  # larger uploads go to a temporary file on disk
READ_BLOCK = 64 * 1024
CONTENT_TYPES = {"application/x-ndjson": "jsonl", "application/jsonl": "jsonl", "text/csv": "csv"}


class PayloadTooLarge(DomainError):
    """The upload is larger than one batch may be (413)."""

    status = 413


class LengthRequired(DomainError):
    """A chunked body this server cannot read to its end (411): send a Content-Length."""

    status = 411


class UnsupportedMediaType(DomainError):
    """The upload is not in a format the endpoint reads (415)."""

    status = 415


class BatchErrorOut(Schema):
    line: int
    code: str
    field: str
    message_zh: str
    message_en: str


class BatchOut(Schema):
    batch_id: int
    file_name: str
    format: str
    state: str = Field(
        description=(
            "receiving (being imported), complete, failed, or interrupted (its process died part-way); "
            "a failed or interrupted batch is completed by sending the same file again"
        )
    )
    total_rows: int = Field(description="rows read so far (all of them once complete)")
    accepted_rows: int
    duplicate_rows: int
    invalid_rows: int
    size_bytes: int | None = Field(description="the file's size")
    bytes_done: int = Field(description="bytes of the file imported so far")
    errors: list[BatchErrorOut] = Field(description="the first 1000 refused lines; the counters are exact")
    created_at: datetime
    finished_at: datetime | None


def _batch_out(batch: ImportBatch) -> dict[str, Any]:
    return {
        "batch_id": batch.pk,
        "file_name": batch.file_name,
        "format": batch.format,
        "state": batch_state_now(batch).value,
        "total_rows": batch.total_rows,
        "accepted_rows": batch.accepted_rows,
        "duplicate_rows": batch.duplicate_rows,
        "invalid_rows": batch.invalid_rows,
        "size_bytes": batch.size_bytes,
        "bytes_done": batch.bytes_done,
        "errors": batch.errors,
        "created_at": batch.created_at.isoformat(),
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
    }


def _format_of(request: HttpRequest) -> str:
    media_type, _, params = (request.META.get("CONTENT_TYPE") or "").partition(";")
    fmt = CONTENT_TYPES.get(media_type.strip().lower())
    charset = ""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if fmt is None or charset not in ("", "utf-8", "utf8"):
        raise UnsupportedMediaType(
            "violations.batch_media_type",
            "请以 application/x-ndjson（JSON Lines）或 text/csv 上传，字符集 UTF-8。",
            "Send application/x-ndjson (JSON Lines) or text/csv, encoded as UTF-8.",
            detail={"accepted": sorted(CONTENT_TYPES)},
        )
    return fmt


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        "violations.batch_too_large",
        f"单批最多 {MAX_BODY_BYTES // (1024 * 1024)} MB，请拆分后分批上传。",
        f"A batch is at most {MAX_BODY_BYTES // (1024 * 1024)} MB; split the file and send several batches.",
        detail={"max_bytes": MAX_BODY_BYTES},
    )


def _body_stream(request: HttpRequest) -> Callable[[int], bytes]:
    """How to read the body: Django's stream, limited to the Content-Length; or, for a chunked
    body (no length), the server's input, which the server ends with the last chunk
    (``wsgi.input_terminated``: gunicorn does). A server that cannot end it would leave the
    read hanging or empty, so the upload is refused with 411 rather than taken as empty."""
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if not chunked or request.META.get("CONTENT_LENGTH"):
        return request.read
    if not request.META.get("wsgi.input_terminated"):
        raise LengthRequired(
            "violations.batch_length_required",
            "此服务器不能读取分块传输的上传内容，请带 Content-Length 上传。",
            "This server cannot read a chunked upload; send it with a Content-Length.",
        )
    stream = request.META["wsgi.input"]
    return cast(Callable[[int], bytes], stream.read)


@contextmanager
def _spooled_body(request: HttpRequest) -> Iterator[tuple[IO[bytes], str, int]]:
    """The request body in a temporary file, its SHA-256 and size; refuses more than MAX_BODY_BYTES.

    Read from the stream, never ``request.body``: that would hold the upload in memory (and
    Django refuses it beyond DATA_UPLOAD_MAX_MEMORY_SIZE).
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise _too_large()
    read = _body_stream(request)
    digest = hashlib.sha256()
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES, mode="w+b") as spool:
        while block := read(READ_BLOCK):
            size += len(block)
            if size > MAX_BODY_BYTES:
                raise _too_large()
            digest.update(block)
            spool.write(block)
        spool.seek(0)
        yield spool, digest.hexdigest(), size  # type: ignore[misc]


# The body is read as a stream, not declared as a parameter; the document still shows it.
_RAW_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {"schema": {"type": "string", "description": "one JSON object per line"}},
            "text/csv": {
                "schema": {"type": "string", "description": "a header row, then one record per line"}
            },
        },
    }
}


@router.post(
    "/violations/batches",
    response={201: BatchOut, **ERRORS},
    auth=ClientCredentials(),
    openapi_extra=_RAW_BODY,
)
def batch_create(
    request: HttpRequest, file_name: str = Query("", max_length=200, description="the source file's name")
) -> Any:
    """Deliver camera records in bulk (scope ``violations:import``).

    Body: JSON Lines (``application/x-ndjson``) or CSV with a header row (``text/csv``), one
    record per line, with a Content-Length or chunked, at most 10 MB. Invalid lines are
    listed with their line number and reason, duplicates by record number are counted and
    ignored, valid lines are kept. Rows recorded outside the client's division are refused.

    ``Idempotency-Key`` makes a retried upload safe: the same key answers with the same
    batch (409 while it is still being imported). A batch that was interrupted or failed
    is completed by sending the same file again, with or without its key.
    """
    client: ApiClient = request.auth  # type: ignore[attr-defined]
    fmt = _format_of(request)
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            "core.idempotency_key_too_long",
            "Idempotency-Key 过长（最多128个字符）。",
            "The Idempotency-Key header is too long (at most 128 characters).",
        )
    with _spooled_body(request) as (body, digest, size):
        batch = import_records(
            body, fmt=fmt, submitted_by=client.client_id, file_name=file_name, allowed_divisions=client.division,
            sha256=digest, size_bytes=size, idempotency_key=key,
        )  # fmt: skip
    return 201, _batch_out(batch)


@router.get("/violations/batches/{batch_id}", response={200: BatchOut, **ERRORS}, auth=ClientCredentials())
def batch_get(request: HttpRequest, batch_id: int) -> Any:
    """A batch this client delivered: its state, how far it got, its counters and first errors."""
    client: ApiClient = request.auth  # type: ignore[attr-defined]
    batch = ImportBatch.objects.filter(pk=batch_id, submitted_by=client.client_id).first()
    if batch is None:
        raise NotFound("violations.batch_not_found", "没有这个导入批次。", "No such import batch.")
    return _batch_out(batch)
