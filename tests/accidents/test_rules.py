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


# The seeds' lists, written out as they read (A9a; seed 000 and seed 004 §十二).
SEED_QUERY = {
    **dict.fromkeys(["31", "32", "37", "44", "50", "51"], date(2020, 3, 1)),
    **dict.fromkeys(
        ["11", "12", "13", "14", "15", "36", "45", "46", "52", "54", "62", "63", "65"], date(2020, 8, 1)
    ),
}
SEED_EVIDENCE = dict.fromkeys(["31", "32", "37", "44", "50", "51"], date(2021, 6, 1))


def test_rollout_table_is_the_seeds_list():
    query = {p: s[rules.ONLINE_QUERY] for p, s in rules.ROLLOUT.items() if rules.ONLINE_QUERY in s}
    evidence = {p: s[rules.EVIDENCE_REVIEW] for p, s in rules.ROLLOUT.items() if rules.EVIDENCE_REVIEW in s}
    assert query == SEED_QUERY
    assert evidence == SEED_EVIDENCE
    assert "41" not in rules.ROLLOUT  # Henan: in neither list


def test_rollout_by_province_and_date():
    on = rules.service_enabled
    assert on(division="320104", service=rules.ONLINE_QUERY, today=date(2020, 3, 1))
    assert not on(division="320104", service=rules.ONLINE_QUERY, today=date(2020, 2, 29))
    assert on(division="110101", service=rules.ONLINE_QUERY, today=date(2020, 8, 1))
    assert not on(division="110101", service=rules.ONLINE_QUERY, today=date(2020, 7, 31))
    assert not on(division="110101", service=rules.EVIDENCE_REVIEW, today=date(2026, 1, 1))
    assert on(division="510104", service=rules.EVIDENCE_REVIEW, today=date(2021, 6, 1))
    assert not on(division="510104", service=rules.EVIDENCE_REVIEW, today=date(2021, 5, 31))


def test_a_province_not_listed_is_closed_unless_its_own_deployment_opens_it():
    local = rules.local_rollout_parse("online_query=2020-06-01, evidence_review=2021-07-01")
    on = rules.service_enabled
    assert not on(division="411702", service=rules.ONLINE_QUERY, today=date(2026, 1, 1))
    assert on(
        division="411702",
        service=rules.ONLINE_QUERY,
        today=date(2020, 6, 1),
        local_province="41",
        local=local,
    )
    assert not on(
        division="411702",
        service=rules.ONLINE_QUERY,
        today=date(2020, 5, 31),
        local_province="41",
        local=local,
    )
    assert on(
        division="411702",
        service=rules.EVIDENCE_REVIEW,
        today=date(2021, 7, 1),
        local_province="41",
        local=local,
    )
    # The setting is the deployment's own province's only, and never moves a seed date.
    assert not on(
        division="330102",
        service=rules.ONLINE_QUERY,
        today=date(2026, 1, 1),
        local_province="41",
        local=local,
    )
    early = rules.local_rollout_parse("online_query=2019-01-01")
    assert not on(
        division="320104",
        service=rules.ONLINE_QUERY,
        today=date(2019, 6, 1),
        local_province="32",
        local=early,
    )


def test_local_rollout_setting_is_parsed_and_checked():
    assert rules.local_rollout_parse("") == {}
    assert rules.local_rollout_parse("online_query=2020-06-01") == {rules.ONLINE_QUERY: date(2020, 6, 1)}
    for bad, words in [
        ("online_query", "service=YYYY-MM-DD"),
        ("query=2020-06-01", "not a service"),
        ("online_query=2020-13-01", "not a date"),
        ("online_query=2020-06-01,online_query=2020-07-01", "twice"),
    ]:
        with pytest.raises(ValueError, match=words):
            rules.local_rollout_parse(bad)


def test_a_bad_local_rollout_setting_stops_the_start(settings):
    from django.core.exceptions import ImproperlyConfigured

    from jiaoguan.accidents.apps import check_local_rollout

    settings.ACCIDENT_LOCAL_ROLLOUT = "online_query=2020-06-01"
    check_local_rollout()
    settings.ACCIDENT_LOCAL_ROLLOUT = "online_query=June"
    with pytest.raises(ImproperlyConfigured, match="JIAOGUAN_ACCIDENT_LOCAL_ROLLOUT"):
        check_local_rollout()


def test_confidential_items_cannot_be_shared():
    rules.check_shareable("none")
    for secrecy in ["state_secret", "trade_secret", "personal_privacy", "witness"]:
        with pytest.raises(Conflict):
            rules.check_shareable(secrecy)
