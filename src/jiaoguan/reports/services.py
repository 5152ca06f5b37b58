"""Making and delivering the reports (通报、抄告, N2), and their read state.

:func:`reports_generate` is the scheduled run (``jiaoguan reports_generate``, the worker once a
day): for every available report it makes each due period that has no finished batch. A period
is made in steps that each commit on their own: the query (a read), then one transaction per
recipient (the run with its CSV and PDF, and the message in the recipient's message centre),
then the batch marked finished. A run stopped half way is resumed by the next one; the unique
(code, period, recipient) and the message's dedup key make every repeat add nothing.

Recipients: every organisation of the report's authority kind gets the rows whose division lies
in its jurisdiction (通报); a company a row concerns gets its own rows (抄告). A monthly report
reaches every authority, with "no records" when there are none, so a missing file is noticed;
an event report is sent only to those with rows.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.core.access import Role, division_prefix_for, require, role_of
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import division_name, division_prefix
from jiaoguan.core.errors import Conflict, ValidationFailed
from jiaoguan.notices.categories import Category
from jiaoguan.notices.delivery import Draft, messages_create
from jiaoguan.notices.models import Message
from jiaoguan.registry.models import Organisation

from . import catalogue, documents, rules
from .catalogue import Report
from .models import ReportBatch, ReportRun
from .queries import Row
from .rules import Period
from .selectors import GENERATE, VIEW_OWN, VIEW_RUNS

logger = logging.getLogger(__name__)


@dataclass
class GenerateResult:
    """What a generation made: new runs per code, and the periods finished."""

    runs: int = 0
    rows: int = 0
    periods: list[str] = field(default_factory=list)  # "R02 2026-11"
    skipped: list[str] = field(default_factory=list)  # "R06 not available"
    failed: list[str] = field(default_factory=list)  # "R04 2026-11": left for the next run


@dataclass(frozen=True)
class _Recipient:
    organisation: Organisation
    role: str  # ReportRun.RecipientRole
    rows: list[Row]


def _prefix(organisation: Organisation) -> str | None:
    try:
        return division_prefix(organisation.division)
    except Exception:  # a malformed stored division: no jurisdiction, nothing sent
        logger.warning("organisation %s has a malformed division %r", organisation.pk, organisation.division)
        return None


def _recipients(defn: Report, period: Period, rows: list[Row], *, within: str) -> list[_Recipient]:
    """Who gets which rows. ``within`` limits the recipients to a jurisdiction prefix ("" for all)."""
    found: list[_Recipient] = []
    authorities = Organisation.objects.filter(kind=defn.authority_kind, division__startswith=within)
    for org in authorities.order_by("division", "pk"):
        prefix = _prefix(org)
        if prefix is None:
            continue
        mine = [r for r in rows if r.division.startswith(prefix)]
        if mine or period.cadence is rules.Cadence.MONTHLY:
            found.append(_Recipient(org, ReportRun.RecipientRole.AUTHORITY, mine))
    if defn.copies_to_companies:
        by_company: dict[int, list[Row]] = {}
        for r in rows:
            if r.company_id:
                by_company.setdefault(r.company_id, []).append(r)
        companies = Organisation.objects.filter(pk__in=list(by_company), division__startswith=within)
        told = {f.organisation.pk for f in found}
        for org in companies.order_by("division", "pk"):
            if org.pk not in told:  # an authority owning a bus is told once, as the authority
                found.append(_Recipient(org, ReportRun.RecipientRole.COMPANY, by_company[org.pk]))
    return found


def _issuer(organisation: Organisation) -> str:
    city = organisation.division[:4] + "00"
    try:
        return f"{division_name(city)}公安局交通管理支队"
    except Exception:
        return "公安机关交通管理部门"


def _period_words(period: Period) -> str:
    if period.start == period.end:
        return period.label
    return f"{period.label}（{period.start.isoformat()} 至 {period.end.isoformat()}）"


def _sheet(defn: Report, period: Period, recipient: _Recipient, now: datetime) -> documents.Sheet:
    return documents.Sheet(
        code=defn.code,
        title=f"{defn.code} {defn.name_zh}",
        issuer=_issuer(recipient.organisation),
        recipient=recipient.organisation.name,
        period=_period_words(period),
        generated_at=timezone.localtime(now).strftime("%Y-%m-%d %H:%M"),
        headers=[c.header for c in defn.columns],
        rows=[r.cells for r in recipient.rows],
    )


def _draft(defn: Report, period: Period, run: ReportRun) -> Draft:
    org = run.recipient
    count_zh = f"共 {run.row_count} 条记录" if run.row_count else "本期无记录"
    count_en = f"{run.row_count} records" if run.row_count else "no records this period"
    return Draft(
        category=Category.REPORT,
        organisation_id=org.pk,
        dedup_key=f"N2:{defn.code}:{period.label}:{org.pk}",
        title_zh=f"交通安全信息通报：{defn.name_zh}"[:100],
        title_en=f"Traffic safety report: {defn.name_en}"[:160],
        body_zh=f"{defn.code} {defn.name_zh}（{period.label}）已送达本单位账户，{count_zh}，请在“通报抄告”中查看和下载。",
        body_en=f"{defn.code} {defn.name_en} ({period.label}) has reached your account, {count_en}; "
        "open Reports to read and download it.",
        link="/org/reports/",
        division=run.recipient_division,
    )


def _deliver(defn: Report, period: Period, recipient: _Recipient, now: datetime) -> ReportRun | None:
    """Store and deliver one recipient's run in one transaction; None when it was there already."""
    org = recipient.organisation
    if ReportRun.objects.filter(code=defn.code, period_start=period.start, recipient=org).exists():
        return None
    sheet = _sheet(defn, period, recipient, now)
    csv_bytes = documents.render_csv(sheet)
    pdf_bytes = documents.render_pdf(sheet)
    try:
        with transaction.atomic():
            run = ReportRun.objects.create(
                code=defn.code, period_start=period.start, period_end=period.end, period_label=period.label,
                recipient=org, recipient_role=recipient.role, recipient_division=org.division,
                row_count=len(recipient.rows), csv=csv_bytes, pdf=pdf_bytes,
                sha256=hashlib.sha256(csv_bytes).hexdigest(), pdf_sha256=hashlib.sha256(pdf_bytes).hexdigest(),
                delivered_at=now,
            )  # fmt: skip
            draft = _draft(defn, period, run)
            messages_create([draft], now=now)
            run.message_id = (
                Message.objects.filter(dedup_key=draft.dedup_key).values_list("pk", flat=True).first()
            )
            run.save(update_fields=["message_id"])
    except IntegrityError:  # a concurrent run made it first: its row stands
        return None
    return run


