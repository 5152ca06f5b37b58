"""Fixtures of the parking segments (O8): staff of Zhumadian, a segment's input, residents."""

from __future__ import annotations

from datetime import time

import pytest

from jiaoguan.parking import rules, services

NIGHT = rules.Window(rules.Days.EVERY_DAY, time(19, 0), time(7, 0))
DAYS_OFF = rules.Window(rules.Days.DAYS_OFF, time(0, 0), time(0, 0), all_day=True)


def segment_data(**changes) -> services.SegmentData:
    values = {
        "division": "411702", "road": "交通路", "from_landmark": "解放路", "to_landmark": "雪松大道",
        "side": "north", "neighbourhood": "交通路供电局家属院", "points": [(114.0215, 32.9968), (114.0311, 32.9971)],
        "windows": [NIGHT, DAYS_OFF], "conditions": "限停小型客车。", "emergency_access_kept": True,
        "marking": "signs_only", "marking_note": "",
    }  # fmt: skip
    values.update(changes)
    return services.SegmentData(**values)


@pytest.fixture
def head(make_staff):
    return make_staff(role="unit_head", jurisdiction="411700", username="p-head")


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="p-clerk")


@pytest.fixture
def draft(head):
    return services.segment_create(actor=head, data=segment_data())
