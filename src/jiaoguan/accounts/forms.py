"""Page forms for accounts: they only parse input; every rule lives in the services.

A :class:`~jiaoguan.core.errors.DomainError` raised by a service is put next to the
field it names (``error.field``) with :func:`add_domain_error`, or above the form
when the form has no such field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django import forms
from django.utils.translation import gettext_lazy as _

from jiaoguan.core.divisions import DIVISIONS, ZHUMADIAN, ZHUMADIAN_COUNTIES, is_within
from jiaoguan.core.errors import DomainError
from jiaoguan.registry.documents import IdDocumentType
from jiaoguan.registry.models import Organisation

from .models import OrganisationMember

_T = TypeVar("_T")

REQUIRED = {"required": _("请填写此项。")}

# Labels of the identity documents in the active language (the model's labels are bilingual text).
ID_TYPE_CHOICES = [
    (IdDocumentType.RESIDENT_ID.value, _("居民身份证")),
    (IdDocumentType.TEMPORARY_ID.value, _("临时居民身份证")),
    (IdDocumentType.HK_MACAU_ID.value, _("港澳居民身份证")),
    (IdDocumentType.TAIWAN_PERMIT.value, _("台湾居民来往大陆通行证")),
    (IdDocumentType.PRC_TRAVEL_DOCUMENT.value, _("中华人民共和国旅行证")),
    (IdDocumentType.PRC_PASSPORT.value, _("中华人民共和国护照")),
    (IdDocumentType.FOREIGN_PASSPORT.value, _("外国护照")),
    (IdDocumentType.DIPLOMATIC_ID.value, _("外交部核发的身份证件")),
]

ORGANISATION_KIND_LABELS = {
    Organisation.Kind.TRANSPORT_COMPANY.value: _("道路运输企业"),
    Organisation.Kind.DRIVING_SCHOOL.value: _("驾驶培训机构"),
    Organisation.Kind.CAR_DEALER.value: _("汽车销售商（4S店）"),
    Organisation.Kind.HOSPITAL.value: _("医院"),
    Organisation.Kind.SCHOOL.value: _("学校"),
    Organisation.Kind.INSURER.value: _("保险公司"),
    Organisation.Kind.BANK.value: _("商业银行/汽车金融公司"),
    Organisation.Kind.TRANSPORT_AUTHORITY.value: _("道路运输管理部门"),
    Organisation.Kind.EDUCATION_AUTHORITY.value: _("教育行政部门"),
    Organisation.Kind.SAFETY_AUTHORITY.value: _("安监部门"),
    Organisation.Kind.OTHER.value: _("其他单位"),
}
ORGANISATION_KIND_CHOICES = [
    (value, ORGANISATION_KIND_LABELS.get(value, label)) for value, label in Organisation.Kind.choices
]

MEMBER_ROLE_LABELS = {
    OrganisationMember.Role.LEGAL_REPRESENTATIVE.value: _("法定代表人"),
    OrganisationMember.Role.AGENT.value: _("代理人（持委托代理授权书）"),
    OrganisationMember.Role.MEMBER.value: _("经办人"),
}
REPRESENTATIVE_ROLE_CHOICES = [
    (OrganisationMember.Role.LEGAL_REPRESENTATIVE.value, MEMBER_ROLE_LABELS["legal_representative"]),
    (OrganisationMember.Role.AGENT.value, MEMBER_ROLE_LABELS["agent"]),
]
MEMBER_ROLE_CHOICES = [(value, MEMBER_ROLE_LABELS[value]) for value in OrganisationMember.Role.values]

DIVISION_CHOICES = [(code, f"{DIVISIONS[code]} ({code})") for code in (ZHUMADIAN, *ZHUMADIAN_COUNTIES)]


def divisions_within(jurisdiction: str) -> list[tuple[str, str]]:
    """Listed divisions inside a jurisdiction, the jurisdiction first."""
    inside = sorted(code for code in DIVISIONS if code != jurisdiction and is_within(code, jurisdiction))
    return [
        (code, f"{DIVISIONS[code]} ({code})")
        for code in ([jurisdiction] if jurisdiction in DIVISIONS else []) + inside
    ]


def _text(label: Any, *, max_length: int, required: bool = True, **attrs: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        strip=True,
        error_messages=REQUIRED,
        widget=forms.TextInput(attrs=attrs),
    )


def _password(label: Any, *, autocomplete: str = "new-password") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=128,
        strip=False,
        error_messages=REQUIRED,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


def _choice(label: Any, choices: Any, *, initial: str | None = None) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        initial=initial,
        error_messages={**REQUIRED, "invalid_choice": _("请从列表中选择。")},
    )


def _id_type(label: Any = None) -> forms.ChoiceField:
    return _choice(
        label if label is not None else _("证件类型"),
        ID_TYPE_CHOICES,
        initial=IdDocumentType.RESIDENT_ID.value,
    )


def _id_number(label: Any = None) -> forms.CharField:
    return _text(
        label if label is not None else _("证件号码"),
        max_length=64,
        autocomplete="off",
        autocapitalize="characters",
        spellcheck="false",
    )


def _mobile(label: Any = None) -> forms.CharField:
    return _text(
        label if label is not None else _("手机号码"), max_length=32, autocomplete="tel", inputmode="tel"
    )


def _sms_code() -> forms.CharField:
    return _text(
        _("短信验证码"), max_length=16, autocomplete="one-time-code", inputmode="numeric", pattern="[0-9]*"
    )


def add_domain_error(
    form: forms.Form, error: DomainError, field_map: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal next to the field it names, or above the form."""
    field = error.field or ""
    field = (field_map or {}).get(field, field)
    form.add_error(field if field in form.fields else None, error.message)


