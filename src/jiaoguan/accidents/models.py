"""Accident cases under the general procedure (一般程序), their stages, documents and access (A1-A9)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiaoguan.registry.models import DrivingLicence, Organisation, Person, Vehicle

from .rules import (
    CONFIDENTIALITY_NAMES,
    DOCUMENT_NAMES,
    EVIDENCE_KIND_NAMES,
    Confidentiality,
    named_choices,
    stage_choices,
)


class AccidentCase(models.Model):
    """A road traffic accident case (道路交通事故案件)."""

    number = models.CharField(
        "事故编号 accident number", max_length=20, unique=True, db_comment="accident number, see rules.py"
    )
    division = models.CharField(
        "办案单位 handling unit",
        max_length=6,
        db_index=True,
        db_comment="GB/T 2260 code of the handling unit",
    )
    occurred_at = models.DateTimeField("事故时间 time of the accident")
    place = models.CharField("事故地点 place", max_length=200)
    weather = models.CharField("天气 weather", max_length=20, blank=True)
    summary = models.TextField(
        "简要案情 summary", blank=True, db_comment="internal; never shown to the public"
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="立案民警 opening officer",
    )
    opened_at = models.DateTimeField("立案时间 opened at", auto_now_add=True)
    closed_at = models.DateTimeField("结案时间 closed at", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="结案民警 closed by",
    )
    closure_summary = models.TextField(
        "结案说明 closing summary", blank=True, db_comment="why and how the case ended; staff only"
    )

    class Meta:
        verbose_name = "事故案件 accident case"
        verbose_name_plural = "事故案件 accident cases"

    def __str__(self) -> str:
        return self.number


class CaseCounter(models.Model):
    """Serial numbers per unit and day; the row is locked while a number is taken."""

    division = models.CharField("办案单位 handling unit", max_length=6)
    day = models.DateField("日期 day")
    last = models.PositiveIntegerField("已用序号 last serial", default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["division", "day"], name="case_counter_unique")]
        verbose_name = "事故编号计数器 case number counter"
        verbose_name_plural = "事故编号计数器 case number counters"

    def __str__(self) -> str:
        return f"{self.division} {self.day} {self.last}"


class Party(models.Model):
    """A party to the accident (当事人)."""

    case = models.ForeignKey(
        AccidentCase, on_delete=models.CASCADE, related_name="parties", verbose_name="事故案件 case"
    )
    label = models.CharField("当事人序号 label", max_length=8, db_comment="甲, 乙, 丙 ...")
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="登记自然人 registered person",
    )
    name = models.CharField("姓名 name", max_length=64, db_comment="personal data")
    id_type = models.CharField("证件种类 document type", max_length=24, blank=True)
    id_number = models.CharField(
        "证件号码 document number", max_length=32, blank=True, db_comment="personal data"
    )
    phone = models.CharField("手机号码 mobile", max_length=11, blank=True, db_comment="personal data")
    vehicle = models.ForeignKey(
        Vehicle,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="登记机动车 registered vehicle",
    )
    plate = models.CharField("号牌号码 plate number", max_length=10, blank=True)
    licence = models.ForeignKey(
        DrivingLicence,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="驾驶证 driving licence",
    )
    insurer = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="保险公司 insurer",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "label"], name="party_label_once")]
        verbose_name = "当事人 party"
        verbose_name_plural = "当事人 parties"

    def __str__(self) -> str:
        return f"{self.case_id} {self.label}"


class StageRecord(models.Model):
    """One progress stage as it happened (A2)."""

    case = models.ForeignKey(
        AccidentCase, on_delete=models.CASCADE, related_name="stages", verbose_name="事故案件 case"
    )
    stage = models.CharField("处理阶段 stage", max_length=24, choices=stage_choices())
    happened_on = models.DateField("日期 date")
    public_note = models.CharField(
        "公开说明 public note", max_length=300, blank=True, db_comment="shown to query holders"
    )
    internal_note = models.TextField("内部备注 internal note", blank=True, db_comment="staff only")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="登记人 recorded by",
    )
    recorded_at = models.DateTimeField("登记时间 recorded at", auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "stage"], name="stage_once_per_case")]
        ordering = ["happened_on", "id"]
        verbose_name = "处理阶段 case stage"
        verbose_name_plural = "处理阶段 case stages"

    def __str__(self) -> str:
        return f"{self.case_id} {self.stage}"


class ResultDocument(models.Model):
    """A result document (A3), generated from the case or uploaded as a scan."""

    case = models.ForeignKey(
        AccidentCase, on_delete=models.CASCADE, related_name="documents", verbose_name="事故案件 case"
    )
    kind = models.CharField("文书种类 kind", max_length=24, choices=named_choices(DOCUMENT_NAMES))
    number = models.CharField("文书编号 document number", max_length=40)
    content = models.BinaryField("文件 file", db_comment="PDF or image bytes")
    third_party_content = models.BinaryField(
        "第三方副本 third-party copy",
        blank=True,
        default=b"",
        db_comment="generated documents: the copy for vehicle owners and insurers, parties masked",
    )
    content_type = models.CharField("文件类型 content type", max_length=40)
    issued_on = models.DateField("制作日期 issued on")
    uploaded = models.BooleanField("上传扫描件 uploaded scan", default=False)
    released = models.BooleanField(
        "已送达 delivered", default=False, db_comment="visible to query credential holders"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="制作人 made by"
    )
    created_at = models.DateTimeField("制作时间 made at", auto_now_add=True)

    class Meta:
        verbose_name = "事故文书 result document"
        verbose_name_plural = "事故文书 result documents"

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"


class QueryCredential(models.Model):
    """A query credential (查询凭证, A4, A5). The code is derived with a server secret; only its hash is kept."""

    class Role(models.TextChoices):
        PARTY = "party", "当事人 party"
        RELATIVE = "relative", "近亲属 near relative"
        AGENT = "agent", "代理人 agent"
        OWNER = "owner", "车辆所有人 vehicle owner"
        INSURER = "insurer", "保险公司 insurer"

    case = models.ForeignKey(
        AccidentCase, on_delete=models.CASCADE, related_name="query_credentials", verbose_name="事故案件 case"
    )
    party = models.ForeignKey(
        Party,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credentials",
        verbose_name="当事人 party",
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="持有人账号 holder account",
    )
    holder_name = models.CharField("持有人 holder", max_length=100, db_comment="personal data")
    role = models.CharField("持有人身份 holder role", max_length=12, choices=Role.choices)
    code_hash = models.CharField(
        "查询码摘要 code hash", max_length=64, db_comment="HMAC of the query code; the code is never stored"
    )
    salt = models.CharField("随机数 salt", max_length=16, db_comment="random input of the code derivation")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="签发人 issued by"
    )
    issued_at = models.DateTimeField("签发时间 issued at", auto_now_add=True)
    revoked_at = models.DateTimeField("撤销时间 revoked at", null=True, blank=True)
    revoked_reason = models.CharField("撤销原因 revocation reason", max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["case", "code_hash"])]
        verbose_name = "查询凭证 query credential"
        verbose_name_plural = "查询凭证 query credentials"

    def __str__(self) -> str:
        return f"query credential #{self.pk}"


class QueryApplication(models.Model):
    """A written application for a query credential by a vehicle owner or an insurer (A4)."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", "待审核 submitted"
        APPROVED = "approved", "已批准 approved"
        REJECTED = "rejected", "未批准 rejected"

    case = models.ForeignKey(
        AccidentCase, on_delete=models.CASCADE, related_name="applications", verbose_name="事故案件 case"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="申请人 applicant"
    )
    role = models.CharField("申请人身份 applicant role", max_length=12, choices=QueryCredential.Role.choices)
    reason = models.CharField("申请理由 reason", max_length=500)
    document = models.BinaryField("证明材料 supporting document", db_comment="PDF or image")
    document_type = models.CharField("文件类型 content type", max_length=40)
    document_name = models.CharField("文件名 file name", max_length=100)
    state = models.CharField("状态 state", max_length=12, choices=State.choices, default=State.SUBMITTED)
    submitted_at = models.DateTimeField("提交时间 submitted at", auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="审核人 reviewed by",
    )
    reviewed_at = models.DateTimeField("审核时间 reviewed at", null=True, blank=True)
    review_note = models.CharField("审核意见 review note", max_length=200, blank=True)
    credential = models.ForeignKey(
        QueryCredential,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="查询凭证 query credential",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "applicant"],
                condition=Q(state="submitted"),
                name="one_open_query_application",
            )
        ]
        verbose_name = "查询申请 query application"
        verbose_name_plural = "查询申请 query applications"

    def __str__(self) -> str:
        return f"query application #{self.pk}"


