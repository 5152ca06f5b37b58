"""What the browser tests of a phone-sized page share: logging in and checking the page fits."""

from __future__ import annotations

import re

PHONE_WIDTH = 360


def fits(page) -> None:
    """The page is no wider than a small phone's screen (nothing scrolls sideways)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} is {width} px wide"


def log_in(page, username: str, password: str) -> None:
    """Log in from a clean session; citizens land on the home page, staff on the counter's."""
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_account", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/(counter/)?$"))
