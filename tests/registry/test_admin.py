"""Back office: jurisdiction scoping, masked lists, audited opens (U5 staff side, audit trail)."""

from __future__ import annotations

import pytest
from django.test import Client

from jiaoguan.core.models import AuditEntry


@pytest.fixture
def staff_client(make_staff):
    def login(role="counter_clerk", jurisdiction="411700"):
        staff = make_staff(role=role, jurisdiction=jurisdiction, username=f"{role}-{jurisdiction}")
        client = Client()
        client.force_login(staff)
        return client, staff

    return login


@pytest.mark.django_db
def test_staff_see_only_their_jurisdiction(staff_client, make_person, make_vehicle):
    local = make_person(area="411721", name="西平人")
    other = make_person(area="411722", name="上蔡人")
    mine = make_vehicle(owner=local, plate="豫Q11111", division="411721")
    theirs = make_vehicle(owner=other, plate="豫Q22222", division="411722")
    client, _ = staff_client(jurisdiction="411721")

    listing = client.get("/admin/registry/vehicle/")
    assert listing.status_code == 200
    assert "豫Q11111" in listing.content.decode() and "豫Q22222" not in listing.content.decode()
    assert client.get(f"/admin/registry/vehicle/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/registry/vehicle/{theirs.pk}/change/").status_code in (302, 404)

    city_client, _ = staff_client(role="violation_officer", jurisdiction="411700")
    assert "豫Q22222" in city_client.get("/admin/registry/vehicle/").content.decode()


@pytest.mark.django_db
def test_person_list_is_masked_and_opening_a_record_is_audited(staff_client, make_person):
    person = make_person(name="张三丰", mobile="13812345678")
    client, staff = staff_client()
    listing = client.get("/admin/registry/person/").content.decode()
    assert person.id_number not in listing
    assert person.id_number[:3] in listing and person.id_number[-4:] in listing
    assert "13812345678" not in listing and "138****5678" in listing
    assert "张三丰" not in listing

    assert not AuditEntry.objects.filter(subject_person_id=person.pk).exists()
    assert client.get(f"/admin/registry/person/{person.pk}/change/").status_code == 200
    entry = AuditEntry.objects.get(subject_person_id=person.pk, action="view")
    assert entry.actor == staff and entry.actor_jurisdiction == "411700"


@pytest.mark.django_db
def test_change_in_back_office_is_audited(staff_client, make_person):
    person = make_person()
    client, _ = staff_client(role="counter_clerk")
    url = f"/admin/registry/person/{person.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: (form[name].value() or "") for name in form.fields}
    data["address"] = "驿城区开源大道8号"
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    assert AuditEntry.objects.filter(subject_person_id=person.pk, action="change").exists()


@pytest.mark.django_db
def test_citizen_cannot_enter_back_office(make_person, sms_inbox):
    from jiaoguan.accounts.models import User

    person = make_person()
    user = User.objects.create_user(
        username=person.id_number, password="x", person=person, registration_level="online"
    )
    client = Client()
    client.force_login(user)
    assert client.get("/admin/registry/person/").status_code == 302


@pytest.mark.django_db
def test_violation_officer_reads_but_cannot_change_persons(staff_client, make_person):
    person = make_person()
    client, _ = staff_client(role="violation_officer")
    url = f"/admin/registry/person/{person.pk}/change/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"name": "改名"}).status_code == 403


@pytest.mark.django_db
def test_auditor_reads_the_audit_trail(staff_client, make_person):
    person = make_person()
    clerk_client, _ = staff_client()
    clerk_client.get(f"/admin/registry/person/{person.pk}/change/")
    auditor_client, _ = staff_client(role="auditor")
    page = auditor_client.get("/admin/core/auditentry/")
    assert page.status_code == 200
    assert "counter_clerk" in page.content.decode()
    assert auditor_client.get("/admin/registry/person/").status_code == 403


@pytest.mark.django_db
def test_lists_are_searched_by_full_identifiers_in_any_typed_form(staff_client, make_person, make_vehicle):
    person = make_person(name="韩梅")
    vehicle = make_vehicle(owner=person, plate="豫QD5A21", plate_type="52")
    client, _ = staff_client()

    by_plate = client.get("/admin/registry/vehicle/", {"q": "豫qd·5a21"}).content.decode()
    by_vin = client.get("/admin/registry/vehicle/", {"q": vehicle.vin.lower()}).content.decode()
    partial = client.get("/admin/registry/vehicle/", {"q": "豫QD5"}).content.decode()
    assert "豫QD5A21" in by_plate and "豫QD5A21" in by_vin and "豫QD5A21" not in partial
    assert "韩*" in client.get("/admin/registry/person/", {"q": person.id_number.lower()}).content.decode()
    assert "韩*" not in client.get("/admin/registry/person/", {"q": person.id_number[:10]}).content.decode()


@pytest.mark.django_db
def test_the_audit_trail_is_searched_by_id_number_and_plate(staff_client, make_person, make_vehicle):
    person, other = make_person(name="韩梅"), make_person(name="李雷")
    vehicle = make_vehicle(owner=person, plate="豫Q30303")
    clerk, _ = staff_client()
    clerk.get(f"/admin/registry/person/{person.pk}/change/")
    clerk.get(f"/admin/registry/person/{other.pk}/change/")
    clerk.get(f"/admin/registry/vehicle/{vehicle.pk}/change/")
    auditor, _ = staff_client(role="auditor")

    rows = auditor.get("/admin/core/auditentry/", {"q": person.id_number}).context["cl"].result_list
    assert {(r.subject_type, r.subject_id) for r in rows} == {
        ("registry.person", str(person.pk)),
        ("registry.vehicle", str(vehicle.pk)),  # about the person: the owner of the vehicle opened
    }
    rows = auditor.get("/admin/core/auditentry/", {"q": "豫Q·30303"}).context["cl"].result_list
    assert {(r.subject_type, r.subject_id) for r in rows} == {("registry.vehicle", str(vehicle.pk))}
