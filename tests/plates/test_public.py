"""The public draw log (issue 17 §3): days and their commitments, a day's file and the platform's
own replay, for anyone without a login; the seed only after the day ends."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from jiaoguan.plates import draws, services
from jiaoguan.plates.models import DrawDay

pytestmark = pytest.mark.django_db


@pytest.fixture
def noon(monkeypatch):
    """Today at noon as the platform's clock, so the test's day never crosses midnight."""
    at = timezone.make_aware(datetime.combine(timezone.localdate(), time(12, 0)))
    monkeypatch.setattr(timezone, "now", lambda: at)
    return at


@pytest.fixture
def drawn(noon, pool, buyer, preregister):
    """A buyer's random draw and choice today, and another buyer's self-composed hold."""
    first, second = buyer(mobile="13903960301"), buyer(mobile="13903960302")
    first_car, second_car = preregister(first), preregister(second)
    selection = services.selection_start(actor=first, vin=first_car.vin, mode="random")
    services.selection_choose(actor=first, selection_id=selection.pk, number=selection.candidates[1])
    composed = next(n for n in ("A8999", "A8998") if f"豫Q{n}" not in selection.candidates)
    services.selection_start(actor=second, vin=second_car.vin, mode="self", number=composed)
    return DrawDay.objects.get(day=timezone.localdate(noon))


def test_days_list_shows_commitments_and_counts(client, drawn):
    answer = client.get("/api/v1/plate-draws")
    assert answer.status_code == 200
    items = answer.json()["items"]
    today = next(i for i in items if i["date"] == drawn.day.isoformat())
    assert today["commitment"] == drawn.commitment and today["revealed"] is False
    assert today["revealed_at"] is None and today["draws"] == 1 and today["entries"] == 4
    assert today["file"] == f"/api/v1/plate-draws/{drawn.day.isoformat()}"
    assert drawn.seed not in answer.content.decode()
    assert client.get("/api/v1/plate-draws?limit=0").status_code == 422


def test_the_list_publishes_todays_commitment_without_a_worker(client, noon):
    assert not DrawDay.objects.exists()
    items = client.get("/api/v1/plate-draws").json()["items"]
    assert [i["date"] for i in items] == [timezone.localdate(noon).isoformat()]
    assert items[0]["draws"] == 0


def test_day_file_hides_the_seed_until_the_day_has_ended(client, drawn, noon):
    url = f"/api/v1/plate-draws/{drawn.day.isoformat()}"
    before = client.get(url)
    assert before.status_code == 200 and before["Content-Type"].startswith("application/json")
    data = before.json()
    assert data["format"] == draws.FORMAT and data["seed"] is None and data["revealed_at"] is None
    assert data["commitment"] == drawn.commitment and drawn.seed not in before.content.decode()
    [pool] = data["pools"]
    assert [e["kind"] for e in pool["events"]] == ["import", "draw", "choose", "hold"]
    assert all("*" in e["user"] for e in pool["events"][1:])  # masked owners only
    assert "user" not in pool["events"][0]  # staff are not named
    assert not draws.replay(data).ok  # nobody can replay it yet
    check = client.get(f"{url}/check").json()
    assert check == {
        "date": drawn.day.isoformat(), "revealed": False, "ok": True, "problems": [], "draws": 1, "events": 4,
    }  # fmt: skip

    services.draw_days_reveal(now=noon + timedelta(days=1))
    after = client.get(url)
    data = after.json()
    assert data["seed"] == drawn.seed and data["revealed_at"]
    # The body is the file as published (sorted keys): its hash is the same for everyone.
    assert after.content.decode() == draws.dumps(data)
    report = draws.replay(data, commitment=drawn.commitment)
    assert report.ok and report.draws == 1 and report.events == 4
    assert client.get(f"{url}/check").json()["revealed"] is True


def test_an_ended_day_is_revealed_on_read_without_a_worker(client, drawn, monkeypatch):
    tomorrow = timezone.make_aware(datetime.combine(drawn.day + timedelta(days=1), time(0, 0, 1)))
    monkeypatch.setattr(timezone, "now", lambda: tomorrow)
    data = client.get(f"/api/v1/plate-draws/{drawn.day.isoformat()}").json()
    assert data["seed"] == drawn.seed
    assert DrawDay.objects.filter(day=tomorrow.date()).exists()  # the new day's commitment


def test_unknown_and_malformed_days(client, noon):
    missing = client.get("/api/v1/plate-draws/1999-01-01")
    assert missing.status_code == 404
    assert (
        missing.json()["code"] == "plates.draws.day_not_found" and "1999-01-01" in missing.json()["message"]
    )
    english = client.get("/api/v1/plate-draws/1999-01-01", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["message"].startswith("No seed commitment was published for 1999-01-01")
    bad = client.get("/api/v1/plate-draws/2026-13-45")
    assert bad.status_code == 422 and bad.json()["code"] == "plates.draws.date"
    assert client.get("/api/v1/plate-draws/yesterday/check").status_code == 422
    assert client.get("/api/v1/plate-draws/1999-01-01/check").status_code == 404
    assert client.get("/plate-draws/1999-01-01/").status_code == 404
    assert client.get("/plate-draws/not-a-day/").status_code == 404


def test_pages_show_the_days_the_log_and_the_seed_after_the_day(client, drawn, noon):
    listing = client.get("/plate-draws/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert f'id="day-{drawn.day.isoformat()}"' in page and drawn.commitment in page
    assert drawn.seed not in page

    day_url = f"/plate-draws/{drawn.day.isoformat()}/"
    page = client.get(day_url).content.decode()
    assert drawn.commitment in page and 'id="seed-hidden"' in page and drawn.seed not in page
    assert 'id="platform-check"' in page and "verify-draws" in page
    assert f'href="/api/v1/plate-draws/{drawn.day.isoformat()}"' in page
    assert 'id="entry-豫Q:02-' in page and "411" in page  # the log, with masked owners

    services.draw_days_reveal(now=noon + timedelta(days=1))
    page = client.get(day_url).content.decode()
    assert f'id="seed">{drawn.seed}<' in page and 'id="seed-hidden"' not in page


def test_the_day_page_pages_through_a_long_log(client, drawn, monkeypatch):
    from jiaoguan.plates import views

    monkeypatch.setattr(views, "PUBLIC_LOG_PAGE", 2)
    first = client.get(f"/plate-draws/{drawn.day.isoformat()}/").content.decode()
    assert 'id="pages"' in first and "?page=2" in first
    second = client.get(f"/plate-draws/{drawn.day.isoformat()}/?page=2").content.decode()
    assert second.count('id="entry-') == 2 and 'id="entry-豫Q:02-4"' in second


def test_personal_data_is_not_in_the_public_file(client, drawn):
    from jiaoguan.plates.models import PlateSelection

    body = client.get(f"/api/v1/plate-draws/{drawn.day.isoformat()}").content.decode()
    for selection in PlateSelection.objects.select_related("owner_person"):
        assert selection.owner_person.id_number not in body
        assert selection.owner_person.name not in body
        assert selection.masked_user in body
    assert json.loads(body)["pools"][0]["salt"]
