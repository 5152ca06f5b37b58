"""Reads of registry data, scoped to what the actor may see, with computed statuses (Q1, Q2)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum

from jiaoguan.core.access import Scope, division_prefix_for, scope_of
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone

from . import licence_rules, rules, vehicle_rules
from .models import (
    ArchivePhoto,
    DrivingLicence,
    MedicalExamination,
    Organisation,
    OrganisationSealKey,
    Person,
    PlateType,
    TemporaryPlate,
    Vehicle,
    VehicleMortgage,
)

if TYPE_CHECKING:
    from jiaoguan.accounts.models import User

logger = logging.getLogger(__name__)

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
    scrapping_known: bool = True  # False: the kind or use is unknown, so is the scrapping date
    # A mortgage in force (抵押登记, O6): not an S7 status letter, shown as "已抵押给 <bank>".
    mortgaged: bool = False
    mortgagee_name: str = ""


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


_E = TypeVar("_E", rules.VehicleKind, rules.UseNature, rules.ValidityTerm)


def _known(enum: type[_E], value: str, what: str, record: Any) -> _E | None:
    """The stored value as a table entry, or None (logged) when the table does not know it."""
    try:
        return enum(value)
    except ValueError:
        logger.warning("%s %s has an unknown %s %r", record._meta.label_lower, record.pk, what, value)
        return None


def _record_problem(problems: list[tuple[str, str]]) -> Alert:
    """One amber line for stored values the platform does not know: shown, never a failed page."""
    return Alert(
        "amber",
        "record_unknown_value",
        "登记信息中有无法识别的内容（" + "；".join(zh for zh, _ in problems) + "），请联系车管所核实",
        "The record holds values the platform does not know ("
        + "; ".join(en for _, en in problems)
        + "); contact the vehicle office to correct it",
    )


def vehicle_status(vehicle: Vehicle, *, today: date) -> VehicleStatus:
    """Compute Q1 for a vehicle: status codes with meanings, inspection, scrapping.

    A stored kind, use nature, plate type or status code the tables do not know is shown as
    unknown, logged and explained in an alert; the inspection then follows the yearly rule for
    other vehicles and no scrapping date is claimed.
    """
    kind = _known(rules.VehicleKind, vehicle.kind, "vehicle kind", vehicle)
    use = _known(rules.UseNature, vehicle.use_nature, "use nature", vehicle)
    problems: list[tuple[str, str]] = []
    if kind is None:
        problems.append((f"车辆类型 {vehicle.kind}", f"vehicle kind {vehicle.kind}"))
    if use is None:
        problems.append((f"使用性质 {vehicle.use_nature}", f"use nature {vehicle.use_nature}"))
    if kind is not None and use is not None:
        due = rules.inspection_valid_until(
            kind=kind,
            use=use,
            registered_on=vehicle.registered_on,
            last_inspected_on=vehicle.last_inspected_on,
            as_of=today,
            on_site_required=vehicle.on_site_inspection_required,
        )
        scrapping = rules.compulsory_scrapping_date(kind=kind, use=use, registered_on=vehicle.registered_on)
    else:
        due = rules.fallback_inspection_valid_until(
            registered_on=vehicle.registered_on, last_inspected_on=vehicle.last_inspected_on, as_of=today
        )
        scrapping = None
    if vehicle.plate_type not in PlateType.values:
        logger.warning("registry.vehicle %s has an unknown plate type %r", vehicle.pk, vehicle.plate_type)
        problems.append((f"号牌种类 {vehicle.plate_type}", f"plate type {vehicle.plate_type}"))
    unknown_codes = rules.unknown_status_codes(vehicle.status or "A", rules.VEHICLE_STATUS)
    if unknown_codes:
        problems.append((f"状态代码 {''.join(unknown_codes)}", f"status code {''.join(unknown_codes)}"))
    state = rules.inspection_status(valid_until=due.due_on, today=today)
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
    if problems:
        alerts.append(_record_problem(problems))
    owner = vehicle.owner_person.name if vehicle.owner_person_id else vehicle.owner_organisation.name  # type: ignore[union-attr]
    mortgagee = vehicle_mortgagee_name(vehicle)
    return VehicleStatus(
        id=vehicle.pk,
        plate_number=vehicle.plate_number,
        plate_type=vehicle.plate_type,
        plate_type_label=vehicle.get_plate_type_display()
        if vehicle.plate_type in PlateType.values
        else f"未知号牌种类 unknown plate type {vehicle.plate_type}",
        plate_colour=_PLATE_COLOURS.get(vehicle.plate_type, "blue"),
        vin_masked=vehicle.vin[:3] + "*" * 8 + vehicle.vin[-6:],
        kind=vehicle.kind,
        kind_zh=kind.label_zh if kind else f"未知车辆类型 {vehicle.kind}",
        kind_en=kind.label_en if kind else f"unknown vehicle kind {vehicle.kind}",
        use_nature=vehicle.use_nature,
        use_zh=use.label_zh if use else f"未知使用性质 {vehicle.use_nature}",
        use_en=use.label_en if use else f"unknown use nature {vehicle.use_nature}",
        brand_model=vehicle.brand_model,
        registered_on=vehicle.registered_on,
        statuses=_status_codes(codes, rules.VEHICLE_STATUS),
        inspection_valid_until=due.due_on,
        inspection_state=state,
        next_inspection_on_site=due.on_site,
        scrapping_date=scrapping,
        scrapping_within_a_year=scrapping_soon,
        is_key_vehicle=bool(kind and use and rules.is_key_vehicle(kind, use)),
        owner_masked=mask_name(owner) if vehicle.owner_person_id else owner,
        alerts=alerts,
        scrapping_known=kind is not None and use is not None,
        mortgaged=bool(mortgagee),
        mortgagee_name=mortgagee or "",
    )


def _cycle_points(cycle: tuple[date, date]) -> Q:
    """Entries counting in a cycle: its own, plus earlier offences whose fine is still unpaid (S2)."""
    in_cycle = Q(occurred_on__gte=cycle[0], occurred_on__lte=cycle[1])
    carried = Q(occurred_on__lt=cycle[0], fine_unpaid=True, points__gt=0)
    return in_cycle | carried


def licence_points_in_cycle(licence: DrivingLicence, *, cycle: tuple[date, date]) -> int:
    """Points in the cycle, plus earlier offences whose fine is still unpaid (they carry over, S2)."""
    return _points_in_cycles(licence, [cycle])[0]


def _points_in_cycles(licence: DrivingLicence, cycles: list[tuple[date, date]]) -> list[int]:
    """The points of each cycle, all in one query (the current and the previous cycle of Q2)."""
    totals = licence.points_entries.aggregate(
        **{f"cycle_{n}": Sum("points", filter=_cycle_points(cycle)) for n, cycle in enumerate(cycles)}
    )
    return [max(0, int(totals[f"cycle_{n}"] or 0)) for n in range(len(cycles))]


# A certificate counts for a deadline when issued within its 6-month validity before it (S1 art. 74);
# the constant lives with the pure rules so the licence-business rules share it.
MEDICAL_CERTIFICATE_VALID = rules.MEDICAL_CERTIFICATE_VALID


def _previous_cycle(licence: DrivingLicence, *, cycle: tuple[date, date]) -> tuple[date, date] | None:
    """The cycle before ``cycle``, or None when the licence was first issued in ``cycle``."""
    if cycle[0] <= licence.first_issued_on:
        return None
    return rules.scoring_cycle(first_issued_on=licence.first_issued_on, today=cycle[0] - timedelta(days=1))


def _review_due(
    licence: DrivingLicence,
    *,
    classes: tuple[str, ...],
    previous: tuple[date, date] | None,
    previous_points: int,
) -> date | None:
    """Review after the previous cycle (S1 art. 72), unless it has been done since that cycle ended."""
    if previous is None:
        return None
    due = rules.review_due(classes=classes, cycle_end=previous[1], points_in_cycle=previous_points)
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


@dataclass(frozen=True)
class _Deferrals:
    """What the granted deferrals (S1 art. 75, B12-B14) change on ``today``.

    ``codes``: N, T, P for the deferrals that run (derived, never stored, so they end by
    themselves the day after the end date). ``renewal_expires_on``: the end of validity, or
    of a renewal deferral when later, from which the overdue year (M) counts, as in
    ``licence_rules.renewal_window``. ``review_due`` / ``medical_due``: the deferred
    deadline, or None where no deferral moves it.
    """

    codes: str
    renewal_expires_on: date | None
    review_due: date | None
    medical_due: date | None


def _medical_deferral_met(licence: DrivingLicence, until: date) -> bool:
    """A certificate meets the deferred deadline when issued within its 6 months before it (S1 art. 74)."""
    last = licence.last_medical_on
    return last is not None and until - MEDICAL_CERTIFICATE_VALID <= last <= until


def _deferrals(
    licence: DrivingLicence, *, valid_until: date | None, review: date | None, today: date
) -> _Deferrals:
    codes = ""
    expires = valid_until
    renewal_until = licence.renewal_deferred_until
    if valid_until is not None and renewal_until is not None and renewal_until > valid_until:
        expires = renewal_until
        if today <= renewal_until:
            codes += "N"
    review_due = None
    review_until = licence.review_deferred_until
    # A review done since the deadline leaves nothing to defer (``review`` is then None).
    if review is not None and review_until is not None and review_until > review:
        review_due = review_until
        if today <= review_until:
            codes += "T"
    medical_due = None
    medical_until = licence.medical_deferred_until
    if (
        medical_until is not None
        and today <= medical_until
        and not _medical_deferral_met(licence, medical_until)
    ):
        medical_due = medical_until
        codes += "P"
    return _Deferrals(codes, expires, review_due, medical_due)


def licence_status(licence: DrivingLicence, *, today: date) -> LicenceStatus:
    """Compute Q2 for a licence: status codes, validity, points, probation, review, medical.

    Stored classes, a validity term or status codes the tables do not know are shown as
    unknown, logged and explained in an alert; an unknown term counts as the shortest (six
    years), so the licence never looks valid for longer than it may be.
    """
    classes, unknown_classes = rules.split_classes(licence.classes)
    problems: list[tuple[str, str]] = []
    if unknown_classes:
        logger.warning("registry.drivinglicence %s has unknown classes %r", licence.pk, licence.classes)
        problems.append((f"准驾车型 {''.join(unknown_classes)}", f"driving class {''.join(unknown_classes)}"))
    term = _known(rules.ValidityTerm, licence.validity_term, "validity term", licence)
    if term is None:
        problems.append((f"有效期限 {licence.validity_term}", f"validity term {licence.validity_term}"))
    unknown_codes = rules.unknown_status_codes(licence.status or "A", rules.LICENCE_STATUS)
    if unknown_codes:
        problems.append((f"状态代码 {''.join(unknown_codes)}", f"status code {''.join(unknown_codes)}"))
    if licence.first_issued_on > today:
        logger.warning("registry.drivinglicence %s was first issued in the future", licence.pk)
        problems.append(("初次领证日期晚于今天", "first issue date later than today"))
    # Cycles are counted from the first issue; a date after today (a bad row) counts from it.
    as_of = max(today, licence.first_issued_on)
    valid_until = rules.licence_valid_until(
        valid_from=licence.valid_from, term=term or rules.ValidityTerm.SIX_YEARS
    )
    cycle = rules.scoring_cycle(first_issued_on=licence.first_issued_on, today=as_of)
    previous = _previous_cycle(licence, cycle=cycle)
    points, *earlier = _points_in_cycles(licence, [cycle] if previous is None else [cycle, previous])
    review = _review_due(
        licence, classes=classes, previous=previous, previous_points=earlier[0] if earlier else 0
    )
    medical = _medical_due(licence, classes=classes, today=as_of)
    deferrals = _deferrals(licence, valid_until=valid_until, review=review, today=today)
    renewal = rules.renewal_status(valid_until=deferrals.renewal_expires_on, today=today)
    review, medical = deferrals.review_due or review, deferrals.medical_due or medical
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
    for code in deferrals.codes:
        codes = rules.add_status(codes, code)
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
    # The alert says what the driver must do next (issue 11 item 2, S2), not just the total.
    next_step = rules.points_next_step(points, classes, cycle_end=cycle[1])
    if warning == "full" and next_step:
        alerts.append(
            Alert(
                "red",
                "points_full",
                f"记分已达{points}分 — {next_step[0]}",
                f"{points} points — {next_step[1]}",
            )
        )
    elif warning == "near_limit" and next_step:
        alerts.append(
            Alert(
                "amber",
                "points_near_limit",
                f"记分已达{points}分 — {next_step[0]}",
                f"{points} points this cycle — {next_step[1]}",
            )
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
            Alert("red", "cancelled_recoverable", "驾驶证已注销（可恢复）", "Licence cancelled (recoverable)")
        )
    if problems:
        alerts.append(_record_problem(problems))
    return LicenceStatus(
        id=licence.pk,
        number_masked=mask_id_number(licence.holder.id_number),
        archive_number=licence.archive_number,
        holder_masked=mask_name(licence.holder.name),
        classes=[(c, rules.LICENCE_CLASSES[c].name_zh, rules.LICENCE_CLASSES[c].name_en) for c in classes]
        + [(c, f"未知准驾车型 {c}", f"unknown class {c}") for c in unknown_classes],
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


def with_mortgagee_name(qs: QuerySet[Vehicle]) -> QuerySet[Vehicle]:
    """Vehicles with the name of the bank holding a mortgage in force (O6), in the same query."""
    in_force = VehicleMortgage.objects.filter(vehicle_id=OuterRef("pk"), state=VehicleMortgage.State.FILED)
    return qs.annotate(active_mortgagee_name=Subquery(in_force.values("mortgagee__name")[:1]))


def vehicle_mortgagee_name(vehicle: Vehicle) -> str | None:
    """The mortgagee of the vehicle's mortgage in force, or None; read from the annotation of
    :func:`with_mortgagee_name` when the vehicle was loaded with it, else with one query."""
    if hasattr(vehicle, "active_mortgagee_name"):
        return vehicle.active_mortgagee_name or None
    if vehicle.pk is None:
        return None
    return (
        VehicleMortgage.objects.filter(vehicle_id=vehicle.pk, state=VehicleMortgage.State.FILED)
        .values_list("mortgagee__name", flat=True)
        .first()
    )


def my_vehicles(*, user: User) -> QuerySet[Vehicle]:
    """Vehicles registered to the user (as a person, or the organisation the account is).

    A vehicle transferred out of this office (status B) is registered elsewhere now: its new
    office shows it, not this one (T2).
    """
    qs = with_mortgagee_name(
        Vehicle.objects.select_related("owner_person", "owner_organisation")
        .exclude(status__contains="B")
        .order_by("registered_on", "id")
    )
    if user.person_id:
        return qs.filter(owner_person_id=user.person_id)
    if user.organisation_id:
        return qs.filter(owner_organisation_id=user.organisation_id)
    return qs.none()


# The columns vehicle_status reads: the lists of Q1 (the app's and the home page's) load only
# these, which halves the time Django spends building the query and the rows (issue 12).
VEHICLE_STATUS_FIELDS = (
    "plate_number",
    "plate_type",
    "vin",
    "kind",
    "use_nature",
    "brand_model",
    "registered_on",
    "last_inspected_on",
    "on_site_inspection_required",
    "status",
    "owner_person__name",
    "owner_organisation__name",
)


def my_vehicles_for_status(*, user: User) -> QuerySet[Vehicle]:
    """:func:`my_vehicles` with just what :func:`vehicle_status` needs."""
    return my_vehicles(user=user).only(*VEHICLE_STATUS_FIELDS)


def my_licences(*, user: User) -> QuerySet[DrivingLicence]:
    qs = DrivingLicence.objects.select_related("holder")
    if user.person_id:
        return qs.filter(holder_id=user.person_id)
    return qs.none()


def my_vehicle_statuses(*, user: User, today: date) -> list[VehicleStatus]:
    return [vehicle_status(v, today=today) for v in my_vehicles_for_status(user=user)]


def my_licence_statuses(*, user: User, today: date) -> list[LicenceStatus]:
    return [licence_status(licence, today=today) for licence in my_licences(user=user)]


def _prefix(actor: Any, action: str) -> str | None:
    """The division prefix the actor may read under ``action`` (access table): None for nothing."""
    return division_prefix_for(actor, action)


def persons_visible_to(*, actor: Any, action: str = "registry.person.view") -> QuerySet[Person]:
    """Persons the staff member may see: residents of the jurisdiction, and owners or holders of
    vehicles and licences registered there (a non-local with a local vehicle, U4)."""
    prefix = _prefix(actor, action)
    if prefix is None:
        return Person.objects.none()
    if prefix == "":
        return Person.objects.all()
    # Subqueries rather than joins: no duplicate rows to remove, and the row can be locked.
    owners = Vehicle.objects.filter(division__startswith=prefix, owner_person__isnull=False)
    holders = DrivingLicence.objects.filter(division__startswith=prefix)
    return Person.objects.filter(
        Q(residence_division__startswith=prefix)
        | Q(pk__in=owners.values("owner_person_id"))
        | Q(pk__in=holders.values("holder_id"))
    )


def vehicles_visible_to(*, actor: Any, action: str = "registry.vehicle.view") -> QuerySet[Vehicle]:
    """Vehicles registered inside the staff member's jurisdiction."""
    prefix = _prefix(actor, action)
    if prefix is None:
        return Vehicle.objects.none()
    return Vehicle.objects.filter(division__startswith=prefix)


