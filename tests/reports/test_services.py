"""Generating and delivering the reports (N2): recipients by jurisdiction and by company, the files
read back, the message in the organisation's message centre, idempotent and resumable runs, the
read state, and the administrator's "generate now"."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from jiaoguan.core.errors import NotAllowed, ValidationFailed
from jiaoguan.core.models import AuditEntry
from jiaoguan.notices.models import Message
from jiaoguan.registry.models import NonCompliantModel, SchoolBusSign
from jiaoguan.reports import rules, services
from jiaoguan.reports.models import ReportBatch, ReportRun

from .conftest import aware

pytestmark = pytest.mark.django_db


def read_csv(run: ReportRun) -> list[list[str]]:
    data = bytes(run.csv)
    assert data.startswith("\ufeff".encode())  # Excel needs the BOM to read UTF-8 Chinese
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def pdf_text(run: ReportRun) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(bytes(run.pdf))).pages))


@pytest.fixture
def school_world(make_org, make_vehicle, make_violation):
    """Two education authorities (the city and another city's county), a school with a bus and a
    sign, and a bus of the other city; November 2026 is the month reported on 2026-12-01."""
    city = make_org(kind="education_authority", division="411700", name="驻马店市教育局")
    other = make_org(kind="education_authority", division="411602", name="周口市川汇区教育局")
    school = make_org(kind="school", name="驿城区实验小学")
    bus = make_vehicle(owner=school, use_nature="school_bus", kind="medium_passenger", plate="豫QX3001",
                       registered_on=date(2026, 3, 10))  # fmt: skip
    SchoolBusSign.objects.create(vehicle=bus, number="XC301", school=school, valid_from=date(2026, 3, 10),
                                 valid_until=date(2027, 3, 9), division="411702")  # fmt: skip
    make_violation(vehicle=bus, at=aware(date(2026, 11, 3)))
    make_violation(vehicle=bus, at=aware(date(2026, 11, 4)))
    return city, other, school, bus


TODAY = date(2026, 12, 1)


def test_a_monthly_report_reaches_each_authority_with_its_jurisdictions_rows_and_the_school_its_own(
    school_world,
):
    city, other, school, _bus = school_world

    result = services.reports_generate(today=TODAY, codes=["R03"])

    assert result.periods == ["R03 2026-11"]
    runs = {run.recipient_id: run for run in ReportRun.objects.filter(code="R03")}
    assert set(runs) == {city.pk, other.pk, school.pk}
    assert runs[city.pk].row_count == 1 and runs[city.pk].recipient_role == "authority"
    assert runs[other.pk].row_count == 0  # a monthly report reaches every authority, even empty
    assert runs[school.pk].row_count == 1 and runs[school.pk].recipient_role == "company"
    run = runs[city.pk]
    assert (run.period_start, run.period_end, run.period_label) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
        "2026-11",
    )
    # the CSV read back: the header in both languages and the figures of the bus
    table = read_csv(run)
    assert table[0][:5] == ["号牌号码 plate", "校车标牌 sign number", "使用单位 school",
                            "本月违法（起） violations this month", "本月事故（起） accidents this month"]  # fmt: skip
    assert table[1][:5] == ["豫QX3001", "XC301", "驿城区实验小学", "2", "0"]
    assert run.sha256 == hashlib.sha256(bytes(run.csv)).hexdigest()
    assert run.pdf_sha256 == hashlib.sha256(bytes(run.pdf)).hexdigest()
    # the PDF read back: title, recipient, period and the same figures
    text = pdf_text(run)
    assert "R03每月校车违法和事故及检验等信息" in text
    assert "驻马店市教育局" in text and "2026-11-01至2026-11-30" in text
    assert "豫QX3001" in text and "共1条记录" in text
    assert "本期无记录" in pdf_text(runs[other.pk])
    # each recipient is told in its message centre, once
    message = Message.objects.get(pk=run.message_id)
    assert message.organisation_id == city.pk and message.category == "reports"
    assert message.dedup_key == f"N2:R03:2026-11:{city.pk}"
    assert Message.objects.filter(dedup_key__startswith="N2:R03:2026-11:").count() == 3


def test_a_repeat_run_makes_nothing_new_and_a_half_done_period_is_resumed(school_world):
    city, _other, _school, _bus = school_world
    services.reports_generate(today=TODAY, codes=["R03"])
    first = {r.pk: r.sha256 for r in ReportRun.objects.all()}

    again = services.reports_generate(today=TODAY + timedelta(days=3), codes=["R03"])

    assert again.runs == 0 and again.periods == []
    assert {r.pk: r.sha256 for r in ReportRun.objects.all()} == first
    # a run stopped after one recipient: its batch unfinished, the other runs missing
    ReportRun.objects.exclude(recipient=city).delete()
    Message.objects.exclude(organisation=city).delete()
    ReportBatch.objects.update(finished_at=None)

    resumed = services.reports_generate(today=TODAY, codes=["R03"])

    assert resumed.runs == 2
    assert ReportRun.objects.count() == 3 and Message.objects.filter(category="reports").count() == 3
    assert ReportBatch.objects.get(code="R03").finished_at is not None


def test_an_event_report_goes_only_to_recipients_with_rows_and_catches_up_missed_days(make_org):
    today = timezone.localdate()
    here = make_org(kind="safety_authority", division="411700")
    there = make_org(kind="safety_authority", division="411602")
    model = NonCompliantModel.objects.create(
        brand_model="某某牌 ZZ9", manufacturer="某某汽车制造有限公司", finding="外廓尺寸超出公告",
        found_on=today - timedelta(days=4), division="411702",
    )  # fmt: skip
    NonCompliantModel.objects.filter(pk=model.pk).update(created_at=aware(today - timedelta(days=3)))

    result = services.reports_generate(today=today, codes=["R05"])

    assert len(result.periods) == rules.CATCH_UP_DAYS  # every one of the last days, finished
    run = ReportRun.objects.get()
    assert (run.recipient_id, run.period_label, run.row_count) == (
        here.pk,
        (today - timedelta(days=3)).isoformat(),
        1,
    )
    assert not ReportRun.objects.filter(recipient=there).exists()
    assert read_csv(run)[1][:2] == ["某某牌 ZZ9", "某某汽车制造有限公司"]


def test_r06_ranks_the_driving_schools_of_the_month_for_the_transport_authority(make_org, exam_results):
    """R06: November's bookings ended, pass rate per school, best first; a school with fewer than
    10 tests is not ranked; each row goes to the transport authority of the school's division."""
    city = make_org(kind="transport_authority", division="411700", name="驻马店市交通运输局")
    other = make_org(kind="transport_authority", division="411602", name="周口市川汇区交通运输局")
    good = make_org(kind="driving_school", name="驻马店市安达驾驶培训有限公司")
    fair = make_org(kind="driving_school", name="驻马店市顺通驾驶培训有限公司")
    small = make_org(kind="driving_school", name="驻马店市小驾校")
    exam_results(good, passes=9, fails=3, on=date(2026, 11, 10))
    exam_results(fair, passes=6, fails=6, on=date(2026, 11, 12))
    exam_results(small, passes=5, fails=0, on=date(2026, 11, 12))
    exam_results(fair, passes=0, fails=10, on=date(2026, 10, 30))  # October: not this month

    result = services.reports_generate(today=TODAY, codes=["R06"])
    assert result.periods == ["R06 2026-11"] and result.rows == 2
    run = ReportRun.objects.get(code="R06", recipient=city)
    rows = read_csv(run)
    assert rows[0][:3] == ["排名 rank", "驾驶培训机构 driving school", "考试人数 tests"]
    assert [r[:6] for r in rows[1:]] == [
        ["1", good.name, "12", "9", "75.0%", "411702"],
        ["2", fair.name, "12", "6", "50.0%", "411702"],
    ]
    assert read_csv(ReportRun.objects.get(code="R06", recipient=other))[1:] == []  # none of its schools


def test_an_unknown_code_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        services.reports_generate(today=TODAY, codes=["R99"])
    assert refused.value.code == "reports.unknown_code"


def test_reading_marks_the_run_read_once(school_world, org_login):
    city, *_ = school_world
    services.reports_generate(today=TODAY, codes=["R03"])
    run = ReportRun.objects.get(recipient=city)
    user = org_login(city)

    services.report_mark_read(actor=user, run=run)
    first = ReportRun.objects.get(pk=run.pk)
    services.report_mark_read(actor=user, run=first)

    again = ReportRun.objects.get(pk=run.pk)
    assert again.state == "read" and again.read_at == first.read_at and again.read_by_id == user.pk


def test_another_organisation_cannot_mark_it_read(school_world, org_login):
    city, other, *_ = school_world
    services.reports_generate(today=TODAY, codes=["R03"])
    with pytest.raises(NotAllowed):
        services.report_mark_read(actor=org_login(other), run=ReportRun.objects.get(recipient=city))


def test_generate_now_reaches_only_recipients_of_the_jurisdiction_and_is_audited(school_world, make_staff):
    city, _other, school, _bus = school_world
    admin = make_staff(role="administrator", jurisdiction="411700", username="admin-reports")

    result = services.report_generate_now(actor=admin, code="R03", period="2026-11", today=TODAY)

    assert result.runs == 2
    assert set(ReportRun.objects.values_list("recipient_id", flat=True)) == {city.pk, school.pk}
    assert AuditEntry.objects.filter(subject_type="reports.reportbatch", actor=admin).exists()
    assert services.report_generate_now(actor=admin, code="R03", period="2026-11", today=TODAY).runs == 0


@pytest.mark.parametrize(
    ("code", "period", "error"),
    [("R03", "2026/11", "reports.bad_period"), ("R03", "2026-12", "reports.period_not_over"),
     ("R05", "2026-11", "reports.bad_period"), ("R99", "2026-11", "reports.unknown_code")],
)  # fmt: skip
def test_generate_now_refuses_bad_input(make_staff, code, period, error):
    admin = make_staff(role="administrator", jurisdiction="411700", username="admin-reports")
    with pytest.raises(ValidationFailed) as refused:
        services.report_generate_now(actor=admin, code=code, period=period, today=TODAY)
    assert refused.value.code == error


def test_only_the_administrator_may_generate_now(make_staff):
    clerk = make_staff(role="counter_clerk", jurisdiction="411700")
    with pytest.raises(NotAllowed):
        services.report_generate_now(actor=clerk, code="R03", period="2026-11", today=TODAY)


def test_a_report_without_its_query_cannot_be_generated_now(make_staff, monkeypatch):
    """The catalogue may list a report before its data exists; none is like that today."""
    import dataclasses

    from jiaoguan.reports import catalogue

    listed = dataclasses.replace(
        catalogue.BY_CODE["R06"], query=None, unavailable_zh="暂无数据", unavailable_en="No data"
    )
    monkeypatch.setitem(catalogue.BY_CODE, "R06", listed)
    monkeypatch.setattr(
        catalogue, "REPORTS", tuple(listed if r.code == "R06" else r for r in catalogue.REPORTS)
    )
    admin = make_staff(role="administrator", jurisdiction="411700", username="admin-reports")
    with pytest.raises(Exception) as refused:
        services.report_generate_now(actor=admin, code="R06", period="2026-11", today=TODAY)
    assert refused.value.code == "reports.not_available"
    assert services.reports_generate(today=TODAY, codes=["R06"]).skipped == ["R06 not available"]


def test_due_periods():
    assert rules.due_periods(rules.Cadence.MONTHLY, today=date(2026, 12, 1))[0].label == "2026-11"
    assert rules.due_periods(rules.Cadence.MONTHLY, today=date(2026, 1, 31))[0].label == "2025-12"
    days = rules.due_periods(rules.Cadence.ON_EVENT, today=date(2026, 12, 3))
    assert [p.label for p in days][-2:] == ["2026-12-01", "2026-12-02"]
    assert len(days) == rules.CATCH_UP_DAYS
    assert rules.parse_period(rules.Cadence.MONTHLY, "2026-02").end == date(2026, 2, 28)
    assert rules.holds_large_class("C1A2") and not rules.holds_large_class("C1D")


def test_a_failing_report_leaves_its_period_open_and_the_others_are_made(school_world, monkeypatch):
    import dataclasses

    from jiaoguan.reports import catalogue

    def broken(period):
        raise RuntimeError("the registry is unreachable")

    monkeypatch.setitem(catalogue.BY_CODE, "R02", dataclasses.replace(catalogue.BY_CODE["R02"], query=broken))

    result = services.reports_generate(today=TODAY, codes=["R02", "R03"])

    assert result.failed == ["R02 2026-11"] and result.periods == ["R03 2026-11"]
    assert ReportBatch.objects.get(code="R02").finished_at is None  # the next run tries again
    assert ReportRun.objects.filter(code="R03").count() == 3
    monkeypatch.undo()
    assert services.reports_generate(today=TODAY, codes=["R02", "R03"]).periods == ["R02 2026-11"]
