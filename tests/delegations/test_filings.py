"""Filed vehicles (备案车辆, U7; seed 003 "本人名下或本人已备案机动车"): a driver files a vehicle owned
by someone else, the owner consents in their account or by the SMS code they give the driver, and
the driver then shows the vehicle's electronic inspection mark without seeing the owner's data."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.core.audit import AuditEntry
from jiaoguan.core.errors import Conflict, NotFound, Throttled, ValidationFailed
from jiaoguan.credentials import selectors as credential_selectors
from jiaoguan.credentials import services as credential_services
from jiaoguan.delegations import rules, services
from jiaoguan.delegations.models import DelegatedAction, VehicleFiling

pytestmark = pytest.mark.django_db

S = VehicleFiling.State


@pytest.fixture(autouse=True)
def _key_dir(tmp_path, settings):
    """The marks are signed with keys of the test's own (as in tests/credentials)."""
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    from jiaoguan.credentials.keys import trust_cache_clear

    trust_cache_clear()
    yield
    trust_cache_clear()


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def owner_person(make_person):
    return make_person(name="王建军", mobile="13900001111")


@pytest.fixture
def owner(owner_person, citizen):
    return citizen(owner_person)


@pytest.fixture
def car(owner_person, make_vehicle):
    """The friend's car, inspected last year, with its electronic inspection mark."""
    vehicle = make_vehicle(
        owner=owner_person, registered_on=date(2022, 5, 13), last_inspected_on=date(2026, 5, 1),
        owner_mobile="13900002222",
    )  # fmt: skip
    assert credential_services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test") is not None
    return vehicle


@pytest.fixture
def driver(make_person, citizen):
    return citizen(make_person(name="刘小明", mobile="13700003333"))


def _request(driver, car, **kw):
    return services.filing_request(
        actor=driver, plate_number=kw.get("plate", car.plate_number), plate_type=kw.get("plate_type", car.plate_type),
        vin_tail=kw.get("vin_tail", car.vin[-6:].lower()),
    )  # fmt: skip


# ---------------------------------------------------------------- rules


def test_rules_normalise_and_windows():
    assert rules.normalise_plate(" 豫q·12345 ") == "豫Q12345"
    assert rules.normalise_vin_tail(" ab12 34") == "AB1234"
    assert rules.normalise_vin_tail("AB123") == "" and rules.normalise_vin_tail("AB12３4") == ""
    day = date(2026, 12, 1)
    assert not rules.filing_consent_expired(
        requested_on=day, today=day + timedelta(days=rules.FILING_CONSENT_DAYS)
    )
    assert rules.filing_consent_expired(
        requested_on=day, today=day + timedelta(days=rules.FILING_CONSENT_DAYS + 1)
    )
    assert rules.filing_code_open(sent_at_seconds=0, now_seconds=600, attempts=4)
    assert not rules.filing_code_open(sent_at_seconds=0, now_seconds=601, attempts=0)
    assert not rules.filing_code_open(sent_at_seconds=0, now_seconds=1, attempts=5)


# ---------------------------------------------------------------- request


def test_request_awaits_consent_and_texts_the_owner_a_code(driver, car, sms_inbox):
    filing = _request(driver, car)
    assert filing.state == S.AWAITING_CONSENT
    assert (filing.owner_person_id, filing.owner_organisation_id) == (car.owner_person_id, None)
    code = sms_inbox("13900002222")  # the vehicle's owner mobile comes before the person's
    assert len(code) == 6 and code not in filing.code_hash and len(filing.code_hash) == 64
    assert AuditEntry.objects.filter(
        action="create", subject_id=str(filing.pk), subject_type="delegations.vehiclefiling"
    ).exists()


def test_unknown_plate_and_wrong_vin_tail_get_one_neutral_answer(driver, car):
    with pytest.raises(NotFound) as wrong_tail:
        _request(driver, car, vin_tail="ZZZ999")
    with pytest.raises(NotFound) as unknown:
        _request(driver, car, plate="豫Q99999")
    with pytest.raises(NotFound) as wrong_type:
        _request(driver, car, plate_type="01")
    assert (
        wrong_tail.value.code == unknown.value.code == wrong_type.value.code == "delegations.filing.no_match"
    )
    assert wrong_tail.value.message == unknown.value.message
    assert not VehicleFiling.objects.exists()


def test_malformed_input_is_refused_with_its_field(driver, car):
    with pytest.raises(ValidationFailed) as error:
        _request(driver, car, vin_tail="12")
    assert error.value.field == "vin_tail"
    with pytest.raises(ValidationFailed) as error:
        _request(driver, car, plate_type="99")
    assert error.value.field == "plate_type"