def licences_visible_to(*, actor: Any, action: str = "registry.licence.view") -> QuerySet[DrivingLicence]:
    """Licences issued inside the staff member's jurisdiction."""
    prefix = _prefix(actor, action)
    if prefix is None:
        return DrivingLicence.objects.none()
    return DrivingLicence.objects.filter(division__startswith=prefix)


def organisations_visible_to(
    *, actor: Any, action: str = "registry.organisation.view"
) -> QuerySet[Organisation]:
    """Organisations registered inside the staff member's jurisdiction."""
    prefix = _prefix(actor, action)
    if prefix is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(division__startswith=prefix)


def person_masked_phone(person: Person) -> str:
    return mask_phone(person.mobile) if person.mobile else ""


def audit_subjects(term: str) -> Q | None:
    """The audit rows about the person an ID number names, or the vehicle a plate or VIN names.

    Registered with ``core.audit`` so the audit trail is searchable by ID number and plate;
    only a complete, valid number is looked up, never a fragment.
    """
    from jiaoguan.core.errors import ValidationFailed
    from jiaoguan.core.identifiers import parse_plate, validate_citizen_id, validate_vin

    try:
        number = validate_citizen_id(term).number
    except ValidationFailed:
        number = None
    if number is not None:
        people = list(Person.objects.filter(id_number=number).values_list("pk", flat=True))
        return Q(subject_person_id__in=people) | Q(
            subject_type="registry.person", subject_id__in=[str(pk) for pk in people]
        )
    vehicles: list[int] = []
    try:
        plate = parse_plate(term).number
        vehicles = list(Vehicle.objects.filter(plate_number=plate).values_list("pk", flat=True))
    except ValidationFailed:
        try:
            vin = validate_vin(term)
            vehicles = list(Vehicle.objects.filter(vin=vin).values_list("pk", flat=True))
        except ValidationFailed:
            return None
    return Q(subject_type="registry.vehicle", subject_id__in=[str(pk) for pk in vehicles])


