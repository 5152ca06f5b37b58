"""Tests for jiaoguan.registry.rules (REQ Q1, Q2): hand-computed cases from design/RULES.md.

Pure functions only: no database, no Django.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiaoguan.registry.rules import (
    LICENCE_CLASSES,
    LICENCE_STATUS,
    POINTS_LIMIT,
    VEHICLE_STATUS,
    InspectionDue,
    LicenceClass,
    UseNature,
    ValidityTerm,
    VehicleKind,
    add_years,
    age_on,
    compulsory_scrapping_date,
    covered_classes,
    derived_licence_status,
    derived_vehicle_status,
    describe_statuses,
    driving_age_limit_classes,
    inspection_schedule,
    inspection_status,
    inspection_valid_until,
    inspection_window_start,
    is_key_vehicle,
    is_large_class,
    licence_valid_until,
    medical_certificate_due,
    on_probation,
    parse_classes,
    points_warning,
    probation_end,
    renewal_status,
    renewal_window,
    review_due,
    scoring_cycle,
    scrapping_age_years,
    scrapping_within_a_year,
)

K = VehicleKind
U = UseNature
D = date

POST_REFORM = D(2025, 1, 1)
PRE_REFORM = D(2020, 1, 1)  # 2014 reform row (label only in years 2 and 4)
ORIGINAL_S4 = D(2010, 1, 1)  # before the 2014 reform


def dues(
    kind: K, use: U, registered_on: date, as_of: date = POST_REFORM, **kw: bool
) -> list[tuple[date, bool]]:
    return [
        (d.due_on, d.on_site)
        for d in inspection_schedule(kind=kind, use=use, registered_on=registered_on, as_of=as_of, **kw)
    ]


# ---------------------------------------------------------------------------
# Enums
# ---------------------------------------------------------------------------


def test_enum_values_are_lower_snake_and_labelled() -> None:
    for enum in (VehicleKind, UseNature):
        for member in enum:
            assert re.fullmatch(r"[a-z]+(_[a-z]+)*", member.value), member
            assert re.search(r"[\u4e00-\u9fff]", member.label_zh), member
            assert member.label_en and member.label_en.isascii(), member


def test_specific_enum_values() -> None:
    assert K.TRAILER_SEMI.value == "semitrailer"
    assert K.THREE_WHEELED.value == "three_wheeled"
    assert K.SPECIAL.value == "special"
    assert K.SMALL_VAN.label_zh == "小型面包车"
    assert K.MOPED.label_zh == "轻便摩托车"
    assert U.COMMERCIAL_PASSENGER.value == "commercial_passenger"
    assert U.ORGANISATION.value == "organisation"
    assert U.PRIVATE.label_zh == "非营运"
    assert len(VehicleKind) == 16
    assert len(UseNature) == 11
    assert ValidityTerm.LONG_TERM.label_zh == "长期"


@pytest.mark.parametrize(
    ("kind", "use", "expected"),
    [
        (K.LARGE_PASSENGER, U.COMMERCIAL_PASSENGER, True),
        (K.HEAVY_TRUCK, U.FREIGHT, True),
        (K.SMALL_PASSENGER, U.TAXI, True),
        (K.TRACTOR, U.DANGEROUS_GOODS, True),
        (K.MEDIUM_PASSENGER, U.SCHOOL_BUS, True),
        (K.LARGE_PASSENGER, U.CITY_BUS, True),
        (K.SMALL_PASSENGER, U.PRIVATE, False),
        (K.SMALL_PASSENGER, U.RENTAL, False),
        (K.SMALL_PASSENGER, U.TRAINING, False),
        (K.SMALL_PASSENGER, U.POLICE, False),
        (K.HEAVY_TRUCK, U.ORGANISATION, False),
    ],
)
def test_is_key_vehicle(kind: K, use: U, expected: bool) -> None:
    assert is_key_vehicle(kind, use) is expected


def test_an_unknown_stored_kind_or_use_counts_as_a_key_vehicle() -> None:
    """V2's stricter rule applies to a record that needs correcting, and nothing crashes."""
    assert is_key_vehicle("bicycle", U.PRIVATE) is True
    assert is_key_vehicle(K.SMALL_PASSENGER, "smuggling") is True
    assert is_key_vehicle(K.SMALL_PASSENGER, U.PRIVATE) is False


# ---------------------------------------------------------------------------
# Inspection schedule (S4 art. 16, 2022-10-01 reform)
# ---------------------------------------------------------------------------


