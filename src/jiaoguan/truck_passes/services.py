"""State changes of truck restrictions and pass codes (货车通行码, O1, O1a; seed 004 §四).

Each use case checks access first, then works in one transaction. Publishing locks every zone of
the city, so two publications cannot together leave the whole city closed (O1a). An application
locks its applicant's quota row and each truck's row (QuotaLock, in key order), so two
applications at once cannot both take the last code of a quota or give one truck two codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.errors import Conflict, NotFound, ValidationFailed
from jiaoguan.credentials.services import credential_verify
from jiaoguan.registry.models import Vehicle
from jiaoguan.registry.rules import add_months

from . import rules, selectors, tokens
from .models import BlacklistDecision, PassApplication, QuotaLock, RestrictionZone, TruckPass
from .selectors import APPLY, CHECK, MANAGE

MAX_DAYS_AHEAD = 30  # a code may start at most this many days after the application


def _refused(
    refusal: rules.Refusal, *, status: type[Conflict] | type[ValidationFailed] = Conflict
) -> Exception:
    return status(refusal.code, refusal.zh, refusal.en)


def _zone_not_found() -> NotFound:
    return NotFound("truck_passes.zone.not_found", "没有这个禁限行区域。", "No such restriction zone.")


# ---------------------------------------------------------------- the city's rules (O1a)


@dataclass(frozen=True)
class ZoneInput:
    name: str
    kind: str
    individual_road: bool
    roads: str
    vehicle_kinds: list[str]
    windows: str  # one closed window a line: "1-5 07:00-09:00"


def _checked_zone(data: ZoneInput) -> list[rules.Window]:
    if not data.name.strip() or not data.roads.strip():
        raise ValidationFailed(
            "truck_passes.rule.incomplete",
            "请填写区域名称和范围（道路）。",
            "Give the zone's name and its roads.",
        )
    kinds = [k for k in data.vehicle_kinds if k in rules.TRUCK_KINDS]
    if not kinds or len(kinds) != len(data.vehicle_kinds):
        raise ValidationFailed(
            "truck_passes.rule.vehicle_kinds",
            "请选择限行的货车车型。",
            "Choose the kinds of truck restricted.",
        )
    windows = rules.parse_windows(data.windows)
    if isinstance(windows, rules.Refusal):
        raise _refused(windows, status=ValidationFailed)
    refusal = rules.zone_refusal(kind=data.kind, individual_road=data.individual_road, windows=windows)
    if refusal:
        raise _refused(refusal, status=ValidationFailed)
    return windows


def _city_check(division: str, changed: RestrictionZone) -> None:
    """O1a for the city as it would be published: lock every zone of the city, then check."""
    zones = list(RestrictionZone.objects.select_for_update().filter(division=division).order_by("pk"))
    published = [
        z.closed() for z in zones if z.state == RestrictionZone.State.PUBLISHED and z.pk != changed.pk
    ]
    refusal = rules.city_refusal([*published, changed.closed()])
    if refusal:
        raise _refused(refusal)


def zone_save(
    *, actor: Any, data: ZoneInput, zone_id: int | None = None, division: str | None = None,
    request: HttpRequest | None = None,
) -> RestrictionZone:  # fmt: skip
    """Create a draft zone or change one; a published zone changed stays published, so the city's
    check runs again. Every change raises the version. 422 with the O1a reason when refused."""
    city = str(division or getattr(actor, "jurisdiction", "") or "")
    if zone_id is None:
        require(actor, MANAGE, division=city)
    windows = _checked_zone(data)
    with transaction.atomic():
        if zone_id is None:
            zone = RestrictionZone(division=city, changed_by=actor)
        else:
            zone = RestrictionZone.objects.select_for_update().filter(pk=zone_id).first()  # type: ignore[assignment]
            if zone is None or zone.state == RestrictionZone.State.WITHDRAWN:
                raise _zone_not_found()
            require(actor, MANAGE, division=zone.division)
            zone.version += 1
            zone.changed_by = actor
        zone.name, zone.kind, zone.individual_road = data.name.strip(), data.kind, data.individual_road
        zone.roads, zone.vehicle_kinds = data.roads.strip(), list(data.vehicle_kinds)
        zone.windows = rules.windows_data(windows)
        if zone.state == RestrictionZone.State.PUBLISHED:
            _city_check(zone.division, zone)
        if (
            RestrictionZone.objects.filter(division=zone.division, name=zone.name)
            .exclude(state=RestrictionZone.State.WITHDRAWN)
            .exclude(pk=zone.pk)
            .exists()
        ):
            raise Conflict(
                "truck_passes.rule.name_taken",
                "本市已有同名区域。",
                "The city already has a zone of that name.",
            )
        zone.save()
        audit_record(actor=actor, action="change" if zone_id else "create", subject=zone,
                     summary=f"truck zone {zone.name} v{zone.version}", request=request)  # fmt: skip
    return zone


def zone_publish(*, actor: Any, zone_id: int, request: HttpRequest | None = None) -> RestrictionZone:
    """Publish a draft zone (O1a checked again for the zone and for the whole city; 409 refused)."""
    require(actor, MANAGE)
    with transaction.atomic():
        zone = RestrictionZone.objects.filter(pk=zone_id).first()
        if zone is None or zone.state == RestrictionZone.State.WITHDRAWN:
            raise _zone_not_found()
        require(actor, MANAGE, division=zone.division)
        _city_check(zone.division, zone)
        zone.refresh_from_db()
        refusal = rules.zone_refusal(
            kind=zone.kind, individual_road=zone.individual_road, windows=zone.closed()
        )
        if refusal:
            raise _refused(refusal)
        if zone.state == RestrictionZone.State.PUBLISHED:
            return zone
        zone.state, zone.published_at, zone.changed_by = (
            RestrictionZone.State.PUBLISHED,
            timezone.now(),
            actor,
        )
        zone.save(update_fields=["state", "published_at", "changed_by", "changed_at"])
        audit_record(actor=actor, action="change", subject=zone, summary=f"truck zone published v{zone.version}",
                     request=request)  # fmt: skip
    return zone


def zone_withdraw(*, actor: Any, zone_id: int, request: HttpRequest | None = None) -> RestrictionZone:
    """Withdraw a zone: the restriction ends, so its codes are no longer needed there."""
    require(actor, MANAGE)
    with transaction.atomic():
        zone = RestrictionZone.objects.select_for_update().filter(pk=zone_id).first()
        if zone is None or zone.state == RestrictionZone.State.WITHDRAWN:
            raise _zone_not_found()
        require(actor, MANAGE, division=zone.division)
        zone.state, zone.changed_by = RestrictionZone.State.WITHDRAWN, actor
        zone.save(update_fields=["state", "changed_by", "changed_at"])
        audit_record(
            actor=actor, action="change", subject=zone, summary="truck zone withdrawn", request=request
        )
    return zone


# ---------------------------------------------------------------- applications (O1)


@dataclass
class Decision:
    """What an application gave: the application, its codes, and the blacklisting found."""

    application: PassApplication
    passes: list[TruckPass] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)


def normalise_plate(text: str) -> str:
    return re.sub(r"[\s·.\-]", "", (text or "")).upper()


def _applicant(actor: Any) -> tuple[str, int | None, int | None]:
    if getattr(actor, "kind", "") == "organisation":
        return f"org:{actor.organisation_id}", None, actor.organisation_id
    return f"person:{actor.person_id}", actor.person_id, None


def _lock(keys: list[str]) -> None:
    for key in sorted(set(keys)):
        QuotaLock.objects.get_or_create(key=key)
    list(QuotaLock.objects.select_for_update().filter(key__in=sorted(set(keys))).order_by("key"))


def _verdicts(
    *, vehicles: list[Vehicle], company: bool, as_of: date
) -> tuple[rules.BlacklistVerdict | None, dict[int, rules.BlacklistVerdict]]:
    """The blacklist on ``as_of``: the company's (its whole fleet's events) and each truck's."""
    since = add_months(as_of, -rules.LOOKBACK_MONTHS)
    fleet = (
        list(Vehicle.objects.filter(owner_organisation_id=vehicles[0].owner_organisation_id))
        if company
        else []
    )
    ids = sorted({v.pk for v in vehicles} | {v.pk for v in fleet})
    violations = selectors.violation_days(vehicle_ids=ids, since=since)
    accidents = selectors.accident_days(vehicle_ids=ids, since=since)
    per_vehicle = {
        v.pk: rules.blacklist_verdict(
            subject=rules.VEHICLE, as_of=as_of, violations_on=violations[v.pk], accidents_on=accidents[v.pk]
        )
        for v in vehicles
    }
    company_verdict = None
    if company:
        company_verdict = rules.blacklist_verdict(
            subject=rules.COMPANY, as_of=as_of,
            violations_on=[d for pk in ids for d in violations[pk]], accidents_on=[d for pk in ids for d in accidents[pk]],
        )  # fmt: skip
    return company_verdict, per_vehicle


