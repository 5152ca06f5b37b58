"""State changes of plate pre-selection (B19, P1-P5; issue 17): pools, dealers' pre-registrations,
draws, self-composed holds, choices, registration at the DMV, and the day's seeds.

Lock order (every service here, so two never wait on each other in a cycle): the pool row, then
the selection row, then the pool's number rows, then the registry. Every change of a pool's
numbers is made under the pool row's lock, takes the pool's next sequence number and writes one
``PoolEvent``: the pool's log is complete and ordered, and a draw can be replayed from it
(``draws.replay``). Holds end by time, not by a sweeper: a number whose hold or quarantine has
ended counts as free in the very next draw (P5).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from jiaoguan.accounts import throttles
from jiaoguan.accounts.rules import Limit, check_business_allowed
from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import is_within
from jiaoguan.core.errors import Conflict, NotAllowed, NotFound, Throttled, ValidationFailed
from jiaoguan.core.identifiers import (
    mask_id_number,
    parse_plate,
    validate_citizen_id,
    validate_mobile,
    validate_uscc,
    validate_vin,
)
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.models import Organisation, Person, Vehicle
from jiaoguan.registry.rules import UseNature, VehicleKind
from jiaoguan.registry.temporary_plates import OFFICE_PREFIXES

from . import draws, rules
from .models import (
    DrawDay,
    PlatePool,
    PlateSelection,
    PoolBatch,
    PoolEvent,
    PoolNumber,
    PoolOpening,
    PreRegistration,
)

logger = logging.getLogger(__name__)

SELECT = "plates.own.select"
PREREGISTER = "plates.preregistration.create"
POOL_MANAGE = "plates.pool.manage"
REGISTER = "plates.selection.register"
MONITOR = "plates.selection.view"
BUSINESS = "B19"

S = PlateSelection.State
N = PoolNumber.State

# Per account and per client limits on drawing and composing (issue 17 §5): a buyer tries a few
# numbers; a script fishing for "good" ones tries hundreds.
ACCOUNT_LIMITS = (Limit(10, timedelta(minutes=1)), Limit(40, timedelta(hours=1)))
CLIENT_LIMITS = (Limit(120, timedelta(minutes=1)), Limit(2000, timedelta(hours=1)))
DEALER_LIMITS = (Limit(600, timedelta(minutes=1)),)


# ---------------------------------------------------------------- refusals and helpers


def _not_found(what: str) -> NotFound:
    words = {
        "selection": ("没有这条选号记录。", "No such plate selection."),
        "pool": ("没有这个号源。", "No such plate pool."),
        "preregistration": ("没有这条新车预录入信息。", "No such vehicle pre-registration."),
    }[what]
    return NotFound(f"plates.{what}_not_found", *words)


def _throttled(limit: Limit, wait: int) -> Throttled:
    minutes = max(1, (wait + 59) // 60)
    return Throttled(
        "plates.too_many_attempts",
        f"选号操作过于频繁，请{minutes}分钟后再试。",
        f"Too many plate selection attempts; try again in {minutes} minutes.",
        retry_after=wait,
    )


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment)


def _new_number(prefix: str, now: datetime) -> str:
    return f"{prefix}{_local(now):%Y%m%d}{secrets.randbelow(10**10):010d}"


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def office_of(division: str) -> str:
    """The plate office prefix (发牌机关, 豫Q) serving a division."""
    prefix = OFFICE_PREFIXES.get((division or "")[:4])
    if prefix is None:
        raise Conflict(
            "plates.no_office",
            f"行政区划 {division or '未填写'} 没有本平台的发牌机关。",
            f"Division {division or 'none'} has no plate office on this platform.",
        )
    return prefix


def pool_rules(pool: PlatePool) -> rules.PoolRules:
    return rules.pool_rules_parse(pool.rules | {"plate_type": pool.plate_type})


def masked_owner(*, person: Person | None, organisation: Organisation | None) -> str:
    if person is not None:
        return mask_id_number(person.id_number)
    return mask_id_number(organisation.uscc if organisation is not None else "")


# ---------------------------------------------------------------- the day's seed and the pool log


def draw_day_ensure(day: date) -> DrawDay:
    """The day's seed, drawn and committed (its SHA-256 published) if it is not yet."""
    existing = DrawDay.objects.filter(day=day).first()
    if existing is not None:
        return existing
    seed = draws.new_seed()
    try:
        with transaction.atomic():
            return DrawDay.objects.create(day=day, seed=seed, commitment=draws.commitment_of(seed))
    except IntegrityError:
        return DrawDay.objects.get(day=day)


def draw_days_commit(*, now: datetime | None = None) -> int:
    """Commit today's and tomorrow's seeds in advance, so a morning's commitment precedes its draws."""
    today = timezone.localdate(now or timezone.now())
    before = DrawDay.objects.filter(day__in=[today, today + timedelta(days=1)]).count()
    draw_day_ensure(today)
    draw_day_ensure(today + timedelta(days=1))
    return 2 - before


def draw_days_reveal(*, now: datetime | None = None) -> int:
    """Reveal the seeds of the days that have ended (the night after): their draws can be replayed."""
    now = now or timezone.now()
    return DrawDay.objects.filter(day__lt=timezone.localdate(now), revealed_at__isnull=True).update(
        revealed_at=now
    )


@dataclass
class _Change:
    """A pool locked for a change: the time, day and sequence the change is logged under."""

    pool: PlatePool
    at: datetime
    day: DrawDay
    sequence: int


def _pool_locked(pool_id: int) -> PlatePool:
    """The pool's row, locked until the transaction ends, with the day of its latest opening."""
    pool = (
        PlatePool.objects.select_for_update(of=("self",))
        .select_related("current_day")
        .filter(pk=pool_id)
        .first()
    )
    if pool is None:
        raise _not_found("pool")
    return pool


