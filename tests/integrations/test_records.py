"""The record systems of issue 18 through their HTTP adapters and the fake service: real-person
authentication (U6), exit and entry records (O4) and the military licence registry (O3) pass and
fail with a reason, and go "unavailable" rather than guess when the service is down, slow,
duplicates an answer or signs it wrongly."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.integrations import exit_entry, military_licence, real_person
from jiaoguan.registry.portraits import placeholder_portrait

ID = "410000195403020011"
PHOTO = placeholder_portrait(ID)
CAPTURE = placeholder_portrait("a live capture")


def _auth(capture=CAPTURE, reference=PHOTO, id_number=ID):
    return real_person.get_real_person_service().authenticate(
        id_number=id_number, name="张建国", capture=capture, reference_photo=reference, request_id="proxy-7"
    )


def test_real_person_passes_and_fails_with_its_reason(real_person_service):
    first = _auth()
    assert first.passed and first.liveness and first.reference.startswith("RP")
    assert _auth(capture=PHOTO).reason == "liveness"  # the registry photo held up to the camera
    assert _auth(capture=b"not an image at all" * 10).reason == "bad_image"
    assert _auth(reference=None).reason == "no_reference"
    real_person_service.person(ID, "fail")
    assert _auth().reason == "no_match"
    real_person_service.person(ID, None)
    assert _auth().passed
    assert [r["key"] for r in real_person_service.requests()] == [ID] * 6


def test_real_person_unavailable_is_never_a_pass(real_person_service):
    real_person_service.behaviour(unavailable=True)
    with pytest.raises(real_person.RealPersonUnavailable):
        _auth()
    real_person_service.behaviour(unavailable=False)
    real_person_service.configure(timeout_rate=1.0, timeout_sleep_ms=1500)
    with pytest.raises(real_person.RealPersonUnavailable):
        _auth()
    real_person_service.configure(timeout_rate=0.0, bad_signature_rate=1.0)
    with pytest.raises(real_person.RealPersonUnavailable) as caught:
        _auth()
    assert caught.value.code == "bad_response_signature"


def test_a_duplicated_answer_is_asked_again(real_person_service):
    real_person_service.person(ID, "fail")
    assert _auth().reason == "no_match"
    real_person_service.person(ID, None)
    # The next answer is the previous one replayed: it names another request, so it is refused and
    # the question asked again (one retry), which then gets its own answer.
    real_person_service.configure(duplicate_rate=1.0)
    with pytest.raises(real_person.RealPersonUnavailable) as caught:
        _auth()
    assert caught.value.code == "wrong_answer"
    real_person_service.configure(duplicate_rate=0.0)
    assert _auth().passed


def test_exit_entry_movements_first_return_and_outage(exit_entry_service):
    moves = [
        exit_entry.Movement("exit", date(2019, 11, 2), "上海浦东"),
        exit_entry.Movement("entry", date(2021, 3, 9), "广州白云"),
        exit_entry.Movement("exit", date(2021, 8, 1)),
        exit_entry.Movement("entry", date(2022, 2, 1)),
    ]
    exit_entry_service.travel(ID, moves)
    service = exit_entry.get_exit_entry_service()
    found = service.movements(id_number=ID, since=date(2019, 1, 1))
    assert found == moves
    assert service.movements(id_number=ID, since=date(2021, 8, 1)) == moves[2:]
    assert service.movements(id_number="410000199001010011", since=date(2019, 1, 1)) == []
    assert exit_entry.first_return_after(found, date(2020, 1, 1)) == date(2021, 3, 9)
    assert exit_entry.abroad_on(found, date(2020, 6, 1)) and not exit_entry.abroad_on(found, date(2021, 5, 1))
    exit_entry_service.behaviour(unavailable=True)
    with pytest.raises(exit_entry.ExitEntryUnavailable):
        service.movements(id_number=ID, since=date(2019, 1, 1))


def test_military_check_compares_the_holder(military_licence_service):
    licence = military_licence.MilitaryLicence(
        number="JW1234567", id_number="410000199001010011", name="刘洋", classes="B1",
        first_issued_on=date(2012, 9, 1), issued_on=date(2019, 5, 1), added=(("A2", date(2016, 4, 2)),),
    )  # fmt: skip
    military_licence_service.licence(licence)
    service = military_licence.get_military_licence_service()
    found = service.check(number="jw1234567", id_number=licence.id_number, name="刘洋")
    assert found.passed and found.licence == licence
    assert (
        service.check(number="JW1234567", id_number="410000199001010029", name="刘洋").reason
        == "holder_mismatch"
    )
    assert service.check(number="JW0000000", id_number=licence.id_number, name="刘洋").reason == "not_found"
    military_licence_service.behaviour(unavailable=True)
    with pytest.raises(military_licence.MilitaryLicenceUnavailable):
        service.check(number="JW1234567", id_number=licence.id_number, name="刘洋")


def test_the_systems_misbehave_each_on_its_own(real_person_service, exit_entry_service):
    exit_entry_service.behaviour(unavailable=True)
    assert _auth().passed
    assert real_person_service.behaviour()["error_rate"] == 0.0


def test_the_demo_seed_file_is_loaded_at_start(tmp_path):
    import json

    from jiaoguan.integrations.fake_records_service import FakeRecordsService, load_seeds

    seeds = {
        "real-person": {ID: "fail"},
        "exit-entry": {ID: [{"kind": "exit", "on": "2020-01-05"}, {"kind": "entry", "on": "2021-09-01"}]},
        "military": [
            {"number": "JW7654321", "id_number": ID, "name": "张建国", "classes": "B1",
             "first_issued_on": "1978-10-01", "issued_on": "2018-06-01"},
        ],
    }  # fmt: skip
    path = tmp_path / "seeds.json"
    path.write_text(json.dumps(seeds), encoding="utf-8")
    service = FakeRecordsService(client_id="x", key=b"k")
    assert load_seeds(service, str(path)) == 3
    assert service.movements(ID, date(2020, 1, 1))["movements"][1]["on"] == "2021-09-01"
    assert service.military_check("jw7654321", ID, "张建国")["passed"] is True
