"""Access matrix for the accident actions (A1-A9): every ``accidents.*`` action of the access table x
every role x a record inside ("own") or outside ("other") the actor's reach, through the page and,
where there is one, the API. What happens must be what the table says; an allowed probe checks the
effect, a refused one that nothing happened to its record."""

from __future__ import annotations

import io
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from jiaoguan.accidents import services
from jiaoguan.accidents.models import (
    AccidentCase,
    EvidenceItem,
    EvidenceReview,
    Party,
    QueryApplication,
    QueryCredential,
    ResultDocument,
    StageRecord,
)
from jiaoguan.core.access import ACTIONS, Role

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
ACCIDENT_ACTIONS = sorted(name for name in ACTIONS if name.startswith("accidents."))
ROLES = [role.value for role in Role]


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    # Logins are made by the hundred here; the password hash is not what is tested.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _key_dir(tmp_path, settings):
    """Printed query credentials carry a QR signed with a key of this test only."""
    from jiaoguan.credentials.keys import trust_cache_clear

    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.CREDENTIAL_AUTO_KEY = True
    trust_cache_clear()
    yield
    trust_cache_clear()


def pdf_bytes(text: str = "matrix") -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


class Cases:
    """Cases on each side of the line, opened and worked on by an officer of their unit."""

    # Zhoukou's detachment handles the "other" cases: outside the 411700 staff's jurisdiction, same province.
    DIVISION = {"own": "411702", "other": "411600"}

    def __init__(self, world: Any, make_staff: Any) -> None:
        self.world = world
        self.officers = {
            where: make_staff(role="accident_officer", jurisdiction=code, username=f"acc-{code}")
            for where, code in self.DIVISION.items()
        }

    def case(self, where: str, *, stages: tuple[str, ...] = ()) -> AccidentCase:
        officer = self.officers[where]
        case = services.case_open(
            actor=officer, occurred_at=timezone.now() - timedelta(days=2), place="解放大道与交通路交叉口",
            division=self.DIVISION[where],
        )  # fmt: skip
        for stage in stages:
            services.stage_record(actor=officer, case_id=case.pk, stage=stage, happened_on=TODAY)
        return case

    def with_party(self, where: str, *, stages: tuple[str, ...] = ()) -> SimpleNamespace:
        case = self.case(where, stages=stages)
        person = self.world.person_a
        party, credential, code = services.party_add(
            actor=self.officers[where], case_id=case.pk, label="甲", name=person.name, id_type="resident_id",
            id_number=person.id_number, phone="13800138001",
        )  # fmt: skip
        return SimpleNamespace(case=case, party=party, credential=credential, code=code)

    def with_review(self, where: str, *, approved: bool = False) -> SimpleNamespace:
        """A case with a delivered certificate, an evidence item and a review awaiting the head."""
        found = self.with_party(where, stages=("acceptance", "investigation", "determination"))
        officer = self.officers[where]
        document = services.document_upload(
            actor=officer, case_id=found.case.pk, kind="certificate", number="证字001", data=pdf_bytes(),
            name="scan.pdf", issued_on=TODAY,
        )  # fmt: skip
        services.document_release(actor=officer, document_id=document.pk, reason="当面送达当事人")
        item = services.evidence_item_add(
            actor=officer,
            case_id=found.case.pk,
            kind="photos",
            title="现场照片",
            data=pdf_bytes(),
            name="p.pdf",
        )
        review, code = services.evidence_review_open(
            actor=officer, case_id=found.case.pk, party_id=found.party.pk, person_type="当事人",
            id_type="resident_id", id_number=found.party.id_number, phone="13800138001",
        )  # fmt: skip
        services.evidence_items_select(actor=officer, review_id=review.pk, item_ids=[item.pk])
        if approved:
            EvidenceReview.objects.filter(pk=review.pk).update(state=EvidenceReview.State.APPROVED)
        found.review, found.review_code = review, code
        return found

    def application(self, where: str) -> SimpleNamespace:
        case = self.case(where)
        application = services.query_application_submit(
            actor=self.world.citizen_user, accident_number=case.number, role="owner",
            reason="我是事故车辆的所有人，需要了解处理进度。", document=pdf_bytes(), document_name="licence.pdf",
        )  # fmt: skip
        return SimpleNamespace(case=case, application=application)


@pytest.fixture
def cases(access_world, make_staff):
    return Cases(access_world, make_staff)


