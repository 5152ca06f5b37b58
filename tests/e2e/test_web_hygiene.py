"""In real Chromium: pages work under the Content-Security-Policy, the API docs render with no
internet, and a citizen recovers a forgotten password (issue 10, item 12 and 忘记密码).

Every browser test fails on a CSP violation (tests/e2e/conftest.py); these add the pages and
interactions the other browser tests do not reach.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.integrations.models import FakeSmsMessage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CITIZEN_PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen
NEW_PASSWORD = "Huanxin-Mima7"
MOBILE = "13912340002"


def wait_for_code(mobile: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = FakeSmsMessage.objects.filter(mobile=mobile).order_by("-id").first()
        if message is not None:
            match = re.search(r"(\d{6})", message.text)
            assert match
            return match.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no SMS reached {mobile}")


def test_the_api_docs_render_with_no_internet(page, live_server):
    here = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []

    def only_this_server(route) -> None:
        if urlsplit(route.request.url).netloc == here:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_this_server)
    page.goto("/api/v1/docs")
    page.locator(".swagger-ui .info .title").filter(has_text="jiaoguan API").wait_for()
    page.get_by_text("/api/v1/auth/password-resets", exact=True).first.wait_for()
    assert elsewhere == []


def test_pages_and_their_scripts_run_under_the_policy(page, make_person, citizen):
    user = citizen(make_person(name="陈静"))
    for path in ["/", "/services/", "/login/", "/register/", "/password-reset/", "/verify/"]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    # htmx swaps the SMS field in place on the registration form.
    page.goto("/register/")
    page.fill("#id_mobile", "13912340009")
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_text("验证码已发送").wait_for()
    assert page.url.endswith("/register/")
    # Logged in: the home page and my account.
    page.goto("/login/")
    page.fill("#id_account", user.username)
    page.fill("#id_password", CITIZEN_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))
    for path in ["/me/", "/vehicles/", "/violations/", "/credentials/"]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    response = page.goto("/favicon.ico")
    assert response is not None and response.status == 200


def test_a_citizen_recovers_a_forgotten_password(page, make_person, citizen):
    user = citizen(make_person(name="刘洋"))
    User.objects.filter(pk=user.pk).update(mobile=MOBILE, mobile_verified_at=timezone.now())

    page.goto("/login/")
    page.get_by_role("link", name="忘记密码？").click()
    page.wait_for_url(re.compile(r"/password-reset/$"))
    page.fill("#id_account", user.username)
    page.fill("#id_mobile", MOBILE)
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_text("验证码已发送到该号码").wait_for()
    page.fill("#id_sms_code", wait_for_code(MOBILE))
    page.fill("#id_password", NEW_PASSWORD)
    page.fill("#id_password_confirm", NEW_PASSWORD)
    page.get_by_role("button", name="重置密码").click()

    page.get_by_text("密码已重置").wait_for()
    page.fill("#id_account", user.username)
    page.fill("#id_password", NEW_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))
    assert "退出" in page.inner_text("header")
