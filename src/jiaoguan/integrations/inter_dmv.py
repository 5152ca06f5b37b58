"""The channel between two DMVs (车辆管理所) for cross-region used-car transfers (T2-T4).

Each DMV runs its own installation of the platform. They speak signed JSON over HTTP exactly as
the record systems do (``records_transport``): ``X-Merchant-Id`` carries the caller's city code,
the request and the answer are signed with the key the two DMVs share, a question carries a
request id the answer repeats. The archive package (T3) is signed besides with the sending DMV's
own Ed25519 key, so the destination keeps proof of what the origin sent, whoever relayed it.

Configuration: ``JIAOGUAN_DMV_PEERS`` (JSON: city code -> ``url``, shared ``key``, ``public_key``
of its package signatures, base64 DER) and ``JIAOGUAN_DMV_SIGNING_KEY`` (this DMV's PEM private
key; without it a key is derived from the installation's secret key, which suits a demo only).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings

from jiaoguan.core.crypto import Ed25519

from .payment_gateway import (
    HEADER_MERCHANT,
    HEADER_SIGNATURE,
    check_signed,
    header_value,
    request_message,
    signed_headers,
)
from .records_transport import RecordsRefused, RecordsTransport, RecordsUnavailable

PACKAGE_FORMAT = "jg-archive-1"
API_PREFIX = "/api/v1/inter-dmv"


class InterDmvUnavailable(RecordsUnavailable):
    """The other DMV did not answer (down, 5xx, too slow, unsigned answer): nothing is known."""


class InterDmvRefused(RecordsRefused):
    """The other DMV answered with a signed refusal; ``code`` and the messages say why."""

    message_zh: str = ""


@dataclass(frozen=True)
class Peer:
    """Another DMV: its city code, where it is reached, our shared key, its package-signing key."""

    city: str
    url: str
    key: bytes
    public_der: bytes


def _peer_table() -> dict[str, Peer]:
    raw = getattr(settings, "DMV_PEERS", {}) or {}
    if isinstance(raw, str):
        raw = json.loads(raw) if raw.strip() else {}
    table: dict[str, Peer] = {}
    for city, entry in raw.items():
        try:
            public_der = base64.b64decode(str(entry.get("public_key", "")), validate=True)
        except (binascii.Error, ValueError):
            public_der = b""
        table[str(city)] = Peer(
            city=str(city), url=str(entry.get("url", "")).rstrip("/"), key=str(entry.get("key", "")).encode(),
            public_der=public_der,
        )  # fmt: skip
    return table


def peer(city: str) -> Peer | None:
    """The configured DMV of ``city``, or None: a city we have no channel with."""
    found = _peer_table().get(city)
    return found if found is not None and found.key else None


def own_city() -> str:
    return str(settings.JIAOGUAN_JURISDICTION)


def signing_private_pem() -> bytes:
    configured = (getattr(settings, "DMV_SIGNING_KEY", "") or "").replace("\\n", "\n").strip()
    if configured:
        return configured.encode()
    # Demo only: a key of its own per installation, derived from the secret key and city.
    seed = hashlib.sha256(f"inter-dmv:{settings.SECRET_KEY}:{own_city()}".encode()).digest()
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_b64() -> str:
    """This DMV's package-signing public key as its peers configure it (base64 DER)."""
    return base64.b64encode(Ed25519().public_der(signing_private_pem())).decode()


def canonical(package: dict[str, Any]) -> bytes:
    return json.dumps(package, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign_package(package: dict[str, Any]) -> str:
    return base64.b64encode(Ed25519().sign(signing_private_pem(), canonical(package))).decode()


def verify_package(package: Any, signature: Any, public_der: bytes) -> bool:
    """Whether the package was signed by the holder of ``public_der`` and not changed since."""
    if not isinstance(package, dict) or not isinstance(signature, str) or not public_der:
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    return Ed25519().verify(public_der, canonical(package), raw)


# ---------------------------------------------------------------- client


class InterDmv(Protocol):
    """What one DMV asks another; each call is idempotent on the other side (keyed by transfer)."""

    def post(self, what: str, payload: dict[str, Any], *, reference: str) -> dict[str, Any]: ...


class _Transport(RecordsTransport):
    service_name: ClassVar[str] = "peer DMV"
    unavailable_error: ClassVar[type[Exception]] = InterDmvUnavailable
    timeout_error: ClassVar[type[Exception]] = InterDmvUnavailable
    refused_error: ClassVar[type[RecordsRefused]] = InterDmvRefused

    def refused(self, status: int, content: bytes) -> Exception:
        error = super().refused(status, content)
        try:
            zh = json.loads(content).get("message_zh")
        except (ValueError, AttributeError):
            zh = None
        if isinstance(error, InterDmvRefused) and isinstance(zh, str):
            error.message_zh = zh[:200]
        return error


class HttpInterDmv:
    """Signed JSON to one peer DMV at ``/api/v1/inter-dmv/<what>``."""

    def __init__(self, target: Peer) -> None:
        self.transport = _Transport(
            base_url=target.url, party_id=own_city(), key=target.key,
            timeout=float(getattr(settings, "DMV_TIMEOUT_SECONDS", 5.0)),
            retries=int(getattr(settings, "DMV_RETRIES", 2)),
        )  # fmt: skip

    def post(self, what: str, payload: dict[str, Any], *, reference: str) -> dict[str, Any]:
        _request_id, data = self.transport.ask("POST", f"{API_PREFIX}/{what}", payload, request_id=reference)
        return data


def get_inter_dmv(city: str) -> InterDmv:
    """The client for the DMV of ``city``; unconfigured cities are unavailable, never guessed."""
    target = peer(city)
    if target is None or not target.url:
        raise InterDmvUnavailable("unreachable", f"no channel is configured with the DMV of {city}")
    return HttpInterDmv(target)


# ---------------------------------------------------------------- server side


@dataclass(frozen=True)
class Inbound:
    """A peer's request that passed the checks: who sent it and what it says."""

    peer: Peer
    data: dict[str, Any]


def inbound_check(method: str, path: str, headers: Any, body: bytes) -> tuple[Inbound | None, int, str]:
    """Check a peer's signed request: (inbound, 0, "") or (None, HTTP status, error code).

    401 when it is unsigned; 403 for an unknown peer or a wrong or stale signature.
    """
    city = header_value(headers, HEADER_MERCHANT)
    if not city or not header_value(headers, HEADER_SIGNATURE):
        return None, 401, "missing_signature"
    sender = peer(city)
    if sender is None:
        return None, 403, "unknown_peer"
    problem = check_signed(
        headers, merchant_id=city, key=sender.key, message=request_message(method, path, body)
    )
    if problem is not None:
        return None, 403, problem
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return None, 400, "invalid_request"
    if not isinstance(data, dict):
        return None, 400, "invalid_request"
    return Inbound(peer=sender, data=data), 0, ""


def signed_answer(sender: Peer, data: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The body and headers of an answer the peer will accept (signed with the shared key)."""
    content = json.dumps(data, ensure_ascii=False, default=str).encode()
    headers = signed_headers(sender.city, sender.key, content)
    headers["Content-Type"] = "application/json; charset=utf-8"
    return content, headers