def _record_blacklisting(
    application: PassApplication,
    verdict: rules.BlacklistVerdict,
    *,
    as_of: date,
    vehicle: Vehicle | None = None,
) -> None:
    assert verdict.rule is not None
    BlacklistDecision.objects.create(
        subject=verdict.subject, organisation_id=application.organisation_id if vehicle is None else None,
        vehicle=vehicle, application=application, division=application.zone.division, as_of=as_of,
        rule_version=verdict.rule.version, violations=verdict.violations, accidents=verdict.accidents,
        max_codes=verdict.rule.max_codes, max_days=verdict.rule.max_days,
        reason_zh=verdict.reason_zh[:300], reason_en=verdict.reason_en[:400],
    )  # fmt: skip


def pass_apply(
    *, actor: Any, zone_id: int, plates: list[str], start: str, end: str, valid_from: date, days: int,
    today: date | None = None,
) -> Decision:  # fmt: skip
    """Apply for codes for one or more trucks in a published zone (O1). Issued at once within the
    rules and the quota; a blacklisted company or truck gets fewer codes and shorter validity, the
    reason recorded and returned. Refused with nothing saved (422/409/404) when no code can be
    issued: a zone not published, a window outside its closed windows, a truck not the actor's."""
    require(actor, APPLY)
    today = today or timezone.localdate()
    key, person_id, organisation_id = _applicant(actor)
    zone = selectors.published_zones().filter(pk=zone_id).first()
    if zone is None:
        raise NotFound(
            "truck_passes.zone.not_published",
            "该区域不是本市公布的货车禁限行区域，无法申领通行码。",
            "That zone is not one of the city's published truck restriction zones; no code can be issued for it.",
        )
    first, last = rules.minutes_of(start), rules.minutes_of(end)
    if first is None or last is None:
        raise ValidationFailed(
            "truck_passes.window.format", "通行时段应为“07:00”这样的时间。", 'Times are written like "07:00".'
        )
    refusal = rules.pass_window_refusal(windows=zone.closed(), start=first, end=last)
    if refusal:
        raise _refused(refusal, status=ValidationFailed)
    if not 1 <= days <= rules.MAX_PASS_DAYS or not today <= valid_from <= today + timedelta(
        days=MAX_DAYS_AHEAD
    ):
        raise ValidationFailed(
            "truck_passes.dates",
            f"有效期自今日起{MAX_DAYS_AHEAD}日内开始，申请天数为1至{rules.MAX_PASS_DAYS}天。",
            f"A code starts within {MAX_DAYS_AHEAD} days from today and lasts 1 to {rules.MAX_PASS_DAYS} days.",
        )
    wanted = list(dict.fromkeys(normalise_plate(p) for p in plates if normalise_plate(p)))
    if not wanted or len(wanted) > rules.MAX_VEHICLES_PER_APPLICATION:
        raise ValidationFailed(
            "truck_passes.vehicles",
            f"请选择1至{rules.MAX_VEHICLES_PER_APPLICATION}辆货车。",
            f"Choose 1 to {rules.MAX_VEHICLES_PER_APPLICATION} trucks.",
        )
    mine = {v.plate_number: v for v in selectors.eligible_vehicles(actor=actor)}
    strangers = [p for p in wanted if p not in mine]
    if strangers:
        raise ValidationFailed(
            "truck_passes.not_your_truck",
            f"{'、'.join(strangers)}不是您名下（或备案给您且您的准驾车型可以驾驶）的货车。",
            f"{', '.join(strangers)}: not a truck you own, or filed to you with a licence class that may drive it.",
        )
    vehicles = [mine[p] for p in wanted]
    company_verdict, vehicle_verdicts = _verdicts(
        vehicles=vehicles, company=organisation_id is not None, as_of=today
    )
    base_quota = rules.COMPANY_QUOTA if organisation_id else rules.PERSON_QUOTA
    company_limits = (
        rules.limits(company_verdict) if company_verdict else rules.Limits(None, rules.MAX_PASS_DAYS)
    )
    weekdays = sorted(rules.window_days(zone.closed(), first, last))
    with transaction.atomic():
        _lock([key, *(f"vehicle:{v.pk}" for v in vehicles)])
        reasons = [v.reason_zh for v in [company_verdict, *vehicle_verdicts.values()] if v and v.blacklisted]
        reasons_en = [
            v.reason_en for v in [company_verdict, *vehicle_verdicts.values()] if v and v.blacklisted
        ]
        application = PassApplication.objects.create(
            applicant=actor, person_id=person_id, organisation_id=organisation_id, zone=zone, start=first, end=last,
            valid_from=valid_from, days_asked=days, reason_zh="；".join(reasons)[:300],
            reason_en="; ".join(reasons_en)[:400],
        )  # fmt: skip
        decision = Decision(application)
        quota = base_quota if company_limits.max_codes is None else min(base_quota, company_limits.max_codes)
        held = selectors.in_force(selectors.my_passes(actor=actor), today).count()
        outcome: list[dict[str, Any]] = []
        for vehicle in vehicles:
            verdict = vehicle_verdicts[vehicle.pk]
            vehicle_limits = rules.limits(verdict)
            active = selectors.in_force(TruckPass.objects.filter(vehicle=vehicle), today)
            row: dict[str, Any] = {"plate": vehicle.plate_number, "issued": False, "zh": "", "en": ""}
            if vehicle.kind not in zone.vehicle_kinds:
                row.update(
                    zh="该车型不在本区域限行范围内，无需通行码。",
                    en="This kind of truck is not restricted in the zone; no code is needed.",
                )
            elif active.filter(zone=zone).exists():
                row.update(
                    zh="该车已持有本区域有效的通行码。",
                    en="This truck already holds a code in force for the zone.",
                )
            elif vehicle_limits.max_codes is not None and active.count() >= vehicle_limits.max_codes:
                row.update(zh=f"黑名单车辆最多持有{vehicle_limits.max_codes}个有效通行码。",
                           en=f"A blacklisted truck holds at most {vehicle_limits.max_codes} code(s) in force.")  # fmt: skip
            elif held >= quota:
                row.update(
                    zh=f"已达有效通行码数量上限（{quota}个）。",
                    en=f"The limit of {quota} codes in force is reached.",
                )
            else:
                max_days = min(company_limits.max_days, vehicle_limits.max_days)
                limited = (company_verdict is not None and company_verdict.blacklisted) or verdict.blacklisted
                truck_pass = TruckPass.objects.create(
                    application=application, vehicle=vehicle, plate_number=str(vehicle.plate_number),
                    vehicle_kind=vehicle.kind, person_id=person_id, organisation_id=organisation_id, zone=zone,
                    zone_version=zone.version, division=zone.division, start=first, end=last, weekdays=weekdays,
                    valid_from=valid_from, valid_until=valid_from + timedelta(days=min(days, max_days) - 1),
                    blacklisted=limited,
                )  # fmt: skip
                held += 1
                decision.passes.append(truck_pass)
                row.update(issued=True, code=truck_pass.number)
                if verdict.blacklisted:
                    _record_blacklisting(application, verdict, as_of=today, vehicle=vehicle)
            outcome.append(row)
        if company_verdict is not None and company_verdict.blacklisted:
            _record_blacklisting(application, company_verdict, as_of=today)
        if not decision.passes:
            first_refusal = next(r for r in outcome if not r["issued"])
            raise Conflict("truck_passes.none_issued", str(first_refusal["zh"]), str(first_refusal["en"]),
                           detail={"outcome": outcome})  # fmt: skip
        application.outcome = outcome
        application.save(update_fields=["outcome"])
        decision.refused = [r for r in outcome if not r["issued"]]
    return decision


