"""Verification verdicts, online and offline (E4, D2). No database in this module.

The offline verifier needs only the published trust list and a status list, so a
police PDA or an insurer can check credentials without calling the platform.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .crypto import PublicKey
from .token import REMARKS, STATUS_LIST, Decoded, DisplayMode, TokenRejected, decode_and_verify, int_date

# Signed but never echoed back to a verifier (an accident query code on a printed credential).
HIDDEN_FIELDS = frozenset({"code"})

STATUS_CODES = {0: "valid", 1: "suspended", 2: "revoked", 3: "superseded"}
STATUS_TEXT = {
    "valid": ("有效", "valid"),
    "suspended": ("暂停使用", "suspended"),
    "revoked": ("已撤销", "revoked"),
    "superseded": ("已被新凭证替代", "superseded by a newer credential"),
    "expired": ("已过期", "expired"),  # a temporary plate past its last day (TP1)
    "not_yet": ("尚未生效", "not in force yet"),  # an entrustment before its first day (EN1)
    "unknown": ("未知", "unknown"),
}


@dataclass
class Verdict:
    """What a verifier sees: the answer first, then what was checked and the masked subject."""

    valid: bool
    reason: str  # "ok" or a stable failure code
    message_zh: str
    message_en: str
    kind: str = ""
    kind_zh: str = ""
    kind_en: str = ""
    credential_id: str = ""
    mode: str = ""
    status: str = "unknown"
    issued_at: int | None = None
    expires_at: int | None = None
    subject: dict[str, Any] = field(default_factory=dict)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    checked_at: int | None = None  # an on-screen QR already used: when it was first checked
    # An e-licence that passed online: the holder's full name and a short-lived photo URL (D1).
    # Empty for any verdict that did not pass, and offline, where the photo is compared by digest.
    holder: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "kind": self.kind,
            "kind_zh": self.kind_zh,
            "kind_en": self.kind_en,
            "credential_id": self.credential_id,
            "mode": self.mode,
            "status": self.status,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "subject": self.subject,
            "checks": [{"check": name, "ok": ok} for name, ok in self.checks],
            "checked_at": self.checked_at,
            "holder": self.holder or None,
        }


def subject_view(decoded: Decoded) -> dict[str, Any]:
    """The signed data as a verifier may see it (already masked at issue)."""
    out: dict[str, Any] = {}
    for name, value in decoded.data.items():
        if name in HIDDEN_FIELDS:
            continue
        if name in {"valid_until", "valid_from", "first_issued"} and isinstance(value, int):
            day = int_date(value)
            out[name] = day.isoformat() if day else "long"
        elif name == "number" and isinstance(value, str) and len(value) == 10:
            out[name] = value[:6] + "*" * 8 + value[6:]
        elif name == "photo" and isinstance(value, bytes):
            out[name] = value.hex()
        elif name == "remarks" and isinstance(value, list):
            out[name] = [_remark_text(str(text)) for text in value]
        else:
            out[name] = value
    return out


# Kinds defined by a higher app (EN1, delegations) say how the verifier page lists their subject:
# prefix -> function of the subject view giving (label, value) rows in the reader's language.
SUBJECT_ROWS: dict[str, Callable[[dict[str, Any]], list[tuple[str, str]]]] = {}


def register_subject_rows(prefix: str, rows: Callable[[dict[str, Any]], list[tuple[str, str]]]) -> None:
    SUBJECT_ROWS[prefix] = rows


def rejected(error: TokenRejected, checks: list[tuple[str, bool]]) -> Verdict:
    return Verdict(False, error.reason, error.message_zh, error.message_en, checks=checks)


# Contents that cannot be read as a credential of this platform at all: not one of its
# prefixes, not base45, not the COSE envelope, or signed content that is not a credential.
# Their verdict claims no check, not even the signature (issue 11): a page says "无法识别".
UNREADABLE_REASONS = frozenset(
    {
        "too_long",
        "unknown_prefix",
        "bad_encoding",
        "bad_cbor",
        "trailing_bytes",
        "bad_tag",
        "bad_structure",
        "kind_mismatch",
        "bad_claims",
        "unreadable",
    }
)

# Refusals that come after the signature has checked out; every other refusal means the
# token as presented did not pass (unreadable, not as issued, unknown key, bad signature).
_AFTER_SIGNATURE = frozenset(
    {"kind_mismatch", "bad_claims", "key_not_valid_at_issue", "not_yet_valid", "expired"}
)


def verdict_for(
    text: str,
    *,
    keys: Callable[[bytes], PublicKey | None],
    status_of: Callable[[Decoded], str],
    now: int,
    extra_check: Callable[[Decoded], TokenRejected | None] | None = None,
) -> Verdict:
    """Run every check in order; the first failure decides, and the checks list says how far it got.

    ``extra_check`` runs last, once everything else has passed, because it may use something
    up: online, the nonce of an on-screen QR is consumed by the first check that gets that far.
    """
    checks: list[tuple[str, bool]] = []
    try:
        decoded = decode_and_verify(text, keys=keys, now=now)
    except TokenRejected as error:
        if error.reason in UNREADABLE_REASONS:
            return rejected(error, [])
        checks.append(("signature", error.reason in _AFTER_SIGNATURE))
        if error.reason in {"expired", "not_yet_valid"}:
            checks.append(("validity", False))
        return rejected(error, checks)
    checks += [("signature", True), ("validity", True)]
    base: dict[str, Any] = {
        "kind": decoded.schema.prefix,
        "kind_zh": decoded.schema.name_zh,
        "kind_en": decoded.schema.name_en,
        "credential_id": str(decoded.index),
        "mode": DisplayMode.NAMES.get(decoded.mode, "offline"),
        "issued_at": decoded.issued_at,
        "expires_at": decoded.expires_at,
        "subject": subject_view(decoded),
    }
    status = status_of(decoded)
    checks.append(("status", status == "valid"))
    if status != "valid":
        zh, en = STATUS_TEXT.get(status, STATUS_TEXT["unknown"])
        return Verdict(
            False,
            status,
            f"凭证当前状态：{zh}，不能作为有效凭证使用。",
            f"The credential is currently {en} and must not be accepted.",
            status=status,
            checks=checks,
            **base,
        )
    if extra_check is not None:
        problem = extra_check(decoded)
        if problem is not None:
            checks.append(("freshness", False))
            return Verdict(
                False,
                problem.reason,
                problem.message_zh,
                problem.message_en,
                status=status,
                checks=checks,
                checked_at=getattr(problem, "checked_at", None),
                **base,
            )
        checks.append(("freshness", True))
    return Verdict(
        True,
        "ok",
        "有效凭证：签名、有效期和当前状态均已核验。",
        "Valid: signature, validity period and current status checked.",
        status="valid",
        checks=checks,
        **base,
    )


# ---------------------------------------------------------------- offline material


def trust_list_json(keys: list[PublicKey]) -> str:
    return json.dumps(
        {
            "keys": [
                {
                    "kid": k.kid.hex(),
                    "alg": k.alg,
                    "public_key": base64.b64encode(k.public_der).decode(),
                    "not_before": k.not_before,
                    "not_after": k.not_after,
                }
                for k in keys
            ]
        },
        indent=1,
    )


def parse_trust_list(text: str) -> dict[bytes, PublicKey]:
    data = json.loads(text)
    return {
        bytes.fromhex(k["kid"]): PublicKey(
            kid=bytes.fromhex(k["kid"]),
            alg=int(k["alg"]),
            public_der=base64.b64decode(k["public_key"]),
            not_before=int(k["not_before"]),
            not_after=int(k["not_after"]) if k.get("not_after") is not None else None,
        )
        for k in data["keys"]
    }


def pack_status_bits(statuses: dict[int, int], size: int) -> bytes:
    """Two bits per credential index (0 valid, 1 suspended, 2 revoked, 3 superseded), zlib-compressed."""
    bits = bytearray((size * 2 + 7) // 8)
    for index, code in statuses.items():
        if 0 <= index < size and code:
            bits[index * 2 // 8] |= (code & 3) << (index * 2 % 8)
    return zlib.compress(bytes(bits), 9)


def status_from_bits(bits: bytes, size: int, index: int) -> str:
    if index is None or not 0 <= index < size:
        return "unknown"
    raw = zlib.decompress(bits, bufsize=(size * 2 + 7) // 8 + 16)
    byte = raw[index * 2 // 8] if index * 2 // 8 < len(raw) else 0
    return STATUS_CODES[(byte >> (index * 2 % 8)) & 3]


# A status list signed before every kind had an index space of its own lists only these.
LEGACY_LISTED_KINDS = ("VI1", "DL1")


@dataclass(frozen=True)
class _LoadedStatusList:
    kid: bytes
    public_der: bytes
    expires_at: int
    not_before: int
    # Per kind prefix: its index space, unpacked (two bits per credential index), and its size.
    # Kinds that share one allocator share one entry; a kind not listed has no status offline.
    sections: dict[str, tuple[bytes, int]]


def _unpack(bits: Any, size: int) -> tuple[bytes, int]:
    return zlib.decompress(bytes(bits), bufsize=(size * 2 + 7) // 8 + 16), size


def status_sections(data: dict[str, Any]) -> dict[str, tuple[bytes, int]]:
    """The index spaces of a status list's signed data, by the kind prefixes each one serves.

    ``bits``/``size`` are the e-credentials' space (the kinds in ``kinds``); ``spaces`` holds
    ``[prefixes, bits, size]`` for every kind numbered elsewhere, such as accident query
    credentials (AQ1), so an index is only ever read in its own kind's space.
    """
    main = _unpack(data["bits"], int(data["size"]))
    sections = {str(kind): main for kind in data.get("kinds") or LEGACY_LISTED_KINDS}
    for prefixes, bits, size in data.get("spaces") or []:
        section = _unpack(bits, int(size))
        for prefix in prefixes:
            sections[str(prefix)] = section
    return sections


# Verifying the status list's signature and unpacking it once per list, not once per
# credential, keeps offline verification close to the raw signature rate.
_STATUS_LISTS: dict[str, _LoadedStatusList] = {}


def _status_list(status_list: str, trust: dict[bytes, PublicKey], now: int) -> _LoadedStatusList:
    cached = _STATUS_LISTS.get(status_list)
    if cached is not None:
        key = trust.get(cached.kid)
        if (
            key is not None
            and key.public_der == cached.public_der
            and cached.not_before - 60 <= now <= cached.expires_at + 60
        ):
            return cached
    listed = decode_and_verify(status_list, keys=trust.get, now=now)
    if listed.schema is not STATUS_LIST:
        raise TokenRejected("kind", "不是状态列表。", "That is not a status list.")
    loaded = _LoadedStatusList(
        kid=listed.kid,
        public_der=trust[listed.kid].public_der,
        expires_at=listed.expires_at,
        not_before=listed.not_before,
        sections=status_sections(listed.data),
    )
    if len(_STATUS_LISTS) >= 4:
        _STATUS_LISTS.clear()
    _STATUS_LISTS[status_list] = loaded
    return loaded


def _lookup(loaded: _LoadedStatusList, kind: str, index: int) -> str:
    section = loaded.sections.get(kind)
    if section is None:
        return "unknown"
    bits, size = section
    if not 0 <= index < size:
        return "unknown"
    position = index * 2 // 8
    byte = bits[position] if position < len(bits) else 0
    return STATUS_CODES[(byte >> (index * 2 % 8)) & 3]


def verify_offline(text: str, *, trust: dict[bytes, PublicKey], status_list: str | None, now: int) -> Verdict:
    """Check a credential with only the downloaded trust list and signed status list."""
    loaded: _LoadedStatusList | None = None
    if status_list:
        try:
            loaded = _status_list(status_list, trust, now)
        except TokenRejected as error:
            return Verdict(
                False,
                f"status_list_{error.reason}",
                f"状态列表无效：{error.message_zh}",
                f"The status list is not usable: {error.message_en}",
            )
        except (KeyError, TypeError, ValueError, zlib.error):
            return Verdict(False, "status_list_bad", "状态列表已损坏。", "The status list is damaged.")

    def status_of(decoded: Decoded) -> str:
        if decoded.schema is STATUS_LIST or loaded is None:
            return "unknown"
        return _lookup(loaded, decoded.schema.prefix, decoded.index)

    return verdict_for(text, keys=trust.get, status_of=status_of, now=now)


def photo_matches(verdict: Verdict, shown_digest: bytes | None) -> bool | None:
    """Whether a photo the holder shows is the one signed into a passing e-licence (D1).

    True or False when the token signs a photo digest and a photo was shown; None when there
    is nothing to compare: no photo shown, a verdict that did not pass, or a token issued before
    photo digests were signed (it stays valid; the photo simply cannot be compared offline).
    """
    signed = str((verdict.subject or {}).get("photo", ""))
    if shown_digest is None or not verdict.valid or not signed:
        return None
    return shown_digest.hex() == signed


def _remark_text(text: str) -> str:
    """A signed remark in words: its code, the code's words, and any facts it carries (M3, O3)."""
    code, _sep, detail = text.partition(" ")
    words = f"{code} {REMARKS.get(code, ('', ''))[0]}".strip()
    return f"{words}（{detail}）" if detail else words
