"""The demo of issue 18 works as printed: the father's daughter acts for him (O2), the veteran's
licence passes the military registry (O3) and the driver back from abroad may apply for the
relief (O4), with the record systems seeded from the file ``jiaoguan up`` hands the fake service."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from django.utils import timezone
from PIL import Image

from jiaoguan.accounts.models import User
from jiaoguan.delegations import services as delegation_services
from jiaoguan.demo.acting import ensure_demo_acting
from jiaoguan.integrations.exit_entry import movement_from_json
from jiaoguan.integrations.military_licence import licence_from_json
from jiaoguan.military_exchange import services as military_services
from jiaoguan.overseas_relief import services as relief_services

pytestmark = pytest.mark.django_db


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 210, 230)).save(out, format="JPEG")
    return out.getvalue()


def _pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "certificate")
    page.save()
    return out.getvalue()


@pytest.fixture
def demo(tmp_path, settings, real_person_service, exit_entry_service, military_licence_service):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    today = timezone.localdate()
    logins = ensure_demo_acting(today=today, password="demo-pass-1", data_dir=tmp_path)
    assert ensure_demo_acting(today=today, password="demo-pass-1", data_dir=tmp_path) == logins
    seeds = json.loads((tmp_path / "records_seeds.json").read_text(encoding="utf-8"))
    for id_number, moves in seeds["exit-entry"].items():
        exit_entry_service.travel(id_number, [movement_from_json(m) for m in moves])
    for licence in seeds["military"]:
        military_licence_service.licence(licence_from_json(licence))
    return {row["role"]: User.objects.get(username=row["username"]) for row in logins}


def test_the_daughter_may_act_for_her_father(demo):
    father = demo["citizen_elder"]
    proxy = delegation_services.proxy_create(
        actor=demo["citizen_relative"], elder_id_number=father.person.id_number, elder_name=father.person.name,
        relationship="child", business_code="B8", id_card=_jpeg(),
    )  # fmt: skip
    proxy = delegation_services.proxy_authenticate(
        actor=demo["citizen_relative"], proxy_id=proxy.pk, capture=_jpeg()
    )
    assert proxy.state == "active"


def test_the_veterans_licence_passes_the_military_registry(demo):
    case = military_services.case_apply(
        actor=demo["citizen_veteran"], military_number="JW20080301", classes="B1",
        first_issued_on=date(2008, 3, 1),
    )  # fmt: skip
    assert case.check_outcome == "passed"


def test_the_driver_back_from_abroad_may_apply_for_the_relief(demo):
    case = relief_services.case_apply(
        actor=demo["citizen_abroad"], certificate=relief_services.Certificate(_pdf(), "certificate.pdf")
    )
    assert case.state == "submitted" and case.path == "direct"
