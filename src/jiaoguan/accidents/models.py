"""Accident cases under the general procedure (一般程序), their stages, documents and access (A1-A9)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiaoguan.registry.models import DrivingLicence, Organisation, Person, Vehicle

from .rules import Confidentiality, DocumentKind, EvidenceKind, Stage


class AccidentCase(models.Model):
    """A road traffic accident case (道路交通事故案件)."""

    number = models.CharField(max_length=20, unique=True, db_comment="accident number, see rules.py")
    division = models.CharField(max_length=6, db_index=True, db_comment="GB/T 2260 code of the handling unit")
    occurred_at = models.DateTimeField()
    place = models.CharField(max_length=200)
    weather = models.CharField(max_length=20, blank=True)
    summary = models.TextField(blank=True, db_comment="internal; never shown to the public")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.number


class CaseCounter(models.Model):
    """Serial numbers per unit and day; the row is locked while a number is taken."""

    division = models.CharField(max_length=6)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["division", "day"], name="case_counter_unique")]

    def __str__(self) -> str:
        return f"{self.division} {self.day} {self.last}"


class Party(models.Model):
    """A party to the accident (当事人)."""

    case = models.ForeignKey(AccidentCase, on_delete=models.CASCADE, related_name="parties")
    label = models.CharField(max_length=8, db_comment="甲, 乙, 丙 ...")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=64, db_comment="personal data")
    id_type = models.CharField(max_length=24, blank=True)
    id_number = models.CharField(max_length=32, blank=True, db_comment="personal data")
    phone = models.CharField(max_length=11, blank=True, db_comment="personal data")
    vehicle = models.ForeignKey(Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    plate = models.CharField(max_length=10, blank=True)
    licence = models.ForeignKey(
        DrivingLicence, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    insurer = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "label"], name="party_label_once")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.label}"


class StageRecord(models.Model):
    """One progress stage as it happened (A2)."""

    case = models.ForeignKey(AccidentCase, on_delete=models.CASCADE, related_name="stages")
    stage = models.CharField(max_length=24, choices=[(s.value, s.value) for s in Stage])
    happened_on = models.DateField()
    public_note = models.CharField(max_length=300, blank=True, db_comment="shown to query holders")
    internal_note = models.TextField(blank=True, db_comment="staff only")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "stage"], name="stage_once_per_case")]
        ordering = ["happened_on", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.stage}"


class ResultDocument(models.Model):
    """A result document (A3), generated from the case or uploaded as a scan."""

    case = models.ForeignKey(AccidentCase, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=24, choices=[(k.value, k.value) for k in DocumentKind])
    number = models.CharField(max_length=40)
    content = models.BinaryField(db_comment="PDF or image bytes")
    content_type = models.CharField(max_length=40)
    issued_on = models.DateField()
    uploaded = models.BooleanField(default=False)
    released = models.BooleanField(default=False, db_comment="visible to query credential holders")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

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

    case = models.ForeignKey(AccidentCase, on_delete=models.CASCADE, related_name="query_credentials")
    party = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.CASCADE, related_name="credentials"
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    holder_name = models.CharField(max_length=100, db_comment="personal data")
    role = models.CharField(max_length=12, choices=Role.choices)
    code_hash = models.CharField(max_length=64, db_comment="HMAC of the query code; the code is never stored")
    salt = models.CharField(max_length=16, db_comment="random input of the code derivation")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["case", "code_hash"])]

    def __str__(self) -> str:
        return f"query credential #{self.pk}"


class QueryApplication(models.Model):
    """A written application for a query credential by a vehicle owner or an insurer (A4)."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", "待审核 submitted"
        APPROVED = "approved", "已批准 approved"
        REJECTED = "rejected", "未批准 rejected"

    case = models.ForeignKey(AccidentCase, on_delete=models.CASCADE, related_name="applications")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=12, choices=QueryCredential.Role.choices)
    reason = models.CharField(max_length=500)
    document = models.BinaryField(db_comment="supporting document (PDF or image)")
    document_type = models.CharField(max_length=40)
    document_name = models.CharField(max_length=100)
    state = models.CharField(max_length=12, choices=State.choices, default=State.SUBMITTED)
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=200, blank=True)
    credential = models.ForeignKey(
        QueryCredential, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "applicant"],
                condition=Q(state="submitted"),
                name="one_open_query_application",
            )
        ]

    def __str__(self) -> str:
        return f"query application #{self.pk}"


class QueryAttempt(models.Model):
    """A progress query with a wrong code, for guessing limits and for the case officer to see."""

    number = models.CharField(max_length=20, db_index=True)
    client = models.CharField(max_length=64, db_index=True, db_comment="user id or IP address")
    at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.number} {self.at:%Y-%m-%d %H:%M}"


class EvidenceItem(models.Model):
    """An evidence material of the case (证据材料, A7)."""

    case = models.ForeignKey(AccidentCase, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=24, choices=[(k.value, k.value) for k in EvidenceKind])
    title = models.CharField(max_length=100)
    content = models.BinaryField()
    content_type = models.CharField(max_length=40)
    confidentiality = models.CharField(
        max_length=20, choices=[(c.value, c.value) for c in Confidentiality], default=Confidentiality.NONE
    )
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class EvidenceReview(models.Model):
    """An evidence review for one party (证据材料网上查阅, A6, A8)."""

    class State(models.TextChoices):
        DRAFT = "draft", "待选择材料 selecting items"
        PENDING = "pending", "待负责人审批 awaiting approval"
        APPROVED = "approved", "已批准 approved"
        REJECTED = "rejected", "未批准 rejected"

    case = models.ForeignKey(AccidentCase, on_delete=models.CASCADE, related_name="reviews")
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="reviews")
    person_type = models.CharField(max_length=20, db_comment="当事人, 近亲属, 代理人")
    id_type = models.CharField(max_length=24)
    id_number = models.CharField(max_length=32, db_comment="personal data")
    phone = models.CharField(max_length=11, db_comment="personal data")
    code_hash = models.CharField(max_length=64, db_comment="HMAC of the review code; never stored in clear")
    salt = models.CharField(max_length=16, db_comment="random input of the code derivation")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    items = models.ManyToManyField(EvidenceItem, blank=True, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"evidence review #{self.pk}"


class EvidenceDownload(models.Model):
    """Who downloaded which shared item, when (A8)."""

    review = models.ForeignKey(EvidenceReview, on_delete=models.CASCADE, related_name="downloads")
    item = models.ForeignKey(EvidenceItem, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    stamp = models.CharField(max_length=200)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    def __str__(self) -> str:
        return f"download #{self.pk}"
