"""Issue 14 (O6) in real Chromium: the clerk registers a bank's seal key at the counter, the bank's
system files a mortgage signed with it, the owner sees "已抵押给…" on the home card, and the bank's
people see the filing on their page."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client

from jiaoguan.core.seals import seal_key_generate, seal_sign
from jiaoguan.registry.models import OrganisationSealKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CITIZEN_PASSWORD = "Citizen#2026x"  # tests/conftest.py
STAFF_PASSWORD = "Counter#2026x"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def _context(browser, live_server, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    return context, page


def _log_in(page, account: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_account", account)
    page.fill("#id_password", password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/(counter/)?$"))


def test_seal_key_at_the_counter_then_a_signed_filing_the_owner_sees(
    browser, live_server, make_staff, organisation_user, owner_driver, bank_service
):
    clerk = make_staff(role="counter_clerk", jurisdiction="411700")
    bank_user = organisation_user(name="中原示范银行驻马店分行", kind="bank", suffix="BNK0E7")
    bank = bank_user.organisation
    owner, person, vehicle, _ = owner_driver()
    private_pem, public_pem = seal_key_generate("SM2-SM3")

    # The clerk: 窗口业务 → 电子印章密钥, picks the bank, pastes the public key it brought.
    context, page = _context(browser, live_server, DESKTOP)
    _log_in(page, clerk.username, STAFF_PASSWORD)
    page.goto("/counter/")
    page.get_by_role("link", name="电子印章密钥").first.click()
    page.wait_for_url("**/counter/seal-keys/")
    page.select_option("#id_organisation", str(bank.pk))
    page.select_option("#id_algorithm", "SM2-SM3")
    page.fill("#id_public_key_pem", public_pem)
    page.get_by_role("button", name="登记电子印章密钥").click()
    page.wait_for_url("**/counter/seal-keys/")
    key = OrganisationSealKey.objects.get(organisation=bank)
    assert key.fingerprint in page.content()
    context.close()

    # The bank's system signs and files (no page: systems sign).
    bank_service.put_contract(
        bank_uscc=bank.uscc, contract_number="DY-E2E-0001", vin=vehicle.vin, borrower_id_number=person.id_number,
        principal_fen=8_800_000, state="active",
    )  # fmt: skip
    payload = {
        "action": "mortgage.file", "mortgagee_uscc": bank.uscc, "vin": vehicle.vin,
        "borrower_id_number": person.id_number, "contract_number": "DY-E2E-0001", "principal_fen": 8_800_000,
        "term_start": "2026-01-01", "term_end": "2028-12-31", "signed_at": int(time.time()), "nonce": "e2e" * 8,
    }  # fmt: skip
    api = Client()
    token = api.post(
        "/api/v1/auth/tokens", {"username": bank_user.username, "password": CITIZEN_PASSWORD},
        content_type="application/json",
    ).json()["token"]  # fmt: skip
    body = {
        "payload": payload, "key_fingerprint": key.fingerprint,
        "signature": seal_sign(algorithm="SM2-SM3", private_pem=private_pem, payload=payload),
    }  # fmt: skip
    filed = api.post(
        "/api/v1/mortgages", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert filed.status_code == 201, filed.json()

    # The owner, on the phone: the vehicle card says who holds the mortgage.
    context, page = _context(browser, live_server, PHONE)
    _log_in(page, owner.username, CITIZEN_PASSWORD)
    card = page.locator(".vehicle-card").first
    assert "已抵押给中原示范银行驻马店分行" in card.inner_text()
    context.close()

    # The bank's people: 抵押登记 tile → their filings.
    context, page = _context(browser, live_server, PHONE)
    _log_in(page, bank_user.username, CITIZEN_PASSWORD)
    page.get_by_role("link", name="抵押登记").first.click()
    page.wait_for_url("**/bank/mortgages/")
    assert "DY-E2E-0001" in page.content()
    context.close()
