"""Demo data of the parking segments (O8): segments near old residential areas of Zhumadian, drafted
and published through the services by the demo head of unit, one of them withdrawn since."""

from __future__ import annotations

from datetime import date, time

from django.db import transaction

from jiaoguan.accounts.models import User

from . import rules, services
from .models import Segment

PUBLISHER = "unit_head"  # one of the staff logins printed above, with jurisdiction 411700

NIGHT = rules.Window(rules.Days.EVERY_DAY, time(19, 0), time(7, 0))
DAYS_OFF = rules.Window(rules.Days.DAYS_OFF, time(0, 0), time(0, 0), all_day=True)

# (division, road, from, to, side, neighbourhood, points, windows, marking, note, conditions, state)
SEGMENTS = (
    ("411702", "交通路", "解放路", "雪松大道", "north", "交通路供电局家属院、棉纺厂宿舍",
     [(114.0215, 32.9968), (114.0262, 32.9969), (114.0311, 32.9971)], [NIGHT, DAYS_OFF],
     "marked_bays", "车位内标注“19:00-07:00 周末节假日全天”", "限停 7 座以下小型客车，车头朝向一致，不得占用消防通道出入口。",
     "published"),
    ("411702", "文化路", "中华路", "驿城大道", "both", "文化路教委家属院",
     [(114.0142, 32.9902), (114.0144, 32.9851), (114.0147, 32.9803)],
     [rules.Window(rules.Days.EVERY_DAY, time(20, 0), time(7, 30))],
     "signs_only", "路口设置“夜间允许停车”标志", "单侧停车间距不小于 0.5 米，保留 3.5 米应急通道。", "published"),
    ("411721", "西平县人民路", "解放街", "棉纺路", "south", "人民路粮食局家属院",
     [(114.0208, 33.3861), (114.0281, 33.3863)], [NIGHT, DAYS_OFF],
     "signs_only", "", "夜间停车请开启示宽灯或停在照明范围内。", "published"),
    ("411702", "练江大道", "前进路", "开源大道", "east", "练江小区",
     [(114.0355, 32.9921), (114.0357, 32.9868)], [NIGHT],
     "signs_only", "", "", "withdrawn"),
    ("411702", "风光路", "交通路", "中华路", "west", "风光路邮电局宿舍",
     [(114.0181, 32.9935), (114.0183, 32.9889)], [DAYS_OFF],
     "signs_only", "", "", "draft"),
)  # fmt: skip


def ensure_demo_parking(*, today: date, password: str) -> list[dict[str, str]]:
    """Make the demo segments once (published ones tell the district's residents through the
    message centre). The publisher is a staff login printed already, so no new login is returned."""
    publisher = User.objects.filter(username=PUBLISHER, kind=User.Kind.STAFF).first()
    if publisher is None or Segment.objects.exists():
        return []
    with transaction.atomic():
        for row in SEGMENTS:
            division, road, start, end, side, area, points, windows, marking, note, conditions, state = row
            segment = services.segment_create(
                actor=publisher,
                data=services.SegmentData(
                    division=division, road=road, from_landmark=start, to_landmark=end, side=side,
                    neighbourhood=area, points=points, windows=list(windows), conditions=conditions,
                    emergency_access_kept=True, marking=marking, marking_note=note,
                ),
            )  # fmt: skip
            if state in ("published", "withdrawn"):
                services.segment_publish(actor=publisher, segment_id=segment.pk)
            if state == "withdrawn":
                services.segment_withdraw(
                    actor=publisher, segment_id=segment.pk,
                    reason="路内停车影响应急救援车辆通行，予以撤销，另行划定。",
                )  # fmt: skip
    return []
