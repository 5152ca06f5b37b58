"""Messages to the applicant (issue 13): one in-app message and one SMS per step, never twice."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from jiaoguan.applications import notify, services
from jiaoguan.applications.models import ApplicantMessage, Application
from jiaoguan.applications.services import DeliveryInput
from jiaoguan.core.errors import NotAllowed, NotFound
from jiaoguan.core.models import OutboxMessage
from jiaoguan.core.outbox import outbox_deliver, outbox_dispatch
from jiaoguan.integrations.models import FakeSmsMessage
from jiaoguan.notices.models import Delivery
from jiaoguan.registry.rules import add_years

from .conftest import deferral

pytestmark = pytest.mark.django_db
MOBILE = "13800138000"
PICKUP = DeliveryInput(method="pickup")


@pytest.fixture(autouse=True)
def _fast_logins(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clerk(make_staff):
    return make_staff(role="counter_clerk", jurisdiction="411700", username="clerk-zhumadian")


@pytest.fixture
def applicant(make_person, make_licence, citizen):
    def make(mobile: str = MOBILE):
        person = make_person(name="张伟", mobile=mobile, area="411702")
        licence = make_licence(
            holder=person, division="411702", valid_from=add_years(timezone.localdate(), -3)
        )
        return citizen(person, level="counter"), licence

    return make


def _deliver_all() -> None:
    """Deliver the outbox as the worker would: the messages, then the SMS they queue."""
    while outbox_dispatch():
        pass


def test_each_step_gives_one_message_and_one_sms(applicant, clerk):
    user, licence = applicant()
    app = services.application_submit(
        actor=user, business_code="B12", licence_id=licence.pk, particulars=deferral(licence)
    )
    services.application_accept(actor=clerk, application_id=app.pk)
    services.application_complete(actor=clerk, application_id=app.pk)
    _deliver_all()
    messages = list(ApplicantMessage.objects.filter(user=user).order_by("pk"))
    assert [m.text_zh.split("）")[-1] for m in messages] == [
        "已提交，等待车管所受理。",
        "已受理。",
        "已办结。",
    ]
    assert all(app.number in m.text_zh and app.number in m.text_en for m in messages)
    assert "is completed" in messages[-1].text_en
    sms = list(FakeSmsMessage.objects.filter(mobile=MOBILE).order_by("pk").values_list("text", flat=True))
    assert len(sms) == 3 and all(t.startswith("【交管服务平台】") for t in sms)
    assert sms[1].endswith("已受理。")


def test_a_repeated_delivery_writes_no_second_message_or_sms(applicant, clerk):
    user, licence = applicant()
    app = services.application_submit(
        actor=user, business_code="B12", licence_id=licence.pk, particulars=deferral(licence)
    )
    _deliver_all()
    change = OutboxMessage.objects.get(topic="applications.state_changed", payload__application_id=app.pk)
    # At least once: the same outbox message delivered again (a worker crashed after sending).
    OutboxMessage.objects.filter(pk=change.pk).update(sent_at=None)
    assert outbox_deliver(message_id=change.pk)
    services._state_changed_deliver(change.payload, change.dedup_key)
    _deliver_all()
    assert ApplicantMessage.objects.filter(application=app).count() == 1
    assert FakeSmsMessage.objects.filter(mobile=MOBILE).count() == 1
    # The SMS goes with the message-centre copy, whose delivery row is the record of it (issue 15).
    assert Delivery.objects.filter(channel="sms", message__category="applications").count() == 1


def test_a_return_tells_the_reason_and_the_due_date(applicant, clerk):
    user, licence = applicant()
    app = services.application_submit(actor=user, business_code="B10", licence_id=licence.pk, delivery=PICKUP)
    due = timezone.localdate() + timedelta(days=5)
    services.application_return_for_supplement(
        actor=clerk, application_id=app.pk, reason="照片不符合要求", supplement_due_on=due
    )
    _deliver_all()
    told = ApplicantMessage.objects.filter(application=app).order_by("pk").last()
    assert "照片不符合要求" in told.text_zh and f"{due:%Y-%m-%d}" in told.text_zh
    assert "Hand it in by" in told.text_en
    first = ApplicantMessage.objects.filter(application=app).order_by("pk").first()
    assert "10.00" in first.text_zh  # the submission names the fee to pay


def test_the_mobile_is_never_logged_in_clear(applicant, caplog, settings):
    user, licence = applicant()
    settings.SMS_FAKE_FAILURE_RATE = 1.0  # a failed send is logged, with the number masked
    with caplog.at_level(logging.INFO):
        services.application_submit(
            actor=user, business_code="B12", licence_id=licence.pk, particulars=deferral(licence)
        )
        _deliver_all()
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "138****8000" in logged and MOBILE not in logged


def test_without_a_mobile_only_the_in_app_message_is_written(applicant):
    user, licence = applicant(mobile="")
    services.application_submit(
        actor=user, business_code="B12", licence_id=licence.pk, particulars=deferral(licence)
    )
    _deliver_all()
    assert ApplicantMessage.objects.filter(user=user).count() == 1
    assert not OutboxMessage.objects.filter(topic="sms.send").exists()


def test_my_messages_unread_and_mark_read(applicant, clerk):
    user, licence = applicant()
    app = services.application_submit(
        actor=user, business_code="B12", licence_id=licence.pk, particulars=deferral(licence)
    )
    services.application_accept(actor=clerk, application_id=app.pk)
    _deliver_all()
    newest, oldest = notify.my_messages(actor=user)
    assert "已受理" in newest.text_zh and "已提交" in oldest.text_zh
    read = notify.message_mark_read(actor=user, message_id=oldest.pk)
    assert read.read_at is not None
    again = notify.message_mark_read(actor=user, message_id=oldest.pk)
    assert again.read_at == read.read_at  # idempotent
    assert [m.pk for m in notify.my_messages(actor=user, unread_only=True)] == [newest.pk]
    assert len(notify.my_messages(actor=user, limit=1)) == 1


def test_someone_elses_message_is_not_found_and_staff_have_no_inbox(applicant, clerk, make_person, citizen):
    user, licence = applicant()
    services.application_submit(
        actor=user, business_code="B12", licence_id=licence.pk, particulars=deferral(licence)
    )
    _deliver_all()
    mine = ApplicantMessage.objects.get(user=user)
    stranger = citizen(make_person(name="李娜", sequence=77), level="counter")
    assert notify.my_messages(actor=stranger) == []
    with pytest.raises(NotFound):
        notify.message_mark_read(actor=stranger, message_id=mine.pk)
    assert ApplicantMessage.objects.get(pk=mine.pk).read_at is None
    with pytest.raises(NotAllowed):
        notify.my_messages(actor=clerk)


def test_a_late_message_for_a_deleted_application_is_dropped(applicant):
    user, licence = applicant()
    app = services.application_submit(
        actor=user, business_code="B12", licence_id=licence.pk, particulars=deferral(licence)
    )
    change = OutboxMessage.objects.get(topic="applications.state_changed", payload__application_id=app.pk)
    payload = {**change.payload, "application_id": Application.objects.order_by("-pk").first().pk + 1000}
    notify.applicant_notify(payload, "applications-x-event-y")
    assert not ApplicantMessage.objects.filter(dedup_key="applications-x-event-y").exists()


def test_message_texts_for_every_step():
    common = {
        "business_zh": "驾驶证期满换证",
        "business_en": "Licence renewal",
        "number": "411702-20261204-00001",
    }
    cases = {
        ("fee_paid", "submitted"): ("已缴费10.00元", "fee of 10.00 yuan is paid"),
        ("post", "posted"): (
            "邮件号EA123456785CN，预计2026-12-07前送达",
            "waybill EA123456785CN, due by 2026-12-07",
        ),
        ("reject", "rejected"): ("不予受理：驾驶证已注销", "rejected: 驾驶证已注销"),
        ("ready_for_pickup", "ready_for_pickup"): ("取件码", "pickup code"),
        ("withdraw", "withdrawn"): ("已撤回", "withdrawn"),
        ("delivery_problem", "posted"): ("丢失", "lost"),
    }
    details = {
        "fee": "10.00",
        "waybill": "EA123456785CN",
        "due": "2026-12-07",
        "reason": "驾驶证已注销",
        "kind": "lost",
    }
    for (action, state), (zh, en) in cases.items():
        text_zh, text_en = notify.message_text(action=action, to_state=state, details=details, **common)
        assert zh in text_zh and en in text_en, (action, text_zh, text_en)
        assert len(text_zh) <= 300 and len(text_en) <= 300