class QueryAttempt(models.Model):
    """A query or evidence review try with a wrong code, for the guessing limits and for the case
    officer to see. Written before the code is compared (so parallel tries count at once) and
    deleted again when the code was right."""

    number = models.CharField("事故编号 accident number", max_length=20, db_index=True)
    client = models.CharField("来源 client", max_length=64, db_index=True, db_comment="user id or IP address")
    at = models.DateTimeField("时间 at", db_index=True)

    class Meta:
        verbose_name = "查询失败记录 failed query"
        verbose_name_plural = "查询失败记录 failed queries"

    def __str__(self) -> str:
        return f"{self.number} {self.at:%Y-%m-%d %H:%M}"


class EvidenceItem(models.Model):
    """An evidence material of the case (证据材料, A7)."""

    case = models.ForeignKey(
        AccidentCase, on_delete=models.CASCADE, related_name="evidence", verbose_name="事故案件 case"
    )
    kind = models.CharField("材料种类 kind", max_length=24, choices=named_choices(EVIDENCE_KIND_NAMES))
    title = models.CharField("材料名称 title", max_length=100)
    content = models.BinaryField("文件 file")
    content_type = models.CharField("文件类型 content type", max_length=40)
    confidentiality = models.CharField(
        "保密类别 confidentiality",
        max_length=20,
        choices=named_choices(CONFIDENTIALITY_NAMES),
        default=Confidentiality.NONE,
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="上传人 added by"
    )
    added_at = models.DateTimeField("上传时间 added at", auto_now_add=True)

    class Meta:
        verbose_name = "证据材料 evidence item"
        verbose_name_plural = "证据材料 evidence items"

    def __str__(self) -> str:
        return self.title