def _opening_numbers(pool: PlatePool) -> list[list[Any]]:
    rows = (
        PoolNumber.objects.filter(pool=pool)
        .exclude(state__in=[N.REGISTERED, N.WITHDRAWN])
        .order_by("position")
        .values_list("position", "number", "state", "available_at", "holder__number")
    )
    return [
        [position, number, state, draws.stamp(until) if until else None, holder]
        for position, number, state, until, holder in rows
    ]


def _begin(pool: PlatePool, now: datetime | None = None) -> _Change:
    """Start a logged change of a locked pool: a time never before the pool's last change (the log's
    order is its time order), the day's seed, and the day's opening written before its first change.

    The pool row remembers the day of its latest opening, so a change on a day already opened costs
    no query here: under a rush every query made while the pool is locked is paid by every draw.
    """
    at = now or timezone.now()
    if pool.last_event_at is not None and at <= pool.last_event_at:
        at = pool.last_event_at + timedelta(microseconds=1)
    local_day = timezone.localdate(at)
    day = pool.current_day
    if day is None or day.day != local_day:
        day = draw_day_ensure(local_day)
        if not PoolOpening.objects.filter(day=day, pool=pool).exists():
            PoolOpening.objects.create(
                day=day, pool=pool, sequence=pool.sequence, span=pool.position_span,
                numbers=_opening_numbers(pool),
            )  # fmt: skip
        pool.current_day = day
    return _Change(pool=pool, at=at, day=day, sequence=pool.sequence + 1)


def _log(
    change: _Change,
    kind: str,
    numbers: Iterable[str],
    *,
    selection: PlateSelection | None = None,
    until: datetime | None = None,
    inputs: str = "",
    positions: list[list[Any]] | None = None,
    actor: Any = None,
    reason: str = "",
) -> PoolEvent:
    pool = change.pool
    listed = list(numbers)
    event = PoolEvent.objects.create(
        pool=pool, sequence=change.sequence, day=change.day, at=change.at, kind=kind, selection=selection,
        selection_number=selection.number if selection else "", masked_user=selection.masked_user if selection else "",
        numbers=("," + ",".join(listed) + ",") if listed else "", positions=positions, until=until, inputs=inputs,
        actor=actor if getattr(actor, "pk", None) else None, reason=reason[:200],
    )  # fmt: skip
    pool.sequence = change.sequence
    pool.last_event_at = change.at
    pool.save(update_fields=["sequence", "last_event_at", "position_span", "current_day"])
    return event


def _available_q(at: datetime) -> Q:
    """The SQL twin of ``draws.available``: free, or held or selected with the time run out."""
    return Q(state=N.FREE) | Q(state__in=[N.HELD, N.SELECTED], available_at__lte=at)


# ---------------------------------------------------------------- pools (staff)


def pool_create(
    *, actor: Any, division: str, rules_data: Mapping[str, Any], request: Any = None
) -> PlatePool:
    """Open a pool for the office serving ``division`` and a plate type, with its rules as data."""
    require(actor, POOL_MANAGE, division=division)
    prefix = office_of(division)
    parsed = rules.pool_rules_parse(rules_data)
    office_division = division[:4] + "00"
    exists = Conflict(
        "plates.pool_exists",
        f"{prefix} 的{rules.PLATE_TYPES[parsed.plate_type][0]}号源已经存在，请修改其规则或追加号码。",
        f"{prefix} already has a pool of {rules.PLATE_TYPES[parsed.plate_type][1]}s; change its rules or add numbers.",
    )
    if PlatePool.objects.filter(prefix=prefix, plate_type=parsed.plate_type).exists():
        raise exists
    try:
        with transaction.atomic():
            pool = PlatePool.objects.create(
                prefix=prefix, plate_type=parsed.plate_type, division=office_division, rules=parsed.as_data(),
                salt=secrets.token_hex(16),
            )  # fmt: skip
            audit_record(
                actor=actor,
                action="create",
                subject=pool,
                summary=f"新建号源 pool {pool.key}",
                request=request,
            )
    except IntegrityError:
        raise exists from None  # two clerks opening the same pool at once: the unique constraint decided
    return pool


def pool_rules_change(
    *, actor: Any, pool_id: int, rules_data: Mapping[str, Any], request: Any = None
) -> PlatePool:
    """Change a pool's rules; numbers already in the pool stay, new ones and self-composed ones obey them."""
    require(actor, POOL_MANAGE)
    with transaction.atomic():
        pool = _pool_locked(pool_id)
        require(actor, POOL_MANAGE, division=pool.division)
        parsed = rules.pool_rules_parse(dict(rules_data) | {"plate_type": pool.plate_type})
        before = pool.rules
        pool.rules = parsed.as_data()
        pool.save(update_fields=["rules"])
        audit_record(
            actor=actor, action="change", subject=pool, request=request,
            summary=f"修改号源规则 pool {pool.key} rules: {_rules_diff(before, pool.rules)}"[:255],
        )  # fmt: skip
    return pool


def _rules_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    changed = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    return ", ".join(changed) or "none"


