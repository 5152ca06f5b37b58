"""Announcement and publication endpoints (N3, issue 15).

Open data, for everyone without a login: ``GET /notices`` (published and withdrawn
announcements, cursor pages, filter by kind, search by plate or exact full name),
``GET /notices/{id}`` (with its items, paged by position), ``GET /publications`` and
``GET /publications/{code}``. Staff: ``/announcements`` to draw drafts from the registry and move
them through submission, approval, publication and withdrawal. Thin handlers over
``services``/``selectors``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser

from . import rules, selectors, services
from .models import Announcement, AnnouncementItem, Publication

router = Router(tags=["announcements"])
AUTH = [BearerToken(), SessionUser()]
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


class ItemOut(Schema):
    position: int
    plate_number: str
    plate_type: str
    name: str  # masked for persons (张**), in full for organisations
    licence_number: str  # masked
    classes: str
    fact_on: date | None
    fact: str


class NoticeOut(Schema):
    id: int
    code: str
    kind_zh: str
    kind_en: str
    number: str
    title: str
    body: str
    division: str
    state: str  # published | withdrawn
    published_at: datetime | None
    withdrawn_at: datetime | None
    withdrawal_reason: str
    data_as_of: date
    item_count: int
    url: str


class NoticePage(Schema):
    items: list[NoticeOut]
    next_cursor: str | None


class NoticeDetailOut(NoticeOut):
    items: list[ItemOut]
    next_after: int | None


def item_out(item: AnnouncementItem) -> dict[str, Any]:
    return {
        "position": item.position,
        "plate_number": item.plate_number,
        "plate_type": item.plate_type,
        "name": item.name_masked,
        "licence_number": item.licence_number_masked,
        "classes": item.classes,
        "fact_on": item.fact_on,
        "fact": item.fact,
    }


def notice_out(a: Announcement) -> dict[str, Any]:
    kind = rules.ANNOUNCEMENT_KINDS[a.code]
    return {
        "id": a.pk,
        "code": a.code,
        "kind_zh": kind.name_zh,
        "kind_en": kind.name_en,
        "number": a.number,
        "title": a.title,
        "body": a.body,
        "division": a.division,
        "state": a.state,
        "published_at": a.published_at,
        "withdrawn_at": a.withdrawn_at,
        "withdrawal_reason": a.withdrawal_reason,
        "data_as_of": a.data_as_of,
        "item_count": a.item_count,
        "url": f"/notices/{a.pk}/",
    }


@router.get("/notices", response={200: NoticePage, **ERRORS}, auth=None)
@access_required(services.PUBLIC)
def notices(request: HttpRequest, code: str = "", q: str = "", cursor: str = "", limit: int = 20) -> Any:
    """Published announcements (公告), newest first, withdrawn ones included with their reason.
    ``code`` filters by kind (G01-G20); ``q`` is a plate or a person's exact full name and finds
    only published announcements listing it. Pass ``next_cursor`` back as ``cursor``."""
    rows, after = selectors.page_of(
        selectors.public_announcements(code=code, q=q), cursor=cursor, limit=limit
    )
    return {"items": [notice_out(a) for a in rows], "next_cursor": after}


@router.get("/notices/{announcement_id}", response={200: NoticeDetailOut, **ERRORS}, auth=None)
@access_required(services.PUBLIC)
def notice(request: HttpRequest, announcement_id: int, after: int = 0, limit: int = 50, q: str = "") -> Any:
    """One announcement with its items after position ``after`` (pass ``next_after`` back)."""
    announcement = selectors.public_announcement_get(announcement_id=announcement_id)
    items, next_after = selectors.items_page(announcement, after=after, limit=limit, q=q)
    return {**notice_out(announcement), "items": [item_out(i) for i in items], "next_after": next_after}


class PublicationOut(Schema):
    code: str
    name_zh: str
    name_en: str
    period: str
    available: bool
    note: str
    columns: list[list[str]]
    row_count: int
    data_as_of: date
    generated_at: datetime
    url: str


class PublicationDetailOut(PublicationOut):
    rows: list[dict[str, Any]]


def publication_out(p: Publication, *, rows: bool = False) -> dict[str, Any]:
    kind = rules.PUBLICATION_KINDS[p.code]
    out = {
        "code": p.code,
        "name_zh": kind.name_zh,
        "name_en": kind.name_en,
        "period": p.period,
        "available": p.available,
        "note": p.note,
        "columns": p.columns,
        "row_count": p.row_count,
        "data_as_of": p.data_as_of,
        "generated_at": p.generated_at,
        "url": f"/notices/publications/{p.code}/",
    }
    if rows:
        out["rows"] = p.rows
    return out


@router.get("/publications", response={200: list[PublicationOut], **ERRORS}, auth=None)
@access_required(services.PUBLIC)
def publications(request: HttpRequest) -> Any:
    """The 13 publications (公布), each in its newest period; unavailable ones say why."""
    return [publication_out(p) for p in selectors.latest_publications()]


@router.get("/publications/{code}", response={200: PublicationDetailOut, **ERRORS}, auth=None)
@access_required(services.PUBLIC)
def publication(request: HttpRequest, code: str, period: str = "") -> Any:
    """One publication with its rows; ``period`` ("2026-12") picks an earlier month."""
    return publication_out(selectors.publication_get(code=code, period=period), rows=True)


# ---------------------------------------------------------------- staff


class StaffAnnouncementOut(NoticeOut):
    drafted_by: str
    approved_by: str
    rejection_reason: str


def staff_out(a: Announcement) -> dict[str, Any]:
    return {
        **notice_out(a),
        "url": f"/counter/announcements/{a.pk}/",
        "drafted_by": a.drafted_by.get_username() if a.drafted_by_id else "",  # type: ignore[union-attr]
        "approved_by": a.approved_by.get_username() if a.approved_by_id else "",  # type: ignore[union-attr]
        "rejection_reason": a.rejection_reason,
    }


class DraftIn(InputSchema):
    code: str
    division: str = ""


class EditIn(InputSchema):
    title: str
    body: str


class ReasonIn(InputSchema):
    reason: str = ""


class StaffPage(Schema):
    items: list[StaffAnnouncementOut]
    next_cursor: str | None


@router.get("/announcements", response={200: StaffPage, **ERRORS}, auth=AUTH)
@access_required(services.VIEW)
def staff_list(
    request: HttpRequest, state: str = "", code: str = "", cursor: str = "", limit: int = 20
) -> Any:
    """Announcements of the actor's jurisdiction in every state, newest drafted first; pass
    ``next_cursor`` back as ``cursor`` for the next page."""
    qs = selectors.staff_announcements(actor=request.auth, state=state, code=code)  # type: ignore[attr-defined]
    rows, after = selectors.page_of(qs, cursor=cursor, limit=limit, field="drafted_at")
    return {"items": [staff_out(a) for a in rows], "next_cursor": after}


@router.get("/announcements/{announcement_id}", response={200: StaffAnnouncementOut, **ERRORS}, auth=AUTH)
@access_required(services.VIEW)
def staff_get(request: HttpRequest, announcement_id: int) -> Any:
    return staff_out(selectors.staff_announcement_get(actor=request.auth, announcement_id=announcement_id))  # type: ignore[attr-defined]


@router.post("/announcements", response={201: StaffAnnouncementOut, **ERRORS}, auth=AUTH)
@access_required(services.DRAFT)
def staff_draft(request: HttpRequest, body: DraftIn) -> Any:
    """Draw announcement ``code`` (G01-G20) from today's registry records of ``division``."""
    a = services.announcement_draft_generate(
        actor=request.auth,  # type: ignore[attr-defined]
        code=body.code,
        division=body.division,
        today=timezone.localdate(),
    )
    return 201, staff_out(a)


