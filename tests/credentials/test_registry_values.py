"""Credentials never sign a registry value the validators refuse, and the pages that read registry
statuses never answer 500 on a stored value they do not know (E1, D1, E4)."""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.errors import Conflict
from jiaoguan.credentials import services
from jiaoguan.credentials.models import Credential, LicenceApplication
from jiaoguan.credentials.token import DisplayMode
from jiaoguan.registry.models import DrivingLicence, Person, Vehicle

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


@pytest.fixture
def owner(make_person):
    return make_person(name="周敏")


@pytest.fixture
def owner_user(citizen, owner):
    return citizen(owner)


@pytest.fixture
def vehicle(owner, make_vehicle):
    return make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=400), plate="豫QF5K86")


# ---------------------------------------------------------------- nothing signed from a refused value


def test_a_lower_case_vin_cannot_even_be_stored(vehicle):
    """GB 16735 VINs are upper case; the database refuses any other spelling (so no mark is signed)."""
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Vehicle.objects.filter(pk=vehicle.pk).update(vin=vehicle.vin.lower())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("plate_number", "XYZ"),
        ("plate_number", "豫Q1234I"),
        ("plate_number", "豫O12345"),
        ("vin", "LSVAB4BR0MN00000"),  # 16 characters
        ("vin", "LSVAB4BR5MN000001"),  # wrong check digit in position 9
        ("status", "ZZZ"),
        ("kind", "flying_car"),
    ],
)
def test_a_vehicle_with_a_refused_value_gets_no_mark(vehicle, field, value, caplog):
    Vehicle.objects.filter(pk=vehicle.pk).update(**{field: value})
    with caplog.at_level(logging.WARNING, logger="jiaoguan.credentials.services"):
        assert services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test") is None
    assert not Credential.objects.filter(vehicle=vehicle).exists()
    assert any(
        "fails validation" in r.getMessage() and str(vehicle.pk) in r.getMessage() for r in caplog.records
    )


def test_bulk_issue_skips_and_counts_refused_vehicles(owner, make_vehicle, caplog):
    good = make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=200))
    bad_plate = make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=200))
    unknown = make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=200))
    Vehicle.objects.filter(pk=bad_plate.pk).update(plate_number="XYZ")
    Vehicle.objects.filter(pk=unknown.pk).update(status="ZZZ")
    report = services.BulkIssueReport()
    with caplog.at_level(logging.WARNING, logger="jiaoguan.credentials.services"):
        assert services.inspection_marks_bulk_issue(report=report) == 1
    assert report.skipped == 2 and sorted(report.skipped_ids) == sorted([bad_plate.pk, unknown.pk])
    assert list(Credential.objects.values_list("vehicle_id", flat=True)) == [good.pk]
    assert sum("fails validation" in r.getMessage() for r in caplog.records) == 2


def test_the_command_says_how_many_were_skipped(owner, make_vehicle, capsys):
    from django.core.management import call_command

    bad = make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=200))
    Vehicle.objects.filter(pk=bad.pk).update(plate_number="XYZ")
    call_command("issue_inspection_marks")
    out = capsys.readouterr()
    assert "issued 0 marks" in out.out and "skipped 1 vehicles" in out.err


def test_a_current_mark_is_suspended_when_its_record_turns_out_invalid_and_back_when_fixed(vehicle):
    mark = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    text, _ = services.credential_token(credential=mark, mode=DisplayMode.OFFLINE)
    Vehicle.objects.filter(pk=vehicle.pk).update(plate_number="XYZ")
    assert services.credential_status_sync(vehicle_id=vehicle.pk) == 1
    mark.refresh_from_db()
    assert mark.status == "suspended" and mark.status_reason == services.RECORD_INVALID
    verdict = services.credential_verify(text=text)
    assert not verdict.valid and verdict.reason == "suspended"
    Vehicle.objects.filter(pk=vehicle.pk).update(plate_number="豫QF5K86")
    fixed = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="corrected")
    assert fixed is not None and fixed.status == "valid" and fixed.data["plate"] == "豫QF5K86"


