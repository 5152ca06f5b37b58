"""Failed online checks of compulsory insurance and vehicle tax (交强险和车船税核验失败记录, O7)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from .rules import COMPULSORY_INSURANCE, VEHICLE_TAX, Purpose

MISSING_VALUES = (COMPULSORY_INSURANCE, VEHICLE_TAX, f"{COMPULSORY_INSURANCE},{VEHICLE_TAX}")


class InsuranceCheckFailure(models.Model):
    """One check that found insurance or tax missing, for the insurers' weekly feedback list (O7).

    Written in its own transaction before the caller's business transaction, so the record stays
    when the business is then refused or rolled back.
    """

    class PurposeChoice(models.TextChoices):
        INSPECTION = Purpose.INSPECTION.value, "机动车检验 inspection"
        TEMPORARY_PLATE = Purpose.TEMPORARY_PLATE.value, "核发临时号牌 temporary plate"
        REGISTRATION = Purpose.REGISTRATION.value, "注册登记 registration"

    vin = models.CharField("车辆识别代号 VIN", max_length=17, db_index=True)
    plate_number = models.CharField("号牌号码 plate number", max_length=16, blank=True)
    purpose = models.CharField("核验事由 purpose", max_length=20, choices=PurposeChoice.choices)
    missing = models.CharField(
        "缺少项目 missing",
        max_length=40,
        db_comment="compulsory_insurance, vehicle_tax or both, comma-separated",
    )
    checked_for = models.DateField("核验日期 day checked")
    insurer_name = models.CharField(
        "保险公司 insurer",
        max_length=100,
        blank=True,
        db_index=True,
        db_comment="insurer of the policy in force or of the latest policy; empty when no policy was found",
    )
    policy_number = models.CharField("保单号 policy number", max_length=40, blank=True)
    division = models.CharField("行政区划 division", max_length=6, blank=True, db_index=True)
    checked_at = models.DateTimeField("核验时间 checked at", auto_now_add=True, db_index=True)
    requested_by = models.CharField("核验发起方 requested by", max_length=150, blank=True)

    class Meta:
        ordering = ["checked_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(missing__in=MISSING_VALUES), name="insurance_failure_missing_known"
            ),
            models.CheckConstraint(
                condition=Q(purpose__in=[p.value for p in Purpose]), name="insurance_failure_purpose_known"
            ),
        ]
        verbose_name = "交强险车船税核验失败记录 failed insurance check"
        verbose_name_plural = "交强险车船税核验失败记录 failed insurance checks"

    def __str__(self) -> str:
        return f"{self.vin} {self.missing}"

    @property
    def missing_items(self) -> tuple[str, ...]:
        return tuple(self.missing.split(","))
