"""Identifier validation, construction and masking (pure: no database, no settings).

The check-character oracles below are written out from the standards (GB 11643,
GB 32100, ISO 3779) independently of the code under test, so that a shared mistake
in a library could not make both sides agree.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jiaoguan.core.divisions import ZHUMADIAN_COUNTIES
from jiaoguan.core.errors import ValidationFailed
from jiaoguan.core.identifiers import (
    PROVINCE_ABBREVIATIONS,
    CitizenId,
    PlateKind,
    PlateNumber,
    energy_type,
    make_citizen_id,
    make_uscc,
    make_vin,
    mask_id_number,
    mask_name,
    mask_phone,
    parse_plate,
    validate_citizen_id,
    validate_mobile,
    validate_plate,
    validate_uscc,
    validate_vin,
    vin_check_digit,
)

TODAY = date(2025, 6, 1)
CJK = re.compile(r"[\u4e00-\u9fff]")
CODE_SHAPE = re.compile(r"[a-z]+\.[a-z_]+")


# ----------------------------------------------------------------------------- oracles


def gb11643_check(first17: str) -> str:
    """ISO 7064 MOD 11-2 as tabulated in GB 11643."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def gb32100_check(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return USCC_ALPHABET[(31 - total % 31) % 31]


VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
VIN_VALUES = dict(
    zip(
        "ABCDEFGHJKLMNPRSTUVWXYZ",
        [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9],
        strict=True,
    )
)
VIN_VALUES.update({d: int(d) for d in string.digits})
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def iso3779_check(vin: str) -> str:
    total = sum(VIN_VALUES[c] * w for c, w in zip(vin, VIN_WEIGHTS, strict=True))
    return "X" if total % 11 == 10 else str(total % 11)


def assert_refusal(exc: ValidationFailed, code: str, field: str) -> None:
    """A refusal carries its stable code, its field and a real message in both languages."""
    assert type(exc) is ValidationFailed
    assert exc.code == code
    assert CODE_SHAPE.fullmatch(exc.code)
    assert exc.field == field
    assert exc.detail.get("field") == field
    # Each message is really in its language, not a copy of the other or a bare code.
    assert len(CJK.findall(exc.message_zh)) >= 10, exc.message_zh
    assert len(re.findall(r"[A-Za-z]{3,}", exc.message_en)) >= 8, exc.message_en
    assert len(re.findall(r"[A-Za-z]{3,}", exc.message_zh)) < 3, exc.message_zh
    assert exc.message_zh != exc.message_en


