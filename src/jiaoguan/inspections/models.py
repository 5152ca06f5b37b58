"""Inspection stations, their capacity calendar, bookings and results (B4, O7; issue 14).

Scarce places are guarded in the database: a slot's ``booked`` can never exceed its
``capacity`` (check constraint), a vehicle has at most one active booking (partial unique
constraint) and a booking has at most one result (one-to-one).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from jiaoguan.registry.models import Organisation, Vehicle

from .rules import Half

HALF_CHOICES = [(h.value, f"{h.label_zh} {h.label_en}") for h in Half]


class InspectionStation(models.Model):
    """An inspection station (机动车检验机构): the station profile of a registry organisation."""

    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        related_name="inspection_station",
        verbose_name="单位 organisation",
    )
    division = models.CharField(
        "所在行政区划 division", max_length=6, db_index=True, db_comment="GB/T 2260 code where it stands"
    )
    address = models.CharField("地址 address", max_length=200)
    phone = models.CharField("联系电话 phone", max_length=20, blank=True)
    vehicle_kinds = models.CharField(
        "检验车辆类型 vehicle kinds tested",
        max_length=400,
        db_comment="registry VehicleKind values between commas, e.g. ',small_passenger,small_truck,'",
    )
    weekly = models.JSONField(
        "每周可预约数 weekly places",
        default=dict,
        db_comment='places per half day by weekday: {"0": [morning, afternoon], ... "6": [...]}, 0 = Monday',
    )
    active = models.BooleanField("启用 active", default=True)
    created_at = models.DateTimeField("创建时间 created", auto_now_add=True)

    class Meta:
        verbose_name = "检验机构 inspection station"
        verbose_name_plural = "检验机构 inspection stations"

    def __str__(self) -> str:
        return self.organisation.name

    @property
    def kinds(self) -> list[str]:
        return [k for k in self.vehicle_kinds.split(",") if k]

    def tests_kind(self, kind: str) -> bool:
        return f",{kind}," in self.vehicle_kinds


class StationDay(models.Model):
    """A day that departs from the weekly pattern: other places, or closed (0 and 0)."""

    station = models.ForeignKey(
        InspectionStation, on_delete=models.CASCADE, related_name="days", verbose_name="检验机构 station"
    )
    day = models.DateField("日期 day")
    morning = models.PositiveSmallIntegerField("上午 morning places")
    afternoon = models.PositiveSmallIntegerField("下午 afternoon places")
    reason = models.CharField("原因 reason", max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["station", "day"], name="inspections_one_override_a_day")
        ]
        verbose_name = "检验机构日历 station day"
        verbose_name_plural = "检验机构日历 station days"

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.morning}/{self.afternoon}"

    @property
    def closed(self) -> bool:
        return self.morning == 0 and self.afternoon == 0


class InspectionSlot(models.Model):
    """Places of one half day at one station, materialised from the calendar for the weeks ahead."""

    station = models.ForeignKey(
        InspectionStation, on_delete=models.CASCADE, related_name="slots", verbose_name="检验机构 station"
    )
    day = models.DateField("日期 day")
    half = models.CharField("时段 half day", max_length=2, choices=HALF_CHOICES)
    capacity = models.PositiveSmallIntegerField("可预约数 places")
    booked = models.PositiveSmallIntegerField(
        "已预约数 booked", default=0, db_comment="active bookings; raised by a conditional UPDATE"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["station", "day", "half"], name="inspections_one_slot_a_half_day"
            ),
            # The last guard against overbooking, whatever the code above it does.
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")), name="inspections_slot_not_overbooked"
            ),
        ]
        ordering = ["day", "half"]
        verbose_name = "预约时段 slot"
        verbose_name_plural = "预约时段 slots"

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.half}"

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked)


class InspectionBooking(models.Model):
    """An owner's booking of a slot for a vehicle (机动车检验预约, B4)."""

    class State(models.TextChoices):
        BOOKED = "booked", "已预约 booked"
        CANCELLED = "cancelled", "已取消 cancelled"
        PASSED = "passed", "检验合格 passed"
        FAILED = "failed", "检验不合格 failed"
        MISSED = (
            "missed",
            "未按时检验 missed",
        )  # the day passed without a result; set when the owner books again

    class LabelDelivery(models.TextChoices):
        NONE = "", "不需要 none"
        POST = "post", "邮寄 post"
        PICKUP = "pickup", "自取 pickup"

    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="inspection_bookings", verbose_name="机动车 vehicle"
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="预约人 booked by"
    )
    station = models.ForeignKey(
        InspectionStation, on_delete=models.PROTECT, related_name="bookings", verbose_name="检验机构 station"
    )
    slot = models.ForeignKey(
        InspectionSlot, on_delete=models.PROTECT, related_name="bookings", verbose_name="时段 slot"
    )
    state = models.CharField("状态 state", max_length=10, choices=State.choices, default=State.BOOKED)
    division = models.CharField(
        "车辆登记地 vehicle division", max_length=6, db_comment="the vehicle's GB/T 2260 code when booked"
    )
    insured_until = models.DateField(
        "交强险有效期至 insured until", null=True, blank=True, db_comment="from the O7 check at booking"
    )
    label_delivery = models.CharField(
        "纸质标志 paper label",
        max_length=8,
        choices=LabelDelivery.choices,
        blank=True,
        db_comment="empty: no paper label asked",
    )
    recipient_name = models.CharField(
        "收件人 recipient", max_length=64, blank=True, db_comment="personal data"
    )
    recipient_phone = models.CharField(
        "收件电话 phone", max_length=11, blank=True, db_comment="personal data"
    )
    address_division = models.CharField("收件地区 address division", max_length=6, blank=True)
    address_line = models.CharField(
        "详细地址 address", max_length=200, blank=True, db_comment="personal data"
    )
    changes = models.PositiveSmallIntegerField("改约次数 changes", default=0)
    created_at = models.DateTimeField("预约时间 created", auto_now_add=True)
    cancelled_at = models.DateTimeField("取消时间 cancelled", null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle"], condition=Q(state="booked"), name="inspections_one_active_booking"
            )
        ]
        indexes = [models.Index(fields=["booked_by", "-created_at"], name="inspections_booking_mine")]
        verbose_name = "检验预约 inspection booking"
        verbose_name_plural = "检验预约 inspection bookings"

    def __str__(self) -> str:
        return f"#{self.pk} {self.vehicle_id} {self.state}"