def test_own_vehicle_is_refused(owner, car):
    with pytest.raises(Conflict) as error:
        _request(owner, car)
    assert error.value.code == "delegations.filing.own_vehicle"


def test_a_deregistered_vehicle_is_refused(driver, car):
    car.status = "E"
    car.save(update_fields=["status"])
    with pytest.raises(Conflict) as error:
        _request(driver, car)
    assert error.value.code == "delegations.filing.vehicle_not_normal"


def test_a_second_live_filing_is_refused(driver, car):
    first = _request(driver, car)
    with pytest.raises(Conflict) as error:
        _request(driver, car)
    assert (
        error.value.code == "delegations.filing.already_filed" and error.value.detail["filing_id"] == first.pk
    )
    services.filing_withdraw(actor=driver, filing_id=first.pk)
    assert _request(driver, car).pk != first.pk  # after withdrawal it may be asked again


def test_requests_are_throttled_per_account(driver, car):
    for _ in range(services.FILING_LIMITS[0].attempts):
        with pytest.raises(NotFound):
            _request(driver, car, vin_tail="ZZZ999")
    with pytest.raises(Throttled):
        _request(driver, car)  # even the right answer now waits: probing costs the account
    assert not VehicleFiling.objects.exists()


# ---------------------------------------------------------------- consent


def test_owner_consents_in_account_and_it_is_on_their_list(driver, owner, car):
    filing = _request(driver, car)
    services.filing_consent(actor=owner, filing_id=filing.pk, accept=True)
    filing.refresh_from_db()
    assert (filing.state, filing.consent_via, filing.code_hash) == (S.ACTIVE, "account", "")
    action = DelegatedAction.objects.get(grant="filing", grant_id=filing.pk)
    assert (action.principal_person_id, action.outcome, action.agent_user_id) == (
        owner.person_id,
        "done",
        driver.pk,
    )
    with pytest.raises(Conflict):
        services.filing_consent(actor=owner, filing_id=filing.pk, accept=False)  # decided already


def test_owner_refuses(driver, owner, car):
    filing = _request(driver, car)
    services.filing_consent(actor=owner, filing_id=filing.pk, accept=False)
    filing.refresh_from_db()
    assert filing.state == S.REFUSED
    assert DelegatedAction.objects.get(grant="filing", grant_id=filing.pk).outcome == "refused"
    assert car.pk not in credential_selectors.shared_vehicle_ids(user=driver)


def test_nobody_else_consents(driver, car, make_person, citizen):
    filing = _request(driver, car)
    stranger = citizen(make_person(name="赵六", mobile="13600000000"))
    for actor in (stranger, driver):
        with pytest.raises(NotFound):
            services.filing_consent(actor=actor, filing_id=filing.pk, accept=True)
    filing.refresh_from_db()
    assert filing.state == S.AWAITING_CONSENT


def test_consent_by_the_owners_code(driver, owner, car, sms_inbox):
    filing = _request(driver, car)
    code = sms_inbox("13900002222")
    services.filing_consent_by_code(actor=driver, filing_id=filing.pk, code=code)
    filing.refresh_from_db()
    assert (filing.state, filing.consent_via) == (S.ACTIVE, "sms")
    assert DelegatedAction.objects.get(grant="filing", grant_id=filing.pk).note_zh.startswith("备案人输入")
    assert "已备案给" in _last_sms("13900002222")  # the owner hears that it took effect


def _last_sms(mobile: str) -> str:
    from jiaoguan.core.outbox import outbox_dispatch
    from jiaoguan.integrations.models import FakeSmsMessage

    outbox_dispatch()
    return FakeSmsMessage.objects.filter(mobile=mobile).order_by("-id").first().text


def test_bad_codes_count_down_and_then_the_code_is_dead(driver, car, sms_inbox):
    filing = _request(driver, car)
    code = sms_inbox("13900002222")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in range(rules.FILING_CODE_ATTEMPTS - 1, -1, -1):
        with pytest.raises(ValidationFailed) as error:
            services.filing_consent_by_code(actor=driver, filing_id=filing.pk, code=wrong)
        assert error.value.detail["tries_left"] == left
    with pytest.raises(Conflict) as error:
        services.filing_consent_by_code(
            actor=driver, filing_id=filing.pk, code=code
        )  # the right one, too late
    assert error.value.code == "delegations.filing.code_expired"
    filing.refresh_from_db()
    assert filing.state == S.AWAITING_CONSENT and filing.code_attempts == rules.FILING_CODE_ATTEMPTS


def test_the_code_dies_after_ten_minutes(driver, car, sms_inbox):
    filing = _request(driver, car)
    code = sms_inbox("13900002222")
    later = timezone.now() + timedelta(minutes=rules.FILING_CODE_MINUTES, seconds=5)
    with pytest.raises(Conflict) as error:
        services.filing_consent_by_code(actor=driver, filing_id=filing.pk, code=code, now=later)
    assert error.value.code == "delegations.filing.code_expired"