def archive_photo_of(*, person_id: int | None) -> ArchivePhoto | None:
    """The person's current archive photo (档案照片), or None when none is on file.

    Callers that show it to staff audit the view: the photo is personal data.
    """
    if person_id is None:
        return None
    return ArchivePhoto.objects.filter(person_id=person_id).first()


# ---------------------------------------------------------------- licence businesses (B8-B14, issue 13)

# Business code -> what a deferral business defers (B12 延期换证, B13 延期审验, B14 延期提交身体条件证明).
DEFERRAL_BUSINESSES: dict[str, licence_rules.DeferralKind] = {
    "B12": licence_rules.DeferralKind.RENEWAL,
    "B13": licence_rules.DeferralKind.REVIEW,
    "B14": licence_rules.DeferralKind.MEDICAL,
}
LICENCE_BUSINESSES = frozenset({"B8", "B9", "B10", "B11", *DEFERRAL_BUSINESSES})


def licence_term_cycles(licence: DrivingLicence, *, today: date) -> list[tuple[date, date]]:
    """The scoring cycles of the current validity term up to ``today`` (S1 art. 13, 63).

    From the cycle holding ``valid_from`` to the one holding the end of validity, or
    ``today`` when earlier; a long-term licence has no term to count.
    """
    term = _known(rules.ValidityTerm, licence.validity_term, "validity term", licence)
    valid_until = rules.licence_valid_until(
        valid_from=licence.valid_from, term=term or rules.ValidityTerm.SIX_YEARS
    )
    if valid_until is None:
        return []
    last = min(valid_until, today)
    cycles: list[tuple[date, date]] = []
    day = max(licence.valid_from, licence.first_issued_on)
    while day <= last:
        cycle = rules.scoring_cycle(first_issued_on=licence.first_issued_on, today=day)
        cycles.append(cycle)
        day = cycle[1] + timedelta(days=1)
    return cycles


