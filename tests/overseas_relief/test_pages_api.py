"""The overseas relief (O4) through its pages and API: the driver's page and upload, the counter's
list, case file and decisions, the API's apply and list with Idempotency-Key, and errors as
answers (never a 500)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jiaoguan.core.models import AuditEntry
from jiaoguan.overseas_relief.models import ReliefCase

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/overseas-reliefs"


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _long_abroad(driver):
    """Abroad since 2019, cancelled in 2021, back only recently: still within the 6 months today."""
    from django.utils import timezone

    from jiaoguan.registry.rules import add_months

    back = add_months(timezone.localdate(), -2)
    return driver(returned_on=back)


def test_page_apply_and_counter_accept_and_approve(driver, certificate_png, clerk, head):
    user, licence = _long_abroad(driver)
    client = _client(user)
    page = client.get("/overseas-relief/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="apply-form"' in text and "/me/entrustments/" in text and "可委托国内亲友办理延期" in text
    answer = client.post(
        "/overseas-relief/apply/", {"certificate": SimpleUploadedFile("c.png", certificate_png, "image/png")}
    )
    assert answer.status_code == 302
    case = ReliefCase.objects.get()
    assert case.state == "submitted" and case.path == "direct"
    assert 'id="apply-form"' not in client.get("/overseas-relief/").content.decode()

    desk = _client(clerk)
    listing = desk.get("/counter/overseas-reliefs/").content.decode()
    assert case.number in listing and "陈*" in listing and licence.holder.id_number not in listing
    before = AuditEntry.objects.filter(subject_id=str(case.pk), action="view").count()
    file_page = desk.get(f"/counter/overseas-reliefs/{case.pk}/").content.decode()
    assert 'id="accept"' in file_page and 'id="approve"' not in file_page
    assert AuditEntry.objects.filter(subject_id=str(case.pk), action="view").count() == before + 1
    certificate = desk.get(f"/counter/overseas-reliefs/{case.pk}/certificate")
    assert certificate["Content-Type"] == "image/png" and certificate.content == certificate_png
    assert (
        desk.post(f"/counter/overseas-reliefs/{case.pk}/decision", {"decision": "accept"}).status_code == 302
    )
    # The clerk may not approve: the table refuses (403), and the page offers no button.
    assert (
        desk.post(f"/counter/overseas-reliefs/{case.pk}/decision", {"decision": "approve"}).status_code == 403
    )

    boss = _client(head)
    assert 'id="approve"' in boss.get(f"/counter/overseas-reliefs/{case.pk}/").content.decode()
    assert (
        boss.post(f"/counter/overseas-reliefs/{case.pk}/decision", {"decision": "approve"}).status_code == 302
    )
    case.refresh_from_db()
    licence.refresh_from_db()
    assert case.state == "restored" and licence.status == "A"
    mine = client.get("/overseas-relief/").content.decode()
    assert 'data-status="A"' in mine and 'data-state="restored"' in mine


def test_page_shows_subject_1_waiting(driver, certificate_png):
    from django.utils import timezone

    from jiaoguan.registry.rules import add_months

    user, _licence = driver(status="G", returned_on=add_months(timezone.localdate(), -1))
    client = _client(user)
    client.post("/overseas-relief/apply/", {"certificate": SimpleUploadedFile("c.png", certificate_png)})
    text = client.get("/overseas-relief/").content.decode()
    assert "科目一考试合格后予以恢复" in text and "/exams/" in text


def test_page_refusals_are_messages_not_errors(driver, certificate_png, exit_entry_service):
    user, _licence = driver()  # back in 2021: long past the 6 months today
    client = _client(user)
    answer = client.post(
        "/overseas-relief/apply/", {"certificate": SimpleUploadedFile("c.png", certificate_png)}, follow=True
    )
    assert answer.status_code == 200 and "已超过期限" in answer.content.decode()
    exit_entry_service.behaviour(unavailable=True)
    answer = client.post(
        "/overseas-relief/apply/", {"certificate": SimpleUploadedFile("c.png", certificate_png)}, follow=True
    )
    assert "暂时无法核查出入境记录" in answer.content.decode()
    assert client.post("/overseas-relief/apply/", {}, follow=True).status_code == 200
    assert ReliefCase.objects.count() == 0


def test_counter_bad_input(driver, clerk):
    desk = _client(clerk)
    assert desk.get("/counter/overseas-reliefs/?state=nonsense").status_code == 200
    assert desk.get("/counter/overseas-reliefs/99999999/").status_code == 404
    assert desk.post("/counter/overseas-reliefs/99999999/decision", {"decision": "accept"}).status_code == 404


def test_api_apply_is_idempotent_and_lists(driver, certificate_png):
    user, _licence = _long_abroad(driver)
    client = _client(user)

    def post(key):
        return client.post(
            URL,
            {"certificate": SimpleUploadedFile("c.png", certificate_png, "image/png")},
            HTTP_IDEMPOTENCY_KEY=key,
        )

    first = post("relief-1")
    assert first.status_code == 201, first.content
    body = first.json()
    assert (
        body["state"] == "submitted" and body["path"] == "direct" and body["waiting_for_subject_1"] is False
    )
    again = post("relief-1")
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    assert ReliefCase.objects.count() == 1
    second = post("relief-2")
    assert second.status_code == 409 and second.json()["code"] == "overseas_relief.open_case"
    listed = client.get(URL)
    assert listed.status_code == 200 and [c["id"] for c in listed.json()] == [body["id"]]


def test_api_errors(driver, certificate_png, exit_entry_service, make_staff):
    user, _licence = driver()
    client = _client(user)
    late = client.post(URL, {"certificate": SimpleUploadedFile("c.png", certificate_png)})
    assert late.status_code == 409 and late.json()["code"] == "licence.relief.too_late"
    bad = client.post(URL, {"certificate": SimpleUploadedFile("c.png", b"nonsense")})
    assert bad.status_code == 422
    missing = client.post(URL, {})
    assert missing.status_code in (400, 422)
    exit_entry_service.behaviour(unavailable=True)
    down = client.post(URL, {"certificate": SimpleUploadedFile("c.png", certificate_png)})
    assert down.status_code == 503 and down.json()["code"] == "overseas_relief.records_unavailable"
    assert Client().get(URL).status_code == 401
    assert _client(make_staff()).get(URL).status_code == 403


def test_lists_take_a_fixed_number_of_queries(driver, certificate_png, clerk, django_assert_max_num_queries):
    from jiaoguan.overseas_relief import services

    users = []
    for _n in range(4):
        user, _licence = driver()
        services.case_apply(
            actor=user, certificate=services.Certificate(certificate_png, "c.png"), today=date(2021, 9, 1)
        )
        users.append(user)
    desk = _client(clerk)
    desk.get("/counter/overseas-reliefs/")  # warm the session and the menu
    with django_assert_max_num_queries(12):
        page = desk.get("/counter/overseas-reliefs/")
    assert page.content.decode().count('id="case-') == 4
    client = _client(users[0])
    client.get(URL)
    with django_assert_max_num_queries(8):
        assert len(client.get(URL).json()) == 1
    with django_assert_max_num_queries(12):
        assert client.get("/overseas-relief/").status_code == 200


def test_the_page_in_english(driver):
    user, _licence = driver()
    client = _client(user)
    client.cookies["django_language"] = "en"
    text = client.get("/overseas-relief/").content.decode()
    assert "Restoring a licence cancelled while abroad" in text and "R Cancelled, restorable" in text


def test_counter_api_accept_approve_reject(driver, certificate_png, clerk, head, make_staff):
    from jiaoguan.overseas_relief import services

    def apply(user):
        return services.case_apply(
            actor=user, certificate=services.Certificate(certificate_png, "c.png"), today=date(2021, 9, 1)
        )

    user, licence = driver()
    case = apply(user)
    desk, boss = _client(clerk), _client(head)
    listed = desk.get("/api/v1/counter/overseas-reliefs?state=submitted").json()
    assert [c["id"] for c in listed] == [case.pk] and "*" in listed[0]["driver_name"]
    assert boss.post(f"/api/v1/counter/overseas-reliefs/{case.pk}/acceptance").status_code == 403
    accepted = desk.post(f"/api/v1/counter/overseas-reliefs/{case.pk}/acceptance")
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    assert desk.post(f"/api/v1/counter/overseas-reliefs/{case.pk}/approval").status_code == 403
    approved = boss.post(f"/api/v1/counter/overseas-reliefs/{case.pk}/approval")
    assert approved.status_code == 200 and approved.json()["state"] == "restored"
    assert approved.json()["approved_by"] == head.username
    again = boss.post(f"/api/v1/counter/overseas-reliefs/{case.pk}/approval")
    assert again.status_code == 409 and again.json()["code"] == "overseas_relief.state"
    licence.refresh_from_db()
    assert licence.status == "A"

    other, _other_licence = driver(status="G")
    second = apply(other)
    rejected = desk.post(
        f"/api/v1/counter/overseas-reliefs/{second.pk}/rejection",
        {"reason": "证明不清晰"},
        content_type="application/json",
    )
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    assert desk.post("/api/v1/counter/overseas-reliefs/99999999/acceptance").status_code == 404
    outsider = _client(make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zk"))
    assert outsider.get("/api/v1/counter/overseas-reliefs").json() == []
    assert outsider.post(f"/api/v1/counter/overseas-reliefs/{second.pk}/acceptance").status_code == 403


def test_the_home_page_leads_citizens_to_the_relief(driver, clerk):
    user, _licence = driver()
    assert 'href="/overseas-relief/"' in _client(user).get("/").content.decode()
    assert 'href="/counter/overseas-reliefs/"' in _client(clerk).get("/counter/").content.decode()
