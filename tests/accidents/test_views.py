"""Accident pages through the test client: the officer's case file, the head's approvals, the public
progress query, written applications and the evidence review, with the access matrix (A1-A9)."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from jiaoguan.accidents import services
from jiaoguan.accidents.models import (
    AccidentCase,
    EvidenceDownload,
    EvidenceReview,
    QueryApplication,
    QueryAttempt,
    ResultDocument,
    StageRecord,
)
from jiaoguan.accounts.models import User

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PASSWORD = "Lvse-Chuxing9"


@pytest.fixture(autouse=True)
def _key_dir(tmp_path, settings):
    """Credentials' QR codes are signed with keys of this test only."""
    from jiaoguan.credentials.keys import trust_cache_clear

    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    trust_cache_clear()
    yield
    trust_cache_clear()


# ---------------------------------------------------------------- helpers


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def pdf_bytes(text: str = "scene") -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def citizen(person) -> User:
    return User.objects.create_user(
        username=person.id_number, password=PASSWORD, person=person, registration_level="online"
    )


def determine(case, officer) -> ResultDocument:
    for stage in ["acceptance", "investigation", "determination"]:
        services.stage_record(
            actor=officer,
            case_id=case.pk,
            stage=stage,
            happened_on=TODAY,
            public_note=f"公开说明{stage}",
            internal_note=f"内部备注{stage}",
        )
    document = services.document_issue(
        actor=officer, case_id=case.pk, kind="determination", facts="甲车闯红灯与乙车相撞。",
        evidence="现场图、视频。", responsibility=[("甲", "全部责任")],
    )  # fmt: skip
    services.document_release(actor=officer, document_id=document.pk, reason="当面送达当事人")
    return document


def query(client: Client, number: str, code: str):
    return client.post("/accidents/query/", {"accident_number": number, "code": code})


@pytest.fixture
def officer(make_staff):
    return make_staff(role="accident_officer", jurisdiction="411702", username="officer-411702")


@pytest.fixture
def other_officer(make_staff):
    return make_staff(role="accident_officer", jurisdiction="411721", username="officer-411721")


@pytest.fixture
def head(make_staff):
    return make_staff(role="accident_head", jurisdiction="411700", username="head-411700")


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700")


@pytest.fixture
def case(officer):
    return services.case_open(
        actor=officer,
        occurred_at=timezone.now() - timedelta(days=3),
        place="驿城区解放大道与交通路交叉口",
        weather="晴",
    )


@pytest.fixture
def party(case, officer, make_person):
    person = make_person(name="马超")
    party, credential, code = services.party_add(
        actor=officer, case_id=case.pk, label="甲", name="马超", id_type="resident_id",
        id_number=person.id_number, phone="13800001111",
    )  # fmt: skip
    return party, credential, code


@pytest.fixture
def insurer_user(make_staff, make_person):
    from jiaoguan.accounts.services import organisation_register
    from jiaoguan.core.identifiers import make_uscc

    rep = make_person(name="钱进")
    return organisation_register(
        actor=make_staff(), uscc=make_uscc("91411700MA9X00007"), name="某财产保险股份有限公司驻马店中心支公司",
        kind="insurer", division="411702", representative_id_type="resident_id",
        representative_id_number=rep.id_number, representative_name=rep.name,
        representative_role="legal_representative", mobile="13800009999", password="Insurer#2026x",
    )  # fmt: skip


@pytest.fixture
def stranger(make_person):
    return citizen(make_person(name="孙权"))


# ---------------------------------------------------------------- officer pages


def test_officer_opens_a_case_through_the_page(client, officer):
    client.force_login(officer)
    page = text_of(client.get("/accidents/cases/new/"))
    assert "驿城区 (411702)" in page
    occurred = (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/accidents/cases/new/",
        {
            "occurred_at": occurred,
            "place": "驿城区雪松大道",
            "weather": "雨",
            "division": "411702",
            "summary": "两车相撞",
        },
    )
    case = AccidentCase.objects.get()
    assert response["Location"] == f"/accidents/cases/{case.pk}/"
    assert case.division == "411702" and case.weather == "雨" and case.officer == officer
    listing = text_of(client.get("/accidents/cases/"))
    assert case.number in listing and "办理中" in listing
    assert case.number in text_of(client.get("/accidents/cases/", {"q": case.number[-6:]}))
    assert case.number not in text_of(client.get("/accidents/cases/", {"q": "99999999"}))


