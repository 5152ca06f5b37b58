"""The weekly feedback list of failed insurance checks (O7): weeks, groups, page, CSV and API."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.core.errors import NotAllowed, ValidationFailed
from jiaoguan.insurance import selectors

pytestmark = pytest.mark.django_db

PICC = "中国人民财产保险股份有限公司驻马店市分公司"
PAIC = "中国平安财产保险股份有限公司驻马店中心支公司"
W49 = selectors.week_from("2026-W49", today=date(2026, 12, 5))


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700")


@pytest.fixture
def insurer(organisation_user):
    return organisation_user(name=PICC, kind="insurer", suffix="1PKCC7")


def test_a_week_runs_monday_to_sunday_in_beijing_time(failure, clerk):
    inside_first = failure(at=beijing(date(2026, 11, 30), 0, 0))  # Monday 00:00
    inside_last = failure(at=beijing(date(2026, 12, 6), 23, 59))  # Sunday 23:59
    failure(at=beijing(date(2026, 11, 29), 23, 59))  # the Sunday before
    failure(at=beijing(date(2026, 12, 7), 0, 0))  # the Monday after
    rows = list(selectors.feedback_rows(actor=clerk, week=W49))
    assert {r.pk for r in rows} == {inside_first.pk, inside_last.pk}
    assert (W49.monday, W49.sunday, W49.previous, W49.following) == (
        date(2026, 11, 30), date(2026, 12, 6), "2026-W48", "2026-W50"
    )  # fmt: skip


def test_rows_are_grouped_per_insurer_with_no_policy_last(failure, clerk):
    day = date(2026, 12, 2)
    failure(at=day, insurer_name=PICC)
    failure(at=day, insurer_name="")
    failure(at=day, insurer_name=PAIC)
    failure(at=day, insurer_name=PICC, missing="vehicle_tax")
    groups = selectors.feedback_groups(selectors.feedback_rows(actor=clerk, week=W49))
    assert [(g.insurer_name, g.count) for g in groups] == [(PICC, 2), (PAIC, 1), ("", 1)]


def test_staff_see_their_jurisdiction_only(failure, make_staff):
    day = date(2026, 12, 2)
    city = failure(at=day, division="411702")
    county = failure(at=day, division="411721")
    elsewhere = failure(at=day, division="411602")
    detachment = make_staff(role="counter_clerk", jurisdiction="411700", username="city")
    office = make_staff(role="counter_clerk", jurisdiction="411721", username="county")
    assert {r.pk for r in selectors.feedback_rows(actor=detachment, week=W49)} == {city.pk, county.pk}
    assert {r.pk for r in selectors.feedback_rows(actor=office, week=W49)} == {county.pk}
    assert elsewhere.pk not in {r.pk for r in selectors.feedback_rows(actor=detachment, week=W49)}


def test_an_insurer_sees_its_customers_and_no_policy_rows_of_its_city(failure, insurer):
    day = date(2026, 12, 2)
    mine = failure(at=day, insurer_name=PICC, division="411721")
    no_policy_here = failure(at=day, insurer_name="", division="411722")
    failure(at=day, insurer_name=PAIC, division="411702")  # another insurer's customer
    failure(at=day, insurer_name="", division="411602")  # no policy, another city
    rows = selectors.feedback_rows(actor=insurer, week=W49)
    assert {r.pk for r in rows} == {mine.pk, no_policy_here.pk}


def test_other_organisations_and_citizens_are_refused(organisation_user, citizen, make_person):
    company = organisation_user()
    with pytest.raises(NotAllowed) as caught:
        list(selectors.feedback_rows(actor=company, week=W49))
    assert caught.value.code == "insurance.insurers_only"
    with pytest.raises(NotAllowed):
        list(selectors.feedback_rows(actor=citizen(make_person()), week=W49))


def test_a_malformed_week_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        selectors.week_from("2026-49", today=date(2026, 12, 5))
    assert caught.value.code == "insurance.bad_week"
    assert selectors.week_from("", today=date(2026, 12, 5)).label == "2026-W49"


def test_the_page_lists_the_week_per_insurer(failure, clerk):
    failure(at=date(2026, 12, 2), insurer_name=PICC, plate_number="豫Q8A001")
    failure(
        at=date(2026, 12, 3),
        insurer_name="",
        plate_number="豫Q8A002",
        missing="compulsory_insurance,vehicle_tax",
    )
    failure(at=date(2026, 11, 25), insurer_name=PICC, plate_number="豫Q8A003")
    client = Client()
    client.force_login(clerk)
    page = client.get("/counter/insurance/feedback/?week=2026-W49")
    assert page.status_code == 200
    html = page.content.decode()
    assert PICC in html and "未查询到保单" in html and "豫Q8A001" in html and "豫Q8A002" in html
    assert "豫Q8A003" not in html and "交强险、车船税" in html
    assert "2026-11-30" in html and "2026-12-06" in html
    # The staff menu offers the page.
    assert "/counter/insurance/feedback/" in client.get("/counter/").content.decode()


def test_the_page_falls_back_to_this_week_on_a_bad_week(clerk):
    client = Client()
    client.force_login(clerk)
    page = client.get("/counter/insurance/feedback/?week=last")
    assert page.status_code == 200
    assert selectors.week_from("", today=timezone.localdate()).label in page.content.decode()


def test_the_csv_download(failure, clerk):
    row = failure(at=beijing(date(2026, 12, 2), 9, 15), insurer_name=PICC, plate_number="豫Q8A001")
    failure(at=date(2026, 12, 3), insurer_name="", missing="vehicle_tax")
    client = Client()
    client.force_login(clerk)
    response = client.get("/counter/insurance/feedback/?week=2026-W49&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="insurance-feedback-2026-W49.csv"' in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0][0] == "周次 week" and len(lines) == 3
    assert lines[1] == [
        "2026-W49", PICC, "2026-12-02 09:15", row.vin, "豫Q8A001", "inspection", "compulsory_insurance",
        "PDZA202641170000000001", "411702",
    ]  # fmt: skip
    assert lines[2][1] == "未查询到保单" and lines[2][6] == "vehicle_tax"
    from jiaoguan.core.models import AuditEntry

    assert AuditEntry.objects.filter(summary__contains="2026-W49").exists()  # an export is audited


def test_the_api_for_staff(failure, clerk, api_as):
    failure(at=date(2026, 12, 2), insurer_name=PICC)
    failure(at=date(2026, 12, 2), insurer_name="", missing="compulsory_insurance,vehicle_tax")
    failure(at=date(2026, 12, 2), division="411602")  # outside the clerk's jurisdiction
    response = api_as(clerk).get("/api/v1/insurance/feedback?week=2026-W49")
    assert response.status_code == 200
    body = response.json()
    assert (body["week"], body["start"], body["end"]) == ("2026-W49", "2026-11-30", "2026-12-06")
    assert body["insurers"] == [{"insurer_name": PICC, "count": 1}, {"insurer_name": "", "count": 1}]
    assert [item["missing"] for item in body["items"]] == [
        ["compulsory_insurance"], ["compulsory_insurance", "vehicle_tax"]
    ]  # fmt: skip
    assert set(body["items"][0]) >= {
        "vin",
        "plate_number",
        "purpose",
        "checked_at",
        "division",
        "policy_number",
    }


def test_the_api_for_insurers_shows_only_theirs(failure, insurer, organisation_user, api_as):
    mine = failure(at=date(2026, 12, 2), insurer_name=PICC)
    failure(at=date(2026, 12, 2), insurer_name=PAIC)
    other = organisation_user(name=PAIC, kind="insurer", suffix="2PAAC7")
    body = api_as(insurer).get("/api/v1/insurance/feedback?week=2026-W49").json()
    assert [item["vin"] for item in body["items"]] == [mine.vin]
    assert [
        item["insurer_name"]
        for item in api_as(other).get("/api/v1/insurance/feedback?week=2026-W49").json()["items"]
    ] == [PAIC]


def test_the_api_refuses_others_and_bad_weeks(organisation_user, citizen, make_person, clerk, api_as):
    assert Client().get("/api/v1/insurance/feedback").status_code == 401
    company = api_as(organisation_user()).get("/api/v1/insurance/feedback")
    assert company.status_code == 403 and company.json()["code"] == "insurance.insurers_only"
    person = api_as(citizen(make_person())).get("/api/v1/insurance/feedback")
    assert person.status_code == 403
    bad = api_as(clerk).get("/api/v1/insurance/feedback?week=2026-49")
    assert bad.status_code == 422 and bad.json()["code"] == "insurance.bad_week"


def test_the_page_in_english(failure, clerk, settings):
    failure(at=date(2026, 12, 2), insurer_name="", missing="compulsory_insurance,vehicle_tax")
    client = Client()
    client.force_login(clerk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/counter/insurance/feedback/?week=2026-W49").content.decode()
    assert "Insurance check feedback" in html and "No policy found (1)" in html
    assert "compulsory insurance, vehicle tax" in html and "2026-W49 (2026-11-30 to 2026-12-06)" in html
    assert "1 failed check this week." in html
