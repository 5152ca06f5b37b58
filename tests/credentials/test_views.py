"""Credential pages through the test client: mine, showing, downloading, printing, verifying (E1-E6, D1-D4)."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pypdf
import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiaoguan.accounts.models import User
from jiaoguan.core.models import AuditEntry
from jiaoguan.credentials import services
from jiaoguan.credentials.models import Credential, LicenceApplication, PaperMarkRequest
from jiaoguan.credentials.render import decode_qr_image, qr_png
from jiaoguan.credentials.token import DisplayMode

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PASSWORD = "Lvse-Chuxing9"


# ---------------------------------------------------------------- helpers


def citizen(person) -> User:
    return User.objects.create_user(
        username=person.id_number, password=PASSWORD, person=person, registration_level="online"
    )


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def data_token(response) -> str:
    match = re.search(r'data-token="([^"]+)"', response.content.decode())
    assert match, "no data-token on the page"
    return html.unescape(match.group(1))


def photo(size=(300, 400), fmt="JPEG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 180, 160)).save(buffer, fmt)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def owner(make_person):
    return make_person(name="周敏")


@pytest.fixture
def owner_user(owner):
    return citizen(owner)


@pytest.fixture
def vehicle(owner, make_vehicle):
    """A private car registered a year ago: within validity, next inspection label-only."""
    return make_vehicle(owner=owner, registered_on=TODAY - timedelta(days=400), plate="豫QF5K86")


@pytest.fixture
def mark(vehicle):
    credential = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    assert credential is not None
    return credential


@pytest.fixture
def other_mark(make_person, make_vehicle):
    other = make_person(name="李娜")
    vehicle = make_vehicle(owner=other, registered_on=TODAY - timedelta(days=400), plate="豫QA7788")
    credential = services.inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    assert credential is not None
    return credential


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700")


# ---------------------------------------------------------------- my credentials


def test_list_shows_my_marks_only(client, owner_user, mark, other_mark):
    client.force_login(owner_user)
    response = client.get("/credentials/")
    assert response.status_code == 200
    page = text_of(response)
    assert "豫QF5K86" in page and "豫QA7788" not in page
    assert f"/credentials/{mark.public_id}/" in page
    assert f"/credentials/{other_mark.public_id}/" not in page
    assert mark.valid_until.isoformat() in page
    assert "有效" in page and "仅发标志" in page


def test_list_asks_anonymous_to_log_in_and_refuses_staff(client, clerk):
    assert client.get("/credentials/")["Location"].startswith("/login/?next=/credentials/")
    client.force_login(clerk)
    refused = client.get("/credentials/")
    assert refused.status_code == 403 and "此项业务由群众本人办理" in text_of(refused)


def test_e_licence_tile_leads_to_my_credentials(client, owner_user):
    client.force_login(owner_user)
    response = client.get("/services/e-licence/")
    assert response.status_code == 302 and response["Location"] == "/credentials/"


def test_overdue_vehicle_without_mark_says_inspect_first(client, owner, owner_user, make_vehicle):
    from datetime import date

    vehicle = make_vehicle(
        owner=owner, plate="豫Q0D001", registered_on=date(2015, 1, 10), last_inspected_on=date(2018, 1, 1)
    )
    page = text_of(_logged(client, owner_user))
    assert "豫Q0D001" in page and "请先检验" in page
    assert f"/inspections/book/{vehicle.pk}/" in page  # the booking page of that vehicle (issue 14)


def _logged(client, user, path="/credentials/"):
    client.force_login(user)
    return client.get(path)


def test_holder_without_electronic_licence_gets_a_link_to_apply(client, owner, owner_user, make_licence):
    make_licence(holder=owner, term="long")
    page = text_of(_logged(client, owner_user))
    assert "申领电子驾驶证" in page and "/credentials/licence/apply/" in page


# ---------------------------------------------------------------- showing one (E3)


def test_credential_page_shows_a_live_qr_that_verifies(client, owner_user, mark):
    response = _logged(client, owner_user, f"/credentials/{mark.public_id}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and 'role="img"' in body and "aria-label=" in body
    assert re.search(r'<noscript><meta http-equiv="refresh" content="\d+"></noscript>', body)
    assert "no-store" in response["Cache-Control"]
    token = data_token(response)
    assert token.startswith("VI1:")
    verdict = services.credential_verify(text=token)
    assert verdict.valid, verdict
    assert verdict.mode == "online" and verdict.subject["plate"] == "豫QF5K86"
    page = text_of(response)
    assert "秒" in page and "检验有效期至" in page and "下载离线凭证" in page and "打印凭证" in page
    assert "credential.js" in body


def test_qr_fragment_is_a_fresh_token(client, owner_user, mark):
    first = data_token(_logged(client, owner_user, f"/credentials/{mark.public_id}/"))
    response = client.get(f"/credentials/{mark.public_id}/qr/")
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<html" not in fragment and "<svg" in fragment and "data-expires=" in fragment
    second = data_token(response)
    assert second != first
    assert services.credential_verify(text=second).valid


@pytest.mark.parametrize("suffix", ["", "qr/", "offline.png", "offline.txt", "print.pdf"])
def test_other_peoples_credentials_are_404(client, owner_user, other_mark, suffix):
    client.force_login(owner_user)
    assert client.get(f"/credentials/{other_mark.public_id}/{suffix}").status_code == 404


def test_unknown_credential_is_404(client, owner_user):
    client.force_login(owner_user)
    assert client.get("/credentials/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/credentials/not-a-uuid/").status_code == 404


def test_offline_png_decodes_to_a_token_that_verifies(client, owner_user, mark):
    response = _logged(client, owner_user, f"/credentials/{mark.public_id}/offline.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and ".png" in response["Content-Disposition"]
    )
    found = decode_qr_image(response.content)
    assert len(found) == 1
    verdict = services.credential_verify(text=found[0])
    assert verdict.valid and verdict.mode == "offline"


def test_offline_txt_is_the_signed_token(client, owner_user, mark):
    response = _logged(client, owner_user, f"/credentials/{mark.public_id}/offline.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"].startswith("attachment;")
    verdict = services.credential_verify(text=response.content.decode())
    assert verdict.valid and verdict.mode == "offline"


def test_print_pdf_has_the_plate_and_validity(client, owner_user, mark):
    response = _logged(client, owner_user, f"/credentials/{mark.public_id}/print.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "豫QF5K86" in text and "检验有效期至" in text and "号牌种类" in text
    assert mark.valid_until.isoformat() in text


def test_printed_licence_has_full_name_masked_number_and_remarks(client, make_person, make_licence):
    holder = make_person(name="吴刚")
    make_licence(holder=holder, remarks="M3", term="long")
    licence_credential = services.licence_credential_issue(licence_id=holder.licence.pk, event="test")
    response = _logged(client, citizen(holder), f"/credentials/{licence_credential.public_id}/print.pdf")
    text = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    for label in ("姓名", "证号", "准驾车型", "有效期限", "初次领证日期", "备注"):
        assert label in text
    assert "持军队驾驶证换领" in text and "C1" in text
    assert holder.id_number not in text  # the number is masked
    page = text_of(client.get(f"/credentials/{licence_credential.public_id}/"))
    # The holder's own display shows the full name, as the paper licence does (issue 11).
    assert "吴刚" in text and "吴刚" in page
    assert "持军队驾驶证换领" in page and holder.id_number not in page


def test_suspended_mark_shows_its_state_and_reason_instead_of_a_qr(client, owner_user, mark, vehicle):
    vehicle.status = "L"
    vehicle.save()
    services.credential_status_sync(vehicle_id=vehicle.pk)
    mark.refresh_from_db()
    assert mark.status == "suspended"
    response = _logged(client, owner_user, f"/credentials/{mark.public_id}/")
    assert response.status_code == 200
    page = text_of(response)
    assert "暂停使用" in page and "data-token" not in response.content.decode()
    assert "请联系车管所" in page
    back = client.get(f"/credentials/{mark.public_id}/offline.png")
    assert back.status_code == 302 and back["Location"] == f"/credentials/{mark.public_id}/"
    assert "不能出示" in text_of(client.get(back["Location"]))
    assert client.get(f"/credentials/{mark.public_id}/qr/").status_code == 409
    assert "暂停使用" in text_of(client.get("/credentials/"))


def test_licence_past_its_validity_is_not_shown_even_before_the_status_sync(
    client, make_person, make_licence
):
    holder = make_person(name="吴刚")
    licence = make_licence(holder=holder, term="6y", valid_from=TODAY - timedelta(days=6 * 366))
    # issued while the licence was in date; it has lapsed since
    credential = services.licence_credential_issue(
        licence_id=licence.pk, event="test", today=TODAY - timedelta(days=30)
    )
    assert credential.status == "valid" and credential.valid_until < TODAY
    response = _logged(client, citizen(holder), f"/credentials/{credential.public_id}/")
    page = text_of(response)
    assert "已过有效期" in page and "期满换证" in page and "data-token" not in response.content.decode()
    back = client.get(f"/credentials/{credential.public_id}/print.pdf")
    assert back.status_code == 302
    assert client.get(f"/credentials/{credential.public_id}/qr/").status_code == 409


# ---------------------------------------------------------------- verifier (E4)


def _offline_token(credential) -> str:
    return services.credential_token(credential=credential, mode=DisplayMode.OFFLINE)[0]


def test_verify_page_is_public_and_offers_scan_upload_and_paste(client):
    response = client.get("/verify/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="text"' in body and 'type="file"' in body and 'id="scan-btn"' in body
    assert "verify.js" in body and "本浏览器不支持摄像头扫码，请上传照片或粘贴" in body


def test_pasted_valid_token_is_green_with_checks_and_masked_subject(client, mark):
    response = client.post("/verify/", {"text": _offline_token(mark)})
    assert response.status_code == 200
    page = text_of(response)
    assert "verdict-valid" in page and "有效" in page
    assert page.index("verdict-valid") < page.index('name="text"')  # the answer comes first
    for words in ("签名", "有效期", "当前状态", "号牌号码", "豫QF5K86", "所有人", "周*", "检验有效期至"):
        assert words in page
    assert "周敏" not in page
    assert "check-bad" not in page


def test_tampered_token_is_red_with_the_reason(client, mark):
    token = _offline_token(mark)
    tampered = token[:-8] + ("A" if token[-8] != "A" else "B") + token[-7:]
    page = text_of(client.post("/verify/", {"text": tampered}))
    assert "verdict-invalid" in page and "无效" in page
    assert "verdict-valid" not in page
    assert any(reason in page for reason in ("签名校验失败", "凭证数据已损坏", "凭证结构无效", "编码无效"))


@pytest.mark.parametrize(
    "junk",
    [
        "hello",
        "VI1:",
        "DL1:%%%%%%",
        "VI1:" + "A" * 10000,
        "X" * 50000,
        "\x00\x01\x02 binary \x7f",
        "VI1:\x00\x00",
        "SL1:6BFOXN*TS0BI$ZD",
        "😀" * 100,
        "<script>alert(1)</script>",
    ],
)
def test_junk_is_red_never_a_500(client, junk):
    response = client.post("/verify/", {"text": junk})
    assert response.status_code == 200
    page = text_of(response)
    # Content that is no credential at all is "not recognised", with no check list: nothing
    # on the page may suggest its signature, or anything else, passed (issue 11).
    assert "verdict-invalid" in page and "无法识别" in page
    assert "✓" not in page and "check-ok" not in page and "核验项目" not in page
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_empty_input_asks_for_something(client):
    response = client.post("/verify/", {"text": "   "})
    assert response.status_code == 200
    page = text_of(response)
    assert "请粘贴二维码内容" in page and "verdict-" not in page


def test_uploaded_png_of_a_token_is_green(client, mark):
    picture = upload("qr.png", qr_png(_offline_token(mark)), "image/png")
    page = text_of(client.post("/verify/", {"text": "", "photo": picture}))
    assert "verdict-valid" in page and "豫QF5K86" in page


def test_uploaded_offline_text_file_is_green(client, owner_user, mark):
    text = _logged(client, owner_user, f"/credentials/{mark.public_id}/offline.txt").content
    client.logout()
    page = text_of(client.post("/verify/", {"photo": upload("c.txt", text, "text/plain")}))
    assert "verdict-valid" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n not really", "无法读取该文件"),
        (b"\x00\xff" * 100, "无法读取该文件"),
        (None, "照片中没有找到二维码"),
    ],
)
def test_unreadable_uploads_say_what_to_do(client, content, message):
    if content is None:
        content = photo(fmt="PNG")
    response = client.post("/verify/", {"photo": upload("x.png", content, "image/png")})
    assert response.status_code == 200
    page = text_of(response)
    assert message in page and "verdict-" not in page


def test_online_token_verifies_in_english_when_chosen(client, owner_user, mark):
    token = data_token(_logged(client, owner_user, f"/credentials/{mark.public_id}/"))
    client.logout()
    client.post("/i18n/setlang/", {"language": "en", "next": "/verify/"})
    page = text_of(client.post("/verify/", {"text": token}))
    assert "verdict-valid" in page and "Valid" in page and "Signature" in page


def test_superseded_token_is_red_with_the_status(client, mark, vehicle):
    token = _offline_token(mark)
    vehicle.plate_number = "豫QF5K87"
    vehicle.save()
    services.inspection_mark_issue(vehicle_id=vehicle.pk, event="changed")
    page = text_of(client.post("/verify/", {"text": token}))
    assert "verdict-invalid" in page and "已被新凭证替代" in page
    assert "豫QF5K86" in page  # what was checked is still shown


# ---------------------------------------------------------------- E2 exempt application


@pytest.fixture
def due_vehicle(owner, make_vehicle):
    """Registered almost two years ago: the year-2 inspection is label-only and within 3 months."""
    return make_vehicle(owner=owner, plate="豫QE2024", registered_on=TODAY - timedelta(days=365 * 2 - 30))


def test_exempt_application_flow(client, owner_user, due_vehicle):
    client.force_login(owner_user)
    listing = text_of(client.get("/credentials/"))
    url = f"/credentials/inspection/{due_vehicle.pk}/exempt/"
    assert "申领检验标志" in listing and url in listing

    form = text_of(client.get(url))
    assert "6年内免检车辆在检验有效期满前三个月内可网上申领检验标志" in form
    assert "豫QE2024" in form and 'name="delivery"' in form and 'name="address"' in form

    refused = client.post(url, {"delivery": "post", "address": ""})
    assert refused.status_code == 200
    assert re.search(r'id="field-address">.*?邮寄须填写地址', refused.content.decode(), re.S)
    assert not Credential.objects.filter(vehicle=due_vehicle).exists()

    done = client.post(url, {"delivery": "post", "address": "驻马店市驿城区解放路1号"})
    credential = Credential.objects.get(vehicle=due_vehicle, status="valid")
    assert done.status_code == 302 and done["Location"] == f"/credentials/{credential.public_id}/"
    assert PaperMarkRequest.objects.get(credential=credential).delivery == "post"
    page = text_of(client.get(done["Location"]))
    assert "已申领检验标志电子凭证" in page and "邮寄" in page
    assert services.credential_verify(text=data_token(client.get(done["Location"]))).valid


def test_exempt_page_explains_why_not_yet(client, owner_user, vehicle):
    page = text_of(_logged(client, owner_user, f"/credentials/inspection/{vehicle.pk}/exempt/"))
    assert "检验有效期满前三个月内才能申领" in page and 'name="delivery"' not in page


def test_exempt_page_of_someone_elses_vehicle_is_404(client, owner_user, make_person, make_vehicle):
    other = make_vehicle(owner=make_person(name="别人"), registered_on=TODAY - timedelta(days=365 * 2 - 30))
    client.force_login(owner_user)
    assert client.get(f"/credentials/inspection/{other.pk}/exempt/").status_code == 404
    assert client.post(f"/credentials/inspection/{other.pk}/exempt/", {"delivery": ""}).status_code == 404


# ---------------------------------------------------------------- D1 licence with photo review


def test_licence_application_reviewed_at_the_counter_then_shown(
    client, owner, owner_user, make_licence, clerk
):
    make_licence(holder=owner, term="long")
    client.force_login(owner_user)
    apply_page = client.get("/credentials/licence/apply/").content.decode()
    assert 'accept="image/jpeg,image/png"' in apply_page and 'capture="user"' in apply_page

    submitted = client.post("/credentials/licence/apply/", {"photo": upload("me.jpg", photo(), "image/jpeg")})
    assert submitted.status_code == 302
    application = LicenceApplication.objects.get(licence__holder=owner)
    assert application.state == "submitted"
    assert "待审核" in text_of(client.get("/credentials/licence/apply/"))
    assert "待审核" in text_of(client.get("/credentials/"))

    client.force_login(clerk)
    queue = text_of(client.get("/counter/photos/"))
    assert "周*" in queue and owner.id_number not in queue
    assert f"/counter/photos/{application.pk}/" in queue
    review = client.get(f"/counter/photos/{application.pk}/").content.decode()
    assert f"/counter/photos/{application.pk}/photo" in review
    image = client.get(f"/counter/photos/{application.pk}/photo")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image.content == bytes(application.photo)
    assert AuditEntry.objects.filter(
        action="view", subject_type="credentials.licenceapplication", subject_id=str(application.pk)
    ).exists()

    missing_note = client.post(f"/counter/photos/{application.pk}/", {"decision": "reject", "note": ""})
    assert missing_note.status_code == 200 and "不通过须写明原因" in text_of(missing_note)
    approved = client.post(f"/counter/photos/{application.pk}/", {"decision": "approve", "note": ""})
    assert approved.status_code == 302 and approved["Location"] == "/counter/photos/"
    application.refresh_from_db()
    assert application.state == "approved" and application.credential is not None
    assert "没有待审核的照片" in text_of(client.get("/counter/photos/"))

    client.force_login(owner_user)
    listing = text_of(client.get("/credentials/"))
    assert "电子驾驶证" in listing and f"/credentials/{application.credential.public_id}/" in listing
    shown = client.get(f"/credentials/{application.credential.public_id}/")
    assert services.credential_verify(text=data_token(shown)).valid
    # A fresh QR for the verify page: each on-screen QR is checked once.
    shown = client.get(f"/credentials/{application.credential.public_id}/")
    verdict_page = text_of(client.post("/verify/", {"text": data_token(shown)}))
    assert "verdict-valid" in verdict_page and "准驾车型" in verdict_page and "C1" in verdict_page


def test_rejected_application_shows_the_note_and_can_be_sent_again(
    client, owner, owner_user, make_licence, clerk
):
    make_licence(holder=owner, term="long")
    application = services.licence_application_submit(actor=owner_user, photo=photo())
    services.licence_application_review(
        actor=clerk, application_id=application.pk, approve=False, note="照片背景不是白色"
    )
    client.force_login(owner_user)
    page = text_of(client.get("/credentials/licence/apply/"))
    assert "未通过" in page and "照片背景不是白色" in page and 'type="file"' in page
    assert "照片背景不是白色" in text_of(client.get("/credentials/"))


def test_bad_photo_is_refused_next_to_the_field(client, owner, owner_user, make_licence):
    make_licence(holder=owner, term="long")
    client.force_login(owner_user)
    response = client.post(
        "/credentials/licence/apply/", {"photo": upload("small.png", photo((50, 50), "PNG"), "image/png")}
    )
    assert response.status_code == 200
    assert re.search(r'id="field-photo">.*?照片尺寸不合适', response.content.decode(), re.S)
    assert not LicenceApplication.objects.exists()


def test_no_licence_no_application(client, owner_user):
    page = text_of(_logged(client, owner_user, "/credentials/licence/apply/"))
    assert "您名下没有驾驶证" in page and 'type="file"' not in page


@pytest.mark.parametrize("path", ["/counter/photos/", "/counter/photos/1/", "/counter/photos/1/photo"])
def test_photo_review_is_for_counter_clerks_only(client, owner_user, make_staff, path):
    assert client.get(path)["Location"].startswith("/login/")
    client.force_login(owner_user)
    assert client.get(path).status_code == 403
    client.force_login(make_staff(role="violation_officer"))
    assert client.get(path).status_code == 403


def test_application_outside_the_jurisdiction_is_404(client, owner, owner_user, make_licence, make_staff):
    make_licence(holder=owner, division="411702", term="long")
    application = services.licence_application_submit(actor=owner_user, photo=photo())
    client.force_login(make_staff(jurisdiction="411721"))
    assert client.get(f"/counter/photos/{application.pk}/").status_code == 404
    assert client.get(f"/counter/photos/{application.pk}/photo").status_code == 404
    assert "没有待审核的照片" in text_of(client.get("/counter/photos/"))


# ---------------------------------------------------------------- E4 plate check by police


def test_plate_check_is_staff_only(client, owner_user):
    assert client.get("/verify/plate/")["Location"].startswith("/login/")
    client.force_login(owner_user)
    assert client.get("/verify/plate/?plate=豫QF5K86").status_code == 403


def test_plate_check_shows_status_and_mark_and_is_audited(client, make_staff, mark, vehicle):
    officer = make_staff(role="violation_officer")
    client.force_login(officer)
    assert client.get("/verify/plate/").status_code == 200
    response = client.get("/verify/plate/", {"plate": "豫qf5k86"})
    page = text_of(response)
    assert "豫QF5K86" in page and "正常" in page and "检验有效期至" in page
    assert mark.valid_until.isoformat() in page and "有效" in page and "周*" in page
    entry = AuditEntry.objects.get(subject_type="registry.vehicle", subject_id=str(vehicle.pk))
    assert entry.action == "view" and entry.summary == "按号牌核验检验状态"
    assert entry.subject_person_id == vehicle.owner_person_id and entry.actor_id == officer.pk


def test_plate_check_bad_plate_and_unknown_plate(client, make_staff):
    client.force_login(make_staff(role="violation_officer"))
    bad = client.get("/verify/plate/", {"plate": "ABC"})
    assert bad.status_code == 200
    assert re.search(r'id="field-plate">.*?号牌号码应为', bad.content.decode(), re.S)
    unknown = text_of(client.get("/verify/plate/", {"plate": "豫Q99999"}))
    assert "本辖区没有该号牌的机动车登记信息" in unknown
    assert not AuditEntry.objects.filter(summary="按号牌核验检验状态").exists()


def test_plate_check_outside_jurisdiction_finds_nothing(client, make_staff, vehicle):
    client.force_login(make_staff(role="violation_officer", jurisdiction="411721"))
    assert "本辖区没有该号牌" in text_of(client.get("/verify/plate/", {"plate": "豫QF5K86"}))


# ---------------------------------------------------------------- organisation users, hostile input


def test_organisation_user_sees_its_marks_and_is_told_to_apply_at_the_counter(client, make_vehicle):
    from jiaoguan.core.identifiers import make_uscc
    from jiaoguan.registry.models import Organisation

    organisation = Organisation.objects.create(
        uscc=make_uscc("91411702MA4" + "0ABCD4"),
        name="驻马店市货运有限公司",
        kind="transport_company",
        division="411702",
    )
    user = User.objects.create_user(
        username=organisation.uscc, password=PASSWORD, kind="organisation", organisation=organisation
    )
    marked = make_vehicle(owner=organisation, plate="豫Q66666", registered_on=TODAY - timedelta(days=400))
    mark = services.inspection_mark_issue(vehicle_id=marked.pk, event="test")
    make_vehicle(owner=organisation, plate="豫Q77777", registered_on=TODAY - timedelta(days=365 * 2 - 30))
    page = text_of(_logged(client, user))
    assert "豫Q66666" in page and f"/credentials/{mark.public_id}/" in page
    assert "豫Q77777" in page and "单位车辆请到车管所窗口申领" in page
    assert "申领电子驾驶证" not in page and "暂无驾驶证信息" not in page
    shown = client.get(f"/credentials/{mark.public_id}/")
    assert services.credential_verify(text=data_token(shown)).valid


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=600))
def test_any_pasted_text_gets_an_answer(client, text):
    response = client.post("/verify/", {"text": text})
    assert response.status_code == 200
    body = response.content.decode()
    assert "verdict-invalid" in body or "请粘贴二维码内容" in body


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=2000))
def test_any_uploaded_bytes_get_an_answer(client, content):
    response = client.post("/verify/", {"photo": upload("x.jpg", content or b"\x00", "image/jpeg")})
    assert response.status_code == 200
