"""Account use cases: SMS codes, registration (online, counter, organisation), upgrade, login, tokens,
password recovery, contact details. Each state change runs in one transaction and leaves an audit row."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone, translation

from jiaoguan.core.access import require
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import is_within, validate_division
from jiaoguan.core.errors import (
    Conflict,
    DomainError,
    NotAllowed,
    NotFound,
    Throttled,
    Unauthenticated,
    ValidationFailed,
)
from jiaoguan.core.identifiers import mask_id_number, mask_phone, validate_mobile, validate_uscc
from jiaoguan.core.locks import lock_named
from jiaoguan.core.middleware import client_address
from jiaoguan.core.outbox import outbox_enqueue
from jiaoguan.core.purges import BATCH, purge_in_batches
from jiaoguan.core.versioned_cache import in_changing_transaction
from jiaoguan.registry import selectors as registry_selectors
from jiaoguan.registry import services as registry_services
from jiaoguan.registry.documents import normalise_document_number
from jiaoguan.registry.models import DrivingLicence, Organisation, Person, Vehicle

from . import rules, throttles
from .models import ApiToken, OrganisationMember, PasswordSetupLink, SmsCode, StaffRole, User

if TYPE_CHECKING:
    from django.http import HttpRequest

NAME_MAX = 64
_NAME_FORBIDDEN = re.compile(r"[<>&\"'`{}\\/;]|[\x00-\x1f\x7f]")


# ---------------------------------------------------------------- input checks


def clean_name(value: str, *, field: str = "name") -> str:
    """A person's or organisation's name as written on the document: no markup, no control chars."""
    name = unicodedata.normalize("NFC", (value or "").strip())
    name = re.sub(r"\s+", " ", name)
    if not name:
        raise ValidationFailed("identity.name_required", "请填写姓名。", "Enter the name.", field=field)
    if len(name) > NAME_MAX:
        raise ValidationFailed(
            "identity.name_too_long",
            f"姓名过长（最多{NAME_MAX}个字符）。",
            f"The name is too long (at most {NAME_MAX} characters).",
            field=field,
        )
    if _NAME_FORBIDDEN.search(name):
        raise ValidationFailed(
            "identity.name_invalid_characters",
            "姓名含有不允许的字符，请按证件填写。",
            "The name contains characters that are not allowed; enter it as on the document.",
            field=field,
        )
    return name


def clean_password(password: str, user: User | None = None) -> str:
    if not password or len(password) > 128:
        raise ValidationFailed(
            "accounts.password_length",
            "密码长度须为8到128个字符。",
            "The password must be 8 to 128 characters long.",
            field="password",
        )
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            "accounts.password_weak",
            "密码太简单：至少8位，不能全是数字，也不能是常用密码。",
            "The password is too weak: at least 8 characters, not all digits, not a common password.",
            field="password",
            detail={"reasons": [str(m) for m in exc.messages]},
        ) from exc
    return password


# ---------------------------------------------------------------- SMS codes


def _code_hash(*, mobile: str, purpose: str, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{mobile}:{purpose}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def sms_code_send(
    *, mobile: str, purpose: str, now: datetime | None = None, request: HttpRequest | None = None
) -> SmsCode:
    """Send a one-time code to ``mobile`` through the outbox (U2); limited per number and, when the
    request is given, per client (issue 10, item 8)."""
    mobile = validate_mobile(mobile)
    if purpose not in SmsCode.Purpose.values:
        raise ValidationFailed(
            "accounts.sms_purpose_unknown",
            "验证码用途不正确。",
            "Unknown purpose for the code.",
            field="purpose",
        )
    now = now or timezone.now()
    with transaction.atomic():
        # Serialise sends for one number so two parallel requests cannot both pass the quota.
        lock_named(f"sms:{mobile}")
        sent = list(
            SmsCode.objects.filter(mobile=mobile, created_at__gte=now - timedelta(days=1)).values_list(
                "created_at", flat=True
            )
        )
        rules.check_sms_quota(now=now, sent_at=sent)
        # Counted once the number's own limits let the code go: a double tap costs the client nothing.
        throttles.throttle_take(
            scope="sms.client",
            key=client_address(request),
            limits=rules.SMS_CLIENT_LIMITS,
            refuse=rules.sms_client_limit,
            now=now,
        )
        code = f"{secrets.randbelow(1_000_000):06d}"
        sms = SmsCode.objects.create(
            mobile=mobile,
            purpose=purpose,
            code_hash=_code_hash(mobile=mobile, purpose=purpose, code=code),
            created_at=now,
            expires_at=now + rules.SMS_CODE_TTL,
        )
        minutes = int(rules.SMS_CODE_TTL.total_seconds() // 60)
        outbox_enqueue(
            topic="sms.send",
            payload={
                "mobile": mobile,
                "text": f"【交管服务平台】您的验证码为{code}，{minutes}分钟内有效。请勿告诉他人。"
                f" Your verification code is {code}, valid for {minutes} minutes.",
            },
            dedup_key=f"sms-code-{sms.pk}",
        )
    return sms


# Codes anyone may ask for by number; a recovery code goes out only through password_reset_request,
# which first checks that the number is the account's.
SMS_PURPOSES_ON_REQUEST = frozenset({SmsCode.Purpose.REGISTER, SmsCode.Purpose.CHANGE_MOBILE})


def sms_code_request(*, mobile: str, purpose: str, request: HttpRequest | None = None) -> SmsCode:
    """A code asked for on the registration or contact form, or by the app (U2)."""
    if purpose not in SMS_PURPOSES_ON_REQUEST:
        raise ValidationFailed(
            "accounts.sms_purpose_unknown",
            "验证码用途不正确。",
            "Unknown purpose for the code.",
            field="purpose",
        )
    return sms_code_send(mobile=mobile, purpose=purpose, request=request)


def sms_code_check(*, mobile: str, purpose: str, code: str, now: datetime) -> int:
    """Check the newest code for (mobile, purpose) without using it up; returns its id.

    Runs in its own transaction so that a wrong entry is counted even though the
    request then fails: guessing is bounded by ``SMS_MAX_ATTEMPTS``.
    """
    code = (code or "").strip()
    with transaction.atomic():
        latest = (
            SmsCode.objects.select_for_update()
            .filter(mobile=mobile, purpose=purpose)
            .order_by("-created_at", "-id")
            .first()
        )
        if latest is None:
            raise ValidationFailed(
                "accounts.sms_code_missing",
                "请先获取短信验证码。",
                "Request an SMS verification code first.",
                field="sms_code",
            )
        _sms_code_usable(latest, now)
        if re.fullmatch(r"\d{6}", code) and hmac.compare_digest(
            latest.code_hash, _code_hash(mobile=mobile, purpose=purpose, code=code)
        ):
            return latest.pk
        latest.failed_attempts += 1
        latest.save(update_fields=["failed_attempts"])
    raise ValidationFailed(
        "accounts.sms_code_wrong",
        "验证码不正确，请核对短信后重新输入。",
        "The code is not correct; check the text message and enter it again.",
        field="sms_code",
    )


def _sms_code_usable(sms: SmsCode, now: datetime) -> None:
    if sms.used_at is not None:
        raise ValidationFailed(
            "accounts.sms_code_used",
            "该验证码已使用过，请重新获取。",
            "This code has already been used; request a new one.",
            field="sms_code",
        )
    if sms.expires_at <= now:
        raise ValidationFailed(
            "accounts.sms_code_expired",
            "验证码已过期，请重新获取。",
            "The code has expired; request a new one.",
            field="sms_code",
        )
    if sms.failed_attempts >= rules.SMS_MAX_ATTEMPTS:
        raise ValidationFailed(
            "accounts.sms_code_locked",
            "验证码输错次数过多，请重新获取。",
            "Too many wrong entries for this code; request a new one.",
            field="sms_code",
        )


def _sms_code_use(*, sms_id: int, now: datetime) -> None:
    """Mark a checked code used inside the caller's transaction; a parallel use loses here."""
    sms = SmsCode.objects.select_for_update().get(pk=sms_id)
    _sms_code_usable(sms, now)
    sms.used_at = now
    sms.save(update_fields=["used_at"])


