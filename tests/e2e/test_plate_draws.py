"""The public draw log in a phone's browser (issue 17 §3): days, a day's log and its file, the long
hashes wrapped inside the screen."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jiaoguan.plates import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_public_draw_pages_fit_a_phone(page, make_staff):
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-draws")
    pool = services.pool_create(
        actor=clerk, division="411702", rules_data={"plate_type": "02", "patterns": ["A8ddd"]}
    )
    services.pool_numbers_add(actor=clerk, pool_id=pool.pk)
    today = timezone.localdate().isoformat()

    page.goto("/plate-draws/")
    assert page.locator(f"#day-{today}").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.locator(f"#day-{today} a").click()
    page.wait_for_url(f"**/plate-draws/{today}/")
    assert page.locator("#commitment").is_visible() and page.locator("#seed-hidden").is_visible()
    assert page.locator("#platform-check").is_visible()
    assert page.locator('[id^="entry-"]').count() == 1  # the numbers added today, in one entry
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    answer = page.request.get(page.locator("#download").get_attribute("href") or "")
    assert answer.ok and answer.json()["pools"][0]["pool"] == "豫Q:02"
