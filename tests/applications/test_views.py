"""Application pages (issue 13): the business page and its form, my applications, and the counter's
queue, detail, steps, materials and acceptance slip, through the Django test client."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from jiaoguan.applications import services
from jiaoguan.applications.models import Application, ApplicationMaterial
from jiaoguan.applications.rules import State
from jiaoguan.core.models import AuditEntry

from .conftest import POST, deferral, jpeg_bytes, pdf_bytes, png_bytes, settle_fee

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


ADDRESS = {
    "delivery_method": "post",
    "recipient_name": "张伟",
    "recipient_phone": "13800138000",
    "address_division": "411702",
    "address_line": "驻马店市驿城区解放路1号",
}


# ---------------------------------------------------------------- the business page


def test_the_business_page_says_what_is_needed_and_offers_the_form(driver):
    user, licence = driver()
    page = _client(user).get("/applications/businesses/B11/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "损毁换领驾驶证" in html and "本人近期照片" in html and "¥10.00" in html
    assert "1个工作日内受理" in html and "同城1日、省内2日、跨省3日" in html
    assert licence.archive_number in html and 'id="apply-submit"' in html and 'id="refusal"' not in html


def test_an_online_account_is_told_the_true_reason_and_remedy_and_the_form_is_disabled(driver):
    user, _ = driver(level="online")
    html = _client(user).get("/applications/businesses/B11/").content.decode()
    assert 'id="refusal"' in html and "窗口" in html and "disabled" in html


def test_the_medical_certificate_is_not_uploaded_the_hospitals_date_is_shown(driver):
    user, licence = driver()
    licence.last_medical_on = date(2026, 11, 20)
    licence.save(update_fields=["last_medical_on"])
    html = _client(user).get("/applications/businesses/B8/").content.decode()
    assert "2026-11-20" in html and "由体检医院网上提交" in html
    assert 'name="medical_certificate"' not in html and 'name="photo"' in html


def test_unknown_and_hospital_businesses_have_no_page_here(driver):
    user, _ = driver()
    client = _client(user)
    assert client.get("/applications/businesses/B99/").status_code == 404
    assert client.get("/applications/businesses/B7/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in():
    answer = Client().get("/applications/businesses/B11/")
    assert answer.status_code == 302 and "/login" in answer["Location"]


def test_the_services_tile_leads_to_the_business_page(driver):
    user, _ = driver()
    answer = _client(user).get("/services/B8/")
    assert answer.status_code == 302 and answer["Location"] == "/applications/businesses/B8/"


def test_applying_with_a_photo_by_post_stores_both_and_shows_the_application(driver):
    user, licence = driver()
    data = jpeg_bytes()
    client = _client(user)
    answer = client.post(
        "/applications/businesses/B11/",
        {**ADDRESS, "photo": SimpleUploadedFile("me.jpg", data), "note": "旧证破损"},
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    app = Application.objects.get(applicant=user)
    assert answer["Location"] == f"/applications/{app.pk}/"
    assert (app.business_code, app.licence_id, app.delivery_method) == ("B11", licence.pk, "post")
    material = ApplicationMaterial.objects.get(application=app)
    assert (
        material.kind == "photo" and material.content_type == "image/jpeg" and bytes(material.content) == data
    )
    shown = client.get(answer["Location"]).content.decode()
    assert shown.count(f"申请已提交，申请编号 {app.number}") == 1


def test_a_bad_file_is_shown_next_to_its_field_and_nothing_is_stored(driver):
    user, _ = driver()
    answer = _client(user).post(
        "/applications/businesses/B11/",
        {**ADDRESS, "photo": SimpleUploadedFile("me.png", b"GIF89a not a photo")},
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "只能上传 PDF、JPEG、PNG 格式的文件" in html and 'id="field-photo"' in html
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"address_line": ""}, "邮寄须填写收件人姓名"),
        ({"recipient_phone": "12345"}, "手机"),
        ({"delivery_method": "drone"}, "请从列表中选择"),
    ],
)
def test_bad_delivery_input_is_a_message_on_the_page(driver, changes, words):
    user, _ = driver()
    answer = _client(user).post(
        "/applications/businesses/B11/",
        {**ADDRESS, **changes, "photo": SimpleUploadedFile("me.png", png_bytes())},
    )
    assert answer.status_code == 400 and words in answer.content.decode()
    assert not Application.objects.exists()


def test_a_second_open_application_is_refused_on_the_page(driver, submit):
    user, licence = driver()
    first = submit(user, licence)
    client = _client(user)
    html = client.get("/applications/businesses/B11/").content.decode()
    assert 'id="open-application"' in html and first.number in html
    again = client.post(
        "/applications/businesses/B11/",
        {"delivery_method": "pickup", "photo": SimpleUploadedFile("p.png", png_bytes())},
    )
    assert again.status_code == 400 and "正在办理" in again.content.decode()
    assert Application.objects.count() == 1


def test_a_deferral_asks_for_the_reason_and_the_end_date(driver):
    user, _ = driver()
    html = _client(user).get("/applications/businesses/B12/").content.decode()
    assert 'name="reason"' in html and 'name="until"' in html and 'name="statement"' in html
    assert 'name="delivery_method"' not in html


# ---------------------------------------------------------------- my applications


def test_my_applications_and_one_of_them_with_its_timeline(driver, submit, clerk, accept):
    user, licence = driver()
    app = submit(user, licence)
    accept(app)
    client = _client(user)
    listing = client.get("/applications/").content.decode()
    assert app.number in listing and "损毁换领驾驶证" in listing
    html = client.get(f"/applications/{app.pk}/").content.decode()
    assert "已受理" in html and "车管所" in html and clerk.username not in html
    assert "¥10.00" in html and 'id="withdraw"' not in html


def test_someone_elses_application_is_404(driver, submit):
    owner, licence = driver()
    app = submit(owner, licence)
    intruder, _ = driver(name="李强", mobile="13800138003")
    client = _client(intruder)
    assert client.get(f"/applications/{app.pk}/").status_code == 404
    assert client.post(f"/applications/{app.pk}/withdraw/").status_code == 404
    assert client.post(f"/applications/{app.pk}/pay/").status_code == 404
    assert Application.objects.get(pk=app.pk).state == State.SUBMITTED


def test_withdraw_and_a_refused_withdrawal_shown_on_the_page(driver, submit, clerk, accept):
    user, licence = driver()
    app = submit(user, licence)
    client = _client(user)
    assert client.post(f"/applications/{app.pk}/withdraw/").status_code == 302
    assert Application.objects.get(pk=app.pk).state == State.WITHDRAWN
    other = submit(user, licence)
    accept(other)
    late = client.post(f"/applications/{other.pk}/withdraw/")
    assert late.status_code == 409 and "不能进行此项操作" in late.content.decode()


def test_paying_without_a_fee_notice_is_a_message_not_an_error(driver, submit):
    user, licence = driver()
    app = submit(user, licence)
    answer = _client(user).post(f"/applications/{app.pk}/pay/")
    if app.fee_payable_id is None:
        assert answer.status_code == 409 and "没有待缴纳的费用" in answer.content.decode()
    else:  # once submission makes the fee notice, the payer goes to the gateway
        assert answer.status_code in (303, 503)


def test_a_returned_application_offers_the_supplement_form(driver, submit, clerk):
    user, licence = driver()
    app = submit(user, licence, code="B10")
    services.application_return_for_supplement(
        actor=clerk,
        application_id=app.pk,
        reason="请补充遗失说明",
        supplement_due_on=timezone.localdate() + timedelta(days=3),
    )
    client = _client(user)
    html = client.get(f"/applications/{app.pk}/").content.decode()
    assert 'id="supplement"' in html and "请补充遗失说明" in html
    empty = client.post(f"/applications/{app.pk}/supplement/", {"note": ""})
    assert empty.status_code == 400 and "请填写此项" in empty.content.decode()
    done = client.post(
        f"/applications/{app.pk}/supplement/",
        {"note": "已补充", "kind": "statement", "file": SimpleUploadedFile("s.pdf", pdf_bytes())},
    )
    assert done.status_code == 302
    assert Application.objects.get(pk=app.pk).state == State.SUBMITTED
    assert ApplicationMaterial.objects.get(application=app).content_type == "application/pdf"


# ---------------------------------------------------------------- the counter


def test_the_queue_is_sorted_by_deadline_marks_overdue_filters_and_pages(driver, submit, clerk):
    apps = []
    for i in range(22):
        user, licence = driver(name=f"张{i}", mobile=f"138001380{i:02d}")
        apps.append(submit(user, licence, code="B10" if i % 2 else "B11"))
    Application.objects.filter(pk=apps[5].pk).update(accept_due_on=date(2020, 1, 2))
    client = _client(clerk)
    page = client.get("/counter/applications/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index(apps[5].number) < html.index(apps[0].number)
    assert 'class="overdue"' in html and 'id="next"' in html
    second = client.get("/counter/applications/?page=2").content.decode()
    assert second.count('class="mono"') == 2 and 'id="prev"' in second
    only_b10 = client.get("/counter/applications/?business=B10").content.decode()
    assert apps[1].number in only_b10 and apps[0].number not in only_b10
    overdue = client.get("/counter/applications/?overdue=on").content.decode()
    assert apps[5].number in overdue and apps[1].number not in overdue
    assert client.get("/counter/applications/?page=abc&state=nonsense").status_code == 200


def test_the_counter_detail_masks_the_applicant_and_audits_the_read(driver, submit, clerk):
    user, licence = driver(name="张伟")
    app = submit(user, licence, delivery=POST)
    html = _client(clerk).get(f"/counter/applications/{app.pk}/").content.decode()
    assert user.person.id_number not in html and "13800138000" not in html and "驿城区解放路1号" not in html
    assert "张*" in html or "*伟" in html
    assert AuditEntry.objects.filter(action="view", subject_id=str(app.pk), actor=clerk).exists()


def test_the_counter_cannot_see_another_jurisdictions_application(driver, submit, make_staff):
    user, licence = driver()
    app = submit(user, licence)
    outsider = make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zhoukou")
    client = _client(outsider)
    assert client.get(f"/counter/applications/{app.pk}/").status_code == 404
    assert client.post(f"/counter/applications/{app.pk}/accept/").status_code == 404
    assert client.get(f"/counter/applications/{app.pk}/slip.pdf").status_code == 404


def test_a_second_clerk_is_refused_on_the_page_while_the_first_holds_the_claim(
    driver, submit, clerk, make_staff
):
    user, licence = driver()
    app = submit(user, licence)
    other = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-two")
    settle_fee(app, clerk)
    assert _client(clerk).post(f"/counter/applications/{app.pk}/claim/").status_code == 302
    refused = _client(other).post(f"/counter/applications/{app.pk}/accept/")
    assert refused.status_code == 409 and "clerk-zhumadian" in refused.content.decode()
    assert Application.objects.get(pk=app.pk).state == State.SUBMITTED


def test_pickup_path_shows_the_code_once_and_checks_it_at_hand_over(driver, submit, clerk):
    user, licence = driver()
    app = submit(user, licence)
    settle_fee(app, clerk)
    client = _client(clerk)
    for step in ("accept", "production"):
        assert client.post(f"/counter/applications/{app.pk}/{step}/").status_code == 302
    ready = client.post(f"/counter/applications/{app.pk}/ready/")
    assert ready.status_code == 200 and 'id="pickup-code"' in ready.content.decode()
    code = ready.context["pickup_code"]
    assert len(code) == 8 and code not in client.get(f"/counter/applications/{app.pk}/").content.decode()
    wrong = client.post(
        f"/counter/applications/{app.pk}/hand-over/",
        {"pickup_code": "00000000" if code != "00000000" else "11111111"},
    )
    assert wrong.status_code == 400 and "取件码不正确" in wrong.content.decode()
    done = client.post(f"/counter/applications/{app.pk}/hand-over/", {"pickup_code": code})
    assert done.status_code == 302 and Application.objects.get(pk=app.pk).state == State.COMPLETED


def test_post_path_with_a_waybill_then_complete(driver, submit, clerk):
    user, licence = driver()
    app = submit(user, licence, delivery=POST)
    settle_fee(app, clerk)
    client = _client(clerk)
    for step in ("accept", "production"):
        client.post(f"/counter/applications/{app.pk}/{step}/")
    bad = client.post(f"/counter/applications/{app.pk}/post/", {"waybill_number": "不是单号!"})
    assert bad.status_code == 400 and "邮件号" in bad.content.decode()
    assert (
        client.post(f"/counter/applications/{app.pk}/post/", {"waybill_number": "EA123456785CN"}).status_code
        == 302
    )
    assert client.post(f"/counter/applications/{app.pk}/complete/").status_code == 302
    done = Application.objects.get(pk=app.pk)
    assert done.state == State.COMPLETED and done.waybill_number == "EA123456785CN"
    assert "EA123456785CN" in _client(user).get(f"/applications/{app.pk}/").content.decode()


def test_return_and_reject_need_their_reasons(driver, submit, clerk):
    user, licence = driver()
    app = submit(user, licence)
    client = _client(clerk)
    no_reason = client.post(f"/counter/applications/{app.pk}/reject/", {"reason": ""})
    assert no_reason.status_code == 400 and "请填写此项" in no_reason.content.decode()
    past = client.post(
        f"/counter/applications/{app.pk}/return/", {"reason": "照片不清晰", "supplement_due_on": "2020-01-01"}
    )
    assert past.status_code == 400 and "补正期限须晚于今天" in past.content.decode()
    due = (timezone.localdate() + timedelta(days=5)).isoformat()
    assert (
        client.post(
            f"/counter/applications/{app.pk}/return/", {"reason": "照片不清晰", "supplement_due_on": due}
        ).status_code
        == 302
    )
    assert Application.objects.get(pk=app.pk).state == State.RETURNED
    assert client.post(f"/counter/applications/{app.pk}/reject/", {"reason": "逾期未补正"}).status_code == 302
    assert Application.objects.get(pk=app.pk).state == State.REJECTED


def test_a_step_the_state_does_not_allow_is_a_message(driver, submit, clerk):
    user, licence = driver()
    app = submit(user, licence)
    answer = _client(clerk).post(f"/counter/applications/{app.pk}/complete/")
    assert answer.status_code == 409 and "不能进行此项操作" in answer.content.decode()
    assert _client(clerk).post(f"/counter/applications/{app.pk}/teleport/").status_code == 404


def test_materials_are_served_with_the_sniffed_type_and_every_view_is_audited(driver, submit, clerk):
    user, licence = driver()
    app = submit(user, licence, code="B10")
    photo = services.material_add(
        actor=user, application_id=app.pk, material=services.MaterialInput("photo", png_bytes(), "me.png")
    )
    statement = services.material_add(
        actor=user, application_id=app.pk, material=services.MaterialInput("statement", pdf_bytes(), "s.pdf")
    )
    client = _client(clerk)
    image = client.get(f"/counter/applications/{app.pk}/materials/{photo.pk}/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image["X-Content-Type-Options"] == "nosniff"
    pdf = client.get(f"/counter/applications/{app.pk}/materials/{statement.pk}/")
    assert pdf["Content-Type"] == "application/pdf" and pdf["Content-Disposition"].startswith("attachment")
    assert (
        AuditEntry.objects.filter(action="view", subject_type="applications.applicationmaterial").count() == 2
    )
    # Another application's id in the path does not reach the file.
    other_user, other_licence = driver(name="李强", mobile="13800138003")
    other = submit(other_user, other_licence)
    assert client.get(f"/counter/applications/{other.pk}/materials/{photo.pk}/").status_code == 404
    assert _client(user).get(f"/counter/applications/{app.pk}/materials/{photo.pk}/").status_code == 403


def test_the_acceptance_slip_is_a_pdf_that_reads_back(driver, submit, clerk, accept):
    user, licence = driver(name="张伟")
    app = submit(user, licence)
    accept(app)
    answer = _client(clerk).get(f"/counter/applications/{app.pk}/slip.pdf")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert "业务受理回执" in text and app.number in text and "损毁换领驾驶证" in text and "已受理" in text
    assert user.person.id_number not in text  # masked on the slip


def test_the_staff_menu_offers_the_queue(clerk):
    html = _client(clerk).get("/counter/").content.decode()
    assert "/counter/applications/" in html


def test_the_back_office_lists_the_jurisdictions_applications_read_only(driver, submit, clerk, make_staff):
    user, licence = driver()
    app = submit(user, licence)
    services.material_add(
        actor=user, application_id=app.pk, material=services.MaterialInput("photo", png_bytes(), "me.png")
    )
    client = _client(clerk)
    listing = client.get("/admin/applications/application/")
    assert listing.status_code == 200 and app.number in listing.content.decode()
    opened = client.get(f"/admin/applications/application/{app.pk}/change/")
    assert opened.status_code == 200 and "submitted" in opened.content.decode()
    assert client.get("/admin/applications/applicationmaterial/").status_code == 200
    assert (
        client.post(f"/admin/applications/application/{app.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    outsider = _client(make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zhoukou"))
    assert app.number not in outsider.get("/admin/applications/application/").content.decode()


def test_the_pages_speak_english_when_asked(driver, submit, clerk):
    user, licence = driver()
    client = _client(user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/applications/businesses/B11/").content.decode()
    assert "What you need" in html and "Replace damaged licence" in html and "Recent photo" in html
    app = submit(user, licence)
    assert "Progress" in client.get(f"/applications/{app.pk}/").content.decode()


def test_an_age_limit_exchange_offers_the_classes_the_rule_allows(driver):
    from jiaoguan.applications.catalogue import CATALOGUE
    from jiaoguan.applications.forms import ApplyForm

    form = ApplyForm(entry=CATALOGUE["B9"], to_classes=["C1", "C2"])
    assert [value for value, _label in form.fields["to_classes"].choices] == ["C1", "C2"]
    # No classes from the rule: nothing to choose, the submission decides.
    assert "to_classes" not in ApplyForm(entry=CATALOGUE["B9"], to_classes=[]).fields
    assert "to_classes" not in ApplyForm(entry=CATALOGUE["B8"], to_classes=["C1"]).fields


def test_the_counter_shows_a_deferrals_reason_and_end_in_words(driver, submit, clerk):
    user, licence = driver()
    particulars = deferral(licence)
    app = submit(user, licence, code="B12", delivery=None, particulars=particulars)
    html = _client(clerk).get(f"/counter/applications/{app.pk}/").content.decode()
    assert "延期原因" in html and "出国（境）" in html and particulars["until"] in html


def test_the_photo_is_checked_and_reviewed_beside_the_archive_photo_as_for_the_e_licence(
    driver, submit, clerk
):
    from jiaoguan.core.errors import ValidationFailed
    from jiaoguan.registry.models import ArchivePhoto

    user, licence = driver()
    app = submit(user, licence, code="B10")
    # Checked as the e-licence's photo (D1): a thumbnail or a scan is no portrait.
    for bad, code in (
        (png_bytes(size=(60, 80)), "credentials.photo_dimensions"),
        (pdf_bytes(), "credentials.photo_unreadable"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            services.material_add(
                actor=user, application_id=app.pk, material=services.MaterialInput("photo", bad, "me")
            )
        assert refused.value.code == code
    photo = services.material_add(
        actor=user, application_id=app.pk, material=services.MaterialInput("photo", jpeg_bytes(), "me.jpg")
    )
    client = _client(clerk)
    html = client.get(f"/counter/applications/{app.pk}/").content.decode()
    assert (
        f"/counter/applications/{app.pk}/materials/{photo.pk}/" in html and 'id="photo-archive"' not in html
    )
    assert "没有档案照片" in html

    ArchivePhoto.objects.create(
        person_id=licence.holder_id, photo=png_bytes(), photo_type="png", source="test"
    )
    html = client.get(f"/counter/applications/{app.pk}/").content.decode()
    assert f'src="/counter/applications/{app.pk}/archive-photo/"' in html
    before = AuditEntry.objects.filter(action="view").count()
    archive = client.get(f"/counter/applications/{app.pk}/archive-photo/")
    assert archive.status_code == 200 and archive["Content-Type"] == "image/png"
    assert AuditEntry.objects.filter(action="view").count() == before + 1
    # Not the applicant's to open, and not another jurisdiction's.
    assert _client(user).get(f"/counter/applications/{app.pk}/archive-photo/").status_code == 403