def refusal(func: Callable[..., Any], value: Any, **kwargs: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        func(value, **kwargs)
    return info.value


# ------------------------------------------------------------------------- citizen ID


def test_the_standard_example_number_is_valid_and_decoded() -> None:
    result = validate_citizen_id("11010519491231002X", today=TODAY)
    assert result == CitizenId(
        number="11010519491231002X", area_code="110105", birth_date=date(1949, 12, 31), sex="F"
    )


def test_spaces_lower_case_x_and_full_width_digits_are_accepted() -> None:
    assert validate_citizen_id(" 110105 19491231 002x ", today=TODAY).number == "11010519491231002X"
    assert (
        validate_citizen_id("１１０１０５１９４９１２３１００２Ｘ", today=TODAY).number
        == "11010519491231002X"
    )


def test_odd_sequence_is_male() -> None:
    assert validate_citizen_id("360426199101010071", today=TODAY).sex == "M"


def test_wrong_check_digit_is_refused() -> None:
    exc = refusal(validate_citizen_id, "110105194912310021", today=TODAY)
    assert_refusal(exc, "identity.citizen_id_checksum", "id_number")


def test_impossible_birth_date_is_refused_even_with_a_correct_check_digit() -> None:
    body = "41170219990230001"
    exc = refusal(validate_citizen_id, body + gb11643_check(body), today=TODAY)
    assert_refusal(exc, "identity.citizen_id_birth_date", "id_number")


def test_future_birth_date_is_refused_relative_to_today() -> None:
    body = "41170220250602001"
    number = body + gb11643_check(body)
    exc = refusal(validate_citizen_id, number, today=TODAY)
    assert_refusal(exc, "identity.citizen_id_birth_date", "id_number")
    # Born today is not in the future.
    assert validate_citizen_id(number, today=date(2025, 6, 2)).birth_date == date(2025, 6, 2)


def test_birth_before_1900_is_refused() -> None:
    # The example in GB 11643 itself is born in 1880, which the platform cannot meet.
    exc = refusal(validate_citizen_id, "440524188001010014", today=TODAY)
    assert_refusal(exc, "identity.citizen_id_birth_date", "id_number")


@pytest.mark.parametrize("area", ["999999", "411799", "000000", "410099"])
def test_unknown_area_is_refused(area: str) -> None:
    body = area + "19800101001"
    exc = refusal(validate_citizen_id, body + gb11643_check(body), today=TODAY)
    assert_refusal(exc, "identity.citizen_id_area", "id_number")


def test_area_created_after_the_birth_year_is_accepted() -> None:
    # 411702 exists since 2000; numbers are issued where people live, long after birth.
    body = "41170219500101001"
    assert validate_citizen_id(body + gb11643_check(body), today=TODAY).area_code == "411702"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "11010519491231002",
        "11010519491231002XX",
        "1101051949123100X2",
        "A1010519491231002X",
        "11010519491231002Y",
        "<script>alert(1)</script>",
        "1" * 10_000,
        "１" * 18 + "<b>",
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits are digits to str.isdigit, not to us
        None,
        11010519491231002,
    ],
)
def test_malformed_citizen_ids_are_refused_as_format_errors(value: Any) -> None:
    exc = refusal(validate_citizen_id, value, today=TODAY)
    assert_refusal(exc, "identity.citizen_id_format", "id_number")


def test_make_citizen_id_refuses_impossible_parts() -> None:
    assert_refusal(
        refusal(lambda s: make_citizen_id("411702", date(1980, 1, 1), s), 0),
        "identity.citizen_id_format",
        "id_number",
    )
    assert_refusal(
        refusal(lambda s: make_citizen_id("411702", date(1980, 1, 1), s), 1000),
        "identity.citizen_id_format",
        "id_number",
    )
    assert_refusal(
        refusal(lambda a: make_citizen_id(a, date(1980, 1, 1), 1), "999999"),
        "identity.citizen_id_area",
        "id_number",
    )
    assert_refusal(
        refusal(lambda a: make_citizen_id(a, date(1980, 1, 1), 1), "4117"),
        "identity.citizen_id_area",
        "id_number",
    )


citizen_parts = st.tuples(
    st.sampled_from(ZHUMADIAN_COUNTIES),
    st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 12, 31)),
    st.integers(min_value=1, max_value=999),
)


@given(citizen_parts)
def test_made_citizen_ids_validate_and_round_trip(parts: tuple[str, date, int]) -> None:
    area, birth, sequence = parts
    number = make_citizen_id(area, birth, sequence)
    assert len(number) == 18
    assert number[:17] == f"{area}{birth:%Y%m%d}{sequence:03d}"
    assert number[17] == gb11643_check(number[:17])
    result = validate_citizen_id(number, today=TODAY)
    assert result.number == number
    assert result.area_code == area
    assert result.birth_date == birth
    assert result.sex == ("M" if sequence % 2 else "F")


@given(citizen_parts, st.data())
def test_any_single_character_change_of_a_citizen_id_is_refused(
    parts: tuple[str, date, int], data: Any
) -> None:
    # MOD 11-2 weights are all non-zero modulo the prime 11 and a digit changes by
    # less than 11, so every single substitution changes the check: none can pass.
    number = make_citizen_id(*parts)
    position = data.draw(st.integers(min_value=0, max_value=17))
    replacement = data.draw(st.sampled_from("0123456789X").filter(lambda c: c != number[position]))
    changed = number[:position] + replacement + number[position + 1 :]
    exc = refusal(validate_citizen_id, changed, today=TODAY)
    assert exc.code in {
        "identity.citizen_id_format",
        "identity.citizen_id_birth_date",
        "identity.citizen_id_area",
        "identity.citizen_id_checksum",
    }
    if position == 17:
        assert exc.code == "identity.citizen_id_checksum"


