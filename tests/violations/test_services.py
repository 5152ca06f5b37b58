"""Violation use cases through the services: record, handle online (B16, V1-V4), counter, points."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from jiaoguan.registry.models import DrivingLicence, PointsEntry
from jiaoguan.registry.selectors import licence_status
from jiaoguan.violations import services
from jiaoguan.violations.models import Fine, Violation
from jiaoguan.violations.selectors import my_violations_page, violations_of

from .conftest import SHANGHAI

pytestmark = pytest.mark.django_db


def handle(user, violation, **kw):
    kw.setdefault("no_dispute", True)
    kw.setdefault("drove_self", True)
    return services.violation_handle_online(actor=user, violation_id=violation.pk, **kw)


def test_record_matches_vehicle_and_numbers_itself(owner_driver, record):
    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle)
    assert violation.vehicle_id == vehicle.pk
    assert len(violation.record_number) == 20 and violation.record_number[:7] == "4117021"
    assert violation.points == 6 and violation.fine_fen == 20000  # 1625 red light, after 2022-04-01
    assert list(violations_of(user=user)) == [violation]


def test_points_follow_the_code_table_of_the_offence_date(owner_driver, record):
    _user, _person, vehicle, _licence = owner_driver()
    old = record(vehicle, code="1344", occurred_at=datetime(2022, 3, 31, 10, tzinfo=SHANGHAI))
    new = record(vehicle, code="1344", occurred_at=datetime(2022, 4, 1, 10, tzinfo=SHANGHAI))
    assert (old.points, new.points) == (3, 1)


def test_online_handling_issues_decision_and_scores_licence(owner_driver, record):
    user, _person, vehicle, licence = owner_driver()
    violation = record(vehicle)
    fine = handle(user, violation, expected_points=0)
    violation.refresh_from_db()
    assert violation.status == Violation.Status.HANDLED and violation.licence_id == licence.pk
    assert violation.handling_channel == "online"
    assert len(fine.decision_number) == 15 and fine.decision_number.startswith("411702")
    assert fine.amount_fen == 20000 and fine.status == Fine.Status.UNPAID
    entry = PointsEntry.objects.get(licence=licence)
    assert entry.points == 6 and entry.source == violation.record_number and entry.fine_unpaid
    assert licence_status(licence, today=date.today()).points_in_cycle == 6


def test_decision_numbers_are_sequential_per_agency(owner_driver, record):
    user, _p, vehicle, _l = owner_driver()
    first = handle(user, record(vehicle, code="1101"))
    second = handle(user, record(vehicle, code="1101"))
    assert int(second.decision_number[-7:]) == int(first.decision_number[-7:]) + 1


def test_v1_on_site_records_are_not_handled_online(owner_driver, record):
    user, _p, vehicle, _l = owner_driver()
    violation = record(vehicle, source="on_site")
    with pytest.raises(NotAllowed) as error:
        handle(user, violation)
    assert error.value.code == "violations.not_monitoring"


def test_v2_someone_elses_vehicle_is_invisible(owner_driver, record):
    user, _p, _vehicle, _l = owner_driver()
    _other_user, _p2, other_vehicle, _l2 = owner_driver(name="李娜")
    with pytest.raises(NotFound):
        handle(user, record(other_vehicle))


def test_v2_a_vehicle_with_an_unknown_stored_use_is_handled_as_a_key_vehicle(owner_driver, record):
    """A use nature the tables do not know (written around the services) gets V2's stricter rule."""
    from jiaoguan.registry.models import Vehicle

    user, _person, vehicle, _licence = owner_driver()
    violation = record(vehicle)
    Vehicle.objects.filter(pk=vehicle.pk).update(use_nature="smuggling")
    with pytest.raises(NotAllowed) as error:
        handle(user, violation)
    assert error.value.code == "violations.key_vehicle_by_organisation"


