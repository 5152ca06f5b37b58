"""The truck pass demo works as printed (O1, O1a): three published zones, the owner's truck, the
delivery company's three codes, and the blacklisted company's fewer, shorter codes with the reason."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.truck_passes import selectors
from jiaoguan.truck_passes.demo import ensure_demo_truck_passes
from jiaoguan.truck_passes.models import BlacklistDecision, RestrictionZone, TruckPass

pytestmark = pytest.mark.django_db


def test_the_demo_is_made_once_and_shows_every_case(make_staff):
    make_staff(role="violation_officer", jurisdiction="411700", username="violation")
    today = timezone.localdate()
    logins = ensure_demo_truck_passes(today=today, password="demo-pass-1")
    assert ensure_demo_truck_passes(today=today, password="demo-pass-1") == logins
    assert [row["role"] for row in logins] == ["truck_owner", "delivery_company", "blacklisted_company"]
    assert RestrictionZone.objects.filter(state="published").count() == 3
    owner = User.objects.get(username=logins[0]["username"])
    assert [v.plate_number for v in selectors.eligible_vehicles(actor=owner)] == ["豫QH7931"]
    fleet = User.objects.get(username=logins[1]["username"])
    assert selectors.my_passes(actor=fleet).count() == 3
    listed = User.objects.get(username=logins[2]["username"])
    passes = list(selectors.my_passes(actor=listed))
    assert len(passes) == 3 and all(
        p.blacklisted and (p.valid_until - p.valid_from).days == 6 for p in passes
    )
    decision = BlacklistDecision.objects.get(organisation=listed.organisation)
    assert decision.violations == 16 and "黑名单" in decision.reason_zh
    assert TruckPass.objects.count() == 6