def pool_numbers_add(
    *,
    actor: Any,
    pool_id: int,
    patterns: str | Iterable[str] | None = None,
    numbers_text: str | None = None,
    request: Any = None,
) -> PoolBatch:
    """Add numbers to a pool: generated from patterns, or imported as a list (one per line).

    Every number is checked as a GA 36 plate of the pool's type and against the pool's rules;
    numbers already in some pool are skipped. The addition is one log entry with the new
    numbers' positions (hashed order, see ``rules.positions``).
    """
    require(actor, POOL_MANAGE)
    with transaction.atomic():
        pool = _pool_locked(pool_id)
        require(actor, POOL_MANAGE, division=pool.division)
        parsed = pool_rules(pool)
        skipped = 0
        if numbers_text is not None:
            method, pattern_text = PoolBatch.Method.IMPORT, ""
            lines = [line.strip() for line in numbers_text.splitlines() if line.strip()]
            if not lines or len(lines) > rules.MAX_BATCH:
                raise ValidationFailed(
                    "plates.import.size",
                    f"请导入 1 至 {rules.MAX_BATCH} 个号码，每行一个。",
                    f"Import 1 to {rules.MAX_BATCH} numbers, one per line.",
                    field="numbers",
                )
            wanted: list[str] = []
            for index, line in enumerate(lines, start=1):
                try:
                    wanted.append(rules.check_number(pool.prefix, parsed, line))
                except ValidationFailed as problem:
                    raise ValidationFailed(
                        problem.code, f"第 {index} 行：{problem.message_zh}", f"Line {index}: {problem.message_en}",
                        field="numbers", detail={"line": index},
                    ) from None  # fmt: skip
        else:
            method = PoolBatch.Method.GENERATE
            pattern_list = rules.words(patterns) if patterns is not None else list(parsed.patterns)
            pattern_text = ",".join(pattern_list)
            wanted = rules.generate(pool.prefix, parsed, pattern_list)
        wanted = list(dict.fromkeys(wanted))
        existing: set[str] = set()
        for start in range(0, len(wanted), 2000):
            existing.update(
                PoolNumber.objects.filter(number__in=wanted[start : start + 2000]).values_list(
                    "number", flat=True
                )
            )
        new = [n for n in wanted if n not in existing]
        skipped += len(wanted) - len(new)
        batch = PoolBatch.objects.create(
            pool=pool, method=method, patterns=pattern_text[:400], rules=pool.rules, added=len(new),
            skipped=skipped, created_by=actor if getattr(actor, "pk", None) else None,
        )  # fmt: skip
        if new:
            change = _begin(pool)
            placed = rules.positions(new, start=pool.position_span, salt=pool.salt)
            PoolNumber.objects.bulk_create(
                [
                    PoolNumber(pool=pool, number=number, position=position, batch=batch)
                    for position, number in placed
                ],
                batch_size=2000,
            )
            pool.position_span += len(placed)
            _log(
                change, draws.IMPORT, [], positions=[[p, n] for p, n in placed], actor=actor,
                reason=f"batch {batch.pk}",
            )  # fmt: skip
        audit_record(
            actor=actor, action="create", subject=batch, request=request,
            summary=f"号源 {pool.key} {method}: +{len(new)}, skipped {skipped}",
        )  # fmt: skip
    return batch


def pool_numbers_withdraw(
    *, actor: Any, pool_id: int, numbers: Iterable[str], reason: str, request: Any = None
) -> list[str]:
    """Take free numbers out of a pool (reserved for another channel, a plate withdrawn from use)."""
    reason = (reason or "").strip()
    if not 4 <= len(reason) <= 100:
        raise ValidationFailed(
            "plates.withdraw.reason", "请填写收回原因（4至100个字）。", "Give the reason (4 to 100 characters).",
            field="reason",
        )  # fmt: skip
    require(actor, POOL_MANAGE)
    with transaction.atomic():
        pool = _pool_locked(pool_id)
        require(actor, POOL_MANAGE, division=pool.division)
        wanted = list(dict.fromkeys(_checked_numbers(pool, numbers)))
        if not 1 <= len(wanted) <= 100:
            raise ValidationFailed(
                "plates.withdraw.size", "一次收回 1 至 100 个号码。", "Withdraw 1 to 100 numbers at a time.",
                field="numbers",
            )  # fmt: skip
        change = _begin(pool)
        rows = {
            row.number: row
            for row in PoolNumber.objects.select_for_update().filter(pool=pool, number__in=wanted)
        }
        for number in wanted:
            row = rows.get(number)
            if row is None or not draws.available(row.state, row.available_at, change.at):
                raise Conflict(
                    "plates.withdraw.not_free",
                    f"号码 {number} 不在号源中或不是可选状态，不能收回。",
                    f"{number} is not a free number of this pool and cannot be withdrawn.",
                    field="numbers",
                )
        PoolNumber.objects.filter(pk__in=[r.pk for r in rows.values()]).update(
            state=N.WITHDRAWN, holder=None, available_at=None
        )
        _log(change, draws.WITHDRAW, wanted, actor=actor, reason=reason)
        audit_record(
            actor=actor, action="change", subject=pool, reason=reason, request=request,
            summary=f"收回号码 withdrawn from {pool.key}: {','.join(wanted)}"[:255],
        )  # fmt: skip
    return wanted


def _checked_numbers(pool: PlatePool, numbers: Iterable[str] | str) -> list[str]:
    """Numbers typed by staff (whole, or the serial alone), as stored; only their shape is checked,
    since a number taken out may predate the pool's present rules."""
    items = numbers.split() if isinstance(numbers, str) else list(numbers)
    out = []
    for item in items:
        text = item.strip()
        if text:
            plate = parse_plate(text if not text[:1].isascii() else pool.prefix + text)
            if plate.province + plate.office != pool.prefix:
                raise ValidationFailed(
                    "plates.number.office", f"号码 {plate.number} 不属于 {pool.prefix}。",
                    f"{plate.number} is not a number of {pool.prefix}.", field="numbers",
                )  # fmt: skip
            out.append(plate.number)
    return out


# ---------------------------------------------------------------- dealers' pre-registrations (P2)


