"""我的事故: a logged-in citizen who is a party sees their cases, the timeline and the released
documents, and prints their own query credential, without typing the number or the code (A3, A4).
Other citizens get "not found" for cases they are no party to."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from jiaoguan.accidents import services
from jiaoguan.accounts.models import User

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def _key_dir(tmp_path, settings):
    from jiaoguan.credentials.keys import trust_cache_clear

    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.CREDENTIAL_AUTO_KEY = True
    trust_cache_clear()
    yield
    trust_cache_clear()


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def login(person) -> Client:
    user = User.objects.create_user(username=person.id_number, password="Lvse-Chuxing9", person=person)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def officer(make_staff):
    return make_staff(role="accident_officer", jurisdiction="411702", username="officer-mine")


@pytest.fixture
def people(make_person):
    return {
        "party": make_person(name="马超"),
        "other": make_person(name="黄忠"),
        "stranger": make_person(name="孙权"),
    }


def open_case(officer, people, *, place="驿城区雪松大道"):
    case = services.case_open(actor=officer, occurred_at=timezone.now() - timedelta(days=3), place=place)
    for label, key in [("甲", "party"), ("乙", "other")]:
        person = people[key]
        services.party_add(
            actor=officer, case_id=case.pk, label=label, name=person.name, id_type="resident_id",
            id_number=person.id_number,
        )  # fmt: skip
    return case


def determine(case, officer, *, release=True):
    for stage in ["acceptance", "investigation", "determination"]:
        services.stage_record(
            actor=officer, case_id=case.pk, stage=stage, happened_on=TODAY, public_note=f"公开说明{stage}"
        )
    document = services.document_issue(
        actor=officer, case_id=case.pk, kind="determination", facts="甲车闯红灯与乙车相撞。",
        evidence="现场图。", responsibility=[("甲", "全部责任"), ("乙", "无责任")],
    )  # fmt: skip
    if release:
        services.document_release(actor=officer, document_id=document.pk, reason="当面送达当事人")
    return document


def test_a_party_sees_their_cases_and_nobody_elses(officer, people):
    mine = open_case(officer, people)
    theirs = services.case_open(actor=officer, occurred_at=timezone.now() - timedelta(days=1), place="别处")
    services.party_add(
        actor=officer, case_id=theirs.pk, label="甲", name="孙权", id_type="resident_id",
        id_number=people["stranger"].id_number,
    )  # fmt: skip
    client = login(people["party"])
    page = text_of(client.get("/accidents/mine/"))
    assert mine.number in page and theirs.number not in page and "当事人甲" in page
    assert client.get(f"/accidents/mine/{theirs.number}/").status_code == 404
    assert client.get(f"/accidents/mine/{theirs.number}/credential.pdf").status_code == 404
    assert client.get("/accidents/mine/41170220200101000010/").status_code == 404


def test_the_timeline_and_released_documents_in_full(officer, people):
    case = open_case(officer, people)
    released = determine(case, officer)
    unreleased = services.document_issue(
        actor=officer, case_id=case.pk, kind="certificate", facts="补充证明。"
    )
    client = login(people["party"])
    page = text_of(client.get(f"/accidents/mine/{case.number}/"))
    assert "公开说明determination" in page and "道路交通事故认定书" in page
    assert f"/accidents/mine/{case.number}/documents/{released.pk}/" in page
    assert f"/accidents/mine/{case.number}/documents/{unreleased.pk}/" not in page
    pdf = client.get(f"/accidents/mine/{case.number}/documents/{released.pk}/")
    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    assert "马超" in text and people["party"].id_number in text and "第三方" not in text
    assert client.get(f"/accidents/mine/{case.number}/documents/{unreleased.pk}/").status_code == 404
    # The other party sees the same case; a stranger does not see the document.
    assert (
        login(people["other"]).get(f"/accidents/mine/{case.number}/documents/{released.pk}/").status_code
        == 200
    )
    stranger = login(people["stranger"])
    assert stranger.get(f"/accidents/mine/{case.number}/documents/{released.pk}/").status_code == 404


def test_a_party_prints_their_own_query_credential(officer, people):
    case = open_case(officer, people)
    client = login(people["party"])
    response = client.get(f"/accidents/mine/{case.number}/credential.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert case.number in text and "道路交通事故查询凭证" in text and "/accidents/query/" in text
    credential = case.query_credentials.get(party__label="甲")
    assert services.query_code_of(credential) in text.replace("-", "")
    # Revoked: no credential to print, and the page says why.
    services.query_credential_revoke(actor=officer, credential_id=credential.pk, reason="查询码遗失")
    assert client.get(f"/accidents/mine/{case.number}/credential.pdf").status_code == 404
    assert "已被办案单位撤销" in text_of(client.get(f"/accidents/mine/{case.number}/"))


def test_the_query_page_points_a_logged_in_citizen_to_their_cases(client, people):
    assert 'href="/accidents/mine/"' not in text_of(client.get("/accidents/query/"))
    page = text_of(login(people["party"]).get("/accidents/query/"))
    assert 'href="/accidents/mine/"' in page and "无需输入查询码" in page


def test_a_province_not_open_online_says_where_to_go(officer, people, settings):
    case = open_case(officer, people)
    settings.ACCIDENT_LOCAL_ROLLOUT = ""
    client = login(people["party"])
    listed = text_of(client.get("/accidents/mine/"))
    assert case.number in listed and "事故处理窗口" in listed
    page = client.get(f"/accidents/mine/{case.number}/")
    assert page.status_code == 403 and "事故处理窗口" in text_of(page)


def test_api_lists_my_cases_and_shows_one(officer, people):
    case = open_case(officer, people)
    determine(case, officer)
    client = login(people["party"])
    listed = client.get("/api/v1/accidents/mine")
    assert listed.status_code == 200
    assert [row["number"] for row in listed.json()] == [case.number]
    assert listed.json()[0]["party_label"] == "甲" and listed.json()[0]["open_online"] is True
    detail = client.get(f"/api/v1/accidents/mine/{case.number}").json()
    assert [d["name_zh"] for d in detail["documents"]] == ["道路交通事故认定书"]
    assert detail["credential_pdf"] == f"/accidents/mine/{case.number}/credential.pdf"
    assert login(people["stranger"]).get(f"/api/v1/accidents/mine/{case.number}").status_code == 404
    assert Client().get("/api/v1/accidents/mine").status_code == 401
