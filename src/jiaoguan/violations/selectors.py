"""Reads of violations and fines, scoped to what the caller may see (Q3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Q, QuerySet, Value
from django.utils import timezone

from jiaoguan.accounts.models import User
from jiaoguan.core.access import division_prefix_for
from jiaoguan.core.errors import DomainError, NotAllowed
from jiaoguan.core.identifiers import mask_id_number, mask_name
from jiaoguan.payments.models import PaymentOrder
from jiaoguan.registry import rules as registry_rules
from jiaoguan.registry.models import DrivingLicence, Vehicle
from jiaoguan.registry.selectors import licence_status

from . import rules
from .documents import DecisionDocument, ReceiptDocument
from .models import Fine, Violation

FINE_KIND = "fine"  # the payable kind this app registers with payments (payables.py)


def violations_of(*, user: User) -> QuerySet[Violation]:
    """Violations of the user's own vehicles and of their own licence (Q3); nothing for staff.

    The vehicle and licence ids are read first (a handful, in one query), so the violation
    query is two index range scans on (vehicle, occurred_at) and (licence, occurred_at), flat
    in table size.
    """
    if user.person_id:
        vehicles = Vehicle.objects.filter(owner_person_id=user.person_id).values_list("id", Value(True))
        licences = DrivingLicence.objects.filter(holder_id=user.person_id).values_list("id", Value(False))
        owned = list(vehicles.union(licences, all=True))
        vehicle_ids = [pk for pk, is_vehicle in owned if is_vehicle]
        licence_ids = [pk for pk, is_vehicle in owned if not is_vehicle]
    elif user.organisation_id:
        vehicle_ids = list(
            Vehicle.objects.filter(owner_organisation_id=user.organisation_id).values_list("id", flat=True)
        )
        licence_ids = []
    else:
        return Violation.objects.none()
    if not vehicle_ids and not licence_ids:
        return Violation.objects.none()
    return Violation.objects.filter(Q(vehicle_id__in=vehicle_ids) | Q(licence_id__in=licence_ids))


@dataclass(frozen=True)
class ViolationView:
    """One line of "my violations" with everything Q3 shows."""

    id: int
    record_number: str
    occurred_at: datetime
    place: str
    code: str
    description_zh: str
    description_en: str
    points: int
    fine_fen: int
    source: str
    status: str  # unhandled | disputed | handled | paid | cancelled
    plate_number: str
    other_province: bool
    decision_number: str
    fine_id: int | None
    late_fee_fen: int
    amount_due_fen: int
    payment_due: date | None


def _display_status(violation: Violation, fine: Fine | None) -> str:
    if fine is not None and fine.status == Fine.Status.PAID:
        return "paid"
    return violation.status


def violation_view(violation: Violation, *, today: date, home_province: str) -> ViolationView:
    fine: Fine | None = (
        getattr(violation, "fine", None) if violation.status == Violation.Status.HANDLED else None
    )
    version = rules.code_version(violation.code, on=timezone.localtime(violation.occurred_at).date())
    late = 0
    if fine is not None and fine.status == Fine.Status.UNPAID:
        late = rules.late_fee(fine_fen=fine.amount_fen, decided_on=fine.decided_on, today=today)
    return ViolationView(
        id=violation.pk,
        record_number=violation.record_number,
        occurred_at=violation.occurred_at,
        place=violation.place,
        code=violation.code,
        description_zh=version.name_zh,
        description_en=version.name_en,
        points=violation.points,
        fine_fen=violation.fine_fen,
        source=violation.source,
        status=_display_status(violation, fine),
        plate_number=violation.plate_number,
        other_province=violation.recording_division[:2] != home_province[:2],
        decision_number=fine.decision_number if fine else "",
        fine_id=fine.pk if fine else None,
        late_fee_fen=late,
        amount_due_fen=(fine.amount_fen + late)
        if fine is not None and fine.status == Fine.Status.UNPAID
        else 0,
        payment_due=rules.payment_due(fine.decided_on) if fine is not None else None,
    )


def my_violations_page(
    *,
    user: User,
    today: date,
    home_province: str,
    limit: int = 20,
    before: tuple[datetime, int] | None = None,
    status: str | None = None,
) -> tuple[list[ViolationView], tuple[datetime, int] | None]:
    """A page of the user's violations, newest first, with a keyset cursor (no OFFSET)."""
    qs = violations_of(user=user).select_related("fine").order_by("-occurred_at", "-id")
    if status in ("unhandled", "disputed", "handled", "cancelled"):
        qs = qs.filter(status=status)
    elif status == "paid":
        qs = qs.filter(fine__status=Fine.Status.PAID)
    elif status == "unpaid":
        qs = qs.filter(fine__status=Fine.Status.UNPAID)
    if before is not None:
        at, pk = before
        qs = qs.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=pk))
    rows = list(qs[: limit + 1])
    page = rows[:limit]
    cursor = (page[-1].occurred_at, page[-1].pk) if len(rows) > limit and page else None
    return [violation_view(v, today=today, home_province=home_province) for v in page], cursor


