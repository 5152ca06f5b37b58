"""Reads of applications (issue 13): the applicant's own list and one of them, the staff queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import F, Q, QuerySet

from jiaoguan.core.access import division_prefix_for, require
from jiaoguan.core.errors import ValidationFailed

from . import catalogue, rules
from .models import Application, ApplicationEvent
from .services import HANDLE, VIEW_OWN, application_for_applicant

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    """One page of a keyset-paged list; ``after`` is passed back to get the next one."""

    items: list[Application]
    after: tuple[datetime, int] | None


def my_applications(*, actor: Any, after: tuple[datetime, int] | None = None, limit: int = PAGE_SIZE) -> Page:
    """The actor's applications, newest first, keyset-paged by (created_at, id) (index application_mine),
    with those a relative made on the actor's behalf (O2: the subject is the actor's person)."""
    require(actor, VIEW_OWN)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    qs = Application.objects.filter(_mine(actor)).select_related("fee_payable", "vehicle")
    if after is not None:
        created_at, pk = after
        qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    items = list(qs.order_by("-created_at", "-pk")[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return Page(items, (items[-1].created_at, items[-1].pk) if more else None)


def _mine(actor: Any) -> Q:
    """The actor's applications: made by the account, or made for its person on their behalf (O2).
    A person has one account, so for everyone else both halves name the same rows."""
    person_id = getattr(actor, "person_id", None)
    where = Q(applicant_id=actor.pk)
    if person_id:
        where |= Q(subject_person_id=person_id)
    return where


def my_application(*, actor: Any, application_id: int) -> Application:
    """One of the actor's applications (or one made on their behalf, O2); anybody else's is
    "not found" (404)."""
    require(actor, VIEW_OWN)
    found = Application.objects.filter(_mine(actor), pk=application_id).first()
    if found is None:
        return application_for_applicant(actor=actor, application_id=application_id)  # the same 404
    return found


def timeline(application: Application) -> list[ApplicationEvent]:
    """Every state the application went through, with who moved it and when, oldest first."""
    return list(
        ApplicationEvent.objects.filter(application=application).select_related("actor").order_by("at", "pk")
    )


def staff_queue(
    *,
    actor: Any,
    today: date,
    business: str = "",
    state: str = "",
    overdue: bool = False,
    limit: int = PAGE_SIZE,
    offset: int = 0,
) -> list[Application]:
    """The open applications of the actor's jurisdiction, soonest acceptance deadline first.

    Without a known deadline an application sorts after those with one, then by age.
    ``overdue``: only applications still waiting for acceptance past their due date.
    """
    require(actor, HANDLE)
    prefix = division_prefix_for(actor, HANDLE)
    if prefix is None:
        return []
    qs: QuerySet[Application] = Application.objects.filter(division__startswith=prefix)
    if state:
        if not rules.is_state(state):
            raise ValidationFailed(
                "applications.state_unknown", "没有这种申请状态。", "There is no such state.", field="state"
            )
        qs = qs.filter(state=state)
    else:
        qs = qs.filter(state__in=sorted(rules.STAFF_STATES))
    if business:
        qs = qs.filter(business_code=catalogue.entry(business).code)
    if overdue:
        qs = qs.filter(state=rules.State.SUBMITTED, accept_due_on__lt=today)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    # The page's ids first, from the index alone (application_open_queue), then only its rows:
    # sorting a jurisdiction's open applications whole would read every one of them.
    ids = list(
        qs.order_by(F("accept_due_on").asc(nulls_last=True), "created_at", "pk").values_list("pk", flat=True)[
            offset : offset + limit
        ]
    )
    rows = Application.objects.select_related("vehicle").in_bulk(ids)
    return [rows[pk] for pk in ids]


def is_overdue(application: Application, *, today: date) -> bool:
    """Waiting for acceptance past the due date (marked in the queue)."""
    return (
        application.state == rules.State.SUBMITTED
        and application.accept_due_on is not None
        and application.accept_due_on < today
    )


# ---------------------------------------------------------------- materials and what the applicant sees

from .models import ApplicationMaterial  # noqa: E402


def application_materials(application: Application) -> list[ApplicationMaterial]:
    """The files handed in for an application, oldest first, without their bytes."""
    return list(ApplicationMaterial.objects.filter(application=application).defer("content"))


@dataclass(frozen=True)
class TimelineStep:
    """One step as the applicant sees it: staff are "车管所", never a clerk's name."""

    from_state: str
    to_state: str
    action: str
    at: datetime
    actor_label_zh: str
    actor_label_en: str
    note: str


DMV_LABEL = ("车管所", "DMV")
APPLICANT_LABEL = ("申请人", "Applicant")
SYSTEM_LABEL = ("系统", "System")


def applicant_timeline(application: Application) -> list[TimelineStep]:
    """The timeline for the applicant: who acted is said by role, not by a clerk's name."""
    steps = []
    for event in timeline(application):
        if event.actor_id is None:
            zh, en = SYSTEM_LABEL
        elif event.actor_id == application.applicant_id:
            zh, en = APPLICANT_LABEL
        else:
            zh, en = DMV_LABEL
        steps.append(
            TimelineStep(event.from_state, event.to_state, event.action, event.at, zh, en, event.note)
        )
    return steps


@dataclass(frozen=True)
class NextDeadline:
    """What is due next and by when: ``due_on`` None with ``known`` False when the calendar cannot say."""

    what: str  # "accept" (the DMV) or "supplement" (the applicant)
    due_on: date | None
    known: bool


def next_deadline(application: Application) -> NextDeadline | None:
    """The next deadline of an open application (S1: acceptance; a return's supplement due date)."""
    if application.state == rules.State.SUBMITTED:
        return NextDeadline("accept", application.accept_due_on, application.deadline_known)
    if application.state == rules.State.RETURNED:
        return NextDeadline(
            "supplement", application.supplement_due_on, application.supplement_due_on is not None
        )
    return None


def fee_state(application: Application) -> str:
    """ "none" (no fee), "due" (unpaid or the payable not yet made), or "paid"."""
    if not application.fee_fen:
        return "none"
    if application.fee_paid_at is not None:
        return "paid"
    payable = application.fee_payable
    if payable is not None and payable.state == "paid":
        return "paid"
    return "due"


def applicant_licence(*, actor: Any) -> Any:
    """The actor's own driving licence (a person holds one), or None; the business page preselects it."""
    from jiaoguan.registry.models import DrivingLicence

    person_id = getattr(actor, "person_id", None)
    return DrivingLicence.objects.filter(holder_id=person_id).first() if person_id else None


def open_application_of(*, actor: Any, business_code: str) -> Application | None:
    """The actor's open application of a business, if any (the page links it instead of a second one)."""
    return (
        Application.objects.filter(
            applicant_id=actor.pk, business_code=business_code, state__in=sorted(rules.OPEN_STATES)
        )
        .order_by("-created_at")
        .first()
    )


def plate_of(application: Application) -> str:
    """The plate number of an application's vehicle (issue 14), or "" for none. Plates are not
    personal data on this platform (the verifier and the home card show them in full)."""
    if application.vehicle_id is None:
        return ""
    vehicle = application.vehicle
    return (vehicle.plate_number or vehicle.vin[-6:]) if vehicle is not None else ""
