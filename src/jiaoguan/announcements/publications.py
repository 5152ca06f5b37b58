"""The tables of the 13 publications (公布, P01-P13, seed 002 附件4 二), read from the registry,
violations, accidents and the lists staff keep. Reads only.

The exam publications (P01, P06, P07, P08, P11) count the driving-test tables: a booking ended
with a pass, a fail or a miss is one test of its subject, a school's tests are its learners'.
P12 (fatal accidents of novice drivers traced back to their school and examiners) still says it
will be published later: tracing needs the exam records of drivers licensed before the
driving-test module, which the platform does not hold; no figures are made up. ASSUMPTION:
publications cover the whole installation (one detachment), with rates broken down by the
county of the issuing office.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, Sum

from jiaoguan.accidents.models import Party
from jiaoguan.core.divisions import division_name
from jiaoguan.core.identifiers import mask_id_number, mask_name
from jiaoguan.exams import monitoring as exam_figures
from jiaoguan.exams.models import ExamApplication, ExamPlan
from jiaoguan.exams.rules import Subject
from jiaoguan.registry.models import DrivingLicence, NonCompliantModel, PointsEntry
from jiaoguan.registry.selectors import licence_status

from . import rules
from .models import CameraSite, ClonedPlateContact

Column = list[str]  # [key, zh, en]


@dataclass
class Table:
    columns: list[Column] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    available: bool = True
    note: str = ""


def _unavailable() -> Table:
    return Table(available=False, note=f"{rules.UNAVAILABLE_ZH} {rules.UNAVAILABLE_EN}")


_RATE_COLUMNS: list[Column] = [
    ["division", "行政区划", "division"],
    ["division_name", "地区", "area"],
    ["drivers", "三年内驾龄驾驶人数", "drivers licensed under 3 years"],
    ["counted", "", ""],
    ["rate", "比率", "rate"],
]


def _novice_rate(today: date, *, involved: Any, counted_zh: str, counted_en: str) -> Table:
    """Drivers first licensed less than three years ago, and how many of them ``involved``
    (a subquery on the licence) marks, per issuing county and in total, over the last 12 months."""
    since = rules.novice_since(today)
    licences = DrivingLicence.objects.filter(first_issued_on__gte=since, first_issued_on__lte=today).exclude(
        status__contains="G"
    )
    rows = licences.annotate(hit=Exists(involved)).values_list("division", "hit")
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for division, hit in rows:
        totals[division][0] += 1
        totals[division][1] += int(bool(hit))
    columns = [c[:] for c in _RATE_COLUMNS]
    columns[3] = ["counted", counted_zh, counted_en]
    out = [
        {
            "division": division,
            "division_name": division_name(division),
            "drivers": drivers,
            "counted": counted,
            "rate": rules.rate_per_thousand(counted, drivers),
        }
        for division, (drivers, counted) in sorted(totals.items())
    ]
    drivers = sum(t[0] for t in totals.values())
    counted = sum(t[1] for t in totals.values())
    out.append(
        {"division": "", "division_name": "合计 total", "drivers": drivers, "counted": counted,
         "rate": rules.rate_per_thousand(counted, drivers)}
    )  # fmt: skip
    return Table(
        columns=columns, rows=out, note=f"统计期 {today - timedelta(days=rules.LOOKBACK_DAYS)} — {today}"
    )


def p02(today: date) -> Table:
    since = today - timedelta(days=rules.LOOKBACK_DAYS)
    offences = PointsEntry.objects.filter(
        licence=OuterRef("pk"), points__gt=0, occurred_on__gte=since, occurred_on__lte=today
    )
    return _novice_rate(
        today, involved=offences, counted_zh="有记分违法人数", counted_en="with an offence scoring points"
    )


def p03(today: date) -> Table:
    since = today - timedelta(days=rules.LOOKBACK_DAYS)
    accidents = Party.objects.filter(
        licence=OuterRef("pk"), case__occurred_at__date__gte=since, case__occurred_at__date__lte=today
    )
    return _novice_rate(
        today, involved=accidents, counted_zh="发生事故人数", counted_en="involved in an accident"
    )


_PERSON_COLUMNS: list[Column] = [
    ["name", "姓名", "name"],
    ["licence_number", "驾驶证号", "licence number"],
    ["classes", "准驾车型", "classes"],
    ["division", "发证机关", "issuing division"],
]


def p04(today: date) -> Table:
    """Bus and truck (A/B) drivers with 12 points in their current cycle (S2). Candidates: 12 or
    more points entered in the last 12 months (SQL); the cycle rule confirms each."""
    since = today - timedelta(days=rules.LOOKBACK_DAYS)
    candidates = (
        DrivingLicence.objects.filter(classes__regex=r"[AB]")
        .annotate(recent=Sum("points_entries__points", filter=Q(points_entries__occurred_on__gte=since)))
        .filter(recent__gte=12)
        .select_related("holder")
        .order_by("pk")
    )
    rows = []
    for licence in candidates:
        status = licence_status(licence, today=today)
        if status.points_in_cycle >= 12:
            rows.append(
                {"name": mask_name(licence.holder.name), "licence_number": mask_id_number(licence.holder.id_number),
                 "classes": licence.classes, "division": licence.division, "points": status.points_in_cycle}
            )  # fmt: skip
    return Table(columns=[*_PERSON_COLUMNS, ["points", "本周期记分", "points this cycle"]], rows=rows)


def p05(today: date) -> Table:
    since = today - timedelta(days=rules.LOOKBACK_DAYS)
    entries = (
        PointsEntry.objects.filter(
            points__gte=rules.SERIOUS_POINTS, occurred_on__gte=since, occurred_on__lte=today
        )
        .select_related("licence__holder")
        .order_by("-occurred_on", "pk")
    )
    rows = [
        {"name": mask_name(e.licence.holder.name), "licence_number": mask_id_number(e.licence.holder.id_number),
         "classes": e.licence.classes, "division": e.licence.division, "occurred_on": e.occurred_on.isoformat(),
         "points": e.points}
        for e in entries
    ]  # fmt: skip
    return Table(
        columns=[*_PERSON_COLUMNS, ["occurred_on", "违法日期", "offence date"], ["points", "记分", "points"]],
        rows=rows,
        note="一次记12分的严重交通违法 offences scoring 12 points at once",
    )


def p09(today: date) -> Table:
    contacts = ClonedPlateContact.objects.filter(active=True).order_by("division", "office")
    return Table(
        columns=[["office", "办理单位", "office"], ["phone", "联系电话", "phone"], ["address", "地址", "address"],
                 ["hours", "办公时间", "hours"], ["division", "行政区划", "division"]],
        rows=[{"office": c.office, "phone": c.phone, "address": c.address, "hours": c.hours, "division": c.division}
              for c in contacts],
    )  # fmt: skip


def p10(today: date) -> Table:
    models = NonCompliantModel.objects.filter(found_on__lte=today).order_by("-found_on", "pk")
    return Table(
        columns=[["brand_model", "品牌型号", "make and model"], ["manufacturer", "生产企业", "manufacturer"],
                 ["seller", "销售单位", "seller"], ["finding", "违规情形", "finding"],
                 ["found_on", "发现日期", "found on"], ["division", "行政区划", "division"]],
        rows=[{"brand_model": m.brand_model, "manufacturer": m.manufacturer, "seller": m.seller, "finding": m.finding,
               "found_on": m.found_on.isoformat(), "division": m.division} for m in models],
    )  # fmt: skip


def p13(today: date) -> Table:
    sites = CameraSite.objects.filter(active=True, in_service_since__lte=today).order_by(
        "division", "location"
    )
    return Table(
        columns=[["location", "设置地点", "location"], ["direction", "监控方向", "direction"],
                 ["offence_types", "监控违法行为", "offences recorded"], ["division", "行政区划", "division"],
                 ["in_service_since", "启用日期", "in service since"]],
        rows=[{"location": s.location, "direction": s.direction, "offence_types": s.offence_types,
               "division": s.division, "in_service_since": s.in_service_since.isoformat()} for s in sites],
    )  # fmt: skip


# ---------------------------------------------------------------- driving tests (issue 16)

_SUBJECTS = [s.value for s in Subject]
A = ExamApplication.State
_SCHOOL_COLUMNS: list[Column] = [
    ["school", "驾驶培训机构", "driving school"],
    ["division", "行政区划", "division"],
]


def _year(today: date) -> tuple[date, date, str]:
    since = today - timedelta(days=rules.LOOKBACK_DAYS)
    return since, today, f"统计期 {since} — {today}"


def _subject_columns() -> list[Column]:
    columns = []
    for s in Subject:
        zh, en = s.label_zh.split(" ")[0], s.label_en.split(":")[0]
        columns += [
            [f"s{s.value}_tests", f"{zh}考试人数", f"{en} tests"],
            [f"s{s.value}_rate", f"{zh}合格率", f"{en} pass rate"],
        ]
    return columns


def _school_row(s: exam_figures.SchoolFigures) -> dict[str, Any]:
    row: dict[str, Any] = {"school": s.name, "division": s.division}
    for subject in _SUBJECTS:
        tests = s.tests.get(subject, 0)
        row[f"s{subject}_tests"] = tests
        row[f"s{subject}_rate"] = exam_figures.percent(s.passes.get(subject, 0), tests)
    row["tests"], row["rate"] = s.total_tests, exam_figures.percent(s.total_passes, s.total_tests)
    return row


def p01(today: date) -> Table:
    """Driving schools' exam pass rates per subject over the last 12 months (驾校考试合格率)."""
    since, until, note = _year(today)
    return Table(
        columns=[*_SCHOOL_COLUMNS, *_subject_columns(), ["tests", "考试人数合计", "tests in all"],
                 ["rate", "总合格率", "pass rate"]],
        rows=[_school_row(s) for s in exam_figures.school_results(since, until)],
        note=f"{note}；一次预约（含补考）为一次考试，缺考计为不合格 one booking (with its retake) is one test; a miss is a fail",
    )  # fmt: skip


