"""Tables of the fake outside systems used in demo mode and tests."""

from __future__ import annotations

from django.db import models


class FakeSmsMessage(models.Model):
    """A text message 'delivered' by the fake SMS gateway; shown at /demo/sms."""

    mobile = models.CharField("手机号码 mobile", max_length=11, db_index=True)
    text = models.CharField("内容 text", max_length=500)
    gateway_message_id = models.CharField(
        "消息编号 message id", max_length=64, unique=True, db_comment="dedup key from the sender"
    )
    received_at = models.DateTimeField("收到时间 received at", auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "模拟短信 fake SMS"
        verbose_name_plural = "模拟短信 fake SMS messages"

    def __str__(self) -> str:
        return f"SMS to {self.mobile[-4:]} #{self.pk}"
