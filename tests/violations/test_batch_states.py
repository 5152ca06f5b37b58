"""Import batch states (receiving, complete, failed, interrupted) and completing a batch by sending the
same file again, in one process; tests/violations/test_batches_served.py kills a real import."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.accounts.clients import api_client_create
from jiaoguan.core.errors import Conflict
from jiaoguan.violations import rules
from jiaoguan.violations.importing import (
    BatchTakenOver,
    batch_open,
    batch_state_now,
    import_records,
    this_process,
)
from jiaoguan.violations.models import ImportBatch, Violation

pytestmark = pytest.mark.django_db

OCCURRED = (timezone.localtime() - timedelta(days=10)).replace(microsecond=0)
BATCHES = "/api/v1/violations/batches"
State = rules.BatchState


def line(serial: int, **overrides) -> bytes:
    values = {
        "record_number": rules.record_number_make(
            division="411702", source="monitoring", occurred_on=OCCURRED.date(), serial=serial
        ),
        "plate_number": f"豫Q{serial % 100000:05d}",
        "plate_type": "02",
        "occurred_at": OCCURRED.isoformat(),
        "place": "驿城区解放大道与交通路交叉口",
        "code": "1625",
        "recording_division": "411702",
        "device_id": "CAM-411702-0001",
        **overrides,
    }
    return json.dumps(values, ensure_ascii=False).encode() + b"\n"


def file_of(count: int, *, bad_every: int = 0) -> bytes:
    return b"".join(
        line(n, code="9999") if bad_every and n % bad_every == 0 else line(n) for n in range(1, count + 1)
    )


class BreaksAfter(io.BytesIO):
    """A file whose reading fails part-way, as a lost network share or disk would."""

    def __init__(self, data: bytes, *, lines: int) -> None:
        super().__init__(data)
        self.left = lines

    def readline(self, limit: int = -1) -> bytes:
        self.left -= 1
        if self.left < 0:
            raise OSError("the file became unreadable")
        return super().readline(limit)


def imported(data: bytes, **kw) -> ImportBatch:
    kw.setdefault("submitted_by", "camera-1")
    batch = import_records(
        io.BytesIO(data), fmt="jsonl", sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), **kw
    )
    batch.refresh_from_db()
    return batch


def counters(batch: ImportBatch) -> tuple[int, int, int, int]:
    return batch.total_rows, batch.accepted_rows, batch.duplicate_rows, batch.invalid_rows


# ---------------------------------------------------------------- the state


def test_a_receiving_batch_reads_interrupted_once_its_process_is_gone_or_silent():
    now = datetime(2026, 12, 5, 12, 0, tzinfo=rules.BEIJING)
    recent, old = now - timedelta(seconds=30), now - rules.BATCH_SILENT_AFTER - timedelta(seconds=1)
    for stored, last, alive, expected in [
        ("receiving", recent, True, State.RECEIVING),
        ("receiving", old, True, State.RECEIVING),  # slow, but its process is there
        ("receiving", recent, False, State.INTERRUPTED),  # its process is gone
        ("receiving", recent, None, State.RECEIVING),  # on another machine, heard from lately
        ("receiving", old, None, State.INTERRUPTED),  # on another machine, silent too long
        ("receiving", None, None, State.INTERRUPTED),
        ("complete", old, False, State.COMPLETE),
        ("failed", recent, None, State.FAILED),
    ]:
        assert rules.batch_state(stored=stored, last_progress=last, now=now, process_alive=alive) == expected
    assert [s for s in State if rules.batch_resumable(s)] == [State.FAILED, State.INTERRUPTED]


def test_a_batch_is_complete_with_its_progress_at_the_end():
    data = file_of(1200, bad_every=100)
    batch = imported(data, chunk_size=250)
    assert batch_state_now(batch) is State.COMPLETE and batch.finished_at is not None
    assert counters(batch) == (1200, 1188, 0, 12)
    assert batch.bytes_done == batch.size_bytes == len(data) and batch.lines_done == 1200


def test_a_batch_whose_process_died_reads_interrupted_with_how_far_it_got():
    data = file_of(1000)
    batch, _complete = batch_open(
        submitted_by="camera-1", fmt="jsonl", sha256=hashlib.sha256(data).hexdigest()
    )
    assert batch_state_now(batch) is State.RECEIVING and batch.worker == this_process()
    ImportBatch.objects.filter(pk=batch.pk).update(
        worker=f"{this_process().split()[0]} 999999999 1", total_rows=500
    )
    batch.refresh_from_db()
    assert batch_state_now(batch) is State.INTERRUPTED
    ImportBatch.objects.filter(pk=batch.pk).update(worker="another-host 1234 5", heartbeat_at=timezone.now())
    batch.refresh_from_db()
    assert batch_state_now(batch) is State.RECEIVING  # cannot be told from here, and heard from lately
    later = timezone.now() + rules.BATCH_SILENT_AFTER + timedelta(seconds=1)
    assert batch_state_now(batch, now=later) is State.INTERRUPTED


def test_a_failed_import_says_why_and_sending_the_same_file_again_completes_it():
    data = file_of(1200, bad_every=100)
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(OSError):
        import_records(
            BreaksAfter(data, lines=700), fmt="jsonl", submitted_by="camera-1", sha256=sha, size_bytes=len(data),
            chunk_size=250,
        )  # fmt: skip
    batch = ImportBatch.objects.get()
    assert batch_state_now(batch) is State.FAILED and "unreadable" in batch.failure
    assert counters(batch) == (500, 495, 0, 5)  # the two chunks that committed, and their rows
    assert Violation.objects.count() == 495 and batch.lines_done == 500
    again = imported(data, chunk_size=250)
    assert again.pk == batch.pk and batch_state_now(again) is State.COMPLETE
    assert counters(again) == (1200, 1188, 0, 12)  # as one uninterrupted run
    assert [e["line"] for e in again.errors] == list(range(100, 1201, 100))
    assert Violation.objects.count() == 1188 and ImportBatch.objects.count() == 1


def test_a_csv_goes_on_after_its_header_with_the_right_line_numbers():
    header = "record_number,plate_number,plate_type,occurred_at,place,code,recording_division,device_id\n"
    body = [
        f"{json.loads(line(n))['record_number']},豫Q{n:05d},02,{OCCURRED.isoformat()},驿城区解放大道,"
        f"{'9999' if n == 450 else '1625'},411702,CAM-1\n"
        for n in range(1, 601)
    ]
    data = (header + "".join(body)).encode()
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(OSError):
        import_records(BreaksAfter(data, lines=320), fmt="csv", submitted_by="c", sha256=sha, chunk_size=100)
    batch = import_records(io.BytesIO(data), fmt="csv", submitted_by="c", sha256=sha, chunk_size=100)
    batch.refresh_from_db()
    assert counters(batch) == (600, 599, 0, 1)
    assert [e["line"] for e in batch.errors] == [451]  # the header is line 1


def test_an_import_that_was_taken_over_stops_and_keeps_nothing_of_its_chunk():
    data = file_of(600)

    class TakenOverMidway(io.BytesIO):
        read_lines = 0

        def readline(self, limit: int = -1) -> bytes:
            self.read_lines += 1
            if self.read_lines == 350:  # another process took the batch over, believing this one dead
                ImportBatch.objects.update(worker="another-host 1 1")
            return super().readline(limit)

    with pytest.raises(BatchTakenOver):
        import_records(TakenOverMidway(data), fmt="jsonl", submitted_by="camera-1", chunk_size=200)
    batch = ImportBatch.objects.get()
    assert batch.state == "receiving" and batch.worker == "another-host 1 1" and not batch.failure
    assert counters(batch) == (200, 200, 0, 0) and Violation.objects.count() == 200


# ---------------------------------------------------------------- through the API


@pytest.fixture
def camera(db):
    client, secret = api_client_create(
        name="驻马店电子警察平台", scopes="violations:import", division="411700"
    )
    token = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    return client, {"HTTP_AUTHORIZATION": f"Basic {token}"}


def post(data: bytes, auth: dict, **extra):
    return Client().post(BATCHES, data=data, content_type="application/x-ndjson", **auth, **extra)


def test_the_api_shows_the_state_and_completes_an_interrupted_batch_by_its_key(camera):
    client, auth = camera
    data = file_of(900)
    with pytest.raises(OSError):
        import_records(
            BreaksAfter(data, lines=500), fmt="jsonl", submitted_by=client.client_id, chunk_size=200,
            sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), idempotency_key="cam-2026-12-05",
        )  # fmt: skip
    batch = ImportBatch.objects.get()
    ImportBatch.objects.filter(pk=batch.pk).update(
        state="receiving", worker="gone-host 1 1", heartbeat_at=None
    )
    seen = Client().get(f"{BATCHES}/{batch.pk}", **auth).json()
    assert seen["state"] == "interrupted" and seen["total_rows"] == 400 and seen["finished_at"] is None
    assert 0 < seen["bytes_done"] < seen["size_bytes"] == len(data)

    other = post(file_of(3), auth, HTTP_IDEMPOTENCY_KEY="cam-2026-12-05")
    assert other.status_code == 409 and other.json()["code"] == "core.idempotency_key_reused"
    done = post(data, auth, HTTP_IDEMPOTENCY_KEY="cam-2026-12-05")
    assert done.status_code == 201, done.content
    body = done.json()
    assert body["batch_id"] == batch.pk and body["state"] == "complete" and body["accepted_rows"] == 900
    replay = post(data, auth, HTTP_IDEMPOTENCY_KEY="cam-2026-12-05")
    assert replay.status_code == 201 and replay.json() == body
    assert Violation.objects.count() == 900 and ImportBatch.objects.count() == 1


def test_the_same_key_while_its_batch_is_still_received_is_a_conflict(camera):
    client, auth = camera
    data = file_of(5)
    batch, _ = batch_open(
        submitted_by=client.client_id,
        fmt="jsonl",
        sha256=hashlib.sha256(data).hexdigest(),
        idempotency_key="k-1",
    )
    answer = post(data, auth, HTTP_IDEMPOTENCY_KEY="k-1")
    assert answer.status_code == 409 and answer.json()["code"] == "core.idempotency_in_progress"
    assert answer.json()["detail"]["batch_id"] == batch.pk
    with pytest.raises(Conflict):
        batch_open(submitted_by=client.client_id, fmt="jsonl", sha256="0" * 64, idempotency_key="k-1")


def test_without_a_key_only_an_unfinished_batch_of_the_same_content_and_sender_is_taken_over(camera):
    _client, auth = camera
    data = file_of(300)
    first = post(data, auth).json()
    assert first["state"] == "complete"
    second = post(data, auth).json()  # a finished batch is not taken over: a new delivery of duplicates
    assert second["batch_id"] != first["batch_id"] and second["duplicate_rows"] == 300
    other, _secret = api_client_create(name="上蔡县卡口系统", scopes="violations:import", division="411700")
    with pytest.raises(OSError):
        import_records(
            BreaksAfter(file_of(400), lines=250), fmt="jsonl", submitted_by=other.client_id, chunk_size=100,
            sha256=hashlib.sha256(file_of(400)).hexdigest(),
        )  # fmt: skip
    third = post(file_of(400), auth).json()  # the same content from another sender: its own batch
    assert third["batch_id"] not in (first["batch_id"], second["batch_id"])
    assert ImportBatch.objects.filter(submitted_by=other.client_id).get().state == "failed"


def test_a_chunked_body_a_server_cannot_end_is_refused_not_taken_as_empty(camera):
    _client, auth = camera
    answer = Client().post(
        BATCHES, data=file_of(3), content_type="application/x-ndjson", CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked", **auth,
    )  # fmt: skip
    assert answer.status_code == 411 and answer.json()["code"] == "violations.batch_length_required"
    assert not ImportBatch.objects.exists()


def test_the_import_command_completes_an_interrupted_batch_read_from_standard_input(monkeypatch, capsys):
    import sys

    from django.core.management import call_command

    data = file_of(700)
    with pytest.raises(OSError):
        import_records(
            BreaksAfter(data, lines=450), fmt="jsonl", submitted_by="cli", chunk_size=200,
            sha256=hashlib.sha256(data).hexdigest(),
        )  # fmt: skip
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    call_command("import_violations", "-", "--format", "jsonl", "--chunk-size", "200")
    out = capsys.readouterr().out
    batch = ImportBatch.objects.get()
    assert f"batch {batch.pk}: importing standard input (going on after line 400)" in out
    assert f"batch {batch.pk} complete: 700 rows, 700 accepted, 0 duplicates, 0 invalid" in out