def test_private_car_post_reform_schedule() -> None:
    got = dues(K.SMALL_PASSENGER, U.PRIVATE, D(2020, 5, 13))
    assert got[:13] == [
        (D(2022, 5, 31), False),
        (D(2024, 5, 31), False),
        (D(2026, 5, 31), True),
        (D(2028, 5, 31), False),
        (D(2030, 5, 31), True),
        (D(2031, 5, 31), True),
        (D(2032, 5, 31), True),
        (D(2033, 5, 31), True),
        (D(2034, 5, 31), True),
        (D(2035, 5, 31), True),
        (D(2035, 11, 30), True),
        (D(2036, 5, 31), True),
        (D(2036, 11, 30), True),
    ]
    # capped at 40 years from registration
    assert got[-1] == (D(2060, 5, 31), True)


def test_organisation_car_gets_private_exemption() -> None:
    assert dues(K.SMALL_PASSENGER, U.ORGANISATION, D(2020, 5, 13)) == dues(
        K.SMALL_PASSENGER, U.PRIVATE, D(2020, 5, 13)
    )


def test_private_car_pre_reform_row_for_old_as_of() -> None:
    got = dues(K.SMALL_PASSENGER, U.PRIVATE, D(2020, 5, 13), as_of=PRE_REFORM)
    assert got[:12] == [
        (D(2022, 5, 31), False),
        (D(2024, 5, 31), False),
        (D(2026, 5, 31), True),
        (D(2027, 5, 31), True),
        (D(2028, 5, 31), True),
        (D(2029, 5, 31), True),
        (D(2030, 5, 31), True),
        (D(2031, 5, 31), True),
        (D(2032, 5, 31), True),
        (D(2033, 5, 31), True),
        (D(2034, 5, 31), True),
        (D(2035, 5, 31), True),
    ]
    assert got[12] == (D(2035, 11, 30), True)


def test_reform_effective_date_boundary() -> None:
    before = dues(K.SMALL_PASSENGER, U.PRIVATE, D(2020, 5, 13), as_of=D(2022, 9, 30))
    on = dues(K.SMALL_PASSENGER, U.PRIVATE, D(2020, 5, 13), as_of=D(2022, 10, 1))
    assert before[3] == (D(2027, 5, 31), True)
    assert on[3] == (D(2028, 5, 31), False)


def test_private_car_before_2014_reform_is_on_site_every_two_years() -> None:
    got = dues(K.SMALL_PASSENGER, U.PRIVATE, D(2008, 7, 2), as_of=ORIGINAL_S4)
    assert got[:4] == [
        (D(2010, 7, 31), True),
        (D(2012, 7, 31), True),
        (D(2014, 7, 31), True),
        (D(2015, 7, 31), True),
    ]
    # the 2014 reform row applies from 2014-09-01
    assert dues(K.SMALL_PASSENGER, U.PRIVATE, D(2008, 7, 2), as_of=D(2014, 8, 31)) == got
    assert dues(K.SMALL_PASSENGER, U.PRIVATE, D(2008, 7, 2), as_of=D(2014, 9, 1))[:3] == [
        (D(2010, 7, 31), False),
        (D(2012, 7, 31), False),
        (D(2014, 7, 31), True),
    ]
    # a date before the oldest row falls back to the oldest row
    assert dues(K.SMALL_PASSENGER, U.PRIVATE, D(2008, 7, 2), as_of=D(1999, 1, 1)) == got


def test_on_site_required_after_accident_or_modification() -> None:
    got = dues(K.SMALL_PASSENGER, U.PRIVATE, D(2020, 5, 13), on_site_required=True)
    assert got[:4] == [
        (D(2022, 5, 31), True),
        (D(2024, 5, 31), True),
        (D(2026, 5, 31), True),
        (D(2028, 5, 31), True),
    ]
    assert all(on_site for _, on_site in got)


def test_small_van_is_not_exempt() -> None:
    got = dues(K.SMALL_VAN, U.PRIVATE, D(2020, 5, 13))
    assert got[:5] == [
        (D(2022, 5, 31), True),
        (D(2024, 5, 31), True),
        (D(2026, 5, 31), True),
        (D(2027, 5, 31), True),
        (D(2028, 5, 31), True),
    ]


def test_taxi_yearly_to_five_years_then_half_yearly() -> None:
    got = [d for d, _ in dues(K.SMALL_PASSENGER, U.TAXI, D(2019, 1, 10))]
    assert got[:8] == [
        D(2020, 1, 31),
        D(2021, 1, 31),
        D(2022, 1, 31),
        D(2023, 1, 31),
        D(2024, 1, 31),
        D(2024, 7, 31),
        D(2025, 1, 31),
        D(2025, 7, 31),
    ]


@pytest.mark.parametrize("use", [U.RENTAL, U.COMMERCIAL_PASSENGER, U.CITY_BUS, U.SCHOOL_BUS, U.TRAINING])
def test_other_commercial_passenger_uses(use: U) -> None:
    assert dues(K.LARGE_PASSENGER, use, D(2019, 1, 10)) == dues(K.SMALL_PASSENGER, U.TAXI, D(2019, 1, 10))


