"""Demo violations (演示数据) for the demo logins, so every B16/B17 situation can be tried at once.

Idempotent: record numbers are derived from the vehicle, so a second start finds the
same records and adds nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jiaoguan.accounts.models import User
from jiaoguan.core.errors import DomainError
from jiaoguan.payments.services import payable_paid_elsewhere
from jiaoguan.registry.models import Organisation, Vehicle

from . import rules
from .models import Violation
from .rules import Source
from .selectors import FINE_KIND
from .services import RecordInput, violation_handle_online, violation_record

SHANGHAI = ZoneInfo("Asia/Shanghai")
DIVISION = "411702"  # 驿城区 cameras

# (days ago, hour, code, place, other-province division or "", handled that many days ago or
# None, paid that many days ago or None). Handled on the decision day, after the offence; the
# paid one is paid within the 15 days, so without a late fee.
_PLAN: tuple[tuple[int, int, str, str, str, int | None, int | None], ...] = (
    (2, 8, "1625", "驻马店市驿城区解放路与交通路交叉口", "", None, None),
    (5, 18, "1039", "驻马店市驿城区雪松大道万达广场东门", "", None, None),
    (9, 12, "1101", "驻马店市开源大道与乐山大道交叉口", "", None, None),
    (26, 9, "1344", "驻马店市驿城区练江大道（禁止左转）", "", 24, None),
    (40, 15, "1352", "南京市秦淮区龙蟠中路", "320104", 38, None),
    (20, 7, "1039", "驻马店市驿城区风光路与文明路交叉口", "", 18, 12),
)
HANDLED_AT = time(10, 5)  # handled in the morning of the decision day
PAID_AT = time(15, 40)
PAID_ON_PLATFORM = "中国工商银行"


def _record_number(vehicle: Vehicle, index: int, on: date, division: str) -> str:
    serial = (vehicle.pk * 10 + index) % 1_000_000
    return rules.record_number_make(
        division=division, source=Source.MONITORING, occurred_on=on, serial=serial
    )


def _records_for(vehicle: Vehicle, *, today: date, user: User, organisation_driver: str = "") -> int:
    made = 0
    for index, (days_ago, hour, code, place, other, handle_offset, paid_offset) in enumerate(_PLAN):
        day = today - timedelta(days=days_ago)
        division = other or DIVISION
        occurred = datetime.combine(day, time(hour, 17), tzinfo=SHANGHAI)
        violation, created = violation_record(
            actor=None,
            data=RecordInput(
                plate_number=vehicle.plate_number or "",
                plate_type=vehicle.plate_type,
                occurred_at=occurred,
                place=place,
                code=code,
                recording_division=division,
                record_number=_record_number(vehicle, index, day, division),
                device_id=f"CAM-{division}-{index + 1:04d}",
            ),
        )
        made += int(created)
        if not created or handle_offset is None or violation.status != Violation.Status.UNHANDLED:
            continue
        decided_on = today - timedelta(days=handle_offset)
        try:
            fine = violation_handle_online(
                actor=user, violation_id=violation.pk, no_dispute=True, drove_self=True,
                licence_number=organisation_driver, archive_number=_archive_of(organisation_driver),
                today=decided_on, handled_at=datetime.combine(decided_on, HANDLED_AT, tzinfo=SHANGHAI),
            )  # fmt: skip
        except DomainError:
            continue  # e.g. the points limit: it then waits for the counter, which is a demo case too
        if paid_offset is not None:
            # Paid at a bank within the 15 days (S5 art. 72): the receipt shows no late fee.
            payable_paid_elsewhere(
                actor=None, kind=FINE_KIND, payable_reference=fine.decision_number, platform=PAID_ON_PLATFORM,
                reference=f"ICBC-{fine.decision_number}",
                paid_at=datetime.combine(today - timedelta(days=paid_offset), PAID_AT, tzinfo=SHANGHAI),
            )  # fmt: skip
    return made


def _archive_of(id_number: str) -> str:
    from jiaoguan.registry.models import DrivingLicence

    if not id_number:
        return ""
    licence = DrivingLicence.objects.filter(holder__id_number=id_number).first()
    return licence.archive_number if licence else ""


def ensure_demo_violations(*, today: date, usernames: list[str]) -> int:
    """Camera records for the demo citizens' and the transport company's first vehicle."""
    made = 0
    for user in User.objects.filter(username__in=usernames).select_related("person", "organisation"):
        if user.kind == User.Kind.INDIVIDUAL and user.person_id:
            vehicle = Vehicle.objects.filter(owner_person_id=user.person_id).order_by("id").first()
            if vehicle is not None and vehicle.plate_number:
                made += _records_for(vehicle, today=today, user=user)
        elif user.kind == User.Kind.ORGANISATION and user.organisation_id:
            organisation = user.organisation
            if organisation is None or organisation.kind != Organisation.Kind.TRANSPORT_COMPANY:
                continue
            vehicle = Vehicle.objects.filter(owner_organisation=organisation).order_by("id").first()
            rep = organisation.legal_representative
            driver = rep.id_number if rep is not None and hasattr(rep, "licence") else ""
            if vehicle is not None and vehicle.plate_number:
                made += _records_for(vehicle, today=today, user=user, organisation_driver=driver)
    return made
