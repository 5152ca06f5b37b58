"""Pages and API of the parking segments (O8): the public list, map and filter; the counter's editor;
the staff endpoints with Idempotency-Key."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from jiaoguan.parking import services
from jiaoguan.parking.models import Segment

from .conftest import segment_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(head):
    yicheng = services.segment_create(actor=head, data=segment_data())
    services.segment_publish(actor=head, segment_id=yicheng.pk)
    xiping = services.segment_create(actor=head, data=segment_data(division="411721", road="人民路", side="south",
                                                                    points=[(114.02, 33.386), (114.028, 33.386)]))  # fmt: skip
    services.segment_publish(actor=head, segment_id=xiping.pk)
    hidden = services.segment_create(actor=head, data=segment_data(road="风光路"))
    return yicheng, xiping, hidden


def test_api_lists_published_segments_by_division(published):
    yicheng, xiping, hidden = published
    client = Client()
    rows = client.get("/api/v1/parking-segments", {"division": "411702"}).json()
    assert [r["id"] for r in rows] == [yicheng.pk]
    row = rows[0]
    assert row["side"] == "north" and row["emergency_access_kept"] is True
    assert row["windows"][0] == {
        "days": "every_day",
        "start": "19:00:00",
        "end": "07:00:00",
        "all_day": False,
    }
    assert isinstance(row["parking_allowed_now"], bool) and "status" not in row
    city = client.get("/api/v1/parking-segments", {"division": "411700"}).json()
    assert {r["id"] for r in city} == {yicheng.pk, xiping.pk}
    assert client.get(f"/api/v1/parking-segments/{xiping.pk}").json()["road"] == "人民路"
    assert client.get(f"/api/v1/parking-segments/{hidden.pk}").status_code == 404


@pytest.mark.parametrize(
    ("division", "code"),
    [("4117", "division.format"), ("411799", "division.unknown"), ("410000", "parking.division.level"),
     ("x" * 300, "division.format")],
)  # fmt: skip
def test_api_bad_division_is_400_in_words(division, code):
    response = Client().get("/api/v1/parking-segments", {"division": division})
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["message"]
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/parking-segments", {"division": division})
    assert english.json()["message"] != response.json()["message"]


def test_public_pages_for_a_visitor(published):
    yicheng, xiping, hidden = published
    client = Client()
    page = client.get("/parking/", {"division": "411702"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and 'class="map-seg seg-north"' in html and "style=" not in html
    assert f'id="segment-{yicheng.pk}"' in html and f'id="segment-{xiping.pk}"' not in html
    assert "风光路" not in html
    assert "现在" in html  # "now: allowed / not allowed until HH:MM"
    bad = client.get("/parking/", {"division": "12"})
    assert bad.status_code == 200 and 'id="division-error"' in bad.content.decode()
    detail = client.get(f"/parking/{yicheng.pk}/")
    assert detail.status_code == 200 and "交通路供电局家属院" in detail.content.decode()
    assert client.get(f"/parking/{hidden.pk}/").status_code == 404


def test_home_tile_for_visitors():
    html = Client().get("/").content.decode()
    assert 'href="/parking/"' in html


def test_counter_editor_creates_publishes_and_withdraws(head):
    client = Client()
    client.force_login(head)
    assert client.get("/counter/parking/").status_code == 200
    assert client.get("/counter/parking/new/").status_code == 200
    form = {
        "division": "411702", "road": "文化路", "from_landmark": "中华路", "to_landmark": "驿城大道",
        "side": "both", "neighbourhood": "文化路教委家属院", "points": "114.0142,32.9902\n114.0147,32.9803",
        "days_1": "every_day", "start_1": "20:00", "end_1": "07:30", "days_2": "days_off", "all_day_2": "on",
        "marking": "signs_only", "conditions": "",
    }  # fmt: skip
    response = client.post("/counter/parking/new/", form)
    assert response.status_code == 302
    segment = Segment.objects.get(road="文化路")
    assert segment.windows.count() == 2 and segment.status == "draft"
    # Without emergency access kept the publish is refused in words.
    response = client.post(f"/counter/parking/{segment.pk}/decision", {"decision": "publish"}, follow=True)
    assert "应急" in response.content.decode()
    form["emergency_access_kept"] = "on"
    assert client.post(f"/counter/parking/{segment.pk}/", form).status_code == 302
    client.post(f"/counter/parking/{segment.pk}/decision", {"decision": "publish"})
    segment.refresh_from_db()
    assert segment.status == "published"
    bad = client.post(f"/counter/parking/{segment.pk}/", {**form, "start_1": "25:99", "reason": "x"})
    assert bad.status_code == 422 and "19:00" in bad.content.decode()
    client.post(f"/counter/parking/{segment.pk}/decision", {"decision": "withdraw", "reason": "施工"})
    segment.refresh_from_db()
    assert segment.status == "withdrawn"


def test_counter_refusals_are_pages_not_errors(head, make_staff):
    client = Client()
    client.force_login(head)
    bad = client.post("/counter/parking/new/", {"division": "411702", "points": "abc"})
    assert bad.status_code == 422 and 'id="form-error"' in bad.content.decode()
    other = make_staff(role="unit_head", jurisdiction="411600", username="p-other")
    segment = services.segment_create(actor=head, data=segment_data())
    outsider = Client()
    outsider.force_login(other)
    assert outsider.get(f"/counter/parking/{segment.pk}/").status_code == 404


def _api(user):
    client = Client()
    client.force_login(user)
    return client


def test_staff_api_with_idempotency_key(head):
    client = _api(head)
    body = {
        "division": "411702", "road": "交通路", "from_landmark": "解放路", "to_landmark": "雪松大道",
        "side": "north", "neighbourhood": "家属院", "points": [[114.0215, 32.9968], [114.0311, 32.9971]],
        "windows": [{"days": "every_day", "start": "19:00", "end": "07:00"}], "emergency_access_kept": True,
    }  # fmt: skip
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-1"}
    first = client.post(
        "/api/v1/counter/parking-segments", json.dumps(body), content_type="application/json", **headers
    )
    again = client.post(
        "/api/v1/counter/parking-segments", json.dumps(body), content_type="application/json", **headers
    )
    assert first.status_code == 201 and again.json() == first.json()
    assert Segment.objects.count() == 1
    segment_id = first.json()["id"]
    published = client.post(
        f"/api/v1/counter/parking-segments/{segment_id}/publication", "{}", content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="pub-1",
    )  # fmt: skip
    assert published.status_code == 200 and published.json()["status"] == "published"
    changed = client.put(
        f"/api/v1/counter/parking-segments/{segment_id}", json.dumps({**body, "reason": "延长时段"}),
        content_type="application/json",
    )  # fmt: skip
    assert changed.status_code == 200 and changed.json()["version"] == 2
    refused = client.post(
        f"/api/v1/counter/parking-segments/{segment_id}/withdrawal", "{}", content_type="application/json"
    )
    assert refused.status_code == 422 and refused.json()["code"] == "parking.reason_required"
    listed = client.get("/api/v1/counter/parking-segments").json()
    assert [r["id"] for r in listed] == [segment_id]
    assert (
        Client().post("/api/v1/counter/parking-segments", "{}", content_type="application/json").status_code
        == 401
    )


def test_staff_api_refuses_bad_windows(head):
    body = {
        "division": "411702", "road": "交通路", "from_landmark": "a", "to_landmark": "b", "side": "north",
        "neighbourhood": "c", "points": [[114.0215, 32.9968], [114.0311, 32.9971]],
        "windows": [{"days": "every_day", "start": "07:00", "end": "07:00"}],
    }  # fmt: skip
    response = _api(head).post(
        "/api/v1/counter/parking-segments", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 422 and response.json()["code"] == "parking.windows.empty"


def test_a_resident_starts_with_their_own_district(published, make_person, citizen):
    yicheng, xiping, _hidden = published
    resident = make_person(name="钱芳", area="411721", mobile="13800138021")
    client = Client()
    client.force_login(citizen(resident))
    html = client.get("/parking/").content.decode()
    assert '<option value="411721" selected>' in html
    assert f'id="segment-{xiping.pk}"' in html and f'id="segment-{yicheng.pk}"' not in html
