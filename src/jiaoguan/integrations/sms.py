"""SMS gateway adapter (短信网关).

Services never call a gateway directly: they write an outbox message with topic
``sms.send``; the handler here hands it to the configured gateway after commit.
The fake gateway behaves like a real one: configurable latency and failure rate,
and it drops a repeat of the same message id, as providers do with a client
reference.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jiaoguan.core.outbox import outbox_handler
from jiaoguan.core.purges import BATCH, purge_in_batches


class SmsGatewayError(Exception):
    """The gateway refused or did not answer; the outbox retries later."""


class SmsGateway(Protocol):
    def send(self, *, mobile: str, text: str, message_id: str) -> None: ...


class FakeSmsGateway:
    """Keeps messages in a table so the demo and the tests can read the inbox."""

    def __init__(
        self, *, failure_rate: float = 0.0, latency_ms: int = 0, rng: random.Random | None = None
    ) -> None:
        self.failure_rate = failure_rate
        self.latency_ms = latency_ms
        self.rng = rng or random.Random()  # noqa: S311 - simulated failures, not security

    def send(self, *, mobile: str, text: str, message_id: str) -> None:
        from .models import FakeSmsMessage

        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if self.failure_rate and self.rng.random() < self.failure_rate:
            raise SmsGatewayError("fake gateway: simulated provider failure")
        try:
            with transaction.atomic():
                FakeSmsMessage.objects.create(mobile=mobile, text=text, gateway_message_id=message_id)
        except IntegrityError:
            return  # a repeat of a delivered message: the provider accepts and ignores it


def get_gateway() -> SmsGateway:
    if settings.SMS_GATEWAY == "fake":
        return FakeSmsGateway(
            failure_rate=settings.SMS_FAKE_FAILURE_RATE, latency_ms=settings.SMS_FAKE_LATENCY_MS
        )
    raise SmsGatewayError(f"no SMS gateway named {settings.SMS_GATEWAY!r} is configured")


@outbox_handler("sms.send")
def deliver_sms(payload: dict[str, Any], dedup_key: str) -> None:
    get_gateway().send(mobile=payload["mobile"], text=payload["text"], message_id=dedup_key)


def fake_sms_purge(*, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False) -> int:
    """Messages of the fake gateway's inbox received more than ``PURGE_FAKE_SMS_DAYS`` (7) days ago.

    Rule: the demo inbox shows codes good for minutes and links good for a day; a long-running
    demo or test installation would otherwise keep every text (with its mobile number) for ever.
    """
    from .models import FakeSmsMessage

    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PURGE_FAKE_SMS_DAYS)
    return purge_in_batches(
        FakeSmsMessage.objects.filter(received_at__lt=cutoff), batch=batch, dry_run=dry_run
    )