def submit_form(
    form: forms.Form, call: Callable[[], _T], field_map: Mapping[str, str] | None = None
) -> _T | None:
    """Run a service for a valid form: its result, or None with the refusal shown on the form.

    Services return the record they made or changed, never None, so None means refused.
    """
    try:
        return call()
    except DomainError as error:
        add_domain_error(form, error, field_map)
        return None


def initial_from_post(data: Mapping[str, Any], form_class: type[forms.Form]) -> dict[str, Any]:
    """Values a visitor typed, to put back into a fresh form (never the passwords)."""
    keep = {}
    for name, field in form_class.base_fields.items():
        if isinstance(field.widget, forms.PasswordInput) or name not in data:
            continue
        keep[name] = str(data.get(name, ""))[:200]
    return keep


class RegisterForm(forms.Form):
    """Online registration of an individual (网上注册)."""

    id_type = _id_type()
    id_number = _id_number()
    name = _text(_("姓名"), max_length=200, autocomplete="name")
    mobile = _mobile()
    sms_code = _sms_code()
    password = _password(_("设置密码"))
    password_confirm = _password(_("确认密码"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = _("至少8位，不能全是数字，不要用常见密码。")
        self.fields["name"].help_text = _("按证件上的姓名填写。")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("password")
            and data.get("password_confirm")
            and data["password"] != data["password_confirm"]
        ):
            self.add_error("password_confirm", _("两次输入的密码不一致，请重新输入。"))
        return data


class LoginForm(forms.Form):
    account = _text(
        _("账号"), max_length=150, autocomplete="username", autocapitalize="none", spellcheck="false"
    )
    password = _password(_("密码"), autocomplete="current-password")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].help_text = _(
            "个人用户填证件号码，单位用户填统一社会信用代码，工作人员填工号。"
        )


class PasswordResetForm(forms.Form):
    """Password recovery (忘记密码): the account, its mobile on record, the code, a new password."""

    account = _text(
        _("账号"), max_length=150, autocomplete="username", autocapitalize="none", spellcheck="false"
    )
    mobile = _mobile(_("预留手机号码"))
    sms_code = _sms_code()
    password = _password(_("新密码"))
    password_confirm = _password(_("确认新密码"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].help_text = _("个人用户填证件号码，单位用户填统一社会信用代码。")
        self.fields["mobile"].help_text = _("注册或最近一次变更联系方式时验证过的手机号码。")
        self.fields["password"].help_text = _("至少8位，不能全是数字，不要用常见密码。")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("password")
            and data.get("password_confirm")
            and data["password"] != data["password_confirm"]
        ):
            self.add_error("password_confirm", _("两次输入的密码不一致，请重新输入。"))
        return data