def _sms_code_spend(*, sms_id: int, now: datetime) -> None:
    """Use up a code that checked out for a request refused afterwards; kept with the refusal.

    One code then buys one look at the records, so the SMS limits bound how fast anyone can
    probe them.
    """
    with transaction.atomic():
        SmsCode.objects.filter(pk=sms_id, used_at__isnull=True).update(used_at=now)


def _count_attempt(*, scope: str, mobile: str, request: HttpRequest | None, now: datetime) -> None:
    """One registration or recovery attempt against the per-client and per-number limits."""
    throttles.throttle_take(
        scope=f"{scope}.client",
        key=client_address(request),
        limits=rules.REGISTRATION_CLIENT_LIMITS,
        refuse=rules.client_limit,
        now=now,
    )
    throttles.throttle_take(
        scope=f"{scope}.mobile",
        key=mobile,
        limits=rules.REGISTRATION_MOBILE_LIMITS,
        refuse=rules.mobile_attempts_limit,
        now=now,
    )


# ---------------------------------------------------------------- registration


def _identity_not_confirmed() -> ValidationFailed:
    """The one answer of online registration for every identity that cannot be registered."""
    return ValidationFailed(
        "accounts.identity_not_confirmed",
        "注册未成功：证件号码与姓名不一致、在公安交管登记信息中查不到此人，或该证件已注册过账号。"
        "请核对后重新获取验证码再试；已注册的请直接登录，忘记密码可找回；确认无误仍不能注册的，请到车管所窗口注册。",
        "Registration failed: the document number and name do not match a person on record, or an account "
        "already exists for this document. Check them and request a new code; if you have an account, log in "
        "or reset the password; if the details are right, register at a DMV counter.",
        field="id_number",
    )


def _already_registered() -> Conflict:
    return Conflict(
        "accounts.already_registered",
        "该证件已注册过账号，请直接登录；忘记密码可找回。",
        "An account already exists for this document; log in instead, or reset the password.",
        field="id_number",
    )


def _not_local() -> NotAllowed:
    return NotAllowed(
        "accounts.not_local",
        "窗口注册仅限本地居民，或在本地有机动车、驾驶证的非本地居民。",
        "Counter registration is for local residents, or non-residents with a vehicle or licence registered here.",
    )


def _authorisation_required() -> ValidationFailed:
    return ValidationFailed(
        "accounts.authorisation_required",
        "代理人办理须提交委托代理授权书，请填写授权书编号。",
        "An agent must bring the authorisation letter; enter its number.",
        field="authorisation_reference",
    )


def _organisation_registered() -> Conflict:
    return Conflict(
        "accounts.organisation_registered",
        "该单位已注册。",
        "This organisation is already registered.",
        field="uscc",
    )


def _find_person(*, id_type: str, id_number: str, name: str) -> Person:
    person = Person.objects.filter(id_type=id_type, id_number=id_number).first()
    # One answer for "unknown" and "name differs", so the registry cannot be probed for names.
    if person is None or person.name != name:
        raise ValidationFailed(
            "accounts.identity_mismatch",
            "证件号码与姓名不一致，或在公安交管登记信息中查不到此人。请核对后重新填写；如确认无误，请到车管所窗口注册。",
            "The document number and name do not match a person on record. Check them; if they are right, "
            "register at a DMV counter.",
            field="id_number",
        )
    return person


def _ensure_not_registered(person: Person) -> None:
    if User.objects.filter(person=person).exists():
        raise _already_registered()