def dealer_of(*, actor: Any) -> Organisation:
    """The actor's car-dealer organisation; the refusal names this business, not the registry's B18."""
    try:
        return registry_services.dealer_of(actor=actor)
    except NotAllowed:
        raise NotAllowed(
            "accounts.car_dealer_only",
            "“新车预录入”仅限在窗口注册的汽车销售商（4S店）单位用户办理。",
            "'Vehicle pre-registration' is only for car-dealer organisation users registered at the counter.",
        ) from None


def _buyer_id(text: str) -> str:
    """The buyer's citizen ID (GB 11643), or an organisation's USCC (GB 32100)."""
    try:
        return validate_citizen_id(text).number
    except ValidationFailed as not_citizen:
        try:
            return validate_uscc(text)
        except ValidationFailed:
            raise ValidationFailed(
                "plates.prereg.buyer_id",
                not_citizen.message_zh.rstrip("。") + "；单位购车请填写统一社会信用代码。",
                not_citizen.message_en + " An organisation buyer gives its unified social credit code.",
                field="buyer_id_number",
            ) from None


def preregistration_create(*, actor: Any, data: Mapping[str, Any], request: Any = None) -> PreRegistration:
    """A dealer records a new car sold (新车注册登记信息): VIN, model, the buyer's ID number and mobile.

    Only small passenger cars (小型汽车, P2), with their plate type (02, or 52 for new energy). The
    VIN must not be registered yet nor recorded before.
    """
    require(actor, PREREGISTER)
    dealer = dealer_of(actor=actor)
    throttles.throttle_take_cached(
        scope="plates.prereg",
        key=f"org:{dealer.pk}",
        limits=DEALER_LIMITS,
        refuse=_throttled,
        now=timezone.now(),
    )
    vin = validate_vin(str(data.get("vin") or ""))
    kind = str(data.get("kind") or VehicleKind.SMALL_PASSENGER.value)
    if kind != VehicleKind.SMALL_PASSENGER.value:
        raise ValidationFailed(
            "plates.prereg.kind",
            "网上预选号牌仅限新购的小型汽车（含小型新能源汽车），其他车辆请到车管所选号。",
            "Online plate pre-selection is only for newly bought small cars (including new-energy ones); "
            "other vehicles select at the DMV.",
            field="kind",
        )
    plate_type = str(data.get("plate_type") or "")
    if plate_type not in rules.PLATE_TYPES:
        raise ValidationFailed(
            "plates.prereg.plate_type",
            "号牌种类应为 02 小型汽车 或 52 小型新能源汽车。",
            "The plate type is 02 (small car) or 52 (small new-energy car).",
            field="plate_type",
        )
    brand_model = str(data.get("brand_model") or "").strip()
    if not 1 <= len(brand_model) <= 64:
        raise ValidationFailed(
            "plates.prereg.brand_model", "请填写品牌型号（不超过64个字）。", "Enter the make and model (at most 64).",
            field="brand_model",
        )  # fmt: skip
    colour = str(data.get("colour") or "").strip()[:16]
    buyer_id = _buyer_id(str(data.get("buyer_id_number") or ""))
    buyer_name = str(data.get("buyer_name") or "").strip()
    if not 1 <= len(buyer_name) <= 100:
        raise ValidationFailed(
            "plates.prereg.buyer_name",
            "请填写购车人姓名或单位名称。",
            "Enter the buyer's name.",
            field="buyer_name",
        )
    mobile = validate_mobile(str(data.get("buyer_mobile") or ""))
    office_of(dealer.division)
    with transaction.atomic():
        if Vehicle.objects.filter(vin=vin).exists():
            raise Conflict(
                "plates.prereg.registered",
                f"车辆识别代号 {vin} 的车辆已经注册登记，不是新车。",
                f"The vehicle with VIN {vin} is already registered; it is not a new car.",
                field="vin",
            )
        if PreRegistration.objects.filter(vin=vin).exists():
            raise Conflict(
                "plates.prereg.exists",
                f"车辆识别代号 {vin} 已经预录入。",
                f"The VIN {vin} has already been pre-registered.",
                field="vin",
            )
        try:
            with transaction.atomic():
                record = PreRegistration.objects.create(
                    dealer=dealer, vin=vin, plate_type=plate_type, brand_model=brand_model, colour=colour,
                    buyer_id_number=buyer_id, buyer_name=buyer_name, buyer_mobile=mobile, division=dealer.division,
                    created_by=actor if getattr(actor, "pk", None) else None,
                )  # fmt: skip
        except IntegrityError:
            raise Conflict(
                "plates.prereg.exists",
                f"车辆识别代号 {vin} 已经预录入。",
                f"The VIN {vin} has already been pre-registered.",
                field="vin",
            ) from None
        audit_record(
            actor=actor, action="create", subject=record, request=request,
            summary=f"新车预录入 pre-registered {vin} ({plate_type})",
        )  # fmt: skip
    return record


def preregistration_withdraw(*, actor: Any, preregistration_id: int, request: Any = None) -> PreRegistration:
    """The dealer withdraws a record entered by mistake, while no number is held or chosen for it."""
    require(actor, PREREGISTER)
    dealer = dealer_of(actor=actor)
    with transaction.atomic():
        record = (
            PreRegistration.objects.select_for_update().filter(pk=preregistration_id, dealer=dealer).first()
        )
        if record is None:
            raise _not_found("preregistration")
        _normalise_vehicle(record, timezone.now())
        if record.state != PreRegistration.State.OPEN or record.selections.filter(state__in=S_LIVE).exists():
            raise Conflict(
                "plates.prereg.in_use",
                "该车已选号或已注册登记，不能撤回预录入。",
                "A number is held, chosen or registered for this car; the record cannot be withdrawn.",
            )
        record.state = PreRegistration.State.WITHDRAWN
        record.save(update_fields=["state"])
        audit_record(actor=actor, action="change", subject=record, summary="撤回新车预录入", request=request)
    return record


