"""A citizen registers online in real Chromium, logs in and sees a vehicle's inspection date (U2, Q1)."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest

from jiaoguan.accounts.models import User
from jiaoguan.integrations.models import FakeSmsMessage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Lvse-Chuxing9"


def wait_for_code(mobile: str, timeout: float = 10.0) -> str:
    """The fake gateway receives the code after commit; poll its inbox like a person waits for a text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = FakeSmsMessage.objects.filter(mobile=mobile).order_by("-id").first()
        if message is not None:
            match = re.search(r"(\d{6})", message.text)
            assert match
            return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no SMS reached {mobile}")


def test_register_online_log_in_and_see_inspection_date(page, make_person, make_vehicle):
    person = make_person(name="陈静")
    make_vehicle(
        owner=person, plate="豫QD7K21", registered_on=date(2020, 5, 13), last_inspected_on=date(2022, 5, 1)
    )

    page.goto("/register/")
    page.fill("#id_id_number", person.id_number)
    page.fill("#id_name", person.name)
    page.fill("#id_mobile", "13912345678")
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_text("验证码已发送").wait_for()
    code = wait_for_code("13912345678")

    page.fill("#id_sms_code", code)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_confirm", PASSWORD)
    page.get_by_role("button", name="注册", exact=True).click()

    page.get_by_text("豫QD7K21").first.wait_for()
    assert User.objects.filter(person=person, registration_level="online").exists()
    body = page.inner_text("body")
    assert "2024-05-31" in body  # inspection valid-until computed from the schedule
    assert "检验已逾期" in body

    # log out, then in again, and open the vehicle's page
    page.get_by_role("button", name=re.compile("退出")).first.click()
    page.goto("/login/")
    page.fill("#id_account", person.id_number)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.goto("/vehicles/")
    page.get_by_role("link", name="查看车辆详情").first.click()
    page.wait_for_url(re.compile(r"/vehicles/\d+/"))
    detail = page.inner_text("main")
    assert "2024-05-31" in detail
    assert "Q" in detail and "逾期未检验" in detail
    assert "无强制报废年限" in detail  # small private car
    page.screenshot(path=str(_screenshot_dir() / "vehicle-detail-360.png"), full_page=True)


def test_wrong_sms_code_is_shown_next_to_the_field(page, make_person):
    person = make_person(name="刘洋")
    page.goto("/register/")
    page.fill("#id_id_number", person.id_number)
    page.fill("#id_name", person.name)
    page.fill("#id_mobile", "13912345679")
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_text("验证码已发送").wait_for()
    real = wait_for_code("13912345679")
    page.fill("#id_sms_code", "000000" if real != "000000" else "111111")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_confirm", PASSWORD)
    page.get_by_role("button", name="注册", exact=True).click()
    page.locator("#field-sms_code .field-error").wait_for()
    assert "验证码不正确" in page.inner_text("#field-sms_code")
    assert not User.objects.filter(person=person).exists()


def _screenshot_dir():
    from django.conf import settings

    path = settings.DATA_DIR / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