def _registrable_person(*, id_type: str, id_number: str, name: str) -> Person | None:
    """The person an online registration is for, or None when nobody of that document and name is
    on record or they have an account already: one query, whichever it is."""
    person = (
        Person.objects.filter(id_type=id_type, id_number=id_number)
        .annotate(registered=Exists(User.objects.filter(person=OuterRef("pk"))))
        .first()
    )
    if person is None or person.name != name or person.registered:
        return None
    return person


def _create_individual(
    *,
    person: Person,
    mobile: str,
    password: str,
    level: str,
    now: datetime,
    duplicate: Callable[[], DomainError] = _already_registered,
) -> User:
    user = User(
        username=person.id_number,
        kind=User.Kind.INDIVIDUAL,
        registration_level=level,
        person=person,
        first_name=person.name,
        mobile=mobile,
        mobile_verified_at=now,
    )
    clean_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise duplicate() from exc
    return user


def account_register_online(
    *,
    id_type: str,
    id_number: str,
    name: str,
    mobile: str,
    sms_code: str,
    password: str,
    request: HttpRequest | None = None,
) -> User:
    """Online registration of an individual (网上注册, U2, U3): SMS check, then registry match.

    The registry is looked at only once the code checks out, and every identity that cannot be
    registered (not on record, another name, an account already) gets the same answer and uses
    up the code, so the form tells nobody who is on record (issue 10, item 8). Attempts count
    per client and per number before anything is checked; badly formed input does not count.
    """
    number = normalise_document_number(id_type, id_number)
    name = clean_name(name)
    mobile = validate_mobile(mobile)
    clean_password(password)
    now = timezone.now()
    _count_attempt(scope="register", mobile=mobile, request=request, now=now)
    sms_id = sms_code_check(mobile=mobile, purpose=SmsCode.Purpose.REGISTER, code=sms_code, now=now)
    person = _registrable_person(id_type=id_type, id_number=number, name=name)
    if person is None:
        _sms_code_spend(sms_id=sms_id, now=now)
        raise _identity_not_confirmed()
    with transaction.atomic():
        _sms_code_use(sms_id=sms_id, now=now)
        # A parallel registration of the same person that won the race is refused alike.
        user = _create_individual(
            person=person,
            mobile=mobile,
            password=password,
            level=User.Level.ONLINE,
            now=now,
            duplicate=_identity_not_confirmed,
        )
        audit_record(
            actor=user,
            action="register",
            subject=user,
            subject_person_id=person.pk,
            summary="网上注册 online registration",
            request=request,
        )
    return user


def _user_not_found() -> NotFound:
    return NotFound("accounts.user_not_found", "找不到该用户。", "No such user.", field="id_number")


def _visible_at_counter(actor: User, person: Person) -> bool:
    """A person the clerk's jurisdiction knows: resident, or with a vehicle or licence registered there."""
    return registry_selectors.persons_visible_to(actor=actor).filter(pk=person.pk).exists()


def _is_local(person: Person, jurisdiction: str) -> bool:
    """U4: a local resident, or a non-local with a vehicle or licence registered here."""
    if is_within(person.residence_division, jurisdiction):
        return True
    if Vehicle.objects.filter(owner_person=person, division__startswith=jurisdiction[:4]).exists():
        return True
    return DrivingLicence.objects.filter(holder=person, division__startswith=jurisdiction[:4]).exists()


def account_register_at_counter(
    *,
    actor: User,
    id_type: str,
    id_number: str,
    name: str,
    mobile: str,
    request: HttpRequest | None = None,
    now: datetime | None = None,
    password: str | None = None,
) -> User:
    """Counter registration of an individual (窗口注册, U2, U4); the clerk has seen the document.

    The account gets no password here: a one-time link texted to the applicant's mobile sets the
    first one (issue 11), so the clerk never knows or types it, and the account cannot log in
    until it is set. ``password`` is only for the demo data's logins, made on the server; no page
    or endpoint passes one.
    """
    require(actor, "accounts.individual.register_at_counter")
    number = normalise_document_number(id_type, id_number)
    name = clean_name(name)
    mobile = validate_mobile(mobile)
    if password is not None:
        clean_password(password)
    person = _find_person(id_type=id_type, id_number=number, name=name)
    office = actor.jurisdiction[:4] + "00"
    if not _is_local(person, office):
        raise _not_local()
    _ensure_not_registered(person)
    now = now or timezone.now()
    with transaction.atomic():
        user = User(
            username=person.id_number,
            kind=User.Kind.INDIVIDUAL,
            registration_level=User.Level.COUNTER,
            person=person,
            first_name=person.name,
            mobile=mobile,
            mobile_verified_at=now,
        )
        if password is None:
            user.set_unusable_password()
        else:
            clean_password(password, user)
            user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as exc:
            raise _already_registered() from exc
        audit_record(
            actor=actor,
            action="register",
            subject=user,
            subject_person_id=person.pk,
            summary=f"窗口注册，密码由本人通过短信链接设置 counter registration {mask_id_number(number)}; "
            "password to be set by SMS link",
            request=request,
        )
        if password is None:
            _password_link_send(user=user, now=now)
    return user


def _password_link_hash(token: str) -> str:
    return hashlib.sha256(f"password-link:{token}".encode()).hexdigest()


