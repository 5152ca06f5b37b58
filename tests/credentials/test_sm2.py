"""SM2 with SM3 (``jiaoguan.credentials.sm2``), checked against gmalg (pure: no database, no settings).

gmalg is an independent pure-Python SM2/SM3 implementation; a signature from one side verifying
on the other, with the GM/T 0009 default user ID passed to gmalg explicitly, shows that Tongsuo
really computes the standard SM2 signature with Z, and not ECDSA over SM3 or another user ID.
"""

from __future__ import annotations

import gmalg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec

from jiaoguan.credentials.crypto import ALGORITHMS, SM2_SM3, Ed25519, Es256, algorithm_for
from jiaoguan.credentials.sm2 import DEFAULT_USER_ID, Sm2Sm3

SM2 = Sm2Sm3()
DATA = "驻马店市交通管理 credential payload".encode()

# GM/T 0004-2012 appendix A: SM3("abc") and SM3("abcd" * 16).
SM3_ABC = bytes.fromhex("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
SM3_ABCD_16 = bytes.fromhex("debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")

# Base point order n of the recommended SM2 curve (GM/T 0003.5-2012).
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123


@pytest.fixture(scope="module")
def keypair() -> tuple[bytes, bytes]:
    private_pem = SM2.generate_private_pem()
    return private_pem, SM2.public_der(private_pem)


def public_point(public_der: bytes) -> bytes:
    """The uncompressed point 04||x||y inside a SubjectPublicKeyInfo, as gmalg takes it."""
    key = serialization.load_der_public_key(public_der)
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def gmalg_verify(public_der: bytes, data: bytes, signature: bytes, uid: bytes = DEFAULT_USER_ID) -> bool:
    verifier = gmalg.SM2(pk=public_point(public_der), uid=uid)
    return verifier.verify(data, signature[:32], signature[32:])


def flip_bit(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- registration and key formats ---------------------------------------------------------


def test_registered_under_its_alg():
    assert SM2.alg == SM2_SM3
    assert SM2.name == "SM2-SM3"
    assert isinstance(ALGORITHMS[SM2_SM3], Sm2Sm3)
    assert isinstance(algorithm_for(SM2_SM3), Sm2Sm3)


def test_keys_are_pkcs8_pem_and_spki_der_on_the_sm2_curve(keypair):
    private_pem, public_der = keypair
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    private = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(private.curve, ec.SM2)
    public = serialization.load_der_public_key(public_der)
    assert isinstance(public.curve, ec.SM2)
    assert public.public_numbers() == private.public_key().public_numbers()
    # id-ecPublicKey with the SM2 curve OID 1.2.156.10197.1.301 as parameter.
    assert bytes.fromhex("06082a811ccf5501822d") in public_der


# --- our own round trip -------------------------------------------------------------------


def test_sign_verify_round_trip(keypair):
    private_pem, public_der = keypair
    signature = SM2.sign(private_pem, DATA)
    assert len(signature) == 64
    assert SM2.verify(public_der, DATA, signature) is True


def test_signatures_are_randomised_and_both_verify(keypair):
    private_pem, public_der = keypair
    first, second = SM2.sign(private_pem, DATA), SM2.sign(private_pem, DATA)
    assert first != second
    assert SM2.verify(public_der, DATA, first)
    assert SM2.verify(public_der, DATA, second)


def test_empty_message(keypair):
    private_pem, public_der = keypair
    assert SM2.verify(public_der, b"", SM2.sign(private_pem, b""))


@pytest.mark.parametrize("bit", [0, 7, 8 * 10 + 3, 8 * len(DATA) - 1])
def test_flipped_bit_in_data_fails(keypair, bit):
    private_pem, public_der = keypair
    signature = SM2.sign(private_pem, DATA)
    assert SM2.verify(public_der, flip_bit(DATA, bit), signature) is False


@pytest.mark.parametrize("bit", [0, 255, 256, 300, 511])
def test_flipped_bit_in_signature_fails(keypair, bit):
    private_pem, public_der = keypair
    signature = SM2.sign(private_pem, DATA)
    assert SM2.verify(public_der, DATA, flip_bit(signature, bit)) is False


@pytest.mark.parametrize("length", [0, 1, 32, 63, 65, 72])
def test_wrong_length_signature_fails(keypair, length):
    private_pem, public_der = keypair
    signature = SM2.sign(private_pem, DATA)
    wrong = (signature * 2)[:length]
    assert SM2.verify(public_der, DATA, wrong) is False


def test_zero_padded_s_is_not_accepted(keypair):
    """r || 00 || s denotes the same integers; only the fixed 32+32 form is one signature."""
    private_pem, public_der = keypair
    signature = SM2.sign(private_pem, DATA)
    assert SM2.verify(public_der, DATA, signature[:32] + b"\x00" + signature[32:]) is False


def test_der_encoded_signature_is_not_accepted(keypair):
    """Only the raw r||s form is valid; the DER Tongsuo produces internally is not."""
    private_pem, public_der = keypair
    private = serialization.load_pem_private_key(private_pem, password=None)
    der = private.sign(DATA, ec.ECDSA(hashes.SM3()))
    assert SM2.verify(public_der, DATA, der) is False


@pytest.mark.parametrize(
    "signature",
    [
        bytes(64),
        (1).to_bytes(32, "big") + bytes(32),
        bytes(32) + (1).to_bytes(32, "big"),
        SM2_N.to_bytes(32, "big") * 2,
        b"\xff" * 64,
    ],
    ids=["zero", "s-zero", "r-zero", "r-s-equal-n", "all-ones"],
)
def test_out_of_range_r_or_s_fails(keypair, signature):
    assert SM2.verify(keypair[1], DATA, signature) is False


def test_another_sm2_key_does_not_verify(keypair):
    private_pem, _ = keypair
    other_public = SM2.public_der(SM2.generate_private_pem())
    assert SM2.verify(other_public, DATA, SM2.sign(private_pem, DATA)) is False


# --- keys of other algorithms and bad key bytes ------------------------------------------


def test_es256_key_does_not_verify_an_sm2_signature(keypair):
    private_pem, _ = keypair
    es256_public = Es256().public_der(Es256().generate_private_pem())
    assert SM2.verify(es256_public, DATA, SM2.sign(private_pem, DATA)) is False


def test_es256_signature_does_not_verify_as_sm2():
    es256 = Es256()
    es256_private = es256.generate_private_pem()
    signature = es256.sign(es256_private, DATA)
    assert es256.verify(es256.public_der(es256_private), DATA, signature)
    assert SM2.verify(es256.public_der(es256_private), DATA, signature) is False


def test_ed25519_key_does_not_verify_an_sm2_signature(keypair):
    private_pem, _ = keypair
    ed_public = Ed25519().public_der(Ed25519().generate_private_pem())
    assert SM2.verify(ed_public, DATA, SM2.sign(private_pem, DATA)) is False


@pytest.mark.parametrize("algorithm", [Es256(), Ed25519()], ids=lambda a: a.name)
def test_signing_with_a_key_of_another_algorithm_is_refused(algorithm):
    with pytest.raises(ValueError, match="SM2"):
        SM2.sign(algorithm.generate_private_pem(), DATA)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda der: b"",
        lambda der: b"\x30\x03abc",
        lambda der: der[:-1],
        lambda der: der[:-1] + bytes([der[-1] ^ 1]),  # y no longer on the curve
        lambda der: der + b"\x00",
    ],
    ids=["empty", "garbage", "truncated", "off-curve", "trailing-byte"],
)
def test_bad_public_key_bytes_fail_without_raising(keypair, mangle):
    private_pem, public_der = keypair
    assert SM2.verify(mangle(public_der), DATA, SM2.sign(private_pem, DATA)) is False


