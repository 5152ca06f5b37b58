"""Plate pre-selection in real Chromium at 360 px (issue 17, B19, P1-P5): the dealer records a new
car (P2), the buyer tries a self-composed number that breaks the office's rules and one that
someone else holds, switches to random 5-choose-1 (P4), chooses one of the five held numbers (P5),
and the counter clerk registers the car with it (issue 17 §6); the buyer's home then shows the car."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from jiaoguan.accounts.models import User
from jiaoguan.core.identifiers import make_uscc, make_vin, mask_id_number, mask_name
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.credentials.models import Credential
from jiaoguan.plates import services
from jiaoguan.plates.models import PlateSelection, PoolNumber
from jiaoguan.registry.models import Organisation, Vehicle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen
STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff
BUYER_MOBILE = "13903960017"


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Selection limits and cool-downs are counted in the cache, which outlives the database.
    cache.clear()
    yield
    cache.clear()


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} is {width} px wide"


def _login(page, username: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_account", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/(counter/)?$"))


def test_from_the_dealers_record_to_the_buyers_choice_and_the_counters_registration(
    page, make_person, make_staff, citizen
):
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-e2e-plates")
    # 豫Q small cars, A8 series; "4" excluded, so a self-composed A8124 breaks the office's rules.
    pool = services.pool_create(
        actor=clerk,
        division="411702",
        rules_data={"plate_type": "02", "patterns": ["A8ddd"], "excluded_sequences": ["4"]},
    )
    services.pool_numbers_add(actor=clerk, pool_id=pool.pk)

    organisation = Organisation.objects.create(
        uscc=make_uscc("91411702MA9E2E017"), name="驻马店市天中汽车销售服务有限公司",
        kind="car_dealer", division="411702",
    )  # fmt: skip
    dealer = User.objects.create_user(
        username=organisation.uscc, password=PASSWORD, kind="organisation", organisation=organisation,
        registration_level="counter",
    )  # fmt: skip

    person = make_person(name="李明", mobile=BUYER_MOBILE)
    buyer = citizen(person)
    buyer.mobile = BUYER_MOBILE
    buyer.save(update_fields=["mobile"])

    # Someone else already holds 豫QA8123 (self-composed, through the services).
    other_person = make_person(name="赵强", mobile="13903960018")
    other = citizen(other_person)
    other.mobile = other_person.mobile
    other.save(update_fields=["mobile"])
    other_car = services.preregistration_create(
        actor=dealer,
        data={
            "vin": make_vin("LFV2A21K5N0170002"), "plate_type": "02", "brand_model": "大众牌 FV7152",
            "colour": "黑", "buyer_id_number": other_person.id_number, "buyer_name": other_person.name,
            "buyer_mobile": other_person.mobile,
        },
    )  # fmt: skip
    held = services.selection_start(actor=other, vin=other_car.vin, mode="self", number="A8123")
    assert held.candidates == ["豫QA8123"]

    vin = make_vin("LFV2A21K5N0170001")

    # ---- the dealer records the new car from its home tile (P2)
    _login(page, dealer.username, PASSWORD)
    fits(page)
    page.get_by_role("link", name=re.compile("新车预录入")).first.click()
    page.wait_for_url(re.compile(r"/org/plates/preregistrations/$"))
    fits(page)
    page.get_by_label("车辆识别代号（VIN）").fill(vin)
    page.get_by_label("号牌种类").select_option("02")
    page.get_by_label("品牌型号").fill("比亚迪牌 BYD7152")
    page.get_by_label("车身颜色").fill("白")
    page.get_by_label("购车人身份证明号码").fill(person.id_number)
    page.get_by_label("购车人姓名或单位名称").fill(person.name)
    page.get_by_label("购车人手机号码").fill(BUYER_MOBILE)
    page.get_by_role("button", name="录入", exact=True).click()
    page.wait_for_url(re.compile(r"/org/plates/preregistrations/$"))
    record = (
        page.locator("#preregistrations")
        .get_by_text(vin)
        .locator("xpath=ancestor::li[contains(@class, 'card')]")
    )
    text = record.inner_text()
    assert mask_id_number(person.id_number) in text and person.id_number not in text
    assert mask_name(person.name) in text and BUYER_MOBILE not in text
    fits(page)

    # ---- the buyer: a number that breaks the rules, one that is taken, then random 5-choose-1
    _login(page, person.id_number, PASSWORD)
    page.get_by_role("link", name="选号", exact=True).first.click()
    page.wait_for_url(re.compile(r"/plates/$"))
    fits(page)
    assert vin in page.locator("#my-cars").inner_text()
    assert page.locator("#id_vin").input_value() == vin  # the only car, filled in

    page.locator('#start-form input[name="mode"][value="self"]').check()
    page.fill("#id_number", "A8124")
    page.locator("#start-submit").click()
    page.wait_for_load_state()
    assert "号码中不能出现组合“4”" in page.locator("#start-form").inner_text()
    assert page.locator("#switch-random").count() == 0 and page.locator("#open-selection").count() == 0
    assert not PlateSelection.objects.filter(owner_person=person).exists()  # nothing held
    fits(page)

    page.locator('#start-form input[name="mode"][value="self"]').check()
    page.fill("#id_number", "A8123")
    page.locator("#start-submit").click()
    page.wait_for_load_state()
    assert "豫QA8123" in page.locator("#start-form").inner_text()
    assert page.locator("#switch-random").is_visible()
    assert not PlateSelection.objects.filter(owner_person=person).exists()
    fits(page)

    page.locator("#switch-to-random").click()
    page.wait_for_url(re.compile(r"/plates/$"))
    assert page.locator("#open-selection").get_attribute("data-state") == "holding"
    assert page.locator("#hold-countdown").is_visible()
    assert re.search(r"\d+:\d\d", page.locator("#hold-countdown time").inner_text())
    buttons = page.locator('#choose-form button[id^="choose-"]')
    assert buttons.count() == 5
    numbers = [buttons.nth(i).get_attribute("data-number") for i in range(5)]
    assert len(set(numbers)) == 5 and "豫QA8123" not in numbers
    assert all(n and re.fullmatch(r"豫QA8\d\d\d", n) and "4" not in n[2:] for n in numbers)
    fits(page)

    third = numbers[2]
    page.locator("#choose-3").click()
    page.wait_for_url(re.compile(r"/plates/$"))
    assert page.locator("#chosen-number").inner_text().strip() == third
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", page.locator("#register-by").inner_text().strip())
    selection = PlateSelection.objects.get(owner_person=person)
    assert (selection.state, selection.chosen) == ("chosen", third)
    # The other four went back to the pool at once (P5).
    assert PoolNumber.objects.filter(pool=pool, holder=selection).count() == 1
    fits(page)

    # ---- the counter clerk finds the car by its VIN and registers it (issue 17 §6)
    _login(page, clerk.username, STAFF_PASSWORD)
    page.get_by_role("link", name=re.compile("选号登记")).first.click()
    page.wait_for_url(re.compile(r"/counter/plates/registrations/"))
    fits(page)
    page.fill("#id_vin", vin)
    page.locator("#find").get_by_role("button", name="查询").click()
    page.wait_for_url(re.compile(r"vin="))
    assert page.locator("#chosen-number").inner_text().strip() == third
    owner = page.locator("#owner").inner_text()
    assert mask_id_number(person.id_number) in owner and person.id_number not in owner
    assert mask_name(person.name) in owner
    fits(page)
    page.locator("#register").get_by_role("button", name="办理注册登记").click()
    page.wait_for_url(re.compile(r"vin="))
    assert third in page.locator("#registered").inner_text()
    assert page.locator("#register").count() == 0
    vehicle = Vehicle.objects.get(vin=vin)
    assert (vehicle.plate_number, vehicle.owner_person_id) == (third, person.pk)
    fits(page)

    # ---- what the worker does; the buyer's home shows the car with its plate
    while outbox_dispatch():
        pass
    _login(page, person.id_number, PASSWORD)
    assert third[2:] in page.locator("section[aria-labelledby=my-vehicles]").inner_text()
    fits(page)
    page.goto("/plates/")
    assert page.locator("#open-selection").count() == 0
    assert page.locator(f"#selection-{selection.pk}").get_attribute("data-state") == "registered"
    fits(page)
    # The registration issues the electronic inspection mark (E1) once the worker has run.
    assert Credential.objects.filter(vehicle=vehicle, kind=Credential.Kind.INSPECTION_MARK).exists()
    page.goto("/credentials/")
    assert third in page.locator("section[aria-labelledby=marks-title]").inner_text()
    fits(page)
