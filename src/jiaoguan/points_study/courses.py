"""The courses of the study to reduce points (V7): four online (30 min, 1 point) and two on site
(1 hour, 2 points). Reference data: made by a migration, and again by ``ensure_courses`` wherever
a database may have been emptied (the demo, the tests that flush their tables)."""

from __future__ import annotations

from typing import Any

COURSES = (
    ("online-signals", "online", 1, "道路交通信号与通行规则", "Traffic signals and right of way",
     "机动车应当按照交通信号灯、交通标志、交通标线和交通警察的指挥通行。红灯表示禁止通行，绿灯表示准许通行，"
     "黄灯表示警示。闯红灯一次记6分。",
     "Vehicles follow the lights, signs, markings and police directions. Red forbids, green permits and "
     "amber warns. Running a red light scores 6 points."),
    ("online-drink", "online", 2, "酒后驾驶的危害与处罚", "Drink-driving: harm and penalties",
     "饮酒后驾驶机动车的，一次记12分，处暂扣驾驶证并罚款；醉酒驾驶的，吊销驾驶证，依法追究刑事责任。"
     "饮酒后不驾车，驾车不饮酒。",
     "Drink-driving scores 12 points at once, with the licence suspended and a fine; drunk driving "
     "revokes the licence and is a crime. Never drink and drive."),
    ("online-pedestrians", "online", 3, "文明礼让与行人保护", "Yielding to pedestrians",
     "机动车行经人行横道时，应当减速行驶；遇行人正在通过人行横道，应当停车让行。不礼让行人一次记3分。",
     "At a pedestrian crossing slow down and stop for people crossing. Not yielding scores 3 points."),
    ("online-expressway", "online", 4, "高速公路安全驾驶", "Driving safely on expressways",
     "高速公路上发生故障需要停车的，应当开启危险报警闪光灯，在车后150米以外设置警告标志，人员迅速转移到"
     "右侧路肩或应急车道内。非紧急情况占用应急车道一次记6分。",
     "After a breakdown switch on the hazard lights, set the triangle beyond 150 m and move everyone "
     "behind the barrier. Using the emergency lane without cause scores 6 points."),
    ("onsite-law", "on_site", 1, "道路交通安全法律法规现场学习", "Road-safety law, on site",
     "", ""),
    ("onsite-cases", "on_site", 2, "典型交通事故案例警示教育", "Lessons from serious accidents, on site",
     "", ""),
)  # fmt: skip


def ensure_courses(model: Any = None) -> int:
    """Create the courses that are missing (``model``: the historical model in a migration)."""
    if model is None:
        from .models import Course

        model = Course
    made = 0
    for code, kind, order, title_zh, title_en, summary_zh, summary_en in COURSES:
        online = kind == "online"
        _course, created = model.objects.get_or_create(
            code=code,
            defaults={
                "kind": kind, "order": order, "title_zh": title_zh, "title_en": title_en,
                "summary_zh": summary_zh, "summary_en": summary_en,
                "minutes": 30 if online else 60, "points": 1 if online else 2,
            },
        )  # fmt: skip
        made += created
    return made
