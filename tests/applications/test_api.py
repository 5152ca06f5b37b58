"""The applications API (issue 13) on SQLite and PostgreSQL: the catalogue, my applications,
withdrawal, supplements and materials."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from jiaoguan.applications import services
from jiaoguan.applications.models import Application, ApplicationMaterial
from jiaoguan.applications.rules import State

from .conftest import pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db

BODY = {"business": "B11", "licence_id": None, "delivery": {"method": "pickup"}, "note": "旧证破损"}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _body(licence, **changes):
    return {**BODY, "licence_id": licence.pk, **changes}


# ---------------------------------------------------------------- the catalogue


def test_anonymous_callers_get_the_catalogue_without_eligibility():
    answer = Client().get("/api/v1/businesses")
    assert answer.status_code == 200
    rows = {b["code"]: b for b in answer.json()}
    assert {"B8", "B9", "B10", "B11", "B12", "B13", "B14"} <= set(rows)
    b8 = rows["B8"]
    assert b8["name_zh"] == "期满换领驾驶证" and b8["fee_fen"] == 1000 and b8["eligibility"] is None
    assert [m["code"] for m in b8["materials"]] == ["photo", "medical_certificate"]
    assert [d["code"] for d in b8["delivery"]] == ["post", "pickup"]
    assert rows["B12"]["fee_fen"] == 0 and rows["B12"]["delivery"] == []


def test_a_caller_gets_the_eligibility_with_the_true_reason(driver):
    counter_user, _ = driver()
    online_user, _ = driver(name="李娜", level="online")
    rows = {b["code"]: b for b in _client(counter_user).get("/api/v1/businesses").json()}
    assert rows["B11"]["eligibility"]["allowed"] is True
    refused = {b["code"]: b for b in _client(online_user).get("/api/v1/businesses").json()}["B11"]
    # U5: an online-registered account is told the counter upgrade, in both languages.
    assert refused["eligibility"]["allowed"] is False
    assert refused["eligibility"]["code"] == "accounts.counter_registration_required"
    assert "窗口" in refused["eligibility"]["reason_zh"] and refused["eligibility"]["reason_en"]


def test_a_bad_bearer_token_is_401_not_anonymous():
    answer = Client(HTTP_AUTHORIZATION="Bearer nothing-such").get("/api/v1/businesses")
    assert answer.status_code == 401


# ---------------------------------------------------------------- submitting


def test_submit_answers_201_and_a_replay_with_the_same_key_answers_the_first_answer(driver):
    user, licence = driver()
    client = _client(user)
    first = client.post(
        "/api/v1/me/applications", _body(licence), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == 201, first.content
    replay = client.post(
        "/api/v1/me/applications", _body(licence), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert replay.status_code == 201 and replay.json() == first.json()
    assert Application.objects.filter(applicant=user).count() == 1
    body = first.json()
    assert body["business"] == "B11" and body["state"] == "submitted" and body["fee_fen"] == 1000
    assert body["timeline"][0]["to_state"] == "submitted" and body["timeline"][0]["actor"] == "申请人"
    assert body["next_deadline"]["what"] == "accept"
    # A new key is a new request: the second open application of the business is refused.
    again = client.post(
        "/api/v1/me/applications", _body(licence), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert again.status_code == 409 and again.json()["code"] == "applications.already_open"


def test_the_same_key_with_another_body_is_a_conflict(driver):
    user, licence = driver()
    client = _client(user)
    client.post(
        "/api/v1/me/applications", _body(licence), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    other = client.post(
        "/api/v1/me/applications", _body(licence, note="另一份"), content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
    )  # fmt: skip
    assert other.status_code == 409 and other.json()["code"] == "core.idempotency_key_reused"


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"business": "B99"}, 404, "applications.business_unknown"),
        ({"licence_id": None}, 422, "applications.licence_required"),
        ({"delivery": {"method": "drone"}}, 422, "applications.delivery_required"),
        ({"delivery": {"method": "post", "recipient_name": "张伟"}}, 422, "applications.address_required"),
        ({"licence_id": "abc"}, 422, "request.invalid"),
        ({"note": "bad\x00note"}, 422, "request.invalid"),
    ],
)
def test_bad_input_is_refused_with_a_stable_code_and_nothing_is_stored(driver, changes, status, code):
    user, licence = driver()
    answer = _client(user).post(
        "/api/v1/me/applications", _body(licence, **changes), content_type="application/json"
    )
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.content
    assert answer.json()["message"]
    assert not Application.objects.exists()


def test_someone_elses_licence_is_404(driver):
    user, _ = driver()
    _, other_licence = driver(name="李强", mobile="13800138003")
    answer = _client(user).post(
        "/api/v1/me/applications", _body(other_licence), content_type="application/json"
    )
    assert answer.status_code == 404 and not Application.objects.exists()


def test_anonymous_cannot_submit():
    answer = Client().post("/api/v1/me/applications", BODY, content_type="application/json")
    assert answer.status_code == 401


# ---------------------------------------------------------------- reading


def test_my_applications_are_paged_by_cursor_newest_first(driver, submit):
    user, licence = driver()
    numbers = []
    # Replacement (B10, B11) is open to any valid licence whatever the day; the withdrawn B10
    # makes room for a third application of the same business.
    for code in ("B10", "B11"):
        numbers.append(submit(user, licence, code=code).number)
    services.application_withdraw(actor=user, application_id=Application.objects.get(number=numbers[0]).pk)
    numbers.append(submit(user, licence, code="B10").number)
    client = _client(user)
    first = client.get("/api/v1/me/applications?limit=2").json()
    assert [a["number"] for a in first["items"]] == numbers[::-1][:2] and first["next_cursor"]
    second = client.get(f"/api/v1/me/applications?limit=2&cursor={first['next_cursor']}").json()
    assert [a["number"] for a in second["items"]] == [numbers[0]] and second["next_cursor"] is None
    assert client.get("/api/v1/me/applications?cursor=garbage").status_code == 422


def test_someone_elses_application_is_404_everywhere(driver, submit):
    owner, licence = driver()
    app = submit(owner, licence)
    intruder, _ = driver(name="李强", mobile="13800138003")
    client = _client(intruder)
    assert client.get(f"/api/v1/me/applications/{app.pk}").status_code == 404
    assert (
        client.post(
            f"/api/v1/me/applications/{app.pk}/withdrawal", {}, content_type="application/json"
        ).status_code
        == 404
    )
    upload = SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png")
    assert (
        client.post(
            f"/api/v1/me/applications/{app.pk}/materials", {"kind": "photo", "file": upload}
        ).status_code
        == 404
    )
    assert client.get("/api/v1/me/applications").json()["items"] == []
    assert Application.objects.get(pk=app.pk).state == State.SUBMITTED


def test_the_timeline_names_the_dmv_not_the_clerk(driver, submit, clerk, accept):
    user, licence = driver()
    app = submit(user, licence)
    accept(app)
    body = _client(user).get(f"/api/v1/me/applications/{app.pk}").json()
    # Submitted, the fee paid (a step without a change of state), accepted.
    assert [s["to_state"] for s in body["timeline"]] == ["submitted", "submitted", "accepted"]
    assert body["timeline"][-1]["actor"] == "车管所" and clerk.username not in str(body)
    # The fee is "due" until paid; taken at the counter first once submission makes a fee notice.
    assert body["next_deadline"] is None and body["fee_state"] == ("paid" if app.fee_payable_id else "due")


# ---------------------------------------------------------------- withdrawal, materials, supplements


def test_withdrawal_before_acceptance_and_refused_after(driver, submit, clerk, accept):
    user, licence = driver()
    client = _client(user)
    app = submit(user, licence)
    answer = client.post(
        f"/api/v1/me/applications/{app.pk}/withdrawal", {"note": "不办了"}, content_type="application/json"
    )
    assert answer.status_code == 200 and answer.json()["state"] == "withdrawn"
    again = submit(user, licence)
    accept(again)
    late = client.post(f"/api/v1/me/applications/{again.pk}/withdrawal", {}, content_type="application/json")
    assert late.status_code == 409 and late.json()["code"] == "applications.transition_not_allowed"


def test_a_material_is_stored_with_its_sniffed_type_and_digest(driver, submit):
    user, licence = driver()
    app = submit(user, licence)
    data = png_bytes()
    # The browser's claim (and the name) say JPEG; the bytes say PNG and are believed... unless
    # the name's extension contradicts them, which is refused as forged.
    upload = SimpleUploadedFile("photo.png", data, content_type="image/jpeg")
    answer = _client(user).post(
        f"/api/v1/me/applications/{app.pk}/materials", {"kind": "photo", "file": upload}
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["content_type"] == "image/png"
    stored = ApplicationMaterial.objects.get(application=app)
    assert bytes(stored.content) == data and stored.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("kind", "name", "data", "code"),
    [
        ("photo", "photo.gif", b"GIF89a" + b"\0" * 40, "upload.type"),
        ("photo", "photo.jpg", None, "upload.extension_mismatch"),
        ("photo", "big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024), "upload.too_large"),
        ("statement", "s.pdf", None, "applications.material_kind"),  # B11 asks for a photo only
        ("medical_certificate", "m.png", None, "applications.material_kind"),
    ],
)
def test_bad_materials_are_refused_and_nothing_is_stored(driver, submit, kind, name, data, code):
    user, licence = driver()
    app = submit(user, licence)
    upload = SimpleUploadedFile(name, data if data is not None else png_bytes())
    answer = _client(user).post(f"/api/v1/me/applications/{app.pk}/materials", {"kind": kind, "file": upload})
    assert answer.status_code in (422, 413) and answer.json()["code"] == code, answer.content
    assert not ApplicationMaterial.objects.exists()


def test_materials_are_refused_once_accepted(driver, submit, clerk, accept):
    user, licence = driver()
    app = submit(user, licence)
    accept(app)
    upload = SimpleUploadedFile("p.png", png_bytes())
    answer = _client(user).post(
        f"/api/v1/me/applications/{app.pk}/materials", {"kind": "photo", "file": upload}
    )
    assert answer.status_code == 409 and answer.json()["code"] == "applications.materials_closed"


def test_a_supplement_with_a_file_resubmits_the_returned_application(driver, submit, clerk):
    user, licence = driver()
    app = submit(user, licence, code="B10")
    due = timezone.localdate() + timedelta(days=5)
    services.application_return_for_supplement(
        actor=clerk, application_id=app.pk, reason="照片不清晰", supplement_due_on=due
    )
    client = _client(user)
    returned = client.get(f"/api/v1/me/applications/{app.pk}").json()
    assert returned["state"] == "returned" and returned["return_reason"] == "照片不清晰"
    assert returned["next_deadline"] == {"what": "supplement", "due_on": due.isoformat(), "known": True}
    upload = SimpleUploadedFile("statement.pdf", pdf_bytes())
    answer = client.post(
        f"/api/v1/me/applications/{app.pk}/supplements",
        {"note": "已补充说明", "kind": "statement", "file": upload},
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["state"] == "submitted" and [m["kind"] for m in body["materials"]] == ["statement"]
    assert body["materials"][0]["content_type"] == "application/pdf"


def test_a_supplement_with_a_bad_file_changes_nothing(driver, submit, clerk):
    user, licence = driver()
    app = submit(user, licence, code="B10")
    services.application_return_for_supplement(
        actor=clerk,
        application_id=app.pk,
        reason="缺少说明",
        supplement_due_on=timezone.localdate() + timedelta(days=3),
    )
    upload = SimpleUploadedFile("statement.pdf", b"%PDF-1.4 broken")
    answer = _client(user).post(
        f"/api/v1/me/applications/{app.pk}/supplements", {"note": "补", "kind": "statement", "file": upload}
    )
    assert answer.status_code == 422 and answer.json()["code"] == "upload.damaged"
    assert Application.objects.get(pk=app.pk).state == State.RETURNED
    assert not ApplicationMaterial.objects.exists()


def test_a_supplement_of_an_application_not_returned_is_refused(driver, submit):
    user, licence = driver()
    app = submit(user, licence)
    answer = _client(user).post(f"/api/v1/me/applications/{app.pk}/supplements", {"note": "补"})
    assert answer.status_code == 409


def test_ids_beyond_the_database_range_and_broken_bodies_are_answers_not_failures(driver):
    user, licence = driver()
    client = _client(user)
    huge = 10**20
    assert client.get(f"/api/v1/me/applications/{huge}").status_code in (404, 422)
    refused = client.post(
        "/api/v1/me/applications", _body(licence, licence_id=huge), content_type="application/json"
    )
    assert refused.status_code in (404, 422)
    broken = client.post("/api/v1/me/applications", "{not json", content_type="application/json")
    assert 400 <= broken.status_code < 500
    assert client.get("/api/v1/me/applications?limit=abc").status_code == 422
    assert client.get(f"/applications/{huge}/").status_code == 404
    assert not Application.objects.exists()
