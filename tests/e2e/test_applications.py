"""The licence renewal in real Chromium at 360 px, end to end (issue 13): a hospital submits the
physical-condition certificate (B7), the driver renews online (B8) and pays the fee at the fake
gateway, a clerk accepts and posts through the fake postal service, the postal service reports
delivery by signed callback, and the driver sees the application completed, the new validity
and a reissued e-licence."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from PIL import Image

from jiaoguan.applications.models import ApplicantMessage, Application, PostalNotice
from jiaoguan.applications.rules import State
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.credentials import services as credentials
from jiaoguan.credentials.keys import trust_cache_clear
from jiaoguan.credentials.models import Credential
from jiaoguan.payments.models import PaymentOrder
from jiaoguan.registry.models import DrivingLicence, MedicalExamination
from jiaoguan.registry.rules import add_years, licence_valid_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen and organisation_user
STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff


@pytest.fixture(autouse=True)
def _keys(tmp_path, settings):
    """Sign with keys of this test only; the live server runs in this process and sees them."""
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    trust_cache_clear()
    yield
    trust_cache_clear()


def log_in(page, username: str, password: str, landing: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_account", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(landing))


def fits(page) -> None:
    """Nothing wider than the 360 px screen; the widest offender is named when something is."""
    width = page.evaluate("document.documentElement.scrollWidth")
    widest = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .map(e => [e.getBoundingClientRect().right, e.tagName + '#' + e.id + '.' + e.className])
            .filter(([right]) => right > 360).sort((a, b) => b[0] - a[0]).slice(0, 3)"""
    )
    assert width <= 360, f"{page.url} is {width} px wide: {widest}"


def quiet(postal_service, *, still: float = 1.0, timeout: float = 20.0) -> None:
    """Wait until the fake postal service has sent nothing for ``still`` seconds."""
    deadline, seen, since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(postal_service.callbacks())
        if count != seen:
            seen, since = count, time.monotonic()
        elif time.monotonic() - since >= still:
            return
        time.sleep(0.1)


