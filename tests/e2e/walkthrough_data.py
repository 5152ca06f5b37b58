"""The walk-through's world: the demo detachment as ``jiaoguan up`` makes it, plus what the demo does
not make yet (an accident case with a citizen as a party, an evidence review awaiting the head,
electronic driving licences), all made through the platform's own services.

Small (20 persons, a fixed seed): every role has realistic content and it takes well under a
second, so each role's test builds it afresh in its own transactional database.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

PASSWORD = "Walk#2026demo"
SEED = 12123
PERSONS = 20


@dataclass
class World:
    """Logins per role (username) and the records the searches and the checker use."""

    logins: dict[str, str]
    citizen_id_number: str
    citizen_name: str
    citizen_plate: str
    counter_citizen_id_number: str
    organisation_uscc: str
    tokens: dict[str, str] = field(default_factory=dict)  # what the checker scans: kind -> QR text
    licence_holder_name: str = ""
    plate_vin: str = ""  # the citizen's new car, its number chosen and waiting for the counter
    plate_number: str = ""


def _portrait() -> bytes:
    """A frontal-portrait-sized JPEG: what the photo check accepts."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 400), (225, 232, 240))
    draw = ImageDraw.Draw(image)
    draw.ellipse((95, 70, 205, 200), fill=(236, 200, 170))
    draw.rectangle((70, 220, 230, 400), fill=(40, 60, 110))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _pdf(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return buffer.getvalue()


def build_world() -> World:
    from jiaoguan.accidents import services as accidents
    from jiaoguan.accounts.models import User
    from jiaoguan.core.errors import NotAllowed
    from jiaoguan.credentials import services as credentials
    from jiaoguan.credentials.models import Credential
    from jiaoguan.credentials.token import DisplayMode
    from jiaoguan.demo.generate import ensure_demo_logins, generate_demo
    from jiaoguan.plates import services as plates
    from jiaoguan.plates.demo import ensure_demo_plates
    from jiaoguan.plates.models import PreRegistration
    from jiaoguan.registry.models import Person, Vehicle
    from jiaoguan.violations.demo import ensure_demo_violations

    today = timezone.localdate()
    generate_demo(persons=PERSONS, seed=SEED, today=today)
    rows = ensure_demo_logins(today=today, password=PASSWORD)
    ensure_demo_violations(today=today, usernames=[row["username"] for row in rows])
    credentials.inspection_marks_bulk_issue(today=today)
    credentials.credential_status_sync(today=today)
    by_role = {row["role"]: row["username"] for row in rows}
    staff = {u.staff_role: u for u in User.objects.filter(kind=User.Kind.STAFF)}

    citizen = User.objects.select_related("person").get(username=by_role["citizen_online"])
    counter_citizen = User.objects.select_related("person").get(username=by_role["citizen_counter"])
    transport = User.objects.select_related("organisation").get(username=by_role["transport_company"])
    assert citizen.person is not None and counter_citizen.person is not None
    assert transport.organisation is not None
    vehicle = Vehicle.objects.filter(owner_person=citizen.person).order_by("id").first()
    assert vehicle is not None and vehicle.plate_number

    # Electronic driving licences (D1): the walked citizen's was approved at the counter; the
    # counter-registered citizen's application waits in the clerk's photo review.
    clerk = staff["counter_clerk"]
    submitted = credentials.licence_application_submit(actor=citizen, photo=_portrait())
    approved = credentials.licence_application_review(actor=clerk, application_id=submitted.pk, approve=True)
    assert approved.credential is not None
    credentials.licence_application_submit(actor=counter_citizen, photo=_portrait())

    # An accident case (A1-A7) in 驿城区 with the online citizen as party 甲: stages up to the
    # determination, the determination delivered, evidence, and a review awaiting the head.
    officer = staff["accident_officer"]
    case = accidents.case_open(
        actor=officer,
        occurred_at=timezone.now() - timedelta(days=6, hours=3),
        place="驻马店市驿城区解放路与交通路交叉口",
        division="411702",
        weather="晴",
        summary="两车在路口发生碰撞，乙车驾驶人受轻伤。",
    )
    other = Person.objects.exclude(pk=citizen.person.pk).filter(vehicles__isnull=False).order_by("pk").first()
    assert other is not None
    party_a, _credential, _code = accidents.party_add(
        actor=officer, case_id=case.pk, label="甲", name=citizen.person.name, id_type=citizen.person.id_type,
        id_number=citizen.person.id_number, phone=citizen.person.mobile or "13800001111",
        plate=vehicle.plate_number,
    )  # fmt: skip
    accidents.party_add(
        actor=officer, case_id=case.pk, label="乙", name=other.name, id_type=other.id_type,
        id_number=other.id_number, phone=other.mobile or "13800002222",
    )  # fmt: skip
    for stage, note in (
        ("acceptance", "已受理。"),
        ("investigation", "已完成现场勘查和调查取证。"),
        ("determination", "已作出事故认定。"),
    ):
        accidents.stage_record(
            actor=officer,
            case_id=case.pk,
            stage=stage,
            happened_on=today - timedelta(days=1),
            public_note=note,
        )
    document = accidents.document_issue(
        actor=officer, case_id=case.pk, kind="determination",
        facts=f"甲车（{vehicle.plate_number}）沿解放路由东向西行驶，在路口未按信号灯通行，与乙车相撞。",
        evidence="现场图、现场照片、道路监控视频。",
        responsibility=[("甲", "全部责任"), ("乙", "无责任")],
    )  # fmt: skip
    accidents.document_release(actor=officer, document_id=document.pk, reason="当面送达当事人")
    diagram = accidents.evidence_item_add(
        actor=officer,
        case_id=case.pk,
        kind="scene_diagram",
        title="现场图",
        data=_pdf("scene"),
        name="scene.pdf",
    )
    try:
        review, _review_code = accidents.evidence_review_open(
            actor=officer, case_id=case.pk, party_id=party_a.pk, person_type="当事人",
            id_type=citizen.person.id_type, id_number=citizen.person.id_number,
            phone=citizen.person.mobile or "13800001111",
        )  # fmt: skip
    except NotAllowed as refused:
        # Online evidence review follows the rollout table (A9): where the province has not
        # opened it, the head simply has nothing to approve and the walk goes on without it.
        if refused.code != "accidents.service_unavailable":
            raise
    else:
        accidents.evidence_items_select(actor=officer, review_id=review.pk, item_ids=[diagram.pk])

    # What the checker scans (E4): the approved e-licence and an inspection mark, as printed QR.
    licence = approved.credential
    mark = (
        Credential.objects.filter(kind=Credential.Kind.INSPECTION_MARK, status="valid").order_by("pk").first()
    )
    tokens = {"licence": credentials.credential_token(credential=licence, mode=DisplayMode.PRINTED)[0]}

    # Plate pre-selection (issue 17, B19, P1-P5): the demo pools and the citizen's two new cars;
    # a number drawn and chosen for the first, so the pages show a selection waiting for the
    # counter, the clerk's registration search finds it and the number has a history.
    dealer_rows = ensure_demo_plates(today=today, password=PASSWORD, citizen_username=citizen.username)
    assert dealer_rows, "the demo car dealer and its pools"
    car = PreRegistration.objects.filter(buyer_id_number=citizen.person.id_number).order_by("pk").first()
    assert car is not None
    drawn = plates.selection_start(actor=citizen, vin=car.vin, mode="random")
    chosen = plates.selection_choose(actor=citizen, selection_id=drawn.pk, number=drawn.candidates[0])
    if mark is not None:
        tokens["mark"] = credentials.credential_token(credential=mark, mode=DisplayMode.PRINTED)[0]

    return World(
        logins={
            "citizen": citizen.username,
            "organisation": transport.username,
            "clerk": staff["counter_clerk"].username,
            "violation_officer": staff["violation_officer"].username,
            "accident_officer": officer.username,
            "head": staff["accident_head"].username,
            "auditor": staff["auditor"].username,
            "dealer": dealer_rows[0]["username"],
        },
        citizen_id_number=citizen.person.id_number,
        citizen_name=citizen.person.name,
        citizen_plate=vehicle.plate_number,
        counter_citizen_id_number=counter_citizen.person.id_number,
        organisation_uscc=transport.organisation.uscc,
        tokens=tokens,
        licence_holder_name=citizen.person.name,
        plate_vin=car.vin,
        plate_number=chosen.chosen,
    )
