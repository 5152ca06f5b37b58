"""The queries behind the 11 reports (N2): each takes a period and returns its rows.

Each row carries the division the recipient authority's jurisdiction is matched on and, where
the report is also copied to a company (抄告), the id of that company. Queries read the registry,
violations and accidents as they stand when the report is made (the 1st of the month for a
monthly report, the next morning for an event report): that snapshot is what is sent.

ASSUMPTION: the driver reports carry the driver's full name and licence number (the ID number):
the authority and the employer must act on that very person. The files are personal data; staff
downloads are audited and the files never appear in a list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from jiaoguan.accidents.models import Party
from jiaoguan.core.identifiers import mask_name
from jiaoguan.exams import monitoring as exam_figures
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry.models import (
    DrivingLicence,
    DrugUseRecord,
    LicenceCancellationReason,
    NonCompliantModel,
    PointsEntry,
    SchoolBusSign,
    Vehicle,
)
from jiaoguan.violations.models import Violation

from . import rules
from .rules import Period

CHUNK = 2000
YES, NO = "是", "否"


@dataclass(frozen=True)
class Row:
    """One line of a report: its cells in column order, where it belongs, whom it is copied to."""

    division: str
    cells: tuple[str, ...]
    company_id: int | None = None


def _start(day: date) -> datetime:
    # Days are Beijing days: the platform's time zone.
    return timezone.make_aware(datetime.combine(day, time.min))


def _within(period: Period) -> tuple[datetime, datetime]:
    return _start(period.start), _start(period.end + timedelta(days=1))


def _d(day: date | None) -> str:
    return day.isoformat() if day else ""


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _owner(org_name: str | None, person_name: str | None) -> str:
    # A company is named; a private owner only masked (the reports go outside the police).
    return org_name or mask_name(person_name or "")


def _use_words(use: str) -> str:
    try:
        return registry_rules.UseNature(use).label_zh
    except ValueError:
        return use


def _kind_words(kind: str) -> str:
    try:
        return registry_rules.VehicleKind(kind).label_zh
    except ValueError:
        return kind


# ---------------------------------------------------------------- vehicle reports (R01-R05)


def r01_overdue_violations(period: Period) -> list[Row]:
    """R01 营运车和校车及危险品运输车超期未处理违法累积3起及以上: commercial vehicles, school buses and
    dangerous-goods vehicles with 3 or more violations still unhandled (or disputed) 15 days after
    the offence when the month ends (rules.OVERDUE_AFTER_DAYS, an ASSUMPTION)."""
    cutoff = _start(rules.overdue_cutoff(period.end) + timedelta(days=1))
    counts = (
        Violation.objects.filter(
            status__in=[Violation.Status.UNHANDLED, Violation.Status.DISPUTED],
            vehicle__use_nature__in=rules.OPERATING_USES,
            occurred_at__lt=cutoff,
        )
        .values("vehicle_id")
        .annotate(n=Count("id"), first=Min("occurred_at"), last=Max("occurred_at"))
        .filter(n__gte=rules.R01_MIN_VIOLATIONS)
    )
    by_vehicle = {c["vehicle_id"]: c for c in counts}
    rows = []
    vehicles = Vehicle.objects.filter(pk__in=list(by_vehicle)).values(
        "pk", "plate_number", "plate_type", "use_nature", "status", "division", "owner_organisation_id",
        "owner_organisation__name", "owner_person__name",
    )  # fmt: skip
    for v in vehicles.order_by("division", "plate_number"):
        if rules.vehicle_gone(v["status"]):
            continue
        c = by_vehicle[v["pk"]]
        rows.append(
            Row(
                v["division"],
                (
                    v["plate_number"] or "",
                    v["plate_type"],
                    _use_words(v["use_nature"]),
                    _owner(v["owner_organisation__name"], v["owner_person__name"]),
                    str(c["n"]),
                    _local(c["first"]),
                    _local(c["last"]),
                    v["division"],
                ),
                v["owner_organisation_id"],
            )
        )
    return rows


def _sign_state(sign: SchoolBusSign, on: date) -> str:
    if sign.revoked_on and sign.revoked_on <= on:
        return "已注销"
    if sign.valid_until < on:
        return "已过期"
    return "有效"


def _signs_in(period: Period) -> QuerySet[SchoolBusSign]:
    return SchoolBusSign.objects.filter(valid_from__lte=period.end, valid_until__gte=period.start).filter(
        Q(revoked_on__isnull=True) | Q(revoked_on__gte=period.start)
    )


def r02_school_bus_signs(period: Period) -> list[Row]:
    """R02 每月辖区校车标牌信息: every school-bus sign in force on some day of the month, with its state
    at the month's end (valid, expired, revoked)."""
    rows = []
    for sign in _signs_in(period).select_related("vehicle", "school").order_by("division", "number"):
        rows.append(
            Row(
                sign.division,
                (
                    sign.number,
                    sign.vehicle.plate_number or "",
                    sign.school.name,
                    sign.route,
                    _d(sign.valid_from),
                    _d(sign.valid_until),
                    _sign_state(sign, period.end),
                    _d(sign.revoked_on),
                    sign.division,
                ),
            )
        )
    return rows


