"""Online entrustment (网上委托, O5; seed 004 §九): creating one, its signed EN1 QR on the status
list, and the counter's check of the agent and the business; every bad input of issue 18 is
refused with the reason and changes nothing."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.core.audit import AuditEntry
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from jiaoguan.core.outbox import OutboxMessage
from jiaoguan.credentials.render import decode_qr_image, qr_png
from jiaoguan.credentials.services import credential_verify, status_list_token
from jiaoguan.credentials.verify import parse_trust_list, trust_list_json, verify_offline
from jiaoguan.delegations import selectors, services, tokens
from jiaoguan.delegations.models import DelegatedAction, Entrustment

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _keys(tmp_path, settings):
    """Each test signs with keys of its own."""
    from jiaoguan.credentials.keys import trust_cache_clear

    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.CREDENTIAL_AUTO_KEY = True
    trust_cache_clear()
    yield
    trust_cache_clear()


@pytest.fixture
def principal(make_person, citizen):
    return citizen(make_person(name="王芳", mobile="13800138001"))


@pytest.fixture
def agent(make_person):
    return make_person(name="李强", mobile="13800138003")


@pytest.fixture
def other_agent(make_person):
    return make_person(name="赵敏", mobile="13800138004")


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-entrust")


def _create(principal, agent, **over):
    args = {
        "actor": principal, "agent_id_number": agent.id_number, "agent_name": agent.name,
        "agent_mobile": agent.mobile, "businesses": ["licence.replacement", "vehicle.plate"],
        "valid_from": TODAY, "valid_until": TODAY + timedelta(days=29),
    }  # fmt: skip
    args.update(over)
    return services.entrustment_create(**args)


def _check(clerk, token_or_id, agent, business="B10", **over):
    return services.entrustment_check_at_counter(
        actor=clerk, token_or_id=token_or_id, agent_id_number=agent.id_number, business=business,
        agent_name=over.pop("agent_name", agent.name), **over,
    )  # fmt: skip


def _token(entrustment) -> str:
    entrustment = Entrustment.objects.select_related("principal_person").get(pk=entrustment.pk)
    return tokens.entrustment_token(entrustment=entrustment).text


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


# ---------------------------------------------------------------- creating (O5)


def test_an_entrustment_is_stored_in_seed_order_and_the_agent_is_told(principal, agent):
    entrustment = _create(principal, agent, businesses=["licence.replacement", "vehicle.plate"])
    assert entrustment.businesses == ["vehicle.plate", "licence.replacement"]
    assert entrustment.principal_person_id == principal.person_id
    assert entrustment.agent_id_number == agent.id_number and entrustment.purpose == "ordinary"
    sms = OutboxMessage.objects.get(dedup_key=f"entrustment:{entrustment.pk}:agent-told")
    assert sms.topic == "sms.send" and sms.payload["mobile"] == agent.mobile
    assert "王*" in sms.payload["text"] and "王芳" not in sms.payload["text"]
    assert AuditEntry.objects.filter(
        action="create", subject_type="delegations.entrustment", subject_id=str(entrustment.pk)
    ).exists()


@pytest.mark.parametrize(
    ("over", "code", "field"),
    [
        ({"valid_until": TODAY + timedelta(days=30)}, "delegations.entrustment.too_long", "valid_until"),
        ({"businesses": ["vehicle.plate", "licence.exam"]}, "delegations.entrustment.business_not_entrustable", "businesses"),
        ({"businesses": []}, "delegations.entrustment.no_business", "businesses"),
        ({"valid_from": TODAY - timedelta(days=1)}, "delegations.entrustment.starts_in_past", "valid_from"),
        ({"agent_id_number": "411702198506151234"}, "identity.citizen_id_checksum", "agent_id_number"),
        ({"agent_mobile": "1380013800"}, "identity.mobile_format", "agent_mobile"),
        ({"agent_name": "  "}, "delegations.entrustment.agent_name", "agent_name"),
        ({"purpose": "abroad"}, "delegations.entrustment.abroad_business", "businesses"),
        ({"purpose": "forever"}, "delegations.entrustment.purpose_unknown", "purpose"),
    ],
)  # fmt: skip
def test_bad_entrustments_are_refused_with_the_reason_and_nothing_is_stored(
    principal, agent, over, code, field
):
    with pytest.raises(ValidationFailed) as refused:
        _create(principal, agent, **over)
    assert refused.value.code == code and refused.value.field == field
    assert Entrustment.objects.count() == 0 and OutboxMessage.objects.filter(topic="sms.send").count() == 0


def test_thirty_days_both_ends_included_is_the_longest(principal, agent):
    entrustment = _create(principal, agent, valid_until=TODAY + timedelta(days=29))
    assert (entrustment.valid_until - entrustment.valid_from).days + 1 == 30


def test_nobody_entrusts_themselves(principal, agent):
    me = principal.person
    with pytest.raises(ValidationFailed) as refused:
        _create(principal, agent, agent_id_number=me.id_number.lower(), agent_name=me.name)
    assert refused.value.code == "delegations.entrustment.self"
    assert Entrustment.objects.count() == 0


def test_from_abroad_only_deferrals_and_the_medical_certificate(principal, agent):
    """O4 (seed 004 §八 一): a person abroad entrusts someone at home to defer businesses."""
    entrustment = _create(
        principal, agent, purpose="abroad", businesses=["licence.deferral", "licence.medical_certificate"]
    )
    assert entrustment.purpose == "abroad"


def test_staff_and_organisations_cannot_entrust(clerk, agent):
    with pytest.raises(NotAllowed):
        _create(clerk, agent)


# ---------------------------------------------------------------- the signed QR (EN1)


def test_the_qr_decodes_and_the_public_verifier_accepts_it_then_reports_it_revoked(principal, agent):
    entrustment = _create(principal, agent)
    text = _token(entrustment)
    assert text.startswith("EN1:")
    (read,) = decode_qr_image(qr_png(text))  # zxing-cpp reads what segno drew
    assert read == text
    verdict = credential_verify(text=read)
    assert verdict.valid and verdict.kind == "EN1" and verdict.credential_id == str(entrustment.pk)
    assert verdict.subject["principal"] == "王*" and verdict.subject["agent"] == "李*"
    assert verdict.subject["agent_id"] == agent.id_number[:3] + "*" * 11 + agent.id_number[-4:]
    assert verdict.subject["businesses"] == ["vehicle.plate", "licence.replacement"]
    assert verdict.subject["valid_until"] == (TODAY + timedelta(days=29)).isoformat()
    page = Client().post("/verify/", {"text": read})
    shown = _text(page)
    assert page.status_code == 200 and "网上委托书" in shown
    assert "王*" in shown and "李*" in shown and "补换领驾驶证" in shown and "王芳" not in shown

    services.entrustment_revoke(actor=principal, entrustment_id=entrustment.pk)
    told = OutboxMessage.objects.get(dedup_key=f"entrustment:{entrustment.pk}:agent-told-revoked")
    assert told.payload["mobile"] == agent.mobile and "撤销" in told.payload["text"]
    assert credential_verify(text=read).reason == "revoked"
    api = Client().post("/api/v1/credentials/verify", {"text": read}, content_type="application/json")
    assert api.json()["valid"] is False and api.json()["status"] == "revoked"
    # Offline too: the signed status list lists it revoked in EN1's own index space.
    from jiaoguan.credentials.keys import trust_list

    trust = parse_trust_list(trust_list_json(trust_list()))
    now = int(timezone.now().timestamp())
    assert verify_offline(read, trust=trust, status_list=status_list_token(), now=now).status == "revoked"
    with pytest.raises(Conflict) as refused:
        _token(entrustment)
    assert refused.value.code == "delegations.entrustment.not_in_force"


def test_an_expired_entrustment_answers_expired_online(principal, agent, entrustment_row):
    entrustment = entrustment_row(
        principal=principal,
        agent=agent,
        valid_from=TODAY - timedelta(days=5),
        valid_until=TODAY - timedelta(days=1),
    )
    assert tokens._status(type("D", (), {"index": entrustment.pk})()) == "expired"  # type: ignore[arg-type]
    assert tokens._status(type("D", (), {"index": 10**12})()) == "unknown"  # type: ignore[arg-type]


# ---------------------------------------------------------------- the counter (O5 checks)


def test_the_counter_accepts_the_named_agent_for_an_entrusted_business_and_the_principal_sees_it(
    principal, agent, clerk
):
    entrustment = _create(principal, agent)
    check = _check(clerk, _token(entrustment), agent, business="B10")
    assert (check.outcome, check.reason) == ("done", "ok")
    action = DelegatedAction.objects.get()
    assert (action.grant, action.grant_id, action.channel, action.outcome) == (
        "entrustment",
        entrustment.pk,
        "counter",
        "done",
    )
    assert action.staff == clerk and action.agent_name == "李强" and action.business_code == "B10"
    assert list(selectors.acted_for_me(actor=principal)) == [action]
    assert AuditEntry.objects.filter(
        action="view", subject_type="delegations.entrustment", subject_person_id=principal.person_id
    ).exists()
    page = _text(_client(principal).get("/me/delegations/"))
    assert "谁替我办理了业务" in page and "李*" in page and "窗口" in page and "已办理" in page


def test_the_counter_finds_it_by_the_principals_id_number(principal, agent, clerk):
    _create(principal, agent, businesses=["vehicle.plate"])
    check = _check(clerk, principal.person.id_number, agent, business="vehicle.plate")
    assert check.outcome == "done"


def test_another_agent_using_a_s_entrustment_needs_a_new_one(principal, agent, other_agent, clerk):
    """Agent A's entrustment cannot be used by B, by QR or by lookup: 需重新委托."""
    entrustment = _create(principal, agent)
    for key in (_token(entrustment), principal.person.id_number):
        check = _check(clerk, key, other_agent)
        assert (check.outcome, check.reason) == ("refused", "agent_mismatch")
        assert "需重新委托" in check.message_zh
    # The same ID number with another name is not the agent either.
    assert _check(clerk, _token(entrustment), agent, agent_name="李四").reason == "agent_mismatch"
    entrustment.refresh_from_db()
    assert entrustment.revoked_at is None
    assert set(DelegatedAction.objects.values_list("outcome", flat=True)) == {"refused"}


