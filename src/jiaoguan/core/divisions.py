"""Administrative divisions (行政区划代码, GB/T 2260) used to scope jurisdiction.

A code has six digits: two for the province, two for the city and two for the county.
A province's code ends in 0000 and a city's in 00, so the significant prefix of a code
says which codes lie inside it. Structural questions (level, prefix, containment) work
on any well-formed code, because records may carry divisions missing from the table
below; naming and validating a division needs it to be listed.
"""

from __future__ import annotations

import re
from typing import Literal

from jiaoguan.core.errors import ValidationFailed

__all__ = [
    "DIVISIONS",
    "ZHUMADIAN",
    "ZHUMADIAN_COUNTIES",
    "DivisionLevel",
    "division_level",
    "division_name",
    "division_prefix",
    "is_within",
    "validate_division",
]

DivisionLevel = Literal["province", "city", "county"]

DIVISIONS: dict[str, str] = {
    # Provinces, autonomous regions and municipalities of the mainland.
    "110000": "北京市",
    "120000": "天津市",
    "130000": "河北省",
    "140000": "山西省",
    "150000": "内蒙古自治区",
    "210000": "辽宁省",
    "220000": "吉林省",
    "230000": "黑龙江省",
    "310000": "上海市",
    "320000": "江苏省",
    "330000": "浙江省",
    "340000": "安徽省",
    "350000": "福建省",
    "360000": "江西省",
    "370000": "山东省",
    "410000": "河南省",
    "420000": "湖北省",
    "430000": "湖南省",
    "440000": "广东省",
    "450000": "广西壮族自治区",
    "460000": "海南省",
    "500000": "重庆市",
    "510000": "四川省",
    "520000": "贵州省",
    "530000": "云南省",
    "540000": "西藏自治区",
    "610000": "陕西省",
    "620000": "甘肃省",
    "630000": "青海省",
    "640000": "宁夏回族自治区",
    "650000": "新疆维吾尔自治区",
    # Beijing, for residents and vehicles from outside Henan.
    "110101": "东城区",
    # Cities of Henan.
    "410100": "郑州市",
    "410200": "开封市",
    "410300": "洛阳市",
    "410400": "平顶山市",
    "410500": "安阳市",
    "410600": "鹤壁市",
    "410700": "新乡市",
    "410800": "焦作市",
    "410900": "濮阳市",
    "411000": "许昌市",
    "411100": "漯河市",
    "411200": "三门峡市",
    "411300": "南阳市",
    "411400": "商丘市",
    "411500": "信阳市",
    "411600": "周口市",
    "411700": "驻马店市",
    # Governed by the province directly, although its code looks like a county's.
    "419001": "济源市",
    # Other provinces' divisions that records and demonstration data name (V6, non-local drivers).
    "320100": "南京市",
    "320102": "玄武区",
    "320104": "秦淮区",
    # Zhengzhou, the provincial capital.
    "410102": "中原区",
    "410105": "金水区",
    # Zhoukou, the neighbouring detachment (records of another jurisdiction in the same province).
    "411602": "川汇区",
    # Zhumadian, where the demonstration deployment runs.
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

ZHUMADIAN = "411700"
ZHUMADIAN_COUNTIES: tuple[str, ...] = tuple(
    sorted(code for code in DIVISIONS if code.startswith("4117") and code != ZHUMADIAN)
)

# Province codes run from 11 to 82; a leading 0 or 9 is never a division.
_CODE_RE = re.compile(r"[1-8][0-9]{5}")
_FIELD = "division"


def _checked(code: str) -> str:
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code) or code[:2] < "11":
        raise ValidationFailed(
            "division.format",
            "行政区划代码应为 6 位数字，例如 411700（驻马店市）。",
            "An administrative division code has 6 digits, for example 411700 (Zhumadian).",
            field=_FIELD,
        )
    return code


def validate_division(code: str) -> str:
    """Check that ``code`` is a division (行政区划) the platform knows, and return it."""
    _checked(code)
    if code not in DIVISIONS:
        raise ValidationFailed(
            "division.unknown",
            "这个行政区划代码不在本平台的区划表中，请选择列表中的省、市或区县。",
            "This administrative division code is not in the platform's list of divisions. "
            "Please choose a province, city or county from the list.",
            field=_FIELD,
            detail={"code": code},
        )
    return code


def division_name(code: str) -> str:
    """The name of a listed division (行政区划名称), e.g. "驻马店市" for 411700."""
    return DIVISIONS[validate_division(code)]


def division_level(code: str) -> DivisionLevel:
    """Whether the code names a province (省级), a city (地级) or a county (县级)."""
    _checked(code)
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


def division_prefix(code: str) -> str:
    """The significant prefix: "41" for 410000, "4117" for 411700, the whole code for a county."""
    level = division_level(code)
    return {"province": code[:2], "city": code[:4], "county": code}[level]


def is_within(code: str, jurisdiction: str) -> bool:
    """Whether ``code`` lies inside ``jurisdiction`` (or is it).

    A province contains its cities and counties, a city its counties; a county
    contains only itself.
    """
    return _checked(code).startswith(division_prefix(jurisdiction))
