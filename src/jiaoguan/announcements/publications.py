"""The tables of the 13 publications (公布, P01-P13, seed 002 附件4 二), read from the registry,
violations, accidents and the lists staff keep. Reads only.

Publications whose source is the driving-test module (exam pass rates, schools, examiners,
bookings) are registered but say they will be published when that module is in service: no
figures are made up. ASSUMPTION: publications cover the whole installation (one detachment),
with rates broken down by the county of the issuing office.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, Sum

from jiaoguan.accidents.models import Party
from jiaoguan.core.divisions import division_name
from jiaoguan.core.identifiers import mask_id_number, mask_name
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


_BUILDERS = {"P02": p02, "P03": p03, "P04": p04, "P05": p05, "P09": p09, "P10": p10, "P13": p13}


def build(code: str, *, today: date) -> Table:
    """The table of publication ``code`` on ``today``; the exam-based ones are unavailable."""
    kind = rules.PUBLICATION_KINDS[code]
    if kind.source is rules.Source.EXAMS:
        return _unavailable()
    return _BUILDERS[code](today)
