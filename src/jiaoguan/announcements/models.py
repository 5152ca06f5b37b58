"""Announcements (公告), publications (公布) and the lists staff keep for them (N3, issue 15).

Personal data rules of the public lists (ASSUMPTION where the law does not say): plates are
public and shown in full; a person's name and ID (licence) number are stored only masked, with
a keyed hash of the full name so that typing the exact name finds the row; organisations'
names are not personal data and are shown in full.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .rules import ANNOUNCEMENT_CODES, PUBLICATION_CODES, STATE_WORDS, State, Subject

STATE_CHOICES = [(s.value, f"{zh} {en}") for s, (zh, en) in STATE_WORDS.items()]
CODE_CHOICES = [(c, c) for c in ANNOUNCEMENT_CODES]
PUBLICATION_CHOICES = [(c, c) for c in PUBLICATION_CODES]
SUBJECT_CHOICES = [(s.value, s.value) for s in Subject]


class Announcement(models.Model):
    """A public announcement (交通安全信息公告), one of the 20 kinds G01-G20 of seed 002 附件4."""

    code = models.CharField("公告项目 kind", max_length=3, choices=CODE_CHOICES)
    division = models.CharField(
        "发布机关行政区划 issuing division",
        max_length=6,
        db_index=True,
        db_comment="GB/T 2260 code of the issuing office; the listed records lie inside it",
    )
    title = models.CharField("标题 title", max_length=200)
    body = models.TextField("正文 body")
    state = models.CharField("状态 state", max_length=20, choices=STATE_CHOICES, default=State.DRAFT)
    data_as_of = models.DateField(
        "数据截至 data as of", db_comment="the day the list was drawn from the registry"
    )
    year = models.PositiveSmallIntegerField("年度 year", null=True, blank=True)
    sequence = models.PositiveIntegerField(
        "序号 sequence",
        null=True,
        blank=True,
        db_comment="number within the division and year; set on publication",
    )
    number = models.CharField(
        "文号 number", max_length=40, blank=True, db_comment='e.g. "驻公交告〔2026〕第12号"'
    )
    item_count = models.PositiveIntegerField("条目数 items", default=0)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="起草人 drafted by",
    )  # fmt: skip
    drafted_at = models.DateTimeField("起草时间 drafted at", auto_now_add=True)
    submitted_at = models.DateTimeField("提交时间 submitted at", null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="审批人 approved by",
    )  # fmt: skip
    approved_at = models.DateTimeField("审批时间 approved at", null=True, blank=True)
    rejection_reason = models.CharField("退回原因 rejected because", max_length=200, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="发布人 published by",
    )  # fmt: skip
    published_at = models.DateTimeField("发布时间 published at", null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="撤回人 withdrawn by",
    )  # fmt: skip
    withdrawn_at = models.DateTimeField("撤回时间 withdrawn at", null=True, blank=True)
    withdrawal_reason = models.CharField("撤回原因 withdrawal reason", max_length=200, blank=True)

    class Meta:
        constraints = [
            # The last guard against two announcements with one number, whatever the code does.
            models.UniqueConstraint(
                fields=["division", "year", "sequence"],
                condition=Q(sequence__isnull=False),
                name="announcements_one_number",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["published", "withdrawn"])
                | (Q(sequence__isnull=False) & ~Q(number="")),
                name="announcements_published_has_number",
            ),
            models.CheckConstraint(
                condition=~Q(state="withdrawn") | ~Q(withdrawal_reason=""),
                name="announcements_withdrawn_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["state", "published_at"], name="announcements_public_idx")]
        verbose_name = "公告 announcement"
        verbose_name_plural = "公告 announcements"

    def __str__(self) -> str:
        return self.number or f"{self.code} #{self.pk}"

    @property
    def public(self) -> bool:
        return self.state in (State.PUBLISHED, State.WITHDRAWN)


class AnnouncementItem(models.Model):
    """One listed vehicle, licence or school-bus sign of an announcement, as the public sees it."""

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="items", verbose_name="公告 announcement"
    )
    position = models.PositiveIntegerField("序号 position")
    subject = models.CharField("对象 subject", max_length=20, choices=SUBJECT_CHOICES)
    subject_id = models.PositiveBigIntegerField(
        "记录编号 record id", db_comment="registry Vehicle, DrivingLicence or SchoolBusSign id, for staff"
    )
    plate_number = models.CharField(
        "号牌号码 plate", max_length=10, blank=True, db_index=True, db_comment="in full: plates are public"
    )
    plate_type = models.CharField("号牌种类 plate type", max_length=2, blank=True)
    name_masked = models.CharField(
        "姓名/所有人 name",
        max_length=100,
        blank=True,
        db_comment="person names masked (张**); organisations in full",
    )
    name_key = models.CharField(
        "姓名检索键 name key",
        max_length=64,
        blank=True,
        db_index=True,
        db_comment="HMAC-SHA256 of the full name (rules.name_key); the clear name is not stored",
    )
    licence_number_masked = models.CharField(
        "驾驶证号 licence number", max_length=24, blank=True, db_comment="ID number masked (mask_id_number)"
    )
    classes = models.CharField("准驾车型/车辆类型 classes or kind", max_length=40, blank=True)
    fact_on = models.DateField(
        "日期 date", null=True, blank=True, db_comment="the date the kind's fact_zh names"
    )
    fact = models.CharField("说明 detail", max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "position"], name="announcements_item_position")
        ]
        ordering = ["announcement", "position"]
        verbose_name = "公告条目 announcement item"
        verbose_name_plural = "公告条目 announcement items"

    def __str__(self) -> str:
        return self.plate_number or self.licence_number_masked or str(self.subject_id)


class AnnouncementSequence(models.Model):
    """The last number given per issuing division and year; its row is locked while publishing."""

    division = models.CharField("发布机关行政区划 issuing division", max_length=6)
    year = models.PositiveSmallIntegerField("年度 year")
    last = models.PositiveIntegerField("已用序号 last sequence", default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["division", "year"], name="announcements_one_sequence")
        ]
        verbose_name = "公告文号序列 announcement number sequence"
        verbose_name_plural = "公告文号序列 announcement number sequences"

    def __str__(self) -> str:
        return f"{self.division} {self.year}: {self.last}"


class Publication(models.Model):
    """A publication (交通安全信息公布), P01-P13 of seed 002 附件4, regenerated daily for its month."""

    code = models.CharField("公布项目 kind", max_length=3, choices=PUBLICATION_CHOICES)
    period = models.CharField("统计期 period", max_length=7, db_comment='the month, "2026-12"')
    available = models.BooleanField(
        "已有数据 available",
        default=True,
        db_comment="false: its source (the driving-test module) is not in service",
    )
    note = models.CharField("说明 note", max_length=200, blank=True)
    columns = models.JSONField("列 columns", default=list, db_comment="[[key, zh, en], ...]")
    rows = models.JSONField("数据 rows", default=list, db_comment="list of {key: value}; names masked")
    row_count = models.PositiveIntegerField("行数 rows", default=0)
    digest = models.CharField("内容摘要 digest", max_length=64, db_comment="SHA-256 of columns and rows")
    data_as_of = models.DateField("数据截至 data as of")
    generated_at = models.DateTimeField("生成时间 generated at", db_comment="last time the content changed")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code", "period"], name="announcements_publication_period")
        ]
        ordering = ["code", "-period"]
        verbose_name = "信息公布 publication"
        verbose_name_plural = "信息公布 publications"

    def __str__(self) -> str:
        return f"{self.code} {self.period}"


class CameraSite(models.Model):
    """A fixed traffic camera (固定式交通技术监控设备), kept by staff for P13."""

    location = models.CharField("设置地点 location", max_length=200)
    direction = models.CharField("监控方向 direction", max_length=50)
    offence_types = models.CharField("监控违法行为 offences recorded", max_length=200)
    division = models.CharField("行政区划 division", max_length=6, db_index=True)
    in_service_since = models.DateField("启用日期 in service since")
    active = models.BooleanField("在用 in service", default=True)

    class Meta:
        ordering = ["division", "location"]
        verbose_name = "固定式监控设备 fixed camera"
        verbose_name_plural = "固定式监控设备 fixed cameras"

    def __str__(self) -> str:
        return self.location


class ClonedPlateContact(models.Model):
    """Where a cloned-plate (套牌) case is handled, kept by staff for P09."""

    office = models.CharField("办理单位 office", max_length=100)
    phone = models.CharField("联系电话 phone", max_length=30, db_comment="an office line, not personal data")
    address = models.CharField("地址 address", max_length=200)
    hours = models.CharField("办公时间 hours", max_length=100, blank=True)
    division = models.CharField("行政区划 division", max_length=6, db_index=True)
    active = models.BooleanField("有效 active", default=True)

    class Meta:
        ordering = ["division", "office"]
        verbose_name = "套牌案件联系单位 cloned-plate contact"
        verbose_name_plural = "套牌案件联系单位 cloned-plate contacts"

    def __str__(self) -> str:
        return self.office