def password_setup_url(token: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + f"/password/setup/{token}/"


def _password_link_send(*, user: User, now: datetime) -> PasswordSetupLink:
    """Text a one-time link to set the password to the account's mobile; earlier links stop working."""
    PasswordSetupLink.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    token = secrets.token_urlsafe(24)
    link = PasswordSetupLink.objects.create(
        user=user,
        token_hash=_password_link_hash(token),
        created_at=now,
        expires_at=now + rules.PASSWORD_LINK_TTL,
    )
    hours = int(rules.PASSWORD_LINK_TTL.total_seconds() // 3600)
    url = password_setup_url(token)
    outbox_enqueue(
        topic="sms.send",
        payload={
            "mobile": user.mobile,
            "text": f"【交管服务平台】您已在车管所窗口注册账号，请在{hours}小时内打开链接设置登录密码：{url} "
            f"如非本人办理，请勿打开并联系车管所。 You were registered at a DMV counter; set your password "
            f"within {hours} hours at {url}",
        },
        dedup_key=f"password-link-{link.pk}",
    )
    return link


def _password_link_invalid() -> ValidationFailed:
    return ValidationFailed(
        "accounts.password_link_invalid",
        "该链接无效、已使用或已过期。请在“忘记密码”页面用登记的手机号码获取验证码设置密码。",
        "This link is not valid, was used already or has expired. Set your password on the "
        "“Forgot your password?” page with a code sent to the mobile number you registered.",
    )


def password_link_find(*, token: str, now: datetime | None = None) -> PasswordSetupLink:
    """The unused, unexpired link a token belongs to, or the one refusal for every other case."""
    now = now or timezone.now()
    if not token or len(token) > 100:
        raise _password_link_invalid()
    link = (
        PasswordSetupLink.objects.select_related("user").filter(token_hash=_password_link_hash(token)).first()
    )
    if link is None or link.used_at is not None or link.expires_at <= now or not link.user.is_active:
        raise _password_link_invalid()
    return link


def password_setup_complete(
    *, token: str, password: str, request: HttpRequest | None = None, now: datetime | None = None
) -> User:
    """Set the first password with the texted link (设置密码): once, before it expires; audited."""
    now = now or timezone.now()
    clean_password(password)
    with transaction.atomic():
        found = password_link_find(token=token, now=now)
        link = PasswordSetupLink.objects.select_for_update().get(pk=found.pk)
        if link.used_at is not None:  # a parallel use won
            raise _password_link_invalid()
        user = User.objects.select_for_update().get(pk=link.user_id)
        clean_password(password, user)
        user.set_password(password)
        user.failed_logins = 0
        user.locked_until = None
        user.save(update_fields=["password", "failed_logins", "locked_until"])
        link.used_at = now
        link.save(update_fields=["used_at"])
        audit_record(
            actor=user,
            action="change",
            subject=user,
            subject_person_id=user.person_id,
            summary="通过短信链接设置登录密码 password set by SMS link",
            request=request,
        )
    return user


def account_upgrade_to_counter(
    *, actor: User, user_id: int, document_checked: bool, request: HttpRequest | None = None
) -> User:
    """Internet user to counter user (互联网用户转窗口用户注册, U5)."""
    require(actor, "accounts.individual.upgrade")
    if not document_checked:
        raise ValidationFailed(
            "accounts.document_not_checked",
            "请先核验申请人的身份证明原件。",
            "Check the applicant's original identity document first.",
            field="document_checked",
        )
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id, kind=User.Kind.INDIVIDUAL).first()
        # A person outside the clerk's jurisdiction is "not found", as the counter look-up says.
        if user is None or user.person is None or not _visible_at_counter(actor, user.person):
            raise _user_not_found()
        if not _is_local(user.person, actor.jurisdiction[:4] + "00"):
            raise _not_local()
        if user.registration_level == User.Level.COUNTER:
            raise Conflict(
                "accounts.already_counter",
                "该用户已是窗口注册用户。",
                "This user is already counter-registered.",
            )
        user.registration_level = User.Level.COUNTER
        user.upgraded_at = timezone.now()
        user.save(update_fields=["registration_level", "upgraded_at"])
        audit_record(
            actor=actor,
            action="upgrade",
            subject=user,
            subject_person_id=user.person_id,
            summary="互联网用户转窗口用户 upgrade to counter level",
            request=request,
        )
    return user


def organisation_register(
    *,
    actor: User,
    uscc: str,
    name: str,
    kind: str,
    division: str,
    representative_id_type: str,
    representative_id_number: str,
    representative_name: str,
    representative_role: str,
    authorisation_reference: str = "",
    mobile: str,
    password: str,
    address: str = "",
    request: HttpRequest | None = None,
) -> User:
    """Counter registration of an organisation user (单位用户, U1, U2): by the legal representative,
    or by an agent with an authorisation letter."""
    require(actor, "accounts.organisation.register")
    code = validate_uscc(uscc)
    org_name = clean_name(name, field="organisation_name")
    if kind not in Organisation.Kind.values:
        raise ValidationFailed(
            "accounts.organisation_kind_unknown",
            "请选择单位类别。",
            "Choose the kind of organisation.",
            field="kind",
        )
    division = validate_division(division)
    require(actor, "accounts.organisation.register", division=division)
    if representative_role not in (
        OrganisationMember.Role.LEGAL_REPRESENTATIVE,
        OrganisationMember.Role.AGENT,
    ):
        raise ValidationFailed(
            "accounts.representative_role",
            "办理人须为法定代表人或代理人。",
            "The applicant must be the legal representative or an authorised agent.",
            field="representative_role",
        )
    authorisation_reference = (authorisation_reference or "").strip()[:64]
    if representative_role == OrganisationMember.Role.AGENT and not authorisation_reference:
        raise _authorisation_required()
    rep_number = normalise_document_number(representative_id_type, representative_id_number)
    rep = _find_person(
        id_type=representative_id_type,
        id_number=rep_number,
        name=clean_name(representative_name, field="representative_name"),
    )
    mobile = validate_mobile(mobile)
    clean_password(password)
    with transaction.atomic():
        if Organisation.objects.filter(uscc=code, account__isnull=False).exists():
            raise _organisation_registered()
        # The organisation's record is the registry's: created or completed through its services.
        is_representative = representative_role == OrganisationMember.Role.LEGAL_REPRESENTATIVE
        organisation = Organisation.objects.select_for_update().filter(uscc=code).first()
        if organisation is None:
            organisation = registry_services.organisation_create(
                actor=actor,
                data={
                    "uscc": code, "name": org_name, "kind": kind, "division": division,
                    "address": address[:200], "legal_representative": rep.pk if is_representative else None,
                },
                request=request,
            )  # fmt: skip
        elif organisation.name != org_name:
            raise ValidationFailed(
                "accounts.organisation_name_mismatch",
                "单位名称与登记信息不一致。",
                "The organisation name does not match the record.",
                field="organisation_name",
            )
        elif is_representative and organisation.legal_representative_id != rep.pk:
            organisation = registry_services.organisation_change(
                actor=actor,
                organisation_id=organisation.pk,
                data={"legal_representative": rep.pk},
                request=request,
            )
        user = User(
            username=code,
            kind=User.Kind.ORGANISATION,
            registration_level=User.Level.COUNTER,
            organisation=organisation,
            first_name=org_name[:150],
            mobile=mobile,
            mobile_verified_at=timezone.now(),
        )
        clean_password(password, user)
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as exc:
            raise _organisation_registered() from exc
        OrganisationMember.objects.create(
            organisation=organisation,
            person=rep,
            role=representative_role,
            authorisation_reference=authorisation_reference,
            added_by=actor,
        )
        audit_record(
            actor=actor,
            action="register",
            subject=organisation,
            subject_person_id=rep.pk,
            summary=f"单位用户注册 organisation registration {code}",
            request=request,
        )
    return user


def organisation_member_add(
    *,
    actor: User,
    organisation_id: int,
    id_type: str,
    id_number: str,
    name: str,
    role: str = OrganisationMember.Role.MEMBER,
    authorisation_reference: str = "",
    request: HttpRequest | None = None,
) -> OrganisationMember:
    """Add a person who acts for the organisation (经办人)."""
    require(actor, "accounts.organisation.members")
    if role not in OrganisationMember.Role.values:
        raise ValidationFailed(
            "accounts.member_role", "请选择人员类别。", "Choose the member's role.", field="role"
        )
    if role == OrganisationMember.Role.AGENT and not (authorisation_reference or "").strip():
        raise _authorisation_required()
    number = normalise_document_number(id_type, id_number)
    person = _find_person(id_type=id_type, id_number=number, name=clean_name(name))
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().filter(pk=organisation_id).first()
        if organisation is None:
            raise ValidationFailed(
                "accounts.organisation_not_found", "找不到该单位。", "No such organisation."
            )
        require(actor, "accounts.organisation.members", division=organisation.division)
        member, created = OrganisationMember.objects.get_or_create(
            organisation=organisation,
            person=person,
            defaults={
                "role": role,
                "authorisation_reference": authorisation_reference.strip()[:64],
                "added_by": actor,
            },
        )
        if not created:
            raise Conflict(
                "accounts.member_exists", "此人已是该单位的人员。", "This person is already a member."
            )
        audit_record(
            actor=actor,
            action="create",
            subject=member,
            subject_person_id=person.pk,
            summary=f"单位人员 organisation member {organisation.uscc}",
            request=request,
        )
    return member


# ---------------------------------------------------------------- staff


def staff_create(
    *, username: str, password: str, role: str, jurisdiction: str, name: str = "", actor: User | None = None
) -> User:
    """Create a staff login with one role and a jurisdiction (民警/工作人员)."""
    if role not in StaffRole.values:
        raise ValidationFailed("accounts.role_unknown", "岗位不正确。", "Unknown staff role.", field="role")
    jurisdiction = validate_division(jurisdiction)
    if actor is not None:
        require(actor, "accounts.staff.manage", division=jurisdiction)
    with transaction.atomic():
        user = User(
            username=username,
            kind=User.Kind.STAFF,
            staff_role=role,
            jurisdiction=jurisdiction,
            first_name=name[:150],
            is_staff=True,
        )
        clean_password(password, user)
        user.set_password(password)
        user.save()
    return user


# ---------------------------------------------------------------- login and tokens


def _find_login(username: str) -> User | None:
    username = (username or "").strip()
    if not username or len(username) > 150:
        return None
    user = User.objects.filter(username=username).first()
    if user is None and len(username) == 18:
        user = User.objects.filter(username=username.upper()).first()
    return user


def _login_name(username: str) -> str:
    """A login name as looked up: a resident ID number's check letter in upper case."""
    name = (username or "").strip()[:150]
    return name.upper() if len(name) == 18 else name


_DUMMY_HASHES: dict[tuple[str, ...], str] = {}


def _dummy_password_hash() -> str:
    """A hash made as every stored one is (the default hasher at its configured cost), checked for
    a login name without an account so that it costs what a wrong password costs."""
    hashers = tuple(settings.PASSWORD_HASHERS)
    if hashers not in _DUMMY_HASHES:
        _DUMMY_HASHES[hashers] = make_password(secrets.token_urlsafe(24))
    return _DUMMY_HASHES[hashers]


def _login_refused() -> Unauthenticated:
    return Unauthenticated(
        "accounts.login_failed", "账号或密码不正确。", "The account or password is not correct."
    )


def _login_client_limits() -> tuple[rules.Limit, ...]:
    window = timedelta(seconds=settings.LOGIN_CLIENT_WINDOW_SECONDS)
    return (rules.Limit(settings.LOGIN_CLIENT_MAX_FAILURES, window),)


def account_authenticate(*, username: str, password: str, request: HttpRequest | None = None) -> User:
    """Check a password (U2): the one login of the pages, the API and the back office.

    Failures in a row lock the login name for a while, and a client with too many failures
    waits (issue 10, item 10). A name without an account answers, locks and costs exactly as a
    wrong password does: the same checks in the same order, and a password check against a
    hash of the same cost, so neither the answer nor the time tells whether the account exists.
    """
    now = timezone.now()
    client = client_address(request)
    limits = _login_client_limits()
    # Counted before the password is checked, so parallel guesses cannot overrun the limit;
    # a login that succeeds gives its count back.
    throttles.throttle_take(
        scope="login.client", key=client, limits=limits, refuse=rules.login_client_limit, now=now
    )
    user = _password_check(username=username, password=password, now=now, request=request)
    throttles.throttle_give_back(scope="login.client", key=client, limits=limits, now=now)
    return user


def _password_check(*, username: str, password: str, now: datetime, request: HttpRequest | None) -> User:
    failure: DomainError
    with transaction.atomic():
        found = _find_login(username)
        user = User.objects.select_for_update().get(pk=found.pk) if found is not None else None
        # A name without an account keeps its failures and lock in a throttle row instead.
        unknown = throttles.login_name_state(name=_login_name(username), now=now) if user is None else None
        failures = user.failed_logins if user is not None else unknown.hits  # type: ignore[union-attr]
        locked_until = user.locked_until if user is not None else unknown.blocked_until  # type: ignore[union-attr]
        if locked_until and locked_until > now:
            raise rules.login_locked(int((locked_until - now).total_seconds()) + 1)
        if user is not None:
            matches = user.check_password(password or "")
        else:
            matches = check_password(password or "", _dummy_password_hash())
        if user is not None and matches and user.is_active:
            user.failed_logins = 0
            user.locked_until = None
            user.last_login = now
            user.save(update_fields=["failed_logins", "locked_until", "last_login"])
            return user
        failures += 1
        lock = rules.login_lock_until(
            failures=failures,
            now=now,
            max_failures=settings.LOGIN_MAX_FAILURES,
            lock_seconds=settings.LOGIN_LOCK_SECONDS,
        )
        if lock:
            failures = 0
        if user is not None:
            user.failed_logins, user.locked_until = failures, lock
            user.save(update_fields=["failed_logins", "locked_until"])
            audit_record(
                actor=None,
                action="login_failed",
                subject=user,
                subject_person_id=user.person_id,
                request=request,
            )
        else:
            assert unknown is not None
            unknown.hits, unknown.blocked_until, unknown.window_start = failures, lock, now
            unknown.save(update_fields=["hits", "blocked_until", "window_start"])
            # Audited as well: the same writes as for an account, and a trail of name guessing.
            audit_record(
                actor=None,
                action="login_failed",
                subject=unknown,
                summary="不存在的账号登录失败 failed login for an account that does not exist",
                request=request,
            )
        failure = rules.login_locked(settings.LOGIN_LOCK_SECONDS) if lock else _login_refused()
    # Raised after commit so the failure count and lock are kept.
    raise failure


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_issue(
    *, username: str, password: str, request: HttpRequest | None = None
) -> tuple[str, ApiToken]:
    """Exchange a password for a bearer token for the app; only the hash is stored."""
    user = account_authenticate(username=username, password=password, request=request)
    raw = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        token_hash=_token_hash(raw),
        expires_at=timezone.now() + timedelta(seconds=settings.API_TOKEN_TTL_SECONDS),
    )
    return raw, token


