"""Client credentials for systems (接入系统凭据): cameras, insurers and banks calling the API.

A system authenticates with HTTP Basic ``client_id:secret``. The secret is a random
256-bit token, shown once at creation; only its SHA-256 is stored (a slow password hash
adds nothing for a secret with that much entropy, and every request checks it). Each
client has scopes (what it may do) and a division (the area it may act for).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBasicAuth

from jiaoguan.core.divisions import validate_division
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from jiaoguan.registry.models import Organisation

from .models import ApiClient

SCOPE_VIOLATIONS_IMPORT = "violations:import"
# An inspection station reports its results (issue 14, B4); the client is bound to the station's organisation.
SCOPE_INSPECTION_RESULTS = "inspections:results"
# An exam centre reports results (issue 16, X1-X6); the client is bound to the centre's organisation.
SCOPE_EXAM_RESULTS = "exams:results"
KNOWN_SCOPES = frozenset({SCOPE_VIOLATIONS_IMPORT, SCOPE_INSPECTION_RESULTS, SCOPE_EXAM_RESULTS})
CLIENT_ID_PREFIX = "jgc_"
_CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")
# Compared against when the client id is unknown, so a miss costs the same as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"no such client").hexdigest()


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _scopes_clean(scopes: str) -> str:
    names = sorted(set((scopes or "").split()))
    unknown = [name for name in names if name not in KNOWN_SCOPES]
    if not names or unknown:
        raise ValidationFailed(
            "accounts.client_scopes",
            f"授权范围无效：{' '.join(unknown) or '（空）'}；可用：{' '.join(sorted(KNOWN_SCOPES))}。",
            f"Invalid scopes: {' '.join(unknown) or '(none)'}; known: {' '.join(sorted(KNOWN_SCOPES))}.",
            field="scopes",
        )
    return " ".join(names)


def api_client_create(
    *, name: str, scopes: str, division: str, organisation_uscc: str = ""
) -> tuple[ApiClient, str]:
    """Register a system; returns the client and its secret, which is never shown again."""
    name = (name or "").strip()
    if not 2 <= len(name) <= 100:
        raise ValidationFailed(
            "accounts.client_name", "接入系统名称须为2至100个字。", "The name must have 2 to 100 characters.",
            field="name",
        )  # fmt: skip
    scope_text = _scopes_clean(scopes)
    division = validate_division((division or "").strip())
    organisation = None
    if organisation_uscc:
        organisation = Organisation.objects.filter(uscc=organisation_uscc.strip().upper()).first()
        if organisation is None:
            raise NotFound(
                "accounts.client_organisation", "没有这个统一社会信用代码的单位。",
                "No organisation has this unified social credit code.", field="organisation_uscc",
            )  # fmt: skip
    secret = secrets.token_urlsafe(32)
    client = ApiClient.objects.create(
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(8),
        name=name,
        secret_hash=_secret_hash(secret),
        scopes=scope_text,
        division=division,
        organisation=organisation,
    )
    return client, secret


def api_client_revoke(*, client_id: str) -> ApiClient:
    """Revoke a client at once; its secret stops working with the next request."""
    with transaction.atomic():
        client = ApiClient.objects.select_for_update().filter(client_id=client_id).first()
        if client is None:
            raise NotFound("accounts.client_not_found", "没有这个接入系统。", "No such API client.")
        if client.revoked_at is not None:
            raise Conflict(
                "accounts.client_revoked", "该接入系统已停用。", "This API client is already revoked."
            )
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])
    return client


def api_client_authenticate(client_id: str, secret: str, scope: str) -> ApiClient | None:
    """The client for these credentials, or None when they are wrong or revoked.

    Right credentials without ``scope`` raise :class:`NotAllowed` (403), so a system learns
    that it must ask for the scope rather than retry its secret.
    """
    client = None
    if _CLIENT_ID_RE.fullmatch(client_id or ""):
        client = ApiClient.objects.filter(client_id=client_id, revoked_at__isnull=True).first()
    expected = client.secret_hash if client is not None else _DUMMY_HASH
    if not hmac.compare_digest(_secret_hash(secret or ""), expected) or client is None:
        return None
    if not client.has_scope(scope):
        raise NotAllowed(
            "accounts.client_scope",
            f"该接入系统没有 {scope} 授权。",
            f"This API client lacks the scope {scope}.",
            detail={"scope": scope},
        )
    return client


class ClientCredentials(HttpBasicAuth):
    """``Authorization: Basic base64(client_id:secret)`` for a client holding ``scope``."""

    def __init__(self, scope: str = SCOPE_VIOLATIONS_IMPORT) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, username: str, password: str) -> Any:
        return api_client_authenticate(username, password, self.scope)
