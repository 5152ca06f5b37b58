"""Reads of the overseas relief (O4), scoped to what the actor may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from jiaoguan.core.access import division_prefix_for
from jiaoguan.registry.models import DrivingLicence

from .models import ReliefCase

APPLY = "overseas_relief.own.apply"
VIEW = "overseas_relief.case.view"
ACCEPT = "overseas_relief.case.accept"
APPROVE = "overseas_relief.case.approve"

LIST_LIMIT = 100


def my_cases(*, actor: Any) -> QuerySet[ReliefCase]:
    """The actor's own cases, newest first (the certificate bytes are not loaded)."""
    if not getattr(actor, "person_id", None):
        return ReliefCase.objects.none()
    return ReliefCase.objects.filter(person_id=actor.person_id).defer("certificate").select_related("licence")


def my_licence(*, actor: Any) -> DrivingLicence | None:
    if not getattr(actor, "person_id", None):
        return None
    return DrivingLicence.objects.filter(holder_id=actor.person_id).first()


def cases_for_staff(*, actor: Any, state: str = "") -> QuerySet[ReliefCase]:
    """Cases of the actor's jurisdiction (open ones first in the list), for clerks and heads."""
    prefix = division_prefix_for(actor, VIEW)
    if prefix is None:
        return ReliefCase.objects.none()
    qs = ReliefCase.objects.filter(division__startswith=prefix).defer("certificate").select_related("person")
    if state:
        qs = qs.filter(state=state)
    return qs


def case_get(*, case_id: int) -> ReliefCase:
    """A case just changed by a service that checked access (for the answer)."""
    return (
        ReliefCase.objects.select_related("person", "accepted_by", "approved_by")
        .defer("certificate")
        .get(pk=case_id)
    )