class PasswordSetupForm(forms.Form):
    """The first password of an account registered at the counter, set with the texted link."""

    password = _password(_("登录密码"))
    password_confirm = _password(_("确认登录密码"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = _("至少8位，不能全是数字，不要用常见密码。")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("password")
            and data.get("password_confirm")
            and data["password"] != data["password_confirm"]
        ):
            self.add_error("password_confirm", _("两次输入的密码不一致，请重新输入。"))
        return data


class ContactForm(forms.Form):
    """Change owner and driver contact details (B5, B15)."""

    mobile = _mobile(_("新手机号码"))
    sms_code = _sms_code()
    postal_address = forms.CharField(
        label=_("联系地址（选填）"),
        max_length=400,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["postal_address"].help_text = _("不填则不变更联系地址。")


class CounterRegisterForm(forms.Form):
    """Counter registration of an individual (窗口注册)."""

    id_type = _id_type()
    id_number = _id_number()
    name = _text(_("姓名"), max_length=200, autocomplete="off")
    mobile = _mobile(_("申请人手机号码"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mobile"].help_text = _("设置登录密码的链接将以短信发送到此号码，由申请人本人设置密码。")


class UpgradeLookupForm(forms.Form):
    id_type = _id_type()
    id_number = _id_number()


class UpgradeForm(forms.Form):
    user_id = forms.IntegerField(widget=forms.HiddenInput)
    document_checked = forms.BooleanField(label=_("已核验申请人身份证明原件"), required=False)


class RecoverForm(forms.Form):
    """Counter side of password recovery (窗口找回密码): the number the applicant uses now."""

    user_id = forms.IntegerField(widget=forms.HiddenInput)
    mobile = _mobile(_("申请人现用手机号码"))
    document_checked = forms.BooleanField(label=_("已核验申请人身份证明原件"), required=False)


class OrganisationForm(forms.Form):
    """Counter registration of an organisation user (单位用户注册)."""

    uscc = _text(_("统一社会信用代码"), max_length=64, autocomplete="off", autocapitalize="characters")
    organisation_name = _text(_("单位名称"), max_length=200, autocomplete="organization")
    kind = _choice(_("单位类别"), [("", _("请选择")), *ORGANISATION_KIND_CHOICES])
    division = _choice(_("登记地行政区划"), DIVISION_CHOICES, initial=ZHUMADIAN)
    address = _text(_("单位地址（选填）"), max_length=200, required=False, autocomplete="street-address")
    representative_role = _choice(
        _("办理人身份"),
        REPRESENTATIVE_ROLE_CHOICES,
        initial=OrganisationMember.Role.LEGAL_REPRESENTATIVE.value,
    )
    authorisation_reference = _text(
        _("委托代理授权书编号"), max_length=64, required=False, autocomplete="off"
    )
    representative_id_type = _id_type(_("办理人证件类型"))
    representative_id_number = _id_number(_("办理人证件号码"))
    representative_name = _text(_("办理人姓名"), max_length=200, autocomplete="off")
    mobile = _mobile(_("单位联系手机"))
    password = _password(_("初始密码"))

    def __init__(self, *args: Any, jurisdiction: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["authorisation_reference"].help_text = _("代理人办理时必填。")
        if jurisdiction:
            # Only the divisions of the clerk's own jurisdiction can be chosen (the service checks too).
            self.fields["division"].choices = divisions_within(jurisdiction)  # type: ignore[attr-defined]
            self.fields["division"].initial = jurisdiction


# Service errors about "the person" in organisation registration refer to the representative.
ORGANISATION_FIELD_MAP = {
    "id_type": "representative_id_type",
    "id_number": "representative_id_number",
    "name": "representative_name",
}


class MemberForm(forms.Form):
    """A person who acts for an organisation (单位经办人)."""

    role = _choice(_("人员类别"), MEMBER_ROLE_CHOICES, initial=OrganisationMember.Role.MEMBER.value)
    id_type = _id_type()
    id_number = _id_number()
    name = _text(_("姓名"), max_length=200, autocomplete="off")
    authorisation_reference = _text(
        _("委托代理授权书编号"), max_length=64, required=False, autocomplete="off"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["authorisation_reference"].help_text = _("代理人必填。")


def text_field(label: Any, *, max_length: int, required: bool = True, **attrs: Any) -> forms.CharField:
    """A one-line text field with the platform's required and too-long messages."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        strip=True,
        error_messages={**REQUIRED, "max_length": _("内容过长，请精简后再提交。")},
        widget=forms.TextInput(attrs=attrs),
    )


def area_field(label: Any, *, max_length: int, required: bool = True, rows: int = 3) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        strip=True,
        error_messages={**REQUIRED, "max_length": _("内容过长，请精简后再提交。")},
        widget=forms.Textarea(attrs={"rows": rows}),
    )
