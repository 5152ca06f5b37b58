"""Military licence exchange in real Chromium at 360 px (O3, seed 004 §七): a veteran applies
online and the military licence is checked at once; the counter clerk finds the case in the staff
menu and accepts it; the veteran then sees the new licence with the continuous driving age and the
original military first-issue date, classes and added class as its remark."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.utils import timezone

from jiaoguan.integrations.military_licence import MilitaryLicence
from jiaoguan.military_exchange.models import ExchangeCase
from jiaoguan.registry import military_licence_rules as mrules
from jiaoguan.registry.models import DrivingLicence

from .phone import fits, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen
STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_veteran_applies_the_clerk_accepts_and_the_licence_carries_the_military_remark(
    page, make_person, make_staff, citizen, military_licence_service
):
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-e2e-military")
    person = make_person(name="刘建军", birth_date=date(1985, 4, 12), mobile="13900139021")
    citizen(person)
    military_licence_service.licence(
        MilitaryLicence(
            number="JW20080301", id_number=person.id_number, name=person.name, classes="B1",
            first_issued_on=date(2008, 3, 1), issued_on=date(2018, 1, 1), added=(("A1", date(2012, 5, 1)),),
        )
    )  # fmt: skip

    # The veteran applies online.
    log_in(page, person.id_number, PASSWORD)
    page.goto("/military-exchange/")
    fits(page)
    page.fill("#id_military_number", "JW20080301")
    page.fill("#id_classes", "B1")
    page.fill("#id_first_issued_on", "2008-03-01")
    page.fill("#id_added_1_classes", "A1")
    page.fill("#id_added_1_on", "2012-05-01")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url(re.compile(r"/military-exchange/$"))
    case_card = page.locator(".exchange-case").first
    assert "待受理" in case_card.inner_text()
    fits(page)
    case = ExchangeCase.objects.get(person=person)
    assert case.check_outcome == "passed"

    # The clerk opens the queue from the staff menu and accepts.
    log_in(page, clerk.username, STAFF_PASSWORD)
    page.goto("/counter/")
    page.get_by_role("link", name="军队驾驶证换证").first.click()
    page.wait_for_url(re.compile(r"/counter/military-exchanges/$"))
    fits(page)
    today = timezone.localdate()
    expected = mrules.first_issue_date(
        military_first_issued_on=date(2008, 3, 1),
        birth_date=person.birth_date,
        classes="B1",
        exchanged_on=today,
    )
    row = page.locator(f'.exchange-case[data-id="{case.pk}"]')
    assert expected.isoformat() in row.locator(".preview-first").inner_text()
    row.get_by_role("button", name="受理并办结").click()
    page.wait_for_url(re.compile(r"/counter/military-exchanges/$"))
    assert "已受理并办结" in page.content()
    case.refresh_from_db()
    assert case.state == "completed"

    # The veteran sees the new licence: first issue by the seed's rule, the military remark.
    log_in(page, person.id_number, PASSWORD)
    page.goto("/military-exchange/")
    assert expected.isoformat() in page.locator(".licence-first-issued").inner_text()
    page.get_by_role("link", name="查看我的驾驶证").click()
    page.wait_for_url(re.compile(r"/licences/$"))
    fits(page)
    remark = page.locator(".military-age")
    assert "2008-03-01" in remark.locator(".military-first-issued").inner_text()
    text = remark.inner_text()
    assert "M3" in text and "B1" in text and "A1" in text and "2012-05-01" in text
    assert expected.strftime("%Y-%m-%d") in page.content()
    licence = DrivingLicence.objects.get(holder=person)
    assert licence.first_issued_on == expected and licence.remarks == "M3 2008-03-01 B1 +A1 2012-05-01"
