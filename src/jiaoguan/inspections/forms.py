"""Forms of the inspection pages: the booking (slot and paper label), the station at the counter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiaoguan.registry.models import VEHICLE_KIND_CHOICES

from .rules import WEEKDAYS_ZH

KIND_CHOICES = VEHICLE_KIND_CHOICES  # "小型载客汽车 Small passenger car": words, never the stored value
LABEL_CHOICES = [("", _("不需要纸质检验标志")), ("pickup", _("到检验机构自取")), ("post", _("邮寄"))]


class BookingForm(forms.Form):
    slot = forms.IntegerField(label=_("预约时段"), error_messages={"required": _("请选择预约时段。")})
    delivery = forms.ChoiceField(label=_("纸质检验标志"), choices=LABEL_CHOICES, required=False)
    recipient_name = forms.CharField(label=_("收件人"), max_length=64, required=False)
    recipient_phone = forms.CharField(label=_("收件人手机号码"), max_length=11, required=False)
    address_division = forms.CharField(label=_("收件地区代码"), max_length=6, required=False)
    address_line = forms.CharField(label=_("详细地址"), max_length=200, required=False)


class StationForm(forms.Form):
    uscc = forms.CharField(label=_("统一社会信用代码"), max_length=18)
    name = forms.CharField(label=_("检验机构名称"), max_length=100)
    division = forms.CharField(label=_("所在行政区划代码"), max_length=6)
    address = forms.CharField(label=_("地址"), max_length=200)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    vehicle_kinds = forms.MultipleChoiceField(
        label=_("检验车辆类型"), choices=KIND_CHOICES, widget=forms.CheckboxSelectMultiple
    )


class CalendarForm(forms.Form):
    """The weekly places: a morning and an afternoon number per weekday."""

    vehicle_kinds = forms.MultipleChoiceField(
        label=_("检验车辆类型"), choices=KIND_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    active = forms.BooleanField(label=_("接受预约"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for weekday, name in enumerate(WEEKDAYS_ZH):
            self.fields[f"am{weekday}"] = forms.IntegerField(
                label=f"{name} " + str(_("上午")), min_value=0, max_value=500
            )
            self.fields[f"pm{weekday}"] = forms.IntegerField(
                label=f"{name} " + str(_("下午")), min_value=0, max_value=500
            )

    def weekly(self) -> dict[str, list[int]]:
        data = self.cleaned_data
        return {str(d): [data[f"am{d}"], data[f"pm{d}"]] for d in range(7)}


class DayForm(forms.Form):
    day = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    morning = forms.IntegerField(label=_("上午可预约数（0 为不开放）"), min_value=0, max_value=500, initial=0)
    afternoon = forms.IntegerField(
        label=_("下午可预约数（0 为不开放）"), min_value=0, max_value=500, initial=0
    )
    reason = forms.CharField(label=_("原因"), max_length=100, required=False)