S_LIVE = (S.HOLDING, S.CHOSEN, S.REGISTERED)


# ---------------------------------------------------------------- selections (P1-P5)


def _normalise(selections: Iterable[PlateSelection], now: datetime) -> None:
    """Write down what time has already decided: ended holds are expired, unregistered choices lapsed."""
    today = timezone.localdate(now)
    for selection in selections:
        if selection.state == S.HOLDING and selection.held_until <= now:
            selection.state, selection.ended_at = S.EXPIRED, selection.held_until
            selection.save(update_fields=["state", "ended_at"])
        elif (
            selection.state == S.CHOSEN
            and selection.register_by is not None
            and selection.register_by < today
        ):
            selection.state = S.LAPSED
            selection.ended_at = _midnight(selection.register_by + timedelta(days=1))
            selection.save(update_fields=["state", "ended_at"])


def _normalise_vehicle(record: PreRegistration, now: datetime) -> None:
    _normalise(record.selections.filter(state__in=PlateSelection.OPEN_STATES), now)


def selections_normalise(*, now: datetime | None = None) -> int:
    """The worker's sweep: mark ended holds expired and unregistered choices lapsed (for the lists)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    stale = PlateSelection.objects.filter(
        Q(state=S.HOLDING, held_until__lte=now) | Q(state=S.CHOSEN, register_by__lt=today)
    )
    count = 0
    for selection_id in stale.values_list("pk", flat=True)[:5000]:
        with transaction.atomic():
            selection = PlateSelection.objects.select_for_update().filter(pk=selection_id).first()
            if selection is not None:
                _normalise([selection], now)
                count += 1
    return count


@dataclass(frozen=True)
class Buyer:
    person: Person | None
    organisation: Organisation | None
    id_number: str
    mobile: str


def _buyer_of(actor: Any) -> Buyer:
    """Who is selecting: an individual (P1), or an organisation with local non-operating cars (P1)."""
    kind = getattr(actor, "kind", "")
    organisation = getattr(actor, "organisation", None)
    check_business_allowed(
        business_code=BUSINESS, user_kind=kind, level=getattr(actor, "registration_level", ""),
        organisation_kind=getattr(organisation, "kind", "") or "",
    )  # fmt: skip
    if kind == "organisation" and organisation is not None:
        return Buyer(
            None, organisation, organisation.uscc, getattr(actor, "mobile", "") or organisation.phone
        )
    person = getattr(actor, "person", None)
    if person is None:
        raise NotAllowed(
            "plates.person_required",
            "请先完成实名注册后再选号。",
            "Complete your real-name registration first.",
        )
    return Buyer(person, None, person.id_number, getattr(actor, "mobile", "") or person.mobile)


def _preregistration_for(buyer: Buyer, vin_text: str) -> PreRegistration:
    """The car's pre-registration, matched on VIN, ID number and mobile before anything else (P2)."""
    vin = validate_vin(vin_text)
    record = PreRegistration.objects.filter(vin=vin).exclude(state=PreRegistration.State.WITHDRAWN).first()
    if record is None:
        raise NotFound(
            "plates.not_preregistered",
            f"没有找到车辆识别代号 {vin} 的新车注册登记信息。请核对车辆识别代号，或联系销售商录入后再选号。",
            f"No new-vehicle record was found for VIN {vin}. Check the VIN, or ask the dealer to enter the "
            "car first.",
            field="vin",
        )
    if record.buyer_id_number != buyer.id_number:
        raise Conflict(
            "plates.id_mismatch",
            "该车新车登记信息中的购车人身份证明号码与您的账号不一致，只能为本人（本单位）新购的车辆选号。",
            "The buyer's ID number on this car's record is not your account's: you can only select a number "
            "for a car bought in your own (your organisation's) name.",
            field="vin",
        )
    if record.buyer_mobile != buyer.mobile:
        raise Conflict(
            "plates.mobile_mismatch",
            "该车新车登记信息中的手机号码与您账号的手机号码不一致。请联系销售商更正，或先变更账号手机号码。",
            "The mobile number on this car's record is not your account's. Ask the dealer to correct it, or "
            "change your account's mobile first.",
            field="vin",
        )
    if record.state == PreRegistration.State.REGISTERED:
        raise Conflict(
            "plates.already_registered",
            "该车已经注册登记，不能再选号。",
            "This car is already registered; no number can be selected for it.",
            field="vin",
        )
    return record


def _one_at_a_time(open_selection: PlateSelection) -> Conflict:
    return Conflict(
        "plates.one_at_a_time",
        f"您已有一条未完成的选号（{open_selection.number}）。同一时间只能为一辆车选号：已选定的号牌须到车管所"
        "办理注册登记后，才能为下一辆车选号。",
        f"You already have an open selection ({open_selection.number}). You can select for one car at a time: "
        "a chosen number must be registered at the DMV before you select for the next car.",
        detail={"selection": open_selection.number, "selection_id": open_selection.pk},
    )


def _count_attempt(*, actor: Any, client: str, now: datetime) -> None:
    throttles.throttle_take_cached(
        scope="plates.select.account", key=f"user:{getattr(actor, 'pk', '')}", limits=ACCOUNT_LIMITS,
        refuse=_throttled, now=now,
    )  # fmt: skip
    throttles.throttle_take_cached(
        scope="plates.select.client", key=client, limits=CLIENT_LIMITS, refuse=_throttled, now=now
    )


