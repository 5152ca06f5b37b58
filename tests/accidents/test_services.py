"""Accident cases end to end through the services and the API (A1-A9), with the access matrix."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.accidents import services
from jiaoguan.accidents.models import EvidenceDownload, QueryAttempt
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, Throttled, ValidationFailed

TODAY = timezone.localdate()


def pdf_bytes(text: str = "scene") -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 120, 160)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def officer(make_staff):
    return make_staff(role="accident_officer", jurisdiction="411702", username="officer-411702")


@pytest.fixture
def head(make_staff):
    return make_staff(role="accident_head", jurisdiction="411700", username="head-411700")


@pytest.fixture
def case(officer):
    return services.case_open(
        actor=officer,
        occurred_at=timezone.now() - timedelta(days=3),
        place="驿城区解放大道与交通路交叉口",
        weather="晴",
    )


@pytest.fixture
def party(case, officer, make_person, make_vehicle):
    person = make_person(name="马超")
    make_vehicle(owner=person, plate="豫QA8866")
    party, credential, code = services.party_add(
        actor=officer, case_id=case.pk, label="甲", name="马超", id_type="resident_id",
        id_number=person.id_number, phone="13800001111", plate="豫QA8866",
    )  # fmt: skip
    return party, credential, code


def determine(case, officer):
    for stage in ["acceptance", "investigation", "determination"]:
        services.stage_record(
            actor=officer, case_id=case.pk, stage=stage, happened_on=TODAY, public_note=f"{stage} done"
        )
    document = services.document_issue(
        actor=officer, case_id=case.pk, kind="determination", facts="甲车闯红灯与乙车相撞。",
        evidence="现场图、视频。", responsibility=[("甲", "全部责任"), ("乙", "无责任")],
    )  # fmt: skip
    services.document_release(actor=officer, document_id=document.pk, reason="当面送达当事人")
    return document


@pytest.mark.django_db
class TestCase:
    def test_number_is_valid_and_serial_per_unit_and_day(self, officer):
        from jiaoguan.accidents.rules import accident_number_check

        first = services.case_open(actor=officer, occurred_at=timezone.now(), place="A路")
        second = services.case_open(actor=officer, occurred_at=timezone.now(), place="B路")
        assert accident_number_check(first.number) == first.number
        assert first.number[:6] == "411702" and int(second.number[14:19]) == int(first.number[14:19]) + 1

    def test_only_accident_officers_in_their_jurisdiction(self, make_staff, case):
        clerk = make_staff(role="counter_clerk")
        with pytest.raises(NotAllowed):
            services.case_open(actor=clerk, occurred_at=timezone.now(), place="A路")
        other = make_staff(role="accident_officer", jurisdiction="411721", username="officer-411721")
        with pytest.raises(NotFound):
            services.stage_record(actor=other, case_id=case.pk, stage="acceptance", happened_on=TODAY)

    def test_stages_in_order(self, case, officer):
        with pytest.raises(Conflict):
            services.stage_record(actor=officer, case_id=case.pk, stage="determination", happened_on=TODAY)
        for stage in ["acceptance", "investigation", "determination"]:
            services.stage_record(actor=officer, case_id=case.pk, stage=stage, happened_on=TODAY)
        # Closure is its own step, with a summary and a confirmation (A2).
        with pytest.raises(ValidationFailed) as refused:
            services.stage_record(actor=officer, case_id=case.pk, stage="closure", happened_on=TODAY)
        assert refused.value.code == "accidents.closure_separate"

    def test_closing_needs_a_summary_and_the_determination(self, case, officer):
        with pytest.raises(ValidationFailed) as short:
            services.case_close(actor=officer, case_id=case.pk, closed_on=TODAY, summary=" 结 ")
        assert short.value.detail["field"] == "summary"
        with pytest.raises(Conflict) as early:
            services.case_close(
                actor=officer, case_id=case.pk, closed_on=TODAY, summary="调解达成协议，结案。"
            )
        assert early.value.code == "accidents.stage_order"
        case.refresh_from_db()
        assert case.closed_at is None

    def test_closing_waits_for_open_applications(self, case, officer, make_person):
        from jiaoguan.accidents.models import QueryApplication
        from jiaoguan.accounts.models import User

        for stage in ["acceptance", "investigation", "determination"]:
            services.stage_record(actor=officer, case_id=case.pk, stage=stage, happened_on=TODAY)
        owner = User.objects.create_user(username="owner-a", person=make_person(name="周瑜"))
        application = services.query_application_submit(
            actor=owner, accident_number=case.number, role="owner", reason="我是肇事车辆所有人，需了解处理进度。",
            document=pdf_bytes(), document_name="proof.pdf",
        )  # fmt: skip
        with pytest.raises(Conflict) as waiting:
            services.case_close(
                actor=officer, case_id=case.pk, closed_on=TODAY, summary="调解达成协议，结案。"
            )
        assert waiting.value.code == "accidents.close_open_applications"
        services.query_application_review(actor=officer, application_id=application.pk, approve=True)
        services.case_close(actor=officer, case_id=case.pk, closed_on=TODAY, summary="调解达成协议，结案。")
        assert QueryApplication.objects.get().state == "approved"

    def test_nothing_is_recorded_on_a_closed_case_but_a_credential_can_be_revoked(
        self, case, officer, party, make_person
    ):
        from jiaoguan.accidents.models import StageRecord
        from jiaoguan.accounts.models import User
        from jiaoguan.core.models import AuditEntry

        determine(case, officer)
        closed = services.case_close(
            actor=officer,
            case_id=case.pk,
            closed_on=TODAY,
            summary="双方达成赔偿协议，结案。",
            public_note="已结案",
        )
        assert closed.closed_at is not None and closed.closed_by == officer
        assert closed.closure_summary == "双方达成赔偿协议，结案。"
        closure = StageRecord.objects.get(case=case, stage="closure")
        assert closure.public_note == "已结案" and closure.internal_note == "双方达成赔偿协议，结案。"
        entry = AuditEntry.objects.get(summary=f"结案 {case.number}")
        assert entry.reason == "双方达成赔偿协议，结案。" and entry.actor_id == officer.pk
        refused = [
            lambda: services.stage_record(actor=officer, case_id=case.pk, stage="mediation", happened_on=TODAY),
            lambda: services.case_close(actor=officer, case_id=case.pk, closed_on=TODAY, summary="再次结案"),
            lambda: services.party_add(
                actor=officer, case_id=case.pk, label="乙", name="李娜", id_type="resident_id",
                id_number=make_person(name="李娜").id_number,
            ),
            lambda: services.document_issue(actor=officer, case_id=case.pk, kind="certificate", facts="补充"),
            lambda: services.evidence_item_add(
                actor=officer, case_id=case.pk, kind="photos", title="照片", data=pdf_bytes(), name="p.pdf"
            ),
            lambda: services.query_application_submit(
                actor=User.objects.create_user(username="owner-b", person=make_person(name="黄盖")),
                accident_number=case.number, role="owner", reason="我是肇事车辆所有人，需了解处理进度。",
                document=pdf_bytes(), document_name="proof.pdf",
            ),
        ]  # fmt: skip
        for attempt in refused:
            with pytest.raises(Conflict) as error:
                attempt()
            assert error.value.code == "accidents.case_closed"
        # Taking access away stays possible: a leaked code must be stoppable after closure too.
        revoked = services.query_credential_revoke(
            actor=officer, credential_id=party[1].pk, reason="查询码泄露"
        )
        assert revoked.revoked_at is not None

    def test_closing_follows_the_table(self, case, officer, make_staff):
        for stage in ["acceptance", "investigation", "determination"]:
            services.stage_record(actor=officer, case_id=case.pk, stage=stage, happened_on=TODAY)
        with pytest.raises(NotAllowed):
            services.case_close(
                actor=make_staff(role="counter_clerk"),
                case_id=case.pk,
                closed_on=TODAY,
                summary="结案说明内容",
            )
        elsewhere = make_staff(role="accident_head", jurisdiction="411600", username="head-411600")
        with pytest.raises(NotFound):
            services.case_close(actor=elsewhere, case_id=case.pk, closed_on=TODAY, summary="结案说明内容")
        head = make_staff(role="accident_head", jurisdiction="411700", username="head-411700")
        assert services.case_close(
            actor=head, case_id=case.pk, closed_on=TODAY, summary="结案说明内容"
        ).closed_at


@pytest.mark.django_db
class TestQuery:
    def test_party_queries_with_the_code_and_sees_released_documents(self, case, officer, party):
        _party, _credential, code = party
        document = determine(case, officer)
        result = services.progress_query(accident_number=case.number, code=code, client="ip:1")
        assert [s["stage"] for s in result.stages] == ["acceptance", "investigation", "determination"]
        assert [d["id"] for d in result.documents] == [document.pk]
        assert "internal" not in json.dumps(result.stages, default=str)

    def test_unknown_number_and_wrong_code_give_the_same_answer(self, case, party):
        from jiaoguan.accidents.rules import accident_number_make

        unknown = accident_number_make(division="411702", opened_on=TODAY, serial=99999)
        answers = []
        for number, code in [(unknown, party[2]), (case.number, "ABCDEFGHJKMN")]:
            with pytest.raises(NotFound) as err:
                services.progress_query(accident_number=number, code=code, client="ip:2")
            answers.append((err.value.code, err.value.message_zh, err.value.status))
        assert answers[0] == answers[1]

    def test_repeated_wrong_codes_are_throttled_and_visible_to_the_officer(self, case, officer, party):
        for _ in range(10):
            with pytest.raises(NotFound):
                services.progress_query(accident_number=case.number, code="ABCDEFGHJKMN", client="ip:3")
        with pytest.raises(Throttled) as err:
            services.progress_query(accident_number=case.number, code=party[2], client="ip:3")
        assert err.value.status == 429
        assert len(services.failed_attempts(actor=officer, case_id=case.pk)) == 10
        # another client with the right code still gets through
        assert (
            services.progress_query(accident_number=case.number, code=party[2], client="ip:4").number
            == case.number
        )

    def test_revoked_credential_no_longer_works(self, case, officer, party):
        _party, credential, code = party
        services.query_credential_revoke(actor=officer, credential_id=credential.pk, reason="当事人申请更换")
        with pytest.raises(NotFound):
            services.progress_query(accident_number=case.number, code=code, client="ip:5")

    def test_province_not_enabled(self, make_staff, settings):
        # Zhejiang: in neither of the seeds' lists (A9a), and not the province this installation serves.
        officer = make_staff(role="accident_officer", jurisdiction="330000", username="zj")
        case = services.case_open(actor=officer, occurred_at=timezone.now(), place="杭州市")
        with pytest.raises(NotAllowed) as err:
            services.progress_query(accident_number=case.number, code="ABCDEFGHJKMN", client="ip:6")
        assert err.value.code == "accidents.service_unavailable"


@pytest.mark.django_db
class TestApplications:
    def test_insurer_applies_and_is_approved(self, case, officer, make_staff, make_person):
        from jiaoguan.accounts.services import organisation_register
        from jiaoguan.core.identifiers import make_uscc

        rep = make_person(name="钱进")
        insurer = organisation_register(
            actor=make_staff(), uscc=make_uscc("91411700MA9X00007"), name="某财产保险股份有限公司驻马店中心支公司",
            kind="insurer", division="411702", representative_id_type="resident_id",
            representative_id_number=rep.id_number, representative_name=rep.name,
            representative_role="legal_representative", mobile="13800009999", password="Insurer#2026x",
        )  # fmt: skip
        application = services.query_application_submit(
            actor=insurer, accident_number=case.number, role="insurer",
            reason="本公司承保甲车交强险,需了解事故处理进度以办理理赔。", document=pdf_bytes(), document_name="委托书.pdf",
        )  # fmt: skip
        approved = services.query_application_review(
            actor=officer, application_id=application.pk, approve=True
        )
        code = services.query_code_of(approved.credential)
        assert (
            services.progress_query(accident_number=case.number, code=code, client="ip:7").role == "insurer"
        )

    def test_citizen_cannot_apply_as_insurer_and_forged_upload_is_refused(self, case, make_person):
        from jiaoguan.accounts.models import User

        person = make_person(name="孙权")
        user = User.objects.create_user(
            username=person.id_number, password="x", person=person, registration_level="online"
        )
        with pytest.raises(NotAllowed):
            services.query_application_submit(
                actor=user, accident_number=case.number, role="insurer", reason="我想知道处理进度,请批准查询。",
                document=pdf_bytes(), document_name="a.pdf",
            )  # fmt: skip
        with pytest.raises(ValidationFailed) as err:
            services.query_application_submit(
                actor=user, accident_number=case.number, role="owner", reason="我是甲车的所有人,需要了解进度。",
                document=png_bytes(), document_name="行驶证.pdf",
            )  # fmt: skip
        assert err.value.code == "upload.extension_mismatch"


@pytest.mark.django_db
class TestEvidence:
    def test_full_evidence_flow(self, case, officer, head, party):
        party_row, _credential, _code = party
        with pytest.raises(Conflict):  # not before the determination is delivered
            services.evidence_review_open(
                actor=officer, case_id=case.pk, party_id=party_row.pk, person_type="当事人",
                id_type="resident_id", id_number=party_row.id_number, phone="13800001111",
            )  # fmt: skip
        determine(case, officer)
        diagram = services.evidence_item_add(
            actor=officer,
            case_id=case.pk,
            kind="scene_diagram",
            title="现场图",
            data=pdf_bytes("diagram"),
            name="现场图.pdf",
        )
        photo = services.evidence_item_add(
            actor=officer, case_id=case.pk, kind="photos", title="现场照片1", data=png_bytes(), name="p1.png"
        )
        witness = services.evidence_item_add(
            actor=officer, case_id=case.pk, kind="survey_record", title="证人询问笔录", data=pdf_bytes("w"),
            name="w.pdf", confidentiality="witness",
        )  # fmt: skip
        review, code = services.evidence_review_open(
            actor=officer, case_id=case.pk, party_id=party_row.pk, person_type="当事人",
            id_type="resident_id", id_number=party_row.id_number, phone="13800001111",
        )  # fmt: skip
        with pytest.raises(Conflict) as err:
            services.evidence_items_select(
                actor=officer, review_id=review.pk, item_ids=[diagram.pk, witness.pk]
            )
        assert err.value.code == "accidents.item_confidential"
        services.evidence_items_select(actor=officer, review_id=review.pk, item_ids=[diagram.pk, photo.pk])
        with pytest.raises(Conflict) as err:  # not visible before the head approves
            services.evidence_access(accident_number=case.number, code=code, client="ip:8")
        assert err.value.code == "accidents.review_not_approved"
        with pytest.raises(NotAllowed):  # an officer is not the head of the unit
            services.evidence_review_decide(actor=officer, review_id=review.pk, approve=True)
        services.evidence_review_decide(actor=head, review_id=review.pk, approve=True)
        found = services.evidence_access(accident_number=case.number, code=code, client="ip:8")
        data, content_type, stamp = services.evidence_download(
            review_id=found.pk, item_id=diagram.pk, ip="127.0.0.1"
        )
        assert content_type == "application/pdf" and "马*" in stamp
        from pypdf import PdfReader

        assert "仅供本事故查阅" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
        image, image_type, _ = services.evidence_download(review_id=found.pk, item_id=photo.pk)
        assert image_type == "image/png" and image[:4] == b"\x89PNG"
        with pytest.raises(NotFound):  # never a confidential or unselected item
            services.evidence_download(review_id=found.pk, item_id=witness.pk)
        assert EvidenceDownload.objects.filter(review=review).count() == 2


@pytest.mark.django_db
class TestApi:
    def test_progress_in_the_body_and_document_download(self, case, officer, party):
        document = determine(case, officer)
        client = Client()
        body = {"accident_number": case.number, "code": party[2]}
        response = client.post(
            "/api/v1/accidents/progress", json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 200, response.content
        assert [d["id"] for d in response.json()["documents"]] == [document.pk]
        pdf = client.post(
            "/api/v1/accidents/documents",
            json.dumps({**body, "document_id": document.pk}),
            content_type="application/json",
        )
        assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
        wrong = client.post(
            "/api/v1/accidents/progress",
            json.dumps({**body, "code": "ABCDEFGHJKMN"}),
            content_type="application/json",
        )
        assert wrong.status_code == 404 and wrong.json()["code"] == "accidents.query_failed"
        malformed = client.post(
            "/api/v1/accidents/progress",
            json.dumps({**body, "accident_number": "12"}),
            content_type="application/json",
        )
        assert malformed.status_code == 422

    def test_query_attempts_are_recorded(self, case):
        client = Client()
        for _ in range(3):
            client.post(
                "/api/v1/accidents/progress",
                json.dumps({"accident_number": case.number, "code": "ABCDEFGHJKMN"}),
                content_type="application/json",
            )
        assert QueryAttempt.objects.filter(number=case.number).count() == 3


@pytest.mark.django_db
def test_printed_query_credential_carries_a_signed_qr(case, officer, party, tmp_path, settings):
    import pypdfium2
    from pypdf import PdfReader

    from jiaoguan.credentials.keys import trust_cache_clear
    from jiaoguan.credentials.render import decode_qr_image
    from jiaoguan.credentials.services import credential_verify

    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.CREDENTIAL_AUTO_KEY = True
    trust_cache_clear()
    _party, credential, code = party
    pdf = services.query_credential_pdf(actor=officer, credential_id=credential.pk)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert case.number in text and code[:4] in text.replace("-", "")
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=300 / 72).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    (qr,) = decode_qr_image(buffer.getvalue())
    assert qr.startswith("AQ1:")
    verdict = credential_verify(text=qr)
    assert verdict.valid and verdict.subject["number"] == case.number and "code" not in verdict.subject
    services.query_credential_revoke(actor=officer, credential_id=credential.pk, reason="遗失")
    assert credential_verify(text=qr).reason == "revoked"
    with pytest.raises(NotFound):
        services.query_credential_pdf(actor=officer, credential_id=credential.pk)
    trust_cache_clear()