def photo_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (358, 441), (236, 240, 244)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def wait_until(check, *, timeout: float = 20.0) -> None:
    """Poll ``check`` (which must not touch the database: see the payment step) until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_hospital_certificate_online_renewal_payment_posting_and_delivery(
    page, live_server, settings, payment_gateway, postal_service, make_person, make_licence, citizen,
    organisation_user, make_staff,
):  # fmt: skip
    # Two fakes call this live server back on their own schedule while the test reads the
    # database; on SQLite the live server shares one connection with the test thread and an
    # overlap locks the table for every later test, so the journey runs on PostgreSQL (CI runs
    # both), where the server has connections of its own.
    if connection.vendor != "postgresql":
        pytest.skip("the journey with the fakes' callbacks runs on PostgreSQL")
    settings.PUBLIC_BASE_URL = live_server.url
    # The postal fixture answers timeouts fast for the timeout tests; a loaded machine (both CI
    # suites side by side) must not turn this journey's one waybill request into a timeout.
    settings.POSTAL_TIMEOUT_SECONDS = 10.0
    today = timezone.localdate()
    person = make_person(name="王芳", mobile="13800138000")
    # Valid for 30 more days: inside the 90-day renewal window (B8), a 6-year term.
    start = add_years(today + timedelta(days=30), -6)
    licence = make_licence(holder=person, classes="C1", first_issued_on=start, valid_from=start, term="6y")
    old_until = licence_valid_until(valid_from=licence.valid_from, term="6y")
    old_e_licence = credentials.licence_credential_issue(licence_id=licence.pk, event="test")
    driver = citizen(person, level="counter")
    hospital = organisation_user(name="驻马店市中心医院", kind="hospital", suffix="0HXP71")
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-zhumadian")

    # ---- the hospital records the examination and submits the certificate (B6, B7)
    log_in(page, hospital.username, PASSWORD, r"/$")
    page.goto("/services/B6/")
    page.wait_for_url(re.compile(r"/hospital/examinations/new/$"))
    page.fill("#id_id_number", person.id_number)
    page.fill("#id_name", person.name)
    page.fill("#id_classes_applied", "C1")
    page.fill("#id_height_cm", "165")
    page.fill("#id_vision_left", "5.0")
    page.fill("#id_vision_right", "4.9")
    page.select_option("#id_colour_vision_ok", "1")
    page.select_option("#id_hearing_left_ok", "1")
    page.select_option("#id_hearing_right_ok", "1")
    page.select_option("#id_upper_limbs", "normal")
    page.select_option("#id_lower_limbs", "normal")
    page.select_option("#id_trunk_neck_ok", "1")
    page.fill("#id_doctor_name", "周明")
    page.fill("#id_examined_on", (today - timedelta(days=1)).isoformat())
    page.select_option("#id_conclusion", "fit")
    fits(page)
    page.get_by_role("button", name="保存体检信息").click()
    page.wait_for_url(re.compile(r"/hospital/examinations/\d+/$"))
    page.get_by_role("button", name="提交身体条件证明").click()
    page.locator(".state-ok").wait_for()  # 已于 … 提交身体条件证明: the page answered after the change
    assert MedicalExamination.objects.filter(submitted_at__isnull=False).count() == 1
    assert DrivingLicence.objects.get(pk=licence.pk).last_medical_on == today - timedelta(days=1)

    # ---- the driver renews online (B8): the page says the certificate is on file
    log_in(page, driver.username, PASSWORD, r"/$")
    page.goto("/services/B8/")
    page.wait_for_url(re.compile(r"/applications/businesses/B8/$"))
    assert page.locator("#refusal").count() == 0
    assert (today - timedelta(days=1)).isoformat() in page.locator("#medical").inner_text()
    page.get_by_label("邮寄送达").check()
    page.fill("#id_recipient_name", "王芳")
    page.fill("#id_recipient_phone", "13800138000")
    page.select_option("#id_address_division", "411702")
    page.fill("#id_address_line", "驻马店市驿城区解放路1号")
    page.set_input_files(
        "#id_photo", files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg()}]
    )
    fits(page)
    page.locator("#apply-submit").click()
    page.wait_for_url(re.compile(r"/applications/\d+/$"))
    app = Application.objects.get(applicant=driver, business_code="B8")
    assert page.locator("#state").inner_text().strip() == "已提交"

    # ---- the fee at the gateway; the callback comes after the browser is back
    payment_gateway.configure(callback_delay_ms=1500)
    page.locator("#pay").click()
    page.wait_for_url(re.compile(re.escape(payment_gateway.url) + r"/pay/"))
    assert "10.00" in page.locator("#pay-amount").inner_text()
    page.locator("#pay-confirm").click()
    page.wait_for_url(re.compile(r"/payments/return/\?out_trade_no="))
    assert page.locator("#result").get_attribute("data-state") == "paid"
    # The live server shares one SQLite connection between its thread and this one: wait for the
    # gateway's own record of its callback, then read the database.
    order = PaymentOrder.objects.get(payable_id=app.fee_payable_id)
    payment_gateway.wait_for_callbacks(1, timeout=20, out_trade_no=order.order_number, status=200)
    assert Application.objects.get(pk=app.pk).fee_paid_at is not None

    # ---- the clerk accepts, starts production and posts through the postal service
    log_in(page, clerk.username, STAFF_PASSWORD, r"/(counter/)?$")
    page.goto("/counter/applications/")
    page.locator(f'a[href="/counter/applications/{app.pk}/"]').click()
    page.wait_for_url(re.compile(rf"/counter/applications/{app.pk}/$"))
    fits(page)
    # Each step posts and comes back to the same address: wait for that navigation to finish.
    for step in ("#step-accept", "#step-production", "#step-post"):  # no waybill typed for posting
        with page.expect_navigation():
            page.locator(step).click()
    posted = Application.objects.get(pk=app.pk)
    assert posted.state == State.POSTED and posted.waybill_number and posted.delivery_due_on
    assert page.locator("#state").inner_text().strip() == "已邮寄"

    # ---- the parcel is delivered; the signed callback completes the application
    postal_service.advance(posted.waybill_number, "delivered")
    wait_until(
        lambda: any(
            c["kind"] == "delivered" and c["status"] == 200 and c["waybill_number"] == posted.waybill_number
            for c in postal_service.callbacks()
        )
    )
    quiet(postal_service)
    assert Application.objects.get(pk=app.pk).state == State.COMPLETED
    assert PostalNotice.objects.filter(application=app, kind="delivered").count() == 1
    while outbox_dispatch():  # what the worker does: messages, SMS, the e-licence reissue
        pass

    # ---- the driver sees it completed, the new validity and a reissued e-licence
    renewed = DrivingLicence.objects.get(pk=licence.pk)
    assert renewed.validity_term == "10y" and renewed.valid_from == old_until
    new_until = licence_valid_until(valid_from=renewed.valid_from, term="10y")
    log_in(page, driver.username, PASSWORD, r"/$")
    page.goto(f"/applications/{app.pk}/")
    assert page.locator("#state").inner_text().strip() == "已办结"
    timeline = page.locator("#timeline").inner_text()
    for step in ("已提交", "已受理", "制证中", "已邮寄", "已办结"):
        assert step in timeline
    fits(page)
    page.goto("/licences/")
    assert new_until.isoformat() in page.content()
    old = Credential.objects.get(pk=old_e_licence.pk)
    assert old.status == "superseded"
    current = Credential.objects.get(
        kind=Credential.Kind.DRIVING_LICENCE, status="valid", licence_id=licence.pk
    )
    assert current.pk != old.pk
    page.goto("/credentials/")
    assert page.locator(f'a[href="/credentials/{current.public_id}/"]').count() >= 1
    assert page.locator(f'a[href="/credentials/{old.public_id}/"]').count() == 0
    assert ApplicantMessage.objects.filter(user=driver, application=app).count() >= 5
