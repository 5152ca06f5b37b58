"""Tables of the cross-region used-car transfer (二手车异地交易登记, T1-T5).

An installation is a destination (转入地) for the transfers its residents apply for, and an origin
(转出地) for the cars of its registry that other DMVs ask about: ``Transfer`` is the destination's
file, ``OriginRelease`` the origin's lock and closing of its vehicle, ``Problem`` the questions the
two DMVs raise and answer (T4).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiaoguan.registry.models import Person, Vehicle

INSPECTION_PHOTO_MAX_BYTES = 2 * 1024 * 1024


class Transfer(models.Model):
    """A buyer's cross-region transfer at the destination (异地转移登记转入)."""

    class State(models.TextChoices):
        REQUESTED = "requested", "等待转出地档案 waiting for the origin's archive"
        ARCHIVED = "archived", "档案已到达，待查验 archive received, awaiting inspection"
        INSPECTED = "inspected", "已查验，待登记 inspected, awaiting registration"
        AWAITING_ORIGIN = "awaiting_origin", "登记中，等待转出地办结 registering, awaiting the origin"
        COMPLETED = "completed", "已登记 registered"
        REFUSED = "refused", "不予办理 refused"
        RETURNED = "returned", "已退档 archive returned"

    class TradePlace(models.TextChoices):
        ORIGIN = "origin", "转出地 at the origin"
        DESTINATION = "destination", "转入地 at the destination"

    OPEN_STATES = ("requested", "archived", "inspected", "awaiting_origin")

    number = models.CharField(
        "业务编号 number", max_length=32, unique=True, db_comment="also the reference on the wire"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="申请人 applicant"
    )
    buyer = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name="买方 buyer")
    division = models.CharField("受理地行政区划 division", max_length=6, db_index=True)
    origin_city = models.CharField("转出地 origin city", max_length=6)
    plate_number = models.CharField("原号牌号码 plate number at the origin", max_length=10)
    plate_type = models.CharField("号牌种类 plate type", max_length=2)
    vin = models.CharField("车辆识别代号 VIN", max_length=17, db_index=True)
    seller_id_number = models.CharField(
        "卖方身份证明号码 seller's ID number", max_length=32,
        db_comment="personal data: sent to the origin to match its owner; masked in every display",
    )  # fmt: skip
    agent_uscc = models.CharField(
        "代理机构统一社会信用代码 agent",
        max_length=18,
        blank=True,
        db_comment="dealer or market acting, if any",
    )
    invoice_number = models.CharField("发票号码 invoice number", max_length=20)
    invoice_date = models.DateField("开票日期 invoice date")
    trade_place = models.CharField("交易地 trade place", max_length=12, choices=TradePlace.choices)
    state = models.CharField("状态 state", max_length=16, choices=State.choices, default=State.REQUESTED)
    refusal_code = models.CharField("不予办理代码 refusal code", max_length=64, blank=True)
    refusal_zh = models.CharField("不予办理原因 reason", max_length=200, blank=True)
    refusal_en = models.CharField("reason (English)", max_length=300, blank=True)
    package = models.JSONField(
        "电子档案 archive package", null=True, blank=True, db_comment="as signed by the origin"
    )
    package_signature = models.TextField("档案签名 package signature", blank=True)
    package_received_at = models.DateTimeField("档案接收时间 archive received", null=True, blank=True)
    inspected_vin = models.CharField("查验车辆识别代号 VIN read on the car", max_length=17, blank=True)
    inspection_photo = models.BinaryField("查验照片 inspection photo", null=True, blank=True)
    inspected_at = models.DateTimeField("查验时间 inspected", null=True, blank=True)
    inspected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    new_plate_number = models.CharField(
        "新号牌号码 new plate", max_length=10, null=True, blank=True, unique=True
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    registration_started_at = models.DateTimeField("登记时间 registration started", null=True, blank=True)
    origin_closed_at = models.DateTimeField("转出地办结时间 closed at the origin", null=True, blank=True)
    completed_at = models.DateTimeField("办结时间 completed", null=True, blank=True)
    vehicle = models.ForeignKey(
        Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="转入后的车辆 vehicle registered here",
    )  # fmt: skip
    attempts = models.PositiveIntegerField("联系转出地次数 attempts", default=0)
    last_error = models.CharField("最近一次失败 last failure", max_length=300, blank=True)
    return_reason = models.CharField("退档原因 return reason", max_length=24, blank=True)
    returned_at = models.DateTimeField("退档时间 returned", null=True, blank=True)
    created_at = models.DateTimeField("申请时间 applied", auto_now_add=True)

    class Meta:
        constraints = [
            # One open transfer per car at a time: a second application waits for the first.
            models.UniqueConstraint(
                fields=["vin"],
                condition=Q(state__in=["requested", "archived", "inspected", "awaiting_origin"]),
                name="transfer_one_open_per_vin",
            ),
            # A completed transfer has its vehicle here; registering never leaves one half-done.
            models.CheckConstraint(
                condition=~Q(state="completed") | Q(vehicle__isnull=False, new_plate_number__isnull=False),
                name="transfer_completed_has_vehicle",
            ),
            models.CheckConstraint(
                condition=~Q(state="awaiting_origin") | Q(new_plate_number__isnull=False),
                name="transfer_registering_has_plate",
            ),
        ]
        ordering = ["-created_at", "-id"]
        verbose_name = "跨辖区转移登记 cross-region transfer"
        verbose_name_plural = "跨辖区转移登记 cross-region transfers"

    def __str__(self) -> str:
        return self.number


class OriginRelease(models.Model):
    """The origin's side (转出): the vehicle locked for one transfer, then closed or given back."""

    class State(models.TextChoices):
        LOCKED = "locked", "已锁定，档案已转递 locked, archive sent"
        CLOSED = "closed", "已转出 transferred out"
        RETURNED = "returned", "已退档 archive returned"

    reference = models.CharField("转入地业务编号 destination's number", max_length=32, unique=True)
    destination_city = models.CharField("转入地 destination city", max_length=6)
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="+")
    vin = models.CharField("车辆识别代号 VIN", max_length=17)
    state = models.CharField("状态 state", max_length=12, choices=State.choices, default=State.LOCKED)
    package = models.JSONField(
        "电子档案 archive package", db_comment="kept so a repeated request gets the same"
    )
    package_signature = models.TextField("档案签名 package signature")
    locked_at = models.DateTimeField("锁定时间 locked", auto_now_add=True)
    closed_at = models.DateTimeField("转出时间 closed", null=True, blank=True)
    returned_at = models.DateTimeField("退档时间 returned", null=True, blank=True)
    return_reason = models.CharField("退档原因 return reason", max_length=24, blank=True)

    class Meta:
        constraints = [
            # A car is transferred once: while one transfer holds it, nobody else can take it.
            models.UniqueConstraint(
                fields=["vehicle"],
                condition=Q(state__in=["locked", "closed"]),
                name="origin_release_one_per_vehicle",
            ),
        ]
        ordering = ["-locked_at", "-id"]
        verbose_name = "转出档案 origin release"
        verbose_name_plural = "转出档案 origin releases"

    def __str__(self) -> str:
        return self.reference


class Problem(models.Model):
    """A problem (问题) about a transfer raised by one DMV and answered by the other (T4)."""

    key = models.CharField("问题编号 key", max_length=40, unique=True, db_comment="the same at both DMVs")
    reference = models.CharField("业务编号 transfer number", max_length=32, db_index=True)
    raised_here = models.BooleanField("本所提出 raised by this DMV")
    peer_city = models.CharField("对方车辆管理所 other DMV", max_length=6)
    question = models.CharField("问题 question", max_length=500)
    due_on = models.DateField("答复期限 answer due")
    answer = models.CharField("答复 answer", max_length=500, blank=True)
    answered_at = models.DateTimeField("答复时间 answered", null=True, blank=True)
    raised_at = models.DateTimeField("提出时间 raised", auto_now_add=True)
    question_sent = models.BooleanField("问题已送达 question delivered", default=False)
    answer_sent = models.BooleanField("答复已送达 answer delivered", default=False)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = "转移登记问题 transfer problem"
        verbose_name_plural = "转移登记问题 transfer problems"

    def __str__(self) -> str:
        return self.key
