"""A car dealer applies for a new car's temporary plate in real Chromium (B18, issue 14): from the
home tile to the form, the insurer asked online, the issued plate with its QR, which read from a
screenshot verifies green at /verify/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.core.identifiers import make_uscc, make_vin
from jiaoguan.credentials import services
from jiaoguan.credentials.keys import trust_cache_clear
from jiaoguan.credentials.render import decode_qr_image
from jiaoguan.registry.models import Organisation, TemporaryPlate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Lvse-Chuxing9"


@pytest.fixture(autouse=True)
def _key_dir(tmp_path, settings):
    """Sign with keys of this test only; the live server runs in this process and sees them."""
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    trust_cache_clear()
    yield
    trust_cache_clear()


def test_a_dealer_applies_prints_and_the_qr_verifies(page, insurer_service):
    dealer = Organisation.objects.create(
        uscc=make_uscc("91411702MA40DLR67"), name="驻马店市天中汽车销售服务有限公司", kind="car_dealer",
        division="411702",
    )  # fmt: skip
    user = User.objects.create_user(
        username=dealer.uscc, password=PASSWORD, kind="organisation", organisation=dealer,
        registration_level="counter",
    )  # fmt: skip
    vin = make_vin("LGBH52E0XSE000127")
    end = timezone.localdate() + timedelta(days=20)
    insurer_service.set_policy(vin, start=timezone.localdate() - timedelta(days=10), end=end)

    page.goto("/login/")
    page.fill("#id_account", user.username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("link", name=re.compile("临时号牌")).first.click()
    page.wait_for_url(re.compile(r"/dealer/temporary-plates/$"))

    page.screenshot(path=str(_screenshot_dir() / "temporary-plates-360.png"), full_page=True)
    page.fill("#id_vin", vin)
    page.fill("#id_brand_model", "比亚迪牌 BYD7006BEV")
    page.select_option("#id_kind", "small_passenger")
    page.fill("#id_days", "30")
    page.get_by_role("button", name="核验交强险并申领").click()
    page.wait_for_url(re.compile(r"/dealer/temporary-plates/\d+/$"))

    plate = TemporaryPlate.objects.get(vin=vin)
    assert plate.valid_until == end  # the insurance's end caps the 30 days asked for
    page.get_by_text(plate.number).first.wait_for()
    qr = page.locator(".qr-box svg")
    qr.wait_for(state="visible")
    box = qr.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360  # fits the phone screen
    page.screenshot(path=str(_screenshot_dir() / "temporary-plate-360.png"), full_page=True)
    [text] = decode_qr_image(qr.screenshot())
    assert text.startswith("TP1:") and services.credential_verify(text=text).valid

    page.goto("/verify/")
    page.fill("textarea[name=text]", text)
    page.get_by_role("button", name=re.compile("核验")).first.click()
    page.get_by_text(plate.number).first.wait_for()
    assert "有效" in page.content()


def _screenshot_dir():
    from django.conf import settings

    path = settings.DATA_DIR / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
