"""Military licence exchange cases (退役军人换证, O3; seed 004 §七).

A veteran (or serving member) applies online to exchange a military or armed-police driving
licence for a civilian one. The military licence is checked online first: a check that passes
waits for the counter's acceptance; one that does not pass goes to the suspect-business review
(转入嫌疑业务进行核查), where the head of the unit clears or rejects it. Acceptance completes the
case through ``registry.military_exchange``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiaoguan.registry.models import DrivingLicence, Person


class ExchangeCase(models.Model):
    """One application to exchange a military licence (退役军人换证申请)."""

    class State(models.TextChoices):
        AWAITING_ACCEPTANCE = "awaiting", "待受理 awaiting acceptance"
        SUSPECT_REVIEW = "suspect", "嫌疑业务核查 suspect review"
        COMPLETED = "completed", "已办结 completed"
        REJECTED = "rejected", "未通过 rejected"

    OPEN_STATES = (State.AWAITING_ACCEPTANCE, State.SUSPECT_REVIEW)

    class Check(models.TextChoices):
        PASSED = "passed", "核查通过 passed"
        NOT_PASSED = "not_passed", "核查不通过 not passed"

    class Path(models.TextChoices):
        REISSUE = "reissue", "换发地方驾驶证 reissue"
        RECORD_ONLY = "record_only", "驾驶记录备注 driving record only"

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="申请账户 applicant",
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="申请人 person"
    )
    military_number = models.CharField(
        "军队（武警）驾驶证号 military licence number", max_length=24, db_comment="personal data"
    )
    classes = models.CharField(
        "准驾车型 classes", max_length=24, db_comment="military classes, e.g. B1 or A2D"
    )
    claimed_first_issued_on = models.DateField("申报初次领证日期 claimed first issue")
    added = models.JSONField(
        "增驾车型及时间 added classes", default=list, db_comment='[["A1", "2012-05-01"], ...] as declared'
    )
    exchanged_before = models.BooleanField(
        "已换领地方驾驶证 exchanged before",
        default=False,
        db_comment="a civilian licence was exchanged earlier",
    )
    earlier_exchanged_on = models.DateField("原换证日期 earlier exchange", null=True, blank=True)
    licence = models.ForeignKey(
        DrivingLicence,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="地方驾驶证 licence",
        db_comment="the civilian licence held when applying, or the one issued on completion",
    )
    path = models.CharField("签注方式 path", max_length=12, choices=Path.choices)
    division = models.CharField(
        "受理地行政区划 division", max_length=6, db_index=True, db_comment="the licence's office or residence"
    )
    check_outcome = models.CharField("联网核查结果 check", max_length=12, choices=Check.choices)
    check_reason = models.CharField(
        "核查不通过原因 check reason", max_length=24, blank=True, db_comment="not_found, holder_mismatch, ..."
    )
    check_reference = models.CharField("核查流水号 check reference", max_length=40)
    # What the military registry holds, when the check found the licence: the exchange uses these.
    registry_first_issued_on = models.DateField(
        "核查初次领证日期 registry first issue", null=True, blank=True
    )
    registry_classes = models.CharField("核查准驾车型 registry classes", max_length=24, blank=True)
    registry_added = models.JSONField("核查增驾车型 registry added", default=list)
    state = models.CharField("状态 state", max_length=10, choices=State.choices)
    submitted_at = models.DateTimeField("申请时间 submitted at")
    reviewed_at = models.DateTimeField("核查时间 reviewed at", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="核查人 reviewed by",
    )
    review_reason = models.CharField("核查意见 review reason", max_length=200, blank=True)
    decided_at = models.DateTimeField("办结时间 decided at", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="受理人 decided by",
    )
    exchanged_on = models.DateField("换证日期 exchanged on", null=True, blank=True)
    reject_reason = models.CharField("不予办理原因 reject reason", max_length=200, blank=True)

    class Meta:
        verbose_name = "退役军人换证 military licence exchange"
        verbose_name_plural = "退役军人换证 military licence exchanges"
        constraints = [
            # One open case per person: a double submit or a second try waits for the first.
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(state__in=["awaiting", "suspect"]),
                name="military_exchange_one_open_per_person",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "division", "submitted_at"], name="military_exchange_queue"),
            models.Index(fields=["applicant", "-submitted_at"], name="military_exchange_applicant"),
        ]

    def __str__(self) -> str:
        return f"MX{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES
