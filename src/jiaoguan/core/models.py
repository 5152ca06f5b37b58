"""Shared kernel tables: audit trail, idempotency records, the outbox and the working-day calendar."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """Audit trail row (审计日志): who read or changed which personal data, when and why."""

    class Action(models.TextChoices):
        VIEW = "view", "查看 view"
        LIST = "list", "列表 list"
        CREATE = "create", "新增 create"
        CHANGE = "change", "修改 change"
        REVEAL = "reveal", "显示完整信息 reveal"
        LOGIN = "login", "登录 login"
        LOGIN_FAILED = "login_failed", "登录失败 login failed"
        REGISTER = "register", "注册 register"
        UPGRADE = "upgrade", "升级 upgrade"

    at = models.DateTimeField("时间 time", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="操作人 actor",
    )
    actor_label = models.CharField(
        "操作人账号 actor account",
        max_length=150,
        db_comment="the actor's username, masked when it is an ID number",
    )
    actor_role = models.CharField(
        "岗位 role", max_length=64, blank=True, db_comment="staff role or 'citizen'"
    )
    actor_jurisdiction = models.CharField(
        "操作人辖区 actor jurisdiction", max_length=6, blank=True, db_comment="GB/T 2260 code of the actor"
    )
    action = models.CharField("操作 action", max_length=16, choices=Action.choices)
    subject_type = models.CharField(
        "记录类型 record type", max_length=64, db_comment="app_label.model of the record touched"
    )
    subject_id = models.CharField(
        "记录编号 record id", max_length=64, db_comment="primary key of the record touched"
    )
    subject_person_id = models.BigIntegerField(
        "当事人编号 person id",
        null=True,
        blank=True,
        db_index=True,
        db_comment="registry person whose data this is, for 'who accessed my data'",
    )
    summary = models.CharField(
        "内容 summary", max_length=255, blank=True, db_comment="what was done; personal data masked"
    )
    reason = models.CharField("原因 reason", max_length=255, blank=True)
    ip_address = models.GenericIPAddressField("IP 地址 IP address", null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]
        verbose_name = "审计日志 audit entry"
        verbose_name_plural = "审计日志 audit entries"

    def __str__(self) -> str:
        return f"{self.actor_label} {self.get_action_display()} {self.record_words()} #{self.subject_id}"

    def record_words(self) -> str:
        """ "registry.vehicle" as the record type's name in words ("机动车 vehicle")."""
        try:
            return str(apps.get_model(self.subject_type)._meta.verbose_name)
        except (LookupError, ValueError):
            return self.subject_type