def licence_cycles_reached_12(licence: DrivingLicence, *, today: date) -> bool:
    """Whether any scoring cycle of the current term reached 12 points (S1 art. 63), one query.

    Points carried over from an unpaid fine count in the later cycle, as in Q2 (S2).
    """
    cycles = licence_term_cycles(licence, today=today)
    return bool(cycles) and max(_points_in_cycles(licence, cycles)) >= rules.POINTS_LIMIT


def licence_next_validity_term(licence: DrivingLicence, *, today: date) -> rules.ValidityTerm:
    """The validity term a renewal today gives: 6 -> 10 -> long-term unless a cycle reached 12 (S1 art. 13)."""
    term = _known(rules.ValidityTerm, licence.validity_term, "validity term", licence)
    return licence_rules.next_validity_term(
        term or rules.ValidityTerm.SIX_YEARS, licence_cycles_reached_12(licence, today=today)
    )


def _first_medical_due(licence: DrivingLicence, *, classes: tuple[str, ...], until: date) -> date | None:
    """The first unmet certificate deadline in the 3 years before a deferral's end (S1 art. 75)."""
    day = max(rules.add_years(until, -licence_rules.DEFERRAL_MAX_YEARS), licence.first_issued_on)
    while day <= until:
        due = _medical_due(licence, classes=classes, today=day)
        if due is not None and due <= until:
            return due
        day = rules.add_years(day, 1)
    return None


