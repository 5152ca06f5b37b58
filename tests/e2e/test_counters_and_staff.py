"""Issue 11 in real Chromium: a business without an online service names the counter; counter
registration by texted link; the code button counts down; the language is remembered; staff
pages use the wide layout."""

from __future__ import annotations

import re
import time

import pytest

from jiaoguan.accounts.models import User
from jiaoguan.core.models import ServiceCounter
from jiaoguan.integrations.models import FakeSmsMessage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Lvse-Chuxing9"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def _screenshot(page, name: str) -> None:
    from django.conf import settings

    path = settings.DATA_DIR / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path / f"{name}.png"), full_page=True)


def _context(browser, live_server, viewport, **kwargs):
    context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=live_server.url, **kwargs)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def _log_in(page, account: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_account", account)
    page.fill("#id_password", password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/(counter/)?$"))


def _texted(mobile: str, pattern: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = FakeSmsMessage.objects.filter(mobile=mobile).order_by("-id").first()
        if message is not None:
            match = re.search(pattern, message.text)
            assert match, message.text
            return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no SMS reached {mobile}")


@pytest.fixture
def counter_office(db):
    return ServiceCounter.objects.create(
        name="驻马店市车管所测试窗口", division="411702", address="驿城区雪松大道100号",
        hours="周一至周五 8:30–12:00，14:30–17:30", phone="0396-2612123",
    )  # fmt: skip


def test_a_business_without_an_online_service_names_the_counter(
    browser, live_server, make_person, citizen, counter_office, offline_business
):
    person = make_person(name="周琳")
    citizen(person)
    context, page = _context(browser, live_server, PHONE)
    try:
        _log_in(page, person.id_number, "Citizen#2026x")
        # Every tile is online since issue 19 (学法减分, V7); B19 is announced as not live yet here.
        page.goto("/services/B19/")
        notice = page.locator(".unavailable")
        notice.wait_for()
        assert "暂未开通网上办理" in notice.inner_text()
        alternative = notice.locator(".alternative").inner_text()
        assert "驿城区雪松大道100号" in alternative and "周一至周五 8:30–12:00，14:30–17:30" in alternative
        _screenshot(page, "unavailable-business-390")
    finally:
        context.close()


def test_counter_registration_texts_a_link_and_the_citizen_sets_the_password(
    browser, live_server, make_person, make_staff
):
    make_staff(role="counter_clerk", username="clerk-e2e")
    person = make_person(name="杜娟")
    mobile = "13912345690"
    clerk_context, clerk = _context(browser, live_server, DESKTOP)
    try:
        _log_in(clerk, "clerk-e2e", "Counter#2026x")
        clerk.locator("main").get_by_role("link", name="个人用户窗口注册").click()
        assert clerk.locator("input[type=password]").count() == 0
        clerk.fill("#id_id_number", person.id_number)
        clerk.fill("#id_name", person.name)
        clerk.fill("#id_mobile", mobile)
        clerk.get_by_role("button", name="完成注册").click()
        clerk.get_by_text("设置登录密码的链接已发送到手机").wait_for()
        assert "139****5690" in clerk.inner_text("main")
        _screenshot(clerk, "counter-register-1366")
    finally:
        clerk_context.close()
    assert not User.objects.get(person=person).has_usable_password()

    token = _texted(mobile, r"/password/setup/([\w-]+)/")
    phone_context, phone = _context(browser, live_server, PHONE)
    try:
        phone.goto(f"/password/setup/{token}/")
        phone.fill("#id_password", PASSWORD)
        phone.fill("#id_password_confirm", PASSWORD)
        phone.get_by_role("button", name="设置密码").click()
        phone.get_by_text("登录密码已设置").wait_for()
        _log_in(phone, person.id_number, PASSWORD)
        assert phone.get_by_role("button", name=re.compile("退出")).count() == 1
    finally:
        phone_context.close()


def test_the_code_button_counts_down_after_a_send(page):
    page.goto("/register/")
    page.fill("#id_mobile", "13912345691")
    button = page.locator("button.send-code")
    button.click()
    page.get_by_text("验证码已发送").wait_for()
    from playwright.sync_api import expect

    button = page.locator("button.send-code")
    expect(button).to_be_disabled()
    expect(button).to_have_text(re.compile(r"^\s*\d{1,2}秒后重新获取\s*$"))


def test_the_language_choice_survives_a_new_browser_context(browser, live_server):
    first, page = _context(browser, live_server, PHONE)
    try:
        page.goto("/")
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "en"
        state = first.storage_state()
    finally:
        first.close()
    second, again = _context(browser, live_server, PHONE, storage_state=state)
    try:
        again.goto("/services/")
        assert again.locator("html").get_attribute("lang") == "en"
        assert "All services" in again.inner_text("main") or "Services" in again.inner_text("main")
    finally:
        second.close()


def test_staff_pages_use_the_wide_layout_on_a_desktop(browser, live_server, make_staff):
    make_staff(role="administrator", username="admin-e2e")
    context, page = _context(browser, live_server, DESKTOP)
    try:
        _log_in(page, "admin-e2e", "Counter#2026x")
        assert "staff" in (page.locator("body").get_attribute("class") or "")
        width = page.locator("main").bounding_box()["width"]
        assert width > 1000, width
        # The staff menu of the access table is in the header on a desktop.
        header = page.locator(".staff-nav")
        assert header.get_by_role("link", name="业务窗口信息").is_visible()
        _screenshot(page, "counter-home-admin-1366")
    finally:
        context.close()
    phone_context, phone = _context(browser, live_server, PHONE)
    try:
        _log_in(phone, "admin-e2e", "Counter#2026x")
        assert not phone.locator(".staff-nav").get_by_role("link", name="业务窗口信息").is_visible()
        assert phone.locator("main").get_by_role("link", name="业务窗口信息").is_visible()
    finally:
        phone_context.close()
