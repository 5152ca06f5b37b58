"""Acting for others (委托代办): online entrustments (O5), elderly proxies (O2), filed vehicles (U7),
and the log of every action taken in someone's name ("谁替我办理了业务").

Every grant is bounded in scope (named businesses, one business, one vehicle) and in time, and is
revocable by the person it concerns; what was done under it is one :class:`DelegatedAction` row
each, shown to that person beside "who accessed my data".
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from jiaoguan.registry.models import Organisation, Person, Vehicle


class Entrustment(models.Model):
    """Online entrustment (网上委托, O5; seed 004 §九).

    The principal (委托人) names an agent (被委托人) by ID number, name and mobile, and the
    businesses the agent may do for them, for at most 30 days. It is shown as a signed ``EN1:`` QR
    whose index is this row's id, listed on the credential status list; the counter scans it or
    looks it up and checks that the agent standing there and the business match.
    """

    class Purpose(models.TextChoices):
        ORDINARY = "ordinary", "网上委托 online entrustment"
        # O4 (seed 004 §八 一): a person abroad entrusts someone at home to defer businesses;
        # copies of the ID and of the entrustment are accepted.
        ABROAD = "abroad", "出国（境）人员委托 entrustment from abroad"

    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="委托人账户 principal",
    )
    principal_person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="委托人 principal person"
    )
    purpose = models.CharField(
        "委托类型 purpose", max_length=10, choices=Purpose.choices, default=Purpose.ORDINARY
    )
    agent_id_number = models.CharField(
        "被委托人身份证明号码 agent ID number", max_length=18, db_index=True, db_comment="personal data"
    )
    agent_name = models.CharField("被委托人姓名 agent name", max_length=64, db_comment="personal data")
    agent_mobile = models.CharField(
        "被委托人手机号码 agent mobile", max_length=11, db_comment="personal data"
    )
    businesses = models.JSONField(
        "委托事项 businesses", default=list, db_comment="codes of delegations.rules.ENTRUSTABLE, seed order"
    )
    valid_from = models.DateField("有效期起 valid from")
    valid_until = models.DateField(
        "有效期止 valid until", db_comment="inclusive; at most 30 days after valid_from"
    )
    created_at = models.DateTimeField("委托时间 created at")
    revoked_at = models.DateTimeField("撤销时间 revoked at", null=True, blank=True)
    revoke_reason = models.CharField("撤销原因 revoke reason", max_length=200, blank=True)

    class Meta:
        verbose_name = "网上委托 online entrustment"
        verbose_name_plural = "网上委托 online entrustments"
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")), name="entrustment_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["principal", "-created_at"], name="entrustment_principal")]

    def __str__(self) -> str:
        return f"EN{self.pk}"


class ProxyAuthorisation(models.Model):
    """Elderly proxy (老年人代办, O2; seed 004 §六): a relative's account does one business for a
    person aged 60 or over, after the elderly person's real-person authentication (实人认证, U6)
    and an upload of their ID card."""

    class State(models.TextChoices):
        AWAITING_AUTHENTICATION = "awaiting_auth", "待实人认证 awaiting authentication"
        ACTIVE = "active", "可办理 active"
        USED = "used", "已办理 used"  # its one application was submitted
        REVOKED = "revoked", "已撤销 revoked"
        LAPSED = "lapsed", "已过期 lapsed"

    LIVE_STATES = (State.AWAITING_AUTHENTICATION, State.ACTIVE, State.USED)

    class Relationship(models.TextChoices):
        CHILD = "child", "子女 child"
        SPOUSE = "spouse", "配偶 spouse"
        GRANDCHILD = "grandchild", "孙子女、外孙子女 grandchild"
        SIBLING = "sibling", "兄弟姐妹 sibling"
        RELATIVE = "relative", "其他亲属 other relative"
        FRIEND = "friend", "朋友 friend"

    relative = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="代办人账户 relative",
    )
    elder = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="老年人 elderly person"
    )
    relationship = models.CharField("关系 relationship", max_length=12, choices=Relationship.choices)
    business_code = models.CharField(
        "代办业务 business", max_length=8, db_comment="one engine code of delegations.rules.PROXY_BUSINESSES"
    )
    state = models.CharField(
        "状态 state", max_length=16, choices=State.choices, default=State.AWAITING_AUTHENTICATION
    )
    id_card = models.BinaryField(
        "身份证件照片 ID card image", db_comment="personal data: the upload as received"
    )
    id_card_content_type = models.CharField("证件照片类型 ID card content type", max_length=40)
    authentication_outcome = models.CharField(
        "实人认证结果 authentication outcome",
        max_length=16,
        blank=True,
        db_comment="pass, fail or unavailable, as the provider answered; empty until asked",
    )
    authentication_reference = models.CharField(
        "实人认证流水号 authentication reference", max_length=64, blank=True
    )
    authenticated_at = models.DateTimeField("认证时间 authenticated at", null=True, blank=True)
    authentication_reason = models.CharField(
        "认证未通过原因 authentication failure reason",
        max_length=16,
        blank=True,
        db_comment="the provider's reason of the last failure: liveness, no_match, no_reference, bad_image",
    )
    authentication_attempts = models.PositiveSmallIntegerField(
        "实人认证次数 authentication attempts", default=0, db_comment="answered attempts, limited per proxy"
    )
    application_number = models.CharField(
        "申请编号 application number",
        max_length=24,
        blank=True,
        db_comment="the one application made under it",
    )
    valid_until = models.DateField("有效期止 valid until")
    created_at = models.DateTimeField("申请时间 created at")
    ended_at = models.DateTimeField("结束时间 ended at", null=True, blank=True)
    end_reason = models.CharField("结束原因 end reason", max_length=200, blank=True)

    class Meta:
        verbose_name = "老年人代办授权 elderly proxy"
        verbose_name_plural = "老年人代办授权 elderly proxies"
        constraints = [
            # One live authorisation per relative, elderly person and business: a second business
            # needs its own (一次代办仅限办理单笔业务), and a double submit cannot open two.
            models.UniqueConstraint(
                fields=["relative", "elder", "business_code"],
                condition=Q(state__in=["awaiting_auth", "active"]),
                name="proxy_one_open_per_business",
            ),
        ]
        indexes = [
            models.Index(fields=["relative", "-created_at"], name="proxy_relative"),
            models.Index(fields=["elder", "-created_at"], name="proxy_elder"),
        ]

    def __str__(self) -> str:
        return f"PX{self.pk}"


class VehicleFiling(models.Model):
    """A filed vehicle (备案车辆, U7; seed 003 "本人名下或本人已备案机动车"): a user who drives a
    vehicle owned by someone else shows its electronic inspection mark, with the owner's consent
    (in the owner's own account or by an SMS code to the owner's registered mobile)."""

    class State(models.TextChoices):
        AWAITING_CONSENT = "awaiting", "待车主同意 awaiting consent"
        ACTIVE = "active", "已备案 active"
        REFUSED = "refused", "车主拒绝 refused"
        WITHDRAWN = "withdrawn", "已撤销 withdrawn"
        LAPSED = "lapsed", "已失效 lapsed"

    class Consent(models.TextChoices):
        ACCOUNT = "account", "车主账户同意 in the owner's account"
        SMS = "sms", "短信验证码同意 by SMS code"

    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="备案人 driver"
    )
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="+", verbose_name="机动车 vehicle"
    )
    owner_person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="车主 owner",
        db_comment="the owner when the filing was asked; a new owner ends it",
    )
    owner_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="车主单位 owner organisation",
        db_comment="the owning organisation when the filing was asked (a company car)",
    )
    state = models.CharField(
        "状态 state", max_length=10, choices=State.choices, default=State.AWAITING_CONSENT
    )
    consent_via = models.CharField("同意方式 consent via", max_length=8, choices=Consent.choices, blank=True)
    code_hash = models.CharField("验证码摘要 code hash", max_length=64, blank=True)
    code_sent_at = models.DateTimeField("验证码发送时间 code sent at", null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField("验证码尝试次数 code attempts", default=0)
    requested_at = models.DateTimeField("申请时间 requested at")
    consented_at = models.DateTimeField("同意时间 consented at", null=True, blank=True)
    ended_at = models.DateTimeField("结束时间 ended at", null=True, blank=True)
    end_reason = models.CharField("结束原因 end reason", max_length=200, blank=True)

    class Meta:
        verbose_name = "备案车辆 filed vehicle"
        verbose_name_plural = "备案车辆 filed vehicles"
        constraints = [
            models.UniqueConstraint(
                fields=["driver", "vehicle"],
                condition=Q(state__in=["awaiting", "active"]),
                name="filing_one_live_per_driver_vehicle",
            ),
            models.CheckConstraint(
                condition=Q(owner_person__isnull=False, owner_organisation__isnull=True)
                | Q(owner_person__isnull=True, owner_organisation__isnull=False),
                name="filing_one_owner",
            ),
        ]
        indexes = [
            models.Index(fields=["owner_person", "-requested_at"], name="filing_owner"),
            models.Index(fields=["owner_organisation", "-requested_at"], name="filing_owner_organisation"),
            models.Index(fields=["driver", "-requested_at"], name="filing_driver"),
        ]

    def __str__(self) -> str:
        return f"FV{self.pk}"


class DelegatedAction(models.Model):
    """One action taken in someone's name under a grant ("谁替我办理了业务"): what, when, where
    (counter or online), by whom and with what outcome. Written by the service that acted, in the
    same transaction; never changed afterwards except for the outcome of a pending action."""

    class Grant(models.TextChoices):
        ENTRUSTMENT = "entrustment", "网上委托 entrustment"
        PROXY = "proxy", "老年人代办 elderly proxy"
        FILING = "filing", "备案车辆 filed vehicle"

    class Channel(models.TextChoices):
        ONLINE = "online", "网上 online"
        COUNTER = "counter", "窗口 counter"

    class Outcome(models.TextChoices):
        DONE = "done", "已办理 done"
        PENDING = "pending", "办理中 in progress"
        REFUSED = "refused", "未通过 refused"
        STOPPED = "stopped", "已终止 stopped"  # a revocation stopped it before it was accepted

    principal_person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="当事人 principal"
    )
    grant = models.CharField("授权类型 grant", max_length=12, choices=Grant.choices)
    grant_id = models.BigIntegerField(
        "授权编号 grant id", db_comment="id of the entrustment, proxy or filing"
    )
    business_code = models.CharField(
        "业务 business", max_length=40, db_comment="engine code (B8) or entrustable code (vehicle.plate)"
    )
    channel = models.CharField("渠道 channel", max_length=8, choices=Channel.choices)
    outcome = models.CharField("结果 outcome", max_length=8, choices=Outcome.choices)
    agent_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="代办人账户 agent account",
        db_comment="the account that acted online; null at the counter",
    )
    agent_name = models.CharField(
        "代办人姓名 agent name", max_length=64, blank=True, db_comment="personal data: masked when shown"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="经办民警 staff member",
        db_comment="the clerk at the counter; null online",
    )
    reference = models.CharField(
        "关联编号 reference", max_length=40, blank=True, db_comment="application number or similar"
    )
    note_zh = models.CharField("说明 note (zh)", max_length=200, blank=True)
    note_en = models.CharField("说明 note (en)", max_length=200, blank=True)
    at = models.DateTimeField("时间 at")

    class Meta:
        verbose_name = "代办记录 delegated action"
        verbose_name_plural = "代办记录 delegated actions"
        indexes = [
            models.Index(fields=["principal_person", "-at"], name="delegated_principal"),
            models.Index(fields=["grant", "grant_id"], name="delegated_grant"),
        ]

    def __str__(self) -> str:
        return f"{self.grant}:{self.grant_id} {self.business_code} {self.outcome}"