def p06(today: date) -> Table:
    """Driving schools ranked by their pass rate (培训质量排名), those with enough tests."""
    since, until, note = _year(today)
    rows = [{"rank": rank, **_school_row(s)} for rank, s in exam_figures.schools_ranked(since, until)]
    return Table(
        columns=[["rank", "排名", "rank"], *_SCHOOL_COLUMNS, ["tests", "考试人数", "tests"], ["rate", "合格率", "pass rate"]],
        rows=rows,
        note=f"{note}；考试人数不少于{exam_figures.RANK_MIN_TESTS}的驾校参与排名 schools with at least "
        f"{exam_figures.RANK_MIN_TESTS} tests are ranked",
    )  # fmt: skip


def p07(today: date) -> Table:
    """Driving schools' training capacity: learners in training, enrolled, licensed and places taken."""
    since, until, note = _year(today)
    rows = [
        {"school": c.name, "division": c.division, "learners": c.learners, "enrolled": c.enrolled,
         "licensed": c.licensed, "bookings": c.bookings}
        for c in exam_figures.school_capacity(since, until)
    ]  # fmt: skip
    return Table(
        columns=[*_SCHOOL_COLUMNS, ["learners", "在培学员", "learners in training"],
                 ["enrolled", "受理学员", "learners enrolled"], ["licensed", "领证学员", "learners licensed"],
                 ["bookings", "约考人次", "exam places taken"]],
        rows=rows, note=note,
    )  # fmt: skip