def _check_account_and_car(actor: Any, record: PreRegistration, mode: str, now: datetime) -> None:
    """One read of the account's and the car's selections decides P3 and the cool-down.

    What time has already decided (an ended hold, a lapsed choice) is written down first, in its
    own short transaction, so no pool is locked meanwhile. The partial unique constraints keep
    both rules when two requests pass this check at once.
    """
    relevant = (Q(account=actor) | Q(preregistration=record)) & (
        Q(state__in=S_LIVE) | Q(state__in=[S.ABANDONED, S.EXPIRED], ended_at__gt=now - 2 * rules.COOL_DOWN)
    )
    rows = list(PlateSelection.objects.filter(relevant))
    if any(r.state in PlateSelection.OPEN_STATES and _decided_by_time(r, now) for r in rows):
        with transaction.atomic():
            _normalise(
                PlateSelection.objects.select_for_update().filter(
                    pk__in=[r.pk for r in rows if r.state in PlateSelection.OPEN_STATES]
                ),
                now,
            )
        rows = list(PlateSelection.objects.filter(relevant))
    account_id = getattr(actor, "pk", None)
    still_open = next(
        (r for r in rows if r.account_id == account_id and r.state in PlateSelection.OPEN_STATES), None
    )
    if still_open is not None:
        raise _one_at_a_time(still_open)
    if any(r.preregistration_id == record.pk and r.state in S_LIVE for r in rows):
        raise Conflict(
            "plates.vehicle_taken", "这辆车已有一条未完成的选号。", "This car already has an open selection.",
            field="vin",
        )  # fmt: skip
    if mode != PlateSelection.Mode.RANDOM:
        return
    ended = [
        r.ended_at
        for r in rows
        if r.account_id == account_id and r.mode == PlateSelection.Mode.RANDOM and r.ended_at is not None
        and r.state in (S.ABANDONED, S.EXPIRED)
    ]  # fmt: skip
    until = rules.cool_down_until(ended, now)
    if until is not None:
        local = _local(until)
        raise Conflict(
            "plates.cool_down",
            f"您在24小时内已放弃或超时未选定 {rules.ABANDONS_BEFORE_COOL_DOWN} 组随机号码，"
            f"随机选号将于 {local:%Y-%m-%d %H:%M} 后重新开放。",
            f"You gave up or let expire {rules.ABANDONS_BEFORE_COOL_DOWN} random draws within 24 hours; random "
            f"selection opens again after {local:%Y-%m-%d %H:%M}.",
            detail={"opens_at": local.isoformat()},
        )


def _decided_by_time(selection: PlateSelection, now: datetime) -> bool:
    if selection.state == S.HOLDING:
        return selection.held_until <= now
    return selection.register_by is not None and selection.register_by < timezone.localdate(now)


def _pool_for(record: PreRegistration) -> PlatePool:
    prefix = office_of(record.division)
    pool = PlatePool.objects.filter(prefix=prefix, plate_type=record.plate_type).first()
    if pool is None or not pool.open:
        raise Conflict(
            "plates.no_pool",
            f"{prefix} 暂未开放{rules.PLATE_TYPES[record.plate_type][0]}网上选号，请到车管所选号。",
            f"{prefix} has no {rules.PLATE_TYPES[record.plate_type][1]} numbers open online; select at the DMV.",
        )
    return pool


def selection_start(
    *,
    actor: Any,
    vin: str,
    mode: str,
    number: str = "",
    client: str = "",
    now: datetime | None = None,
    request: Any = None,
) -> PlateSelection:
    """Hold five random numbers (5选1) or one self-composed number for the actor's new car (P1-P5).

    Refused, with nothing held: a VIN without a pre-registration, an ID number or mobile that does
    not match it, an open selection already (P3), a cool-down after repeated abandoned draws, a
    self-composed number outside the rules or not free (the user may then switch to random).
    """
    require(actor, SELECT)
    if mode not in PlateSelection.Mode.values:
        raise ValidationFailed(
            "plates.mode",
            "请选择随机选号或自编自选。",
            "Choose random or self-composed selection.",
            field="mode",
        )
    buyer = _buyer_of(actor)
    now = now or timezone.now()
    _count_attempt(actor=actor, client=client, now=now)
    record = _preregistration_for(buyer, vin)
    if buyer.organisation is not None and not is_within(
        record.division, buyer.organisation.division[:4] + "00"
    ):
        raise NotAllowed(
            "plates.organisation_not_local",
            "单位用户只能为本单位在本地登记的非营运小型汽车网上选号。",
            "An organisation may select online only for its own local non-operating small cars.",
        )
    pool = _pool_for(record)
    parsed = pool_rules(pool)
    wanted = rules.check_number(pool.prefix, parsed, number) if mode == PlateSelection.Mode.SELF else ""
    _check_account_and_car(actor, record, mode, now)
    try:
        with transaction.atomic():
            # The selection row and its audit row come before the pool lock: the partial unique
            # constraints (one open selection per account and per car, P3) decide a race of one
            # account's requests without holding up anyone else's draw.
            selection = PlateSelection.objects.create(
                number=_new_number("XH", now), account=actor, owner_person=buyer.person,
                owner_organisation=buyer.organisation, preregistration=record, pool=pool, mode=mode,
                masked_user=masked_owner(person=buyer.person, organisation=buyer.organisation),
                held_until=rules.hold_until(now),
            )  # fmt: skip
            audit_record(
                actor=actor, action="create", subject=selection, subject_person_id=getattr(buyer.person, "pk", None),
                summary=f"选号 {mode} {selection.number} ({record.vin})", request=request,
            )  # fmt: skip
            change = _begin(_pool_locked(pool.pk), now)
            selection.held_until = rules.hold_until(change.at)
            if mode == PlateSelection.Mode.RANDOM:
                _draw(change, selection)
            else:
                _hold(change, selection, wanted)
    except IntegrityError:
        # Two requests of one account or for one car at once, or a selection number drawn twice:
        # the partial unique constraints decided; the loser is told plainly and nothing is held.
        raise Conflict(
            "plates.concurrent",
            "您的另一个选号请求刚刚完成，请刷新后查看。",
            "Another selection request of yours has just completed; reload to see it.",
        ) from None
    return selection