def test_six_monthly_dues_at_month_end() -> None:
    got = [d for d, _ in dues(K.SMALL_PASSENGER, U.TAXI, D(2019, 8, 31))]
    assert got[4:7] == [D(2024, 8, 31), D(2025, 2, 28), D(2025, 8, 31)]
    got = [d for d, _ in dues(K.SMALL_PASSENGER, U.TAXI, D(2020, 2, 29))]
    assert got[:4] == [D(2021, 2, 28), D(2022, 2, 28), D(2023, 2, 28), D(2024, 2, 29)]


@pytest.mark.parametrize(
    ("kind", "use"),
    [
        (K.HEAVY_TRUCK, U.FREIGHT),
        (K.SMALL_TRUCK, U.PRIVATE),
        (K.TRACTOR, U.DANGEROUS_GOODS),
        (K.TRAILER_SEMI, U.FREIGHT),
        (K.TRAILER_FULL, U.FREIGHT),
        (K.MEDIUM_PASSENGER, U.PRIVATE),
        (K.LARGE_PASSENGER, U.ORGANISATION),
    ],
)
def test_trucks_and_large_private_passenger(kind: K, use: U) -> None:
    got = dues(kind, use, D(2015, 8, 31))
    assert got[:10] == [(D(2016 + i, 8, 31), True) for i in range(10)]
    assert got[10:13] == [(D(2026, 2, 28), True), (D(2026, 8, 31), True), (D(2027, 2, 28), True)]
    assert len(got) == 10 + 2 * 30


def test_private_motorcycle_post_and_pre_reform() -> None:
    got = dues(K.MOTORCYCLE, U.PRIVATE, D(2021, 3, 15))
    assert got[:4] == [
        (D(2023, 3, 31), False),
        (D(2025, 3, 31), False),
        (D(2026, 3, 31), True),
        (D(2027, 3, 31), True),
    ]
    old = dues(K.MOPED, U.PRIVATE, D(2021, 3, 15), as_of=D(2021, 6, 1))
    assert old[:3] == [(D(2023, 3, 31), True), (D(2025, 3, 31), True), (D(2026, 3, 31), True)]
    police = dues(K.MOTORCYCLE, U.POLICE, D(2021, 3, 15))
    assert police[:3] == [(D(2023, 3, 31), True), (D(2025, 3, 31), True), (D(2026, 3, 31), True)]


@pytest.mark.parametrize(("kind", "use"), [(K.THREE_WHEELED, U.FREIGHT), (K.SPECIAL, U.ORGANISATION)])
def test_others_yearly(kind: K, use: U) -> None:
    got = dues(kind, use, D(2018, 12, 1))
    assert got[:3] == [(D(2019, 12, 31), True), (D(2020, 12, 31), True), (D(2021, 12, 31), True)]
    assert len(got) == 40


def test_inspection_window_start() -> None:
    assert inspection_window_start(D(2022, 5, 31)) == D(2022, 3, 1)
    assert inspection_window_start(D(2022, 2, 28)) == D(2021, 12, 1)
    assert inspection_window_start(D(2022, 1, 31)) == D(2021, 11, 1)


def _valid_until(last: date | None, **kw: object) -> InspectionDue:
    args: dict[str, object] = {
        "kind": K.SMALL_PASSENGER,
        "use": U.PRIVATE,
        "registered_on": D(2020, 5, 13),
        "as_of": POST_REFORM,
    }
    args.update(kw)
    return inspection_valid_until(last_inspected_on=last, **args)  # type: ignore[arg-type]


def test_valid_until_without_inspection_is_first_due() -> None:
    assert _valid_until(None) == InspectionDue(D(2022, 5, 31), on_site=False)
    assert _valid_until(None, on_site_required=True) == InspectionDue(D(2022, 5, 31), on_site=True)


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (D(2022, 2, 28), InspectionDue(D(2022, 5, 31), False)),  # before the 3-month window
        (D(2022, 3, 1), InspectionDue(D(2024, 5, 31), False)),  # window opens (S3 art. 54)
        (D(2022, 5, 31), InspectionDue(D(2024, 5, 31), False)),
        (D(2022, 7, 10), InspectionDue(D(2024, 5, 31), False)),  # late inspection
        (D(2024, 4, 2), InspectionDue(D(2026, 5, 31), True)),
        (D(2026, 4, 20), InspectionDue(D(2028, 5, 31), False)),
        (D(2030, 5, 2), InspectionDue(D(2031, 5, 31), True)),
        (D(2035, 9, 1), InspectionDue(D(2036, 5, 31), True)),
    ],
)
def test_valid_until_after_inspection(last: date, expected: InspectionDue) -> None:
    assert _valid_until(last) == expected


def test_valid_until_february_due_month_granularity() -> None:
    kw = {"kind": K.SMALL_PASSENGER, "use": U.TAXI, "registered_on": D(2019, 2, 10)}
    assert _valid_until(D(2019, 11, 30), **kw).due_on == D(2020, 2, 29)
    assert _valid_until(D(2019, 12, 1), **kw).due_on == D(2021, 2, 28)


