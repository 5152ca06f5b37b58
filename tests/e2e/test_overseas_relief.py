"""Overseas relief in real Chromium at 360 px (O4, seed 004 §八 二): a driver whose licence was
cancelled (R) while abroad and who came back two months ago applies with the physical-condition
certificate; the counter clerk accepts after checking the crossings, the head of the unit
approves (four eyes), and the driver sees the licence valid again."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone
from PIL import Image

from jiaoguan.integrations.exit_entry import Movement
from jiaoguan.overseas_relief.models import ReliefCase
from jiaoguan.registry.rules import add_months

from .phone import fits, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen
STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_returned_driver_is_restored_after_the_clerk_and_the_head(
    page, tmp_path, make_person, make_licence, make_staff, citizen, exit_entry_service
):
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-e2e-relief")
    head = make_staff(role="unit_head", jurisdiction="411700", username="head-e2e-relief")
    person = make_person(name="陈海外", mobile="13903960408")
    licence = make_licence(
        holder=person, first_issued_on=date(2009, 5, 4), valid_from=date(2019, 5, 4), status="R",
        cancelled_on=date(2021, 3, 1), cancellation_reason="review_overdue", division="411702",
    )  # fmt: skip
    back = add_months(timezone.localdate(), -2)
    exit_entry_service.travel(
        person.id_number,
        [Movement("exit", date(2019, 8, 1), "上海浦东"), Movement("entry", back, "广州白云")],
    )
    citizen(person)
    certificate = tmp_path / "certificate.png"
    Image.new("RGB", (120, 160), (250, 250, 250)).save(certificate, format="PNG")

    # The driver applies.
    log_in(page, person.id_number, PASSWORD)
    page.goto("/overseas-relief/")
    assert page.locator("#licence-status").get_attribute("data-status") == "R"
    assert page.locator("#abroad-deferral a").get_attribute("href") == "/me/entrustments/"
    fits(page)
    page.set_input_files("#id_certificate", str(certificate))
    page.click("#apply-submit")
    page.wait_for_selector(".notice-success")
    case = ReliefCase.objects.get()
    assert page.locator(f"#case-{case.pk}").get_attribute("data-state") == "submitted"
    assert page.locator("#apply-form").count() == 0
    fits(page)

    # The clerk finds it from the counter menu, checks the crossings and accepts.
    log_in(page, clerk.username, STAFF_PASSWORD)
    page.goto("/counter/")
    page.get_by_role("link", name="恢复驾驶资格").first.click()
    page.wait_for_url("**/counter/overseas-reliefs/**")
    fits(page)
    page.click(f"#case-{case.pk} a")
    assert page.locator("#movements tbody tr").count() == 2
    fits(page)
    page.click("#accept")
    page.wait_for_selector(".notice-success")
    assert page.locator("#approve").count() == 0  # four eyes: not the clerk

    # The head of the unit approves; the licence is restored.
    log_in(page, head.username, STAFF_PASSWORD)
    page.goto(f"/counter/overseas-reliefs/{case.pk}/")
    fits(page)
    page.click("#approve")
    page.wait_for_selector(".notice-success")
    assert page.locator("#case").get_attribute("data-state") == "restored"

    # The driver sees the licence valid again.
    log_in(page, person.id_number, PASSWORD)
    page.goto("/overseas-relief/")
    assert page.locator("#licence-status").get_attribute("data-status") == "A"
    assert page.locator(f"#case-{case.pk}").get_attribute("data-state") == "restored"
    page.goto("/licences/")
    assert "正常" in page.content()
    fits(page)
    licence.refresh_from_db()
    assert licence.status == "A" and licence.cancelled_on is None
