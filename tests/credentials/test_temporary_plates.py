"""The temporary plate as a signed credential (TP1, B18, issue 14): the printed plate's QR decodes
and verifies at /verify/, a revoked plate verifies as revoked online and offline, an expired one
as expired; the dealer's pages and the API."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from itertools import count

import pypdf
import pypdfium2
import pytest
from django.utils import timezone

from jiaoguan.core.identifiers import make_vin
from jiaoguan.credentials import keys, services
from jiaoguan.credentials.render import decode_qr_image
from jiaoguan.credentials.temporary_plates import temporary_plate_token
from jiaoguan.credentials.token import DisplayMode
from jiaoguan.credentials.verify import parse_trust_list, trust_list_json, verify_offline
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.models import TemporaryPlate

pytestmark = pytest.mark.django_db

_serial = count(1)


def new_vin(last: str = "7") -> str:
    return make_vin(f"LGBH52E0X{next(_serial):07d}{last}")


@pytest.fixture
def dealer(organisation_user):
    return organisation_user(name="驻马店市天中汽车销售服务有限公司", kind="car_dealer", suffix="0DLR27")


def issue(actor, *, days: int = 30, today=None, buyer: str = "") -> TemporaryPlate:
    data = {"vin": new_vin(), "kind": "small_passenger", "brand_model": "比亚迪牌 BYD7006BEV", "days": days}
    application = registry_services.temporary_plate_request_check(
        actor=actor, data={**data, "buyer_name": buyer}
    )
    facts = registry_services.InsuranceFacts(
        required=True, insured_until=timezone.localdate() + timedelta(days=200), insurer_name="中国人保财险",
        policy_number="PDZA2026411700000001",
    )  # fmt: skip
    return registry_services.temporary_plate_issue(
        actor=actor, application=application, insurance=facts, today=today
    )


def rasterise(pdf: bytes, dpi: int = 300):
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[0].render(scale=dpi / 72).to_pil()
    finally:
        document.close()


def png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_the_printed_plate_parses_and_its_qr_verifies(client, dealer):
    plate = issue(dealer, buyer="李明")
    client.force_login(dealer)
    page = client.get(f"/dealer/temporary-plates/{plate.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert plate.number in html and "<svg" in html and "李*" in html and "李明" not in html
    response = client.get(f"/dealer/temporary-plates/{plate.pk}/print.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert plate.number in text and "有效期" in text and plate.valid_until.isoformat() in text
    assert plate.vin not in text  # the VIN is masked on the plate and in its QR
    found = decode_qr_image(png(rasterise(response.content)))
    assert len(found) == 1 and found[0].startswith("TP1:")
    verdict = services.credential_verify(text=found[0])
    assert verdict.valid, verdict
    assert verdict.kind == "TP1" and verdict.mode == "printed"
    assert verdict.subject["plate"] == plate.number
    assert verdict.subject["valid_until"] == plate.valid_until.isoformat()
    assert verdict.subject["vin"] == plate.vin[:3] + "********" + plate.vin[-6:]
    assert verdict.subject["dealer"] == "驻马店市天中汽车销售服务有限公司"
    # The public verifier shows it, in words.
    checked = client.post("/verify/", {"text": found[0]})
    body = checked.content.decode()
    assert checked.status_code == 200 and plate.number in body and "临时号牌" in body


def test_a_revoked_plate_verifies_as_revoked_online_and_offline(dealer, make_staff):
    plate = issue(dealer)
    text = temporary_plate_token(plate=plate, mode=DisplayMode.PRINTED).text
    assert services.credential_verify(text=text).valid
    registry_services.temporary_plate_revoke(
        actor=make_staff(role="counter_clerk", jurisdiction="411700"),
        plate_id=plate.pk,
        reason="车辆已注册登记",
    )
    online = services.credential_verify(text=text)
    assert not online.valid and online.reason == "revoked"
    now = int(timezone.now().timestamp())
    trust = parse_trust_list(trust_list_json(keys.trust_list()))
    offline = verify_offline(text, trust=trust, status_list=services.status_list_token(), now=now)
    assert not offline.valid and offline.reason == "revoked"
    # A revoked plate is printed no more.
    plate.refresh_from_db()
    with pytest.raises(Exception) as refused:
        temporary_plate_token(plate=plate)
    assert getattr(refused.value, "code", "") == "credentials.temporary_plate_not_valid"


def test_an_expired_plate_is_expired(dealer):
    today = timezone.localdate()
    # A QR printed while the plate is valid runs out with the plate's last day.
    plate = issue(dealer, days=3)
    text = temporary_plate_token(plate=plate).text
    later = int((timezone.now() + timedelta(days=4)).timestamp())
    verdict = services.credential_verify(text=text, now=later)
    assert not verdict.valid and verdict.reason == "expired"
    # Online, a plate past its last day answers "expired"; it is not printed any more.
    old = issue(dealer, days=3, today=today - timedelta(days=10))
    assert old.valid_until == today - timedelta(days=8)
    from jiaoguan.credentials.temporary_plates import _status

    class Decoded:
        index = old.pk

    assert _status(Decoded()) == "expired"  # type: ignore[arg-type]
    with pytest.raises(Exception) as refused:
        temporary_plate_token(plate=old)
    assert getattr(refused.value, "code", "") == "credentials.temporary_plate_not_valid"


def test_dealer_pages_list_and_apply(client, dealer, insurer_service):
    client.force_login(dealer)
    assert client.get("/dealer/temporary-plates/").status_code == 200
    vin = new_vin()
    response = client.post(
        "/dealer/temporary-plates/",
        {"vin": vin, "brand_model": "吉利牌 MR7153A01", "kind": "small_passenger", "days": "15"},
    )
    plate = TemporaryPlate.objects.get(vin=vin)
    assert response.status_code == 302 and response["Location"] == f"/dealer/temporary-plates/{plate.pk}/"
    listing = client.get("/dealer/temporary-plates/").content.decode()
    assert plate.number in listing
    refused = client.post(
        "/dealer/temporary-plates/",
        {
            "vin": new_vin(last="0"),
            "brand_model": "吉利牌 MR7153A01",
            "kind": "small_passenger",
            "days": "15",
        },
    )
    assert refused.status_code == 422 and "交强险" in refused.content.decode()


def test_other_organisations_and_citizens_cannot_open_the_dealer_pages(
    client, organisation_user, owner_driver
):
    client.force_login(organisation_user())
    assert client.get("/dealer/temporary-plates/").status_code == 403
    user, *_ = owner_driver()
    client.force_login(user)
    assert client.get("/dealer/temporary-plates/").status_code == 403


def test_api_apply_is_idempotent_and_lists_the_dealers_plates(
    client, dealer, organisation_user, insurer_service
):
    client.force_login(dealer)
    body = {"vin": new_vin(), "brand_model": "吉利牌 MR7153A01", "kind": "small_passenger", "days": 20}
    headers = {"HTTP_IDEMPOTENCY_KEY": "tp-apply-1"}
    first = client.post(
        "/api/v1/temporary-plates", json.dumps(body), content_type="application/json", **headers
    )
    assert first.status_code == 201, first.content
    again = client.post(
        "/api/v1/temporary-plates", json.dumps(body), content_type="application/json", **headers
    )
    assert again.status_code == 201 and again.json()["number"] == first.json()["number"]
    assert TemporaryPlate.objects.filter(vin=body["vin"]).count() == 1
    answer = first.json()
    assert answer["qr_text"].startswith("TP1:") and services.credential_verify(text=answer["qr_text"]).valid
    listed = client.get("/api/v1/temporary-plates").json()
    assert [row["number"] for row in listed["items"]] == [answer["number"]]
    # Another organisation sees none of them and may not apply.
    other = organisation_user(suffix="0XYW37")
    client.force_login(other)
    assert client.get("/api/v1/temporary-plates").json()["items"] == []
    refused = client.post(
        "/api/v1/temporary-plates", json.dumps({**body, "vin": new_vin()}), content_type="application/json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "accounts.car_dealer_only"


def test_api_insurer_outage_is_503(client, dealer, insurer_service):
    insurer_service.outage()
    client.force_login(dealer)
    body = {"vin": new_vin(), "brand_model": "吉利牌 MR7153A01", "kind": "small_passenger", "days": 20}
    response = client.post("/api/v1/temporary-plates", json.dumps(body), content_type="application/json")
    assert response.status_code == 503 and response.json()["code"] == "insurance.unavailable"
    assert not TemporaryPlate.objects.exists()


def test_staff_list_shows_plates_of_the_jurisdiction(client, dealer, make_staff):
    plate = issue(dealer)
    clerk = make_staff(role="counter_clerk", jurisdiction="411700")
    client.force_login(clerk)
    page = client.get("/counter/temporary-plates/")
    assert page.status_code == 200 and plate.number in page.content.decode()
    outside = make_staff(role="counter_clerk", jurisdiction="411600", username="clerk-zk")
    client.force_login(outside)
    assert plate.number not in client.get("/counter/temporary-plates/").content.decode()
    assert client.get(f"/dealer/temporary-plates/{plate.pk}/").status_code == 404


def test_the_dealers_home_has_the_tile_and_b18_leads_to_the_page(client, dealer, organisation_user):
    client.force_login(dealer)
    home = client.get("/").content.decode()
    assert "临时号牌" in home and "/services/B18/" in home
    response = client.get("/services/B18/")
    assert response.status_code == 302 and response["Location"] == "/dealer/temporary-plates/"
    client.force_login(organisation_user(suffix="0TRN47"))  # a transport company
    assert "/services/B18/" not in client.get("/").content.decode()
    assert client.get("/services/B18/").status_code == 403