# Bearer tokens are checked on every API call; the token row and its user are kept in the cache
# for a short while (settings.API_TOKEN_CACHE_SECONDS, only with a shared cache) so that a call
# costs no query for them. Each token has a stamp of its own, read in the same round trip as the
# entry; any save or deletion of the user (password reset, which also revokes the tokens;
# deactivation; a role change) renews the stamps of all the user's tokens, and an entry made under
# an older stamp is not used. A session's user is kept the same way under the user's stamp.
_STAMP_SECONDS = 8 * 24 * 3600  # longer than a token lives; a lost stamp never compares equal


def _token_cache_key(token_hash: str) -> str:
    return f"accounts:api-token:{token_hash}"


def _token_stamp_key(token_hash: str) -> str:
    return f"accounts:api-token-stamp:{token_hash}"


def _user_stamp_key(user_id: int) -> str:
    return f"accounts:user-stamp:{user_id}"


def _stamp(key: str) -> str | None:
    """The current stamp under ``key``, made when there is none."""
    cache.add(key, secrets.token_hex(8), timeout=_STAMP_SECONDS)
    stamp = cache.get(key)
    return None if stamp is None else str(stamp)


def api_token_user_changed(user_id: int) -> None:
    """Forget the user's cached tokens and session user, now and again when the change commits (a
    call in between could otherwise cache the row as it was before the change)."""

    def renew() -> None:
        # Read at each renewal: the one at commit also sees a token issued meanwhile.
        hashes = ApiToken.objects.filter(user_id=user_id, expires_at__gt=timezone.now()).values_list(
            "token_hash", flat=True
        )
        keys = [_user_stamp_key(user_id), *(_token_stamp_key(token_hash) for token_hash in hashes)]
        cache.set_many({key: secrets.token_hex(8) for key in keys}, timeout=_STAMP_SECONDS)

    renew()
    transaction.on_commit(renew)


