"""Demo data of the insurance checks (issue 14, O7): an insurer login and a few failed checks.

The insurer is the one the fake insurer exchange names for many unseeded VINs, so its login
sees its own customers in the weekly feedback list (/counter/insurance/feedback/ and
GET /api/v1/insurance/feedback). The failed checks are those the exchange's defaults give
demo vehicles (VINs ending in 0: no policy; in 9: tax unpaid), spread over this week and last.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jiaoguan.accounts.models import OrganisationMember, User
from jiaoguan.accounts.services import organisation_register
from jiaoguan.core.identifiers import make_uscc
from jiaoguan.insurance.models import InsuranceCheckFailure
from jiaoguan.integrations.fake_insurer_service import DEFAULT_INSURERS, default_vehicle
from jiaoguan.registry.models import Organisation, Person, Vehicle

DEMO_INSURER_USCC_BODY = "91411702MA40PKCC1"
DEMO_FAILURES = 8


def _sync_password(user: User, password: str) -> None:
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])


def ensure_demo_insurance(*, today: date, password: str) -> list[dict[str, str]]:
    """Create (once) the demo insurer's login and some failed checks; return the login row."""
    name = DEFAULT_INSURERS[0]
    uscc = make_uscc(DEMO_INSURER_USCC_BODY)
    user = User.objects.filter(organisation__uscc=uscc).first()
    if user is None:
        clerk = User.objects.filter(username="clerk", kind=User.Kind.STAFF).first()
        rep = Person.objects.filter(id_type="resident_id").exclude(mobile="").order_by("pk").first()
        if clerk is None or rep is None:
            return []
        user = organisation_register(
            actor=clerk,
            uscc=uscc,
            name=name,
            kind=Organisation.Kind.INSURER,
            division="411702",
            representative_id_type=rep.id_type,
            representative_id_number=rep.id_number,
            representative_name=rep.name,
            representative_role=OrganisationMember.Role.LEGAL_REPRESENTATIVE,
            mobile=rep.mobile,
            password=password,
            address="驻马店市驿城区解放路 88 号",
        )
    else:
        _sync_password(user, password)
    _ensure_failures(today)
    return [
        {
            "role": "insurer",
            "username": user.username,
            "password": password,
            "note_zh": f"单位用户：{name}（保险公司）；交强险核验反馈：/counter/insurance/feedback/",
            "note_en": f"Organisation user: {name} (insurer); insurance check feedback at /counter/insurance/feedback/",
        }
    ]


def _ensure_failures(today: date) -> None:
    if InsuranceCheckFailure.objects.exists():
        return
    vehicles = list(
        Vehicle.objects.filter(kind__in=["small_passenger", "small_truck", "medium_passenger"])
        .filter(Q(vin__endswith="0") | Q(vin__endswith="9"))
        .order_by("pk")[:DEMO_FAILURES]
    )
    with transaction.atomic():
        for n, vehicle in enumerate(vehicles):
            at = timezone.make_aware(
                datetime.combine(today - timedelta(days=n + 1), time(9 + n % 8, 10 * (n % 6)))
            )
            defaults = default_vehicle(vehicle.vin, today)
            policy = defaults["policies"][0] if defaults["policies"] else None
            row = InsuranceCheckFailure.objects.create(
                vin=vehicle.vin,
                plate_number=vehicle.plate_number or "",
                purpose="inspection" if n % 3 else "registration",
                missing="compulsory_insurance" if policy is None else "vehicle_tax",
                checked_for=at.date(),
                insurer_name=policy.insurer_name if policy else "",
                policy_number=policy.policy_number if policy else "",
                division=vehicle.division,
                requested_by="demo",
            )
            InsuranceCheckFailure.objects.filter(pk=row.pk).update(checked_at=at)
