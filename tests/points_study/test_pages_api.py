"""Pages and API of the study to reduce points (V7): the standing page and the course page, the
counter page, ``GET /api/v1/me/points-study`` and ``POST /api/v1/me/points-study/{course}/attempts``
with Idempotency-Key, and bad input answered in words, never a server error."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from jiaoguan.points_study import services
from jiaoguan.points_study.models import StudyAttempt

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/points-study"


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def _post(client, course, body, key):
    return client.post(
        f"{URL}/{course}/attempts",
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_the_standing_says_points_cycle_cap_exclusions_courses_and_sessions(driver, session):
    user, _licence = driver(points=10)
    booked = session()
    body = _client(user).get(URL).json()
    assert body["points_in_cycle"] == 10 and body["reduced_in_cycle"] == 0 and body["remaining_cap"] == 6
    assert body["eligible"] is True and body["exclusions"] == []
    assert body["cycle_start"] < body["cycle_end"]
    kinds = {c["code"]: (c["kind"], c["minutes"], c["points"]) for c in body["courses"]}
    assert kinds["online-signals"] == ("online", 30, 1) and kinds["onsite-law"] == ("on_site", 60, 2)
    assert [s["id"] for s in body["sessions"]] == [booked.pk] and body["full_score"] is None


def test_the_standing_lists_every_exclusion_in_both_languages(driver):
    user, _licence = driver(entries=[6, 6], status="D")
    body = _client(user).get(URL).json()
    assert body["eligible"] is False
    assert {r["code"] for r in body["exclusions"]} == {"study.full_score", "study.held"}
    assert all(r["zh"] and r["en"] for r in body["exclusions"])


def test_start_then_submit_with_idempotency(driver, studied, answers):
    user, licence = driver(points=10)
    client = _client(user)
    started = _post(client, "online-signals", {}, "s-1")
    assert started.status_code == 201, started.content
    body = started.json()
    assert body["test_open"] is False and body["minutes_left"] > 0 and len(body["questions"]) == 10
    assert _post(client, "online-signals", {}, "s-1").json()["id"] == body["id"]
    early = _post(client, "online-signals", {"answers": {}}, "t-0")
    assert early.status_code == 409 and early.json()["code"] == "points_study.too_early"
    attempt = studied(StudyAttempt.objects.get(pk=body["id"]))
    right = answers(attempt)
    done = _post(client, "online-signals", {"answers": right}, "t-1")
    assert done.status_code == 200, done.content
    result = done.json()
    assert result["passed"] is True and result["points_reduced"] == 1 and result["wrong"] == []
    replay = _post(client, "online-signals", {"answers": right}, "t-1")
    assert replay.status_code == 200 and replay.json() == result
    assert client.get(URL).json()["points_in_cycle"] == 9
    assert licence.points_entries.filter(points__lt=0).count() == 1


def test_api_refusals_are_clear(driver):
    user, _licence = driver(points=10, status="U")
    client = _client(user)
    excluded = _post(client, "online-signals", {}, "x-1")
    assert excluded.status_code == 409
    assert excluded.json()["code"] == "study.held" and excluded.json()["detail"]["reasons"]
    ok_user, _l = driver(points=10, mobile="13900000703")
    ok = _client(ok_user)
    assert _post(ok, "no-such-course", {}, "x-2").status_code == 404
    assert _post(ok, "onsite-law", {}, "x-3").status_code == 409
    assert _post(ok, "online-signals", {"answers": "nonsense"}, "x-4").status_code in (400, 422)
    not_started = _post(ok, "online-drink", {"answers": {"q01": "a"}}, "x-5")
    assert not_started.status_code == 409 and not_started.json()["code"] == "points_study.not_started"


def test_without_a_licence_the_api_says_so_and_the_page_too(citizen, make_person):
    user = citizen(make_person(name="无证人", mobile="13900000709"), level="counter")
    client = _client(user)
    answer = client.get(URL)
    assert answer.status_code == 404 and answer.json()["code"] == "points_study.no_licence"
    assert "您名下没有驾驶证" in client.get("/points-study/").content.decode()


def test_pages_study_test_and_result(driver, studied, session):
    user, _licence = driver(points=10)
    session()
    client = _client(user)
    home = client.get("/points-study/").content.decode()
    assert 'id="points">10<' in home and "网络学习" in home and "现场学习预约" in home
    client.post("/points-study/online-signals/start")
    attempt = StudyAttempt.objects.get()
    waiting = client.get("/points-study/online-signals/").content.decode()
    assert 'id="minutes-left"' in waiting and 'id="test-form"' not in waiting
    studied(attempt)
    page = client.get("/points-study/online-signals/").content.decode()
    assert 'id="test-form"' in page
    wrong = {code: "a" for code in attempt.questions}
    client.post("/points-study/online-signals/submit", wrong)
    result = client.get("/points-study/online-signals/").content.decode()
    assert 'id="result"' in result and 'id="wrong"' in result


def test_page_bad_input_is_never_a_server_error(driver, clerk):
    user, _licence = driver(points=10)
    client = _client(user)
    assert client.get("/points-study/no-such-course/").status_code == 404
    assert client.post("/points-study/onsite-law/start").status_code == 404
    assert client.post("/points-study/sessions/99999/book").status_code == 404
    assert client.post("/points-study/online-signals/submit", {"q01": "a"}, follow=True).status_code == 200
    assert client.post("/points-study/full-score/day", {"step": "start"}, follow=True).status_code == 200
    desk = _client(clerk)
    assert (
        desk.post(
            "/counter/points-study/bookings/99999/result", {"result": "passed", "score": "95"}
        ).status_code
        == 404
    )
    assert desk.post("/counter/points-study/full-score/99999/day").status_code == 404


def test_the_counter_page_records_a_result(driver, session, clerk):
    user, licence = driver(points=10)
    booking = services.session_book(actor=user, session_id=session().pk)
    desk = _client(clerk)
    page = desk.get("/counter/points-study/").content.decode()
    assert f'id="booking-{booking.pk}"' in page and "孙*" in page and licence.holder.id_number not in page
    desk.post(f"/counter/points-study/bookings/{booking.pk}/result", {"result": "passed", "score": "96"})
    booking.refresh_from_db()
    assert booking.state == "passed" and licence.points_entries.get(points__lt=0).points == -2
