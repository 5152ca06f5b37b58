"""The records each announcement lists, read from the registry (G01-G20, N3).

Each generator selects candidates in SQL by status code, returned-on dates or a date threshold
that no listed record can miss, then confirms each candidate with the Python rule that decides
it (registry/rules.py, registry/selectors.py, announcements/rules.py). The thresholds are
deliberately wide: the SQL only narrows, the rule decides. Reads only: nothing is changed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from jiaoguan.core.identifiers import mask_id_number, mask_name
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry.models import (
    DrivingLicence,
    LicenceCancellationReason,
    PointsEntry,
    SchoolBusSign,
    Vehicle,
)
from jiaoguan.registry.selectors import licence_status

from . import rules
from .rules import Subject

MAX_ITEMS = 5000  # one announcement lists at most this many records; a larger list is split by division

_REASON = LicenceCancellationReason
_DEREGISTERED = Q(status__contains="E") | Q(status__contains="M")
_CANCELLED = Q(status__contains="G")


@dataclass(frozen=True)
class Listed:
    """One record to list; ``name`` and ``id_number`` are clear here and masked before storing."""

    subject: Subject
    subject_id: int
    plate_number: str = ""
    plate_type: str = ""
    name: str = ""
    name_is_person: bool = True
    id_number: str = ""
    classes: str = ""
    fact_on: date | None = None
    fact: str = ""

    @property
    def name_masked(self) -> str:
        return mask_name(self.name) if self.name_is_person else self.name

    @property
    def licence_number_masked(self) -> str:
        return mask_id_number(self.id_number) if self.id_number else ""


# ---------------------------------------------------------------- vehicles


def _vehicles(prefix: str) -> QuerySet[Vehicle]:
    return (
        Vehicle.objects.filter(division__startswith=prefix)
        .select_related("owner_person", "owner_organisation")
        .order_by("plate_number", "pk")
    )


def _vehicle_row(vehicle: Vehicle, *, fact_on: date | None = None, fact: str = "") -> Listed:
    person = vehicle.owner_person
    organisation = vehicle.owner_organisation
    return Listed(
        subject=Subject.VEHICLE,
        subject_id=vehicle.pk,
        plate_number=vehicle.plate_number or "",
        plate_type=vehicle.plate_type,
        name=person.name if person is not None else (organisation.name if organisation is not None else ""),
        name_is_person=person is not None,
        classes=registry_rules.VehicleKind(vehicle.kind).label_zh
        if vehicle.kind in registry_rules.VehicleKind.__members__.values()
        else vehicle.kind,
        fact_on=fact_on,
        fact=fact,
    )


def _status_fact(vehicle: Vehicle) -> str:
    return "强制注销 M" if "M" in vehicle.status else "注销 E"


def _known_kind(vehicle: Vehicle) -> tuple[registry_rules.VehicleKind, registry_rules.UseNature] | None:
    try:
        return registry_rules.VehicleKind(vehicle.kind), registry_rules.UseNature(vehicle.use_nature)
    except ValueError:
        return None  # an unknown stored kind is not announced on a guess


def _scrapping_date(vehicle: Vehicle) -> date | None:
    known = _known_kind(vehicle)
    if known is None:
        return None
    return registry_rules.compulsory_scrapping_date(
        kind=known[0], use=known[1], registered_on=vehicle.registered_on
    )


def _valid_until(vehicle: Vehicle, today: date) -> date:
    known = _known_kind(vehicle)
    if known is None:
        return registry_rules.fallback_inspection_valid_until(
            registered_on=vehicle.registered_on, last_inspected_on=vehicle.last_inspected_on, as_of=today
        ).due_on
    return registry_rules.inspection_valid_until(
        kind=known[0],
        use=known[1],
        registered_on=vehicle.registered_on,
        last_inspected_on=vehicle.last_inspected_on,
        as_of=today,
        on_site_required=vehicle.on_site_inspection_required,
    ).due_on


def _not_inspected_since(today: date, days: int) -> Q:
    # A pass within the 3-month window renews to a due at least 3 months after it, so a vehicle
    # inspected fewer than ``days`` ago cannot be overdue: the SQL narrows, the rule decides.
    since = today - timedelta(days=days)
    return Q(registered_on__lt=since) & (Q(last_inspected_on__isnull=True) | Q(last_inspected_on__lt=since))


def g01(prefix: str, today: date) -> Iterator[Listed]:
    """ASSUMPTION: "收缴机动车报废" lists vehicles compulsorily deregistered (status M) whose plates
    were collected by the police (plate_returned_on set): confiscated and scrapped."""
    for v in _vehicles(prefix).filter(status__contains="M", plate_returned_on__isnull=False):
        yield _vehicle_row(v, fact_on=v.plate_returned_on, fact="强制注销 M")


def _not_returned(prefix: str, field: str) -> Iterator[Listed]:
    for v in _vehicles(prefix).filter(_DEREGISTERED, **{f"{field}__isnull": True}):
        if rules.deregistered(v.status):
            yield _vehicle_row(v, fact=_status_fact(v))


def g02(prefix: str, today: date) -> Iterator[Listed]:
    yield from _not_returned(prefix, "certificate_returned_on")


def g03(prefix: str, today: date) -> Iterator[Listed]:
    for row in _not_returned(prefix, "plate_returned_on"):
        if row.plate_number:  # a vehicle that never had plates has none to declare void
            yield row


def g04(prefix: str, today: date) -> Iterator[Listed]:
    yield from _not_returned(prefix, "vehicle_licence_returned_on")


_YOUNGEST_SCRAPPING_AGE = 8  # S8: small/mini taxis; no row has a lower age


def g05(prefix: str, today: date) -> Iterator[Listed]:
    old_enough = registry_rules.add_years(today, -(_YOUNGEST_SCRAPPING_AGE - 1))
    for v in _vehicles(prefix).exclude(_DEREGISTERED).filter(registered_on__lte=old_enough):
        scrapping = _scrapping_date(v)
        if rules.scrapping_near(scrapping_date=scrapping, today=today):
            yield _vehicle_row(v, fact_on=scrapping)


def g06(prefix: str, today: date) -> Iterator[Listed]:
    for v in _vehicles(prefix).exclude(_DEREGISTERED).filter(_not_inspected_since(today, 60)):
        valid_until = _valid_until(v, today)
        if registry_rules.inspection_status(valid_until=valid_until, today=today) == "overdue":
            yield _vehicle_row(v, fact_on=valid_until)


def g11(prefix: str, today: date) -> Iterator[Listed]:
    old_enough = registry_rules.add_years(today, -_YOUNGEST_SCRAPPING_AGE)
    for v in _vehicles(prefix).exclude(_DEREGISTERED).filter(registered_on__lte=old_enough):
        scrapping = _scrapping_date(v)
        if rules.scrapping_reached(scrapping_date=scrapping, today=today):
            yield _vehicle_row(v, fact_on=scrapping)


def g13(prefix: str, today: date) -> Iterator[Listed]:
    """Three cycles missed needs at least a year without inspection (the shortest cycle is six
    months, and the validity's own due comes first)."""
    for v in _vehicles(prefix).exclude(_DEREGISTERED).filter(_not_inspected_since(today, 365)):
        known = _known_kind(v)
        valid_until = _valid_until(v, today)
        if known is None:
            continue
        schedule = registry_rules.inspection_schedule(
            kind=known[0], use=known[1], registered_on=v.registered_on, as_of=today,
            on_site_required=v.on_site_inspection_required,
        )  # fmt: skip
        missed = rules.inspection_cycles_missed(
            valid_until=valid_until,
            later_dues=[d.due_on for d in schedule if d.due_on > valid_until],
            today=today,
        )
        if missed >= rules.INSPECTION_CYCLES_BEFORE_DEREGISTRATION:
            yield _vehicle_row(v, fact_on=valid_until, fact=f"连续{missed}个检验周期未检验")


def g12(prefix: str, today: date) -> Iterator[Listed]:
    signs = (
        SchoolBusSign.objects.filter(
            division__startswith=prefix, revoked_on__isnull=False, returned_on__isnull=True
        )
        .select_related("vehicle", "school")
        .order_by("number", "pk")
    )
    for sign in signs:
        if sign.revoked_on is not None and sign.revoked_on <= today:
            yield Listed(
                subject=Subject.SCHOOL_BUS_SIGN,
                subject_id=sign.pk,
                plate_number=sign.vehicle.plate_number or "",
                plate_type=sign.vehicle.plate_type,
                name=sign.school.name,
                name_is_person=False,
                classes=f"校车标牌 {sign.number}",
                fact_on=sign.revoked_on,
            )


# ---------------------------------------------------------------- licences


def _licences(prefix: str) -> QuerySet[DrivingLicence]:
    return DrivingLicence.objects.filter(division__startswith=prefix).select_related("holder").order_by("pk")


def _licence_row(licence: DrivingLicence, *, fact_on: date | None = None, fact: str = "") -> Listed:
    return Listed(
        subject=Subject.LICENCE,
        subject_id=licence.pk,
        name=licence.holder.name,
        id_number=licence.holder.id_number,
        classes=licence.classes,
        fact_on=fact_on,
        fact=fact,
    )


def g07(prefix: str, today: date) -> Iterator[Listed]:
    shortest = registry_rules.add_years(today, -6)  # no term is shorter than six years
    candidates = (
        _licences(prefix)
        .exclude(_CANCELLED)
        .exclude(validity_term=registry_rules.ValidityTerm.LONG_TERM)
        .filter(valid_from__lte=shortest)
    )
    candidates = candidates.exclude(renewal_deferred_until__gte=today)  # a deferral still runs (B12)
    for licence in candidates:
        try:
            valid_until = registry_rules.licence_valid_until(
                valid_from=licence.valid_from, term=licence.validity_term
            )
        except ValueError:
            valid_until = None  # an unknown term: the registry's own reading below decides
        if valid_until is not None and valid_until >= today:
            continue  # still valid: no need for the full status (it counts points)
        status = licence_status(licence, today=today)
        if status.renewal_state in ("overdue", "cancellable"):
            yield _licence_row(licence, fact_on=status.valid_until)


def g08(prefix: str, today: date) -> Iterator[Listed]:
    """Review is due only for A and B classes after a cycle with points (S1 art. 72)."""
    with_points = PointsEntry.objects.filter(licence=OuterRef("pk"), points__gt=0)
    candidates = (
        _licences(prefix).exclude(_CANCELLED).filter(classes__regex=r"[AB]").filter(Exists(with_points))
    )
    for licence in candidates:
        status = licence_status(licence, today=today)
        if status.review_due is not None and status.review_due < today:
            yield _licence_row(licence, fact_on=status.review_due)


def g09(prefix: str, today: date) -> Iterator[Listed]:
    """Certificates are due from age 70 (before 2022 from 60 and for A/B) and for C5 (S1); a
    deferral still running (B14) holds the announcement back."""
    born_before = registry_rules.add_years(today, -60)
    candidates = (
        _licences(prefix)
        .exclude(_CANCELLED)
        .exclude(medical_deferred_until__gte=today)
        .filter(
            Q(holder__birth_date__lte=born_before) | Q(classes__contains="C5") | Q(classes__regex=r"[AB]")
        )
    )
    for licence in candidates:
        missed = rules.missed_medical_deadline(
            birth_date=licence.holder.birth_date,
            classes=licence.classes,
            first_issued_on=licence.first_issued_on,
            last_medical_on=licence.last_medical_on,
            today=today,
        )
        if missed is not None:
            yield _licence_row(licence, fact_on=missed)


_PROBATION_REASONS = (_REASON.PROBATION_FULL_SCORE, _REASON.EXTENDED_PROBATION_POINTS)


def g10(prefix: str, today: date) -> Iterator[Listed]:
    """ASSUMPTION: an added class cancelled for points in (extended) probation is recorded with
    that cancellation reason on a licence that is itself not cancelled (no status G)."""
    candidates = _licences(prefix).exclude(_CANCELLED).filter(cancellation_reason__in=_PROBATION_REASONS)
    for licence in candidates:
        if licence.cancelled_on is None or licence.cancelled_on <= today:
            yield _licence_row(licence, fact_on=licence.cancelled_on)


def g14(prefix: str, today: date) -> Iterator[Listed]:
    latest = today - timedelta(days=rules.DOWNGRADE_EXCHANGE_DAYS)
    candidates = _licences(prefix).filter(downgraded_on__lt=latest, downgrade_exchanged_on__isnull=True)
    for licence in candidates.exclude(_CANCELLED):
        if rules.downgrade_exchange_overdue(
            downgraded_on=licence.downgraded_on, exchanged_on=licence.downgrade_exchanged_on, today=today
        ):
            yield _licence_row(
                licence, fact_on=licence.downgraded_on, fact=f"原准驾车型 {licence.downgraded_from}"
            )


def _cancelled_not_returned(prefix: str) -> QuerySet[DrivingLicence]:
    return _licences(prefix).filter(_CANCELLED, returned_on__isnull=True)


def g15(prefix: str, today: date) -> Iterator[Listed]:
    candidates = _cancelled_not_returned(prefix).filter(cancellation_reason=_REASON.EXTENDED_PROBATION_POINTS)
    for licence in candidates:
        held = set(registry_rules.split_classes(licence.classes)[0]) | set(
            registry_rules.split_classes(licence.downgraded_from)[0]
        )
        if held & {"A3", "B2"} and rules.licence_cancelled(licence.status):
            yield _licence_row(licence, fact_on=licence.cancelled_on)


def g16(prefix: str, today: date) -> Iterator[Listed]:
    for licence in _cancelled_not_returned(prefix).filter(cancellation_reason=_REASON.PROBATION_FULL_SCORE):
        if rules.licence_cancelled(licence.status):
            yield _licence_row(licence, fact_on=licence.cancelled_on)


def g17(prefix: str, today: date) -> Iterator[Listed]:
    for licence in _licences(prefix).filter(_CANCELLED, cancellation_reason=_REASON.DOWNGRADE_NOT_EXCHANGED):
        if rules.licence_cancelled(licence.status):
            yield _licence_row(licence, fact_on=licence.cancelled_on)


def g18(prefix: str, today: date) -> Iterator[Listed]:
    for licence in _licences(prefix).filter(status__contains="J"):
        yield _licence_row(licence, fact="停止使用 J")


def g19(prefix: str, today: date) -> Iterator[Listed]:
    """ASSUMPTION: every cancelled licence not handed back, except those G15 and G16 announce
    under their own kind (cancelled for points in probation)."""
    candidates = _cancelled_not_returned(prefix).exclude(cancellation_reason__in=_PROBATION_REASONS)
    for licence in candidates:
        if rules.licence_cancelled(licence.status):
            reason = (
                LicenceCancellationReason(licence.cancellation_reason).label.split(" ", 1)[0]
                if (licence.cancellation_reason in LicenceCancellationReason.values)
                else ""
            )
            yield _licence_row(licence, fact_on=licence.cancelled_on, fact=reason)


def g20(prefix: str, today: date) -> Iterator[Listed]:
    """The qualification is endorsed on the licence, so the licence must come back to remove it;
    one not returned since the cancellation is listed."""
    candidates = _licences(prefix).filter(school_bus_qualification_cancelled_on__lte=today)
    candidates = candidates.filter(
        Q(returned_on__isnull=True) | Q(returned_on__lt=F("school_bus_qualification_cancelled_on"))
    )
    for licence in candidates:
        yield _licence_row(licence, fact_on=licence.school_bus_qualification_cancelled_on)


GENERATORS: dict[str, Callable[[str, date], Iterable[Listed]]] = {
    "G01": g01, "G02": g02, "G03": g03, "G04": g04, "G05": g05, "G06": g06, "G07": g07,
    "G08": g08, "G09": g09, "G10": g10, "G11": g11, "G12": g12, "G13": g13, "G14": g14,
    "G15": g15, "G16": g16, "G17": g17, "G18": g18, "G19": g19, "G20": g20,
}  # fmt: skip


def listed(code: str, *, prefix: str, today: date) -> list[Listed]:
    """The records announcement ``code`` lists in the division ``prefix`` on ``today``."""
    rows: list[Listed] = []
    for row in GENERATORS[code](prefix, today):
        rows.append(row)
        if len(rows) >= MAX_ITEMS:
            break
    return rows
