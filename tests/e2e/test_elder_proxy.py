"""Elderly proxy in real Chromium at 360 px (issue 18, O2, U6): a daughter logs in, asks to act
for her 72-year-old father for the renewal of his licence on expiry (B8), uploads his ID card,
passes his real-person authentication with a picture from the phone camera and submits the
renewal; then the father logs in, has a text for every step and finds the renewal by his
daughter in his "who acted for me" list."""

from __future__ import annotations

import io
import re
import time
from datetime import date, timedelta

import pytest
from django.utils import timezone
from PIL import Image

from jiaoguan.applications.models import Application
from jiaoguan.delegations.models import ProxyAuthorisation
from jiaoguan.integrations.models import FakeSmsMessage
from jiaoguan.registry.rules import add_years

from .phone import fits, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def picture(colour: tuple[int, int, int], size: tuple[int, int], fmt: str) -> dict:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    kind = fmt.lower()
    return {
        "name": f"picture.{'jpg' if kind == 'jpeg' else kind}",
        "mimeType": f"image/{kind}",
        "buffer": out.getvalue(),
    }


def texts_to(mobile: str, at_least: int, timeout: float = 10.0) -> list[str]:
    """The fake SMS gateway receives the texts after commit; wait for them like a person waits."""
    deadline = time.monotonic() + timeout
    while True:
        found = list(
            FakeSmsMessage.objects.filter(mobile=mobile).order_by("id").values_list("text", flat=True)
        )
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_daughter_renews_her_fathers_licence_as_his_proxy(
    page, make_person, make_licence, citizen, real_person_service
):
    today = timezone.localdate()
    father = make_person(name="张建国", birth_date=date(1954, 3, 2), mobile="13903960072")
    make_licence(
        holder=father,
        valid_from=add_years(today + timedelta(days=30), -10),
        last_medical_on=today - timedelta(days=20),
    )
    daughter = make_person(name="张丽", birth_date=date(1982, 8, 9), mobile="13903960082")
    citizen(daughter, level="counter")
    citizen(father)

    # The daughter starts from the home tile.
    log_in(page, daughter.id_number, PASSWORD)
    page.get_by_role("link", name="老年人代办").first.click()
    page.wait_for_url("**/me/elder-proxy/")
    fits(page)
    page.fill("#id_elder_id_number", father.id_number)
    page.fill("#id_elder_name", father.name)
    page.select_option("#id_relationship", "child")
    page.select_option("#id_business_code", "B8")
    page.set_input_files("#id_id_card", picture((230, 230, 250), (428, 270), "JPEG"))
    page.click("#proxy-start")

    # His real-person authentication: the phone's front camera.
    page.wait_for_url(re.compile(r"/me/elder-proxy/\d+/$"))
    fits(page)
    capture = page.locator("#id_capture")
    assert capture.get_attribute("capture") == "user" and capture.get_attribute("accept") == "image/*"
    capture.set_input_files(picture((182, 160, 140), (480, 640), "JPEG"))
    page.click("#capture-submit")
    page.get_by_text("实人认证通过").wait_for()
    assert ProxyAuthorisation.objects.get().state == "active"
    fits(page)

    # The renewal itself, picked up at the window, with his photo.
    page.check("input[name=delivery_method][value=pickup]")
    page.set_input_files("#id_photo", picture((200, 220, 240), (260, 320), "PNG"))
    page.click("#apply-submit")
    page.wait_for_url(re.compile(r"/applications/\d+/$"))
    app = Application.objects.get()
    assert (app.business_code, app.subject_person_id, app.applicant.person_id) == (
        "B8",
        father.pk,
        daughter.pk,
    )
    assert app.number in page.inner_text("body")
    fits(page)

    # The father: a text for every step (asked, authenticated, submitted) ...
    sms = texts_to(father.mobile, 3)
    assert len(sms) >= 3, sms
    assert "张*正在申请为您代办" in sms[0] and "已通过实人认证" in sms[1]
    assert any(app.number in text and "已提交" in text for text in sms)

    # ... and the renewal by his daughter in "who acted for me".
    log_in(page, father.id_number, PASSWORD)
    page.goto("/me/delegations/")
    fits(page)
    acted = page.inner_text("#acted-for-me")
    assert "机动车驾驶证期满换证" in acted and app.number in acted and "张*" in acted
    assert "张丽" not in acted  # her name is masked
    # His applications list shows it too.
    page.goto("/applications/")
    assert app.number in page.inner_text("body")