class EvidenceReview(models.Model):
    """An evidence review for one party (证据材料网上查阅, A6, A8)."""

    class State(models.TextChoices):
        DRAFT = "draft", "待选择材料 selecting items"
        PENDING = "pending", "待负责人审批 awaiting approval"
        APPROVED = "approved", "已批准 approved"
        REJECTED = "rejected", "未批准 rejected"

    case = models.ForeignKey(
        AccidentCase, on_delete=models.CASCADE, related_name="reviews", verbose_name="事故案件 case"
    )
    party = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="reviews", verbose_name="当事人 party"
    )
    person_type = models.CharField("人员类别 person type", max_length=20, db_comment="当事人, 近亲属, 代理人")
    id_type = models.CharField("证件种类 document type", max_length=24)
    id_number = models.CharField("证件号码 document number", max_length=32, db_comment="personal data")
    phone = models.CharField("手机号码 mobile", max_length=11, db_comment="personal data")
    code_hash = models.CharField(
        "查阅码摘要 code hash", max_length=64, db_comment="HMAC of the review code; never stored in clear"
    )
    salt = models.CharField("随机数 salt", max_length=16, db_comment="random input of the code derivation")
    state = models.CharField("状态 state", max_length=10, choices=State.choices, default=State.DRAFT)
    items = models.ManyToManyField(
        EvidenceItem, blank=True, related_name="+", verbose_name="可查阅材料 shared items"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="登记人 recorded by",
    )
    recorded_at = models.DateTimeField("登记时间 recorded at", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="审批人 decided by",
    )
    decided_at = models.DateTimeField("审批时间 decided at", null=True, blank=True)
    decision_note = models.CharField("审批意见 decision note", max_length=200, blank=True)

    class Meta:
        verbose_name = "证据材料查阅 evidence review"
        verbose_name_plural = "证据材料查阅 evidence reviews"

    def __str__(self) -> str:
        return f"evidence review #{self.pk}"


class EvidenceDownload(models.Model):
    """Who downloaded which shared item, when (A8)."""

    review = models.ForeignKey(
        EvidenceReview,
        on_delete=models.CASCADE,
        related_name="downloads",
        verbose_name="证据材料查阅 evidence review",
    )
    item = models.ForeignKey(
        EvidenceItem, on_delete=models.CASCADE, related_name="+", verbose_name="证据材料 evidence item"
    )
    at = models.DateTimeField("下载时间 downloaded at", auto_now_add=True)
    stamp = models.CharField("下载标记 stamp", max_length=200)
    ip_address = models.GenericIPAddressField("IP 地址 IP address", null=True, blank=True)

    class Meta:
        verbose_name = "证据材料下载记录 evidence download"
        verbose_name_plural = "证据材料下载记录 evidence downloads"

    def __str__(self) -> str:
        return f"download #{self.pk}"
