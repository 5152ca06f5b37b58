"""Mortgages filed and released online by banks with an e-seal (issue 14, O6).

Given a bank registered at the counter with its seal key, a vehicle and the loan contract in the
bank's system (the fake bank, a real process), the bank's system signs a payload and posts it.
The signature, the key, the nonce, the vehicle, the borrower and the bank's confirmation are all
checked before anything is filed; the owner then sees the mortgage and is texted.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.core.seals import canonical_json, fingerprint, public_der_from_pem, seal_key_generate, seal_sign
from jiaoguan.integrations.models import FakeSmsMessage
from jiaoguan.registry import mortgages, selectors
from jiaoguan.registry.models import OrganisationSealKey, SealNonce, VehicleMortgage

pytestmark = pytest.mark.django_db
SHANGHAI_OFFSET = timedelta(hours=8)


# ------------------------------------------------------------------------------ givens


def bearer(user) -> Client:
    from jiaoguan.accounts.models import ApiToken
    from jiaoguan.accounts.services import _token_hash

    raw = f"test-{user.pk}-{secrets.token_hex(4)}"
    ApiToken.objects.create(
        token_hash=_token_hash(raw), user=user, expires_at=timezone.now() + timedelta(hours=1)
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


class Bank:
    """A bank organisation user with a registered seal key, and the means to sign as it."""

    def __init__(self, user, private_pem: bytes, key: OrganisationSealKey) -> None:
        self.user = user
        self.organisation = user.organisation
        self.private_pem = private_pem
        self.key = key
        self.api = bearer(user)

    def payload(self, vehicle, **changes) -> dict:
        owner = vehicle.owner_person
        return {
            "action": "mortgage.file", "mortgagee_uscc": self.organisation.uscc, "vin": vehicle.vin,
            "borrower_id_number": owner.id_number if owner else vehicle.owner_organisation.uscc,
            "contract_number": "DY-2026-0001", "principal_fen": 12_000_000,
            "term_start": timezone.localdate().isoformat(),
            "term_end": (timezone.localdate() + timedelta(days=3 * 365)).isoformat(),
            "signed_at": int(time.time()), "nonce": secrets.token_hex(16),
        } | changes  # fmt: skip

    def release_payload(self, mortgage, **changes) -> dict:
        return {
            "action": "mortgage.release", "mortgage_id": mortgage.pk, "mortgagee_uscc": self.organisation.uscc,
            "vin": mortgage.vehicle.vin, "contract_number": mortgage.contract_number,
            "signed_at": int(time.time()), "nonce": secrets.token_hex(16),
        } | changes  # fmt: skip

    def body(self, payload: dict, *, private_pem: bytes | None = None, key=None) -> dict:
        key = key or self.key
        signature = seal_sign(
            algorithm=key.algorithm, private_pem=private_pem or self.private_pem, payload=payload
        )
        return {"payload": payload, "signature": signature, "key_fingerprint": key.fingerprint}

    def file(self, payload: dict, **headers):
        self.last_body = self.body(payload)
        return self.api.post("/api/v1/mortgages", self.last_body, content_type="application/json", **headers)

    def release(self, mortgage, payload: dict | None = None, **headers):
        body = self.body(payload or self.release_payload(mortgage))
        return self.api.post(
            f"/api/v1/mortgages/{mortgage.pk}/release", body, content_type="application/json", **headers
        )

    def contract(self, bank_service, vehicle, *, state: str = "active", **changes) -> dict:
        payload = self.payload(vehicle)
        data = {
            "bank_uscc": self.organisation.uscc, "contract_number": payload["contract_number"], "vin": vehicle.vin,
            "borrower_id_number": payload["borrower_id_number"], "principal_fen": payload["principal_fen"],
            "state": state,
        } | changes  # fmt: skip
        bank_service.put_contract(**data)
        return data


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Banks, owners and clerks get logins in every test; the hash strength is not what is tested.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700")


@pytest.fixture
def make_bank(organisation_user, clerk):
    counter = {"n": 0}

    def make(*, algorithm: str = "SM2-SM3", name: str = "中原示范银行驻马店分行") -> Bank:
        counter["n"] += 1
        user = organisation_user(name=name, kind="bank", suffix=f"BNK{counter['n']:02d}7")
        private_pem, public_pem = seal_key_generate(algorithm)
        key = mortgages.seal_key_register(
            actor=clerk, organisation_id=user.organisation_id, algorithm=algorithm, public_key_pem=public_pem
        )
        return Bank(user, private_pem, key)

    return make


@pytest.fixture
def bank(make_bank):
    return make_bank()


@pytest.fixture
def owned(owner_driver):
    """(owner user, person, vehicle)"""
    user, person, vehicle, _ = owner_driver()
    return user, person, vehicle


def in_force(vehicle) -> VehicleMortgage | None:
    return VehicleMortgage.objects.filter(vehicle=vehicle, state="filed").first()


# ------------------------------------------------------------------------------ filing


def test_a_signed_filing_the_bank_confirms_is_filed_and_the_owner_sees_and_is_told(bank, owned, bank_service):
    user, person, vehicle = owned
    bank.contract(bank_service, vehicle)
    payload = bank.payload(vehicle)

    response = bank.file(payload)

    assert response.status_code == 201, response.json()
    mortgage = in_force(vehicle)
    assert response.json()["id"] == mortgage.pk and response.json()["state"] == "filed"
    # The signed evidence is kept: the canonical payload verifies again with the key on record.
    assert mortgage.filing_payload.encode() == canonical_json(payload)
    assert mortgage.filing_key == bank.key and mortgage.bank_check_reference.startswith("chk-")
    # O6: the registry shows the vehicle as mortgaged, on the owner's card, page and API.
    status = selectors.vehicle_status(vehicle, today=timezone.localdate())
    assert status.mortgaged and status.mortgagee_name == bank.organisation.name
    owner = Client()
    owner.force_login(user)
    assert "已抵押给" in owner.get(f"/vehicles/{vehicle.pk}/").content.decode()
    assert "已抵押给" in owner.get("/vehicles/").content.decode()
    item = bearer(user).get("/api/v1/me/vehicles").json()["items"][0]
    assert item["mortgaged"] is True and item["mortgagee_name"] == bank.organisation.name
    outbox_dispatch()
    text = FakeSmsMessage.objects.filter(mobile=person.mobile).latest("id").text
    assert "抵押登记" in text and bank.organisation.name in text


def test_an_es256_seal_works_as_well(make_bank, owned, bank_service):
    bank = make_bank(algorithm="ES256")
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)

    assert bank.file(bank.payload(vehicle)).status_code == 201


def test_the_key_order_and_spacing_of_the_json_do_not_matter_only_the_values(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    payload = bank.payload(vehicle)
    body = bank.body(payload)
    reordered = dict(reversed(list(payload.items())))
    raw = json.dumps(
        {"key_fingerprint": body["key_fingerprint"], "signature": body["signature"], "payload": reordered},
        ensure_ascii=True,
        indent=2,
    )

    response = bank.api.post("/api/v1/mortgages", raw, content_type="application/json")

    assert response.status_code == 201, response.json()


def test_a_tampered_payload_does_not_verify_and_nothing_is_filed(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    payload = bank.payload(vehicle)
    body = bank.body(payload)
    body["payload"] = payload | {"principal_fen": 1_000}

    response = bank.api.post("/api/v1/mortgages", body, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["code"] == "registry.mortgage.signature_invalid"
    assert in_force(vehicle) is None and bank_service.checks() == []


def test_a_signature_by_a_key_other_than_the_one_named_does_not_verify(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    other_private, _ = seal_key_generate("SM2-SM3")

    response = bank.api.post(
        "/api/v1/mortgages",
        bank.body(bank.payload(vehicle), private_pem=other_private),
        content_type="application/json",
    )

    assert response.status_code == 422 and response.json()["code"] == "registry.mortgage.signature_invalid"


def test_a_key_not_registered_or_of_another_bank_is_refused(make_bank, owned, bank_service):
    first, second = make_bank(), make_bank(name="中原示范汽车金融有限公司")
    _, _, vehicle = owned
    first.contract(bank_service, vehicle)
    private, public = seal_key_generate("SM2-SM3")
    unregistered = OrganisationSealKey(
        algorithm="SM2-SM3", fingerprint=fingerprint(public_der_from_pem(public))
    )

    signed_unknown = first.body(first.payload(vehicle), private_pem=private, key=unregistered)
    signed_by_second = first.body(first.payload(vehicle), private_pem=second.private_pem, key=second.key)

    for body in (signed_unknown, signed_by_second):
        response = first.api.post("/api/v1/mortgages", body, content_type="application/json")
        assert response.status_code == 403 and response.json()["code"] == "registry.mortgage.key_unknown"
    assert in_force(vehicle) is None


def test_a_revoked_key_is_refused(bank, owned, bank_service, clerk):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    mortgages.seal_key_revoke(actor=clerk, key_id=bank.key.pk, reason="私钥介质遗失")

    response = bank.file(bank.payload(vehicle))

    assert response.status_code == 403 and response.json()["code"] == "registry.mortgage.key_revoked"
    assert in_force(vehicle) is None


def test_a_replayed_signed_request_is_refused(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    payload = bank.payload(vehicle)
    assert bank.file(payload).status_code == 201
    mortgage = in_force(vehicle)
    bank.contract(bank_service, vehicle, state="settled")
    assert bank.release(mortgage).status_code == 200
    bank.contract(bank_service, vehicle)  # the loan is active again: only the nonce stops the replay

    response = bank.file(payload)

    assert response.status_code == 409 and response.json()["code"] == "registry.mortgage.replayed"
    assert in_force(vehicle) is None


def test_a_request_signed_long_ago_is_refused(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)

    response = bank.file(bank.payload(vehicle, signed_at=int(time.time()) - 3600))

    assert response.status_code == 422 and response.json()["code"] == "registry.mortgage.signature_stale"


def test_a_payload_with_a_field_too_many_or_missing_is_refused(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    extra = bank.payload(vehicle) | {"note": "x"}
    missing = bank.payload(vehicle)
    del missing["term_end"]

    for payload in (extra, missing):
        response = bank.file(payload)
        assert response.status_code == 422 and response.json()["code"] == "registry.mortgage.payload_invalid"


def test_the_borrower_must_be_the_registered_owner(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle, borrower_id_number="411702198506150039")

    response = bank.file(bank.payload(vehicle, borrower_id_number="411702198506150039"))

    assert response.status_code == 422 and response.json()["code"] == "registry.mortgage.borrower_not_owner"


def test_a_contract_the_bank_does_not_confirm_is_refused_with_what_differs(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle, principal_fen=9_000_000)

    response = bank.file(bank.payload(vehicle))

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "registry.mortgage.contract_not_confirmed"
    assert body["detail"]["mismatches"] == ["principal"] and "金额" in body["message"]
    assert in_force(vehicle) is None


def test_a_bank_that_times_out_files_nothing_and_the_same_request_succeeds_later(
    bank, owned, bank_service, settings
):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    settings.BANK_RETRIES = 0
    bank_service.configure(timeout_rate=1.0, timeout_sleep_ms=1500)
    payload = bank.payload(vehicle)

    response = bank.file(payload, HTTP_IDEMPOTENCY_KEY="filing-1")

    assert response.status_code == 503 and response.json()["code"] == "registry.mortgage.bank_unavailable"
    assert in_force(vehicle) is None and not SealNonce.objects.exists()
    # The bank is back: the same signed request with the same key is tried again, not replayed as 503.
    bank_service.configure(timeout_rate=0.0)
    again = bank.api.post(
        "/api/v1/mortgages", bank.last_body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="filing-1"
    )
    assert again.status_code == 201 and in_force(vehicle) is not None


def test_an_idempotent_retry_answers_the_first_filing(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    body = bank.body(bank.payload(vehicle))  # SM2 signatures are randomised: the same signed body twice

    first, second = (
        bank.api.post(
            "/api/v1/mortgages", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="filing-2"
        )
        for _ in range(2)
    )

    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert VehicleMortgage.objects.filter(vehicle=vehicle).count() == 1


def test_a_vehicle_already_mortgaged_cannot_be_mortgaged_again(make_bank, owned, bank_service):
    first, second = make_bank(), make_bank(name="中原示范汽车金融有限公司")
    _, _, vehicle = owned
    first.contract(bank_service, vehicle)
    second.contract(bank_service, vehicle)
    assert first.file(first.payload(vehicle)).status_code == 201

    response = second.file(second.payload(vehicle))

    assert response.status_code == 409 and response.json()["code"] == "registry.mortgage.already_mortgaged"


@pytest.mark.django_db(transaction=True)
def test_parallel_filings_for_one_vehicle_file_exactly_one(bank, owned, bank_service, run_together):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs row locks and parallel connections: PostgreSQL")
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    payloads = [bank.payload(vehicle) for _ in range(6)]
    bodies = [bank.body(p) for p in payloads]
    user = bank.user

    def filing(body):
        return lambda: mortgages.mortgage_file(
            actor=user,
            payload=body["payload"],
            signature=body["signature"],
            key_fingerprint=body["key_fingerprint"],
        )

    results = run_together(*(filing(b) for b in bodies))

    filed = [r for r in results if isinstance(r, VehicleMortgage)]
    refused = [r for r in results if not isinstance(r, VehicleMortgage)]
    assert len(filed) == 1, results
    assert {getattr(r, "code", repr(r)) for r in refused} == {"registry.mortgage.already_mortgaged"}
    assert VehicleMortgage.objects.filter(vehicle=vehicle, state="filed").count() == 1


# ------------------------------------------------------------------------------ release


def test_a_release_the_bank_confirms_settled_clears_the_mortgage(bank, owned, bank_service):
    user, person, vehicle = owned
    bank.contract(bank_service, vehicle)
    assert bank.file(bank.payload(vehicle)).status_code == 201
    mortgage = in_force(vehicle)
    bank.contract(bank_service, vehicle, state="settled")

    response = bank.release(mortgage)

    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "released" and in_force(vehicle) is None
    status = selectors.vehicle_status(vehicle, today=timezone.localdate())
    assert not status.mortgaged and status.mortgagee_name == ""
    assert bearer(user).get("/api/v1/me/vehicles").json()["items"][0]["mortgaged"] is False
    outbox_dispatch()
    assert "解除抵押" in FakeSmsMessage.objects.filter(mobile=person.mobile).latest("id").text


def test_a_release_of_a_loan_not_settled_is_refused(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    assert bank.file(bank.payload(vehicle)).status_code == 201

    response = bank.release(in_force(vehicle))

    assert response.status_code == 422 and response.json()["detail"]["mismatches"] == ["state"]
    assert in_force(vehicle) is not None


def test_a_bank_cannot_release_another_banks_mortgage(make_bank, owned, bank_service):
    first, second = make_bank(), make_bank(name="中原示范汽车金融有限公司")
    _, _, vehicle = owned
    first.contract(bank_service, vehicle)
    assert first.file(first.payload(vehicle)).status_code == 201
    mortgage = in_force(vehicle)
    payload = second.release_payload(mortgage)

    response = second.release(mortgage, payload)

    assert response.status_code == 404
    assert in_force(vehicle) is not None
    assert second.api.get("/api/v1/mortgages").json()["items"] == []
    assert [m["id"] for m in first.api.get(f"/api/v1/mortgages?vehicle={vehicle.vin}").json()["items"]] == [
        mortgage.pk
    ]


# ------------------------------------------------------------------------------ who may


def test_a_car_dealer_cannot_file(organisation_user, bank_service):
    dealer = organisation_user(name="驻马店市天中汽车销售服务有限公司", kind="car_dealer", suffix="DLR017")

    response = bearer(dealer).post(
        "/api/v1/mortgages",
        {"payload": {}, "signature": "", "key_fingerprint": ""},
        content_type="application/json",
    )

    assert response.status_code == 403 and response.json()["code"] == "accounts.bank_only"


def test_a_citizen_and_a_clerk_cannot_file(owned, clerk):
    user, _, _ = owned
    for actor in (user, clerk):
        response = bearer(actor).post(
            "/api/v1/mortgages",
            {"payload": {}, "signature": "", "key_fingerprint": ""},
            content_type="application/json",
        )
        assert response.status_code == 403


# ------------------------------------------------------------------------------ seal keys at the counter


def test_a_seal_key_is_registered_only_for_a_bank_once_and_only_when_valid(
    organisation_user, clerk, make_bank
):
    from jiaoguan.core.errors import Conflict, ValidationFailed

    bank = make_bank()
    dealer = organisation_user(name="驻马店市天中汽车销售服务有限公司", kind="car_dealer", suffix="DLR027")
    _, public = seal_key_generate("SM2-SM3")
    with pytest.raises(ValidationFailed) as not_bank:
        mortgages.seal_key_register(actor=clerk, organisation_id=dealer.organisation_id, algorithm="SM2-SM3",
                                    public_key_pem=public)  # fmt: skip
    assert not_bank.value.code == "registry.seal_key.not_bank"
    _, es_public = seal_key_generate("ES256")
    with pytest.raises(ValidationFailed) as wrong_kind:
        mortgages.seal_key_register(actor=clerk, organisation_id=bank.organisation.pk, algorithm="SM2-SM3",
                                    public_key_pem=es_public)  # fmt: skip
    assert wrong_kind.value.code == "registry.seal_key.invalid"
    with pytest.raises(Conflict):
        mortgages.seal_key_register(actor=clerk, organisation_id=bank.organisation.pk, algorithm="SM2-SM3",
                                    public_key_pem=bank.key.public_key_pem)  # fmt: skip


def test_the_counter_page_registers_and_revokes_a_seal_key(clerk, make_bank):
    bank = make_bank()
    page = Client()
    page.force_login(clerk)
    _, public = seal_key_generate("SM2-SM3")

    listed = page.get("/counter/seal-keys/")
    assert listed.status_code == 200 and bank.organisation.name in listed.content.decode()
    added = page.post(
        "/counter/seal-keys/",
        {"organisation": bank.organisation.pk, "algorithm": "SM2-SM3", "public_key_pem": public},
    )
    assert added.status_code == 302
    key = OrganisationSealKey.objects.get(fingerprint=fingerprint(public_der_from_pem(public)))
    revoked = page.post(f"/counter/seal-keys/{key.pk}/revoke/", {"reason": "更换印章密钥"})
    assert revoked.status_code == 302
    key.refresh_from_db()
    assert not key.active and key.revoked_reason == "更换印章密钥"


def test_the_bank_sees_its_filings_on_its_page(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    assert bank.file(bank.payload(vehicle)).status_code == 201
    page = Client()
    page.force_login(bank.user)

    response = page.get("/bank/mortgages/")

    assert response.status_code == 200
    assert "DY-2026-0001" in response.content.decode()


def test_signed_at_is_checked_against_now(bank, owned, bank_service):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    body = bank.body(bank.payload(vehicle))
    later = timezone.now() + timedelta(hours=2)
    from jiaoguan.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        mortgages.mortgage_file(
            actor=bank.user, payload=body["payload"], signature=body["signature"],
            key_fingerprint=body["key_fingerprint"], now=later,
        )  # fmt: skip
    assert caught.value.code == "registry.mortgage.signature_stale"
    assert isinstance(later, datetime)


def test_the_counter_plate_check_shows_the_mortgage(bank, owned, bank_service, clerk):
    _, _, vehicle = owned
    bank.contract(bank_service, vehicle)
    assert bank.file(bank.payload(vehicle)).status_code == 201
    page = Client()
    page.force_login(clerk)

    response = page.get("/verify/plate/", {"plate": vehicle.plate_number})

    assert response.status_code == 200
    assert f"已抵押给{bank.organisation.name}" in response.content.decode()


# ------------------------------------------------------------------------------ demo


def test_the_demo_bank_can_sign_and_file_with_the_command(
    tmp_path, settings, make_staff, make_person, owned, bank_service
):
    from io import StringIO

    from django.core.management import call_command

    from jiaoguan.demo.mortgages import CONTRACTS_FILE, INFO_FILE, ensure_demo_bank

    make_staff(role="counter_clerk", jurisdiction="411700", username="clerk")
    make_person(name="刘洋", mobile="13900139000")  # the bank's legal representative
    settings.DATA_DIR = tmp_path
    lines = ensure_demo_bank(data_dir=tmp_path, password="Demo#Bank2026")
    assert lines and "mortgage_sign --demo-file" in "\n".join(lines)
    info = json.loads((tmp_path / INFO_FILE).read_text(encoding="utf-8"))
    assert (tmp_path / "demo_bank_seal_key.pem").stat().st_mode & 0o077 == 0
    # The fake bank would load the contracts file at start; here the session's fake bank is told.
    for contract in json.loads((tmp_path / CONTRACTS_FILE).read_text(encoding="utf-8")):
        bank_service.put_contract(**contract)
    vin = info["contracts"][0]["vin"]
    out = StringIO()

    call_command("mortgage_sign", "--demo-file", vin, stdout=out)

    from jiaoguan.accounts.models import User

    user = User.objects.get(username=info["username"])
    response = bearer(user).post("/api/v1/mortgages", out.getvalue(), content_type="application/json")
    assert response.status_code == 201, response.json()
    assert ensure_demo_bank(data_dir=tmp_path, password="Demo#Bank2026") == lines  # once only


def test_only_a_bank_has_the_mortgage_tile_on_its_home_page(bank, organisation_user):
    transport = organisation_user(suffix="TRP017")
    for user, shown in ((bank.user, True), (transport, False)):
        page = Client()
        page.force_login(user)
        assert ('href="/bank/mortgages/"' in page.get("/").content.decode()) is shown


def test_spent_nonces_are_purged_after_a_day(bank):
    from jiaoguan.core.purges import registered_purges

    old = SealNonce.objects.create(key=bank.key, nonce="a" * 32)
    SealNonce.objects.filter(pk=old.pk).update(used_at=timezone.now() - timedelta(days=2))
    SealNonce.objects.create(key=bank.key, nonce="b" * 32)

    assert mortgages.seal_nonces_purge() == 1
    assert list(SealNonce.objects.values_list("nonce", flat=True)) == ["b" * 32]
    assert "registry_sealnonce" in registered_purges()
