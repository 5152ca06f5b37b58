"""Shared fixtures: data made through the same services the platform uses."""

from __future__ import annotations

import os
from datetime import date

import pytest

os.environ.setdefault("JIAOGUAN_DEMO", "1")


@pytest.fixture
def make_person(db):
    """Create a registry person with a valid Zhumadian ID number."""
    from jiaoguan.core.identifiers import make_citizen_id
    from jiaoguan.registry.models import Person

    counter = {"n": 0}

    def make(
        *,
        name: str = "张伟",
        birth_date: date = date(1985, 6, 15),
        area: str = "411702",
        sequence: int | None = None,
        mobile: str = "13800138000",
    ) -> Person:
        counter["n"] += 1
        seq = sequence if sequence is not None else 100 + counter["n"] * 2 + 1
        number = make_citizen_id(area, birth_date, seq)
        return Person.objects.create(
            id_number=number,
            name=name,
            sex="M" if seq % 2 else "F",
            birth_date=birth_date,
            residence_division=area,
            mobile=mobile,
        )

    return make


@pytest.fixture
def make_vehicle(db):
    from jiaoguan.core.identifiers import make_vin
    from jiaoguan.registry.models import Vehicle

    counter = {"n": 0}

    def make(*, owner, registered_on=date(2020, 5, 13), last_inspected_on=None, plate=None, **kw):
        counter["n"] += 1
        n = counter["n"]
        vin = make_vin(f"LSVAB4BR0M{n:07d}")
        return Vehicle.objects.create(
            plate_number=plate or f"豫Q{n:05d}",
            plate_type=kw.pop("plate_type", "02"),
            vin=vin,
            kind=kw.pop("kind", "small_passenger"),
            use_nature=kw.pop("use_nature", "private"),
            brand_model=kw.pop("brand_model", "大众牌 SVW71612"),
            owner_person=owner if not hasattr(owner, "uscc") else None,
            owner_organisation=owner if hasattr(owner, "uscc") else None,
            registered_on=registered_on,
            last_inspected_on=last_inspected_on,
            division=kw.pop("division", "411702"),
            **kw,
        )

    return make


@pytest.fixture
def make_licence(db):
    from jiaoguan.registry.models import DrivingLicence

    counter = {"n": 0}

    def make(*, holder, classes="C1", first_issued_on=date(2015, 3, 5), valid_from=None, term="10y", **kw):
        counter["n"] += 1
        return DrivingLicence.objects.create(
            holder=holder,
            archive_number=f"4117{counter['n']:08d}",
            classes=classes,
            first_issued_on=first_issued_on,
            valid_from=valid_from or first_issued_on,
            validity_term=term,
            division=kw.pop("division", "411702"),
            **kw,
        )

    return make


@pytest.fixture
def make_staff(db):
    from jiaoguan.accounts.services import staff_create

    def make(*, role: str = "counter_clerk", jurisdiction: str = "411700", username: str | None = None):
        return staff_create(
            username=username or f"{role}-{jurisdiction}",
            password="Counter#2026x",
            role=role,
            jurisdiction=jurisdiction,
        )

    return make


@pytest.fixture
def sms_inbox(db):
    """Read the newest code the fake SMS gateway delivered to a number."""
    import re

    from jiaoguan.core.outbox import outbox_dispatch
    from jiaoguan.integrations.models import FakeSmsMessage

    def latest_code(mobile: str) -> str:
        # Inside a test transaction nothing commits, so deliver what the outbox holds now.
        outbox_dispatch()
        message = FakeSmsMessage.objects.filter(mobile=mobile).order_by("-id").first()
        assert message is not None, f"no SMS delivered to {mobile}"
        match = re.search(r"(\d{6})", message.text)
        assert match
        return match.group(1)

    return latest_code