def test_v2_key_vehicle_only_by_its_organisation(
    owner_driver, record, make_vehicle, organisation_user, make_person, make_licence
):
    user, person, _vehicle, _licence = owner_driver()
    taxi = make_vehicle(owner=person, use_nature="taxi")
    with pytest.raises(NotAllowed) as error:
        handle(user, record(taxi))
    assert error.value.code == "violations.key_vehicle_by_organisation"

    company = organisation_user()
    coach = make_vehicle(
        owner=company.organisation, kind="large_passenger", use_nature="commercial_passenger", plate_type="01"
    )
    driver = make_person(name="王强")
    driver_licence = make_licence(holder=driver, classes="A1", valid_from=date(2021, 3, 5))
    violation = record(coach)
    with pytest.raises(NotFound):
        handle(company, violation, licence_number=driver.id_number, archive_number="000000000000")
    fine = handle(
        company, violation, licence_number=driver.id_number, archive_number=driver_licence.archive_number
    )
    assert Violation.objects.get(pk=violation.pk).licence_id == driver_licence.pk
    assert fine.violation_id == violation.pk


@pytest.mark.parametrize("field", ["no_dispute", "drove_self"])
def test_v3_dispute_or_other_driver_goes_to_the_counter(owner_driver, record, field):
    user, _p, vehicle, _l = owner_driver()
    with pytest.raises(NotAllowed) as error:
        handle(user, record(vehicle), **{field: False})
    assert error.value.code == "violations.counter_required" and error.value.field == field


def test_v4_refused_online_when_points_would_reach_twelve(owner_driver, record):
    user, _p, vehicle, _licence = owner_driver()
    handle(user, record(vehicle, code="1625"))  # 6
    handle(user, record(vehicle, code="1223"))  # 9
    last = record(vehicle, code="1223")  # would be 12
    with pytest.raises(NotAllowed) as error:
        handle(user, last)
    assert error.value.code == "violations.points_limit"
    assert Violation.objects.get(pk=last.pk).status == "unhandled"


def test_v4_stale_points_are_not_acted_on(owner_driver, record):
    user, _p, vehicle, _l = owner_driver()
    first, second = record(vehicle, code="1101"), record(vehicle, code="1101")
    handle(user, first, expected_points=0)
    with pytest.raises(Conflict) as error:
        handle(user, second, expected_points=0)
    assert error.value.code == "violations.points_changed" and error.value.detail["points_in_cycle"] == 1


@pytest.mark.parametrize("status", ["D", "F", "B", "L"])
def test_v4_licence_status_blocks_online_handling(owner_driver, record, status):
    user, _p, vehicle, licence = owner_driver()
    DrivingLicence.objects.filter(pk=licence.pk).update(status=status)
    with pytest.raises(NotAllowed) as error:
        handle(user, record(vehicle))
    assert error.value.code == "violations.licence_status"


def test_handled_twice_is_a_conflict(owner_driver, record):
    user, _p, vehicle, _l = owner_driver()
    violation = record(vehicle)
    handle(user, violation)
    with pytest.raises(Conflict):
        handle(user, violation)


def test_counter_handles_to_twelve_and_sets_status_b(owner_driver, record, make_staff):
    user, person, vehicle, licence = owner_driver()
    officer = make_staff(role="violation_officer")
    handle(user, record(vehicle, code="1625"))
    handle(user, record(vehicle, code="1223"))
    third = record(vehicle, code="1223")
    # Issue 11 item 2: a decision that fills the licence waits for the officer's confirmation.
    with pytest.raises(Conflict) as unconfirmed:
        services.violation_handle_at_counter(
            actor=officer, violation_id=third.pk, licence_number=person.id_number
        )
    assert unconfirmed.value.code == "violations.full_score_unconfirmed"
    assert unconfirmed.value.detail == {
        "points_before": 9, "points": 3, "points_after": 12, "field": "confirm_full_score"
    }  # fmt: skip
    assert "12 分" in unconfirmed.value.message_zh and "满分学习7天" in unconfirmed.value.message_zh
    licence.refresh_from_db()
    assert "B" not in licence.status and Violation.objects.get(pk=third.pk).status == "unhandled"
    services.violation_handle_at_counter(
        actor=officer, violation_id=third.pk, licence_number=person.id_number, confirm_full_score=True
    )
    licence.refresh_from_db()
    assert "B" in licence.status and licence_status(licence, today=date.today()).points_in_cycle == 12