def test_a_holder_with_a_refused_id_number_gets_no_e_licence(owner, owner_user, make_licence, caplog):
    from io import BytesIO

    from PIL import Image

    licence = make_licence(holder=owner, valid_from=TODAY - timedelta(days=300))
    Person.objects.filter(pk=owner.pk).update(
        id_number=owner.id_number[:17] + ("0" if owner.id_number[17] != "0" else "1")
    )
    with caplog.at_level(logging.WARNING, logger="jiaoguan.credentials.services"):
        with pytest.raises(Conflict) as refused:
            services.licence_credential_issue(licence_id=licence.pk, event="test")
    assert refused.value.code == "credentials.registry_record_invalid"
    assert any("e-licence" in r.getMessage() for r in caplog.records)
    buffer = BytesIO()
    Image.new("RGB", (300, 400), (200, 180, 160)).save(buffer, "JPEG")
    with pytest.raises(Conflict):
        services.licence_application_submit(actor=owner_user, photo=buffer.getvalue())
    assert not Credential.objects.filter(licence=licence).exists()
    assert not LicenceApplication.objects.exists()


def test_an_unknown_licence_status_suspends_the_e_licence(owner, make_licence):
    licence = make_licence(holder=owner, valid_from=TODAY - timedelta(days=300))
    credential = services.licence_credential_issue(licence_id=licence.pk, event="test")
    DrivingLicence.objects.filter(pk=licence.pk).update(status="Y9")  # Z is "other" in the licence table
    services.credential_status_sync(licence_id=licence.pk)
    credential.refresh_from_db()
    assert credential.status == "suspended" and credential.status_reason == services.LICENCE_STATUS_UNKNOWN


# ---------------------------------------------------------------- no 500 on an unknown stored status


@pytest.fixture
def zzz(vehicle):
    """A vehicle with a current mark whose stored status was then set to ZZZ behind the services' back."""
    mark = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    Vehicle.objects.filter(pk=vehicle.pk).update(status="ZZZ")
    return mark


def test_my_credentials_pages_cope_with_an_unknown_status(client, owner_user, zzz, make_vehicle, owner):
    unmarked = make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=300), plate="豫QA7788")
    Vehicle.objects.filter(pk=unmarked.pk).update(status="ZZZ")
    client.force_login(owner_user)
    listing = client.get("/credentials/")
    assert listing.status_code == 200
    assert "豫QF5K86" in text_of(listing) and "未知状态（Z）" in text_of(listing)
    assert client.get(f"/credentials/{zzz.public_id}/").status_code == 200
    assert client.get(f"/credentials/inspection/{unmarked.pk}/exempt/").status_code == 200
    api = client.get("/api/v1/me/credentials")
    assert api.status_code == 200 and api.json()[0]["id"] == str(zzz.public_id)
    # once the status sync has run, the holder is told why the mark stopped
    services.credential_status_sync()
    page = text_of(client.get("/credentials/"))
    assert "暂停使用" in page and "未知状态" in page


def test_plate_check_copes_with_an_unknown_status(client, make_staff, zzz):
    client.force_login(make_staff(role="violation_officer"))
    response = client.get("/verify/plate/", {"plate": "豫QF5K86"})
    assert response.status_code == 200
    page = text_of(response)
    assert "豫QF5K86" in page and "未知状态" in page


def test_verify_answers_for_a_vehicle_with_an_unknown_status(client, zzz):
    text, _ = services.credential_token(credential=zzz, mode=DisplayMode.OFFLINE)
    assert client.post("/verify/", {"text": text}).status_code == 200
    assert (
        client.post("/api/v1/credentials/verify", {"text": text}, content_type="application/json").status_code
        == 200
    )
    services.credential_status_sync()
    answer = client.post("/api/v1/credentials/verify", {"text": text}, content_type="application/json").json()
    assert answer["valid"] is False and answer["status"] == "suspended"
    page = text_of(client.post("/verify/", {"text": text}))
    assert "暂停使用" in page or "无效" in page
