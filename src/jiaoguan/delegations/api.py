"""Endpoints of acting for others (issue 18): the principal's overview ("who acted for me"),
entrustments (O5), elderly proxies (O2, U6) and filed vehicles (U7). Thin handlers over
``services`` and ``selectors``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, SessionUser
from jiaoguan.core.identifiers import mask_name

from . import selectors
from .models import DelegatedAction

router = Router(tags=["delegations"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}
ME_AUTH = [BearerToken(), SessionUser()]


def caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


# ---------------------------------------------------------------- who acted for me


class DelegatedActionOut(Schema):
    at: datetime
    grant: str  # entrustment | proxy | filing
    grant_id: int
    business_code: str
    channel: str  # online | counter
    outcome: str  # done | pending | refused | stopped
    agent: str  # masked name
    reference: str
    note_zh: str
    note_en: str


def delegated_action_out(row: DelegatedAction) -> DelegatedActionOut:
    agent = row.agent_name or (row.agent_user.get_full_name() if row.agent_user else "")
    return DelegatedActionOut(
        at=row.at, grant=row.grant, grant_id=row.grant_id, business_code=row.business_code, channel=row.channel,
        outcome=row.outcome, agent=mask_name(agent) if agent else "", reference=row.reference,
        note_zh=row.note_zh, note_en=row.note_en,
    )  # fmt: skip


@router.get("/me/acted-for-me", response={200: list[DelegatedActionOut], **ERRORS}, auth=ME_AUTH)
@access_required(selectors.VIEW)
def acted_for_me(request: HttpRequest) -> Any:
    """Every action taken in my name under an entrustment, a proxy or a filing, newest first
    (at most 100): business, time, counter or online, outcome."""
    return [
        delegated_action_out(row)
        for row in selectors.acted_for_me(actor=caller(request))[: selectors.ACTED_LIMIT]
    ]


# ---------------------------------------------------------------- online entrustment (O5)


# ---------------------------------------------------------------- elderly proxy (O2, U6)


# ---------------------------------------------------------------- filed vehicles (U7)


# ---------------------------------------------------------------- counter (O5 checks)