def _inspection_due(v: dict, as_of: date) -> date:
    try:
        due = registry_rules.inspection_valid_until(
            kind=v["kind"], use=v["use_nature"], registered_on=v["registered_on"],
            last_inspected_on=v["last_inspected_on"], as_of=as_of,
            on_site_required=v["on_site_inspection_required"],
        )  # fmt: skip
    except ValueError:  # a kind or use the tables do not know: the strict fallback (registry.rules)
        due = registry_rules.fallback_inspection_valid_until(
            registered_on=v["registered_on"], last_inspected_on=v["last_inspected_on"], as_of=as_of
        )
    return due.due_on


_VEHICLE_FIELDS = (
    "pk", "plate_number", "kind", "use_nature", "status", "division", "registered_on", "last_inspected_on",
    "on_site_inspection_required", "owner_organisation__name", "owner_person__name",
)  # fmt: skip


def r03_school_buses(period: Period) -> list[Row]:
    """R03 每月校车违法和事故及检验等信息: every school bus on the roll with its violations and accidents
    of the month and its inspection validity at the month's end; copied to the school using it
    (the sign in force last in the month)."""
    start, end = _within(period)
    buses = list(
        Vehicle.objects.filter(use_nature="school_bus", registered_on__lte=period.end)
        .values(*_VEHICLE_FIELDS)
        .order_by("division", "plate_number")
    )
    buses = [b for b in buses if not rules.vehicle_gone(b["status"])]
    ids = [b["pk"] for b in buses]
    violations = dict(
        Violation.objects.filter(vehicle_id__in=ids, occurred_at__gte=start, occurred_at__lt=end)
        .exclude(status=Violation.Status.CANCELLED)
        .values("vehicle_id")
        .annotate(n=Count("id"))
        .values_list("vehicle_id", "n")
    )
    accidents = dict(
        Party.objects.filter(vehicle_id__in=ids, case__occurred_at__gte=start, case__occurred_at__lt=end)
        .values("vehicle_id")
        .annotate(n=Count("case_id", distinct=True))
        .values_list("vehicle_id", "n")
    )
    signs: dict[int, SchoolBusSign] = {}
    for found in (
        _signs_in(period).filter(vehicle_id__in=ids).select_related("school").order_by("valid_from", "pk")
    ):
        signs[found.vehicle_id] = found  # the latest one wins
    rows = []
    for b in buses:
        due = _inspection_due(b, period.end)
        sign = signs.get(b["pk"])
        rows.append(
            Row(
                b["division"],
                (
                    b["plate_number"] or "",
                    sign.number if sign else "",
                    sign.school.name if sign else "",
                    str(violations.get(b["pk"], 0)),
                    str(accidents.get(b["pk"], 0)),
                    _d(due),
                    "逾期未检验" if period.end > due else "有效",
                    b["division"],
                ),
                sign.school_id if sign else None,
            )
        )
    return rows


def _passenger_freight(period: Period) -> Iterator[dict]:
    # Read in chunks with .iterator(): a province has hundreds of thousands of such vehicles and
    # the validity is computed in Python (registry.rules), never loaded all at once.
    return (
        Vehicle.objects.filter(use_nature__in=rules.PASSENGER_FREIGHT_USES, registered_on__lte=period.end)
        .values(*_VEHICLE_FIELDS)
        .order_by("division", "plate_number", "pk")
        .iterator(chunk_size=CHUNK)
    )


