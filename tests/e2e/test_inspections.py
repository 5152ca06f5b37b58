"""Inspection booking in real Chromium at 360 px (issue 14, B4): from the overdue alert on the
owner's home page to a booking (insurance asked of the fake insurer exchange, O7), the station's
pass reported through its API client (HTTP Basic, over real HTTP to the live server), and the new
electronic inspection mark on the owner's page, its QR read from a screenshot and verified."""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.accounts.clients import api_client_create
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.credentials import services as credentials
from jiaoguan.credentials.keys import trust_cache_clear
from jiaoguan.credentials.models import Credential
from jiaoguan.credentials.render import decode_qr_image
from jiaoguan.inspections import services
from jiaoguan.inspections.models import InspectionBooking
from jiaoguan.registry.rules import add_years

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen


@pytest.fixture(autouse=True)
def _keys(tmp_path, settings):
    """Sign with keys of this test only; the live server runs in this process and sees them."""
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    trust_cache_clear()
    yield
    trust_cache_clear()


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width} px wide"


def test_from_the_overdue_alert_to_a_booking_the_stations_pass_and_the_new_mark(
    page, live_server, insurer_service, make_person, make_vehicle, make_staff, citizen
):
    today = timezone.localdate()
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-e2e")
    station = services.station_register(
        actor=clerk,
        data=services.StationInput(
            uscc="91411702MA9E2E001N", name="驻马店市安通机动车检测有限公司", division="411702",
            address="驻马店市驿城区开源大道88号", phone="0396-2900000", vehicle_kinds=["small_passenger"],
            weekly={str(d): [8, 8] for d in range(7)},
        ),
    )  # fmt: skip
    client, secret = api_client_create(
        name="安通检测站检验系统", scopes="inspections:results", division="411700",
        organisation_uscc=station.organisation.uscc,
    )  # fmt: skip
    person = make_person(name="陈静")
    vehicle = make_vehicle(owner=person, plate="豫QJ6E21", registered_on=add_years(today, -7))
    citizen(person)
    # The fake insurer exchange knows the car insured for the coming months (O7).
    insurer_service.set_policy(
        vehicle.vin, start=today - timedelta(days=165), end=today + timedelta(days=200)
    )
    assert not Credential.objects.filter(vehicle=vehicle, status="valid").exists()

    # ---- the owner follows the red alert on the home page to the booking page of the car
    page.goto("/login/")
    page.fill("#id_account", person.id_number)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("link", name=re.compile("检验已逾期")).first.click()
    page.wait_for_url(re.compile(rf"/inspections/book/{vehicle.pk}/$"))
    page.get_by_text(station.organisation.name).first.wait_for()
    fits(page)
    slot = station.slots.get(day=today + timedelta(days=1), half="pm")
    page.locator(f"#slot-{slot.pk}").click()
    page.select_option("#id_delivery", "pickup")
    page.get_by_role("button", name="确认预约").click()
    page.wait_for_url(re.compile(r"/inspections/$"))
    page.get_by_text("预约成功").first.wait_for()
    fits(page)
    booking = InspectionBooking.objects.get(vehicle=vehicle)
    assert booking.slot_id == slot.pk and booking.state == "booked"
    assert booking.insured_until == today + timedelta(days=200)

    # ---- the station reports the pass through its API client, over HTTP
    body = json.dumps(
        {"booking_id": booking.pk, "result": "pass", "inspected_on": today.isoformat()}
    ).encode()
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/stations/inspections", data=body, method="POST",
        headers={
            "Content-Type": "application/json", "Idempotency-Key": f"e2e-{booking.pk}",
            "Authorization": "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode(),
        },
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 201
        assert json.loads(answer.read())["outcome"] == "pass"
    # Asked at booking and again at the station (O7).
    assert [r["vin"] for r in insurer_service.requests()] == [vehicle.vin, vehicle.vin]
    outbox_dispatch()  # anything the after-commit delivery left for the retry pass
    mark = Credential.objects.get(vehicle=vehicle, status="valid")
    assert mark.valid_until > today

    # ---- the owner sees the new mark and its QR verifies
    page.goto("/inspections/")
    page.get_by_text("检验合格").first.wait_for()
    page.goto("/credentials/")
    page.get_by_text("豫QJ6E21").first.wait_for()
    fits(page)
    page.get_by_role("link", name=re.compile("出示凭证")).first.click()
    page.wait_for_url(re.compile(rf"/credentials/{mark.public_id}/$"))
    qr = page.locator("#qr svg")
    qr.wait_for(state="visible")
    token = page.locator("#qr").get_attribute("data-token")
    assert decode_qr_image(qr.screenshot()) == [token]
    assert credentials.credential_verify(text=token).valid
