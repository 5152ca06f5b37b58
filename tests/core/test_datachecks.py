"""The data-check registry of core (core/datachecks.py) and the ``check_data`` command, without any app's rules."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jiaoguan.core import datachecks
from jiaoguan.core.datachecks import CheckContext, Finding, register_check, run_checks


@pytest.fixture
def only_these_checks(monkeypatch):
    """Swap the registry for an empty one for the test; the apps' checks come back afterwards."""
    monkeypatch.setattr(datachecks, "_CHECKS", {})


def test_checks_run_in_name_order_with_their_findings(only_these_checks):
    @register_check("b.second")
    def second(context):
        yield Finding("t2", "7", "f", f"r {context.today}")

    @register_check("a.first")
    def first(context):
        return [Finding("t1", "1", "", "row")]

    found = list(run_checks(context=CheckContext(today=date(2026, 1, 2))))

    assert found == [
        ("a.first", Finding("t1", "1", "", "row")),
        ("b.second", Finding("t2", "7", "f", "r 2026-01-02")),
    ]
    only = list(run_checks(context=CheckContext(today=date(2026, 1, 2)), only=["b.second"]))
    assert [name for name, _finding in only] == ["b.second"]
    with pytest.raises(LookupError):
        list(run_checks(context=CheckContext(today=date(2026, 1, 2)), only=["c.missing"]))


def test_a_finding_is_one_tab_separated_line():
    assert (
        Finding("registry_vehicle", "12", "vin", "bad\tvalue\nhere").line()
        == "registry_vehicle\t12\tvin\tbad value here"
    )


@pytest.mark.django_db
def test_command_exit_status_and_options(only_these_checks):
    register_check("x.clean")(lambda context: [])
    out = StringIO()
    call_command("check_data", "--list", stdout=out)
    assert out.getvalue().split() == ["x.clean"]

    call_command("check_data", stdout=out)
    assert "数据校验通过" in out.getvalue()

    register_check("x.dirty")(lambda context: [Finding("t", "1", "f", "why")])
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("check_data", stdout=out)
    assert failed.value.returncode == 1
    assert out.getvalue().splitlines() == ["t\t1\tf\twhy"]
    with pytest.raises(CommandError, match="no data check"):
        call_command("check_data", "--check=x.unknown")
    with pytest.raises(CommandError, match="positive"):
        call_command("check_data", "--batch-size=0")
