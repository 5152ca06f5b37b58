"""Pages and API of the elderly proxy (O2, U6): /me/elder-proxy/ (start, authentication with the
phone camera, the one business) and /api/v1/me/elder-proxies."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jiaoguan.applications.models import Application
from jiaoguan.delegations.models import DelegatedAction, ProxyAuthorisation

from .test_proxy import CAPTURE, ID_CARD, image

pytestmark = pytest.mark.django_db


@pytest.fixture
def father(elder_due_for_renewal):
    return elder_due_for_renewal


@pytest.fixture
def daughter(relative_of_elder):
    return relative_of_elder


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _start(client, elder, **kw):
    data = {
        "elder_id_number": elder.id_number, "elder_name": elder.name, "relationship": "child",
        "business_code": "B8", "id_card": SimpleUploadedFile("id.jpg", ID_CARD, "image/jpeg"),
    }  # fmt: skip
    data.update(kw)
    return client.post("/me/elder-proxy/", data)


def test_the_home_tile_leads_to_the_page(daughter):
    client = _client(daughter)
    assert 'href="/me/elder-proxy/"' in client.get("/").content.decode()
    page = client.get("/me/elder-proxy/")
    assert page.status_code == 200 and "老年人代办" in _text(page)


def test_start_authenticate_and_apply_through_the_pages(daughter, father, real_person_service):
    client = _client(daughter)
    answer = _start(client, father)
    proxy = ProxyAuthorisation.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/me/elder-proxy/{proxy.pk}/"
    page = client.get(answer["Location"]).content.decode()
    assert 'capture="user"' in page and 'accept="image/*"' in page
    # A failed attempt shows its reason and leaves the step open.
    real_person_service.person(father.id_number, "fail")
    failed = client.post(
        f"/me/elder-proxy/{proxy.pk}/authentication", {"capture": SimpleUploadedFile("c.jpg", CAPTURE, "image/jpeg")},
        follow=True,
    )  # fmt: skip
    assert "比对不一致" in _text(failed) and 'capture="user"' in failed.content.decode()
    real_person_service.person(father.id_number, None)
    passed = client.post(
        f"/me/elder-proxy/{proxy.pk}/authentication", {"capture": SimpleUploadedFile("c.jpg", CAPTURE, "image/jpeg")},
        follow=True,
    )  # fmt: skip
    assert "实人认证通过" in _text(passed) and 'id="apply-form"' in passed.content.decode()
    applied = client.post(
        f"/me/elder-proxy/{proxy.pk}/application",
        {"business_code": "B8", "delivery_method": "pickup", "photo": SimpleUploadedFile("p.png", image(fmt="PNG"), "image/png")},
    )  # fmt: skip
    app = Application.objects.get()
    assert applied.status_code == 302 and applied["Location"] == f"/applications/{app.pk}/"
    assert app.subject_person_id == father.pk and app.applicant_id == daughter.pk
    assert DelegatedAction.objects.get().reference == app.number
    again = client.get(f"/me/elder-proxy/{proxy.pk}/")
    assert app.number in _text(again) and 'id="apply-form"' not in again.content.decode()
    # The father follows it from his own account; paying and withdrawing stay with his daughter.
    from jiaoguan.accounts.models import User

    fathers = _client(User.objects.create_user(username=father.id_number, password="x", person=father))
    assert app.number in _text(fathers.get("/applications/"))
    detail = fathers.get(f"/applications/{app.pk}/").content.decode()
    assert app.number in detail and 'id="pay"' not in detail and "/withdraw/" not in detail
    assert 'id="pay"' in client.get(f"/applications/{app.pk}/").content.decode()


def test_refusals_show_on_the_form_and_store_nothing(daughter, make_person):
    from datetime import date

    younger = make_person(name="张建军", birth_date=date(1970, 1, 1), mobile="13903960070")
    answer = _start(_client(daughter), younger)
    assert answer.status_code == 400 and "60周岁以上" in _text(answer)
    assert not ProxyAuthorisation.objects.exists()


def test_someone_elses_proxy_is_404(daughter, father, make_person, citizen):
    _start(_client(daughter), father)
    proxy = ProxyAuthorisation.objects.get()
    stranger = _client(citizen(make_person(name="赵敏", mobile="13800138002")))
    assert stranger.get(f"/me/elder-proxy/{proxy.pk}/").status_code == 404
    capture = {"capture": SimpleUploadedFile("c.jpg", CAPTURE, "image/jpeg")}
    assert stranger.post(f"/me/elder-proxy/{proxy.pk}/authentication", capture).status_code == 404


def test_the_api_story(daughter, father, real_person_service):
    client = _client(daughter)
    data = {
        "elder_id_number": father.id_number, "elder_name": father.name, "relationship": "child",
        "business_code": "B8", "id_card": SimpleUploadedFile("id.jpg", ID_CARD, "image/jpeg"),
    }  # fmt: skip
    created = client.post("/api/v1/me/elder-proxies", data, HTTP_IDEMPOTENCY_KEY="px-1")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "awaiting_auth" and body["elder_name"] == "张**"
    data["id_card"] = SimpleUploadedFile("id.jpg", ID_CARD, "image/jpeg")
    retry = client.post("/api/v1/me/elder-proxies", data, HTTP_IDEMPOTENCY_KEY="px-1")
    assert retry.json()["id"] == body["id"] and ProxyAuthorisation.objects.count() == 1
    assert [p["id"] for p in client.get("/api/v1/me/elder-proxies").json()] == [body["id"]]

    real_person_service.behaviour(unavailable=True)
    capture = {"capture": SimpleUploadedFile("c.jpg", CAPTURE, "image/jpeg")}
    down = client.post(f"/api/v1/me/elder-proxies/{body['id']}/authentication", capture)
    assert down.status_code == 503 and down.json()["code"] == "delegations.proxy.auth_unavailable"
    real_person_service.behaviour(unavailable=False)
    capture = {"capture": SimpleUploadedFile("c.jpg", CAPTURE, "image/jpeg")}
    ok = client.post(f"/api/v1/me/elder-proxies/{body['id']}/authentication", capture)
    assert ok.status_code == 200 and ok.json()["state"] == "active"

    outside = client.post(
        f"/api/v1/me/elder-proxies/{body['id']}/applications",
        {"business_code": "B10"},
        content_type="application/json",
    )
    assert outside.status_code == 422 and outside.json()["code"] == "delegations.proxy.business_outside"
    applied = client.post(
        f"/api/v1/me/elder-proxies/{body['id']}/applications",
        {"business_code": "B8", "delivery": {"method": "pickup"}}, content_type="application/json",
    )  # fmt: skip
    assert applied.status_code == 201, applied.content
    assert applied.json()["proxy"]["state"] == "used"
    second = client.post(
        f"/api/v1/me/elder-proxies/{body['id']}/applications",
        {"business_code": "B8", "delivery": {"method": "pickup"}}, content_type="application/json",
    )  # fmt: skip
    assert second.status_code == 409 and second.json()["code"] == "delegations.proxy.used"


def test_the_api_refuses_under_sixty_with_the_reason(daughter, make_person):
    from datetime import date

    younger = make_person(name="张建军", birth_date=date(1970, 1, 1), mobile="13903960070")
    data = {
        "elder_id_number": younger.id_number, "elder_name": younger.name, "relationship": "child",
        "business_code": "B8", "id_card": SimpleUploadedFile("id.jpg", ID_CARD, "image/jpeg"),
    }  # fmt: skip
    answer = _client(daughter).post("/api/v1/me/elder-proxies", data)
    assert answer.status_code == 422 and answer.json()["code"] == "delegations.proxy.under_age"


def test_the_dmv_lists_the_jurisdictions_proxies_masked_and_audited(
    daughter, father, make_staff, real_person_service
):
    from jiaoguan.core.models import AuditEntry

    client = _client(daughter)
    _start(client, father)
    proxy = ProxyAuthorisation.objects.get()
    real_person_service.person(father.id_number, "fail")
    capture = {"capture": SimpleUploadedFile("c.jpg", CAPTURE, "image/jpeg")}
    client.post(f"/me/elder-proxy/{proxy.pk}/authentication", capture)
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-proxies")
    page = _client(clerk).get("/counter/elder-proxies/")
    assert page.status_code == 200
    text = _text(page)
    assert f"PX{proxy.pk}" in text and "张**" in text and "未通过" in text and "比对不一致" in text
    assert father.name not in text and father.id_number not in text
    assert AuditEntry.objects.filter(actor=clerk, action="list", subject_id=str(proxy.pk)).exists()
    outside = make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zhoukou")
    assert f"PX{proxy.pk}" not in _text(_client(outside).get("/counter/elder-proxies/"))