def test_a_business_not_entrusted_needs_a_new_entrustment(principal, agent, clerk):
    entrustment = _create(principal, agent, businesses=["licence.replacement"])
    check = _check(clerk, _token(entrustment), agent, business="B1")
    assert (check.outcome, check.reason) == ("refused", "business_mismatch")
    assert "需重新委托" in check.message_zh


def test_a_revoked_entrustment_fails_at_once_at_the_counter(principal, agent, clerk):
    entrustment = _create(principal, agent)
    text = _token(entrustment)
    assert _check(clerk, text, agent).outcome == "done"
    services.entrustment_revoke(actor=principal, entrustment_id=entrustment.pk)
    for key in (text, principal.person.id_number):
        check = _check(clerk, key, agent)
        assert (check.outcome, check.reason) == ("refused", "revoked")
    # What was done stays done; the two attempts after the revocation are refused, as recorded.
    assert list(DelegatedAction.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "done", "refused", "refused"
    ]  # fmt: skip


def test_an_expired_qr_is_refused_and_nothing_is_recorded(principal, agent, clerk, entrustment_row):
    entrustment = entrustment_row(
        principal=principal,
        agent=agent,
        valid_from=TODAY - timedelta(days=5),
        valid_until=TODAY - timedelta(days=1),
    )
    from jiaoguan.credentials.keys import active_key, trust_cache_clear
    from jiaoguan.credentials.models import SigningKey

    yesterday_noon = timezone.make_aware(datetime.combine(TODAY - timedelta(days=1), time(12)))
    active_key()  # the signing key, in use since last week
    SigningKey.objects.update(not_before=timezone.now() - timedelta(days=7))
    trust_cache_clear()
    entrustment = Entrustment.objects.select_related("principal_person").get(pk=entrustment.pk)
    text = tokens.entrustment_token(entrustment=entrustment, now=yesterday_noon).text
    with pytest.raises(ValidationFailed) as refused:
        _check(clerk, text, agent)
    assert refused.value.code == "delegations.entrustment.token_rejected"
    assert refused.value.detail["reason"] == "expired"
    assert DelegatedAction.objects.count() == 0
    # Looked up by the principal's ID number it is found, and refused as expired.
    assert _check(clerk, principal.person.id_number, agent).reason == "expired"


