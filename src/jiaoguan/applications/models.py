"""Business applications (业务申请) and their timeline (issue 13)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from jiaoguan.payments.models import Payable
from jiaoguan.registry.models import DrivingLicence, Person, Vehicle

from .catalogue import DELIVERY_NAMES, MATERIAL_NAMES
from .rules import OPEN_STATES, STATE_NAMES, Action, State

STATE_CHOICES = [(s.value, f"{zh} {en}") for s, (zh, en) in STATE_NAMES.items()]
DELIVERY_CHOICES = [(d.value, f"{zh} {en}") for d, (zh, en) in DELIVERY_NAMES.items()]
# Besides the transitions: submission, and two steps that leave the state as it is but belong
# on the timeline and are told to the applicant (issue 13): the fee paid, a delivery problem.
ACTION_CHOICES = [(a.value, a.value) for a in Action] + [
    ("submit", "submit"),
    ("fee_paid", "fee_paid"),
    ("delivery_problem", "delivery_problem"),
]


class Application(models.Model):
    """One application for a business of the catalogue, from submission to completion."""

    number = models.CharField(
        "申请编号 application number", max_length=24, unique=True, db_comment="division-date-serial"
    )
    business_code = models.CharField("业务 business", max_length=8, db_comment="catalogue code, e.g. B8")
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="申请人 applicant"
    )
    subject_person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="当事人 subject person",
        db_comment="null for an organisation's own business",
    )
    licence = models.ForeignKey(
        DrivingLicence,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="驾驶证 driving licence",
    )
    vehicle = models.ForeignKey(
        Vehicle,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="机动车 vehicle",
        db_comment="the applicant's vehicle of a vehicle business (B1-B3, B20, B21, E2; issue 14)",
    )
    source_key = models.CharField(
        "来源 source",
        max_length=80,
        blank=True,
        db_comment="what opened an application the platform made itself (a paper-mark request, an "
        "inspection's paper label), unique; empty when the applicant applied",
    )
    division = models.CharField(
        "受理车管所 handling DMV",
        max_length=6,
        db_comment="GB/T 2260 code: the jurisdiction whose clerks handle it",
    )
    state = models.CharField("状态 state", max_length=20, choices=STATE_CHOICES, default=State.SUBMITTED)

    delivery_method = models.CharField(
        "领取方式 delivery",
        max_length=8,
        choices=DELIVERY_CHOICES,
        blank=True,
        db_comment="empty: nothing to deliver",
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
    pickup_code_hash = models.CharField(
        "取件码摘要 pickup code hash",
        max_length=64,
        blank=True,
        db_comment="HMAC-SHA256 of the pickup code; the code itself is shown once and never stored",
    )
    waybill_number = models.CharField("邮件号 waybill number", max_length=40, blank=True)
    particulars = models.JSONField(
        "业务事项 particulars",
        default=dict,
        blank=True,
        db_comment="business-specific choices: classes chosen on an age-limit exchange, a deferral's reason and end",
    )
    fee_fen = models.PositiveIntegerField(
        "应缴费用 fee", default=0, db_comment="fen, from the catalogue on submission"
    )
    fee_payable = models.ForeignKey(
        Payable,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="缴费单 payable",
    )

    fee_paid_at = models.DateTimeField(
        "缴费时间 fee paid at", null=True, blank=True, db_comment="null while a fee is due and unpaid"
    )
    delivery_due_on = models.DateField(
        "投递时限 delivery due",
        null=True,
        blank=True,
        db_comment="posted: delivery due by (1/2/3 working days, issue 13); null when unknown",
    )
    delivered_at = models.DateTimeField(
        "妥投时间 delivered at", null=True, blank=True, db_comment="as reported by the postal service"
    )
    delivery_problem = models.CharField(
        "投递异常 delivery problem",
        max_length=200,
        blank=True,
        db_comment="last problem the postal service reported (returned, lost); empty when none",
    )
    accept_due_on = models.DateField(
        "受理时限 acceptance due", null=True, blank=True, db_comment="null while the calendar cannot say"
    )
    deadline_known = models.BooleanField(
        "时限已知 deadline known", default=False, db_comment="false: beyond the known working-day calendar"
    )
    supplement_due_on = models.DateField("补正期限 supplement due", null=True, blank=True)
    return_reason = models.CharField("退回原因 return reason", max_length=300, blank=True)
    reject_reason = models.CharField("不予受理理由 reject reason", max_length=300, blank=True)

    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="办理人 claimed by",
    )
    claimed_at = models.DateTimeField(
        "认领时间 claimed at", null=True, blank=True, db_comment="renewed by each action"
    )

    created_at = models.DateTimeField("创建时间 created at", auto_now_add=True)
    submitted_at = models.DateTimeField("提交时间 submitted at", db_comment="last (re)submission")
    returned_at = models.DateTimeField("退回时间 returned at", null=True, blank=True)
    supplemented_at = models.DateTimeField("补正时间 supplemented at", null=True, blank=True)
    accepted_at = models.DateTimeField("受理时间 accepted at", null=True, blank=True)
    rejected_at = models.DateTimeField("不予受理时间 rejected at", null=True, blank=True)
    production_started_at = models.DateTimeField("制证时间 production started at", null=True, blank=True)
    posted_at = models.DateTimeField("邮寄时间 posted at", null=True, blank=True)
    ready_at = models.DateTimeField("待领取时间 ready at", null=True, blank=True)
    completed_at = models.DateTimeField("办结时间 completed at", null=True, blank=True)
    withdrawn_at = models.DateTimeField("撤回时间 withdrawn at", null=True, blank=True)

    class Meta:
        constraints = [
            # One open application per applicant, business, subject and vehicle (issue 13, 14);
            # an organisation's own business has no subject and a licence business no vehicle,
            # so null counts as one value. The vehicle is part of it: an owner may replace the
            # plates of two cars at once.
            models.UniqueConstraint(
                F("applicant"),
                F("business_code"),
                Coalesce(F("subject_person"), Value(0)),
                Coalesce(F("vehicle"), Value(0)),
                condition=Q(state__in=sorted(OPEN_STATES)),
                name="application_one_open",
            ),
            # The platform opens one application per source, however often it hears of it.
            models.UniqueConstraint(
                fields=["source_key"], condition=~Q(source_key=""), name="application_one_per_source"
            ),
            models.CheckConstraint(
                condition=Q(state__in=[s.value for s in State]), name="application_state_known"
            ),
            models.CheckConstraint(
                condition=~Q(state=State.REJECTED) | ~Q(reject_reason=""),
                name="application_rejected_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(state=State.POSTED) | ~Q(waybill_number=""),
                name="application_posted_has_waybill",
            ),
            models.CheckConstraint(
                condition=Q(delivery_method__in=["", "post", "pickup"]), name="application_delivery_known"
            ),
        ]
        indexes = [
            # The staff queue (issue 13): open applications of a jurisdiction (a GB/T 2260 prefix,
            # hence the pattern operator class for LIKE 'prefix%'), soonest deadline first. The
            # state is included so the ids of a page come from the index alone; only the page's
            # rows are then read from the table.
            models.Index(
                fields=["division", "accept_due_on", "created_at", "id"],
                opclasses=["varchar_pattern_ops", "", "", ""],
                include=["state"],
                condition=Q(state__in=sorted(OPEN_STATES)),
                name="application_open_queue",
            ),
            # The queue filtered to a finished state, in the same order.
            models.Index(fields=["state", "accept_due_on", "created_at", "id"], name="application_by_state"),
            models.Index(fields=["applicant", "-created_at"], name="application_mine"),
            # Tracking events name the waybill only (issue 13).
            models.Index(fields=["waybill_number"], name="application_waybill"),
        ]
        verbose_name = "业务申请 application"
        verbose_name_plural = "业务申请 applications"

    def __str__(self) -> str:
        return self.number


class ApplicationCounter(models.Model):
    """Serial numbers per handling DMV and day; the row is locked while a number is taken."""

    division = models.CharField("受理车管所 handling DMV", max_length=6)
    day = models.DateField("日期 day")
    last = models.PositiveIntegerField("已用序号 last serial", default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["division", "day"], name="application_counter_unique")]
        verbose_name = "申请编号计数器 application number counter"
        verbose_name_plural = "申请编号计数器 application number counters"

    def __str__(self) -> str:
        return f"{self.division} {self.day} {self.last}"


class ApplicationEvent(models.Model):
    """One step of an application's timeline (办理进度): who moved it from which state to which."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="events", verbose_name="申请 application"
    )
    from_state = models.CharField("原状态 from", max_length=20, blank=True, db_comment="empty on submission")
    to_state = models.CharField("新状态 to", max_length=20, choices=STATE_CHOICES)
    action = models.CharField("操作 action", max_length=24, choices=ACTION_CHOICES)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="操作人 actor",
        db_comment="null: the system",
    )
    at = models.DateTimeField("时间 at")
    note = models.CharField("说明 note", max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "办理记录 application event"
        verbose_name_plural = "办理记录 application events"

    def __str__(self) -> str:
        return f"{self.application_id} {self.from_state}->{self.to_state}"


MATERIAL_CHOICES = [(m.value, f"{zh} {en}") for m, (zh, en) in MATERIAL_NAMES.items()]


class ApplicationMaterial(models.Model):
    """A file the applicant handed in for an application (申请材料): a photo, an ID copy, a statement.

    The content type is what the first bytes say (JPEG, PNG or PDF), never what the browser
    claimed; the bytes stay in the database with the application, at most 2 MB each.
    """

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="materials", verbose_name="申请 application"
    )
    kind = models.CharField("材料 kind", max_length=24, choices=MATERIAL_CHOICES)
    content = models.BinaryField("内容 content", db_comment="personal data: the file as uploaded")
    content_type = models.CharField(
        "类型 content type", max_length=32, db_comment="sniffed from the magic bytes: JPEG, PNG or PDF"
    )
    size = models.PositiveIntegerField("大小 size", db_comment="bytes")
    sha256 = models.CharField("摘要 sha256", max_length=64)
    uploaded_at = models.DateTimeField("上传时间 uploaded at")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=["image/jpeg", "image/png", "application/pdf"]),
                name="application_material_type_known",
            ),
            models.CheckConstraint(condition=Q(size__lte=2 * 1024 * 1024), name="application_material_size"),
        ]
        ordering = ["uploaded_at", "id"]
        verbose_name = "申请材料 application material"
        verbose_name_plural = "申请材料 application materials"

    def __str__(self) -> str:
        return f"{self.application_id} {self.kind}"


