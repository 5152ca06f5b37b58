"""The origin's side of the signed channel, the registry's services it uses, the buyer's and the
counter's pages, problems between DMVs and the demo (T1-T5). One installation: it answers here
as the origin for cars of its own registry."""

from __future__ import annotations

import base64
import uuid
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.core.errors import Conflict, NotFound
from jiaoguan.core.identifiers import make_vin
from jiaoguan.integrations import inter_dmv
from jiaoguan.registry import cross_region
from jiaoguan.registry.models import Vehicle
from jiaoguan.registry.selectors import my_vehicles
from jiaoguan.transfers import services
from jiaoguan.transfers.demo import ensure_demo_transfers
from jiaoguan.transfers.models import OriginRelease, Problem, Transfer

from .conftest import png

pytestmark = pytest.mark.django_db
PEER = "320100"


@pytest.fixture
def car(make_person, make_vehicle, citizen):
    seller = make_person(name="钱卖方", mobile="13900000418")
    user = citizen(seller)
    vehicle = make_vehicle(owner=seller, last_inspected_on=timezone.localdate() - timedelta(days=20))
    return user, vehicle


def _ask(vehicle, *, reference="320100202301010001", **extra):
    data = {
        "reference": reference, "vin": vehicle.vin, "plate_number": vehicle.plate_number,
        "seller_id_number": vehicle.owner_person.id_number,
    } | extra  # fmt: skip
    return services.origin_archive_request(peer_city=PEER, data=data)


def test_origin_sends_a_signed_package_and_locks_the_car_once(car):
    """T3: the package verifies with this DMV's public key; a repeat gets the same; another
    transfer of the same car is refused (one lock per car)."""
    _user, vehicle = car
    answer = _ask(vehicle)
    public = base64.b64decode(inter_dmv.public_key_b64())
    assert inter_dmv.verify_package(answer["package"], answer["signature"], public)
    assert answer["package"]["record"]["vin"] == vehicle.vin
    tampered = {**answer["package"], "vin": make_vin("LFV2A21K0N0000077")}
    assert not inter_dmv.verify_package(tampered, answer["signature"], public)
    assert _ask(vehicle) == answer
    with pytest.raises(Conflict) as refused:
        _ask(vehicle, reference="320100202301010002")
    assert refused.value.code == "transfers.vehicle_locked"
    assert OriginRelease.objects.filter(vehicle=vehicle).count() == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"use_nature": "taxi"}, "transfers.operating_vehicle"),
        ({"kind": "large_passenger", "plate_type": "01"}, "transfers.not_small_car"),
        ({"status": "K"}, "transfers.vehicle_blocked"),
    ],
)
def test_origin_refuses_what_may_not_move(car, change, code):
    _user, vehicle = car
    Vehicle.objects.filter(pk=vehicle.pk).update(**change)
    vehicle.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        _ask(vehicle)
    assert refused.value.code == code
    assert not OriginRelease.objects.exists()


def test_origin_refuses_a_seller_who_is_not_the_owner(car, make_person):
    _user, vehicle = car
    with pytest.raises(Conflict) as refused:
        _ask(vehicle, seller_id_number=make_person(name="假卖方").id_number)
    assert refused.value.code == "transfers.seller_not_owner"
    with pytest.raises(NotFound):
        _ask(vehicle, vin=make_vin("LFV2A21K0N0000078"))


def test_close_takes_the_car_out_of_the_sellers_account_once(car):
    """T2: closing marks the car transferred out (B); the seller no longer sees it; a repeat is a no-op."""
    user, vehicle = car
    assert list(my_vehicles(user=user)) == [vehicle]
    _ask(vehicle)
    first = services.origin_close(peer_city=PEER, data={"reference": "320100202301010001"})
    again = services.origin_close(peer_city=PEER, data={"reference": "320100202301010001"})
    assert first == again
    vehicle.refresh_from_db()
    assert vehicle.status == "B" and vehicle.transferred_out_on is None
    assert list(my_vehicles(user=user)) == []
    with pytest.raises(Conflict):
        services.origin_return(peer_city=PEER, data={"reference": "320100202301010001", "reason": "stolen"})


def test_archive_returned_only_for_a_suspect_and_the_car_is_free_again(car):
    """T4: 'incomplete documents' is no reason to return an archive; a stolen suspect is."""
    _user, vehicle = car
    _ask(vehicle)
    with pytest.raises(Conflict) as refused:
        services.origin_return(
            peer_city=PEER, data={"reference": "320100202301010001", "reason": "incomplete"}
        )
    assert refused.value.code == "transfers.return_not_allowed"
    services.origin_return(peer_city=PEER, data={"reference": "320100202301010001", "reason": "smuggled"})
    assert OriginRelease.objects.get().state == "returned"
    assert _ask(vehicle, reference="320100202301010009")["package"]["reference"] == "320100202301010009"


def test_registry_refuses_a_transfer_in_before_the_origin_is_told(car, make_person):
    _user, vehicle = car
    buyer = make_person(name="孙买方")
    record = cross_region.vehicle_archive_record(vehicle)
    with pytest.raises(Conflict):  # the VIN is registered here already
        cross_region.vehicle_transferred_in_check(
            record=record,
            plate_number="豫QT0009",
            owner_person_id=buyer.pk,
            division="411702",
            today=date.today(),
        )
    record["vin"] = make_vin("LFV2A21K0N0000079")
    with pytest.raises(Conflict):  # the plate is taken
        cross_region.vehicle_transferred_in_check(
            record=record, plate_number=vehicle.plate_number, owner_person_id=buyer.pk, division="411702",
            today=date.today(),
        )  # fmt: skip
    new = cross_region.vehicle_register_transferred_in(
        record=record,
        plate_number="豫QT0009",
        owner_person_id=buyer.pk,
        division="411702",
        today=date.today(),
    )
    assert (new.owner_person_id, new.status, new.registered_on) == (buyer.pk, "A", vehicle.registered_on)


