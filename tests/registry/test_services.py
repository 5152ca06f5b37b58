"""Registry services: the one write path for persons, organisations, vehicles and licences (issue 9).

Role and jurisdiction come from the access table; values from the validators; every change
is one audit row and, for vehicles and licences, one change event.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, Unauthenticated, ValidationFailed
from jiaoguan.core.identifiers import make_citizen_id, make_vin
from jiaoguan.core.models import AuditEntry, OutboxMessage
from jiaoguan.registry import services
from jiaoguan.registry.events import REGISTRY_CHANGED
from jiaoguan.registry.models import DrivingLicence, Person, Vehicle
from jiaoguan.registry.validation import RecordInvalid


def vehicle_data(owner, **changes):
    data = {
        "plate_number": "豫Q7K310", "plate_type": "02", "vin": make_vin("LSGHD52H0ND045496"),
        "kind": "small_passenger", "use_nature": "private", "owner_person": owner, "registered_on": date(2022, 5, 1),
        "division": "411702",
    }  # fmt: skip
    data.update(changes)
    return data


def events() -> list[dict]:
    return [m.payload for m in OutboxMessage.objects.filter(topic=REGISTRY_CHANGED).order_by("pk")]


@pytest.mark.django_db
class TestVehicles:
    def test_a_clerk_registers_a_vehicle_in_the_jurisdiction(self, make_staff, make_person):
        clerk, owner = make_staff(), make_person(mobile="13911112222")

        vehicle = services.vehicle_create(actor=clerk, data=vehicle_data(owner, plate_number="豫q·7k310"))

        assert vehicle.plate_number == "豫Q7K310" and vehicle.owner_mobile == "13911112222"
        assert AuditEntry.objects.filter(subject_type="registry.vehicle", action="create").count() == 1
        assert events() == [{"event": "created", "vehicle_id": vehicle.pk, "licence_id": None}]

    def test_several_problems_are_reported_together(self, make_staff, make_person):
        with pytest.raises(RecordInvalid) as refused:
            services.vehicle_create(
                actor=make_staff(),
                data=vehicle_data(make_person(), vin="LSGHD52H1ND045496", plate_number="ABC"),
            )
        assert {e.field for e in refused.value.errors} == {"vin", "plate_number"}
        body = refused.value.as_dict()
        assert body["detail"]["field"] in ("vin", "plate_number")
        assert {e["field"] for e in body["detail"]["errors"]} == {"vin", "plate_number"}

    @pytest.mark.parametrize(
        ("role", "error", "code"),
        [
            ("violation_officer", NotAllowed, "access.role_not_allowed"),
            ("auditor", NotAllowed, "access.role_not_allowed"),
            ("accident_head", NotAllowed, "access.role_not_allowed"),
        ],
    )
    def test_roles_without_the_action_are_refused(self, make_staff, make_person, role, error, code):
        with pytest.raises(error) as refused:
            services.vehicle_create(actor=make_staff(role=role), data=vehicle_data(make_person()))
        assert refused.value.code == code
        assert not Vehicle.objects.exists()

    def test_citizens_and_anonymous_are_refused(self, make_person, citizen):
        person = make_person()
        with pytest.raises(NotAllowed) as refused:
            services.vehicle_create(actor=citizen(person), data=vehicle_data(person))
        assert refused.value.code == "access.staff_only"
        with pytest.raises(Unauthenticated):
            services.vehicle_create(actor=None, data=vehicle_data(person))

    def test_a_county_clerk_cannot_move_a_vehicle_to_another_county(
        self, make_staff, make_person, make_vehicle
    ):
        clerk = make_staff(jurisdiction="411702")
        vehicle = make_vehicle(owner=make_person(), plate="豫Q52101")

        with pytest.raises(NotAllowed) as refused:
            services.vehicle_change(actor=clerk, vehicle_id=vehicle.pk, data={"division": "411721"})

        assert refused.value.code == "access.outside_jurisdiction" and refused.value.field == "division"
        vehicle.refresh_from_db()
        assert vehicle.division == "411702"

    def test_the_city_detachment_may_move_a_vehicle_between_its_counties(
        self, make_staff, make_person, make_vehicle
    ):
        vehicle = make_vehicle(owner=make_person(), plate="豫Q52102")

        services.vehicle_change(actor=make_staff(), vehicle_id=vehicle.pk, data={"division": "411721"})

        vehicle.refresh_from_db()
        assert vehicle.division == "411721"
        assert [e["event"] for e in events()] == ["changed"]

    def test_a_vehicle_outside_the_jurisdiction_is_not_found(self, make_staff, make_person, make_vehicle):
        vehicle = make_vehicle(owner=make_person(), plate="豫Q52103", division="411722")
        with pytest.raises(NotFound):
            services.vehicle_change(
                actor=make_staff(jurisdiction="411721"), vehicle_id=vehicle.pk, data={"colour": "红"}
            )

    def test_a_move_to_another_province_is_the_transfer_business(self, make_staff, make_person, make_vehicle):
        vehicle = make_vehicle(owner=make_person(), plate="豫Q52104")
        # Even a staff member whose jurisdiction covered both would be told: it is not an edit.
        with pytest.raises(ValidationFailed) as refused:
            services.vehicle_change(actor=make_staff(), vehicle_id=vehicle.pk, data={"division": "110101"})
        assert refused.value.code == "registry.cross_province_move"

    def test_owner_is_exactly_one_person_or_organisation(self, make_staff, make_person, organisation_user):
        organisation = organisation_user().organisation
        with pytest.raises(ValidationFailed) as refused:
            services.vehicle_create(
                actor=make_staff(), data=vehicle_data(make_person(), owner_organisation=organisation)
            )
        assert refused.value.code == "registry.owner_required"
        vehicle = services.vehicle_create(
            actor=make_staff(username="clerk-2"), data=vehicle_data(None, owner_organisation=organisation.pk)
        )
        assert vehicle.owner_organisation_id == organisation.pk

    def test_the_database_keeps_vins_and_plates_upper_case(self, make_person, make_vehicle):
        vehicle = make_vehicle(owner=make_person(), plate="豫Q52105")
        for change in ({"vin": vehicle.vin.lower()}, {"plate_number": "豫q52105"}):
            with pytest.raises(IntegrityError), transaction.atomic():
                Vehicle.objects.filter(pk=vehicle.pk).update(**change)

    def test_inspection_pass_goes_through_the_access_table(self, make_staff, make_person, make_vehicle):
        vehicle = make_vehicle(owner=make_person(), plate="豫Q52106", registered_on=date(2020, 5, 13))
        today = timezone.localdate()
        with pytest.raises(NotAllowed):
            services.vehicle_inspection_pass(actor=make_staff(role="violation_officer"), vehicle_id=vehicle.pk,
                                             inspected_on=today)  # fmt: skip
        with pytest.raises(NotFound):
            services.vehicle_inspection_pass(actor=make_staff(jurisdiction="411721"), vehicle_id=vehicle.pk,
                                             inspected_on=today)  # fmt: skip
        with pytest.raises(ValidationFailed):
            services.vehicle_inspection_pass(actor=make_staff(), vehicle_id=vehicle.pk,
                                             inspected_on=date(2019, 1, 1))  # fmt: skip
        services.vehicle_inspection_pass(actor=make_staff(role="administrator"), vehicle_id=vehicle.pk,
                                         inspected_on=today)  # fmt: skip
        vehicle.refresh_from_db()
        assert vehicle.last_inspected_on == today
        assert [e["event"] for e in events()] == ["inspection"]


@pytest.mark.django_db
class TestPersonsAndLicences:
    def test_a_person_is_registered_with_the_sex_from_the_number(self, make_staff):
        number = make_citizen_id("411721", date(1979, 8, 30), 132)
        person = services.person_create(
            actor=make_staff(),
            data={
                "id_number": number,
                "name": "刘秀英",
                "birth_date": date(1979, 8, 30),
                "residence_division": "411721",
            },
        )
        assert person.sex == "F" and person.nationality == "CHN"
        with pytest.raises(Conflict) as duplicate:
            services.person_create(
                actor=make_staff(username="clerk-2"),
                data={"id_number": number, "name": "刘秀英", "birth_date": date(1979, 8, 30),
                      "residence_division": "411721"},
            )  # fmt: skip
        assert duplicate.value.field == "id_number"

    def test_a_person_outside_the_jurisdiction_cannot_be_registered(self, make_staff):
        number = make_citizen_id("411602", date(1979, 8, 30), 133)
        with pytest.raises(NotAllowed) as refused:
            services.person_create(
                actor=make_staff(),
                data={"id_number": number, "name": "周强", "birth_date": date(1979, 8, 30),
                      "residence_division": "411602"},
            )  # fmt: skip
        assert refused.value.field == "residence_division"
        assert not Person.objects.exists()

    def test_a_licence_cannot_be_given_to_another_person(self, make_staff, make_person, make_licence):
        licence = make_licence(holder=make_person())
        with pytest.raises(ValidationFailed) as refused:
            services.licence_change(
                actor=make_staff(), licence_id=licence.pk, data={"holder": make_person().pk}
            )
        assert refused.value.code == "registry.holder_fixed"

    def test_a_person_holds_one_licence(self, make_staff, make_person, make_licence):
        holder = make_person()
        make_licence(holder=holder)
        with pytest.raises(Conflict):
            services.licence_create(
                actor=make_staff(),
                data={"holder": holder, "archive_number": "411799999999", "classes": "C1",
                      "first_issued_on": date(2010, 1, 1), "valid_from": date(2020, 1, 1), "validity_term": "10y",
                      "division": "411702"},
            )  # fmt: skip

    def test_a_licence_change_is_audited_and_published_once(self, make_staff, make_person, make_licence):
        licence = make_licence(holder=make_person())
        services.licence_change(
            actor=make_staff(), licence_id=licence.pk, data={"classes": "c1 e", "status": ["D"]}
        )
        licence.refresh_from_db()
        assert (licence.classes, licence.status) == ("C1E", "D")
        assert AuditEntry.objects.filter(subject_type="registry.drivinglicence", action="change").count() == 1
        assert events() == [{"event": "changed", "vehicle_id": None, "licence_id": licence.pk}]

    def test_the_first_issue_must_follow_the_18th_birthday(self, make_staff, make_person):
        holder = make_person(birth_date=date(2000, 1, 1))
        with pytest.raises(ValidationFailed) as refused:
            services.licence_create(
                actor=make_staff(),
                data={"holder": holder, "archive_number": "411799999998", "classes": "C1",
                      "first_issued_on": date(2017, 12, 31), "valid_from": date(2017, 12, 31), "validity_term": "6y",
                      "division": "411702"},
            )  # fmt: skip
        assert refused.value.field == "first_issued_on"
        assert not DrivingLicence.objects.exists()

    def test_contact_change_still_reaches_every_record(self, make_person, make_vehicle, make_licence):
        person = make_person()
        vehicle, licence = make_vehicle(owner=person, plate="豫Q52107"), make_licence(holder=person)
        services.person_contact_change(person_id=person.pk, mobile="13688889999", postal_address="驿城区")
        vehicle.refresh_from_db()
        licence.refresh_from_db()
        assert vehicle.owner_mobile == licence.mobile == "13688889999"
        assert len(events()) == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_two_clerks_registering_one_vin_at_once_get_one_vehicle_and_a_conflict(
    make_staff, make_person, run_together
):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent inserts are exercised on PostgreSQL")
    first, second = make_staff(username="clerk-a"), make_staff(username="clerk-b")
    owner = make_person()
    vin = make_vin("LSJWH4090PN070110")

    results = run_together(
        lambda: services.vehicle_create(
            actor=first, data=vehicle_data(owner, vin=vin, plate_number="豫Q88101")
        ),
        lambda: services.vehicle_create(
            actor=second, data=vehicle_data(owner, vin=vin.lower(), plate_number="豫Q88102")
        ),
    )

    assert sum(isinstance(r, Vehicle) for r in results) == 1, results
    conflict = next(r for r in results if not isinstance(r, Vehicle))
    assert isinstance(conflict, Conflict) and conflict.field == "vin"
    assert Vehicle.objects.filter(vin=vin).count() == 1


@pytest.mark.django_db
def test_dates_in_the_future_are_refused_where_they_cannot_be(make_staff, make_person):
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationFailed) as refused:
        services.vehicle_create(actor=make_staff(), data=vehicle_data(make_person(), registered_on=tomorrow))
    assert refused.value.field == "registered_on"
