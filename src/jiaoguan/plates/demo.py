"""Demo plate pre-selection (网上预选号牌, issue 17, B19, P1-P5): the pools of 豫Q (Zhumadian) for small
cars (02) and small new-energy cars (52), generated from their rules through the services, and
two new cars the demo car dealer has pre-registered for the demo online citizen, so a visitor can
draw five numbers or compose one straight away.

Made once: the 02 pool is the marker for the pools, each car's VIN for its pre-registration.
The dealer is the car dealer of the demo logins (demo/generate.py), which also applies for
temporary plates; its login is listed again with what it can do here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from jiaoguan.accounts.models import User
from jiaoguan.core.identifiers import make_vin
from jiaoguan.registry.models import Vehicle

from . import services
from .models import PlatePool, PreRegistration

OFFICE_DIVISION = "411702"  # the office of 豫Q serves Zhumadian (411700)
DEMO_POOLS: tuple[dict[str, Any], ...] = (
    {
        # Two fixed series and one with a letter in the third place; 豫Q·A8888 and 豫Q·B6666 are
        # kept for the counter's own selection, and no number spells SB or has three 4s in a row.
        "plate_type": "02",
        "patterns": ["A8ddd", "B6ddd", "C3ldd"],
        "excluded_letters": "",
        "excluded_sequences": ["SB", "444"],
        "max_letters": 2,
        "reserved": ["A8888", "B6666", "A8000"],
    },
    {
        # Pure electric (D) and other new energy (F), GA 36: energy letter, letter or digit, 4 digits.
        "plate_type": "52",
        "patterns": ["DA1ddd", "DF6ddd", "FA8ddd"],
        "excluded_letters": "",
        "excluded_sequences": ["444"],
        "max_letters": 1,
        "reserved": ["DA1888", "DF6666"],
    },
)
DEMO_CARS = (
    # (VIN without its check digit, plate type, make and model, colour)
    ("LFV2A21K0P4D{:05d}", "02", "大众牌 FV7152BBDBG", "白"),
    ("LC0C76C40P0D{:05d}", "52", "比亚迪牌 BYD7005BEV", "蓝"),
)


def _dealer() -> User | None:
    """The demo car dealer's login, of an office this platform has pools for (豫Q)."""
    return (
        User.objects.filter(organisation__kind="car_dealer", organisation__division__startswith="4117")
        .select_related("organisation")
        .order_by("pk")
        .first()
    )


def ensure_demo_plates(*, today: date, password: str, citizen_username: str = "") -> list[dict[str, str]]:
    """Make the demo pools and the citizen's two pre-registered cars once; returns the dealer's
    login to print (the same row on every start), or nothing when the demo logins are missing."""
    clerk = User.objects.filter(username="clerk").first()
    citizen = User.objects.filter(username=citizen_username).select_related("person").first()
    dealer = _dealer()
    if clerk is None or dealer is None or citizen is None or citizen.person is None:
        return []
    with transaction.atomic():
        for rules_data in DEMO_POOLS:
            if not PlatePool.objects.filter(prefix="豫Q", plate_type=rules_data["plate_type"]).exists():
                pool = services.pool_create(actor=clerk, division=OFFICE_DIVISION, rules_data=rules_data)
                services.pool_numbers_add(actor=clerk, pool_id=pool.pk)
    person = citizen.person
    vins = []
    for template, plate_type, brand_model, colour in DEMO_CARS:
        vin = make_vin(template.format(person.pk % 100000))
        vins.append(vin)
        if PreRegistration.objects.filter(vin=vin).exists() or Vehicle.objects.filter(vin=vin).exists():
            continue
        services.preregistration_create(
            actor=dealer,
            data={
                "vin": vin, "plate_type": plate_type, "brand_model": brand_model, "colour": colour,
                "buyer_id_number": person.id_number, "buyer_name": person.name,
                "buyer_mobile": citizen.mobile or person.mobile,
            },
        )  # fmt: skip
    assert dealer.organisation is not None
    return [
        {"role": "car_dealer_plates", "username": dealer.username, "password": password,
         "note_zh": f"单位用户：{dealer.organisation.name}（汽车销售商）录入新车信息供购车人网上选号；"
                    f"已为 {person.name} 录入 {vins[0]}（小型汽车）、{vins[1]}（小型新能源汽车）",
         "note_en": f"Organisation user: {dealer.organisation.name} (car dealer) pre-registers new cars for their "
                    f"buyers' plate selection; {vins[0]} (small car) and {vins[1]} (new energy) are recorded for "
                    "the online citizen"},
    ]  # fmt: skip