def licence_facts(licence: DrivingLicence, *, today: date) -> licence_rules.LicenceFacts:
    """The facts of one licence the business rules (B8-B14) decide on, as Q2 derives them.

    ``status`` is the derived status (stored codes, M, S and the running deferrals N T P).
    ``review_due`` and ``medical_due`` are the deadlines a deferral is counted from (S1 art.
    75: at most 3 years after the deadline deferred), so a running deferral does not move
    them: the review deadline of the last cycle, and for a running certificate deferral the
    first unmet certificate deadline on or after its end less 3 years. That deadline is not
    stored; this reading never lets the deferrals of one deadline add up to more than 3 years.
    """
    shown = licence_status(licence, today=today)
    classes, _unknown = rules.split_classes(licence.classes)
    term = _known(rules.ValidityTerm, licence.validity_term, "validity term", licence)
    as_of = max(today, licence.first_issued_on)
    cycle = rules.scoring_cycle(first_issued_on=licence.first_issued_on, today=as_of)
    previous = _previous_cycle(licence, cycle=cycle)
    review = (
        None
        if previous is None
        else _review_due(
            licence,
            classes=classes,
            previous=previous,
            previous_points=_points_in_cycles(licence, [previous])[0],
        )
    )
    codes = "".join(status.code for status in shown.statuses)
    medical = shown.medical_due
    until = licence.medical_deferred_until
    if "P" in codes and until is not None:
        medical = _first_medical_due(licence, classes=classes, until=until) or until
    return licence_rules.LicenceFacts(
        birth_date=licence.holder.birth_date,
        classes=rules.canonical_classes(classes),
        valid_from=licence.valid_from,
        validity_term=term or rules.ValidityTerm.SIX_YEARS,
        status=codes,
        review_due=review,
        medical_due=medical,
        renewal_deferred_until=licence.renewal_deferred_until,
    )


LicenceAnswer = (
    licence_rules.RenewalOpen
    | licence_rules.Exchange
    | licence_rules.Allowed
    | licence_rules.Deferral
    | licence_rules.Refusal
)


