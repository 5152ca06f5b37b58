"""Cross-region used-car transfer in real Chromium at 360 px (T1, T2): the buyer applies and is told
in words why a large car or a city without a channel is refused; at the counter the clerk inspects
the waiting car of the demo (the VIN read must be the archive's) and registers it, and with no
origin answering here the transfer waits for the origin with its new plate, nothing registered."""

from __future__ import annotations

import pytest
from django.utils import timezone
from PIL import Image

from jiaoguan.core.identifiers import make_vin
from jiaoguan.registry.models import Vehicle
from jiaoguan.transfers.demo import ensure_demo_transfers
from jiaoguan.transfers.models import Transfer

from .phone import fits, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen
STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DMV_PEERS = {}


def _fill(page, *, plate_type: str) -> None:
    page.fill("#id_plate_number", "苏A12345")
    page.select_option("#id_plate_type", plate_type)
    page.fill("#id_vin", make_vin("LFV2A21K0N0000081"))
    page.fill("#id_origin_city", "320100")
    page.fill("#id_seller_id_number", "320102198001011051")
    page.fill("#id_invoice_number", "03200001")
    page.fill("#id_invoice_date", timezone.localdate().isoformat())
    page.click("#apply-submit")


def test_buyer_is_told_why_and_the_clerk_registers_awaiting_the_origin(
    page, tmp_path, make_person, make_staff, citizen
):
    buyer = make_person(name="周买方", mobile="13903960417")
    citizen(buyer)
    ensure_demo_transfers(today=timezone.localdate(), password=PASSWORD)
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-e2e-transfer")

    log_in(page, buyer.id_number, PASSWORD)
    page.goto("/transfers/")
    fits(page)
    _fill(page, plate_type="01")
    page.wait_for_selector(".notice-error")
    assert "小型、微型载客汽车" in page.locator(".notice-error").inner_text()
    _fill(page, plate_type="02")
    page.wait_for_selector(".notice-error")
    assert "联网" in page.locator(".notice-error").inner_text()
    assert not Transfer.objects.filter(buyer=buyer).exists()
    fits(page)

    transfer = Transfer.objects.get(number="411700DEMO0001")
    photo = tmp_path / "car.png"
    Image.new("RGB", (160, 120), (90, 120, 160)).save(photo, format="PNG")
    log_in(page, clerk.username, STAFF_PASSWORD)
    page.goto("/counter/")
    page.get_by_role("link", name="异地转移登记").first.click()
    page.wait_for_url("**/counter/transfers/**")
    fits(page)
    page.click(f"#transfer-{transfer.pk} a")
    fits(page)
    page.fill("#id_vin", transfer.vin)
    page.set_input_files("#id_photo", str(photo))
    page.click("#inspect")
    page.wait_for_selector(".notice-success")
    page.fill("#id_plate_number", "豫QT7821")
    page.click("#register")
    page.wait_for_selector(".notice-warning")
    assert page.locator("#transfer").get_attribute("data-state") == "awaiting_origin"
    assert page.locator("#new-plate").inner_text() == "豫QT7821"
    fits(page)
    assert not Vehicle.objects.filter(vin=transfer.vin).exists()
