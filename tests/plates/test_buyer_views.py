"""The buyer's pages (B19, P1-P5; issue 17): the 选号 tile and /services/B19/ lead to /plates/,
the start form with the office's rules in words, the held numbers with their countdown, the
choice and the give-up buttons, the chosen number with its register-by date, past selections in
words, and every refusal shown in the form with nothing held."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from jiaoguan.core.identifiers import make_vin
from jiaoguan.plates.models import PlateSelection, PoolNumber

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _held() -> int:
    return PoolNumber.objects.filter(state="held").count()


def test_b19_tile_and_service_link_lead_to_the_page(pool, buyer):
    client = _client(buyer())
    home = client.get("/").content.decode()
    assert 'href="/plates/"' in home and "选号" in home
    assert client.get("/services/B19/")["Location"] == "/plates/"
    anonymous = Client().get("/plates/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_start_form_shows_my_car_and_the_rules_in_words(make_pool, buyer, preregister):
    make_pool(rules={"excluded_letters": "Z", "excluded_sequences": ["44"], "max_letters": 1})
    user = buyer()
    car = preregister(user)
    response = _client(user).get("/plates/")
    assert response.status_code == 200
    html = response.content.decode()
    text = _text(response)
    assert car.vin in html and 'id="start-form"' in html
    assert f'value="{car.vin}"' in html  # the only car waiting for a number is filled in
    assert "随机选号（5选1）" in text and "自编自选" in text and "自编号码" in text
    # P4: the office's rules in words.
    assert "豫Q + A + 8 + 数字 + 数字 + 数字" in text
    assert "不使用字母：I、O、Z" in text and "不能出现的组合：44" in text and "最多使用 1 个字母" in text


def test_random_draw_countdown_choose_and_register_by(pool, buyer, preregister):
    user = buyer()
    car = preregister(user)
    client = _client(user)
    started = client.post("/plates/start/", {"vin": car.vin, "mode": "random"})
    assert started.status_code == 302 and started["Location"] == "/plates/"
    selection = PlateSelection.objects.get(account=user)
    page = client.get("/plates/")
    html = page.content.decode()
    assert 'id="hold-countdown"' in html and 'class="plate-countdown"' in html
    for index, number in enumerate(selection.candidates, start=1):
        assert f'id="choose-{index}"' in html and f'value="{number}"' in html
    assert 'id="abandon"' in html and "都不满意，放弃" in _text(page)
    assert 'id="start-form"' not in html  # one selection at a time (P3)

    wanted = selection.candidates[1]
    chosen = client.post("/plates/choose/", {"selection": selection.pk, "number": wanted})
    assert chosen.status_code == 302
    page = client.get("/plates/")
    text = _text(page)
    selection.refresh_from_db()
    assert selection.state == "chosen" and selection.chosen == wanted
    assert wanted in text and selection.register_by.isoformat() in text
    assert "到车管所办理注册登记时请携带" in text and 'id="register-by"' in page.content.decode()
    assert _held() == 0


def test_choice_not_among_candidates_is_shown_and_nothing_changes(pool, buyer, preregister):
    user = buyer()
    client = _client(user)
    client.post("/plates/start/", {"vin": preregister(user).vin, "mode": "random"})
    selection = PlateSelection.objects.get(account=user)
    free = PoolNumber.objects.filter(state="free").values_list("number", flat=True).first()
    refused = client.post("/plates/choose/", {"selection": selection.pk, "number": free})
    assert refused.status_code == 422
    assert (
        "只能从为您保留的号码中选定一个" in _text(refused) and 'id="choice-error"' in refused.content.decode()
    )
    assert _held() == 5
    stranger = buyer(mobile="13903960005")
    foreign = _client(stranger).post(
        "/plates/choose/", {"selection": selection.pk, "number": selection.candidates[0]}
    )
    assert foreign.status_code == 404
    assert _client(stranger).post("/plates/abandon/", {"selection": selection.pk}).status_code == 404
    assert _held() == 5


def test_abandon_then_past_selections_in_words(pool, buyer, preregister, now):
    user = buyer()
    car = preregister(user)
    client = _client(user)
    client.post("/plates/start/", {"vin": car.vin, "mode": "random"})
    first = PlateSelection.objects.get(account=user)
    assert client.post("/plates/abandon/", {"selection": first.pk}).status_code == 302
    assert _held() == 0
    client.post("/plates/start/", {"vin": car.vin, "mode": "self", "number": "A8123"})
    second = PlateSelection.objects.get(account=user, state="holding")
    PlateSelection.objects.filter(pk=second.pk).update(held_until=now - timedelta(seconds=1))
    page = client.get("/plates/")
    text = _text(page)
    assert "已放弃" in text and "已超时" in text  # state words, not raw values
    assert "abandoned" not in text and 'id="start-form"' in page.content.decode()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"vin": make_vin("LFV2A21K5N9999999"), "mode": "random"}, "没有找到车辆识别代号"),
        ({"vin": "", "mode": "random"}, ""),
        ({"mode": "self", "number": "B8123"}, "不在本发牌机关开放的号段规则内"),
        ({"mode": "self", "number": "豫QA81"}, ""),
        ({"mode": "self", "number": ""}, "自编自选请填写号码"),
    ],
)
def test_refusals_are_shown_in_the_form_and_nothing_is_held(pool, buyer, preregister, body, words):
    user = buyer()
    car = preregister(user)
    posted = {"vin": car.vin} | body
    response = _client(user).post("/plates/start/", posted)
    assert response.status_code in (400, 404, 422), response.status_code
    html = response.content.decode()
    assert 'class="field-error"' in html or 'class="error-summary"' in html
    if words:
        assert words in _text(response)
    assert _held() == 0 and not PlateSelection.objects.exists()


def test_id_and_mobile_mismatch_and_a_second_car(pool, buyer, preregister):
    user = buyer()
    client = _client(user)
    someone = buyer(mobile="13903960006")
    mismatch = client.post("/plates/start/", {"vin": preregister(someone).vin, "mode": "random"})
    assert mismatch.status_code == 409 and "购车人身份证明号码与您的账号不一致" in _text(mismatch)
    mobile = client.post(
        "/plates/start/", {"vin": preregister(user, mobile="13903969998").vin, "mode": "random"}
    )
    assert mobile.status_code == 409 and "手机号码不一致" in _text(mobile)
    assert _held() == 0
    client.post("/plates/start/", {"vin": preregister(user).vin, "mode": "random"})
    second = client.post("/plates/start/", {"vin": preregister(user).vin, "mode": "random"})
    assert second.status_code == 409 and "同一时间只能为一辆车选号" in _text(second)
    assert _held() == 5


def test_unavailable_self_number_offers_random(pool, buyer, preregister):
    first = buyer()
    _client(first).post("/plates/start/", {"vin": preregister(first).vin, "mode": "self", "number": "A8123"})
    user = buyer(mobile="13903960007")
    car = preregister(user)
    client = _client(user)
    taken = client.post("/plates/start/", {"vin": car.vin, "mode": "self", "number": "A8123"})
    assert taken.status_code == 409
    html = taken.content.decode()
    assert 'id="switch-to-random"' in html and f'name="vin" value="{car.vin}"' in html
    switched = client.post("/plates/start/", {"vin": car.vin, "mode": "random"})
    assert switched.status_code == 302
    assert len(PlateSelection.objects.get(account=user).candidates) == 5


def test_too_many_attempts_show_the_wait(pool, buyer):
    client = _client(buyer())
    vin = make_vin("LFV2A21K5N7777777")
    for _ in range(10):
        assert client.post("/plates/start/", {"vin": vin, "mode": "random"}).status_code == 404
    limited = client.post("/plates/start/", {"vin": vin, "mode": "random"})
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert "选号操作过于频繁" in _text(limited)


def test_english_page(pool, buyer, preregister):
    user = buyer()
    preregister(user)
    client = _client(user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    text = _text(client.get("/plates/"))
    assert "Plate number selection" in text and "Start selecting" in text


@pytest.mark.parametrize("posted", ["²", "١٢", "9" * 40, "-1", ""])
def test_a_selection_id_that_is_not_plain_digits_is_no_such_selection(pool, buyer, preregister, posted):
    user = buyer()
    client = _client(user)
    client.post("/plates/start/", {"vin": preregister(user).vin, "mode": "random"})
    for path in ("/plates/choose/", "/plates/abandon/"):
        assert client.post(path, {"selection": posted, "number": "A8123"}).status_code == 404
    assert _held() == 5
