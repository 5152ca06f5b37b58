"""A citizen shows the inspection mark in real Chromium; its QR, read from a screenshot, verifies green (E3, E4)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.credentials import services
from jiaoguan.credentials.keys import trust_cache_clear
from jiaoguan.credentials.render import decode_qr_image

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


@pytest.fixture
def citizen_with_mark(make_person, make_vehicle):
    person = make_person(name="陈静")
    vehicle = make_vehicle(
        owner=person, plate="豫QD7K21", registered_on=timezone.localdate() - timedelta(days=400)
    )
    mark = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    assert mark is not None
    user = User.objects.create_user(
        username=person.id_number, password=PASSWORD, person=person, registration_level="online"
    )
    return user, mark


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_account", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))


def test_show_the_mark_scan_its_qr_and_verify_it_green(page, citizen_with_mark):
    user, mark = citizen_with_mark
    log_in(page, user.username)

    page.goto("/credentials/")
    page.get_by_text("豫QD7K21").first.wait_for()
    page.screenshot(path=str(_screenshot_dir() / "credentials-list-360.png"), full_page=True)
    page.get_by_role("link", name=re.compile("出示凭证")).first.click()
    page.wait_for_url(re.compile(rf"/credentials/{mark.public_id}/$"))

    qr = page.locator("#qr svg")
    qr.wait_for(state="visible")
    box = qr.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360  # fits the phone screen
    token = page.locator("#qr").get_attribute("data-token")
    found = decode_qr_image(qr.screenshot())
    assert found == [token]

    countdown = page.locator("#qr-countdown")
    assert "秒" in countdown.inner_text() and "自动刷新" in countdown.inner_text()
    first = int(page.locator("[data-seconds]").inner_text())
    page.wait_for_timeout(2200)
    assert int(page.locator("[data-seconds]").inner_text()) < first  # credential.js counts down
    page.screenshot(path=str(_screenshot_dir() / "credential-online-360.png"), full_page=True)

    page.goto("/verify/")
    # headless Chromium on Linux has no BarcodeDetector: the page says to upload or paste instead
    scan_button = page.locator("#scan-btn")
    unsupported = page.get_by_text("本浏览器不支持摄像头扫码，请上传照片或粘贴")
    assert scan_button.is_visible() or unsupported.is_visible()
    page.fill("#id_text", found[0])
    page.get_by_role("button", name="核验", exact=True).click()
    verdict = page.locator(".verdict-valid")
    verdict.wait_for()
    assert "有效" in verdict.inner_text()
    main = page.inner_text("main")
    assert "豫QD7K21" in main and "陈*" in main and "陈静" not in main
    page.screenshot(path=str(_screenshot_dir() / "verify-valid-360.png"), full_page=True)


def test_the_qr_is_refreshed_before_it_expires(page, citizen_with_mark, settings):
    settings.CREDENTIAL_ONLINE_SECONDS = 24  # the page fetches a new QR 20 s before expiry
    user, mark = citizen_with_mark
    log_in(page, user.username)
    page.goto(f"/credentials/{mark.public_id}/")
    old = page.locator("#qr").get_attribute("data-token")
    page.wait_for_function(
        "old => document.getElementById('qr').getAttribute('data-token') !== old", arg=old, timeout=15000
    )
    new = page.locator("#qr").get_attribute("data-token")
    assert new and new != old
    assert services.credential_verify(text=new).valid
    assert decode_qr_image(page.locator("#qr svg").screenshot()) == [new]


def test_a_screenshot_of_an_expired_qr_is_red(page, citizen_with_mark):
    user, mark = citizen_with_mark
    log_in(page, user.username)
    page.goto(f"/credentials/{mark.public_id}/")
    token = page.locator("#qr").get_attribute("data-token")
    from jiaoguan.credentials.models import OnlineNonce

    OnlineNonce.objects.all().delete()  # as after expiry and the purge
    page.goto("/verify/")
    page.fill("#id_text", token)
    page.get_by_role("button", name="核验", exact=True).click()
    page.locator(".verdict-invalid").wait_for()
    assert "无效" in page.inner_text(".verdict-invalid")
    assert "过期截图" in page.inner_text("main")


def test_a_clerk_revokes_the_mark_in_the_back_office_and_the_owner_sees_why(
    page, browser, live_server, citizen_with_mark, make_staff
):
    user, mark = citizen_with_mark
    clerk = make_staff(role="counter_clerk", jurisdiction="411700")
    page.goto("/login/")
    page.fill("#id_account", clerk.username)
    page.fill("#id_password", "Counter#2026x")  # tests/conftest.py make_staff
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/counter/$"))
    page.goto("/admin/credentials/credential/")
    listing = page.inner_text("#changelist")
    assert "豫QD7K21" in listing and "陈*" in listing and "陈静" not in listing
    assert page.get_by_role("link", name="撤销… revoke").count() == 1
    page.get_by_role("link", name="检验标志电子凭证", exact=True).click()
    page.wait_for_url(re.compile(rf"/admin/credentials/credential/{mark.pk}/change/$"))
    assert "有效" in page.inner_text("#content") and "陈静" not in page.inner_text("#content")
    page.screenshot(path=str(_screenshot_dir() / "back-office-credential.png"), full_page=True)
    page.get_by_role("link", name="撤销… Revoke").click()
    page.wait_for_url(re.compile(rf"/admin/credentials/credential/{mark.pk}/revoke/$"))
    assert "不能恢复" in page.inner_text("#content")
    page.fill("#id_reason", "手机遗失")
    page.get_by_role("button", name="确认撤销 Revoke").click()
    assert "请勾选确认后再提交" in page.inner_text("#content")
    page.check("#id_confirm")
    page.screenshot(path=str(_screenshot_dir() / "back-office-revoke.png"), full_page=True)
    page.get_by_role("button", name="确认撤销 Revoke").click()
    page.wait_for_url(re.compile(r"/admin/credentials/credential/$"))
    mark.refresh_from_db()
    assert mark.status == "revoked"

    context = browser.new_context(
        viewport={"width": 360, "height": 800}, locale="zh-CN", base_url=live_server.url
    )
    try:
        owner = context.new_page()
        log_in(owner, user.username)
        owner.goto("/credentials/")
        main = owner.inner_text("main")
        assert "已撤销" in main and "手机遗失" in main
    finally:
        context.close()


def test_an_online_qr_is_checked_once_and_the_holder_sees_it(page, browser, live_server, citizen_with_mark):
    """Issue 10, item 13: the checker scans the holder's QR (green); the holder's screen says it
    was checked and shows a new QR; the same QR scanned again (a screenshot) is red with the time."""
    from jiaoguan.credentials.models import OnlineNonce

    user, mark = citizen_with_mark
    log_in(page, user.username)
    page.goto(f"/credentials/{mark.public_id}/")
    token = page.locator("#qr").get_attribute("data-token")
    assert decode_qr_image(page.locator("#qr svg").screenshot()) == [token]

    context = browser.new_context(
        viewport={"width": 360, "height": 800}, locale="zh-CN", base_url=live_server.url
    )
    try:
        checker = context.new_page()
        checker.goto("/verify/")
        checker.fill("#id_text", token)
        checker.get_by_role("button", name="核验", exact=True).click()
        checker.locator(".verdict-valid").wait_for()

        notice = page.locator(".qr-checked")  # credential.js asks every few seconds
        notice.wait_for(timeout=15000)
        at = timezone.localtime(OnlineNonce.objects.get(verified_at__isnull=False).verified_at).strftime(
            "%H:%M"
        )
        assert f"已于 {at} 核验" in notice.inner_text()
        fresh = page.locator("#qr").get_attribute("data-token")
        assert fresh and fresh != token
        assert decode_qr_image(page.locator("#qr svg").screenshot()) == [fresh]
        page.screenshot(path=str(_screenshot_dir() / "credential-checked-360.png"), full_page=True)

        checker.goto("/verify/")
        checker.fill("#id_text", token)  # the first QR again, as from a screenshot
        checker.get_by_role("button", name="核验", exact=True).click()
        verdict = checker.locator(".verdict-invalid")
        verdict.wait_for()
        assert f"已于 {at} 核验过" in verdict.inner_text()
        color = verdict.evaluate("element => getComputedStyle(element).backgroundColor")
        red, green, blue = (int(part) for part in re.findall(r"\d+", color)[:3])
        assert red > green and red > blue  # red
        checker.screenshot(path=str(_screenshot_dir() / "verify-already-checked-360.png"), full_page=True)
    finally:
        context.close()


def _screenshot_dir():
    from django.conf import settings

    path = settings.DATA_DIR / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------- issue 11: photo and full name


def _picture() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    image = Image.new("RGB", (300, 400), (214, 200, 180))
    image.paste((40, 40, 40), (100, 90, 200, 200))
    image.save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def holder_with_e_licence(make_person, make_licence, make_staff):
    """A holder whose e-licence photo a clerk approved, with an archive photo on file."""
    from jiaoguan.registry.portraits import placeholder_portrait
    from jiaoguan.registry.services import archive_photo_record

    person = make_person(name="欧阳振华")
    make_licence(holder=person, classes="C1", term="long")
    archive_photo_record(person_id=person.pk, photo=placeholder_portrait(person.id_number), source="demo")
    user = User.objects.create_user(
        username=person.id_number, password=PASSWORD, person=person, registration_level="online"
    )
    clerk = make_staff(role="counter_clerk", jurisdiction="411700")
    application = services.licence_application_submit(actor=user, photo=_picture())
    application = services.licence_application_review(
        actor=clerk, application_id=application.pk, approve=True
    )
    return user, application.credential


def _image_loaded(page, selector: str) -> bool:
    # The element is in the page before its picture has arrived (slower on a busy machine): wait
    # for the browser to finish with it (``complete`` is also true for a broken image), then ask.
    page.wait_for_function(
        "selector => { const img = document.querySelector(selector); return img !== null && img.complete; }",
        arg=selector,
    )
    return page.locator(selector).evaluate("img => img.naturalWidth > 0")


def test_holder_sees_photo_and_full_name_and_a_checker_sees_them_after_a_valid_scan(
    page, browser, live_server, holder_with_e_licence
):
    user, credential = holder_with_e_licence
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, user.username)
    page.goto(f"/credentials/{credential.public_id}/")
    page.locator("#holder-photo img").wait_for()
    assert _image_loaded(page, "#holder-photo img")
    assert "欧阳振华" in page.inner_text("main")
    page.screenshot(path=str(_screenshot_dir() / "e-licence-holder-390.png"), full_page=True)
    token = decode_qr_image(page.locator("#qr svg").screenshot())[0]

    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, locale="zh-CN", base_url=live_server.url
    )
    try:
        checker = context.new_page()
        checker.goto("/verify/")
        assert "照片与姓名仅在验证通过后显示" in checker.inner_text("main")
        assert "欧阳振华" not in checker.inner_text("main")
        checker.fill("#id_text", token)
        checker.get_by_role("button", name="核验", exact=True).click()
        checker.locator(".verdict-valid").wait_for()
        checker.locator("#verify-holder img").wait_for()
        assert _image_loaded(checker, "#verify-holder img")
        assert checker.inner_text("#verify-holder .holder-name") == "欧阳振华"
        checker.screenshot(path=str(_screenshot_dir() / "verify-e-licence-1366.png"), full_page=True)

        # The same QR again (a screenshot) is refused, and shows neither photo nor name.
        checker.goto("/verify/")
        checker.fill("#id_text", token)
        checker.get_by_role("button", name="核验", exact=True).click()
        checker.locator(".verdict-invalid").wait_for()
        assert checker.locator("#verify-holder").count() == 0
        assert "欧阳振华" not in checker.inner_text("main")
    finally:
        context.close()


def test_an_undecodable_token_is_not_recognised_and_claims_no_check(page):
    page.goto("/verify/")
    page.fill("#id_text", "DL1:THIS-IS-NOT-A-TOKEN")
    page.get_by_role("button", name="核验", exact=True).click()
    verdict = page.locator(".verdict-invalid")
    verdict.wait_for()
    assert "无法识别" in verdict.inner_text()
    main = page.inner_text("main")
    assert "✓" not in main and "通过" not in main.replace("验证通过后", "")
    assert page.locator(".check-ok").count() == 0 and page.locator(".checks").count() == 0
    page.screenshot(path=str(_screenshot_dir() / "verify-unrecognised-360.png"), full_page=True)


def test_the_clerk_compares_the_submitted_photo_with_the_archive_photo(
    page, make_person, make_licence, make_staff
):
    from jiaoguan.registry.portraits import placeholder_portrait
    from jiaoguan.registry.services import archive_photo_record

    person = make_person(name="孙丽")
    make_licence(holder=person, term="long")
    archive_photo_record(person_id=person.pk, photo=placeholder_portrait(person.id_number), source="demo")
    user = User.objects.create_user(
        username=person.id_number, password=PASSWORD, person=person, registration_level="online"
    )
    application = services.licence_application_submit(actor=user, photo=_picture())
    clerk = make_staff(role="counter_clerk", jurisdiction="411700")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/login/")
    page.fill("#id_account", clerk.username)
    page.fill("#id_password", "Counter#2026x")
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/counter/$"))
    page.goto(f"/counter/photos/{application.pk}/")
    page.locator("#archive-photo img").wait_for()
    assert _image_loaded(page, "#archive-photo img") and _image_loaded(page, "#submitted-photo img")
    assert "档案照片" in page.inner_text("main") and "申请照片" in page.inner_text("main")
    page.screenshot(path=str(_screenshot_dir() / "photo-review-1366.png"), full_page=True)
