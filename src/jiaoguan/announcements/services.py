"""State changes of announcements (公告) and publications (公布) (N3, issue 15).

An announcement is generated from the registry as a draft, edited and submitted by its
drafter, approved (or sent back) by a head of unit who did not draft it, published with a
number of its issuing division and year, and withdrawn with a reason; it is never deleted.

Lock order (every service here): the announcement row (``select_for_update``), then the
number sequence of its division and year. SQLite has no row locks but serialises writers, and
the unique constraint on (division, year, sequence) is the last guard on both databases.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import division_name, division_prefix, validate_division
from jiaoguan.core.errors import Conflict, NotFound, ValidationFailed

from . import candidates, publications, rules
from .models import Announcement, AnnouncementItem, AnnouncementSequence, Publication
from .rules import State, Verb

logger = logging.getLogger(__name__)

PUBLIC = "announcements.notice.view"
VIEW = "announcements.announcement.view"
DRAFT = "announcements.announcement.draft"
APPROVE = "announcements.announcement.approve"
PUBLISH = "announcements.announcement.publish"
WITHDRAW = "announcements.announcement.withdraw"
REFERENCE = "announcements.reference.manage"

TITLE_MAX = 200
BODY_MAX = 5000


def name_secret() -> bytes:
    """The key of the name hashes; changing it makes names already listed unsearchable."""
    return (getattr(settings, "ANNOUNCEMENT_NAME_SECRET", "") or settings.SECRET_KEY).encode()


def _refused(refusal: rules.Refusal, **detail: Any) -> Conflict:
    return Conflict(refusal.code, refusal.zh, refusal.en, detail=detail)


def _not_found() -> NotFound:
    return NotFound("announcements.not_found", "没有这条公告。", "No such announcement.")


# ---------------------------------------------------------------- drafting


def announcement_draft_generate(*, actor: Any, code: str, today: date, division: str = "") -> Announcement:
    """Draw announcement ``code`` (G01-G20) from the registry records of ``division`` (default: the
    actor's jurisdiction) as a draft with its items; 409 when there is nothing to announce."""
    kind = rules.announcement_kind(code)
    if isinstance(kind, rules.Refusal):
        raise ValidationFailed(kind.code, kind.zh, kind.en, field="code")
    division = validate_division(division or str(getattr(actor, "jurisdiction", "") or ""))
    require(actor, DRAFT, division=division)
    listed = candidates.listed(kind.code, prefix=division_prefix(division), today=today)
    if not listed:
        raise Conflict(
            "announcements.nothing_to_announce",
            f"{division_name(division) or division}目前没有需要公告的“{kind.name_zh}”记录。",
            f'No records to announce as "{kind.name_en}" in {division} today.',
            detail={"code": kind.code, "division": division},
        )
    secret = name_secret()
    with transaction.atomic():
        announcement = Announcement.objects.create(
            code=kind.code,
            division=division,
            title=rules.default_title(kind, division_name=division_name(division) or division)[:TITLE_MAX],
            body=rules.default_body(kind, count=len(listed), today=today),
            state=State.DRAFT,
            data_as_of=today,
            item_count=len(listed),
            drafted_by=actor,
        )
        AnnouncementItem.objects.bulk_create(
            [
                AnnouncementItem(
                    announcement=announcement,
                    position=i,
                    subject=row.subject,
                    subject_id=row.subject_id,
                    plate_number=row.plate_number,
                    plate_type=row.plate_type,
                    name_masked=row.name_masked[:100],
                    name_key=rules.name_key(row.name, secret=secret) if row.name else "",
                    licence_number_masked=row.licence_number_masked,
                    classes=row.classes[:40],
                    fact_on=row.fact_on,
                    fact=row.fact[:100],
                )
                for i, row in enumerate(listed, start=1)
            ],
            batch_size=500,
        )
        # Drawing the list reads personal data of every listed person: one row says so.
        audit_record(
            actor=actor,
            action="create",
            subject=announcement,
            summary=f"生成公告草稿 {kind.code} {kind.name_zh}：{len(listed)}条 drafted from the registry",
        )
    logger.info("announcement %s drafted: %s, %s items", announcement.pk, kind.code, len(listed))
    return announcement


def _locked(announcement_id: int) -> Announcement:
    announcement = Announcement.objects.select_for_update().filter(pk=announcement_id).first()
    if announcement is None:
        raise _not_found()
    return announcement


def _step(announcement: Announcement, verb: Verb) -> State:
    after = rules.next_state(announcement.state, verb)
    if isinstance(after, rules.Refusal):
        raise _refused(after, state=announcement.state)
    return after


def _audit(actor: Any, announcement: Announcement, verb: Verb, summary: str, reason: str = "") -> None:
    zh, _en = rules.VERB_WORDS[verb]
    audit_record(
        actor=actor,
        action="change",
        subject=announcement,
        summary=f"公告{zh} announcement {verb.value}: {summary}",
        reason=reason,
    )


def announcement_edit(*, actor: Any, announcement_id: int, title: str, body: str) -> Announcement:
    """Change a draft's title and body (a rejected one too: it is a draft again)."""
    title, body = (title or "").strip(), (body or "").strip()
    if not title or len(title) > TITLE_MAX:
        raise ValidationFailed(
            "announcements.title_invalid", f"请填写标题（不超过{TITLE_MAX}字）。",
            f"Enter a title of at most {TITLE_MAX} characters.", field="title",
        )  # fmt: skip
    if not body or len(body) > BODY_MAX:
        raise ValidationFailed(
            "announcements.body_invalid", f"请填写正文（不超过{BODY_MAX}字）。",
            f"Enter a body of at most {BODY_MAX} characters.", field="body",
        )  # fmt: skip
    with transaction.atomic():
        announcement = _locked(announcement_id)
        require(actor, DRAFT, division=announcement.division)
        _step(announcement, Verb.EDIT)
        announcement.title, announcement.body = title, body
        announcement.save(update_fields=["title", "body"])
        _audit(actor, announcement, Verb.EDIT, announcement.title)
    return announcement


def announcement_submit(*, actor: Any, announcement_id: int) -> Announcement:
    with transaction.atomic():
        announcement = _locked(announcement_id)
        require(actor, DRAFT, division=announcement.division)
        announcement.state = _step(announcement, Verb.SUBMIT)
        announcement.submitted_at = timezone.now()
        announcement.rejection_reason = ""
        announcement.save(update_fields=["state", "submitted_at", "rejection_reason"])
        _audit(actor, announcement, Verb.SUBMIT, announcement.title)
    return announcement


def announcement_approve(*, actor: Any, announcement_id: int) -> Announcement:
    """A head of unit approves (issue 15); never the one who drafted it."""
    with transaction.atomic():
        announcement = _locked(announcement_id)
        require(actor, APPROVE, division=announcement.division)
        after = _step(announcement, Verb.APPROVE)
        own = rules.approval_refusal(drafted_by_id=announcement.drafted_by_id, approver_id=actor.pk)
        if own is not None:
            raise _refused(own)
        announcement.state = after
        announcement.approved_by = actor
        announcement.approved_at = timezone.now()
        announcement.save(update_fields=["state", "approved_by", "approved_at"])
        _audit(actor, announcement, Verb.APPROVE, announcement.title)
    return announcement


def announcement_reject(*, actor: Any, announcement_id: int, reason: str) -> Announcement:
    """Send a submitted announcement back to its drafter, saying why."""
    refusal = rules.reason_refusal(reason, what_zh="退回", what_en="rejection")
    if refusal is not None:
        raise ValidationFailed(refusal.code, refusal.zh, refusal.en, field="reason")
    with transaction.atomic():
        announcement = _locked(announcement_id)
        require(actor, APPROVE, division=announcement.division)
        announcement.state = _step(announcement, Verb.REJECT)
        announcement.rejection_reason = reason.strip()[:200]
        announcement.save(update_fields=["state", "rejection_reason"])
        _audit(actor, announcement, Verb.REJECT, announcement.title, reason=announcement.rejection_reason)
    return announcement


def _next_sequence(*, division: str, year: int) -> int:
    """The next number of the division's year, under the lock of its sequence row.

    The row is created on first use; two first uses at once both reach ``get_or_create``, one
    inserts and the other finds it (Django retries the read after the unique violation)."""
    AnnouncementSequence.objects.get_or_create(division=division, year=year)
    row = AnnouncementSequence.objects.select_for_update().get(division=division, year=year)
    row.last += 1
    row.save(update_fields=["last"])
    return row.last


def announcement_publish(*, actor: Any, announcement_id: int) -> Announcement:
    """Publish an approved announcement with the next number of its division and year."""
    with transaction.atomic():
        announcement = _locked(announcement_id)
        require(actor, PUBLISH, division=announcement.division)
        after = _step(announcement, Verb.PUBLISH)
        now = timezone.now()
        year = timezone.localdate(now).year
        sequence = _next_sequence(division=announcement.division, year=year)
        announcement.state = after
        announcement.year, announcement.sequence = year, sequence
        announcement.number = rules.announcement_number(
            division=announcement.division, year=year, sequence=sequence
        )
        announcement.published_by = actor
        announcement.published_at = now
        announcement.save(
            update_fields=["state", "year", "sequence", "number", "published_by", "published_at"]
        )
        _audit(actor, announcement, Verb.PUBLISH, f"{announcement.number} {announcement.title}")
    logger.info("announcement %s published as %s", announcement.pk, announcement.number)
    return announcement


def announcement_withdraw(*, actor: Any, announcement_id: int, reason: str) -> Announcement:
    """Withdraw a published announcement: it stays public as withdrawn, with the reason, and its
    items are no longer found by search (a government notice is never silently removed)."""
    refusal = rules.reason_refusal(reason, what_zh="撤回", what_en="withdrawal")
    if refusal is not None:
        raise ValidationFailed(refusal.code, refusal.zh, refusal.en, field="reason")
    with transaction.atomic():
        announcement = _locked(announcement_id)
        require(actor, WITHDRAW, division=announcement.division)
        announcement.state = _step(announcement, Verb.WITHDRAW)
        announcement.withdrawn_by = actor
        announcement.withdrawn_at = timezone.now()
        announcement.withdrawal_reason = reason.strip()[:200]
        announcement.save(update_fields=["state", "withdrawn_by", "withdrawn_at", "withdrawal_reason"])
        _audit(actor, announcement, Verb.WITHDRAW, announcement.number, reason=announcement.withdrawal_reason)
    return announcement


# ---------------------------------------------------------------- publications


def _digest(columns: list[Any], rows: list[Any], available: bool) -> str:
    text = json.dumps([columns, rows, available], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def publications_regenerate(*, today: date) -> dict[str, int]:
    """Recompute the 13 publications (P01-P13) for the month of ``today`` (scheduled daily).

    Idempotent: a publication whose content is unchanged is left as it is (its generated_at
    too); a new month starts new rows and keeps the old months as they were published.
    Returns {"created": n, "changed": n, "unchanged": n}.
    """
    period = rules.period_of(today)
    counts = {"created": 0, "changed": 0, "unchanged": 0}
    for code in rules.PUBLICATION_CODES:
        table = publications.build(code, today=today)
        digest = _digest(table.columns, table.rows, table.available)
        with transaction.atomic():
            existing = Publication.objects.select_for_update().filter(code=code, period=period).first()
            if existing is not None and existing.digest == digest:
                counts["unchanged"] += 1
                continue
            values = {
                "available": table.available,
                "note": table.note[:200],
                "columns": table.columns,
                "rows": table.rows,
                "row_count": len(table.rows),
                "digest": digest,
                "data_as_of": today,
                "generated_at": timezone.now(),
            }
            if existing is None:
                Publication.objects.create(code=code, period=period, **values)
                counts["created"] += 1
            else:
                for field, value in values.items():
                    setattr(existing, field, value)
                existing.save()
                counts["changed"] += 1
    logger.info("publications regenerated for %s: %s", period, counts)
    return counts
