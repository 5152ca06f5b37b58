"""A stored value the code does not know is shown as unknown and logged, never a 500 (issue 9, item 3).

Rows are corrupted with ``.update()`` (as an old release, an import or a hand fix might have
left them); every page and API answer of the owner still renders, naming the value as unknown.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.registry import selectors
from jiaoguan.registry.models import DrivingLicence, Vehicle

pytestmark = pytest.mark.django_db

VEHICLE_DAMAGE = {
    "status ZZZ": {"status": "ZZZ"},
    "status with a known and an unknown code": {"status": "GX"},
    "lower-case status": {"status": "a"},
    "unknown kind": {"kind": "hovercraft"},
    "unknown use nature": {"use_nature": "space_tourism"},
    "unknown plate type": {"plate_type": "99"},
    "everything unknown": {"status": "ZZZ", "kind": "x", "use_nature": "y", "plate_type": "00"},
}
LICENCE_DAMAGE = {
    "status ZZZ": {"status": "ZZZ"},
    "unknown status code": {"status": "OQ"},
    "unknown class": {"classes": "C1X9"},
    "no class at all": {"classes": "??"},
    "unknown validity term": {"validity_term": "99y"},
    "first issued in the future": {
        "first_issued_on": date.today() + timedelta(days=40),
        "valid_from": date.today() + timedelta(days=40),
    },
    "everything unknown": {"status": "ZZZ", "classes": "Q", "validity_term": "?"},
}


@pytest.fixture
def owner(owner_driver):
    user, _person, vehicle, licence = owner_driver()
    client = Client()
    client.force_login(user)
    return client, vehicle, licence


def pages(vehicle: Vehicle) -> list[str]:
    return ["/", "/vehicles/", f"/vehicles/{vehicle.pk}/", "/licences/", "/credentials/"]


def api(client: Client) -> dict[str, dict]:
    return {url: client.get(url) for url in ("/api/v1/me/vehicles", "/api/v1/me/licences")}


@pytest.mark.parametrize("damage", list(VEHICLE_DAMAGE), ids=list(VEHICLE_DAMAGE))
def test_an_unknown_stored_vehicle_value_is_shown_as_unknown(owner, damage, caplog):
    client, vehicle, _licence = owner
    Vehicle.objects.filter(pk=vehicle.pk).update(**VEHICLE_DAMAGE[damage])

    for url in pages(vehicle):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    detail = client.get(f"/vehicles/{vehicle.pk}/").content.decode()
    assert "无法识别" in detail  # the alert that says what to do
    for url, response in api(client).items():
        assert response.status_code == 200, (url, response.content[:300])
        assert response["Content-Type"].startswith("application/json")
    item = client.get("/api/v1/me/vehicles").json()["items"][0]
    assert any(alert["code"] == "record_unknown_value" for alert in item["alerts"])
    assert "unknown" in caplog.text


def test_status_zzz_reads_unknown_status_z(owner):
    client, vehicle, _licence = owner
    Vehicle.objects.filter(pk=vehicle.pk).update(status="ZZZ")

    item = client.get("/api/v1/me/vehicles").json()["items"][0]
    assert {"code": "Z", "zh": "未知状态 Z", "en": "unknown status Z"} in item["statuses"]
    assert "未知状态 Z" in client.get(f"/vehicles/{vehicle.pk}/").content.decode()


def test_an_unknown_kind_keeps_the_yearly_inspection_and_claims_no_scrapping_date(owner):
    client, vehicle, _licence = owner
    Vehicle.objects.filter(pk=vehicle.pk).update(kind="hovercraft")
    vehicle.refresh_from_db()

    status = selectors.vehicle_status(vehicle, today=timezone.localdate())

    assert status.kind_zh == "未知车辆类型 hovercraft"
    assert status.scrapping_date is None and not status.scrapping_known
    assert status.next_inspection_on_site
    assert "未知（车辆类型或使用性质需核实）" in client.get(f"/vehicles/{vehicle.pk}/").content.decode()


@pytest.mark.parametrize("damage", list(LICENCE_DAMAGE), ids=list(LICENCE_DAMAGE))
def test_an_unknown_stored_licence_value_is_shown_as_unknown(owner, damage, caplog):
    client, vehicle, licence = owner
    DrivingLicence.objects.filter(pk=licence.pk).update(**LICENCE_DAMAGE[damage])

    for url in pages(vehicle):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    for url, response in api(client).items():
        assert response.status_code == 200, (url, response.content[:300])
    item = client.get("/api/v1/me/licences").json()["items"][0]
    if damage != "status ZZZ":  # Z is a licence status (其他); the rest are unknown
        assert any(alert["code"] == "record_unknown_value" for alert in item["alerts"])
        assert "unknown" in caplog.text or "future" in caplog.text


def test_an_unknown_class_is_listed_as_unknown_and_the_known_ones_still_count(owner):
    client, _vehicle, licence = owner
    DrivingLicence.objects.filter(pk=licence.pk).update(classes="C1X")

    item = client.get("/api/v1/me/licences").json()["items"][0]

    assert item["classes"] == [
        {"code": "C1", "zh": "小型汽车", "en": "Small car"},
        {"code": "X", "zh": "未知准驾车型 X", "en": "unknown class X"},
    ]


def test_an_unknown_validity_term_counts_as_the_shortest(owner):
    _client, _vehicle, licence = owner
    DrivingLicence.objects.filter(pk=licence.pk).update(validity_term="forever")
    licence.refresh_from_db()

    status = selectors.licence_status(licence, today=timezone.localdate())

    assert status.valid_until == licence.valid_from.replace(year=licence.valid_from.year + 6)


def test_the_back_office_lists_and_opens_damaged_rows(owner, make_staff):
    _client, vehicle, licence = owner
    Vehicle.objects.filter(pk=vehicle.pk).update(**VEHICLE_DAMAGE["everything unknown"])
    DrivingLicence.objects.filter(pk=licence.pk).update(**LICENCE_DAMAGE["everything unknown"])
    staff = Client()
    staff.force_login(make_staff())

    for url in (
        "/admin/registry/vehicle/",
        f"/admin/registry/vehicle/{vehicle.pk}/change/",
        "/admin/registry/drivinglicence/",
        f"/admin/registry/drivinglicence/{licence.pk}/change/",
    ):
        assert staff.get(url).status_code == 200, url


def test_the_police_plate_check_shows_a_damaged_vehicle(owner, make_staff):
    _client, vehicle, _licence = owner
    Vehicle.objects.filter(pk=vehicle.pk).update(status="ZZZ", kind="hovercraft")
    police = Client()
    police.force_login(make_staff(role="violation_officer"))

    response = police.get("/verify/plate/", {"plate": vehicle.plate_number})

    assert response.status_code == 200
    assert "未知状态 Z" in response.content.decode()