def test_compressed_point_public_key_is_accepted(keypair):
    """SEC 1 compressed form is a valid encoding of the same key (as cryptography accepts for P-256)."""
    private_pem, public_der = keypair
    key = serialization.load_der_public_key(public_der)
    point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    # SEQUENCE { SEQUENCE { id-ecPublicKey, SM2 curve }, BIT STRING { 02/03 || x } }
    compressed_der = bytes.fromhex("3039301306072a8648ce3d020106082a811ccf5501822d032200") + point
    signature = SM2.sign(private_pem, DATA)
    assert SM2.verify(compressed_der, DATA, signature) is True
    assert SM2.verify(compressed_der + b"\x00", DATA, signature) is False


@settings(max_examples=200, deadline=None)
@given(public_der=st.binary(max_size=120), signature=st.binary(min_size=60, max_size=68))
def test_verify_never_raises_on_arbitrary_bytes(public_der, signature):
    assert SM2.verify(public_der, DATA, signature) is False


# --- cross-check with gmalg --------------------------------------------------------------


def test_our_signature_verifies_with_gmalg(keypair):
    private_pem, public_der = keypair
    signature = SM2.sign(private_pem, DATA)
    assert gmalg_verify(public_der, DATA, signature) is True
    # The check is sharp: another message or another user ID (so another Z) does not verify.
    assert gmalg_verify(public_der, DATA + b".", signature) is False
    assert gmalg_verify(public_der, DATA, signature, uid=b"1234567812345679") is False


