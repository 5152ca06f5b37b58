"""Real headless Chromium (Debian's package) driven by Playwright against a live server."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the
# test itself are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


# Messages Chromium logs when the Content-Security-Policy blocks something (issue 10, item 12).
_CSP_BLOCKED: list[str] = []


def _watch_for_csp_violations(context) -> None:
    def on_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            _CSP_BLOCKED.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", on_console)


@pytest.fixture(autouse=True)
def no_csp_violations():
    """Every browser test fails when the policy blocked a script, a style or anything else: a
    page must keep working under the policy, not only pass its own checks."""
    _CSP_BLOCKED.clear()
    yield
    assert _CSP_BLOCKED == [], "blocked by the Content-Security-Policy:\n" + "\n".join(_CSP_BLOCKED)


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed: apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        profile = tempfile.mkdtemp(prefix="jiaoguan-chromium-")
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=[*CHROMIUM_ARGS])
        # Every context a test opens, here or in its own fixture, is watched for CSP violations.
        new_context = browser.new_context

        def watched_context(*args, **kwargs):
            context = new_context(*args, **kwargs)
            _watch_for_csp_violations(context)
            return context

        browser.new_context = watched_context
        try:
            yield browser
        finally:
            browser.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        viewport={"width": 360, "height": 800}, locale="zh-CN", base_url=live_server.url
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
