"""The private due-date calendar (N1): made only when the user asks, revocable, RFC 5545 text."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from jiaoguan.notices.calendar import DueDate, _fold, ical
from jiaoguan.notices.models import CalendarFeedToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_the_feed_lists_my_dates_and_stops_when_revoked(owner_driver):
    user, person, vehicle, _licence = owner_driver()
    client = Client()
    client.force_login(user)
    assert "同意并生成订阅地址" in client.get("/messages/calendar/").content.decode()
    url = client.post("/api/v1/me/calendar-feed").json()["url"]
    assert url.startswith("http://testserver/feeds/calendar/") and url.endswith(".ics")
    path = url.removeprefix("http://testserver")
    feed = Client().get(path)  # a calendar application has no session
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    lines = _unfold(feed.content.decode())
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    assert any(line.startswith("SUMMARY:机动车" + vehicle.plate_number) for line in lines)
    assert any(line.startswith("SUMMARY:驾驶证有效期止") for line in lines)
    assert person.name not in feed.content.decode() and person.id_number not in feed.content.decode()
    # A new address retires the old one; revoking retires the new one.
    second = client.post("/api/v1/me/calendar-feed").json()["url"].removeprefix("http://testserver")
    assert Client().get(path).status_code == 404
    assert Client().get(second).status_code == 200
    assert client.delete("/api/v1/me/calendar-feed").status_code == 204
    assert Client().get(second).status_code == 404
    assert CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).count() == 0


def test_organisations_and_strangers_get_no_feed(organisation_user):
    user = organisation_user()
    client = Client()
    client.force_login(user)
    assert client.post("/api/v1/me/calendar-feed").status_code == 403
    assert Client().post("/api/v1/me/calendar-feed").status_code == 401
    assert Client().get("/feeds/calendar/not-a-token.ics").status_code == 404


def test_long_lines_fold_at_75_octets_without_splitting_a_character():
    text = ical(
        dates=[
            DueDate(
                uid="u1",
                on=date(2027, 5, 31),
                summary="检验" * 60,
                description="说明，含逗号；分号",
                path="/x/",
            )
        ],
        base_url="https://example.gov.cn/",
    )
    for line in text.split("\r\n"):
        assert len(line.encode()) <= 75
    lines = _unfold(text)
    assert "DTSTART;VALUE=DATE:20270531" in lines and "DTEND;VALUE=DATE:20270601" in lines
    assert "DESCRIPTION:说明\\，含逗号\\；分号".replace("\\，", "，").replace("\\；", "；") in lines
    assert _fold("a" * 80) == "a" * 75 + "\r\n " + "a" * 5
