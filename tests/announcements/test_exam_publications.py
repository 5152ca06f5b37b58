"""The exam publications (P01, P06, P07, P08, P11; seed 002 附件4 二, issue 16 §7) counted from the
exam tables: schools' pass rates per subject, schools ranked, their capacity, the plans of the
month with their applications and candidates, and examiners' tests and pass rates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jiaoguan.announcements import publications, services
from jiaoguan.core.identifiers import make_uscc
from jiaoguan.exams.models import ExamApplication
from jiaoguan.registry.models import Organisation

pytestmark = pytest.mark.django_db


def _school(name: str, n: int) -> Organisation:
    return Organisation.objects.create(
        uscc=make_uscc(f"91411702MA4E{n:04d}Y"[:17]), name=name, kind="driving_school", division="411702"
    )


@pytest.fixture
def schools(exam_results):
    today = timezone.localdate()
    good, fair, small = _school("安达驾校", 1), _school("顺通驾校", 2), _school("小驾校", 3)
    day = today - timedelta(days=3)
    exam_results(good, passes=9, fails=3, on=day, subject=2, examiner="K001")
    exam_results(good, passes=4, fails=0, on=day, subject=3, examiner="K002")
    exam_results(fair, passes=6, fails=6, on=day, subject=2, examiner="K003")
    exam_results(small, passes=5, fails=0, on=day, subject=2, examiner="K001")
    exam_results(fair, passes=0, fails=10, on=today - timedelta(days=400), subject=2)  # over a year ago
    return good, fair, small, today


def _rows(table, key):
    return {r[key]: r for r in table.rows}


def test_p01_pass_rates_per_school_and_subject(schools):
    good, fair, _small, today = schools
    table = publications.build("P01", today=today)
    assert table.available
    rows = _rows(table, "school")
    assert rows[good.name]["s2_tests"] == 12 and rows[good.name]["s2_rate"] == "75.0%"
    assert rows[good.name]["s3_tests"] == 4 and rows[good.name]["s3_rate"] == "100.0%"
    assert rows[good.name]["s1_rate"] == "—"
    assert rows[good.name]["tests"] == 16 and rows[good.name]["rate"] == "81.3%"
    assert rows[fair.name]["tests"] == 12 and rows[fair.name]["rate"] == "50.0%"  # the old fails are out
    assert [c[0] for c in table.columns][:4] == ["school", "division", "s1_tests", "s1_rate"]


def test_p06_ranks_schools_with_enough_tests(schools):
    good, fair, _small, today = schools
    table = publications.build("P06", today=today)
    assert [(r["rank"], r["school"]) for r in table.rows] == [(1, good.name), (2, fair.name)]
    assert "10" in table.note  # small (5 tests) is not ranked


def test_p07_capacity_of_schools(schools):
    good, fair, _small, today = schools
    rows = _rows(publications.build("P07", today=today), "school")
    assert rows[good.name]["learners"] == 16 and rows[good.name]["bookings"] == 16
    assert rows[fair.name]["learners"] == 22 and rows[fair.name]["bookings"] == 12


def test_p08_plans_of_the_month_with_applications_and_candidates(schools):
    good, *_ = schools
    plan = ExamApplication.objects.filter(permit__school=good, subject=2).first().plan
    first = ExamApplication.objects.filter(plan=plan).order_by("pk").first()
    ExamApplication.objects.filter(pk=first.pk).update(state="missed")
    table = publications.build("P08", today=plan.exam_date)
    row = next(r for r in table.rows if r["exam_date"] == plan.exam_date.isoformat() and r["places"] == 12)
    assert (
        row["applications"] == 12 and row["allocated"] == 12 and row["examined"] == 11 and row["missed"] == 1
    )
    assert all(r["exam_date"][:7] == f"{plan.exam_date:%Y-%m}" for r in table.rows)


def test_p11_examiners_tests_and_rates_by_subject(schools):
    *_, today = schools
    rows = {(r["examiner"], r["subject"]): r for r in publications.build("P11", today=today).rows}
    assert rows[("K001", 2)]["tests"] == 17 and rows[("K001", 2)]["rate"] == "82.4%"
    assert rows[("K002", 3)]["passes"] == 4
    assert ("K001", 1) not in rows


def test_regenerated_and_published_with_p12_still_to_come(schools):
    *_, today = schools
    services.publications_regenerate(today=today)
    listing = {p["code"]: p for p in Client().get("/api/v1/publications").json()}
    assert all(listing[c]["available"] for c in ("P01", "P06", "P07", "P08", "P11"))
    assert listing["P12"]["available"] is False and "traced back" in listing["P12"]["note"]
    p06 = Client().get("/api/v1/publications/P06").json()
    assert p06["rows"][0]["rank"] == 1
    good, *_ = schools
    page = Client().get("/notices/publications/P01/")
    assert page.status_code == 200 and good.name in page.content.decode()
