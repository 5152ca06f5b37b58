"""The organisation's reports page and API, and the staff page (N2)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.core.models import AuditEntry
from jiaoguan.registry.models import SchoolBusSign
from jiaoguan.reports import services
from jiaoguan.reports.models import ReportRun

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 1)


@pytest.fixture
def sent(make_org, make_vehicle):
    """R02 of November 2026 sent to the city's education authority (one sign) and another's."""
    city = make_org(kind="education_authority", division="411700", name="驻马店市教育局")
    other = make_org(kind="education_authority", division="411602", name="周口市川汇区教育局")
    school = make_org(kind="school", name="驿城区实验小学")
    bus = make_vehicle(owner=school, use_nature="school_bus", kind="medium_passenger", plate="豫QX4001")
    SchoolBusSign.objects.create(vehicle=bus, number="XC401", school=school, valid_from=date(2026, 1, 1),
                                 valid_until=date(2027, 1, 1), division="411702")  # fmt: skip
    services.reports_generate(today=TODAY, codes=["R02"])
    return city, other, ReportRun.objects.get(recipient=city), ReportRun.objects.get(recipient=other)


def test_the_organisation_sees_its_reports_and_the_download_marks_it_read(sent, org_login):
    city, _other, run, other_run = sent
    client = Client()
    client.force_login(org_login(city))

    page = client.get("/org/reports/").content.decode()
    assert f'id="run-{run.pk}"' in page and f'id="run-{other_run.pk}"' not in page
    assert "每月辖区校车标牌信息" in page and 'id="unread"' in page

    response = client.get(f"/org/reports/{run.pk}.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "XC401" in response.content.decode("utf-8-sig")
    assert ReportRun.objects.get(pk=run.pk).read_at is not None
    assert client.get(f"/org/reports/{run.pk}.pdf").content.startswith(b"%PDF")
    assert client.get(f"/org/reports/{other_run.pk}.csv").status_code == 404
    assert 'id="unread"' not in client.get("/org/reports/").content.decode()


def test_the_api_pages_with_a_cursor_and_hides_other_organisations_reports(sent, org_login, make_org):
    city, _other, run, other_run = sent
    # two more months of R02 for the city
    services.reports_generate(today=date(2026, 11, 1), codes=["R02"])
    services.reports_generate(today=date(2026, 10, 1), codes=["R02"])
    client = Client()
    client.force_login(org_login(city))

    first = client.get("/api/v1/org/reports?limit=2").json()
    assert [i["period"] for i in first["items"]] == ["2026-09", "2026-10"]  # newest sent first
    second = client.get(f"/api/v1/org/reports?limit=2&cursor={first['next_cursor']}").json()
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert len(ids) == 3 and len(set(ids)) == 3 and other_run.pk not in ids
    assert second["next_cursor"] is None
    item = next(i for i in first["items"] + second["items"] if i["id"] == run.pk)
    assert item["code"] == "R02" and item["row_count"] == 1 and item["read_at"] is None
    csv = client.get(item["csv_url"])
    assert csv.status_code == 200 and "XC401" in csv.content.decode("utf-8-sig")
    assert client.get(f"/api/v1/org/reports/{other_run.pk}/pdf").status_code == 404
    read = client.post(f"/api/v1/org/reports/{run.pk}/read").json()
    assert read["read_at"] is not None
    bad = client.get("/api/v1/org/reports?cursor=nonsense")
    assert bad.status_code == 422 and bad.json()["code"] == "core.bad_cursor"


def test_the_staff_page_shows_what_was_sent_in_the_jurisdiction_and_audits_downloads(sent, make_staff):
    _city, _other, run, other_run = sent
    clerk = make_staff(role="counter_clerk", jurisdiction="411700")
    client = Client()
    client.force_login(clerk)

    page = client.get("/counter/reports/").content.decode()
    assert f'id="run-{run.pk}"' in page and f'id="run-{other_run.pk}"' not in page
    assert "驾驶培训机构排名" in page and "unavailable" not in page  # R06 is made like the others
    assert 'id="generate"' not in page  # only the administrator generates
    assert client.get(f"/counter/reports/{other_run.pk}.csv").status_code == 404
    assert client.get(f"/counter/reports/{run.pk}.pdf").status_code == 200
    assert AuditEntry.objects.filter(
        actor=clerk, subject_type="reports.reportrun", subject_id=str(run.pk)
    ).exists()
    assert ReportRun.objects.get(pk=run.pk).read_at is None  # staff reading is not the recipient reading
    api = client.get("/api/v1/reports/runs?code=R02").json()
    assert [i["id"] for i in api["items"]] == [run.pk]
    pdf = client.get(api["items"][0]["pdf_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(f"/api/v1/reports/runs/{other_run.pk}/csv").status_code == 404


def test_the_administrator_generates_a_past_period_from_the_page(sent, make_staff):
    admin = make_staff(role="administrator", jurisdiction="411700", username="admin-pages")
    client = Client()
    client.force_login(admin)
    assert 'id="generate"' in client.get("/counter/reports/").content.decode()

    response = client.post("/counter/reports/generate", {"code": "R02", "period": "2026-10"}, follow=True)

    assert "新送达 1 份" in response.content.decode()
    assert ReportRun.objects.filter(code="R02", period_label="2026-10").count() == 1
    future = (timezone.localdate() + timedelta(days=40)).strftime("%Y-%m")
    refused = client.post("/counter/reports/generate", {"code": "R02", "period": future}, follow=True)
    assert "只能生成已经结束的期间" in refused.content.decode()
    api = client.post(
        "/api/v1/reports/generate", {"code": "R02", "period": "bad"}, content_type="application/json"
    )
    assert api.status_code == 422 and api.json()["code"] == "reports.bad_period"


def test_list_pages_and_endpoints_take_a_fixed_number_of_queries(sent, org_login, make_staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    city, *_ = sent
    org = Client()
    org.force_login(org_login(city))
    staff = Client()
    staff.force_login(make_staff(role="auditor", jurisdiction="411700"))
    urls = ((org, "/org/reports/"), (org, "/api/v1/org/reports"), (staff, "/counter/reports/"),
            (staff, "/api/v1/reports/runs"))  # fmt: skip

    def counts() -> list[int]:
        found = []
        for client, url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200, url
            found.append(len(queries))
        return found

    before = counts()
    for month in (11, 10, 9, 8):  # four more months: the lists grow, the query counts do not
        services.reports_generate(today=date(2026, month, 1), codes=["R02"])
    assert counts() == before
    assert max(before) <= 8, before


def test_the_pages_speak_english_when_asked(sent, org_login, make_staff, settings):
    city, *_ = sent
    org = Client()
    org.force_login(org_login(city))
    org.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = org.get("/org/reports/").content.decode()
    assert "School-bus signs of the jurisdiction, monthly" in page and "Download" in page
    staff = Client()
    staff.force_login(make_staff(role="administrator", jurisdiction="411700", username="admin-en"))
    staff.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = staff.get("/counter/reports/").content.decode()
    assert "Driving schools ranked" in page
    assert "Generate now" in page and "(authority)" not in page and "authority" in page