def test_valid_until_uses_rule_in_force() -> None:
    assert _valid_until(D(2026, 4, 20), as_of=PRE_REFORM) == InspectionDue(D(2027, 5, 31), True)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2021, 6, 1), "valid"),
        (D(2022, 2, 28), "valid"),
        (D(2022, 3, 1), "due_soon"),
        (D(2022, 5, 31), "due_soon"),
        (D(2022, 6, 1), "overdue"),
    ],
)
def test_inspection_status(today: date, expected: str) -> None:
    assert inspection_status(valid_until=D(2022, 5, 31), today=today) == expected


# ---------------------------------------------------------------------------
# Compulsory scrapping (S8)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "use", "years"),
    [
        (K.SMALL_PASSENGER, U.TAXI, 8),
        (K.SMALL_VAN, U.TAXI, 8),
        (K.MEDIUM_PASSENGER, U.TAXI, 10),
        (K.LARGE_PASSENGER, U.TAXI, 12),
        (K.SMALL_PASSENGER, U.RENTAL, 15),
        (K.SMALL_PASSENGER, U.TRAINING, 10),
        (K.MEDIUM_PASSENGER, U.TRAINING, 12),
        (K.LARGE_PASSENGER, U.TRAINING, 15),
        (K.LARGE_PASSENGER, U.CITY_BUS, 13),
        (K.SMALL_PASSENGER, U.COMMERCIAL_PASSENGER, 10),
        (K.LARGE_PASSENGER, U.COMMERCIAL_PASSENGER, 15),
        (K.MEDIUM_PASSENGER, U.SCHOOL_BUS, 15),
        (K.MEDIUM_PASSENGER, U.PRIVATE, 20),
        (K.LARGE_PASSENGER, U.ORGANISATION, 20),
        (K.THREE_WHEELED, U.FREIGHT, 9),
        (K.LOW_SPEED_TRUCK, U.FREIGHT, 12),
        (K.HEAVY_TRUCK, U.DANGEROUS_GOODS, 10),
        (K.HEAVY_TRUCK, U.FREIGHT, 15),
        (K.SMALL_TRUCK, U.PRIVATE, 15),
        (K.TRACTOR, U.FREIGHT, 15),
        (K.SPECIAL, U.FREIGHT, 15),
        (K.SPECIAL, U.ORGANISATION, 30),
        (K.TRAILER_FULL, U.FREIGHT, 10),
        (K.TRAILER_SEMI, U.DANGEROUS_GOODS, 10),
        (K.TRAILER_SEMI, U.FREIGHT, 15),
        (K.THREE_WHEELED_MOTORCYCLE, U.PRIVATE, 12),
        (K.MOTORCYCLE, U.PRIVATE, 13),
        (K.MOPED, U.PRIVATE, 13),
        (K.SMALL_PASSENGER, U.PRIVATE, None),
        (K.SMALL_PASSENGER, U.ORGANISATION, None),
        (K.SMALL_VAN, U.PRIVATE, None),
    ],
)
def test_scrapping_age_years(kind: K, use: U, years: int | None) -> None:
    assert scrapping_age_years(kind, use) == years


@pytest.mark.parametrize("kind", list(VehicleKind))
@pytest.mark.parametrize("use", list(UseNature))
def test_every_kind_and_use_has_a_scrapping_row(kind: K, use: U) -> None:
    years = scrapping_age_years(kind, use)
    assert years is None or 8 <= years <= 30


def test_compulsory_scrapping_date() -> None:
    assert compulsory_scrapping_date(kind=K.SMALL_PASSENGER, use=U.TAXI, registered_on=D(2019, 1, 10)) == D(
        2027, 1, 10
    )
    assert (
        compulsory_scrapping_date(kind=K.SMALL_PASSENGER, use=U.PRIVATE, registered_on=D(2019, 1, 10)) is None
    )
    assert compulsory_scrapping_date(kind=K.SMALL_PASSENGER, use=U.TAXI, registered_on=D(2016, 2, 29)) == D(
        2024, 2, 29
    )
    assert compulsory_scrapping_date(
        kind=K.SMALL_PASSENGER, use=U.TRAINING, registered_on=D(2016, 2, 29)
    ) == D(2026, 2, 28)


@pytest.mark.parametrize(
    ("today", "expected"),
    [(D(2026, 1, 9), False), (D(2026, 1, 10), True), (D(2027, 1, 10), True), (D(2030, 1, 1), True)],
)
def test_scrapping_within_a_year(today: date, expected: bool) -> None:
    assert scrapping_within_a_year(scrapping_date=D(2027, 1, 10), today=today) is expected


def test_no_scrapping_date_is_never_within_a_year() -> None:
    assert scrapping_within_a_year(scrapping_date=None, today=D(2030, 1, 1)) is False


