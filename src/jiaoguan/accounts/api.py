"""Accounts endpoints: SMS codes, online registration, tokens, profile, contact change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import translation
from ninja import Field, Router, Schema

from jiaoguan.core.access import access_required
from jiaoguan.core.api import BearerToken, ErrorOut, InputSchema, SessionUser, run_idempotent
from jiaoguan.core.counters import counters_for
from jiaoguan.core.errors import NotAllowed
from jiaoguan.core.identifiers import mask_id_number, mask_phone

from . import rules, selectors, services
from .models import User

router = Router(tags=["accounts"])
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


class SmsCodeIn(InputSchema):
    mobile: str = Field(..., max_length=32, description="mainland mobile number, 11 digits")
    purpose: str = Field("register", max_length=32, description="register | change_mobile")


class SmsCodeOut(Schema):
    sent: bool
    expires_in: int
    resend_after: int


class RegistrationIn(InputSchema):
    id_type: str = Field("resident_id", max_length=32)
    id_number: str = Field(..., max_length=64)
    name: str = Field(..., max_length=200)
    mobile: str = Field(..., max_length=32)
    sms_code: str = Field(..., max_length=16)
    password: str = Field(..., max_length=200)


class PasswordResetIn(InputSchema):
    username: str = Field(..., max_length=200, description="document number or unified social credit code")
    mobile: str = Field(..., max_length=32, description="the mobile number on record for the account")


class PasswordResetOut(Schema):
    accepted: bool
    message: str
    expires_in: int
    resend_after: int


class PasswordResetConfirmIn(InputSchema):
    username: str = Field(..., max_length=200)
    mobile: str = Field(..., max_length=32)
    sms_code: str = Field(..., max_length=16)
    password: str = Field(..., max_length=200)


class AccountOut(Schema):
    id: int
    username_masked: str
    kind: str
    registration_level: str


class TokenIn(InputSchema):
    username: str = Field(..., max_length=200)
    password: str = Field(..., max_length=200)


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_at: datetime


class MeOut(Schema):
    id: int
    kind: str
    registration_level: str
    name_masked: str
    id_number_masked: str
    mobile_masked: str
    staff_role: str
    jurisdiction: str
    counter_only_businesses_allowed: bool


class ContactIn(InputSchema):
    mobile: str = Field(..., max_length=32)
    sms_code: str = Field(..., max_length=16)
    postal_address: str | None = Field(None, max_length=400)


class AccessOut(Schema):
    at: datetime = Field(..., description="the newest view of the line")
    first_at: datetime = Field(..., description="the oldest view grouped on the line")
    count: int = Field(..., description="views of the same record by the same staff member within a minute")
    actor: str
    role: str
    action: str
    summary: str


class CounterOut(Schema):
    name: str
    division: str
    division_name: str
    address: str
    hours: str
    phone: str
    all_businesses: bool


class BusinessCheckOut(Schema):
    code: str
    name_zh: str
    name_en: str
    allowed: bool
    online_now: bool = Field(..., description="announced as live by the seed's business list")
    available_online: bool = Field(..., description="can be handled online on this platform now")
    message: str = Field("", description="what to do instead, when not available online")
    counters: list[CounterOut] = Field(default_factory=list, description="where to do it in person")


def _account_out(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username_masked": mask_id_number(user.username) if len(user.username) == 18 else user.username,
        "kind": user.kind,
        "registration_level": user.registration_level,
    }


@router.post("/auth/sms-codes", response={202: SmsCodeOut, **ERRORS}, auth=None)
def request_sms_code(request: HttpRequest, payload: SmsCodeIn) -> Any:
    """Send an SMS verification code for registration or a contact change (limited per number: 1 a
    minute, 5 an hour, 10 a day; and per client: 20 an hour, 60 a day)."""

    def call() -> tuple[int, Any]:
        services.sms_code_request(mobile=payload.mobile, purpose=payload.purpose, request=request)
        return 202, {
            "sent": True,
            "expires_in": int(rules.SMS_CODE_TTL.total_seconds()),
            "resend_after": int(rules.SMS_MIN_GAP.total_seconds()),
        }

    return run_idempotent(request, scope="sms-codes", body=payload.dict(), call=call)


@router.post("/accounts", response={201: AccountOut, **ERRORS}, auth=None)
def register_online(request: HttpRequest, payload: RegistrationIn) -> Any:
    """Online registration of an individual user (U2, U3)."""

    def call() -> tuple[int, Any]:
        user = services.account_register_online(**payload.dict(), request=request)
        return 201, _account_out(user)

    body = {k: v for k, v in payload.dict().items() if k != "password"}
    return run_idempotent(request, scope="accounts", body=body, call=call)


@router.post("/auth/password-resets", response={202: PasswordResetOut, **ERRORS}, auth=None)
def request_password_reset(request: HttpRequest, payload: PasswordResetIn) -> Any:
    """Password recovery, step 1 (忘记密码): a code to the account's mobile on record.

    The answer is the same whether or not the account exists and the number is the one on
    record; an account whose number changed, or that has none, is told to go to a counter.
    Limited per client and per number like registration.
    """
    services.password_reset_request(username=payload.username, mobile=payload.mobile, request=request)
    return 202, {
        "accepted": True,
        "message": services.password_reset_notice(),
        "expires_in": int(rules.SMS_CODE_TTL.total_seconds()),
        "resend_after": int(rules.SMS_MIN_GAP.total_seconds()),
    }


@router.post("/auth/password-resets/confirm", response={200: AccountOut, **ERRORS}, auth=None)
def confirm_password_reset(request: HttpRequest, payload: PasswordResetConfirmIn) -> Any:
    """Password recovery, step 2: the code and a new password. Unlocks a locked account and ends
    its tokens and sessions; log in again with the new password."""
    user = services.password_reset_confirm(
        username=payload.username,
        mobile=payload.mobile,
        sms_code=payload.sms_code,
        password=payload.password,
        request=request,
    )
    return 200, _account_out(user)


@router.post("/auth/tokens", response={201: TokenOut, **ERRORS}, auth=None)
def issue_token(request: HttpRequest, payload: TokenIn) -> Any:
    """Exchange account and password for a bearer token (the app's login)."""
    raw, token = services.api_token_issue(
        username=payload.username, password=payload.password, request=request
    )
    return 201, {"token": raw, "token_type": "Bearer", "expires_at": token.expires_at}


@router.get("/me", response={200: MeOut, **ERRORS}, auth=[BearerToken(), SessionUser()])
def me(request: HttpRequest) -> Any:
    user: User = request.auth  # type: ignore[attr-defined]
    person = user.person
    return {
        "id": user.pk,
        "kind": user.kind,
        "registration_level": user.registration_level,
        "name_masked": (person.name[0] + "*" * (len(person.name) - 1)) if person else user.first_name,
        "id_number_masked": mask_id_number(person.id_number) if person else "",
        "mobile_masked": mask_phone(user.mobile) if user.mobile else "",
        "staff_role": user.staff_role,
        "jurisdiction": user.jurisdiction,
        "counter_only_businesses_allowed": user.kind == User.Kind.ORGANISATION or user.is_counter_level,
    }


@router.post("/me/contact", response={200: MeOut, **ERRORS}, auth=[BearerToken()])
@access_required("accounts.contact.change")
def change_contact(request: HttpRequest, payload: ContactIn) -> Any:
    """Change owner and driver contact details (B5, B15); SMS code sent to the new number first."""
    services.contact_details_change(
        actor=request.auth,  # type: ignore[attr-defined]
        mobile=payload.mobile,
        sms_code=payload.sms_code,
        postal_address=payload.postal_address,
        request=request,
    )
    request.auth.refresh_from_db()  # type: ignore[attr-defined]
    return me(request)


@router.get("/me/access-log", response={200: list[AccessOut], **ERRORS}, auth=[BearerToken(), SessionUser()])
@access_required("accounts.access_log.view")
def access_log(request: HttpRequest, limit: int = 50) -> Any:
    """Who among the staff viewed or changed my data."""
    groups = selectors.access_groups_for(user=request.auth, limit=max(1, min(limit, 200)))  # type: ignore[attr-defined]
    return [
        {
            "at": g.at,
            "first_at": g.first_at,
            "count": g.count,
            "actor": g.actor,
            "role": g.role,
            "action": g.action,
            "summary": g.summary,
        }
        for g in groups
    ]


@router.get(
    "/me/businesses/{code}", response={200: BusinessCheckOut, **ERRORS}, auth=[BearerToken(), SessionUser()]
)
@access_required("accounts.business.open")
def business_check(request: HttpRequest, code: str) -> Any:
    """Whether my account may handle a business online; a 403 says how to get access (U5).

    A business nobody can handle online yet answers 200 with ``available_online`` false and the
    counters where it is done instead: no upgrade would help, so none is suggested (issue 11).
    """
    user: User = request.auth  # type: ignore[attr-defined]
    org_kind = user.organisation.kind if user.organisation_id else ""  # type: ignore[union-attr]
    key = code.upper()[:8]
    if key in rules.BUSINESSES and not rules.business_online_here(key):
        business = rules.BUSINESSES[key]
        try:
            rules.check_business_allowed(
                business_code=key,
                user_kind=user.kind,
                level=user.registration_level,
                organisation_kind=org_kind,
            )
            allowed = True
        except NotAllowed:
            allowed = False
        english = (translation.get_language() or "").lower().startswith("en")
        message = (
            f"'{business.name_en}' is not yet available online; please go to a service counter."
            if english
            else f"“{business.name_zh}”暂未开通网上办理，请到业务窗口办理。"
        )
        division = selectors.home_division(user)
        return {
            "code": business.code,
            "name_zh": business.name_zh,
            "name_en": business.name_en,
            "allowed": allowed,
            "online_now": business.online_now,
            "available_online": False,
            "message": message,
            "counters": [c.as_dict() for c in counters_for(division=division, business_code=key)],
        }
    business = rules.check_business_allowed(
        business_code=key,
        user_kind=user.kind,
        level=user.registration_level,
        organisation_kind=org_kind,
    )
    return {
        "code": business.code,
        "name_zh": business.name_zh,
        "name_en": business.name_en,
        "allowed": True,
        "online_now": business.online_now,
        "available_online": True,
    }
