"""Back office forms save through the registry services (issue 9, items 2 and 3).

Every case an outside reviewer got saved (302) is refused with the message next to its field
and nothing is saved; good input is saved once, with one audit row and one change event.
Runs on SQLite and PostgreSQL through the Django test client.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from jiaoguan.core.identifiers import make_citizen_id, make_uscc, make_vin
from jiaoguan.core.models import AuditEntry, OutboxMessage
from jiaoguan.registry.events import REGISTRY_CHANGED
from jiaoguan.registry.models import DrivingLicence, Organisation, Person, Vehicle

pytestmark = pytest.mark.django_db

VEHICLES = "/admin/registry/vehicle/"
PERSONS = "/admin/registry/person/"


@pytest.fixture
def staff_client(make_staff):
    def login(role: str = "counter_clerk", jurisdiction: str = "411700") -> Client:
        client = Client()
        client.force_login(
            make_staff(role=role, jurisdiction=jurisdiction, username=f"{role}-{jurisdiction}")
        )
        return client

    return login


def counts() -> tuple[int, int, int, int, int]:
    return (
        Vehicle.objects.count(),
        Person.objects.count(),
        DrivingLicence.objects.count(),
        AuditEntry.objects.exclude(action="view").count(),
        OutboxMessage.objects.filter(topic=REGISTRY_CHANGED).count(),
    )


def vehicle_form(owner: Person, **changes) -> dict:
    data = {
        "plate_number": "豫Q6N218",
        "plate_type": "02",
        "vin": make_vin("LFV3B2FY0N3102396"),
        "kind": "small_passenger",
        "use_nature": "private",
        "brand_model": "大众 捷达",
        "colour": "白",
        "owner_person": str(owner.pk),
        "owner_organisation": "",
        "owner_mobile": "",
        "registered_on": "2022-03-18",
        "last_inspected_on": "",
        "division": "411702",
        "_save": "保存",
    }
    data.update(changes)
    return data


def refused(response, field: str) -> str:
    """The form came back (no redirect) with an error on ``field`` rendered in that field's row."""
    assert response.status_code == 200, (response.status_code, response.get("Location"))
    form = response.context["adminform"].form
    assert field in form.errors, dict(form.errors)
    html = response.content.decode()
    assert f"errors field-{field}" in html  # the message sits in the field's own row
    return " ".join(form.errors[field])


def existing_values(client: Client, url: str) -> dict:
    """What the change form shows now, as it would be posted back unchanged."""
    form = client.get(url).context["adminform"].form
    data: dict = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, list | tuple):
            data[name] = list(value)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is None:
            data[name] = ""
        else:
            data[name] = value.isoformat() if isinstance(value, date) else str(value)
    data["_save"] = "保存"
    return data


# ------------------------------------------------------------------------ vehicles: bad input


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("vin", "LFV3B2FY1N3102396", "校验位"),  # position-9 check digit does not match
        ("vin", "LFV3B2FY2N310239", "17 位"),  # 16 characters
        ("vin", "LFV3B2FY2N31O2396", "I、O、Q"),  # contains O
        ("vin", "LFV3B2FY2N31I2396", "I、O、Q"),
        ("vin", "LFV3B2FY2Q3102396", "I、O、Q"),
        ("plate_number", "豫Q1234I", "I 和 O"),
        ("plate_number", "豫O12345", "号牌号码"),
        ("plate_number", "ABC", "号牌号码"),
        ("plate_number", "豫Q12345", "小型新能源"),  # ordinary number with a small new-energy type (52)
        ("plate_type", "01", "小型载客汽车不能使用大型汽车号牌"),  # a small car with a large plate
        ("status", ["Z"], "Z"),
        ("status", ["Q"], "Q"),  # derived from the inspection date, never stored
        ("owner_mobile", "12345", "11 位"),
        ("registered_on", "2099-01-01", "晚于今天"),
        ("division", "999999", "行政区划"),
    ],
)
def test_bad_vehicle_input_is_refused_next_to_its_field_and_nothing_is_saved(
    staff_client, make_person, field, value, words
):
    client = staff_client()
    owner = make_person()
    before = counts()
    data = vehicle_form(owner, **{field: value})
    if value == "豫Q12345":
        data["plate_type"] = "52"

    message = refused(client.post(f"{VEHICLES}add/", data), field)

    assert words in message
    assert counts() == before


