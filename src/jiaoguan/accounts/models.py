"""Platform accounts: citizens, organisation users and staff (U1, U2, U5)."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q

from jiaoguan.registry.models import Organisation, Person


class StaffRole(models.TextChoices):
    """Staff roles, each a permission group (岗位)."""

    COUNTER_CLERK = "counter_clerk", "窗口业务员 counter clerk"
    VIOLATION_OFFICER = "violation_officer", "违法处理民警 violation officer"
    ACCIDENT_OFFICER = "accident_officer", "事故处理民警 accident officer"
    ACCIDENT_HEAD = "accident_head", "事故处理部门负责人 head of accident unit"
    UNIT_HEAD = "unit_head", "部门负责人 head of unit"
    EXAM_OFFICER = "exam_officer", "考试科民警 exam officer"
    AUDITOR = "auditor", "审计员 auditor"
    ADMINISTRATOR = "administrator", "系统管理员 administrator"


class User(AbstractUser):
    """A login (用户). Individuals log in with their document number, organisations with their USCC."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "个人用户 individual"
        ORGANISATION = "organisation", "单位用户 organisation"
        STAFF = "staff", "民警/工作人员 staff"

    class Level(models.TextChoices):
        ONLINE = "online", "网上注册 online"
        COUNTER = "counter", "窗口注册 counter"

    kind = models.CharField("用户类别 kind", max_length=16, choices=Kind.choices, default=Kind.INDIVIDUAL)
    registration_level = models.CharField(
        "注册方式 registration", max_length=8, choices=Level.choices, blank=True
    )
    person = models.OneToOneField(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="account",
        verbose_name="自然人 person",
    )
    organisation = models.OneToOneField(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="account",
        verbose_name="单位 organisation",
    )
    mobile = models.CharField(
        "手机号码 mobile", max_length=11, blank=True, db_comment="verified contact mobile; personal data"
    )
    mobile_verified_at = models.DateTimeField("手机验证时间 mobile verified at", null=True, blank=True)
    staff_role = models.CharField("岗位 staff role", max_length=32, choices=StaffRole.choices, blank=True)
    jurisdiction = models.CharField(
        "辖区 jurisdiction",
        max_length=6,
        blank=True,
        db_comment="GB/T 2260 code; staff see only records inside it",
    )
    failed_logins = models.PositiveSmallIntegerField("连续登录失败次数 failed logins", default=0)
    locked_until = models.DateTimeField("锁定至 locked until", null=True, blank=True)
    upgraded_at = models.DateTimeField(
        "转窗口注册时间 upgraded at", null=True, blank=True, db_comment="online to counter upgrade (U5)"
    )

    objects: ClassVar[UserManager[User]] = UserManager()  # type: ignore[assignment]

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="staff") | (~Q(staff_role="") & ~Q(jurisdiction="")),
                name="staff_has_role_and_jurisdiction",
            ),
            models.CheckConstraint(
                condition=~Q(kind="individual") | Q(person__isnull=False) | Q(is_superuser=True),
                name="individual_has_person",
            ),
            models.CheckConstraint(
                condition=~Q(kind="organisation") | Q(organisation__isnull=False),
                name="organisation_user_has_organisation",
            ),
        ]
        verbose_name = "用户 user"
        verbose_name_plural = "用户 users"

    @property
    def role_label(self) -> str:
        if self.kind == self.Kind.STAFF:
            return self.staff_role
        return "citizen" if self.kind == self.Kind.INDIVIDUAL else "organisation"

    @property
    def is_counter_level(self) -> bool:
        return self.registration_level == self.Level.COUNTER


class OrganisationMember(models.Model):
    """A person who acts for an organisation user: its legal representative, an agent or a member."""

    class Role(models.TextChoices):
        LEGAL_REPRESENTATIVE = "legal_representative", "法定代表人 legal representative"
        AGENT = "agent", "代理人 authorised agent"
        MEMBER = "member", "经办人 member"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="members", verbose_name="单位 organisation"
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="organisation_roles", verbose_name="人员 person"
    )
    role = models.CharField("人员类别 role", max_length=24, choices=Role.choices)
    authorisation_reference = models.CharField(
        "委托代理授权书编号 authorisation number",
        max_length=64,
        blank=True,
        db_comment="委托代理授权书 number; required for an agent",
    )
    added_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="办理人 added by"
    )
    added_at = models.DateTimeField("添加时间 added at", auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "person"], name="organisation_member_once"),
            models.CheckConstraint(
                condition=~Q(role="agent") | ~Q(authorisation_reference=""), name="agent_needs_authorisation"
            ),
        ]
        verbose_name = "单位人员 organisation member"
        verbose_name_plural = "单位人员 organisation members"

    def __str__(self) -> str:
        return f"{self.organisation_id}:{self.get_role_display()}"


