"""A buyer's plate selections through the API (B19, P1-P5; issue 17): random 5-choose-1 and a
self-composed number, Idempotency-Key, every refusal of the issue with nothing held, another
user's selection, and the per-account limit (429 with Retry-After)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from jiaoguan.core.identifiers import make_vin
from jiaoguan.plates.models import PlateSelection, PoolNumber

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/plate-selections"


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _post(client: Client, url: str, body: dict | None = None, **headers):
    return client.post(url, body or {}, content_type="application/json", **headers)


def _held() -> int:
    return PoolNumber.objects.filter(state="held").count()


def test_random_draw_idempotent_choose_and_list(pool, buyer, preregister):
    user = buyer()
    car = preregister(user)
    client = _client(user)
    body = {"vin": car.vin.lower(), "mode": "random"}
    first = _post(client, URL, body, HTTP_IDEMPOTENCY_KEY="draw-1")
    assert first.status_code == 201, first.content
    made = first.json()
    assert made["state"] == "holding" and made["mode"] == "random" and made["vin"] == car.vin
    assert made["pool"] == "豫Q" and made["plate_type"] == "02" and len(made["candidates"]) == 5
    assert made["state_zh"] == "待选定" and made["held_until"] and made["chosen"] == ""
    # A retry with the same key answers the first selection and holds nothing more.
    again = _post(client, URL, body, HTTP_IDEMPOTENCY_KEY="draw-1")
    assert again.status_code == 201 and again.json() == made
    assert PlateSelection.objects.count() == 1 and _held() == 5

    # P3: a second selection while this one is open is refused.
    second = _post(client, URL, body, HTTP_IDEMPOTENCY_KEY="draw-2")
    assert second.status_code == 409 and second.json()["code"] == "plates.one_at_a_time"
    assert _held() == 5

    wanted = made["candidates"][3]
    chosen = _post(client, f"{URL}/{made['id']}/choice", {"number": wanted[2:]})  # the serial alone
    assert chosen.status_code == 200, chosen.content
    answer = chosen.json()
    assert answer["state"] == "chosen" and answer["chosen"] == wanted and answer["register_by"]
    assert _held() == 0 and PoolNumber.objects.get(number=wanted).state == "selected"

    listed = client.get(URL)
    assert listed.status_code == 200 and [s["id"] for s in listed.json()] == [made["id"]]
    assert client.get(f"{URL}/{made['id']}").json()["chosen"] == wanted


def test_self_composed_number_held_then_taken_by_nobody_else(pool, buyer, preregister):
    user = buyer()
    car = preregister(user)
    made = _post(_client(user), URL, {"vin": car.vin, "mode": "self", "number": "豫QA8123"})
    assert made.status_code == 201, made.content
    assert made.json()["candidates"] == ["豫QA8123"]
    other = buyer(mobile="13903960002")
    other_car = preregister(other)
    taken = _post(_client(other), URL, {"vin": other_car.vin, "mode": "self", "number": "A8123"})
    assert taken.status_code == 409
    refusal = taken.json()
    # P4: the refusal offers random selection instead.
    assert refusal["code"] == "plates.number_unavailable" and refusal["detail"]["switch_to"] == "random"
    assert "随机选号" in refusal["message"]
    assert PlateSelection.objects.filter(account=other).count() == 0


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("豫QA81", "plate.format"),  # GA 36 shape
        ("B8123", "plates.rules.pattern"),  # outside the office's series
        ("", "plates.number.required"),
        ("豫AA8123", "plates.number.office"),  # another office's prefix
    ],
)
def test_self_number_breaking_format_or_rules_is_refused_and_nothing_held(
    pool, buyer, preregister, number, code
):
    user = buyer()
    car = preregister(user)
    answer = _post(_client(user), URL, {"vin": car.vin, "mode": "self", "number": number})
    assert answer.status_code == 422, answer.content
    assert answer.json()["code"].startswith(code.split(".")[0]) and answer.json()["message"]
    if code != "plate.format":
        assert answer.json()["code"] == code
    assert _held() == 0 and not PlateSelection.objects.exists()


def test_excluded_letter_and_sequence_are_refused_in_words(make_pool, buyer, preregister):
    make_pool(patterns=("A8ddd", "A8ldd"), rules={"excluded_letters": "Z", "excluded_sequences": ["44"]})
    user = buyer()
    car = preregister(user)
    client = _client(user)
    letter = _post(client, URL, {"vin": car.vin, "mode": "self", "number": "A8Z12"})
    assert letter.status_code == 422 and letter.json()["code"] == "plates.rules.letter"
    sequence = _post(client, URL, {"vin": car.vin, "mode": "self", "number": "A8144"})
    assert sequence.status_code == 422 and sequence.json()["code"] == "plates.rules.sequence"
    assert _held() == 0


def test_vin_id_and_mobile_refusals_hold_nothing(pool, buyer, preregister):
    user = buyer()
    client = _client(user)
    missing = _post(client, URL, {"vin": make_vin("LFV2A21K5N9999999"), "mode": "random"})
    assert missing.status_code == 404 and missing.json()["code"] == "plates.not_preregistered"
    someone = buyer(mobile="13903960003")
    not_mine = _post(client, URL, {"vin": preregister(someone).vin, "mode": "random"})
    assert not_mine.status_code == 409 and not_mine.json()["code"] == "plates.id_mismatch"
    other_mobile = _post(client, URL, {"vin": preregister(user, mobile="13903969999").vin, "mode": "random"})
    assert other_mobile.status_code == 409 and other_mobile.json()["code"] == "plates.mobile_mismatch"
    bad_vin = _post(client, URL, {"vin": "NOT-A-VIN", "mode": "random"})
    assert bad_vin.status_code == 422
    bad_mode = _post(client, URL, {"vin": preregister(user).vin, "mode": "lucky"})
    assert bad_mode.status_code == 422 and bad_mode.json()["code"] == "plates.mode"
    assert _held() == 0 and not PlateSelection.objects.exists()


def test_choice_outside_candidates_and_another_users_selection(pool, buyer, preregister):
    user = buyer()
    made = _post(_client(user), URL, {"vin": preregister(user).vin, "mode": "random"}).json()
    free = PoolNumber.objects.filter(state="free").values_list("number", flat=True).first()
    wrong = _post(_client(user), f"{URL}/{made['id']}/choice", {"number": free})
    assert wrong.status_code == 422 and wrong.json()["code"] == "plates.not_a_candidate"
    assert _held() == 5

    stranger = buyer(mobile="13903960004")
    client = _client(stranger)
    assert client.get(f"{URL}/{made['id']}").status_code == 404
    foreign = _post(client, f"{URL}/{made['id']}/choice", {"number": made["candidates"][0]})
    assert foreign.status_code == 404 and foreign.json()["code"] == "plates.selection_not_found"
    assert _post(client, f"{URL}/{made['id']}/abandonment").status_code == 404
    assert _post(client, f"{URL}/999999/choice", {"number": "A8123"}).status_code == 404
    assert client.get(URL).json() == []
    assert _held() == 5


def test_abandon_frees_the_numbers_and_an_ended_hold_reads_expired(pool, buyer, preregister, now):
    user = buyer()
    car = preregister(user)
    client = _client(user)
    made = _post(client, URL, {"vin": car.vin, "mode": "random"}).json()
    gone = _post(client, f"{URL}/{made['id']}/abandonment")
    assert gone.status_code == 200 and gone.json()["state"] == "abandoned"
    assert _held() == 0
    again = _post(client, URL, {"vin": car.vin, "mode": "random"}).json()
    PlateSelection.objects.filter(pk=again["id"]).update(held_until=now - timedelta(seconds=1))
    (latest, _older) = client.get(URL).json()
    assert latest["id"] == again["id"] and latest["state"] == "expired"
    late = _post(client, f"{URL}/{again['id']}/choice", {"number": again["candidates"][0]})
    assert late.status_code == 409 and late.json()["code"] == "plates.hold_expired"


def test_account_limit_answers_429_with_retry_after(pool, buyer, preregister):
    user = buyer()
    client = _client(user)
    vin = make_vin("LFV2A21K5N8888888")  # not pre-registered: every attempt is refused, yet counted
    statuses = []
    for _ in range(12):
        answer = _post(client, URL, {"vin": vin, "mode": "random"})
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            assert int(answer["Retry-After"]) > 0
            assert answer.json()["code"] == "plates.too_many_attempts"
            break
    assert statuses[-1] == 429 and statuses.count(404) == 10  # 10 a minute per account (issue 17 §5)


def test_anonymous_and_staff_are_refused(pool, plates_clerk):
    assert Client().get(URL).status_code == 401
    staff = Client()
    staff.force_login(plates_clerk)
    assert staff.get(URL).status_code == 403


def test_an_organisation_selects_for_its_own_local_car(pool, organisation_user, preregister):
    """P1: organisations with local non-operating cars select too, matched on their USCC."""
    company = organisation_user()
    company.mobile = "13903960010"
    company.save(update_fields=["mobile"])
    car = preregister(company)
    made = _post(_client(company), URL, {"vin": car.vin, "mode": "random"}, HTTP_IDEMPOTENCY_KEY="org-1")
    assert made.status_code == 201, made.content
    selection = PlateSelection.objects.get(pk=made.json()["id"])
    assert selection.owner_organisation_id == company.organisation_id and selection.owner_person_id is None
