"""Completing a licence business changes the licence and reissues the e-licence (issue 13, B8-B14).

Submission and completion run on the real day, so the licences are built relative to it.
The e-licence is really signed (a key of the test's own) and really superseded.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from jiaoguan.applications import services
from jiaoguan.applications.models import Application, ApplicationEvent
from jiaoguan.applications.rules import State
from jiaoguan.applications.services import DeliveryInput
from jiaoguan.core.errors import Conflict
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.credentials import services as credentials
from jiaoguan.credentials.models import Credential
from jiaoguan.credentials.token import DisplayMode
from jiaoguan.registry.models import DrivingLicence
from jiaoguan.registry.rules import add_years

from .conftest import settle_fee

PICKUP = DeliveryInput(method="pickup")
POST = DeliveryInput(
    method="post", recipient_name="张伟", recipient_phone="13800138000", address_division="411702",
    address_line="驻马店市驿城区解放路1号",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _keys_and_logins(tmp_path, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    from jiaoguan.credentials.keys import trust_cache_clear

    trust_cache_clear()
    yield
    trust_cache_clear()


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-zhumadian")


@pytest.fixture
def holder(make_person, make_licence, citizen):
    def make(*, birth_date=date(1985, 6, 15), **kw):
        person = make_person(birth_date=birth_date)
        licence = make_licence(holder=person, **kw)
        return citizen(person, level="counter"), licence

    return make


def _today() -> date:
    return timezone.localdate()


def _in_window(holder, term="6y"):
    """A licence whose validity ends in 30 days, with a fresh certificate: renewal is open today."""
    start = add_years(_today() + timedelta(days=30), -(6 if term == "6y" else 10))
    return holder(
        first_issued_on=start, valid_from=start, term=term, last_medical_on=_today() - timedelta(days=5)
    )


def _deliver(clerk, app):
    settle_fee(app, clerk)
    for step in (services.application_accept, services.application_start_production):
        step(actor=clerk, application_id=app.pk)
    services.application_post(actor=clerk, application_id=app.pk, waybill_number="EA123456785CN")
    return services.application_complete(actor=clerk, application_id=app.pk)


def _e_licence(licence) -> Credential:
    return credentials.licence_credential_issue(licence_id=licence.pk, event="test")


def _reissued(old: Credential) -> Credential:
    """Deliver the registry change the completion published; the old e-licence must be superseded."""
    outbox_dispatch()
    old.refresh_from_db()
    assert old.status == Credential.Status.SUPERSEDED and old.superseded_by_id is not None
    new = Credential.objects.get(pk=old.superseded_by_id)
    assert new.status == Credential.Status.VALID
    assert credentials.credential_verify(
        text=credentials.credential_token(credential=new, mode=DisplayMode.ONLINE)[0]
    ).valid
    return new


@pytest.mark.django_db
def test_renewal_completes_with_a_new_validity_and_a_new_e_licence(holder, clerk):
    user, licence = _in_window(holder)
    old_end = add_years(licence.valid_from, 6)
    old = _e_licence(licence)
    app = services.application_submit(actor=user, business_code="B8", licence_id=licence.pk, delivery=POST)
    assert _deliver(clerk, app).state == State.COMPLETED
    licence.refresh_from_db()
    # Applied for in the window: from the old end date, 6 -> 10 years (S1 art. 13, 62).
    assert (licence.valid_from, licence.validity_term) == (old_end, "10y")
    new = _reissued(old)
    assert new.data["valid_from"] != old.data["valid_from"]
    assert new.valid_until == add_years(old_end, 10)


@pytest.mark.django_db
def test_age_limit_exchange_completes_with_the_chosen_classes(holder, clerk):
    user, licence = holder(birth_date=add_years(_today(), -63) - timedelta(days=10), classes="A2",
                           first_issued_on=date(1990, 3, 5), valid_from=date(2025, 6, 1))  # fmt: skip
    old = _e_licence(licence)
    app = services.application_submit(
        actor=user,
        business_code="B9",
        licence_id=licence.pk,
        delivery=PICKUP,
        particulars={"to_classes": "C2C6"},
    )
    settle_fee(app, clerk)
    services.application_accept(actor=clerk, application_id=app.pk)
    services.application_start_production(actor=clerk, application_id=app.pk)
    app, code = services.application_ready_for_pickup(actor=clerk, application_id=app.pk)
    services.application_hand_over(actor=clerk, application_id=app.pk, pickup_code=code)
    licence.refresh_from_db()
    assert licence.classes == "C2C6"
    assert _reissued(old).data["classes"] == "C2C6"


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["B10", "B11"])
def test_replacement_supersedes_the_old_e_licence_with_the_same_data(holder, clerk, code):
    user, licence = holder(first_issued_on=_today() - timedelta(days=400), term="6y")
    old = _e_licence(licence)
    app = services.application_submit(actor=user, business_code=code, licence_id=licence.pk, delivery=POST)
    _deliver(clerk, app)
    new = _reissued(old)
    assert new.data == old.data and new.event == "licence_replaced"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "field"), [("B12", "renewal_deferred_until"), ("B14", "medical_deferred_until")]
)
def test_deferral_completes_with_its_end_date_and_keeps_the_e_licence(holder, clerk, code, field):
    if code == "B12":
        user, licence = _in_window(holder)
        until = _today() + timedelta(days=200)
    else:  # a holder of 70+ whose certificate is due within 30 days of the cycle just ended
        start = _today() - timedelta(days=10)
        user, licence = holder(birth_date=add_years(start, -75), first_issued_on=add_years(start, -20),
                               valid_from=add_years(start, -2))  # fmt: skip
        until = _today() + timedelta(days=100)
    old = _e_licence(licence)
    app = services.application_submit(
        actor=user, business_code=code, licence_id=licence.pk,
        particulars={"reason": "abroad", "until": until.isoformat()},
    )  # fmt: skip
    settle_fee(app, clerk)
    services.application_accept(actor=clerk, application_id=app.pk)
    assert services.application_complete(actor=clerk, application_id=app.pk).state == State.COMPLETED
    licence.refresh_from_db()
    assert getattr(licence, field) == until
    outbox_dispatch()
    old.refresh_from_db()
    assert old.status == Credential.Status.VALID  # a deferral issues no new card


@pytest.mark.django_db
def test_a_failed_completion_rolls_back_the_application_and_the_licence(holder, clerk):
    user, licence = _in_window(holder)
    app = services.application_submit(actor=user, business_code="B8", licence_id=licence.pk, delivery=POST)
    settle_fee(app, clerk)
    services.application_accept(actor=clerk, application_id=app.pk)
    services.application_start_production(actor=clerk, application_id=app.pk)
    services.application_post(actor=clerk, application_id=app.pk, waybill_number="EA123456785CN")
    # Revoked meanwhile (S7 F): the renewal may no longer be made.
    DrivingLicence.objects.filter(pk=licence.pk).update(status="F")
    with pytest.raises(Conflict) as refused:
        services.application_complete(actor=clerk, application_id=app.pk)
    assert refused.value.code == "licence.status_F"
    app.refresh_from_db()
    licence.refresh_from_db()
    assert app.state == State.POSTED and app.completed_at is None
    assert not ApplicationEvent.objects.filter(application=app, to_state=State.COMPLETED).exists()
    assert (licence.valid_from, licence.validity_term) == (add_years(_today() + timedelta(days=30), -6), "6y")


@pytest.mark.django_db
def test_a_deferral_that_no_longer_fits_is_not_completed(holder, clerk):
    user, licence = _in_window(holder)
    until = _today() + timedelta(days=200)
    app = services.application_submit(
        actor=user, business_code="B12", licence_id=licence.pk,
        particulars={"reason": "abroad", "until": until.isoformat()},
    )  # fmt: skip
    settle_fee(app, clerk)
    services.application_accept(actor=clerk, application_id=app.pk)
    # Renewed at the counter meanwhile: the new validity leaves nothing to defer until then.
    DrivingLicence.objects.filter(pk=licence.pk).update(valid_from=_today(), validity_term="10y")
    with pytest.raises(Conflict):
        services.application_complete(actor=clerk, application_id=app.pk)
    assert Application.objects.get(pk=app.pk).state == State.ACCEPTED
    assert DrivingLicence.objects.get(pk=licence.pk).renewal_deferred_until is None
