"""Each of the 20 announcements (G01-G20, seed 002 附件4 一; N3) lists a triggering record and
leaves out a record that does not trigger it. Dates are relative to today."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.announcements.candidates import listed
from jiaoguan.core.identifiers import make_uscc
from jiaoguan.registry.models import Organisation, PointsEntry, SchoolBusSign
from jiaoguan.registry.rules import add_years

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def world(make_person, make_vehicle, make_licence):
    """make vehicle(**kw) / licence(**kw), each with its own owner or holder."""
    n = {"i": 0}

    class World:
        def person(self, **kw):
            n["i"] += 1
            return make_person(name=f"测试{n['i']}", **kw)

        def vehicle(self, **kw):
            kw.setdefault("registered_on", TODAY - timedelta(days=400))
            kw.setdefault("last_inspected_on", TODAY - timedelta(days=10))
            return make_vehicle(owner=self.person(), **kw)

        def licence(self, *, birth=None, **kw):
            person = self.person(**({"birth_date": birth} if birth else {}))
            kw.setdefault("first_issued_on", add_years(TODAY, -5))
            kw.setdefault("term", "long")
            return make_licence(holder=person, **kw)

    return World()


def _sign(world, *, returned: bool):
    school = Organisation.objects.create(
        uscc=make_uscc(f"52411702MJ{len(SchoolBusSign.objects.all()):07d}"), name="驿城区第一小学", kind="other",
        division="411702",
    )  # fmt: skip
    bus = world.vehicle(kind="large_passenger", use_nature="school_bus")
    return SchoolBusSign.objects.create(
        vehicle=bus, number=f"校车411702{bus.pk:04d}", school=school, valid_from=TODAY - timedelta(days=300),
        valid_until=TODAY + timedelta(days=60), revoked_on=TODAY - timedelta(days=20),
        returned_on=TODAY - timedelta(days=5) if returned else None, division="411702",
    )  # fmt: skip


def _review_overdue(world, classes):
    first = add_years(TODAY - timedelta(days=100), -10)  # the current cycle began 100 days ago
    licence = world.licence(classes=classes, first_issued_on=first)
    PointsEntry.objects.create(licence=licence, points=3, occurred_on=TODAY - timedelta(days=200), source="T")
    return licence


D = timedelta
CASES = {
    "G01": lambda w: (w.vehicle(status="M", plate_returned_on=TODAY - D(days=3)), w.vehicle(status="M")),
    "G02": lambda w: (w.vehicle(status="E"), w.vehicle(status="E", certificate_returned_on=TODAY)),
    "G03": lambda w: (w.vehicle(status="E"), w.vehicle(status="E", plate_returned_on=TODAY)),
    "G04": lambda w: (w.vehicle(status="M"), w.vehicle(status="E", vehicle_licence_returned_on=TODAY)),
    "G05": lambda w: (
        w.vehicle(use_nature="taxi", registered_on=add_years(TODAY, -8) + D(days=100)),
        w.vehicle(use_nature="taxi", registered_on=add_years(TODAY, -5)),
    ),
    "G06": lambda w: (
        w.vehicle(
            registered_on=add_years(TODAY, -3), last_inspected_on=None, use_nature="commercial_passenger"
        ),
        w.vehicle(registered_on=add_years(TODAY, -1) + D(days=30), last_inspected_on=None),
    ),
    "G07": lambda w: (
        w.licence(
            term="6y", first_issued_on=add_years(TODAY, -10), valid_from=add_years(TODAY, -6) - D(days=30)
        ),
        w.licence(term="6y", first_issued_on=add_years(TODAY, -10), valid_from=add_years(TODAY, -2)),
    ),
    "G08": lambda w: (_review_overdue(w, "B2"), _review_overdue(w, "C1")),
    "G09": lambda w: (
        w.licence(birth=add_years(TODAY, -76), classes="C1"),
        w.licence(birth=add_years(TODAY, -40), classes="C1"),
    ),
    "G10": lambda w: (
        w.licence(classes="C1", cancellation_reason="probation_full_score", cancelled_on=TODAY - D(days=5)),
        w.licence(classes="C1", status="G", cancellation_reason="probation_full_score"),
    ),
    "G11": lambda w: (
        w.vehicle(use_nature="taxi", registered_on=add_years(TODAY, -9)),
        w.vehicle(registered_on=add_years(TODAY, -20)),  # a private small car has no age limit
    ),
    "G12": lambda w: (_sign(w, returned=False), _sign(w, returned=True)),
    "G13": lambda w: (
        w.vehicle(registered_on=add_years(TODAY, -12), last_inspected_on=add_years(TODAY, -5)),
        w.vehicle(registered_on=add_years(TODAY, -12), last_inspected_on=TODAY - D(days=40)),
    ),
    "G14": lambda w: (
        w.licence(classes="C1", downgraded_on=TODAY - D(days=40), downgraded_from="A1"),
        w.licence(classes="C1", downgraded_on=TODAY - D(days=10), downgraded_from="A1"),
    ),
    "G15": lambda w: (
        w.licence(classes="B2", status="G", cancellation_reason="extended_probation"),
        w.licence(classes="C1", status="G", cancellation_reason="extended_probation"),
    ),
    "G16": lambda w: (
        w.licence(status="G", cancellation_reason="probation_full_score"),
        w.licence(status="G", cancellation_reason="probation_full_score", returned_on=TODAY),
    ),
    "G17": lambda w: (
        w.licence(status="G", cancellation_reason="downgrade"),
        w.licence(status="A", cancellation_reason="downgrade"),
    ),
    "G18": lambda w: (w.licence(status="AJ"), w.licence(status="A")),
    "G19": lambda w: (
        w.licence(status="G", cancellation_reason="renewal_overdue", cancelled_on=TODAY - D(days=9)),
        w.licence(status="G", cancellation_reason="renewal_overdue", returned_on=TODAY),
    ),
    "G20": lambda w: (
        w.licence(classes="A3", school_bus_qualification_cancelled_on=TODAY - D(days=10)),
        w.licence(classes="A3", school_bus_qualification_cancelled_on=TODAY - D(days=10), returned_on=TODAY),
    ),
}


def test_every_announcement_has_a_case():
    from jiaoguan.announcements.rules import ANNOUNCEMENT_CODES

    assert sorted(CASES) == list(ANNOUNCEMENT_CODES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_generator_lists_the_trigger_and_not_the_other(code, world):
    trigger, other = CASES[code](world)
    rows = listed(code, prefix="4117", today=TODAY)
    ids = {row.subject_id for row in rows}
    assert trigger.pk in ids, f"{code} misses its triggering record"
    assert other.pk not in ids, f"{code} lists a record that does not trigger it"
    assert listed(code, prefix="4116", today=TODAY) == []  # another city's records are its own
