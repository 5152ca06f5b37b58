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

    kid = models.CharField(max_length=16, unique=True, db_comment="key id, 8 bytes as hex")
    alg = models.IntegerField(db_comment="COSE algorithm number")
    public_der = models.BinaryField(db_comment="SubjectPublicKeyInfo, DER")
    created_at = models.DateTimeField(auto_now_add=True)
    not_before = models.DateTimeField(db_comment="signs and verifies from then on")
    retired_at = models.DateTimeField(null=True, blank=True, db_comment="signs nothing new after")
    not_after = models.DateTimeField(null=True, blank=True, db_comment="verifies nothing after")

    class Meta:
        ordering = ["-not_before", "-id"]

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
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, db_comment="CWT cti")
    kind = models.CharField(max_length=3, choices=Kind.choices)
    vehicle = models.ForeignKey(
        Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="credentials"
    )
    licence = models.ForeignKey(
        DrivingLicence, null=True, blank=True, on_delete=models.PROTECT, related_name="credentials"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.VALID)
    status_reason = models.CharField(max_length=120, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    event = models.CharField(max_length=24, db_comment="why issued: inspection, bulk, applied, reissue ...")
    data = models.JSONField(db_comment="the signed fields, masked as shown to verifiers")
    valid_until = models.DateField(db_comment="legal validity (inspection valid-until or licence expiry)")
    issued_at = models.DateTimeField(auto_now_add=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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

    def __str__(self) -> str:
        return f"{self.kind} {self.public_id}"


class OnlineNonce(models.Model):
    """The nonce of an online (on-screen) token; gone after expiry, so a replayed screenshot fails."""

    nonce = models.CharField(max_length=32, unique=True)
    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    verified_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.nonce


class LicenceApplication(models.Model):
    """Application for the electronic driving licence with a photo reviewed by staff (D1)."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", "待审核 submitted"
        APPROVED = "approved", "已通过 approved"
        REJECTED = "rejected", "未通过 rejected"

    licence = models.ForeignKey(DrivingLicence, on_delete=models.PROTECT, related_name="e_applications")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    photo = models.BinaryField(db_comment="applicant photo (JPEG/PNG); personal data")
    photo_type = models.CharField(max_length=16)
    state = models.CharField(max_length=12, choices=State.choices, default=State.SUBMITTED)
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=200, blank=True)
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["licence"], condition=Q(state="submitted"), name="one_open_licence_application"
            )
        ]

    def __str__(self) -> str:
        return f"DL application #{self.pk} {self.state}"


class PaperMarkRequest(models.Model):
    """A paper inspection mark asked for with an exempt-vehicle application (E2)."""

    class Delivery(models.TextChoices):
        POST = "post", "邮寄 by post"
        PICKUP = "pickup", "窗口自取 pickup"

    credential = models.OneToOneField(Credential, on_delete=models.PROTECT, related_name="paper_request")
    delivery = models.CharField(max_length=8, choices=Delivery.choices)
    address = models.CharField(max_length=200, blank=True, db_comment="personal data")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"paper mark {self.delivery} #{self.pk}"
