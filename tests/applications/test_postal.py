"""Posting through the postal service and its tracking (issue 13, S2): waybill from the fake postal
service subprocess (fixture ``postal_service``), delivery deadline, signed callbacks, poll."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from jiaoguan.applications import delivery, services
from jiaoguan.applications.models import ApplicantMessage, Application, ApplicationEvent, PostalNotice
from jiaoguan.applications.rules import State
from jiaoguan.applications.services import DeliveryInput
from jiaoguan.core.errors import Conflict, Unavailable, ValidationFailed
from jiaoguan.core.outbox import outbox_dispatch
from jiaoguan.core.workdays import add_working_days
from jiaoguan.integrations.models import FakeSmsMessage
from jiaoguan.integrations.payment_gateway import signed_headers
from jiaoguan.integrations.postal import waybill_number_valid
from jiaoguan.payments import services as payments
from jiaoguan.registry.rules import add_years

CALLBACK = "/callbacks/postal/tracking"
RECEIPT = {"receipt_number": "HN2026-000123", "reason": "窗口缴纳工本费"}


def _post_to(division: str) -> DeliveryInput:
    return DeliveryInput(
        method="post", recipient_name="张伟", recipient_phone="13800138000", address_division=division,
        address_line="解放路1号",
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Callbacks of the fake go nowhere unless a test runs a live server (port 9: discard).
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-zhumadian")


@pytest.fixture
def in_production(make_person, make_licence, citizen, clerk):
    """A paid, accepted renewal in production, to be posted to ``division``."""

    def make(division: str = "411702") -> Application:
        person = make_person(name="张伟", mobile="13800138000", area="411702")
        licence = make_licence(
            holder=person, division="411702", valid_from=add_years(timezone.localdate(), -3)
        )
        user = citizen(person, level="counter")
        app = services.application_submit(
            actor=user, business_code="B11", licence_id=licence.pk, delivery=_post_to(division)
        )
        payments.payable_pay_at_counter(actor=clerk, payable_id=app.fee_payable_id, **RECEIPT)
        services.application_accept(actor=clerk, application_id=app.pk)
        return services.application_start_production(actor=clerk, application_id=app.pk)

    return make


def _signed(postal_service, events) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "events": [
                {"waybill_number": e.waybill_number, "event_id": e.event_id, "kind": e.kind,
                 "at": e.at.isoformat(), "place": e.place}
                for e in events
            ]
        },
        ensure_ascii=False,
    ).encode()  # fmt: skip
    return body, signed_headers(postal_service.customer_id, postal_service.key.encode(), body)


def _deliver(client, postal_service, events):
    body, headers = _signed(postal_service, events)
    return client.post(CALLBACK, body, content_type="application/json", headers=headers)


# ---------------------------------------------------------------- the rules


@pytest.mark.django_db  # the working-day calendar is in the database
def test_delivery_is_due_in_one_two_or_three_working_days_by_distance():
    assert delivery.distance("411702", "411724") == "city"
    assert delivery.distance("411702", "410105") == "province"
    assert delivery.distance("411702", "110105") == "country"
    assert [delivery.delivery_working_days("411702", d) for d in ("411702", "410105", "110105")] == [1, 2, 3]
    # Friday 4 December 2026, 10:00 Beijing time.
    posted = datetime(2026, 12, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    dues = [
        delivery.delivery_due(posted, origin="411702", destination=d) for d in ("411702", "410105", "110105")
    ]
    assert dues == [add_working_days(posted, n).due_on for n in (1, 2, 3)]
    assert dues[0] < dues[1] < dues[2] and all(d.weekday() < 5 for d in dues)


def test_only_a_posted_application_moves_on_tracking_events():
    assert delivery.tracking_effect(state="posted", kind="delivered") == delivery.COMPLETE
    assert delivery.tracking_effect(state="posted", kind="returned") == delivery.PROBLEM
    assert delivery.tracking_effect(state="posted", kind="lost") == delivery.PROBLEM
    assert delivery.tracking_effect(state="posted", kind="in_transit") == delivery.NOTHING
    assert delivery.tracking_effect(state="completed", kind="delivered") == delivery.NOTHING
    assert delivery.tracking_effect(state="completed", kind="lost") == delivery.NOTHING


# ---------------------------------------------------------------- posting


@pytest.mark.django_db
def test_posting_gets_the_waybill_from_the_postal_service_and_the_due_date(
    in_production, clerk, postal_service
):
    app = in_production("410105")  # Zhengzhou: same province, 2 working days
    posted = services.application_post(actor=clerk, application_id=app.pk)
    assert posted.state == State.POSTED and waybill_number_valid(posted.waybill_number)
    assert posted.delivery_due_on == add_working_days(posted.posted_at, 2).due_on
    events = postal_service.client().waybill_track(posted.waybill_number)
    assert [e.kind for e in events] == ["accepted"]
    step = ApplicationEvent.objects.get(application=app, action="post")
    assert step.note == posted.waybill_number and step.actor_id == clerk.pk


@pytest.mark.django_db
def test_a_postal_timeout_leaves_it_in_production_and_the_retry_gets_the_same_waybill(
    in_production, clerk, postal_service
):
    app = in_production()
    postal_service.configure(timeout_rate=1.0, timeout_sleep_ms=1500)
    with pytest.raises(Unavailable) as failed:
        services.application_post(actor=clerk, application_id=app.pk)
    assert failed.value.code == "applications.postal_unavailable" and "重试" in failed.value.message_zh
    assert Application.objects.get(pk=app.pk).state == State.IN_PRODUCTION
    postal_service.configure(timeout_rate=0.0)
    posted = services.application_post(actor=clerk, application_id=app.pk)
    assert posted.state == State.POSTED
    # The parcel booked during the timeout is the one used: asking again gives the same waybill.
    again = postal_service.client().waybill_create(
        reference=app.number, idempotency_key=f"application:{app.number}", sender="411702 车辆管理所",
        recipient_name="张伟", recipient_phone="13800138000", address_division="411702", address_line="解放路1号",
        callback_url="http://127.0.0.1:9/callbacks/postal/tracking",
    )  # fmt: skip
    assert again.number == posted.waybill_number


@pytest.mark.django_db
def test_the_postal_system_down_then_a_waybill_entered_by_hand(in_production, clerk, postal_service):
    app = in_production()
    postal_service.configure(error_rate=1.0)
    with pytest.raises(Unavailable):
        services.application_post(actor=clerk, application_id=app.pk)
    with pytest.raises(ValidationFailed) as invalid:
        services.application_post(actor=clerk, application_id=app.pk, waybill_number="EA123456784CN")
    assert invalid.value.code == "applications.waybill_invalid"
    posted = services.application_post(actor=clerk, application_id=app.pk, waybill_number=" ea123456785cn ")
    assert posted.state == State.POSTED and posted.waybill_number == "EA123456785CN"
    assert "entered by hand" in ApplicationEvent.objects.get(application=app, action="post").note


@pytest.mark.django_db
def test_posting_is_refused_before_production_without_booking_a_parcel(
    make_person, make_licence, citizen, clerk, postal_service
):
    person = make_person(mobile="13800138000")
    licence = make_licence(holder=person, division="411702", valid_from=add_years(timezone.localdate(), -3))
    user = citizen(person, level="counter")
    app = services.application_submit(
        actor=user, business_code="B11", licence_id=licence.pk, delivery=_post_to("411702")
    )
    with pytest.raises(Conflict) as refused:
        services.application_post(actor=clerk, application_id=app.pk)
    assert refused.value.code == "applications.transition_not_allowed"
    # Had a parcel been booked under the key, other details would be refused as a mismatch.
    fresh = postal_service.client().waybill_create(
        reference=app.number, idempotency_key=f"application:{app.number}", sender="x",
        recipient_name="张伟", recipient_phone="13800138000", address_division="411702",
        address_line="other", callback_url="",
    )  # fmt: skip
    assert waybill_number_valid(fresh.number)


# ---------------------------------------------------------------- tracking


@pytest.mark.django_db
def test_a_badly_signed_callback_is_refused_and_changes_nothing(client, in_production, clerk, postal_service):
    app = services.application_post(actor=clerk, application_id=in_production().pk)
    events = postal_service.advance(app.waybill_number, "delivered")
    body, headers = _signed(postal_service, events)
    forged = {**headers, "X-Signature": "0" * 64}
    answer = client.post(CALLBACK, body, content_type="application/json", headers=forged)
    assert answer.status_code == 400 and answer.json()["code"] == "FAIL"
    assert client.post(CALLBACK, body, content_type="application/json").status_code == 400  # unsigned
    assert client.get(CALLBACK).status_code == 405
    assert not PostalNotice.objects.exists()
    assert Application.objects.get(pk=app.pk).state == State.POSTED


@pytest.mark.django_db
def test_delivered_completes_once_whatever_the_repeats_and_the_order(
    client, in_production, clerk, postal_service
):
    app = services.application_post(actor=clerk, application_id=in_production().pk)
    events = postal_service.advance(app.waybill_number, "delivered")
    assert [e.kind for e in events] == ["accepted", "in_transit", "out_for_delivery", "delivered"]
    for _ in range(3):
        answer = _deliver(client, postal_service, events[::-1])  # newest first, three times
        assert answer.status_code == 200 and answer.json() == {"code": "SUCCESS"}
    _deliver(client, postal_service, events[1:2])  # a late copy of "in transit"
    done = Application.objects.get(pk=app.pk)
    assert done.state == State.COMPLETED and done.delivered_at == events[-1].at and done.completed_at
    completing = ApplicationEvent.objects.get(application=app, action="complete")
    assert completing.actor_id is None and completing.from_state == "posted"
    assert PostalNotice.objects.filter(application=app).count() == 4
    assert set(PostalNotice.objects.values_list("source", flat=True)) == {"callback"}


@pytest.mark.django_db
def test_a_returned_parcel_is_recorded_and_the_applicant_told(client, in_production, clerk, postal_service):
    app = services.application_post(actor=clerk, application_id=in_production().pk)
    events = postal_service.advance(app.waybill_number, "returned")
    _deliver(client, postal_service, events)
    _deliver(client, postal_service, events)
    app.refresh_from_db()
    assert app.state == State.POSTED and app.delivery_problem.startswith("邮件被退回")
    assert ApplicationEvent.objects.filter(application=app, action="delivery_problem").count() == 1
    outbox_dispatch()  # the message, which queues the SMS
    outbox_dispatch()  # the SMS
    told = ApplicantMessage.objects.filter(application=app).order_by("pk").last()
    assert "退回" in told.text_zh and "returned" in told.text_en
    assert FakeSmsMessage.objects.filter(mobile="13800138000", text__contains="退回").count() == 1


@pytest.mark.django_db
def test_an_unknown_waybill_is_answered_and_ignored(client, postal_service, in_production, clerk):
    app = services.application_post(actor=clerk, application_id=in_production().pk)
    events = postal_service.advance(app.waybill_number, "delivered")
    Application.objects.filter(pk=app.pk).update(waybill_number="EA123456785CN")
    assert _deliver(client, postal_service, events).status_code == 200
    assert not PostalNotice.objects.exists()


@pytest.mark.django_db
def test_the_poll_finds_what_lost_callbacks_did_not_tell(in_production, clerk, postal_service):
    postal_service.configure(callback_drop_rate=1.0)
    delivered = services.application_post(actor=clerk, application_id=in_production().pk)
    postal_service.advance(delivered.waybill_number, "delivered")
    fresh = services.application_post(actor=clerk, application_id=in_production("410105").pk)

    result = services.postal_tracking_poll(now=fresh.posted_at, older_than=timedelta(0))
    assert (result.checked, result.completed, result.failed) == (1, 1, 0)  # the fresh one waits
    assert Application.objects.get(pk=delivered.pk).state == State.COMPLETED
    assert set(PostalNotice.objects.values_list("source", flat=True)) == {"poll"}
    again = services.postal_tracking_poll(older_than=timedelta(0))
    assert (again.checked, again.completed) == (1, 0)  # only the fresh one is still posted
    assert ApplicationEvent.objects.filter(application_id=delivered.pk, action="complete").count() == 1


@pytest.mark.django_db
def test_a_poll_with_the_postal_system_down_changes_nothing(in_production, clerk, postal_service):
    app = services.application_post(actor=clerk, application_id=in_production().pk)
    postal_service.configure(error_rate=1.0)
    result = services.postal_tracking_poll(older_than=timedelta(0))
    assert (result.checked, result.failed) == (1, 1)
    assert Application.objects.get(pk=app.pk).state == State.POSTED


@pytest.mark.django_db(transaction=True)
def test_repeated_callbacks_over_http_complete_once(
    in_production, clerk, postal_service, live_server, settings
):
    """The fake postal service itself sends four copies of each event at once to the running server."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent callbacks are exercised on PostgreSQL")
    settings.PUBLIC_BASE_URL = live_server.url
    app = services.application_post(actor=clerk, application_id=in_production().pk)
    postal_service.configure(callback_duplicates=3)
    postal_service.advance(app.waybill_number, "delivered")
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ok = [c for c in postal_service.callbacks() if c["status"] == 200 and c["kind"] == "delivered"]
        if len(ok) >= 4:
            break
        time.sleep(0.1)
    assert len(ok) >= 4
    done = Application.objects.get(pk=app.pk)
    assert done.state == State.COMPLETED
    assert ApplicationEvent.objects.filter(application=app, action="complete").count() == 1
    assert PostalNotice.objects.filter(application=app, kind="delivered").count() == 1


@pytest.mark.django_db
def test_the_worker_polls_hourly_through_the_task(in_production, clerk, postal_service):
    from jiaoguan.applications.tasks import postal_tracking_poll_task
    from jiaoguan.worker import SCHEDULE

    (poll,) = [item for item in SCHEDULE if item.name == "applications.postal_poll"]
    assert poll.every_seconds == 3600
    assert postal_tracking_poll_task.call() == 0  # nothing posted: nothing asked
    app = services.application_post(actor=clerk, application_id=in_production().pk)
    Application.objects.filter(pk=app.pk).update(posted_at=app.posted_at - services.POLL_AFTER)
    assert postal_tracking_poll_task.call() == 1
