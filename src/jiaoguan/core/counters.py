"""Where a business can be done in person: the service counters staff maintain (业务窗口).

A page that cannot offer a business online shows the counters nearest the person: those of
their county first, then of their city, then of their province.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .divisions import DIVISIONS
from .models import ServiceCounter

BUSINESS_CODES = re.compile(r"^(B\d{1,2})(\s+B\d{1,2})*$")


@dataclass(frozen=True)
class CounterInfo:
    """A counter as pages and the API show it."""

    name: str
    division: str
    division_name: str
    address: str
    hours: str
    phone: str
    all_businesses: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "division": self.division,
            "division_name": self.division_name,
            "address": self.address,
            "hours": self.hours,
            "phone": self.phone,
            "all_businesses": self.all_businesses,
        }


def closeness(counter_division: str, person_division: str) -> int:
    """How near a counter is to a person by division: 3 same county, 2 city, 1 province, 0 other."""
    if not person_division or len(person_division) != 6:
        return 0
    for level, digits in ((3, 6), (2, 4), (1, 2)):
        if counter_division[:digits] == person_division[:digits]:
            return level
    return 0


def counters_for(*, division: str, business_code: str = "", limit: int = 3) -> list[CounterInfo]:
    """The active counters that handle the business, nearest the division first (at most ``limit``).

    When none is in the person's province every active counter that handles it is a candidate:
    a person from elsewhere is still told where this platform's counters are.
    """
    candidates = [
        c for c in ServiceCounter.objects.filter(active=True) if not business_code or c.handles(business_code)
    ]
    candidates.sort(key=lambda c: (-closeness(c.division, division), c.division, c.name, c.pk))
    return [
        CounterInfo(
            name=c.name,
            division=c.division,
            division_name=DIVISIONS.get(c.division, ""),
            address=c.address,
            hours=c.hours,
            phone=c.phone,
            all_businesses=not c.business_codes,
        )
        for c in candidates[:limit]
    ]


def counter_phone_fallback() -> str:
    """Words for when no counter is on record yet (a new installation): the national hotline."""
    return _("暂无业务窗口信息，请拨打12123咨询。")


# The demo's counters (演示数据): fictional addresses and numbers in the demo detachment's area.
DEMO_COUNTERS: tuple[dict[str, str], ...] = (
    {
        "name": "驻马店市公安局交通管理支队车辆管理所",
        "division": "411702",
        "address": "驻马店市驿城区雪松大道与开源大道交叉口向南200米",
        "hours": "周一至周日 8:30–12:00，14:30–17:30（法定节假日另行公告）",
        "phone": "0396-2612123",
        "businesses": "",
    },
    {
        "name": "驿城区互联网交通安全综合服务中心",
        "division": "411702",
        "address": "驻马店市驿城区解放大道与乐山大道交叉口政务服务中心一楼",
        "hours": "周一至周五 9:00–12:00，13:30–17:00",
        "phone": "0396-2812123",
        "businesses": "",
    },
    {
        "name": "西平县车管分所",
        "division": "411721",
        "address": "西平县柏城大道与人和路交叉口",
        "hours": "周一至周五 8:30–12:00，15:00–18:00",
        "phone": "0396-6212123",
        "businesses": "B1 B2 B3 B8 B9 B10 B11 B12 B13 B14 B20 B21",
    },
    {
        "name": "遂平县车管分所",
        "division": "411728",
        "address": "遂平县车站街道建设路中段",
        "hours": "周一至周五 8:30–12:00，15:00–18:00",
        "phone": "0396-4912123",
        "businesses": "B1 B2 B3 B8 B9 B10 B11 B12 B13 B14 B20 B21",
    },
)


def ensure_demo_counters() -> int:
    """Add the demo's counters when none are on record yet; returns how many were added."""
    if ServiceCounter.objects.exists():
        return 0
    ServiceCounter.objects.bulk_create([ServiceCounter(**row) for row in DEMO_COUNTERS])
    return len(DEMO_COUNTERS)