def pass_cancel(*, actor: Any, pass_id: int, reason: str = "") -> TruckPass:
    """The holder cancels a code (the vehicle was sold, the delivery ended); its QR fails at once."""
    require(actor, APPLY)
    with transaction.atomic():
        truck_pass = (
            selectors.my_passes(actor=actor).select_for_update(of=("self",)).filter(pk=pass_id).first()
        )
        if truck_pass is None:
            raise NotFound("truck_passes.pass.not_found", "没有这个通行码。", "No such pass code.")
        if truck_pass.revoked_at is None:
            truck_pass.revoked_at, truck_pass.revoke_reason = timezone.now(), (reason or "持有人注销")[:200]
            truck_pass.save(update_fields=["revoked_at", "revoke_reason"])
    return truck_pass


# ---------------------------------------------------------------- the roadside check (O1)


@dataclass(frozen=True)
class CheckRow:
    truck_pass: TruckPass
    state: str  # valid, not_yet, expired, revoked
    covers_now: bool
    restricted_now: bool  # the zone's closed window is running now


@dataclass(frozen=True)
class CheckResult:
    plate: str
    rows: list[CheckRow]
    verdict_reason: str = ""  # a QR that failed verification: the verifier's reason


def _row(truck_pass: TruckPass, now: datetime) -> CheckRow:
    local = timezone.localtime(now)
    minute, weekday = local.hour * 60 + local.minute, local.isoweekday()
    state = tokens.pass_state(truck_pass, today=local.date())
    zone = truck_pass.zone
    restricted = zone.state == RestrictionZone.State.PUBLISHED and any(
        weekday in w.days and w.start <= minute < w.end for w in zone.closed()
    )
    covers = (
        state == "valid" and weekday in truck_pass.weekdays and truck_pass.start <= minute < truck_pass.end
    )
    return CheckRow(truck_pass, state, covers, restricted)


