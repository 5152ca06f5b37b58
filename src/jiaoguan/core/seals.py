"""Electronic seals (电子印章) of organisations: canonical payloads, key fingerprints, signatures.

An organisation (a bank filing a mortgage, O6) signs what it asks for with its own key instead
of stamping a paper contract. What is signed is the *canonical form* of the request's payload:

* a JSON object whose values are strings, integers (no floats, no booleans) or null;
* serialised with its keys sorted, no whitespace (``","`` and ``":"`` as separators), non-ASCII
  characters written as themselves (not ``\\u`` escapes), encoded as UTF-8.

That is ``json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``; both
sides compute it from the parsed object, so the order and spacing the client sent do not matter.
Signatures are the raw fixed-size values of :mod:`jiaoguan.core.crypto` (r||s for SM2-SM3 and
ES256, 64 bytes; Ed25519 64 bytes) in standard base64. SM2 with SM3 is the Chinese e-seal
standard (GM/T 0031 builds on it); ES256 and EdDSA are accepted too.

A public key is registered as a PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo); its fingerprint is
the lower-case hex SHA-256 of the DER bytes, which the signer names in each request.

Pure functions: no database, no clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from .crypto import EDDSA, ES256, SM2_SM3, algorithm_for

# Algorithm names as organisations register them, to the COSE numbers of core.crypto.
SEAL_ALGORITHMS: dict[str, int] = {"SM2-SM3": SM2_SM3, "ES256": ES256, "EdDSA": EDDSA}

_PEM = re.compile(
    r"-----BEGIN PUBLIC KEY-----\s*(?P<body>[A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----\s*", re.ASCII
)
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
MAX_PAYLOAD_BYTES = 8 * 1024


class SealError(ValueError):
    """A payload, key or signature that cannot be used; ``code`` says which check failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """The bytes a seal signs (see the module docstring); refuses values without one spelling."""
    if not isinstance(payload, Mapping):
        raise SealError("payload_not_object", "the payload must be a JSON object")
    for key, value in payload.items():
        if not isinstance(key, str):
            raise SealError("payload_bad_key", "payload keys must be strings")
        if isinstance(value, bool) or not (value is None or isinstance(value, str | int)):
            # A float has several spellings (1.0, 1e0) and a nested object invites ambiguity.
            raise SealError(
                "payload_bad_value", f"payload field {key!r} must be a string, an integer or null"
            )
    data = json.dumps(dict(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )
    if len(data) > MAX_PAYLOAD_BYTES:
        raise SealError("payload_too_large", f"the payload is larger than {MAX_PAYLOAD_BYTES} bytes")
    return data


def public_der_from_pem(pem: str) -> bytes:
    """The DER SubjectPublicKeyInfo inside a PEM ``PUBLIC KEY`` block (exactly one block)."""
    match = _PEM.fullmatch(pem.strip() + "\n")
    if match is None:
        raise SealError("key_not_pem", "the key is not one PEM block of type PUBLIC KEY")
    try:
        return base64.b64decode("".join(match.group("body").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SealError("key_not_pem", "the PEM block is not valid base64") from exc


def pem_from_der(der: bytes) -> str:
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def fingerprint(public_der: bytes) -> str:
    return hashlib.sha256(public_der).hexdigest()


def fingerprint_valid(value: str) -> bool:
    return isinstance(value, str) and _FINGERPRINT.fullmatch(value) is not None


def public_key_usable(algorithm: str, public_der: bytes) -> bool:
    """Whether the DER is a public key of the algorithm (an SM2 key for SM2-SM3, and so on)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    alg = SEAL_ALGORITHMS.get(algorithm)
    if alg is None or algorithm_for(alg) is None:
        return False
    if alg == SM2_SM3:
        from .sm2 import _load_public as load_sm2

        return load_sm2(public_der) is not None
    from .crypto import _load_public

    key = _load_public(public_der)
    if alg == ES256:
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    return isinstance(key, ed25519.Ed25519PublicKey)


def signature_bytes(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError, AttributeError) as exc:
        raise SealError("signature_not_base64", "the signature is not standard base64") from exc
    if len(raw) != 64:
        raise SealError("signature_length", "the signature must be 64 bytes")
    return raw


def seal_verify(*, algorithm: str, public_der: bytes, message: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64) is the key's signature of ``message``; never raises on bad input."""
    alg = SEAL_ALGORITHMS.get(algorithm)
    implementation = algorithm_for(alg) if alg is not None else None
    if implementation is None:
        return False
    try:
        raw = signature_bytes(signature)
    except SealError:
        return False
    return bool(implementation.verify(public_der, message, raw))


def seal_sign(*, algorithm: str, private_pem: bytes, payload: Mapping[str, Any]) -> str:
    """Sign a payload's canonical form (the bank's side; the demo, the CLI and the tests use it)."""
    alg = SEAL_ALGORITHMS.get(algorithm)
    implementation = algorithm_for(alg) if alg is not None else None
    if implementation is None:
        raise SealError("algorithm_unknown", f"no signature algorithm {algorithm!r} here")
    return base64.b64encode(implementation.sign(private_pem, canonical_json(payload))).decode("ascii")


def seal_key_generate(algorithm: str) -> tuple[bytes, str]:
    """A new private key (PEM) and its public key (PEM), for the demo and the tests."""
    alg = SEAL_ALGORITHMS.get(algorithm)
    implementation = algorithm_for(alg) if alg is not None else None
    if implementation is None:
        raise SealError("algorithm_unknown", f"no signature algorithm {algorithm!r} here")
    private_pem = implementation.generate_private_pem()
    return private_pem, pem_from_der(implementation.public_der(private_pem))
