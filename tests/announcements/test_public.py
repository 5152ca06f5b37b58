"""The public side of announcements (N3): list, search by plate or exact full name with masked
display, withdrawn ones kept visible with their reason but no longer searchable, RSS and Atom
feeds, open data (GET /api/v1/notices, CSV and JSON downloads) and publications."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.announcements import services
from jiaoguan.announcements.models import Publication
from jiaoguan.core.models import AuditEntry

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def g03(make_person, make_vehicle, published):
    """A published G03 listing a deregistered car of 张三丰 whose plates were not returned."""
    owner = make_person(name="张三丰")
    vehicle = make_vehicle(owner=owner, plate="豫QA1234", status="E")
    return published("G03"), vehicle


def test_list_and_search_by_plate_and_by_exact_name(g03):
    a, _vehicle = g03
    client = Client()
    page = client.get("/notices/")
    assert page.status_code == 200 and a.number in page.content.decode()

    by_plate = client.get("/notices/", {"q": "豫q·a1234"}).content.decode()
    assert f'id="notice-{a.pk}"' in by_plate and "豫QA1234" in by_plate and "张**" in by_plate
    assert "张三丰" not in by_plate  # shown masked, found by the full name

    by_name = client.get("/notices/", {"q": "张三丰"}).content.decode()
    assert f'id="notice-{a.pk}"' in by_name and "豫QA1234" in by_name
    for miss in ("张三", "张**", "豫QA1235"):
        assert f'id="notice-{a.pk}"' not in client.get("/notices/", {"q": miss}).content.decode(), miss


def test_kind_filter(g03):
    a, _ = g03
    client = Client()
    assert f'id="notice-{a.pk}"' in client.get("/notices/", {"code": "G03"}).content.decode()
    assert f'id="notice-{a.pk}"' not in client.get("/notices/", {"code": "G18"}).content.decode()


def test_detail_and_items_are_masked(g03):
    a, _ = g03
    page = Client().get(f"/notices/{a.pk}/").content.decode()
    assert a.number in page and "豫QA1234" in page and "张**" in page and "张三丰" not in page


def test_drafts_are_not_public(clerk, make_person, make_vehicle):
    make_vehicle(owner=make_person(), status="E")
    draft = services.announcement_draft_generate(actor=clerk, code="G03", today=timezone.localdate())
    assert Client().get(f"/notices/{draft.pk}/").status_code == 404
    assert Client().get(f"/api/v1/notices/{draft.pk}").status_code == 404
    assert Client().get("/api/v1/notices").json()["items"] == []


def test_withdrawn_stays_visible_with_reason_but_is_not_searchable(g03, head):
    a, _ = g03
    services.announcement_withdraw(actor=head, announcement_id=a.pk, reason="号牌已于发布前收回")
    client = Client()
    detail = client.get(f"/notices/{a.pk}/").content.decode()
    assert 'id="withdrawn"' in detail and "号牌已于发布前收回" in detail
    assert f'id="notice-{a.pk}"' in client.get("/notices/").content.decode()
    assert f'id="notice-{a.pk}"' not in client.get("/notices/", {"q": "豫QA1234"}).content.decode()
    assert client.get("/api/v1/notices", {"q": "豫QA1234"}).json()["items"] == []
    body = client.get(f"/api/v1/notices/{a.pk}").json()
    assert body["state"] == "withdrawn" and body["withdrawal_reason"] == "号牌已于发布前收回"


def test_rss_and_atom_parse(g03, head):
    a, _ = g03
    client = Client()
    rss = client.get("/notices/feed.rss")
    assert rss.status_code == 200 and "xml" in rss["Content-Type"]
    channel = ET.fromstring(rss.content).find("channel")
    titles = [item.findtext("title") for item in channel.findall("item")]
    assert any(a.number in t for t in titles)
    services.announcement_withdraw(actor=head, announcement_id=a.pk, reason="号牌已于发布前收回")
    atom = client.get("/notices/feed.atom")
    assert atom.status_code == 200
    entries = ET.fromstring(atom.content).findall(f"{ATOM}entry")
    assert entries and "已撤回" in entries[0].findtext(f"{ATOM}title")
    assert entries[0].find(f"{ATOM}link").get("href").endswith(f"/notices/{a.pk}/")


def test_open_data_api_pages_with_a_cursor(published, make_person, make_vehicle):
    make_vehicle(owner=make_person(), status="E")
    made = [published("G03") for _ in range(3)]
    client = Client()
    first = client.get("/api/v1/notices", {"limit": 2}).json()
    assert [n["id"] for n in first["items"]] == [made[2].pk, made[1].pk] and first["next_cursor"]
    second = client.get("/api/v1/notices", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [n["id"] for n in second["items"]] == [made[0].pk] and second["next_cursor"] is None
    assert client.get("/api/v1/notices", {"cursor": "nonsense"}).status_code == 422
    detail = client.get(f"/api/v1/notices/{made[0].pk}", {"limit": 1}).json()
    assert detail["number"] == made[0].number and len(detail["items"]) == 1
    assert client.get("/api/v1/notices", {"code": "G18"}).json()["items"] == []


def test_csv_and_json_downloads(g03):
    a, _ = g03
    client = Client()
    response = client.get(f"/notices/{a.pk}.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][1] == "号牌号码 plate" and rows[1][1] == "豫QA1234" and rows[1][3] == "张**"
    data = json.loads(client.get(f"/notices/{a.pk}.json").content)
    assert data["number"] == a.number and data["items"][0]["plate_number"] == "豫QA1234"
    assert "张三丰" not in json.dumps(data, ensure_ascii=False)


def test_drawing_the_list_from_the_registry_is_audited(g03):
    a, _ = g03
    assert AuditEntry.objects.filter(
        action="create", subject_type="announcements.announcement", subject_id=str(a.pk)
    ).exists()


def test_publications_regenerate_idempotently_and_exam_ones_say_why(make_person, make_licence):
    from jiaoguan.announcements.models import CameraSite

    today = timezone.localdate()
    CameraSite.objects.create(
        location="驿城区解放路与交通路交叉口", direction="由东向西", offence_types="闯红灯、不按导向车道行驶",
        division="411702", in_service_since=today - timedelta(days=100),
    )  # fmt: skip
    make_licence(holder=make_person(), first_issued_on=today - timedelta(days=200), division="411702")
    first = services.publications_regenerate(today=today)
    assert first["created"] == 13
    stamp = Publication.objects.get(code="P13").generated_at
    again = services.publications_regenerate(today=today)
    assert again == {"created": 0, "changed": 0, "unchanged": 13}
    assert Publication.objects.get(code="P13").generated_at == stamp

    client = Client()
    listing = client.get("/api/v1/publications").json()
    assert len(listing) == 13
    p12 = next(p for p in listing if p["code"] == "P12")
    assert p12["available"] is False and "traced back" in p12["note"]
    p13 = client.get("/api/v1/publications/P13").json()
    assert p13["rows"][0]["location"] == "驿城区解放路与交通路交叉口"
    p02 = client.get("/api/v1/publications/P02").json()
    assert p02["rows"][-1]["drivers"] == 1 and p02["rows"][-1]["rate"] == "0.0‰"
    assert "固定式" in client.get("/notices/publications/").content.decode()
    assert "驿城区解放路" in client.get("/notices/publications/P13/").content.decode()
    assert "traced back" in client.get("/notices/publications/P12/").content.decode()
    rows = list(
        csv.reader(io.StringIO(client.get("/notices/publications/P13.csv").content.decode("utf-8-sig")))
    )
    assert rows[0][0] == "设置地点 location" and rows[1][0] == "驿城区解放路与交通路交叉口"
    assert client.get("/notices/publications/P13.json").json()["code"] == "P13"
    assert client.get("/api/v1/publications/P99").status_code == 404
