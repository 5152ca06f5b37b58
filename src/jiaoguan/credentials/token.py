"""The one signed-token profile for every credential kind (凭证令牌).

A credential is a CWT claims set in a COSE_Sign1 (RFC 9052, RFC 8392), encoded as
CBOR with integer keys, then base45 (RFC 9285), behind a typed and versioned prefix:
``VI1:`` inspection mark, ``DL1:`` driving licence, ``SL1:`` status list; later kinds
add a :class:`Schema`, not new crypto code. Verification never trusts anything inside
the token before the signature has been checked against a key on the trust list.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import base45
import cbor2

from .crypto import PublicKey, algorithm_for

# COSE header labels and the COSE_Sign1 tag (RFC 9052).
HEADER_ALG = 1
HEADER_KID = 4
COSE_SIGN1_TAG = 18
# CWT claim keys (RFC 8392); the platform's own claims sit under one private-use key.
CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_NBF = 5
CLAIM_IAT = 6
CLAIM_CTI = 7
CLAIM_PLATFORM = -65537
# Keys inside the platform claim: small integers keep a licence within QR version 10-M.
P_KIND = 1
P_DATA = 2
P_MODE = 4
P_NONCE = 5

MAX_TOKEN_CHARS = 4096  # a QR code holds at most 4296 alphanumeric characters
# A status list is downloaded, never scanned: 2 bits a credential, compressed, for millions.
MAX_STATUS_LIST_CHARS = 32 * 1024 * 1024


class DisplayMode:
    """How a credential is shown (E3): same format, different lifetimes."""

    ONLINE = 0  # on the phone, minutes, with a nonce
    OFFLINE = 1  # downloaded, days, may be forwarded
    PRINTED = 2  # on paper, long, checked online

    NAMES = {ONLINE: "online", OFFLINE: "offline", PRINTED: "printed"}


@dataclass(frozen=True)
class Schema:
    """The data of one credential kind: field names mapped to small integer keys."""

    prefix: str  # "VI1"
    name_zh: str
    name_en: str
    fields: Mapping[str, int]

    def encode(self, data: Mapping[str, Any]) -> dict[int, Any]:
        unknown = set(data) - set(self.fields)
        if unknown:
            raise ValueError(f"{self.prefix}: unknown fields {sorted(unknown)}")
        return {self.fields[k]: v for k, v in data.items() if v is not None}

    def decode(self, raw: Mapping[int, Any]) -> dict[str, Any]:
        names = {v: k for k, v in self.fields.items()}
        return {names[k]: v for k, v in raw.items() if k in names}


SCHEMAS: dict[str, Schema] = {}


def register_schema(schema: Schema) -> Schema:
    SCHEMAS[schema.prefix] = schema
    return schema


INSPECTION_MARK = register_schema(
    Schema(
        "VI1",
        "机动车检验合格标志电子凭证",
        "Electronic inspection mark",
        {
            "plate": 1,
            "plate_type": 2,
            "vin_tail": 3,  # last 6 characters only
            "kind": 4,
            "use": 5,
            "valid_until": 6,  # days since 1970-01-01
            "owner": 7,  # masked name or organisation name
            "exempt": 8,  # 1 when this period was label-only
        },
    )
)
DRIVING_LICENCE = register_schema(
    Schema(
        "DL1",
        "电子驾驶证",
        "Electronic driving licence",
        {
            "name": 1,
            "number": 2,  # masked ID number
            "archive": 3,
            "classes": 4,
            "valid_from": 5,  # YYYYMMDD
            "valid_until": 6,  # days since 1970-01-01, 0 long-term
            "first_issued": 7,
            "remarks": 8,  # list of short remark strings (D4)
            "office": 9,
            # Digest of the approved photo (photos.photo_digest), 16 bytes; tokens issued
            # before it existed have none and still verify (the photo is then not comparable offline).
            "photo": 10,
        },
    )
)
# A dealer's temporary plate (临时号牌, B18, issue 14); its index is the registry's TemporaryPlate id,
# in an index space of its own (credentials.temporary_plates).
TEMPORARY_PLATE = register_schema(
    Schema(
        "TP1",
        "机动车临时号牌电子凭证",
        "Temporary plate",
        {
            "plate": 1,  # the temporary plate number, e.g. 豫Q临00042
            "vin": 2,  # masked: first 3 and last 6 characters
            "kind": 3,
            "valid_from": 4,  # days since 1970-01-01
            "valid_until": 5,  # days since 1970-01-01, inclusive
            "dealer": 6,  # the dealer's name
            "issue": 7,  # 1 to 3
            "model": 8,  # make and model
        },
    )
)
# Remarks printed on a licence (D4); the token carries the code, verifiers show the text.
REMARKS: dict[str, tuple[str, str]] = {
    "M3": ("持军队驾驶证换领", "Exchanged from a military licence"),
    "OV": ("境外期间延期", "Deferred while abroad"),
}

# bits/size: the e-credentials' index space (the kinds in "kinds"); "spaces": [prefixes, bits,
# size] for each kind numbered in a space of its own (AQ1). Lists signed before "kinds" and
# "spaces" existed cover VI1 and DL1 only (verify.LEGACY_LISTED_KINDS).
STATUS_LIST = register_schema(
    Schema(
        "SL1",
        "凭证状态列表",
        "Credential status list",
        {"bits": 1, "size": 2, "issuer": 3, "kinds": 4, "spaces": 5},
    )
)


_EPOCH = dt.date(1970, 1, 1)


def date_int(day: dt.date | None) -> int:
    """Dates travel as days since 1970-01-01 (3 bytes of CBOR); 0 means none or long-term."""
    return 0 if day is None else (day - _EPOCH).days


def int_date(value: int) -> dt.date | None:
    if not value:
        return None
    return _EPOCH + dt.timedelta(days=int(value))


# ---------------------------------------------------------------- encoding


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def encode(
    *,
    schema: Schema,
    data: Mapping[str, Any],
    credential_id: bytes,
    issuer: str,
    issued_at: int,
    expires_at: int,
    mode: int,
    nonce: bytes | None,
    kid: bytes,
    alg: int,
    sign: Callable[[bytes], bytes],
) -> str:
    """Build and sign one token; ``sign`` signs the COSE Sig_structure bytes."""
    platform: dict[int, Any] = {P_KIND: schema.prefix, P_DATA: schema.encode(data), P_MODE: mode}
    if nonce:
        platform[P_NONCE] = nonce
    # iss is left out: the key id names the issuer on the trust list, and every byte counts
    # for a licence to fit QR version 10-M; nbf equals iat.
    claims = {CLAIM_IAT: issued_at, CLAIM_EXP: expires_at, CLAIM_CTI: credential_id, CLAIM_PLATFORM: platform}
    if issuer:
        claims[CLAIM_ISS] = issuer
    protected = cbor2.dumps({HEADER_ALG: alg, HEADER_KID: kid})
    payload = cbor2.dumps(claims)
    signature = sign(_sig_structure(protected, payload))
    message = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return f"{schema.prefix}:{base45.b45encode(message).decode('ascii')}"


# ---------------------------------------------------------------- decoding


@dataclass
class Decoded:
    """A token whose signature checked out; every field below comes from signed bytes."""

    schema: Schema
    kid: bytes
    alg: int
    issuer: str
    issued_at: int
    not_before: int
    expires_at: int
    credential_id: bytes
    mode: int
    nonce: bytes | None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def index(self) -> int:
        """The credential number (cti as an unsigned integer): its index in the status list."""
        return int.from_bytes(self.credential_id[:8], "big")


class TokenRejected(Exception):
    """Why a token is not valid, as a stable reason code with a message in both languages."""

    def __init__(self, reason: str, zh: str, en: str) -> None:
        super().__init__(f"{reason}: {en}")
        self.reason = reason
        self.message_zh = zh
        self.message_en = en


def _reject(reason: str, zh: str, en: str) -> TokenRejected:
    return TokenRejected(reason, zh, en)


def _thaw(value: Any) -> Any:
    """CBOR decodes to immutable containers; callers get plain lists and dicts."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


