"""Reads of announcements and publications (N3): the public side (published and withdrawn
announcements, searchable items, publications) and the staff side scoped by the access table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from jiaoguan.core.access import division_prefix_for
from jiaoguan.core.cursors import decode_cursor, encode_cursor
from jiaoguan.core.errors import NotFound, ValidationFailed

from . import rules
from .models import Announcement, AnnouncementItem, Publication
from .rules import State
from .services import VIEW, name_secret

PAGE_LIMIT = 20
PAGE_LIMIT_MAX = 100
ITEMS_PER_PAGE = 50
PUBLIC_STATES = (State.PUBLISHED, State.WITHDRAWN)


def _not_found() -> NotFound:
    return NotFound("announcements.not_found", "没有这条公告。", "No such announcement.")


# ---------------------------------------------------------------- search


@dataclass(frozen=True)
class Search:
    """What a typed search term matches: a plate exactly, or the keyed hash of a full name."""

    plate: str = ""
    name_key: str = ""

    @property
    def empty(self) -> bool:
        return not self.plate and not self.name_key

    def items_filter(self) -> Q:
        if self.plate:
            return Q(plate_number=self.plate)
        return Q(name_key=self.name_key)


def search_for(text: str) -> Search:
    text = (text or "").strip()
    if not text:
        return Search()
    if len(text) > 40:
        raise ValidationFailed(
            "announcements.search_too_long", "查询内容过长。", "The search is too long.", field="q"
        )
    if rules.looks_like_plate(text):
        return Search(plate=rules.normalise_plate(text))
    return Search(name_key=rules.name_key(text, secret=name_secret()))


# ---------------------------------------------------------------- public


def public_announcements(*, code: str = "", q: str = "") -> QuerySet[Announcement]:
    """Published and withdrawn announcements, newest first; with ``q`` only published ones that
    list the plate or the exact full name (withdrawn items are not searchable)."""
    qs = Announcement.objects.filter(state__in=PUBLIC_STATES)
    if code:
        qs = qs.filter(code=code.strip().upper())
    search = search_for(q)
    if not search.empty:
        hits = AnnouncementItem.objects.filter(search.items_filter(), announcement=OuterRef("pk"))
        qs = qs.filter(state=State.PUBLISHED).filter(Exists(hits))
    return qs.order_by("-published_at", "-pk")


def page_of(
    qs: QuerySet[Announcement], *, cursor: str = "", limit: int = PAGE_LIMIT, field: str = "published_at"
) -> tuple[list[Announcement], str | None]:
    """One page after ``cursor`` (keyset on ``field`` and id, newest first: the queryset must be
    ordered by both descending) and the cursor of the next page, or None on the last."""
    limit = max(1, min(int(limit or PAGE_LIMIT), PAGE_LIMIT_MAX))
    after = decode_cursor(cursor)
    if after is not None:
        at, pk = after
        qs = qs.filter(Q(**{f"{field}__lt": at}) | Q(**{field: at, "pk__lt": pk}))
    rows = list(qs[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor((getattr(last, field), last.pk))


def public_announcement_get(*, announcement_id: int) -> Announcement:
    announcement = Announcement.objects.filter(pk=announcement_id, state__in=PUBLIC_STATES).first()
    if announcement is None:
        raise _not_found()
    return announcement


def items_page(
    announcement: Announcement, *, after: int = 0, limit: int = ITEMS_PER_PAGE, q: str = ""
) -> tuple[list[AnnouncementItem], int | None]:
    """Items after position ``after``; the next ``after`` or None. With ``q`` only matching items
    (none for a withdrawn announcement: its items are no longer searchable)."""
    limit = max(1, min(int(limit or ITEMS_PER_PAGE), 500))
    qs = announcement.items.filter(position__gt=max(0, int(after or 0))).order_by("position")
    search = search_for(q)
    if not search.empty:
        qs = qs.filter(search.items_filter()) if announcement.state == State.PUBLISHED else qs.none()
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].position if more and rows else None


def all_items(announcement: Announcement) -> QuerySet[AnnouncementItem]:
    return announcement.items.order_by("position")


def latest_publications() -> list[Publication]:
    """The newest period of each publication, in code order."""
    seen: set[str] = set()
    latest: list[Publication] = []
    for publication in Publication.objects.order_by("code", "-period"):
        if publication.code not in seen:
            seen.add(publication.code)
            latest.append(publication)
    return latest


def publication_get(*, code: str, period: str = "") -> Publication:
    qs = Publication.objects.filter(code=(code or "").strip().upper())
    if period:
        qs = qs.filter(period=period)
    publication = qs.order_by("-period").first()
    if publication is None:
        raise NotFound("announcements.publication_not_found", "没有这项信息公布。", "No such publication.")
    return publication


def publication_periods(*, code: str) -> list[str]:
    return list(
        Publication.objects.filter(code=code).order_by("-period").values_list("period", flat=True)[:24]
    )


# ---------------------------------------------------------------- staff


def staff_announcements(*, actor: Any, state: str = "", code: str = "") -> QuerySet[Announcement]:
    """Announcements of the divisions the actor's scope covers, newest first."""
    prefix = division_prefix_for(actor, VIEW)
    if prefix is None:
        return Announcement.objects.none()
    qs = Announcement.objects.filter(division__startswith=prefix)
    if state:
        qs = qs.filter(state=state)
    if code:
        qs = qs.filter(code=code.strip().upper())
    return qs.select_related("drafted_by", "approved_by").order_by("-drafted_at", "-pk")


def staff_announcement_get(*, actor: Any, announcement_id: int) -> Announcement:
    """The announcement if the actor's scope covers it, else 404 (ids cannot be probed)."""
    announcement = staff_announcements(actor=actor).filter(pk=announcement_id).first()
    if announcement is None:
        raise _not_found()
    return announcement
