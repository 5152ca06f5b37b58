"""The daily scan of the notice rules (告知扫描, N1, N4, N5): set-based, idempotent, resumable.

For each rule, one SQL query (``scan_sql``) selects the ids of the rows the rule may fire on;
only those are loaded, in chunks by id, confirmed with the pure rule (``catalogue.evaluate``),
and turned into messages with ``notices.delivery.messages_create``. Nothing loops over the
registry in Python.

- Idempotent: every message has a dedup key per fact and recipient; a second run the same day
  (or the next day, for a once-per-fact notice) writes nothing new.
- Resumable: a ``ScanRun`` row per (day, rule) keeps the last id whose messages are committed,
  in the same transaction; a rerun continues after it, and a finished rule is skipped unless
  ``rerun`` is asked.
- Each message's deliveries (in-app, SMS) are written with it; the SMS are sent by the delivery
  worker, which records each channel's result.

The scan is the platform's own job (the worker, ``jiaoguan notices_scan``): no staff member acts,
so there is no access check and no audit row; the messages and their deliveries are the record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from jiaoguan.registry.models import DrivingLicence, PointsEntry, Vehicle
from jiaoguan.violations.models import Violation

from .catalogue import (
    RULES,
    LicenceFacts,
    PointsFact,
    Subject,
    VehicleFacts,
    drafts_for,
    evaluate,
    vehicle_recipients,
    w01_drafts,
)
from .delivery import Draft, messages_create
from .models import Message, ScanRun
from .scan_sql import candidates

logger = logging.getLogger(__name__)

__all__ = ["CHUNK", "RULE_ORDER", "ScanResult", "licence_facts", "notices_scan", "rule_scan", "vehicle_facts"]

CHUNK = 2000
RULE_ORDER: tuple[str, ...] = tuple(RULES)
_POINTS_RULES = frozenset({"L01", "L02", "L03", "L08", "L13", "L14", "L16", "W04", "W05", "S01", "S02"})
_COUNT_RULES = frozenset({"W02", "W03"})
# Only what the rules and the messages read: fewer columns to fetch and set on each row.
_VEHICLE_FIELDS = (
    "plate_number", "vin", "kind", "use_nature", "registered_on", "last_inspected_on", "status",
    "transferred_out_on", "cloned_plate_cleared_on", "division", "owner_mobile", "owner_person__mobile",
    "owner_organisation__phone",
)  # fmt: skip
_LICENCE_FIELDS = (
    "classes", "first_issued_on", "valid_from", "validity_term", "status", "probation_started_on",
    "last_medical_on", "last_reviewed_on", "renewal_deferred_until", "review_deferred_until",
    "medical_deferred_until", "cancelled_on", "cancellation_reason", "downgraded_from",
    "school_bus_qualification_cancelled_on", "mobile", "division", "holder__birth_date", "holder__mobile",
    "employer__phone",
)  # fmt: skip


@dataclass(frozen=True)
class ScanResult:
    code: str
    candidates: int
    hits: int
    messages: int
    seconds: float
    skipped: bool = False


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def vehicle_facts(v: Vehicle, unhandled: int = 0) -> VehicleFacts:
    """The facts the vehicle rules read, from a vehicle row (and its unhandled records' count)."""
    return VehicleFacts(
        kind=v.kind,
        use_nature=v.use_nature,
        registered_on=v.registered_on,
        last_inspected_on=v.last_inspected_on,
        status=v.status,
        transferred_out_on=v.transferred_out_on,
        cloned_plate_cleared_on=v.cloned_plate_cleared_on,
        unhandled_violations=unhandled,
    )


def licence_facts(lic: DrivingLicence, points: Sequence[PointsFact] = ()) -> LicenceFacts:
    """The facts the licence rules read, from a licence row with its holder and its points."""
    return LicenceFacts(
        classes=lic.classes,
        first_issued_on=lic.first_issued_on,
        valid_from=lic.valid_from,
        validity_term=lic.validity_term,
        birth_date=lic.holder.birth_date,
        status=lic.status,
        probation_started_on=lic.probation_started_on,
        last_medical_on=lic.last_medical_on,
        last_reviewed_on=lic.last_reviewed_on,
        renewal_deferred_until=lic.renewal_deferred_until,
        review_deferred_until=lic.review_deferred_until,
        medical_deferred_until=lic.medical_deferred_until,
        cancelled_on=lic.cancelled_on,
        cancellation_reason=lic.cancellation_reason,
        downgraded_from=lic.downgraded_from,
        school_bus_qualification_cancelled_on=lic.school_bus_qualification_cancelled_on,
        points=tuple(points),
    )


def _vehicle_drafts(code: str, ids: Sequence[int], today: date) -> tuple[int, list[Draft]]:
    rule = RULES[code]
    counts: dict[int, int] = {}
    if code in _COUNT_RULES:
        counts = dict(
            Violation.objects.filter(
                vehicle_id__in=ids, status__in=[Violation.Status.UNHANDLED, Violation.Status.DISPUTED]
            )
            .values("vehicle_id")
            .annotate(n=Count("id"))
            .values_list("vehicle_id", "n")
        )
    link = reverse("registry:vehicle", args=[0])
    hits, drafts = 0, []
    rows = Vehicle.objects.select_related("owner_person", "owner_organisation").only(*_VEHICLE_FIELDS)
    for v in rows.filter(pk__in=ids):
        hit = evaluate(code, vehicle_facts(v, counts.get(v.pk, 0)), today)
        if hit is None:
            continue
        hits += 1
        drafts += drafts_for(
            rule,
            subject_id=v.pk,
            fact=hit.fact,
            values={"plate": v.plate_number or v.vin, **hit.values},
            recipients=vehicle_recipients(v),
            link=link.replace("/0/", f"/{v.pk}/"),
            division=v.division,
            subject=Subject.VEHICLE,
        )
    return hits, drafts


def _licence_drafts(code: str, ids: Sequence[int], today: date) -> tuple[int, list[Draft]]:
    rule = RULES[code]
    points: dict[int, list[PointsFact]] = {}
    if code in _POINTS_RULES:
        for licence_id, occurred_on, pts, unpaid in PointsEntry.objects.filter(
            licence_id__in=ids
        ).values_list("licence_id", "occurred_on", "points", "fine_unpaid"):
            points.setdefault(licence_id, []).append(PointsFact(occurred_on, pts, unpaid))
    link = reverse("registry:licences")
    hits, drafts = 0, []
    rows = DrivingLicence.objects.select_related("holder", "employer").only(*_LICENCE_FIELDS)
    for lic in rows.filter(pk__in=ids):
        hit = evaluate(code, licence_facts(lic, points.get(lic.pk, ())), today)
        if hit is None:
            continue
        hits += 1
        recipients = [("p", lic.holder_id, lic.mobile or lic.holder.mobile or "")]
        if rule.to_employer and lic.employer_id:  # N5: the company is told about its drivers
            recipients.append(("o", lic.employer_id, getattr(lic.employer, "phone", "") or ""))
        drafts += drafts_for(
            rule,
            subject_id=lic.pk,
            fact=hit.fact,
            values={"classes": lic.classes, **hit.values},
            recipients=recipients,
            link=link,
            division=lic.division,
            subject=Subject.LICENCE,
        )
    return hits, drafts


def _violation_drafts(ids: Sequence[int]) -> tuple[int, list[Draft]]:
    drafts: list[Draft] = []
    rows = Violation.objects.select_related("vehicle__owner_person", "vehicle__owner_organisation").filter(
        pk__in=ids
    )
    hits = 0
    for violation in rows:
        made = w01_drafts(violation)
        hits += bool(made)
        drafts += made
    return hits, drafts


def _drafts(code: str, ids: Sequence[int], today: date) -> tuple[int, list[Draft]]:
    if code == "W01":
        return _violation_drafts(ids)
    if RULES[code].subject == Subject.LICENCE:
        return _licence_drafts(code, ids, today)
    return _vehicle_drafts(code, ids, today)


def rule_scan(
    code: str, *, today: date, rerun: bool = False, chunk_size: int = CHUNK, max_chunks: int | None = None
) -> ScanResult:
    """Scan one rule for ``today``: continue its ``ScanRun`` of the day (or start it again with
    ``rerun``), and write the messages of the rows it fires on, chunk by chunk.

    ``max_chunks`` stops after that many chunks (a time-boxed run); the next run continues.
    """
    started = time.monotonic()
    run, _ = ScanRun.objects.get_or_create(day=today, rule_code=code)
    if rerun:
        run.last_id, run.done, run.finished_at = 0, False, None
        run.candidates = run.hits = run.messages = 0
        run.seconds = 0.0
        run.save()
    if run.done:
        return ScanResult(code, run.candidates, run.hits, run.messages, run.seconds, skipped=True)
    ids = list(candidates(code, today).filter(pk__gt=run.last_id).order_by("pk").values_list("pk", flat=True))
    if run.last_id == 0:
        run.candidates = len(ids)
    done_chunks = 0
    for chunk in _chunks(ids, chunk_size):
        if max_chunks is not None and done_chunks >= max_chunks:
            break
        hits, drafts = _drafts(code, chunk, today)
        with transaction.atomic():
            keys = {d.dedup_key[:160] for d in drafts}
            told = Message.objects.filter(dedup_key__in=keys).count() if keys else 0
            messages_create(drafts)
            written = len(keys) - told
            run.last_id = chunk[-1]
            run.hits += hits
            run.messages += written
            run.save(update_fields=["last_id", "hits", "messages", "candidates"])
        done_chunks += 1
    else:
        run.done = True
        run.finished_at = timezone.now()
    run.seconds += time.monotonic() - started
    run.save(update_fields=["done", "finished_at", "seconds", "candidates"])
    logger.info(
        "notice rule %s on %s: %d candidates, %d hits, %d messages",
        code,
        today,
        len(ids),
        run.hits,
        run.messages,
    )
    return ScanResult(code, run.candidates, run.hits, run.messages, run.seconds)


def notices_scan(
    *,
    today: date | None = None,
    codes: Sequence[str] | None = None,
    rerun: bool = False,
    chunk_size: int = CHUNK,
) -> list[ScanResult]:
    """The daily scan of the notice rules (all of them, or ``codes``), for ``today`` (default:
    the local date). Safe to run again: it resumes, and tells each fact once."""
    today = today or timezone.localdate()
    unknown = [c for c in codes or () if c not in RULES]
    if unknown:
        raise ValueError(f"unknown notice rules: {', '.join(unknown)}")
    return [
        rule_scan(code, today=today, rerun=rerun, chunk_size=chunk_size) for code in (codes or RULE_ORDER)
    ]