def test_open_case_refuses_a_unit_outside_the_jurisdiction(client, officer):
    client.force_login(officer)
    occurred = (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/accidents/cases/new/", {"occurred_at": occurred, "place": "西平县", "division": "411721"}
    )
    # The access table refuses the unit; the message stands next to the field.
    assert response.status_code == 403
    assert re.search(r'id="id_division_error">[^<]*不在您的辖区范围内', response.content.decode())
    assert not AccidentCase.objects.exists()
    unknown = client.post(
        "/accidents/cases/new/", {"occurred_at": occurred, "place": "某地", "division": "999999"}
    )
    assert unknown.status_code == 200 and "请从列表中选择" in text_of(unknown)


def test_party_code_is_shown_once_with_the_print_link(client, officer, case, make_person):
    person = make_person(name="李娜")
    client.force_login(officer)
    response = client.post(
        f"/accidents/cases/{case.pk}/parties/",
        {
            "party-label": "乙",
            "party-name": "李娜",
            "party-id_type": "resident_id",
            "party-id_number": person.id_number,
            "party-phone": "13900002222",
            "party-plate": "豫Q12345",
        },
    )
    assert response.status_code == 200 and response["Cache-Control"].startswith("private")
    page = text_of(response)
    code = re.search(r'id="new-code">([A-Z0-9-]+)<', page).group(1)
    assert "请立即打印查询凭证" in page
    credential = case.query_credentials.get()
    assert f"/accidents/cases/{case.pk}/credentials/{credential.pk}.pdf" in page
    # masked on the page
    assert "李*" in page and person.id_number not in page and "13900002222" not in page
    assert (
        services.progress_query(accident_number=case.number, code=code, client="ip:x").number == case.number
    )
    # the code is not shown again
    assert code not in text_of(client.get(f"/accidents/cases/{case.pk}/"))
    pdf = client.get(f"/accidents/cases/{case.pk}/credentials/{credential.pk}.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-" and "no-store" in pdf["Cache-Control"]


def test_party_form_errors_stay_next_to_the_field(client, officer, case):
    client.force_login(officer)
    response = client.post(
        f"/accidents/cases/{case.pk}/parties/",
        {"party-label": "甲", "party-name": "马超", "party-id_type": "resident_id", "party-id_number": "123"},
    )
    assert response.status_code == 200
    assert 'id="id_party-id_number_error"' in response.content.decode()
    assert not case.parties.exists()


def test_stage_form_offers_only_the_stages_allowed_now(client, officer, case):
    client.force_login(officer)
    page = client.get(f"/accidents/cases/{case.pk}/").content.decode()
    options = re.findall(
        r'<option value="([a-z_]+)"', page.split('name="stage-stage"')[1].split("</select>")[0]
    )
    assert options == ["acceptance"]
    forged = client.post(
        f"/accidents/cases/{case.pk}/stages/",
        {"stage-stage": "determination", "stage-happened_on": TODAY.isoformat()},
    )
    assert forged.status_code == 200 and "须先登记“调查取证”" in text_of(forged)
    done = client.post(
        f"/accidents/cases/{case.pk}/stages/",
        {"stage-stage": "acceptance", "stage-happened_on": TODAY.isoformat(), "stage-public_note": "已受理"},
    )
    assert done.status_code == 302
    page = client.get(f"/accidents/cases/{case.pk}/").content.decode()
    options = re.findall(
        r'<option value="([a-z_]+)"', page.split('name="stage-stage"')[1].split("</select>")[0]
    )
    assert options == ["investigation", "inspection", "detention", "hit_and_run"]


def test_closure_asks_for_a_summary_and_a_confirmation_then_ends_the_case(client, officer, case, party):
    client.force_login(officer)
    close_url = f"/accidents/cases/{case.pk}/close/"
    assert "暂不能结案：须先登记“事故认定”" in text_of(client.get(f"/accidents/cases/{case.pk}/"))
    for stage in ["acceptance", "investigation", "determination"]:
        response = client.post(
            f"/accidents/cases/{case.pk}/stages/",
            {"stage-stage": stage, "stage-happened_on": TODAY.isoformat()},
        )
        assert response.status_code == 302, text_of(response)
    page = client.get(f"/accidents/cases/{case.pk}/").content.decode()
    assert close_url in page
    options = re.findall(
        r'<option value="([a-z_]+)"', page.split('name="stage-stage"')[1].split("</select>")[0]
    )
    assert "closure" not in options  # closure is its own step
    # the confirmation page says what cannot be undone and asks for the summary and the tick
    confirm = text_of(client.get(close_url))
    assert "此操作不能恢复" in confirm and "结案说明" in confirm and "确认结案" in confirm
    step = {"step": "confirm", "closed_on": TODAY.isoformat()}
    unticked = client.post(close_url, {**step, "summary": "双方达成调解协议。"})
    assert unticked.status_code == 200 and "请勾选确认后再提交" in text_of(unticked)
    assert "双方达成调解协议。" in text_of(unticked)  # what was typed stays
    no_summary = client.post(close_url, {**step, "summary": "", "confirm": "on"})
    assert no_summary.status_code == 200 and "请填写此项" in text_of(no_summary)
    case.refresh_from_db()
    assert case.closed_at is None
    done = client.post(close_url, {**step, "summary": "双方达成调解协议。", "confirm": "on"})
    assert done.status_code == 302 and done["Location"] == f"/accidents/cases/{case.pk}/#stages"
    case.refresh_from_db()
    assert case.closed_at is not None and case.closure_summary == "双方达成调解协议。"
    page = text_of(client.get(f"/accidents/cases/{case.pk}/"))
    assert (
        "已结案" in page
        and "双方达成调解协议。" in page
        and 'name="stage-stage"' not in page
        and f"/accidents/cases/{case.pk}/parties/" not in page
        and close_url not in page
        and "/documents/issue/" not in page
        and f"/accidents/cases/{case.pk}/evidence/" not in page
    )
    # revoking a credential stays possible after closure
    assert f"/accidents/cases/{case.pk}/credentials/{party[1].pk}/revoke/" in page
    refused = client.post(
        f"/accidents/cases/{case.pk}/stages/",
        {"stage-stage": "mediation", "stage-happened_on": TODAY.isoformat()},
    )
    assert "案件已结案" in text_of(refused)


def test_issue_and_release_a_determination_through_the_page(client, officer, case, party):
    client.force_login(officer)
    for stage in ["acceptance", "investigation", "determination"]:
        client.post(
            f"/accidents/cases/{case.pk}/stages/",
            {"stage-stage": stage, "stage-happened_on": TODAY.isoformat()},
        )
    response = client.post(
        f"/accidents/cases/{case.pk}/documents/issue/determination/",
        {"det-facts": "甲车闯红灯与乙车相撞。", "det-evidence": "现场图", "det-resp_0": "全部责任"},
    )
    assert response.status_code == 302
    document = ResultDocument.objects.get(case=case)
    assert not document.released and bytes(document.content)[:5] == b"%PDF-"
    view = client.get(f"/accidents/documents/{document.pk}/")
    assert view.status_code == 200 and view["Content-Type"] == "application/pdf"
    from jiaoguan.core.models import AuditEntry

    assert AuditEntry.objects.filter(summary=f"查看事故文书 {document.number}", action="view").exists()
    # Delivery cannot be undone: the button asks for a confirmation with how it was delivered.
    release = f"/accidents/cases/{case.pk}/documents/{document.pk}/release/"
    asked = client.post(release)
    assert asked.status_code == 200 and "确认送达文书" in text_of(asked) and 'name="reason"' in text_of(asked)
    short = client.post(release, {"step": "confirm", "reason": "送达", "confirm": "on"})
    assert short.status_code == 200 and "请至少填写4个字" in text_of(short)
    document.refresh_from_db()
    assert not document.released
    done = client.post(release, {"step": "confirm", "reason": "当面送达当事人甲，已签收", "confirm": "on"})
    assert done.status_code == 302
    document.refresh_from_db()
    assert document.released
    from jiaoguan.core.models import AuditEntry

    entry = AuditEntry.objects.filter(summary__startswith="送达文书").get()
    assert entry.reason == "当面送达当事人甲，已签收"
    # a review conclusion needs its stage first
    refused = client.post(
        f"/accidents/cases/{case.pk}/documents/issue/review_conclusion/",
        {"conc-applicant": "马*", "conc-request_text": "重新认定", "conc-conclusion": "维持原认定"},
    )
    assert "须先登记“复核结论”阶段" in text_of(refused)


def test_upload_scan_refuses_a_renamed_file(client, officer, case):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 40)).save(buffer, "PNG")
    client.force_login(officer)
    response = client.post(
        f"/accidents/cases/{case.pk}/documents/upload/",
        {"upload-kind": "certificate", "upload-number": "证字001", "upload-issued_on": TODAY.isoformat(),
         "upload-file": upload("scan.pdf", buffer.getvalue(), "application/pdf")},
    )  # fmt: skip
    assert response.status_code == 200 and "扩展名" in text_of(response)
    ok = client.post(
        f"/accidents/cases/{case.pk}/documents/upload/",
        {"upload-kind": "certificate", "upload-number": "证字001", "upload-issued_on": TODAY.isoformat(),
         "upload-file": upload("scan.pdf", pdf_bytes())},
    )  # fmt: skip
    assert ok.status_code == 302 and ResultDocument.objects.get(case=case).uploaded


