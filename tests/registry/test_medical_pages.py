"""The hospital's pages and the driver's licence page (issue 13, B6/B7)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.core.models import AuditEntry
from jiaoguan.registry.models import DrivingLicence, MedicalExamination

pytestmark = pytest.mark.django_db


def page_form(person, **changes):
    data = {
        "id_type": "resident_id", "id_number": person.id_number, "name": person.name, "classes_applied": "C1",
        "height_cm": "170", "vision_left": "5.0", "vision_right": "4.9", "corrected_vision_left": "",
        "corrected_vision_right": "", "colour_vision_ok": "1", "hearing_left_ok": "1", "hearing_right_ok": "1",
        "upper_limbs": "normal", "lower_limbs": "normal", "trunk_neck_ok": "1", "doctor_name": "周明",
        "examined_on": (timezone.localdate() - timedelta(days=1)).isoformat(), "conclusion": "fit",
    }  # fmt: skip
    data.update(changes)
    return data


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def hospital(organisation_user):
    return organisation_user(name="驻马店市中心医院", kind="hospital", suffix="0HXP71")


@pytest.fixture
def driver(make_person, make_licence):
    person = make_person(name="王芳")
    make_licence(holder=person, classes="C1", first_issued_on=date(2010, 3, 5))
    return person


def test_a_hospital_reaches_its_pages_from_the_home_tile_and_b6_b7(hospital):
    client = Client()
    client.force_login(hospital)
    home = client.get("/").content.decode()
    assert "/services/B7/" in home
    assert client.get("/services/B6/")["Location"] == "/hospital/examinations/new/"
    assert client.get("/services/B7/")["Location"] == "/hospital/examinations/"
    assert client.get("/hospital/examinations/").status_code == 200


def test_other_organisations_do_not_see_the_tile_and_are_refused(organisation_user):
    client = Client()
    client.force_login(organisation_user())
    assert "/services/B7/" not in client.get("/").content.decode()
    refused = client.get("/hospital/examinations/new/")
    assert refused.status_code == 403 and "仅限在窗口注册的医院单位用户办理" in text(refused)


def test_record_and_submit_through_the_pages(hospital, driver, citizen):
    client = Client()
    client.force_login(hospital)
    bad = client.post("/hospital/examinations/new/", page_form(driver, name="王小芳"))
    assert bad.status_code == 422 and "证件号码与姓名不匹配" in text(bad)
    assert not MedicalExamination.objects.exists()

    saved = client.post("/hospital/examinations/new/", page_form(driver, declared_conditions=[]))
    examination = MedicalExamination.objects.get()
    assert saved["Location"] == f"/hospital/examinations/{examination.pk}/"
    detail = client.get(saved["Location"])
    assert "提交身体条件证明" in text(detail) and driver.id_number not in detail.content.decode()
    assert AuditEntry.objects.filter(action="view", subject_id=str(examination.pk)).count() == 1

    client.post(f"/hospital/examinations/{examination.pk}/certificate/")
    examination.refresh_from_db()
    assert examination.submitted_at is not None
    assert DrivingLicence.objects.get(holder=driver).last_medical_on == examination.examined_on
    assert "已于" in text(client.get(saved["Location"]))

    me = Client()
    me.force_login(citizen(driver, level="online"))
    licence_page = text(me.get("/licences/"))
    assert "医院提交的身体条件证明" in licence_page and "驻马店市中心医院" in licence_page


def test_another_hospitals_examination_page_is_404(hospital, organisation_user, driver):
    client = Client()
    client.force_login(hospital)
    client.post("/hospital/examinations/new/", page_form(driver))
    examination = MedicalExamination.objects.get()
    other = Client()
    other.force_login(organisation_user(name="驻马店市第二医院", kind="hospital", suffix="0HXP72"))
    assert other.get(f"/hospital/examinations/{examination.pk}/").status_code == 404
    assert other.post(f"/hospital/examinations/{examination.pk}/certificate/").status_code == 404
    examination.refresh_from_db()
    assert examination.submitted_at is None


def test_the_pages_speak_english_too(hospital):
    client = Client()
    client.force_login(hospital)
    client.cookies["django_language"] = "en"
    page = text(client.get("/hospital/examinations/new/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Record an examination" in page and "Height (cm)" in page


def test_declared_conditions_are_ticked_on_the_form(hospital, driver):
    client = Client()
    client.force_login(hospital)
    form_page = client.get("/hospital/examinations/new/").content.decode()
    assert 'name="declared_conditions" value="epilepsy"' in form_page
    client.post(
        "/hospital/examinations/new/", page_form(driver, declared_conditions=["epilepsy"], conclusion="unfit")
    )
    examination = MedicalExamination.objects.get()
    assert examination.declared_conditions == ["epilepsy"]
    detail = text(client.get(f"/hospital/examinations/{examination.pk}/"))
    assert "癫痫病" in detail and "不能作为身体条件证明提交" in detail
