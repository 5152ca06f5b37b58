"""Reports sent to government bodies and companies (通报、抄告, N2) and the record of sending them.

A run is one report of one period for one recipient organisation: its CSV and PDF as sent, their
digests, and when the organisation received and read it. The unique (code, period, recipient)
makes a repeated or resumed generation add nothing. A batch marks a report's period as finished,
so the daily run knows which periods are done even when they had nothing to report.

The files are stored in the database (like the accident documents): a report of one office's
month is at most a few thousand rows, and the row with its files is the proof of what was sent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jiaoguan.registry.models import Organisation


class ReportBatch(models.Model):
    """One report's period generated for every recipient (生成批次)."""

    code = models.CharField("通报项目 report", max_length=3, db_comment="R01..R11 (reports.catalogue)")
    period_start = models.DateField("期间起 period from")
    period_end = models.DateField("期间止 period to", db_comment="inclusive")
    started_at = models.DateTimeField("开始时间 started at", auto_now_add=True)
    finished_at = models.DateTimeField(
        "完成时间 finished at",
        null=True,
        blank=True,
        db_comment="null while unfinished: the next run resumes it",
    )
    runs = models.PositiveIntegerField("发送份数 runs", default=0)
    rows = models.PositiveIntegerField("记录条数 rows", default=0, db_comment="rows of the whole report")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code", "period_start"], name="report_batch_once")]
        verbose_name = "通报生成批次 report batch"
        verbose_name_plural = "通报生成批次 report batches"

    def __str__(self) -> str:
        return f"{self.code} {self.period_start}"


class ReportRun(models.Model):
    """One report of one period sent to one organisation (通报、抄告记录)."""

    class State(models.TextChoices):
        DELIVERED = "delivered", "已送达 delivered"
        READ = "read", "已阅读 read"

    class RecipientRole(models.TextChoices):
        AUTHORITY = "authority", "主管部门（通报） authority"
        COMPANY = "company", "所属单位（抄告） company"

    code = models.CharField("通报项目 report", max_length=3, db_comment="R01..R11 (reports.catalogue)")
    period_start = models.DateField("期间起 period from")
    period_end = models.DateField("期间止 period to", db_comment="inclusive")
    period_label = models.CharField("期间 period", max_length=10, db_comment="2026-11 or 2026-12-04")
    recipient = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="report_runs", verbose_name="接收单位 recipient"
    )
    recipient_role = models.CharField("接收身份 recipient as", max_length=10, choices=RecipientRole.choices)
    recipient_division = models.CharField(
        "接收单位行政区划 recipient division",
        max_length=6,
        db_index=True,
        db_comment="the recipient's division when sent: staff see the runs of their jurisdiction",
    )
    generated_at = models.DateTimeField("生成时间 generated at", auto_now_add=True)
    row_count = models.PositiveIntegerField("记录条数 rows")
    csv = models.BinaryField(
        "CSV 文件 CSV file", db_comment="UTF-8 with BOM; may hold names and licence numbers: personal data"
    )
    pdf = models.BinaryField("PDF 文件 PDF file", db_comment="the same rows printed; personal data")
    sha256 = models.CharField(
        "CSV 摘要 CSV SHA-256", max_length=64, db_comment="hex SHA-256 of the CSV bytes"
    )
    pdf_sha256 = models.CharField(
        "PDF 摘要 PDF SHA-256", max_length=64, db_comment="hex SHA-256 of the PDF bytes"
    )
    state = models.CharField("状态 state", max_length=10, choices=State.choices, default=State.DELIVERED)
    delivered_at = models.DateTimeField(
        "送达时间 delivered at", db_comment="when it reached the organisation's account and message centre"
    )
    message_id = models.BigIntegerField(
        "站内消息 message", null=True, blank=True, db_comment="notices.Message telling the organisation"
    )
    read_at = models.DateTimeField(
        "阅读时间 read at", null=True, blank=True, db_comment="first open or download"
    )
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="阅读人 read by",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code", "period_start", "recipient"], name="report_run_once"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-generated_at", "-id"], name="report_run_recipient_newest"),
            models.Index(fields=["-generated_at", "-id"], name="report_run_newest"),
        ]
        verbose_name = "通报抄告记录 report run"
        verbose_name_plural = "通报抄告记录 report runs"

    def __str__(self) -> str:
        return f"{self.code} {self.period_label} → {self.recipient_id}"
