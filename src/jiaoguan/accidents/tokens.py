"""The signed QR of an accident query credential (AQ1:), in the credentials token profile (A5)."""

from __future__ import annotations

from django.utils import timezone

from jiaoguan.credentials.keys import MAX_TOKEN_LIFETIME
from jiaoguan.credentials.services import (
    STATUS_CODE,
    register_status_resolver,
    register_status_space,
    sign_payload,
)
from jiaoguan.credentials.token import Decoded, DisplayMode, Schema, register_schema

ACCIDENT_QUERY = register_schema(
    Schema(
        "AQ1",
        "道路交通事故查询凭证",
        "Accident query credential",
        {"number": 1, "code": 2, "role": 3},
    )
)


def query_credential_token(*, number: str, code: str, role: str, credential_id: int) -> str:
    """The printed credential's QR: scanning it fills in the accident number and the query code."""
    now = timezone.now()
    return sign_payload(
        schema=ACCIDENT_QUERY,
        data={"number": number, "code": code, "role": role},
        index=credential_id,
        issued_at=int(now.timestamp()),
        expires_at=int((now + MAX_TOKEN_LIFETIME).timestamp()),
        mode=DisplayMode.PRINTED,
    )


def _status(decoded: Decoded) -> str:
    from .models import QueryCredential

    credential = QueryCredential.objects.filter(pk=decoded.index).only("revoked_at").first()
    if credential is None:
        return "unknown"
    return "revoked" if credential.revoked_at else "valid"


def _listed() -> tuple[int, dict[int, int]]:
    """AQ1's own index space in the status list: an AQ1 carries its query credential's id (A5)."""
    from .models import QueryCredential

    last = QueryCredential.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    revoked = QueryCredential.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)
    return last + 1, {pk: STATUS_CODE["revoked"] for pk in revoked.iterator()}


register_status_resolver("AQ1", _status)
register_status_space(("AQ1",), _listed)
