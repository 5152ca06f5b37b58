"""Access matrix for the application actions (issue 13): every ``applications.*`` action of the access
table x every role x a record inside ("own") or outside ("other") the actor's reach, through the
services and selectors, then through the pages and the API that call them; an allowed probe
checks the effect, a refused one that nothing happened to its record."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from jiaoguan.applications import selectors, services
from jiaoguan.applications.models import Application
from jiaoguan.applications.rules import State
from jiaoguan.core.access import ACTIONS, Role
from jiaoguan.core.errors import NotAllowed, NotFound, Unauthenticated

pytestmark = pytest.mark.django_db

APPLICATION_ACTIONS = sorted(name for name in ACTIONS if name.startswith("applications."))
ROLES = [role.value for role in Role]
PICKUP = services.DeliveryInput(method="pickup")


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "allowed", call()
    except (NotAllowed, NotFound, Unauthenticated):
        return "refused", None


def _application(world: Any, role: str, where: str) -> Application:
    """An application on the role's "own" or "other" side: the citizen's or organisation's own or
    somebody else's; for staff one inside (411702) or outside (411602) the jurisdiction."""
    if role == "organisation" and where == "own":
        return _organisation_application(world)
    person = world.records(role, where).person
    applicant = world.citizen_user if person == world.person_a else _login_of(world, person)
    licence = world.records(role, where).licence
    found = Application.objects.filter(applicant=applicant, business_code="B10").first()
    return found or services.application_submit(
        actor=applicant, business_code="B10", licence_id=licence.pk, delivery=PICKUP
    )


def _login_of(world: Any, person: Any) -> Any:
    from jiaoguan.accounts.models import User

    return User.objects.filter(person=person).first() or world._citizen(person, level="counter")


def _organisation_application(world: Any) -> Application:
    """The world's organisation acts as a hospital (B7 is for hospitals only, U5)."""
    world.organisation.kind = "hospital"
    world.organisation.save(update_fields=["kind"])
    user = world.organisation_user
    user.organisation.refresh_from_db()
    found = Application.objects.filter(applicant=user, business_code="B7").first()
    return found or services.application_submit(actor=user, business_code="B7")


def _apply(world: Any, role: str, where: str) -> tuple[str, bool]:
    """Own: apply for oneself; other: name somebody else's licence (a 404)."""
    actor = world.actor(role)
    if role == "organisation":
        world.organisation.kind = "hospital"
        world.organisation.save(update_fields=["kind"])
        actor.organisation.refresh_from_db()
        kwargs: dict[str, Any] = (
            {"business_code": "B7"}
            if where == "own"
            else {"business_code": "B7", "licence_id": world.licence_c.pk}
        )
    else:
        licence = world.licence_a if where == "own" else world.licence_c
        kwargs = {"business_code": "B11", "licence_id": licence.pk, "delivery": PICKUP}
    before = Application.objects.count()
    outcome, app = _outcome(lambda: services.application_submit(actor=actor, **kwargs))
    effect = app is not None and Application.objects.count() == before + 1
    if outcome == "refused":
        assert Application.objects.count() == before
    return outcome, effect


def _view(world: Any, role: str, where: str) -> tuple[str, bool]:
    app = _application(world, role, where)
    actor = world.actor(role)
    outcome, found = _outcome(lambda: selectors.my_application(actor=actor, application_id=app.pk))
    if outcome == "allowed":
        mine = _outcome(lambda: selectors.my_applications(actor=actor))[1]
        return outcome, found == app and app in mine.items
    return outcome, False


def _handle(world: Any, role: str, where: str) -> tuple[str, bool]:
    app = _application(world, role, where)
    # Acceptance waits for the fee (issue 13; paying it is tested in test_fees); here only who may accept.
    Application.objects.filter(pk=app.pk, fee_paid_at__isnull=True).update(fee_paid_at=timezone.now())
    actor = world.actor(role)
    outcome, _ = _outcome(lambda: services.application_accept(actor=actor, application_id=app.pk))
    state = Application.objects.get(pk=app.pk).state
    if outcome == "refused":
        assert state == State.SUBMITTED
    return outcome, state == State.ACCEPTED