def test_a_tampered_qr_is_refused_and_nothing_is_recorded(principal, agent, clerk):
    entrustment = _create(principal, agent)
    text = _token(entrustment)
    body = text[4:]
    i = len(body) // 2
    tampered = "EN1:" + body[:i] + ("A" if body[i] != "A" else "B") + body[i + 1 :]
    with pytest.raises(ValidationFailed) as refused:
        _check(clerk, tampered, agent)
    assert refused.value.code == "delegations.entrustment.token_rejected"
    with pytest.raises(ValidationFailed):
        _check(clerk, "EN1:not a token", agent)
    assert DelegatedAction.objects.count() == 0 and Entrustment.objects.get().revoked_at is None


def test_another_credential_is_not_an_entrustment(clerk, agent, make_vehicle, make_person):
    from jiaoguan.credentials.services import credential_show, inspection_mark_issue
    from jiaoguan.credentials.token import DisplayMode

    vehicle = make_vehicle(owner=make_person(name="周敏"), registered_on=TODAY - timedelta(days=400))
    mark = inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    text = credential_show(credential=mark, mode=DisplayMode.OFFLINE).text
    with pytest.raises(ValidationFailed):
        _check(clerk, "EN1:" + text[4:], agent)  # a VI1 body behind the EN1 prefix
    with pytest.raises(ValidationFailed):
        _check(clerk, text, agent)  # a VI1 is neither an EN1 nor an ID number