def _generate_period(defn: Report, period: Period, *, within: str, now: datetime) -> tuple[int, int]:
    """Make one report's period for the recipients within a prefix; (new runs, rows of the report)."""
    assert defn.query is not None
    rows = defn.query(period)
    made = 0
    for recipient in _recipients(defn, period, rows, within=within):
        if _deliver(defn, period, recipient, now) is not None:
            made += 1
    return made, len(rows)


def _codes(codes: Iterable[str] | None) -> list[Report]:
    if codes is None:
        return list(catalogue.REPORTS)
    chosen = []
    for code in codes:
        try:
            chosen.append(catalogue.report(code))
        except KeyError:
            raise ValidationFailed(
                "reports.unknown_code",
                f"没有编号为 {code} 的通报项目（R01-R11）。",
                f"There is no report {code} (R01-R11).",
                field="code",
            ) from None
    return chosen


def reports_generate(*, today: date, codes: Iterable[str] | None = None) -> GenerateResult:
    """Make every due period of the reports (all, or ``codes``) not finished yet (N2).

    Monthly reports: the previous calendar month, on any day of the following month (so a run
    missed on the 1st is made up the next day). Event reports: each of the last
    ``rules.CATCH_UP_DAYS`` days before today. Idempotent and resumable.
    """
    result = GenerateResult()
    now = timezone.now()
    for defn in _codes(codes):
        if not defn.available:
            result.skipped.append(f"{defn.code} not available")
            continue
        for period in rules.due_periods(defn.cadence, today=today):
            batch, _ = ReportBatch.objects.get_or_create(
                code=defn.code, period_start=period.start, defaults={"period_end": period.end}
            )
            if batch.finished_at is not None:
                continue
            try:
                made, rows = _generate_period(defn, period, within="", now=now)
            except Exception:  # one report failing must not stop the others; its batch stays open
                logger.exception(
                    "report %s %s could not be made; the next run tries again", defn.code, period.label
                )
                result.failed.append(f"{defn.code} {period.label}")
                continue
            sent = ReportRun.objects.filter(code=defn.code, period_start=period.start).count()
            ReportBatch.objects.filter(pk=batch.pk).update(finished_at=timezone.now(), runs=sent, rows=rows)
            result.runs += made
            result.rows += rows
            result.periods.append(f"{defn.code} {period.label}")
            logger.info("report %s %s: %s rows, %s new runs", defn.code, period.label, rows, made)
    return result


