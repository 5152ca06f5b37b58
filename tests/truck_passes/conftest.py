"""A city (Zhumadian, 411700) with published truck rules, a truck owner and a delivery company."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.truck_passes import services

CITY = "411700"
CORE_WINDOWS = "1-5 07:00-09:00\n1-5 17:00-19:30"


def zone_input(**kw) -> services.ZoneInput:
    data = {
        "name": "中心城区", "kind": "core", "individual_road": False, "roads": "解放路、中华路以内区域",
        "vehicle_kinds": ["small_truck", "medium_truck", "heavy_truck"], "windows": CORE_WINDOWS,
    }  # fmt: skip
    data.update(kw)
    return services.ZoneInput(**data)


@pytest.fixture
def rule_officer(make_staff):
    return make_staff(role="violation_officer", jurisdiction=CITY, username="truck-rules-411700")


@pytest.fixture
def zone(rule_officer):
    made = services.zone_save(actor=rule_officer, data=zone_input())
    return services.zone_publish(actor=rule_officer, zone_id=made.pk)


@pytest.fixture
def owner(make_person, make_vehicle, citizen):
    """A citizen with one small truck: (user, truck)."""
    person = make_person(name="刘洋", mobile="13800138011")
    truck = make_vehicle(owner=person, kind="small_truck", use_nature="freight", plate="豫QH1234",
                         registered_on=date(2022, 4, 1))  # fmt: skip
    return citizen(person), truck


@pytest.fixture
def company(organisation_user, make_vehicle):
    """A delivery company with four trucks: (user, trucks)."""
    user = organisation_user(name="驻马店市快达城市配送有限公司", kind="transport_company", suffix="0TRK57")
    trucks = [
        make_vehicle(owner=user.organisation, kind="medium_truck", use_nature="freight", plate=f"豫QD{n:04d}")
        for n in range(1, 5)
    ]
    return user, trucks


@pytest.fixture(autouse=True)
def _keys_and_fast_logins(tmp_path, settings):
    """Each test signs with keys of its own; logins hash quickly (Argon2 would dominate)."""
    from jiaoguan.credentials.keys import trust_cache_clear

    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.CREDENTIAL_AUTO_KEY = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    trust_cache_clear()
    yield
    trust_cache_clear()
