"""Demo stations (issue 14): made once by the demo clerk, slots kept ahead, a fresh results client
on every start, the earlier one revoked."""

from __future__ import annotations

import pytest

from jiaoguan.accounts.models import ApiClient
from jiaoguan.inspections.demo import ensure_demo_stations
from jiaoguan.inspections.models import InspectionSlot, InspectionStation

pytestmark = pytest.mark.django_db


def test_demo_stations_once_and_a_fresh_client_each_start(make_staff, today):
    make_staff(role="counter_clerk", jurisdiction="411700", username="clerk")
    first = ensure_demo_stations(today=today)
    again = ensure_demo_stations(today=today)
    assert InspectionStation.objects.count() == 2 and len(again["stations"]) == 2
    assert InspectionSlot.objects.filter(station__division="411721").exists()
    assert first["client_id"] != again["client_id"]
    assert ApiClient.objects.get(client_id=first["client_id"]).revoked_at is not None
    current = ApiClient.objects.get(client_id=again["client_id"])
    assert current.has_scope("inspections:results") and current.organisation.kind == "inspection_station"