def roadside_check(
    *, actor: Any, text: str, now: datetime | None = None, request: HttpRequest | None = None
) -> CheckResult:
    """Check a truck at the roadside by a scanned TK1 QR or a typed plate: whether a code covers it
    now (zone, window, dates). Every pass shown is audited."""
    require(actor, CHECK)
    now = now or timezone.now()
    text = (text or "").strip()
    if not text or len(text) > 4096:
        raise ValidationFailed(
            "truck_passes.check.empty", "请扫描通行码二维码或输入号牌号码。", "Scan the QR or type the plate."
        )
    if text.upper().startswith("TK1:"):
        verdict = credential_verify(text=text)
        found = TruckPass.objects.select_related("zone").filter(pk=int(verdict.credential_id or 0)).first() \
            if verdict.kind == "TK1" and (verdict.credential_id or "").isdigit() else None  # fmt: skip
        if found is None:
            return CheckResult("", [], verdict_reason=verdict.message_zh if verdict.reason != "ok" else "")
        require(actor, CHECK, division=found.division)
        rows = [_row(found, now)]
        plate = found.plate_number
        reason = "" if verdict.valid else verdict.message_zh
    else:
        plate = normalise_plate(text)
        if not 5 <= len(plate) <= 10:
            raise ValidationFailed(
                "truck_passes.check.plate", "号牌号码格式不正确。", "That is not a plate number."
            )
        today = timezone.localtime(now).date()
        passes = list(selectors.passes_for_plate(plate=plate, today=today)[: selectors.LIST_LIMIT])
        passes = [p for p in passes if _inside(actor, p.division)]
        rows = [_row(p, now) for p in passes]
        reason = ""
    with transaction.atomic():
        for row in rows:
            audit_record(actor=actor, action="view", subject=row.truck_pass,
                         summary=f"roadside check {row.truck_pass.number}", request=request)  # fmt: skip
    return CheckResult(plate, rows, verdict_reason=reason)


def _inside(actor: Any, division: str) -> bool:
    prefix = selectors.division_prefix_for(actor, CHECK)
    return prefix is not None and division.startswith(prefix)
