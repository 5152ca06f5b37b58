"""The fake identity, exit-entry and military licence providers (issue 18: U6, O4, O3) answer the
way the real ones do: pass and fail with a reason, and "unavailable" rather than a guess."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.integrations import exit_entry, military_licence, real_person
from jiaoguan.registry.portraits import placeholder_portrait

PHOTO = placeholder_portrait("410000195403020011")
CAPTURE = placeholder_portrait("a live capture")


def _auth(service, capture=CAPTURE, reference=PHOTO, id_number="410000195403020011"):
    return service.authenticate(
        id_number=id_number, name="张建国", capture=capture, reference_photo=reference, request_id="r-1"
    )


def test_real_person_passes_fails_and_is_unavailable(real_person_service):
    service = real_person.get_real_person_service()
    assert _auth(service).passed
    assert _auth(service, capture=PHOTO).reason == "liveness"  # the registry photo held up to the camera
    assert _auth(service, capture=b"not an image at all" * 10).reason == "bad_image"
    assert _auth(service, reference=None).reason == "no_reference"
    real_person_service.person("410000195403020011", "fail")
    assert _auth(service).reason == "no_match"
    real_person_service.behaviour(unavailable=True)
    with pytest.raises(real_person.RealPersonUnavailable):
        _auth(service)
    assert len(real_person_service.requests()) == 6


def test_exit_entry_first_return_and_outage(exit_entry_service):
    moves = [
        exit_entry.Movement("exit", date(2019, 11, 2)),
        exit_entry.Movement("entry", date(2021, 3, 9)),
        exit_entry.Movement("exit", date(2021, 8, 1)),
        exit_entry.Movement("entry", date(2022, 2, 1)),
    ]
    exit_entry_service.travel("110", moves)
    found = exit_entry.get_exit_entry_service().movements(
        id_number="110", since=date(2019, 1, 1), request_id="r"
    )
    assert found == moves
    assert exit_entry.first_return_after(found, date(2020, 1, 1)) == date(2021, 3, 9)
    assert exit_entry.abroad_on(found, date(2020, 6, 1)) and not exit_entry.abroad_on(found, date(2021, 5, 1))
    exit_entry_service.behaviour(unavailable=True)
    with pytest.raises(exit_entry.ExitEntryUnavailable):
        exit_entry.get_exit_entry_service().movements(id_number="110", since=date(2019, 1, 1), request_id="r")


def test_military_check_compares_the_holder(military_licence_service):
    licence = military_licence.MilitaryLicence(
        number="JW1234567", id_number="410000199001010011", name="刘洋", classes="B1",
        first_issued_on=date(2012, 9, 1), issued_on=date(2019, 5, 1),
    )  # fmt: skip
    military_licence_service.licence(licence)
    service = military_licence.get_military_licence_service()
    assert service.check(number="jw1234567", id_number=licence.id_number, name="刘洋", request_id="r").passed
    assert (
        service.check(number="JW1234567", id_number="x", name="刘洋", request_id="r").reason
        == "holder_mismatch"
    )
    assert service.check(number="JW0000000", id_number="x", name="刘洋", request_id="r").reason == "not_found"