def r04_overdue_inspection_or_scrapping(period: Period) -> list[Row]:
    """R04 客货运车辆逾期未检验和未报废信息: passenger and freight transport vehicles still on the roll
    that are overdue for inspection, or past their compulsory scrapping date (S8), when the month
    ends. The commercial subset is read in chunks with ``.iterator()`` and the dates computed by
    registry.rules for each vehicle."""
    rows = []
    for v in _passenger_freight(period):
        if rules.vehicle_gone(v["status"]):
            continue
        due = _inspection_due(v, period.end)
        try:
            scrapping = registry_rules.compulsory_scrapping_date(
                kind=v["kind"], use=v["use_nature"], registered_on=v["registered_on"]
            )
        except ValueError:
            scrapping = None
        overdue = period.end > due
        past_scrapping = scrapping is not None and scrapping <= period.end
        if not (overdue or past_scrapping):
            continue
        rows.append(
            Row(
                v["division"],
                (
                    v["plate_number"] or "",
                    _kind_words(v["kind"]),
                    _use_words(v["use_nature"]),
                    _owner(v["owner_organisation__name"], v["owner_person__name"]),
                    _d(due),
                    YES if overdue else NO,
                    _d(scrapping),
                    YES if past_scrapping else NO,
                    v["division"],
                ),
            )
        )
    return rows


def r05_non_compliant_models(period: Period) -> list[Row]:
    """R05 违规车型及其生产销售厂家信息: models recorded as non-compliant on the day (the day the
    platform learnt of it, so a finding entered late is still sent)."""
    start, end = _within(period)
    rows = []
    found = NonCompliantModel.objects.filter(created_at__gte=start, created_at__lt=end)
    for m in found.order_by("division", "pk"):
        rows.append(
            Row(m.division, (m.brand_model, m.manufacturer, m.seller, m.finding, _d(m.found_on), m.division))
        )
    return rows


# ---------------------------------------------------------------- licence reports (R07-R11)


def _taxi_companies() -> set[int]:
    """Organisations owning a taxi: their drivers are taxi drivers (ASSUMPTION, R07 R08)."""
    return set(
        Vehicle.objects.filter(use_nature="taxi", owner_organisation__isnull=False)
        .values_list("owner_organisation_id", flat=True)
        .distinct()
    )


def _large_or_taxi(licence: DrivingLicence, taxi_companies: set[int]) -> bool:
    """大中型客货车和出租车驾驶人: a holder of A1 A2 A3 B1 B2, or a driver employed by a company that
    owns taxis (ASSUMPTION: the registry records no taxi-driver qualification)."""
    return rules.holds_large_class(licence.classes) or (licence.employer_id in taxi_companies)


def _driver_cells(licence: DrivingLicence) -> tuple[str, ...]:
    return (
        licence.holder.name,
        licence.holder.id_number,
        licence.archive_number,
        licence.classes,
        licence.employer.name if licence.employer else "",
    )


def _driver_row(licence: DrivingLicence, *extra: str) -> Row:
    return Row(licence.division, (*_driver_cells(licence), *extra, licence.division), licence.employer_id)


def _licences() -> QuerySet[DrivingLicence]:
    return DrivingLicence.objects.select_related("holder", "employer").order_by("division", "archive_number")


def r07_drug_addiction_cancellations(period: Period) -> list[Row]:
    """R07 大中型客货车和出租车驾驶人吸毒成瘾注销驾驶证: licences cancelled for drug addiction on the day."""
    taxi = _taxi_companies()
    found = _licences().filter(
        cancellation_reason=LicenceCancellationReason.DRUG_ADDICTION,
        cancelled_on__gte=period.start,
        cancelled_on__lte=period.end,
    )
    return [_driver_row(lic, _d(lic.cancelled_on)) for lic in found if _large_or_taxi(lic, taxi)]


