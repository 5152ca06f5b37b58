"""Fixtures of the military licence exchange (O3): a veteran with an account, the counter clerk
and the head of the unit of 411700, and the fake military registry seeded with a licence."""

from __future__ import annotations

from datetime import date

import pytest

from jiaoguan.integrations.military_licence import MilitaryLicence


@pytest.fixture
def veteran(make_person, citizen, settings):
    """A veteran born 1985-04-12 living in 411702, with an online account."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    person = make_person(name="刘建军", birth_date=date(1985, 4, 12), area="411702", mobile="13900139001")
    return citizen(person, level="counter")


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="mx-clerk")


@pytest.fixture
def unit_head(make_staff):
    return make_staff(role="unit_head", jurisdiction="411700", username="mx-head")


@pytest.fixture
def seed_military(military_licence_service):
    """Put a military licence of ``user``'s person into the fake registry."""

    def seed(
        user,
        *,
        number="JW20080301",
        classes="B1",
        first_issued_on=date(2008, 3, 1),
        added=(),
        status="valid",
    ) -> MilitaryLicence:
        person = user.person
        licence = MilitaryLicence(
            number=number, id_number=person.id_number, name=person.name, classes=classes,
            first_issued_on=first_issued_on, issued_on=date(2018, 1, 1), added=tuple(added), status=status,
        )  # fmt: skip
        military_licence_service.licence(licence)
        return licence

    return seed
