"""A violation in real Chromium at 360 px: the citizen handles it online (B16), pays the fine at the
fake gateway (B17), comes back to 缴款成功, and the gateway's callback changes nothing more (V5)."""

from __future__ import annotations

import re

import pytest

from jiaoguan.payments.models import CallbackLog, GatewayCharge, PaymentOrder
from jiaoguan.violations.models import Fine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CITIZEN_PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen


def log_in(page, username: str, password: str, landing: str) -> None:
    page.goto("/login/")
    page.fill("#id_account", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(landing))


def fits(page) -> None:
    """Nothing wider than the 360 px screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"page is {width} px wide"


def shot(page, name: str) -> None:
    from django.conf import settings

    folder = settings.DATA_DIR / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-360.png"), full_page=True)


def test_citizen_handles_and_pays_a_violation(
    page, live_server, settings, payment_gateway, owner_driver, record
):
    # The gateway sends the browser back to, and its callback to, this live server.
    settings.PUBLIC_BASE_URL = live_server.url
    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle)
    detail = f"/violations/{violation.pk}/"

    # ---- from the home grid to the violation
    log_in(page, user.username, CITIZEN_PASSWORD, r"/$")
    page.get_by_role("link", name="违法处理", exact=True).click()
    page.wait_for_url(re.compile(r"/violations/$"))
    assert page.get_by_text("异地违法记分可能存在同步延迟").is_visible()
    fits(page)
    shot(page, "violations-list")
    page.locator(f'.vio-title a[href="{detail}"]').click()
    page.wait_for_url(re.compile(re.escape(detail) + "$"))

    # ---- handle it online (B16)
    assert "处理后 6 / 12 分" in page.locator(".vio-points").inner_text()
    page.get_by_label("对违法事实无异议", exact=True).check()
    page.get_by_label("本人驾驶", exact=True).check()
    fits(page)
    shot(page, "violation-handle")
    page.locator("#handle-submit").click()
    page.wait_for_url(re.compile(re.escape(detail) + "#fine$"))
    fine = Fine.objects.get(violation=violation)
    assert page.locator("#decision-number").inner_text() == fine.decision_number
    assert fine.decision_number in page.locator(".notice-success").inner_text()
    fits(page)

    # ---- pay at the gateway (B17); its callback comes a little later than the payer
    # (the live server shares one SQLite connection between threads, so the two must not overlap)
    payment_gateway.configure(callback_delay_ms=1500)
    page.locator("#pay").click()
    page.wait_for_url(re.compile(re.escape(payment_gateway.url) + r"/pay/"))
    assert "200.00" in page.locator("#pay-amount").inner_text()
    page.locator("#pay-confirm").click()
    page.wait_for_url(re.compile(r"/payments/return/\?out_trade_no="))
    result = page.locator("#result")
    assert result.get_attribute("data-state") == "paid"
    assert "缴款成功" in result.inner_text()
    fits(page)
    shot(page, "payment-return")

    # ---- the callback arrives after the page asked the gateway: still one charge (V5)
    order = PaymentOrder.objects.get(payable_id=fine.payable_id)
    delivered = payment_gateway.wait_for_callbacks(1, timeout=15, out_trade_no=order.order_number, status=200)
    assert len(delivered) == 1
    assert GatewayCharge.objects.count() == 1 and GatewayCharge.objects.get().order_id == order.pk
    assert (
        CallbackLog.objects.get(order_number=order.order_number, signature_valid=True).outcome
        == "already_recorded"
    )
    assert Fine.objects.get(pk=fine.pk).status == "paid"

    # ---- listed under 已缴款
    page.get_by_role("link", name="我的违法", exact=True).click()
    page.wait_for_url(re.compile(r"/violations/$"))
    page.locator(".vio-tabs").get_by_role("link", name="已缴款", exact=True).click()
    page.wait_for_url(re.compile(r"/violations/\?status=paid$"))
    paid_row = page.locator(f'.vio-title a[href="{detail}"]')
    assert paid_row.count() == 1
    assert "已缴款" in page.locator(".vio-item").first.inner_text()
    fits(page)


def test_a_refused_on_site_record_shows_the_error_and_keeps_nothing(page, owner_driver, make_staff):
    """Issue 10 item 7: an unknown licence at the counter is refused next to its field, the officer can
    send it again as often as he likes, and no record is kept until a decision can be made with it."""
    from datetime import date, timedelta

    from django.utils import timezone

    from jiaoguan.core.identifiers import make_citizen_id
    from jiaoguan.violations.models import Violation

    _user, person, vehicle, _licence = owner_driver()
    officer = make_staff(role="violation_officer")
    log_in(page, officer.username, "Counter#2026x", r"/counter/$")
    page.goto("/counter/violations/")
    page.get_by_text("录入现场违法（简易程序）").click()
    page.fill("#id_onsite-plate_number", vehicle.plate_number)
    page.fill("#id_onsite-licence_number", make_citizen_id("411702", date(1990, 1, 1), 555))
    page.select_option("#id_onsite-code", "1625")
    page.fill(
        "#id_onsite-occurred_at", (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    )
    page.fill("#id_onsite-place", "驻马店市开源大道与乐山大道交叉口")
    for _attempt in range(2):
        page.get_by_role("button", name="录入并作出处罚决定").click()
        page.wait_for_load_state()
        assert "没有这本驾驶证" in page.locator("#id_onsite-licence_number_error").inner_text()
        assert not Violation.objects.exists()
    fits(page)
    page.fill("#id_onsite-licence_number", person.id_number)
    page.get_by_role("button", name="录入并作出处罚决定").click()
    page.wait_for_url(re.compile(r"/counter/violations/\d+/(#.*)?$"))
    assert Violation.objects.count() == 1
