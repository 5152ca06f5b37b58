"""A vehicle-licence replacement (B20, issue 14) in real Chromium at 360 px: the owner of two cars
opens 机动车业务, picks 补领机动车行驶证, chooses the second car, hands in the statement and
submits; the application names that car, for the owner and for the clerk's queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.applications.models import Application
from jiaoguan.applications.rules import State

from ..applications.conftest import pdf_bytes
from .test_applications import PASSWORD, STAFF_PASSWORD, fits, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_replaces_the_vehicle_licence_of_the_car_chosen_on_the_business_page(
    page, make_person, make_vehicle, make_staff, citizen
):
    today = timezone.localdate()
    person = make_person(name="赵敏")
    first = make_vehicle(owner=person, plate="豫Q1A001", last_inspected_on=today - timedelta(days=20))
    second = make_vehicle(owner=person, plate="豫Q2B002", last_inspected_on=today - timedelta(days=20))
    user = citizen(person, level="counter")
    make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-b20")

    log_in(page, user.username, PASSWORD, r"/$")
    page.goto("/services/vehicle/")
    page.get_by_role("link", name="补领机动车行驶证").first.click()
    page.wait_for_url("**/applications/businesses/B20/**")
    fits(page)
    page.check(f'input[name="vehicle"][value="{second.pk}"]')
    page.click("#vehicle-choose")
    page.wait_for_url(f"**/applications/businesses/B20/?vehicle={second.pk}")
    assert page.inner_text("#chosen-plate") == "豫Q2B002"
    page.check('input[name="delivery_method"][value="pickup"]')
    page.set_input_files(
        "#id_statement",
        files=[{"name": "statement.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}],
    )
    page.click("#apply-submit")
    page.wait_for_url("**/applications/*/")
    fits(page)
    assert "豫Q2B002" in page.inner_text("#vehicle") and "已提交" in page.inner_text("#state")
    app = Application.objects.get()
    assert (app.business_code, app.vehicle_id, app.state, app.fee_fen) == (
        "B20",
        second.pk,
        State.SUBMITTED,
        1000,
    )
    assert first.pk != second.pk

    log_in(page, "clerk-b20", STAFF_PASSWORD, r"/counter/")
    page.goto("/counter/applications/")
    assert "豫Q2B002" in page.inner_text("main")
    page.goto(f"/counter/applications/{app.pk}/")
    assert "豫Q2B002" in page.inner_text("#vehicle")
