"""Plate pre-selection endpoints (B19, P1-P5; issue 17): the buyer's selections, the dealers'
pre-registrations, and the public day files of the draws. Thin handlers over ``services`` and
``selectors``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.errors import NotFound
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone
from jiaoguan.core.middleware import client_address

from . import draws, public_draws, selectors, services
from .models import PlateSelection, PreRegistration

router = Router(tags=["plates"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


# ---------------------------------------------------------------- buyers: selections (P1-P5)

ME_AUTH = [BearerToken(), SessionUser()]


def _caller(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


class SelectionOut(Schema):
    id: int
    number: str
    mode: str  # random | self
    state: str  # effective: holding | chosen | registered | abandoned | expired | lapsed
    state_zh: str
    state_en: str
    vin: str
    plate_type: str
    pool: str  # the plate office prefix, e.g. 豫Q
    candidates: list[str]
    held_until: datetime
    chosen: str
    chosen_at: datetime | None
    register_by: date | None
    registered_at: datetime | None
    created_at: datetime


class SelectionIn(InputSchema):
    vin: str = Field(..., max_length=40)
    mode: str = Field(..., max_length=10)
    number: str = Field("", max_length=20)


class ChoiceIn(InputSchema):
    number: str = Field(..., max_length=20)


_SELECTION_WORDS = {s.value: s.label.split(" ", 1) for s in PlateSelection.State}


def selection_out(selection: PlateSelection) -> dict[str, Any]:
    """A selection as its buyer reads it, with the state time has already decided (an ended hold
    reads expired at once, P5)."""
    state = selectors.effective_state(selection)
    zh, en = _SELECTION_WORDS[state]
    return {
        "id": selection.pk,
        "number": selection.number,
        "mode": selection.mode,
        "state": state,
        "state_zh": zh,
        "state_en": en,
        "vin": selection.preregistration.vin,
        "plate_type": selection.pool.plate_type,
        "pool": selection.pool.prefix,
        "candidates": list(selection.candidates),
        "held_until": selection.held_until,
        "chosen": selection.chosen,
        "chosen_at": selection.chosen_at,
        "register_by": selection.register_by,
        "registered_at": selection.registered_at,
        "created_at": selection.created_at,
    }


def _own(request: HttpRequest, selection_id: int) -> PlateSelection:
    selection = selectors.selection_get(actor=_caller(request), selection_id=selection_id)
    if selection is None:
        raise NotFound("plates.selection_not_found", "没有这条选号记录。", "No such plate selection.")
    return selection


@router.post("/me/plate-selections", response={201: SelectionOut, **ERRORS}, auth=ME_AUTH)
@access_required(selectors.SELECT)
def selection_start(request: HttpRequest, payload: SelectionIn) -> Any:
    """Select a plate number for my new car (选号, B19): ``mode`` ``random`` holds five free numbers
    to choose one from (5选1), ``self`` holds the composed ``number`` (P4), for a few minutes
    (``held_until``). The car must be pre-registered by its dealer with my ID number and mobile
    (P2). Refused with nothing held: 404 ``plates.not_preregistered``; 409 ``plates.id_mismatch``,
    ``plates.mobile_mismatch``, ``plates.one_at_a_time`` (P3), ``plates.number_unavailable``
    (``detail.switch_to`` = ``random``), ``plates.cool_down``; 422 for a number that breaks the
    format or the office's rules; 429 with ``Retry-After`` for too many attempts.
    Accepts ``Idempotency-Key``: a retry answers the first selection and holds nothing more."""

    def call() -> tuple[int, Any]:
        selection = services.selection_start(
            actor=_caller(request),
            vin=payload.vin,
            mode=payload.mode,
            number=payload.number,
            client=client_address(request),
            request=request,
        )
        return 201, selection_out(selection)

    return run_idempotent(request, scope="plate-selections", body=payload.dict(), call=call)


@router.get("/me/plate-selections", response={200: list[SelectionOut], **ERRORS}, auth=ME_AUTH)
@access_required(selectors.SELECT)
def my_selections(request: HttpRequest) -> Any:
    """My plate selections, newest first (at most 100)."""
    return [selection_out(s) for s in selectors.selections_of(actor=_caller(request))[:100]]


@router.get("/me/plate-selections/{selection_id}", response={200: SelectionOut, **ERRORS}, auth=ME_AUTH)
@access_required(selectors.SELECT)
def my_selection(request: HttpRequest, selection_id: int) -> Any:
    return selection_out(_own(request, selection_id))


@router.post(
    "/me/plate-selections/{selection_id}/choice", response={200: SelectionOut, **ERRORS}, auth=ME_AUTH
)
@access_required(selectors.SELECT)
def selection_choose(request: HttpRequest, selection_id: int, payload: ChoiceIn) -> Any:
    """Keep one of my held numbers (whole, 豫QA8123, or the serial alone, A8123); the others are free
    again at once. 422 ``plates.not_a_candidate`` for a number not held for me, 409
    ``plates.hold_expired`` after the hold, 404 for a selection that is not mine."""
    services.selection_choose(
        actor=_caller(request), selection_id=selection_id, number=payload.number, request=request
    )
    return 200, selection_out(_own(request, selection_id))


@router.post(
    "/me/plate-selections/{selection_id}/abandonment", response={200: SelectionOut, **ERRORS}, auth=ME_AUTH
)
@access_required(selectors.SELECT)
def selection_abandon(request: HttpRequest, selection_id: int) -> Any:
    """Give up my held numbers (none of these suits me): they are free again at once. Repeated
    abandons close random selection for a while (cool-down, issue 17 §5)."""
    services.selection_abandon(actor=_caller(request), selection_id=selection_id, request=request)
    return 200, selection_out(_own(request, selection_id))


# ---------------------------------------------------------------- dealers: pre-registrations (P2)

DEALER_AUTH = [BearerToken(), SessionUser()]


class PreRegistrationIn(InputSchema):
    vin: str = Field(..., max_length=40)
    plate_type: str = Field(..., max_length=2)
    brand_model: str = Field(..., max_length=64)
    colour: str = Field("", max_length=16)
    buyer_id_number: str = Field(..., max_length=20)
    buyer_name: str = Field(..., max_length=100)
    buyer_mobile: str = Field(..., max_length=20)


class PreRegistrationOut(Schema):
    id: int
    vin: str
    plate_type: str
    brand_model: str
    colour: str
    buyer_id_number: str  # masked
    buyer_name: str  # masked
    buyer_mobile: str  # masked
    division: str
    state: str  # open | registered | withdrawn
    created_at: datetime


def preregistration_out(record: PreRegistration) -> dict[str, Any]:
    """A dealer's record with the buyer's personal data masked."""
    return {
        "id": record.pk,
        "vin": record.vin,
        "plate_type": record.plate_type,
        "brand_model": record.brand_model,
        "colour": record.colour,
        "buyer_id_number": mask_id_number(record.buyer_id_number),
        "buyer_name": mask_name(record.buyer_name),
        "buyer_mobile": mask_phone(record.buyer_mobile),
        "division": record.division,
        "state": record.state,
        "created_at": record.created_at,
    }


@router.post("/vehicle-preregistrations", response={201: PreRegistrationOut, **ERRORS}, auth=DEALER_AUTH)
@access_required(selectors.PREREGISTER)
def preregistration_create(request: HttpRequest, payload: PreRegistrationIn) -> Any:
    """A car dealer records a new small car sold (新车预录入, P2): VIN, plate type (02, or 52 new
    energy), make and model, and the buyer's ID number (or USCC), name and mobile, which the
    buyer's selection is matched against. 403 for organisations that are not car dealers, 409
    ``plates.prereg.exists`` for a VIN recorded before. Accepts ``Idempotency-Key``."""

    def call() -> tuple[int, Any]:
        record = services.preregistration_create(actor=_caller(request), data=payload.dict(), request=request)
        return 201, preregistration_out(record)

    return run_idempotent(request, scope="vehicle-preregistrations", body=payload.dict(), call=call)


@router.get("/vehicle-preregistrations", response={200: list[PreRegistrationOut], **ERRORS}, auth=DEALER_AUTH)
@access_required(selectors.PREREGISTER)
def preregistrations(request: HttpRequest) -> Any:
    """The dealer's records, newest first (at most 200), buyers masked."""
    actor = _caller(request)
    services.dealer_of(actor=actor)
    return [preregistration_out(r) for r in selectors.preregistrations_of_dealer(actor=actor)[:200]]


