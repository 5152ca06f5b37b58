"""Event messages (N1): what the other apps publish reaches the message centre once, with its SMS."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from jiaoguan.core.models import OutboxMessage
from jiaoguan.core.outbox import outbox_deliver, outbox_dispatch
from jiaoguan.integrations.models import FakeSmsMessage
from jiaoguan.notices.delivery import deliveries_send_due
from jiaoguan.notices.models import Delivery, Message

pytestmark = pytest.mark.django_db


def _deliver_all() -> None:
    outbox_dispatch()
    deliveries_send_due()


def test_a_camera_record_tells_the_owner_once(make_person, make_vehicle, record):
    owner = make_person(mobile="13700137000")
    vehicle = make_vehicle(owner=owner, owner_mobile="13700137001")
    violation = record(vehicle)
    _deliver_all()
    message = Message.objects.get(rule_code="W01")
    assert message.person_id == owner.pk and message.required
    assert message.dedup_key == f"N1:W01:violation:{violation.pk}:p{owner.pk}"
    assert vehicle.plate_number in message.body_zh and message.link == f"/violations/{violation.pk}/"
    # The vehicle's own contact number is the one told (B5).
    assert FakeSmsMessage.objects.filter(mobile="13700137001").count() == 1
    # The outbox delivers at least once: delivering the same outbox row again tells nobody twice.
    row = OutboxMessage.objects.get(topic="violations.recorded")
    OutboxMessage.objects.filter(pk=row.pk).update(sent_at=None)
    outbox_deliver(message_id=row.pk)
    deliveries_send_due()
    assert Message.objects.filter(rule_code="W01").count() == 1
    assert FakeSmsMessage.objects.filter(mobile="13700137001").count() == 1


def test_a_record_of_an_unknown_plate_tells_nobody(record):
    record(plate="豫Q9Z999")
    _deliver_all()
    assert Message.objects.count() == 0


def test_an_organisations_vehicle_tells_the_organisation(make_vehicle, organisation_user, record):
    user = organisation_user()
    vehicle = make_vehicle(owner=user.organisation)
    record(vehicle)
    _deliver_all()
    message = Message.objects.get(rule_code="W01")
    assert message.organisation_id == user.organisation_id and message.person_id is None
    assert Delivery.objects.get(message=message, channel="sms").state == "skipped"  # no mobile on record


def test_a_decision_tells_the_driver_with_points_and_fine(owner_driver, record):
    from jiaoguan.violations.services import violation_handle_online

    user, person, vehicle, _licence = owner_driver()
    violation = record(vehicle, code="1625")
    violation_handle_online(actor=user, violation_id=violation.pk, no_dispute=True, drove_self=True)
    _deliver_all()
    decided = Message.objects.get(dedup_key__startswith="event:decided:")
    assert decided.person_id == person.pk
    assert "记6分" in decided.body_zh and "200.00元" in decided.body_zh


def test_a_failing_subscriber_does_not_lose_the_other(owner_driver, record, monkeypatch):
    """Each subscriber runs in its own savepoint: one failing leaves the message unsent for a retry."""
    from jiaoguan.core import outbox

    _user, _person, vehicle, _licence = owner_driver()
    calls = []

    def broken(payload, dedup_key):
        calls.append(dedup_key)
        raise RuntimeError("down")

    monkeypatch.setitem(outbox._HANDLERS.setdefault("violations.recorded", {}), "test.broken", broken)
    record(vehicle)
    outbox_dispatch()
    row = OutboxMessage.objects.get(topic="violations.recorded")
    assert row.sent_at is None and "down" in row.last_error and calls
    # The message centre's subscriber did its part; the retry runs it again without a second message.
    assert Message.objects.filter(rule_code="W01").count() == 1
    outbox._HANDLERS["violations.recorded"].pop("test.broken")
    outbox_dispatch()
    assert OutboxMessage.objects.get(pk=row.pk).sent_at is not None
    assert Message.objects.filter(rule_code="W01").count() == 1
    assert FakeSmsMessage.objects.count() == 1


def test_a_revoked_credential_tells_the_owner(owner_driver, make_staff):
    from jiaoguan.credentials.services import credential_revoke, inspection_mark_issue

    _user, _person, vehicle, _licence = owner_driver()
    vehicle.last_inspected_on = timezone.localdate()
    vehicle.save()
    mark = inspection_mark_issue(vehicle_id=vehicle.pk, event="test")
    assert mark is not None
    _deliver_all()
    assert Message.objects.filter(category="credentials", dedup_key__contains=":issued:").count() == 1
    clerk = make_staff(role="counter_clerk", jurisdiction="411700")
    credential_revoke(actor=clerk, credential_id=mark.pk, reason="号牌被盗，凭证作废")
    _deliver_all()
    revoked = Message.objects.get(dedup_key__contains=":revoked:")
    assert revoked.required and "号牌被盗" in revoked.body_zh


def test_an_application_step_reaches_the_centre_with_one_sms(make_person, make_licence, citizen):
    from jiaoguan.applications import services as applications
    from jiaoguan.applications.services import DeliveryInput
    from jiaoguan.registry.rules import add_years

    person = make_person(mobile="13600136000")
    licence = make_licence(holder=person, valid_from=add_years(timezone.localdate(), -3))
    user = citizen(person, level="counter")
    app = applications.application_submit(
        actor=user, business_code="B10", licence_id=licence.pk, delivery=DeliveryInput(method="pickup")
    )
    _deliver_all()
    message = Message.objects.get(category="applications")
    assert message.person_id == person.pk and app.number in message.body_zh
    assert message.link == f"/applications/{app.pk}/"
    assert FakeSmsMessage.objects.filter(mobile="13600136000").count() == 1


def test_an_accident_stage_tells_each_registered_party(make_person, make_staff):
    from jiaoguan.accidents.models import AccidentCase, Party, StageRecord
    from jiaoguan.accidents.services import STAGE_RECORDED
    from jiaoguan.core.outbox import outbox_enqueue

    officer = make_staff(role="accident_officer", jurisdiction="411700")
    case = AccidentCase.objects.create(
        number="4117022026000001",
        division="411702",
        occurred_at=timezone.now(),
        place="解放路",
        officer=officer,
    )
    party_person = make_person(mobile="13500135000")
    Party.objects.create(
        case=case, label="甲", person=party_person, name=party_person.name, phone="13500135000"
    )
    Party.objects.create(case=case, label="乙", name="外地人", phone="13500135001")  # not in the registry
    stage = StageRecord.objects.create(
        case=case,
        stage="investigation",
        happened_on=date.today(),
        public_note="已调取监控",
        recorded_by=officer,
    )
    outbox_enqueue(
        topic=STAGE_RECORDED, payload={"stage_record_id": stage.pk}, dedup_key=f"accident-stage-{stage.pk}"
    )
    _deliver_all()
    message = Message.objects.get(category="accidents")
    assert message.person_id == party_person.pk and case.number in message.body_zh
    assert FakeSmsMessage.objects.filter(mobile="13500135000").count() == 1