def _draw(change: _Change, selection: PlateSelection) -> None:
    pool = change.pool
    sequence = change.sequence
    inputs = draws.draw_inputs(
        day=change.day.day.isoformat(), pool=pool.key, sequence=sequence, user=selection.masked_user
    )
    start = draws.start_position(change.day.seed, inputs, pool.position_span)
    drawable = PoolNumber.objects.filter(pool=pool).filter(_available_q(change.at))
    rows = list(
        drawable.filter(position__gte=start)
        .order_by("position")
        .values_list("pk", "number")[: draws.CANDIDATES]
    )
    if len(rows) < draws.CANDIDATES:
        rows += list(
            drawable.filter(position__lt=start)
            .order_by("position")
            .values_list("pk", "number")[: draws.CANDIDATES - len(rows)]
        )
    if not rows:
        raise Conflict(
            "plates.pool_empty",
            f"{pool.prefix} 的可选号码已经用完，请稍后再试或到车管所选号。",
            f"{pool.prefix} has no free numbers now; try later or select at the DMV.",
        )
    selection.candidates = [number for _pk, number in rows]
    selection.save(update_fields=["candidates", "held_until"])
    taken = (
        PoolNumber.objects.filter(pk__in=[pk for pk, _n in rows])
        .filter(_available_q(change.at))
        .update(state=N.HELD, holder=selection, available_at=selection.held_until)
    )
    if taken != len(rows):  # the pool lock makes this impossible; refuse rather than log a wrong draw
        raise Conflict("plates.concurrent", "号源正忙，请重试。", "The pool is busy; try again.")
    _log(
        change,
        draws.DRAW,
        selection.candidates,
        selection=selection,
        until=selection.held_until,
        inputs=inputs,
    )


def _hold(change: _Change, selection: PlateSelection, number: str) -> None:
    row = PoolNumber.objects.filter(pool=change.pool, number=number).first()
    if row is None or not draws.available(row.state, row.available_at, change.at):
        raise Conflict(
            "plates.number_unavailable",
            f"号码 {number} 已被他人选用或暂不可选。您可以换一个号码，或改用随机选号（5选1）。",
            f"The number {number} is taken or not available now. Try another number, or switch to random "
            "selection (five to choose from).",
            field="number",
            detail={"number": number, "switch_to": "random"},
        )
    selection.candidates = [number]
    selection.save(update_fields=["candidates", "held_until"])
    taken = (
        PoolNumber.objects.filter(pk=row.pk)
        .filter(_available_q(change.at))
        .update(state=N.HELD, holder=selection, available_at=selection.held_until)
    )
    if taken != 1:
        raise Conflict("plates.concurrent", "号源正忙，请重试。", "The pool is busy; try again.")
    _log(change, draws.HOLD, [number], selection=selection, until=selection.held_until)


def _own_selection_locked(actor: Any, selection_id: int) -> PlateSelection:
    selection = (
        PlateSelection.objects.select_for_update()
        .select_related("pool")
        .filter(pk=selection_id, account=actor)
        .first()
    )
    if selection is None:
        raise _not_found("selection")
    return selection


def _pool_of_selection(selection_id: int) -> int:
    pool_id = PlateSelection.objects.filter(pk=selection_id).values_list("pool_id", flat=True).first()
    if pool_id is None:
        raise _not_found("selection")
    return pool_id


def selection_choose(
    *, actor: Any, selection_id: int, number: str, now: datetime | None = None, request: Any = None
) -> PlateSelection:
    """Keep one of the held numbers (5选1, or the self-composed one): it waits for registration at the
    DMV until ``register_by``; the other candidates are free again at once."""
    require(actor, SELECT)
    now = now or timezone.now()
    with transaction.atomic():
        pool = _pool_locked(_pool_of_selection(selection_id))
        selection = _own_selection_locked(actor, selection_id)
        # The choice is logged at the change's time, which a wait for the pool lock can push past
        # ``now``: the hold must still run then, or the log would show a choice of an ended hold.
        change = _begin(pool, now)
        _normalise([selection], change.at)
        if selection.state != S.HOLDING:
            raise _not_holding(selection)
        chosen = str(number or "").strip().upper().replace("·", "")
        chosen = next((n for n in selection.candidates if n.upper() == chosen or n[2:] == chosen), "")
        if not chosen:
            raise ValidationFailed(
                "plates.not_a_candidate",
                "只能从为您保留的号码中选定一个。",
                "Choose one of the numbers held for you.",
                field="number",
                detail={"candidates": selection.candidates},
            )
        register_by = rules.register_by(timezone.localdate(change.at))
        quarantine_end = _midnight(rules.quarantine_ends(register_by))
        mine = {
            row.number: row
            for row in PoolNumber.objects.select_for_update().filter(
                pool=pool, number__in=selection.candidates, holder=selection, state=N.HELD
            )
        }
        if chosen not in mine:
            raise _not_holding(selection)
        PoolNumber.objects.filter(pk=mine[chosen].pk).update(state=N.SELECTED, available_at=quarantine_end)
        released = [n for n in selection.candidates if n in mine and n != chosen]
        PoolNumber.objects.filter(pool=pool, number__in=released).update(
            state=N.FREE, holder=None, available_at=None
        )
        selection.state, selection.chosen, selection.chosen_at = S.CHOSEN, chosen, change.at
        selection.register_by = register_by
        selection.save(update_fields=["state", "chosen", "chosen_at", "register_by"])
        _log(change, draws.CHOOSE, [chosen, *released], selection=selection, until=quarantine_end)
        audit_record(
            actor=actor, action="change", subject=selection, subject_person_id=selection.owner_person_id,
            summary=f"选定号牌 chose {chosen} ({selection.number}); register by {register_by}", request=request,
        )  # fmt: skip
    return selection


