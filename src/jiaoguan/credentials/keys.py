"""Signing keys: creation, rotation, the private-key store and the trust list.

Private keys live as PEM files in ``CREDENTIAL_KEY_DIR`` (a mounted secret in
production) or, for the one active key, in ``JIAOGUAN_CREDENTIAL_PRIVATE_KEY``; the
database keeps only public keys. Rotation adds a new key and retires the old one, which
keeps verifying until every credential it could have signed has expired.

The active key exists before the server answers (``signing_key_ready`` at startup): made
then in demo mode, checked otherwise, so the published trust list is never empty.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction
from django.utils import timezone

from jiaoguan.core.errors import Conflict
from jiaoguan.core.locks import lock_named

from .crypto import ES256, PublicKey, algorithm_for
from .models import SigningKey

# The longest lifetime any token may have (printed credentials); ``sign_payload`` refuses longer.
MAX_TOKEN_LIFETIME = timedelta(days=366)


def _key_dir() -> Path:
    path = Path(settings.CREDENTIAL_KEY_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _private_pem(kid: str) -> bytes | None:
    env = os.environ.get("JIAOGUAN_CREDENTIAL_PRIVATE_KEY")
    if env and os.environ.get("JIAOGUAN_CREDENTIAL_KID", kid) == kid:
        return env.encode()
    path = _key_dir() / f"{kid}.pem"
    return path.read_bytes() if path.exists() else None


def key_create(*, alg: int = ES256, not_before_delay: timedelta = timedelta(0)) -> SigningKey:
    """Generate a key pair; the private half goes to the key directory only."""
    algorithm = algorithm_for(alg)
    if algorithm is None:
        raise Conflict(
            "credentials.alg_unavailable", "该签名算法不可用。", "That signature algorithm is not available."
        )
    kid = secrets.token_hex(4)  # 4 bytes: enough to tell keys apart, small in every QR
    private_pem = algorithm.generate_private_pem()
    path = _key_dir() / f"{kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    key = SigningKey.objects.create(
        kid=kid,
        alg=alg,
        public_der=algorithm.public_der(private_pem),
        not_before=timezone.now() + not_before_delay,
    )
    trust_cache_clear()
    return key


_ACTIVE_SECONDS = 60.0
# How long a retired key stays on the trust list: the longest token, signed by a process that
# still had the key in memory for up to _ACTIVE_SECONDS after the rotation, plus clock leeway.
RETIRED_KEY_VERIFIES = MAX_TOKEN_LIFETIME + timedelta(seconds=_ACTIVE_SECONDS + 60)


def key_rotate(*, alg: int = ES256) -> SigningKey:
    """Add a new active key and retire the current ones (they still verify until not_after)."""
    now = timezone.now()
    with transaction.atomic():
        current = list(SigningKey.objects.select_for_update().filter(retired_at__isnull=True))
        new = key_create(alg=alg)
        for key in current:
            key.retired_at = now
            key.not_after = now + RETIRED_KEY_VERIFIES
            key.save(update_fields=["retired_at", "not_after"])
    trust_cache_clear()
    return new


_active: tuple[float, SigningKey, bytes] | None = None


def active_key() -> tuple[SigningKey, bytes]:
    """The newest usable key with its private half, kept in memory for a minute per process.

    After a rotation another process may sign with the previous key for up to a minute;
    that key keeps verifying, so nothing it signs is lost.
    """
    global _active
    if _active is not None and time.monotonic() - _active[0] < _ACTIVE_SECONDS:
        return _active[1], _active[2]
    key, pem = _load_active_key()
    _active = (time.monotonic(), key, pem)
    return key, pem


def _usable_key() -> tuple[SigningKey, bytes] | None:
    now = timezone.now()
    for key in SigningKey.objects.filter(retired_at__isnull=True, not_before__lte=now).order_by(
        "-not_before", "-id"
    ):
        pem = _private_pem(key.kid)
        if pem is not None:
            return key, pem
    return None


def _may_create_key() -> bool:
    return bool(settings.DEMO_MODE or settings.CREDENTIAL_AUTO_KEY)


def _create_first_key() -> tuple[SigningKey, bytes]:
    """Make the key once: concurrent starters (several server processes) wait and find it."""
    with transaction.atomic():
        lock_named("credentials.signing_key")
        found = _usable_key()
        if found is not None:
            return found
        key = key_create(alg=settings.CREDENTIAL_ALG)
    pem = _private_pem(key.kid)
    assert pem is not None
    return key, pem


def _load_active_key() -> tuple[SigningKey, bytes]:
    found = _usable_key()
    if found is not None:
        return found
    if _may_create_key():
        return _create_first_key()
    raise Conflict(
        "credentials.no_signing_key",
        "签发服务暂不可用（没有可用的签名密钥），请稍后再试。",
        "Issuing is unavailable (no signing key is configured); try again later.",
    )


NO_KEY_HELP = (
    "Create one with `jiaoguan keys rotate` (its private key is written to "
    "JIAOGUAN_CREDENTIAL_KEY_DIR={key_dir}), or give the active private key in "
    "JIAOGUAN_CREDENTIAL_PRIVATE_KEY with its id in JIAOGUAN_CREDENTIAL_KID. Without it the "
    "published trust list (/api/v1/credentials/keys) would be empty and no credential could "
    "be verified offline, so the server does not start. Demo mode (JIAOGUAN_DEMO=1) or "
    "JIAOGUAN_CREDENTIAL_AUTO_KEY=1 makes one at startup."
)


def signing_key_ready() -> SigningKey:
    """The active signing key, present before the server answers its first request (E4, E5; issue 10).

    In demo mode (or with ``JIAOGUAN_CREDENTIAL_AUTO_KEY``) a missing key is made now, once
    however many processes start together; otherwise a missing key, a private key that is
    not here, or one that does not match its public key stops the start with the reason.
    """
    try:
        found = _usable_key()
        if found is None and _may_create_key():
            found = _create_first_key()
        known = list(SigningKey.objects.filter(retired_at__isnull=True).values_list("kid", flat=True))
    except DatabaseError as error:
        raise ImproperlyConfigured(
            f"Cannot check the credential signing key: {error}. Is the database reachable and "
            "migrated (`jiaoguan migrate`)?"
        ) from error
    help_text = NO_KEY_HELP.format(key_dir=settings.CREDENTIAL_KEY_DIR)
    if found is None:
        if known:
            raise ImproperlyConfigured(
                f"No private key for the active credential signing key(s) {', '.join(known)} is "
                f"available to this process (neither {settings.CREDENTIAL_KEY_DIR}/<kid>.pem nor "
                f"JIAOGUAN_CREDENTIAL_PRIVATE_KEY). {help_text}"
            )
        raise ImproperlyConfigured(f"There is no credential signing key. {help_text}")
    key, pem = found
    algorithm = algorithm_for(key.alg)
    if algorithm is None:
        raise ImproperlyConfigured(
            f"The active credential signing key {key.kid} uses algorithm {key.alg}, which this "
            "installation cannot sign with (SM2 needs Tongsuo). Rotate to another algorithm with "
            "`jiaoguan keys rotate --alg ES256`."
        )
    try:
        matches = algorithm.public_der(pem) == bytes(key.public_der)
    except (ValueError, TypeError):
        matches = False
    if not matches:
        raise ImproperlyConfigured(
            f"The private key given for the credential signing key {key.kid} does not belong to it "
            "(check JIAOGUAN_CREDENTIAL_PRIVATE_KEY and JIAOGUAN_CREDENTIAL_KID). Every credential it "
            f"signed would fail verification. {help_text}"
        )
    return key


def _public(key: SigningKey) -> PublicKey:
    return PublicKey(
        kid=bytes.fromhex(key.kid),
        alg=key.alg,
        public_der=bytes(key.public_der),
        not_before=int(key.not_before.timestamp()),
        not_after=int(key.not_after.timestamp()) if key.not_after else None,
    )


def trust_list(*, now: datetime | None = None) -> list[PublicKey]:
    """Every key a verifier should accept now: the active ones and every retired key that has
    signed something still unexpired (it stays until ``not_after``, see RETIRED_KEY_VERIFIES)."""
    now = now or timezone.now()
    return [_public(k) for k in SigningKey.objects.all() if k.not_after is None or k.not_after > now]


# Verification is hot: keep the trust list in memory for a short while per process.
_CACHE_SECONDS = 30.0
_cache: dict[bytes, PublicKey] = {}
_cache_loaded = 0.0
_cache_lock = threading.Lock()


def trust_cache_clear() -> None:
    global _cache_loaded, _active
    _active = None
    with _cache_lock:
        _cache.clear()
        _cache_loaded = 0.0


def trusted_key(kid: bytes) -> PublicKey | None:
    global _cache_loaded
    with _cache_lock:
        fresh = time.monotonic() - _cache_loaded < _CACHE_SECONDS
        if fresh and kid in _cache:
            return _cache[kid]
    keys = {k.kid: k for k in trust_list()}
    with _cache_lock:
        _cache.clear()
        _cache.update(keys)
        _cache_loaded = time.monotonic()
        return _cache.get(kid)
