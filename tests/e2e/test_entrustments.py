"""Online entrustment in real Chromium at 360 px (O5; seed 004 §九): the principal entrusts an agent
from the home tile, the clerk scans the entrustment QR (read from a screenshot) and checks the
agent present (done), the principal sees it in "谁替我办理了业务" and revokes, and the clerk's
second check is refused at once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.identifiers import mask_name
from jiaoguan.credentials.keys import trust_cache_clear
from jiaoguan.credentials.render import decode_qr_image
from jiaoguan.delegations.models import DelegatedAction, Entrustment

from .phone import fits, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Citizen#2026x"  # tests/conftest.py citizen
STAFF_PASSWORD = "Counter#2026x"  # tests/conftest.py make_staff


@pytest.fixture(autouse=True)
def _keys(tmp_path, settings):
    """Sign with keys of this test only; the live server runs in this process and sees them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.CREDENTIAL_AUTO_KEY = True
    trust_cache_clear()
    yield
    trust_cache_clear()


def _counter_check(page, token: str, agent) -> None:
    page.goto("/counter/entrustments/")
    page.fill("#id_token_or_id", token)
    page.fill("#id_agent_id_number", agent.id_number)
    page.fill("#id_agent_name", agent.name)
    page.select_option("#id_business", "licence.replacement")
    page.locator("#check-submit").click()
    page.wait_for_selector("#check-result")


def test_entrust_check_at_the_counter_see_it_revoke_and_be_refused(page, make_person, make_staff, citizen):
    principal_person = make_person(name="王芳", mobile="13903960031")
    principal = citizen(principal_person)
    agent = make_person(name="李强", mobile="13903960032")
    make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-e2e-entrust")
    today = timezone.localdate()

    # ---- the principal entrusts from the home tile
    log_in(page, principal.username, PASSWORD)
    page.get_by_role("link", name="网上委托", exact=True).first.click()
    page.wait_for_url(re.compile(r"/me/entrustments/$"))
    fits(page)
    assert page.locator("#id_valid_from").input_value() == today.isoformat()
    assert page.locator("#id_valid_until").input_value() == (today + timedelta(days=29)).isoformat()
    page.get_by_label("被委托人身份证号码").fill(agent.id_number)
    page.get_by_label("被委托人姓名").fill(agent.name)
    page.get_by_label("被委托人手机号码").fill(agent.mobile)
    page.get_by_label("补换领驾驶证").check()
    page.locator("#entrust-submit").click()
    page.wait_for_url(re.compile(r"/me/entrustments/#entrustment-\d+$"))
    entrustment = Entrustment.objects.get()
    card = page.locator(f"#entrustment-{entrustment.pk}")
    assert "有效" in card.inner_text() and mask_name(agent.name) in card.inner_text()
    assert agent.name not in card.inner_text()
    fits(page)
    page.screenshot(path=str(_screenshot_dir() / "entrustments-360.png"), full_page=True)
    [token] = decode_qr_image(card.locator(".entrustment-qr").screenshot())
    assert token.startswith("EN1:")

    # ---- the clerk scans the QR and checks the agent present: done
    log_in(page, "clerk-e2e-entrust", STAFF_PASSWORD)
    page.get_by_role("link", name=re.compile("网上委托核查")).first.click()
    page.wait_for_url(re.compile(r"/counter/entrustments/$"))
    fits(page)
    assert "纸质委托书仍然有效" in page.locator("#paper-note").inner_text()
    _counter_check(page, token, agent)
    result = page.locator("#check-result")
    assert result.get_attribute("data-outcome") == "done" and "可以受理" in result.inner_text()
    page.screenshot(path=str(_screenshot_dir() / "entrustment-check-360.png"), full_page=True)
    fits(page)

    # ---- the principal sees who acted for them, and revokes
    log_in(page, principal.username, PASSWORD)
    page.goto("/me/delegations/")
    acted = page.locator("#acted-for-me").inner_text()
    assert "补换领驾驶证" in acted and "李*" in acted and "窗口" in acted and "已办理" in acted
    fits(page)
    page.locator(f"#revoke-entrustment-{entrustment.pk}").click()
    page.wait_for_url(re.compile(r"/me/delegations/$"))
    assert (
        page.locator(f'#entrustments [data-id="{entrustment.pk}"]').get_attribute("data-status") == "revoked"
    )

    # ---- the clerk's second check is refused at once
    log_in(page, "clerk-e2e-entrust", STAFF_PASSWORD)
    _counter_check(page, token, agent)
    result = page.locator("#check-result")
    assert (
        result.get_attribute("data-outcome") == "refused" and result.get_attribute("data-reason") == "revoked"
    )
    assert "不予受理" in result.inner_text()
    fits(page)
    assert list(DelegatedAction.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "done",
        "refused",
    ]


def _screenshot_dir():
    from django.conf import settings

    path = settings.DATA_DIR / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
