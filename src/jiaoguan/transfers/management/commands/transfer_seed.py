"""Seed an installation with one owner and one car, for trying a cross-region transfer between two
installations (T2): ``jiaoguan transfer_seed --owner-id ... --vin ... --plate ...``.

Prints, as JSON, what the other installation needs: this DMV's city and package-signing public key.
Running it again changes nothing.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from jiaoguan.integrations import inter_dmv


class Command(BaseCommand):
    help = "Seed one owner and car for a cross-region transfer; print this DMV's city and public key."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--owner-id", required=True, help="the owner's citizen ID number")
        parser.add_argument("--owner-name", default="张卖方")
        parser.add_argument("--password", required=True, help="the owner's login password")
        parser.add_argument("--vin", required=True)
        parser.add_argument("--plate", required=True)
        parser.add_argument("--kind", default="small_passenger")
        parser.add_argument("--use", default="private")
        parser.add_argument("--plate-type", default="02")
        parser.add_argument("--last-inspected", default="", help="ISO date of the last inspection")

    def handle(self, *args: Any, **options: Any) -> None:
        from jiaoguan.accounts.models import User
        from jiaoguan.core.identifiers import validate_citizen_id
        from jiaoguan.registry.models import Person, Vehicle

        city = inter_dmv.own_city()
        citizen = validate_citizen_id(options["owner_id"])
        with transaction.atomic():
            person, _ = Person.objects.get_or_create(
                id_number=citizen.number,
                defaults={"name": options["owner_name"], "birth_date": citizen.birth_date,
                          "residence_division": city, "mobile": "13900000019"},
            )  # fmt: skip
            if not User.objects.filter(username=person.id_number).exists():
                User.objects.create_user(
                    username=person.id_number, password=options["password"], person=person,
                    registration_level="counter",
                )  # fmt: skip
            inspected = date.fromisoformat(options["last_inspected"]) if options["last_inspected"] else None
            Vehicle.objects.get_or_create(
                vin=options["vin"].upper(),
                defaults={"plate_number": options["plate"], "plate_type": options["plate_type"],
                          "kind": options["kind"], "use_nature": options["use"], "brand_model": "大众牌 SVW71612",
                          "colour": "白", "owner_person": person, "registered_on": date(2019, 5, 13),
                          "last_inspected_on": inspected, "division": city},
            )  # fmt: skip
        self.stdout.write(json.dumps({"city": city, "public_key": inter_dmv.public_key_b64()}))