def _decided_on(licence: DrivingLicence) -> date:
    """The date of the licence's last decision, which picks the age-limit rule row (S1 art. 65, S6).

    The registry keeps no decision date; ``valid_from`` (the day the current card's validity
    began, i.e. the last issue, renewal or exchange) stands in for it. Assumption, not in
    RULES.md or the seeds.
    """
    return licence.valid_from


def _age_exchange(facts: licence_rules.LicenceFacts, licence: DrivingLicence, today: date) -> LicenceAnswer:
    refusal = licence_rules.status_refusal(facts.status, licence_rules.Business.AGE_EXCHANGE)
    if refusal is not None:
        return refusal
    decided_on = _decided_on(licence)
    exchange = licence_rules.age_limit_exchange(
        birth_date=facts.birth_date, classes=facts.classes, decided_on=decided_on, today=today
    )
    if exchange is None:
        age = rules.age_on(facts.birth_date, today)
        limits = rules.driving_age_limits(decided_on)
        held = [code for code in rules.parse_classes(facts.classes) if code in limits]
        if not held:
            zh = f"准驾车型{facts.classes or '无'}没有驾驶年龄上限，无需超龄换证。"
            en = f"The classes {facts.classes or 'held'} have no driving age limit; no exchange is needed."
        else:
            first = min(limits[code] for code in held)
            zh = f"您现年{age}周岁，准驾车型{''.join(held)}的驾驶年龄上限为{first}周岁，尚未达到，无需超龄换证。"
            en = (
                f"You are {age}; the driving age limit of {''.join(held)} is {first}, "
                "not yet reached, so no exchange is needed."
            )
        return licence_rules.Refusal(
            "licence.age_limit_not_reached",
            zh,
            en,
            "证件遗失或损毁的，可申请补领或换领。",
            "If the card is lost or damaged, apply for a replacement.",
        )
    if exchange.cancels:
        return licence_rules.Refusal(
            "licence.age_limit_nothing_left",
            f"已达到驾驶年龄上限，准驾车型{''.join(exchange.from_classes)}均不能继续驾驶，"
            "没有可换发的准驾车型，驾驶证应予注销（S1第79条）。",
            f"The age limit has been reached and none of {''.join(exchange.from_classes)} may still be "
            "driven; there is no class left to exchange to, so the licence is to be cancelled (S1 art. 79).",
            "如需继续驾驶，请按规定申领其他准驾车型的驾驶证。",
            "To keep driving, apply for a licence of another class as the rules allow.",
            on=exchange.due_by,
        )
    return exchange


def licence_deferral_check(
    *,
    licence: DrivingLicence,
    business_code: str,
    reason: str,
    until: date,
    today: date,
    facts: licence_rules.LicenceFacts | None = None,
) -> licence_rules.Deferral | licence_rules.Refusal:
    """Whether the deferral asked for (B12-B14: reason and end date) may be granted (S1 art. 75)."""
    return licence_rules.deferral_allowed(
        kind=DEFERRAL_BUSINESSES[business_code],
        reason=reason,
        requested_until=until,
        facts=facts or licence_facts(licence, today=today),
        today=today,
    )


def licence_business_check(*, licence: DrivingLicence, business_code: str, today: date) -> LicenceAnswer:
    """The licence rule's answer for a licence business on ``today`` (B8-B14, issue 13).

    B8 ``RenewalOpen`` (certificate: ``last_medical_on``), B9 ``Exchange``, B10/B11
    ``Allowed``, B12-B14 the ``Deferral`` reaching to the latest end allowed (the reason and
    end date are asked on submission, :func:`licence_deferral_check`), or a ``Refusal``.
    """
    facts = licence_facts(licence, today=today)
    if business_code == "B8":
        # After a renewal deferral has ended N is no longer shown, but the overdue year still
        # counts from the deferral's end (licence_rules.renewal_window reads it from N).
        valid_until = facts.valid_until
        deferred = facts.renewal_deferred_until
        if deferred and valid_until and deferred > valid_until and "N" not in facts.status:
            facts = replace(facts, status=rules.add_status(facts.status, "N"))
        return licence_rules.renewal_allowed(facts, today, medical_issued_on=licence.last_medical_on)
    if business_code == "B9":
        return _age_exchange(facts, licence, today)
    if business_code in ("B10", "B11"):
        return licence_rules.replacement_allowed(facts.status)
    if business_code in DEFERRAL_BUSINESSES:
        kind = DEFERRAL_BUSINESSES[business_code]
        latest = licence_rules.deferral_latest_until(kind, facts)
        if latest is not None and latest <= today:
            return licence_rules.Refusal(
                "licence.deferral_limit_reached",
                f"延期最长不超过{licence_rules.DEFERRAL_MAX_YEARS}年，已于{latest:%Y-%m-%d}届满，不能再延期。",
                f"A deferral lasts at most {licence_rules.DEFERRAL_MAX_YEARS} years; that limit ended on "
                f"{latest:%Y-%m-%d}, so it cannot be deferred again.",
                "请尽快到车辆管理所办理。",
                "Go to a vehicle administration office to complete the business itself.",
                on=latest,
            )
        return licence_deferral_check(
            licence=licence,
            business_code=business_code,
            reason=next(iter(licence_rules.DEFERRAL_REASONS)),
            until=latest or today,
            today=today,
            facts=facts,
        )
    raise ValueError(f"{business_code} is not a licence business")