def _not_holding(selection: PlateSelection) -> Conflict:
    if selection.state == S.EXPIRED:
        return Conflict(
            "plates.hold_expired",
            f"保留时间（{rules.HOLD_MINUTES}分钟）已过，号码已退回号源。请重新选号。",
            f"The {rules.HOLD_MINUTES}-minute hold has ended and the numbers went back to the pool. Select again.",
        )
    return Conflict(
        "plates.not_holding",
        "这条选号已经选定或结束，不能再选定号码。",
        "This selection is already chosen or ended; no number can be chosen in it.",
    )


def selection_abandon(
    *, actor: Any, selection_id: int, now: datetime | None = None, request: Any = None
) -> PlateSelection:
    """Give up held numbers (none of the five suits, or a self-composed one no longer wanted): they
    are free again at once. Repeated abandons close random selection for a while (cool-down)."""
    require(actor, SELECT)
    now = now or timezone.now()
    with transaction.atomic():
        pool = _pool_locked(_pool_of_selection(selection_id))
        selection = _own_selection_locked(actor, selection_id)
        _normalise([selection], now)
        if selection.state != S.HOLDING:
            if selection.state == S.EXPIRED:
                return selection
            raise _not_holding(selection)
        change = _begin(pool, now)
        held = list(
            PoolNumber.objects.select_for_update()
            .filter(pool=pool, holder=selection, state=N.HELD)
            .values_list("number", flat=True)
        )
        PoolNumber.objects.filter(pool=pool, holder=selection, state=N.HELD).update(
            state=N.FREE, holder=None, available_at=None
        )
        selection.state, selection.ended_at = S.ABANDONED, change.at
        selection.save(update_fields=["state", "ended_at"])
        ordered = [n for n in selection.candidates if n in held]
        _log(change, draws.RELEASE, ordered, selection=selection)
        audit_record(
            actor=actor, action="change", subject=selection, subject_person_id=selection.owner_person_id,
            summary=f"放弃选号 gave up {selection.number}", request=request,
        )  # fmt: skip
    return selection


# ---------------------------------------------------------------- registration at the DMV (issue 17 §6)


def selection_register(
    *, actor: Any, selection_id: int, colour: str = "", now: datetime | None = None, request: Any = None
) -> PlateSelection:
    """Register the car with its selected number (注册登记): the registry creates the vehicle, whose
    electronic inspection mark follows (E1). A lapsed selection cannot be registered."""
    require(actor, REGISTER)
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        pool = _pool_locked(_pool_of_selection(selection_id))
        require(actor, REGISTER, division=pool.division)
        # Only the selection row: PostgreSQL refuses FOR UPDATE on the nullable side of the
        # owners' outer joins, and the other rows are not changed here.
        selection = (
            PlateSelection.objects.select_for_update(of=("self",))
            .select_related("preregistration", "owner_person", "owner_organisation")
            .get(pk=selection_id)
        )
        _normalise([selection], now)
        if selection.state == S.LAPSED:
            raise Conflict(
                "plates.lapsed",
                f"该选号未在期限（{selection.register_by}）内办理注册登记，已失效，号码将在隔离期后退回号源。",
                f"This selection was not registered by {selection.register_by} and has lapsed; the number returns "
                "to the pool after a quarantine.",
            )
        if selection.state != S.CHOSEN:
            raise Conflict(
                "plates.not_chosen",
                "该选号尚未选定号码或已经办结。",
                "No number has been chosen in this selection, or it is already done.",
            )
        record = PreRegistration.objects.select_for_update().get(pk=selection.preregistration_id)
        change = _begin(pool, now)
        owner_person = selection.owner_person
        vehicle = registry_services.vehicle_create(
            actor=actor,
            data={
                "plate_number": selection.chosen, "plate_type": pool.plate_type, "vin": record.vin,
                "kind": VehicleKind.SMALL_PASSENGER.value,
                "use_nature": (UseNature.PRIVATE if owner_person is not None else UseNature.ORGANISATION).value,
                "brand_model": record.brand_model, "colour": (colour or record.colour)[:16],
                "owner_person": selection.owner_person_id, "owner_organisation": selection.owner_organisation_id,
                "owner_mobile": record.buyer_mobile, "registered_on": today, "division": record.division,
            },
            request=request,
        )  # fmt: skip
        PoolNumber.objects.filter(pool=pool, number=selection.chosen, holder=selection).update(
            state=N.REGISTERED, available_at=None
        )
        selection.state, selection.registered_at, selection.vehicle_id = S.REGISTERED, change.at, vehicle.pk
        selection.save(update_fields=["state", "registered_at", "vehicle_id"])
        record.state = PreRegistration.State.REGISTERED
        record.save(update_fields=["state"])
        _log(change, draws.REGISTER, [selection.chosen], selection=selection, actor=actor)
        audit_record(
            actor=actor, action="change", subject=selection, subject_person_id=selection.owner_person_id,
            summary=f"选号注册登记 registered {selection.chosen} to {record.vin}", request=request,
        )  # fmt: skip
    return selection
