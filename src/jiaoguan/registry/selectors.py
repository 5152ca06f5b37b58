"""Reads of registry data, scoped to what the actor may see, with computed statuses (Q1, Q2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet, Sum

from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone

from . import rules
from .models import DrivingLicence, Organisation, Person, PlateType, Vehicle

if TYPE_CHECKING:
    from jiaoguan.accounts.models import User

# Plate background colours (GA 36-2018): what the citizen recognises on the card.
_PLATE_COLOURS: dict[str, str] = {
    PlateType.LARGE: "yellow",
    PlateType.SMALL: "blue",
    PlateType.MOTORCYCLE: "yellow",
    PlateType.MOPED: "blue",
    PlateType.LOW_SPEED: "yellow",
    PlateType.TRAILER: "yellow",
    PlateType.COACH: "yellow",
    PlateType.TEMPORARY: "white",
    PlateType.LARGE_NEW_ENERGY: "yellow-green",
    PlateType.SMALL_NEW_ENERGY: "green",
}


@dataclass(frozen=True)
class StatusCode:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Alert:
    """Something that needs the citizen's action, with one line of why (UX: red or amber mark)."""

    level: str  # "red" or "amber"
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class VehicleStatus:
    """Everything Q1 asks for one vehicle, computed for ``today``."""

    id: int
    plate_number: str | None
    plate_type: str
    plate_type_label: str
    plate_colour: str
    vin_masked: str
    kind: str
    kind_zh: str
    kind_en: str
    use_nature: str
    use_zh: str
    use_en: str
    brand_model: str
    registered_on: date
    statuses: list[StatusCode]
    inspection_valid_until: date
    inspection_state: str  # valid / due_soon / overdue
    next_inspection_on_site: bool
    scrapping_date: date | None  # None: no age limit
    scrapping_within_a_year: bool
    is_key_vehicle: bool
    owner_masked: str
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True)
class LicenceStatus:
    """Everything Q2 asks for one licence, computed for ``today``."""

    id: int
    number_masked: str
    archive_number: str
    holder_masked: str
    classes: list[tuple[str, str, str]]
    statuses: list[StatusCode]
    first_issued_on: date
    valid_from: date
    valid_until: date | None  # None: long-term
    validity_term: str
    renewal_state: str
    renewal_window_start: date | None
    points_in_cycle: int
    points_limit: int
    cycle_start: date
    cycle_end: date
    points_warning: str | None
    probation_end: date | None
    on_probation: bool
    review_due: date | None
    medical_due: date | None
    age_limit_exchange: dict[str, str]
    alerts: list[Alert] = field(default_factory=list)


def _status_codes(codes: str, table: Any) -> list[StatusCode]:
    return [StatusCode(c, zh, en) for c, zh, en in rules.describe_statuses(codes, table)]


def vehicle_status(vehicle: Vehicle, *, today: date) -> VehicleStatus:
    """Compute Q1 for a vehicle: status codes with meanings, inspection, scrapping."""
    kind, use = rules.VehicleKind(vehicle.kind), rules.UseNature(vehicle.use_nature)
    due = rules.inspection_valid_until(
        kind=kind,
        use=use,
        registered_on=vehicle.registered_on,
        last_inspected_on=vehicle.last_inspected_on,
        as_of=today,
        on_site_required=vehicle.on_site_inspection_required,
    )
    state = rules.inspection_status(valid_until=due.due_on, today=today)
    scrapping = rules.compulsory_scrapping_date(kind=kind, use=use, registered_on=vehicle.registered_on)
    scrapping_soon = rules.scrapping_within_a_year(scrapping_date=scrapping, today=today)
    codes = rules.derived_vehicle_status(vehicle.status or "A", inspection_overdue=state == "overdue")
    alerts: list[Alert] = []
    if state == "overdue":
        alerts.append(
            Alert("red", "inspection_overdue", "检验已逾期 — 请尽快检验", "Inspection overdue — book one now")
        )
    elif state == "due_soon":
        alerts.append(
            Alert(
                "amber",
                "inspection_due_soon",
                "检验即将到期 — 可申领检验标志" if not due.on_site else "检验即将到期 — 预约检验",
                "Inspection due soon — apply for the label"
                if not due.on_site
                else "Inspection due soon — book it",
            )
        )
    if scrapping_soon:
        alerts.append(
            Alert(
                "amber", "scrapping_soon", "一年内达到强制报废年限", "Compulsory scrapping age within a year"
            )
        )
    owner = vehicle.owner_person.name if vehicle.owner_person_id else vehicle.owner_organisation.name  # type: ignore[union-attr]
    return VehicleStatus(
        id=vehicle.pk,
        plate_number=vehicle.plate_number,
        plate_type=vehicle.plate_type,
        plate_type_label=vehicle.get_plate_type_display(),
        plate_colour=_PLATE_COLOURS.get(vehicle.plate_type, "blue"),
        vin_masked=vehicle.vin[:3] + "*" * 8 + vehicle.vin[-6:],
        kind=kind.value,
        kind_zh=kind.label_zh,
        kind_en=kind.label_en,
        use_nature=use.value,
        use_zh=use.label_zh,
        use_en=use.label_en,
        brand_model=vehicle.brand_model,
        registered_on=vehicle.registered_on,
        statuses=_status_codes(codes, rules.VEHICLE_STATUS),
        inspection_valid_until=due.due_on,
        inspection_state=state,
        next_inspection_on_site=due.on_site,
        scrapping_date=scrapping,
        scrapping_within_a_year=scrapping_soon,
        is_key_vehicle=rules.is_key_vehicle(kind, use),
        owner_masked=mask_name(owner) if vehicle.owner_person_id else owner,
        alerts=alerts,
    )