class PostalNotice(models.Model):
    """One tracking event of a posted application's parcel (邮件跟踪), recorded once by its event id.

    Events come from the postal service's signed callback or from the worker asking for the
    tracking of a parcel whose callbacks may have been lost; either way each is stored once.
    """

    class Source(models.TextChoices):
        CALLBACK = "callback", "回调 callback"
        POLL = "poll", "主动查询 poll"

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="postal_notices", verbose_name="申请 application"
    )
    event_id = models.CharField("事件编号 event id", max_length=64, unique=True)
    waybill_number = models.CharField("邮件号 waybill number", max_length=40)
    kind = models.CharField(
        "事件 kind",
        max_length=20,
        db_comment="accepted, in_transit, out_for_delivery, delivered, returned, lost",
    )
    at = models.DateTimeField("发生时间 at", db_comment="as reported by the postal service")
    place = models.CharField("地点 place", max_length=200, blank=True)
    source = models.CharField("获知途径 learned from", max_length=10, choices=Source.choices)
    received_at = models.DateTimeField("收到时间 received at", auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "邮件跟踪 postal notice"
        verbose_name_plural = "邮件跟踪 postal notices"

    def __str__(self) -> str:
        return f"{self.waybill_number} {self.kind}"


class ApplicantMessage(models.Model):
    """A message to the applicant about their application (站内消息), one per outbox message."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name="收件人 user"
    )
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="messages", verbose_name="申请 application"
    )
    text_zh = models.CharField("内容 text (zh)", max_length=300)
    text_en = models.CharField("内容 text (en)", max_length=300)
    dedup_key = models.CharField(
        "去重键 dedup key", max_length=128, unique=True, db_comment="the outbox message it came from"
    )
    created_at = models.DateTimeField("时间 created at", auto_now_add=True)
    read_at = models.DateTimeField("已读时间 read at", null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="applicant_message_inbox")]
        verbose_name = "站内消息 applicant message"
        verbose_name_plural = "站内消息 applicant messages"

    def __str__(self) -> str:
        return f"{self.user_id} {self.application_id}"
