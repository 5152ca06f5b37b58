"""Plates, vehicle licences and paper marks on the applications engine (issue 14: B1, B2, B3,
B20, B21, E2, E6), on SQLite and PostgreSQL.

Submission and completion run on the real day, so vehicles are built relative to it. The
electronic mark is really signed (a key of the test's own), really superseded, and its QR is
really drawn and decoded.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from jiaoguan.applications import catalogue, eligibility, services
from jiaoguan.applications.models import ApplicantMessage, Application, ApplicationEvent
from jiaoguan.applications.rules import State
from jiaoguan.applications.services import DeliveryInput, MaterialInput, PaperMarkInput
from jiaoguan.core.errors import Conflict, NotFound, ValidationFailed
from jiaoguan.core.outbox import outbox_dispatch, outbox_enqueue
from jiaoguan.credentials import services as credentials
from jiaoguan.credentials.models import Credential, PaperMarkRequest
from jiaoguan.credentials.render import decode_qr_image
from jiaoguan.registry import vehicle_rules
from jiaoguan.registry.models import Vehicle

from .conftest import PICKUP, POST, jpeg_bytes, pdf_bytes, settle_fee

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keys(tmp_path, settings):
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    from jiaoguan.credentials.keys import trust_cache_clear

    trust_cache_clear()
    yield
    trust_cache_clear()


def _today():
    return timezone.localdate()


@pytest.fixture
def owner(make_person, make_vehicle, citizen):
    """A counter-registered owner and a small private car in its inspection validity: (user, vehicle)."""

    def make(*, name="张伟", level="counter", status="A", plate=None, plate_type="02", **kw):
        person = make_person(name=name)
        vehicle = make_vehicle(
            owner=person, registered_on=kw.pop("registered_on", _today() - timedelta(days=365 * 3)),
            last_inspected_on=kw.pop("last_inspected_on", _today() - timedelta(days=30)), status=status,
            plate=plate, plate_type=plate_type, **kw,
        )  # fmt: skip
        return citizen(person, level=level), vehicle

    return make


def _statement() -> tuple[MaterialInput, ...]:
    return (MaterialInput(kind="statement", content=pdf_bytes(), filename="statement.pdf"),)


def _deliver_by_post(clerk, app):
    settle_fee(app, clerk)
    services.application_accept(actor=clerk, application_id=app.pk)
    services.application_start_production(actor=clerk, application_id=app.pk)
    services.application_post(actor=clerk, application_id=app.pk, waybill_number="EA123456785CN")
    return services.application_complete(actor=clerk, application_id=app.pk)


# ---------------------------------------------------------------- the rules (pure)


@pytest.mark.parametrize("code", ["B1", "B2", "B20", "B21"])
@pytest.mark.parametrize(
    ("status", "refused"),
    [("A", ""), ("G", ""), ("I", ""), ("C", "vehicle.status_C"), ("E", "vehicle.status_E"),
     ("K", "vehicle.status_K"), ("L", "vehicle.status_L"), ("P", "vehicle.status_P"), ("AO", "vehicle.status_O"),
     ("X", "vehicle.status_X")],
)  # fmt: skip
def test_vehicle_status_decides_each_plate_and_licence_business(code, status, refused):
    answer = vehicle_rules.vehicle_business_allowed(vehicle_rules.VehicleFacts(status=status), code)
    assert (getattr(answer, "code", "") or "") == refused
    if refused:
        assert answer.zh and answer.en and answer.remedy_zh and answer.remedy_en


def test_plates_do_not_wait_for_the_inspection_but_a_paper_mark_does():
    overdue = vehicle_rules.VehicleFacts(status="A", inspection_overdue=True)
    assert vehicle_rules.vehicle_business_allowed(overdue, "B1").allowed
    refusal = vehicle_rules.vehicle_business_allowed(overdue, "B3")
    assert refusal.code == "vehicle.inspection_overdue" and "预约检验" in refusal.remedy_zh


def test_e6_a_valid_electronic_mark_makes_a_paper_replacement_needless():
    refusal = vehicle_rules.paper_mark_replacement(e_mark_valid=True)
    assert (
        refusal.code == "vehicle.e_mark_valid"
        and "无需补领" in refusal.zh
        and "电子凭证" in refusal.remedy_zh
    )
    assert vehicle_rules.paper_mark_replacement(e_mark_valid=False).allowed


def test_plate_fees_follow_the_plate_type_and_licence_fee_is_ten_yuan():
    today = _today()
    assert catalogue.fee_on("B1", today, plate_type="02") == 10000
    assert catalogue.fee_on("B2", today, plate_type="15") == 5000
    assert catalogue.fee_on("B1", today, plate_type="07") == 3500
    assert catalogue.fee_on("B1", today) == 10000
    assert catalogue.fee_on("B20", today, plate_type="07") == 1000
    assert catalogue.fee_on("B3", today) == 0 and catalogue.fee_on("E2", today) == 0


# ---------------------------------------------------------------- eligibility


@pytest.mark.parametrize("code", ["B1", "B2", "B20", "B21"])
def test_counter_owner_may_apply_for_own_vehicle(owner, code):
    user, vehicle = owner()
    answer = eligibility.business_eligibility(actor=user, business_code=code, today=_today())
    assert answer.allowed and answer.vehicle_id == vehicle.pk
    assert answer.details["plate_number"] == vehicle.plate_number


def test_online_owner_is_told_the_counter_upgrade(owner):
    user, _vehicle = owner(level="online")
    answer = eligibility.business_eligibility(actor=user, business_code="B20", today=_today())
    assert not answer.allowed and answer.code == "accounts.counter_registration_required"


@pytest.mark.parametrize(("status", "code"), [("C", "vehicle.status_C"), ("K", "vehicle.status_K")])
def test_a_stolen_or_sealed_vehicle_is_refused_with_reason_and_remedy(owner, status, code):
    user, vehicle = owner(status=status)
    answer = eligibility.business_eligibility(actor=user, business_code="B1", today=_today())
    assert not answer.allowed and answer.code == code and answer.remedy_zh
    with pytest.raises(Conflict) as refused:
        services.application_submit(actor=user, business_code="B1", vehicle_id=vehicle.pk, delivery=PICKUP)
    assert refused.value.code == code


def test_someone_elses_vehicle_is_not_found(owner):
    user, _mine = owner()
    _other_user, others = owner(name="李娜")
    with pytest.raises(NotFound) as missing:
        services.application_submit(actor=user, business_code="B1", vehicle_id=others.pk, delivery=PICKUP)
    assert missing.value.code == "applications.vehicle_not_found"
    assert not Application.objects.exists()


def test_an_owner_without_a_vehicle_is_told_so(make_person, citizen):
    user = citizen(make_person(), level="counter")
    answer = eligibility.business_eligibility(actor=user, business_code="B21", today=_today())
    assert not answer.allowed and answer.code == "applications.no_vehicle" and answer.remedy_zh


def test_with_several_vehicles_the_answer_lists_each_and_a_choice_is_needed(owner, make_vehicle):
    user, stolen = owner(status="C")
    fine = make_vehicle(owner=user.person, last_inspected_on=_today() - timedelta(days=10))
    answer = eligibility.business_eligibility(actor=user, business_code="B1", today=_today())
    assert answer.allowed and answer.vehicle_id == fine.pk
    listed = {v["vehicle_id"]: v for v in answer.details["vehicles"]}
    assert listed[stolen.pk]["allowed"] is False and listed[fine.pk]["allowed"] is True
    with pytest.raises(ValidationFailed) as choose:
        services.application_submit(actor=user, business_code="B1", delivery=PICKUP)
    assert choose.value.code == "applications.vehicle_required"


def test_e6_owner_with_a_valid_e_mark_is_refused_b3_with_the_link(owner):
    user, vehicle = owner()
    mark = credentials.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    assert mark is not None
    answer = eligibility.business_eligibility(actor=user, business_code="B3", today=_today())
    assert not answer.allowed and answer.code == "vehicle.e_mark_valid"
    assert answer.details["credential_url"] == f"/credentials/{mark.public_id}/"
    page = _client(user).get("/applications/businesses/B3/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-reason="vehicle.e_mark_valid"' in html and f"/credentials/{mark.public_id}/" in html


def test_b3_is_allowed_without_a_valid_e_mark(owner):
    user, vehicle = owner()
    mark = credentials.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    Credential.objects.filter(pk=mark.pk).update(status="suspended")
    answer = eligibility.business_eligibility(actor=user, business_code="B3", today=_today())
    assert answer.allowed
    app = services.application_submit_with_materials(
        actor=user, business_code="B3", vehicle_id=vehicle.pk, delivery=PICKUP, materials=_statement()
    )
    assert app.fee_fen == 0 and app.state == State.SUBMITTED


# ---------------------------------------------------------------- submission to completion


def test_lost_plate_submit_fee_accept_post_complete_counts_and_reissues_the_e_mark(owner, clerk):
    user, vehicle = owner()
    old = credentials.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    old_text = credentials.credential_token(credential=old, mode=2)[0]
    app = services.application_submit_with_materials(
        actor=user, business_code="B1", vehicle_id=vehicle.pk, delivery=POST, materials=_statement()
    )
    assert (app.vehicle_id, app.division, app.fee_fen) == (vehicle.pk, vehicle.division, 10000)
    with pytest.raises(Conflict) as unpaid:
        services.application_accept(actor=clerk, application_id=app.pk)
    assert unpaid.value.code == "applications.fee_unpaid"
    assert _deliver_by_post(clerk, app).state == State.COMPLETED
    vehicle.refresh_from_db()
    assert (vehicle.plate_issue_count, vehicle.plate_issued_on) == (1, _today())
    assert vehicle.vehicle_licence_issue_count == 0
    outbox_dispatch()
    old.refresh_from_db()
    assert old.status == Credential.Status.SUPERSEDED and old.superseded_by_id is not None
    new = Credential.objects.get(pk=old.superseded_by_id)
    assert new.status == Credential.Status.VALID and new.event == "vehicle_plate_reissued"
    # The new mark's QR, drawn as the owner downloads it and decoded, verifies; the old one does not.
    png = _client(user).get(f"/credentials/{new.public_id}/offline.png")
    assert png.status_code == 200
    (text,) = decode_qr_image(png.content)
    verdict = credentials.credential_verify(text=text)
    assert verdict.valid and verdict.subject.get("plate") == vehicle.plate_number
    assert not credentials.credential_verify(text=old_text).valid
    # Delivered again (the outbox is at least once), the announcement does not reissue twice.
    credentials._on_registry_change({"event": "vehicle_plate_reissued", "vehicle_id": vehicle.pk}, "again")
    assert Credential.objects.filter(vehicle=vehicle, status="valid").get().pk == new.pk


def test_damaged_vehicle_licence_picked_up_records_the_issue(owner, clerk):
    user, vehicle = owner()
    photo = (MaterialInput(kind="damaged_photo", content=jpeg_bytes(), filename="licence.jpg"),)
    app = services.application_submit_with_materials(
        actor=user, business_code="B21", vehicle_id=vehicle.pk, delivery=PICKUP, materials=photo
    )
    assert app.fee_fen == 1000
    settle_fee(app, clerk)
    services.application_accept(actor=clerk, application_id=app.pk)
    services.application_start_production(actor=clerk, application_id=app.pk)
    app, code = services.application_ready_for_pickup(actor=clerk, application_id=app.pk)
    services.application_hand_over(actor=clerk, application_id=app.pk, pickup_code=code)
    vehicle.refresh_from_db()
    assert (vehicle.vehicle_licence_issue_count, vehicle.vehicle_licence_issued_on) == (1, _today())
    assert vehicle.plate_issue_count == 0


def test_completion_is_refused_when_the_vehicle_was_reported_stolen_meanwhile(owner, clerk):
    user, vehicle = owner()
    app = services.application_submit(actor=user, business_code="B20", vehicle_id=vehicle.pk, delivery=POST)
    settle_fee(app, clerk)
    services.application_accept(actor=clerk, application_id=app.pk)
    services.application_start_production(actor=clerk, application_id=app.pk)
    services.application_post(actor=clerk, application_id=app.pk, waybill_number="EA123456785CN")
    Vehicle.objects.filter(pk=vehicle.pk).update(status="C")
    with pytest.raises(Conflict) as refused:
        services.application_complete(actor=clerk, application_id=app.pk)
    assert refused.value.code == "vehicle.status_C"
    app.refresh_from_db()
    vehicle.refresh_from_db()
    assert app.state == State.POSTED and vehicle.vehicle_licence_issue_count == 0


def test_two_cars_plates_may_be_replaced_at_once_but_not_one_twice(owner, make_vehicle):
    user, first = owner()
    second = make_vehicle(owner=user.person, last_inspected_on=_today() - timedelta(days=10))
    services.application_submit(actor=user, business_code="B1", vehicle_id=first.pk, delivery=PICKUP)
    services.application_submit(actor=user, business_code="B1", vehicle_id=second.pk, delivery=PICKUP)
    with pytest.raises(Conflict) as again:
        services.application_submit(actor=user, business_code="B1", vehicle_id=first.pk, delivery=PICKUP)
    assert again.value.code == "applications.already_open"
    # The database holds the line too (application_one_open now includes the vehicle).
    row = Application.objects.filter(vehicle=first).get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(
            number="X-1", business_code="B1", applicant=user, subject_person=user.person, vehicle=first,
            division=row.division, submitted_at=timezone.now(),
        )  # fmt: skip


# ---------------------------------------------------------------- the API and the pages


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_api_submits_a_vehicle_business_with_vehicle_id(owner):
    user, vehicle = owner()
    body = {
        "business": "B20",
        "vehicle_id": vehicle.pk,
        "delivery": {"method": "pickup"},
        "note": "行驶证遗失",
    }
    client = _client(user)
    answer = client.post(
        "/api/v1/me/applications", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert answer.status_code == 201, answer.content
    data = answer.json()
    assert (data["business"], data["vehicle_id"], data["plate_number"], data["fee_fen"]) == (
        "B20", vehicle.pk, vehicle.plate_number, 1000,
    )  # fmt: skip
    again = client.post(
        "/api/v1/me/applications", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert again.status_code == 201 and again.json()["id"] == data["id"]
    assert Application.objects.count() == 1
    rows = {b["code"]: b for b in client.get("/api/v1/businesses").json()}
    assert rows["B20"]["eligibility"]["vehicle_id"] == vehicle.pk and "E2" not in rows


def test_api_refuses_someone_elses_vehicle_with_404(owner):
    user, _vehicle = owner()
    _other, others = owner(name="李娜")
    body = {"business": "B1", "vehicle_id": others.pk, "delivery": {"method": "pickup"}}
    answer = _client(user).post("/api/v1/me/applications", body, content_type="application/json")
    assert answer.status_code == 404 and answer.json()["code"] == "applications.vehicle_not_found"


def test_api_refuses_e2_which_the_platform_opens_itself(owner):
    user, vehicle = owner()
    body = {"business": "E2", "vehicle_id": vehicle.pk, "delivery": {"method": "pickup"}}
    answer = _client(user).post("/api/v1/me/applications", body, content_type="application/json")
    assert answer.status_code == 404


def test_business_page_applies_for_the_chosen_vehicle_and_the_clerk_sees_it(owner, make_vehicle, clerk):
    user, first = owner()
    second = make_vehicle(owner=user.person, last_inspected_on=_today() - timedelta(days=10))
    client = _client(user)
    page = client.get(f"/applications/businesses/B20/?vehicle={second.pk}")
    assert page.status_code == 200 and second.plate_number in page.content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    answer = client.post(
        "/applications/businesses/B20/",
        {"vehicle_id": second.pk, "delivery_method": "pickup", "note": "",
         "statement": SimpleUploadedFile("s.pdf", pdf_bytes(), content_type="application/pdf")},
    )  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[:2000]
    app = Application.objects.get()
    assert app.vehicle_id == second.pk and first.pk != second.pk
    staff = _client(clerk)
    queue = staff.get("/counter/applications/").content.decode()
    assert second.plate_number in queue
    detail = staff.get(f"/counter/applications/{app.pk}/").content.decode()
    assert 'id="vehicle"' in detail and second.plate_number in detail


def test_the_service_tiles_lead_to_the_vehicle_business_pages(owner):
    user, _vehicle = owner()
    client = _client(user)
    for code in ("B1", "B2", "B3", "B20", "B21"):
        answer = client.get(f"/services/{code}/")
        assert answer.status_code == 302 and answer["Location"] == f"/applications/businesses/{code}/"
    assert client.get("/services/E2/")["Location"] == "/credentials/"


# ---------------------------------------------------------------- paper marks (E2)


def _exempt_owner(make_person, make_vehicle, citizen):
    person = make_person(name="王芳")
    # Registered almost two years ago: the year-2 due is label-only and within 3 months (E2).
    vehicle = make_vehicle(owner=person, registered_on=_today() - timedelta(days=365 * 2 - 30))
    return citizen(person, level="online"), vehicle


def test_exempt_application_with_a_paper_mark_opens_an_accepted_application(
    make_person, make_vehicle, citizen, clerk
):
    user, vehicle = _exempt_owner(make_person, make_vehicle, citizen)
    credential = credentials.inspection_exempt_apply(
        actor=user, vehicle_id=vehicle.pk, delivery="post", address="驻马店市驿城区解放路2号"
    )
    outbox_dispatch()
    app = Application.objects.get()
    assert (app.business_code, app.state, app.vehicle_id, app.applicant_id) == (
        "E2",
        State.ACCEPTED,
        vehicle.pk,
        user.pk,
    )
    assert app.delivery_method == "post" and app.address_line == "驻马店市驿城区解放路2号"
    assert app.recipient_name == "王芳" and app.fee_fen == 0
    assert (app.accept_due_on, app.deadline_known, app.accepted_at is not None) == (_today(), True, True)
    assert app.particulars["credential_id"] == credential.pk
    steps = list(ApplicationEvent.objects.filter(application=app).values_list("action", "actor_id"))
    assert steps == [("submit", None), ("accept", None)]
    # The owner is told, like for every application (issue 13): one message per step.
    outbox_dispatch()  # the steps' own messages, stored while the request's was delivered
    assert ApplicantMessage.objects.filter(application=app, user=user).count() == 2
    # Worked like any application: production, post, completion; the stored request is then sent.
    services.application_start_production(actor=clerk, application_id=app.pk)
    services.application_post(actor=clerk, application_id=app.pk, waybill_number="EA123456785CN")
    services.application_complete(actor=clerk, application_id=app.pk)
    assert PaperMarkRequest.objects.get().sent_at is not None


def test_exempt_application_without_a_paper_mark_opens_nothing(make_person, make_vehicle, citizen):
    user, vehicle = _exempt_owner(make_person, make_vehicle, citizen)
    credentials.inspection_exempt_apply(actor=user, vehicle_id=vehicle.pk)
    outbox_dispatch()
    assert not Application.objects.exists()


def test_stored_requests_become_applications_once(make_person, make_vehicle, citizen):
    _user, vehicle = _exempt_owner(make_person, make_vehicle, citizen)
    mark = credentials.inspection_mark_issue(vehicle_id=vehicle.pk, event="exempt_applied")
    # A request stored before the engine took paper marks over: no message was ever sent for it.
    PaperMarkRequest.objects.create(credential=mark, delivery="pickup")
    call_command("open_paper_mark_applications")
    call_command("open_paper_mark_applications")
    app = Application.objects.get()
    assert (app.business_code, app.state, app.delivery_method) == ("E2", State.ACCEPTED, "pickup")


def _inspection_payload(user, vehicle, **changes):
    return {
        "vehicle_id": vehicle.pk, "owner_user_id": user.pk, "credential_id": None, "delivery": "post",
        "recipient_name": "张伟", "recipient_phone": "13800138000", "address_division": "411702",
        "address_line": "驻马店市驿城区解放路1号", "division": vehicle.division, "source": "inspections:result-17",
        **changes,
    }  # fmt: skip


def test_inspection_label_event_opens_one_application_however_often_it_arrives(owner):
    user, vehicle = owner(level="online")
    payload = _inspection_payload(user, vehicle)
    for key in ("inspections-label-17", "inspections-label-17-again"):
        with transaction.atomic():
            outbox_enqueue(topic="inspections.paper_label_requested", payload=payload, dedup_key=key)
    outbox_dispatch()
    app = Application.objects.get()
    assert (app.business_code, app.state, app.source_key) == ("E2", State.ACCEPTED, "inspections:result-17")
    assert app.delivery_method == "post" and app.recipient_phone == "13800138000"
    # Straight through the service too: the same source returns the same application.
    again = services.paper_mark_application_open(request=PaperMarkInput.from_payload(payload))
    assert again.pk == app.pk and Application.objects.count() == 1


def test_inspection_label_event_for_someone_elses_vehicle_opens_nothing(owner):
    user, _mine = owner()
    _other, others = owner(name="李娜")
    with pytest.raises(NotFound):
        services.paper_mark_application_open(
            request=PaperMarkInput.from_payload(_inspection_payload(user, others))
        )
    assert not Application.objects.exists()


def test_a_second_source_while_one_is_open_joins_it(owner):
    user, vehicle = owner()
    first = services.paper_mark_application_open(
        request=PaperMarkInput.from_payload(_inspection_payload(user, vehicle))
    )
    second = services.paper_mark_application_open(
        request=PaperMarkInput.from_payload(
            _inspection_payload(user, vehicle, source="inspections:result-18")
        )
    )
    assert second.pk == first.pk and Application.objects.count() == 1


def test_a_post_request_without_an_address_is_picked_up(owner):
    user, vehicle = owner()
    app = services.paper_mark_application_open(
        request=PaperMarkInput.from_payload(_inspection_payload(user, vehicle, address_line=""))
    )
    assert app.delivery_method == "pickup"


def test_b1_applicant_pages_show_the_plate(owner):
    user, vehicle = owner()
    app = services.application_submit(actor=user, business_code="B2", vehicle_id=vehicle.pk, delivery=PICKUP)
    client = _client(user)
    assert vehicle.plate_number in client.get("/applications/").content.decode()
    assert vehicle.plate_number in client.get(f"/applications/{app.pk}/").content.decode()


def test_delivery_input_is_required_for_vehicle_businesses(owner):
    user, vehicle = owner()
    with pytest.raises(ValidationFailed) as missing:
        services.application_submit(
            actor=user, business_code="B1", vehicle_id=vehicle.pk, delivery=DeliveryInput()
        )
    assert missing.value.code == "applications.delivery_required"


# ---------------------------------------------------------------- races (PostgreSQL)


@pytest.mark.django_db(transaction=True)
def test_parallel_submissions_for_one_vehicle_make_one_application(owner, run_together):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    user, vehicle = owner()

    def submit():
        return services.application_submit(
            actor=user, business_code="B2", vehicle_id=vehicle.pk, delivery=PICKUP
        )

    results = run_together(*[submit] * 4)
    assert sum(isinstance(r, Application) for r in results) == 1, results
    assert all(isinstance(r, (Application, Conflict)) for r in results), results
    assert Application.objects.filter(vehicle=vehicle).count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_paper_mark_request_delivered_in_parallel_opens_one_application(owner, run_together):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are exercised on PostgreSQL")
    user, vehicle = owner()
    payload = _inspection_payload(user, vehicle)

    def deliver():
        return services.paper_mark_application_open(request=PaperMarkInput.from_payload(payload))

    results = run_together(*[deliver] * 4)
    assert all(isinstance(r, Application) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Application.objects.count() == 1


def test_an_online_owner_of_two_cars_is_told_the_upgrade_without_a_car_to_choose(owner, make_vehicle):
    user, _first = owner(level="online")
    make_vehicle(owner=user.person, last_inspected_on=_today() - timedelta(days=10))
    html = _client(user).get("/applications/businesses/B1/").content.decode()
    assert (
        'data-reason="accounts.counter_registration_required"' in html and 'id="vehicle-choice"' not in html
    )
