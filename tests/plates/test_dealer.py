"""Car dealers' new-vehicle pre-registrations (P2; issue 17): the page with its form, list (buyers
masked) and withdraw button, the home tile, the API with Idempotency-Key, and every other kind
of organisation refused."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from jiaoguan.core.identifiers import make_vin
from jiaoguan.plates import services
from jiaoguan.plates.models import PreRegistration

pytestmark = pytest.mark.django_db

API = "/api/v1/vehicle-preregistrations"
PAGE = "/org/plates/preregistrations/"


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _body(make_person, **over):
    person = make_person(name="王建国")
    return {
        "vin": make_vin("LFV2A21K5N1234567"), "plate_type": "02", "brand_model": "大众牌 FV7152",
        "colour": "白", "buyer_id_number": person.id_number, "buyer_name": person.name,
        "buyer_mobile": "13903961234",
    } | over  # fmt: skip


def test_api_create_idempotent_and_list_masked(dealer_user, make_person):
    client = _client(dealer_user)
    body = _body(make_person)
    first = client.post(API, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="car-1")
    assert first.status_code == 201, first.content
    made = first.json()
    assert made["vin"] == body["vin"] and made["state"] == "open" and made["plate_type"] == "02"
    assert made["buyer_mobile"] == "139****1234" and made["buyer_name"] == "王**"
    assert body["buyer_id_number"] not in first.content.decode()
    again = client.post(API, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="car-1")
    assert again.status_code == 201 and again.json() == made
    assert PreRegistration.objects.count() == 1
    twice = client.post(API, body, content_type="application/json")
    assert twice.status_code == 409 and twice.json()["code"] == "plates.prereg.exists"
    listed = client.get(API)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [made["id"]]
    assert body["buyer_id_number"] not in listed.content.decode()


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"vin": "LFV2A21K5N123456X"}, "vin"),
        ({"plate_type": "01"}, "plates.prereg.plate_type"),
        ({"buyer_id_number": "123"}, "plates.prereg.buyer_id"),
        ({"buyer_mobile": "1234"}, "mobile"),
        ({"brand_model": ""}, "plates.prereg.brand_model"),
    ],
)
def test_api_bad_input_is_refused_with_a_code(dealer_user, make_person, over, code):
    answer = _client(dealer_user).post(API, _body(make_person, **over), content_type="application/json")
    assert answer.status_code == 422, answer.content
    assert code in answer.json()["code"] and answer.json()["message"]
    assert not PreRegistration.objects.exists()


def test_other_organisations_and_citizens_are_refused(organisation_user, make_person, citizen):
    company = organisation_user()
    client = _client(company)
    answer = client.post(API, _body(make_person), content_type="application/json")
    assert answer.status_code == 403 and answer.json()["code"] == "accounts.car_dealer_only"
    assert "新车预录入" in answer.json()["message"]
    assert client.get(API).status_code == 403
    page = client.get(PAGE)
    assert page.status_code == 403 and "新车预录入" in _text(page)
    person_client = _client(citizen(make_person()))
    assert person_client.get(API).status_code == 403
    assert Client().get(API).status_code == 401
    assert not PreRegistration.objects.exists()


def test_page_form_list_and_withdraw(dealer_user, make_person):
    client = _client(dealer_user)
    empty = client.get(PAGE)
    assert empty.status_code == 200
    html = empty.content.decode()
    fields = ("vin", "plate_type", "brand_model", "colour", "buyer_id_number", "buyer_name", "buyer_mobile")
    for name in fields:
        assert f'name="{name}"' in html
    assert 'id="preregistration-submit"' in html
    body = _body(make_person)
    added = client.post(PAGE, body)
    assert added.status_code == 302 and added["Location"] == PAGE
    record = PreRegistration.objects.get()
    page = client.get(PAGE)
    text = _text(page)
    assert record.vin in text and "139****1234" in text and "王**" in text and "待选号" in text
    assert body["buyer_id_number"] not in text and body["buyer_mobile"] not in text
    assert f'id="withdraw-{record.pk}"' in page.content.decode()
    withdrawn = client.post(f"{PAGE}{record.pk}/withdraw/")
    assert withdrawn.status_code == 302
    record.refresh_from_db()
    assert record.state == "withdrawn"
    assert f'id="withdraw-{record.pk}"' not in client.get(PAGE).content.decode()


def test_page_refusal_shown_in_the_form(dealer_user, make_person):
    client = _client(dealer_user)
    body = _body(make_person)
    client.post(PAGE, body)
    again = client.post(PAGE, body)
    assert again.status_code == 409 and "已经预录入" in _text(again)
    bad = client.post(PAGE, body | {"vin": make_vin("LFV2A21K5N7654321"), "buyer_id_number": "123"})
    assert bad.status_code == 422 and 'class="field-error"' in bad.content.decode()
    assert PreRegistration.objects.count() == 1


def test_withdraw_refused_while_a_number_is_held(pool, dealer_user, buyer, preregister):
    user = buyer()
    car = preregister(user)
    services.selection_start(actor=user, vin=car.vin, mode="random")
    client = _client(dealer_user)
    refused = client.post(f"{PAGE}{car.pk}/withdraw/", follow=True)
    assert "不能撤回预录入" in _text(refused)
    car.refresh_from_db()
    assert car.state == "open"


def test_another_dealers_record_is_not_found(dealer_user, make_person, organisation_user):
    client = _client(dealer_user)
    client.post(PAGE, _body(make_person))
    record = PreRegistration.objects.get()
    other = organisation_user(name="另一家4S店", kind="car_dealer", suffix="0DEF12")
    assert _client(other).post(f"{PAGE}{record.pk}/withdraw/").status_code == 404
    assert _client(other).get(API).json() == []


def test_dealer_tile_on_the_home_grid(dealer_user, organisation_user):
    home = _client(dealer_user).get("/").content.decode()
    assert f'href="{PAGE}"' in home and "新车预录入" in home
    other = _client(organisation_user()).get("/").content.decode()
    assert f'href="{PAGE}"' not in other
