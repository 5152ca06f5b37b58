"""Messages and their delivery (N1): one message per fact, the SMS sent after commit, retried with
back-off, and every channel's result kept as the proof of telling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.integrations.models import FakeSmsMessage
from jiaoguan.notices import delivery
from jiaoguan.notices.delivery import Draft, deliveries_send_due, messages_create
from jiaoguan.notices.models import Delivery, Message, SmsPreference

pytestmark = pytest.mark.django_db


def _draft(person, *, key="fact-1", mobile="13800138000", category="vehicles", required=True) -> Draft:
    return Draft(
        category=category, title_zh="逾期未检验", title_en="Inspection overdue",
        body_zh="您的机动车豫Q00001检验已逾期，请及时检验。", body_en="Inspection overdue.",
        dedup_key=key, person_id=person.pk, mobile=mobile, required=required, rule_code="V01", division="411702",
    )  # fmt: skip


def test_a_fact_is_stored_once_with_a_delivery_row_per_channel(make_person):
    person = make_person()
    first = messages_create([_draft(person), _draft(person)])
    again = messages_create([_draft(person)])
    assert Message.objects.count() == 1
    assert len(first) == 1 and again == []
    message = Message.objects.get()
    rows = {d.channel: d for d in message.deliveries.all()}
    assert rows["in_app"].state == "sent" and rows["in_app"].sent_at is not None
    assert rows["sms"].state == "pending" and rows["sms"].address == "13800138000"


def test_the_sms_goes_out_on_the_pass_and_is_logged(make_person):
    person = make_person(mobile="13900139000")
    messages_create([_draft(person, mobile="13900139000")])
    assert deliveries_send_due() == 1
    sms = Delivery.objects.get(channel="sms")
    assert sms.state == "sent" and sms.attempts == 1 and "gateway" in sms.result
    text = FakeSmsMessage.objects.get(mobile="13900139000").text
    assert text.startswith("【交管服务平台】") and "豫Q00001" in text
    assert deliveries_send_due() == 0  # nothing left: a second pass sends nothing twice


def test_no_mobile_means_the_in_app_message_only(make_person):
    person = make_person(mobile="")
    messages_create([_draft(person, mobile="")])
    sms = Delivery.objects.get(channel="sms")
    assert sms.state == "skipped" and "no mobile" in sms.result
    assert deliveries_send_due() == 0
    assert Message.objects.count() == 1


def test_a_switched_off_category_keeps_required_notices(make_person, citizen):
    person = make_person()
    user = citizen(person)
    SmsPreference.objects.create(user=user, category="vehicles", sms=False)
    messages_create([_draft(person, key="required", required=True)])
    messages_create([_draft(person, key="optional", required=False)])
    states = dict(Delivery.objects.filter(channel="sms").values_list("message__dedup_key", "state"))
    assert states == {"required": "pending", "optional": "skipped"}


def test_safety_warnings_go_by_sms_only_when_chosen(make_person, citizen):
    person = make_person()
    messages_create([_draft(person, key="warning-1", category="safety", required=False)])
    assert Delivery.objects.get(channel="sms").state == "skipped"
    user = citizen(person)
    SmsPreference.objects.create(user=user, category="safety", sms=True)
    messages_create([_draft(person, key="warning-2", category="safety", required=False)])
    assert Delivery.objects.get(channel="sms", message__dedup_key="warning-2").state == "pending"


def test_a_failing_gateway_is_retried_with_back_off_then_given_up(make_person, settings):
    person = make_person()
    messages_create([_draft(person)])
    settings.SMS_FAKE_FAILURE_RATE = 1.0
    now = timezone.now()
    assert deliveries_send_due(now=now) == 0
    sms = Delivery.objects.get(channel="sms")
    assert sms.state == "pending" and sms.attempts == 1
    assert sms.next_attempt_at == now + delivery.SMS_RETRY_DELAYS[0]
    assert deliveries_send_due(now=now + timedelta(seconds=30)) == 0  # not yet due
    assert Delivery.objects.get(channel="sms").attempts == 1
    at = now
    for delay in delivery.SMS_RETRY_DELAYS:
        at += delay
        deliveries_send_due(now=at)
    sms.refresh_from_db()
    assert sms.state == "failed" and sms.attempts == len(delivery.SMS_RETRY_DELAYS) + 1
    assert sms.next_attempt_at is None and "failed" in sms.result
    assert FakeSmsMessage.objects.count() == 0


def test_a_slow_gateway_recovers_and_the_text_goes_once(make_person, settings):
    person = make_person()
    messages_create([_draft(person)])
    settings.SMS_FAKE_FAILURE_RATE = 1.0
    now = timezone.now()
    deliveries_send_due(now=now)
    settings.SMS_FAKE_FAILURE_RATE = 0.0
    settings.SMS_FAKE_LATENCY_MS = 50
    assert deliveries_send_due(now=now + timedelta(minutes=2)) == 1
    # A repeat reaching the gateway (a worker dying after the send) is dropped by its message id.
    sms = Delivery.objects.get(channel="sms")
    delivery.get_gateway().send(mobile=sms.address, text="again", message_id=f"notice-{sms.pk}")
    assert FakeSmsMessage.objects.count() == 1


def test_a_message_has_exactly_one_recipient(make_person):
    with pytest.raises(ValueError):
        messages_create(
            [Draft(category="vehicles", title_zh="t", title_en="t", body_zh="b", body_en="b", dedup_key="x")]
        )
