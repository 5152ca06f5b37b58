"""SM2 digital signature with SM3 (GM/T 0003-2012, GM/T 0004-2012), via Tongsuo.

Importing this module registers the algorithm; ``crypto.algorithm_for`` imports it lazily, so a
deployment without ``tongsuopy`` simply has no SM2. The signed digest is SM3(Z || M), where Z binds
the signer's public key and the GM/T 0009-2012 default user ID ``1234567812345678``: that is the
standard SM2 signature, so any conforming implementation verifies it with that ID.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec
from tongsuopy.crypto.exceptions import InternalError, InvalidSignature, UnsupportedAlgorithm

from .crypto import SM2_SM3, register_algorithm

# GM/T 0009-2012 default distinguishing identifier. Tongsuo applies it itself when the key is an
# SM2 key and no ID is set (tongsuopy has no call to set one), so it is not passed anywhere; it is
# kept here to document the contract and for tests that check it with another implementation.
DEFAULT_USER_ID = b"1234567812345678"

# Order n of the SM2 base point (GM/T 0003.5-2012); r and s must lie in [1, n-1].
_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123

# ECDSA here is only tongsuopy's name for "EC signature with this hash"; for a key on the SM2
# curve Tongsuo's SM2 method runs, computing Z and the SM2 equations, not ECDSA.
_SM3_SIGNATURE = ec.ECDSA(hashes.SM3())


class Sm2Sm3:
    """SM2 signature over SM3 with the default user ID; signature is r||s, 64 bytes."""

    alg = SM2_SM3
    name = "SM2-SM3"

    def generate_private_pem(self) -> bytes:
        key = ec.generate_private_key(ec.SM2())
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_der(self, private_pem: bytes) -> bytes:
        key = _load_private(private_pem)
        return key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, private_pem: bytes, data: bytes) -> bytes:
        key = _load_private(private_pem)
        # Tongsuo returns the GM/T 0009 DER SEQUENCE {r, s}; COSE wants the fixed-size raw form.
        # tongsuopy has no DER decoder, and the ASN.1 is curve-independent, so cryptography's is used.
        r, s = decode_dss_signature(key.sign(data, _SM3_SIGNATURE))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def verify(self, public_der: bytes, data: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        # Tongsuo rejects these as well; checking first skips computing Z and the SM3 digest.
        if not (0 < r < _N and 0 < s < _N):
            return False
        key = _load_public(public_der)
        if key is None:
            return False
        try:
            key.verify(encode_dss_signature(r, s), data, _SM3_SIGNATURE)
        except InvalidSignature:
            return False
        except InternalError:
            # tongsuopy asserts on a negative return from EVP_DigestVerify (malformed input);
            # verify's contract is a boolean, so that counts as "does not verify" too.
            return False
        return True


def _load_private(private_pem: bytes) -> Any:
    try:
        key = serialization.load_pem_private_key(private_pem, password=None)
    except UnsupportedAlgorithm as exc:
        # tongsuopy knows only the SM2 curve; a P-256 or Ed25519 key surfaces as this.
        raise ValueError("not an SM2 private key") from exc
    # Guard in case tongsuopy learns other curves: on those Tongsuo would run ECDSA, not SM2.
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SM2):
        raise ValueError("not an SM2 private key")
    return key


_PUBLIC_CACHE: dict[bytes, Any] = {}


def _load_public(public_der: bytes) -> Any:
    """Parse a public key once, as crypto.py does; verification is hot and parsing is repeat work."""
    key = _PUBLIC_CACHE.get(public_der)
    if key is None:
        try:
            key = serialization.load_der_public_key(public_der)
        except (ValueError, UnsupportedAlgorithm, InternalError):
            # Malformed DER, another key type (Ed25519, RSA) or an EC key on a curve Tongsuo's
            # Python layer does not know (P-256): none of them is an SM2 key.
            return None
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SM2):
            return None
        # d2i_PUBKEY stops at the end of the SubjectPublicKeyInfo and ignores what follows; the
        # trust list stores keys as bytes, so anything but one exact DER value is refused. (The
        # re-encoding keeps the parsed point form, so a compressed-point key still round-trips.)
        if (
            key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            != public_der
        ):
            return None
        if len(_PUBLIC_CACHE) > 256:
            _PUBLIC_CACHE.clear()
        _PUBLIC_CACHE[public_der] = key
    return key


register_algorithm(Sm2Sm3())
