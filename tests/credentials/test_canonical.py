"""Only the encoding the platform emits verifies (E4; issue 10, item 11).

The unprotected header and the COSE envelope are outside the signature: before, a token
with a changed unprotected header, a lower-case prefix, a removed tag or a re-spelled
envelope still verified. Each spelling other than the one issued is now refused with its
reason, online and offline alike; hypothesis re-spells and mutates real tokens.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import base45
import cbor2
import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaoguan.credentials import keys, services
from jiaoguan.credentials.crypto import algorithm_for
from jiaoguan.credentials.token import DisplayMode
from jiaoguan.credentials.verify import parse_trust_list, trust_list_json, verify_offline

pytestmark = pytest.mark.django_db

# Every refusal of a token not as issued comes with one of these reasons.
REFUSALS = {
    "prefix_not_canonical", "unknown_prefix", "bad_encoding", "bad_cbor", "trailing_bytes", "bad_tag",
    "bad_structure", "unprotected_header", "non_canonical", "bad_signature", "unknown_key",
    "alg_mismatch", "unsupported_alg", "kind_mismatch", "bad_claims", "too_long",
    "key_not_valid_at_issue", "expired", "not_yet_valid",
}  # fmt: skip


@pytest.fixture
def mark(make_person, make_vehicle):
    vehicle = make_vehicle(
        owner=make_person(name="郑爽"),
        registered_on=timezone.localdate() - timedelta(days=400),
        plate="豫QC2468",
    )
    credential = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    assert credential is not None
    return credential


@pytest.fixture
def token(mark):
    text, _ = services.credential_token(credential=mark, mode=DisplayMode.OFFLINE)
    return text


def parts(text: str) -> tuple[str, bytes, bytes, bytes]:
    """Prefix, protected header, payload and signature of a token."""
    prefix, body = text.split(":", 1)
    message = cbor2.loads(base45.b45decode(body))
    protected, _unprotected, payload, signature = message.value
    return prefix, protected, payload, signature


def spell(prefix: str, raw: bytes) -> str:
    return f"{prefix}:{base45.b45encode(raw).decode()}"


# Hand-written CBOR (RFC 8949), so the envelope can be spelled in every legal but
# non-canonical way: wider integer arguments, indefinite lengths, other tags.
def head(major: int, value: int, width: int = 0) -> bytes:
    """A CBOR item head; ``width`` 1, 2, 4 or 8 forces an argument that long (non-minimal)."""
    if not width:
        width = 0 if value < 24 else 1 if value < 256 else 2 if value < 65536 else 4
    if width == 0:
        return bytes([major << 5 | value])
    info = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes([major << 5 | info]) + value.to_bytes(width, "big")


def bstr(data: bytes, spelling: str) -> bytes:
    if spelling == "indefinite":
        middle = len(data) // 2
        return (
            b"\x5f" + head(2, middle) + data[:middle] + head(2, len(data) - middle) + data[middle:] + b"\xff"
        )
    return head(2, len(data), {"minimal": 0, "wide": 8}[spelling]) + data


TAGS = {
    "canonical": b"\xd2",
    "wide": b"\xd8\x12",  # tag 18 with a one-byte argument
    "wider": b"\xd9\x00\x12",
    "removed": b"",
    "cose_sign": b"\xd8\x62",  # 98, COSE_Sign instead of COSE_Sign1
    "cwt_wrapped": b"\xd8\x3d\xd2",  # 61 (CWT) around 18: legal in RFC 8392, never issued here
}
ARRAYS = {"canonical": b"\x84", "wide": b"\x98\x04", "indefinite": b"\x9f"}
UNPROTECTED = {
    "canonical": b"\xa0",
    "wide": b"\xb8\x00",  # an empty map with a one-byte length
    "indefinite": b"\xbf\xff",
    "kid": b"\xa1\x04\x44\x00\x00\x00\x00",  # {4: kid}, what a forger would add
    "duplicate": b"\xa2\x04\x41\x00\x04\x41\x00",  # {4: h'00', 4: h'00'}
    "iv": b"\xa1\x05\x41\x01",  # {5: IV}
}


def envelope(text: str, *, tag="canonical", array="canonical", unprotected="canonical",
             protected="minimal", payload="minimal", signature="minimal", trailing=b"") -> str:  # fmt: skip
    prefix, protected_raw, payload_raw, signature_raw = parts(text)
    items = bstr(protected_raw, protected) + UNPROTECTED[unprotected]
    items += bstr(payload_raw, payload) + bstr(signature_raw, signature)
    body = ARRAYS[array] + items + (b"\xff" if array == "indefinite" else b"")
    return spell(prefix, TAGS[tag] + body + trailing)


def expected_reason(*, tag, array, unprotected, protected, payload, signature, trailing) -> str | None:
    """The reason a spelling is refused with, in the order the checks run; None: as issued."""
    if trailing:
        return "trailing_bytes"
    if tag not in ("canonical", "wide", "wider"):
        return "bad_tag"
    if unprotected in ("kid", "duplicate", "iv"):
        return "unprotected_header"
    spelled = (tag, array, unprotected, protected, payload, signature)
    if any(choice != "canonical" and choice != "minimal" for choice in spelled):
        return "non_canonical"
    return None


def online(text: str):
    return services.credential_verify(text=text)


def offline(text: str):
    trust = parse_trust_list(trust_list_json(keys.trust_list()))
    return verify_offline(text, trust=trust, status_list=services.status_list_token(), now=int(time.time()))


def test_the_token_as_issued_verifies_and_rebuilding_it_changes_nothing(token):
    assert envelope(token) == token  # the hand-written envelope matches the platform's bytes
    assert online(token).valid and offline(token).valid


@pytest.mark.parametrize(
    ("spelling", "reason"),
    [
        ({"unprotected": "kid"}, "unprotected_header"),
        ({"unprotected": "iv"}, "unprotected_header"),
        ({"unprotected": "duplicate"}, "unprotected_header"),
        ({"unprotected": "indefinite"}, "non_canonical"),
        ({"tag": "removed"}, "bad_tag"),
        ({"tag": "cose_sign"}, "bad_tag"),
        ({"tag": "cwt_wrapped"}, "bad_tag"),
        ({"tag": "wide"}, "non_canonical"),
        ({"array": "indefinite"}, "non_canonical"),
        ({"array": "wide"}, "non_canonical"),
        ({"signature": "wide"}, "non_canonical"),
        ({"payload": "indefinite"}, "non_canonical"),
        ({"protected": "wide"}, "non_canonical"),
        ({"trailing": b"\x00"}, "trailing_bytes"),
        ({"trailing": b"\xd2\x84"}, "trailing_bytes"),
    ],
)
def test_a_respelled_envelope_is_refused_online_and_offline(token, spelling, reason):
    text = envelope(token, **spelling)
    for verdict in (online(text), offline(text)):
        assert not verdict.valid and verdict.reason == reason, (spelling, verdict)
        assert verdict.message_zh and verdict.message_en
        assert ("signature", True) not in verdict.checks  # never shown as a signed token


@pytest.mark.parametrize("prefix", ["vi1", "Vi1", "vI1"])
def test_a_lower_case_prefix_is_refused(token, prefix):
    text = prefix + token[3:]
    for verdict in (online(text), offline(text)):
        assert not verdict.valid and verdict.reason == "prefix_not_canonical"
        assert "VI1:" in verdict.message_zh and "upper-case" in verdict.message_en


def test_surrounding_whitespace_is_not_part_of_the_token(token):
    """A line end from a file or a pasted space is transport, not a different token."""
    assert online(f"  {token}\n").valid


def test_a_lower_case_body_is_refused(token):
    verdict = online(token[:4] + token[4:].lower())
    assert not verdict.valid and verdict.reason in {"bad_encoding", "prefix_not_canonical"}


def signed(token: str, protected: bytes, payload: bytes) -> str:
    """The same claims re-spelled and signed with the platform's own key (as only the issuer could)."""
    prefix = token.split(":", 1)[0]
    key, pem = keys.active_key()
    algorithm = algorithm_for(key.alg)
    signature = algorithm.sign(pem, cbor2.dumps(["Signature1", protected, b"", payload]))
    return spell(prefix, cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))


