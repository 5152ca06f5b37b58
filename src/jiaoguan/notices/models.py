"""Messages to owners, drivers and organisations and the proof of their delivery (N1, N4, N5).

A message is addressed to a person or an organisation of the registry, not to a login: a
driver told by SMS before registering finds the notice in the message centre afterwards, and
an organisation's users share its messages. Each channel of each message has a delivery row;
that row is both the outbox of the send and the record that the person was told.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiaoguan.registry.models import Organisation, Person

from .categories import CATEGORY_CHOICES


class Message(models.Model):
    """A message in the message centre (消息)."""

    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="收件人 person",
    )
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="收件单位 organisation",
    )
    category = models.CharField("类别 category", max_length=16, choices=CATEGORY_CHOICES)
    rule_code = models.CharField(
        "告知项目 notice rule",
        max_length=16,
        blank=True,
        db_comment="code of the notice rule (e.g. V01, L07, W03); blank for an event message",
    )
    required = models.BooleanField(
        "法定告知 required notice",
        default=False,
        db_comment="a notice the law requires: its SMS cannot be switched off",
    )
    title_zh = models.CharField("标题 title", max_length=100)
    title_en = models.CharField("标题（英文） title (English)", max_length=160)
    body_zh = models.CharField("内容 text", max_length=500)
    body_en = models.CharField("内容（英文） text (English)", max_length=800)
    link = models.CharField(
        "链接 link", max_length=200, blank=True, db_comment="site path the message is about"
    )
    dedup_key = models.CharField(
        "去重键 dedup key",
        max_length=160,
        unique=True,
        db_comment="one message per fact: a repeat of the event or the scan finds it and sends nothing",
    )
    division = models.CharField(
        "行政区划 division",
        max_length=6,
        blank=True,
        db_comment="division of the record the message is about",
    )
    created_at = models.DateTimeField("时间 created", auto_now_add=True, db_index=True)
    read_at = models.DateTimeField("阅读时间 read at", null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=False) & Q(organisation__isnull=True))
                | (Q(person__isnull=True) & Q(organisation__isnull=False)),
                name="message_exactly_one_recipient",
            ),
        ]
        indexes = [
            models.Index(fields=["person", "-id"], name="message_person_newest"),
            models.Index(fields=["organisation", "-id"], name="message_org_newest"),
            models.Index(fields=["person"], condition=Q(read_at__isnull=True), name="message_person_unread"),
            models.Index(
                fields=["organisation"], condition=Q(read_at__isnull=True), name="message_org_unread"
            ),
        ]
        verbose_name = "消息 message"
        verbose_name_plural = "消息 messages"

    def __str__(self) -> str:
        return self.title_zh


class Delivery(models.Model):
    """One channel of one message: the send's outbox row and the proof of telling (送达记录)."""

    class Channel(models.TextChoices):
        IN_APP = "in_app", "站内消息 in-app"
        SMS = "sms", "短信 SMS"

    class State(models.TextChoices):
        PENDING = "pending", "待发送 pending"
        SENT = "sent", "已发送 sent"
        FAILED = "failed", "发送失败 failed"
        SKIPPED = "skipped", "未发送 not sent"

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="deliveries", verbose_name="消息 message"
    )
    channel = models.CharField("渠道 channel", max_length=8, choices=Channel.choices)
    state = models.CharField("状态 state", max_length=8, choices=State.choices, default=State.PENDING)
    address = models.CharField(
        "发送地址 address",
        max_length=20,
        blank=True,
        db_comment="mobile for SMS; personal data, masked in views",
    )
    attempts = models.PositiveSmallIntegerField("尝试次数 attempts", default=0)
    next_attempt_at = models.DateTimeField(
        "下次发送时间 next attempt", null=True, blank=True, db_comment="set while pending"
    )
    result = models.CharField(
        "结果 result", max_length=255, blank=True, db_comment="gateway answer, error, or why not sent"
    )
    sent_at = models.DateTimeField("发送时间 sent at", null=True, blank=True)
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "channel"], name="delivery_one_per_channel"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(state="pending"), name="delivery_pending_due"
            ),
        ]
        verbose_name = "送达记录 delivery"
        verbose_name_plural = "送达记录 deliveries"

    def __str__(self) -> str:
        return f"{self.message_id} {self.channel} {self.state}"


class SmsPreference(models.Model):
    """A user's choice to receive a category's messages by SMS (短信订阅设置)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name="用户 user"
    )
    category = models.CharField("类别 category", max_length=16, choices=CATEGORY_CHOICES)
    sms = models.BooleanField("短信 SMS")
    changed_at = models.DateTimeField("修改时间 changed", auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "category"], name="sms_preference_once"),
        ]
        verbose_name = "短信订阅设置 SMS preference"
        verbose_name_plural = "短信订阅设置 SMS preferences"

    def __str__(self) -> str:
        return f"{self.category} {'on' if self.sms else 'off'}"


class CalendarFeedToken(models.Model):
    """A private calendar feed address a user chose to create (个人日历订阅), revocable."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name="用户 user"
    )
    token_hash = models.CharField(
        "令牌摘要 token hash",
        max_length=64,
        unique=True,
        db_comment="SHA-256 of the token; the token is shown once",
    )
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)
    revoked_at = models.DateTimeField("撤销时间 revoked", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用 last used", null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="calendar_feed_one_active"
            ),
        ]
        verbose_name = "日历订阅 calendar feed"
        verbose_name_plural = "日历订阅 calendar feeds"

    def __str__(self) -> str:
        return f"calendar feed {self.pk}"


class ScanRun(models.Model):
    """Progress of one notice rule's daily scan (告知扫描进度), so a stopped scan resumes (N1).

    One row per day and rule. ``last_id`` is the last subject id whose messages are committed,
    written in the same transaction as those messages: a scan stopped anywhere restarts after
    it, and the dedup keys make a repeat of a chunk send nothing twice.
    """

    day = models.DateField("扫描日期 day", db_comment="the local date the rules were evaluated for")
    rule_code = models.CharField("告知项目 rule", max_length=16)
    last_id = models.BigIntegerField(
        "已处理至 last id", default=0, db_comment="subject ids up to this one are done"
    )
    done = models.BooleanField("已完成 done", default=False)
    candidates = models.PositiveIntegerField(
        "候选数 candidates", default=0, db_comment="rows the SQL selected, before the rule's confirmation"
    )
    hits = models.PositiveIntegerField("触发数 hits", default=0, db_comment="rows the rule fired on")
    messages = models.PositiveIntegerField("新消息数 messages", default=0, db_comment="messages written")
    seconds = models.FloatField("耗时（秒） seconds", default=0)
    started_at = models.DateTimeField("开始时间 started", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间 finished", null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "rule_code"], name="scan_run_once_per_day")]
        verbose_name = "告知扫描 notice scan"
        verbose_name_plural = "告知扫描 notice scans"

    def __str__(self) -> str:
        return f"{self.day} {self.rule_code}"
