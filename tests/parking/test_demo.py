"""The demo's parking segments (O8): made once through the services, one withdrawn, one a draft."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.parking.demo import ensure_demo_parking
from jiaoguan.parking.models import Segment

pytestmark = pytest.mark.django_db


def test_demo_segments_are_made_once(make_staff):
    make_staff(role="unit_head", jurisdiction="411700", username="unit_head")
    assert ensure_demo_parking(today=date(2026, 12, 6), password="x") == []
    ensure_demo_parking(today=date(2026, 12, 6), password="x")
    statuses = sorted(Segment.objects.values_list("status", flat=True))
    assert statuses == ["draft", "published", "published", "published", "withdrawn"]
    assert all(s.division.startswith("4117") for s in Segment.objects.all())


def test_no_demo_without_the_publisher(db):
    assert ensure_demo_parking(today=date(2026, 12, 6), password="x") == []
    assert not Segment.objects.exists()
