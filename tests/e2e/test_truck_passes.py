"""Truck pass codes in real Chromium at 360 px (O1, O1a; seed 004 §四): the city's officer saves a
rule the editor refuses (a city-wide 24-hour ban), then publishes a lawful one; a truck owner
applies from the home tile, sees the TK1 QR, which decodes and verifies; police check the truck
by its plate at the roadside."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.credentials.render import decode_qr_image
from jiaoguan.credentials.services import credential_verify
from jiaoguan.truck_passes.models import RestrictionZone, TruckPass

from .phone import fits, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen
STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff


@pytest.fixture(autouse=True)
def _fast(settings, tmp_path):
    from jiaoguan.credentials.keys import trust_cache_clear

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.CREDENTIAL_AUTO_KEY = True
    trust_cache_clear()
    yield
    trust_cache_clear()


def test_rules_published_an_owner_applies_and_police_check_by_plate(
    page, make_person, make_vehicle, make_staff, citizen
):
    officer = make_staff(role="violation_officer", jurisdiction="411700", username="violation-e2e-truck")
    person = make_person(name="刘货运", mobile="13903960931")
    make_vehicle(
        owner=person,
        kind="small_truck",
        use_nature="freight",
        plate="豫QH5931",
        registered_on=date(2022, 4, 1),
    )
    citizen(person)

    # The officer's editor refuses a city-wide 24-hour ban, with the reason, then saves and publishes.
    log_in(page, officer.username, STAFF_PASSWORD)
    page.goto("/counter/")
    page.get_by_role("link", name="货车禁限行规则").first.click()
    page.wait_for_url("**/counter/truck-rules/")
    fits(page)
    page.fill("#id_name", "全市")
    page.select_option("#id_kind", "city")
    page.fill("#id_roads", "全市道路")
    page.check("#kind-small_truck")
    page.fill("#id_windows", "1-7 00:00-24:00")
    page.click("#zone-save")
    assert "全城24小时" in page.locator(".notice-error").inner_text()
    page.fill("#id_name", "中心城区")
    page.select_option("#id_kind", "core")
    page.fill("#id_windows", "1-7 06:00-22:00")
    page.click("#zone-save")
    page.wait_for_selector(".notice-success")
    zone = RestrictionZone.objects.get()
    page.click(f"#publish-{zone.pk}")
    page.wait_for_selector(".notice-success")
    assert page.locator(f"#zone-{zone.pk}").get_attribute("data-state") == "published"
    fits(page)

    # The owner applies from the home tile and sees the QR.
    log_in(page, person.id_number, PASSWORD)
    page.get_by_role("link", name="货车通行码").first.click()
    page.wait_for_url("**/truck-passes/")
    fits(page)
    page.fill("#id_start", "06:00")
    page.fill("#id_end", "22:00")
    page.click("#apply-submit")
    page.wait_for_selector(".notice-success")
    truck_pass = TruckPass.objects.get()
    card = page.locator(f"#pass-{truck_pass.pk}")
    assert card.get_attribute("data-status") == "valid"
    png = card.locator(".truck-pass-qr svg").screenshot()
    (text,) = decode_qr_image(png)
    assert text.startswith("TK1:") and credential_verify(text=text).valid
    fits(page)

    # Police at the roadside type the plate.
    log_in(page, officer.username, STAFF_PASSWORD)
    page.goto("/counter/")
    page.get_by_role("link", name="货车通行码核查").first.click()
    page.wait_for_url("**/counter/truck-passes/")
    page.fill("#id_q", "豫QH5931")
    page.click("#check-submit")
    result = page.locator(f"#check-{truck_pass.pk}")
    assert "中心城区" in result.inner_text() and "06:00-22:00" in result.inner_text()
    fits(page)
