"""Mortgage filings (机动车抵押登记) by banks with an e-seal: what a signed payload must hold (O6).

Pure checks: no database, no clock (the caller passes ``now`` as unix seconds). The payload is
what the bank signs (its canonical form, ``core.seals.canonical_json``); every field is required
and no other field is accepted, so what was signed is exactly what is recorded.

Filing (``POST /api/v1/mortgages``)::

    {"action": "mortgage.file", "mortgagee_uscc": "91…", "vin": "LSV…", "borrower_id_number": "4117…",
     "contract_number": "DY-2026-0001", "principal_fen": 12000000, "term_start": "2026-12-01",
     "term_end": "2029-11-30", "signed_at": 1796000000, "nonce": "3f9a…"}

Release (``POST /api/v1/mortgages/{id}/release``)::

    {"action": "mortgage.release", "mortgage_id": 7, "mortgagee_uscc": "91…", "vin": "LSV…",
     "contract_number": "DY-2026-0001", "signed_at": 1796000000, "nonce": "5b1c…"}

``signed_at`` (unix seconds) must lie within the allowed skew of now and the ``nonce`` (16 to 64
of ``A-Z a-z 0-9 _ -``) is accepted once per key, so a captured request cannot be replayed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from jiaoguan.core.errors import ValidationFailed
from jiaoguan.core.identifiers import validate_uscc, validate_vin

FILE_ACTION = "mortgage.file"
RELEASE_ACTION = "mortgage.release"
FILING_FIELDS = frozenset(
    {"action", "mortgagee_uscc", "vin", "borrower_id_number", "contract_number", "principal_fen",
     "term_start", "term_end", "signed_at", "nonce"}
)  # fmt: skip
RELEASE_FIELDS = frozenset(
    {"action", "mortgage_id", "mortgagee_uscc", "vin", "contract_number", "signed_at", "nonce"}
)
# A principal above 100 billion yuan is a typing error, not a car loan.
MAX_PRINCIPAL_FEN = 10**13
_NONCE = re.compile(r"[A-Za-z0-9_\-]{16,64}")
_CONTRACT = re.compile(r"[0-9A-Za-z\-_/()（）\u4e00-\u9fff]{1,64}")
_BORROWER = re.compile(r"[0-9A-Z]{18}")


@dataclass(frozen=True)
class Filing:
    mortgagee_uscc: str
    vin: str
    borrower_id_number: str
    contract_number: str
    principal_fen: int
    term_start: date
    term_end: date
    signed_at: int
    nonce: str


@dataclass(frozen=True)
class Release:
    mortgage_id: int
    mortgagee_uscc: str
    vin: str
    contract_number: str
    signed_at: int
    nonce: str


def _bad(field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed("registry.mortgage.payload_invalid", f"签名内容有误：{zh}", f"Signed payload: {en}",
                            field=field)  # fmt: skip


def _fields(payload: Mapping[str, Any], expected: frozenset[str], action: str) -> None:
    missing = sorted(expected - set(payload))
    if missing:
        raise _bad(missing[0], f"缺少字段 {'、'.join(missing)}", f"missing field(s) {', '.join(missing)}")
    extra = sorted(set(payload) - expected)
    if extra:
        raise _bad(extra[0], f"不应包含字段 {'、'.join(extra)}", f"unexpected field(s) {', '.join(extra)}")
    if payload["action"] != action:
        raise _bad("action", f"action 应为 {action}", f"action must be {action}")


def _int(payload: Mapping[str, Any], name: str) -> int:
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(name, f"{name} 应为整数", f"{name} must be an integer")
    return value


def _str(payload: Mapping[str, Any], name: str) -> str:
    value = payload[name]
    if not isinstance(value, str) or not value:
        raise _bad(name, f"{name} 应为非空字符串", f"{name} must be a non-empty string")
    return value


def _day(payload: Mapping[str, Any], name: str) -> date:
    text = _str(payload, name)
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise _bad(name, f"{name} 应为 YYYY-MM-DD 日期", f"{name} must be a YYYY-MM-DD date") from None


def _common(payload: Mapping[str, Any], *, now: int, max_skew: int) -> tuple[str, str, str, int, str]:
    try:
        uscc = validate_uscc(_str(payload, "mortgagee_uscc"))
    except ValidationFailed:
        raise _bad(
            "mortgagee_uscc", "抵押权人统一社会信用代码无效", "mortgagee_uscc is not a valid USCC"
        ) from None
    try:
        vin = validate_vin(_str(payload, "vin"))
    except ValidationFailed:
        raise _bad("vin", "车辆识别代号无效", "vin is not a valid VIN (GB 16735)") from None
    if vin != payload["vin"]:
        # The VIN is signed as registered (upper case), so the record shows what the bank signed.
        raise _bad("vin", "车辆识别代号应为大写", "vin must be written in upper case")
    contract = _str(payload, "contract_number")
    if not _CONTRACT.fullmatch(contract):
        raise _bad(
            "contract_number",
            "合同编号应为1至64位字母、数字或连接符",
            "contract_number must be 1 to 64 letters, digits or dashes",
        )
    signed_at = _int(payload, "signed_at")
    if abs(now - signed_at) > max_skew:
        raise ValidationFailed(
            "registry.mortgage.signature_stale",
            f"签名时间与当前时间相差超过{max_skew // 60}分钟，请重新签名后提交。",
            f"The signing time is more than {max_skew // 60} minutes from now; sign again and resend.",
            field="signed_at",
        )
    nonce = _str(payload, "nonce")
    if not _NONCE.fullmatch(nonce):
        raise _bad(
            "nonce",
            "nonce 应为16至64位字母、数字、下划线或连接符",
            "nonce must be 16 to 64 of A-Z a-z 0-9 _ -",
        )
    return uscc, vin, contract, signed_at, nonce


def check_filing(payload: Mapping[str, Any], *, now: int, max_skew: int) -> Filing:
    """The filing a signed payload asks for, or a 422 naming the first field that is wrong."""
    _fields(payload, FILING_FIELDS, FILE_ACTION)
    uscc, vin, contract, signed_at, nonce = _common(payload, now=now, max_skew=max_skew)
    borrower = _str(payload, "borrower_id_number")
    if not _BORROWER.fullmatch(borrower):
        raise _bad("borrower_id_number", "借款人证件号码应为18位（身份证号码或统一社会信用代码，字母大写）",
                   "borrower_id_number must be 18 characters (ID number or USCC, upper case)")  # fmt: skip
    principal = _int(payload, "principal_fen")
    if not 0 < principal <= MAX_PRINCIPAL_FEN:
        raise _bad("principal_fen", "主债权金额应大于0（单位：分）", "principal_fen must be above 0 (in fen)")
    start, end = _day(payload, "term_start"), _day(payload, "term_end")
    if end < start:
        raise _bad("term_end", "债务履行期限止日不能早于起日", "term_end is before term_start")
    return Filing(
        mortgagee_uscc=uscc, vin=vin, borrower_id_number=borrower, contract_number=contract,
        principal_fen=principal, term_start=start, term_end=end, signed_at=signed_at, nonce=nonce,
    )  # fmt: skip


def check_release(payload: Mapping[str, Any], *, mortgage_id: int, now: int, max_skew: int) -> Release:
    """The release a signed payload asks for; it must name the mortgage of the URL."""
    _fields(payload, RELEASE_FIELDS, RELEASE_ACTION)
    uscc, vin, contract, signed_at, nonce = _common(payload, now=now, max_skew=max_skew)
    signed_id = _int(payload, "mortgage_id")
    if signed_id != mortgage_id:
        raise _bad(
            "mortgage_id", "签名的抵押登记编号与请求地址不一致", "mortgage_id differs from the one in the URL"
        )
    return Release(
        mortgage_id=signed_id, mortgagee_uscc=uscc, vin=vin, contract_number=contract,
        signed_at=signed_at, nonce=nonce,
    )  # fmt: skip
