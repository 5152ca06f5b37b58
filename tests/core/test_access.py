"""The access table's check itself (core/access.py): roles, scopes, divisions before and after."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from jiaoguan.accounts.models import StaffRole
from jiaoguan.core.access import (
    ACTIONS,
    STAFF_ROLES,
    Role,
    Scope,
    action,
    allowed,
    can,
    division_prefix_for,
    menu_for,
    require,
    role_of,
)
from jiaoguan.core.errors import NotAllowed, Unauthenticated


def staff(role: str, jurisdiction: str = "411700", **kw):
    return SimpleNamespace(
        is_authenticated=True, is_active=True, kind="staff", staff_role=role, jurisdiction=jurisdiction, **kw
    )


def citizen(person_id: int = 7):
    return SimpleNamespace(is_authenticated=True, is_active=True, kind="individual", person_id=person_id)


def test_staff_posts_are_the_roles_of_the_table():
    assert {str(r) for r in STAFF_ROLES} == set(StaffRole.values)


def test_roles_of_actors():
    assert role_of(None) is Role.ANONYMOUS
    assert role_of(SimpleNamespace(is_authenticated=False)) is Role.ANONYMOUS
    assert role_of(staff("counter_clerk")) is Role.COUNTER_CLERK
    assert role_of(citizen()) is Role.CITIZEN
    assert role_of(SimpleNamespace(is_authenticated=True, kind="organisation")) is Role.ORGANISATION
    # A post the table does not know, a deactivated login and an individual without a person may do nothing.
    assert role_of(staff("chief")) is Role.ANONYMOUS
    assert role_of(SimpleNamespace(is_authenticated=True, is_active=False, kind="staff")) is Role.ANONYMOUS
    assert (
        role_of(SimpleNamespace(is_authenticated=True, kind="individual", person_id=None)) is Role.ANONYMOUS
    )


def test_a_role_not_listed_is_refused_with_the_action_named():
    with pytest.raises(NotAllowed) as err:
        require(staff("auditor"), "registry.vehicle.change", division="411702")
    assert err.value.code == "access.role_not_allowed"
    assert err.value.detail["action"] == "registry.vehicle.change"
    assert "修改机动车信息" in err.value.message_zh


def test_citizens_and_staff_are_told_whose_business_it_is():
    with pytest.raises(NotAllowed) as to_citizen:
        require(citizen(), "violations.cancel")
    assert to_citizen.value.code == "access.staff_only"
    with pytest.raises(NotAllowed) as to_staff:
        require(staff("administrator"), "violations.own.handle")
    assert to_staff.value.code == "access.citizens_only"
    with pytest.raises(Unauthenticated):
        require(None, "violations.own.handle")


def test_jurisdiction_scope_needs_every_division_inside():
    clerk = staff("counter_clerk", "411700")
    assert require(clerk, "registry.vehicle.change", division="411702") is Scope.JURISDICTION
    assert require(clerk, "registry.vehicle.change", division=["411702", "411721"]) is Scope.JURISDICTION
    # Moved out of the jurisdiction (after the change) or coming from outside it (before): refused.
    for divisions in (["411702", "411602"], ["411602", "411702"], "110101", [""], ["4117XX"]):
        with pytest.raises(NotAllowed) as err:
            require(clerk, "registry.vehicle.change", division=divisions)
        assert err.value.code == "access.outside_jurisdiction"


def test_a_county_office_does_not_reach_the_next_county():
    county = staff("counter_clerk", "411702")
    assert allowed(county, "registry.person.change", division="411702")
    assert not allowed(county, "registry.person.change", division="411721")
    assert not allowed(county, "registry.person.change", division="411700")


def test_own_scope_compares_the_owner_with_the_actor():
    me = citizen(person_id=7)
    assert require(me, "violations.own.handle", owner_person_id=7) is Scope.OWN
    with pytest.raises(NotAllowed) as err:
        require(me, "violations.own.handle", owner_person_id=8)
    assert err.value.code == "access.not_own"


def test_scoped_reads_get_the_prefix_of_the_scope():
    assert division_prefix_for(staff("counter_clerk", "411700"), "registry.vehicle.view") == "4117"
    assert division_prefix_for(staff("counter_clerk", "411702"), "registry.vehicle.view") == "411702"
    assert division_prefix_for(staff("counter_clerk", "411700"), "payments.reconcile") == ""
    assert division_prefix_for(staff("auditor"), "registry.vehicle.view") is None
    assert division_prefix_for(citizen(), "violations.own.view") is None
    assert division_prefix_for(staff("counter_clerk", ""), "registry.vehicle.view") is None


def test_every_action_is_well_formed():
    for name, act in ACTIONS.items():
        assert name.count(".") >= 1 and name == name.lower(), name
        assert act.zh and act.en and act.grants, name
        assert all(isinstance(r, Role) and isinstance(s, Scope) for r, s in act.grants.items()), name
        # Staff work inside a place or anywhere; only citizens and organisations have "own" records.
        for role, scope in act.grants.items():
            if scope is Scope.OWN:
                assert role in (Role.CITIZEN, Role.ORGANISATION), name
            if role is Role.ANONYMOUS:
                assert scope is Scope.ANY, name
    with pytest.raises(LookupError):
        action("registry.vehicle.fly")


def test_the_menu_is_what_the_role_may_use_in_order():
    clerk_menu = [a.name for a in menu_for(staff("counter_clerk"))]
    assert "accounts.individual.register_at_counter" in clerk_menu
    assert "accidents.case.view" not in clerk_menu
    # The auditor reads the exam and plate monitoring, the elderly proxies (U6), the audit trail, the notice deliveries and
    # what reports were sent (X6, P5, N1, N2).
    assert [a.name for a in menu_for(staff("auditor"))] == [
        "exams.monitoring.view",
        "plates.selection.view",
        "delegations.proxy.view",
        "reports.run.view",
        "notices.delivery.view",
        "core.audit.view",
        "core.back_office.enter",
    ]
    assert menu_for(citizen()) == []
    orders = [a.menu.order for a in menu_for(staff("administrator")) if a.menu]
    assert orders == sorted(orders)


def test_can_is_the_role_part_of_require():
    for name in ACTIONS:
        for role in Role:
            actor = None if role is Role.ANONYMOUS else (
                citizen() if role is Role.CITIZEN
                else SimpleNamespace(is_authenticated=True, kind="organisation", organisation_id=1)
                if role is Role.ORGANISATION else staff(role.value)
            )  # fmt: skip
            assert can(actor, name) == (ACTIONS[name].scope_for(role) is not None)


def test_every_action_has_a_probe_in_an_access_matrix():
    """Each app's tests/<app>/test_access_matrix.py holds a PROBES dict naming its actions."""
    probed: set[str] = set()
    for path in Path(__file__).resolve().parents[1].glob("*/test_access_matrix.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            if any(isinstance(t, ast.Name) and t.id == "PROBES" for t in targets):
                value = node.value  # type: ignore[union-attr]
                assert isinstance(value, ast.Dict), path
                probed |= {k.value for k in value.keys if isinstance(k, ast.Constant)}
    assert sorted(set(ACTIONS) - probed) == []