# ------------------------------------------------------------------------------- USCC


def test_known_unified_social_credit_codes_are_valid() -> None:
    assert validate_uscc("91110000600037341L") == "91110000600037341L"
    assert validate_uscc(" 91350100-m000100y43 ") == "91350100M000100Y43"


def test_registering_authority_letter_is_accepted() -> None:
    # N = agriculture (rural collective organisations) is a real authority code.
    body = "N2411702MA1234567"
    assert validate_uscc(body + gb32100_check(body)) == body + gb32100_check(body)


def test_wrong_uscc_check_character_is_refused() -> None:
    assert_refusal(refusal(validate_uscc, "91110000600037341M"), "identity.uscc_checksum", "uscc")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "91110000600037341",
        "91110000600037341LL",
        "9111000060003734IL",  # I is not in the alphabet
        "911100006000373O1L",
        "91110000S00037341L",
        "911A0000600037341L",  # the division part is digits only
        "01110000600037341L",
        "90110000600037341L",
        "<img src=x onerror=alert(1)>",
        "9" * 5000,
        None,
    ],
)
def test_malformed_uscc_is_refused(value: Any) -> None:
    assert_refusal(refusal(validate_uscc, value), "identity.uscc_format", "uscc")


uscc_bodies = st.builds(
    lambda a, b, region, org: a + b + region + org,
    st.sampled_from("123456789ANY"),
    st.sampled_from("123456789"),
    st.text(alphabet=string.digits, min_size=6, max_size=6),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)


@given(uscc_bodies)
def test_made_uscc_validates_with_the_standard_check(body: str) -> None:
    code = make_uscc(body)
    assert code == body + gb32100_check(body)
    assert validate_uscc(code) == code
    assert make_uscc(body.lower()) == code


@given(uscc_bodies, st.data())
def test_any_single_character_change_of_a_uscc_is_refused(body: str, data: Any) -> None:
    # Weights 3^i mod 31 are non-zero modulo the prime 31 and values differ by less
    # than 31, so a substitution always changes the check.
    code = make_uscc(body)
    position = data.draw(st.integers(min_value=0, max_value=17))
    replacement = data.draw(st.sampled_from(USCC_ALPHABET + "IOSVZ").filter(lambda c: c != code[position]))
    changed = code[:position] + replacement + code[position + 1 :]
    exc = refusal(validate_uscc, changed)
    assert exc.code in {"identity.uscc_format", "identity.uscc_checksum"}


def test_make_uscc_refuses_a_malformed_body() -> None:
    assert_refusal(refusal(make_uscc, "9111000060003734"), "identity.uscc_format", "uscc")
    assert_refusal(refusal(make_uscc, "91110000600037341L"), "identity.uscc_format", "uscc")


# -------------------------------------------------------------------------------- VIN


def test_known_vins() -> None:
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert validate_vin("1m8gdm9axkp042788") == "1M8GDM9AXKP042788"
    assert validate_vin("11111111111111111") == "11111111111111111"
    assert make_vin("1M8GDM9A*KP042788") == "1M8GDM9AXKP042788"


def test_wrong_vin_check_digit_is_refused() -> None:
    assert_refusal(refusal(validate_vin, "1M8GDM9A1KP042788"), "vehicle.vin_checksum", "vin")
    assert_refusal(refusal(validate_vin, "1M8GDM9AAKP042788"), "vehicle.vin_checksum", "vin")


@pytest.mark.parametrize("letter", ["I", "O", "Q"])
def test_vin_letters_i_o_q_are_refused_with_a_hint(letter: str) -> None:
    exc = refusal(validate_vin, "1M8GDM9AXKP04278" + letter)
    assert_refusal(exc, "vehicle.vin_format", "vin")
    assert "I、O、Q" in exc.message_zh and "I, O or Q" in exc.message_en