def r08_drug_use_records(period: Period) -> list[Row]:
    """R08 大中型客货车和出租车驾驶人吸毒行为记录: drug-use records the platform received on the day about
    holders of a licence (matched to the licence's office, where the driver is managed)."""
    taxi = _taxi_companies()
    start, end = _within(period)
    records = (
        DrugUseRecord.objects.filter(created_at__gte=start, created_at__lt=end, person__licence__isnull=False)
        .select_related("person__licence__employer", "person__licence__holder")
        .order_by("person__licence__division", "recorded_on", "pk")
    )
    rows = []
    for record in records:
        lic = record.person.licence
        if _large_or_taxi(lic, taxi):
            rows.append(
                _driver_row(lic, _d(record.recorded_on), YES if record.addicted else NO, record.source)
            )
    return rows


def r09_school_bus_qualification_cancelled(period: Period) -> list[Row]:
    """R09 校车驾驶资格注销: school-bus driving qualifications cancelled on the day."""
    found = _licences().filter(
        school_bus_qualification_cancelled_on__gte=period.start,
        school_bus_qualification_cancelled_on__lte=period.end,
    )
    return [
        _driver_row(lic, _d(lic.school_bus_qualified_on), _d(lic.school_bus_qualification_cancelled_on))
        for lic in found
    ]


def r10_large_class_downgrades(period: Period) -> list[Row]:
    """R10 大中型客货车驾驶人降级注销: large classes taken away on the day, by downgrade (降级, S1 art.
    65, 81) or by cancellation for not exchanging a downgraded licence."""
    downgraded = _licences().filter(downgraded_on__gte=period.start, downgraded_on__lte=period.end)
    cancelled = _licences().filter(
        cancellation_reason=LicenceCancellationReason.DOWNGRADE_NOT_EXCHANGED,
        cancelled_on__gte=period.start,
        cancelled_on__lte=period.end,
    )
    rows = []
    for lic in downgraded:
        lost = rules.large_classes(lic.downgraded_from)
        if lost:
            rows.append(_driver_row(lic, "降级", lic.downgraded_from, _d(lic.downgraded_on)))
    for lic in cancelled:
        if rules.holds_large_class(lic.classes):
            rows.append(_driver_row(lic, "未按规定降级换证注销", lic.classes, _d(lic.cancelled_on)))
    return sorted(rows, key=lambda r: (r.division, r.cells[2]))


def r11_instructor_full_score(period: Period) -> list[Row]:
    """R11 教练员交通违法记分满分: driving instructors whose points in a scoring cycle (S2) reached 12
    with an entry recorded on the day. Carried points of unpaid fines count as in the registry."""
    start, end = _within(period)
    candidates = (
        PointsEntry.objects.filter(licence__instructor=True, created_at__gte=start, created_at__lt=end)
        .values_list("licence_id", flat=True)
        .distinct()
    )
    rows = []
    for lic in _licences().filter(pk__in=list(candidates)):
        entries = list(lic.points_entries.values("points", "occurred_on", "fine_unpaid", "created_at"))
        new_cycles = {
            registry_rules.scoring_cycle(first_issued_on=lic.first_issued_on, today=e["occurred_on"])
            for e in entries
            if start <= e["created_at"] < end and e["occurred_on"] >= lic.first_issued_on
        }
        for cycle in sorted(new_cycles):
            counted = [
                e
                for e in entries
                if cycle[0] <= e["occurred_on"] <= cycle[1]
                or (e["occurred_on"] < cycle[0] and e["fine_unpaid"] and e["points"] > 0)
            ]
            before = rules.sum_points(e["points"] for e in counted if e["created_at"] < start)
            after = rules.sum_points(e["points"] for e in counted if e["created_at"] < end)
            if rules.crossed_full_score(before=before, after=after):
                rows.append(_driver_row(lic, f"{_d(cycle[0])} 至 {_d(cycle[1])}", str(after), _d(period.end)))
    return rows


def r06_driving_schools_ranked(period: Period) -> list[Row]:
    """R06 驾驶培训机构排名: the driving schools of the month ranked by the pass rate of their
    learners' bookings that ended in it (one booking with its retake is one test, a miss is a
    fail); schools with fewer than ``RANK_MIN_TESTS`` tests are not ranked. Each row goes to the
    transport authority of the school's division."""
    return [
        Row(
            s.division,
            (
                str(rank),
                s.name,
                str(s.total_tests),
                str(s.total_passes),
                exam_figures.percent(s.total_passes, s.total_tests),
                s.division,
            ),
        )
        for rank, s in exam_figures.schools_ranked(period.start, period.end)
    ]
