"""The application state machine, the claim rule and the catalogue (issue 13), as pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiaoguan.accounts.rules import BUSINESSES
from jiaoguan.applications import catalogue, rules
from jiaoguan.applications.rules import FINAL_STATES, TRANSITIONS, Action, Path, State
from jiaoguan.core.errors import Conflict, NotFound


def _applies(t: rules.Transition, delivers: bool) -> bool:
    return t.path is Path.ANY or (t.path is Path.DELIVERY) == delivers


@pytest.mark.parametrize("delivers", [True, False])
def test_every_listed_transition_is_allowed(delivers):
    for t in TRANSITIONS:
        if _applies(t, delivers):
            assert rules.next_state(t.source, t.action, delivers=delivers) is t.target


@pytest.mark.parametrize("delivers", [True, False])
def test_everything_else_is_refused(delivers):
    listed = {(t.source, t.action) for t in TRANSITIONS if _applies(t, delivers)}
    for state in State:
        for action in Action:
            if (state, action) in listed:
                continue
            with pytest.raises(Conflict) as refused:
                rules.next_state(state, action, delivers=delivers)
            assert refused.value.code == "applications.transition_not_allowed"


def test_unknown_state_or_action_is_refused_not_crashed():
    with pytest.raises(Conflict):
        rules.next_state("flying", "accept")
    with pytest.raises(Conflict):
        rules.next_state("submitted", "teleport")


@pytest.mark.parametrize(
    ("delivers", "actions", "end"),
    [
        (True, ["accept", "start_production", "post", "complete"], State.COMPLETED),
        (True, ["accept", "start_production", "ready_for_pickup", "hand_over"], State.COMPLETED),
        (True, ["return_for_supplement", "supplement", "accept", "start_production", "post", "complete"],
         State.COMPLETED),
        (False, ["accept", "complete"], State.COMPLETED),
        (False, ["return_for_supplement", "supplement", "accept", "complete"], State.COMPLETED),
        (True, ["reject"], State.REJECTED),
        (True, ["return_for_supplement", "reject"], State.REJECTED),
        (True, ["withdraw"], State.WITHDRAWN),
        (True, ["return_for_supplement", "withdraw"], State.WITHDRAWN),
    ],
)  # fmt: skip
def test_every_path_through_the_machine(delivers, actions, end):
    state, returned = State.SUBMITTED, False
    for action in actions:
        state = rules.next_state(state, action, delivers=delivers, returned_before=returned)
        returned = returned or action == "return_for_supplement"
    assert state is end


def test_an_application_is_returned_only_once():
    state = rules.next_state(State.SUBMITTED, Action.RETURN_FOR_SUPPLEMENT)
    state = rules.next_state(state, Action.SUPPLEMENT)
    with pytest.raises(Conflict) as refused:
        rules.next_state(state, Action.RETURN_FOR_SUPPLEMENT, returned_before=True)
    assert refused.value.code == "applications.returned_once"
    assert "退回" in refused.value.message_zh and "returned" in refused.value.message_en


def test_no_skipping_production_or_acceptance():
    with pytest.raises(Conflict):
        rules.next_state(State.SUBMITTED, Action.POST)
    with pytest.raises(Conflict):
        rules.next_state(State.ACCEPTED, Action.POST)
    with pytest.raises(Conflict):  # a document to deliver cannot be completed before it is made
        rules.next_state(State.ACCEPTED, Action.COMPLETE, delivers=True)
    with pytest.raises(Conflict):  # nothing to produce for a deferral
        rules.next_state(State.ACCEPTED, Action.START_PRODUCTION, delivers=False)
    with pytest.raises(Conflict):  # withdrawal only before acceptance
        rules.next_state(State.ACCEPTED, Action.WITHDRAW)


@settings(max_examples=300, deadline=None)
@given(actions=st.lists(st.sampled_from(list(Action)), max_size=25), delivers=st.booleans())
def test_random_action_sequences_never_skip_a_state(actions, delivers):
    """Given any sequence of actions, only table rows happen, finals stay final, one return at most."""
    allowed = {(t.source, t.action): t.target for t in TRANSITIONS if _applies(t, delivers)}
    state, returned, returns = State.SUBMITTED, False, 0
    for action in actions:
        try:
            new = rules.next_state(state, action, delivers=delivers, returned_before=returned)
        except Conflict:
            assert (
                state in FINAL_STATES
                or (state, action) not in allowed
                or (action is Action.RETURN_FOR_SUPPLEMENT and returned)
            )
            continue
        assert state not in FINAL_STATES
        assert allowed[(state, action)] is new
        if action is Action.RETURN_FOR_SUPPLEMENT:
            returns += 1
            returned = True
        state = new
    assert returns <= 1


def test_final_states_have_no_way_out():
    assert {t.source for t in TRANSITIONS}.isdisjoint(FINAL_STATES)
    assert {State.REJECTED, State.COMPLETED, State.WITHDRAWN} == FINAL_STATES


def test_every_state_is_reachable_and_every_open_state_can_end():
    targets = {State.SUBMITTED} | {t.target for t in TRANSITIONS}
    assert targets == set(State)
    for state in rules.OPEN_STATES:
        assert any(t.source == state for t in TRANSITIONS), state


# ---------------------------------------------------------------- claims

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_live_claim_of_another_clerk_is_refused_naming_the_holder():
    with pytest.raises(Conflict) as refused:
        rules.check_claim(held_by_id=1, held_by_label="clerk-li", claimed_at=NOW, actor_id=2, now=NOW)
    assert refused.value.code == "applications.claimed_by_other"
    assert refused.value.detail["claimed_by"] == "clerk-li"
    assert "clerk-li" in refused.value.message_zh


def test_own_claim_or_none_or_a_stale_one_may_be_taken():
    rules.check_claim(held_by_id=None, held_by_label="", claimed_at=None, actor_id=2, now=NOW)
    rules.check_claim(held_by_id=2, held_by_label="me", claimed_at=NOW, actor_id=2, now=NOW)
    stale = NOW - rules.CLAIM_TAKEOVER_AFTER
    rules.check_claim(held_by_id=1, held_by_label="clerk-li", claimed_at=stale, actor_id=2, now=NOW)
    with pytest.raises(Conflict):
        rules.check_claim(
            held_by_id=1,
            held_by_label="clerk-li",
            claimed_at=stale + timedelta(seconds=1),
            actor_id=2,
            now=NOW,
        )


def test_supplement_is_accepted_up_to_and_including_its_due_date():
    due = date(2026, 12, 10)
    rules.check_supplement_in_time(due_on=due, today=due)
    rules.check_supplement_in_time(due_on=None, today=due)
    with pytest.raises(Conflict) as refused:
        rules.check_supplement_in_time(due_on=due, today=due + timedelta(days=1))
    assert refused.value.code == "applications.supplement_late" and "2026-12-10" in refused.value.message_zh


# ---------------------------------------------------------------- catalogue


def test_the_catalogue_extends_the_u5_table_for_b6_to_b14():
    # Issue 14 adds the vehicle businesses (B1-B3, B20, B21) and the paper mark (E2).
    licence_codes = [f"B{n}" for n in range(6, 15)]
    vehicle_codes = ["B1", "B2", "B3", "B20", "B21", "E2"]
    assert sorted(catalogue.CATALOGUE) == sorted(licence_codes + vehicle_codes)
    for code, entry in catalogue.CATALOGUE.items():
        assert entry.business is BUSINESSES[code]
        assert entry.name_zh == BUSINESSES[code].name_zh
        assert entry.completes_with.startswith(("registry.", "credentials."))
        assert set(entry.delivery) <= set(catalogue.Delivery)
        assert entry.needs_vehicle == (code in vehicle_codes)
        assert not (entry.needs_vehicle and entry.needs_licence)
    assert catalogue.CATALOGUE["B8"].delivers and not catalogue.CATALOGUE["B12"].delivers
    assert [c for c, e in catalogue.CATALOGUE.items() if e.by_system] == ["E2"]


def test_materials_and_deliveries_have_both_names():
    for material in catalogue.Material:
        zh, en = catalogue.MATERIAL_NAMES[material]
        assert zh and en
    for delivery in catalogue.Delivery:
        assert all(catalogue.DELIVERY_NAMES[delivery])


def test_fee_is_the_row_in_force_on_the_day():
    assert catalogue.fee_on("B8", date(2026, 12, 7)) == 1000
    assert catalogue.fee_on("B8", date(2004, 11, 30)) == 0
    assert catalogue.fee_on("B12", date(2026, 12, 7)) == 0


def test_unknown_or_outside_business_is_not_found():
    with pytest.raises(NotFound):
        catalogue.entry("B4")  # booked with the inspection stations, not an application
    with pytest.raises(NotFound):
        catalogue.entry("X9")
    assert catalogue.entry("b8").code == "B8"