class SmsCode(models.Model):
    """A one-time SMS verification code (短信验证码). Only its hash is kept."""

    class Purpose(models.TextChoices):
        REGISTER = "register", "注册 registration"
        CHANGE_MOBILE = "change_mobile", "变更手机号 change mobile"
        RESET_PASSWORD = "reset_password", "重置密码 reset password"

    mobile = models.CharField("手机号码 mobile", max_length=11, db_index=True, db_comment="personal data")
    purpose = models.CharField("用途 purpose", max_length=16, choices=Purpose.choices)
    code_hash = models.CharField(
        "验证码摘要 code hash",
        max_length=64,
        db_comment="sha256 of code and secret; the code is never stored",
    )
    created_at = models.DateTimeField("发送时间 sent at", db_index=True)
    expires_at = models.DateTimeField("失效时间 expires at")
    used_at = models.DateTimeField("使用时间 used at", null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField("错误次数 failed attempts", default=0)

    class Meta:
        indexes = [models.Index(fields=["mobile", "purpose", "created_at"])]
        verbose_name = "短信验证码 SMS code"
        verbose_name_plural = "短信验证码 SMS codes"

    def __str__(self) -> str:
        return f"SMS {self.purpose} #{self.pk}"


class ApiToken(models.Model):
    """A bearer token for the app (POST /api/v1/auth/tokens). Only its hash is kept."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name="用户 user"
    )
    token_hash = models.CharField("令牌摘要 token hash", max_length=64, unique=True)
    created_at = models.DateTimeField("签发时间 issued at", auto_now_add=True)
    expires_at = models.DateTimeField("失效时间 expires at")
    revoked_at = models.DateTimeField("注销时间 revoked at", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用 last used", null=True, blank=True)

    class Meta:
        verbose_name = "接口令牌 API token"
        verbose_name_plural = "接口令牌 API tokens"

    def __str__(self) -> str:
        return f"token #{self.pk} of user {self.user_id}"


class ApiClient(models.Model):
    """A system that calls the API with client credentials (接入系统): a camera platform, insurer or bank.

    It authenticates with HTTP Basic ``client_id:secret``; only the secret's SHA-256 is kept, and
    the secret is shown once when the client is created. Scopes name what it may do.
    """

    client_id = models.CharField("客户端编号 client id", max_length=40, unique=True)
    name = models.CharField("名称 name", max_length=100)
    secret_hash = models.CharField(
        "密钥摘要 secret hash",
        max_length=64,
        db_comment="sha256 hex of the secret; the secret is never stored",
    )
    scopes = models.CharField(
        "授权范围 scopes", max_length=200, db_comment="space-separated, e.g. 'violations:import'"
    )
    division = models.CharField(
        "所属行政区划 division", max_length=6, db_comment="GB/T 2260 code of the area it may act for"
    )
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_clients",
        verbose_name="单位 organisation",
    )
    created_at = models.DateTimeField("创建时间 created at", auto_now_add=True)
    revoked_at = models.DateTimeField("注销时间 revoked at", null=True, blank=True)

    class Meta:
        verbose_name = "接入系统 API client"
        verbose_name_plural = "接入系统 API clients"

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes.split()


class ThrottleBucket(models.Model):
    """Attempts one client, number or login name made in the current window (限流计数).

    One row per (scope, key); the row is locked while an attempt is counted, so checking the
    limit and recording the attempt are one step even for parallel requests. The key is kept
    only as an HMAC: the table holds no address, mobile number or account name.
    """

    scope = models.CharField(
        "范围 scope", max_length=40, db_comment="what is limited, e.g. 'sms.client:3600'"
    )
    key_hash = models.CharField(
        "对象摘要 key hash",
        max_length=64,
        db_comment="HMAC-SHA256 of the client address, mobile or login name; never the value itself",
    )
    window_start = models.DateTimeField("窗口开始 window start")
    hits = models.PositiveIntegerField("次数 attempts", default=0)
    blocked_until = models.DateTimeField(
        "锁定至 blocked until",
        null=True,
        blank=True,
        db_comment="for a login name without an account: locked like an account would be",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key_hash"], name="throttle_bucket_once")]
        indexes = [models.Index(fields=["scope", "window_start"])]
        verbose_name = "限流计数 throttle bucket"
        verbose_name_plural = "限流计数 throttle buckets"

    def __str__(self) -> str:
        return f"{self.scope}: {self.hits}"


class PasswordSetupLink(models.Model):
    """A one-time link to set the first password (设置密码链接), texted to the mobile given at
    counter registration, so the clerk never knows or types the citizen's password (issue 11).
    Only the token's hash is kept; the account cannot log in until a password is set."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="password_setup_links", verbose_name="用户 user"
    )
    token_hash = models.CharField(
        "链接摘要 token hash",
        max_length=64,
        unique=True,
        db_comment="sha256 hex of the token in the link; the token is never stored",
    )
    created_at = models.DateTimeField("发送时间 sent at")
    expires_at = models.DateTimeField("失效时间 expires at")
    used_at = models.DateTimeField("使用时间 used at", null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="password_link_expires_after_sent"
            )
        ]
        verbose_name = "设置密码链接 password set-up link"
        verbose_name_plural = "设置密码链接 password set-up links"

    def __str__(self) -> str:
        return f"password link #{self.pk} of user {self.user_id}"
