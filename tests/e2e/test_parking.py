"""Old-neighbourhood parking in real Chromium at 360 px (O8, seed 004 §五): the head of unit drafts
a segment near an old residential area, is refused until emergency access is confirmed, publishes
it; a resident of the district finds it from the home tile on the list and on the map, and reads
the message that told them."""

from __future__ import annotations

import pytest

from jiaoguan.notices.models import Message
from jiaoguan.parking.models import Segment

from .phone import fits, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen
STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_staff_publish_and_a_resident_finds_the_segment(page, make_person, make_staff, citizen):
    head = make_staff(role="unit_head", jurisdiction="411700", username="head-e2e-parking")
    resident = make_person(name="周红", area="411702", mobile="13903960711")
    citizen(resident)
    outsider = make_person(name="郑伟", area="411721", mobile="13903960712")
    citizen(outsider)

    # The head of unit drafts the segment from the counter menu.
    log_in(page, head.username, STAFF_PASSWORD)
    page.get_by_role("link", name="老旧小区停车路段").first.click()
    page.wait_for_url("**/counter/parking/")
    fits(page)
    page.click("#new-segment")
    page.select_option("#id_division", "411702")
    page.fill("#id_road", "交通路")
    page.fill("#id_from", "解放路")
    page.fill("#id_to", "雪松大道")
    page.select_option("#id_side", "north")
    page.fill("#id_neighbourhood", "交通路供电局家属院")
    page.fill("#id_points", "114.0215,32.9968\n114.0262,32.9969\n114.0311,32.9971")
    page.select_option("#id_days_2", "days_off")
    page.check("#id_all_day_2")
    fits(page)
    page.click("#save")
    page.wait_for_selector(".notice-success")
    segment = Segment.objects.get()
    assert page.locator("#segment-status").get_attribute("data-status") == "draft"

    # Publishing without emergency access kept is refused in words (seed 004 §五 一).
    page.click("#publish")
    page.wait_for_selector(".notice-error")
    assert "应急救援车辆" in page.locator(".notice-error").inner_text()
    page.check("#id_emergency")
    page.click("#save")
    page.wait_for_selector(".notice-success")
    page.fill("#id_publish_reason", "征求社区意见后划定")
    page.click("#publish")
    page.wait_for_selector(".notice-success")
    assert page.locator("#segment-status").get_attribute("data-status") == "published"
    fits(page)

    # The resident finds it from the home tile, by district, on the list and on the map.
    log_in(page, resident.id_number, PASSWORD)
    page.locator('a[href="/parking/"]').first.click()
    page.wait_for_url("**/parking/")
    page.select_option("#id_division", "411702")
    page.click("#district-go")
    page.wait_for_url("**/parking/?division=411702")
    item = page.locator(f"#segment-{segment.pk}")
    assert "交通路" in item.inner_text() and "现在" in item.inner_text()
    assert page.locator(f'#parking-map path[data-segment="{segment.pk}"]').count() == 1
    assert page.locator("#parking-map svg").bounding_box()["width"] <= 360
    fits(page)
    item.get_by_role("link", name="交通路").click()
    page.wait_for_url(f"**/parking/{segment.pk}/")
    assert "全天" in page.locator("#windows").inner_text()
    fits(page)

    # ... and the message that told them.
    page.goto("/messages/")
    assert "允许停车路段发布" in page.content()
    fits(page)
    assert Message.objects.filter(category="parking", person_id=resident.pk).count() == 1
    assert not Message.objects.filter(category="parking", person_id=outsider.pk).exists()
