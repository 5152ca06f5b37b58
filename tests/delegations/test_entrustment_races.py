"""A revocation racing a counter check (O5: 可随时撤销). PostgreSQL: both lock the entrustment row,
so the check either comes first and is done (and stays done), or comes after the revocation and is
refused as revoked; never a check done under an entrustment already revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jiaoguan.delegations import services
from jiaoguan.delegations.models import DelegatedAction, Entrustment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def test_a_revocation_racing_a_counter_check(make_person, citizen, make_staff, run_together, settings):
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency is exercised on PostgreSQL")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    principal = citizen(make_person(name="王芳", mobile="13800138001"))
    agent = make_person(name="李强", mobile="13800138003")
    clerk = make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-entrust-race")
    today = timezone.localdate()
    for _round in range(5):
        entrustment = services.entrustment_create(
            actor=principal, agent_id_number=agent.id_number, agent_name=agent.name, agent_mobile=agent.mobile,
            businesses=["vehicle.plate"], valid_from=today, valid_until=today + timedelta(days=3),
        )  # fmt: skip
        check, revoked = run_together(
            lambda: services.entrustment_check_at_counter(
                actor=clerk,
                token_or_id=principal.person.id_number,
                agent_id_number=agent.id_number,
                business="vehicle.plate",
            ),
            lambda e=entrustment: services.entrustment_revoke(actor=principal, entrustment_id=e.pk),
        )
        assert isinstance(revoked, Entrustment), revoked
        action = DelegatedAction.objects.get(grant="entrustment", grant_id=entrustment.pk)
        assert (check.outcome, check.reason) in {("done", "ok"), ("refused", "revoked")}, check
        assert action.outcome == check.outcome
        if check.outcome == "done":
            assert action.at <= Entrustment.objects.get(pk=entrustment.pk).revoked_at
