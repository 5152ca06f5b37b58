"""Two DMVs, two installations (T2, T3): this test process is the destination (its test database,
served by ``live_server``), the origin is a second installation of the platform in its own process
with its own SQLite file and city. A car moves from one to the other over the signed channel; then
the origin is down when the destination registers, and nothing is lost: the registration completes
when it is back."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.registry.models import Vehicle
from jiaoguan.transfers import services
from jiaoguan.transfers.models import Transfer

from .conftest import ORIGIN_CITY, http_json, login, origin_vin, png, seller_id

pytestmark = pytest.mark.django_db(transaction=True)
CITIZEN_PASSWORD = "Citizen#2026x"  # the password tests/conftest.py gives citizens


def _apply(live_server, buyer, *, n: int, plate: str, **overrides):
    token = login(live_server.url, buyer.username, CITIZEN_PASSWORD)
    body = {
        "plate_number": plate, "plate_type": "02", "vin": origin_vin(n), "origin_city": ORIGIN_CITY,
        "seller_id_number": seller_id(n), "invoice_number": f"0320{n:04d}", "invoice_date": date.today().isoformat(),
        "trade_place": "destination",
    } | overrides  # fmt: skip
    return token, http_json(
        live_server.url, "POST", "/api/v1/me/transfers", body, token=token, key=str(uuid.uuid4())
    )


def _inspect_and_register(clerk, transfer_id: int, *, vin: str, plate: str):
    client = Client()
    client.force_login(clerk)
    photo = png()
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.post(
        f"/counter/transfers/{transfer_id}/inspect",
        {"vin": vin, "photo": SimpleUploadedFile("car.png", photo, content_type="image/png")},
    )
    assert page.status_code == 302
    assert Transfer.objects.get(pk=transfer_id).state == "inspected"
    page = client.post(f"/counter/transfers/{transfer_id}/register", {"plate_number": plate})
    assert page.status_code == 302
    return Transfer.objects.get(pk=transfer_id)


def _seller_vehicles(origin, n: int) -> list:
    token = login(origin.url, seller_id(n), "Origin-pass-2021")
    status, answer = origin.api("GET", "/api/v1/me/vehicles", token=token)
    assert status == 200, answer
    return answer["items"]


def test_a_car_moves_from_the_origin_to_the_destination(live_server, origin, peers, buyer, clerk):
    """T2, T3: the archive travels signed, the destination inspects once and registers; the origin
    closes its record; the buyer sees the car with a new mark, the seller no longer sees it."""
    assert [v["plate_number"] for v in _seller_vehicles(origin, 0)] == ["苏A00000"]

    token, (status, answer) = _apply(live_server, buyer, n=0, plate="苏A00000")
    assert status == 201, answer
    assert answer["state"] == "archived"
    transfer = Transfer.objects.get(pk=answer["id"])
    assert transfer.package["record"]["vin"] == origin_vin(0)
    assert transfer.package_signature

    transfer = _inspect_and_register(clerk, transfer.pk, vin=origin_vin(0), plate="豫QT0001")
    assert transfer.state == "completed", transfer.last_error
    vehicle = Vehicle.objects.get(vin=origin_vin(0))
    assert (vehicle.plate_number, vehicle.owner_person_id, vehicle.status) == (
        "豫QT0001",
        buyer.person_id,
        "A",
    )

    # The buyer, over HTTP at the destination: the car, and its new inspection mark (VI1).
    status, mine = http_json(live_server.url, "GET", "/api/v1/me/vehicles", token=token)
    assert status == 200 and [v["plate_number"] for v in mine["items"]] == ["豫QT0001"]
    status, credentials = http_json(live_server.url, "GET", "/api/v1/me/credentials", token=token)
    marks = [c for c in credentials if c["kind"] == "VI1" and c["status"] == "valid"]
    assert [m["subject"]["plate"] for m in marks] == ["豫QT0001"]

    # The seller, over HTTP at the origin: the car is gone from their account.
    assert _seller_vehicles(origin, 0) == []

    # Asked again for the same car by another transfer, the origin refuses: it moved once.
    _token, (status, again) = _apply(live_server, buyer, n=0, plate="苏A00000")
    assert status == 409 and again["code"] in ("transfers.vehicle_blocked", "transfers.vehicle_locked"), again


def test_the_origin_down_at_registration_loses_nothing(live_server, origin, peers, buyer, clerk, settings):
    """The origin is unreachable when the destination registers: the transfer waits with all its
    data, nothing is registered on either side; when the origin is back the worker's pass completes it."""
    origin.seed(
        owner_id=seller_id(1),
        vin=origin_vin(1),
        plate="苏A00001",
        last_inspected=(timezone.localdate() - timedelta(days=30)).isoformat(),
    )
    _token, (status, answer) = _apply(live_server, buyer, n=1, plate="苏A00001")
    assert status == 201 and answer["state"] == "archived", answer

    origin.stop()
    try:
        transfer = _inspect_and_register(clerk, answer["id"], vin=origin_vin(1), plate="豫QT0002")
        assert transfer.state == "awaiting_origin"
        assert transfer.new_plate_number == "豫QT0002" and transfer.last_error
        assert not Vehicle.objects.filter(vin=origin_vin(1)).exists()
        assert services.transfers_retry() == 0  # still down: still waiting
        assert Transfer.objects.get(pk=answer["id"]).state == "awaiting_origin"
    finally:
        origin.start()
    settings.DMV_PEERS = {ORIGIN_CITY: {**peers[ORIGIN_CITY], "url": origin.url}}

    assert _seller_vehicles(origin, 1) != []  # not closed while the destination could not tell it
    assert services.transfers_retry() == 1
    transfer = Transfer.objects.get(pk=answer["id"])
    assert transfer.state == "completed"
    assert Vehicle.objects.get(vin=origin_vin(1)).owner_person_id == buyer.person_id
    assert _seller_vehicles(origin, 1) == []
    assert services.transfers_retry() == 0  # done once: nothing more to do


