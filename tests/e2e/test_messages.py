"""The message centre in real Chromium at 360 px (issue 15, N1): a camera record reaches the owner as
a message, the header counts it unread, opening it leads to the violation and clears the count."""

from __future__ import annotations

import re

import pytest

from jiaoguan.integrations.models import FakeSmsMessage
from jiaoguan.notices.models import Message

from .test_violations import CITIZEN_PASSWORD, fits, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_recorded_violation_reaches_the_message_centre(page, live_server, owner_driver, record):
    user, person, vehicle, _licence = owner_driver(mobile="13800138066")
    violation = record(vehicle)  # committed: the outbox tells the owner after commit
    message = Message.objects.get(rule_code="W01", person=person)
    assert FakeSmsMessage.objects.filter(mobile="13800138066", text__contains=vehicle.plate_number).exists()

    log_in(page, user.username, CITIZEN_PASSWORD, r"/$")
    badge = page.locator("#nav-messages .nav-badge")
    assert badge.inner_text() == "1"
    assert "1 条未读消息" in page.locator("#home-messages").inner_text()
    page.locator("#nav-messages").click()
    page.wait_for_url(re.compile(r"/messages/$"))
    item = page.locator(f"#message-{message.pk}")
    assert item.get_attribute("data-unread") == "1"
    assert "机动车电子监控违法行为记录" in item.inner_text() and vehicle.plate_number in item.inner_text()
    assert "法定告知" in item.inner_text()
    fits(page)
    shot(page, "messages")

    item.get_by_role("button", name="查看详情").click()
    page.wait_for_url(re.compile(rf"/violations/{violation.pk}/$"))
    assert page.locator("#nav-messages .nav-badge").count() == 0
    page.goto("/messages/")
    assert page.locator(f"#message-{message.pk}").get_attribute("data-unread") == "0"

    # SMS preferences: the required notices stay on whatever is chosen.
    page.get_by_role("link", name="短信提醒设置").click()
    page.wait_for_url(re.compile(r"/messages/preferences/$"))
    page.get_by_label("安全提示").check()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r"/messages/preferences/$"))
    assert page.get_by_label("安全提示").is_checked()
    fits(page)
