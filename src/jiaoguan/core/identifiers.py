"""Identifiers the platform accepts from citizens and officers, and their masking.

Pure functions: no ORM and no Django settings. Every refusal is a
:class:`~jiaoguan.core.errors.ValidationFailed` with a stable code, the name of the form
field it belongs to, and a message in Simplified Chinese and English that says what is
wrong and what to do. Messages never repeat the personal data that was typed, because
error text ends up in logs, where personal data must be masked.

Input is normalised before it is checked (NFKC, so full-width characters typed with a
Chinese input method count as their ASCII forms; separators removed; ASCII letters
upper-cased), and the functions return the normalised value to be stored.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumValidationError

from jiaoguan.core.errors import ValidationFailed

__all__ = [
    "PROVINCE_ABBREVIATIONS",
    "CitizenId",
    "PlateKind",
    "PlateNumber",
    "energy_type",
    "is_known_area",
    "make_citizen_id",
    "make_uscc",
    "make_vin",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "parse_plate",
    "validate_citizen_id",
    "validate_mobile",
    "validate_plate",
    "validate_uscc",
    "validate_vin",
    "vin_check_digit",
]

# Far longer than any identifier here; anything longer is refused before it is
# normalised, so pasted documents or markup cost nothing to reject.
_MAX_INPUT_LENGTH = 64

# China has kept UTC+8 without daylight saving since 1991; a fixed offset needs no
# time-zone database on the host, and the server's own zone may be UTC.
_CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def _china_today() -> date:
    return datetime.now(_CHINA_TZ).date()


def _normalise(value: object, *, remove: str = "") -> str | None:
    """The input as a compact string, or None when it cannot be an identifier at all."""
    if not isinstance(value, str) or len(value) > _MAX_INPUT_LENGTH:
        return None
    text = unicodedata.normalize("NFKC", value)
    text = "".join(text.split())
    if remove:
        text = "".join(ch for ch in text if ch not in remove)
    # Only ASCII letters are upper-cased: str.upper() maps some non-ASCII letters
    # (the dotless i, ligatures) onto ASCII ones and would let them through.
    return text.translate(_ASCII_UPPER)


# --------------------------------------------------------------------------------------
# Citizen ID number
# --------------------------------------------------------------------------------------

_CITIZEN_ID_RE = re.compile(r"[0-9]{17}[0-9X]")
_CITIZEN_ID_FIELD = "id_number"
_EARLIEST_BIRTH_YEAR = 1900


@dataclass(frozen=True)
class CitizenId:
    """Citizen ID number (公民身份号码, GB 11643) and what it encodes."""

    number: str
    area_code: str
    birth_date: date
    sex: str  # "M" or "F" (odd sequence = male)


def _citizen_id_error(code: str, message_zh: str, message_en: str) -> ValidationFailed:
    return ValidationFailed(code, message_zh, message_en, field=_CITIZEN_ID_FIELD)


def _citizen_id_format_error() -> ValidationFailed:
    return _citizen_id_error(
        "identity.citizen_id_format",
        "身份证号码应为 18 位：前 17 位是数字，最后一位是数字或字母 X。请对照身份证重新输入。",
        "A citizen ID number has 18 characters: 17 digits, then a digit or the letter X. "
        "Please enter it again exactly as printed on the ID card.",
    )


def is_known_area(area_code: str) -> bool:
    """Whether GB/T 2260 has ever listed the county-level area code (行政区划代码).

    ``ric.get_birth_place`` also requires the code to have existed in the birth year,
    but the code in a number is where the number was issued, often decades after the
    birth: everyone born in Zhumadian before 2000 whose number was issued since then
    carries a 4117xx code created in 2000. That check would refuse real numbers, so
    the lookup here asks only whether the division is known at all. It also requires
    a county-level entry: a code that matches only a province prefix is not a division.
    """
    results = numdb.get("cn/loc").info(area_code)
    return any("county" in props for _part, props in results)


def validate_citizen_id(value: str, *, today: date | None = None) -> CitizenId:
    """Check a citizen ID number (公民身份号码, GB 11643) and decode it.

    Spaces are ignored and a lower-case x is accepted. ``today`` (default: the current
    date in China) is the latest birth date accepted.
    """
    number = _normalise(value)
    if number is None or not _CITIZEN_ID_RE.fullmatch(number):
        raise _citizen_id_format_error()

    # The birth date is checked before the check digit: a typing slip in the date is
    # far easier to find when the message points at the date.
    try:
        birth_date = ric.get_birth_date(number)
    except StdnumValidationError:
        raise _citizen_id_error(
            "identity.citizen_id_birth_date",
            "身份证号码第 7–14 位的出生日期不是一个真实存在的日期，请核对号码后重新输入。",
            "The birth date in the ID number (characters 7-14) is not a real calendar date. "
            "Please check the number and enter it again.",
        ) from None
    latest = today if today is not None else _china_today()
    if birth_date > latest:
        raise _citizen_id_error(
            "identity.citizen_id_birth_date",
            "身份证号码第 7–14 位的出生日期晚于今天，请核对号码后重新输入。",
            "The birth date in the ID number (characters 7-14) is later than today. "
            "Please check the number and enter it again.",
        )
    if birth_date.year < _EARLIEST_BIRTH_YEAR:
        raise _citizen_id_error(
            "identity.citizen_id_birth_date",
            "身份证号码第 7–14 位的出生日期早于 1900 年，请核对号码后重新输入。",
            "The birth date in the ID number (characters 7-14) is before 1900. "
            "Please check the number and enter it again.",
        )

    area_code = number[:6]
    if not is_known_area(area_code):
        raise _citizen_id_error(
            "identity.citizen_id_area",
            "身份证号码前 6 位不是已知的行政区划代码，请核对号码后重新输入。",
            "The first 6 digits of the ID number are not a known administrative division code. "
            "Please check the number and enter it again.",
        )

    if number[-1] != ric.calc_check_digit(number):
        raise _citizen_id_error(
            "identity.citizen_id_checksum",
            "身份证号码的最后一位（校验码）与前 17 位不符，可能有数字输错，请逐位核对后重新输入。",
            "The last character of the ID number (the check character) does not match the first "
            "17 digits; a digit was probably mistyped. Please check each digit and enter it again.",
        )

    sex = "M" if int(number[14:17]) % 2 == 1 else "F"
    return CitizenId(number=number, area_code=area_code, birth_date=birth_date, sex=sex)


def make_citizen_id(area_code: str, birth_date: date, sequence: int) -> str:
    """Build a valid citizen ID number (公民身份号码) for demonstration data.

    ``sequence`` is the 3-digit order code, 1 to 999; odd numbers are men.
    """
    if not (isinstance(sequence, int) and 1 <= sequence <= 999):
        raise _citizen_id_error(
            "identity.citizen_id_format",
            "身份证号码的顺序码（第 15–17 位）必须是 1 到 999 之间的整数，请换一个顺序码。",
            "The sequence code of a citizen ID number (characters 15-17) must be a whole number "
            "from 1 to 999. Please choose another sequence code.",
        )
    if not (isinstance(area_code, str) and re.fullmatch(r"[0-9]{6}", area_code)):
        raise _citizen_id_error(
            "identity.citizen_id_area",
            "身份证号码的地址码应为 6 位数字的行政区划代码，例如 411702（驿城区）。",
            "The area part of a citizen ID number is a 6-digit administrative division code, "
            "for example 411702 (Yicheng District).",
        )
    body = f"{area_code}{birth_date:%Y%m%d}{sequence:03d}"
    # calc_check_digit ignores the last character it is given, so a placeholder stands in.
    number = body + ric.calc_check_digit(body + "0")
    # Validation makes the builder refuse whatever a citizen's number could not be.
    return validate_citizen_id(number).number


# --------------------------------------------------------------------------------------
# Unified social credit code
# --------------------------------------------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_CHAR = "[0-9A-HJ-NPQRTUWXY]"
# Position 1 is the registering authority: 1-9, and letters such as N (agriculture)
# or Y (other); stdnum accepts digits only there and would refuse real codes of rural
# collective organisations. Position 2 is the entity category, 3-8 the division code.
_USCC_BODY_RE = re.compile(rf"[1-9A-HJ-NPQRTUWXY][1-9][0-9]{{6}}{_USCC_CHAR}{{9}}")
_USCC_RE = re.compile(rf"[1-9A-HJ-NPQRTUWXY][1-9][0-9]{{6}}{_USCC_CHAR}{{10}}")
_USCC_FIELD = "uscc"


def _uscc_format_error() -> ValidationFailed:
    return ValidationFailed(
        "identity.uscc_format",
        "统一社会信用代码应为 18 位：第 1–2 位是登记管理部门和机构类别代码，第 3–8 位是行政区划数字，"
        "其余是数字或大写字母（不含 I、O、S、V、Z）。请对照营业执照或登记证书重新输入。",
        "A unified social credit code has 18 characters: the registering authority and entity "
        "category, a 6-digit division code, then digits or capital letters other than I, O, S, V "
        "and Z. Please enter it again from the business licence or registration certificate.",
        field=_USCC_FIELD,
    )


def validate_uscc(value: str) -> str:
    """Check a unified social credit code (统一社会信用代码, GB 32100).

    Spaces and hyphens are ignored, letters are upper-cased; returns the 18-character code.
    """
    code = _normalise(value, remove="-")
    if code is None or not _USCC_RE.fullmatch(code):
        raise _uscc_format_error()
    if code[-1] != uscc.calc_check_digit(code[:17]):
        raise ValidationFailed(
            "identity.uscc_checksum",
            "统一社会信用代码的最后一位（校验码）与前 17 位不符，可能有字符输错，请对照证照逐位核对。",
            "The last character of the unified social credit code (the check character) does not "
            "match the first 17; a character was probably mistyped. Please check it against the "
            "licence character by character.",
            field=_USCC_FIELD,
        )
    return code


def make_uscc(body17: str) -> str:
    """Append the check character to the first 17 characters of a unified social credit code."""
    body = _normalise(body17)
    if body is None or not _USCC_BODY_RE.fullmatch(body):
        raise _uscc_format_error()
    return body + uscc.calc_check_digit(body)


# --------------------------------------------------------------------------------------
# Vehicle identification number
# --------------------------------------------------------------------------------------

# ISO 3779 transliteration; I, O and Q are absent because a VIN never uses them.
_VIN_VALUES: dict[str, int] = {
    **{d: int(d) for d in string.digits},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_RE = re.compile(r"[0-9A-HJ-NPR-Z]{17}")
_VIN_FIELD = "vin"


def _vin_format_error(text: str | None) -> ValidationFailed:
    if text is not None and any(ch in "IOQ" for ch in text):
        return ValidationFailed(
            "vehicle.vin_format",
            "车辆识别代号（VIN）不使用字母 I、O、Q，请检查是否应为数字 1 或 0，然后重新输入。",
            "A vehicle identification number (VIN) never uses the letters I, O or Q. "
            "Check whether they should be the digits 1 or 0, then enter it again.",
            field=_VIN_FIELD,
        )
    return ValidationFailed(
        "vehicle.vin_format",
        "车辆识别代号（VIN）应为 17 位数字和大写字母（不含 I、O、Q）。请对照机动车行驶证或车辆铭牌重新输入。",
        "A vehicle identification number (VIN) has 17 digits and capital letters (never I, O or Q). "
        "Please enter it again from the vehicle licence or the vehicle's identification plate.",
        field=_VIN_FIELD,
    )


def _vin_check(text: str) -> str:
    total = sum(_VIN_VALUES[ch] * weight for ch, weight in zip(text, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def _vin_with_placeholder(vin: str) -> str:
    """The normalised VIN with "0" in position 9, after checking the other 16 characters."""
    text = _normalise(vin)
    if text is None or len(text) != 17:
        raise _vin_format_error(text)
    probe = text[:8] + "0" + text[9:]
    if not _VIN_RE.fullmatch(probe):
        raise _vin_format_error(probe)
    return probe


def vin_check_digit(vin: str) -> str:
    """The check digit (position 9) of a vehicle identification number (车辆识别代号, GB 16735).

    The character already in position 9 is ignored, so a placeholder may stand there.
    """
    return _vin_check(_vin_with_placeholder(vin))


def validate_vin(value: str) -> str:
    """Check a vehicle identification number (车辆识别代号, GB 16735-2019) and return it.

    In China the check digit in position 9 is mandatory for every vehicle.
    """
    text = _normalise(value)
    if text is None or not _VIN_RE.fullmatch(text):
        raise _vin_format_error(text)
    if text[8] != _vin_check(text):
        raise ValidationFailed(
            "vehicle.vin_checksum",
            "车辆识别代号（VIN）第 9 位校验位与其他各位不符，可能有字符输错，请逐位核对后重新输入。",
            "The check digit of the vehicle identification number (VIN, position 9) does not match "
            "the other characters; one was probably mistyped. Please check each one and enter it again.",
            field=_VIN_FIELD,
        )
    return text


def make_vin(seventeen_chars_with_any_9th: str) -> str:
    """Return the VIN (车辆识别代号) with the correct check digit in position 9."""
    probe = _vin_with_placeholder(seventeen_chars_with_any_9th)
    return probe[:8] + _vin_check(probe) + probe[9:]


# --------------------------------------------------------------------------------------
# Plate numbers
# --------------------------------------------------------------------------------------

PROVINCE_ABBREVIATIONS: tuple[str, ...] = tuple(
    "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
)


class PlateKind(StrEnum):
    """Plate number shape (号牌号码, GA 36-2018)."""

    ORDINARY = "ordinary"
    NEW_ENERGY_SMALL = "new_energy_small"
    NEW_ENERGY_LARGE = "new_energy_large"
    TRAILER = "trailer"
    COACH = "coach"


_PLATE_KIND_LABELS: dict[PlateKind, tuple[str, str]] = {
    PlateKind.ORDINARY: ("普通号牌", "ordinary plate"),
    PlateKind.NEW_ENERGY_SMALL: ("小型新能源号牌", "small new-energy plate"),
    PlateKind.NEW_ENERGY_LARGE: ("大型新能源号牌", "large new-energy plate"),
    PlateKind.TRAILER: ("挂车号牌", "trailer plate"),
    PlateKind.COACH: ("教练汽车号牌", "driving-school car plate"),
}

# Plates never use I or O, so they cannot be mistaken for 1 and 0.
_PLATE_LETTER = "[A-HJ-NP-Z]"
_PLATE_CHAR = "[A-HJ-NP-Z0-9]"
# GA 36-2018: A-E mark pure electric vehicles, F-K (without I) all other new energy.
_ELECTRIC_LETTERS = frozenset("ABCDE")
_NON_ELECTRIC_LETTERS = frozenset("FGHJK")
_ENERGY_LETTER = "[A-HJK]"

_PLATE_SERIAL_PATTERNS: tuple[tuple[PlateKind, re.Pattern[str]], ...] = (
    (PlateKind.ORDINARY, re.compile(f"{_PLATE_CHAR}{{5}}")),
    (PlateKind.NEW_ENERGY_SMALL, re.compile(f"{_ENERGY_LETTER}{_PLATE_CHAR}[0-9]{{4}}")),
    (PlateKind.NEW_ENERGY_LARGE, re.compile(f"[0-9]{{5}}{_ENERGY_LETTER}")),
    (PlateKind.TRAILER, re.compile(f"{_PLATE_CHAR}{{4}}挂")),
    (PlateKind.COACH, re.compile(f"{_PLATE_CHAR}{{4}}学")),
)
_PLATE_OFFICE_RE = re.compile(_PLATE_LETTER)
_PLATE_SEPARATORS = "·・•.-"
_PLATE_FIELD = "plate"


@dataclass(frozen=True)
class PlateNumber:
    """A plate number (号牌号码, GA 36-2018): ``number`` is province + office + serial."""

    number: str
    province: str
    office: str
    serial: str
    kind: PlateKind

    @property
    def display(self) -> str:
        """The number as printed on the plate, with the dot after the office letter."""
        return f"{self.province}{self.office}·{self.serial}"


def _plate_shape(office: str, serial: str) -> PlateKind | None:
    if not _PLATE_OFFICE_RE.fullmatch(office):
        return None
    return next((kind for kind, pattern in _PLATE_SERIAL_PATTERNS if pattern.fullmatch(serial)), None)


def _looks_like_i_o_slip(text: str) -> bool:
    """Whether the text would have a plate's shape if its I and O were 1 and 0."""
    if "I" not in text[1:] and "O" not in text[1:]:
        return False
    # An I or O in the office position stands for some other letter, not a digit.
    office = "A" if text[1] in "IO" else text[1]
    serial = text[2:].replace("I", "1").replace("O", "0")
    return _plate_shape(office, serial) is not None


