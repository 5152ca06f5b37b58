"""Fixtures of acting for others (issue 18): principals, agents and grants made as rows, so each
part's tests can start from a grant without going through another part's pages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from jiaoguan.delegations.models import Entrustment, ProxyAuthorisation, VehicleFiling
from jiaoguan.registry.rules import add_years


@pytest.fixture
def entrustment_row(db):
    """An entrustment of ``principal`` (a user with a person) to ``agent`` (a Person), valid today."""

    def make(*, principal, agent, businesses=("licence.replacement",), days=10, **extra) -> Entrustment:
        today = timezone.localdate()
        return Entrustment.objects.create(
            principal=principal, principal_person_id=principal.person_id, agent_id_number=agent.id_number,
            agent_name=agent.name, agent_mobile=agent.mobile, businesses=list(businesses),
            valid_from=extra.pop("valid_from", today), valid_until=extra.pop("valid_until", today + timedelta(days=days - 1)),
            created_at=timezone.now(), **extra,
        )  # fmt: skip

    return make


@pytest.fixture
def proxy_row(db):
    """An active proxy authorisation of ``relative`` (a user) for ``elder`` (a Person)."""

    def make(
        *, relative, elder, business_code="B8", state=ProxyAuthorisation.State.ACTIVE
    ) -> ProxyAuthorisation:
        return ProxyAuthorisation.objects.create(
            relative=relative, elder=elder, relationship="child", business_code=business_code, state=state,
            id_card=b"\xff\xd8\xff", id_card_content_type="image/jpeg", authentication_outcome="pass",
            valid_until=timezone.localdate() + timedelta(days=7), created_at=timezone.now(),
        )  # fmt: skip

    return make


@pytest.fixture
def filing_row(db):
    """An active filing by ``driver`` (a user) of ``vehicle``."""

    def make(*, driver, vehicle, state=VehicleFiling.State.ACTIVE) -> VehicleFiling:
        return VehicleFiling.objects.create(
            driver=driver, vehicle=vehicle, owner_person_id=vehicle.owner_person_id,
            owner_organisation_id=vehicle.owner_organisation_id, state=state, consent_via="account",
            requested_at=timezone.now(), consented_at=timezone.now(),
        )  # fmt: skip

    return make


@pytest.fixture
def elder_person(make_person):
    """A 72-year-old father (the issue's Chromium story)."""
    return make_person(name="张建国", birth_date=date(1954, 3, 2), mobile="13903960072")


# ---------------------------------------------------------------- elderly proxy (O2, U6)


@pytest.fixture
def elder_due_for_renewal(elder_person, make_licence):
    """The 72-year-old father with a C1 licence due for renewal in a month (B8 open), his
    physical-condition certificate submitted by a hospital three weeks ago."""
    today = timezone.localdate()
    make_licence(
        holder=elder_person, valid_from=add_years(today + timedelta(days=30), -10),
        last_medical_on=today - timedelta(days=20),
    )  # fmt: skip
    return elder_person


@pytest.fixture
def relative_of_elder(make_person, citizen):
    """His daughter's account. B8 needs a counter-registered account (U5), asked of the relative
    who applies."""
    return citizen(
        make_person(name="张丽", birth_date=date(1982, 8, 9), mobile="13903960082"), level="counter"
    )
