"""Cached personal reads (issue 12): my vehicles, licences, violations and the home page's cards come
from the cache without a query, and every way the rows behind them change retires the cached
answer at once: a registry change, a transfer, points, a camera record (one by one and in bulk),
handling, payment, a rollback. Run with real transactions, as deployed: the version is renewed
when the change commits.
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils import timezone, translation

from jiaoguan.accounts.services import api_token_issue
from jiaoguan.core import personal_reads
from jiaoguan.payments import services as payment_services
from jiaoguan.registry import services as registry_services
from jiaoguan.violations import rules
from jiaoguan.violations.importing import import_records
from jiaoguan.violations.services import violation_handle_online

CITIZEN_PASSWORD = "Citizen#2026x"  # the citizen fixture's (tests/conftest.py)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.API_TOKEN_CACHE_SECONDS = 30
    settings.PERSONAL_READ_CACHE_SECONDS = 300  # as deployed with the shared cache (REDIS_URL)
    cache.clear()
    yield
    cache.clear()


def _bearer(user) -> dict[str, str]:
    raw, _ = api_token_issue(username=user.username, password=CITIZEN_PASSWORD)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


class App:
    """A citizen's app: bearer token, JSON reads."""

    def __init__(self, user) -> None:
        self.client, self.auth = Client(), _bearer(user)

    def get(self, path: str) -> dict:
        response = self.client.get(path, **self.auth)
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/json; charset=utf-8"
        return response.json()

    def warm(self, path: str) -> dict:
        for _ in range(3):  # the token's owner, the token, the answer
            answer = self.get(path)
        return answer


def test_a_repeated_read_costs_no_query_and_answers_the_same(owner_driver, record, django_assert_num_queries):
    user, _person, vehicle, _licence = owner_driver()
    record(vehicle)
    app = App(user)
    for path in ("/api/v1/me/vehicles", "/api/v1/me/licences", "/api/v1/me/violations"):
        first = app.warm(path)
        with django_assert_num_queries(0):
            again = app.get(path)
        assert again == first and again["items"]


def test_the_cached_body_is_what_the_router_answers_without_the_cache(owner_driver, record, settings):
    user, _person, vehicle, _licence = owner_driver()
    record(vehicle)
    app = App(user)
    cached = {
        path: app.warm(path)
        for path in ("/api/v1/me/vehicles", "/api/v1/me/licences", "/api/v1/me/violations")
    }
    settings.PERSONAL_READ_CACHE_SECONDS = 0
    for path, answer in cached.items():
        assert app.get(path) == answer


def test_a_vehicle_change_shows_at_once(owner_driver):
    user, _person, vehicle, _licence = owner_driver()
    app = App(user)
    assert app.warm("/api/v1/me/vehicles")["items"][0]["brand_model"] == "大众牌 SVW71612"
    vehicle.brand_model = "比亚迪牌 BYD7152"
    vehicle.save(update_fields=["brand_model"])
    assert app.get("/api/v1/me/vehicles")["items"][0]["brand_model"] == "比亚迪牌 BYD7152"


def test_a_transfer_leaves_the_seller_and_reaches_the_buyer(owner_driver, make_person, citizen):
    seller, _person, vehicle, _licence = owner_driver()
    buyer_person = make_person(name="李娜", sequence=402)
    buyer = citizen(buyer_person)
    seller_app, buyer_app = App(seller), App(buyer)
    assert len(seller_app.warm("/api/v1/me/vehicles")["items"]) == 1
    assert buyer_app.warm("/api/v1/me/vehicles")["items"] == []
    vehicle.owner_person = buyer_person
    vehicle.save()
    assert seller_app.get("/api/v1/me/vehicles")["items"] == []
    assert [v["id"] for v in buyer_app.get("/api/v1/me/vehicles")["items"]] == [vehicle.pk]


def test_points_recorded_and_settled_show_at_once(owner_driver):
    user, _person, _vehicle, licence = owner_driver()
    app = App(user)
    [before] = app.warm("/api/v1/me/licences")["items"]
    assert before["points_in_cycle"] == 0
    # An offence of the last cycle whose fine is unpaid carries its points into this one (S2).
    last_cycle = date.fromisoformat(before["cycle_start"]) - timedelta(days=10)
    with transaction.atomic():
        registry_services.points_record(
            licence=licence, points=3, occurred_on=last_cycle, source="R1", fine_unpaid=True
        )
    assert app.get("/api/v1/me/licences")["items"][0]["points_in_cycle"] == 3
    app.get("/api/v1/me/licences")
    with transaction.atomic():  # an update, no signal: the service retires the answer itself
        registry_services.points_fine_settled(source="R1")
    assert app.get("/api/v1/me/licences")["items"][0]["points_in_cycle"] == 0


