"""A counter clerk adds a vehicle in the back office in real Chromium (issue 9, item 3).

A VIN whose check digit is wrong is refused with the message next to the VIN field and
nothing is saved; with the VIN corrected, the vehicle is saved through the registry service.
"""

from __future__ import annotations

import re

import pytest

from jiaoguan.core.identifiers import make_vin
from jiaoguan.core.models import AuditEntry
from jiaoguan.registry.models import Vehicle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff
GOOD_VIN = make_vin("LSJWH4090PN070110")
BAD_VIN = GOOD_VIN[:8] + ("0" if GOOD_VIN[8] != "0" else "1") + GOOD_VIN[9:]


@pytest.fixture
def desk(browser, live_server):
    """A desktop browser window: the back office is used at the counter's PC."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", base_url=live_server.url
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def fill_vehicle(page, owner_id: int, vin: str) -> None:
    page.fill("#id_plate_number", "豫Q3M706")
    page.select_option("#id_plate_type", "02")
    page.fill("#id_vin", vin)
    page.select_option("#id_kind", "small_passenger")
    page.select_option("#id_use_nature", "private")
    page.fill("#id_brand_model", "名爵 MG5")
    page.fill("#id_owner_person", str(owner_id))
    page.fill("#id_registered_on", "2023-06-20")
    page.fill("#id_division", "411702")


def test_a_clerk_is_told_the_vin_is_wrong_next_to_the_field_then_saves_the_vehicle(
    desk, make_staff, make_person
):
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-desk")
    owner = make_person(name="马建国", mobile="13603960000")

    desk.goto("/login/")
    desk.fill("#id_account", clerk.username)
    desk.fill("#id_password", STAFF_PASSWORD)
    desk.get_by_role("button", name="登录", exact=True).click()
    desk.wait_for_load_state()

    desk.goto("/admin/registry/vehicle/add/")
    assert "小型载客汽车 Small passenger car" in desk.inner_text("#id_kind")  # choices in words
    fill_vehicle(desk, owner.pk, BAD_VIN)
    desk.click("input[name=_save]")

    vin_row = desk.locator(".form-row.field-vin")
    vin_row.locator(".errorlist").wait_for()
    assert "第 9 位校验位" in vin_row.locator(".errorlist").inner_text()
    assert desk.locator(".form-row.errors").count() == 1  # only the VIN is wrong
    assert desk.input_value("#id_plate_number") == "豫Q3M706"  # what was typed is kept
    assert not Vehicle.objects.filter(owner_person=owner).exists()

    desk.fill("#id_vin", GOOD_VIN.lower())
    desk.click("input[name=_save]")
    desk.wait_for_url(re.compile(r"/admin/registry/vehicle/$"))

    assert desk.locator(".messagelist .success").count() == 1
    vehicle = Vehicle.objects.get(owner_person=owner)
    assert vehicle.vin == GOOD_VIN and vehicle.plate_number == "豫Q3M706"
    assert vehicle.owner_mobile == "13603960000"
    assert (
        AuditEntry.objects.filter(subject_type="registry.vehicle", action="create", actor=clerk).count() == 1
    )
    assert "豫Q3M706" in desk.inner_text("#result_list")