# ---------------------------------------------------------------- vehicle businesses (B1-B3, B20, B21, issue 14)

VEHICLE_BUSINESSES = frozenset(vehicle_rules.VEHICLE_BUSINESSES)


def vehicle_facts(vehicle: Vehicle, *, today: date) -> vehicle_rules.VehicleFacts:
    """The facts the vehicle rules decide on: stored status codes and whether the inspection is overdue."""
    status = vehicle_status(vehicle, today=today)
    return vehicle_rules.VehicleFacts(
        status=vehicle.status or "A", inspection_overdue=status.inspection_state == "overdue"
    )


def vehicle_business_check(
    *, vehicle: Vehicle, business_code: str, today: date
) -> licence_rules.Allowed | licence_rules.Refusal:
    """The vehicle rule's answer for a vehicle business on ``today`` (B1, B2, B3, B20, B21, E2).

    Only what the registry knows: the status codes and the inspection. Whether a valid
    electronic mark makes a B3 replacement needless (E6) is the credentials' fact; the
    applications engine asks ``vehicle_rules.paper_mark_replacement`` with it.
    """
    if business_code not in VEHICLE_BUSINESSES:
        raise ValueError(f"{business_code} is not a vehicle business")
    return vehicle_rules.vehicle_business_allowed(vehicle_facts(vehicle, today=today), business_code)


def vehicles_owned_by(*, user: Any) -> QuerySet[Vehicle]:
    """The vehicles a user may apply for: those registered to the account's person (or its
    organisation), oldest registration first; the business page lists them to choose from."""
    return my_vehicles(user=user)


# ---------------------------------------------------------------- hospital examinations (issue 13, B6/B7)


def medical_examinations_visible_to(
    *, actor: Any, action: str = "registry.medical.view"
) -> QuerySet[MedicalExamination]:
    """Examinations the actor may read: a hospital its own, a clerk those of licences issued in the
    jurisdiction (B6/B7). Callers that show one audit the read: it is a driver's personal data."""
    qs = MedicalExamination.objects.select_related("person", "licence", "hospital")
    organisation_id = getattr(actor, "organisation_id", None)
    if organisation_id and scope_of(actor, action) is Scope.OWN:
        return qs.filter(hospital_id=organisation_id)
    prefix = _prefix(actor, action)
    if prefix is None:
        return qs.none()
    return qs.filter(licence__division__startswith=prefix)


def hospital_examinations(*, actor: Any) -> QuerySet[MedicalExamination]:
    """The hospital's examinations, newest first (its list page and API)."""
    return medical_examinations_visible_to(actor=actor).order_by("-recorded_at", "-pk")


def medical_examination_get(*, actor: Any, examination_id: int) -> MedicalExamination | None:
    """One examination the actor may read, or None (another hospital's is not found)."""
    return medical_examinations_visible_to(actor=actor).filter(pk=examination_id).first()


def medical_certificates_of_person(*, person_id: int | None) -> QuerySet[MedicalExamination]:
    """A driver's submitted certificates, newest examination first (my licences, staff lookups)."""
    if person_id is None:
        return MedicalExamination.objects.none()
    return (
        MedicalExamination.objects.select_related("hospital")
        .filter(person_id=person_id, submitted_at__isnull=False)
        .order_by("-examined_on", "-pk")
    )


def my_medical_certificates(*, user: User) -> QuerySet[MedicalExamination]:
    """The certificates submitted for the user's own licence (an organisation holds none)."""
    return medical_certificates_of_person(person_id=getattr(user, "person_id", None))


def medical_examination_view(examination: MedicalExamination) -> dict[str, Any]:
    """An examination as pages and the API show it: the driver's number and name masked."""
    from . import medical

    values = {f: getattr(examination, f) for f in _EXAMINATION_FIELDS}
    assessment = medical.assess(values)
    return {
        "id": examination.pk,
        "state": "submitted" if examination.submitted_at else "recorded",
        "hospital_name": examination.hospital.name,
        "driver_masked": mask_name(examination.person.name),
        "id_number_masked": mask_id_number(examination.person.id_number),
        **values,
        "declared_conditions": [
            {"code": c, "zh": medical.CONDITIONS[c][0], "en": medical.CONDITIONS[c][1]}
            for c in examination.declared_conditions
            if c in medical.CONDITIONS
        ],
        "fit_classes": "".join(assessment.fit_classes),
        "recorded_at": examination.recorded_at,
        "submitted_at": examination.submitted_at,
    }


_EXAMINATION_FIELDS = (
    "classes_applied", "height_cm", "vision_left", "vision_right", "corrected_vision_left",
    "corrected_vision_right", "colour_vision_ok", "hearing_left_ok", "hearing_right_ok", "hearing_aid",
    "upper_limbs", "lower_limbs", "trunk_neck_ok", "declared_conditions", "doctor_name", "examined_on",
    "conclusion",
)  # fmt: skip