PROBES = {
    "applications.own.apply": _apply,
    "applications.own.view": _view,
    "applications.counter.handle": _handle,
}


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_every_application_action_has_a_probe():
    assert sorted(PROBES) == APPLICATION_ACTIONS


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", APPLICATION_ACTIONS)
def test_application_action_matrix(name, role, where, access_world, access_check):
    access_expected, _ = access_check
    expected = access_expected(name, role, where)
    outcome, effect = PROBES[name](access_world, role, where)
    assert ("allowed" if outcome == "allowed" and effect else "refused") == (
        "allowed" if expected else "refused"
    ), (outcome, effect)


# ---------------------------------------------------------------- the pages and the API (issue 13)
# The same table through the ways in: each probe reports, per channel, the outcome and whether
# the effect really happened; both must match what the table says.


def _state(app: Application) -> str:
    return Application.objects.get(pk=app.pk).state


def _channels_apply(world: Any, role: str, where: str, outcome: Any) -> list[tuple[str, str, bool]]:
    """Withdrawing is the applicant's own action (applications.own.apply) on the side's application."""
    first = _application(world, role, where)
    page = world.client(role).post(f"/applications/{first.pk}/withdraw/")
    page_effect = _state(first) == State.WITHDRAWN
    Application.objects.filter(pk=first.pk).update(state=State.SUBMITTED, withdrawn_at=None)
    api = world.api(role).post(
        f"/api/v1/me/applications/{first.pk}/withdrawal", {}, content_type="application/json"
    )
    return [
        ("page", outcome(page), page_effect),
        ("api", outcome(api), _state(first) == State.WITHDRAWN),
    ]


def _channels_view(world: Any, role: str, where: str, outcome: Any) -> list[tuple[str, str, bool]]:
    app = _application(world, role, where)
    page = world.client(role).get(f"/applications/{app.pk}/")
    api = world.api(role).get(f"/api/v1/me/applications/{app.pk}")
    return [
        ("page", outcome(page), page.status_code == 200 and app.number in page.content.decode()),
        ("api", outcome(api), api.status_code == 200 and api.json()["number"] == app.number),
    ]


def _channels_handle(world: Any, role: str, where: str, outcome: Any) -> list[tuple[str, str, bool]]:
    from .conftest import settle_fee

    app = _application(world, role, where)
    settle_fee(app, world.make_staff(role="counter_clerk", jurisdiction=app.division, username="fee-clerk"))
    client = world.client(role)
    page = client.get(f"/counter/applications/{app.pk}/")
    step = client.post(f"/counter/applications/{app.pk}/accept/")
    return [
        ("page", outcome(page), page.status_code == 200 and app.number in page.content.decode()),
        ("step", outcome(step), _state(app) == State.ACCEPTED),
    ]


CHANNEL_PROBES = {
    "applications.own.apply": _channels_apply,
    "applications.own.view": _channels_view,
    "applications.counter.handle": _channels_handle,
}


def test_every_application_action_has_a_channel_probe():
    assert sorted(CHANNEL_PROBES) == APPLICATION_ACTIONS


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", APPLICATION_ACTIONS)
def test_application_pages_and_api_follow_the_table(name, role, where, access_world, access_check):
    access_expected, access_outcome = access_check
    expected = "allowed" if access_expected(name, role, where) else "refused"
    for channel, outcome, effect in CHANNEL_PROBES[name](access_world, role, where, access_outcome):
        assert ("allowed" if outcome == "allowed" and effect else "refused") == expected, (
            channel,
            outcome,
            effect,
        )
        if outcome == "refused":
            assert not effect, channel
