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


# ---------------------------------------------------------------- issue 11


def _nine_points(user, vehicle, record) -> None:
    from jiaoguan.violations import services

    for code in ("1625", "1223"):  # 6 + 3
        services.violation_handle_online(
            actor=user, violation_id=record(vehicle, code=code).pk, no_dispute=True, drove_self=True
        )


def test_citizen_at_the_limit_sees_the_refusal_up_front_with_the_form_disabled(page, owner_driver, record):
    """Issue 11 item 3: the 12-point refusal and where to go instead, before anything is filled in."""
    user, _person, vehicle, _licence = owner_driver()
    _nine_points(user, vehicle, record)
    last = record(vehicle, code="1223")
    log_in(page, user.username, CITIZEN_PASSWORD, r"/$")
    page.goto(f"/violations/{last.pk}/")
    refusal = page.locator("#handle-refusal")
    assert refusal.is_visible()
    assert "不能网上处理" in refusal.inner_text() and "违法处理窗口" in refusal.inner_text()
    assert "处理后 12 / 12 分" in page.locator(".vio-points").inner_text()
    assert page.locator("#handle-submit").is_disabled()
    assert page.get_by_label("本人驾驶", exact=True).is_disabled()
    assert page.get_by_text("不能网上处理", exact=True).count() == 1  # said once, not twice
    fits(page)
    shot(page, "violation-refused-up-front")


def test_paid_fine_documents_download_and_read_back(page, owner_driver, record, make_staff):
    """Issue 11 item 4: the receipt and the penalty decision of a paid fine, as real PDFs."""
    import io

    from pypdf import PdfReader

    from jiaoguan.payments import services as payment_services
    from jiaoguan.violations import services

    user, person, vehicle, _licence = owner_driver()
    violation = record(vehicle, code="1101")
    fine = services.violation_handle_online(
        actor=user, violation_id=violation.pk, no_dispute=True, drove_self=True
    )
    payment_services.payable_pay_at_counter(
        actor=make_staff(role="counter_clerk"), payable_id=fine.payable_id,
        receipt_number="HN2026-000555", reason="当事人现场缴纳",
    )  # fmt: skip
    log_in(page, user.username, CITIZEN_PASSWORD, r"/$")
    page.goto(f"/violations/{violation.pk}/")
    fits(page)
    shot(page, "violation-paid-documents")
    texts = {}
    for link in ("#decision-pdf", "#receipt-pdf"):
        with page.expect_download() as download:
            page.locator(link).click()
        content = download.value.path().read_bytes()
        reader = PdfReader(io.BytesIO(content))
        texts[link] = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))
    assert "公安交通管理简易程序处罚决定书" in texts["#decision-pdf"]
    assert person.name in texts["#decision-pdf"] and fine.decision_number in texts["#decision-pdf"]
    assert "交通违法罚款缴款凭证" in texts["#receipt-pdf"] and "HN2026-000555" in texts["#receipt-pdf"]


def test_officer_is_warned_before_a_decision_fills_the_licence(page, owner_driver, record, make_staff):
    """Issue 11 items 2 and 6: the warning with the total and the consequence, an explicit tick,
    then taking the payment through its confirmation page with a reason."""
    from jiaoguan.registry.models import DrivingLicence
    from jiaoguan.violations.models import Violation

    user, person, vehicle, licence = owner_driver()
    _nine_points(user, vehicle, record)
    last = record(vehicle, code="1223")
    officer = make_staff(role="violation_officer")
    log_in(page, officer.username, "Counter#2026x", r"/counter/$")
    page.goto(f"/counter/violations/{last.pk}/")
    page.fill("#id_handle-licence_number", person.id_number)
    page.get_by_role("button", name="处理并作出处罚决定").click()
    warning = page.locator("#full-score-warning")
    warning.wait_for()
    assert "将达到 12 分" in warning.inner_text() and "满分学习7天" in warning.inner_text()
    assert Violation.objects.get(pk=last.pk).status == "unhandled"
    fits(page)
    shot(page, "counter-full-score-warning")
    page.get_by_label(re.compile("我已告知驾驶人")).check()
    page.get_by_role("button", name="处理并作出处罚决定").click()
    page.wait_for_url(re.compile(r"#fine$"))
    assert "B" in DrivingLicence.objects.get(pk=licence.pk).status

    # the officer of this jurisdiction also takes the payment, confirmed with a reason
    clerk = make_staff(role="counter_clerk")
    page.context.clear_cookies()
    log_in(page, clerk.username, "Counter#2026x", r"/counter/$")
    page.goto(f"/counter/violations/{last.pk}/")
    page.fill("#id_pay-receipt_number", "HN2026-000888")
    page.locator("#counter-pay-submit").click()
    page.get_by_role("heading", name="确认窗口收款").wait_for()
    page.locator("#confirm-submit").click()
    assert "至少4个字" in page.locator("#id_pay-reason_error").inner_text()
    page.fill("#id_pay-reason", "当事人现场现金缴纳")
    shot(page, "counter-pay-confirm")
    page.locator("#confirm-submit").click()
    page.wait_for_url(re.compile(r"#fine$"))
    assert Violation.objects.get(pk=last.pk).fine.status == "paid"