def test_only_the_driver_enters_the_code(driver, owner, car, sms_inbox):
    filing = _request(driver, car)
    code = sms_inbox("13900002222")
    with pytest.raises(NotFound):
        services.filing_consent_by_code(actor=owner, filing_id=filing.pk, code=code)


def test_consent_expires_after_the_window(driver, owner, car):
    filing = _request(driver, car)
    later = timezone.now() + timedelta(days=rules.FILING_CONSENT_DAYS + 1)
    with pytest.raises(Conflict) as error:
        services.filing_consent(actor=owner, filing_id=filing.pk, accept=True, now=later)
    assert error.value.code == "delegations.filing.lapsed"
    filing.refresh_from_db()
    assert filing.state == S.LAPSED  # written down even though the call was refused
    assert _request(driver, car).state == S.AWAITING_CONSENT  # a new request may follow


def test_company_car_consent_by_the_organisation(driver, make_vehicle, organisation_user):
    company = organisation_user()
    vehicle = make_vehicle(owner=company.organisation, last_inspected_on=date(2026, 5, 1))
    filing = _request(driver, vehicle)
    services.filing_consent(actor=company, filing_id=filing.pk, accept=True)
    filing.refresh_from_db()
    assert filing.state == S.ACTIVE
    assert not DelegatedAction.objects.filter(grant="filing").exists()  # no person to list it for


# ---------------------------------------------------------------- the mark


def _active(driver, owner, car) -> VehicleFiling:
    filing = _request(driver, car)
    services.filing_consent(actor=owner, filing_id=filing.pk, accept=True)
    return filing


