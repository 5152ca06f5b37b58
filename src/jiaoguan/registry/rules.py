"""Regulation rules for vehicles and driving licences, as pure functions over data tables.

Everything here is side-effect free: no ORM, no clock, no Django. Every function that
depends on "now" takes ``today`` (or ``as_of``) as an argument, so a case decided on an
old date can be replayed with the rule that was in force on that date.

Rules that changed over time are rows in tables keyed by effective date (and by vehicle
kind / use nature where relevant); a new regulation is a new row, not a new branch.

Requirements: Q1 (vehicle status, inspection validity, compulsory scrapping date) and
Q2 (licence status, review validity, physical-condition certificate due date, points).

Sources (see ``design/RULES.md``): S1 公安部令第162号 (licences, 2022-04-01); S2 公安部令
第163号 (points); S3 公安部令第164号 (vehicle registration); S4 道路交通安全法实施条例;
S6 公安部令第172号 (2025-01-01, amends S1); S7 status-code tables; S8 机动车强制报废标准规定.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeVar

__all__ = [
    "DERIVED_LICENCE_STATUS",
    "DERIVED_VEHICLE_STATUS",
    "LICENCE_CLASSES",
    "LICENCE_STATUS",
    "MEDICAL_CERTIFICATE_VALID",
    "PLATE_TYPES",
    "POINTS_LIMIT",
    "VEHICLE_STATUS",
    "InspectionDue",
    "LicenceClass",
    "PlateTypeRule",
    "UseNature",
    "ValidityTerm",
    "VehicleKind",
    "add_months",
    "add_status",
    "add_years",
    "age_on",
    "canonical_classes",
    "compulsory_scrapping_date",
    "covered_classes",
    "derived_licence_status",
    "derived_vehicle_status",
    "describe_statuses",
    "driving_age_limit_classes",
    "driving_age_limit_rule_from",
    "driving_age_limits",
    "fallback_inspection_valid_until",
    "inspection_schedule",
    "inspection_status",
    "inspection_valid_until",
    "inspection_window_start",
    "is_key_vehicle",
    "is_large_class",
    "licence_valid_until",
    "medical_certificate_due",
    "on_probation",
    "parse_classes",
    "points_warning",
    "probation_end",
    "renewal_status",
    "renewal_window",
    "review_due",
    "scoring_cycle",
    "scrapping_age_years",
    "scrapping_within_a_year",
    "split_classes",
    "unknown_status_codes",
]

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Date arithmetic helpers
# ---------------------------------------------------------------------------


def _month_index(day: date) -> int:
    """Months since year 0, so month differences are plain integer subtraction."""
    return day.year * 12 + day.month - 1


def _month_end(month_index: int) -> date:
    year, month0 = divmod(month_index, 12)
    return date(year, month0 + 1, calendar.monthrange(year, month0 + 1)[1])


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the end of a shorter month.

    2016-02-29 + 12 months is 2017-02-28; 2020-01-31 + 1 month is 2020-02-29.
    """
    year, month0 = divmod(_month_index(day) + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """``day`` moved by whole years; 29 February becomes 28 February in a common year."""
    return add_months(day, 12 * years)


_Row = TypeVar("_Row")


def _row_in_force(rows: Sequence[tuple[date, _Row]], on: date) -> _Row:
    """The row of an effective-date table in force ``on`` a day.

    ``rows`` are ``(effective_from, value)``; the latest row with ``effective_from <= on``
    wins. A day before the first row uses the first row (the oldest rule we model).
    """
    ordered = sorted(rows, key=lambda row: row[0])
    chosen = ordered[0][1]
    for effective_from, value in ordered:
        if effective_from <= on:
            chosen = value
    return chosen


# ---------------------------------------------------------------------------
# Vehicle kinds and use natures
# ---------------------------------------------------------------------------

_KIND_LABELS: dict[str, tuple[str, str]] = {
    "small_passenger": ("小型载客汽车", "Small passenger car"),
    "small_van": ("小型面包车", "Small van"),
    "medium_passenger": ("中型载客汽车", "Medium passenger vehicle"),
    "large_passenger": ("大型载客汽车", "Large passenger vehicle"),
    "small_truck": ("轻型/微型载货汽车", "Light or mini truck"),
    "medium_truck": ("中型载货汽车", "Medium truck"),
    "heavy_truck": ("重型载货汽车", "Heavy truck"),
    "tractor": ("牵引车", "Tractor unit"),
    "semitrailer": ("半挂车", "Semitrailer"),
    "full_trailer": ("全挂车", "Full trailer"),
    "three_wheeled": ("三轮汽车", "Three-wheeled car"),
    "low_speed_truck": ("低速货车", "Low-speed truck"),
    "motorcycle": ("普通二轮摩托车", "Motorcycle"),
    "three_wheeled_motorcycle": ("普通三轮摩托车", "Three-wheeled motorcycle"),
    "moped": ("轻便摩托车", "Moped"),
    "special": ("专项作业车", "Special-purpose vehicle"),
}

_USE_LABELS: dict[str, tuple[str, str]] = {
    "private": ("非营运", "Private (non-commercial)"),
    "taxi": ("出租客运", "Taxi"),
    "rental": ("租赁", "Rental"),
    "commercial_passenger": ("公路客运/旅游客运", "Coach and tourist passenger transport"),
    "city_bus": ("公交客运", "City bus"),
    "school_bus": ("校车", "School bus"),
    "training": ("教练", "Driver training"),
    "freight": ("货运", "Freight"),
    "dangerous_goods": ("危化品运输", "Dangerous goods"),
    "organisation": ("单位非营运", "Organisation (non-commercial)"),
    "police": ("警用", "Police"),
}


class VehicleKind(StrEnum):
    """Vehicle kind (车辆类型) as used by the inspection and scrapping tables."""

    SMALL_PASSENGER = "small_passenger"  # includes mini (微型) passenger cars
    SMALL_VAN = "small_van"  # excluded from the private-car inspection exemption
    MEDIUM_PASSENGER = "medium_passenger"
    LARGE_PASSENGER = "large_passenger"
    SMALL_TRUCK = "small_truck"  # includes mini (微型) trucks
    MEDIUM_TRUCK = "medium_truck"
    HEAVY_TRUCK = "heavy_truck"
    TRACTOR = "tractor"
    TRAILER_SEMI = "semitrailer"
    TRAILER_FULL = "full_trailer"
    THREE_WHEELED = "three_wheeled"
    LOW_SPEED_TRUCK = "low_speed_truck"
    MOTORCYCLE = "motorcycle"
    THREE_WHEELED_MOTORCYCLE = "three_wheeled_motorcycle"
    MOPED = "moped"
    SPECIAL = "special"

    @property
    def label_zh(self) -> str:
        return _KIND_LABELS[self.value][0]

    @property
    def label_en(self) -> str:
        return _KIND_LABELS[self.value][1]


class UseNature(StrEnum):
    """Use nature (使用性质) of a vehicle."""

    PRIVATE = "private"
    TAXI = "taxi"
    RENTAL = "rental"
    COMMERCIAL_PASSENGER = "commercial_passenger"
    CITY_BUS = "city_bus"
    SCHOOL_BUS = "school_bus"
    TRAINING = "training"
    FREIGHT = "freight"
    DANGEROUS_GOODS = "dangerous_goods"
    ORGANISATION = "organisation"  # an organisation's non-commercial vehicle
    POLICE = "police"

    @property
    def label_zh(self) -> str:
        return _USE_LABELS[self.value][0]

    @property
    def label_en(self) -> str:
        return _USE_LABELS[self.value][1]


_K = VehicleKind
_U = UseNature

_PASSENGER_KINDS = frozenset({_K.SMALL_PASSENGER, _K.SMALL_VAN, _K.MEDIUM_PASSENGER, _K.LARGE_PASSENGER})
_SMALL_PASSENGER_KINDS = frozenset({_K.SMALL_PASSENGER, _K.SMALL_VAN})
_LARGE_MEDIUM_PASSENGER_KINDS = frozenset({_K.MEDIUM_PASSENGER, _K.LARGE_PASSENGER})
_TRUCK_KINDS = frozenset({_K.SMALL_TRUCK, _K.MEDIUM_TRUCK, _K.HEAVY_TRUCK, _K.TRACTOR})
_TRAILER_KINDS = frozenset({_K.TRAILER_SEMI, _K.TRAILER_FULL})
_MOTORCYCLE_KINDS = frozenset({_K.MOTORCYCLE, _K.THREE_WHEELED_MOTORCYCLE, _K.MOPED})
_ALL_KINDS = frozenset(VehicleKind)

_NON_COMMERCIAL_USES = frozenset({_U.PRIVATE, _U.ORGANISATION, _U.POLICE})
_COMMERCIAL_PASSENGER_USES = frozenset(
    {_U.TAXI, _U.RENTAL, _U.COMMERCIAL_PASSENGER, _U.CITY_BUS, _U.SCHOOL_BUS, _U.TRAINING}
)
_ALL_USES = frozenset(UseNature)

# Key vehicles (重点车辆), REQ V2: passenger transport, freight, taxis, dangerous goods,
# school buses and city buses.
_KEY_VEHICLE_USES = frozenset(
    {_U.COMMERCIAL_PASSENGER, _U.FREIGHT, _U.TAXI, _U.DANGEROUS_GOODS, _U.SCHOOL_BUS, _U.CITY_BUS}
)


def is_key_vehicle(kind: VehicleKind | str, use: UseNature | str) -> bool:
    """Whether a vehicle is a key vehicle (重点车辆, REQ V2); decided by its use nature.

    A stored kind or use the tables do not know counts as a key vehicle: the stricter rule
    (handled by the organisation or at the counter, V2) applies until the record is corrected.
    """
    try:
        VehicleKind(kind)
        return UseNature(use) in _KEY_VEHICLE_USES
    except ValueError:
        logger.warning("unknown vehicle kind %r or use nature %r: treated as a key vehicle", kind, use)
        return True


# ---------------------------------------------------------------------------
# Plate types (号牌种类, GA 36-2018)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlateTypeRule:
    """What a plate type (号牌种类) is issued for: the shapes of its number and the vehicles.

    ``shapes`` are the plate number shapes of ``core.identifiers.PlateKind`` (by value, so
    this module stays free of Django); ``kinds`` the vehicle kinds that get the plate;
    ``uses`` the use natures, or None for any.
    """

    code: str
    zh: str
    en: str
    shapes: frozenset[str]
    kinds: frozenset[VehicleKind]
    uses: frozenset[UseNature] | None = None


_ORDINARY = frozenset({"ordinary"})
# GA 36-2018 5.1: large plates for medium and larger passenger and goods vehicles, tractor
# units and special vehicles of that size; small plates below medium. A special vehicle's
# size is not recorded, so either plate fits it.
_LARGE_PLATE_KINDS = frozenset(
    {_K.MEDIUM_PASSENGER, _K.LARGE_PASSENGER, _K.MEDIUM_TRUCK, _K.HEAVY_TRUCK, _K.TRACTOR, _K.SPECIAL}
)
_SMALL_PLATE_KINDS = frozenset({_K.SMALL_PASSENGER, _K.SMALL_VAN, _K.SMALL_TRUCK, _K.SPECIAL})
_CAR_KINDS = _PASSENGER_KINDS | _TRUCK_KINDS

PLATE_TYPES: dict[str, PlateTypeRule] = {
    rule.code: rule
    for rule in (
        PlateTypeRule("01", "大型汽车号牌", "large vehicle plate", _ORDINARY, _LARGE_PLATE_KINDS),
        PlateTypeRule("02", "小型汽车号牌", "small vehicle plate", _ORDINARY, _SMALL_PLATE_KINDS),
        PlateTypeRule(
            "07", "普通摩托车号牌", "motorcycle plate", _ORDINARY, frozenset({_K.MOTORCYCLE, _K.THREE_WHEELED_MOTORCYCLE})
        ),
        PlateTypeRule("08", "轻便摩托车号牌", "moped plate", _ORDINARY, frozenset({_K.MOPED})),
        PlateTypeRule(
            "13", "低速车号牌", "low-speed vehicle plate", _ORDINARY, frozenset({_K.THREE_WHEELED, _K.LOW_SPEED_TRUCK})
        ),
        PlateTypeRule("15", "挂车号牌", "trailer plate", frozenset({"trailer"}), _TRAILER_KINDS),
        # Coach plates (学) belong to driving-school cars, whose use nature is training.
        PlateTypeRule(
            "16", "教练汽车号牌", "driving-school car plate", frozenset({"coach"}), _CAR_KINDS,
            frozenset({_U.TRAINING}),
        ),
        # A temporary plate is issued for any vehicle not yet registered; it carries the
        # shape of the plate the vehicle will get, new-energy or not.
        PlateTypeRule(
            "22", "临时行驶车号牌", "temporary plate", frozenset({"ordinary", "new_energy_small", "new_energy_large"}),
            _ALL_KINDS,
        ),
        # New-energy plates: 8 characters; the small one has the energy letter first in its
        # serial (D pure electric, F other new energy), the large one last.
        PlateTypeRule(
            "51", "大型新能源汽车号牌", "large new-energy plate", frozenset({"new_energy_large"}), _LARGE_PLATE_KINDS
        ),
        PlateTypeRule(
            "52", "小型新能源汽车号牌", "small new-energy plate", frozenset({"new_energy_small"}), _SMALL_PLATE_KINDS
        ),
    )
}  # fmt: skip


# ---------------------------------------------------------------------------
# Periodic inspection (S4 art. 16; 2014-09-01 and 2022-10-01 reforms; S3 art. 54)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InspectionDue:
    """One inspection due date (检验有效期至): the last day of the anniversary month."""

    due_on: date
    on_site: bool  # False: only the inspection label is issued (免检, label only)


@dataclass(frozen=True)
class _Interval:
    """Dues every ``step_months`` up to and including vehicle age ``until_months``.

    ``until_months=None`` means for the rest of the vehicle's life. Dues whose age is a
    whole number of years listed in ``label_only_years`` are label-only.
    """

    step_months: int
    until_months: int | None = None
    label_only_years: frozenset[int] = frozenset()


_Plan = tuple[_Interval, ...]


class _InspectionCategory(StrEnum):
    PRIVATE_SMALL_PASSENGER = "private_small_passenger"
    NON_COMMERCIAL_SMALL_PASSENGER = "non_commercial_small_passenger"
    COMMERCIAL_PASSENGER = "commercial_passenger"
    TRUCK_AND_LARGE_PASSENGER = "truck_and_large_passenger"
    PRIVATE_MOTORCYCLE = "private_motorcycle"
    MOTORCYCLE = "motorcycle"
    OTHER = "other"


_IC = _InspectionCategory

# (kinds, uses, category): the first matching row wins.
_INSPECTION_CATEGORIES: tuple[
    tuple[frozenset[VehicleKind], frozenset[UseNature], _InspectionCategory], ...
] = (
    # The exemption covers private / organisation small and mini passenger cars, not vans.
    (frozenset({_K.SMALL_PASSENGER}), frozenset({_U.PRIVATE, _U.ORGANISATION}), _IC.PRIVATE_SMALL_PASSENGER),
    # Vans and police cars keep the plain S4 art. 16 rule for small non-commercial passenger
    # vehicles (every 2 years to 6 years, on site).
    (_SMALL_PASSENGER_KINDS, _NON_COMMERCIAL_USES, _IC.NON_COMMERCIAL_SMALL_PASSENGER),
    (_PASSENGER_KINDS, _COMMERCIAL_PASSENGER_USES, _IC.COMMERCIAL_PASSENGER),
    (_TRUCK_KINDS | _TRAILER_KINDS, _ALL_USES, _IC.TRUCK_AND_LARGE_PASSENGER),
    (_LARGE_MEDIUM_PASSENGER_KINDS, _NON_COMMERCIAL_USES, _IC.TRUCK_AND_LARGE_PASSENGER),
    (_MOTORCYCLE_KINDS, frozenset({_U.PRIVATE, _U.ORGANISATION}), _IC.PRIVATE_MOTORCYCLE),
    (_MOTORCYCLE_KINDS, _ALL_USES, _IC.MOTORCYCLE),
    # Three-wheeled cars, low-speed trucks, special vehicles and odd combinations:
    # "拖拉机和其他机动车每年检验1次" (S4 art. 16).
    (_ALL_KINDS, _ALL_USES, _IC.OTHER),
)

_YEARLY_THEN_HALF_YEARLY_AFTER_5: _Plan = (_Interval(12, 60), _Interval(6))
_YEARLY_THEN_HALF_YEARLY_AFTER_10: _Plan = (_Interval(12, 120), _Interval(6))
_YEARLY: _Plan = (_Interval(12),)
# S4 art. 16: small/mini non-commercial passenger: every 2 years to 6 years, yearly after
# 6, every 6 months after 15.
_S4_SMALL_NON_COMMERCIAL: _Plan = (_Interval(24, 72), _Interval(12, 180), _Interval(6))
_S4_MOTORCYCLE: _Plan = (_Interval(24, 48), _Interval(12))

# Effective-date keyed plans per category. S4 in force 2004-05-01.
_INSPECTION_RULES: dict[_InspectionCategory, tuple[tuple[date, _Plan], ...]] = {
    _IC.PRIVATE_SMALL_PASSENGER: (
        (date(2004, 5, 1), _S4_SMALL_NON_COMMERCIAL),
        # 2014-09-01 reform: 6-year exemption, label only in years 2 and 4, on site in year 6.
        (date(2014, 9, 1), (_Interval(24, 72, frozenset({2, 4})), _Interval(12, 180), _Interval(6))),
        # 2022-10-01 reform: years 2, 4, 8 label only, on site in years 6 and 10, yearly
        # after 10, every 6 months after 15.
        (
            date(2022, 10, 1),
            (_Interval(24, 120, frozenset({2, 4, 8})), _Interval(12, 180), _Interval(6)),
        ),
    ),
    _IC.NON_COMMERCIAL_SMALL_PASSENGER: ((date(2004, 5, 1), _S4_SMALL_NON_COMMERCIAL),),
    # S4 art. 16: commercial passenger yearly to 5 years, then every 6 months.
    _IC.COMMERCIAL_PASSENGER: ((date(2004, 5, 1), _YEARLY_THEN_HALF_YEARLY_AFTER_5),),
    # S4 art. 16: trucks and large/medium non-commercial passenger yearly to 10, then 6 months.
    _IC.TRUCK_AND_LARGE_PASSENGER: ((date(2004, 5, 1), _YEARLY_THEN_HALF_YEARLY_AFTER_10),),
    _IC.PRIVATE_MOTORCYCLE: (
        (date(2004, 5, 1), _S4_MOTORCYCLE),
        # 2022-10-01 reform: private motorcycles only request the label in years 2 and 4.
        (date(2022, 10, 1), (_Interval(24, 48, frozenset({2, 4})), _Interval(12))),
    ),
    _IC.MOTORCYCLE: ((date(2004, 5, 1), _S4_MOTORCYCLE),),
    _IC.OTHER: ((date(2004, 5, 1), _YEARLY),),
}

INSPECTION_SCHEDULE_YEARS = 40
"""How far ``inspection_schedule`` lists dues (vehicles rarely live longer)."""

# S3 art. 54: the label may be requested within 3 months before the validity expires.
INSPECTION_WINDOW_MONTHS = 3


def _inspection_category(kind: VehicleKind | str, use: UseNature | str) -> _InspectionCategory:
    k, u = VehicleKind(kind), UseNature(use)
    for kinds, uses, category in _INSPECTION_CATEGORIES:
        if k in kinds and u in uses:
            return category
    raise AssertionError("the last category row matches everything")  # pragma: no cover


def _iter_dues(plan: _Plan, registered_on: date, on_site_required: bool) -> Iterator[InspectionDue]:
    """All dues of a plan, without end. The last interval must be open-ended."""
    base = _month_index(registered_on)
    age = 0
    for interval in plan:
        while interval.until_months is None or age + interval.step_months <= interval.until_months:
            age += interval.step_months
            label_only = age % 12 == 0 and age // 12 in interval.label_only_years
            yield InspectionDue(_month_end(base + age), on_site=on_site_required or not label_only)


def _plan_for(kind: VehicleKind | str, use: UseNature | str, as_of: date) -> _Plan:
    return _row_in_force(_INSPECTION_RULES[_inspection_category(kind, use)], as_of)


def inspection_schedule(
    *,
    kind: VehicleKind | str,
    use: UseNature | str,
    registered_on: date,
    as_of: date,
    on_site_required: bool = False,
) -> list[InspectionDue]:
    """Scheduled inspection dues over a vehicle's life, by the rule in force ``as_of`` (REQ Q1).

    A due is the last day of the month of the registration anniversary: registered
    2020-05-13, first due 2022-05-31 (检验有效期至 2022年05月). ``on_site_required`` is set
    after an injury/death accident or an illegal-modification penalty, which ends the
    label-only exemption: every due is then on site.
    """
    plan = _plan_for(kind, use, as_of)
    horizon = _month_end(_month_index(registered_on) + 12 * INSPECTION_SCHEDULE_YEARS)
    result: list[InspectionDue] = []
    for due in _iter_dues(plan, registered_on, on_site_required):
        if due.due_on > horizon:
            break
        result.append(due)
    return result


def inspection_window_start(due_on: date) -> date:
    """First day on which the label for a due may be requested (S3 art. 54).

    Due dates are month ends, so "within 3 months before" is read in whole months: the due
    month and the two months before it. For 2022-05-31 the window opens on 2022-03-01.
    """
    first_of_due_month = due_on.replace(day=1)
    return add_months(first_of_due_month, 1 - INSPECTION_WINDOW_MONTHS)


def inspection_valid_until(
    *,
    kind: VehicleKind | str,
    use: UseNature | str,
    registered_on: date,
    last_inspected_on: date | None,
    as_of: date,
    on_site_required: bool = False,
) -> InspectionDue:
    """The current inspection validity (检验有效期至) (REQ Q1).

    With no inspection yet it is the first scheduled due. An inspection (or label) taken
    within the 3-month window before a due (S3 art. 54), or after the due, renews to the
    next due; one taken earlier does not advance the validity. Concretely this returns
    the first scheduled due whose month is at least 3 months after the month of
    ``last_inspected_on``; since dues are month ends this is the first due with
    ``due_on >= last_inspected_on + 3 months`` (month arithmetic, clamped to month end),
    so that, e.g., an inspection on 30 November does not renew a due of 28 February.
    """
    plan = _plan_for(kind, use, as_of)
    dues = _iter_dues(plan, registered_on, on_site_required)
    if last_inspected_on is None:
        return next(dues)
    threshold = _month_index(last_inspected_on) + INSPECTION_WINDOW_MONTHS
    for due in dues:
        if _month_index(due.due_on) >= threshold:
            return due
    raise AssertionError("plans are open-ended")  # pragma: no cover


def fallback_inspection_valid_until(
    *, registered_on: date, last_inspected_on: date | None, as_of: date
) -> InspectionDue:
    """Inspection validity for a record whose vehicle kind or use nature the tables do not know.

    The S4 art. 16 rule for other motor vehicles applies: every year, on site. It is never
    later than the validity of a known kind's first years, so an unknown stored value cannot
    make a vehicle look inspected for longer than it is.
    """
    plan = _row_in_force(_INSPECTION_RULES[_IC.OTHER], as_of)
    dues = _iter_dues(plan, registered_on, True)
    if last_inspected_on is None:
        return next(dues)
    threshold = _month_index(last_inspected_on) + INSPECTION_WINDOW_MONTHS
    for due in dues:
        if _month_index(due.due_on) >= threshold:
            return due
    raise AssertionError("plans are open-ended")  # pragma: no cover


def inspection_status(*, valid_until: date, today: date) -> str:
    """``"valid"``, ``"due_soon"`` (label may be requested, S3 art. 54) or ``"overdue"``."""
    if today > valid_until:
        return "overdue"
    if today >= inspection_window_start(valid_until):
        return "due_soon"
    return "valid"


# ---------------------------------------------------------------------------
# Compulsory scrapping (S8 art. 4, 5)
# ---------------------------------------------------------------------------

# (kinds, uses, years or None for no age limit); the first matching row wins, so specific
# rows come before the per-kind fallbacks.
_SCRAPPING_AGES: tuple[tuple[frozenset[VehicleKind], frozenset[UseNature], int | None], ...] = (
    # Passenger vehicles, by use (S8 art. 4 (一)).
    (_SMALL_PASSENGER_KINDS, frozenset({_U.TAXI}), 8),
    (frozenset({_K.MEDIUM_PASSENGER}), frozenset({_U.TAXI}), 10),
    (frozenset({_K.LARGE_PASSENGER}), frozenset({_U.TAXI}), 12),
    (_PASSENGER_KINDS, frozenset({_U.RENTAL}), 15),
    (_SMALL_PASSENGER_KINDS, frozenset({_U.TRAINING}), 10),
    (frozenset({_K.MEDIUM_PASSENGER}), frozenset({_U.TRAINING}), 12),
    (frozenset({_K.LARGE_PASSENGER}), frozenset({_U.TRAINING}), 15),
    (_PASSENGER_KINDS, frozenset({_U.CITY_BUS}), 13),
    (_PASSENGER_KINDS, frozenset({_U.SCHOOL_BUS}), 15),
    (_SMALL_PASSENGER_KINDS, frozenset({_U.COMMERCIAL_PASSENGER}), 10),
    (_LARGE_MEDIUM_PASSENGER_KINDS, frozenset({_U.COMMERCIAL_PASSENGER}), 15),
    # S8 art. 5: small/mini non-commercial passenger cars have no age limit (police and
    # organisation cars are non-commercial too).
    (_SMALL_PASSENGER_KINDS, _NON_COMMERCIAL_USES, None),
    (_LARGE_MEDIUM_PASSENGER_KINDS, _NON_COMMERCIAL_USES, 20),
    # Passenger kinds with a freight use do not exist in S8: closest rows are the
    # "other commercial passenger" ones.
    (_SMALL_PASSENGER_KINDS, _ALL_USES, 10),
    (_LARGE_MEDIUM_PASSENGER_KINDS, _ALL_USES, 15),
    # Trucks (S8 art. 4 (二)-(四)).
    (_TRUCK_KINDS, frozenset({_U.DANGEROUS_GOODS}), 10),
    # SMALL_TRUCK also covers mini trucks (12 years in S8); the kind does not tell them
    # apart, so the light-truck row ("other trucks", 15) is used as the closest row.
    # Tractors are "other trucks" (包括半挂牵引车和全挂牵引车) too.
    (_TRUCK_KINDS, _ALL_USES, 15),
    (frozenset({_K.THREE_WHEELED}), _ALL_USES, 9),
    # Low-speed trucks: single-cylinder 9, multi-cylinder 12. The cylinder count is not
    # recorded; multi-cylinder (today's usual build) is the closest row.
    (frozenset({_K.LOW_SPEED_TRUCK}), _ALL_USES, 12),
    # Special vehicles: with cargo function 15, without 30. A freight / dangerous-goods use
    # implies the cargo function; otherwise the no-cargo row applies.
    (frozenset({_K.SPECIAL}), frozenset({_U.FREIGHT, _U.DANGEROUS_GOODS}), 15),
    (frozenset({_K.SPECIAL}), _ALL_USES, 30),
    # Trailers: full trailers and dangerous-goods semitrailers 10, container semitrailers
    # 20, other semitrailers 15. Containers are not a use nature, so semitrailers use 15.
    (frozenset({_K.TRAILER_FULL}), _ALL_USES, 10),
    (frozenset({_K.TRAILER_SEMI}), frozenset({_U.DANGEROUS_GOODS}), 10),
    (frozenset({_K.TRAILER_SEMI}), _ALL_USES, 15),
    # Motorcycles: three-wheeled 12, others (including mopeds) 13.
    (frozenset({_K.THREE_WHEELED_MOTORCYCLE}), _ALL_USES, 12),
    (frozenset({_K.MOTORCYCLE, _K.MOPED}), _ALL_USES, 13),
)


def scrapping_age_years(kind: VehicleKind | str, use: UseNature | str) -> int | None:
    """Compulsory scrapping age in years (S8), or None when there is no age limit."""
    k, u = VehicleKind(kind), UseNature(use)
    for kinds, uses, years in _SCRAPPING_AGES:
        if k in kinds and u in uses:
            return years
    raise AssertionError(f"no scrapping row for {k}/{u}")  # pragma: no cover


def compulsory_scrapping_date(
    *, kind: VehicleKind | str, use: UseNature | str, registered_on: date
) -> date | None:
    """Compulsory scrapping date (强制报废日期, REQ Q1): registration date + the S8 age."""
    years = scrapping_age_years(kind, use)
    return None if years is None else add_years(registered_on, years)


def scrapping_within_a_year(*, scrapping_date: date | None, today: date) -> bool:
    """Whether registration and transfer are refused: within 1 year of (or past) scrapping (S3)."""
    if scrapping_date is None:
        return False
    return today >= add_years(scrapping_date, -1)


# ---------------------------------------------------------------------------
# Status codes (S7)
# ---------------------------------------------------------------------------

VEHICLE_STATUS: dict[str, tuple[str, str]] = {
    "A": ("正常", "Normal"),
    "B": ("转出", "Transferred out"),
    "C": ("被盗抢", "Stolen or robbed"),
    "D": ("停驶", "Laid up"),
    "E": ("注销", "Deregistered"),
    "G": ("违法未处理", "Unprocessed violation"),
    "H": ("海关监管", "Under customs supervision"),
    "I": ("事故未处理", "Unprocessed accident"),
    "J": ("嫌疑车", "Suspect vehicle"),
    "K": ("查封", "Sealed up"),
    "L": ("暂扣", "Temporarily detained"),
    "M": ("强制注销", "Compulsorily deregistered"),
    "N": ("事故逃逸", "Hit and run"),
    "O": ("锁定", "Locked"),
    "P": ("达到报废标准公告牌证作废", "Scrapping age reached, plates and papers void"),
    "Q": ("逾期未检验", "Inspection overdue"),
}

LICENCE_STATUS: dict[str, tuple[str, str]] = {
    "A": ("正常", "Normal"),
    "B": ("超分", "Points limit exceeded"),
    "C": ("转出", "Transferred out"),
    "D": ("暂扣", "Temporarily suspended"),
    "E": ("撤销", "Annulled"),
    "F": ("吊销", "Revoked"),
    "G": ("注销", "Cancelled"),
    "H": ("违法未处理", "Unprocessed violation"),
    "I": ("事故未处理", "Unprocessed accident"),
    "J": ("停止使用", "Use suspended"),
    "K": ("扣押", "Seized"),
    "L": ("锁定", "Locked"),
    "M": ("逾期未换证", "Renewal overdue"),
    "N": ("延期换证", "Renewal deferred"),
    "P": ("延期体检", "Medical check deferred"),
    "R": ("注销可恢复", "Cancelled, restorable"),
    "S": ("逾期未审验", "Review overdue"),
    "T": ("延期审验", "Review deferred"),
    "U": ("扣留", "Detained"),
    "Z": ("其他", "Other"),
}

_NORMAL_STATUS = "A"

# Codes the platform derives from dates when it shows a record; they are never stored
# (Q: inspection overdue; M: renewal overdue, S: review overdue), REQ Q1, Q2.
DERIVED_VEHICLE_STATUS = frozenset("Q")
DERIVED_LICENCE_STATUS = frozenset("MS")

UNKNOWN_STATUS = ("未知状态", "unknown status")


def unknown_status_codes(codes: str, table: Mapping[str, tuple[str, str]]) -> list[str]:
    """The characters of a stored status string that the table does not know, each once."""
    unknown: list[str] = []
    for code in codes:
        if code not in table and code not in unknown:
            unknown.append(code)
    return unknown


def describe_statuses(codes: str, table: Mapping[str, tuple[str, str]]) -> list[tuple[str, str, str]]:
    """``(code, zh, en)`` for each status character (REQ Q1, Q2), each code once.

    A code the table does not know is described as unknown (``未知状态 Z``) and logged: a
    stored value written before a table changed, or by hand, must never take a page down.
    """
    result: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            continue
        seen.add(code)
        if code in table:
            zh, en = table[code]
        else:
            logger.warning("unknown status code %r in stored status %r", code, codes)
            zh, en = f"{UNKNOWN_STATUS[0]} {code}", f"{UNKNOWN_STATUS[1]} {code}"
        result.append((code, zh, en))
    return result


def add_status(codes: str, code: str) -> str:
    """Add a status code to a stored status string (S7); A (normal) gives way to any other."""
    current = [c for c in codes if c != _NORMAL_STATUS]
    if code not in current:
        current.append(code)
    return "".join(sorted(current)) or _NORMAL_STATUS


def _derive_status(stored: str, extra: Iterable[str], table: Mapping[str, tuple[str, str]]) -> str:
    codes: list[str] = []
    for code in [*stored, *extra]:
        if code not in codes:
            codes.append(code)
    if len(codes) > 1 and _NORMAL_STATUS in codes:
        codes.remove(_NORMAL_STATUS)
    return "".join(codes) or _NORMAL_STATUS


def derived_vehicle_status(stored: str, *, inspection_overdue: bool) -> str:
    """Stored vehicle status plus Q (逾期未检验) when the inspection is overdue (REQ Q1, S7).

    Order is kept, duplicates dropped, and A (normal) is dropped once another code applies.
    """
    return _derive_status(stored, "Q" if inspection_overdue else "", VEHICLE_STATUS)


def derived_licence_status(stored: str, *, renewal_overdue: bool, review_overdue: bool) -> str:
    """Stored licence status plus M (逾期未换证) and S (逾期未审验) when overdue (REQ Q2, S7)."""
    extra = ("M" if renewal_overdue else "") + ("S" if review_overdue else "")
    return _derive_status(stored, extra, LICENCE_STATUS)


# ---------------------------------------------------------------------------
# Driving licence classes (S1 art. 11)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceClass:
    """A permitted driving class (准驾车型) and the classes it also allows."""

    code: str
    name_zh: str
    name_en: str
    also_allows: frozenset[str]


def _lc(code: str, name_zh: str, name_en: str, also: str = "") -> LicenceClass:
    return LicenceClass(code, name_zh, name_en, frozenset(also.split()))


# S1 art. 11 (2022 table).
LICENCE_CLASSES: dict[str, LicenceClass] = {
    lc.code: lc
    for lc in (
        _lc("A1", "大型客车", "Large bus", "A3 B1 B2 C1 C2 C3 C4 M"),
        _lc("A2", "重型牵引挂车", "Heavy tractor-trailer", "B1 B2 C1 C2 C3 C4 C6 M"),
        _lc("A3", "城市公交车", "City bus", "C1 C2 C3 C4"),
        _lc("B1", "中型客车", "Medium bus", "C1 C2 C3 C4 M"),
        _lc("B2", "大型货车", "Heavy truck", "C1 C2 C3 C4 M"),
        _lc("C1", "小型汽车", "Small car", "C2 C3 C4"),
        _lc("C2", "小型自动挡汽车", "Small automatic car"),
        _lc("C3", "低速载货汽车", "Low-speed truck", "C4"),
        _lc("C4", "三轮汽车", "Three-wheeled car"),
        _lc("C5", "残疾人专用小型自动挡载客汽车", "Small automatic car for disabled drivers"),
        _lc("C6", "轻型牵引挂车", "Light tractor-trailer (under 4500 kg)"),
        _lc("D", "普通三轮摩托车", "Three-wheeled motorcycle", "E F"),
        _lc("E", "普通二轮摩托车", "Motorcycle", "F"),
        _lc("F", "轻便摩托车", "Moped"),
        _lc("M", "轮式专用机械车", "Wheeled special machinery"),
        _lc("N", "无轨电车", "Trolleybus"),
        _lc("P", "有轨电车", "Tram"),
    )
}

_LARGE_CLASSES = frozenset({"A1", "A2", "A3", "B1", "B2"})
_TWO_CHAR_CODES = frozenset(code for code in LICENCE_CLASSES if len(code) == 2)
_ONE_CHAR_CODES = frozenset(code for code in LICENCE_CLASSES if len(code) == 1)


def parse_classes(text: str) -> tuple[str, ...]:
    """Split a printed class string (准驾车型) such as ``"C1D"`` or ``"A2E"`` into codes.

    Case-insensitive; blanks, commas and slashes between codes are ignored. Raises
    ValueError on an empty string, an unknown code or a repeated code.
    """
    compact = "".join(ch for ch in text.upper() if ch not in " \t,/\uff0c\u3001")
    if not compact:
        raise ValueError("no licence class given")
    codes: list[str] = []
    i = 0
    while i < len(compact):
        if compact[i : i + 2] in _TWO_CHAR_CODES:
            code = compact[i : i + 2]
        elif compact[i] in _ONE_CHAR_CODES:
            code = compact[i]
        else:
            raise ValueError(f"unknown licence class at {compact[i:]!r} in {text!r}")
        if code in codes:
            raise ValueError(f"licence class {code} repeated in {text!r}")
        codes.append(code)
        i += len(code)
    return tuple(codes)


def split_classes(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The known class codes of a stored class string and the fragments that are not codes.

    For showing a record whose stored classes no longer parse (a code written by hand or
    dropped from the table): the known codes keep working, the rest is shown as unknown.
    """
    compact = "".join(ch for ch in (text or "").upper() if ch not in " \t,/\uff0c\u3001")
    known: list[str] = []
    unknown: list[str] = []
    i = 0
    while i < len(compact):
        if compact[i : i + 2] in _TWO_CHAR_CODES:
            code = compact[i : i + 2]
        elif compact[i] in _ONE_CHAR_CODES:
            code = compact[i]
        else:
            if compact[i] not in unknown:
                unknown.append(compact[i])
            i += 1
            continue
        if code not in known:
            known.append(code)
        i += len(code)
    return tuple(known), tuple(unknown)


def canonical_classes(codes: Iterable[str]) -> str:
    """Class codes as one printed string in the order of the class table: ``C1D``, ``A2E``."""
    held = set(codes)
    return "".join(code for code in LICENCE_CLASSES if code in held)


def _held(classes: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(classes, str):
        return parse_classes(classes)
    held: list[str] = []
    for item in classes:
        for code in parse_classes(item):
            if code not in held:
                held.append(code)
    return tuple(held)


def covered_classes(classes: str | Iterable[str]) -> frozenset[str]:
    """Every class the held classes allow, transitively (A1 allows A3, which allows C1 ...)."""
    covered: set[str] = set()
    pending = list(_held(classes))
    while pending:
        code = pending.pop()
        if code not in covered:
            covered.add(code)
            pending.extend(LICENCE_CLASSES[code].also_allows)
    return frozenset(covered)


def is_large_class(code: str) -> bool:
    """Whether a class is a large (A or B) class: A1 A2 A3 B1 B2."""
    if code not in LICENCE_CLASSES:
        raise ValueError(f"unknown licence class {code!r}")
    return code in _LARGE_CLASSES


# ---------------------------------------------------------------------------
# Licence validity and renewal (S1 art. 13, 62, 63, 75, 79)
# ---------------------------------------------------------------------------

_TERM_LABELS: dict[str, tuple[str, str]] = {
    "6y": ("六年", "6 years"),
    "10y": ("十年", "10 years"),
    "long": ("长期", "Long-term"),
}


class ValidityTerm(StrEnum):
    """Licence validity term (有效期限), S1 art. 13."""

    SIX_YEARS = "6y"
    TEN_YEARS = "10y"
    LONG_TERM = "long"

    @property
    def label_zh(self) -> str:
        return _TERM_LABELS[self.value][0]

    @property
    def label_en(self) -> str:
        return _TERM_LABELS[self.value][1]


_TERM_YEARS: dict[ValidityTerm, int | None] = {
    ValidityTerm.SIX_YEARS: 6,
    ValidityTerm.TEN_YEARS: 10,
    ValidityTerm.LONG_TERM: None,
}

RENEWAL_WINDOW_DAYS = 90  # S1 art. 62: renew within 90 days before expiry
CANCELLABLE_AFTER_YEARS = 1  # S1 art. 79: more than 1 year overdue for renewal


def licence_valid_until(*, valid_from: date, term: ValidityTerm | str) -> date | None:
    """End of validity (S1 art. 13): ``valid_from`` + 6 or 10 years, None when long-term.

    Cards print the same month and day: "2020-03-05 至 2026-03-05"; a 29 February start
    ends on 28 February.
    """
    years = _TERM_YEARS[ValidityTerm(term)]
    return None if years is None else add_years(valid_from, years)


def renewal_window(*, valid_until: date) -> tuple[date, date]:
    """The renewal window, 90 days before expiry up to the expiry date, inclusive (S1 art. 62)."""
    return valid_until - timedelta(days=RENEWAL_WINDOW_DAYS), valid_until


def renewal_status(*, valid_until: date | None, today: date) -> str:
    """``long_term``, ``valid``, ``renewal_window``, ``overdue`` or ``cancellable`` (REQ Q2).

    ``cancellable``: more than one year overdue for renewal (S1 art. 79).
    """
    if valid_until is None:
        return "long_term"
    start, end = renewal_window(valid_until=valid_until)
    if today < start:
        return "valid"
    if today <= end:
        return "renewal_window"
    if today > add_years(valid_until, CANCELLABLE_AFTER_YEARS):
        return "cancellable"
    return "overdue"


# ---------------------------------------------------------------------------
# Points, scoring cycle, probation, review, medical certificate (S1, S2)
# ---------------------------------------------------------------------------

POINTS_LIMIT = 12  # S2: 12-month cycle, limit 12 points
POINTS_NEAR_LIMIT = 9


def points_warning(points: int) -> str | None:
    """``"near_limit"`` at 9-11 points, ``"full"`` at 12 or more (S2), else None."""
    if points < 0:
        raise ValueError("points cannot be negative")
    if points >= POINTS_LIMIT:
        return "full"
    if points >= POINTS_NEAR_LIMIT:
        return "near_limit"
    return None


FULL_SCORE_STOP_AFTER_DAYS = 30  # S2: no study within 30 days of the full score sets status J


@dataclass(frozen=True)
class FullScoreStudy:
    """满分学习 (S2): days of study, of which online and on site together, of which on site."""

    days: int
    online_or_on_site_days: int
    on_site_days: int


def full_score_study(classes: Iterable[str]) -> FullScoreStudy:
    """7 days (5 online or on site, 2 on site); a licence with a large class A/B: 30 (10, 5)."""
    if any(code in _LARGE_CLASSES for code in classes):
        return FullScoreStudy(days=30, online_or_on_site_days=10, on_site_days=5)
    return FullScoreStudy(days=7, online_or_on_site_days=5, on_site_days=2)


def points_next_step(
    points: int, classes: Iterable[str], *, cycle_end: date | None = None
) -> tuple[str, str] | None:
    """What the driver must do next at this points total (S2), in Chinese and English, or None
    below the warning level. Full-score study and its exam are done at a counter (车管所 or a
    violation-processing counter): the platform offers neither online."""
    warning = points_warning(points)
    if warning is None:
        return None
    study = full_score_study(classes)
    if warning == "full":
        return (
            f"记分已满{POINTS_LIMIT}分：驾驶证将被扣留。须参加满分学习{study.days}天"
            f"（网络和现场学习累计不少于{study.online_or_on_site_days}天，其中现场学习不少于"
            f"{study.on_site_days}天），学习期满后预约科目一考试，考试合格后记分清除、发还驾驶证。"
            f"满分后{FULL_SCORE_STOP_AFTER_DAYS}日内不参加学习的，驾驶证停止使用。"
            "请到车管所或违法处理窗口报名，目前不能网上办理。",
            f"{POINTS_LIMIT} points reached: the licence will be held. The driver must attend "
            f"{study.days} days of full-score study ({study.online_or_on_site_days} days online or on "
            f"site, {study.on_site_days} of them on site), then book the subject-1 exam; passing it "
            f"clears the points and returns the licence. Without study within "
            f"{FULL_SCORE_STOP_AFTER_DAYS} days the licence is suspended. Enrol at a vehicle "
            "administration office or a violation-processing counter; this is not available online.",
        )
    left = POINTS_LIMIT - points
    end_zh = f"本记分周期至{cycle_end:%Y-%m-%d}结束，罚款缴清的记分届时清除。" if cycle_end else ""
    end_en = (
        f" The cycle ends on {cycle_end:%Y-%m-%d}; points of paid fines are then cleared."
        if cycle_end
        else ""
    )
    return (
        f"再记{left}分即满分。满分后驾驶证被扣留，须参加满分学习{study.days}天和科目一考试。{end_zh}",
        f"{left} more points reach the limit; then the licence is held and the driver must attend "
        f"{study.days} days of full-score study and pass the subject-1 exam.{end_en}",
    )


def _cycle_index(first_issued_on: date, today: date) -> int:
    if today < first_issued_on:
        raise ValueError("today is before the first issue date")
    index = today.year - first_issued_on.year
    if add_years(first_issued_on, index) > today:
        index -= 1
    return index


def _cycle_bounds(first_issued_on: date, index: int) -> tuple[date, date]:
    start = add_years(first_issued_on, index)
    end = add_years(first_issued_on, index + 1) - timedelta(days=1)
    return start, end


def scoring_cycle(*, first_issued_on: date, today: date) -> tuple[date, date]:
    """The scoring cycle (记分周期) containing ``today``, both ends inclusive (S2 art. 3).

    Cycles are 12 months counted from the first issue date. Each cycle starts on an
    anniversary of the first issue date; for a 29 February first issue the anniversary in
    a common year is 28 February, so 2016-02-29 gives 2016-02-29..2017-02-27,
    2017-02-28..2018-02-27, ..., 2019-02-28..2020-02-28, 2020-02-29..2021-02-27.
    """
    return _cycle_bounds(first_issued_on, _cycle_index(first_issued_on, today))


def probation_end(*, first_issued_on: date) -> date:
    """Last day of probation (实习期), 12 months from the class's first issue (S1 art. 76).

    The caller passes the first-issue date of the car or motorcycle class concerned.
    """
    return add_years(first_issued_on, 1) - timedelta(days=1)


def on_probation(*, probation_end: date, today: date) -> bool:
    """Whether ``today`` is on or before the last day of probation."""
    return today <= probation_end


REVIEW_DAYS_AFTER_CYCLE = 30  # S1 art. 72

# A physical-condition certificate counts for six months after it is issued (S1 art. 74;
# RULES.md "a medical certificate is valid 6 months"), for a deadline and for a renewal.
MEDICAL_CERTIFICATE_VALID = timedelta(days=183)


def review_due(*, classes: str | Iterable[str], cycle_end: date, points_in_cycle: int) -> date | None:
    """Review (审验) deadline for the cycle ending ``cycle_end`` (REQ Q2, S1 art. 72).

    A/B holders with points in the finished cycle must attend within 30 days after it
    ends (3 h study and a health declaration); otherwise no review is due.
    """
    if points_in_cycle > 0 and any(is_large_class(code) for code in _held(classes)):
        return cycle_end + timedelta(days=REVIEW_DAYS_AFTER_CYCLE)
    return None


@dataclass(frozen=True)
class _MedicalRule:
    yearly_from_age: int
    yearly_classes: frozenset[str]
    triennial_classes: frozenset[str]


# Physical-condition certificate (身体条件证明), due within 30 days after the cycle.
_MEDICAL_RULES: tuple[tuple[date, _MedicalRule], ...] = (
    # Before S1: A/B holders and holders aged 60+ every year; C5 every 3 years.
    (date(2004, 5, 1), _MedicalRule(60, _LARGE_CLASSES, frozenset({"C5"}))),
    # S1 art. 74 (2022-04-01): aged 70+ every year; C5 every 3 years.
    (date(2022, 4, 1), _MedicalRule(70, frozenset(), frozenset({"C5"}))),
)


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day``; a 29 February birthday counts from 1 March in common years."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def medical_certificate_due(
    *, birth_date: date, classes: str | Iterable[str], first_issued_on: date, today: date
) -> date | None:
    """Next physical-condition certificate deadline (身体条件证明提交日期), REQ Q2.

    Holders aged 70 or more at a cycle end submit every year within 30 days after the cycle
    (S1 art. 74); C5 holders every 3 years, i.e. after every third cycle counted from the
    first issue. The rule is the row in force ``today`` (before 2022-04-01: A/B holders and
    holders aged 60+ every year). A deadline of the cycle that just ended is returned while
    it has not passed; otherwise the deadline after the current cycle, or for C5 holders the
    next three-yearly one. None when no certificate is required.
    """
    rule = _row_in_force(_MEDICAL_RULES, today)
    held = frozenset(_held(classes))
    current = _cycle_index(first_issued_on, today)

    def required(index: int, *, yearly: bool) -> bool:
        cycle_end = _cycle_bounds(first_issued_on, index)[1]
        if yearly and (age_on(birth_date, cycle_end) >= rule.yearly_from_age or held & rule.yearly_classes):
            return True
        return bool(held & rule.triennial_classes) and (index + 1) % 3 == 0

    candidates: list[tuple[int, bool]] = []
    if current > 0:
        candidates.append((current - 1, True))
    candidates += [(current, True), (current + 1, False), (current + 2, False)]
    for index, yearly in candidates:
        deadline = _cycle_bounds(first_issued_on, index)[1] + timedelta(days=REVIEW_DAYS_AFTER_CYCLE)
        if deadline >= today and required(index, yearly=yearly):
            return deadline
    return None


# ---------------------------------------------------------------------------
# Driving age limits (S1 art. 65; S6 from 2025-01-01)
# ---------------------------------------------------------------------------

# Replacement classes on exchange; an empty string means the class is dropped with no
# replacement (M N P, C3 C4: a holder left with nothing is cancelled, S1 art. 79).
_AGE_LIMIT_REPLACEMENTS: dict[str, str] = {
    "A1": "C1",
    "A2": "C1C6",  # A2 holders may keep C6 (while C6 itself is allowed)
    "A3": "C1",
    "B1": "C1",
    "B2": "C1",
    "M": "",
    "N": "",
    "P": "",
    "C3": "",
    "C4": "",
    "C6": "C1",
    "D": "F",
    "E": "F",
}

_LARGE_AND_SPECIAL = ("A1", "A2", "A3", "B1", "B2", "M", "N", "P")
_SMALL_LIMITED = ("C3", "C4", "C6", "D", "E")

# Effective-date keyed: class -> age from which it may no longer be used.
_DRIVING_AGE_LIMITS: tuple[tuple[date, dict[str, int]], ...] = (
    # S1 art. 65: 60 for A1 A2 A3 B1 B2 M N P, 70 for C3 C4 C6 D E.
    (date(2004, 5, 1), {**dict.fromkeys(_LARGE_AND_SPECIAL, 60), **dict.fromkeys(_SMALL_LIMITED, 70)}),
    # S6 (2025-01-01): the 60 limit becomes 63.
    (date(2025, 1, 1), {**dict.fromkeys(_LARGE_AND_SPECIAL, 63), **dict.fromkeys(_SMALL_LIMITED, 70)}),
)


def driving_age_limits(on: date) -> Mapping[str, int]:
    """Class -> age from which it may no longer be driven, by the row in force ``on`` (S1 art. 65, S6)."""
    return _row_in_force(_DRIVING_AGE_LIMITS, on)


def driving_age_limit_rule_from(on: date) -> date:
    """Effective date of the age-limit row in force ``on`` (the oldest row before it)."""
    days = sorted(day for day, _ in _DRIVING_AGE_LIMITS)
    return max((day for day in days if day <= on), default=days[0])


def driving_age_limit_classes(
    *, birth_date: date, classes: str | Iterable[str], today: date, decided_on: date | None = None
) -> dict[str, str]:
    """Held classes past their driving age limit, mapped to the replacement (S1 art. 65, S6).

    The replacement is a class string (``"C1"``, ``"F"``, ``"C1C6"`` for A2 below 70) or
    ``""`` when the class is simply dropped. The holder has 30 days to exchange. The age is
    taken on ``today``; the rule is the row in force on ``decided_on`` (default ``today``),
    so a case decided before S6 can be replayed with the 60-year limit.
    """
    limits = driving_age_limits(decided_on or today)
    age = age_on(birth_date, today)

    def past_limit(code: str) -> bool:
        return code in limits and age >= limits[code]

    result: dict[str, str] = {}
    for code in _held(classes):
        if past_limit(code):
            replacement = _AGE_LIMIT_REPLACEMENTS[code]
            kept = parse_classes(replacement) if replacement else ()
            result[code] = "".join(r for r in kept if not past_limit(r))
    return result