# ---------------------------------------------------------------------------
# Status codes (S7)
# ---------------------------------------------------------------------------


def test_status_tables() -> None:
    assert "".join(VEHICLE_STATUS) == "ABCDEGHIJKLMNOPQ"
    assert "".join(LICENCE_STATUS) == "ABCDEFGHIJKLMNPRSTUZ"
    assert VEHICLE_STATUS["Q"][0] == "逾期未检验"
    assert LICENCE_STATUS["M"][0] == "逾期未换证"
    assert LICENCE_STATUS["S"][0] == "逾期未审验"


def test_describe_statuses() -> None:
    assert describe_statuses("GQ", VEHICLE_STATUS) == [
        ("G", "违法未处理", VEHICLE_STATUS["G"][1]),
        ("Q", "逾期未检验", VEHICLE_STATUS["Q"][1]),
    ]
    assert describe_statuses("", LICENCE_STATUS) == []


@pytest.mark.parametrize(
    ("codes", "table", "expected"),
    [
        (
            "AF",
            VEHICLE_STATUS,
            [("A", "正常", "Normal"), ("F", "未知状态 F", "unknown status F")],
        ),  # not a vehicle status
        (
            "AO",
            LICENCE_STATUS,
            [("A", "正常", "Normal"), ("O", "未知状态 O", "unknown status O")],
        ),  # not a licence status
        ("a", LICENCE_STATUS, [("a", "未知状态 a", "unknown status a")]),
        ("ZZZ", VEHICLE_STATUS, [("Z", "未知状态 Z", "unknown status Z")]),  # each code once
    ],
)
def test_an_unknown_stored_status_code_is_described_as_unknown_and_logged(
    codes, table, expected, caplog
) -> None:
    assert describe_statuses(codes, table) == expected
    assert "unknown status code" in caplog.text


@pytest.mark.parametrize(
    ("stored", "overdue", "expected"),
    [
        ("A", True, "Q"),
        ("A", False, "A"),
        ("", False, "A"),
        ("", True, "Q"),
        ("G", True, "GQ"),
        ("GQ", True, "GQ"),
        ("QG", True, "QG"),
        ("AG", False, "G"),
        ("GIG", False, "GI"),
    ],
)
def test_derived_vehicle_status(stored: str, overdue: bool, expected: str) -> None:
    assert derived_vehicle_status(stored, inspection_overdue=overdue) == expected


@pytest.mark.parametrize(
    ("stored", "renewal", "review", "expected"),
    [
        ("A", False, False, "A"),
        ("A", True, False, "M"),
        ("A", False, True, "S"),
        ("A", True, True, "MS"),
        ("H", False, True, "HS"),
        ("M", True, False, "M"),
        ("SA", True, True, "SM"),
    ],
)
def test_derived_licence_status(stored: str, renewal: bool, review: bool, expected: str) -> None:
    assert derived_licence_status(stored, renewal_overdue=renewal, review_overdue=review) == expected


def test_derived_status_keeps_unknown_codes_for_display_as_unknown() -> None:
    # A stored code the table does not know stays visible (and is described as unknown).
    assert derived_vehicle_status("AX", inspection_overdue=True) == "XQ"
    assert derived_licence_status("Q", renewal_overdue=False, review_overdue=False) == "Q"


# ---------------------------------------------------------------------------
# Licence classes (S1 art. 11)
# ---------------------------------------------------------------------------


def test_licence_class_table() -> None:
    assert len(LICENCE_CLASSES) == 17
    assert LICENCE_CLASSES["A2"] == LicenceClass(
        "A2",
        "重型牵引挂车",
        LICENCE_CLASSES["A2"].name_en,
        frozenset({"B1", "B2", "C1", "C2", "C3", "C4", "C6", "M"}),
    )
    for code, lc in LICENCE_CLASSES.items():
        assert lc.code == code
        assert lc.also_allows <= set(LICENCE_CLASSES)


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        ("A1", "A1 A3 B1 B2 C1 C2 C3 C4 M"),
        ("A2", "A2 B1 B2 C1 C2 C3 C4 C6 M"),
        ("A3", "A3 C1 C2 C3 C4"),
        ("B2", "B2 C1 C2 C3 C4 M"),
        ("C1", "C1 C2 C3 C4"),
        ("C2", "C2"),
        ("C3", "C3 C4"),
        ("C5", "C5"),
        ("D", "D E F"),
        ("E", "E F"),
        ("C1D", "C1 C2 C3 C4 D E F"),
        ("A1A2", "A1 A2 A3 B1 B2 C1 C2 C3 C4 C6 M"),
    ],
)
def test_covered_classes(held: str, expected: str) -> None:
    assert covered_classes(held) == frozenset(expected.split())


