"""Road segments near old residential areas where residents may park (老旧小区周边道路停车, O8;
seed 004 §五).

A :class:`Segment` is drafted by staff of the division, published with its time windows
(:class:`Window`) only when emergency access stays free, changed in public with a reason, and
withdrawn with a reason. Every public step is a :class:`SegmentChange` row with the version it
made, and an outbox event the message centre turns into messages to the district's residents.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .rules import Days


class Segment(models.Model):
    """A road segment where residents may park at set times (允许临时停车路段, O8)."""

    class Side(models.TextChoices):
        NORTH = "north", "北侧 north side"
        SOUTH = "south", "南侧 south side"
        EAST = "east", "东侧 east side"
        WEST = "west", "西侧 west side"
        BOTH = "both", "两侧 both sides"

    class Marking(models.TextChoices):
        SIGNS_ONLY = "signs_only", "仅设置停车标志，不施划车位 signs only, no marked bays"
        MARKED_BAYS = "marked_bays", "施划停车位并在车位内标明时间 marked bays with the times in them"

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿 draft"
        PUBLISHED = "published", "已发布 published"
        WITHDRAWN = "withdrawn", "已撤销 withdrawn"

    division = models.CharField(
        "行政区划 division", max_length=6, db_index=True,
        db_comment="GB/T 2260 code of the district or county the segment lies in: whose staff publish it",
    )  # fmt: skip
    road = models.CharField("道路名称 road", max_length=60)
    from_landmark = models.CharField("起点 from", max_length=60)
    to_landmark = models.CharField("终点 to", max_length=60)
    side = models.CharField("停车位置 side", max_length=8, choices=Side.choices)
    neighbourhood = models.CharField("服务小区 residential area", max_length=80)
    points = models.JSONField(
        "走向（经纬度） line", default=list,
        db_comment="2 to 20 [longitude, latitude] pairs (WGS 84) drawing the segment on the map",
    )  # fmt: skip
    conditions = models.TextField("停放要求 conditions", max_length=600, blank=True, default="")
    emergency_access_kept = models.BooleanField(
        "保留应急通道 emergency access kept", default=False,
        db_comment="seed 004 §五 一: parking must not block emergency vehicles; a published segment keeps it",
    )  # fmt: skip
    marking = models.CharField(
        "标志标线 marking", max_length=12, choices=Marking.choices, default=Marking.SIGNS_ONLY
    )
    marking_note = models.CharField("标志标线说明 marking note", max_length=120, blank=True, default="")
    status = models.CharField("状态 status", max_length=10, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(
        "版本 version",
        default=0,
        db_comment="public changes so far: each publish, change and withdrawal adds one",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="创建人 created by"
    )
    created_at = models.DateTimeField("创建时间 created at", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间 updated at", auto_now=True)
    published_at = models.DateTimeField("发布时间 published at", null=True, blank=True)

    class Meta:
        constraints = [
            # Seed 004 §五 一: no published segment may block emergency vehicles.
            models.CheckConstraint(
                condition=~Q(status="published") | Q(emergency_access_kept=True),
                name="parking_published_keeps_emergency_access",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published", "withdrawn"]), name="parking_segment_status"
            ),
        ]
        indexes = [models.Index(fields=["division", "status"], name="parking_division_status")]
        ordering = ["division", "road", "id"]
        verbose_name = "允许停车路段 parking segment"
        verbose_name_plural = "允许停车路段 parking segments"

    def __str__(self) -> str:
        return f"{self.road}（{self.from_landmark}—{self.to_landmark}）"

    @property
    def number(self) -> str:
        return f"PK{self.pk:06d}"


class Window(models.Model):
    """A time window of a segment (允许停车时段): overnight windows end the next morning."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="windows")
    days = models.CharField(
        "适用日期 days", max_length=10,
        choices=[(d.value, d.value) for d in Days],
        db_comment="every_day, days_off (weekends and public holidays), weekends or holidays, by the working-day calendar",
    )  # fmt: skip
    start = models.TimeField("开始 start")
    end = models.TimeField("结束 end", db_comment="at or before start: the next day")
    all_day = models.BooleanField("全天 all day", default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(all_day=True) | ~Q(start=F("end")), name="parking_window_not_empty"
            ),
        ]
        ordering = ["segment", "id"]
        verbose_name = "允许停车时段 parking window"
        verbose_name_plural = "允许停车时段 parking windows"

    def __str__(self) -> str:
        return f"{self.days} {self.start:%H:%M}-{self.end:%H:%M}"


class SegmentChange(models.Model):
    """One public step of a segment (发布、变更、撤销), with the reason given."""

    class Kind(models.TextChoices):
        PUBLISHED = "published", "发布 published"
        CHANGED = "changed", "变更 changed"
        WITHDRAWN = "withdrawn", "撤销 withdrawn"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="changes")
    version = models.PositiveIntegerField("版本 version")
    kind = models.CharField("类型 kind", max_length=10, choices=Kind.choices)
    reason = models.CharField("原因 reason", max_length=200, blank=True, default="")
    summary = models.CharField("内容摘要 summary", max_length=255, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="经办人 actor"
    )
    at = models.DateTimeField("时间 at")

    class Meta:
        constraints = [
            # Two staff changing one segment at once cannot both make the same version.
            models.UniqueConstraint(fields=["segment", "version"], name="parking_change_one_per_version"),
        ]
        ordering = ["segment", "-version"]
        verbose_name = "路段变更记录 segment change"
        verbose_name_plural = "路段变更记录 segment changes"

    def __str__(self) -> str:
        return f"{self.segment_id} v{self.version} {self.kind}"
