"""Demo announcements (N3): made once through the services, a head-of-unit login, the lists
publications are made of, and this month's publications."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from jiaoguan.announcements.demo import ensure_demo_announcements
from jiaoguan.announcements.models import Announcement, CameraSite, Publication
from jiaoguan.registry.rules import add_years

pytestmark = pytest.mark.django_db


def test_demo_once_with_a_head_of_unit_login(make_staff, make_person, make_vehicle, make_licence):
    today = timezone.localdate()
    make_staff(role="counter_clerk", jurisdiction="411700", username="clerk")
    make_vehicle(owner=make_person(name="王小明"), registered_on=add_years(today, -4), last_inspected_on=None)
    make_licence(holder=make_person(name="李四"), status="AJ", valid_from=date(2021, 3, 5))
    make_licence(holder=make_person(name="赵六"), status="G", cancellation_reason="death")

    rows = ensure_demo_announcements(today=today, password="Demo#2026pass")
    again = ensure_demo_announcements(today=today, password="Demo#2026pass")

    assert rows == again and rows[0]["role"] == "unit_head" and rows[0]["username"] == "unit_head"
    states = sorted(Announcement.objects.values_list("state", flat=True))
    assert states == ["pending_approval", "published", "published"]
    assert CameraSite.objects.count() == 4 and Publication.objects.count() == 13
