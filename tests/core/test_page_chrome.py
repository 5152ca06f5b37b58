"""The page chrome kept per variant (core/templatetags/page_chrome.py, issue 12): one visitor's header
never reaches another, each page's forms carry that request's CSRF token and address, and the
kept HTML follows the language, the mode and the current page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from jiaoguan.core.templatetags import page_chrome


@pytest.fixture(autouse=True)
def _fresh_chrome():
    page_chrome._kept.clear()
    yield
    page_chrome._kept.clear()


def _tokens(html: str) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)


@pytest.mark.django_db
def test_a_clerks_chrome_never_reaches_a_citizen(owner_driver, make_staff):
    clerk, (citizen, *_) = make_staff(role="counter_clerk"), owner_driver()
    staff_browser, citizen_browser = Client(), Client()
    staff_browser.force_login(clerk)
    citizen_browser.force_login(citizen)
    staff_page = staff_browser.get("/counter/").content.decode()
    assert 'class="wrap staff-nav"' in staff_page
    for _ in range(2):
        page = citizen_browser.get("/").content.decode()
        assert 'class="wrap staff-nav"' not in page and "/counter/" not in page
        assert 'href="/" aria-current="page"' in page


@pytest.mark.django_db
def test_each_request_gets_its_own_token_and_address(owner_driver):
    user, *_ = owner_driver()
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(user)
    second.force_login(user)
    one = first.get("/services/?q=it's").content.decode()
    two = second.get("/services/").content.decode()
    assert _tokens(one) and _tokens(two)
    assert "\x00" not in one and "\x00" not in two
    assert 'name="next" value="/services/?q=it&#x27;s"' in one  # the address, escaped
    assert 'name="next" value="/services/"' in two
    # The token filled in is the request's: the form it sits in is accepted.
    response = first.post("/logout/", {"csrfmiddlewaretoken": _tokens(one)[-1]})
    assert response.status_code == 302


@pytest.mark.django_db
def test_language_mode_and_login_state_are_kept_apart(owner_driver):
    user, *_ = owner_driver()
    visitor = Client()
    assert "登录" in visitor.get("/").content.decode()
    visitor.cookies["django_language"] = "en"
    english = visitor.get("/").content.decode()
    assert "Log in" in english and ">登录<" not in english
    visitor.cookies["elder_mode"] = "1"
    assert '<body class="elder' in visitor.get("/").content.decode()
    member = Client()
    member.force_login(user)
    page = member.get("/").content.decode()
    assert "退出" in page and 'href="/login/"' not in page