@router.post(
    "/announcements/{announcement_id}/edit", response={200: StaffAnnouncementOut, **ERRORS}, auth=AUTH
)
@access_required(services.DRAFT)
def staff_edit(request: HttpRequest, announcement_id: int, body: EditIn) -> Any:
    a = services.announcement_edit(
        actor=request.auth,  # type: ignore[attr-defined]
        announcement_id=announcement_id,
        title=body.title,
        body=body.body,  # type: ignore[attr-defined]
    )
    return staff_out(a)


@router.post(
    "/announcements/{announcement_id}/submit", response={200: StaffAnnouncementOut, **ERRORS}, auth=AUTH
)
@access_required(services.DRAFT)
def staff_submit(request: HttpRequest, announcement_id: int) -> Any:
    return staff_out(services.announcement_submit(actor=request.auth, announcement_id=announcement_id))  # type: ignore[attr-defined]


@router.post(
    "/announcements/{announcement_id}/approve", response={200: StaffAnnouncementOut, **ERRORS}, auth=AUTH
)
@access_required(services.APPROVE)
def staff_approve(request: HttpRequest, announcement_id: int) -> Any:
    return staff_out(services.announcement_approve(actor=request.auth, announcement_id=announcement_id))  # type: ignore[attr-defined]


@router.post(
    "/announcements/{announcement_id}/reject", response={200: StaffAnnouncementOut, **ERRORS}, auth=AUTH
)
@access_required(services.APPROVE)
def staff_reject(request: HttpRequest, announcement_id: int, body: ReasonIn) -> Any:
    a = services.announcement_reject(actor=request.auth, announcement_id=announcement_id, reason=body.reason)  # type: ignore[attr-defined]
    return staff_out(a)


@router.post(
    "/announcements/{announcement_id}/publish", response={200: StaffAnnouncementOut, **ERRORS}, auth=AUTH
)
@access_required(services.PUBLISH)
def staff_publish(request: HttpRequest, announcement_id: int) -> Any:
    return staff_out(services.announcement_publish(actor=request.auth, announcement_id=announcement_id))  # type: ignore[attr-defined]


@router.post(
    "/announcements/{announcement_id}/withdraw", response={200: StaffAnnouncementOut, **ERRORS}, auth=AUTH
)
@access_required(services.WITHDRAW)
def staff_withdraw(request: HttpRequest, announcement_id: int, body: ReasonIn) -> Any:
    a = services.announcement_withdraw(
        actor=request.auth,  # type: ignore[attr-defined]
        announcement_id=announcement_id,
        reason=body.reason,
    )  # type: ignore[attr-defined]
    return staff_out(a)