def report_generate_now(*, actor: Any, code: str, period: str, today: date) -> GenerateResult:
    """Make one report of a past period now, for the recipients of the actor's jurisdiction (the
    administrator's "generate now"). Recipients that have it already are left as they are: what
    was sent stays what was sent."""
    require(actor, GENERATE)
    defn = _codes([code])[0]
    if not defn.available:
        raise Conflict("reports.not_available", defn.unavailable_zh, defn.unavailable_en)
    try:
        chosen = rules.parse_period(defn.cadence, period)
    except ValueError:
        raise ValidationFailed(
            "reports.bad_period",
            "期间格式不正确：月报写作 2026-11，按日通报写作 2026-12-04。",
            "Write the period as 2026-11 for a monthly report and 2026-12-04 for an event report.",
            field="period",
        ) from None
    if not rules.period_closed(chosen, today=today):
        raise ValidationFailed(
            "reports.period_not_over",
            "只能生成已经结束的期间。",
            "Only a period that is over can be reported.",
            field="period",
        )
    within = division_prefix_for(actor, GENERATE)
    if within is None:  # pragma: no cover - require() refused already
        within = "-"
    made, rows = _generate_period(defn, chosen, within=within, now=timezone.now())
    with transaction.atomic():
        batch, _ = ReportBatch.objects.get_or_create(
            code=defn.code, period_start=chosen.start, defaults={"period_end": chosen.end}
        )
        audit_record(
            actor=actor, action="create", subject=batch,
            summary=f"立即生成通报 {defn.code} {chosen.label}：新送达 {made} 份，共 {rows} 条记录",
        )  # fmt: skip
    return GenerateResult(runs=made, rows=rows, periods=[f"{defn.code} {chosen.label}"])


def report_mark_read(*, actor: Any, run: ReportRun) -> ReportRun:
    """The organisation opened or downloaded the report: the first time is its read time."""
    require(actor, VIEW_OWN, owner_organisation_id=run.recipient_id)
    if run.read_at is not None:
        return run
    with transaction.atomic():
        now = timezone.now()
        updated = ReportRun.objects.filter(pk=run.pk, read_at__isnull=True).update(
            read_at=now, read_by=actor, state=ReportRun.State.READ
        )
        if updated:
            logger.info("report run %s read by organisation %s", run.pk, run.recipient_id)
    run.refresh_from_db()
    return run


def report_download(*, actor: Any, run: ReportRun, kind: str, request: Any = None) -> bytes:
    """The file of a report as sent, to its recipient (marks it read) or to staff of the
    recipient's jurisdiction. The files hold personal data: every download is in the audit trail.
    The caller loaded ``run`` through a selector, which checked who may see it."""
    if role_of(actor) is Role.ORGANISATION:
        report_mark_read(actor=actor, run=run)
        summary = f"单位下载通报 {run.code} {run.period_label}（{kind.upper()}）"
    else:
        require(actor, VIEW_RUNS, division=run.recipient_division)
        summary = (
            f"查阅已发送通报 {run.code} {run.period_label} 接收单位 {run.recipient.name}（{kind.upper()}）"
        )
    audit_record(actor=actor, action="view", subject=run, request=request, summary=summary)
    return bytes(run.csv if kind == "csv" else run.pdf)
