"""Races of the overseas relief on PostgreSQL (O4): two applications for one licence at once make
one case; two heads approving one case at once restore the licence once, and a rejection racing
an approval leaves exactly one decision."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from jiaoguan.core.errors import Conflict
from jiaoguan.overseas_relief import services
from jiaoguan.overseas_relief.models import ReliefCase

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the races are exercised on PostgreSQL (row locks)")


def _apply(user, png):
    return services.case_apply(
        actor=user, certificate=services.Certificate(png, "c.png"), today=date(2021, 9, 1)
    )


def test_two_applications_at_once_make_one_case(driver, certificate_png, run_together):
    user, _licence = driver()
    results = run_together(lambda: _apply(user, certificate_png), lambda: _apply(user, certificate_png))
    won = [r for r in results if isinstance(r, ReliefCase)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].code == "overseas_relief.open_case"
    assert ReliefCase.objects.count() == 1


def test_two_approvals_at_once_restore_once(driver, certificate_png, clerk, head, make_staff, run_together):
    other_head = make_staff(role="unit_head", jurisdiction="411700", username="head-relief-2")
    user, licence = driver()
    case = _apply(user, certificate_png)
    services.case_accept(actor=clerk, case_id=case.pk)
    results = run_together(
        lambda: services.case_approve(actor=head, case_id=case.pk, today=date(2021, 9, 2)),
        lambda: services.case_approve(actor=other_head, case_id=case.pk, today=date(2021, 9, 2)),
    )
    won = [r for r in results if isinstance(r, ReliefCase)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].code == "overseas_relief.state"
    licence.refresh_from_db()
    assert licence.status == "A"


def test_a_rejection_racing_an_approval_leaves_one_decision(
    driver, certificate_png, clerk, head, run_together
):
    user, licence = driver()
    case = _apply(user, certificate_png)
    services.case_accept(actor=clerk, case_id=case.pk)
    results = run_together(
        lambda: services.case_approve(actor=head, case_id=case.pk, today=date(2021, 9, 2)),
        lambda: services.case_reject(actor=head, case_id=case.pk, reason="材料不全"),
    )
    assert sum(isinstance(r, ReliefCase) for r in results) == 1, results
    case.refresh_from_db()
    licence.refresh_from_db()
    assert (case.state == "restored") == (licence.status == "A")
