"""Fixtures of the notice-rule tests (issue 15, N1, N4, N5): a scan of one rule on a pinned day
and the messages it wrote about one vehicle, licence or violation."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

_USCC = itertools.count(1)


@pytest.fixture
def scan_messages(db):
    """Run the scan of ``code`` for ``today`` (again, from the start) and return the messages
    this run wrote about ``subject`` (a Vehicle, DrivingLicence or Violation)."""
    from jiaoguan.notices.models import Message
    from jiaoguan.notices.scan import rule_scan

    def run(code: str, subject, today: date) -> list[Message]:
        kind = {"Vehicle": "vehicle", "DrivingLicence": "licence", "Violation": "violation"}[
            type(subject).__name__
        ]
        about = Message.objects.filter(rule_code=code, dedup_key__contains=f":{kind}:{subject.pk}:")
        before = set(about.values_list("pk", flat=True))
        rule_scan(code, today=today, rerun=True)
        return [m for m in about.order_by("pk") if m.pk not in before]

    return run


@pytest.fixture
def make_company(db):
    """A road-transport company (道路运输企业) with a mobile phone on record."""
    from jiaoguan.core.identifiers import make_uscc
    from jiaoguan.registry.models import Organisation

    def make(*, name: str = "驻马店市天中运输有限公司", phone: str = "13900139000") -> Organisation:
        n = next(_USCC)
        return Organisation.objects.create(
            uscc=make_uscc(f"91411700MA{n:07d}"),
            name=name,
            kind=Organisation.Kind.TRANSPORT_COMPANY,
            division="411702",
            phone=phone,
        )

    return make


@pytest.fixture
def make_violation(db):
    """A camera record (电子监控) of a vehicle, unhandled unless told otherwise."""
    from datetime import datetime, time

    from django.utils import timezone

    from jiaoguan.violations.models import Violation

    counter = itertools.count(1)

    def make(*, vehicle, status: str = "unhandled", source: str = "monitoring", day: date | None = None):
        n = next(counter)
        occurred = timezone.make_aware(datetime.combine(day or timezone.localdate(), time(9, 30)))
        return Violation.objects.create(
            record_number=f"4117020000{n:06d}",
            source=source,
            status=status,
            plate_number=vehicle.plate_number,
            plate_type=vehicle.plate_type,
            vehicle=vehicle,
            occurred_at=occurred,
            place="驿城区解放大道与交通路交叉口",
            recording_division="411702",
            code="1625",
            points=6,
            fine_fen=20000,
        )

    return make
