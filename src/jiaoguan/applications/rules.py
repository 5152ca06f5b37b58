"""The application state machine (申请办理流程) and the claim rule, as tables (issue 13).

Pure functions; no ORM and no clock. Every transition a service may make is a row of
:data:`TRANSITIONS`; anything else is refused, so no state can be skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from jiaoguan.core.errors import Conflict


class State(StrEnum):
    SUBMITTED = "submitted"  # 已提交
    RETURNED = "returned"  # 退回补正
    ACCEPTED = "accepted"  # 已受理
    REJECTED = "rejected"  # 不予受理
    IN_PRODUCTION = "in_production"  # 制证中
    POSTED = "posted"  # 已邮寄
    READY_FOR_PICKUP = "ready_for_pickup"  # 待领取
    COMPLETED = "completed"  # 已办结
    WITHDRAWN = "withdrawn"  # 已撤回


class Action(StrEnum):
    ACCEPT = "accept"
    RETURN_FOR_SUPPLEMENT = "return_for_supplement"
    SUPPLEMENT = "supplement"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    START_PRODUCTION = "start_production"
    POST = "post"
    READY_FOR_PICKUP = "ready_for_pickup"
    HAND_OVER = "hand_over"
    COMPLETE = "complete"


STATE_NAMES: dict[State, tuple[str, str]] = {
    State.SUBMITTED: ("已提交", "Submitted"),
    State.RETURNED: ("退回补正材料", "Returned for supplementary material"),
    State.ACCEPTED: ("已受理", "Accepted"),
    State.REJECTED: ("不予受理", "Rejected"),
    State.IN_PRODUCTION: ("制证中", "In production"),
    State.POSTED: ("已邮寄", "Posted"),
    State.READY_FOR_PICKUP: ("待窗口领取", "Ready for pickup"),
    State.COMPLETED: ("已办结", "Completed"),
    State.WITHDRAWN: ("已撤回", "Withdrawn"),
}

FINAL_STATES: frozenset[State] = frozenset({State.REJECTED, State.COMPLETED, State.WITHDRAWN})
OPEN_STATES: frozenset[State] = frozenset(State) - FINAL_STATES
# Staff act on an application only while it is open and not waiting for the applicant.
STAFF_STATES: frozenset[State] = OPEN_STATES - {State.RETURNED}


class Path(StrEnum):
    """Which businesses a transition applies to: all, those that produce a document, or the rest."""

    ANY = "any"
    DELIVERY = "delivery"  # something is produced and delivered (B8-B11)
    NO_DELIVERY = "no_delivery"  # a registry change only (B6, B7, B12-B14)


@dataclass(frozen=True)
class Transition:
    source: State
    action: Action
    target: State
    path: Path = Path.ANY
    by_applicant: bool = False


S, A = State, Action
TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.SUBMITTED, A.ACCEPT, S.ACCEPTED),
    Transition(S.SUBMITTED, A.RETURN_FOR_SUPPLEMENT, S.RETURNED),
    Transition(S.SUBMITTED, A.REJECT, S.REJECTED),
    Transition(S.SUBMITTED, A.WITHDRAW, S.WITHDRAWN, by_applicant=True),
    Transition(S.RETURNED, A.SUPPLEMENT, S.SUBMITTED, by_applicant=True),
    Transition(S.RETURNED, A.WITHDRAW, S.WITHDRAWN, by_applicant=True),
    # Nothing supplemented by the due date: refused with that reason.
    Transition(S.RETURNED, A.REJECT, S.REJECTED),
    Transition(S.ACCEPTED, A.START_PRODUCTION, S.IN_PRODUCTION, Path.DELIVERY),
    Transition(S.ACCEPTED, A.COMPLETE, S.COMPLETED, Path.NO_DELIVERY),
    Transition(S.IN_PRODUCTION, A.POST, S.POSTED, Path.DELIVERY),
    Transition(S.IN_PRODUCTION, A.READY_FOR_PICKUP, S.READY_FOR_PICKUP, Path.DELIVERY),
    Transition(S.POSTED, A.COMPLETE, S.COMPLETED, Path.DELIVERY),
    Transition(S.READY_FOR_PICKUP, A.HAND_OVER, S.COMPLETED, Path.DELIVERY),
)
_STATE_VALUES = frozenset(s.value for s in State)
_ACTION_VALUES = frozenset(a.value for a in Action)
_BY_KEY: dict[tuple[State, Action], Transition] = {(t.source, t.action): t for t in TRANSITIONS}
assert len(_BY_KEY) == len(TRANSITIONS), "one transition per (state, action)"


def is_state(value: str) -> bool:
    return value in _STATE_VALUES


def _name(state: str) -> tuple[str, str]:
    try:
        return STATE_NAMES[State(state)]
    except ValueError:
        return state, state


def transition_for(
    state: str, action: str, *, delivers: bool = True, returned_before: bool = False
) -> Transition:
    """The transition ``action`` makes from ``state``, or a refusal (409) saying why not.

    ``delivers``: the business produces a document to post or hand over. An application is
    returned for supplementary material at most once (issue 13): ``returned_before`` refuses
    a second return.
    """
    found = (
        _BY_KEY.get((State(state), Action(action)))
        if state in _STATE_VALUES and action in _ACTION_VALUES
        else None
    )
    path_ok = found is not None and (found.path is Path.ANY or (found.path is Path.DELIVERY) == delivers)
    if found is None or not path_ok:
        zh, en = _name(state)
        raise Conflict(
            "applications.transition_not_allowed",
            f"申请当前状态为“{zh}”，不能进行此项操作。",
            f"The application is {en.lower()}; this step is not possible now.",
            detail={"state": state, "action": action},
        )
    if found.action is Action.RETURN_FOR_SUPPLEMENT and returned_before:
        raise Conflict(
            "applications.returned_once",
            "该申请已退回补正过一次，不能再次退回；请受理或不予受理。",
            "The application was already returned once for supplementary material; accept or reject it.",
            detail={"state": state, "action": action},
        )
    return found


def next_state(state: str, action: str, *, delivers: bool = True, returned_before: bool = False) -> State:
    """The state after ``action`` from ``state`` (see :func:`transition_for`)."""
    return transition_for(state, action, delivers=delivers, returned_before=returned_before).target


def check_supplement_in_time(*, due_on: date | None, today: date) -> None:
    """Refuse supplementary material after its due date (补正期限, issue 13); the due date itself counts."""
    if due_on is not None and today > due_on:
        raise Conflict(
            "applications.supplement_late",
            f"补正期限（{due_on:%Y-%m-%d}）已过，不能再补正材料；可撤回本申请后重新申请。",
            f"The due date for the supplementary material ({due_on:%Y-%m-%d}) has passed; withdraw this application and apply again.",
            detail={"supplement_due_on": due_on.isoformat()},
        )


# A claim (认领) keeps other clerks off an application while one works on it. A claim older
# than this may be taken over: a window transaction rarely takes longer, and a clerk who left
# must not block the queue for the rest of the day (issue 13).
CLAIM_TAKEOVER_AFTER = timedelta(minutes=30)


def check_claim(
    *,
    held_by_id: int | None,
    held_by_label: str,
    claimed_at: datetime | None,
    actor_id: int,
    now: datetime,
    takeover_after: timedelta = CLAIM_TAKEOVER_AFTER,
) -> None:
    """Refuse (409, naming the holder) when another clerk holds a live claim."""
    if held_by_id is None or held_by_id == actor_id or claimed_at is None:
        return
    if now - claimed_at >= takeover_after:
        return
    minutes = int(takeover_after.total_seconds() // 60)
    raise Conflict(
        "applications.claimed_by_other",
        f"该申请正由 {held_by_label} 办理，请勿重复操作（认领超过{minutes}分钟未操作后可接手）。",
        f"{held_by_label} is handling this application; it can be taken over after {minutes} minutes "
        "without activity.",
        detail={"claimed_by": held_by_label},
    )
