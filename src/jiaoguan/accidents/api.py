"""Accident query endpoints (A5): the public query, where the number and code travel in the body,
never in the URL; and a logged-in party's own cases, where the login stands for the code (A4)."""

from __future__ import annotations

import ipaddress
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser

from . import rules, services

router = Router(tags=["accidents"])
ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}
AUTH = [BearerToken(), SessionUser()]


class ProgressIn(InputSchema):
    accident_number: str = Field(..., max_length=64)
    code: str = Field(..., max_length=64, description="query code from the query credential")
    challenge: str = Field(
        "",
        max_length=200,
        description="when a 429 `accidents.challenge_required` answer gave one: its `detail.challenge`",
    )
    solution: str = Field(
        "",
        max_length=16,
        description=(
            "a decimal number n such that SHA-256 of the UTF-8 text `challenge:code:n` starts with "
            "`detail.bits` zero bits; `code` normalised: NFKC, upper case, ASCII letters and digits only, "
            "O I L written 0 1 1"
        ),
    )


class DocumentIn(ProgressIn):
    document_id: int


class StageOut(Schema):
    stage: str
    name_zh: str
    name_en: str
    happened_on: date
    note: str


class DocumentOut(Schema):
    id: int
    kind: str
    name_zh: str
    name_en: str
    number: str
    issued_on: date


class ProgressOut(Schema):
    number: str
    occurred_on: date
    place: str
    closed: bool
    role: str
    stages: list[StageOut]
    documents: list[DocumentOut]


def client_of(request: HttpRequest) -> str:
    """Who is trying, for the per-client limit: the login, else the address. An IPv6 address
    counts by its /64 network, since one subscriber is given a whole /64 to pick from."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    address = request.META.get("REMOTE_ADDR", "")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return f"ip:{address[:60]}"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return f"ip:{parsed.ipv4_mapped}"
        return f"ip:{ipaddress.ip_network(f'{parsed}/64', strict=False)}"
    return f"ip:{parsed}"


@router.post("/accidents/progress", response={200: ProgressOut, **ERRORS}, auth=None)
@access_required("accidents.progress.query")
def progress(request: HttpRequest, payload: ProgressIn) -> Any:
    """Progress and results of a case for a query credential holder (A2, A3, A5).

    Wrong codes are limited per client (429 `accidents.too_many_attempts` with Retry-After).
    On an accident number that many wrong codes were tried on, a try first answers 429
    `accidents.challenge_required` with `detail.challenge` and `detail.bits`: send the same
    request again with `challenge` and a `solution` (see the fields). The right code with a
    solution is always answered.
    """
    result = services.progress_query(
        accident_number=payload.accident_number, code=payload.code, client=client_of(request),
        challenge=payload.challenge, solution=payload.solution,
    )  # fmt: skip
    return {
        "number": result.number,
        "occurred_on": result.occurred_on,
        "place": result.place,
        "closed": result.closed,
        "role": result.role,
        "stages": result.stages,
        "documents": result.documents,
    }


@router.post("/accidents/documents", response={200: None, **ERRORS}, auth=None)
@access_required("accidents.progress.query")
def document(request: HttpRequest, payload: DocumentIn) -> HttpResponse:
    """Download a released result document with the same number and code."""
    result = services.progress_query(
        accident_number=payload.accident_number, code=payload.code, client=client_of(request),
        challenge=payload.challenge, solution=payload.solution,
    )  # fmt: skip
    doc = services.released_document(
        case_number=result.number, credential_id=result.credential_id, document_id=payload.document_id
    )
    response = HttpResponse(services.document_copy(doc, role=result.role), content_type=doc.content_type)
    response["Content-Disposition"] = f'attachment; filename="{doc.kind}-{doc.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- the party's own cases (A4)


class MyCaseOut(Schema):
    number: str
    occurred_on: date
    place: str
    closed: bool
    party_label: str = Field(..., description="which party of the case the caller is, such as 甲 or 乙")
    open_online: bool = Field(
        ..., description="false where the province has not opened the online query (A9a)"
    )


class MyCaseDetailOut(ProgressOut):
    party_label: str
    credential_pdf: str = Field("", description="path of the caller's printable query credential, if live")


@router.get("/accidents/mine", response={200: list[MyCaseOut], **ERRORS}, auth=AUTH)
@access_required("accidents.case.party_view")
def my_cases(request: HttpRequest) -> Any:
    """The cases the caller is a party to, matched by their registered document number; newest first."""
    return [
        {
            "number": found.case.number,
            "occurred_on": timezone.localtime(found.case.occurred_at).date(),
            "place": found.case.place,
            "closed": found.case.closed_at is not None,
            "party_label": found.party.label,
            "open_online": found.open_online,
        }
        for found in services.cases_of_party(actor=request.user)
    ]


@router.get("/accidents/mine/{number}", response={200: MyCaseDetailOut, **ERRORS}, auth=AUTH)
@access_required("accidents.case.party_view")
def my_case(request: HttpRequest, number: str) -> Any:
    """One of the caller's cases: stages and released documents (404 for a case they are no party to;
    403 `accidents.service_unavailable` where the province has not opened the online query)."""
    from django.urls import reverse

    found = services.case_of_party(actor=request.user, number=number)
    if not found.open_online:
        services.check_rollout(found.case.number, rules.ONLINE_QUERY)
    result = services.party_progress(found)
    return {
        "number": result.number,
        "occurred_on": result.occurred_on,
        "place": result.place,
        "closed": result.closed,
        "role": result.role,
        "stages": result.stages,
        "documents": result.documents,
        "party_label": found.party.label,
        "credential_pdf": reverse("accidents:mine_credential_pdf", args=[result.number])
        if found.credential
        else "",
    }
