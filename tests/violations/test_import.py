"""Bulk import of camera records: file parsing, validation by line, duplicates, the API and the command."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from jiaoguan.accounts.clients import api_client_authenticate, api_client_create
from jiaoguan.accounts.models import ApiClient
from jiaoguan.core.errors import NotAllowed, ValidationFailed
from jiaoguan.violations import batch_api, rules
from jiaoguan.violations.importing import MAX_ERRORS, MAX_LINE_BYTES, import_records
from jiaoguan.violations.models import ImportBatch, Violation

OCCURRED = (timezone.localtime() - timedelta(days=10)).replace(microsecond=0)
PLACE = "驿城区解放大道与交通路交叉口"
BATCHES = "/api/v1/violations/batches"


def number(serial: int, *, division: str = "411702") -> str:
    return rules.record_number_make(
        division=division, source="monitoring", occurred_on=OCCURRED.date(), serial=serial
    )


def record(serial: int, **overrides) -> dict:
    values = {
        "record_number": number(serial, division=overrides.get("recording_division", "411702")),
        "plate_number": "豫QA1234",
        "plate_type": "02",
        "occurred_at": OCCURRED.isoformat(),
        "place": PLACE,
        "code": "1625",
        "recording_division": "411702",
        "device_id": "CAM-411702-0001",
    }
    values.update(overrides)
    return values


def jsonl(*rows) -> bytes:
    return (
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows).encode()
        + b"\n"
    )


def run(data: bytes, fmt: str = "jsonl", **kw) -> ImportBatch:
    batch = import_records(io.BytesIO(data), fmt=fmt, submitted_by="test", **kw)
    batch.refresh_from_db()
    return batch


def errors_by_line(batch: ImportBatch) -> dict[int, tuple[str, str]]:
    return {e["line"]: (e["code"], e["field"]) for e in batch.errors}


def wrong_check_character(value: str) -> str:
    return value[:19] + ("0" if value[19] != "0" else "1")


# ------------------------------------------------------------------------------ the import


@pytest.mark.django_db
def test_valid_and_invalid_rows_are_reported_by_line_and_reason():
    naive = OCCURRED.replace(tzinfo=None).isoformat()
    missing_place = record(9)
    del missing_place["place"]
    data = jsonl(
        record(1),  # 1 valid
        record(2, plate_number="豫Q12"),  # 2
        record(3, code="9999"),  # 3
        record(4, occurred_at=(timezone.now() + timedelta(hours=2)).isoformat()),  # 4
        record(5, device_id=""),  # 5
        record(6, occurred_at=naive),  # 6
        record(7, record_number=wrong_check_character(number(7))),  # 7
        '{"record_number": "41170212',  # 8 cut off
        "",  # 9 blank: not a row
        missing_place,  # 10
        record(11, code="1603", on_expressway=True, plate_number="豫q·b5678"),  # 11 valid
        "[1, 2]",  # 12
        record(13, occurred_at="yesterday"),  # 13
        record(14, code=1625),  # 14
        record(15, place="驿城区\x00解放路"),  # 15
    )
    batch = run(data)
    assert (batch.total_rows, batch.accepted_rows, batch.duplicate_rows, batch.invalid_rows) == (14, 2, 0, 12)
    assert errors_by_line(batch) == {
        2: ("plate.format", "plate_number"),
        3: ("violations.unknown_code", "code"),
        4: ("violations.time_in_future", "occurred_at"),
        5: ("violations.device_id", "device_id"),
        6: ("violations.time_zone", "occurred_at"),
        7: ("violations.record_number_checksum", "record_number"),
        8: ("violations.import_json", ""),
        10: ("violations.import_field_missing", "place"),
        12: ("violations.import_json", ""),
        13: ("violations.import_time_format", "occurred_at"),
        14: ("violations.import_field_type", "code"),
        15: ("violations.import_control_characters", "place"),
    }
    first = batch.errors[0]
    assert first["message_zh"] and first["message_en"] and set(first) == {
        "line", "code", "field", "message_zh", "message_en",
    }  # fmt: skip
    kept = {v.record_number: v for v in Violation.objects.filter(batch=batch)}
    assert set(kept) == {number(1), number(11)}
    red_light, speeding = kept[number(1)], kept[number(11)]
    assert red_light.source == "monitoring" and red_light.status == "unhandled"
    assert (red_light.points, red_light.fine_fen, red_light.occurred_at) == (6, 20000, OCCURRED)
    # 1603 on an expressway: 12 points instead of 6; the plate is normalised.
    assert (speeding.points, speeding.on_expressway, speeding.plate_number) == (12, True, "豫QB5678")


@pytest.mark.django_db
def test_record_number_is_required_and_must_match_the_recording_agency():
    data = jsonl(
        record(1, record_number=""),
        record(2, record_number=number(2, division="411721")),  # another county's number
        record(3, record_number="4117021"),
        record(4, record_number=rules.record_number_make(
            division="411702", source="on_site", occurred_on=OCCURRED.date(), serial=4)),
    )  # fmt: skip
    batch = run(data)
    assert batch.accepted_rows == 0
    assert errors_by_line(batch) == {
        1: ("violations.import_record_number_required", "record_number"),
        2: ("violations.record_number_mismatch", "record_number"),
        3: ("violations.record_number_format", "record_number"),
        4: ("violations.record_number_mismatch", "record_number"),
    }


@pytest.mark.django_db
def test_csv_with_header_columns_in_any_order_and_wrong_column_counts():
    header = "device_id,record_number,plate_number,plate_type,occurred_at,place,code,recording_division,on_expressway,note"
    good = f'CAM-1,{number(1)},豫QA1234,02,{OCCURRED.isoformat()},"{PLACE}, 北",1625,411702,,东向西'
    short = f"CAM-1,{number(2)},豫QA1234,02,{OCCURRED.isoformat()},{PLACE},1625,411702"
    quoted = f'CAM-1,{number(3)},豫QA1234,02,{OCCURRED.isoformat()},"{PLACE},1625,411702,,'
    expressway = f"CAM-2,{number(4)},豫QB5678,02,{OCCURRED.isoformat()},京港澳高速K900,1603,411702,是,"
    bad_flag = f"CAM-2,{number(5)},豫QB5678,02,{OCCURRED.isoformat()},京港澳高速K900,1603,411702,maybe,"
    data = "\r\n".join(["\ufeff" + header, good, short, "", quoted, expressway, bad_flag]).encode()
    batch = run(data, fmt="csv")
    assert (batch.total_rows, batch.accepted_rows, batch.invalid_rows) == (5, 2, 3)
    # The header is line 1; the blank line 5 still counts as a line.
    assert errors_by_line(batch) == {
        3: ("violations.import_columns", ""),
        5: ("violations.import_columns", ""),
        7: ("violations.import_field_type", "on_expressway"),
    }
    assert Violation.objects.get(record_number=number(1)).place == f"{PLACE}, 北"
    assert Violation.objects.get(record_number=number(4)).points == 12


@pytest.mark.django_db
def test_csv_without_the_required_columns_is_refused_before_anything_is_stored():
    with pytest.raises(ValidationFailed) as refused:
        run(b"record_number,plate_number\n41170210000000000000,\xe8\xb1\xabQA1234\n", fmt="csv")
    assert refused.value.code == "violations.import_header"
    assert "occurred_at" in refused.value.detail["missing"]
    assert not ImportBatch.objects.exists()
    assert run(b"", fmt="csv").total_rows == 0  # an empty file is an empty batch


@pytest.mark.django_db
def test_non_utf8_and_overlong_lines_are_line_errors():
    data = (
        jsonl(record(1))
        + b'{"place": "\xff\xfe"}\n'
        + b"x" * (MAX_LINE_BYTES + 10)
        + b"\n"
        + jsonl(record(4))
    )
    batch = run(data)
    assert (batch.total_rows, batch.accepted_rows) == (4, 2)
    assert errors_by_line(batch) == {
        2: ("violations.import_encoding", ""),
        3: ("violations.import_line_too_long", ""),
    }


@pytest.mark.django_db
def test_rows_outside_the_allowed_area_are_refused():
    zhengzhou = record(2, recording_division="410105", place="金水区花园路")
    batch = run(
        jsonl(record(1), zhengzhou, record(3, recording_division="411721")), allowed_divisions="411700"
    )
    assert batch.accepted_rows == 2
    assert errors_by_line(batch) == {2: ("violations.import_division_not_allowed", "recording_division")}
    county_only = run(jsonl(record(4), record(5, recording_division="411721")), allowed_divisions="411702")
    assert errors_by_line(county_only) == {
        2: ("violations.import_division_not_allowed", "recording_division")
    }


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_size", [2, 5000])
def test_duplicates_in_the_file_and_across_batches_are_counted_not_kept(chunk_size):
    first = run(
        jsonl(
            record(1),
            record(2, code="9999"),  # invalid: its number is not kept ...
            record(2),  # ... so the corrected line is new
            record(1, place="另一个地点"),  # same number: a duplicate even with other content
            record(3),
            record(2),
        ),
        chunk_size=chunk_size,
    )
    assert (first.total_rows, first.accepted_rows, first.duplicate_rows, first.invalid_rows) == (6, 3, 2, 1)
    again = run(jsonl(record(2), record(3), record(4)), chunk_size=chunk_size)
    assert (again.accepted_rows, again.duplicate_rows, again.invalid_rows) == (1, 2, 0)
    assert Violation.objects.count() == 4
    assert Violation.objects.get(record_number=number(1)).place == PLACE
    assert Violation.objects.filter(batch=again).get().record_number == number(4)


@pytest.mark.django_db
def test_vehicle_is_matched_by_plate_number(make_person, make_vehicle):
    vehicle = make_vehicle(owner=make_person(), plate="豫QA2345")
    batch = run(jsonl(record(1, plate_number="豫Q·a2345"), record(2, plate_number="京A12345")))
    assert batch.accepted_rows == 2
    assert Violation.objects.get(record_number=number(1)).vehicle_id == vehicle.pk
    assert Violation.objects.get(record_number=number(2)).vehicle_id is None


@pytest.mark.django_db
def test_counters_stay_exact_beyond_the_kept_errors():
    rows = [record(i, plate_number="bad") for i in range(MAX_ERRORS + 5)] + [record(5000)]
    batch = run(jsonl(*rows), chunk_size=300)
    assert (batch.total_rows, batch.accepted_rows, batch.invalid_rows) == (MAX_ERRORS + 6, 1, MAX_ERRORS + 5)
    assert len(batch.errors) == MAX_ERRORS
    assert [e["line"] for e in batch.errors] == list(range(1, MAX_ERRORS + 1))


@pytest.mark.django_db
def test_lines_may_come_from_an_iterable_of_text():
    lines = [json.dumps(record(1), ensure_ascii=False), "not json"]
    batch = import_records(lines, fmt="jsonl", submitted_by="test")
    assert (batch.accepted_rows, batch.invalid_rows) == (1, 1)


# ------------------------------------------------------------------------------ client credentials


@pytest.fixture
def camera_client(db):
    client, secret = api_client_create(
        name="驻马店电子警察平台", scopes="violations:import", division="411700"
    )
    return client, secret


def basic(client_id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def post_batch(
    data: bytes, auth: dict, content_type: str = "application/x-ndjson", path: str = BATCHES, **extra
):
    return Client().post(path, data=data, content_type=content_type, **auth, **extra)


@pytest.mark.django_db
def test_client_secret_is_kept_only_as_a_hash_and_checked(camera_client):
    client, secret = camera_client
    assert secret not in client.secret_hash and len(client.secret_hash) == 64
    assert api_client_authenticate(client.client_id, secret, "violations:import") == client
    assert api_client_authenticate(client.client_id, secret + "x", "violations:import") is None
    assert api_client_authenticate("jgc_unknown", secret, "violations:import") is None
    with pytest.raises(NotAllowed):
        api_client_authenticate(client.client_id, secret, "payments:read")
    with pytest.raises(ValidationFailed):
        api_client_create(name="保险公司", scopes="everything", division="411700")


@pytest.mark.django_db
def test_api_requires_client_credentials_with_the_scope(camera_client):
    client, secret = camera_client
    data = jsonl(record(1))
    assert post_batch(data, {}).status_code == 401
    assert post_batch(data, basic(client.client_id, "wrong")).status_code == 401
    assert post_batch(data, {"HTTP_AUTHORIZATION": "Basic !!!"}).status_code == 401
    ApiClient.objects.filter(pk=client.pk).update(scopes="payments:read")
    forbidden = post_batch(data, basic(client.client_id, secret))
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "accounts.client_scope"
    ApiClient.objects.filter(pk=client.pk).update(scopes="violations:import", revoked_at=timezone.now())
    assert post_batch(data, basic(client.client_id, secret)).status_code == 401
    assert not Violation.objects.exists()


@pytest.mark.django_db
def test_api_imports_and_reports_the_batch(camera_client, make_staff):
    client, secret = camera_client
    auth = basic(client.client_id, secret)
    data = jsonl(
        record(1), record(2, plate_number="豫Q12"), record(1), record(3, recording_division="410105")
    )
    response = post_batch(data, auth, path=f"{BATCHES}?file_name=cam-0001.jsonl")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("file_name", "format", "total_rows", "accepted_rows", "duplicate_rows")} == {
        "file_name": "cam-0001.jsonl", "format": "jsonl", "total_rows": 4, "accepted_rows": 1, "duplicate_rows": 1,
    }  # fmt: skip
    assert body["invalid_rows"] == 2
    assert [(e["line"], e["code"]) for e in body["errors"]] == [
        (2, "plate.format"),
        (4, "violations.import_division_not_allowed"),
    ]
    assert ImportBatch.objects.get(pk=body["batch_id"]).submitted_by == client.client_id

    fetched = Client().get(f"{BATCHES}/{body['batch_id']}", **auth)
    assert fetched.status_code == 200 and fetched.json() == body
    other, other_secret = api_client_create(
        name="上蔡县卡口系统", scopes="violations:import", division="411722"
    )
    hidden = Client().get(f"{BATCHES}/{body['batch_id']}", **basic(other.client_id, other_secret))
    assert hidden.status_code == 404 and hidden.json()["code"] == "violations.batch_not_found"

    csv_data = (
        "record_number,plate_number,plate_type,occurred_at,place,code,recording_division,device_id\n"
        f"{number(7)},豫QA1234,02,{OCCURRED.isoformat()},{PLACE},1625,411702,CAM-7\n"
    ).encode()
    as_csv = post_batch(csv_data, auth, content_type="text/csv; charset=utf-8")
    assert as_csv.status_code == 201 and as_csv.json()["accepted_rows"] == 1


@pytest.mark.django_db
def test_api_refuses_other_media_types_and_oversized_bodies(camera_client, monkeypatch):
    client, secret = camera_client
    auth = basic(client.client_id, secret)
    for content_type in ("application/json", "text/plain", "text/csv; charset=gbk"):
        refused = post_batch(jsonl(record(1)), auth, content_type=content_type)
        assert refused.status_code == 415, content_type
        assert set(refused.json()) == {"code", "message", "detail"}
        assert refused.json()["code"] == "violations.batch_media_type"
    no_header = post_batch(f"{number(1)},豫QA1234\n".encode(), auth, content_type="text/csv")
    assert no_header.status_code == 422 and no_header.json()["code"] == "violations.import_header"
    monkeypatch.setattr(batch_api, "MAX_BODY_BYTES", 500)
    too_big = post_batch(jsonl(record(1), record(2), record(3)), auth)
    assert too_big.status_code == 413 and too_big.json()["code"] == "violations.batch_too_large"
    assert not Violation.objects.exists()


@pytest.mark.django_db
def test_api_streams_bodies_beyond_the_form_upload_limit(camera_client, settings):
    client, secret = camera_client
    rows = [record(i, plate_number=f"豫Q{i:05d}") for i in range(1, 12001)]
    data = jsonl(*rows)
    assert len(data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # request.body would refuse it
    response = post_batch(data, basic(client.client_id, secret))
    assert response.status_code == 201, response.content[:500]
    assert response.json()["accepted_rows"] == 12000
    assert Violation.objects.count() == 12000


@pytest.mark.django_db
def test_api_idempotent_replay_returns_the_first_answer(camera_client):
    client, secret = camera_client
    auth = basic(client.client_id, secret)
    data = jsonl(record(1), record(2, code="9999"))
    first = post_batch(data, auth, HTTP_IDEMPOTENCY_KEY="upload-42")
    replay = post_batch(data, auth, HTTP_IDEMPOTENCY_KEY="upload-42")
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert ImportBatch.objects.count() == 1 and Violation.objects.count() == 1
    changed = post_batch(jsonl(record(3)), auth, HTTP_IDEMPOTENCY_KEY="upload-42")
    assert changed.status_code == 409 and changed.json()["code"] == "core.idempotency_key_reused"
    # Without a key the same file is a new batch whose rows are all duplicates.
    again = post_batch(data, auth)
    assert (again.json()["accepted_rows"], again.json()["duplicate_rows"], again.json()["invalid_rows"]) == (
        0,
        1,
        1,
    )


# ------------------------------------------------------------------------------ commands


@pytest.mark.django_db
def test_import_command_reads_a_file_and_prints_errors_by_line(tmp_path, capsys):
    path = tmp_path / "cameras.jsonl"
    path.write_bytes(jsonl(record(1), record(2, code="9999"), record(1)))
    call_command("import_violations", str(path))
    out = capsys.readouterr().out
    assert "3 rows, 1 accepted, 1 duplicates, 1 invalid" in out
    assert "line 2 [code] violations.unknown_code" in out
    csv_path = tmp_path / "cameras.txt"
    csv_path.write_text(
        "record_number,plate_number,plate_type,occurred_at,place,code,recording_division,device_id\n"
        f"{number(5)},豫QA1234,02,{OCCURRED.isoformat()},{PLACE},1625,411702,CAM-5\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError):
        call_command("import_violations", str(csv_path))  # no format from ".txt"
    call_command("import_violations", str(csv_path), "--format", "csv")
    assert ImportBatch.objects.get(file_name="cameras.txt").accepted_rows == 1
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_violations", str(tmp_path / "missing.jsonl"))


@pytest.mark.django_db
def test_import_command_reads_standard_input(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(jsonl(record(1)))))
    call_command("import_violations", "-", "--format", "jsonl")
    assert "1 accepted" in capsys.readouterr().out


def test_import_command_exits_1_when_the_file_cannot_be_read(tmp_path):
    jiaoguan = Path(sys.executable).with_name("jiaoguan")
    done = subprocess.run(
        [str(jiaoguan), "import-violations", str(tmp_path / "missing.jsonl")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "cannot read" in done.stderr


@pytest.mark.django_db
def test_api_client_command_creates_and_revokes(capsys):
    call_command("api_client", "create", "--name", "驻马店电子警察平台", "--scopes", "violations:import",
                 "--division", "411700")  # fmt: skip
    out = capsys.readouterr().out
    client_id = out.split("client_id:")[1].split()[0]
    secret = out.split("secret:")[1].split()[0]
    assert api_client_authenticate(client_id, secret, "violations:import") is not None
    call_command("api_client", "revoke", client_id)
    assert api_client_authenticate(client_id, secret, "violations:import") is None
    with pytest.raises(CommandError, match=r"accounts\.client_revoked"):
        call_command("api_client", "revoke", client_id)
    with pytest.raises(CommandError, match="division"):
        call_command(
            "api_client", "create", "--name", "x系统", "--scopes", "violations:import", "--division", "99"
        )


# ------------------------------------------------------------------------------ concurrency (PostgreSQL)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("outer_transaction", [False, True], ids=["per-chunk", "one-transaction"])
def test_concurrent_imports_of_overlapping_files_keep_every_record_once(outer_transaction):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are exercised on PostgreSQL")
    from django.db import transaction

    first = [record(i) for i in range(0, 3000)]
    second = [record(i) for i in range(1500, 4500)]
    second.reverse()  # the other way round: the two meet in the middle, each holding rows the other needs
    barrier = threading.Barrier(2)
    batches: list[ImportBatch] = []
    errors: list[Exception] = []

    def deliver(rows: list[dict]) -> None:
        try:
            barrier.wait()
            if outer_transaction:  # as under an Idempotency-Key
                with transaction.atomic():
                    batches.append(run(jsonl(*rows), chunk_size=400))
            else:
                batches.append(run(jsonl(*rows), chunk_size=400))
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(rows,)) for rows in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert Violation.objects.count() == 4500
    assert Violation.objects.values("record_number").distinct().count() == 4500
    for batch in batches:
        batch.refresh_from_db()
        assert batch.total_rows == 3000 == batch.accepted_rows + batch.duplicate_rows + batch.invalid_rows
        assert batch.invalid_rows == 0
        assert Violation.objects.filter(batch=batch).count() == batch.accepted_rows
    assert sum(b.accepted_rows for b in batches) == 4500
    assert sum(b.duplicate_rows for b in batches) == 1500