def session_user(user_id: object, *, load: Callable[[int], User | None]) -> User | None:
    """The user a session names, from the shared cache while no change of the user renewed their
    stamp; ``load`` reads the row otherwise.

    Django still checks the session's password hash and ``is_active`` against the user given.
    The stamp is read before the row, so an entry made from a row older than a change is never
    matched (the change renews the stamp when it commits).
    """
    seconds = settings.API_TOKEN_CACHE_SECONDS
    try:
        pk = int(user_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return load(pk)
    key, stamp_key = f"accounts:session-user:{pk}", _user_stamp_key(pk)
    found = cache.get_many([key, stamp_key])
    entry, stamp = found.get(key), found.get(stamp_key)
    if entry is not None and stamp is not None and entry[0] == stamp:
        return entry[1]  # type: ignore[no-any-return]
    stamp = stamp if stamp is not None else _stamp(stamp_key)
    user = load(pk)
    if user is not None and stamp is not None and not in_changing_transaction():
        cache.set(key, (stamp, user), timeout=seconds)
    return user


def api_token_user(raw: str) -> User | None:
    if not raw or len(raw) > 200:
        return None
    token_hash = _token_hash(raw)
    now = timezone.now()
    cache_seconds = settings.API_TOKEN_CACHE_SECONDS
    stamp: str | None = None
    if cache_seconds > 0:
        key, stamp_key = _token_cache_key(token_hash), _token_stamp_key(token_hash)
        found = cache.get_many([key, stamp_key])
        cached, stamp = found.get(key), found.get(stamp_key)
        if cached is not None and stamp is not None:
            user, expires_at, entry_stamp = cached
            if entry_stamp == stamp and expires_at > now:
                return user  # type: ignore[no-any-return]
        # The stamp is read before the row: a change that commits after this renews it, and the
        # entry made below is never used.
        stamp = stamp if stamp is not None else _stamp(stamp_key)
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_hash, revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    timeout = min(int((token.expires_at - now).total_seconds()), cache_seconds)
    if stamp is not None and timeout > 0 and not in_changing_transaction():
        cache.set(_token_cache_key(token_hash), (token.user, token.expires_at, stamp), timeout=timeout)
    return token.user


# ---------------------------------------------------------------- password recovery

# The answer to every recovery-code request, whatever was found (找回密码).
RESET_NOTICE_ZH = (
    "如账号存在且手机号码是该账号预留的号码，验证码已发送到该号码，5分钟内有效。"
    "手机号码已变更、没有预留手机号码或收不到验证码的，请本人携带身份证明到车管所窗口重置密码。"
)
RESET_NOTICE_EN = (
    "If the account exists and this is the mobile number on record for it, a code valid for 5 minutes "
    "has been sent to it. If your number has changed, none is on record or no code arrives, bring your "
    "identity document to a DMV counter to reset the password."
)


def password_reset_notice() -> str:
    """The answer to a recovery-code request in the active language."""
    lang = (translation.get_language() or "zh-hans").lower()
    return RESET_NOTICE_EN if lang.startswith("en") else RESET_NOTICE_ZH


def _login_required() -> ValidationFailed:
    return ValidationFailed(
        "accounts.login_name_required",
        "请填写账号（证件号码或统一社会信用代码）。",
        "Enter the account (document number or unified social credit code).",
        field="username",
    )


def _recoverable(user: User, mobile: str) -> bool:
    """Whether ``mobile`` is the verified number on record of an account that may recover by SMS.

    Staff reset their passwords through the administrator, never by a text message.
    """
    return (
        user.is_active
        and user.kind != User.Kind.STAFF
        and bool(user.mobile)
        and user.mobile_verified_at is not None
        and hmac.compare_digest(user.mobile, mobile)
    )


def _reset_not_confirmed() -> ValidationFailed:
    return ValidationFailed(
        "accounts.reset_not_confirmed",
        "账号、手机号码与验证码不匹配，密码未重置。请重新获取验证码再试；手机号码已变更的，请到车管所窗口重置密码。",
        "The account, mobile number and code do not belong together; the password is unchanged. Request a new "
        "code and try again; if your number has changed, reset the password at a DMV counter.",
        field="username",
    )


def password_reset_request(
    *, username: str, mobile: str, request: HttpRequest | None = None, now: datetime | None = None
) -> None:
    """Send a recovery code (找回密码) to ``mobile`` when it is the number on record of the account.

    The caller answers :data:`RESET_NOTICE_ZH` whatever happens here: an unknown account, another
    number, an account without a verified mobile and a code held back by the SMS limits all
    look like a code sent. The limits this can refuse with (per client, and per number like
    sending a code) count every request alike, so they tell nothing either.
    """
    if not (username or "").strip():
        raise _login_required()
    mobile = validate_mobile(mobile)
    now = now or timezone.now()
    throttles.throttle_take(
        scope="reset.client",
        key=client_address(request),
        limits=rules.REGISTRATION_CLIENT_LIMITS,
        refuse=rules.client_limit,
        now=now,
    )
    throttles.throttle_take(
        scope="reset_request.mobile",
        key=mobile,
        limits=rules.RESET_REQUEST_MOBILE_LIMITS,
        refuse=rules.reset_request_limit,
        now=now,
    )
    user = _find_login(username)
    if user is None or not _recoverable(user, mobile):
        return
    try:
        sms_code_send(mobile=mobile, purpose=SmsCode.Purpose.RESET_PASSWORD, now=now, request=request)
    except Throttled:
        # Saying that this number's codes are used up would say that it is on record.
        return


def password_reset_confirm(
    *,
    username: str,
    mobile: str,
    sms_code: str,
    password: str,
    request: HttpRequest | None = None,
) -> User:
    """Set a new password with a recovery code (找回密码): unlocks the account, ends its app tokens
    (and, as the password changes, its other sessions) and is audited."""
    if not (username or "").strip():
        raise _login_required()
    mobile = validate_mobile(mobile)
    clean_password(password)
    now = timezone.now()
    _count_attempt(scope="reset", mobile=mobile, request=request, now=now)
    sms_id = sms_code_check(mobile=mobile, purpose=SmsCode.Purpose.RESET_PASSWORD, code=sms_code, now=now)
    found = _find_login(username)
    if found is None or not _recoverable(found, mobile):
        _sms_code_spend(sms_id=sms_id, now=now)
        raise _reset_not_confirmed()
    with transaction.atomic():
        _sms_code_use(sms_id=sms_id, now=now)
        user = User.objects.select_for_update().get(pk=found.pk)
        if not _recoverable(user, mobile):
            raise _reset_not_confirmed()
        clean_password(password, user)
        user.set_password(password)
        user.failed_logins = 0
        user.locked_until = None
        user.save(update_fields=["password", "failed_logins", "locked_until"])
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
        audit_record(
            actor=user,
            action="change",
            subject=user,
            subject_person_id=user.person_id,
            summary=f"短信验证找回密码并解锁 password reset by SMS code to {mask_phone(mobile)}; unlocked",
            request=request,
        )
    return user


def account_recover_at_counter(
    *,
    actor: User,
    user_id: int,
    mobile: str,
    document_checked: bool,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> User:
    """Counter side of password recovery (窗口找回密码) for a citizen whose mobile changed or who has
    none on record: the clerk has seen the original identity document and records the number the
    applicant uses now as the account's verified mobile, and a lock is lifted. The applicant then
    sets a new password by SMS on the recovery page; the clerk never handles a password.

    The number is also the person's contact number on their vehicles and licences (B5, B15), as
    a contact change online would make it, and the old number is told of the change.
    """
    require(actor, "accounts.individual.recover")
    if not document_checked:
        raise ValidationFailed(
            "accounts.document_not_checked",
            "请先核验申请人的身份证明原件。",
            "Check the applicant's original identity document first.",
            field="document_checked",
        )
    mobile = validate_mobile(mobile)
    now = now or timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id, kind=User.Kind.INDIVIDUAL).first()
        # Outside the clerk's jurisdiction is "not found", as the counter look-up says.
        if user is None or user.person is None or not _visible_at_counter(actor, user.person):
            raise _user_not_found()
        old = user.mobile
        user.mobile = mobile
        user.mobile_verified_at = now
        user.failed_logins = 0
        user.locked_until = None
        user.save(update_fields=["mobile", "mobile_verified_at", "failed_logins", "locked_until"])
        registry_services.person_contact_change(person_id=user.person.pk, mobile=mobile)
        audit_record(
            actor=actor,
            action="change",
            subject=user,
            subject_person_id=user.person_id,
            summary=f"窗口找回密码，变更预留手机号 counter recovery {mask_phone(old) if old else '-'} -> "
            f"{mask_phone(mobile)}; unlocked",
            request=request,
        )
        if old and old != mobile:
            outbox_enqueue(
                topic="sms.send",
                payload={
                    "mobile": old,
                    "text": f"【交管服务平台】您账号的预留手机号已于{timezone.localtime(now):%m月%d日%H:%M}在车管所窗口"
                    "变更。如非本人办理，请立即联系车管所。 The mobile number on record for your account was "
                    "changed at a DMV counter; if this was not you, contact the DMV at once.",
                },
                dedup_key=f"counter-recovery-{user.pk}-{int(now.timestamp())}",
            )
    return user


# ---------------------------------------------------------------- contact details


def contact_details_change(
    *,
    actor: User,
    mobile: str,
    sms_code: str,
    postal_address: str | None = None,
    request: HttpRequest | None = None,
) -> User:
    """Change owner and driver contact details (B5, B15) at once, after SMS check of the new number."""
    require(actor, "accounts.contact.change")
    rules.check_business_allowed(business_code="B5", user_kind=actor.kind, level=actor.registration_level)
    mobile = validate_mobile(mobile)
    address = None
    if postal_address is not None:
        address = unicodedata.normalize("NFC", postal_address.strip())
        if len(address) > 200 or _NAME_FORBIDDEN.search(address.replace("/", "")):
            raise ValidationFailed(
                "accounts.address_invalid",
                "通讯地址过长或含有不允许的字符（最多200字）。",
                "The postal address is too long or has characters that are not allowed (200 at most).",
                field="postal_address",
            )
    now = timezone.now()
    sms_id = sms_code_check(mobile=mobile, purpose=SmsCode.Purpose.CHANGE_MOBILE, code=sms_code, now=now)
    with transaction.atomic():
        _sms_code_use(sms_id=sms_id, now=now)
        user = User.objects.select_for_update().get(pk=actor.pk)
        old = user.mobile
        user.mobile = mobile
        user.mobile_verified_at = now
        user.save(update_fields=["mobile", "mobile_verified_at"])
        registry_services.person_contact_change(
            person_id=int(user.person_id or 0), mobile=mobile, postal_address=address
        )
        audit_record(
            actor=actor,
            action="change",
            subject=user,
            subject_person_id=user.person_id,
            summary=f"变更联系方式 contact change {mask_phone(old) if old else '-'} -> {mask_phone(mobile)}",
            request=request,
        )
    return user


# ---------------------------------------------------------------- scheduled purges (issue 12)


def api_tokens_purge(*, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False) -> int:
    """Bearer tokens expired or revoked more than ``PURGE_API_TOKEN_DAYS`` (7) days ago.

    Rule: such a token opens nothing any more (``api_token_user`` refuses it); the week keeps it
    for a question about a lost or stolen phone. Only the hash was ever stored.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PURGE_API_TOKEN_DAYS)
    return purge_in_batches(
        ApiToken.objects.filter(Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)),
        batch=batch,
        dry_run=dry_run,
    )


def sms_codes_purge(*, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False) -> int:
    """SMS codes sent more than ``PURGE_SMS_CODE_DAYS`` (7) days ago.

    Rule: a code is good for ``SMS_CODE_TTL`` (5 minutes) and the per-number quota counts the
    codes of the last day, so a week-old code serves nothing; the row holds a mobile number
    (personal data), which is not kept longer than needed. Never less than the quota's day.
    """
    now = now or timezone.now()
    cutoff = now - max(timedelta(days=settings.PURGE_SMS_CODE_DAYS), timedelta(days=1))
    return purge_in_batches(SmsCode.objects.filter(created_at__lt=cutoff), batch=batch, dry_run=dry_run)


def password_links_purge(*, now: datetime | None = None, batch: int = BATCH, dry_run: bool = False) -> int:
    """Password set-up links expired or used (or replaced) more than ``PURGE_PASSWORD_LINK_DAYS`` (7)
    days ago.

    Rule: a link works once and for ``PASSWORD_LINK_TTL`` (24 hours); an old text message then
    meets the same "not valid, used or expired" answer whether its row is there or not.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PURGE_PASSWORD_LINK_DAYS)
    return purge_in_batches(
        PasswordSetupLink.objects.filter(Q(expires_at__lt=cutoff) | Q(used_at__lt=cutoff)),
        batch=batch,
        dry_run=dry_run,
    )
