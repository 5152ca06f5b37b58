"""Signature algorithms for credentials and organisations' e-seals, behind one small interface.

Kept in core (moved from credentials in issue 14) so the registry, which sits below credentials,
verifies banks' electronic seals (O6) with the same code that signs and checks credentials. Each
algorithm is registered under its COSE ``alg`` number. ES256 and Ed25519 come from
``cryptography``; SM2 with SM3 (GM/T 0003, 0004) is registered by ``sm2.py`` when its
library is installed. Keys travel as PEM (private) and DER SubjectPublicKeyInfo (public).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

# COSE algorithm identifiers (RFC 9053); SM2 has none registered, so a private-use value.
ES256 = -7
EDDSA = -8
SM2_SM3 = -65601


class Algorithm(Protocol):
    """Sign and verify raw bytes; signatures are fixed-size raw values as COSE wants them."""

    alg: int
    name: str

    def generate_private_pem(self) -> bytes: ...

    def public_der(self, private_pem: bytes) -> bytes: ...

    def sign(self, private_pem: bytes, data: bytes) -> bytes: ...

    def verify(self, public_der: bytes, data: bytes, signature: bytes) -> bool: ...


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class Es256:
    """ECDSA over P-256 with SHA-256; signature is r||s, 64 bytes."""

    alg = ES256
    name = "ES256"

    def generate_private_pem(self) -> bytes:
        key = ec.generate_private_key(ec.SECP256R1())
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_der(self, private_pem: bytes) -> bytes:
        key = serialization.load_pem_private_key(private_pem, password=None)
        return key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, private_pem: bytes, data: bytes) -> bytes:
        key = serialization.load_pem_private_key(private_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        # (r, n - s) verifies as well as (r, s); the platform always writes the low one, so a
        # token it signs has one spelling. Verification still takes both: tokens signed before
        # live up to a year (MAX_TOKEN_LIFETIME) and half of them carry the high one.
        if s > P256_ORDER // 2:
            s = P256_ORDER - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def verify(self, public_der: bytes, data: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        key = _load_public(public_der)
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return False
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            key.verify(der, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


class Ed25519:
    """EdDSA over Curve25519; signature 64 bytes."""

    alg = EDDSA
    name = "EdDSA"

    def generate_private_pem(self) -> bytes:
        return ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_der(self, private_pem: bytes) -> bytes:
        key = serialization.load_pem_private_key(private_pem, password=None)
        return key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, private_pem: bytes, data: bytes) -> bytes:
        key = serialization.load_pem_private_key(private_pem, password=None)
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        return key.sign(data)

    def verify(self, public_der: bytes, data: bytes, signature: bytes) -> bool:
        key = _load_public(public_der)
        if not isinstance(key, ed25519.Ed25519PublicKey):
            return False
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


_PUBLIC_CACHE: dict[bytes, object] = {}


def _load_public(public_der: bytes) -> object:
    """Parse a public key once; verification is hot and parsing costs as much as verifying."""
    key = _PUBLIC_CACHE.get(public_der)
    if key is None:
        try:
            key = serialization.load_der_public_key(public_der)
        except (ValueError, UnsupportedAlgorithm):  # e.g. an SM2 key handed to ES256
            return None
        if len(_PUBLIC_CACHE) > 256:
            _PUBLIC_CACHE.clear()
        _PUBLIC_CACHE[public_der] = key
    return key


ALGORITHMS: dict[int, Algorithm] = {ES256: Es256(), EDDSA: Ed25519()}


def register_algorithm(algorithm: Algorithm) -> None:
    ALGORITHMS[algorithm.alg] = algorithm


def algorithm_for(alg: int) -> Algorithm | None:
    if alg == SM2_SM3 and alg not in ALGORITHMS:
        try:
            from . import sm2  # noqa: F401  registers itself when its library is installed
        except ImportError:
            return None
    return ALGORITHMS.get(alg)


@dataclass(frozen=True)
class PublicKey:
    """One entry of the trust list (信任列表)."""

    kid: bytes
    alg: int
    public_der: bytes
    not_before: int  # unix seconds; credentials issued before are not accepted under this key
    not_after: int | None  # unix seconds after which nothing signed by it verifies
