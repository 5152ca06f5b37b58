"""The bank adapter against the fake bank interconnection, over HTTP (issue 14, O6).

The platform asks the mortgagee's system whether a contract exists, names this VIN, borrower and
principal, and is active (filing) or settled (release). A timeout is never read as an answer; a
retry of the same question is answered, not decided again.
"""

from __future__ import annotations

import secrets

import pytest

from jiaoguan.integrations.bank import (
    BankRefused,
    BankTimeout,
    BankUnavailable,
    ContractQuestion,
    HttpBankService,
)

BANK = "91411700MA40000014"
VIN = "LSVAB4BR0MN000001"


def client(bank_service, **overrides) -> HttpBankService:
    options = {"timeout": 1.0, "retries": 2, "backoff": (0.05,)} | overrides
    return HttpBankService(
        base_url=bank_service.url, client_id=bank_service.client_id, key=bank_service.key, **options
    )


def contract(bank_service, *, number: str | None = None, state: str = "active", **changes) -> dict:
    data = {
        "bank_uscc": BANK, "contract_number": number or f"DY-{secrets.token_hex(4)}", "vin": VIN,
        "borrower_id_number": "411702198506150012", "principal_fen": 12_000_000, "state": state,
    } | changes  # fmt: skip
    bank_service.put_contract(**data)
    return data


def question(data: dict, purpose: str = "file", **changes) -> ContractQuestion:
    fields = {k: v for k, v in data.items() if k != "state"} | {"purpose": purpose} | changes
    return ContractQuestion(**fields)


def test_an_active_contract_that_matches_is_confirmed_for_filing(bank_service):
    data = contract(bank_service)

    check = client(bank_service).contract_check(question(data))

    assert check.confirmed and check.state == "active" and check.mismatches == ()


@pytest.mark.parametrize(
    ("change", "mismatch"),
    [
        ({"vin": "LSVAB4BR0MN000002"}, "vin"),
        ({"borrower_id_number": "411702198506150039"}, "borrower"),
        ({"principal_fen": 11_000_000}, "principal"),
    ],
)
def test_a_contract_naming_something_else_is_denied_with_what_differs(bank_service, change, mismatch):
    data = contract(bank_service)

    check = client(bank_service).contract_check(question(data, **change))

    assert not check.confirmed and check.mismatches == (mismatch,)


def test_an_unknown_contract_is_denied(bank_service):
    data = {"bank_uscc": BANK, "contract_number": "NO-SUCH", "vin": VIN,
            "borrower_id_number": "411702198506150012", "principal_fen": 1}  # fmt: skip

    check = client(bank_service).contract_check(question(data))

    assert not check.confirmed and check.state == "unknown" and check.mismatches == ("not_found",)


def test_release_needs_a_settled_contract_and_filing_an_active_one(bank_service):
    active = contract(bank_service)
    settled = contract(bank_service, state="settled")
    adapter = client(bank_service)

    assert adapter.contract_check(question(active, "release")).mismatches == ("state",)
    assert adapter.contract_check(question(settled, "file")).mismatches == ("state",)
    assert adapter.contract_check(question(settled, "release")).confirmed


def test_a_question_asked_again_is_answered_the_same_not_decided_again(bank_service):
    data = contract(bank_service)
    adapter = client(bank_service)
    first = adapter.contract_check(question(data))
    # The contract is settled meanwhile: the repeated question (same check id) keeps its answer.
    contract(bank_service, number=data["contract_number"], state="settled")

    again = adapter.contract_check(question(data))

    assert again == first
    assert [c["repeat"] for c in bank_service.checks()] == [False, True]


def test_a_timeout_is_no_answer_and_the_retry_gets_the_first_answer(bank_service):
    data = contract(bank_service)
    bank_service.configure(timeout_rate=1.0, timeout_sleep_ms=1500)

    with pytest.raises(BankTimeout):
        client(bank_service, retries=0).contract_check(question(data))

    bank_service.configure(timeout_rate=0.0)
    check = client(bank_service).contract_check(question(data))
    assert check.confirmed
    assert [c["repeat"] for c in bank_service.checks()] == [False, True]


def test_a_bank_that_keeps_timing_out_is_unavailable_after_the_retries(bank_service):
    data = contract(bank_service)
    bank_service.configure(timeout_rate=1.0, timeout_sleep_ms=1500)

    with pytest.raises(BankTimeout):
        client(bank_service, retries=1).contract_check(question(data))
    # Asked once per attempt, each time the same question.
    assert len({c["check_id"] for c in bank_service.checks()}) == 1


def test_a_failing_bank_is_unavailable(bank_service):
    data = contract(bank_service)
    bank_service.configure(error_rate=1.0)

    with pytest.raises(BankUnavailable) as caught:
        client(bank_service).contract_check(question(data))

    assert caught.value.code == "server_error"
    assert bank_service.checks() == []


def test_a_duplicated_answer_to_another_question_is_not_believed(bank_service):
    adapter = client(bank_service)
    denied = contract(bank_service, principal_fen=1)
    adapter.contract_check(question(denied, principal_fen=2))  # an earlier "no"
    wanted = contract(bank_service)
    bank_service.configure(duplicate_rate=1.0)

    with pytest.raises(BankUnavailable) as caught:
        adapter.contract_check(question(wanted))

    assert caught.value.code == "bad_response"


def test_an_answer_signed_with_another_key_is_refused(bank_service):
    data = contract(bank_service)
    stranger = HttpBankService(
        base_url=bank_service.url, client_id=bank_service.client_id, key=secrets.token_hex(32), retries=0
    )

    # The bank refuses our unsigned-for-it request; its answer does not verify under our key either.
    with pytest.raises(BankUnavailable) as caught:
        stranger.contract_check(question(data))

    assert caught.value.code == "bad_response_signature"


def test_the_same_check_id_with_other_details_is_refused(bank_service):
    data = contract(bank_service)
    adapter = client(bank_service)
    original = question(data)
    adapter.contract_check(original)
    forged = {
        "check_id": original.check_id(), "bank_uscc": BANK, "contract_number": data["contract_number"],
        "vin": VIN, "borrower_id_number": data["borrower_id_number"], "principal_fen": 1, "purpose": "file",
    }  # fmt: skip

    with pytest.raises(BankRefused) as caught:
        adapter.request_json("POST", "/api/contract-checks", forged, mutating=True)

    assert caught.value.code == "idempotency_mismatch"


def test_the_adapter_comes_from_settings(bank_service):
    data = contract(bank_service)

    assert bank_service.client().contract_check(question(data)).confirmed
