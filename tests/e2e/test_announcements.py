"""Announcements in real Chromium at 360 px (N3): a clerk draws a G03 announcement (plates not
returned after deregistration) from the registry and submits it, a head of unit approves and
publishes it, and a visitor without a login finds it on /notices/ by plate and by full name,
with the name masked."""

from __future__ import annotations

import re

import pytest

from jiaoguan.announcements.models import Announcement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width} px wide"


def _login(page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_account", username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def test_draft_approve_publish_then_the_public_finds_it(
    browser, page, live_server, make_staff, make_person, make_vehicle
):
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-notice")
    head = make_staff(role="unit_head", jurisdiction="411700", username="head-notice")
    make_vehicle(owner=make_person(name="欧阳明月"), plate="豫QB7788", status="E")

    # ---- the clerk draws the draft from the registry and submits it
    _login(page, clerk.username)
    page.goto("/counter/")
    page.get_by_role("link", name=re.compile("公告管理")).first.click()
    page.wait_for_url(re.compile(r"/counter/announcements/$"))
    page.select_option("#id_code", "G03")
    page.get_by_role("button", name="生成草稿").click()
    page.wait_for_url(re.compile(r"/counter/announcements/\d+/$"))
    assert "豫QB7788" in page.inner_text("#items") and "欧**" in page.inner_text("#items")
    fits(page)
    page.click("#btn-submit")
    page.locator("#state", has_text="待审批").wait_for()
    assert page.locator("#btn-approve").count() == 0  # a clerk is offered no approval
    announcement = Announcement.objects.get()

    # ---- a head of unit approves and publishes it
    desk = browser.new_context(
        viewport={"width": 360, "height": 800}, locale="zh-CN", base_url=live_server.url
    )
    head_page = desk.new_page()
    head_page.set_default_timeout(15000)
    _login(head_page, head.username)
    head_page.goto(f"/counter/announcements/{announcement.pk}/")
    head_page.click("#btn-approve")
    head_page.locator("#state", has_text="已审批待发布").wait_for()
    head_page.click("#btn-publish")
    head_page.locator("#state", has_text="已发布").wait_for()
    number = head_page.inner_text("#number")
    assert re.fullmatch(r"驻公交告〔\d{4}〕第1号", number)
    fits(head_page)
    desk.close()

    # ---- a visitor without a login searches by plate, then by full name
    visitor = browser.new_context(
        viewport={"width": 360, "height": 800}, locale="zh-CN", base_url=live_server.url
    )
    public = visitor.new_page()
    public.set_default_timeout(15000)
    public.goto("/notices/")
    public.fill("#id_q", "豫qb7788")
    public.get_by_role("button", name="查询").click()
    hit = public.locator(f"#notice-{announcement.pk}")
    hit.wait_for()
    assert number in hit.inner_text() and "欧***" in hit.inner_text() and "欧阳明月" not in public.content()
    fits(public)
    public.fill("#id_q", "欧阳明月")
    public.get_by_role("button", name="查询").click()
    public.locator(f"#notice-{announcement.pk}").wait_for()
    public.fill("#id_q", "欧阳")
    public.get_by_role("button", name="查询").click()
    public.locator("#no-results").wait_for()
    public.goto(f"/notices/{announcement.pk}/")
    assert "豫QB7788" in public.inner_text("#items")
    fits(public)
    visitor.close()
