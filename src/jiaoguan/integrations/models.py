"""Tables of the fake outside systems used in demo mode and tests."""

from __future__ import annotations

from django.db import models


class FakeSmsMessage(models.Model):
    """A text message 'delivered' by the fake SMS gateway; shown at /demo/sms."""

    mobile = models.CharField(max_length=11, db_index=True)
    text = models.CharField(max_length=500)
    gateway_message_id = models.CharField(max_length=64, unique=True, db_comment="dedup key from the sender")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"SMS to {self.mobile[-4:]} #{self.pk}"