def test_covered_classes_accepts_iterables() -> None:
    assert covered_classes(["A1", "E"]) == frozenset(
        {"A1", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "M", "E", "F"}
    )
    assert covered_classes(("C1E",)) == frozenset({"C1", "C2", "C3", "C4", "E", "F"})
    with pytest.raises(ValueError):
        covered_classes(["C9"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C1D", ("C1", "D")),
        ("A2E", ("A2", "E")),
        ("A1A2D", ("A1", "A2", "D")),
        ("C1", ("C1",)),
        ("c1 d", ("C1", "D")),
        ("B2,M", ("B2", "M")),
        ("NP", ("N", "P")),
        ("C6C5", ("C6", "C5")),
    ],
)
def test_parse_classes(text: str, expected: tuple[str, ...]) -> None:
    assert parse_classes(text) == expected


@pytest.mark.parametrize(
    "junk", ["", "  ", "C", "C7", "C0", "X", "A", "A4", "B3", "1", "C1X", "C1C1", "DD", "C1-D"]
)
def test_parse_classes_rejects_junk(junk: str) -> None:
    with pytest.raises(ValueError):
        parse_classes(junk)


def test_is_large_class() -> None:
    assert [c for c in LICENCE_CLASSES if is_large_class(c)] == ["A1", "A2", "A3", "B1", "B2"]
    with pytest.raises(ValueError):
        is_large_class("Q")


_codes = st.lists(st.sampled_from(sorted(LICENCE_CLASSES)), min_size=1, unique=True)


@given(_codes)
def test_parse_classes_round_trip(codes: list[str]) -> None:
    assert parse_classes("".join(codes)) == tuple(codes)


@given(_codes)
def test_covered_classes_is_a_closure(codes: list[str]) -> None:
    covered = covered_classes(codes)
    assert set(codes) <= covered
    assert covered_classes(covered) == covered
    for code in covered:
        assert LICENCE_CLASSES[code].also_allows <= covered


# ---------------------------------------------------------------------------
# Licence validity and renewal (S1 art. 13, 62, 79)
# ---------------------------------------------------------------------------


def test_licence_valid_until() -> None:
    assert licence_valid_until(valid_from=D(2020, 3, 5), term=ValidityTerm.SIX_YEARS) == D(2026, 3, 5)
    assert licence_valid_until(valid_from=D(2020, 3, 5), term=ValidityTerm.TEN_YEARS) == D(2030, 3, 5)
    assert licence_valid_until(valid_from=D(2020, 3, 5), term="10y") == D(2030, 3, 5)
    assert licence_valid_until(valid_from=D(2020, 3, 5), term=ValidityTerm.LONG_TERM) is None
    assert licence_valid_until(valid_from=D(2016, 2, 29), term=ValidityTerm.SIX_YEARS) == D(2022, 2, 28)
    with pytest.raises(ValueError):
        licence_valid_until(valid_from=D(2020, 3, 5), term="7y")


def test_renewal_window() -> None:
    assert renewal_window(valid_until=D(2026, 3, 5)) == (D(2025, 12, 5), D(2026, 3, 5))


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 3, 5) - timedelta(days=91), "valid"),
        (D(2026, 3, 5) - timedelta(days=90), "renewal_window"),
        (D(2026, 3, 5), "renewal_window"),
        (D(2026, 3, 6), "overdue"),
        (D(2027, 3, 5), "overdue"),
        (D(2027, 3, 6), "cancellable"),
    ],
)
def test_renewal_status(today: date, expected: str) -> None:
    assert renewal_status(valid_until=D(2026, 3, 5), today=today) == expected


def test_renewal_status_long_term() -> None:
    assert renewal_status(valid_until=None, today=D(2050, 1, 1)) == "long_term"


# ---------------------------------------------------------------------------
# Scoring cycle, probation, review (S1 art. 72, 76; S2)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2016, 2, 29), (D(2016, 2, 29), D(2017, 2, 27))),
        (D(2017, 2, 27), (D(2016, 2, 29), D(2017, 2, 27))),
        (D(2017, 2, 28), (D(2017, 2, 28), D(2018, 2, 27))),
        (D(2019, 3, 1), (D(2019, 2, 28), D(2020, 2, 28))),
        (D(2020, 2, 28), (D(2019, 2, 28), D(2020, 2, 28))),
        (D(2020, 2, 29), (D(2020, 2, 29), D(2021, 2, 27))),
    ],
)
def test_scoring_cycle_29_february(today: date, expected: tuple[date, date]) -> None:
    assert scoring_cycle(first_issued_on=D(2016, 2, 29), today=today) == expected


def test_scoring_cycle_ordinary() -> None:
    first = D(2018, 6, 15)
    assert scoring_cycle(first_issued_on=first, today=D(2024, 6, 14)) == (D(2023, 6, 15), D(2024, 6, 14))
    assert scoring_cycle(first_issued_on=first, today=D(2024, 6, 15)) == (D(2024, 6, 15), D(2025, 6, 14))
    with pytest.raises(ValueError):
        scoring_cycle(first_issued_on=first, today=D(2018, 6, 14))


_dates = st.dates(min_value=D(1990, 1, 1), max_value=D(2060, 12, 31))


@given(_dates, st.integers(min_value=0, max_value=40 * 366))
def test_scoring_cycle_properties(first: date, offset: int) -> None:
    today = first + timedelta(days=offset)
    start, end = scoring_cycle(first_issued_on=first, today=today)
    assert start <= today <= end
    assert 365 <= (end - start).days + 1 <= 366
    years = start.year - first.year
    assert start == add_years(first, years)
    assert end == add_years(first, years + 1) - timedelta(days=1)
    # cycles are contiguous
    assert scoring_cycle(first_issued_on=first, today=end + timedelta(days=1))[0] == end + timedelta(days=1)


def test_probation() -> None:
    end = probation_end(first_issued_on=D(2020, 3, 5))
    assert end == D(2021, 3, 4)
    assert on_probation(probation_end=end, today=D(2020, 3, 5))
    assert on_probation(probation_end=end, today=D(2021, 3, 4))
    assert not on_probation(probation_end=end, today=D(2021, 3, 5))
    assert probation_end(first_issued_on=D(2020, 2, 29)) == D(2021, 2, 27)


@pytest.mark.parametrize(
    ("classes", "points", "expected"),
    [
        ("A1", 3, D(2024, 7, 14)),
        ("B2D", 1, D(2024, 7, 14)),
        (["C1", "A3"], 12, D(2024, 7, 14)),
        ("A1", 0, None),
        ("C1", 6, None),
        ("C1D", 12, None),
    ],
)
def test_review_due(classes: str | list[str], points: int, expected: date | None) -> None:
    assert review_due(classes=classes, cycle_end=D(2024, 6, 14), points_in_cycle=points) == expected


def test_points() -> None:
    assert POINTS_LIMIT == 12
    assert [points_warning(p) for p in (0, 8, 9, 11, 12, 20)] == [
        None,
        None,
        "near_limit",
        "near_limit",
        "full",
        "full",
    ]
    with pytest.raises(ValueError):
        points_warning(-1)


# ---------------------------------------------------------------------------
# Medical certificate (S1 art. 74)
# ---------------------------------------------------------------------------

FIRST = D(1990, 6, 15)  # cycles end on 14 June, certificate due by 14 July


def _medical(birth_date: date, classes: str, today: date) -> date | None:
    return medical_certificate_due(birth_date=birth_date, classes=classes, first_issued_on=FIRST, today=today)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2024, 1, 10), D(2024, 7, 14)),
        (D(2024, 6, 20), D(2024, 7, 14)),  # cycle just ended, its deadline still open
        (D(2024, 7, 14), D(2024, 7, 14)),
        (D(2024, 7, 15), D(2025, 7, 14)),
    ],
)
def test_medical_aged_70_plus_yearly(today: date, expected: date) -> None:
    assert _medical(D(1950, 3, 1), "C1", today) == expected


def test_medical_turning_70() -> None:
    assert _medical(D(1954, 7, 1), "C1", D(2024, 1, 10)) is None  # 69 at 2024-06-14
    assert _medical(D(1954, 7, 1), "C1", D(2024, 7, 10)) == D(2025, 7, 14)  # 70 at 2025-06-14


def test_medical_pre_2022_rule_row() -> None:
    # 65-year-old C1 holder: yearly under the old rule, nothing under S1 (2022-04-01).
    assert _medical(D(1956, 3, 1), "C1", D(2021, 1, 10)) == D(2021, 7, 14)
    assert _medical(D(1956, 3, 1), "C1", D(2022, 5, 1)) is None
    # A/B holder aged 40: yearly under the old rule only.
    assert _medical(D(1981, 3, 1), "B2", D(2021, 1, 10)) == D(2021, 7, 14)
    assert _medical(D(1981, 3, 1), "B2", D(2022, 4, 1)) is None


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2020, 5, 1), D(2023, 4, 8)),
        (D(2022, 5, 1), D(2023, 4, 8)),
        (D(2023, 3, 20), D(2023, 4, 8)),
        (D(2023, 4, 8), D(2023, 4, 8)),
        (D(2023, 4, 9), D(2026, 4, 8)),
        (D(2026, 3, 10), D(2026, 4, 8)),
        (D(2026, 4, 9), D(2029, 4, 8)),
    ],
)
def test_medical_c5_every_third_cycle(today: date, expected: date) -> None:
    # first issued 2020-03-10: the third cycle ends 2023-03-09, due within 30 days.
    got = medical_certificate_due(
        birth_date=D(1985, 1, 1), classes="C5", first_issued_on=D(2020, 3, 10), today=today
    )
    assert got == expected