@pytest.mark.parametrize(
    "value",
    ["", "1M8GDM9AXKP04278", "1M8GDM9AXKP0427888", "1M8GDM9AXKP04278-", "<b>1M8GDM9AXKP042788</b>", None],
)
def test_malformed_vins_are_refused(value: Any) -> None:
    assert_refusal(refusal(validate_vin, value), "vehicle.vin_format", "vin")
    assert_refusal(refusal(vin_check_digit, value), "vehicle.vin_format", "vin")


vin_drafts = st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17)


@given(vin_drafts)
def test_made_vins_validate_with_the_iso_3779_check(draft: str) -> None:
    vin = make_vin(draft)
    assert vin[:8] == draft[:8] and vin[9:] == draft[9:]
    assert vin[8] == iso3779_check(vin) == vin_check_digit(draft)
    assert validate_vin(vin) == vin


@given(vin_drafts, st.data())
def test_single_vin_substitution_is_refused_exactly_when_the_weighted_sum_changes(
    draft: str, data: Any
) -> None:
    vin = make_vin(draft)
    position = data.draw(st.sampled_from([p for p in range(17) if p != 8]))
    replacement = data.draw(st.sampled_from(VIN_ALPHABET).filter(lambda c: c != vin[position]))
    changed = vin[:position] + replacement + vin[position + 1 :]
    shift = VIN_WEIGHTS[position] * (VIN_VALUES[replacement] - VIN_VALUES[vin[position]])
    if shift % 11:
        assert_refusal(refusal(validate_vin, changed), "vehicle.vin_checksum", "vin")
    else:
        # Same transliterated value (e.g. A and J are both 1): the check cannot tell.
        assert validate_vin(changed) == changed


@given(vin_drafts, st.sampled_from("0123456789X"))
def test_changing_the_vin_check_digit_is_refused(draft: str, replacement: str) -> None:
    vin = make_vin(draft)
    assume(replacement != vin[8])
    assert_refusal(refusal(validate_vin, vin[:8] + replacement + vin[9:]), "vehicle.vin_checksum", "vin")


# ------------------------------------------------------------------------------ plates

PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def test_province_abbreviations_are_the_31_mainland_ones() -> None:
    assert len(PROVINCE_ABBREVIATIONS) == 31
    assert len(set(PROVINCE_ABBREVIATIONS)) == 31
    assert "豫" in PROVINCE_ABBREVIATIONS and "京" in PROVINCE_ABBREVIATIONS
    assert not {"港", "澳", "台"} & set(PROVINCE_ABBREVIATIONS)


@pytest.mark.parametrize(
    ("value", "kind", "serial", "energy"),
    [
        ("豫Q12345", PlateKind.ORDINARY, "12345", None),
        ("豫Q·A8B9C", PlateKind.ORDINARY, "A8B9C", None),
        ("豫 q d1 234 5", PlateKind.NEW_ENERGY_SMALL, "D12345", "electric"),
        ("豫QAF1234", PlateKind.NEW_ENERGY_SMALL, "AF1234", "electric"),
        ("豫QF12345", PlateKind.NEW_ENERGY_SMALL, "F12345", "non_electric"),
        ("豫QK12345", PlateKind.NEW_ENERGY_SMALL, "K12345", "non_electric"),
        ("豫Q12345D", PlateKind.NEW_ENERGY_LARGE, "12345D", "electric"),
        ("豫Q12345J", PlateKind.NEW_ENERGY_LARGE, "12345J", "non_electric"),
        ("豫Q1234挂", PlateKind.TRAILER, "1234挂", None),
        ("豫QA123学", PlateKind.COACH, "A123学", None),
    ],
)
def test_plate_examples_parse(value: str, kind: PlateKind, serial: str, energy: str | None) -> None:
    plate = validate_plate(value, kind=kind)
    assert plate == PlateNumber(number="豫Q" + serial, province="豫", office="Q", serial=serial, kind=kind)
    assert plate.display == "豫Q·" + serial
    assert energy_type(plate) == energy
    assert energy_type(value) == energy


