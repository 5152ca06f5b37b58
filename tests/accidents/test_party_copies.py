"""Result documents as the law hands them out (A3, A4): the parties' copy names them in full, a
third party's copy (vehicle owner, insurer) masks them and says so; every code in words; the
printed credentials give the full web address. The PDFs are read back with pypdf."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from jiaoguan.accidents import services
from jiaoguan.core.identifiers import mask_id_number

from .test_chinese_copy import SLIP

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PUBLIC = "https://jiaoguan.example.cn"


def text_of(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


@pytest.fixture(autouse=True)
def _key_dir(tmp_path, settings):
    """The query credential's QR is signed with a key of this test only."""
    from jiaoguan.credentials.keys import trust_cache_clear

    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.CREDENTIAL_AUTO_KEY = True
    trust_cache_clear()
    yield
    trust_cache_clear()


@pytest.fixture
def officer(make_staff):
    return make_staff(role="accident_officer", jurisdiction="411702", username="officer-copies")


@pytest.fixture
def case(officer, make_person):
    case = services.case_open(
        actor=officer, occurred_at=timezone.now() - timedelta(days=3), place="驿城区雪松大道", weather="晴"
    )
    for label, name in [("甲", "马超"), ("乙", "黄忠")]:
        person = make_person(name=name)
        services.party_add(
            actor=officer, case_id=case.pk, label=label, name=name, id_type="resident_id",
            id_number=person.id_number, phone="13800001111",
        )  # fmt: skip
    for stage in ["acceptance", "investigation", "determination"]:
        services.stage_record(actor=officer, case_id=case.pk, stage=stage, happened_on=TODAY)
    return case


def issue(case, officer, kind="determination"):
    if kind == "determination":
        return services.document_issue(
            actor=officer, case_id=case.pk, kind=kind, facts="马超驾驶小型轿车闯红灯，与黄忠驾驶的电动车相撞。",
            evidence="现场图、视频。", responsibility=[("甲", "全部责任"), ("乙", "无责任")],
        )  # fmt: skip
    return services.document_issue(
        actor=officer, case_id=case.pk, kind=kind, facts="两车相撞，成因无法查清。"
    )


@pytest.mark.parametrize("kind", ["determination", "certificate"])
def test_the_parties_copy_names_them_in_full_and_every_code_in_words(case, officer, kind):
    document = issue(case, officer, kind)
    text = text_of(bytes(document.content))
    for party in case.parties.all():
        assert party.name in text and party.id_number in text
    assert "居民身份证" in text and "resident_id" not in text
    assert "第三方" not in text
    assert not SLIP.search(text), SLIP.search(text)  # full-width punctuation in the printed copy
    if kind == "determination":
        assert "当事人甲马超：全部责任" in text and "当事人乙黄忠：无责任" in text


@pytest.mark.parametrize("kind", ["determination", "certificate"])
def test_a_third_partys_copy_masks_the_parties_and_says_so(case, officer, kind):
    document = issue(case, officer, kind)
    text = text_of(bytes(document.third_party_content))
    assert "第三方（车辆所有人、保险公司）查询副本" in text
    for party in case.parties.all():
        assert party.id_number not in text and mask_id_number(party.id_number) in text
    assert "马*" in text and "黄*" in text
    assert "居民身份证" in text and "resident_id" not in text


def test_each_credential_role_gets_its_copy(case, officer):
    document = issue(case, officer)
    for role in ["party", "relative", "agent"]:
        assert services.document_copy(document, role=role) == bytes(document.content)
    for role in ["owner", "insurer"]:
        assert services.document_copy(document, role=role) == bytes(document.third_party_content)


def test_a_party_downloads_the_full_copy_an_insurer_the_masked_one(case, officer, make_person):
    """Through the API: the party's code gives the parties' copy, an approved insurer's code the third party's."""
    from jiaoguan.accidents.models import QueryCredential

    document = issue(case, officer)
    services.document_release(actor=officer, document_id=document.pk, reason="当面送达当事人")
    party_credential = QueryCredential.objects.filter(case=case, role="party").first()
    insurer = services._credential_issue(case=case, actor=officer, holder_name="某保险公司", role="insurer")[
        0
    ]
    api = Client()
    copies = {}
    for credential in [party_credential, insurer]:
        response = api.post(
            "/api/v1/accidents/documents",
            {
                "accident_number": case.number,
                "code": services.query_code_of(credential),
                "document_id": document.pk,
            },
            content_type="application/json",
        )
        assert response.status_code == 200
        copies[credential.role] = text_of(response.content)
    # The structured fields: the officer's own text of the facts is the same on both copies.
    assert "当事人甲马超：全部责任" in copies["party"] and "第三方" not in copies["party"]
    assert "当事人甲马*：全部责任" in copies["insurer"] and "第三方" in copies["insurer"]


def test_query_credential_gives_the_full_web_address(case, officer, settings):
    settings.PUBLIC_BASE_URL = PUBLIC + "/"
    credential = case.query_credentials.first()
    text = text_of(services.query_credential_pdf(actor=officer, credential_id=credential.pk))
    assert f"{PUBLIC}/accidents/query/" in text


def test_review_credential_gives_the_full_web_address_and_the_document_type_in_words(case, officer, settings):
    from jiaoguan.accidents.models import EvidenceReview

    settings.PUBLIC_BASE_URL = PUBLIC
    document = issue(case, officer, "certificate")
    services.document_release(actor=officer, document_id=document.pk, reason="当面送达当事人")
    party = case.parties.get(label="甲")
    review, _code = services.evidence_review_open(
        actor=officer, case_id=case.pk, party_id=party.pk, person_type="当事人", id_type="resident_id",
        id_number=party.id_number, phone="13800001111",
    )  # fmt: skip
    assert EvidenceReview.objects.filter(pk=review.pk).exists()
    text = text_of(services.review_credential_pdf(actor=officer, review_id=review.pk))
    assert f"{PUBLIC}/accidents/evidence/" in text
    assert "居民身份证" in text and "resident_id" not in text