def test_a_lower_case_copy_of_a_registered_vin_is_refused(staff_client, make_person, make_vehicle):
    client = staff_client()
    owner = make_person()
    existing = make_vehicle(owner=owner, plate="豫Q52011")
    before = counts()

    message = refused(client.post(f"{VEHICLES}add/", vehicle_form(owner, vin=existing.vin.lower())), "vin")

    assert "已登记" in message
    assert counts() == before


def test_a_plate_issued_to_another_vehicle_is_refused(staff_client, make_person, make_vehicle):
    client = staff_client()
    owner = make_person()
    make_vehicle(owner=owner, plate="豫Q6N218")

    message = refused(client.post(f"{VEHICLES}add/", vehicle_form(owner)), "plate_number")

    assert "已核发" in message


def test_a_new_energy_number_with_an_ordinary_plate_type_is_refused(staff_client, make_person):
    client = staff_client()

    message = refused(
        client.post(f"{VEHICLES}add/", vehicle_form(make_person(), plate_number="豫QD12345")), "plate_number"
    )

    assert "小型汽车号牌" in message


# ------------------------------------------------------------------------ vehicles: jurisdiction


def test_administrator_of_zhoukou_cannot_add_a_vehicle_in_zhumadian(staff_client, make_person):
    client = staff_client(role="administrator", jurisdiction="411600")
    citizen = make_person(area="411702")  # a Zhumadian citizen
    before = counts()

    message = refused(client.post(f"{VEHICLES}add/", vehicle_form(citizen, division="411702")), "division")

    assert "不在您的辖区范围内" in message
    assert counts() == before
    assert not Vehicle.objects.filter(owner_person=citizen).exists()


def test_administrator_of_zhumadian_cannot_create_a_vehicle_in_beijing(staff_client, make_person):
    client = staff_client(role="administrator", jurisdiction="411700")
    owner = make_person()
    before = counts()

    message = refused(client.post(f"{VEHICLES}add/", vehicle_form(owner, division="110101")), "division")

    assert "不在您的辖区范围内" in message
    assert counts() == before


def test_a_vehicle_cannot_be_moved_to_another_province_by_an_edit(staff_client, make_person, make_vehicle):
    client = staff_client(role="administrator")
    vehicle = make_vehicle(owner=make_person(), plate="豫Q52012")
    url = f"{VEHICLES}{vehicle.pk}/change/"
    data = existing_values(client, url) | {"division": "110101"}

    message = refused(client.post(url, data), "division")

    assert "转出" in message
    vehicle.refresh_from_db()
    assert vehicle.division == "411702"


# ------------------------------------------------------------------------ vehicles: good input


def test_good_vehicle_is_saved_once_with_one_audit_row_and_one_event(staff_client, make_person):
    client = staff_client()
    owner = make_person(mobile="13912345678")
    before = counts()

    response = client.post(f"{VEHICLES}add/", vehicle_form(owner, vin=make_vin("lfv3b2fy0n3102396")))

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    vehicle = Vehicle.objects.get(owner_person=owner)
    assert vehicle.vin == make_vin("LFV3B2FY0N3102396")  # stored upper case
    assert vehicle.plate_number == "豫Q6N218" and vehicle.status == "A"
    assert vehicle.owner_mobile == "13912345678"  # taken from the owner's record
    assert counts() == (before[0] + 1, before[1], before[2], before[3] + 1, before[4] + 1)
    entry = AuditEntry.objects.get(subject_type="registry.vehicle", subject_id=str(vehicle.pk))
    assert entry.action == "create" and entry.subject_person_id == owner.pk
    event = OutboxMessage.objects.get(topic=REGISTRY_CHANGED)
    assert event.payload["vehicle_id"] == vehicle.pk


def test_changing_a_vehicle_writes_one_audit_row_and_one_event(staff_client, make_person, make_vehicle):
    client = staff_client()
    vehicle = make_vehicle(owner=make_person(), plate="豫Q52013")
    url = f"{VEHICLES}{vehicle.pk}/change/"
    data = existing_values(client, url) | {"colour": "黑", "status": ["G", "L"], "plate_number": "豫q·52013"}
    before = counts()

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    vehicle.refresh_from_db()
    assert (vehicle.colour, vehicle.status, vehicle.plate_number) == ("黑", "GL", "豫Q52013")
    assert counts() == (before[0], before[1], before[2], before[3] + 1, before[4] + 1)
    entry = AuditEntry.objects.filter(subject_type="registry.vehicle", action="change").get()
    assert "colour" in entry.summary and "status" in entry.summary


