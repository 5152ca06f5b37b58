"""Fixtures of the report tests (issue 15, N2): recipient organisations, violations, accidents and
the registry facts the reports are drawn from, all dated relative to a pinned day."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time

import pytest
from django.utils import timezone

_USCC = itertools.count(1)
_RECORD = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def aware(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


@pytest.fixture
def make_org(db):
    """An organisation of a kind in a division."""
    from jiaoguan.core.identifiers import make_uscc
    from jiaoguan.registry.models import Organisation

    def make(*, kind: str, division: str = "411702", name: str | None = None):
        n = next(_USCC)
        return Organisation.objects.create(
            uscc=make_uscc(f"91{division}MA{n:07d}"[:17]),
            name=name or f"单位{n:03d}",
            kind=kind,
            division=division,
        )

    return make


@pytest.fixture
def make_violation(db):
    """A camera violation of a vehicle at a moment (Beijing time)."""
    from jiaoguan.violations.models import Violation

    def make(*, vehicle, at: datetime, status: str = "unhandled"):
        n = next(_RECORD)
        return Violation.objects.create(
            record_number=f"R{n:019d}", source="monitoring", status=status,
            plate_number=vehicle.plate_number, plate_type=vehicle.plate_type, vehicle=vehicle, occurred_at=at,
            place="驿城区解放大道", recording_division=vehicle.division, code="1625", points=6, fine_fen=20000,
        )  # fmt: skip

    return make


@pytest.fixture
def make_accident(db, make_staff):
    """An accident case at a moment with a party driving ``vehicle``."""
    from jiaoguan.accidents.models import AccidentCase, Party

    officer = {}

    def make(*, vehicle, at: datetime):
        if "user" not in officer:
            officer["user"] = make_staff(role="accident_officer", username="acc-reports")
        n = next(_RECORD)
        case = AccidentCase.objects.create(
            number=f"411702{n:010d}", division=vehicle.division, occurred_at=at, place="驿城区交通路",
            officer=officer["user"],
        )  # fmt: skip
        Party.objects.create(
            case=case, label="甲", name="驾驶人", vehicle=vehicle, plate=vehicle.plate_number
        )
        return case

    return make


@pytest.fixture
def org_login(db):
    """A login of an organisation (单位用户)."""
    from jiaoguan.accounts.models import User

    def make(organisation):
        return User.objects.create_user(
            username=organisation.uscc, password="Citizen#2026x", kind="organisation",
            organisation=organisation, registration_level="counter",
        )  # fmt: skip

    return make
