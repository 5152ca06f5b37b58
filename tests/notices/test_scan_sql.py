"""The SQL of the notice rules equals the pure rules (N1): hypothesis draws random vehicles and
licences, and the rows each rule's query selects are exactly those ``catalogue.evaluate`` fires
on (registry.rules underneath), on SQLite and PostgreSQL. For the rules scan_sql narrows (points,
probation, review, certificate), the query must select a superset, and the scan's confirmed hits
must equal the pure rule's."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaoguan.notices.catalogue import PointsFact, evaluate
from jiaoguan.notices.scan import licence_facts, vehicle_facts
from jiaoguan.notices.scan_sql import candidates
from jiaoguan.registry.models import DrivingLicence, Person, PointsEntry, Vehicle
from jiaoguan.registry.rules import UseNature, VehicleKind, add_years

pytestmark = pytest.mark.django_db(transaction=False)

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    derandomize=True,
)
_N = itertools.count(1)

days = st.dates(min_value=date(2019, 1, 1), max_value=date(2031, 12, 31))
kinds = st.sampled_from([k.value for k in VehicleKind] + ["tram_unknown"])
uses = st.sampled_from([u.value for u in UseNature] + ["unknown_use"])


@st.composite
def vehicles(draw, today):
    # Half of them near a scrapping age, so the windows of V03-V05 are hit.
    near_scrapping = add_years(today, -draw(st.sampled_from([8, 9, 10, 12, 13, 15, 20, 30]))) + timedelta(
        days=draw(st.integers(-400, 400))
    )
    registered = draw(
        st.dates(min_value=today - timedelta(days=365 * 34), max_value=today) | st.just(near_scrapping)
    )
    registered = min(registered, today)
    last = draw(
        st.none()
        | st.dates(min_value=registered - timedelta(days=400), max_value=today)
        | st.dates(min_value=max(registered, today - timedelta(days=500)), max_value=today)
    )
    return {
        "kind": draw(kinds),
        "use_nature": draw(uses),
        "registered_on": registered,
        "last_inspected_on": last,
        "status": draw(st.sampled_from(["A", "A", "A", "G", "E", "B"])),
    }


@pytest.fixture
def owner(make_person):
    return make_person()


def _make_vehicles(owner, rows):
    made = []
    for row in rows:
        n = next(_N)
        made.append(Vehicle(plate_number=f"豫Q{n:05d}", plate_type="02", vin=f"LSVAB4BR0M{n:07d}", owner_person=owner,
                            division="411702", **row))  # fmt: skip
    return Vehicle.objects.bulk_create(made)


VEHICLE_RULES = ["V01", "V02", "V03", "V04", "V05", "V08", "V09", "V10", "S03"]


@SETTINGS
@given(data=st.data(), today=days)
def test_vehicle_rules_sql_equals_python(owner, data, today):
    rows = data.draw(st.lists(vehicles(today), min_size=1, max_size=25))
    made = _make_vehicles(owner, rows)
    try:
        for code in VEHICLE_RULES:
            by_sql = set(
                candidates(code, today).filter(pk__in=[v.pk for v in made]).values_list("pk", flat=True)
            )
            by_python = {v.pk for v in made if evaluate(code, vehicle_facts(v), today)}
            assert by_sql == by_python, (
                code,
                today,
                [
                    (v.pk, v.kind, v.use_nature, v.registered_on, v.last_inspected_on)
                    for v in made
                    if v.pk in by_sql ^ by_python
                ],
            )
    finally:
        Vehicle.objects.filter(pk__in=[v.pk for v in made]).delete()


@st.composite
def licences(draw, today):
    first = draw(st.dates(min_value=today - timedelta(days=365 * 30), max_value=today))
    valid_from = draw(st.dates(min_value=first, max_value=max(first, today)))
    probation = draw(st.none() | st.dates(min_value=max(first, today - timedelta(days=900)), max_value=today))
    return {
        "classes": draw(st.sampled_from(["C1", "C2", "A2", "B2", "A1A3", "C1E", "C5", "B1D", "A2", "B2"])),
        "first_issued_on": first,
        "valid_from": valid_from,
        "validity_term": draw(st.sampled_from(["6y", "10y", "long"])),
        "probation_started_on": probation,
        "last_reviewed_on": draw(st.none() | st.dates(min_value=first, max_value=today)),
        "last_medical_on": draw(st.none() | st.dates(min_value=first, max_value=today)),
        "renewal_deferred_until": draw(st.none() | st.dates(min_value=today - timedelta(days=30), max_value=today + timedelta(days=30))),
        "status": draw(st.sampled_from(["A", "A", "A", "G", "D"])),
        "birth": draw(st.dates(min_value=date(1940, 1, 1), max_value=date(2000, 1, 1))),
        "points": draw(
            st.lists(st.tuples(
                    st.integers(-3, 12),
                    st.dates(min_value=first, max_value=today)
                    | st.dates(min_value=max(first, today - timedelta(days=800)), max_value=today),
                    st.booleans(),
                ), max_size=6)
        ),
    }  # fmt: skip


LICENCE_EXACT = ["L09"]
LICENCE_NARROWED = ["L01", "L02", "L03", "L08", "L13", "L14", "L16", "W04", "W05", "S01", "S02"]


@SETTINGS
@given(data=st.data(), today=days)
def test_licence_rules_sql_equals_or_contains_python(data, today):
    rows = data.draw(st.lists(licences(today), min_size=1, max_size=15))
    made: list[DrivingLicence] = []
    try:
        for row in rows:
            n = next(_N)
            birth, pts = row.pop("birth"), row.pop("points")
            person = Person.objects.create(
                id_number=f"P{n:017d}", name="李娜", birth_date=birth, residence_division="411702"
            )
            lic = DrivingLicence.objects.create(
                holder=person, archive_number=f"4117{n:08d}", division="411702", **row
            )
            PointsEntry.objects.bulk_create(
                [
                    PointsEntry(licence=lic, points=p, occurred_on=d, source="h", fine_unpaid=u)
                    for p, d, u in pts
                ]
            )
            made.append(lic)
        ids = [lic.pk for lic in made]
        facts = {
            lic.pk: licence_facts(lic, [PointsFact(e.occurred_on, e.points, e.fine_unpaid) for e in lic.points_entries.all()])
            for lic in DrivingLicence.objects.select_related("holder").filter(pk__in=ids)
        }  # fmt: skip
        for code in LICENCE_EXACT + LICENCE_NARROWED:
            by_sql = set(candidates(code, today).filter(pk__in=ids).values_list("pk", flat=True))
            by_python = {pk for pk, f in facts.items() if evaluate(code, f, today)}
            if code in LICENCE_EXACT:
                assert by_sql == by_python, (code, today)
            else:
                assert by_sql >= by_python, (code, today, by_python - by_sql)
    finally:
        PointsEntry.objects.filter(licence__in=made).delete()
        people = [lic.holder_id for lic in made]
        DrivingLicence.objects.filter(pk__in=[lic.pk for lic in made]).delete()
        Person.objects.filter(pk__in=people).delete()
