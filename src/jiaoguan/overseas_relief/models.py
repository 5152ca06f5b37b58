"""Restoration of driving licences cancelled while the holder was abroad (出国（境）人员恢复驾驶资格,
O4; seed 004 §八 二).

One :class:`ReliefCase` per application: what the exit and entry records showed when it was made,
the deadline and path the rules gave, the physical-condition certificate, and the two reviews the
seed asks for (业务受理岗 accepts, 部门负责人 approves; only then is the licence restored).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from jiaoguan.registry.models import DrivingLicence, Person

CERTIFICATE_MAX_BYTES = 2 * 1024 * 1024


class ReliefCase(models.Model):
    """An application to restore a licence cancelled while abroad (出国（境）人员恢复驾驶资格, O4)."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", "待受理 submitted"
        ACCEPTED = "accepted", "已受理，待负责人复核 accepted, awaiting the head of unit"
        RESTORED = "restored", "已恢复驾驶资格 restored"
        REJECTED = "rejected", "不予恢复 rejected"

    class Path(models.TextChoices):
        DIRECT = "direct", "直接恢复 restored directly"
        AFTER_SUBJECT_1 = "after_subject_1", "科目一考试合格后恢复 restored after subject 1"

    OPEN_STATES = (State.SUBMITTED, State.ACCEPTED)

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="申请账户 applicant",
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="驾驶人 driver"
    )
    licence = models.ForeignKey(
        DrivingLicence, on_delete=models.PROTECT, related_name="relief_cases", verbose_name="驾驶证 licence"
    )
    division = models.CharField(
        "发证机关行政区划 division", max_length=6, db_index=True,
        db_comment="GB/T 2260 code of the licence's office: whose clerks and head review the case",
    )  # fmt: skip
    status_at_application = models.CharField(
        "申请时驾驶证状态 status at application",
        max_length=8,
        db_comment="stored status codes (R or G among them)",
    )
    cancelled_on = models.DateField("注销日期 cancelled on")
    cause = models.CharField(
        "注销原因 cause", max_length=8, db_comment="renewal or review: what fell due while abroad (O4)"
    )
    first_return_on = models.DateField(
        "首次回国（入境）日期 first return",
        db_comment="first entry after the cancellation, from the exit and entry records",
    )
    apply_by = models.DateField(
        "申请截止日期 apply by", db_comment="6 months from the first return or 2021-06-01"
    )
    path = models.CharField("恢复方式 path", max_length=16, choices=Path.choices)
    movements = models.JSONField(
        "出入境记录 movements", default=list,
        db_comment="the crossings the records showed at application: [{kind, on, port}], for the clerk's review",
    )  # fmt: skip
    certificate = models.BinaryField(
        "身体条件证明 certificate", db_comment="personal data: the file as uploaded"
    )
    certificate_type = models.CharField(
        "证明类型 certificate type",
        max_length=32,
        db_comment="sniffed from the magic bytes: JPEG, PNG or PDF",
    )
    certificate_size = models.PositiveIntegerField("证明大小 certificate size")
    certificate_sha256 = models.CharField("证明摘要 certificate sha256", max_length=64)
    state = models.CharField("状态 state", max_length=12, choices=State.choices, default=State.SUBMITTED)
    subject_1_passed_on = models.DateField(
        "科目一合格日期 subject 1 passed on", null=True, blank=True,
        db_comment="for the after-subject-1 path: the pass found when the case was last checked",
    )  # fmt: skip
    submitted_at = models.DateTimeField("申请时间 submitted at")
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="受理人 accepted by",
    )  # fmt: skip
    accepted_at = models.DateTimeField("受理时间 accepted at", null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="复核人 approved by",
    )  # fmt: skip
    approved_at = models.DateTimeField("复核（恢复）时间 approved at", null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name="驳回人 rejected by",
    )  # fmt: skip
    rejected_at = models.DateTimeField("驳回时间 rejected at", null=True, blank=True)
    reject_reason = models.CharField("驳回原因 reason", max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["licence"], condition=Q(state__in=["submitted", "accepted"]),
                name="overseas_relief_one_open_case_a_licence",
            ),
            # Four eyes (seed §八 二 5): the head who approves is not the clerk who accepted.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("accepted_by")),
                name="overseas_relief_four_eyes",
            ),
            models.CheckConstraint(
                condition=Q(certificate_size__lte=CERTIFICATE_MAX_BYTES), name="overseas_relief_certificate_size"
            ),
        ]  # fmt: skip
        indexes = [models.Index(fields=["division", "state"], name="overseas_relief_division_state")]
        ordering = ["-submitted_at", "-id"]
        verbose_name = "出国（境）人员恢复驾驶资格 overseas relief case"
        verbose_name_plural = "出国（境）人员恢复驾驶资格 overseas relief cases"

    def __str__(self) -> str:
        return f"OR{self.pk}"

    @property
    def number(self) -> str:
        return f"OR{self.pk:08d}"