def test_medical_not_required() -> None:
    assert (
        medical_certificate_due(
            birth_date=D(1985, 1, 1), classes="C1D", first_issued_on=FIRST, today=D(2024, 1, 1)
        )
        is None
    )
    # A/B holders under 70 no longer submit yearly (S1, 2022)
    assert (
        medical_certificate_due(
            birth_date=D(1970, 1, 1), classes="A1", first_issued_on=FIRST, today=D(2024, 1, 1)
        )
        is None
    )


# ---------------------------------------------------------------------------
# Age and driving age limits (S1 art. 65; S6)
# ---------------------------------------------------------------------------


def test_age_on() -> None:
    assert age_on(D(1990, 5, 10), D(2020, 5, 9)) == 29
    assert age_on(D(1990, 5, 10), D(2020, 5, 10)) == 30
    assert age_on(D(2000, 2, 29), D(2018, 2, 28)) == 17
    assert age_on(D(2000, 2, 29), D(2018, 3, 1)) == 18
    assert age_on(D(2000, 2, 29), D(2020, 2, 29)) == 20


def test_driving_age_limit_60_before_2025_and_63_after() -> None:
    birth = D(1962, 6, 1)
    assert driving_age_limit_classes(birth_date=birth, classes="A1", today=D(2022, 5, 31)) == {}
    assert driving_age_limit_classes(birth_date=birth, classes="A1", today=D(2022, 6, 1)) == {"A1": "C1"}
    assert driving_age_limit_classes(birth_date=birth, classes="A1", today=D(2024, 12, 31)) == {"A1": "C1"}
    assert driving_age_limit_classes(birth_date=birth, classes="A1", today=D(2025, 1, 1)) == {}
    assert driving_age_limit_classes(birth_date=birth, classes="A1", today=D(2025, 6, 1)) == {"A1": "C1"}


def test_driving_age_limit_replacements() -> None:
    today = D(2024, 6, 1)
    assert driving_age_limit_classes(birth_date=D(1964, 3, 1), classes="A2D", today=today) == {"A2": "C1C6"}
    assert driving_age_limit_classes(birth_date=D(1963, 3, 1), classes="B2M", today=today) == {
        "B2": "C1",
        "M": "",
    }
    assert driving_age_limit_classes(birth_date=D(1950, 3, 1), classes="A2D", today=today) == {
        "A2": "C1",
        "D": "F",
    }
    assert driving_age_limit_classes(birth_date=D(1954, 6, 1), classes="C1C6", today=today) == {"C6": "C1"}
    assert driving_age_limit_classes(birth_date=D(1954, 6, 1), classes="C3E", today=today) == {
        "C3": "",
        "E": "F",
    }
    assert driving_age_limit_classes(birth_date=D(1954, 6, 2), classes="C3E", today=today) == {}
    assert driving_age_limit_classes(birth_date=D(1930, 1, 1), classes="C1C2C5F", today=today) == {}


# ---------------------------------------------------------------------------
# Inspection properties
# ---------------------------------------------------------------------------

_kinds = st.sampled_from(list(VehicleKind))
_uses = st.sampled_from(list(UseNature))


def _is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


@given(_kinds, _uses, _dates, _dates, st.booleans())
def test_schedule_strictly_increasing_month_ends(
    kind: K, use: U, registered_on: date, as_of: date, on_site_required: bool
) -> None:
    schedule = inspection_schedule(
        kind=kind, use=use, registered_on=registered_on, as_of=as_of, on_site_required=on_site_required
    )
    assert schedule
    days = [d.due_on for d in schedule]
    assert all(a < b for a, b in pairwise(days))
    assert all(_is_month_end(d) for d in days)
    assert days[0] > registered_on
    assert days[-1] <= add_years(registered_on, 41)
    if on_site_required:
        assert all(d.on_site for d in schedule)


@given(_kinds, _uses, _dates, st.integers(min_value=-400, max_value=45 * 366), _dates, st.booleans())
def test_valid_until_after_last_inspection(
    kind: K, use: U, registered_on: date, offset: int, as_of: date, on_site_required: bool
) -> None:
    last = registered_on + timedelta(days=offset)
    result = inspection_valid_until(
        kind=kind,
        use=use,
        registered_on=registered_on,
        last_inspected_on=last,
        as_of=as_of,
        on_site_required=on_site_required,
    )
    assert result.due_on > last
    # an inspection never leaves the vehicle "due soon" straight away
    assert inspection_status(valid_until=result.due_on, today=last) == "valid"
    schedule = inspection_schedule(
        kind=kind, use=use, registered_on=registered_on, as_of=as_of, on_site_required=on_site_required
    )
    if result.due_on <= schedule[-1].due_on:
        assert result in schedule
    later = inspection_valid_until(
        kind=kind,
        use=use,
        registered_on=registered_on,
        last_inspected_on=last + timedelta(days=1),
        as_of=as_of,
        on_site_required=on_site_required,
    )
    assert later.due_on >= result.due_on