def p08(today: date) -> Table:
    """Exam plans of the month with their places, applications and candidates (考试预约计划)."""
    start = today.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    plans = (
        ExamPlan.objects.filter(exam_date__gte=start, exam_date__lte=end)
        .exclude(state__in=[ExamPlan.State.DRAFT, ExamPlan.State.WITHDRAWN])
        .select_related("centre__organisation")
        .annotate(
            applied=Count("applications", filter=~Q(applications__state=A.CANCELLED)),
            allocated=Count("applications", filter=Q(applications__state__in=ExamApplication.USED_STATES)),
            examined=Count("applications", filter=Q(applications__state__in=[A.PASSED, A.FAILED])),
            missed=Count("applications", filter=Q(applications__state=A.MISSED)),
        )
        .order_by("exam_date", "starts_at", "pk")
    )  # fmt: skip
    rows = [
        {"exam_date": p.exam_date.isoformat(), "centre": p.centre.organisation.name, "division": p.division,
         "subject": p.subject, "vehicle_class": p.vehicle_class, "method": p.method, "places": p.places,
         "applications": p.applied, "allocated": p.allocated, "examined": p.examined, "missed": p.missed}
        for p in plans
    ]  # fmt: skip
    return Table(
        columns=[["exam_date", "考试日期", "exam date"], ["centre", "考场", "centre"], ["division", "行政区划", "division"],
                 ["subject", "科目", "subject"], ["vehicle_class", "车型", "class"], ["method", "分配方式", "method"],
                 ["places", "计划人数", "places"], ["applications", "预约人数", "applications"],
                 ["allocated", "约上人数", "allocated"], ["examined", "考试人数", "examined"], ["missed", "缺考人数", "missed"]],
        rows=rows, note=f"统计期 {start} — {end}",
    )  # fmt: skip


def p11(today: date) -> Table:
    """Examiners' tests and pass rates per subject (考试员考试人次和合格率); examiners by staff number."""
    since, until, note = _year(today)
    rows = [
        {"examiner": c.examiner, "subject": c.subject, "tests": c.tests, "passes": c.passes,
         "rate": exam_figures.percent(c.passes, c.tests)}
        for c in exam_figures.examiner_results(since, until)
    ]  # fmt: skip
    return Table(
        columns=[["examiner", "考试员编号", "examiner"], ["subject", "科目", "subject"], ["tests", "考试人次", "tests"],
                 ["passes", "合格人次", "passes"], ["rate", "合格率", "pass rate"]],
        rows=rows, note=f"{note}；补考单独计一人次，缺考不计 a retake counts once more; a miss does not count",
    )  # fmt: skip


_BUILDERS = {
    "P01": p01, "P02": p02, "P03": p03, "P04": p04, "P05": p05, "P06": p06, "P07": p07, "P08": p08,
    "P09": p09, "P10": p10, "P11": p11, "P13": p13,
}  # fmt: skip


def build(code: str, *, today: date) -> Table:
    """The table of publication ``code`` on ``today``; one not yet made says when it will be."""
    builder = _BUILDERS.get(code)
    if builder is None:
        return _unavailable()
    return builder(today)
