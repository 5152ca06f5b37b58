"""Filed vehicles in real Chromium at 360 px (U7): a driver files a friend's car, the friend agrees
in their own account, the driver shows the car's electronic inspection mark (without the friend's
personal data), the friend withdraws the filing, and the mark is gone from the driver's page."""

from __future__ import annotations

import re
from datetime import date

import pytest

from jiaoguan.accounts.models import User
from jiaoguan.credentials import services as credential_services
from jiaoguan.credentials.keys import trust_cache_clear
from jiaoguan.delegations.models import VehicleFiling

from .phone import fits, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Beian-Cheliang7"


@pytest.fixture(autouse=True)
def _setup(tmp_path, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    trust_cache_clear()
    yield
    trust_cache_clear()


def test_a_driver_files_a_friends_car_and_the_friend_withdraws_it(page, make_person, make_vehicle):
    friend_person = make_person(name="周国栋", mobile="13903961111")
    car = make_vehicle(
        owner=friend_person,
        plate="豫QF6B28",
        registered_on=date(2022, 5, 13),
        last_inspected_on=date(2026, 5, 1),
    )
    assert credential_services.inspection_mark_issue(vehicle_id=car.pk, event="test") is not None
    friend = User.objects.create_user(
        username=friend_person.id_number, password=PASSWORD, person=friend_person, registration_level="online"
    )
    driver_person = make_person(name="吴晓峰", mobile="13903962222")
    driver = User.objects.create_user(
        username=driver_person.id_number, password=PASSWORD, person=driver_person, registration_level="online"
    )

    # ---- the driver files the friend's car
    log_in(page, driver.username, PASSWORD)
    page.goto("/me/filings/")
    fits(page)
    page.get_by_label("号牌号码").fill("豫qf6b28")
    page.get_by_label("号牌种类").select_option("02")
    page.get_by_label("车辆识别代号后六位").fill(car.vin[-6:])
    page.get_by_role("button", name="提交备案申请").click()
    page.wait_for_url(re.compile(r"/me/filings/$"))
    filing = VehicleFiling.objects.get(driver=driver)
    card = page.locator(f"#my-filings .filing[data-id='{filing.pk}']")
    assert "待车主同意" in card.inner_text()
    fits(page)

    # ---- the friend agrees in their own account, from the principal's page
    log_in(page, friend.username, PASSWORD)
    page.goto("/me/delegations/")
    page.locator("#filings-link").click()
    page.wait_for_url(re.compile(r"/me/filings/$"))
    waiting = page.locator(f".filing-consent[data-id='{filing.pk}']")
    assert "豫QF6B28" in waiting.inner_text() and "吴**" in waiting.inner_text()
    fits(page)
    page.locator(f"#accept-{filing.pk}").click()
    page.wait_for_url(re.compile(r"/me/filings/$"))
    filing.refresh_from_db()
    assert filing.state == "active"

    # ---- the driver shows the mark, without the friend's data
    log_in(page, driver.username, PASSWORD)
    page.goto("/credentials/")
    mark_card = page.locator("article.cred-card", has_text="豫QF6B28")
    assert "备案车辆" in mark_card.inner_text()
    fits(page)
    mark_card.get_by_role("link", name=re.compile("出示凭证")).click()
    page.locator("#qr-live svg").wait_for()
    html = page.content()
    for private in (friend_person.name, "周**", friend_person.id_number, friend_person.mobile):
        assert private not in html
    assert page.locator("#keep-title").count() == 0  # no download or print of a filed vehicle's mark
    fits(page)

    # ---- the friend withdraws it on their page of grants, and the mark is gone at once
    log_in(page, friend.username, PASSWORD)
    page.goto("/me/delegations/")
    entry = page.locator(f"#filings .filing[data-id='{filing.pk}']")
    assert "车主在本人账户中同意备案" in entry.inner_text() or "豫QF6B28" in entry.inner_text()
    page.locator(f"#revoke-filing-{filing.pk}").click()
    page.wait_for_url(re.compile(r"/me/delegations/$"))
    filing.refresh_from_db()
    assert filing.state == "withdrawn"

    log_in(page, driver.username, PASSWORD)
    page.goto("/credentials/")
    assert "豫QF6B28" not in page.content()