def test_gmalg_signature_with_imported_key_verifies_with_ours():
    secret, point = gmalg.SM2().generate_keypair()
    # Import gmalg's secret scalar into Tongsuo and serialise it the way Sm2Sm3 stores keys.
    private = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SM2())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_der = SM2.public_der(private_pem)
    assert public_point(public_der) == point

    r, s = gmalg.SM2(sk=secret, uid=DEFAULT_USER_ID, pk=point).sign(DATA)
    # gmalg returns r and s in as few bytes as they need; COSE wants 32 each.
    signature = int.from_bytes(r, "big").to_bytes(32, "big") + int.from_bytes(s, "big").to_bytes(32, "big")
    assert SM2.verify(public_der, DATA, signature) is True
    assert SM2.verify(public_der, DATA + b".", signature) is False

    # And the imported key signs as before: gmalg verifies what Sm2Sm3 signs with it.
    assert gmalg_verify(public_der, DATA, SM2.sign(private_pem, DATA))


def test_gmalg_signature_with_another_user_id_does_not_verify():
    secret, point = gmalg.SM2().generate_keypair()
    private = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SM2())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    r, s = gmalg.SM2(sk=secret, uid=b"ALICE123@YAHOO.COM", pk=point).sign(DATA)
    signature = int.from_bytes(r, "big").to_bytes(32, "big") + int.from_bytes(s, "big").to_bytes(32, "big")
    assert SM2.verify(SM2.public_der(private_pem), DATA, signature) is False


def sm3_tongsuo(message: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(message)
    return digest.finalize()


def sm3_gmalg(message: bytes) -> bytes:
    digest = gmalg.SM3()
    digest.update(message)
    return digest.value()


@pytest.mark.parametrize("sm3", [sm3_tongsuo, sm3_gmalg], ids=["tongsuo", "gmalg"])
@pytest.mark.parametrize(("message", "expected"), [(b"abc", SM3_ABC), (b"abcd" * 16, SM3_ABCD_16)])
def test_sm3_gmt_0004_vectors(sm3, message, expected):
    assert sm3(message) == expected


@settings(max_examples=40, deadline=None)
@given(message=st.binary(max_size=2048))
def test_tongsuo_signed_verifies_under_gmalg(keypair, message):
    private_pem, public_der = keypair
    signature = SM2.sign(private_pem, message)
    assert len(signature) == 64
    assert gmalg_verify(public_der, message, signature)


@settings(max_examples=40, deadline=None)
@given(message=st.binary(max_size=2048))
def test_sm3_agrees_between_libraries(message):
    assert sm3_tongsuo(message) == sm3_gmalg(message)
