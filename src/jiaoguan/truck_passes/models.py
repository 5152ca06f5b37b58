"""Truck restriction zones and pass codes (货车通行码, O1, O1a; seed 004 §四).

A :class:`RestrictionZone` is one area or road of a city with its closed windows, published for
everyone once the O1a checks pass. A :class:`PassApplication` asks for codes for one or more trucks
in one zone; each issued :class:`TruckPass` is a signed TK1 credential (tokens.py) whose id is its
index in the status list. :class:`BlacklistDecision` keeps each blacklisting found at an
application, with the counts and the reason. :class:`QuotaLock` serialises one applicant's
applications, so two at once cannot both take the last code of a quota.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from jiaoguan.registry.models import Organisation, Person, Vehicle

from . import rules


class RestrictionZone(models.Model):
    """A truck restriction zone or road (货车禁限行区域) of a city, with its closed windows (O1a)."""

    class Kind(models.TextChoices):
        CITY = rules.CITY, "全市范围 whole city"
        CORE = rules.CORE, "城市核心区 core area"
        ORDINARY = rules.ORDINARY, "一般区域或道路 ordinary area or road"

    class State(models.TextChoices):
        DRAFT = "draft", "草稿 draft"
        PUBLISHED = "published", "已发布 published"
        WITHDRAWN = "withdrawn", "已撤销 withdrawn"

    division = models.CharField(
        "城市行政区划 city",
        max_length=6,
        db_index=True,
        db_comment="GB/T 2260 code of the city that sets the rule",
    )
    name = models.CharField("区域名称 name", max_length=60)
    kind = models.CharField("区域类型 kind", max_length=10, choices=Kind.choices)
    individual_road = models.BooleanField(
        "核心区个别道路 individual road", default=False,
        db_comment="an individual road of a core area: may keep fewer than 6 open hours (O1a)",
    )  # fmt: skip
    roads = models.CharField("范围（道路） roads", max_length=300)
    vehicle_kinds = models.JSONField(
        "限行车型 restricted kinds", default=list, db_comment="registry vehicle kinds (rules.TRUCK_KINDS)"
    )
    windows = models.JSONField(
        "禁行时段 closed windows", default=list,
        db_comment="[{days: [1..7], start: minutes, end: minutes}], weekday 1 is Monday",
    )  # fmt: skip
    state = models.CharField("状态 state", max_length=10, choices=State.choices, default=State.DRAFT)
    version = models.PositiveIntegerField(
        "版本 version",
        default=1,
        db_comment="raised at every change; a pass keeps the version it was issued under",
    )
    published_at = models.DateTimeField("发布时间 published at", null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="修改人 changed by"
    )
    changed_at = models.DateTimeField("修改时间 changed at", auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["division", "name"], condition=~Q(state="withdrawn"), name="truck_zone_name_once"
            ),
            models.CheckConstraint(
                condition=Q(individual_road=False) | Q(kind=rules.CORE), name="truck_zone_exception_core_only"
            ),
        ]
        ordering = ["division", "name"]
        verbose_name = "货车禁限行区域 truck restriction zone"
        verbose_name_plural = "货车禁限行区域 truck restriction zones"

    def __str__(self) -> str:
        return self.name

    def closed(self) -> list[rules.Window]:
        return rules.windows_from(self.windows)


class PassApplication(models.Model):
    """An application for truck pass codes (货车通行码申领): one zone, one daily window, one or more
    trucks; decided at once (issued within the rules and quota, the rest refused with the reason)."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="申请账户 applicant",
    )
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="申请人 person",
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="申请单位 organisation",
    )  # fmt: skip
    zone = models.ForeignKey(
        RestrictionZone, on_delete=models.PROTECT, related_name="+", verbose_name="区域 zone"
    )
    start = models.PositiveSmallIntegerField("每日通行起 daily from", db_comment="minutes after midnight")
    end = models.PositiveSmallIntegerField("每日通行止 daily to", db_comment="minutes after midnight")
    valid_from = models.DateField("有效期起 valid from")
    days_asked = models.PositiveSmallIntegerField("申请天数 days asked")
    outcome = models.JSONField(
        "结果 outcome",
        default=list,
        db_comment="[{plate, issued, code, zh, en}] per truck, in the order asked",
    )
    reason_zh = models.CharField("黑名单原因 blacklist reason", max_length=300, blank=True, default="")
    reason_en = models.CharField("黑名单原因（英） reason (en)", max_length=400, blank=True, default="")
    submitted_at = models.DateTimeField("申请时间 submitted at", auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=False) & Q(organisation__isnull=True))
                | (Q(person__isnull=True) & Q(organisation__isnull=False)),
                name="truck_application_one_applicant",
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="truck_application_window_ordered"),
        ]
        ordering = ["-submitted_at", "-id"]
        verbose_name = "货车通行码申请 truck pass application"
        verbose_name_plural = "货车通行码申请 truck pass applications"

    def __str__(self) -> str:
        return f"TA{self.pk}"


class TruckPass(models.Model):
    """An issued truck pass code (货车电子通行码, TK1): one truck, one zone, a daily window, dates."""

    application = models.ForeignKey(
        PassApplication, on_delete=models.PROTECT, related_name="passes", verbose_name="申请 application"
    )
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="+", verbose_name="车辆 vehicle"
    )
    plate_number = models.CharField("号牌号码 plate number", max_length=10, db_index=True)
    vehicle_kind = models.CharField("车辆类型 vehicle kind", max_length=32)
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="申请人 person",
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="申请单位 organisation",
    )  # fmt: skip
    zone = models.ForeignKey(
        RestrictionZone, on_delete=models.PROTECT, related_name="+", verbose_name="区域 zone"
    )
    zone_version = models.PositiveIntegerField("区域规则版本 zone version")
    division = models.CharField("城市行政区划 city", max_length=6, db_index=True)
    start = models.PositiveSmallIntegerField("每日通行起 daily from", db_comment="minutes after midnight")
    end = models.PositiveSmallIntegerField("每日通行止 daily to", db_comment="minutes after midnight")
    weekdays = models.JSONField(
        "适用星期 weekdays", default=list, db_comment="weekdays the window lifts a ban"
    )
    valid_from = models.DateField("有效期起 valid from")
    valid_until = models.DateField("有效期止 valid until", db_comment="inclusive")
    blacklisted = models.BooleanField("黑名单限制 blacklisted", default=False)
    issued_at = models.DateTimeField("核发时间 issued at", auto_now_add=True)
    revoked_at = models.DateTimeField("注销时间 revoked at", null=True, blank=True)
    revoke_reason = models.CharField("注销原因 reason", max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")), name="truck_pass_dates_ordered"
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="truck_pass_window_ordered"),
        ]
        indexes = [models.Index(fields=["vehicle", "valid_until"], name="truck_pass_vehicle_until")]
        ordering = ["-issued_at", "-id"]
        verbose_name = "货车通行码 truck pass"
        verbose_name_plural = "货车通行码 truck passes"

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"TK{self.pk:08d}"


class BlacklistDecision(models.Model):
    """A blacklisting (黑名单) found when an application was decided: who, the counts, the rule row
    and its reason, and the limits it set (O1)."""

    subject = models.CharField("对象 subject", max_length=8, db_comment="company or vehicle")
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="企业 company",
    )
    vehicle = models.ForeignKey(
        Vehicle,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="车辆 vehicle",
    )
    application = models.ForeignKey(
        PassApplication,
        on_delete=models.CASCADE,
        related_name="blacklistings",
        verbose_name="申请 application",
    )
    division = models.CharField("城市行政区划 city", max_length=6, db_index=True)
    as_of = models.DateField("评定日期 as of")
    rule_version = models.CharField("规则版本 rule version", max_length=10)
    violations = models.PositiveIntegerField("违法起数 violations")
    accidents = models.PositiveIntegerField("事故起数 accidents")
    max_codes = models.PositiveSmallIntegerField("通行码上限 max codes")
    max_days = models.PositiveSmallIntegerField("有效期上限（天） max days")
    reason_zh = models.CharField("原因 reason", max_length=300)
    reason_en = models.CharField("原因（英） reason (en)", max_length=400)
    decided_at = models.DateTimeField("评定时间 decided at", auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(subject=rules.COMPANY) & Q(organisation__isnull=False))
                | (Q(subject=rules.VEHICLE) & Q(vehicle__isnull=False)),
                name="truck_blacklist_subject_given",
            )
        ]
        ordering = ["-decided_at", "-id"]
        verbose_name = "货车通行黑名单 truck blacklist decision"
        verbose_name_plural = "货车通行黑名单 truck blacklist decisions"

    def __str__(self) -> str:
        return f"{self.subject} {self.as_of}"


class QuotaLock(models.Model):
    """One row per applicant (a person or a company), locked while an application is decided."""

    key = models.CharField(
        "申请人 applicant", max_length=40, unique=True, db_comment="person:<id> or org:<id>"
    )

    class Meta:
        verbose_name = "配额锁 quota lock"
        verbose_name_plural = "配额锁 quota locks"

    def __str__(self) -> str:
        return self.key