class InspectionResult(models.Model):
    """What the station reported for a booking: pass, or fail with defects and the re-test deadline."""

    class Outcome(models.TextChoices):
        PASS = "pass", "合格 pass"
        FAIL = "fail", "不合格 fail"

    booking = models.OneToOneField(
        InspectionBooking, on_delete=models.PROTECT, related_name="result", verbose_name="预约 booking"
    )
    station = models.ForeignKey(
        InspectionStation, on_delete=models.PROTECT, related_name="results", verbose_name="检验机构 station"
    )
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="inspection_results", verbose_name="机动车 vehicle"
    )
    outcome = models.CharField("结论 outcome", max_length=4, choices=Outcome.choices)
    inspected_on = models.DateField("检验日期 inspected on")
    defects = models.JSONField(
        "不合格项 defects", default=list, db_comment="list of strings; empty on a pass"
    )
    retest_by = models.DateField("复检期限 re-test by", null=True, blank=True)
    reported_by = models.CharField(
        "上报系统 reported by", max_length=40, db_comment="client_id of the station's API client"
    )
    created_at = models.DateTimeField("上报时间 reported", auto_now_add=True)

    class Meta:
        verbose_name = "检验结果 inspection result"
        verbose_name_plural = "检验结果 inspection results"

    def __str__(self) -> str:
        return f"#{self.booking_id} {self.outcome}"
