"""Demo data (jiaoguan.demo.generate): reproducible, valid identifiers, the scripted edge cases, demo logins."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from jiaoguan.accounts.models import OrganisationMember, StaffRole, User
from jiaoguan.core.access import can
from jiaoguan.core.divisions import ZHUMADIAN_COUNTIES
from jiaoguan.core.identifiers import (
    PlateKind,
    parse_plate,
    validate_citizen_id,
    validate_mobile,
    validate_uscc,
    validate_vin,
)
from jiaoguan.demo.generate import MIN_PERSONS, PLATE_PREFIX, ensure_demo_logins, generate_demo
from jiaoguan.registry.models import DrivingLicence, Organisation, Person, PlateType, PointsEntry, Vehicle
from jiaoguan.registry.rules import age_on
from jiaoguan.registry.selectors import licence_status, vehicle_status

TODAY = date(2026, 11, 27)
PASSWORD = "Tianzhong-Demo-2026"
NON_LOCAL_AREAS = {"410105", "410102", "110101"}
PLATE_KINDS = {
    PlateType.SMALL: PlateKind.ORDINARY,
    PlateType.LARGE: PlateKind.ORDINARY,
    PlateType.MOTORCYCLE: PlateKind.ORDINARY,
    PlateType.SMALL_NEW_ENERGY: PlateKind.NEW_ENERGY_SMALL,
    PlateType.TRAILER: PlateKind.TRAILER,
}


def snapshot() -> dict[str, list[tuple]]:
    """Everything generated, in insertion order, without ids or timestamps."""
    return {
        "persons": list(
            Person.objects.order_by("pk").values_list(
                "id_number", "name", "sex", "birth_date", "residence_division", "address", "mobile"
            )
        ),
        "vehicles": list(
            Vehicle.objects.order_by("pk").values_list(
                "plate_number", "plate_type", "vin", "kind", "use_nature", "brand_model", "colour",
                "owner_person__id_number", "owner_organisation__uscc", "registered_on", "last_inspected_on", "division",
            )
        ),
        "licences": list(
            DrivingLicence.objects.order_by("pk").values_list(
                "holder__id_number", "archive_number", "classes", "first_issued_on", "valid_from", "validity_term",
                "probation_started_on", "status", "cancelled_on", "division",
            )
        ),
        "points": list(
            PointsEntry.objects.order_by("pk").values_list("licence__archive_number", "points", "occurred_on", "source")
        ),
        "organisations": list(Organisation.objects.order_by("pk").values_list("uscc", "name", "kind", "division")),
    }  # fmt: skip


def delete_registry() -> None:
    PointsEntry.objects.all().delete()
    DrivingLicence.objects.all().delete()
    Vehicle.objects.all().delete()
    Organisation.objects.all().delete()
    Person.objects.all().delete()


def first_persons(n: int = MIN_PERSONS) -> list[Person]:
    return list(Person.objects.order_by("pk")[:n])


@pytest.mark.django_db
class TestReproducible:
    def test_given_same_seed_when_generated_again_on_empty_db_then_rows_are_identical(self):
        generate_demo(persons=60, seed=7, today=TODAY)
        first = snapshot()
        delete_registry()

        generate_demo(persons=60, seed=7, today=TODAY, batch_size=7)  # another batch size, same data

        assert snapshot() == first
        assert len(first["persons"]) == 60

    def test_given_other_seed_then_data_differs(self):
        generate_demo(persons=30, seed=7, today=TODAY)
        first = snapshot()
        delete_registry()

        generate_demo(persons=30, seed=8, today=TODAY)
        second = snapshot()

        assert {p[0] for p in first["persons"]}.isdisjoint({p[0] for p in second["persons"]})
        assert [p[1] for p in first["persons"]] != [p[1] for p in second["persons"]]
        assert {v[0] for v in first["vehicles"]} != {v[0] for v in second["vehicles"]}

    def test_counts_match_the_tables(self):
        counts = generate_demo(persons=50, seed=3, today=TODAY)

        assert counts == {
            "persons": Person.objects.count(),
            "organisations": Organisation.objects.count(),
            "vehicles": Vehicle.objects.count(),
            "licences": DrivingLicence.objects.count(),
            "points_entries": PointsEntry.objects.count(),
        }
        assert counts["organisations"] == 3

    def test_too_few_persons_is_refused(self):
        with pytest.raises(ValueError, match="at least"):
            generate_demo(persons=MIN_PERSONS - 1, seed=1, today=TODAY)


@pytest.mark.django_db
class TestIdentifiersValidate:
    def test_every_generated_identifier_validates(self):
        generate_demo(persons=300, seed=11, today=TODAY, batch_size=64)

        for person in Person.objects.all():
            decoded = validate_citizen_id(person.id_number, today=TODAY)
            assert decoded.number == person.id_number
            assert decoded.sex == person.sex  # odd sequence = male
            assert decoded.birth_date == person.birth_date
            assert decoded.area_code == person.residence_division
            assert (
                person.residence_division in ZHUMADIAN_COUNTIES
                or person.residence_division in NON_LOCAL_AREAS
            )
            assert 1950 <= person.birth_date.year <= 2008
            assert validate_mobile(person.mobile) == person.mobile
        for vehicle in Vehicle.objects.all():
            assert validate_vin(vehicle.vin) == vehicle.vin
            plate = parse_plate(vehicle.plate_number)
            assert plate.number == vehicle.plate_number
            assert vehicle.plate_number.startswith(PLATE_PREFIX)
            assert plate.kind == PLATE_KINDS[vehicle.plate_type]
            assert vehicle.registered_on <= TODAY
            assert vehicle.division == "411700" or vehicle.division in ZHUMADIAN_COUNTIES
            if vehicle.owner_person_id:
                assert vehicle.owner_mobile == vehicle.owner_person.mobile
        for licence in DrivingLicence.objects.select_related("holder"):
            assert len(licence.archive_number) == 12 and licence.archive_number.isdigit()
            assert licence.first_issued_on >= licence.holder.birth_date.replace(
                year=licence.holder.birth_date.year + 18
            )
            assert licence.first_issued_on <= licence.valid_from <= TODAY
        for organisation in Organisation.objects.all():
            assert validate_uscc(organisation.uscc) == organisation.uscc

    def test_non_locals_own_a_vehicle_registered_here(self):
        generate_demo(persons=300, seed=11, today=TODAY)

        non_locals = Person.objects.filter(residence_division__in=NON_LOCAL_AREAS)
        assert non_locals.count() >= 2
        for person in non_locals:
            assert person.vehicles.filter(division__startswith="4117").exists()


@pytest.mark.django_db
class TestEdgeCases:
    @pytest.mark.parametrize(
        ("seed", "today"),
        [(1, TODAY), (2, date(2025, 3, 1)), (3, date(2024, 2, 29)), (4, date(2027, 1, 1))],
    )
    def test_every_edge_case_is_among_the_first_persons_and_is_detected(self, seed, today):
        generate_demo(persons=60, seed=seed, today=today)

        persons = first_persons()
        vehicles = [
            vehicle_status(v, today=today)
            for v in Vehicle.objects.filter(owner_person__in=persons).select_related("owner_person")
        ]
        licences = {
            licence.holder_id: (licence, licence_status(licence, today=today))
            for licence in DrivingLicence.objects.filter(holder__in=persons).select_related("holder")
        }
        statuses = [status for _, status in licences.values()]

        assert any(v.inspection_state == "overdue" for v in vehicles)
        assert any(v.scrapping_within_a_year and v.use_nature == "taxi" for v in vehicles)
        assert any(s.renewal_state == "renewal_window" for s in statuses)
        assert {9, 10, 11} <= {s.points_in_cycle for s in statuses}
        assert any(s.on_probation for s in statuses)
        seniors = [s for lic, s in licences.values() if age_on(lic.holder.birth_date, today) >= 70]
        assert seniors and all(s.medical_due is not None for s in seniors)
        cancelled = [lic for lic, s in licences.values() if "R" in {c.code for c in s.statuses}]
        assert cancelled and all(lic.cancelled_on is not None for lic in cancelled)
        assert any(p.residence_division in NON_LOCAL_AREAS and p.vehicles.exists() for p in persons)

    def test_the_online_citizen_case_combines_points_and_an_overdue_vehicle(self):
        generate_demo(persons=20, seed=5, today=TODAY)

        person = first_persons(1)[0]
        assert licence_status(person.licence, today=TODAY).points_in_cycle >= 9
        assert any(
            vehicle_status(v, today=TODAY).inspection_state == "overdue"
            for v in person.vehicles.select_related("owner_person")
        )

    def test_organisations_transport_company_owns_key_vehicles_with_yellow_plates(self):
        generate_demo(persons=20, seed=5, today=TODAY)

        kinds = set(Organisation.objects.values_list("kind", flat=True))
        assert kinds == {"transport_company", "hospital", "car_dealer"}
        company = Organisation.objects.get(kind="transport_company")
        assert validate_uscc(company.uscc) == company.uscc
        assert company.legal_representative is not None
        fleet = [
            vehicle_status(v, today=TODAY) for v in company.vehicles.select_related("owner_organisation")
        ]
        assert fleet and all(v.is_key_vehicle for v in fleet)
        assert {v.use_nature for v in fleet} == {"freight", "commercial_passenger"}
        assert all(v.plate_colour == "yellow" for v in fleet)
        assert all(v.inspection_state != "overdue" for v in fleet)


@pytest.mark.django_db
class TestRepeatedRuns:
    def test_given_data_from_one_seed_when_another_seed_runs_then_it_succeeds(self):
        first = generate_demo(persons=50, seed=1, today=TODAY)

        second = generate_demo(persons=50, seed=2, today=TODAY)

        assert second == first | {"vehicles": second["vehicles"], "licences": second["licences"],
                                  "points_entries": second["points_entries"]}  # fmt: skip
        assert Person.objects.count() == 100
        assert Organisation.objects.count() == 6

    def test_given_data_from_the_same_seed_when_it_runs_again_then_clashes_move_to_free_values(self):
        generate_demo(persons=40, seed=9, today=TODAY)
        before = snapshot()

        counts = generate_demo(persons=40, seed=9, today=TODAY)

        assert counts["persons"] == 40
        assert Person.objects.count() == 80
        new = Person.objects.order_by("pk")[40:]
        assert {p.id_number for p in new}.isdisjoint({p[0] for p in before["persons"]})
        for person in new:
            decoded = validate_citizen_id(person.id_number, today=TODAY)
            assert decoded.sex == person.sex and decoded.birth_date == person.birth_date
        for vehicle in Vehicle.objects.all():
            validate_vin(vehicle.vin)
            parse_plate(vehicle.plate_number)
        for organisation in Organisation.objects.all():
            validate_uscc(organisation.uscc)
        assert (
            DrivingLicence.objects.values("archive_number").distinct().count()
            == DrivingLicence.objects.count()
        )


@pytest.mark.django_db
class TestDemoLogins:
    def test_given_demo_data_when_logins_are_ensured_twice_then_nothing_new_and_same_rows(self):
        generate_demo(persons=40, seed=5, today=TODAY)

        rows = ensure_demo_logins(today=TODAY, password=PASSWORD)
        users, members = User.objects.count(), OrganisationMember.objects.count()
        again = ensure_demo_logins(today=TODAY, password=PASSWORD)

        assert again == rows
        assert User.objects.count() == users
        assert OrganisationMember.objects.count() == members
        assert all(set(row) == {"role", "username", "password", "note_zh", "note_en"} for row in rows)
        assert len({row["username"] for row in rows}) == len(rows)

    def test_every_staff_role_has_a_login_in_zhumadian(self):
        rows = {row["role"]: row for row in ensure_demo_logins(today=TODAY, password=PASSWORD)}

        for role in StaffRole.values:
            user = User.objects.get(username=rows[role]["username"])
            assert user.kind == User.Kind.STAFF and user.staff_role == role
            assert user.jurisdiction == "411700"
            assert user.check_password(PASSWORD)
        admin = User.objects.get(username="admin")
        assert not admin.is_superuser
        assert can(admin, "registry.vehicle.change")  # from its post in the access table
        assert not can(User.objects.get(username="auditor"), "registry.vehicle.view")
        assert {rows[r]["username"] for r in StaffRole.values} == {
            "clerk", "violation", "accident", "accident_head", "unit_head", "exams", "auditor", "admin",
        }  # fmt: skip

    def test_citizen_and_organisation_logins_point_at_the_demo_situations(self):
        generate_demo(persons=40, seed=5, today=TODAY)

        rows = {row["role"]: row for row in ensure_demo_logins(today=TODAY, password=PASSWORD)}

        online = User.objects.get(username=rows["citizen_online"]["username"])
        assert online.kind == User.Kind.INDIVIDUAL and online.registration_level == User.Level.ONLINE
        assert online.check_password(PASSWORD)
        assert licence_status(online.person.licence, today=TODAY).points_in_cycle >= 9
        assert any(
            vehicle_status(v, today=TODAY).inspection_state == "overdue"
            for v in online.person.vehicles.select_related("owner_person")
        )
        counter = User.objects.get(username=rows["citizen_counter"]["username"])
        assert counter.registration_level == User.Level.COUNTER and counter.person != online.person
        for kind in ("transport_company", "hospital", "car_dealer"):
            user = User.objects.get(username=rows[kind]["username"])
            assert user.kind == User.Kind.ORGANISATION
            assert user.organisation.kind == kind
            assert user.username == user.organisation.uscc == validate_uscc(user.username)
            assert user.check_password(PASSWORD)

    def test_given_no_demo_data_then_a_small_set_is_generated_first(self):
        rows = ensure_demo_logins(today=TODAY, password=PASSWORD)

        assert Person.objects.count() == MIN_PERSONS
        assert {"citizen_online", "citizen_counter", "transport_company"} <= {row["role"] for row in rows}


@pytest.mark.django_db
def test_management_command_prints_counts_and_speed():
    out = StringIO()

    call_command("demo_data", "--persons=25", "--seed=4", "--today=2026-11-27", stdout=out)

    text = out.getvalue()
    assert "persons" in text and "25" in text
    assert "rows/s" in text
    assert Person.objects.count() == 25