def test_access_matrix_for_staff(client, officer, other_officer, head, clerk, case, party):
    document = determine(case, officer)
    credential = party[1]
    review, _code = services.evidence_review_open(
        actor=officer, case_id=case.pk, party_id=party[0].pk, person_type="当事人",
        id_type="resident_id", id_number=party[0].id_number, phone="13800001111",
    )  # fmt: skip
    urls = [
        f"/accidents/cases/{case.pk}/",
        f"/accidents/cases/{case.pk}/credentials/{credential.pk}.pdf",
        f"/accidents/reviews/{review.pk}.pdf",
        f"/accidents/documents/{document.pk}/",
    ]
    client.force_login(officer)
    for url in urls:
        assert client.get(url).status_code == 200, url
    from jiaoguan.core.models import AuditEntry

    printed = AuditEntry.objects.filter(summary__in=["打印查询凭证", "打印证据材料网上查阅凭证"])
    assert printed.count() == 2
    client.force_login(head)  # the city's head sees the county's cases
    for url in urls:
        assert client.get(url).status_code == 200, url
    client.force_login(other_officer)  # another county: not found, the same as a missing case
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert case.number not in text_of(client.get("/accidents/cases/"))
    assert client.post(f"/accidents/cases/{case.pk}/documents/{document.pk}/release/").status_code == 404
    client.force_login(clerk)
    for url in [*urls, "/accidents/cases/", "/accidents/cases/new/", "/accidents/approvals/"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "您的岗位无权" in text_of(response) and "access.role_not_allowed" in text_of(response)
    client.logout()
    assert client.get(urls[0])["Location"].startswith("/login/")


def test_a_credential_of_another_case_is_not_printed_under_this_case(client, officer, case, party):
    other = services.case_open(actor=officer, occurred_at=timezone.now(), place="另一起")
    client.force_login(officer)
    assert client.get(f"/accidents/cases/{other.pk}/credentials/{party[1].pk}.pdf").status_code == 404


def test_revoke_a_credential_asks_for_the_reason_and_a_confirmation(client, officer, case, party):
    from jiaoguan.core.models import AuditEntry

    client.force_login(officer)
    url = f"/accidents/cases/{case.pk}/credentials/{party[1].pk}/revoke/"
    # the short form on the case page leads to the confirmation page, the reason kept
    first = client.post(url, {"reason": "当事人申请更换"})
    page = text_of(first)
    assert first.status_code == 200 and "此操作不能恢复" in page and "确认撤销" in page
    assert "当事人申请更换</textarea>" in first.content.decode()
    party[1].refresh_from_db()
    assert party[1].revoked_at is None
    step = {"step": "confirm"}
    assert "请填写此项" in text_of(client.post(url, {**step, "reason": "", "confirm": "on"}))
    assert "请勾选确认" in text_of(client.post(url, {**step, "reason": "当事人申请更换"}))
    party[1].refresh_from_db()
    assert party[1].revoked_at is None
    assert client.post(url, {**step, "reason": "当事人申请更换", "confirm": "on"}).status_code == 302
    assert AuditEntry.objects.get(summary="撤销查询凭证").reason == "当事人申请更换"
    assert "已撤销" in text_of(client.get(f"/accidents/cases/{case.pk}/"))
    assert client.get(f"/accidents/cases/{case.pk}/credentials/{party[1].pk}.pdf").status_code == 404
    response = query(Client(), case.number, party[2])
    assert "事故编号或查询码不正确" in text_of(response)


def test_counter_home_has_the_accident_tiles_for_accident_staff_only(client, officer, head, clerk):
    client.force_login(officer)
    page = text_of(client.get("/counter/"))
    assert "/accidents/cases/" in page and "/accidents/approvals/" not in page
    client.force_login(head)
    page = text_of(client.get("/counter/"))
    assert "/accidents/cases/" in page and "/accidents/approvals/" in page
    client.force_login(clerk)
    assert "/accidents/cases/" not in text_of(client.get("/counter/"))


# ---------------------------------------------------------------- public query


def test_the_accident_tile_leads_to_the_query_page(client):
    assert client.get("/services/accident/")["Location"] == "/accidents/query/"
    page = client.get("/accidents/query/").content.decode()
    assert 'method="post"' in page and 'name="accident_number"' in page and 'name="code"' in page


def test_party_queries_and_downloads_the_released_determination(client, officer, case, party):
    document = determine(case, officer)
    unreleased = services.document_issue(
        actor=officer, case_id=case.pk, kind="certificate", facts="另制作证明。"
    )
    # nothing travels in the URL: a GET with parameters is just the empty form
    assert "公开说明acceptance" not in text_of(
        client.get("/accidents/query/", {"accident_number": case.number, "code": party[2]})
    )
    response = query(client, case.number, party[2].lower().replace("", " ").strip())
    assert response.status_code == 302 and response["Location"] == "/accidents/query/progress/"
    page = text_of(client.get("/accidents/query/progress/"))
    assert case.number in page and "案件受理" in page and "事故认定" in page
    assert "公开说明acceptance" in page and "内部备注" not in page
    assert f"/accidents/query/documents/{document.pk}/" in page
    assert f"/accidents/query/documents/{unreleased.pk}/" not in page
    pdf = client.get(f"/accidents/query/documents/{document.pk}/")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    assert pdf["Content-Disposition"].startswith("attachment;") and "no-store" in pdf["Cache-Control"]
    assert client.get(f"/accidents/query/documents/{unreleased.pk}/").status_code == 404
    # leaving forgets the grant
    client.post("/accidents/query/end/")
    assert client.get(f"/accidents/query/documents/{document.pk}/")["Location"] == "/accidents/query/"


def test_a_grant_cannot_be_used_for_another_cases_document(client, officer, case, party, make_person):
    determine(case, officer)
    other = services.case_open(actor=officer, occurred_at=timezone.now(), place="另一起")
    person = make_person(name="周瑜")
    services.party_add(
        actor=officer,
        case_id=other.pk,
        label="甲",
        name="周瑜",
        id_type="resident_id",
        id_number=person.id_number,
    )
    other_document = determine(other, officer)
    assert query(client, case.number, party[2]).status_code == 302
    assert client.get(f"/accidents/query/documents/{other_document.pk}/").status_code == 404
    # no grant at all: back to the form
    assert Client().get(f"/accidents/query/documents/{other_document.pk}/")["Location"] == "/accidents/query/"


def test_a_grant_ends_when_the_credential_is_revoked(client, officer, case, party):
    document = determine(case, officer)
    assert query(client, case.number, party[2]).status_code == 302
    services.query_credential_revoke(actor=officer, credential_id=party[1].pk, reason="撤销")
    assert client.get(f"/accidents/query/documents/{document.pk}/").status_code == 404
    assert client.get("/accidents/query/progress/")["Location"] == "/accidents/query/"


def test_a_grant_expires(client, officer, case, party, monkeypatch):
    document = determine(case, officer)
    assert query(client, case.number, party[2]).status_code == 302
    later = timezone.now() + timedelta(minutes=31)
    monkeypatch.setattr("jiaoguan.accidents.views.timezone.now", lambda: later)
    assert client.get(f"/accidents/query/documents/{document.pk}/")["Location"] == "/accidents/query/"


def test_unknown_number_and_wrong_code_give_the_same_answer(client, case, party):
    from jiaoguan.accidents.rules import accident_number_make

    unknown = accident_number_make(division="411702", opened_on=TODAY, serial=99999)
    first = query(client, unknown, party[2])
    second = query(client, case.number, "ABCDEFGHJKMN")
    assert first.status_code == second.status_code == 200

    def answer(response):
        return re.search(
            r'<div class="error-summary"[^>]*>(.*?)</div>', response.content.decode(), re.S
        ).group(1)

    assert answer(first) == answer(second)
    assert "事故编号或查询码不正确" in answer(first)
    malformed = query(client, "12345", party[2])
    assert "20位" in text_of(malformed)


def test_repeated_wrong_codes_get_429_and_the_officer_sees_them(client, officer, case, party):
    for _ in range(10):
        assert query(client, case.number, "ABCDEFGHJKMN").status_code == 200
    response = query(client, case.number, party[2])
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "查询码错误次数过多" in text_of(response)
    assert QueryAttempt.objects.filter(number=case.number).count() == 10
    officer_client = Client()
    officer_client.force_login(officer)
    page = text_of(officer_client.get(f"/accidents/cases/{case.pk}/"))
    assert "尝试 10 次" in page and "ip:127.0.0.1" in page


def test_query_with_the_credentials_qr_text_and_photo(client, officer, case, party):
    from jiaoguan.accidents.tokens import query_credential_token
    from jiaoguan.credentials.render import qr_png

    determine(case, officer)
    token = query_credential_token(number=case.number, code=party[2], role="party", credential_id=party[1].pk)
    response = client.post("/accidents/query/", {"qr_text": token})
    assert response.status_code == 302
    assert case.number in text_of(client.get("/accidents/query/progress/"))
    photo = Client().post(
        "/accidents/query/", {"qr_photo": upload("qr.png", qr_png(token, scale=6), "image/png")}
    )
    assert photo.status_code == 302
    forged = Client().post("/accidents/query/", {"qr_text": token[:-6] + "AAAAAA"})
    assert forged.status_code == 200 and "progress" not in forged.get("Location", "")
    assert "field-error" in forged.content.decode()


def test_rollout_page_for_a_province_not_yet_open(client, make_staff, make_person):
    # Zhejiang is in neither of the seeds' lists (A9a), and this installation serves Henan.
    beijing = make_staff(role="accident_officer", jurisdiction="330000", username="zj")
    case = services.case_open(actor=beijing, occurred_at=timezone.now(), place="上城区")
    person = make_person(name="王五")
    _party, _credential, code = services.party_add(
        actor=beijing,
        case_id=case.pk,
        label="甲",
        name="王五",
        id_type="resident_id",
        id_number=person.id_number,
    )
    response = query(client, case.number, code)
    assert (
        response.status_code == 403
        and "该省份暂未开通此项网上服务" in text_of(response)
        and "浙江省" in text_of(response)
        and "事故处理窗口" in text_of(response)
    )
    evidence = client.post("/accidents/evidence/", {"accident_number": case.number, "code": "ABCDEFGHJKMN"})
    assert evidence.status_code == 403 and "该省份暂未开通此项网上服务" in text_of(evidence)
    client.force_login(beijing)
    assert "本省尚未开通" in text_of(client.get(f"/accidents/cases/{case.pk}/"))


def test_henan_is_open_only_by_the_local_setting(client, case, party, settings):
    """Henan is in neither of the seeds' lists (A9a): the query is refused there until the
    deployment's own setting opens it; then the same code answers."""
    _party, _credential, code = party
    settings.ACCIDENT_LOCAL_ROLLOUT = ""
    closed = query(client, case.number, code)
    assert closed.status_code == 403 and "河南省尚未开通此项网上服务" in text_of(closed)
    settings.ACCIDENT_LOCAL_ROLLOUT = "online_query=2020-06-01"
    assert query(client, case.number, code)["Location"] == "/accidents/query/progress/"


# ---------------------------------------------------------------- written applications


def test_insurer_applies_officer_approves_insurer_downloads(client, officer, case, insurer_user, stranger):
    client.force_login(insurer_user)
    form = client.get("/accidents/apply/").content.decode()
    assert re.search(r'value="insurer"[^>]*checked', form)
    response = client.post(
        "/accidents/apply/",
        {"accident_number": case.number, "role": "insurer", "reason": "本公司承保甲车交强险，需了解处理进度办理理赔。",
         "document": upload("委托书.pdf", pdf_bytes("letter"))},
    )  # fmt: skip
    assert response["Location"] == "/accidents/my/"
    application = QueryApplication.objects.get()
    assert "待审核" in text_of(client.get("/accidents/my/"))

    officer_client = Client()
    officer_client.force_login(officer)
    page = text_of(officer_client.get(f"/accidents/cases/{case.pk}/"))
    assert "某财产保险股份有限公司驻马店中心支公司" in page and "待审核" in page
    supporting = officer_client.get(f"/accidents/cases/{case.pk}/applications/{application.pk}/document/")
    assert supporting.status_code == 200 and supporting.content[:5] == b"%PDF-"
    review_url = f"/accidents/cases/{case.pk}/applications/{application.pk}/review/"
    assert "不批准须写明原因" in text_of(officer_client.post(review_url, {"decision": "reject", "note": ""}))
    assert officer_client.post(review_url, {"decision": "approve"}).status_code == 302
    application.refresh_from_db()
    credential = application.credential
    assert credential is not None and credential.holder == insurer_user

    page = client.get("/accidents/my/").content.decode()
    pdf_url = f"/accidents/my/credentials/{credential.pk}.pdf"
    assert pdf_url in page
    pdf = client.get(pdf_url)
    assert (
        pdf.status_code == 200
        and pdf.content[:5] == b"%PDF-"
        and pdf["Content-Disposition"].startswith("attachment")
    )
    # the insurer's code works on the public query
    code = services.query_code_of(credential)
    assert query(Client(), case.number, code).status_code == 302
    # someone else, and the insurer on staff pages
    other = Client()
    other.force_login(stranger)
    assert other.get(pdf_url).status_code == 404
    assert pdf_url not in other.get("/accidents/my/").content.decode()
    assert client.get(f"/accidents/cases/{case.pk}/").status_code == 403
    assert client.get(f"/accidents/cases/{case.pk}/credentials/{credential.pk}.pdf").status_code == 403
    assert Client().get(pdf_url)["Location"].startswith("/login/")


def test_a_citizen_cannot_apply_as_an_insurer(client, case, stranger):
    client.force_login(stranger)
    response = client.post(
        "/accidents/apply/",
        {"accident_number": case.number, "role": "insurer", "reason": "我想知道处理进度，请批准查询。",
         "document": upload("a.pdf", pdf_bytes())},
    )  # fmt: skip
    assert response.status_code == 200 and "仅保险公司单位用户" in text_of(response)
    assert not QueryApplication.objects.exists()


def test_application_pages_need_a_login_and_are_not_for_staff(client, officer):
    assert client.get("/accidents/apply/")["Location"].startswith("/login/?next=/accidents/apply/")
    client.force_login(officer)
    assert client.get("/accidents/apply/").status_code == 403


# ---------------------------------------------------------------- evidence review


def _add_item(client, case, title: str, confidentiality: str = "none"):
    return client.post(
        f"/accidents/cases/{case.pk}/evidence/",
        {"item-kind": "scene_diagram", "item-title": title, "item-confidentiality": confidentiality,
         "item-file": upload(f"{title}.pdf", pdf_bytes(title))},
    )  # fmt: skip


def test_evidence_review_through_the_pages(client, officer, head, case, party):
    party_row, _credential, _code = party
    client.force_login(officer)
    open_url = f"/accidents/cases/{case.pk}/reviews/"
    identity = {
        "review-party": party_row.pk, "review-person_type": "当事人", "review-id_type": "resident_id",
        "review-id_number": party_row.id_number, "review-phone": "13800001111",
    }  # fmt: skip
    assert "送达后" in text_of(client.post(open_url, identity))  # not before delivery
    determine(case, officer)
    assert _add_item(client, case, "现场图").status_code == 302
    assert _add_item(client, case, "证人询问笔录", "witness").status_code == 302
    normal = case.evidence.get(title="现场图")
    witness = case.evidence.get(title="证人询问笔录")

    response = client.post(open_url, identity)
    assert response.status_code == 200
    page = text_of(response)
    code = re.search(r'id="new-review-code">([A-Z0-9-]+)<', page).group(1)
    review = EvidenceReview.objects.get()
    assert f"/accidents/reviews/{review.pk}.pdf" in page
    assert client.get(f"/accidents/reviews/{review.pk}.pdf").content[:5] == b"%PDF-"

    raw = client.get(f"/accidents/cases/{case.pk}/").content.decode()
    witness_box = re.search(rf'<input type="checkbox" name="items" value="{witness.pk}"[^>]*>', raw).group(0)
    normal_box = re.search(rf'<input type="checkbox" name="items" value="{normal.pk}"[^>]*>', raw).group(0)
    assert "disabled" in witness_box and "disabled" not in normal_box
    assert "证人要求保密，不能网上查阅" in html.unescape(raw)

    select_url = f"/accidents/cases/{case.pk}/reviews/{review.pk}/items/"
    forged = client.post(select_url, {"items": [normal.pk, witness.pk]})
    assert re.search(r'class="field-error" role="alert">涉及国家秘密', forged.content.decode())
    review.refresh_from_db()
    assert review.state == "draft" and not review.items.exists()
    assert client.post(select_url, {"items": [normal.pk]}).status_code == 302
    review.refresh_from_db()
    assert review.state == "pending"

    # not visible before the head approves
    party_client = Client()
    early = party_client.post("/accidents/evidence/", {"accident_number": case.number, "code": code})
    assert "尚未经事故处理部门负责人批准" in text_of(early)
    # an officer is not the head
    assert client.get("/accidents/approvals/").status_code == 403
    head_client = Client()
    head_client.force_login(head)
    approvals = text_of(head_client.get("/accidents/approvals/"))
    assert case.number in approvals and "现场图" in approvals and "证人询问笔录" not in approvals
    assert head_client.post(f"/accidents/approvals/{review.pk}/", {"decision": "approve"}).status_code == 302
    review.refresh_from_db()
    assert review.state == "approved"

    response = party_client.post("/accidents/evidence/", {"accident_number": case.number, "code": code})
    assert response["Location"] == "/accidents/evidence/items/"
    listing = text_of(party_client.get("/accidents/evidence/items/"))
    assert "现场图" in listing and "证人询问笔录" not in listing
    download = party_client.get(f"/accidents/evidence/items/{normal.pk}/", REMOTE_ADDR="10.1.2.3")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    from pypdf import PdfReader

    assert "仅供本事故查阅" in PdfReader(io.BytesIO(download.content)).pages[0].extract_text()
    logged = EvidenceDownload.objects.get()
    assert logged.item == normal and logged.ip_address == "10.1.2.3"
    assert party_client.get(f"/accidents/evidence/items/{witness.pk}/").status_code == 404
    # a query grant is not an evidence grant, and vice versa
    assert Client().get(f"/accidents/evidence/items/{normal.pk}/")["Location"] == "/accidents/evidence/"


def test_head_of_another_city_cannot_approve(client, officer, case, party, make_staff):
    determine(case, officer)
    item = services.evidence_item_add(
        actor=officer, case_id=case.pk, kind="photos", title="现场照片", data=pdf_bytes(), name="p.pdf"
    )
    review, _ = services.evidence_review_open(
        actor=officer, case_id=case.pk, party_id=party[0].pk, person_type="当事人",
        id_type="resident_id", id_number=party[0].id_number, phone="13800001111",
    )  # fmt: skip
    services.evidence_items_select(actor=officer, review_id=review.pk, item_ids=[item.pk])
    elsewhere = make_staff(role="accident_head", jurisdiction="410100", username="head-410100")
    client.force_login(elsewhere)
    assert case.number not in text_of(client.get("/accidents/approvals/"))
    assert client.post(f"/accidents/approvals/{review.pk}/", {"decision": "approve"}).status_code == 404
    review.refresh_from_db()
    assert review.state == "pending"


def test_stage_records_keep_internal_notes_internal(client, officer, case, party):
    determine(case, officer)
    assert StageRecord.objects.filter(case=case).count() == 3
    client.force_login(officer)
    assert "内部备注acceptance" in text_of(client.get(f"/accidents/cases/{case.pk}/"))
    anonymous = Client()
    query(anonymous, case.number, party[2])
    assert "内部备注" not in text_of(anonymous.get("/accidents/query/progress/"))
