"""Demo of the cross-region used-car transfer (T1-T5): a buyer in Zhumadian whose car from Nanjing
has its archive here, waiting for the counter's inspection, with a problem the origin raised that is
overdue; and one seller with five transfers in a month, on the anomaly list.

The demo runs one installation, so no other DMV answers: registering the waiting car stores it as
"awaiting the origin", which is what happens when the origin is down. Made once (numbers are the
markers).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.core.identifiers import make_citizen_id, make_vin
from jiaoguan.integrations import inter_dmv
from jiaoguan.registry.models import Person

from .models import Problem, Transfer

DIVISION = "411702"
ORIGIN = "320100"


def _buyer(password: str) -> tuple[User, Person]:
    number = make_citizen_id(DIVISION, date(1990, 4, 8), 921)
    person, _ = Person.objects.get_or_create(
        id_type="resident_id", id_number=number,
        defaults={"name": "孙志远", "sex": "M", "birth_date": date(1990, 4, 8), "residence_division": DIVISION,
                  "mobile": "13903960921"},
    )  # fmt: skip
    user = User.objects.filter(person=person).first()
    if user is None:
        user = User(
            username=person.id_number, kind=User.Kind.INDIVIDUAL, registration_level=User.Level.COUNTER,
            person=person, first_name=person.name, mobile=person.mobile, mobile_verified_at=timezone.now(),
        )  # fmt: skip
    user.set_password(password)
    user.save()
    return user, person


def _package(number: str, vin: str, plate: str, today: date) -> dict[str, object]:
    record = {
        "plate_number": plate, "plate_type": "02", "vin": vin, "kind": "small_passenger", "use_nature": "private",
        "brand_model": "大众牌 SVW71612", "colour": "白", "registered_on": "2019-05-13",
        "last_inspected_on": (today - timedelta(days=60)).isoformat(), "on_site_inspection_required": False,
        "status": "A", "division": ORIGIN,
    }  # fmt: skip
    return {
        "format": inter_dmv.PACKAGE_FORMAT, "reference": number, "origin": ORIGIN, "destination": "411700",
        "issued_at": timezone.now().isoformat(), "vin": vin, "record": record, "documents": [],
    }  # fmt: skip


def ensure_demo_transfers(*, today: date, password: str) -> list[dict[str, str]]:
    """Make the demo transfers once; returns the buyer's login."""
    with transaction.atomic():
        user, buyer = _buyer(password)
        seller = make_citizen_id("320102", date(1978, 6, 1), 31)
        number = "411700DEMO0001"
        if not Transfer.objects.filter(number=number).exists():
            vin = make_vin("LSVAB4BR0M7000001")
            package = _package(number, vin, "苏A7Q821", today)
            Transfer.objects.create(
                number=number, applicant=user, buyer=buyer, division=DIVISION, origin_city=ORIGIN,
                plate_number="苏A7Q821", plate_type="02", vin=vin, seller_id_number=seller,
                invoice_number="03201001", invoice_date=today - timedelta(days=3), trade_place="destination",
                state=Transfer.State.ARCHIVED, package=package, package_signature=inter_dmv.sign_package(package),
                package_received_at=timezone.now(),
            )  # fmt: skip
            Problem.objects.create(
                key="demo-problem-0001", reference=number, raised_here=False, peer_city=ORIGIN,
                question="请确认买方住所地址，档案中的发票地址与申请不一致。", due_on=today - timedelta(days=1),
                question_sent=True,
            )  # fmt: skip
        trader = make_citizen_id("330102", date(1975, 1, 9), 55)
        for i in range(5):
            other = f"411700DEMO01{i:02d}"
            if Transfer.objects.filter(number=other).exists():
                continue
            transfer = Transfer.objects.create(
                number=other, applicant=user, buyer=buyer, division=DIVISION, origin_city="330100",
                plate_number=f"浙A5{i}K31", plate_type="02", vin=make_vin(f"LSVAB4BR0M71000{i:02d}"),
                seller_id_number=trader, invoice_number=f"0330{i:04d}", invoice_date=today - timedelta(days=4 * i),
                trade_place="origin", state=Transfer.State.REFUSED, refusal_code="transfers.seller_not_owner",
                refusal_zh="卖方不是该车的登记所有人。", refusal_en="The seller is not the registered owner of this car.",
            )  # fmt: skip
            Transfer.objects.filter(pk=transfer.pk).update(created_at=timezone.now() - timedelta(days=4 * i))
    return [
        {"role": "citizen_transfer", "username": user.username, "password": password,
         "note_zh": "孙志远：从南京买的二手车，档案已到，等待查验登记（二手车异地交易登记）",
         "note_en": "Sun Zhiyuan: a used car bought in Nanjing, archive here, awaiting inspection (cross-region transfer)"},
    ]  # fmt: skip