@pytest.mark.parametrize(
    "value",
    [
        "",
        "豫",
        "豫Q",
        "豫Q1234",
        "豫Q1234567",
        "豫QI2345",
        "豫Q1O345",
        "豫I12345",
        "豫O12345",
        "豫1A2345",
        "豫QL12345",  # L is not an energy letter
        "豫QI12345",  # nor is I
        "豫Q12345I",
        "豫QD1234A",
        "豫Q123挂",
        "豫Q12345挂",
        "豫Q1234警",
        "Q12345",
        "<a href=x>豫Q12345</a>",
        "豫Q12345" * 20,
        None,
    ],
)
def test_malformed_plates_are_refused(value: Any) -> None:
    exc = refusal(parse_plate, value)
    assert_refusal(exc, "plate.format", "plate")
    assert "豫Q12345" in exc.message_zh and "豫Q12345" in exc.message_en


def test_an_i_or_o_slip_is_named_in_the_message() -> None:
    exc = refusal(parse_plate, "豫Q1O3I5")
    assert "I 和 O" in exc.message_zh and "I and O" in exc.message_en
    assert "I 和 O" not in refusal(parse_plate, "豫Q12").message_zh


@pytest.mark.parametrize("value", ["港A12345", "台A12345", "AA12345", "1A12345"])
def test_unknown_province_is_refused(value: str) -> None:
    exc = refusal(parse_plate, value)
    assert_refusal(exc, "plate.province", "plate")
    assert value[0] in exc.message_zh


def test_validate_plate_refuses_another_kind() -> None:
    exc = refusal(validate_plate, "豫Q12345", kind=PlateKind.NEW_ENERGY_SMALL)
    assert_refusal(exc, "plate.kind_mismatch", "plate")
    assert exc.detail["expected"] == "new_energy_small" and exc.detail["actual"] == "ordinary"
    assert validate_plate("豫Q12345").kind is PlateKind.ORDINARY


def _plate_of(kind: PlateKind) -> st.SearchStrategy[str]:
    chars = st.sampled_from(PLATE_CHARS)
    energy = st.sampled_from("ABCDEFGHJK")
    serial: st.SearchStrategy[str]
    if kind is PlateKind.ORDINARY:
        serial = st.text(alphabet=PLATE_CHARS, min_size=5, max_size=5)
    elif kind is PlateKind.NEW_ENERGY_SMALL:
        serial = st.builds(
            lambda e, c, d: e + c + d, energy, chars, st.text(alphabet=string.digits, min_size=4, max_size=4)
        )
    elif kind is PlateKind.NEW_ENERGY_LARGE:
        serial = st.builds(
            lambda d, e: d + e, st.text(alphabet=string.digits, min_size=5, max_size=5), energy
        )
    else:
        suffix = "挂" if kind is PlateKind.TRAILER else "学"
        serial = st.builds(lambda s: s + suffix, st.text(alphabet=PLATE_CHARS, min_size=4, max_size=4))
    return st.builds(
        lambda p, o, s: p + o + s,
        st.sampled_from(PROVINCE_ABBREVIATIONS),
        st.sampled_from(PLATE_LETTERS),
        serial,
    )


plates_with_kind = st.sampled_from(list(PlateKind)).flatmap(lambda k: st.tuples(st.just(k), _plate_of(k)))


@given(plates_with_kind)
def test_generated_plates_parse_as_their_kind(item: tuple[PlateKind, str]) -> None:
    kind, number = item
    plate = validate_plate(number, kind=kind)
    assert plate.kind is kind
    assert (plate.number, plate.province, plate.office, plate.serial) == (
        number,
        number[0],
        number[1],
        number[2:],
    )
    assert parse_plate(plate.display.lower()) == plate
    is_new_energy = kind in {PlateKind.NEW_ENERGY_SMALL, PlateKind.NEW_ENERGY_LARGE}
    assert (energy_type(plate) is not None) == is_new_energy
    for other in set(PlateKind) - {kind}:
        assert refusal(validate_plate, number, kind=other).code == "plate.kind_mismatch"


@given(plates_with_kind, st.data())
def test_i_or_o_anywhere_after_the_province_is_refused(item: tuple[PlateKind, str], data: Any) -> None:
    _kind, number = item
    # The trailing 挂/学 is not a serial character; every other position after the province is.
    last = len(number) - 1 if number[-1] in "挂学" else len(number)
    position = data.draw(st.integers(min_value=1, max_value=last - 1))
    changed = number[:position] + data.draw(st.sampled_from("IO")) + number[position + 1 :]
    assert_refusal(refusal(parse_plate, changed), "plate.format", "plate")