def licence_points_in_cycle(licence: DrivingLicence, *, cycle: tuple[date, date]) -> int:
    """Points in the cycle, plus earlier offences whose fine is still unpaid (they carry over, S2)."""
    in_cycle = Q(occurred_on__gte=cycle[0], occurred_on__lte=cycle[1])
    carried = Q(occurred_on__lt=cycle[0], fine_unpaid=True, points__gt=0)
    total = licence.points_entries.filter(in_cycle | carried).aggregate(total=Sum("points"))["total"]
    return max(0, int(total or 0))


# A certificate counts for a deadline when issued within its 6-month validity before it (S1 art. 74).
MEDICAL_CERTIFICATE_VALID = timedelta(days=183)


def _review_due(
    licence: DrivingLicence, *, classes: tuple[str, ...], cycle: tuple[date, date]
) -> date | None:
    """Review after the previous cycle (S1 art. 72), unless it has been done since that cycle ended."""
    if cycle[0] <= licence.first_issued_on:
        return None
    previous = rules.scoring_cycle(
        first_issued_on=licence.first_issued_on, today=cycle[0] - timedelta(days=1)
    )
    due = rules.review_due(
        classes=classes,
        cycle_end=previous[1],
        points_in_cycle=licence_points_in_cycle(licence, cycle=previous),
    )
    if due is not None and licence.last_reviewed_on and licence.last_reviewed_on > previous[1]:
        return None
    return due


def _medical_due(licence: DrivingLicence, *, classes: tuple[str, ...], today: date) -> date | None:
    """Next certificate deadline not yet met by the last certificate submitted (Q2)."""
    day = today
    for _ in range(4):  # at most one deadline per cycle is met by one certificate
        due = rules.medical_certificate_due(
            birth_date=licence.holder.birth_date,
            classes=classes,
            first_issued_on=licence.first_issued_on,
            today=day,
        )
        if due is None:
            return None
        last = licence.last_medical_on
        if last is None or not (due - MEDICAL_CERTIFICATE_VALID <= last <= due):
            return due
        day = due + timedelta(days=1)
    return None