def claims_spelled(claims: dict, *, iat_width: int = 0, extra: bytes = b"", extra_count: int = 0) -> bytes:
    """The claims map written by hand: iat with a forced width, extra entries appended."""
    out = head(5, len(claims) + extra_count)
    for key, value in claims.items():
        out += cbor2.dumps(key)
        out += head(0, value, iat_width) if key == 6 and iat_width else cbor2.dumps(value)
    return out + extra


def test_signed_but_not_as_the_platform_writes_it_is_refused_too(token):
    """Defence in depth: the signed bytes themselves must be canonical, not just signed."""
    _prefix, protected, payload, _signature = parts(token)
    header, claims = cbor2.loads(protected), cbor2.loads(payload)
    alg, kid = header[1], header[4]
    alg_spelled, kid_spelled = cbor2.dumps(alg), head(2, len(kid)) + kid
    assert online(signed(token, protected, payload)).valid  # the helper signs as the platform does
    assert claims_spelled(claims) == payload
    respelled = {
        "protected keys reordered": (cbor2.dumps({4: kid, 1: alg}), payload),
        "protected duplicate key": (
            head(5, 3) + b"\x01" + alg_spelled + b"\x04" + kid_spelled + b"\x01" + alg_spelled,
            payload,
        ),
        "protected non-minimal alg": (
            head(5, 2) + b"\x01" + head(1, -1 - alg, 8) + b"\x04" + kid_spelled,
            payload,
        ),
        "payload indefinite map": (protected, b"\xbf" + payload[1:] + b"\xff"),
        "payload non-minimal iat": (protected, claims_spelled(claims, iat_width=8)),
        "payload duplicate claim": (
            protected,
            claims_spelled(claims, extra=b"\x07" + cbor2.dumps(claims[7]), extra_count=1),
        ),
    }
    for name, (protected_raw, payload_raw) in respelled.items():
        verdict = online(signed(token, protected_raw, payload_raw))
        assert not verdict.valid and verdict.reason == "non_canonical", (name, verdict)
    trailing = online(signed(token, protected, payload + b"\x00"))
    assert not trailing.valid and trailing.reason == "trailing_bytes"


def test_the_api_refuses_each_respelling_with_its_reason(token):
    client = Client()
    for text, reason in [
        (envelope(token, unprotected="kid"), "unprotected_header"),
        ("vi1" + token[3:], "prefix_not_canonical"),
        (envelope(token, tag="removed"), "bad_tag"),
        (envelope(token, array="indefinite"), "non_canonical"),
        (envelope(token, trailing=b"\x00"), "trailing_bytes"),
    ]:
        response = client.post(
            "/api/v1/credentials/verify", json.dumps({"text": text}), content_type="application/json"
        )
        assert response.status_code == 200
        body = response.json()
        assert body["valid"] is False and body["reason"] == reason, body
    assert client.post(
        "/api/v1/credentials/verify", json.dumps({"text": token}), content_type="application/json"
    ).json()["valid"]


SPELLINGS = st.fixed_dictionaries(
    {
        "tag": st.sampled_from(sorted(TAGS)),
        "array": st.sampled_from(sorted(ARRAYS)),
        "unprotected": st.sampled_from(sorted(UNPROTECTED)),
        "protected": st.sampled_from(["minimal", "wide", "indefinite"]),
        "payload": st.sampled_from(["minimal", "wide", "indefinite"]),
        "signature": st.sampled_from(["minimal", "wide", "indefinite"]),
        "trailing": st.one_of(st.just(b""), st.binary(min_size=1, max_size=8)),
    }
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(spelling=SPELLINGS)
def test_every_spelling_but_the_issued_one_is_refused(token, spelling):
    text = envelope(token, **spelling)
    reason = expected_reason(**spelling)
    for verdict in (online(text), offline(text)):
        if reason is None:
            assert text == token and verdict.valid
        else:
            assert not verdict.valid and verdict.reason == reason, (spelling, verdict.reason)


MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.integers(min_value=0), st.integers(min_value=1, max_value=255)),
    st.tuples(st.just("insert"), st.integers(min_value=0), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("delete"), st.integers(min_value=0), st.integers(min_value=1, max_value=4)),
)


def mutate_bytes(raw: bytes, mutation) -> bytes:
    kind, where, what = mutation
    at = where % (len(raw) + 1)
    if kind == "flip":
        at = where % len(raw)
        return raw[:at] + bytes([raw[at] ^ what]) + raw[at + 1 :]
    if kind == "insert":
        return raw[:at] + what + raw[at:]
    return raw[:at] + raw[at + what :]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutations=st.lists(MUTATIONS, min_size=1, max_size=3))
def test_no_byte_level_change_of_a_real_token_verifies(token, mutations):
    prefix, body = token.split(":", 1)
    raw = original = base45.b45decode(body)
    for mutation in mutations:
        raw = mutate_bytes(raw, mutation)
    text = spell(prefix, raw)
    for verdict in (online(text), offline(text)):
        if raw == original:
            assert verdict.valid
        else:
            assert not verdict.valid and verdict.reason in REFUSALS, verdict.reason


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    position=st.integers(min_value=0),
    replacement=st.sampled_from(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:abcvil\n")),
)
def test_no_character_change_of_a_real_token_verifies(token, position, replacement):
    at = position % len(token)
    text = token[:at] + replacement + token[at + 1 :]
    verdict = online(text)
    if text.strip() == token:
        assert verdict.valid
    else:
        assert not verdict.valid and verdict.reason in REFUSALS, verdict.reason


def test_the_platform_writes_low_s_ecdsa_signatures(token):
    """(r, n - s) verifies as well as (r, s): the platform writes only the low one (one spelling)."""
    from jiaoguan.credentials.crypto import P256_ORDER

    for _ in range(20):
        _prefix, _protected, _payload, signature = parts(services.status_list_token())
        assert int.from_bytes(signature[32:], "big") <= P256_ORDER // 2