def medical_certificate_in_force(*, person_id: int | None, today: date) -> MedicalExamination | None:
    """The driver's newest submitted certificate that still counts on ``today`` (B8 renewal, the
    yearly certificate at 70), or None."""
    earliest = today - rules.MEDICAL_CERTIFICATE_VALID
    return (
        medical_certificates_of_person(person_id=person_id)
        .filter(examined_on__gte=earliest, examined_on__lte=today)
        .first()
    )


# ---------------------------------------------------------------- mortgages (issue 14, O6)


def mortgages_visible_to(*, actor: Any) -> QuerySet[VehicleMortgage]:
    """Mortgages the actor may read: a bank its own filings; staff those of vehicles registered in
    the jurisdiction (the division recorded at filing)."""
    qs = VehicleMortgage.objects.select_related("vehicle", "mortgagee", "filing_key")
    if scope_of(actor, "registry.mortgage.view") is Scope.OWN:
        organisation_id = getattr(actor, "organisation_id", None)
        return qs.filter(mortgagee_id=organisation_id) if organisation_id else qs.none()
    prefix = _prefix(actor, "registry.mortgage.view")
    if prefix is None:
        return qs.none()
    return qs.filter(division__startswith=prefix)


def mortgage_view(mortgage: VehicleMortgage) -> dict[str, Any]:
    """A mortgage as the bank's API and pages show it; the borrower's number masked."""
    vehicle = mortgage.vehicle
    return {
        "id": mortgage.pk,
        "state": mortgage.state,
        "state_label": mortgage.get_state_display(),
        "vin": vehicle.vin,
        "plate_number": vehicle.plate_number,
        "mortgagee_name": mortgage.mortgagee.name,
        "mortgagee_uscc": mortgage.mortgagee.uscc,
        "contract_number": mortgage.contract_number,
        "principal_fen": mortgage.principal_fen,
        "term_start": mortgage.term_start,
        "term_end": mortgage.term_end,
        "filed_at": mortgage.filed_at,
        "released_at": mortgage.released_at,
        "filing_key_fingerprint": mortgage.filing_key.fingerprint if mortgage.filing_key_id else "",
    }


def seal_keys_visible_to(*, actor: Any) -> QuerySet[OrganisationSealKey]:
    """Seal keys of the organisations registered in the clerk's jurisdiction."""
    prefix = _prefix(actor, "registry.seal_key.register")
    if prefix is None:
        return OrganisationSealKey.objects.none()
    return OrganisationSealKey.objects.select_related("organisation").filter(
        organisation__division__startswith=prefix
    )


def banks_visible_to(*, actor: Any) -> QuerySet[Organisation]:
    """Banks registered in the clerk's jurisdiction, to register a seal key for."""
    return organisations_visible_to(actor=actor, action="registry.seal_key.register").filter(
        kind=Organisation.Kind.BANK
    )


# ---------------------------------------------------------------- dealers' temporary plates (issue 14, B18)


def temporary_plates_visible_to(
    *, actor: Any, action: str = "registry.temporary_plate.view"
) -> QuerySet[TemporaryPlate]:
    """Temporary plates the actor may see: a dealer its own, staff those issued in the
    jurisdiction (by the dealer's division at issue)."""
    qs = TemporaryPlate.objects.select_related("dealer")
    organisation_id = getattr(actor, "organisation_id", None)
    if organisation_id and scope_of(actor, action) is Scope.OWN:
        return qs.filter(dealer_id=organisation_id)
    prefix = _prefix(actor, action)
    if prefix is None:
        return qs.none()
    return qs.filter(division__startswith=prefix)


def temporary_plate_get(*, actor: Any, plate_id: int) -> TemporaryPlate | None:
    """One temporary plate the actor may see, or None (another dealer's is not found)."""
    return temporary_plates_visible_to(actor=actor).filter(pk=plate_id).first()


def temporary_plate_view(plate: TemporaryPlate, *, today: date) -> dict[str, Any]:
    """A temporary plate as pages and the API show it: the buyer masked, the state in words."""
    from . import temporary_plates as tp_rules

    state = tp_rules.plate_state(
        valid_from=plate.valid_from, valid_until=plate.valid_until, revoked=plate.revoked_at is not None,
        today=today,
    )  # fmt: skip
    zh, en = tp_rules.STATE_WORDS[state]
    return {
        "id": plate.pk,
        "number": plate.number,
        "vin": plate.vin,
        "issue_no": plate.issue_no,
        "kind": plate.kind,
        "brand_model": plate.brand_model,
        "buyer_masked": mask_name(plate.buyer_name) if plate.buyer_name else "",
        "dealer_name": plate.dealer.name,
        "valid_from": plate.valid_from,
        "valid_until": plate.valid_until,
        "insurance_required": plate.insurance_required,
        "insurer_name": plate.insurer_name,
        "policy_number": plate.policy_number,
        "insured_until": plate.insured_until,
        "state": state,
        "state_zh": zh,
        "state_en": en,
        "issued_at": plate.issued_at,
        "revoked_at": plate.revoked_at,
    }