def licence_status(licence: DrivingLicence, *, today: date) -> LicenceStatus:
    """Compute Q2 for a licence: status codes, validity, points, probation, review, medical."""
    classes = rules.parse_classes(licence.classes)
    valid_until = rules.licence_valid_until(valid_from=licence.valid_from, term=licence.validity_term)
    renewal = rules.renewal_status(valid_until=valid_until, today=today)
    cycle = rules.scoring_cycle(first_issued_on=licence.first_issued_on, today=today)
    points = licence_points_in_cycle(licence, cycle=cycle)
    review = _review_due(licence, classes=classes, cycle=cycle)
    medical = _medical_due(licence, classes=classes, today=today)
    probation = (
        rules.probation_end(first_issued_on=licence.probation_started_on)
        if licence.probation_started_on
        else None
    )
    on_probation = bool(probation and rules.on_probation(probation_end=probation, today=today))
    review_overdue = bool(review and review < today)
    codes = rules.derived_licence_status(
        licence.status or "A",
        renewal_overdue=renewal in ("overdue", "cancellable"),
        review_overdue=review_overdue,
    )
    warning = rules.points_warning(points)
    alerts: list[Alert] = []
    if renewal in ("overdue", "cancellable"):
        alerts.append(
            Alert("red", "renewal_overdue", "驾驶证已超过有效期 — 请尽快换证", "Licence expired — renew now")
        )
    elif renewal == "renewal_window":
        alerts.append(
            Alert(
                "amber",
                "renewal_window",
                "驾驶证即将到期 — 可办理期满换证",
                "Licence expires soon — renew it",
            )
        )
    if warning == "full":
        alerts.append(Alert("red", "points_full", f"记分已达{points}分", f"{points} points: limit reached"))
    elif warning == "near_limit":
        alerts.append(
            Alert("amber", "points_near_limit", f"记分已达{points}分", f"{points} points this cycle")
        )
    if medical is not None and (medical - today).days <= 60:
        alerts.append(
            Alert(
                "amber",
                "medical_due",
                f"请于{medical:%Y-%m-%d}前提交身体条件证明",
                f"Submit a medical certificate by {medical:%Y-%m-%d}",
            )
        )
    if review_overdue:
        alerts.append(Alert("red", "review_overdue", "逾期未审验", "Review overdue"))
    if "R" in codes:
        alerts.append(
            Alert("red", "cancelled_recoverable", "驾驶证已注销(可恢复)", "Licence cancelled (recoverable)")
        )
    return LicenceStatus(
        id=licence.pk,
        number_masked=mask_id_number(licence.holder.id_number),
        archive_number=licence.archive_number,
        holder_masked=mask_name(licence.holder.name),
        classes=[(c, rules.LICENCE_CLASSES[c].name_zh, rules.LICENCE_CLASSES[c].name_en) for c in classes],
        statuses=_status_codes(codes, rules.LICENCE_STATUS),
        first_issued_on=licence.first_issued_on,
        valid_from=licence.valid_from,
        valid_until=valid_until,
        validity_term=licence.validity_term,
        renewal_state=renewal,
        renewal_window_start=rules.renewal_window(valid_until=valid_until)[0] if valid_until else None,
        points_in_cycle=points,
        points_limit=rules.POINTS_LIMIT,
        cycle_start=cycle[0],
        cycle_end=cycle[1],
        points_warning=warning,
        probation_end=probation,
        on_probation=on_probation,
        review_due=review,
        medical_due=medical,
        age_limit_exchange=rules.driving_age_limit_classes(
            birth_date=licence.holder.birth_date, classes=classes, today=today
        ),
        alerts=alerts,
    )


def my_vehicles(*, user: User) -> QuerySet[Vehicle]:
    """Vehicles registered to the user (as a person, or the organisation the account is)."""
    qs = Vehicle.objects.select_related("owner_person", "owner_organisation").order_by("registered_on", "id")
    if user.person_id:
        return qs.filter(owner_person_id=user.person_id)
    if user.organisation_id:
        return qs.filter(owner_organisation_id=user.organisation_id)
    return qs.none()


def my_licences(*, user: User) -> QuerySet[DrivingLicence]:
    qs = DrivingLicence.objects.select_related("holder")
    if user.person_id:
        return qs.filter(holder_id=user.person_id)
    return qs.none()


def my_vehicle_statuses(*, user: User, today: date) -> list[VehicleStatus]:
    return [vehicle_status(v, today=today) for v in my_vehicles(user=user)]


def my_licence_statuses(*, user: User, today: date) -> list[LicenceStatus]:
    return [licence_status(licence, today=today) for licence in my_licences(user=user)]


def persons_visible_to(*, actor: User) -> QuerySet[Person]:
    """Persons inside the staff member's jurisdiction: residents, or owners/holders registered there."""

    from jiaoguan.core.divisions import division_prefix

    prefix = division_prefix(actor.jurisdiction)
    return Person.objects.filter(
        Q(residence_division__startswith=prefix)
        | Q(vehicles__division__startswith=prefix)
        | Q(licence__division__startswith=prefix)
    ).distinct()


def vehicles_visible_to(*, actor: User) -> QuerySet[Vehicle]:
    from jiaoguan.core.divisions import division_prefix

    return Vehicle.objects.filter(division__startswith=division_prefix(actor.jurisdiction))


def licences_visible_to(*, actor: User) -> QuerySet[DrivingLicence]:
    from jiaoguan.core.divisions import division_prefix

    return DrivingLicence.objects.filter(division__startswith=division_prefix(actor.jurisdiction))


def person_masked_phone(person: Person) -> str:
    return mask_phone(person.mobile) if person.mobile else ""


def organisations_visible_to(*, actor: User) -> QuerySet[Organisation]:
    """Organisations registered inside the staff member's jurisdiction."""
    from jiaoguan.core.divisions import division_prefix

    return Organisation.objects.filter(division__startswith=division_prefix(actor.jurisdiction))