class IdempotencyRecord(models.Model):
    """First answer to a retried request, replayed for a repeat of the same key."""

    scope = models.CharField("接口 scope", max_length=64, db_comment="endpoint or operation name")
    owner = models.CharField("请求方 owner", max_length=64, db_comment="user id, client id or 'anon:<ip>'")
    key = models.CharField("幂等键 key", max_length=128)
    request_hash = models.CharField(
        "请求摘要 request hash", max_length=64, db_comment="sha256 of the request body"
    )
    status_code = models.PositiveSmallIntegerField("状态码 status", null=True, blank=True)
    response = models.JSONField("首次应答 first answer", null=True, blank=True)
    created_at = models.DateTimeField("时间 created at", auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "owner", "key"], name="idempotency_unique_key")
        ]
        verbose_name = "幂等请求记录 idempotency record"
        verbose_name_plural = "幂等请求记录 idempotency records"

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class OutboxMessage(models.Model):
    """A side effect written in the same transaction as the change and sent after commit."""

    dedup_key = models.CharField("去重键 dedup key", max_length=128, unique=True)
    topic = models.CharField("主题 topic", max_length=64, db_index=True)
    payload = models.JSONField("内容 payload")
    created_at = models.DateTimeField("时间 created at", auto_now_add=True)
    attempts = models.PositiveIntegerField("投递次数 attempts", default=0)
    last_error = models.CharField("最近错误 last error", max_length=255, blank=True)
    sent_at = models.DateTimeField("投递时间 sent at", null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "待发事件 outbox message"
        verbose_name_plural = "待发事件 outbox messages"

    def __str__(self) -> str:
        return f"{self.topic}:{self.dedup_key}"


class NamedLock(models.Model):
    """A row to lock when there is no natural row yet (e.g. the first SMS to a number)."""

    name = models.CharField("名称 name", max_length=128, unique=True)

    class Meta:
        verbose_name = "命名锁 named lock"
        verbose_name_plural = "命名锁 named locks"

    def __str__(self) -> str:
        return self.name


class ServiceCounter(models.Model):
    """A place where businesses are handled in person (业务窗口/服务网点), kept up to date by staff.

    Pages that cannot offer a business online say which of these to go to instead, so the
    address and hours a citizen reads are the ones staff maintain, not text in a template.
    """

    name = models.CharField("名称 name", max_length=100)
    division = models.CharField(
        "行政区划 division", max_length=6, db_comment="GB/T 2260 code of the place it serves"
    )
    address = models.CharField("地址 address", max_length=200)
    hours = models.CharField(
        "办公时间 opening hours",
        max_length=200,
        db_comment="in words, as shown to the public, e.g. 周一至周五 8:30–12:00，14:30–17:30",
    )
    phone = models.CharField("咨询电话 phone", max_length=32, blank=True)
    businesses = models.CharField(
        "可办业务 businesses",
        max_length=200,
        blank=True,
        help_text="业务代码，以空格分隔，如 B1 B8；留空表示全部业务。 "
        "Business codes separated by spaces; empty for every business.",
        db_comment="space-separated business codes (B1 B8); empty means every business",
    )
    active = models.BooleanField("启用 active", default=True)
    updated_at = models.DateTimeField("更新时间 updated at", auto_now=True)

    class Meta:
        ordering = ["division", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(division__regex=r"^[0-9]{6}$"), name="service_counter_division_code"
            ),
            models.CheckConstraint(
                condition=~models.Q(name="") & ~models.Q(address="") & ~models.Q(hours=""),
                name="service_counter_has_name_address_hours",
            ),
        ]
        verbose_name = "业务窗口 service counter"
        verbose_name_plural = "业务窗口 service counters"

    def __str__(self) -> str:
        return self.name

    @property
    def business_codes(self) -> frozenset[str]:
        return frozenset(self.businesses.upper().split())

    def handles(self, business_code: str) -> bool:
        """Whether the counter handles the business: every one when none are listed."""
        codes = self.business_codes
        return not codes or business_code.upper() in codes


class CalendarDay(models.Model):
    """A calendar adjustment (日历调整) staff enter from the State Council's yearly notice.

    Rows override the packaged official calendar for their date and supply the years it does
    not know yet (issue 13, REQUIREMENTS S1): a holiday on a weekday, or an adjusted working
    weekend (调休上班). Days without a row follow the package, or Monday-Friday in a year staff
    have marked complete with :class:`CalendarYear`.
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", "放假 holiday"
        WORKING_DAY = "working_day", "调休上班 adjusted working day"

    date = models.DateField("日期 date", unique=True)
    kind = models.CharField("类型 kind", max_length=16, choices=Kind.choices)
    name = models.CharField(
        "节日 holiday name", max_length=50, help_text="如 春节、国庆节 e.g. Spring Festival"
    )
    note = models.CharField(
        "备注 note", max_length=255, blank=True, help_text="依据的通知文号等 e.g. the notice it comes from"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="录入人 recorded by",
    )
    recorded_at = models.DateTimeField("录入时间 recorded at", auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = "日历调整 calendar day"
        verbose_name_plural = "日历调整 calendar days"

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name} {self.get_kind_display()}"

    @property
    def is_working(self) -> bool:
        return self.kind == self.Kind.WORKING_DAY


class CalendarYear(models.Model):
    """A year staff have entered in full (日历年度): only then are its deadlines computed.

    Until a year is marked complete its days are unknown, so a deadline in it is flagged and
    never guessed from weekends alone (a year has its Spring Festival week, issue 13).
    """

    year = models.PositiveSmallIntegerField("年度 year", unique=True)
    complete = models.BooleanField(
        "已录入完整 complete",
        default=False,
        help_text="该年全部放假和调休上班日期已按国务院办公厅通知录入。 "
        "Every holiday and adjusted working day of the year is entered from the State Council notice.",
    )
    note = models.CharField("备注 note", max_length=255, blank=True, help_text="通知文号 the notice")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="录入人 recorded by",
    )
    recorded_at = models.DateTimeField("录入时间 recorded at", auto_now=True)

    class Meta:
        ordering = ["year"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(year__gte=1950, year__lte=9999), name="calendar_year_in_range"
            )
        ]
        verbose_name = "日历年度 calendar year"
        verbose_name_plural = "日历年度 calendar years"

    def __str__(self) -> str:
        return f"{self.year}"