def my_violation_get(*, user: User, violation_id: int) -> Violation | None:
    return (
        violations_of(user=user).select_related("fine", "vehicle", "licence").filter(pk=violation_id).first()
    )


def fine_of(*, user: User, fine_id: int) -> Fine | None:
    """A fine the user may pay: of their vehicle or their licence."""
    return (
        Fine.objects.select_related("violation")
        .filter(pk=fine_id, violation__in=violations_of(user=user))
        .first()
    )


@dataclass(frozen=True)
class OnlineHandling:
    """Whether the person may handle a violation online (B16) now, computed before the form is
    shown: the refusal, if any, with the points now and after for an individual's licence."""

    allowed: bool
    refusal: DomainError | None
    points_now: int | None
    points_after: int | None


def online_handling(*, user: User, violation: Violation, today: date) -> OnlineHandling:
    """V1-V4 as far as they can be told before the form is filled in: the ticks "no dispute"
    and "drove myself" are taken as given, and an organisation's driver (named in the form)
    is checked on submission."""
    organisation = user.kind == User.Kind.ORGANISATION
    vehicle = violation.vehicle
    owns = vehicle is not None and (
        (user.person_id is not None and vehicle.owner_person_id == user.person_id)
        or (user.organisation_id is not None and vehicle.owner_organisation_id == user.organisation_id)
    )
    points_now: int | None = None
    codes = "A"
    if not organisation:
        own = DrivingLicence.objects.filter(holder_id=user.person_id).select_related("holder").first()
        if own is None and violation.status == Violation.Status.UNHANDLED:
            return OnlineHandling(
                allowed=False,
                refusal=NotAllowed(
                    "violations.no_licence",
                    "您名下没有驾驶证，不能网上处理，请携带实际驾驶人的驾驶证到违法处理窗口。",
                    "You hold no driving licence here, so it cannot be handled online; take the "
                    "driver's licence to a violation-processing counter.",
                ),
                points_now=None,
                points_after=None,
            )
        if own is not None:
            status = licence_status(own, today=today)
            points_now = status.points_in_cycle
            codes = "".join(s.code for s in status.statuses)
    refusal = rules.online_handling_refusal(
        rules.HandlingCase(
            source=rules.Source(violation.source),
            status=violation.status,
            actor_kind="organisation" if organisation else "individual",
            actor_owns_vehicle=owns,
            key_vehicle=bool(vehicle and registry_rules.is_key_vehicle(vehicle.kind, vehicle.use_nature)),
            licence_statuses=codes,
            points_in_cycle=points_now or 0,
            points=violation.points,
            no_dispute=True,
            drove_self=True,
        )
    )
    return OnlineHandling(
        allowed=refusal is None,
        refusal=refusal,
        points_now=points_now,
        points_after=None if points_now is None else points_now + violation.points,
    )


def home_counts(*, user: User) -> dict[str, int]:
    """The home page's banners, unhandled violations and unpaid fines, in one query."""
    counts = violations_of(user=user).aggregate(
        unhandled=Count("id", filter=Q(status=Violation.Status.UNHANDLED)),
        unpaid=Count("id", filter=Q(status=Violation.Status.HANDLED, fine__status=Fine.Status.UNPAID)),
    )
    return {"unhandled_violations": counts["unhandled"] or 0, "unpaid_fines": counts["unpaid"] or 0}


# ---------------------------------------------------------------- staff


def staff_scope(actor: Any, name: str) -> QuerySet[Violation]:
    """Violations the staff member may reach for the action: recorded inside the scope, or (V6)
    of a vehicle registered there, wherever recorded; nothing for a role without the action."""
    prefix = division_prefix_for(actor, name)
    if prefix is None:
        return Violation.objects.none()
    if prefix == "":
        return Violation.objects.all()
    return Violation.objects.filter(
        Q(recording_division__startswith=prefix) | Q(vehicle__division__startswith=prefix)
    )