def test_driver_sees_the_mark_but_not_the_owners_data(driver, owner, owner_person, car):
    assert car.pk not in credential_selectors.shared_vehicle_ids(user=driver)
    _active(driver, owner, car)
    client = _client(driver)
    page = client.get("/credentials/")
    assert page.status_code == 200
    text = _text(page)
    assert car.plate_number in text and "备案车辆" in text
    mark = credential_selectors.my_credentials(user=driver).get(vehicle=car)
    detail = client.get(f"/credentials/{mark.public_id}/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "qr-live" in body and "备案车辆" in body
    for private in (
        owner_person.name,
        "王*",
        owner_person.id_number,
        owner_person.mobile,
        car.owner_mobile,
        car.vin,
    ):
        assert private not in body and private not in page.content.decode()
    api = client.get("/api/v1/me/credentials").json()
    [row] = [r for r in api if r["kind"] == "VI1"]
    assert row["filed"] is True and "owner" not in row["subject"]
    assert owner_person.name not in str(api) and owner_person.id_number not in str(api)
    # Kept copies would outlive a withdrawal: shown online only.
    assert client.get(f"/credentials/{mark.public_id}/offline.png").status_code == 302
    filings = client.get("/api/v1/me/vehicle-filings").json()
    assert owner_person.name not in str(filings) and owner_person.mobile not in str(filings)


def test_withdrawal_hides_the_mark_at_once(driver, owner, car):
    filing = _active(driver, owner, car)
    assert car.pk in credential_selectors.shared_vehicle_ids(user=driver)
    services.filing_withdraw(actor=owner, filing_id=filing.pk)
    assert car.pk not in credential_selectors.shared_vehicle_ids(user=driver)
    assert car.plate_number not in _text(_client(driver).get("/credentials/"))


def test_a_new_owner_ends_the_filing(driver, owner, car, make_person):
    filing = _active(driver, owner, car)
    car.owner_person = make_person(name="孙新主", mobile="13500000000")
    car.save(update_fields=["owner_person"])
    assert car.pk not in credential_selectors.shared_vehicle_ids(user=driver)  # at once, at read time
    assert services.filings_settle() == 1  # and the sweep writes it down
    filing.refresh_from_db()
    assert filing.state == S.LAPSED and filing.end_reason == "机动车所有人已变更"


# ---------------------------------------------------------------- pages


def test_pages_request_consent_and_withdraw(driver, owner, car):
    client = _client(driver)
    page = client.get("/me/filings/")
    assert page.status_code == 200 and 'id="filing-form"' in page.content.decode()
    wrong = client.post(
        "/me/filings/request", {"plate_number": car.plate_number, "plate_type": "02", "vin_tail": "ZZZ999"}
    )
    assert wrong.status_code == 404 and "都相符" in _text(wrong)
    done = client.post(
        "/me/filings/request",
        {"plate_number": car.plate_number, "plate_type": "02", "vin_tail": car.vin[-6:]},
    )
    assert done.status_code == 302
    filing = VehicleFiling.objects.get()
    owner_client = _client(owner)
    waiting = owner_client.get("/me/filings/")
    assert f'id="accept-{filing.pk}"' in waiting.content.decode() and "刘**" in _text(waiting)
    assert (
        owner_client.post("/me/filings/consent", {"id": filing.pk, "decision": "accept"}).status_code == 302
    )
    filing.refresh_from_db()
    assert filing.state == S.ACTIVE
    mine = _text(owner_client.get("/me/delegations/"))
    assert car.plate_number in mine and "车主在本人账户中同意备案" in mine
    assert (
        owner_client.post("/me/delegations/revocation", {"kind": "filing", "id": filing.pk}).status_code
        == 302
    )
    filing.refresh_from_db()
    assert filing.state == S.WITHDRAWN
    assert client.post("/me/filings/consent", {"id": filing.pk, "decision": "accept"}).status_code == 404


def test_page_code_entry(driver, car, sms_inbox):
    client = _client(driver)
    filing = _request(driver, car)
    code = sms_inbox("13900002222")
    bad = client.post(
        "/me/filings/code", {"id": filing.pk, "code": "000000" if code != "000000" else "111111"}
    )
    assert bad.status_code == 422 and "还可尝试4次" in _text(bad)
    assert client.post("/me/filings/code", {"id": filing.pk, "code": code}).status_code == 302
    filing.refresh_from_db()
    assert filing.state == S.ACTIVE
    assert client.post("/me/filings/withdrawal", {"id": filing.pk}).status_code == 302
    filing.refresh_from_db()
    assert filing.state == S.WITHDRAWN


# ---------------------------------------------------------------- API


def test_api_flow(driver, owner, car, sms_inbox):
    client = _client(driver)
    body = {"plate_number": car.plate_number, "plate_type": car.plate_type, "vin_tail": car.vin[-6:]}
    created = client.post(
        "/api/v1/me/vehicle-filings", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert created.status_code == 201, created.content
    again = client.post(
        "/api/v1/me/vehicle-filings", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert again.status_code == 201 and again.json()["id"] == created.json()["id"]
    filing_id = created.json()["id"]
    assert created.json()["state"] == "awaiting" and created.json()["code_pending"] is True
    wrong = client.post(
        f"/api/v1/me/vehicle-filings/{filing_id}/code", {"code": "abc"}, content_type="application/json"
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "delegations.filing.code_wrong"
    owner_client = _client(owner)
    [listed] = owner_client.get("/api/v1/me/vehicle-filings").json()
    assert listed["role"] == "owner" and listed["driver"] == "刘**"
    consent = owner_client.post(
        f"/api/v1/me/vehicle-filings/{filing_id}/consent", {"accept": True}, content_type="application/json"
    )
    assert consent.status_code == 200 and consent.json()["state"] == "active"
    other = client.post(
        f"/api/v1/me/vehicle-filings/{filing_id}/consent", {"accept": True}, content_type="application/json"
    )
    assert other.status_code == 404
    withdrawn = client.post(f"/api/v1/me/vehicle-filings/{filing_id}/withdrawal")
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    missing = client.post(
        "/api/v1/me/vehicle-filings", {**body, "vin_tail": "ZZZ999"}, content_type="application/json"
    )
    assert missing.status_code == 404 and missing.json()["code"] == "delegations.filing.no_match"


def test_api_tokens_of_a_filed_vehicles_mark_are_online_only(driver, owner, car):
    from jiaoguan.accounts.models import ApiToken
    from jiaoguan.accounts.services import _token_hash

    _active(driver, owner, car)
    ApiToken.objects.create(
        token_hash=_token_hash("filing-driver"),
        user=driver,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    client = Client(HTTP_AUTHORIZATION="Bearer filing-driver")
    mark = credential_selectors.my_credentials(user=driver).get(vehicle=car)
    url = f"/api/v1/me/credentials/{mark.public_id}/tokens"
    offline = client.post(url, {"mode": "offline"}, content_type="application/json")
    assert offline.status_code == 409 and offline.json()["code"] == "credentials.shared_online_only"
    assert client.post(url, {"mode": "online"}, content_type="application/json").status_code == 201


def test_the_page_in_english_and_the_me_page_link(driver, car):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(driver)
    page = client.get("/me/filings/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert 'href="/me/filings/"' in _client(driver).get("/me/").content.decode()


def test_the_sweep_runs_hourly():
    from jiaoguan.worker import SCHEDULE

    [periodic] = [p for p in SCHEDULE if p.name == "delegations.filings"]
    assert periodic.every_seconds == 3600
