"""Record checks of the registry (validation.py), as properties over generated records (issue 9, item 3).

The same checks run in the services (before anything is saved) and in ``check-data`` (over
stored rows), so these properties hold for both ways in.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jiaoguan.core.identifiers import make_citizen_id, make_vin, parse_plate
from jiaoguan.registry import rules
from jiaoguan.registry.validation import check_licence, check_person, check_vehicle, normalise_status

TODAY = date(2026, 11, 27)
VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"

# Vehicles built for the Chinese market, with VINs as published in public dealer records and
# telematics samples; each world manufacturer identifier names the maker. A real VIN's
# position-9 check digit must pass, as the standard makes it mandatory in China.
REAL_CHINESE_MARKET_VINS = [
    "LFMJ34AF8E3047365",  # FAW Toyota (一汽丰田), 2.5 L, dealer order record
    "LFV3A23K8B3078992",  # FAW-Volkswagen (一汽-大众)
    "LFV3B2FY2N3102396",  # FAW-Volkswagen Jetta, 2022
    "LSGHD52H9ND045496",  # SAIC-GM (上汽通用)
    "LSJWH4098PN070110",  # SAIC MG (上汽名爵)
    "LSFD13204KC000428",  # SAIC Sunwin city bus (上海申沃), Shanghai bus telematics
    "LS5A3CJC0JF890971",  # Changan (长安) new-energy car
    "LRW3E7FA2LC146763",  # Tesla Shanghai Model 3, type approval TSL7000BEVAR1
    "LRBFX2SA0JD026226",  # SAIC-GM Buick Envision
]

# Plates in the forms GA 36-2018 and the Ministry's new-energy notices print as examples.
REAL_PLATES = [
    ("京A12345", "02", "small_passenger"),
    ("豫QD12345", "52", "small_passenger"),  # small new-energy, pure electric
    ("豫QF12345", "52", "small_passenger"),  # small new-energy, other than pure electric
    ("京A12345D", "51", "large_passenger"),  # large new-energy
    ("豫Q1234挂", "15", "semitrailer"),
    ("豫Q1234学", "16", "small_passenger"),
]

# The example number of GB 11643-1999 (appendix) and its decoding.
GB11643_EXAMPLE = ("11010519491231002X", date(1949, 12, 31), "F")


def vehicle(**changes):
    values = {
        "plate_number": "豫Q12345", "plate_type": "02", "vin": make_vin("LFV3B2FY0N3102396"),
        "kind": "small_passenger", "use_nature": "private", "brand_model": "", "colour": "", "owner_mobile": "",
        "registered_on": date(2022, 3, 18), "last_inspected_on": None, "on_site_inspection_required": False,
        "status": "A", "division": "411702",
    }  # fmt: skip
    values.update(changes)
    return check_vehicle(values, today=TODAY)


def fields(checked) -> set[str]:
    return {error.field for error in checked.errors}


# -------------------------------------------------------------------------------- VINs


@pytest.mark.parametrize("vin", REAL_CHINESE_MARKET_VINS)
def test_real_vins_of_chinese_market_vehicles_pass(vin):
    checked = vehicle(vin=vin.lower())
    assert checked.ok, checked.errors
    assert checked.values["vin"] == vin


vin_drafts = st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17)


@given(vin_drafts, st.sampled_from("0123456789X"))
def test_a_vin_whose_position_9_digit_does_not_match_its_weighted_sum_is_refused(draft, digit):
    vin = make_vin(draft)
    assume(digit != vin[8])
    checked = vehicle(vin=vin[:8] + digit + vin[9:])
    assert fields(checked) == {"vin"}
    assert checked.error_on("vin").code == "vehicle.vin_checksum"


@given(vin_drafts, st.sampled_from("IOQ"), st.integers(0, 16))
def test_a_vin_with_i_o_or_q_is_refused(draft, letter, position):
    vin = make_vin(draft)
    checked = vehicle(vin=vin[:position] + letter + vin[position + 1 :])
    assert checked.error_on("vin").code == "vehicle.vin_format"


@given(vin_drafts)
def test_a_valid_vin_is_stored_upper_case_whatever_case_it_is_typed_in(draft):
    vin = make_vin(draft)
    assert vehicle(vin=vin.lower()).values["vin"] == vin


# -------------------------------------------------------------------------------- plates


@pytest.mark.parametrize(("plate", "plate_type", "kind"), REAL_PLATES)
def test_real_plates_pass_with_their_type(plate, plate_type, kind):
    use = "training" if plate_type == "16" else "private"
    checked = vehicle(plate_number=plate, plate_type=plate_type, kind=kind, use_nature=use)
    assert checked.ok, checked.errors


def plate_of(shape: str) -> st.SearchStrategy[str]:
    office = st.sampled_from(PLATE_LETTERS)
    province = st.sampled_from(["豫", "京", "沪", "粤"])
    serials = {
        "ordinary": st.text(PLATE_CHARS, min_size=5, max_size=5),
        "new_energy_small": st.tuples(
            st.sampled_from("ABCDEFGHJK"),
            st.sampled_from(PLATE_CHARS),
            st.text(DIGITS, min_size=4, max_size=4),
        ).map("".join),
        "new_energy_large": st.tuples(
            st.text(DIGITS, min_size=5, max_size=5), st.sampled_from("ABCDEFGHJK")
        ).map("".join),
        "trailer": st.text(PLATE_CHARS, min_size=4, max_size=4).map(lambda s: s + "挂"),
        "coach": st.text(PLATE_CHARS, min_size=4, max_size=4).map(lambda s: s + "学"),
    }
    return st.tuples(province, office, serials[shape]).map("".join)


SHAPES = ["ordinary", "new_energy_small", "new_energy_large", "trailer", "coach"]
plates = st.sampled_from(SHAPES).flatmap(lambda shape: plate_of(shape).map(lambda p: (shape, p)))


@settings(max_examples=300)
@given(plates, st.sampled_from(sorted(rules.PLATE_TYPES)), st.sampled_from(list(rules.VehicleKind)))
def test_a_plate_is_accepted_exactly_when_its_shape_and_the_vehicle_fit_the_plate_type(
    item, plate_type, kind
):
    shape, plate = item
    assume(parse_plate(plate).kind.value == shape)  # a 5-digit ordinary serial can look like no other shape
    rule = rules.PLATE_TYPES[plate_type]
    use = "training" if plate_type == "16" else "private"
    checked = vehicle(plate_number=plate, plate_type=plate_type, kind=kind.value, use_nature=use)
    if shape not in rule.shapes:
        assert checked.error_on("plate_number").code == "plate.type_mismatch"
    elif kind not in rule.kinds:
        assert checked.error_on("plate_type").code == "plate.type_not_for_kind"
    else:
        assert checked.ok, checked.errors
        assert checked.values["plate_number"] == plate


@given(plate_of("coach"), st.sampled_from([u for u in rules.UseNature if u is not rules.UseNature.TRAINING]))
def test_a_coach_plate_belongs_to_a_driving_school_car(plate, use):
    checked = vehicle(plate_number=plate, plate_type="16", use_nature=use.value)
    assert checked.error_on("plate_type").code == "plate.type_not_for_use"


@pytest.mark.parametrize("plate", ["豫Q1234I", "豫O12345", "ABC", "豫QD123", "豫Q1234567", "港A12345"])
def test_malformed_plates_are_refused(plate):
    assert fields(vehicle(plate_number=plate)) == {"plate_number"}


def test_every_plate_type_code_has_a_rule():
    from jiaoguan.registry.models import PlateType

    assert set(PlateType.values) == set(rules.PLATE_TYPES)


# -------------------------------------------------------------------------------- status codes

status_text = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", max_size=6)


@given(status_text)
def test_vehicle_status_is_accepted_exactly_when_every_code_is_stored_in_the_table(codes):
    checked = vehicle(status=codes)
    known = set(codes) <= set(rules.VEHICLE_STATUS) and not set(codes) & rules.DERIVED_VEHICLE_STATUS
    assert checked.ok == known, (codes, checked.errors)
    if known:
        stored = checked.values["status"]
        assert stored == "".join(sorted(stored)) and len(set(stored)) == len(stored)
        assert set(stored) == (set(codes) - {"A"} if set(codes) - {"A"} else {"A"})


@given(
    st.lists(st.sampled_from(sorted(set(rules.LICENCE_STATUS) - rules.DERIVED_LICENCE_STATUS)), max_size=5)
)
def test_licence_status_codes_from_a_form_are_stored_in_one_normal_form(codes):
    stored = normalise_status(codes, table=rules.LICENCE_STATUS, derived=rules.DERIVED_LICENCE_STATUS)
    assert stored == normalise_status(
        "".join(reversed(codes)).lower(), table=rules.LICENCE_STATUS, derived=rules.DERIVED_LICENCE_STATUS
    )


# -------------------------------------------------------------------------------- persons

births = st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 12, 31))


def person(**changes):
    values = {
        "id_type": "resident_id", "id_number": GB11643_EXAMPLE[0], "name": "王芳", "sex": "F",
        "birth_date": GB11643_EXAMPLE[1], "nationality": "CHN", "residence_division": "110101", "address": "",
        "mobile": "",
    }  # fmt: skip
    values.update(changes)
    return check_person(values, today=TODAY)


def test_the_gb_11643_example_number_passes_and_fills_the_sex():
    checked = person(sex="")
    assert checked.ok, checked.errors
    assert checked.values["sex"] == GB11643_EXAMPLE[2]


@given(births, st.integers(1, 999), st.sampled_from(["411702", "411721", "410105", "110101"]))
def test_a_citizen_is_accepted_with_the_birth_date_and_sex_of_the_number(birth, sequence, area):
    number = make_citizen_id(area, birth, sequence)
    sex = "M" if sequence % 2 else "F"
    assert person(id_number=number.lower(), birth_date=birth, sex=sex, residence_division=area).ok
    assert fields(person(id_number=number, birth_date=birth, sex="F" if sex == "M" else "M")) == {"sex"}


@given(births, st.integers(1, 999), st.integers(-4000, 4000).filter(bool))
def test_a_birth_date_other_than_the_numbers_is_refused(birth, sequence, shift):
    number = make_citizen_id("411702", birth, sequence)
    other = birth + timedelta(days=shift)
    assume(date(1900, 1, 1) <= other <= TODAY)
    checked = person(id_number=number, birth_date=other, sex="M" if sequence % 2 else "F")
    assert fields(checked) == {"birth_date"}


@given(births, st.integers(1, 999), st.sampled_from(DIGITS + "X"))
def test_a_wrong_check_digit_is_refused(birth, sequence, digit):
    number = make_citizen_id("411702", birth, sequence)
    assume(digit != number[-1])
    assert person(id_number=number[:-1] + digit, birth_date=birth).error_on("id_number").code == (
        "identity.citizen_id_checksum"
    )


@given(st.text(alphabet=DIGITS, min_size=1, max_size=14))
def test_a_mobile_is_eleven_mainland_digits(text):
    checked = person(mobile=text)
    if len(text) == 11 and text[0] == "1" and text[1] in "3456789":
        assert checked.ok
    else:
        assert fields(checked) == {"mobile"}


# -------------------------------------------------------------------------------- licences


def licence(**changes):
    values = {
        "archive_number": "411700012345", "classes": "C1", "first_issued_on": date(2010, 3, 5),
        "valid_from": date(2020, 3, 5), "validity_term": "10y", "probation_started_on": None,
        "last_medical_on": None, "last_reviewed_on": None, "status": "A", "cancelled_on": None, "remarks": "",
        "mobile": "", "postal_address": "", "division": "411702",
    }  # fmt: skip
    values.update(changes)
    return check_licence(values, today=TODAY, holder_birth_date=date(1985, 6, 15))


days = st.dates(min_value=date(2003, 6, 15), max_value=TODAY + timedelta(days=400))


@given(days, days)
def test_licence_dates_are_accepted_exactly_when_in_order_and_not_in_the_future(first, valid_from):
    checked = licence(first_issued_on=first, valid_from=valid_from)
    expected_ok = first <= valid_from <= TODAY
    assert checked.ok == expected_ok, (first, valid_from, checked.errors)


@given(st.lists(st.sampled_from(list(rules.LICENCE_CLASSES)), min_size=1, max_size=4, unique=True))
def test_classes_are_stored_in_the_order_of_the_class_table(codes):
    checked = licence(classes=" ".join(reversed(codes)).lower())
    assert checked.ok
    assert checked.values["classes"] == "".join(c for c in rules.LICENCE_CLASSES if c in codes)


@pytest.mark.parametrize("classes", ["", "C7", "C1C1", "X", "A4"])
def test_classes_outside_the_table_are_refused(classes):
    assert fields(licence(classes=classes)) == {"classes"}