def test_a_camera_record_handling_and_payment_each_show_at_once(owner_driver, record, make_staff):
    user, _person, vehicle, _licence = owner_driver()
    app, browser = App(user), Client()
    browser.force_login(user)
    assert app.warm("/api/v1/me/violations")["items"] == []
    violation = record(vehicle)
    [item] = app.get("/api/v1/me/violations")["items"]
    assert item["status"] == "unhandled"
    assert browser.get("/").context["unhandled_violations"] == 1

    fine = violation_handle_online(actor=user, violation_id=violation.pk, no_dispute=True, drove_self=True)
    assert app.get("/api/v1/me/violations")["items"][0]["status"] == "handled"
    assert app.get("/api/v1/me/licences")["items"][0]["points_in_cycle"] == violation.points
    home = browser.get("/").context
    assert (home["unhandled_violations"], home["unpaid_fines"]) == (0, 1)

    payment_services.payable_pay_at_counter(
        reason="当事人现场缴款",
        actor=make_staff(role="counter_clerk"),
        payable_id=fine.payable_id,
        receipt_number="HN2026-000901",
    )
    assert app.get("/api/v1/me/violations")["items"][0]["status"] == "paid"
    assert browser.get("/").context["unpaid_fines"] == 0


def test_records_imported_in_bulk_show_at_once(owner_driver):
    user, _person, vehicle, _licence = owner_driver()
    app = App(user)
    assert app.warm("/api/v1/me/violations")["items"] == []
    occurred = (timezone.localtime() - timedelta(days=10)).replace(microsecond=0)
    row = {
        "record_number": rules.record_number_make(
            division="411702", source="monitoring", occurred_on=occurred.date(), serial=77
        ),
        "plate_number": vehicle.plate_number,
        "plate_type": vehicle.plate_type,
        "occurred_at": occurred.isoformat(),
        "place": "驿城区解放大道与交通路交叉口",
        "code": "1625",
        "recording_division": "411702",
        "device_id": "CAM-411702-0001",
    }
    import_records(
        io.BytesIO(json.dumps(row, ensure_ascii=False).encode() + b"\n"), fmt="jsonl", submitted_by="test"
    )
    assert [v["record_number"] for v in app.get("/api/v1/me/violations")["items"]] == [row["record_number"]]


def test_a_change_rolled_back_leaves_the_true_answer(owner_driver):
    user, _person, vehicle, _licence = owner_driver()
    app = App(user)
    app.warm("/api/v1/me/vehicles")

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        vehicle.brand_model = "从未保存 never kept"
        vehicle.save(update_fields=["brand_model"])
        # A read inside the changing transaction sees the change but must not keep it.
        assert app.get("/api/v1/me/vehicles")["items"][0]["brand_model"] == "从未保存 never kept"
        raise Abandon
    assert app.get("/api/v1/me/vehicles")["items"][0]["brand_model"] == "大众牌 SVW71612"


def test_owners_never_share_an_answer(owner_driver):
    first, *_ = owner_driver()
    second, *_ = owner_driver(name="王芳", sequence=404)
    one, two = App(first), App(second)
    mine = one.warm("/api/v1/me/vehicles")["items"]
    theirs = two.warm("/api/v1/me/vehicles")["items"]
    assert mine and theirs and mine[0]["id"] != theirs[0]["id"]


def test_languages_and_days_are_kept_apart(monkeypatch):
    owner = SimpleNamespace(person_id=987654, organisation_id=None)
    built: list[str] = []

    def build() -> str:
        built.append(translation.get_language())
        return f"answer {len(built)}"

    for language in ("zh-hans", "en", "zh-hans", "en"):
        with translation.override(language):
            personal_reads.cached_read(owner, "test.read", (1,), build)
    assert built == ["zh-hans", "en"]  # each language built once, then kept

    tomorrow = timezone.localdate() + timedelta(days=1)
    monkeypatch.setattr(personal_reads.timezone, "localdate", lambda: tomorrow)
    with translation.override("en"):
        assert personal_reads.cached_read(owner, "test.read", (1,), build) == "answer 3"
    personal_reads.personal_data_changed(person_ids=[987654])
    with translation.override("en"):
        assert personal_reads.cached_read(owner, "test.read", (1,), build) == "answer 4"
        assert personal_reads.cached_read(owner, "test.read", (2,), build) == "answer 5"


def test_without_a_shared_cache_nothing_is_kept(owner_driver, settings, django_assert_num_queries):
    settings.PERSONAL_READ_CACHE_SECONDS = 0
    user, *_ = owner_driver()
    app = App(user)
    app.warm("/api/v1/me/vehicles")
    with django_assert_num_queries(1):  # the vehicles, every time
        app.get("/api/v1/me/vehicles")


def test_the_kept_home_cards_are_markup_once_and_follow_the_language(owner_driver):
    user, _person, vehicle, _licence = owner_driver()
    browser = Client()
    browser.force_login(user)
    pages = [browser.get("/").content.decode() for _ in range(2)]  # built, then from the cache
    cards = [page[page.index('<section aria-labelledby="my-vehicles">') :] for page in pages]
    assert cards[0] == cards[1]
    assert f'<span class="plate plate-blue">{vehicle.plate_number}</span>' in pages[1]  # not escaped twice
    assert "我的机动车" in pages[1]
    browser.cookies["django_language"] = "en"
    english = browser.get("/").content.decode()
    assert "我的机动车" not in english and "My vehicles" in english