def test_not_yet_in_force_is_refused(principal, agent, clerk):
    entrustment = _create(
        principal, agent, valid_from=TODAY + timedelta(days=3), valid_until=TODAY + timedelta(days=5)
    )
    text = _token(entrustment)
    assert _check(clerk, text, agent).reason == "not_yet"
    # The public verifier says so too, rather than "valid", until its first day (O5).
    verdict = credential_verify(text=text)
    assert not verdict.valid and verdict.status == "not_yet"
    page = Client().post("/verify/", {"text": text})
    assert "尚未生效" in _text(page)


def test_no_entrustment_an_unknown_business_or_another_jurisdiction_records_nothing(
    principal, agent, clerk, make_staff, make_person
):
    with pytest.raises(NotFound):
        _check(clerk, make_person(name="孙丽").id_number, agent)
    entrustment = _create(principal, agent)
    with pytest.raises(ValidationFailed) as refused:
        _check(clerk, _token(entrustment), agent, business="B99")
    assert refused.value.field == "business"
    elsewhere = make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zhoukou")
    with pytest.raises(NotAllowed):
        _check(elsewhere, _token(entrustment), agent)
    with pytest.raises(NotAllowed):
        _check(elsewhere, principal.person.id_number, agent)
    with pytest.raises(NotAllowed):
        _check(principal, _token(entrustment), agent)
    assert DelegatedAction.objects.count() == 0


# ---------------------------------------------------------------- the agent's side


def test_an_agent_sees_only_the_entrustments_naming_them(principal, agent, other_agent, citizen):
    mine = _create(principal, agent)
    theirs = _create(principal, other_agent)
    agent_user = citizen(agent)
    assert list(selectors.entrustments_for_agent(actor=agent_user)) == [mine]
    assert selectors.entrustment_for_display(actor=agent_user, entrustment_id=mine.pk) == mine
    assert selectors.entrustment_for_display(actor=agent_user, entrustment_id=theirs.pk) is None
    page = _client(agent_user).get("/me/entrustments/")
    assert f'id="to-me-{mine.pk}"' in page.content.decode()
    assert f'id="to-me-{theirs.pk}"' not in page.content.decode()
    assert _client(agent_user).get(f"/me/entrustments/{theirs.pk}/print").status_code == 404
    assert _client(agent_user).get(f"/me/entrustments/{mine.pk}/print")["Content-Type"] == "application/pdf"


# ---------------------------------------------------------------- pages


