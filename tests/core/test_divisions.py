"""Administrative divisions and jurisdiction containment (pure: no database, no settings)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import numdb

from jiaoguan.core.divisions import (
    DIVISIONS,
    ZHUMADIAN,
    ZHUMADIAN_COUNTIES,
    division_level,
    division_name,
    division_prefix,
    is_within,
    validate_division,
)
from jiaoguan.core.errors import ValidationFailed

CJK = re.compile(r"[\u4e00-\u9fff]")

ZHUMADIAN_NAMES = {
    "411702": "驿城区",
    "411721": "西平县",
    "411722": "上蔡县",
    "411723": "平舆县",
    "411724": "正阳县",
    "411725": "确山县",
    "411726": "泌阳县",
    "411727": "汝南县",
    "411728": "遂平县",
    "411729": "新蔡县",
}


def refusal(func: Any, value: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        func(value)
    exc = info.value
    assert exc.field == "division"
    assert len(CJK.findall(exc.message_zh)) >= 8
    assert len(re.findall(r"[A-Za-z]{3,}", exc.message_en)) >= 6
    return exc


def test_required_divisions_are_listed_with_their_names() -> None:
    required = {
        "410000": "河南省",
        "411700": "驻马店市",
        "410100": "郑州市",
        "410102": "中原区",
        "410105": "金水区",
        "110000": "北京市",
        "110101": "东城区",
        **ZHUMADIAN_NAMES,
    }
    for code, name in required.items():
        assert division_name(code) == name
        assert validate_division(code) == code


def test_zhumadian_constants() -> None:
    assert division_name(ZHUMADIAN) == "驻马店市"
    expected_counties = tuple(sorted(ZHUMADIAN_NAMES))
    assert expected_counties == ZHUMADIAN_COUNTIES
    assert all(division_level(code) == "county" and is_within(code, ZHUMADIAN) for code in ZHUMADIAN_COUNTIES)


def _current_stdnum_name(code: str) -> str:
    """The present-day name in python-stdnum's GB/T 2260 history, as an outside reference."""
    names = [props["county"] for _part, props in numdb.get("cn/loc").info(code) if "county" in props]
    assert names, code
    latest = names[-1].split(",")[-1]
    if latest.startswith("["):
        period, latest = latest[1:].split("]")
        assert period.endswith("-"), f"{code} is no longer in use: {period}"
    return latest


@pytest.mark.parametrize("code", sorted(DIVISIONS))
def test_every_listed_division_matches_the_published_table(code: str) -> None:
    assert DIVISIONS[code] == _current_stdnum_name(code)


@pytest.mark.parametrize(
    ("code", "level", "prefix"),
    [
        ("410000", "province", "41"),
        ("110000", "province", "11"),
        ("411700", "city", "4117"),
        ("410100", "city", "4101"),
        ("411702", "county", "411702"),
        ("110101", "county", "110101"),
        ("419001", "county", "419001"),
        # Well-formed codes missing from the table still have a structure.
        ("410202", "county", "410202"),
        ("420100", "city", "4201"),
    ],
)
def test_level_and_prefix(code: str, level: str, prefix: str) -> None:
    assert division_level(code) == level
    assert division_prefix(code) == prefix


@pytest.mark.parametrize(
    ("code", "jurisdiction", "expected"),
    [
        ("411702", "411702", True),
        ("411702", "411700", True),
        ("411702", "410000", True),
        ("411700", "410000", True),
        ("410000", "410000", True),
        ("411729", "411700", True),
        ("419001", "410000", True),
        ("410105", "411700", False),
        ("410105", "410100", True),
        ("411700", "411702", False),
        ("410000", "411700", False),
        ("411721", "411702", False),
        ("110101", "410000", False),
        ("110101", "110000", True),
        ("419001", "411700", False),
        # Containment follows the prefix digit by digit: 4101xx is not inside 4110xx.
        ("410101", "411000", False),
    ],
)
def test_is_within(code: str, jurisdiction: str, expected: bool) -> None:
    assert is_within(code, jurisdiction) is expected


def test_unknown_division_is_refused() -> None:
    assert refusal(division_name, "410202").code == "division.unknown"
    assert refusal(validate_division, "999900").code == "division.format"
    assert refusal(validate_division, "411799").code == "division.unknown"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "41170",
        "4117000",
        "41170A",
        "000000",
        "100000",
        "911700",
        "<b>411700</b>",
        "４１１７００",
        None,
        411700,
    ],
)
def test_malformed_codes_are_refused_everywhere(value: Any) -> None:
    for func in (validate_division, division_name, division_level, division_prefix):
        assert refusal(func, value).code == "division.format"
    assert refusal(lambda v: is_within(v, "410000"), value).code == "division.format"
    assert refusal(lambda v: is_within("411702", v), value).code == "division.format"


known = st.sampled_from(sorted(DIVISIONS))
RANK = {"province": 0, "city": 1, "county": 2}


@given(known, known)
def test_containment_agrees_with_the_code_structure(code: str, jurisdiction: str) -> None:
    inside = is_within(code, jurisdiction)
    level = division_level(jurisdiction)
    expected = {
        "province": code[:2] == jurisdiction[:2],
        "city": code[:4] == jurisdiction[:4],
        "county": code == jurisdiction,
    }[level]
    assert inside is expected
    if inside:
        assert RANK[division_level(code)] >= RANK[level]
        if code != jurisdiction:
            assert not is_within(jurisdiction, code)


@given(known, known, known)
def test_containment_is_transitive(a: str, b: str, c: str) -> None:
    if is_within(a, b) and is_within(b, c):
        assert is_within(a, c)


@given(known)
def test_every_division_lies_within_its_province_and_itself(code: str) -> None:
    assert is_within(code, code)
    assert is_within(code, code[:2] + "0000")
    assert division_name(code) == DIVISIONS[code]


@given(st.text(max_size=40))
def test_any_text_is_either_a_code_or_refused(text: str) -> None:
    try:
        validate_division(text)
    except ValidationFailed as exc:
        assert exc.code in {"division.format", "division.unknown"}
    else:
        assert text in DIVISIONS