def test_operating_vehicle_refused_by_the_origin_with_its_reason(live_server, origin, peers, buyer):
    """T1: a taxi is refused with the reason; the refusal is recorded, nothing is locked."""
    origin.seed(owner_id=seller_id(2), vin=origin_vin(2), plate="苏A00002", use="taxi")
    _token, (status, answer) = _apply(live_server, buyer, n=2, plate="苏A00002")
    assert status == 409 and answer["code"] == "transfers.operating_vehicle", answer
    assert Transfer.objects.get(vin=origin_vin(2)).state == "refused"


def test_large_vehicle_refused_before_asking(live_server, origin, peers, buyer):
    _token, (status, answer) = _apply(live_server, buyer, n=3, plate="苏A00003", plate_type="01")
    assert status == 409 and answer["code"] == "transfers.not_small_car", answer
    assert not Transfer.objects.exists()


def test_seller_who_is_not_the_owner_is_refused(live_server, origin, peers, buyer):
    _token, (status, answer) = _apply(
        live_server, buyer, n=0, plate="苏A00000", vin=origin_vin(0), seller_id_number=seller_id(9)
    )
    assert status == 409 and answer["code"] in ("transfers.seller_not_owner", "transfers.vehicle_locked"), (
        answer
    )


def test_package_whose_signature_fails_is_refused_and_recorded(live_server, origin, peers, buyer, settings):
    """T3: a package not signed by the origin's key is refused; the failed package is on record."""
    origin.seed(owner_id=seller_id(4), vin=origin_vin(4), plate="苏A00004")
    import base64

    from jiaoguan.core.crypto import Ed25519

    stranger = base64.b64encode(Ed25519().public_der(Ed25519().generate_private_pem())).decode()
    settings.DMV_PEERS = {ORIGIN_CITY: {**peers[ORIGIN_CITY], "public_key": stranger}}
    _token, (status, answer) = _apply(live_server, buyer, n=4, plate="苏A00004")
    assert status == 409 and answer["code"] == "transfers.package_signature", answer
    assert Transfer.objects.get(vin=origin_vin(4)).state == "refused"


def test_vin_read_on_the_car_must_match_the_archive(live_server, origin, peers, buyer, clerk):
    origin.seed(owner_id=seller_id(5), vin=origin_vin(5), plate="苏A00005")
    _token, (status, answer) = _apply(live_server, buyer, n=5, plate="苏A00005")
    assert status == 201, answer
    with pytest.raises(Exception) as refused:
        services.transfer_inspect(actor=clerk, transfer_id=answer["id"], vin_read=origin_vin(6), photo=png())
    assert getattr(refused.value, "code", "") == "transfers.vin_mismatch"
    assert Transfer.objects.get(pk=answer["id"]).state == "archived"


@pytest.mark.parametrize("how", ["unsigned", "unknown", "wrong_key"])
def test_inter_dmv_endpoints_refuse_what_is_not_signed_by_a_peer(origin, how):
    import json
    import urllib.request

    from jiaoguan.integrations.payment_gateway import request_message, signed_headers

    origin.ensure_running()
    path = "/api/v1/inter-dmv/archive-requests"
    body = json.dumps({"reference": "X1", "vin": origin_vin(0)}).encode()
    request = urllib.request.Request(f"{origin.url}{path}", data=body, method="POST")
    if how != "unsigned":
        city, key = ("110100", b"k" * 32) if how == "unknown" else ("411700", b"not-the-shared-key")
        for name, value in signed_headers(city, key, request_message("POST", path, body)).items():
            request.add_header(name, value)
    try:
        urllib.request.urlopen(request, timeout=10)
        status = 200
    except urllib.error.HTTPError as error:
        status = error.code
    assert status == (401 if how == "unsigned" else 403)
