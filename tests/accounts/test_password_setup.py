"""Counter registration without the clerk knowing the password: the citizen sets it through a
one-time link texted to the registered mobile (issue 11, item 6; U2)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.accounts import rules, services
from jiaoguan.accounts.models import PasswordSetupLink, User
from jiaoguan.core.errors import Unauthenticated, ValidationFailed
from jiaoguan.core.models import AuditEntry

PASSWORD = "Lvse-Chuxing9"
MOBILE = "13912345601"


def _texted_link(mobile: str = MOBILE) -> str:
    from jiaoguan.core.outbox import outbox_dispatch
    from jiaoguan.integrations.models import FakeSmsMessage

    outbox_dispatch()
    message = FakeSmsMessage.objects.filter(mobile=mobile).order_by("-id").first()
    assert message is not None, "no text message to the registered mobile"
    match = re.search(r"https?://\S+/password/setup/([\w-]+)/", message.text)
    assert match, message.text
    return match.group(1)


def _register(clerk, person, mobile=MOBILE):
    return services.account_register_at_counter(
        actor=clerk, id_type="resident_id", id_number=person.id_number, name=person.name, mobile=mobile
    )


@pytest.mark.django_db
def test_counter_registration_texts_a_link_and_the_account_waits_for_its_password(make_person, make_staff):
    clerk = make_staff()
    person = make_person()
    user = _register(clerk, person)
    assert not user.has_usable_password()
    token = _texted_link()
    # Only a hash of the token is kept.
    assert not PasswordSetupLink.objects.filter(token_hash=token).exists()
    with pytest.raises(Unauthenticated):
        services.account_authenticate(username=person.id_number, password="")
    user = services.password_setup_complete(token=token, password=PASSWORD)
    assert services.account_authenticate(username=person.id_number, password=PASSWORD) == user
    actions = list(
        AuditEntry.objects.filter(subject_type="accounts.user", subject_id=str(user.pk)).values_list(
            "action", "actor_label"
        )
    )
    assert ("register", clerk.username) in actions
    assert any(action == "change" and label != clerk.username for action, label in actions)


@pytest.mark.django_db
def test_the_link_works_once(make_person, make_staff):
    _register(make_staff(), make_person())
    token = _texted_link()
    services.password_setup_complete(token=token, password=PASSWORD)
    with pytest.raises(ValidationFailed) as refusal:
        services.password_setup_complete(token=token, password="Another-Pass9")
    assert refusal.value.code == "accounts.password_link_invalid"


@pytest.mark.django_db
def test_an_expired_or_unknown_link_is_refused_and_a_weak_password_leaves_the_link(make_person, make_staff):
    _register(make_staff(), make_person())
    token = _texted_link()
    with pytest.raises(ValidationFailed) as weak:
        services.password_setup_complete(token=token, password="12345678")
    assert weak.value.code == "accounts.password_weak"
    later = timezone.now() + rules.PASSWORD_LINK_TTL + timedelta(seconds=1)
    with pytest.raises(ValidationFailed):
        services.password_setup_complete(token=token, password=PASSWORD, now=later)
    with pytest.raises(ValidationFailed):
        services.password_setup_complete(token=token + "x", password=PASSWORD)
    assert services.password_setup_complete(token=token, password=PASSWORD).has_usable_password()


@pytest.mark.django_db
def test_the_citizen_sets_the_password_on_the_linked_page(client, make_person, make_staff):
    person = make_person(name="李娜")
    _register(make_staff(), person)
    token = _texted_link()
    page = client.get(f"/password/setup/{token}/")
    assert page.status_code == 200 and "李*" in page.content.decode() and "李娜" not in page.content.decode()
    assert page["Referrer-Policy"] == "same-origin"
    mismatch = client.post(
        f"/password/setup/{token}/", {"password": PASSWORD, "password_confirm": PASSWORD + "x"}
    )
    assert "两次输入的密码不一致" in mismatch.content.decode().split('id="field-password_confirm"', 1)[1]
    done = client.post(f"/password/setup/{token}/", {"password": PASSWORD, "password_confirm": PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/login/"
    login = client.post("/login/", {"account": person.id_number, "password": PASSWORD})
    assert login.status_code == 302 and login["Location"] == "/"
    # Used up: the page says so and where to go instead.
    again = client.get(f"/password/setup/{token}/")
    html = again.content.decode()
    assert again.status_code == 404 and "unavailable" in html and 'href="/password-reset/"' in html


@pytest.mark.django_db
def test_the_clerk_page_has_no_password_and_the_text_goes_to_the_applicant(client, make_person, make_staff):
    clerk = make_staff()
    person = make_person()
    client.force_login(clerk)
    form = client.get("/counter/register/").content.decode()
    assert 'type="password"' not in form
    data = {"id_type": "resident_id", "id_number": person.id_number, "name": person.name, "mobile": MOBILE}
    client.post("/counter/register/", data)
    user = User.objects.get(person=person)
    assert user.registration_level == "counter" and not user.has_usable_password()
    assert _texted_link(MOBILE)


@pytest.mark.django_db
def test_a_forgotten_link_is_replaced_by_password_recovery(make_person, make_staff, sms_inbox):
    """The registered mobile is verified, so "忘记密码" sets the first password as well."""
    person = make_person()
    _register(make_staff(), person)
    services.password_reset_request(username=person.id_number, mobile=MOBILE)
    code = sms_inbox(MOBILE)
    services.password_reset_confirm(
        username=person.id_number, mobile=MOBILE, sms_code=code, password=PASSWORD
    )
    assert services.account_authenticate(username=person.id_number, password=PASSWORD)