def test_problems_received_and_answered(car, make_staff):
    _user, vehicle = car
    _ask(vehicle)
    services.problem_receive(
        peer_city=PEER,
        data={
            "key": "k1",
            "reference": "320100202301010001",
            "question": "发票日期？",
            "due_on": "2020-01-02",
        },
    )
    problem = Problem.objects.get(key="k1")
    assert not problem.raised_here and problem.due_on == date(2020, 1, 2)
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-problems")
    page = Client()
    page.force_login(clerk)
    assert "已逾期" in page.get("/counter/transfers/").content.decode()
    services.problem_answer(actor=clerk, problem_id=problem.pk, answer="2023年1月1日")
    problem.refresh_from_db()
    assert problem.answer and problem.answered_at and not problem.answer_sent  # no channel here: retried
    with pytest.raises(Conflict):
        services.problem_answer(actor=clerk, problem_id=problem.pk, answer="again")


def test_buyer_api_refuses_with_reasons_and_saves_nothing(buyer, settings):
    """Bad input and a city without a channel are refused in words; nothing is stored."""
    settings.DMV_PEERS = {}
    client = Client()
    client.force_login(buyer)
    body = {
        "plate_number": "苏A12345", "plate_type": "02", "vin": make_vin("LFV2A21K0N0000080"), "origin_city": PEER,
        "seller_id_number": "320102198001011051", "invoice_number": "1", "invoice_date": "2023-01-01",
        "trade_place": "destination",
    }  # fmt: skip

    def post(**change):
        return client.post(
            "/api/v1/me/transfers", {**body, **change}, content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )  # fmt: skip

    answer = post()
    assert answer.status_code == 409 and answer.json()["code"] == "transfers.origin_not_connected"
    answer = post(plate_type="01")
    assert answer.status_code == 409 and answer.json()["code"] == "transfers.not_small_car"
    assert post(vin="NOTAVIN").status_code == 422
    assert post(trade_place="moon").status_code == 422
    assert post(origin_city="411700").json()["code"] == "transfers.same_city"
    assert not Transfer.objects.exists()
    assert client.get("/api/v1/me/transfers").json() == []


def test_pages_with_the_demo(make_staff, settings):
    """The demo's waiting car: the buyer follows it; the clerk inspects it (a wrong VIN refused
    in words), registers it and, no origin answering here, it waits for the origin; the head
    cannot return its archive for a reason that is not a suspect's; the anomaly list shows the trader."""
    settings.DMV_PEERS = {}
    logins = ensure_demo_transfers(today=timezone.localdate(), password="Demo#2026x")
    assert ensure_demo_transfers(today=timezone.localdate(), password="Demo#2026x") == logins
    assert Transfer.objects.count() == 6
    from jiaoguan.accounts.models import User

    buyer = Client()
    buyer.force_login(User.objects.get(username=logins[0]["username"]))
    page = buyer.get("/transfers/").content.decode()
    assert "411700DEMO0001" in page and "苏A7Q821" in page

    transfer = Transfer.objects.get(number="411700DEMO0001")
    clerk = Client()
    clerk.force_login(make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-demo"))
    page = clerk.get(f"/counter/transfers/{transfer.pk}/").content.decode()
    assert "inspect-form" in page and "return-form" not in page
    from django.core.files.uploadedfile import SimpleUploadedFile

    answer = clerk.post(
        f"/counter/transfers/{transfer.pk}/inspect",
        {"vin": make_vin("LSVAB4BR0M7000002"), "photo": SimpleUploadedFile("c.png", png(), "image/png")},
        follow=True,
    )
    assert "不一致" in answer.content.decode()
    clerk.post(
        f"/counter/transfers/{transfer.pk}/inspect",
        {"vin": transfer.vin, "photo": SimpleUploadedFile("c.png", png(), "image/png")},
    )
    answer = clerk.post(
        f"/counter/transfers/{transfer.pk}/register", {"plate_number": "沪A12345"}, follow=True
    )
    assert "本地号牌" in answer.content.decode()
    clerk.post(f"/counter/transfers/{transfer.pk}/register", {"plate_number": "豫QT7821"})
    transfer.refresh_from_db()
    assert transfer.state == "awaiting_origin" and transfer.new_plate_number == "豫QT7821"
    assert not Vehicle.objects.filter(vin=transfer.vin).exists()

    head = Client()
    head.force_login(make_staff(role="unit_head", jurisdiction="411700", username="head-demo"))
    other = Transfer.objects.create(
        **{f.name: getattr(transfer, f.name) for f in Transfer._meta.fields if f.name not in (
            "id", "number", "state", "new_plate_number", "vin", "created_at")},
        number="411700DEMO0009", state="archived", vin=make_vin("LSVAB4BR0M7000003"),
    )  # fmt: skip
    answer = head.post(f"/counter/transfers/{other.pk}/return", {"reason": "incomplete"}, follow=True)
    assert "严禁退档" in answer.content.decode()
    page = head.get("/counter/transfer-anomalies/").content.decode()
    from jiaoguan.core.identifiers import make_citizen_id, mask_id_number

    trader = make_citizen_id("330102", date(1975, 1, 9), 55)
    assert mask_id_number(trader) in page and trader not in page