def test_an_unchanged_vehicle_saves_nothing(staff_client, make_person, make_vehicle):
    client = staff_client()
    vehicle = make_vehicle(owner=make_person(), plate="豫Q52014")
    url = f"{VEHICLES}{vehicle.pk}/change/"
    before = counts()

    assert client.post(url, existing_values(client, url)).status_code == 302
    assert counts() == before


def test_a_stored_unknown_kind_is_shown_and_must_be_corrected(staff_client, make_person, make_vehicle):
    client = staff_client()
    vehicle = make_vehicle(owner=make_person(), plate="豫Q52015")
    Vehicle.objects.filter(pk=vehicle.pk).update(kind="hovercraft", status="ZZZ")
    url = f"{VEHICLES}{vehicle.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert "未知取值 hovercraft" in page.content.decode()

    message = refused(client.post(url, existing_values(client, url)), "status")
    assert "Z" in message
    data = existing_values(client, url) | {"status": ["A"]}
    assert "不在代码表中" in refused(client.post(url, data), "kind")

    data["kind"] = "small_passenger"
    assert client.post(url, data).status_code == 302
    vehicle.refresh_from_db()
    assert (vehicle.kind, vehicle.status) == ("small_passenger", "A")


def test_choices_are_shown_in_words(staff_client):
    html = staff_client().get(f"{VEHICLES}add/").content.decode()
    assert "小型载客汽车 Small passenger car" in html
    assert "非营运 Private (non-commercial)" in html
    assert ">small_passenger<" not in html


# ------------------------------------------------------------------------ persons


def person_form(**changes) -> dict:
    number = make_citizen_id("411702", date(1990, 4, 2), 215)
    data = {
        "id_type": "resident_id",
        "id_number": number,
        "name": "孙丽",
        "sex": "M",
        "birth_date": "1990-04-02",
        "nationality": "CHN",
        "residence_division": "411702",
        "address": "驿城区雪松大道18号",
        "mobile": "13700001111",
        "_save": "保存",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("id_number", make_citizen_id("411702", date(1990, 4, 2), 215)[:-1] + "0", "校验码"),
        ("id_number", "41170219900231215X", "出生日期"),  # 31 February
        ("mobile", "12345", "11 位"),
        ("birth_date", "1990-04-03", "不符"),
        ("sex", "F", "奇数为男"),
        ("residence_division", "110101", "不在您的辖区范围内"),
    ],
)
def test_bad_person_input_is_refused_next_to_its_field(staff_client, field, value, words):
    client = staff_client()
    before = counts()

    message = refused(client.post(f"{PERSONS}add/", person_form(**{field: value})), field)

    assert words in message
    assert counts() == before


def test_good_person_is_saved_once_with_one_audit_row(staff_client):
    client = staff_client()
    before = counts()

    assert client.post(f"{PERSONS}add/", person_form(mobile="+86 137-0000-1111")).status_code == 302

    person = Person.objects.get(name="孙丽")
    assert person.mobile == "13700001111"
    assert counts() == (before[0], before[1] + 1, before[2], before[3] + 1, before[4])


def test_a_clerk_cannot_move_a_residence_to_beijing(staff_client, make_person):
    client = staff_client()
    person = make_person(area="411702")
    url = f"{PERSONS}{person.pk}/change/"
    data = existing_values(client, url) | {"residence_division": "110101"}
    before = counts()

    message = refused(client.post(url, data), "residence_division")

    assert "跨省" in message and "转出" in message
    person.refresh_from_db()
    assert person.residence_division == "411702"
    assert counts() == before


def test_a_clerk_cannot_move_a_residence_out_of_the_jurisdiction(staff_client, make_person):
    client = staff_client(jurisdiction="411702")
    person = make_person(area="411702")
    url = f"{PERSONS}{person.pk}/change/"
    data = existing_values(client, url) | {"residence_division": "411721"}

    assert "不在您的辖区范围内" in refused(client.post(url, data), "residence_division")


