"""The hospital examination API and the driver's certificates (issue 13, B6/B7)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.core.models import AuditEntry
from jiaoguan.registry.models import DrivingLicence, MedicalExamination

pytestmark = pytest.mark.django_db

URL = "/api/v1/hospital/examinations"


def body(person, **changes):
    data = {
        "id_number": person.id_number, "name": person.name, "classes_applied": "C1", "height_cm": 168,
        "vision_left": 5.0, "vision_right": "4.9", "colour_vision_ok": True, "hearing_left_ok": True,
        "hearing_right_ok": True, "upper_limbs": "normal", "lower_limbs": "normal", "trunk_neck_ok": True,
        "declared_conditions": [], "doctor_name": "周明",
        "examined_on": (timezone.localdate() - timedelta(days=2)).isoformat(), "conclusion": "fit",
    }  # fmt: skip
    data.update(changes)
    return data


@pytest.fixture
def hospital_client(organisation_user):
    client = Client()
    client.force_login(organisation_user(name="驻马店市中心医院", kind="hospital", suffix="0HXP71"))
    return client


@pytest.fixture
def driver(make_person, make_licence):
    person = make_person(name="王芳")
    make_licence(holder=person, classes="C1", first_issued_on=date(2010, 3, 5))
    return person


def post(client, path, data=None, **headers):
    return client.post(path, json.dumps(data or {}), content_type="application/json", **headers)


def test_a_hospital_records_lists_and_submits(hospital_client, driver, citizen):
    created = post(hospital_client, URL, body(driver), HTTP_IDEMPOTENCY_KEY="exam-1")
    assert created.status_code == 201, created.content
    exam = created.json()
    assert exam["state"] == "recorded" and exam["vision_left"] == "5.0" and exam["fit_classes"] == "C1"
    assert driver.id_number not in created.content.decode() and "*" in exam["id_number_masked"]

    # The same key and body answers the first examination again; nothing new is recorded.
    again = post(hospital_client, URL, body(driver), HTTP_IDEMPOTENCY_KEY="exam-1")
    assert again.status_code == 201 and again.json()["id"] == exam["id"]
    assert MedicalExamination.objects.count() == 1
    reused = post(hospital_client, URL, body(driver, height_cm=170), HTTP_IDEMPOTENCY_KEY="exam-1")
    assert reused.status_code == 409

    listed = hospital_client.get(URL).json()
    assert [item["id"] for item in listed["items"]] == [exam["id"]] and listed["next_cursor"] is None
    assert "declared_conditions" not in listed["items"][0]  # findings only in the audited detail

    submitted = post(hospital_client, f"{URL}/{exam['id']}/certificate")
    assert submitted.status_code == 200 and submitted.json()["state"] == "submitted"
    assert post(hospital_client, f"{URL}/{exam['id']}/certificate").json() == submitted.json()
    assert (
        DrivingLicence.objects.get(holder=driver).last_medical_on.isoformat() == body(driver)["examined_on"]
    )

    # The driver sees the certificate in the account.
    me = Client()
    me.force_login(citizen(driver, level="online"))
    mine = me.get("/api/v1/me/medical-certificates")
    assert mine.status_code == 200
    (certificate,) = mine.json()["items"]
    assert certificate["hospital_name"] == "驻马店市中心医院" and certificate["conclusion"] == "fit"
    licences = me.get("/api/v1/me/licences").json()["items"]
    assert licences[0]["id"] == DrivingLicence.objects.get(holder=driver).pk


def test_the_drivers_list_follows_a_new_certificate(hospital_client, driver, citizen):
    me = Client()
    me.force_login(citizen(driver, level="online"))
    assert me.get("/api/v1/me/medical-certificates").json()["items"] == []  # now cached
    exam = post(hospital_client, URL, body(driver)).json()
    post(hospital_client, f"{URL}/{exam['id']}/certificate")
    assert len(me.get("/api/v1/me/medical-certificates").json()["items"]) == 1


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"name": "王小芳"}, 422, "registry.medical.driver_mismatch"),
        ({"id_number": "123"}, 422, "identity."),
        ({"vision_left": 6.1}, 422, "registry.medical.vision_left_invalid"),
        ({"height_cm": "abc"}, 422, "request.invalid"),
        ({"classes_applied": "B2", "height_cm": 150}, 422, "registry.medical.conclusion_inconsistent"),
    ],
)
def test_bad_input_is_a_clear_error(hospital_client, driver, changes, status, code):
    answer = post(hospital_client, URL, body(driver, **changes))
    assert answer.status_code == status, answer.content
    assert answer.json()["code"].startswith(code)
    assert not MedicalExamination.objects.exists()


def test_non_hospitals_are_refused(organisation_user, driver, citizen, make_staff):
    transport = Client()
    transport.force_login(organisation_user())
    answer = post(transport, URL, body(driver))
    assert answer.status_code == 403 and answer.json()["code"] == "accounts.hospital_only"
    person = Client()
    person.force_login(citizen(driver, level="counter"))
    assert post(person, URL, body(driver)).status_code == 403
    assert person.get(URL).status_code == 403
    clerk = Client()
    clerk.force_login(make_staff())
    assert post(clerk, URL, body(driver)).status_code == 403
    assert Client().get(URL).status_code == 401
    assert not MedicalExamination.objects.exists()


def test_another_hospitals_examination_is_404(hospital_client, organisation_user, driver):
    exam = post(hospital_client, URL, body(driver)).json()
    other = Client()
    other.force_login(organisation_user(name="驻马店市第二医院", kind="hospital", suffix="0HXP72"))
    assert other.get(f"{URL}/{exam['id']}").status_code == 404
    assert post(other, f"{URL}/{exam['id']}/certificate").status_code == 404
    assert other.get(URL).json()["items"] == []
    assert MedicalExamination.objects.get(pk=exam["id"]).submitted_at is None


def test_reading_one_examination_is_audited(hospital_client, driver):
    exam = post(hospital_client, URL, body(driver)).json()
    assert hospital_client.get(f"{URL}/{exam['id']}").status_code == 200
    assert AuditEntry.objects.filter(
        action="view", subject_id=str(exam["id"]), subject_person_id=driver.pk
    ).exists()


def test_an_unfit_examination_cannot_become_a_certificate(hospital_client, driver):
    exam = post(hospital_client, URL, body(driver, conclusion="unfit", trunk_neck_ok=False)).json()
    answer = post(hospital_client, f"{URL}/{exam['id']}/certificate")
    assert answer.status_code == 422 and answer.json()["code"] == "registry.medical.unfit_not_submittable"
    assert DrivingLicence.objects.get(holder=driver).last_medical_on is None


def test_the_list_is_paged_by_cursor(hospital_client, driver):
    ids = [post(hospital_client, URL, body(driver, doctor_name=f"医生{n}")).json()["id"] for n in range(3)]
    first = hospital_client.get(URL, {"limit": 2}).json()
    assert [i["id"] for i in first["items"]] == ids[:0:-1] and first["next_cursor"] == ids[1]
    rest = hospital_client.get(URL, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
