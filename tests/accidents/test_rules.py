"""Pure accident rules: stage order, numbers, codes, guessing limits, rollout (A2, A5, A9)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.accidents import rules
from jiaoguan.core.errors import Conflict, Throttled, ValidationFailed


def test_stages_follow_their_order_and_closure_is_last():
    recorded: set[str] = set()
    with pytest.raises(Conflict) as err:
        rules.check_stage_allowed(recorded=recorded, stage="determination")
    assert err.value.code == "accidents.stage_order"
    for stage in ["acceptance", "investigation", "determination"]:
        rules.check_stage_allowed(recorded=recorded, stage=stage)
        recorded.add(stage)
    with pytest.raises(Conflict):
        rules.check_stage_allowed(recorded=recorded, stage="review_conclusion")  # needs a review application
    rules.check_stage_allowed(recorded=recorded, stage="closure")
    recorded.add("closure")
    with pytest.raises(Conflict) as err:
        rules.check_stage_allowed(recorded=recorded, stage="mediation")
    assert err.value.code == "accidents.case_closed"


def test_optional_stages_may_be_absent_and_none_repeats():
    recorded = {"acceptance", "investigation", "determination"}
    assert rules.check_stage_allowed(recorded=recorded, stage="closure").order == 10
    with pytest.raises(Conflict) as err:
        rules.check_stage_allowed(recorded=recorded, stage="investigation")
    assert err.value.code == "accidents.stage_recorded"
    with pytest.raises(ValidationFailed):
        rules.check_stage_allowed(recorded=recorded, stage="coffee_break")


def test_there_are_ten_stages():
    assert len(rules.STAGES) == 10
    assert sorted(r.order for r in rules.STAGES.values()) == list(range(1, 11))


@given(serial=st.integers(1, 99999), day=st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_accident_numbers_round_trip_and_catch_single_typos(serial, day):
    number = rules.accident_number_make(division="411702", opened_on=day, serial=serial)
    assert rules.accident_number_check(number) == number
    for position in range(19):
        digit = number[position]
        changed = number[:position] + str((int(digit) + 1) % 10) + number[position + 1 :]
        with pytest.raises(ValidationFailed):
            rules.accident_number_check(changed)


@pytest.mark.parametrize("value", ["", "123", "4117022026112700001", "41170220261399000010", "x" * 500])
def test_malformed_numbers(value):
    with pytest.raises(ValidationFailed) as err:
        rules.accident_number_check(value)
    assert err.value.code.startswith("accidents.number")


def test_codes_have_sixty_bits_and_no_lookalikes():
    codes = {rules.code_make() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 12 and not set(c) & set("01ILO") for c in codes)
    assert rules.code_normalise(rules.code_display("ABCD2345EFGH").lower()) == "ABCD2345EFGH"


def test_guessing_is_limited_per_client_and_a_guessed_number_asks_for_work():
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    nine = [now - timedelta(minutes=i) for i in range(9)]
    rules.check_client_attempts(now=now, failures=nine)
    with pytest.raises(Throttled) as err:
        rules.check_client_attempts(now=now, failures=[*nine, now])
    assert err.value.status == 429 and err.value.retry_after > 0
    rules.check_client_attempts(now=now, failures=[now - timedelta(hours=2)] * 50)
    # A number is never refused: past the threshold each try proves some work, never more than a few seconds'.
    assert rules.challenge_bits(19) is None
    assert rules.challenge_bits(20) == rules.CHALLENGE_BITS_MIN
    assert rules.challenge_bits(10**9) == rules.CHALLENGE_BITS_MAX


def test_a_proof_of_work_is_bound_to_the_challenge_and_the_code():
    solution = rules.challenge_solve(challenge="c", code="ABCD2345EFGH", bits=12)
    assert rules.challenge_solved(challenge="c", code="ABCD2345EFGH", solution=solution, bits=12)
    assert not rules.challenge_solved(challenge="c", code="ABCD2345EFGJ", solution=solution, bits=12) or (
        rules.challenge_solve(challenge="c", code="ABCD2345EFGJ", bits=12) == solution
    )
    assert not rules.challenge_solved(challenge="d", code="ABCD2345EFGH", solution=solution, bits=30)
    for bad in ["", "-1", "1e3", "١٢", "1" * 17]:
        assert not rules.challenge_solved(challenge="c", code="ABCD2345EFGH", solution=bad, bits=0)


def test_codes_typed_in_full_width_are_read_as_ascii():
    assert rules.code_normalise("ＡＢＣＤ－２３４５－ｅｆｇｈ") == "ABCD2345EFGH"


def test_rollout_by_province_and_date():
    assert rules.service_enabled(division="411702", service=rules.ONLINE_QUERY, today=date(2026, 1, 1))
    assert not rules.service_enabled(division="411702", service=rules.ONLINE_QUERY, today=date(2020, 1, 1))
    assert not rules.service_enabled(division="330102", service=rules.EVIDENCE_REVIEW, today=date(2026, 1, 1))
    assert not rules.service_enabled(division="110101", service=rules.ONLINE_QUERY, today=date(2026, 1, 1))


def test_confidential_items_cannot_be_shared():
    rules.check_shareable("none")
    for secrecy in ["state_secret", "trade_secret", "personal_privacy", "witness"]:
        with pytest.raises(Conflict):
            rules.check_shareable(secrecy)