def test_the_page_creates_lists_with_a_qr_prints_and_revokes(principal, agent):
    client = _client(principal)
    page = client.get("/me/entrustments/")
    html = page.content.decode()
    assert page.status_code == 200 and "网上委托" in html and "纸质委托书仍然有效" in html
    assert (
        f'value="{TODAY.isoformat()}"' in html
        and f'value="{(TODAY + timedelta(days=29)).isoformat()}"' in html
    )
    assert 'id="group-vehicle"' in html and 'id="group-licence"' in html
    posted = client.post(
        "/me/entrustments/",
        {
            "agent_id_number": agent.id_number, "agent_name": agent.name, "agent_mobile": agent.mobile,
            "businesses": ["licence.replacement"], "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=9)).isoformat(), "purpose": "ordinary",
        },
    )  # fmt: skip
    entrustment = Entrustment.objects.get()
    assert posted.status_code == 302 and posted["Location"].endswith(f"#entrustment-{entrustment.pk}")
    html = client.get("/me/entrustments/").content.decode()
    assert (
        f'id="entrustment-{entrustment.pk}"' in html
        and "<svg" in html
        and "李*" in html
        and "李强" not in html
    )
    pdf = client.get(f"/me/entrustments/{entrustment.pk}/print")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    revoked = client.post("/me/entrustments/revocation", {"id": str(entrustment.pk)})
    assert revoked.status_code == 302
    entrustment.refresh_from_db()
    assert entrustment.revoked_at is not None
    assert client.post("/me/entrustments/revocation", {"id": "１２"}).status_code == 404


def test_the_page_refuses_31_days_with_the_reason_and_keeps_the_choice(principal, agent):
    page = _client(principal).post(
        "/me/entrustments/",
        {
            "agent_id_number": agent.id_number, "agent_name": agent.name, "agent_mobile": agent.mobile,
            "businesses": ["vehicle.plate"], "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=30)).isoformat(), "purpose": "ordinary",
        },
    )  # fmt: skip
    assert page.status_code == 422
    html = page.content.decode()
    assert "单次委托有效期不超过30日（所选为31日）" in html
    assert 'value="vehicle.plate" id="biz-vehicle.plate" checked' in html
    assert Entrustment.objects.count() == 0


def test_the_home_tile_leads_to_the_page(principal):
    html = _client(principal).get("/").content.decode()
    assert 'href="/me/entrustments/"' in html


def test_the_counter_page_checks_and_offers_in_person_and_paper(principal, agent, clerk):
    entrustment = _create(principal, agent)
    client = _client(clerk)
    page = client.get("/counter/entrustments/")
    assert page.status_code == 200 and "纸质委托书仍然有效" in page.content.decode()
    assert 'href="/counter/entrustments/"' in client.get("/counter/").content.decode()
    done = client.post(
        "/counter/entrustments/",
        {"token_or_id": _token(entrustment), "agent_id_number": agent.id_number, "agent_name": agent.name,
         "business": "licence.replacement"},
    )  # fmt: skip
    assert done.status_code == 200 and 'data-outcome="done"' in done.content.decode()
    refused = client.post(
        "/counter/entrustments/",
        {
            "token_or_id": principal.person.id_number,
            "agent_id_number": agent.id_number,
            "business": "vehicle.licence",
        },
    )
    assert 'data-reason="business_mismatch"' in refused.content.decode()
    assert "需重新委托" in refused.content.decode()
    bad = client.post(
        "/counter/entrustments/",
        {"token_or_id": "EN1:XYZ", "agent_id_number": agent.id_number, "business": "vehicle.plate"},
    )
    assert bad.status_code == 422 and "未通过核验" in bad.content.decode()
    in_person = client.post("/counter/entrustments/", {"in_person": "1"})
    assert in_person.status_code == 302
    assert DelegatedAction.objects.count() == 2
    assert _client(principal).get("/counter/entrustments/").status_code == 403


def test_the_pages_speak_english_and_ask_visitors_to_log_in(principal, clerk):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(principal)
    client.cookies["django_language"] = "en"
    html = client.get("/me/entrustments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert (
        "New entrustment" in html and "Entrusted to me" in html and "Replace or exchange the licence" in html
    )
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(clerk)
    staff.cookies["django_language"] = "en"
    assert "Paper entrustments remain valid" in staff.get("/counter/entrustments/").content.decode()
    anonymous = Client().get("/me/entrustments/")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
