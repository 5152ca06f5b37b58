"""Hospitals record examinations and submit physical-condition certificates (issue 13, B6/B7)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from jiaoguan.core.errors import NotAllowed, NotFound, ValidationFailed
from jiaoguan.core.models import AuditEntry, OutboxMessage
from jiaoguan.registry import medical, rules, selectors, services
from jiaoguan.registry.models import DrivingLicence, MedicalExamination

TODAY = date(2026, 6, 1)


def form(**changes):
    """A complete form of a healthy driver applying for C1."""
    data = {
        "classes_applied": "C1", "height_cm": 172, "vision_left": "4.9", "vision_right": "5.0",
        "corrected_vision_left": None, "corrected_vision_right": None, "colour_vision_ok": True,
        "hearing_left_ok": True, "hearing_right_ok": True, "hearing_aid": False, "upper_limbs": "normal",
        "lower_limbs": "normal", "trunk_neck_ok": True, "declared_conditions": [], "doctor_name": "周明",
        "examined_on": TODAY - timedelta(days=3), "conclusion": "fit",
    }  # fmt: skip
    data.update(changes)
    return data


# ---------------------------------------------------------------- rules (S1 art. 12, 14)


def test_a_complete_form_is_normalised():
    values = medical.check_examination(form(classes_applied="d c1"), today=TODAY)
    assert values["classes_applied"] == "C1D"
    assert values["vision_left"] == Decimal("4.9") and values["corrected_vision_left"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"height_cm": 99}, "height_cm"),
        ({"height_cm": "tall"}, "height_cm"),
        ({"vision_left": "5.4"}, "vision_left"),
        ({"vision_right": "4.95"}, "vision_right"),
        ({"vision_right": "NaN"}, "vision_right"),
        ({"corrected_vision_left": "3.9"}, "corrected_vision_left"),
        ({"classes_applied": "C9"}, "classes_applied"),
        ({"upper_limbs": "fine"}, "upper_limbs"),
        ({"declared_conditions": ["flu"]}, "declared_conditions"),
        ({"doctor_name": "  "}, "doctor_name"),
        ({"examined_on": TODAY + timedelta(days=1)}, "examined_on"),
        ({"examined_on": TODAY - timedelta(days=184)}, "examined_on"),
        ({"examined_on": "2026-02-30"}, "examined_on"),
        ({"conclusion": "maybe"}, "conclusion"),
    ],
)
def test_values_outside_the_form_are_refused_on_their_field(changes, field):
    with pytest.raises(ValidationFailed) as refusal:
        medical.check_examination(form(**changes), today=TODAY)
    assert refusal.value.field == field


def test_the_oldest_examination_still_within_six_months_is_accepted():
    medical.check_examination(form(examined_on=TODAY - timedelta(days=183)), today=TODAY)


@pytest.mark.parametrize(
    ("changes", "classes", "fit"),
    [
        ({"height_cm": 154}, "A1B1C1", "B1C1"),  # art. 14(1): 155 for A1, 150 for B1
        ({"height_cm": 149}, "B1", ""),
        ({"vision_left": "4.9"}, "A2C1", "C1"),  # art. 14(2): 5.0 for the large classes
        ({"vision_left": "4.6", "corrected_vision_left": "5.0"}, "A2", "A2"),  # corrected counts
        ({"vision_right": "4.8"}, "C1", ""),
        ({"hearing_aid": True}, "C1C2B2", "C1C2"),  # art. 14(4)
        ({"hearing_left_ok": False}, "C2", ""),
        ({"upper_limbs": "partial"}, "C1C3A1", "C1C3"),  # art. 14(5)
        ({"lower_limbs": "left_impaired"}, "C1C2C5", "C2C5"),  # art. 14(6)
        ({"lower_limbs": "right_or_both_impaired"}, "C2C5", "C5"),  # art. 14(8)
        ({"colour_vision_ok": False}, "C1", ""),
        ({"trunk_neck_ok": False}, "C1", ""),
        ({"declared_conditions": ["epilepsy"]}, "C1E", ""),  # art. 12
    ],
)
def test_fitness_per_class(changes, classes, fit):
    values = medical.check_examination(
        form(**{"classes_applied": classes, "conclusion": "unfit", "vision_left": "5.0", **changes}),
        today=TODAY,
    )
    assessment = medical.assess(values)
    assert "".join(assessment.fit_classes) == fit
    applied, _unknown = rules.split_classes(values["classes_applied"])
    assert set(assessment.unfit) == set(applied) - set(assessment.fit_classes)
    assert all(assessment.unfit.values())  # each unmet class says why


def test_a_fit_conclusion_must_be_borne_out_by_the_findings():
    with pytest.raises(ValidationFailed) as refusal:
        medical.check_examination(form(classes_applied="A1", height_cm=150), today=TODAY)
    assert refusal.value.code == "registry.medical.conclusion_inconsistent"
    assert "A1" in refusal.value.detail["unfit"] and "155" in refusal.value.message_zh
    # The doctor may conclude "unfit" whatever the measurements say.
    medical.check_examination(form(conclusion="unfit"), today=TODAY)


def test_only_a_fit_and_recent_examination_is_submittable():
    medical.check_submittable(conclusion="fit", examined_on=TODAY - timedelta(days=183), today=TODAY)
    with pytest.raises(ValidationFailed, match="unfit"):
        medical.check_submittable(conclusion="unfit", examined_on=TODAY, today=TODAY)
    with pytest.raises(ValidationFailed) as refusal:
        medical.check_submittable(conclusion="fit", examined_on=TODAY - timedelta(days=184), today=TODAY)
    assert refusal.value.code == "registry.medical.expired"


def test_a_certificate_counts_for_six_months():
    examined = date(2026, 1, 10)
    assert medical.certificate_counts(examined_on=examined, today=examined)
    assert medical.certificate_counts(examined_on=examined, today=examined + timedelta(days=183))
    assert not medical.certificate_counts(examined_on=examined, today=examined + timedelta(days=184))
    assert not medical.certificate_counts(examined_on=examined, today=examined - timedelta(days=1))


# ---------------------------------------------------------------- services


@pytest.fixture
def hospital(organisation_user):
    return organisation_user(name="驻马店市中心医院", kind="hospital", suffix="0HXP71")


@pytest.fixture
def driver(make_person, make_licence):
    person = make_person(name="王芳", birth_date=date(1950, 3, 1))
    make_licence(holder=person, classes="C1", first_issued_on=date(2000, 3, 5), valid_from=date(2020, 3, 5))
    return person


def identity(person, **changes):
    return {"id_number": person.id_number, "name": person.name, **changes}


def recent(**changes):
    return form(examined_on=timezone.localdate() - timedelta(days=3), **changes)


@pytest.mark.django_db
def test_record_then_submit_sets_the_medical_date_and_tells_everyone(hospital, driver):
    examination = services.medical_examination_record(actor=hospital, data=identity(driver) | recent())
    assert examination.hospital_id == hospital.organisation_id and examination.submitted_at is None
    assert examination.licence.last_medical_on is None
    assert AuditEntry.objects.filter(subject_id=str(examination.pk), action="create").count() == 1

    submitted = services.medical_certificate_submit(actor=hospital, examination_id=examination.pk)
    licence = DrivingLicence.objects.get(holder=driver)
    assert submitted.submitted_at is not None
    assert licence.last_medical_on == examination.examined_on
    events = [m.payload for m in OutboxMessage.objects.filter(topic="registry.changed")]
    assert {"event": "medical_certificate", "vehicle_id": None, "licence_id": licence.pk} in events
    assert list(selectors.medical_certificates_of_person(person_id=driver.pk)) == [submitted]
    today = timezone.localdate()
    assert selectors.medical_certificate_in_force(person_id=driver.pk, today=today) == submitted
    assert (
        selectors.medical_certificate_in_force(person_id=driver.pk, today=today + timedelta(days=190)) is None
    )

    # A second submission answers the same certificate and changes nothing.
    again = services.medical_certificate_submit(actor=hospital, examination_id=examination.pk)
    assert again.submitted_at == submitted.submitted_at
    assert AuditEntry.objects.filter(subject_id=str(examination.pk), action="change").count() == 1


@pytest.mark.django_db
def test_an_older_certificate_does_not_move_the_medical_date_back(hospital, driver):
    licence = DrivingLicence.objects.get(holder=driver)
    licence.last_medical_on = timezone.localdate() - timedelta(days=1)
    licence.save(update_fields=["last_medical_on"])
    examination = services.medical_examination_record(actor=hospital, data=identity(driver) | recent())
    services.medical_certificate_submit(actor=hospital, examination_id=examination.pk)
    licence.refresh_from_db()
    assert licence.last_medical_on == timezone.localdate() - timedelta(days=1)


@pytest.mark.django_db
def test_the_certificate_meets_the_yearly_deadline_at_70(hospital, make_person, make_licence):
    # S1 art. 74: at 70 a certificate is due within 30 days after each cycle.
    today = timezone.localdate()
    person = make_person(name="赵老", birth_date=date(today.year - 75, 1, 1))
    # The last cycle ended ten days ago: its certificate is due within the next twenty days.
    anniversary = today - timedelta(days=10)
    licence = make_licence(
        holder=person,
        classes="C1",
        first_issued_on=date(anniversary.year - 20, anniversary.month, min(anniversary.day, 28)),
    )
    due_before = selectors.licence_status(licence, today=today).medical_due
    assert due_before is not None and due_before - today <= timedelta(days=30)
    examination = services.medical_examination_record(actor=hospital, data=identity(person) | recent())
    services.medical_certificate_submit(actor=hospital, examination_id=examination.pk)
    licence = DrivingLicence.objects.select_related("holder").get(pk=licence.pk)
    due_after = selectors.licence_status(licence, today=today).medical_due
    assert due_after is None or due_after > due_before


@pytest.mark.django_db
def test_an_unfit_examination_is_kept_but_not_submitted(hospital, driver):
    examination = services.medical_examination_record(
        actor=hospital, data=identity(driver) | recent(conclusion="unfit", colour_vision_ok=False)
    )
    with pytest.raises(ValidationFailed, match="unfit"):
        services.medical_certificate_submit(actor=hospital, examination_id=examination.pk)
    examination.refresh_from_db()
    assert examination.submitted_at is None and examination.licence.last_medical_on is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who",
    [
        {"name": "王小芳"},  # the name does not match the number
        {"id_number": "110101199003070011"},  # a valid number nobody holds
    ],
)
def test_a_driver_is_named_by_number_and_name_with_one_answer_for_every_mismatch(hospital, driver, who):
    with pytest.raises(ValidationFailed) as refusal:
        services.medical_examination_record(actor=hospital, data=identity(driver, **who) | recent())
    assert refusal.value.code == "registry.medical.driver_mismatch"
    assert not MedicalExamination.objects.exists()


@pytest.mark.django_db
def test_a_person_without_a_licence_cannot_be_examined_here(hospital, make_person):
    person = make_person(name="刘洋")
    with pytest.raises(ValidationFailed) as refusal:
        services.medical_examination_record(actor=hospital, data=identity(person) | recent())
    assert refusal.value.code == "registry.medical.driver_mismatch"


@pytest.mark.django_db
def test_only_hospitals_record(organisation_user, driver, citizen, make_staff):
    transport = organisation_user()
    with pytest.raises(NotAllowed) as refusal:
        services.medical_examination_record(actor=transport, data=identity(driver) | recent())
    assert refusal.value.code == "accounts.hospital_only"
    with pytest.raises(NotAllowed):
        services.medical_examination_record(
            actor=citizen(driver, level="counter"), data=identity(driver) | recent()
        )
    with pytest.raises(NotAllowed):
        services.medical_examination_record(actor=make_staff(), data=identity(driver) | recent())
    assert not MedicalExamination.objects.exists()


@pytest.mark.django_db
def test_another_hospitals_examination_is_not_found(hospital, organisation_user, driver):
    examination = services.medical_examination_record(actor=hospital, data=identity(driver) | recent())
    other = organisation_user(name="驻马店市第二医院", kind="hospital", suffix="0HXP72")
    with pytest.raises(NotFound):
        services.medical_certificate_submit(actor=other, examination_id=examination.pk)
    with pytest.raises(NotFound):
        services.medical_examination_read(actor=other, examination_id=examination.pk)
    assert list(selectors.hospital_examinations(actor=other)) == []
    examination.refresh_from_db()
    assert examination.submitted_at is None


@pytest.mark.django_db
def test_reads_of_an_examination_are_audited_and_clerks_see_their_jurisdiction(hospital, driver, make_staff):
    examination = services.medical_examination_record(actor=hospital, data=identity(driver) | recent())
    services.medical_examination_read(actor=hospital, examination_id=examination.pk)
    clerk = make_staff(jurisdiction="411700")
    services.medical_examination_read(actor=clerk, examination_id=examination.pk)
    views = AuditEntry.objects.filter(subject_id=str(examination.pk), action="view")
    assert views.count() == 2 and set(views.values_list("subject_person_id", flat=True)) == {driver.pk}
    outsider = make_staff(jurisdiction="411600", username="clerk-zhoukou")
    with pytest.raises(NotFound):
        services.medical_examination_read(actor=outsider, examination_id=examination.pk)
    shown = selectors.medical_examination_view(examination)
    assert driver.id_number not in str(shown) and driver.name not in str(shown)


@pytest.mark.django_db(transaction=True)
def test_submissions_at_once_submit_once(organisation_user, make_person, make_licence, run_together):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    hospital = organisation_user(name="驻马店市中心医院", kind="hospital", suffix="0HXP71")
    person = make_person(name="王芳")
    make_licence(holder=person, classes="C1", first_issued_on=date(2010, 3, 5))
    examination = services.medical_examination_record(actor=hospital, data=identity(person) | recent())
    results = run_together(
        *[lambda: services.medical_certificate_submit(actor=hospital, examination_id=examination.pk)] * 4
    )
    assert all(isinstance(r, MedicalExamination) for r in results), results
    assert len({r.submitted_at for r in results}) == 1
    assert AuditEntry.objects.filter(subject_id=str(examination.pk), action="change").count() == 1
    assert OutboxMessage.objects.filter(payload__event="medical_certificate").count() == 1
