"""Page forms for business applications (issue 13): they only parse input; every rule is the services'.

A service's refusal goes next to the field it names (``accounts.forms.add_domain_error`` with
the ``*_FIELDS`` maps below translating the services' field names into these forms').
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from jiaoguan.accounts.forms import REQUIRED
from jiaoguan.accounts.forms import area_field as _area
from jiaoguan.accounts.forms import text_field as _text
from jiaoguan.core.divisions import DIVISIONS
from jiaoguan.registry.licence_rules import DEFERRAL_REASONS

from . import catalogue
from .catalogue import Material

CHOICE_ERRORS = {**REQUIRED, "invalid_choice": _("请从列表中选择。")}
DATE_ERRORS = {**REQUIRED, "invalid": _("请按 年-月-日 填写日期。")}
FILE_ACCEPT = "image/jpeg,image/png,application/pdf,.jpg,.jpeg,.png,.pdf"
FILE_ERRORS = {**REQUIRED, "invalid": _("请选择要上传的文件。"), "empty": _("文件为空，请重新选择文件上传。")}

# Service field names -> form field names.
APPLY_FIELDS = {"mobile": "recipient_phone", "division": "address_division"}
DEFERRAL_BUSINESSES = frozenset({"B12", "B13", "B14"})


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _choices(form: forms.Form, name: str) -> forms.ChoiceField:
    """A choice field of the form, to set its choices (typed: ``form.fields`` holds plain fields)."""
    return cast(forms.ChoiceField, form.fields[name])


def _file(label: Any, *, required: bool) -> forms.FileField:
    return forms.FileField(
        label=label,
        required=required,
        error_messages=FILE_ERRORS,
        help_text=_("JPEG、PNG 或 PDF，不超过 2 MB。"),
        widget=forms.ClearableFileInput(attrs={"accept": FILE_ACCEPT}),
    )


def division_choices() -> list[tuple[str, str]]:
    """Divisions of GB/T 2260 the platform lists, named, province first."""
    return [("", str(_("请选择")))] + [(code, f"{name} ({code})") for code, name in sorted(DIVISIONS.items())]


# The material fields of the form, by material; the medical certificate never has one: the
# hospital submits it electronically (B7).
MATERIAL_FIELDS = {Material.PHOTO: "photo", Material.ID_COPY: "id_copy", Material.STATEMENT: "statement"}


class ApplyForm(forms.Form):
    """网上申请: the particulars the business needs, delivery, and the materials it asks for."""

    to_classes = forms.ChoiceField(label=_("换领后的准驾车型"), choices=[], error_messages=CHOICE_ERRORS)
    reason = forms.ChoiceField(label=_("延期原因"), choices=[], error_messages=CHOICE_ERRORS)
    until = forms.DateField(
        label=_("延期至"),
        error_messages=DATE_ERRORS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    delivery_method = forms.ChoiceField(
        label=_("领取方式"), choices=[], widget=forms.RadioSelect, error_messages=CHOICE_ERRORS
    )
    recipient_name = _text(_("收件人姓名"), max_length=64, required=False, autocomplete="name")
    recipient_phone = _text(
        _("收件人手机号码"), max_length=11, required=False, autocomplete="tel", inputmode="numeric"
    )
    address_division = forms.ChoiceField(
        label=_("收件地区"), choices=[], required=False, error_messages=CHOICE_ERRORS
    )
    address_line = _text(_("详细地址"), max_length=200, required=False, autocomplete="street-address")
    photo = _file(_("本人近期照片"), required=True)
    id_copy = _file(_("身份证明复印件"), required=True)
    statement = _file(_("情况说明（书面声明）"), required=True)
    note = _area(_("备注（选填）"), max_length=300, required=False, rows=2)

    def __init__(self, *args: Any, entry: catalogue.Entry, to_classes: list[str] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        english = _english()
        self.entry = entry
        if entry.code == "B9" and to_classes:
            # The classes the holder may keep come from the age-limit rule (eligibility details).
            _choices(self, "to_classes").choices = [(c, c) for c in to_classes]
        else:
            del self.fields["to_classes"]
        if entry.code in DEFERRAL_BUSINESSES:
            _choices(self, "reason").choices = [("", str(_("请选择")))] + [
                (r.code, f"{r.en if english else r.zh}") for r in DEFERRAL_REASONS.values()
            ]
        else:
            del self.fields["reason"]
            del self.fields["until"]
        if entry.delivers:
            _choices(self, "delivery_method").choices = [
                (d.value, catalogue.DELIVERY_NAMES[d][1 if english else 0]) for d in entry.delivery
            ]
            _choices(self, "address_division").choices = division_choices()
        else:
            for name in (
                "delivery_method",
                "recipient_name",
                "recipient_phone",
                "address_division",
                "address_line",
            ):
                del self.fields[name]
        for material, name in MATERIAL_FIELDS.items():
            if material not in entry.materials:
                del self.fields[name]

    def particulars(self) -> dict[str, Any]:
        data = self.cleaned_data
        out: dict[str, Any] = {}
        if "to_classes" in data:
            out["to_classes"] = data["to_classes"]
        if "reason" in data:
            out["reason"] = data["reason"]
            out["until"] = data["until"].isoformat() if data.get("until") else ""
        return out

    def material_files(self) -> list[tuple[str, str, Any]]:
        """(material kind, form field, upload) for each material the business asks a file for."""
        return [
            (m.value, n, self.cleaned_data.get(n)) for m, n in MATERIAL_FIELDS.items() if n in self.fields
        ]

    def material_fields(self) -> list[forms.BoundField]:
        return [self[n] for m, n in MATERIAL_FIELDS.items() if n in self.fields]


class SupplementForm(forms.Form):
    """补正材料: what was asked for, and a file when one is needed."""

    note = _area(_("补正说明"), max_length=300, required=True, rows=3)
    kind = forms.ChoiceField(label=_("材料"), choices=[], required=False, error_messages=CHOICE_ERRORS)
    file = _file(_("上传材料（选填）"), required=False)

    def __init__(self, *args: Any, entry: catalogue.Entry, **kw: Any):
        super().__init__(*args, **kw)
        english = _english()
        _choices(self, "kind").choices = [
            (m.value, catalogue.MATERIAL_NAMES[m][1 if english else 0])
            for m in entry.materials
            if m in MATERIAL_FIELDS
        ]


# ---------------------------------------------------------------- the counter


class QueueFilterForm(forms.Form):
    business = forms.ChoiceField(label=_("业务"), required=False, choices=[])
    state = forms.ChoiceField(label=_("状态"), required=False, choices=[])
    overdue = forms.BooleanField(label=_("只看超期未受理"), required=False)

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        from .rules import STATE_NAMES

        english = _english()
        _choices(self, "business").choices = [("", str(_("全部业务")))] + [
            (e.code, f"{e.code} {e.name_en if english else e.name_zh}") for e in catalogue.CATALOGUE.values()
        ]
        _choices(self, "state").choices = [("", str(_("待办（全部）")))] + [
            (s.value, names[1 if english else 0]) for s, names in STATE_NAMES.items()
        ]


class ReasonForm(forms.Form):
    reason = _area(_("理由"), max_length=300, required=True, rows=2)


class ReturnForm(forms.Form):
    reason = _area(_("需补正的内容"), max_length=300, required=True, rows=2)
    supplement_due_on = forms.DateField(
        label=_("补正期限"),
        error_messages=DATE_ERRORS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class WaybillForm(forms.Form):
    # Empty: the platform asks the postal service for the waybill (issue 13); typed by hand only
    # when the postal system is down, and then checked as an EMS number.
    waybill_number = _text(
        _("邮件号（留空则向邮政申请）"),
        max_length=40,
        required=False,
        autocomplete="off",
        autocapitalize="characters",
    )


class PickupCodeForm(forms.Form):
    pickup_code = _text(_("取件码"), max_length=8, autocomplete="off", inputmode="numeric")
