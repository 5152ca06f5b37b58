"""Cross-checks of a record's fields against each other: the date inside the record number and the
offence time (in Beijing time), the plate type and the form of the plate number (GA 36, the
registry's plate-type table), in camera imports, counter records and accident parties."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.core.errors import ValidationFailed
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry.models import PlateType
from jiaoguan.violations import rules
from jiaoguan.violations.importing import import_records
from jiaoguan.violations.models import Violation

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
DAY = timezone.localdate() - timedelta(days=10)
PLACE = "驿城区解放大道与交通路交叉口"


def number(serial: int, day, *, division: str = "411702", source: str = "monitoring") -> str:
    return rules.record_number_make(division=division, source=source, occurred_on=day, serial=serial)


def row(serial: int, *, day=DAY, occurred: datetime | None = None, **overrides) -> dict:
    occurred = occurred or datetime.combine(DAY, time(9, 30), tzinfo=BEIJING)
    values = {
        "record_number": number(serial, day),
        "plate_number": "豫QA1234",
        "plate_type": "02",
        "occurred_at": occurred.isoformat(),
        "place": PLACE,
        "code": "1625",
        "recording_division": "411702",
        "device_id": "CAM-411702-0001",
    }
    values.update(overrides)
    return values


def imported(*rows: dict):
    data = ("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n").encode()
    batch = import_records(io.BytesIO(data), fmt="jsonl", submitted_by="test")
    batch.refresh_from_db()
    return batch, {e["line"]: (e["code"], e["field"]) for e in batch.errors}


def test_the_plate_type_table_covers_every_plate_type_a_record_may_carry():
    assert set(registry_rules.PLATE_TYPES) == set(PlateType.values)


def test_the_record_number_date_must_be_the_offence_date_in_beijing_time():
    # 00:30 in Beijing is 16:30 UTC of the day before: the number carries the Beijing date.
    just_after_midnight = datetime.combine(DAY, time(0, 30), tzinfo=BEIJING).astimezone(UTC)
    batch, errors = imported(
        row(1),  # 1 the offence day
        row(2, day=DAY - timedelta(days=1)),  # 2 the day before
        row(3, occurred=just_after_midnight),  # 3 given in UTC, numbered with the Beijing date
        row(4, day=DAY - timedelta(days=1), occurred=just_after_midnight),  # 4 numbered with the UTC date
        row(5, day=DAY + timedelta(days=366)),  # 5 another year
    )
    assert batch.accepted_rows == 2
    assert errors == {
        2: ("violations.record_number_date", "record_number"),
        4: ("violations.record_number_date", "record_number"),
        5: ("violations.record_number_date", "record_number"),
    }
    assert set(Violation.objects.values_list("record_number", flat=True)) == {number(1, DAY), number(3, DAY)}


def test_a_numbered_record_from_a_service_is_checked_the_same_way(record):
    from jiaoguan.violations.services import RecordInput, violation_record

    data = RecordInput(
        plate_number="豫QA1234", plate_type="02", occurred_at=datetime.combine(DAY, time(9, 30), tzinfo=BEIJING),
        place=PLACE, code="1625", recording_division="411702", device_id="CAM-1",
        record_number=number(9, DAY - timedelta(days=2)),
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        violation_record(actor=None, data=data)
    assert refused.value.code == "violations.record_number_date"
    assert refused.value.detail["expected"] == f"{DAY:%y%m%d}"


@pytest.mark.parametrize(
    ("plate", "plate_type", "accepted"),
    [
        ("豫QA1234", "02", True),
        ("豫QA1234", "01", True),  # large and small ordinary plates look alike; the colour differs
        ("豫QD12345", "02", False),  # a small new-energy number is not a blue plate
        ("豫QD12345", "52", True),
        ("豫Q12345D", "51", True),
        ("豫Q12345D", "52", False),
        ("豫QA1234", "52", False),
        ("豫Q1234挂", "02", False),
        ("豫Q1234挂", "15", True),
        ("豫Q1234学", "16", True),
        ("豫Q1234学", "01", False),
        ("豫QD12345", "22", True),  # a temporary plate carries the form of the plate to come
    ],
)
def test_the_plate_type_must_fit_the_plate_number_in_imports(plate, plate_type, accepted):
    batch, errors = imported(row(1, plate_number=plate, plate_type=plate_type))
    if accepted:
        assert batch.accepted_rows == 1, errors
    else:
        assert errors == {1: ("plate.type_mismatch", "plate_number")}
        assert not Violation.objects.exists()


def test_the_counter_refuses_a_plate_type_that_does_not_fit_the_number(client, owner_driver, make_staff):
    _user, person, _vehicle, _licence = owner_driver()
    client.force_login(make_staff(role="violation_officer"))
    data = {
        "onsite-plate_number": "豫QD12345",
        "onsite-plate_type": "02",
        "onsite-licence_number": person.id_number,
        "onsite-code": "1625",
        "onsite-occurred_at": (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "onsite-place": "驻马店市开源大道",
    }
    response = client.post("/counter/violations/on-site/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "小型汽车号牌" in page and "请核对号牌种类或号码" in page
    assert not Violation.objects.exists()
    data["onsite-plate_type"] = "52"
    assert client.post("/counter/violations/on-site/", data).status_code == 302
    assert Violation.objects.get().plate_type == "52"


# ---------------------------------------------------------------- accident parties


@pytest.fixture
def accident_officer(make_staff):
    return make_staff(role="accident_officer", jurisdiction="411702", username="officer-411702")


@pytest.fixture
def accident(accident_officer):
    from jiaoguan.accidents import services

    return services.case_open(
        actor=accident_officer, occurred_at=timezone.now() - timedelta(days=2), place="驿城区解放大道"
    )


def _party(**overrides):
    values = {"label": "甲", "name": "马超", "id_type": "resident_id", "phone": "13800001111"}
    values.update(overrides)
    return values


@pytest.mark.parametrize("plate", ["豫Q12", "豫QI2345", "XQ12345", "豫Q123456789"])
def test_an_accident_party_plate_is_checked_like_every_other_plate(
    accident, accident_officer, make_person, plate
):
    from jiaoguan.accidents import services
    from jiaoguan.accidents.models import Party

    person = make_person(name="马超")
    with pytest.raises(ValidationFailed) as refused:
        services.party_add(
            actor=accident_officer, case_id=accident.pk, id_number=person.id_number, plate=plate, **_party()
        )
    assert refused.value.code.startswith("plate.") and refused.value.field == "plate"
    assert not Party.objects.exists()


def test_an_accident_party_plate_is_stored_normalised_and_finds_the_vehicle(
    accident, accident_officer, make_person, make_vehicle
):
    from jiaoguan.accidents import services

    person = make_person(name="马超")
    vehicle = make_vehicle(owner=person, plate="豫QA8866")
    party, _credential, _code = services.party_add(
        actor=accident_officer,
        case_id=accident.pk,
        id_number=person.id_number,
        plate=" 豫q·a8866 ",
        **_party(),
    )
    assert party.plate == "豫QA8866" and party.vehicle_id == vehicle.pk
    walker, _credential, _code = services.party_add(
        actor=accident_officer, case_id=accident.pk, id_number=make_person(name="李四").id_number, plate="",
        **_party(label="乙", name="李四"),
    )  # fmt: skip
    assert walker.plate == "" and walker.vehicle_id is None


def test_the_case_page_shows_a_wrong_party_plate_next_to_the_field(accident, accident_officer, make_person):
    from jiaoguan.accidents.models import Party

    person = make_person(name="马超")
    client = Client()
    client.force_login(accident_officer)
    response = client.post(
        f"/accidents/cases/{accident.pk}/parties/",
        {f"party-{k}": v for k, v in _party(id_number=person.id_number, plate="豫Q12").items()},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "号牌号码应为" in page
    assert not Party.objects.exists()


# ---------------------------------------------------------------- rows stored before the checks


def check_data(name: str) -> list[tuple[str, str, str]]:
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    with pytest.raises(CommandError):  # exit status 1: there are findings
        call_command("check_data", f"--check={name}", stdout=out, stderr=StringIO())
    found = []
    for line in out.getvalue().splitlines():
        if line.count("\t") == 3:
            _table, pk, field, reason = line.split("\t")
            found.append((pk, field, reason.split(":")[0]))
    return found


def test_check_data_reports_stored_records_the_cross_checks_refuse(record, owner_driver):
    _user, _person, vehicle, _licence = owner_driver()
    fine, dated, typed = record(vehicle), record(vehicle), record(vehicle)
    other_day = rules.record_number_make(
        division="411702", source="monitoring", occurred_on=DAY - timedelta(days=400), serial=77
    )
    Violation.objects.filter(pk=dated.pk).update(record_number=other_day)
    Violation.objects.filter(pk=typed.pk).update(plate_type="52")
    assert sorted(check_data("violations.records")) == sorted(
        [
            (str(dated.pk), "record_number", "violations.record_number_date"),
            (str(typed.pk), "plate_number", "plate.type_mismatch"),
        ]
    )
    assert str(fine.pk) not in {pk for pk, _f, _c in check_data("violations.records")}


def test_check_data_reports_accident_party_plates_stored_unchecked(accident, accident_officer, make_person):
    from jiaoguan.accidents import services
    from jiaoguan.accidents.models import Party

    good, _c, _code = services.party_add(
        actor=accident_officer, case_id=accident.pk, id_number=make_person(name="马超").id_number, plate="豫QA8866",
        **_party(),
    )  # fmt: skip
    bad, _c, _code = services.party_add(
        actor=accident_officer, case_id=accident.pk, id_number=make_person(name="李四").id_number, plate="豫QA8867",
        **_party(label="乙", name="李四"),
    )  # fmt: skip
    loose, _c, _code = services.party_add(
        actor=accident_officer, case_id=accident.pk, id_number=make_person(name="王五").id_number, plate="豫QA8868",
        **_party(label="丙", name="王五"),
    )  # fmt: skip
    Party.objects.filter(pk=bad.pk).update(plate="豫Q12")
    Party.objects.filter(pk=loose.pk).update(plate="豫Q·A8868")
    assert sorted(check_data("accidents.parties")) == sorted(
        [(str(bad.pk), "plate", "plate.format"), (str(loose.pk), "plate", "accidents.plate_not_normalised")]
    )
    assert good.plate == "豫QA8866"