def test_renaming_a_person_reissues_the_credentials_of_their_vehicle_and_licence(
    staff_client, make_person, make_vehicle, make_licence
):
    client = staff_client()
    person = make_person()
    vehicle, licence = make_vehicle(owner=person, plate="豫Q52016"), make_licence(holder=person)
    url = f"{PERSONS}{person.pk}/change/"

    assert client.post(url, existing_values(client, url) | {"name": "张卫"}).status_code == 302

    payloads = [m.payload for m in OutboxMessage.objects.filter(topic=REGISTRY_CHANGED)]
    assert [(p["vehicle_id"], p["licence_id"]) for p in payloads] == [(vehicle.pk, None), (None, licence.pk)]


# ------------------------------------------------------------------------ organisations and licences


def test_organisation_with_a_wrong_uscc_check_character_is_refused(staff_client):
    client = staff_client()
    good = make_uscc("91411702MA40ABCD8")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    data = {"uscc": bad, "name": "驻马店市驿通物流有限公司", "kind": "transport_company", "division": "411702",
            "address": "", "phone": "0396-2812345", "legal_representative": "", "_save": "保存"}  # fmt: skip

    assert "校验码" in refused(client.post("/admin/registry/organisation/add/", data), "uscc")
    data["uscc"] = good
    assert client.post("/admin/registry/organisation/add/", data).status_code == 302
    assert Organisation.objects.get(uscc=good).division == "411702"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("classes", "C1X", "准驾车型"),
        ("archive_number", "4117000001", "12 位"),
        ("valid_from", "2009-01-01", "不能早于初次领证日期"),
        ("first_issued_on", "2001-01-01", "18 周岁"),
        ("status", ["M"], "M"),  # worked out from the dates: not offered, refused if posted
        ("division", "110101", "不在您的辖区范围内"),
    ],
)
def test_bad_licence_input_is_refused_next_to_its_field(staff_client, make_person, field, value, words):
    client = staff_client()
    holder = make_person(birth_date=date(1985, 6, 15))
    data = {
        "holder": str(holder.pk), "archive_number": "411700012345", "classes": "c1e", "first_issued_on": "2010-03-05",
        "valid_from": "2020-03-05", "validity_term": "10y", "probation_started_on": "", "last_medical_on": "",
        "last_reviewed_on": "", "cancelled_on": "", "remarks": "", "mobile": "", "postal_address": "",
        "division": "411702", "_save": "保存",
    }  # fmt: skip
    before = counts()

    message = refused(client.post("/admin/registry/drivinglicence/add/", data | {field: value}), field)

    assert words in message
    assert counts() == before
    assert client.post("/admin/registry/drivinglicence/add/", data).status_code == 302
    licence = DrivingLicence.objects.get(holder=holder)
    assert licence.classes == "C1E" and licence.mobile == holder.mobile
    assert counts() == (before[0], before[1], before[2] + 1, before[3] + 1, before[4] + 1)


# ------------------------------------------------------------------------ visibility


def test_a_record_outside_the_jurisdiction_answers_404(staff_client, make_person, make_vehicle):
    client = staff_client(jurisdiction="411721")
    theirs = make_vehicle(owner=make_person(area="411722"), plate="豫Q52017", division="411722")

    assert client.get(f"{VEHICLES}{theirs.pk}/change/").status_code == 404
    assert client.post(f"{VEHICLES}{theirs.pk}/change/", {"colour": "黑"}).status_code == 404
    assert client.get(f"{VEHICLES}999999/change/").status_code == 404


def test_a_non_local_owner_of_a_local_vehicle_can_be_opened_but_not_changed(
    staff_client, make_person, make_vehicle
):
    client = staff_client()
    outsider = make_person(area="110101")
    make_vehicle(owner=outsider, plate="豫Q52018", division="411702")
    url = f"{PERSONS}{outsider.pk}/change/"

    page = client.get(url)
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert client.post(url, {"name": "改名"}).status_code == 403


def test_a_wrong_vin_is_shown_together_with_the_fields_still_missing(staff_client, make_person):
    """The clerk learns at once that the VIN is wrong, not only after filling every other field."""
    client = staff_client()
    before = counts()
    response = client.post(f"{VEHICLES}add/", {"vin": "LFV3B2FY1N3102396", "plate_number": "豫Q12345"})

    assert "校验位" in refused(response, "vin")
    assert refused(response, "kind")  # still required
    assert counts() == before
