"""The hospital's examination form (《机动车驾驶人身体条件证明》, B6): fields only; the rules that
decide what a value may be are ``medical.check_examination``, run by the service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .documents import IdDocumentType
from .medical import CONDITIONS, LOWER_LIMB_WORDS, UPPER_LIMB_WORDS

_MEETS = [("1", _("合格")), ("0", _("不合格"))]


def _words(table: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
    return [(code, f"{zh} {en}") for code, (zh, en) in table.items()]


def _decimal_input() -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "5.0"})


class ExaminationForm(forms.Form):
    id_type = forms.ChoiceField(
        label=_("证件类型"), choices=IdDocumentType.choices, initial=IdDocumentType.RESIDENT_ID
    )
    id_number = forms.CharField(label=_("证件号码"), max_length=32)
    name = forms.CharField(label=_("驾驶人姓名"), max_length=64, help_text=_("须与证件号码一致"))
    classes_applied = forms.CharField(label=_("申请准驾车型"), max_length=24, help_text=_("如C1或A2D"))
    height_cm = forms.CharField(
        label=_("身高（厘米）"), max_length=3, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    vision_left = forms.CharField(label=_("左眼裸眼视力"), max_length=4, widget=_decimal_input())
    vision_right = forms.CharField(label=_("右眼裸眼视力"), max_length=4, widget=_decimal_input())
    corrected_vision_left = forms.CharField(
        label=_("左眼矫正视力"),
        max_length=4,
        required=False,
        widget=_decimal_input(),
        help_text=_("未矫正不填"),
    )
    corrected_vision_right = forms.CharField(
        label=_("右眼矫正视力"),
        max_length=4,
        required=False,
        widget=_decimal_input(),
        help_text=_("未矫正不填"),
    )
    colour_vision_ok = forms.ChoiceField(label=_("辨色力（无红绿色盲）"), choices=_MEETS)
    hearing_left_ok = forms.ChoiceField(label=_("左耳听力"), choices=_MEETS)
    hearing_right_ok = forms.ChoiceField(label=_("右耳听力"), choices=_MEETS)
    hearing_aid = forms.BooleanField(label=_("佩戴助听设备"), required=False)
    upper_limbs = forms.ChoiceField(label=_("上肢"), choices=_words(UPPER_LIMB_WORDS))
    lower_limbs = forms.ChoiceField(label=_("下肢"), choices=_words(LOWER_LIMB_WORDS))
    trunk_neck_ok = forms.ChoiceField(label=_("躯干和颈部"), choices=_MEETS)
    declared_conditions = forms.MultipleChoiceField(
        label=_("驾驶人申告的病史"),
        choices=_words(CONDITIONS),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("勾选驾驶人申告“有”的项目；均无则不勾选"),
    )
    doctor_name = forms.CharField(label=_("体检医生"), max_length=32)
    examined_on = forms.CharField(label=_("体检日期"), widget=forms.DateInput(attrs={"type": "date"}))
    conclusion = forms.ChoiceField(label=_("体检结论"), choices=[("fit", _("合格")), ("unfit", _("不合格"))])

    def data_for_service(self) -> dict[str, Any]:
        """The cleaned values as the service takes them (strings; the rules check them)."""
        return dict(self.cleaned_data)