def _plate_format_error(text: str | None) -> ValidationFailed:
    hint_zh = hint_en = ""
    if text is not None and len(text) >= 2 and _looks_like_i_o_slip(text):
        hint_zh = "号牌号码不使用字母 I 和 O，请检查是否应为数字 1 或 0。"
        hint_en = "Plate numbers never use the letters I and O; check whether they should be 1 or 0. "
    return ValidationFailed(
        "plate.format",
        hint_zh + "号牌号码应为：省份简称 + 发牌机关字母 + 序号，例如 豫Q12345（普通号牌，序号 5 位）、"
        "豫QD12345（小型新能源，序号 6 位，首位为能源字母）、豫Q12345D（大型新能源）、"
        "豫Q1234挂（挂车）、豫Q1234学（教练车）。请对照号牌重新输入。",
        hint_en + "A plate number is a province abbreviation, the issuing-office letter and a serial, "
        "for example 豫Q12345 (ordinary, 5-character serial), 豫QD12345 (small new-energy, 6 characters "
        "starting with the energy letter), 豫Q12345D (large new-energy), 豫Q1234挂 (trailer) or "
        "豫Q1234学 (driving-school car). Please enter it again as shown on the plate.",
        field=_PLATE_FIELD,
    )


def parse_plate(value: str) -> PlateNumber:
    """Split a plate number (号牌号码, GA 36-2018) into its parts and tell its kind.

    Spaces and the dot after the office letter are ignored; letters are upper-cased.
    """
    text = _normalise(value, remove=_PLATE_SEPARATORS)
    if text is None or len(text) < 2:
        raise _plate_format_error(text)
    province, office, serial = text[0], text[1], text[2:]
    kind = _plate_shape(office, serial)
    if kind is None:
        raise _plate_format_error(text)
    # The shape is checked first: a known shape after an unknown first character is
    # most likely a plate from elsewhere (or a typo in the abbreviation), worth naming.
    if province not in PROVINCE_ABBREVIATIONS:
        raise ValidationFailed(
            "plate.province",
            f"号牌号码的第一个字「{province}」不是内地省、自治区、直辖市的简称，"
            "请核对后重新输入（例如 豫）。",
            f"The first character of the plate number, {province}, is not the abbreviation of a "
            "mainland province, region or municipality. Please check it and enter it again (e.g. 豫).",
            field=_PLATE_FIELD,
        )
    return PlateNumber(number=text, province=province, office=office, serial=serial, kind=kind)


