"""Credential records, signing keys and online nonces (E1-E6, D1-D4).

A credential is a record of the right to show a signed token; tokens themselves are
minted when shown (online, offline, printed) and are not stored.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiaoguan.registry.models import DrivingLicence, Vehicle


class SigningKey(models.Model):
    """A credential signing key (签名密钥). The private half never enters the database."""

    kid = models.CharField("密钥标识 key id", max_length=16, unique=True, db_comment="key id, 8 bytes as hex")
    alg = models.IntegerField("签名算法 algorithm", db_comment="COSE algorithm number")
    public_der = models.BinaryField("公钥 public key", db_comment="SubjectPublicKeyInfo, DER")
    created_at = models.DateTimeField("生成时间 created at", auto_now_add=True)
    not_before = models.DateTimeField("启用时间 not before", db_comment="signs and verifies from then on")
    retired_at = models.DateTimeField(
        "停止签发时间 retired at", null=True, blank=True, db_comment="signs nothing new after"
    )
    not_after = models.DateTimeField(
        "停止核验时间 not after", null=True, blank=True, db_comment="verifies nothing after"
    )

    class Meta:
        ordering = ["-not_before", "-id"]
        verbose_name = "签名密钥 signing key"
        verbose_name_plural = "签名密钥 signing keys"

    def __str__(self) -> str:
        return self.kid


class Credential(models.Model):
    """An issued electronic credential (电子凭证): inspection mark or driving licence."""

    class Kind(models.TextChoices):
        INSPECTION_MARK = "VI1", "检验标志电子凭证 inspection mark"
        DRIVING_LICENCE = "DL1", "电子驾驶证 driving licence"

    class Status(models.TextChoices):
        VALID = "valid", "有效 valid"
        SUSPENDED = "suspended", "暂停使用 suspended"
        REVOKED = "revoked", "已撤销 revoked"
        SUPERSEDED = "superseded", "已被新凭证替代 superseded"

    # The primary key doubles as the index into the published status list.
    public_id = models.UUIDField(
        "凭证编号 credential id", default=uuid.uuid4, unique=True, editable=False, db_comment="CWT cti"
    )
    kind = models.CharField("凭证种类 kind", max_length=3, choices=Kind.choices)
    vehicle = models.ForeignKey(
        Vehicle,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credentials",
        verbose_name="机动车 vehicle",
    )
    licence = models.ForeignKey(
        DrivingLicence,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credentials",
        verbose_name="驾驶证 driving licence",
    )
    status = models.CharField("状态 status", max_length=12, choices=Status.choices, default=Status.VALID)
    status_reason = models.CharField(
        "状态原因 status reason",
        max_length=120,
        blank=True,
        db_comment="why not valid: a registry status, a lapse, a reissue or a staff revocation",
    )
    status_changed_at = models.DateTimeField("状态变更时间 status changed at", null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="撤销人 revoked by",
        db_comment="the staff member who revoked it; empty for automatic changes",
    )
    event = models.CharField(
        "签发原因 issue event", max_length=24, db_comment="why issued: inspection, bulk, applied, reissue ..."
    )
    data = models.JSONField(
        "签名内容 signed data", db_comment="the signed fields, masked as shown to verifiers"
    )
    valid_until = models.DateField(
        "有效期至 valid until", db_comment="legal validity (inspection valid-until or licence expiry)"
    )
    issued_at = models.DateTimeField("签发时间 issued at", auto_now_add=True)
    superseded_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="替代凭证 superseded by",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="VI1") & Q(vehicle__isnull=False) & Q(licence__isnull=True))
                | (Q(kind="DL1") & Q(licence__isnull=False) & Q(vehicle__isnull=True)),
                name="credential_subject_matches_kind",
            ),
            # One current credential per subject: a reissue must supersede the old one first.
            models.UniqueConstraint(
                fields=["vehicle"],
                condition=Q(status__in=["valid", "suspended"]),
                name="one_current_mark_per_vehicle",
            ),
            models.UniqueConstraint(
                fields=["licence"],
                condition=Q(status__in=["valid", "suspended"]),
                name="one_current_credential_per_licence",
            ),
        ]
        verbose_name = "电子凭证 electronic credential"
        verbose_name_plural = "电子凭证 electronic credentials"

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"


class OnlineNonce(models.Model):
    """The nonce of an online (on-screen) token (一次性随机码).

    The first online verification consumes it, so the same QR (a screenshot) cannot be checked
    twice; unused ones are purged after expiry, checked ones kept a while as the holder's record.
    """

    nonce = models.CharField("一次性随机码 nonce", max_length=32, unique=True)
    credential = models.ForeignKey(
        Credential, on_delete=models.CASCADE, related_name="+", verbose_name="电子凭证 credential"
    )
    expires_at = models.DateTimeField("失效时间 expires at", db_index=True)
    verified_at = models.DateTimeField(
        "核验时间 checked at",
        null=True,
        blank=True,
        db_comment="first online verification; it consumes the nonce, later scans are refused (E3)",
    )
    verified_count = models.PositiveIntegerField(
        "核验次数 times verified", default=0, db_comment="scans, the first one and refused repeats"
    )

    class Meta:
        verbose_name = "在线出示随机码 online nonce"
        verbose_name_plural = "在线出示随机码 online nonces"

    def __str__(self) -> str:
        return self.nonce


class LicenceApplication(models.Model):
    """Application for the electronic driving licence with a photo reviewed by staff (D1)."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", "待审核 submitted"
        APPROVED = "approved", "已通过 approved"
        REJECTED = "rejected", "未通过 rejected"

    licence = models.ForeignKey(
        DrivingLicence,
        on_delete=models.PROTECT,
        related_name="e_applications",
        verbose_name="驾驶证 driving licence",
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="申请人 applicant",
        db_comment="empty for a photo brought in already approved (services.licence_photo_import)",
    )
    photo = models.BinaryField("照片 photo", db_comment="applicant photo (JPEG/PNG); personal data")
    photo_type = models.CharField("照片格式 photo type", max_length=16)
    card_photo = models.BinaryField(
        "证照照片 licence photo",
        null=True,
        blank=True,
        db_comment="the photo in the fixed e-licence form (PNG 240x300); personal data",
    )
    photo_digest = models.CharField(
        "照片摘要 photo digest",
        max_length=32,
        blank=True,
        db_index=True,
        db_comment="hex digest of card_photo's pixels, signed into the e-licence (photos.photo_digest)",
    )
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
        Credential,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="电子驾驶证 e-licence",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["licence"], condition=Q(state="submitted"), name="one_open_licence_application"
            )
        ]
        verbose_name = "电子驾驶证申请 e-licence application"
        verbose_name_plural = "电子驾驶证申请 e-licence applications"

    def __str__(self) -> str:
        return f"DL application #{self.pk} {self.state}"


class PaperMarkRequest(models.Model):
    """A paper inspection mark asked for with an exempt-vehicle application (E2)."""

    class Delivery(models.TextChoices):
        POST = "post", "邮寄 by post"
        PICKUP = "pickup", "窗口自取 pickup"

    credential = models.OneToOneField(
        Credential, on_delete=models.PROTECT, related_name="paper_request", verbose_name="电子凭证 credential"
    )
    delivery = models.CharField("领取方式 delivery", max_length=8, choices=Delivery.choices)
    address = models.CharField("邮寄地址 address", max_length=200, blank=True, db_comment="personal data")
    created_at = models.DateTimeField("申请时间 requested at", auto_now_add=True)
    sent_at = models.DateTimeField("寄出时间 sent at", null=True, blank=True)

    class Meta:
        verbose_name = "纸质检验标志申领 paper mark request"
        verbose_name_plural = "纸质检验标志申领 paper mark requests"

    def __str__(self) -> str:
        return f"paper mark {self.delivery} #{self.pk}"