# ---------------------------------------------------------------- public: the day files of the draws

PUBLIC = "plates.draws.public"


class DrawDayOut(Schema):
    date: date
    commitment: str  # SHA-256 of the day's seed, published before the day's first draw
    committed_at: datetime
    revealed: bool
    revealed_at: datetime | None
    draws: int
    entries: int  # every logged change of the day, draws included
    file: str  # the day file's address


class DrawDaysOut(Schema):
    items: list[DrawDayOut]


class DrawCheckOut(Schema):
    date: date
    revealed: bool
    ok: bool
    problems: list[str]
    draws: int
    events: int


@router.get("/plate-draws", response={200: DrawDaysOut, **ERRORS}, auth=None)
@access_required(PUBLIC)
def plate_draws(request: HttpRequest, limit: int = Query(60, ge=1, le=366)) -> Any:
    """The days of the random draws (选号日志), newest first: each day's seed commitment (published
    in the morning, before the day's first draw), whether its seed is revealed (after the day
    ends), and how many draws and log entries it has (issue 17 §3)."""
    public_draws.publish_due()
    return {
        "items": [
            row | {"file": f"/api/v1/plate-draws/{row['date'].isoformat()}"}
            for row in public_draws.days(limit=limit)
        ]
    }


@router.get("/plate-draws/{day}", response={200: dict[str, Any], **ERRORS}, auth=None)
@access_required(PUBLIC)
def plate_draw_day(request: HttpRequest, day: str) -> Any:
    """A day's file (``jiaoguan-plate-draws/1``): the commitment, the seed once the day has ended,
    and per pool its opening numbers and every change of the day with masked users. Anyone can
    replay it with ``jiaoguan verify-draws``. ``day`` is YYYY-MM-DD; 404 for a day without a
    commitment. The body is the file as published (sorted keys), so its SHA-256 is stable."""
    wanted = public_draws.parse_day(day)
    public_draws.publish_due()
    body = draws.dumps(public_draws.day_file(wanted))
    return HttpResponse(body, content_type="application/json; charset=utf-8")


@router.get("/plate-draws/{day}/check", response={200: DrawCheckOut, **ERRORS}, auth=None)
@access_required(PUBLIC)
def plate_draw_day_check(request: HttpRequest, day: str) -> Any:
    """The platform's own replay of the day (``draws.replay``): ``ok``, each problem, and how many
    draws and entries were replayed. Before the reveal the platform uses its still secret seed."""
    wanted = public_draws.parse_day(day)
    public_draws.publish_due()
    record = public_draws.day_record(wanted)
    report = public_draws.day_check(record)
    return {
        "date": record.day,
        "revealed": record.revealed_at is not None,
        "ok": report.ok,
        "problems": report.problems,
        "draws": report.draws,
        "events": report.events,
    }
