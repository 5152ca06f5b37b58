"""Fixtures of the plate pre-selection tests (issue 17): an office's pools, a dealer and its
pre-registered cars, buyers (individuals and organisations) and the counter clerk."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from jiaoguan.plates import services

_N = itertools.count(1)
BUYER_MOBILE = "13903960001"


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Selection limits are counted in the cache, which outlives a test's database rollback."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def plates_clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-plates")


@pytest.fixture
def make_pool(plates_clerk):
    """A pool of 豫Q (Zhumadian) with numbers generated from ``patterns``."""

    def make(*, plate_type="02", patterns=("A8ddd",), rules=None, generate=True, division="411702"):
        data = {"plate_type": plate_type, "patterns": list(patterns)} | (rules or {})
        pool = services.pool_create(actor=plates_clerk, division=division, rules_data=data)
        if generate:
            services.pool_numbers_add(actor=plates_clerk, pool_id=pool.pk)
        pool.refresh_from_db()
        return pool

    return make


@pytest.fixture
def pool(make_pool):
    return make_pool()


@pytest.fixture
def dealer_user(db):
    """A car dealer's login (organisation of kind car_dealer, counter-registered)."""
    from jiaoguan.accounts.models import User
    from jiaoguan.core.identifiers import make_uscc
    from jiaoguan.registry.models import Organisation

    n = next(_N)
    dealer = Organisation.objects.create(
        uscc=make_uscc(f"91411702MA9D{n:05d}"[:17]), name=f"驻马店市天中汽车销售服务有限公司{n}",
        kind="car_dealer", division="411702",
    )  # fmt: skip
    return User.objects.create_user(
        username=dealer.uscc,
        password="x",
        kind="organisation",
        organisation=dealer,
        registration_level="counter",
    )


@pytest.fixture
def buyer(make_person, citizen):
    """A citizen (online registration) whose account mobile is the one the dealer records."""

    def make(**kw):
        person = make_person(mobile=kw.pop("mobile", BUYER_MOBILE), **kw)
        user = citizen(person)
        user.mobile = person.mobile
        user.save(update_fields=["mobile"])
        return user

    return make


@pytest.fixture
def preregister(dealer_user):
    """The dealer records a new car for a buyer (a person's account or an organisation's)."""
    from jiaoguan.core.identifiers import make_vin

    def make(owner, *, plate_type="02", mobile=None, id_number=None):
        n = next(_N)
        organisation = (
            getattr(owner, "organisation", None) if getattr(owner, "kind", "") == "organisation" else None
        )
        return services.preregistration_create(
            actor=dealer_user,
            data={
                "vin": make_vin(f"LFV2A21K5N{n:07d}"), "plate_type": plate_type, "brand_model": "大众牌 FV7152",
                "colour": "白", "buyer_id_number": id_number or (organisation.uscc if organisation else owner.person.id_number),
                "buyer_name": organisation.name if organisation else owner.person.name,
                "buyer_mobile": mobile or owner.mobile or BUYER_MOBILE,
            },
        )  # fmt: skip

    return make
