"""``jiaoguan check-data`` over the registry (issue 9, item 4): demo data passes, planted bad rows are listed."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jiaoguan.core.datachecks import CheckContext, in_batches, run_checks
from jiaoguan.core.identifiers import make_citizen_id, make_uscc
from jiaoguan.demo.generate import generate_demo
from jiaoguan.registry.models import DrivingLicence, Organisation, Person, Vehicle

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 27)


def check_data(*args: str) -> tuple[int, list[tuple[str, str, str, str]], str]:
    """Run the command; (exit status, findings as (table, id, field, reason), everything printed)."""
    out, err = StringIO(), StringIO()
    status = 0
    try:
        call_command("check_data", f"--today={TODAY}", *args, stdout=out, stderr=err)
    except CommandError as exc:
        status = exc.returncode
        err.write(str(exc))
    rows = [tuple(line.split("\t")) for line in out.getvalue().splitlines() if line.count("\t") == 3]
    return status, rows, out.getvalue() + err.getvalue()  # type: ignore[return-value]


def test_demo_data_passes(settings):
    generate_demo(persons=120, seed=2015, today=TODAY, batch_size=50)

    status, rows, text = check_data("--batch-size=37")

    assert status == 0, rows
    assert rows == []
    assert "数据校验通过" in text
    assert {"registry.persons", "registry.vehicles", "registry.licences", "registry.organisations"} <= set(
        text.split("(")[-1].rstrip(")\n").split(", ")
    )


def test_planted_bad_rows_are_each_reported_and_the_exit_status_is_1(make_person, make_vehicle, make_licence):
    generate_demo(persons=30, seed=7, today=TODAY)
    good = make_person()
    bad_person = make_person(name="钱多")
    number = make_citizen_id("411702", date(1985, 6, 15), 311)
    Person.objects.filter(pk=bad_person.pk).update(
        id_number=number[:-1] + ("0" if number[-1] != "0" else "1"), mobile="12345"
    )
    wrong_birth = make_person(name="孙俪", birth_date=date(1988, 1, 1))
    Person.objects.filter(pk=wrong_birth.pk).update(birth_date=date(1988, 1, 2))
    organisation = Organisation.objects.create(
        uscc=make_uscc("91411702MA40ABCD8")[:-1] + "0", name="坏数据公司", kind="other", division="411702"
    )
    bad_vin = make_vehicle(owner=good, plate="豫Q71001")
    Vehicle.objects.filter(pk=bad_vin.pk).update(
        vin=bad_vin.vin[:8] + ("0" if bad_vin.vin[8] != "0" else "1") + bad_vin.vin[9:]
    )
    xyz = make_vehicle(owner=good, plate="XYZ")
    zzz = make_vehicle(owner=good, plate="豫Q71002", status="ZZZ", kind="hovercraft")
    mismatch = make_vehicle(owner=good, plate="豫Q71003", plate_type="52")  # ordinary number, new-energy type
    future = make_vehicle(owner=good, plate="豫Q71004", registered_on=TODAY + timedelta(days=3))
    licence = make_licence(holder=good, classes="C1X", term="99y", status="M")
    DrivingLicence.objects.filter(pk=licence.pk).update(archive_number="123")

    status, rows, text = check_data()

    found = {(table, pk, field) for table, pk, field, _reason in rows}
    expected = {
        ("registry_person", str(bad_person.pk), "id_number"),
        ("registry_person", str(bad_person.pk), "mobile"),
        ("registry_person", str(wrong_birth.pk), "birth_date"),
        ("registry_organisation", str(organisation.pk), "uscc"),
        ("registry_vehicle", str(bad_vin.pk), "vin"),
        ("registry_vehicle", str(xyz.pk), "plate_number"),
        ("registry_vehicle", str(zzz.pk), "status"),
        ("registry_vehicle", str(zzz.pk), "kind"),
        ("registry_vehicle", str(mismatch.pk), "plate_number"),
        ("registry_vehicle", str(future.pk), "registered_on"),
        ("registry_drivinglicence", str(licence.pk), "classes"),
        ("registry_drivinglicence", str(licence.pk), "validity_term"),
        ("registry_drivinglicence", str(licence.pk), "status"),
        ("registry_drivinglicence", str(licence.pk), "archive_number"),
    }
    assert found == expected, found ^ expected
    assert status == 1
    assert f"{len(expected)}" in text
    reasons = {(table, field): reason for table, _pk, field, reason in rows}
    assert reasons[("registry_vehicle", "vin")].startswith("vehicle.vin_checksum")
    assert reasons[("registry_vehicle", "status")].startswith("registry.status_unknown")


def test_a_stored_identifier_not_in_normal_form_is_reported(make_person, make_vehicle):
    vehicle = make_vehicle(owner=make_person(), plate="豫Q71005")
    Vehicle.objects.filter(pk=vehicle.pk).update(status="GA")  # valid codes, not the stored form "G"

    status, rows, _text = check_data("--check=registry.vehicles")

    assert status == 1
    assert [(r[0], r[1], r[2]) for r in rows] == [("registry_vehicle", str(vehicle.pk), "status")]
    assert rows[0][3].startswith("registry.not_normalised")


def test_the_same_findings_whatever_the_batch_size(make_person, make_vehicle, django_assert_max_num_queries):
    owner = make_person()
    for n in range(23):
        make_vehicle(owner=owner, plate=f"豫Q7{n:04d}", status="ZZZ" if n % 5 == 0 else "A")
    context = CheckContext(today=TODAY, batch_size=1000)

    everything = list(run_checks(context=context, only=["registry.vehicles"]))
    small = list(run_checks(context=CheckContext(today=TODAY, batch_size=4), only=["registry.vehicles"]))

    assert everything == small and len(everything) == 5
    with django_assert_max_num_queries(6):  # 23 rows in batches of 5: one query per batch
        batches = list(in_batches(Vehicle.objects.all(), fields=["vin"], size=5))
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]


def test_the_command_line_spelling_maps_to_the_command(make_person, make_vehicle, capsys):
    from jiaoguan.cli import main

    make_vehicle(owner=make_person(), plate="XYZ")
    with pytest.raises(SystemExit) as exited:
        main(["check-data", "--check=registry.vehicles"])
    assert exited.value.code == 1
    assert "registry_vehicle" in capsys.readouterr().out
