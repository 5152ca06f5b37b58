"""The notice rules as SQL (N1, N4, N5): for each rule and day, the rows it may fire on.

registry/models.py never stores derived dates (inspection validity, scrapping date, licence
expiry...), so the daily scan cannot filter on them; it filters on the facts they come from.
This module compiles the tables of ``registry.rules`` into Django ORM expressions, one query per
rule over the whole registry, with no Python loop over rows:

- Inspection (V01, V02, V08, V09): dues are month ends at whole-month ages from the
  registration month. With month indices (year * 12 + month) the number of scheduled dues up to
  age ``x`` is, per interval of the plan, ``min(max(x - lo, 0), hi - lo) / step`` (integer
  division), summed; the plan is a ``CASE`` over the (kind, use) rows of the inspection table,
  first match wins, in the order of the table, with the plan in force ``today``; unknown kinds
  and uses get the yearly fallback. The dues missed are those in ``[t, T)`` where ``t`` is the
  first age the last inspection renews (its month + 3, S3 art. 54) and ``T`` today's age.
  This is exact: the property tests (tests/notices/test_scan_sql.py) check it against
  ``registry.rules.inspection_valid_until`` on random vehicles, on SQLite and PostgreSQL.
- Dates computed from a row's date by a monotone rule (scrapping date = registration + N years,
  licence expiry = valid from + 6 or 10 years, an age) become thresholds on that column,
  computed in Python from ``today`` (``_last_day``), one per table row: exact, and index-friendly.
- Points (probation, cycle totals, reviews, medical certificates) depend on cycles that start on
  each licence's own anniversary. SQL narrows to a superset (points in a window that contains
  the cycle, or the licences the rule could apply to at all); the scan confirms each candidate
  with the pure rule (``catalogue.evaluate``), which loads the candidates' points in one query
  per chunk. The candidates are a small share of the registry. L01-L03, L08, L13, L14, L16,
  W04, W05, S01 and S02 are narrowed this way; every other rule is exact.
- Facts recorded by date (cancellations, cleared cloned-plate cases, camera records, probation
  starts) are looked for over the last ``LOOKBACK_DAYS`` days.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Expression
from django.db.models.functions import Cast, Coalesce, ExtractMonth, ExtractYear, Greatest, Least
from django.utils import timezone

from jiaoguan.registry import rules as reg
from jiaoguan.registry.models import DrivingLicence, PointsEntry, Vehicle
from jiaoguan.violations.models import Violation

from .catalogue import (
    AB_PROBATION_TEST_DAYS,
    IMMINENT_SCRAPPING_MONTHS,
    LOOKBACK_DAYS,
    TRANSFER_IN_DAYS,
    UNHANDLED_COMMERCIAL,
    UNHANDLED_MANY,
)

__all__ = ["CANDIDATES", "candidates", "inspection_dues_missed", "month_index"]

_INT = IntegerField()
_DAY = timedelta(days=1)

# --------------------------------------------------------------------------- building blocks


def month_index(field: str) -> Expression:
    """year * 12 + month - 1 of a date column, as an integer on every database.

    PostgreSQL's EXTRACT returns numeric; the cast keeps the later division an integer one.
    """
    return Cast(ExtractYear(field), _INT) * Value(12) + Cast(ExtractMonth(field), _INT) - Value(1)


def _m(day: date) -> int:
    return day.year * 12 + day.month - 1


def _dues_up_to(x: Expression, plan: reg._Plan) -> Expression:
    """Number of scheduled dues at ages 1..x months (0 when x < 1), for one inspection plan."""
    total: Expression | None = None
    lo = 0
    for interval in plan:
        over: Expression = Greatest(x - Value(lo), Value(0), output_field=_INT)
        if interval.until_months is not None:
            over = Least(over, Value(interval.until_months - lo), output_field=_INT)
        term = over / Value(interval.step_months)
        total = term if total is None else total + term
        lo = interval.until_months or lo
    assert total is not None
    return total


def _plan_case(today: date, build: Callable[[reg._Plan], Expression]) -> Case:
    """A CASE over the inspection category table (first match wins) with each category's plan
    in force ``today``; unknown kinds or uses: the yearly fallback (S4 art. 16)."""
    whens = []
    for kinds, uses, category in reg._INSPECTION_CATEGORIES:
        plan = reg._row_in_force(reg._INSPECTION_RULES[category], today)
        whens.append(
            When(
                Q(kind__in=[k.value for k in kinds], use_nature__in=[u.value for u in uses]), then=build(plan)
            )
        )
    fallback = reg._row_in_force(reg._INSPECTION_RULES[reg._InspectionCategory.OTHER], today)
    return Case(*whens, default=build(fallback), output_field=_INT)


def _renewed_from() -> Expression:
    """First due age (months from registration) the last inspection renews; 0 with none."""
    return Coalesce(
        month_index("last_inspected_on") + Value(reg.INSPECTION_WINDOW_MONTHS) - month_index("registered_on"),
        Value(0),
        output_field=_INT,
    )


def inspection_dues_missed(today: date, *, ahead_months: int = -1) -> Case:
    """Scheduled dues from the current validity (included) up to today's age + ``ahead_months``.

    With the default (-1: ages below today's month) it is the number of dues passed without an
    inspection: >= 1 overdue (V01), >= 3 three cycles missed (V02). With ``ahead_months=2`` and
    no due missed, >= 1 is the label window of S3 art. 54 (V08).
    """
    age_today = Value(_m(today)) - month_index("registered_on")
    t = _renewed_from()

    def build(plan: reg._Plan) -> Expression:
        return _dues_up_to(age_today + Value(ahead_months), plan) - _dues_up_to(t - Value(1), plan)

    return _plan_case(today, build)


def _last_day_where(holds: Callable[[date], bool], guess: date) -> date:
    """The last day for which ``holds`` is true, when it holds on every earlier day and not on
    every later one (a monotone condition), searched from ``guess``."""
    d = guess
    while not holds(d):
        d -= _DAY
    while holds(d + _DAY):
        d += _DAY
    return d


def _last_day(f: Callable[[date], date], target: date, guess: date) -> date:
    """The last day ``d`` with ``f(d) <= target``, for ``f`` non-decreasing, searched from ``guess``."""
    return _last_day_where(lambda d: f(d) <= target, guess)


def _years_back(day: date, years: int) -> date:
    return reg.add_years(day, -years)


_KEY_USES = [u.value for u in reg.UseNature if reg.is_key_vehicle("small_passenger", u)]
_ALL_USES = [u.value for u in reg.UseNature]


def _commercial() -> Q:
    """Key-vehicle uses, or a use the table does not know (catalogue.is_commercial)."""
    return Q(use_nature__in=_KEY_USES) | ~Q(use_nature__in=_ALL_USES)


def _active_vehicle() -> Q:
    return ~Q(status__contains="B") & ~Q(status__contains="E") & ~Q(status__contains="M")


def _active_licence() -> Q:
    q = Q(cancelled_on__isnull=True)
    for code in "CEFG":
        q &= ~Q(status__contains=code)
    return q


def _large() -> Q:
    return Q(classes__contains="A") | Q(classes__contains="B")


def _recent(field: str, today: date) -> Q:
    return Q(**{f"{field}__gte": today - timedelta(days=LOOKBACK_DAYS), f"{field}__lte": today})


def _not_deferred(field: str, today: date) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": today})


# --------------------------------------------------------------------------- scrapping


def _scrapping_groups() -> dict[int, Q]:
    """Scrapping age in years -> the (kind, use) pairs that have it (S8), as one Q each."""
    groups: dict[int, dict[str, list[str]]] = {}
    for kind in reg.VehicleKind:
        for use in reg.UseNature:
            years = reg.scrapping_age_years(kind, use)
            if years is not None:
                groups.setdefault(years, {}).setdefault(kind.value, []).append(use.value)
    out: dict[int, Q] = {}
    for years, kinds in groups.items():
        q = Q(pk__in=[])
        for kind_value, uses in kinds.items():
            q |= Q(kind=kind_value, use_nature__in=uses)
        out[years] = q
    return out


def _scrapping(today: date, *, window: Callable[[date], date] | None, overdue: bool = False) -> Q:
    """Vehicles with ``window(s) <= today < s`` or, when ``overdue``, ``today > s``, where ``s`` is the
    compulsory scrapping date registration + N years (registry.rules.compulsory_scrapping_date)."""
    q = Q(pk__in=[])
    for years, pairs in _scrapping_groups().items():

        def s(reg_on: date, years: int = years) -> date:
            return reg.add_years(reg_on, years)

        guess = _years_back(today, years)
        if overdue:
            q |= pairs & Q(registered_on__lte=_last_day(s, today - _DAY, guess))
        else:
            assert window is not None

            def opens(reg_on: date, s: Callable[[date], date] = s) -> date:
                return window(s(reg_on))

            reached = _last_day(s, today, guess)  # s <= today: not "today < s"
            q |= pairs & Q(
                registered_on__lte=_last_day(opens, today, _years_back(today, years - 1)),
                registered_on__gt=reached,
            )
    return q


# --------------------------------------------------------------------------- candidates per rule


def _vehicles() -> QuerySet[Vehicle]:
    return Vehicle.objects.all()


def _licences() -> QuerySet[DrivingLicence]:
    return DrivingLicence.objects.all()


def _unhandled(threshold: int) -> QuerySet:
    return (
        Violation.objects.filter(
            status__in=[Violation.Status.UNHANDLED, Violation.Status.DISPUTED], vehicle__isnull=False
        )
        .values("vehicle_id")
        .annotate(n=Count("id"))
        .filter(n__gte=threshold)
        .values("vehicle_id")
    )


def _cycle_points_at_least(today: date, points: int) -> QuerySet:
    """Licences whose points in any cycle containing today may reach ``points``: positive points
    of the last year plus unpaid ones carried over (a superset of the cycle total, S2)."""
    recent = Q(points__gt=0) & (Q(occurred_on__gt=reg.add_years(today, -1)) | Q(fine_unpaid=True))
    return (
        PointsEntry.objects.filter(recent, occurred_on__lte=today)
        .values("licence_id")
        .annotate(total=Sum("points"))
        .filter(total__gte=points)
        .values("licence_id")
    )


def _points_since(day: date) -> QuerySet:
    return (
        PointsEntry.objects.filter(Q(points__gt=0) & (Q(occurred_on__gte=day) | Q(fine_unpaid=True)))
        .values("licence_id")
        .distinct()
    )


def _probation_started_since(today: date) -> Q:
    # Probation (12 months) + extension (a year) + the 30 days to the test (L08).
    earliest = reg.add_years(today, -2) - timedelta(days=AB_PROBATION_TEST_DAYS + 2)
    return Q(probation_started_on__gte=earliest, probation_started_on__lte=today)


def _renewal_overdue(today: date) -> Q:
    """renewal_status == overdue: expiry < today <= expiry + 1 year (S1 art. 62, 79)."""
    q = Q(pk__in=[])
    for term in (reg.ValidityTerm.SIX_YEARS, reg.ValidityTerm.TEN_YEARS):
        years = reg._TERM_YEARS[term]
        assert years is not None

        def end(vf: date, years: int = years) -> date:
            return reg.add_years(vf, years)

        def cancellable(vf: date, end: Callable[[date], date] = end) -> date:
            return reg.add_years(end(vf), reg.CANCELLABLE_AFTER_YEARS)

        yesterday = today - _DAY
        q |= Q(
            validity_term=term.value,
            valid_from__lte=_last_day(end, yesterday, _years_back(yesterday, years)),
            valid_from__gt=_last_day(cancellable, yesterday, _years_back(yesterday, years + 1)),
        )
    return q


def _born_on_or_before_age(today: date, years: int) -> Q:
    """age_on(birth_date, today) >= years (registry.rules.age_on), as a birth-date threshold."""
    return Q(
        birth_date__lte=_last_day_where(lambda b: reg.age_on(b, today) >= years, _years_back(today, years))
    )


def _cancelled(today: date, reason: str) -> Q:
    return _recent("cancelled_on", today) & Q(cancellation_reason=reason)


_FIRST_CLASS = Q(probation_started_on__isnull=True) | Q(probation_started_on=F("first_issued_on"))
_ADDED_CLASS = Q(probation_started_on__gt=F("first_issued_on"))
_HAD_LARGE = _large() | Q(downgraded_from__contains="A") | Q(downgraded_from__contains="B")
_NP = Q(classes__contains="N") | Q(classes__contains="P")


def _vq(q: Q) -> Callable[[date], QuerySet]:
    return lambda today: _vehicles().filter(q)


CANDIDATES: dict[str, Callable[[date], QuerySet]] = {
    # Vehicles (exact).
    "V01": lambda t: _vehicles()
    .alias(missed=inspection_dues_missed(t))
    .filter(_active_vehicle() & ~_commercial(), missed__gte=1),
    "V02": lambda t: _vehicles().alias(missed=inspection_dues_missed(t)).filter(_active_vehicle(), missed__gte=3),
    "V03": lambda t: _vehicles().filter(_active_vehicle() & _scrapping(t, window=lambda s: reg.add_years(s, -1))),
    "V04": lambda t: _vehicles().filter(
        _active_vehicle() & _scrapping(t, window=lambda s: reg.add_months(s, -IMMINENT_SCRAPPING_MONTHS))
    ),
    "V05": lambda t: _vehicles().filter(_active_vehicle() & ~_commercial() & _scrapping(t, window=None, overdue=True)),
    "V06": lambda t: _vehicles().filter(
        status__contains="B", transferred_out_on__lt=t - timedelta(days=TRANSFER_IN_DAYS)
    ),
    "V07": lambda t: _vehicles().filter(_active_vehicle() & _recent("cloned_plate_cleared_on", t)),
    "V08": lambda t: _vehicles()
    .alias(missed=inspection_dues_missed(t), soon=inspection_dues_missed(t, ahead_months=2))
    .filter(_active_vehicle() & _commercial(), missed=0, soon__gte=1),
    "V09": lambda t: _vehicles()
    .alias(missed=inspection_dues_missed(t))
    .filter(_active_vehicle() & _commercial(), missed__gte=1),
    "V10": lambda t: _vehicles().filter(_active_vehicle() & _commercial() & _scrapping(t, window=None, overdue=True)),
    # Licences: probation and points rules narrowed (see the module docstring), the rest exact.
    "L01": lambda t: _licences().filter(_active_licence() & _large() & _probation_started_since(t)),
    "L02": lambda t: _licences().filter(_active_licence() & _probation_started_since(t), pk__in=_points_since(reg.add_years(t, -3))),
    "L03": lambda t: _licences().filter(_active_licence() & _large() & _probation_started_since(t)),
    "L04": lambda t: _licences().filter(_cancelled(t, "probation_full_score") & _FIRST_CLASS),
    "L05": lambda t: _licences().filter(_cancelled(t, "probation_full_score") & _ADDED_CLASS),
    "L06": lambda t: _licences().filter(
        _cancelled(t, "extended_probation") & _FIRST_CLASS & (Q(classes__contains="A3") | Q(classes__contains="B2"))
    ),
    "L07": lambda t: _licences().filter(_cancelled(t, "extended_probation") & _ADDED_CLASS & _HAD_LARGE),
    "L08": lambda t: _licences().filter(_active_licence() & _large() & _probation_started_since(t)),
    "L09": lambda t: _licences().filter(
        _active_licence() & _not_deferred("renewal_deferred_until", t) & _renewal_overdue(t)
    ),
    "L10": lambda t: _licences().filter(_cancelled(t, "renewal_overdue")),
    "L11": lambda t: _licences().filter(_cancelled(t, "fatal_accident") & _HAD_LARGE),
    "L12": lambda t: _licences().filter(_cancelled(t, "full_score") & _HAD_LARGE),
    "L13": lambda t: _licences().filter(
        _active_licence() & _large() & _not_deferred("review_deferred_until", t)
        & (Q(last_reviewed_on__isnull=True) | Q(last_reviewed_on__lt=t - timedelta(days=reg.REVIEW_DAYS_AFTER_CYCLE))),
        pk__in=_points_since(reg.add_years(t, -2) - timedelta(days=2)),
    ),
    "L14": lambda t: _licences().filter(
        _active_licence() & _large() & _not_deferred("review_deferred_until", t)
        & (Q(last_reviewed_on__isnull=True) | Q(last_reviewed_on__lt=reg.add_years(t, -1))),
        pk__in=_points_since(reg.add_years(t, -3) - timedelta(days=2)),
    ),
    "L15": lambda t: _licences().filter(_cancelled(t, "review_overdue")),
    "L16": lambda t: _licences().filter(
        _active_licence() & _not_deferred("medical_deferred_until", t)
        & (Q(last_medical_on__isnull=True) | Q(last_medical_on__lt=t - reg.MEDICAL_CERTIFICATE_VALID))
        & _owes_certificates(t)
    ),
    "L17": lambda t: _licences().filter(
        _cancelled(t, "medical_overdue") & ~Q(classes__contains="C5"),
        holder__in=_persons_aged(t, 60),
    ),
    "L18": lambda t: _licences().filter(_cancelled(t, "medical_overdue") & Q(classes__contains="C5")),
    "L19": lambda t: _licences().filter(_cancelled(t, "age_limit") & _NP),
    "L20": lambda t: _licences().filter(
        _cancelled(t, "age_limit")
        & (Q(classes__contains="C3") | Q(classes__contains="C4") | Q(classes__contains="M"))
        & ~_NP
    ),
    "L21": lambda t: _licences().filter(_cancelled(t, "drug_addiction")),
    "L22": lambda t: _licences().filter(_recent("school_bus_qualification_cancelled_on", t)),
    # Violations.
    "W01": lambda t: Violation.objects.filter(
        source="monitoring",
        status=Violation.Status.UNHANDLED,
        vehicle__isnull=False,
        created_at__gte=_start_of(t - timedelta(days=LOOKBACK_DAYS)),
        created_at__lt=_start_of(t + _DAY),
    ),
    "W02": lambda t: _vehicles().filter(_active_vehicle(), pk__in=_unhandled(UNHANDLED_MANY)),
    "W03": lambda t: _vehicles().filter(_active_vehicle() & _commercial(), pk__in=_unhandled(UNHANDLED_COMMERCIAL)),
    "W04": lambda t: _licences().filter(_active_licence(), pk__in=_cycle_points_at_least(t, reg.POINTS_NEAR_LIMIT)),
    "W05": lambda t: _licences().filter(_active_licence(), pk__in=_cycle_points_at_least(t, reg.POINTS_LIMIT)),
    # Safety warnings (N4).
    "S01": lambda t: _licences().filter(_active_licence(), pk__in=_cycle_points_at_least(t, reg.POINTS_NEAR_LIMIT)),
    "S02": lambda t: _licences().filter(_active_licence() & _recent("probation_started_on", t)),
    "S03": lambda t: _vehicles().filter(_active_vehicle() & _scrapping(t, window=lambda s: reg.add_years(s, -1))),
}  # fmt: skip


def _owes_certificates(today: date) -> Q:
    """Holders a certificate rule in force over the last three cycles can apply to (S1 art. 74):
    old enough for the yearly rule, or holding a yearly or three-yearly class."""
    earliest = reg.add_years(today, -3) - timedelta(days=2 * reg.REVIEW_DAYS_AFTER_CYCLE)
    days = [earliest] + [d for d, _ in reg._MEDICAL_RULES if earliest < d <= today]
    rows = [reg._row_in_force(reg._MEDICAL_RULES, d) for d in days]
    q = Q(holder__birth_date__lte=_last_day_where(
        lambda b: reg.age_on(b, today) >= min(r.yearly_from_age for r in rows), _years_back(today, 60)
    ))  # fmt: skip
    for code in sorted(set().union(*(r.yearly_classes | r.triennial_classes for r in rows))):
        q |= Q(classes__contains=code)
    return q


def _persons_aged(today: date, years: int) -> QuerySet:
    from jiaoguan.registry.models import Person

    return Person.objects.filter(_born_on_or_before_age(today, years)).values("pk")


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def candidates(code: str, today: date) -> QuerySet:
    """The rows rule ``code`` may fire on ``today`` (exactly those, or a superset for the rules
    the module docstring names), one query over the registry."""
    return CANDIDATES[code](today)