# ---------------------------------------------------------------- probes: (channel, response, effect)


def _case_view(cases: Cases, world: Any, role: str, where: str) -> list:
    case = cases.case(where)
    response = world.client(role).get(f"/accidents/cases/{case.pk}/")
    return [("page", response, response.status_code == 200 and case.number in response.content.decode())]


def _case_open(cases: Cases, world: Any, role: str, where: str) -> list:
    place = f"矩阵测试路{role}{where}"
    response = world.client(role).post(
        "/accidents/cases/new/",
        {"occurred_at": (timezone.localtime() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"), "place": place,
         "division": Cases.DIVISION[where]},
    )  # fmt: skip
    return [("page", response, AccidentCase.objects.filter(place=place).exists())]


def _record_stage(cases: Cases, world: Any, role: str, where: str) -> list:
    case = cases.case(where)
    response = world.client(role).post(
        f"/accidents/cases/{case.pk}/stages/",
        {"stage-stage": "acceptance", "stage-happened_on": TODAY.isoformat()},
    )
    return [("page", response, StageRecord.objects.filter(case=case).exists())]


def _case_close(cases: Cases, world: Any, role: str, where: str) -> list:
    case = cases.case(where, stages=("acceptance", "investigation", "determination"))
    response = world.client(role).post(
        f"/accidents/cases/{case.pk}/close/",
        {"step": "confirm", "closed_on": TODAY.isoformat(), "summary": "双方达成调解协议。", "confirm": "on"},
    )
    case.refresh_from_db()
    return [("page", response, case.closed_at is not None)]


def _party_add(cases: Cases, world: Any, role: str, where: str) -> list:
    case = cases.case(where)
    person = world.person_c
    response = world.client(role).post(
        f"/accidents/cases/{case.pk}/parties/",
        {"party-label": "乙", "party-name": person.name, "party-id_type": "resident_id",
         "party-id_number": person.id_number, "party-phone": "13800138003"},
    )  # fmt: skip
    return [("page", response, Party.objects.filter(case=case).exists())]


def _document_issue(cases: Cases, world: Any, role: str, where: str) -> list:
    case = cases.case(where, stages=("acceptance", "investigation", "determination"))
    response = world.client(role).post(
        f"/accidents/cases/{case.pk}/documents/issue/certificate/", {"cert-facts": "两车相撞，无法查清事实。"}
    )
    return [("page", response, ResultDocument.objects.filter(case=case).exists())]


def _credential_revoke(cases: Cases, world: Any, role: str, where: str) -> list:
    found = cases.with_party(where)
    response = world.client(role).post(
        f"/accidents/cases/{found.case.pk}/credentials/{found.credential.pk}/revoke/",
        {"step": "confirm", "reason": "查询码泄露", "confirm": "on"},
    )
    return [("page", response, QueryCredential.objects.get(pk=found.credential.pk).revoked_at is not None)]


def _application_review(cases: Cases, world: Any, role: str, where: str) -> list:
    found = cases.application(where)
    response = world.client(role).post(
        f"/accidents/cases/{found.case.pk}/applications/{found.application.pk}/review/",
        {"decision": "approve"},
    )
    state = QueryApplication.objects.get(pk=found.application.pk).state
    return [("page", response, state == QueryApplication.State.APPROVED)]


def _evidence_manage(cases: Cases, world: Any, role: str, where: str) -> list:
    case = cases.case(where)
    response = world.client(role).post(
        f"/accidents/cases/{case.pk}/evidence/",
        {"item-kind": "scene_diagram", "item-title": "现场图", "item-confidentiality": "none",
         "item-file": SimpleUploadedFile("scene.pdf", pdf_bytes(), content_type="application/pdf")},
    )  # fmt: skip
    return [("page", response, EvidenceItem.objects.filter(case=case).exists())]


def _evidence_approve(cases: Cases, world: Any, role: str, where: str) -> list:
    found = cases.with_review(where)
    response = world.client(role).post(f"/accidents/approvals/{found.review.pk}/", {"decision": "approve"})
    state = EvidenceReview.objects.get(pk=found.review.pk).state
    return [("page", response, state == EvidenceReview.State.APPROVED)]


def _application_submit(cases: Cases, world: Any, role: str, where: str) -> list:
    """Own: apply for oneself. Other: fetch somebody else's query credential from "my" pages."""
    actor = world.actor(role)
    if where == "own":
        case = cases.case("own")
        response = world.client(role).post(
            "/accidents/apply/",
            {"accident_number": case.number, "role": "owner", "reason": "我是事故车辆的所有人，需要了解处理进度。",
             "document": SimpleUploadedFile("proof.pdf", pdf_bytes(), content_type="application/pdf")},
        )  # fmt: skip
        made = actor is not None and QueryApplication.objects.filter(case=case, applicant=actor).exists()
        return [("page", response, made)]
    holder = world.actor("organisation" if role == "citizen" else "citizen")
    found = cases.application("own")
    QueryApplication.objects.filter(pk=found.application.pk).update(applicant=holder)
    approved = services.query_application_review(
        actor=cases.officers["own"], application_id=found.application.pk, approve=True
    )
    response = world.client(role).get(f"/accidents/my/credentials/{approved.credential.pk}.pdf")
    return [("page", response, response.status_code == 200 and response.content[:5] == b"%PDF-")]


def _progress_query(cases: Cases, world: Any, role: str, where: str) -> list:
    found = cases.with_party(where)
    page = world.client(role).post(
        "/accidents/query/", {"accident_number": found.case.number, "code": found.code}
    )
    api = world.api(role).post(
        "/api/v1/accidents/progress", {"accident_number": found.case.number, "code": found.code},
        content_type="application/json",
    )  # fmt: skip
    return [
        ("page", page, page.status_code == 302 and page["Location"] == "/accidents/query/progress/"),
        ("api", api, api.status_code == 200 and api.json()["number"] == found.case.number),
    ]


def _evidence_review_online(cases: Cases, world: Any, role: str, where: str) -> list:
    found = cases.with_review(where, approved=True)
    page = world.client(role).post(
        "/accidents/evidence/", {"accident_number": found.case.number, "code": found.review_code}
    )
    return [("page", page, page.status_code == 302 and page["Location"] == "/accidents/evidence/items/")]


def _party_view(cases: Cases, world: Any, role: str, where: str) -> list:
    """Own: a case the citizen (王芳) is a party to. Other: a case of somebody else (李强)."""
    case = cases.case("own", stages=("acceptance",))
    person = world.person_a if where == "own" else world.person_c
    services.party_add(
        actor=cases.officers["own"], case_id=case.pk, label="甲", name=person.name, id_type="resident_id",
        id_number=person.id_number,
    )  # fmt: skip
    page = world.client(role).get(f"/accidents/mine/{case.number}/")
    pdf = world.client(role).get(f"/accidents/mine/{case.number}/credential.pdf")
    api = world.api(role).get(f"/api/v1/accidents/mine/{case.number}")
    return [
        ("page", page, page.status_code == 200 and case.number in page.content.decode()),
        ("pdf", pdf, pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"),
        ("api", api, api.status_code == 200 and api.json()["number"] == case.number),
    ]


PROBES = {
    "accidents.case.party_view": _party_view,
    "accidents.case.view": _case_view,
    "accidents.case.open": _case_open,
    "accidents.case.record_stage": _record_stage,
    "accidents.case.close": _case_close,
    "accidents.party.add": _party_add,
    "accidents.document.issue": _document_issue,
    "accidents.query_credential.revoke": _credential_revoke,
    "accidents.application.review": _application_review,
    "accidents.evidence.manage": _evidence_manage,
    "accidents.evidence.approve": _evidence_approve,
    "accidents.application.submit": _application_submit,
    "accidents.progress.query": _progress_query,
    "accidents.evidence.review_online": _evidence_review_online,
}


def test_every_accident_action_has_a_probe():
    assert sorted(PROBES) == ACCIDENT_ACTIONS


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", ACCIDENT_ACTIONS)
def test_accident_action_matrix(name, role, where, cases, access_world, access_check):
    access_expected, access_outcome = access_check
    expected = access_expected(name, role, where)
    granted = ACTIONS[name].scope_for(Role(role)) is not None
    for channel, response, effect in PROBES[name](cases, access_world, role, where):
        outcome = "allowed" if access_outcome(response) == "allowed" and effect else "refused"
        assert outcome == ("allowed" if expected else "refused"), (channel, response.status_code)
        if not granted:  # a role the table does not list is refused before anything is read
            assert access_outcome(response) == "refused", (channel, response.status_code)
