"""Pure rules of the cross-region transfer with dated vectors (T1, T4, T5)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jiaoguan.transfers import rules


@pytest.mark.parametrize(
    ("division", "city"),
    [
        ("411702", "411700"),
        ("320102", "320100"),
        ("110105", "110100"),
        ("500234", "500100"),
        ("12", ""),
        ("", ""),
    ],
)
def test_city_of(division, city):
    assert rules.city_of(division) == city


@pytest.mark.parametrize(
    ("origin", "destination", "on", "code"),
    [
        # T5: nothing before the pilot.
        ("320100", "330100", date(2021, 5, 31), "transfers.not_rolled_out"),
        # The pilot from 2021-06-01, only between pilot cities (Nanjing, Hangzhou, Zibo).
        ("320100", "330100", date(2021, 6, 1), None),
        ("370300", "320500", date(2021, 8, 31), None),
        ("320100", "110100", date(2021, 8, 31), "transfers.not_rolled_out"),  # Beijing is no pilot city
        ("411700", "320100", date(2021, 8, 31), "transfers.not_rolled_out"),
        # Municipalities, provincial and regional capitals, separately planned cities from 2021-09-01.
        ("320100", "110100", date(2021, 9, 1), None),
        ("650100", "350200", date(2021, 9, 1), None),  # Urumqi to Xiamen
        ("411700", "320100", date(2022, 6, 29), "transfers.not_rolled_out"),  # Zhumadian: nationwide only
        # Nationwide by the end of June 2022.
        ("411700", "320100", date(2022, 6, 30), None),
        ("411702", "411600", date(2023, 1, 1), None),
        ("411702", "411700", date(2023, 1, 1), "transfers.same_city"),
        ("41", "411700", date(2023, 1, 1), "transfers.city_unknown"),
    ],
)
def test_rollout(origin, destination, on, code):
    refused = rules.rollout_check(origin=origin, destination=destination, on=on)
    assert (refused.code if refused else None) == code


@pytest.mark.parametrize(
    ("kind", "use", "plate_type", "code"),
    [
        ("small_passenger", "private", "02", None),
        ("small_passenger", "organisation", "52", None),
        ("small_passenger", "taxi", "02", "transfers.operating_vehicle"),
        ("small_passenger", "rental", "02", "transfers.operating_vehicle"),
        ("small_passenger", "commercial_passenger", "02", "transfers.operating_vehicle"),
        ("large_passenger", "private", "01", "transfers.not_small_car"),
        ("medium_passenger", "private", "02", "transfers.not_passenger_car"),
        ("small_truck", "private", "02", "transfers.not_passenger_car"),
        ("small_passenger", "private", "51", "transfers.not_small_car"),
    ],
)
def test_eligibility_t1(kind, use, plate_type, code):
    refused = rules.eligibility(kind=kind, use_nature=use, plate_type=plate_type)
    assert (refused.code if refused else None) == code
    if refused:
        assert refused.zh and refused.en


@pytest.mark.parametrize(
    ("reason", "allowed"),
    [("stolen", True), ("smuggled", True), ("illegally_assembled", True), ("incomplete", False), ("", False)],
)
def test_archive_returned_only_for_suspects_t4(reason, allowed):
    assert (rules.return_check(reason) is None) == allowed


def test_vin_must_match_the_archive():
    assert rules.vin_matches(read_on_car="lfv2a21k0n0000001", archived="LFV2A21K0N0000001") is None
    assert rules.vin_matches(read_on_car="LFV2A21K0N0000002", archived="LFV2A21K0N0000001").code == (
        "transfers.vin_mismatch"
    )


def test_blocking_status():
    assert rules.blocking_status("A") is None
    assert rules.blocking_status("K").code == "transfers.vehicle_blocked"
    assert rules.blocking_status("B").code == "transfers.vehicle_blocked"


def test_anomalies_need_the_threshold_inside_one_window():
    start = date(2023, 3, 1)
    within = [("seller:1", start + timedelta(days=7 * i)) for i in range(rules.ANOMALY_MIN_TRANSFERS)]
    assert rules.anomalous_traders(within) == {"seller:1": rules.ANOMALY_MIN_TRANSFERS}
    spread = [("seller:2", start + timedelta(days=10 * i)) for i in range(rules.ANOMALY_MIN_TRANSFERS)]
    assert rules.anomalous_traders(spread) == {}  # 40 days from first to last
    few = [("agent:x", start)] * (rules.ANOMALY_MIN_TRANSFERS - 1)
    assert rules.anomalous_traders(few) == {}