def test_on_site_record_is_decided_at_once(owner_driver, make_staff):
    _user, person, vehicle, _licence = owner_driver()
    officer = make_staff(role="violation_officer")
    fine = services.violation_record_on_site(
        actor=officer, plate_number=vehicle.plate_number, plate_type="02", licence_number=person.id_number,
        code="1017", occurred_at=datetime.now(SHANGHAI) - timedelta(hours=1), place="驻马店市开源大道",
        fine_fen=150000,
    )  # fmt: skip
    assert fine.amount_fen == 150000 and fine.violation.source == "on_site"
    assert fine.violation.record_number[6] == "2"


def test_on_site_fine_outside_the_range_is_refused(owner_driver, make_staff):
    _user, person, vehicle, _licence = owner_driver()
    officer = make_staff(role="violation_officer")
    with pytest.raises(ValidationFailed) as error:
        services.violation_record_on_site(
            actor=officer, plate_number=vehicle.plate_number, plate_type="02", licence_number=person.id_number,
            code="1625", occurred_at=datetime.now(SHANGHAI), place="驻马店市开源大道", fine_fen=500000,
        )  # fmt: skip
    assert error.value.code == "violations.fine_out_of_range"


def test_dispute_then_cancel_by_officer(owner_driver, record, make_staff):
    user, _p, vehicle, _l = owner_driver()
    violation = record(vehicle)
    services.violation_dispute(actor=user, violation_id=violation.pk, reason="当时车辆停放在小区内，并未上路")
    with pytest.raises(NotAllowed) as error:
        handle(user, violation)
    assert error.value.code == "violations.disputed"
    officer = make_staff(role="violation_officer")
    services.violation_cancel(
        actor=officer, violation_id=violation.pk, reason="核实为套牌车辆，撤销记录", confirmed=True
    )
    assert Violation.objects.get(pk=violation.pk).status == "cancelled"


def test_other_province_record_of_a_local_vehicle_is_handled_here(owner_driver, record, make_staff):
    """V6: a record made in Jiangsu for a Henan car."""
    user, _p, vehicle, _l = owner_driver()
    violation = record(vehicle, division="320102")
    page, _cursor = my_violations_page(user=user, today=date.today(), home_province="41")
    assert page[0].other_province
    fine = handle(user, violation)
    assert fine.decision_number.startswith("320102")
    officer = make_staff(role="violation_officer")
    assert services.staff_violation_search(actor=officer, query=vehicle.plate_number)


def test_my_violations_page_cursor(owner_driver, record):
    user, _p, vehicle, _l = owner_driver()
    made = [record(vehicle, code="1039") for _ in range(5)]
    first, cursor = my_violations_page(user=user, today=date.today(), home_province="41", limit=2)
    second, cursor2 = my_violations_page(
        user=user, today=date.today(), home_province="41", limit=2, before=cursor
    )
    third, cursor3 = my_violations_page(
        user=user, today=date.today(), home_province="41", limit=2, before=cursor2
    )
    ids = [v.id for v in first + second + third]
    assert sorted(ids) == sorted(v.pk for v in made) and len(set(ids)) == 5 and cursor3 is None


def test_unpaid_points_carry_over_into_the_next_cycle(owner_driver, record):
    user, _p, vehicle, licence = owner_driver()
    # First issue 2015-03-05: the cycle of 2026-03-04 ends that day.
    violation = record(vehicle, code="1625", occurred_at=datetime(2026, 3, 1, 9, tzinfo=SHANGHAI))
    handle(user, violation, today=date(2026, 3, 2))
    assert licence_status(licence, today=date(2026, 3, 10)).points_in_cycle == 6
    PointsEntry.objects.filter(licence=licence).update(fine_unpaid=False)
    assert licence_status(licence, today=date(2026, 3, 10)).points_in_cycle == 0
