"""Pure violation rules: code table by date, numbers, late fee, online-handling checks (V1-V4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.core.errors import Conflict, NotAllowed, ValidationFailed
from jiaoguan.violations import rules
from jiaoguan.violations.rules import HandlingCase, Source


@pytest.mark.parametrize(
    ("code", "before", "after"),
    [
        ("1625", 6, 6),
        ("1344", 3, 1),
        ("1223", 2, 3),
        ("1101", 2, 1),
        ("1352", 3, 0),
        ("1329", 12, 9),
        ("1039", 0, 0),
    ],
)
def test_points_before_and_after_the_2022_reform(code, before, after):
    assert rules.code_version(code, on=date(2022, 3, 31)).points == before
    assert rules.code_version(code, on=date(2022, 4, 1)).points == after


def test_speeding_fifty_percent_scores_more_on_expressways():
    row = rules.code_version("1603", on=date(2024, 1, 1))
    assert row.points_for(on_expressway=True) == 12 and row.points_for(on_expressway=False) == 6


def test_unknown_code_and_code_not_yet_in_force():
    with pytest.raises(ValidationFailed) as error:
        rules.code_version("9999", on=date(2024, 1, 1))
    assert error.value.code == "violations.unknown_code"
    with pytest.raises(ValidationFailed) as error:
        rules.code_version("1625", on=date(2000, 1, 1))
    assert error.value.code == "violations.code_not_in_force"


def test_fine_range_and_officer_amount():
    row = rules.code_version("1017", on=date(2024, 1, 1))
    with pytest.raises(ValidationFailed):
        rules.fine_for(row)
    assert rules.fine_for(row, officer_amount_fen=190_000) == 190_000
    with pytest.raises(ValidationFailed):
        rules.fine_for(rules.code_version("1101", on=date(2024, 1, 1)), officer_amount_fen=1_000)


@pytest.mark.parametrize(
    ("days_after_decision", "late_fee"),
    [(0, 0), (15, 0), (16, 600), (17, 1200), (30, 9000), (48, 19800), (49, 20000), (400, 20000)],
)
def test_late_fee_three_percent_a_day_after_fifteen_days_capped(days_after_decision, late_fee):
    decided = date(2026, 1, 1)
    assert (
        rules.late_fee(
            fine_fen=20000, decided_on=decided, today=decided + timedelta(days=days_after_decision)
        )
        == late_fee
    )


@given(fine=st.integers(0, 1_000_000), days=st.integers(-10, 2000))
def test_late_fee_never_exceeds_the_fine_and_never_decreases(fine, days):
    decided = date(2025, 6, 1)
    today = decided + timedelta(days=days)
    fee = rules.late_fee(fine_fen=fine, decided_on=decided, today=today)
    assert 0 <= fee <= fine
    assert rules.late_fee(fine_fen=fine, decided_on=decided, today=today + timedelta(days=1)) >= fee


@given(
    division=st.sampled_from(["411702", "411700", "320102", "110105"]),
    source=st.sampled_from(list(Source)),
    day=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    serial=st.integers(0, 999_999),
)
def test_record_number_round_trip(division, source, day, serial):
    number = rules.record_number_make(division=division, source=source, occurred_on=day, serial=serial)
    assert rules.record_number_check(number) == number
    assert rules.record_number_source(number) == source


@given(serial=st.integers(0, 999_999), position=st.integers(0, 18), digit=st.integers(0, 9))
def test_record_number_catches_any_single_typo(serial, position, digit):
    number = rules.record_number_make(
        division="411702", source="monitoring", occurred_on=date(2026, 5, 6), serial=serial
    )
    typo = number[:position] + str(digit) + number[position + 1 :]
    if typo == number:
        return
    with pytest.raises(ValidationFailed):
        rules.record_number_check(typo)


@pytest.mark.parametrize("bad", ["", "4117021260506000001", "41170232605060000013", "4117021261306000001X"])
def test_malformed_record_numbers(bad):
    with pytest.raises(ValidationFailed):
        rules.record_number_check(bad)


def test_decision_number_is_fifteen_digits_led_by_the_agency():
    number = rules.decision_number_make(division="411702", year=2026, serial=42)
    assert number == "411702260000042" and len(number) == 15


BASE = HandlingCase(
    source=Source.MONITORING,
    status="unhandled",
    actor_kind="individual",
    actor_owns_vehicle=True,
    key_vehicle=False,
    licence_statuses="A",
    points_in_cycle=0,
    points=6,
    no_dispute=True,
    drove_self=True,
)


def test_a_clean_case_passes():
    rules.check_online_handling(BASE)
    rules.check_online_handling(replace(BASE, licence_statuses="AH", points_in_cycle=5))


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"source": Source.ON_SITE}, "violations.not_monitoring"),
        ({"actor_owns_vehicle": False}, "violations.not_own_vehicle"),
        ({"key_vehicle": True}, "violations.key_vehicle_by_organisation"),
        ({"no_dispute": False}, "violations.counter_required"),
        ({"drove_self": False}, "violations.counter_required"),
        ({"licence_statuses": "D"}, "violations.licence_status"),
        ({"licence_statuses": "AM"}, "violations.licence_status"),
        ({"points_in_cycle": 6}, "violations.points_limit"),
        ({"status": "disputed"}, "violations.disputed"),
    ],
)
def test_each_rule_refuses_with_its_code(change, code):
    with pytest.raises(NotAllowed) as error:
        rules.check_online_handling(replace(BASE, **change))
    assert error.value.code == code


def test_key_vehicle_is_fine_for_its_organisation():
    rules.check_online_handling(replace(BASE, key_vehicle=True, actor_kind="organisation"))


@pytest.mark.parametrize("status", ["handled", "cancelled"])
def test_finished_records_conflict(status):
    with pytest.raises(Conflict):
        rules.check_online_handling(replace(BASE, status=status))


@given(before=st.integers(0, 11), points=st.sampled_from([0, 1, 3, 6, 9, 12]))
def test_points_limit_is_exactly_reaching_twelve(before, points):
    case = replace(BASE, points_in_cycle=before, points=points)
    if before + points >= 12:
        with pytest.raises(NotAllowed):
            rules.check_online_handling(case)
    else:
        rules.check_online_handling(case)
