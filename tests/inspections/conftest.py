"""Fixtures of the inspection booking tests (issue 14, B4): stations made at the counter, vehicles
due or overdue relative to today, the station's API client, and an insurer answer (O7)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.utils import timezone

from jiaoguan.core.errors import Unavailable
from jiaoguan.inspections import services
from jiaoguan.registry.rules import add_years

WEEKLY_ALL_DAYS = {str(d): [10, 10] for d in range(7)}
_USCC = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_logins_and_keys(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    from jiaoguan.credentials.keys import trust_cache_clear

    trust_cache_clear()
    yield
    trust_cache_clear()


@dataclass(frozen=True)
class Answer:
    """The shape of insurance.services.InsuranceAnswer, for the tests that script the insurer."""

    required: bool = True
    insured: bool = True
    insured_until: date | None = None
    insurer_name: str = "中国人民财产保险股份有限公司驻马店市分公司"
    policy_number: str = "PDZA2026411700000001"
    tax_paid: bool = True
    missing: tuple[str, ...] = ()
    message_zh: str = ""
    message_en: str = ""

    @property
    def ok(self) -> bool:
        return not self.missing


class ScriptedInsurer:
    """Answers the O7 check per VIN as a test says; records every call (VIN, purpose, day)."""

    def __init__(self) -> None:
        self.uninsured: set[str] = set()
        self.down = False
        self.calls: list[tuple[str, str, date]] = []

    def __call__(self, *, vin, kind, purpose, on, plate_number=None, division="", requested_by=""):
        self.calls.append((vin, purpose, on))
        if self.down:
            raise Unavailable(
                "insurance.unavailable", "暂时无法核验交强险和车船税信息，请稍后重试。",
                "Insurance and vehicle tax cannot be checked right now; please try again later.",
            )  # fmt: skip
        if vin in self.uninsured:
            return Answer(
                insured=False, missing=("compulsory_insurance",),
                message_zh="未查询到有效的交强险保单，请投保后再预约。",
                message_en="No compulsory insurance policy in force; insure the vehicle, then book.",
            )  # fmt: skip
        return Answer(insured_until=on + timedelta(days=200))


@pytest.fixture
def insurer(monkeypatch):
    """The insurer as a script (the real adapter and its fake service are tested in tests/insurance)."""
    scripted = ScriptedInsurer()
    monkeypatch.setattr(services, "_insurance_check", scripted)
    return scripted


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-inspections")


@pytest.fixture
def make_station(clerk, today):
    from jiaoguan.core.identifiers import make_uscc

    def make(
        *, name="驻马店市安通机动车检测有限公司", division="411702", kinds=("small_passenger", "heavy_truck", "small_truck"),
        weekly=None,
    ):  # fmt: skip
        n = next(_USCC)
        return services.station_register(
            actor=clerk,
            data=services.StationInput(
                uscc=make_uscc(f"91411702MA9{n:05d}X"[:17]), name=f"{name}{n}", division=division,
                address="驻马店市驿城区开源大道88号", phone="0396-2900000", vehicle_kinds=kinds,
                weekly=weekly or WEEKLY_ALL_DAYS,
            ),
            today=today,
        )  # fmt: skip

    return make


@pytest.fixture
def owner(make_person, citizen):
    """A citizen (online level, enough for B4 under U5) and their person: (user, person)."""

    def make(**kw):
        person = make_person(**kw)
        return citizen(person), person

    return make


@pytest.fixture
def overdue_car(make_vehicle, today):
    """A private car 7 years old never inspected: overdue (S4 art. 16, registry rules)."""

    def make(person, **kw):
        return make_vehicle(owner=person, registered_on=add_years(today, -7), **kw)

    return make


@pytest.fixture
def due_truck(make_vehicle, today):
    """A heavy truck whose yearly due ends this or next month, inspected at the last due: due soon,
    on site (trucks inspect yearly to 10 years)."""

    def make(person, **kw):
        registered = add_years(today, -3) + timedelta(days=20)
        return make_vehicle(
            owner=person, registered_on=registered, last_inspected_on=add_years(registered, 2),
            kind="heavy_truck", use_nature="freight", plate_type="01", **kw,
        )  # fmt: skip

    return make


@pytest.fixture
def valid_truck(make_vehicle, today):
    """A truck inspected ten days ago: valid for most of a year, nothing to book."""

    def make(person, **kw):
        return make_vehicle(
            owner=person, registered_on=add_years(today, -3) + timedelta(days=120),
            last_inspected_on=today - timedelta(days=10), kind="heavy_truck", use_nature="freight",
            plate_type="01", **kw,
        )  # fmt: skip

    return make


def slot_on(station, day, half="am"):
    from jiaoguan.inspections.models import InspectionSlot

    return InspectionSlot.objects.get(station=station, day=day, half=half)


@pytest.fixture
def station_client():
    """The station's API client with the results scope, bound to its organisation: (client, secret)."""
    from jiaoguan.accounts.clients import api_client_create

    def make(station, *, scopes="inspections:results"):
        return api_client_create(
            name=f"{station.organisation.name} 检验系统", scopes=scopes, division="411700",
            organisation_uscc=station.organisation.uscc,
        )  # fmt: skip

    return make