def validate_plate(value: str, *, kind: PlateKind | None = None) -> PlateNumber:
    """Parse a plate number (号牌号码) and, when ``kind`` is given, require that kind."""
    plate = parse_plate(value)
    if kind is not None and plate.kind != kind:
        expected = PlateKind(kind)
        expected_zh, expected_en = _PLATE_KIND_LABELS[expected]
        actual_zh, actual_en = _PLATE_KIND_LABELS[plate.kind]
        detail: dict[str, Any] = {"expected": expected.value, "actual": plate.kind.value}
        raise ValidationFailed(
            "plate.kind_mismatch",
            f"号牌号码 {plate.number} 是{actual_zh}，与所选的号牌种类（{expected_zh}）不符。"
            "请核对号牌种类或号码。",
            f"The plate number {plate.number} is a {actual_en}, not the {expected_en} selected. "
            "Please check the plate type or the number.",
            field=_PLATE_FIELD,
            detail=detail,
        )
    return plate


def energy_type(plate: PlateNumber | str) -> str | None:
    """ "electric" or "non_electric" for a new-energy plate (新能源号牌), else None."""
    parsed = plate if isinstance(plate, PlateNumber) else parse_plate(plate)
    if parsed.kind is PlateKind.NEW_ENERGY_SMALL:
        letter = parsed.serial[0]
    elif parsed.kind is PlateKind.NEW_ENERGY_LARGE:
        letter = parsed.serial[-1]
    else:
        return None
    if letter in _ELECTRIC_LETTERS:
        return "electric"
    if letter in _NON_ELECTRIC_LETTERS:
        return "non_electric"
    return None


