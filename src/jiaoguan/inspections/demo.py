"""Demo inspection stations (检验机构, issue 14): two fictional stations of the Zhumadian demo with
their calendars, registered by the demo clerk, and an API client for the first one's results."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from jiaoguan.accounts.clients import SCOPE_INSPECTION_RESULTS, api_client_create, api_client_revoke
from jiaoguan.accounts.models import ApiClient, User
from jiaoguan.core.identifiers import make_uscc

from . import services
from .models import InspectionStation

# Monday to Friday 30 places a half day, Saturday mornings 15, Sundays closed.
_WEEKLY = {**{str(d): [30, 30] for d in range(5)}, "5": [15, 0], "6": [0, 0]}
DEMO_STATIONS = (
    (
        "91411702MA4JC0001", "驻马店市安通机动车检测有限公司", "411702", "驻马店市驿城区开源大道88号", "0396-2900088",
        ("small_passenger", "small_van", "medium_passenger", "small_truck", "medium_truck", "heavy_truck", "tractor"),
    ),
    (
        "91411721MA4JC0002", "西平县顺达机动车检测站", "411721", "西平县柏城大道166号", "0396-6200166",
        ("small_passenger", "small_van", "small_truck", "motorcycle", "three_wheeled_motorcycle", "moped",
         "three_wheeled", "low_speed_truck"),
    ),
)  # fmt: skip
DEMO_CLIENT_NAME = "安通检测站检验系统（演示）"


def ensure_demo_stations(*, today: date) -> dict[str, Any]:
    """Register the demo stations once (their slots kept 8 weeks ahead on every start) and give the
    first a fresh results client; returns what ``jiaoguan up`` prints. The secret is shown only
    now, so an earlier demo client is revoked and replaced on each start."""
    clerk = User.objects.filter(username="clerk").first()
    stations = []
    for body, name, division, address, phone, kinds in DEMO_STATIONS:
        uscc = make_uscc(body)
        station = InspectionStation.objects.filter(organisation__uscc=uscc).first()
        if station is None and clerk is not None:
            station = services.station_register(
                actor=clerk,
                data=services.StationInput(
                    uscc=uscc, name=name, division=division, address=address, phone=phone,
                    vehicle_kinds=kinds, weekly=_WEEKLY,
                ),
                today=today,
            )  # fmt: skip
        if station is not None:
            stations.append(station)
    services.slots_extend(today=today)
    if not stations:
        return {"stations": [], "client_id": "", "secret": ""}
    with transaction.atomic():
        for old in ApiClient.objects.filter(name=DEMO_CLIENT_NAME, revoked_at__isnull=True):
            api_client_revoke(client_id=old.client_id)
        client, secret = api_client_create(
            name=DEMO_CLIENT_NAME, scopes=SCOPE_INSPECTION_RESULTS, division="411700",
            organisation_uscc=stations[0].organisation.uscc,
        )  # fmt: skip
    return {
        "stations": [s.organisation.name for s in stations],
        "client_id": client.client_id,
        "secret": secret,
    }
