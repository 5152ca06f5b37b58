"""Reports to authorities (N2) in real Chromium at 360 px: the education authority's user logs in,
opens /org/reports/, downloads the month's school-bus sign report as CSV, and the report is
then shown as read."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.core.identifiers import make_uscc
from jiaoguan.registry.models import Organisation, SchoolBusSign
from jiaoguan.reports.services import reports_generate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"


def test_an_authority_opens_its_reports_and_downloads_the_csv(browser, live_server, make_vehicle, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    today = timezone.localdate()
    authority = Organisation.objects.create(
        uscc=make_uscc("11411700MB1E2EJ01"),
        name="驻马店市教育局",
        kind="education_authority",
        division="411700",
    )
    school = Organisation.objects.create(
        uscc=make_uscc("52411702MJE2EXX02"), name="驿城区实验小学", kind="school", division="411702"
    )
    bus = make_vehicle(owner=school, use_nature="school_bus", kind="medium_passenger", plate="豫QE2E01")
    SchoolBusSign.objects.create(
        vehicle=bus, number="XC-E2E-01", school=school, valid_from=today - timedelta(days=300),
        valid_until=today + timedelta(days=300), division="411702",
    )  # fmt: skip
    reports_generate(today=today, codes=["R02"])
    user = User.objects.create_user(
        username=authority.uscc, password=PASSWORD, kind="organisation", organisation=authority,
        registration_level="counter",
    )  # fmt: skip
    context = browser.new_context(
        viewport={"width": 360, "height": 800},
        locale="zh-CN",
        base_url=live_server.url,
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto("/login/")
        page.fill("#id_account", user.username)
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_url(re.compile(r"/(?!login)"))

        page.goto("/org/reports/")
        assert page.locator("h1").inner_text() == "通报抄告"
        assert page.locator("#unread").is_visible()
        row = page.locator("#reports tbody tr").first
        month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        assert "R02" in row.inner_text() and month in row.inner_text()
        with page.expect_download() as info:
            row.locator("a.csv").click()
        data = Path(info.value.path()).read_bytes()
        assert info.value.suggested_filename.startswith(f"R02-{month}")
        text = data.decode("utf-8-sig")
        assert data.startswith(b"\xef\xbb\xbf") and "XC-E2E-01" in text and "驿城区实验小学" in text

        page.reload()
        assert page.locator("#unread").count() == 0
        assert "已阅读" in page.locator("#reports tbody tr").first.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()