def split_prefix(text: str) -> tuple[Schema, str]:
    """The kind and the base45 body of a token; only the prefix exactly as issued is accepted.

    Whitespace around the token (a line end in a file, a pasted space) is not part of it;
    anything else that differs from the issued text, even the case of the prefix, is refused.
    """
    text = (text or "").strip()
    prefix, sep, _rest = text[:8].partition(":")
    schema = SCHEMAS.get(prefix) if sep else None
    limit = MAX_STATUS_LIST_CHARS if schema is not None and schema.prefix == "SL1" else MAX_TOKEN_CHARS
    if len(text) > limit:
        raise _reject(
            "too_long", "内容过长，不是本平台的凭证。", "Too long to be a credential of this platform."
        )
    if schema is None and sep and prefix.upper() in SCHEMAS:
        raise _reject(
            "prefix_not_canonical",
            f"凭证前缀须为大写“{prefix.upper()}:”，与签发时不符，已拒绝。",
            f"The prefix must be upper-case '{prefix.upper()}:' as issued; the credential is refused.",
        )
    if schema is None:
        raise _reject(
            "unknown_prefix",
            "不是本平台签发的凭证（前缀不可识别）。",
            "Not a credential of this platform (unknown prefix).",
        )
    return schema, text[len(prefix) + 1 :]


