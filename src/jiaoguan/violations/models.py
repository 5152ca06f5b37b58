"""Violation records (交通违法记录), penalty decisions with their fines, and import batches (Q3, V1-V6)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiaoguan.payments.models import Channel as PaidChannel
from jiaoguan.payments.models import Payable
from jiaoguan.registry.models import DrivingLicence, PlateType, Vehicle

from .rules import Source

SOURCE_CHOICES = [
    (Source.MONITORING.value, "电子监控 camera"),
    (Source.ON_SITE.value, "现场 on site"),
]


class ImportBatch(models.Model):
    """One delivery of camera records (批量导入), by an API client or the import command.

    Its rows commit chunk by chunk, so a batch is visible while it is received and keeps
    what it stored if its process dies; the stored state stays "receiving" then, and the
    batch reads as interrupted once its process is gone or has been silent too long
    (``rules.batch_state``). Sending the same file again (same content, or the same
    Idempotency-Key) completes that batch instead of starting another.
    """

    class Format(models.TextChoices):
        JSONL = "jsonl", "JSON Lines"
        CSV = "csv", "CSV"

    class State(models.TextChoices):
        RECEIVING = "receiving", "接收中 receiving"
        COMPLETE = "complete", "已完成 complete"
        FAILED = "failed", "失败 failed"
        INTERRUPTED = "interrupted", "已中断 interrupted"

    submitted_by = models.CharField("提交方 submitted by", max_length=64, db_comment="API client id or 'cli'")
    file_name = models.CharField("文件名 file name", max_length=200, blank=True)
    format = models.CharField("格式 format", max_length=8, choices=Format.choices, db_comment="jsonl or csv")
    state = models.CharField(
        "状态 state", max_length=12, choices=State.choices, default=State.RECEIVING,
        db_comment="as stored; a receiving batch whose process is gone reads as interrupted",
    )  # fmt: skip
    sha256 = models.CharField(
        "文件摘要 SHA-256", max_length=64, blank=True, db_comment="of the file's bytes; empty when not known"
    )
    idempotency_key = models.CharField(
        "幂等键 Idempotency-Key", max_length=128, blank=True, default="",
        db_comment="the sender's Idempotency-Key, unique per sender; empty when none was sent",
    )  # fmt: skip
    size_bytes = models.PositiveBigIntegerField(
        "文件大小（字节） size in bytes", null=True, blank=True, db_comment="null when read from a stream"
    )
    bytes_done = models.PositiveBigIntegerField(
        "已处理字节 bytes done", default=0, db_comment="bytes of the file behind the last committed chunk"
    )
    lines_done = models.PositiveIntegerField(
        "已处理行 lines done", default=0, db_comment="lines of the file behind the last committed chunk"
    )
    worker = models.CharField(
        "导入进程 process",
        max_length=128,
        blank=True,
        db_comment="host, pid and start time of the importing process",
    )
    heartbeat_at = models.DateTimeField(
        "最近进展 last progress", null=True, blank=True, db_comment="when the last chunk committed"
    )
    finished_at = models.DateTimeField("完成时间 finished at", null=True, blank=True)
    failure = models.CharField("失败原因 failure", max_length=300, blank=True)
    total_rows = models.PositiveIntegerField("总行数 rows", default=0, db_comment="rows read so far")
    accepted_rows = models.PositiveIntegerField("导入行数 accepted", default=0)
    duplicate_rows = models.PositiveIntegerField("重复行数 duplicates", default=0)
    invalid_rows = models.PositiveIntegerField("无效行数 invalid", default=0)
    errors = models.JSONField("错误 errors", default=list, db_comment="first errors: [{line, code, message}]")
    created_at = models.DateTimeField("导入时间 imported at", auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["submitted_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="import_batch_idempotency_key",
            )
        ]
        indexes = [models.Index(fields=["submitted_by", "sha256"], name="import_batch_content")]
        verbose_name = "违法数据导入批次 import batch"
        verbose_name_plural = "违法数据导入批次 import batches"

    def __str__(self) -> str:
        return f"batch #{self.pk}"


class Violation(models.Model):
    """A recorded traffic violation (交通违法记录)."""

    class Status(models.TextChoices):
        UNHANDLED = "unhandled", "未处理 unhandled"
        DISPUTED = "disputed", "有异议待窗口处理 disputed"
        HANDLED = "handled", "已处理 handled"
        CANCELLED = "cancelled", "已撤销 cancelled"

    class Channel(models.TextChoices):
        ONLINE = "online", "网上处理 online"
        COUNTER = "counter", "窗口处理 counter"
        ON_SITE = "on_site", "现场处罚 on site"

    record_number = models.CharField(
        "违法记录编号 record number", max_length=20, unique=True, db_comment="see violations/rules.py"
    )
    source = models.CharField("来源 source", max_length=16, choices=SOURCE_CHOICES)
    status = models.CharField("状态 status", max_length=16, choices=Status.choices, default=Status.UNHANDLED)
    plate_number = models.CharField("号牌号码 plate number", max_length=10, db_index=True)
    plate_type = models.CharField("号牌种类 plate type", max_length=2, choices=PlateType.choices)
    vehicle = models.ForeignKey(
        Vehicle, verbose_name="机动车 vehicle", null=True, blank=True, on_delete=models.PROTECT,
        related_name="violations",
        db_index=False,  # led by the (vehicle, occurred_at, id) index below; a second one only slows imports
        db_comment="matched by plate; null when the vehicle is registered elsewhere",
    )  # fmt: skip
    occurred_at = models.DateTimeField("违法时间 occurred at")
    place = models.CharField("违法地点 place", max_length=100)
    recording_division = models.CharField(
        "采集机关行政区划 recording division",
        max_length=6,
        db_comment="GB/T 2260 code of the recording agency",
    )
    device_id = models.CharField(
        "设备编号 device id", max_length=32, blank=True, db_comment="camera or terminal id"
    )
    code = models.CharField("违法代码 code", max_length=4, db_comment="violation code (违法代码)")
    on_expressway = models.BooleanField("高速公路 on expressway", default=False)
    points = models.PositiveSmallIntegerField(
        "记分 points", db_comment="points by the code table on the offence date"
    )
    fine_fen = models.PositiveIntegerField("罚款金额（分） fine in fen", db_comment="fine in fen (分)")
    licence = models.ForeignKey(
        DrivingLicence, verbose_name="驾驶证 driving licence", null=True, blank=True, on_delete=models.PROTECT,
        related_name="violations",
        db_index=False,  # led by the (licence, occurred_at, id) index below
        db_comment="the licence that took the points (the driver)",
    )  # fmt: skip
    handled_at = models.DateTimeField("处理时间 handled at", null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="处理人 handled by", null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    handling_channel = models.CharField(
        "处理方式 handling channel", max_length=16, choices=Channel.choices, blank=True
    )
    dispute_reason = models.CharField("异议理由 dispute reason", max_length=500, blank=True)
    batch = models.ForeignKey(
        ImportBatch, verbose_name="导入批次 import batch", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField("录入时间 recorded at", auto_now_add=True)

    class Meta:
        indexes = [
            # "My violations" (Q3) reads by vehicle and by licence, newest first, with a keyset
            # cursor: each branch is an index range scan however big the table grows.
            models.Index(fields=["vehicle", "-occurred_at", "-id"], name="violation_vehicle_recent"),
            models.Index(fields=["licence", "-occurred_at", "-id"], name="violation_licence_recent"),
            models.Index(fields=["recording_division", "status"], name="violation_division_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="handled")
                | (Q(licence__isnull=False) & Q(handled_at__isnull=False) & ~Q(handling_channel="")),
                name="violation_handled_has_licence",
            ),
            models.CheckConstraint(condition=Q(points__lte=12), name="violation_points_range"),
        ]
        verbose_name = "交通违法 violation"
        verbose_name_plural = "交通违法 violations"

    def __str__(self) -> str:
        return self.record_number


class SerialCounter(models.Model):
    """Serials for record and decision numbers per kind, agency and period; locked while one is taken."""

    kind = models.CharField("编号类别 kind", max_length=16, db_comment="record or decision")
    division = models.CharField("行政区划 division", max_length=6)
    period = models.CharField(
        "期间 period", max_length=8, db_comment="YYMMDD for records, YYYY for decisions"
    )
    last = models.PositiveIntegerField("已用序号 last serial", default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "division", "period"], name="violation_serial_unique")
        ]
        verbose_name = "编号序号 serial counter"
        verbose_name_plural = "编号序号 serial counters"

    def __str__(self) -> str:
        return f"{self.kind} {self.division} {self.period} {self.last}"


class Fine(models.Model):
    """A penalty decision with a fine (处罚决定书 / 罚款).

    Whether it is paid is the payments app's fact (its ``Payable``); the paid columns here
    are written by the payable's ``on_paid`` in the same transaction, so the fine's pages
    and lists read them without a join.
    """

    class Status(models.TextChoices):
        UNPAID = "unpaid", "未缴款 unpaid"
        PAID = "paid", "已缴款 paid"

    violation = models.OneToOneField(
        Violation, verbose_name="交通违法 violation", on_delete=models.PROTECT, related_name="fine"
    )
    payable = models.OneToOneField(
        Payable, verbose_name="应缴款项 payable", on_delete=models.PROTECT, related_name="+",
        db_comment="the payable the payments app keeps for this fine",
    )  # fmt: skip
    decision_number = models.CharField(
        "决定书编号 decision number", max_length=15, unique=True, db_comment="15 digits, see rules.py"
    )
    deciding_division = models.CharField("决定机关行政区划 deciding division", max_length=6)
    decided_on = models.DateField("决定日期 decided on")
    amount_fen = models.PositiveIntegerField("罚款金额（分） fine in fen")
    status = models.CharField("缴款状态 status", max_length=8, choices=Status.choices, default=Status.UNPAID)
    paid_at = models.DateTimeField("缴款时间 paid at", null=True, blank=True)
    paid_channel = models.CharField(
        "缴款渠道 paid on", max_length=16, choices=PaidChannel.choices, blank=True,
        db_comment="online, counter or other_platform",
    )  # fmt: skip
    late_fee_fen = models.PositiveIntegerField(
        "加处罚款（分） late fee in fen", default=0, db_comment="late fee charged with the payment"
    )
    paid_total_fen = models.PositiveIntegerField("实缴金额（分） paid in fen", default=0)
    created_at = models.DateTimeField("创建时间 created at", auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status="unpaid") | (Q(paid_at__isnull=False) & ~Q(paid_channel="")),
                name="fine_paid_has_time_and_channel",
            ),
            models.CheckConstraint(
                condition=Q(late_fee_fen__lte=models.F("amount_fen")), name="fine_late_fee_cap"
            ),
        ]
        verbose_name = "处罚决定 penalty decision"
        verbose_name_plural = "处罚决定 penalty decisions"

    def __str__(self) -> str:
        return self.decision_number