# --------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------


def _mask_middle(value: str | None, keep_head: int, keep_tail: int) -> str:
    text = (value or "").strip()
    if len(text) <= keep_head + keep_tail:
        # Too short to keep anything visible without showing all of it.
        return "*" * len(text)
    return text[:keep_head] + "*" * (len(text) - keep_head - keep_tail) + text[-keep_tail:]


def mask_id_number(value: str | None) -> str:
    """An ID number (证件号码) for lists and logs: first 3 and last 4 kept, same length."""
    return _mask_middle(value, 3, 4)


def mask_phone(value: str | None) -> str:
    """A phone number (电话号码) for lists and logs: "138****5678"."""
    return _mask_middle(value, 3, 4)


def mask_name(value: str | None) -> str:
    """A person's name (姓名) for lists and logs: "张**"; a one-character name becomes "张*"."""
    text = (value or "").strip()
    if not text:
        return ""
    return text[0] + "*" * max(1, len(text) - 1)


# --------------------------------------------------------------------------------------
# Mobile phone
# --------------------------------------------------------------------------------------

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
_COUNTRY_PREFIXES = ("+86", "0086", "86")


def validate_mobile(value: str) -> str:
    """Check a mainland mobile number (手机号码) and return its 11 digits.

    Spaces, hyphens and a +86 / 0086 country prefix are accepted.
    """
    text = _normalise(value, remove="-()")
    if text is not None and len(text) > 11:
        for prefix in _COUNTRY_PREFIXES:
            if text.startswith(prefix) and len(text) - len(prefix) == 11:
                text = text[len(prefix) :]
                break
    if text is None or not _MOBILE_RE.fullmatch(text):
        raise ValidationFailed(
            "identity.mobile_format",
            "手机号码应为 11 位数字，以 13–19 开头，例如 13812345678。请检查后重新输入。",
            "A mobile number has 11 digits and starts with 13 to 19, for example 13812345678. "
            "Please check it and enter it again.",
            field="mobile",
        )
    return text


# A database id as a page or a path sends it: plain ASCII digits, as many as a bigint holds.
# str.isdigit() alone lets through superscripts such as "²", which int() refuses.
RECORD_ID_MAX_DIGITS = 18


def record_id(value: str | None) -> int:
    """A posted or path record id, or 0 (no such record) for anything else."""
    ok = value and value.isascii() and value.isdigit() and len(value) <= RECORD_ID_MAX_DIGITS
    return int(value) if ok else 0  # type: ignore[arg-type]
