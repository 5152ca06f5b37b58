"""Password recovery by SMS (忘记密码, issue 10; U2): a code to the mobile on record, then a new
password. The same answer whether or not the account exists; it unlocks and is audited; an
account whose mobile changed (or that has none) is sent to the counter.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.accounts.models import ApiToken, SmsCode, User
from jiaoguan.core.models import AuditEntry
from jiaoguan.integrations.models import FakeSmsMessage

OLD_PASSWORD = "Citizen#2026x"  # the citizen fixture's
NEW_PASSWORD = "Huanxin-Mima7"
MOBILE = "13912340001"


def post(client: Client, url: str, body: dict, address: str = "198.51.100.10"):
    return client.post(url, json.dumps(body), content_type="application/json", REMOTE_ADDR=address)


@pytest.fixture
def account(make_person, citizen):
    """A citizen whose verified mobile is MOBILE."""
    user = citizen(make_person())
    User.objects.filter(pk=user.pk).update(mobile=MOBILE, mobile_verified_at=timezone.now())
    user.refresh_from_db()
    return user


def request_reset(client, username: str, mobile: str = MOBILE, address: str = "198.51.100.10"):
    return post(client, "/api/v1/auth/password-resets", {"username": username, "mobile": mobile}, address)


def confirm_reset(client, username: str, code: str, mobile: str = MOBILE, password: str = NEW_PASSWORD):
    body = {"username": username, "mobile": mobile, "sms_code": code, "password": password}
    return post(client, "/api/v1/auth/password-resets/confirm", body)


def login(client, username: str, password: str):
    return post(client, "/api/v1/auth/tokens", {"username": username, "password": password})


@pytest.mark.django_db
def test_reset_by_code_to_the_mobile_on_record_then_log_in_with_the_new_password(client, account, sms_inbox):
    started = request_reset(client, account.username)
    assert started.status_code == 202, started.content
    assert started.json()["expires_in"] == 300
    reset = confirm_reset(client, account.username, sms_inbox(MOBILE))
    assert reset.status_code == 200, reset.content
    assert account.username not in reset.content.decode()  # masked, like every answer about an account
    assert login(client, account.username, OLD_PASSWORD).status_code == 401
    assert login(client, account.username, NEW_PASSWORD).status_code == 201
    entry = AuditEntry.objects.get(action="change", subject_id=str(account.pk))
    assert (
        entry.actor_id == account.pk and "password" in entry.summary and entry.ip_address == "198.51.100.10"
    )


@pytest.mark.django_db
def test_reset_unlocks_a_locked_account_and_ends_its_tokens(client, account, sms_inbox, settings):
    settings.LOGIN_MAX_FAILURES = 2
    token = login(client, account.username, OLD_PASSWORD).json()["token"]
    for _ in range(2):
        login(client, account.username, "wrong-password")
    assert login(client, account.username, OLD_PASSWORD).status_code == 429
    request_reset(client, account.username)
    assert confirm_reset(client, account.username, sms_inbox(MOBILE)).status_code == 200
    account.refresh_from_db()
    assert account.locked_until is None and account.failed_logins == 0
    assert login(client, account.username, NEW_PASSWORD).status_code == 201
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert ApiToken.objects.filter(user=account, revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_the_answer_is_the_same_whether_or_not_the_account_exists(client, account, make_person, citizen):
    no_mobile = citizen(make_person(name="孙丽"))  # made at the counter without a mobile
    answers = {
        "account and its mobile": request_reset(client, account.username, MOBILE, "198.51.100.1"),
        "no such account": request_reset(client, "411702199001011234", "13700007777", "198.51.100.2"),
        "mobile changed since registration": request_reset(
            client, account.username, "13700009999", "198.51.100.3"
        ),
        "account without a mobile": request_reset(client, no_mobile.username, "13700008888", "198.51.100.4"),
    }
    bodies = {case: (r.status_code, r.json()) for case, r in answers.items()}
    assert len({json.dumps(b, sort_keys=True, ensure_ascii=False) for b in bodies.values()}) == 1, bodies
    status, body = bodies["no such account"]
    assert status == 202 and "窗口" in body["message"]  # a changed or missing mobile: go to the counter
    sent_to = set(FakeSmsMessage.objects.values_list("mobile", flat=True))
    from jiaoguan.core.outbox import outbox_dispatch

    outbox_dispatch()
    sent_to = set(FakeSmsMessage.objects.values_list("mobile", flat=True))
    assert sent_to == {MOBILE}
    assert set(SmsCode.objects.values_list("mobile", flat=True)) == {MOBILE}


@pytest.mark.django_db
def test_repeated_requests_are_limited_alike_for_known_and_unknown_accounts(client, account):
    assert request_reset(client, account.username, MOBILE, "198.51.100.1").status_code == 202
    assert request_reset(client, "411702199001011234", "13700001111", "198.51.100.2").status_code == 202
    again = {
        "known": request_reset(client, account.username, MOBILE, "198.51.100.3"),
        "unknown": request_reset(client, "411702199001011234", "13700001111", "198.51.100.4"),
    }
    codes = {case: (r.status_code, r.json()["code"]) for case, r in again.items()}
    assert codes["known"] == codes["unknown"] == (429, "accounts.sms_too_soon")


@pytest.mark.django_db
def test_a_code_for_one_account_cannot_reset_another(client, account, make_person, citizen, sms_inbox):
    other = citizen(make_person(name="周杰"))
    request_reset(client, account.username)
    code = sms_inbox(MOBILE)
    refused = confirm_reset(client, other.username, code)
    assert refused.status_code == 422 and refused.json()["code"] == "accounts.reset_not_confirmed"
    other.refresh_from_db()
    assert other.check_password(OLD_PASSWORD)
    # The code was spent on the refusal: it cannot be tried again.
    assert confirm_reset(client, account.username, code).json()["code"] == "accounts.sms_code_used"


@pytest.mark.django_db
def test_wrong_codes_and_weak_passwords_are_refused_clearly(client, account, sms_inbox):
    request_reset(client, account.username)
    code = sms_inbox(MOBILE)
    wrong = "000000" if code != "000000" else "111111"
    assert confirm_reset(client, account.username, wrong).json()["code"] == "accounts.sms_code_wrong"
    weak = confirm_reset(client, account.username, code, password="12345678")
    assert weak.status_code == 422 and weak.json()["code"] == "accounts.password_weak"
    assert confirm_reset(client, account.username, code).status_code == 200


@pytest.mark.django_db
def test_staff_accounts_are_not_reset_by_sms(client, make_staff):
    staff = make_staff(role="administrator")
    User.objects.filter(pk=staff.pk).update(mobile=MOBILE, mobile_verified_at=timezone.now())
    assert request_reset(client, staff.username).status_code == 202
    assert not SmsCode.objects.exists()


@pytest.mark.django_db
def test_reset_attempts_are_limited_per_client(client, account):
    attacker = "203.0.113.20"
    for n in range(20):
        assert request_reset(client, f"nobody-{n}", f"1370000{n:04d}", attacker).status_code == 202
    refused = request_reset(client, account.username, MOBILE, attacker)
    assert refused.status_code == 429 and refused.json()["code"] == "accounts.client_limit"


# ---------------------------------------------------------------- pages


@pytest.mark.django_db
def test_login_page_links_to_the_reset_page_which_resets_the_password(client, account, sms_inbox):
    login_page = client.get("/login/").content.decode()
    assert 'href="/password-reset/"' in login_page and "忘记密码" in login_page
    page = client.get("/password-reset/")
    assert page.status_code == 200
    assert "窗口" in page.content.decode()  # says where to go when the mobile changed
    form = {"account": account.username, "mobile": MOBILE, "sms_code": "", "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD}  # fmt: skip
    sent = client.post("/password-reset/sms/", form)
    assert sent.status_code == 200 and "验证码已发送" in sent.content.decode()
    done = client.post("/password-reset/", {**form, "sms_code": sms_inbox(MOBILE)})
    assert done.status_code == 302 and done["Location"] == "/login/"
    assert "密码已重置" in client.get("/login/").content.decode()
    assert client.post("/login/", {"account": account.username, "password": NEW_PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_reset_page_shows_refusals_next_to_the_fields(client, account, sms_inbox):
    form = {"account": account.username, "mobile": MOBILE, "sms_code": "123456", "password": NEW_PASSWORD,
            "password_confirm": "Something-else9"}  # fmt: skip
    html = client.post("/password-reset/", form).content.decode()
    assert "两次输入的密码不一致" in html
    html = client.post("/password-reset/", {**form, "password_confirm": NEW_PASSWORD}).content.decode()
    field = html.split('id="field-sms_code"', 1)[1].split("</div>", 1)[0]
    assert "请先获取短信验证码" in field
    assert account.check_password(OLD_PASSWORD)


@pytest.mark.django_db
def test_codes_expire(client, account, sms_inbox):
    request_reset(client, account.username)
    code = sms_inbox(MOBILE)
    SmsCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert confirm_reset(client, account.username, code).json()["code"] == "accounts.sms_code_expired"


@pytest.mark.django_db
def test_recovery_codes_are_not_handed_out_by_the_general_sms_endpoint(client, account):
    response = post(client, "/api/v1/auth/sms-codes", {"mobile": MOBILE, "purpose": "reset_password"})
    assert response.status_code == 422 and response.json()["code"] == "accounts.sms_purpose_unknown"
    assert not SmsCode.objects.exists()


# ---------------------------------------------------------------- at the counter (mobile changed or none)


def recover_at_counter(client, user, mobile: str, checked: bool = True):
    data = {"user_id": user.pk, "mobile": mobile, "id_type": "resident_id", "id_number": user.username}
    if checked:
        data["document_checked"] = "on"
    return client.post("/counter/recover/", data)


@pytest.mark.django_db
def test_the_counter_records_the_new_mobile_then_the_citizen_resets_online(
    client, account, make_staff, sms_inbox, settings
):
    settings.LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        login(Client(), account.username, "wrong-password")
    clerk = make_staff()
    desk = Client()
    desk.force_login(clerk)
    found = desk.get("/counter/recover/", {"id_type": "resident_id", "id_number": account.username})
    assert found.status_code == 200 and "139****0001" in found.content.decode()
    done = recover_at_counter(desk, account, "13600006666")
    assert done.status_code == 302
    assert "136****6666" in desk.get(done["Location"]).content.decode()
    account.refresh_from_db()
    assert account.mobile == "13600006666" and account.locked_until is None
    assert account.person.mobile == "13600006666"  # the contact number on record follows (B5, B15)
    entry = AuditEntry.objects.get(action="change", actor=clerk, subject_id=str(account.pk))
    assert "13600006666" not in entry.summary  # masked
    # The old number hears of it; the citizen resets online with the new one.
    from jiaoguan.core.outbox import outbox_dispatch

    outbox_dispatch()
    assert "窗口" in FakeSmsMessage.objects.get(mobile=MOBILE).text
    request_reset(client, account.username, "13600006666")
    assert confirm_reset(client, account.username, sms_inbox("13600006666"), "13600006666").status_code == 200
    assert login(client, account.username, NEW_PASSWORD).status_code == 201


@pytest.mark.django_db
def test_the_counter_must_check_the_document_and_stays_in_its_jurisdiction(client, account, make_staff):
    clerk = make_staff()
    desk = Client()
    desk.force_login(clerk)
    html = recover_at_counter(desk, account, "13600006666", checked=False).content.decode()
    assert "请先核验申请人的身份证明原件" in html
    far = make_staff(jurisdiction="411600", username="zhoukou-clerk")
    desk.force_login(far)
    assert recover_at_counter(desk, account, "13600006666").status_code == 200
    account.refresh_from_db()
    assert account.mobile == MOBILE
