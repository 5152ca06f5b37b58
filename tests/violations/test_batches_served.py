"""Batch uploads and imports as real processes: chunked bodies through gunicorn (the test client
cannot send one), and an import killed part-way then completed by sending the file again."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.violations import rules

from .conftest import basic_auth

pytestmark = pytest.mark.django_db(transaction=True)

BATCHES = "/api/v1/violations/batches"
OCCURRED = (timezone.localtime() - timedelta(days=10)).replace(microsecond=0)


def line(serial: int) -> bytes:
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
    }
    return json.dumps(values, ensure_ascii=False).encode() + b"\n"


def chunks(data: bytes, size: int = 64 * 1024):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_chunked_upload_is_read_with_the_same_cap_as_a_sized_one(platform):
    client_id, secret = platform.api_client()
    platform.serve()
    headers = {**basic_auth(client_id, secret), "Content-Type": "application/x-ndjson"}
    small = b"".join(line(n) for n in range(1, 4))
    status, body, _ = platform.post(f"{BATCHES}?file_name=small.jsonl", chunks(small, 100), headers=headers)
    assert status == 201, body
    assert (body["total_rows"], body["accepted_rows"]) == (3, 3), body
    assert body["state"] == "complete"
    assert body["size_bytes"] == body["bytes_done"] == len(small)

    big = line(10) * (12 * 1024 * 1024 // len(line(10)) + 1)  # 12 MB, chunked
    status, body, _ = platform.post(BATCHES, chunks(big), headers=headers)
    assert status == 413 and body["code"] == "violations.batch_too_large", body
    sized_status, sized, _ = platform.post(BATCHES, big, headers=headers)  # the same with a Content-Length
    assert sized_status == 413 and sized["code"] == body["code"]
    assert "batch_id" not in body  # refused before a batch was opened


def test_an_import_killed_part_way_is_interrupted_and_sending_the_file_again_completes_it(platform, tmp_path):
    import time

    client_id, secret = platform.api_client()
    rows = 30_000
    path = tmp_path / "cameras.jsonl"
    data = b"".join(line(n) for n in range(1, rows + 1))
    path.write_bytes(data)
    platform.serve()
    headers = basic_auth(client_id, secret)
    admin = platform.browser(*platform.administrator())

    importer = platform.popen("import-violations", str(path), "--client", client_id, "--chunk-size", "500")
    started = importer.stdout.readline()
    assert started.startswith("batch ") and "importing cameras.jsonl" in started, (
        started + importer.stderr.read()
    )
    batch = started.split()[1].rstrip(":")
    deadline = time.monotonic() + 120
    while True:
        status, seen = platform.get_json(f"{BATCHES}/{batch}", headers=headers)
        assert status == 200 and seen["state"] == "receiving", seen
        if seen["accepted_rows"] >= 2000 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    importer.kill()  # SIGKILL: no chance to say anything
    importer.wait()

    status, seen = platform.get_json(f"{BATCHES}/{batch}", headers=headers)
    assert status == 200 and seen["state"] == "interrupted", seen
    assert 2000 <= seen["accepted_rows"] == seen["total_rows"] < rows
    assert 0 < seen["bytes_done"] < seen["size_bytes"] == len(data)
    page = admin.open(f"{platform.url}/admin/violations/importbatch/", timeout=30).read().decode()
    assert "已中断 interrupted" in page and "重新发送同一文件即可完成" in page
    assert f"{seen['bytes_done'] * 100 // len(data)}%" in page

    # The same file again, here through the API: the batch goes on from where it stopped.
    status, done, _ = platform.post(
        f"{BATCHES}?file_name=cameras.jsonl",
        data,
        headers={**headers, "Content-Type": "application/x-ndjson"},
    )
    assert status == 201, done
    assert done["batch_id"] == int(batch) and done["state"] == "complete"
    assert (done["total_rows"], done["accepted_rows"], done["duplicate_rows"], done["invalid_rows"]) == (
        rows, rows, 0, 0,
    )  # fmt: skip
    assert done["bytes_done"] == len(data)
    page = admin.open(f"{platform.url}/admin/violations/importbatch/", timeout=30).read().decode()
    assert "已完成 complete" in page and "已中断" not in page
    # A third time it is a new delivery whose rows are all there already.
    again = platform.command("import-violations", str(path), "--client", client_id).stdout
    assert f"0 accepted, {rows} duplicates" in again
