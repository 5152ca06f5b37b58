"""The military licence exchange through the API and the pages (O3): apply with Idempotency-Key,
list and read my cases, refusals with their codes and nothing saved, another person's case; the
applicant's page, the counter's acceptance and the suspect review, and the licence page's remark."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from jiaoguan.core.audit import AuditEntry
from jiaoguan.core.identifiers import mask_name
from jiaoguan.military_exchange.models import ExchangeCase
from jiaoguan.registry.models import DrivingLicence

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/military-exchanges"
BODY = {
    "military_number": "jw20080301",
    "classes": "B1",
    "first_issued_on": "2008-03-01",
    "added": [{"classes": "A1", "on": "2012-05-01"}],
}


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _post(client: Client, body: dict, **headers):
    return client.post(URL, body, content_type="application/json", **headers)


def test_apply_idempotent_list_and_read(veteran, seed_military):
    seed_military(veteran, added=(("A1", date(2012, 5, 1)),))
    client = _client(veteran)
    first = _post(client, BODY, HTTP_IDEMPOTENCY_KEY="mx-1")
    assert first.status_code == 201, first.content
    made = first.json()
    assert made["state"] == "awaiting" and made["check"] == "passed" and made["path"] == "reissue"
    assert made["military_number"] == "JW****0301" and made["state_zh"] == "待受理"
    assert made["added"] == [{"classes": "A1", "on": "2012-05-01"}]
    again = _post(client, BODY, HTTP_IDEMPOTENCY_KEY="mx-1")
    assert again.status_code == 201 and again.json() == made
    assert ExchangeCase.objects.count() == 1
    second = _post(client, BODY, HTTP_IDEMPOTENCY_KEY="mx-2")
    assert second.status_code == 409 and second.json()["code"] == "military_exchange.one_open"
    listed = client.get(URL)
    assert listed.status_code == 200 and [c["id"] for c in listed.json()] == [made["id"]]
    assert client.get(f"{URL}/{made['id']}").json()["state"] == "awaiting"


def test_refusals_with_codes_and_nothing_saved(
    veteran, seed_military, military_licence_service, make_licence
):
    seed_military(veteran, number="ZZ20080301")
    client = _client(veteran)
    bad = _post(client, {**BODY, "classes": "Q7"})
    assert bad.status_code == 422 and bad.json()["code"] == "military_exchange.classes"
    make_licence(holder=veteran.person, first_issued_on=date(2019, 4, 2))
    old = _post(
        client,
        {
            **BODY,
            "military_number": "ZZ20080301",
            "exchanged_before": True,
            "earlier_exchanged_on": "2019-04-02",
        },
    )
    assert old.status_code == 409 and old.json()["code"] == "licence.military.old_licence"
    military_licence_service.behaviour(unavailable=True)
    down = _post(client, BODY)
    assert down.status_code == 503 and down.json()["code"] == "military_exchange.check_unavailable"
    not_a_day = _post(client, {**BODY, "first_issued_on": "2008-02-30"})
    assert not_a_day.status_code == 422
    assert not ExchangeCase.objects.exists()


def test_another_persons_case_is_404_and_staff_or_anonymous_cannot_apply(
    veteran, make_person, citizen, seed_military, clerk
):
    seed_military(veteran)
    made = _post(_client(veteran), BODY).json()
    other = citizen(make_person(name="王五", mobile="13900139009"))
    assert _client(other).get(f"{URL}/{made['id']}").status_code == 404
    assert _client(other).get(URL).json() == []
    assert Client().post(URL, BODY, content_type="application/json").status_code == 401
    assert _post(_client(clerk), BODY).status_code == 403


def test_pages_apply_accept_and_the_licence_page_remark(veteran, clerk, seed_military):
    seed_military(veteran, added=(("A1", date(2012, 5, 1)),))
    client = _client(veteran)
    assert 'href="/military-exchange/"' in client.get("/").content.decode()  # the home tile
    page = client.get("/military-exchange/")
    assert page.status_code == 200 and "apply-form" in page.content.decode()
    posted = client.post(
        "/military-exchange/",
        {"military_number": "JW20080301", "classes": "B1", "first_issued_on": "2008-03-01",
         "added_1_classes": "A1", "added_1_on": "2012-05-01"},
    )  # fmt: skip
    assert posted.status_code == 302
    case = ExchangeCase.objects.get()
    assert case.state == "awaiting"
    page = client.get("/military-exchange/").content.decode()
    assert "待受理" in page and "apply-form" not in page

    staff = _client(clerk)
    queue = staff.get("/counter/military-exchanges/").content.decode()
    assert f'data-id="{case.pk}"' in queue and mask_name(veteran.person.name) in queue
    assert veteran.person.id_number not in queue  # masked in the list
    done = staff.post("/counter/military-exchanges/accept", {"id": str(case.pk)})
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.state == "completed"
    licence = DrivingLicence.objects.get(holder=veteran.person)
    assert AuditEntry.objects.filter(action="change", summary__contains="military exchange accepted").exists()

    mine = client.get("/military-exchange/").content.decode()
    assert licence.first_issued_on.isoformat() in mine
    licence_page = client.get("/licences/").content.decode()
    assert "2008-03-01" in licence_page and "M3" in licence_page


def test_counter_posted_ids_and_the_suspect_page(veteran, clerk, unit_head, seed_military):
    seed_military(veteran, number="JW00000001")
    client = _client(veteran)
    client.post(
        "/military-exchange/",
        {"military_number": "JW20080301", "classes": "B1", "first_issued_on": "2008-03-01"},
    )
    case = ExchangeCase.objects.get()
    assert case.state == "suspect"
    staff = _client(clerk)
    assert staff.post("/counter/military-exchanges/accept", {"id": "１２"}).status_code == 404
    assert staff.post("/counter/military-exchanges/accept", {"id": "9" * 30}).status_code == 404
    assert staff.get("/counter/military-exchanges/suspects/").status_code == 403
    head = _client(unit_head)
    page = head.get("/counter/military-exchanges/suspects/").content.decode()
    assert f'data-id="{case.pk}"' in page
    refused = head.post("/counter/military-exchanges/suspects/clear", {"id": str(case.pk), "reason": ""})
    assert refused.status_code == 302
    case.refresh_from_db()
    assert case.state == "suspect"
    head.post("/counter/military-exchanges/suspects/clear", {"id": str(case.pk), "reason": "已核对原件"})
    case.refresh_from_db()
    assert case.state == "awaiting"
    staff.post("/counter/military-exchanges/reject", {"id": str(case.pk), "reason": "申请人未到场核验"})
    case.refresh_from_db()
    assert case.state == "rejected" and case.reject_reason == "申请人未到场核验"
