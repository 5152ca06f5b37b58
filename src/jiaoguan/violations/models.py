"""Violation records (交通违法记录), penalty decisions with their fines, and import batches (Q3, V1-V6)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiaoguan.registry.models import DrivingLicence, Vehicle

from .rules import Source


class ImportBatch(models.Model):
    """One delivery of camera records (批量导入), by an API client or the import command."""

    submitted_by = models.CharField(max_length=64, db_comment="API client id or 'cli'")
    file_name = models.CharField(max_length=200, blank=True)
    format = models.CharField(max_length=8, db_comment="jsonl or csv")
    total_rows = models.PositiveIntegerField(default=0)
    accepted_rows = models.PositiveIntegerField(default=0)
    duplicate_rows = models.PositiveIntegerField(default=0)
    invalid_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, db_comment="first errors: [{line, code, message}]")
    created_at = models.DateTimeField(auto_now_add=True)

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

    record_number = models.CharField(max_length=20, unique=True, db_comment="see violations/rules.py")
    source = models.CharField(max_length=16, choices=[(s.value, s.value) for s in Source])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNHANDLED)
    plate_number = models.CharField(max_length=10, db_index=True)
    plate_type = models.CharField(max_length=2)
    vehicle = models.ForeignKey(
        Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="violations",
        db_index=False,  # led by the (vehicle, occurred_at, id) index below; a second one only slows imports
        db_comment="matched by plate; null when the vehicle is registered elsewhere",
    )  # fmt: skip
    occurred_at = models.DateTimeField()
    place = models.CharField(max_length=100)
    recording_division = models.CharField(max_length=6, db_comment="GB/T 2260 code of the recording agency")
    device_id = models.CharField(max_length=32, blank=True, db_comment="camera or terminal id")
    code = models.CharField(max_length=4, db_comment="violation code (违法代码)")
    on_expressway = models.BooleanField(default=False)
    points = models.PositiveSmallIntegerField(db_comment="points by the code table on the offence date")
    fine_fen = models.PositiveIntegerField(db_comment="fine in fen (分)")
    licence = models.ForeignKey(
        DrivingLicence, null=True, blank=True, on_delete=models.PROTECT, related_name="violations",
        db_index=False,  # led by the (licence, occurred_at, id) index below
        db_comment="the licence that took the points (the driver)",
    )  # fmt: skip
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handling_channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    dispute_reason = models.CharField(max_length=500, blank=True)
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

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

    kind = models.CharField(max_length=16, db_comment="record or decision")
    division = models.CharField(max_length=6)
    period = models.CharField(max_length=8, db_comment="YYMMDD for records, YYYY for decisions")
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "division", "period"], name="violation_serial_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.division} {self.period} {self.last}"


class Fine(models.Model):
    """A penalty decision with a fine (处罚决定书 / 罚款)."""

    class Status(models.TextChoices):
        UNPAID = "unpaid", "未缴款 unpaid"
        PAID = "paid", "已缴款 paid"

    violation = models.OneToOneField(Violation, on_delete=models.PROTECT, related_name="fine")
    decision_number = models.CharField(max_length=15, unique=True, db_comment="15 digits, see rules.py")
    deciding_division = models.CharField(max_length=6)
    decided_on = models.DateField()
    amount_fen = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.UNPAID)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_channel = models.CharField(max_length=16, blank=True, db_comment="online, counter or other_platform")
    late_fee_fen = models.PositiveIntegerField(default=0, db_comment="late fee charged with the payment")
    paid_total_fen = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

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