def staff_division(actor: Any, name: str, violation: Violation) -> str | None:
    """The violation's division that puts it in the actor's scope for the action, or None."""
    prefix = division_prefix_for(actor, name)
    if prefix is None:
        return None
    vehicle_division = violation.vehicle.division if violation.vehicle_id and violation.vehicle else ""
    for code in (violation.recording_division, vehicle_division):
        if code and code.startswith(prefix):
            return code
    return None


# ---------------------------------------------------------------- a fine's documents (issue 11 item 4)

HANDLING_CHANNEL_ZH = {"online": "网上处理", "counter": "窗口处理", "on_site": "现场处罚"}
PAID_CHANNEL_ZH = {"online": "网上缴款", "counter": "窗口缴款", "other_platform": "其他渠道缴款"}
PLATFORM_NAME = "交管互联网服务平台"


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def _party(fine: Fine, viewer: User) -> tuple[str, str, str]:
    """The driver's name, ID number and classes: in full to the driver themselves, masked to
    anyone else (a vehicle's owner who did not drive, an organisation)."""
    licence = fine.violation.licence
    if licence is None:
        return "—", "—", "—"
    holder = licence.holder
    classes = "、".join(
        f"{code} {registry_rules.LICENCE_CLASSES[code].name_zh}"
        for code in registry_rules.split_classes(licence.classes)[0]
    )
    if viewer.person_id is not None and viewer.person_id == holder.pk:
        return holder.name, holder.id_number, classes
    return mask_name(holder.name), mask_id_number(holder.id_number), classes


def _unit_words(code: str) -> str:
    return f"{rules.division_words(code)}公安交通管理部门"


def decision_document(*, fine: Fine, viewer: User) -> DecisionDocument:
    """The penalty decision as the viewer may read it (a fine found through ``fine_of``)."""
    violation = fine.violation
    name, id_number, classes = _party(fine, viewer)
    version = rules.code_version(violation.code, on=rules.offence_day(violation.occurred_at))
    plate = registry_rules.PLATE_TYPES.get(violation.plate_type)
    paid = ""
    if fine.status == Fine.Status.PAID and fine.paid_at is not None:
        paid = (
            f"已于{timezone.localtime(fine.paid_at):%Y-%m-%d %H:%M}"
            f"{PAID_CHANNEL_ZH.get(fine.paid_channel, '')}{_yuan(fine.paid_total_fen)}"
        )
    return DecisionDocument(
        unit=_unit_words(fine.deciding_division),
        decision_number=fine.decision_number,
        party_name=name,
        party_id_number=id_number,
        licence_classes=classes or "—",
        plate_number=violation.plate_number,
        plate_type=plate.zh if plate is not None else "—",
        occurred_at=f"{timezone.localtime(violation.occurred_at):%Y-%m-%d %H:%M}",
        place=violation.place,
        offence=f"{version.name_zh}（违法代码{version.code}）",
        points=violation.points,
        fine=_yuan(fine.amount_fen),
        channel=HANDLING_CHANNEL_ZH.get(violation.handling_channel, "—"),
        decided_on=f"{fine.decided_on:%Y-%m-%d}",
        payment_due=f"{rules.payment_due(fine.decided_on):%Y-%m-%d}",
        paid=paid,
    )


def receipt_document(*, fine: Fine, viewer: User) -> ReceiptDocument | None:
    """The payment receipt of a paid fine, or None while it is unpaid."""
    if fine.status != Fine.Status.PAID or fine.paid_at is None:
        return None
    name, id_number, _classes = _party(fine, viewer)
    references = tuple(
        reference or number
        for number, reference in PaymentOrder.objects.filter(
            payable_id=fine.payable_id, state=PaymentOrder.State.PAID
        )
        .order_by("paid_at", "id")
        .values_list("order_number", "external_reference")
    )
    return ReceiptDocument(
        unit=_unit_words(fine.deciding_division),
        decision_number=fine.decision_number,
        party_name=name,
        party_id_number=id_number,
        plate_number=fine.violation.plate_number,
        fine=_yuan(fine.amount_fen),
        late_fee=_yuan(fine.late_fee_fen),
        total=_yuan(fine.paid_total_fen),
        paid_at=f"{timezone.localtime(fine.paid_at):%Y-%m-%d %H:%M}",
        channel=PAID_CHANNEL_ZH.get(fine.paid_channel, "—"),
        references=references or ("—",),
        issued_by=PLATFORM_NAME,
    )