def _cbor(data: bytes) -> Any:
    """One CBOR item that must fill ``data`` exactly: trailing bytes are refused."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError, MemoryError):
        raise _reject("bad_cbor", "凭证数据已损坏。", "The credential data is damaged.") from None
    if stream.tell() != len(data):
        raise _reject(
            "trailing_bytes",
            "凭证数据后有多余内容，与签发时不符，已拒绝。",
            "There are extra bytes after the credential data; it is not as issued and is refused.",
        )
    return value


def _not_canonical() -> TokenRejected:
    return _reject(
        "non_canonical",
        "凭证编码不是本平台签发时的规范形式（如不定长度、非最短整数、重复键），已拒绝。",
        "The credential is not encoded as this platform issues it (indefinite lengths, "
        "non-minimal integers, duplicate keys ...); it is refused.",
    )


def _canonical(value: Any, raw: bytes) -> bool:
    """True when ``raw`` is exactly how the platform's encoder writes ``value``.

    cbor2 accepts indefinite lengths, over-long integers and duplicate map keys (the last
    one wins); re-encoding what was read and comparing bytes refuses all of them at once.
    """
    try:
        return cbor2.dumps(value) == raw
    except (cbor2.CBOREncodeError, TypeError, ValueError):
        return False


def decode_and_verify(
    text: str, *, keys: Callable[[bytes], PublicKey | None], now: int, leeway: int = 60
) -> Decoded:
    """Check a token completely except its current status; raise TokenRejected with the reason."""
    schema, body = split_prefix(text)
    try:
        raw = base45.b45decode(body)
    except (ValueError, KeyError, TypeError):
        raise _reject(
            "bad_encoding",
            "凭证编码无效（可能不完整）。",
            "The credential encoding is invalid (incomplete?).",
        ) from None
    if base45.b45encode(raw).decode("ascii") != body:
        raise _reject(
            "bad_encoding", "凭证编码不是规范的base45形式。", "The credential is not in canonical base45."
        )
    # Only the exact envelope the platform emits (E4, issue 10): a COSE_Sign1 tag 18 over a
    # four-element array with an empty unprotected header, every length and integer in its
    # shortest form, nothing after it. The unprotected header and the envelope are not
    # covered by the signature, so without these checks one signed token had many spellings.
    message = _cbor(raw)
    if not isinstance(message, cbor2.CBORTag) or message.tag != COSE_SIGN1_TAG:
        raise _reject(
            "bad_tag",
            "凭证缺少COSE_Sign1标记（18）或标记不符，已拒绝。",
            "The credential is not tagged as COSE_Sign1 (tag 18); it is refused.",
        )
    message = message.value
    if (
        not isinstance(message, (list, tuple))
        or len(message) != 4
        or not isinstance(message[0], bytes)
        or not isinstance(message[2], bytes)
        or not isinstance(message[3], bytes)
    ):
        raise _reject("bad_structure", "凭证结构无效。", "The credential structure is invalid.")
    protected_raw, unprotected, payload, signature = message
    if not isinstance(unprotected, Mapping) or len(unprotected) != 0:
        raise _reject(
            "unprotected_header",
            "凭证含有不受签名保护的头部字段，与签发时不符，已拒绝。",
            "The credential carries an unprotected header, which this platform never issues; it is refused.",
        )
    if not _canonical(cbor2.CBORTag(COSE_SIGN1_TAG, [protected_raw, {}, payload, signature]), raw):
        raise _not_canonical()
    protected = _cbor(protected_raw) if protected_raw else {}
    if not isinstance(protected, Mapping):
        raise _reject("bad_structure", "凭证结构无效。", "The credential structure is invalid.")
    alg, kid = protected.get(HEADER_ALG), protected.get(HEADER_KID)
    if not isinstance(alg, int) or not isinstance(kid, bytes):
        raise _reject(
            "bad_structure", "凭证缺少签名算法或密钥标识。", "The credential names no algorithm or key."
        )
    if not _canonical({HEADER_ALG: alg, HEADER_KID: kid}, protected_raw):
        raise _not_canonical()
    key = keys(kid)
    if key is None:
        raise _reject(
            "unknown_key",
            "签名密钥不在信任列表中，凭证不可信。",
            "The signing key is not on the trust list; the credential cannot be trusted.",
        )
    if key.alg != alg:
        raise _reject(
            "alg_mismatch", "签名算法与密钥不符。", "The signature algorithm does not match the key."
        )
    algorithm = algorithm_for(alg)
    if algorithm is None:
        raise _reject("unsupported_alg", "不支持的签名算法。", "Unsupported signature algorithm.")
    if not algorithm.verify(key.public_der, _sig_structure(protected_raw, payload), signature):
        raise _reject(
            "bad_signature",
            "签名校验失败：凭证被篡改或伪造。",
            "The signature does not match: the credential was altered or forged.",
        )
    # From here on the bytes are the issuer's; they too must be as the platform writes them.
    claims = _cbor(payload)
    if not _canonical(claims, payload):
        raise _not_canonical()
    platform = claims.get(CLAIM_PLATFORM) if isinstance(claims, Mapping) else None
    if not isinstance(platform, Mapping) or platform.get(P_KIND) != schema.prefix:
        raise _reject(
            "kind_mismatch", "凭证类型与前缀不符。", "The credential kind does not match its prefix."
        )
    try:
        decoded = Decoded(
            schema=schema,
            kid=kid,
            alg=alg,
            issuer=str(claims.get(CLAIM_ISS, "")),
            issued_at=int(claims[CLAIM_IAT]),
            not_before=int(claims.get(CLAIM_NBF, claims[CLAIM_IAT])),
            expires_at=int(claims[CLAIM_EXP]),
            credential_id=bytes(claims[CLAIM_CTI]),
            mode=int(platform.get(P_MODE, DisplayMode.OFFLINE)),
            nonce=platform.get(P_NONCE),
            data=schema.decode(_thaw(platform.get(P_DATA) or {})),
        )
    except (KeyError, TypeError, ValueError):
        raise _reject("bad_claims", "凭证内容不完整。", "The credential content is incomplete.") from None
    if decoded.issued_at < key.not_before - leeway or (
        key.not_after is not None and decoded.issued_at > key.not_after
    ):
        raise _reject(
            "key_not_valid_at_issue",
            "签发时该密钥不在有效期内。",
            "The key was not valid when the credential was issued.",
        )
    if now + leeway < decoded.not_before:
        raise _reject("not_yet_valid", "凭证尚未生效。", "The credential is not valid yet.")
    if now - leeway > decoded.expires_at:
        raise _reject(
            "expired",
            "凭证已过期，请刷新或重新下载。",
            "The credential has expired; refresh or download it again.",
        )
    return decoded