# ---------------------------------------------------------------------------- masking


def test_masking_examples() -> None:
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三丰") == "张**"
    assert mask_name("张三") == "张*"
    assert mask_name("张") == "张*"
    assert mask_name("") == mask_id_number("") == mask_phone(None) == ""
    # Too short to show a head and a tail without showing everything.
    assert mask_id_number("1234567") == "*******"


@given(citizen_parts)
def test_masked_id_hides_birth_date_and_sequence(parts: tuple[str, date, int]) -> None:
    number = make_citizen_id(*parts)
    masked = mask_id_number(number)
    assert len(masked) == len(number)
    assert masked[:3] == number[:3] and masked[-4:] == number[-4:]
    assert set(masked[3:-4]) == {"*"}


@given(st.text(min_size=1, max_size=30).filter(lambda s: s.strip() == s and s))
def test_masked_name_keeps_only_the_first_character(name: str) -> None:
    masked = mask_name(name)
    assert masked[0] == name[0]
    assert set(masked[1:]) == {"*"}
    assert len(masked) == max(2, len(name))


# ----------------------------------------------------------------------------- mobile


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        " 138 1234 5678 ",
        "138-1234-5678",
        "+86 13812345678",
        "008613812345678",
        "8619912345678",
    ],
)
def test_mobile_numbers_are_normalised(value: str) -> None:
    assert validate_mobile(value) in {"13812345678", "19912345678"}


@pytest.mark.parametrize(
    "value",
    ["", "1381234567", "138123456789", "12812345678", "23812345678", "+1 13812345678", "1381234567a", None],
)
def test_malformed_mobile_numbers_are_refused(value: Any) -> None:
    assert_refusal(refusal(validate_mobile, value), "identity.mobile_format", "mobile")


# ---------------------------------------------------------------- arbitrary text input

VALIDATORS: list[tuple[Callable[[str], object], str, set[str]]] = [
    (
        lambda v: validate_citizen_id(v, today=TODAY),
        "id_number",
        {
            "identity.citizen_id_format",
            "identity.citizen_id_birth_date",
            "identity.citizen_id_area",
            "identity.citizen_id_checksum",
        },
    ),
    (validate_uscc, "uscc", {"identity.uscc_format", "identity.uscc_checksum"}),
    (validate_vin, "vin", {"vehicle.vin_format", "vehicle.vin_checksum"}),
    (vin_check_digit, "vin", {"vehicle.vin_format"}),
    (make_vin, "vin", {"vehicle.vin_format"}),
    (make_uscc, "uscc", {"identity.uscc_format"}),
    (parse_plate, "plate", {"plate.format", "plate.province"}),
    (
        lambda v: validate_plate(v, kind=PlateKind.ORDINARY),
        "plate",
        {"plate.format", "plate.province", "plate.kind_mismatch"},
    ),
    (validate_mobile, "mobile", {"identity.mobile_format"}),
]

near_miss_text = st.text(alphabet="0123456789XxABDFIOQ豫京港挂学·- <>/&\u3000１Ｘ", max_size=24)


@settings(max_examples=300)
@given(st.sampled_from(range(len(VALIDATORS))), st.one_of(st.text(max_size=200), near_miss_text))
def test_any_text_is_either_accepted_or_refused_with_a_validation_failure(index: int, text: str) -> None:
    func, field, codes = VALIDATORS[index]
    try:
        func(text)
    except ValidationFailed as exc:
        assert exc.code in codes
        assert_refusal(exc, exc.code, field)
    for masker in (mask_id_number, mask_phone, mask_name):
        assert isinstance(masker(text), str)


def test_a_record_id_is_plain_ascii_digits_or_nothing():
    from jiaoguan.core.identifiers import record_id

    assert record_id("42") == 42
    assert record_id("9" * 18) == 10**18 - 1
    for bad in (None, "", "²", "٣", "-1", "1.0", " 7", "x", "9" * 19):
        assert record_id(bad) == 0
