"""The allocation anyone can recompute (X4, issue 16 §3): the same inputs and seed give the same
result, and ``jiaoguan verify-allocation`` notices one changed line, a changed seed or result."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from jiaoguan.exams import allocation, services
from jiaoguan.exams.models import ExamApplication

from .conftest import close_window

SEED = "5f" * 32


def entries(n: int = 30) -> list[allocation.Entry]:
    return [
        allocation.Entry(f"KS20261205{i:08d}", f"411***********{i:04d}", 1 + i % 4) for i in range(1, n + 1)
    ]


def doc_of(n: int = 30, places: int = 10) -> dict:
    return allocation.document(plan={"id": 1}, places=places, seed_hex=SEED, entries=entries(n))


def run(tmp_path, doc: dict, *options: str) -> tuple[int, str]:
    path = tmp_path / "allocation.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_allocation", str(path), *options, stdout=out)
    except SystemExit as leaving:
        return int(leaving.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_same_inputs_and_seed_give_the_same_result():
    first = allocation.allocate(entries(), places=10, seed_hex=SEED)
    again = allocation.allocate(list(reversed(entries())), places=10, seed_hex=SEED)
    assert first == again
    assert sum(1 for p in first if p.outcome == allocation.ALLOCATED) == 10
    # Priority classes go first: every class-1 application ranks before every class-2 one.
    by_number = {e.number: e.priority for e in entries()}
    classes = [by_number[p.number] for p in first]
    assert classes == sorted(classes)
    other = allocation.allocate(entries(), places=10, seed_hex="6a" * 32)
    assert [p.number for p in other] != [p.number for p in first]


def test_verify_accepts_the_document(tmp_path):
    doc = doc_of()
    status, out = run(
        tmp_path, doc, "--commitment", doc["commitment"], "--inputs-sha256", doc["inputs_sha256"]
    )
    assert status == 0 and out.startswith("OK")


def test_verify_detects_one_changed_line_of_inputs(tmp_path):
    doc = doc_of()
    lines = doc["inputs"].splitlines(keepends=True)
    lines[5] = lines[5].replace(",3\n", ",1\n").replace(",4\n", ",1\n").replace(",2\n", ",1\n")
    doc["inputs"] = "".join(lines)
    status, out = run(tmp_path, doc)
    assert status == 1 and "SHA-256" in out


def test_verify_detects_a_changed_line_even_with_a_new_digest(tmp_path):
    """Someone who also rewrote the digest is caught by the digest published at close."""
    doc = doc_of()
    published = doc["inputs_sha256"]
    doc["inputs"] = doc["inputs"].replace(",4\n", ",1\n", 1)
    doc["inputs_sha256"] = allocation.inputs_sha256(doc["inputs"])
    status, out = run(tmp_path, doc, "--inputs-sha256", published)
    assert status == 1 and "published when the window closed" in out


def test_verify_detects_a_changed_seed(tmp_path):
    doc = doc_of()
    doc["seed"] = "00" + doc["seed"][2:]
    status, out = run(tmp_path, doc)
    assert status == 1 and "commitment" in out


def test_verify_detects_a_changed_result_line(tmp_path):
    doc = doc_of()
    doc["result"][0], doc["result"][1] = (
        {**doc["result"][1], "rank": 1},
        {**doc["result"][0], "rank": 2},
    )
    status, out = run(tmp_path, doc)
    assert status == 1 and "result line 1" in out


def test_verify_detects_an_outcome_turned_to_allocated(tmp_path):
    doc = doc_of()
    doc["result"][-1]["outcome"] = "allocated"
    status, out = run(tmp_path, doc)
    assert status == 1 and f"result line {len(doc['result'])}" in out


@pytest.mark.django_db
def test_a_document_from_the_api_verifies(
    client, tmp_path, make_person, citizen, make_centre, make_permit, make_plan
):
    centre = make_centre()
    plan = make_plan(centre, subject=2, places=3)
    for i in range(7):
        person = make_person(name=f"学员{i}")
        permit = make_permit(person, issued_days_ago=40 + i * 20)
        services.application_create(actor=citizen(person), permit_id=permit.pk, plan_id=plan.pk)
    before = client.get(f"/api/v1/exam-plans/{plan.pk}/allocation").json()
    assert before["allocated"] is False and before["document"] is None
    assert before["commitment"] == plan.seed_commitment and plan.seed not in json.dumps(before)
    close_window(plan)
    services.plan_allocate(plan_id=plan.pk)
    answer = client.get(f"/api/v1/exam-plans/{plan.pk}/allocation").json()
    assert answer["check"] == {"ok": True, "problems": []}
    document = answer["document"]
    assert len(document["result"]) == 7 and document["seed"] == plan.seed
    # Identity numbers are masked in the inputs.
    for person_number in ExamApplication.objects.filter(plan=plan).values_list(
        "person__id_number", flat=True
    ):
        assert person_number not in document["inputs"]
    # The whole answer (not only its document) is accepted by the command.
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(answer), encoding="utf-8")
    from io import StringIO

    out = StringIO()
    call_command("verify_allocation", str(path), "--commitment", plan.seed_commitment, stdout=out)
    assert out.getvalue().startswith("OK: 7 applications, 3 allocated")
