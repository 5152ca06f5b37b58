"""Page forms for violations and fines: they only parse input; every rule lives in the services.

A refusal by a service is put next to the field it names with
:func:`jiaoguan.accounts.forms.add_domain_error` and the ``*_FIELDS`` maps below, which
translate the services' field names into these forms' names.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from jiaoguan.accounts.forms import REQUIRED
from jiaoguan.accounts.forms import area_field as _area
from jiaoguan.accounts.forms import text_field as _text
from jiaoguan.core.errors import ValidationFailed
from jiaoguan.payments.reasons import REASON_MIN
from jiaoguan.registry.models import PlateType
from jiaoguan.registry.views import PLATE_TYPE_LABELS

from . import rules

INVALID_CHOICE = {**REQUIRED, "invalid_choice": _("请从列表中选择。")}
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]

# Service field names -> form field names, for add_domain_error.
ON_SITE_FIELDS = {"plate": "plate_number", "fine": "fine_yuan", "recording_division": "division"}


def _datetime(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=DATETIME_FORMATS,
        error_messages={**REQUIRED, "invalid": _("请填写日期和时间。")},
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


def _id_number(label: Any) -> forms.CharField:
    return _text(label, max_length=32, autocomplete="off", autocapitalize="characters", spellcheck="false")


def code_choices(*, on: date) -> list[tuple[str, str]]:
    """Every code of the table with the description in force on ``on``, in the active language."""
    english = (translation.get_language() or "").lower().startswith("en")
    choices: list[tuple[str, str]] = [("", str(_("请选择")))]
    for code in rules.known_codes():
        try:
            version = rules.code_version(code, on=on)
        except ValidationFailed:  # not in force yet on that day: not offered
            continue
        choices.append((code, f"{code} {version.name_en if english else version.name_zh}"))
    return choices


# ---------------------------------------------------------------- citizens


class HandleForm(forms.Form):
    """Online handling (B16). Organisations name the driver by licence and archive number."""

    licence_number = _id_number(_("驾驶证号码"))
    archive_number = _text(_("档案编号"), max_length=12, autocomplete="off", inputmode="numeric")
    no_dispute = forms.BooleanField(
        label=_("对违法事实无异议"),
        error_messages={
            "required": _("请确认对违法事实无异议。如有异议，请在下方提出异议，或到违法处理窗口处理。")
        },
    )
    drove_self = forms.BooleanField(
        label=_("本人驾驶"),
        error_messages={
            "required": _(
                "只有本人驾驶的违法才能网上处理；非本人驾驶的，请携带驾驶人的驾驶证到违法处理窗口处理。"
            )
        },
    )
    expected_points = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args: Any, organisation: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        if organisation:
            self.fields["drove_self"].label = _("该驾驶人驾驶")
            self.fields["drove_self"].error_messages["required"] = _(
                "请确认是该驾驶人驾驶；驾驶人不明的，请到违法处理窗口处理。"
            )
            self.fields["licence_number"].help_text = _("实际驾驶人的驾驶证号码（即其身份证号码）。")
            self.fields["archive_number"].help_text = _("驾驶证上的12位档案编号。")
            del self.fields["expected_points"]
        else:
            del self.fields["licence_number"]
            del self.fields["archive_number"]


class DisputeForm(forms.Form):
    """A dispute (提出异议): the record then waits for a counter (V3)."""

    prefix = "dispute"

    reason = _area(_("异议理由"), max_length=500, rows=3)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = _("5至500个字，例如“该时段车辆停放在小区内，未上路行驶”。")


# ---------------------------------------------------------------- counter


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("号牌号码、违法记录编号或决定书编号"),
        max_length=32,
        required=False,
        strip=True,
        widget=forms.TextInput(
            attrs={"type": "search", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class OnSiteForm(forms.Form):
    """An on-site violation (现场违法), decided at once under the summary procedure."""

    prefix = "onsite"

    plate_number = _text(_("号牌号码"), max_length=16, autocapitalize="characters", spellcheck="false")
    plate_type = forms.ChoiceField(
        label=_("号牌种类"),
        choices=[(value, PLATE_TYPE_LABELS.get(value, label)) for value, label in PlateType.choices],
        initial=PlateType.SMALL.value,
        error_messages=INVALID_CHOICE,
    )
    licence_number = _id_number(_("驾驶证号码"))
    code = forms.ChoiceField(label=_("违法代码"), choices=[], error_messages=INVALID_CHOICE)
    occurred_at = _datetime(_("违法时间"))
    place = _text(_("违法地点"), max_length=100)
    division = _text(
        _("违法地行政区划代码"), max_length=6, required=False, inputmode="numeric", autocomplete="off"
    )
    fine_yuan = forms.DecimalField(
        label=_("罚款金额（元）"),
        required=False,
        min_value=Decimal("0"),
        max_digits=8,
        decimal_places=2,
        error_messages={"invalid": _("请填写金额，例如 200 或 200.50。")},
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    on_expressway = forms.BooleanField(label=_("发生在高速公路上"), required=False)
    confirm_full_score = forms.BooleanField(
        label=_("我已告知驾驶人：本次处理后驾驶证记满12分，将被扣留并须参加满分学习和考试。确认处理。"),
        required=False,
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].choices = code_choices(on=today)  # type: ignore[attr-defined]
        self.fields["licence_number"].help_text = _("驾驶人的驾驶证号码（即其身份证号码）。")
        self.fields["division"].help_text = _(
            "违法地点所在的县（区）代码，须在本人辖区内；不填为本人所在单位。"
        )
        self.fields["fine_yuan"].help_text = _("不填则按本省标准；代码1017须由民警在法定幅度内填写。")

    def fine_fen(self) -> int | None:
        amount = self.cleaned_data.get("fine_yuan")
        return None if amount is None else int((amount * 100).to_integral_value())


class CounterHandleForm(forms.Form):
    """Handle at the counter (窗口处理)."""

    prefix = "handle"

    licence_number = _id_number(_("驾驶证号码"))
    note = _area(_("处理说明"), max_length=255, required=False, rows=2)
    confirm_full_score = forms.BooleanField(
        label=_("我已告知驾驶人：本次处理后驾驶证记满12分，将被扣留并须参加满分学习和考试。确认处理。"),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["licence_number"].help_text = _("核验驾驶人证件后填写其驾驶证号码（即身份证号码）。")
        self.fields["note"].help_text = _("例如异议核查的结论，记入审计日志。")


class ReasonForm(forms.Form):
    """The reason on the confirmation page of an irreversible staff action (at least 4 characters)."""

    reason = _area(_("理由"), max_length=255, rows=3)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = _("至少4个字，记入审计日志。")
        self.fields["reason"].error_messages["required"] = _("请填写理由（至少4个字），理由记入审计日志。")

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        if len(reason) < REASON_MIN:
            raise forms.ValidationError(_("请填写理由（至少4个字），理由记入审计日志。"))
        return str(reason)


class CancelForm(ReasonForm):
    """Cancel a wrong record (撤销违法记录), confirmed on its own page with the reason."""

    prefix = "cancel"


class CounterPayForm(forms.Form):
    """Payment taken at the counter (窗口缴款): the receipt number, then the confirmation page's reason."""

    prefix = "pay"

    receipt_number = _text(_("票据号码"), max_length=32, autocomplete="off", spellcheck="false")


class CounterPayConfirmForm(ReasonForm):
    """The second step of taking a payment: the receipt number again (hidden) and the reason."""

    prefix = "pay"

    receipt_number = forms.CharField(max_length=32, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["receipt_number"].help_text = _("罚没款收据上的编号，6至32位字母、数字或连字符。")


class PaidElsewhereForm(forms.Form):
    """A payment made on another platform (bank, another province's platform)."""

    prefix = "other"

    platform = _text(_("缴款渠道"), max_length=40)
    reference = _text(_("缴款流水号"), max_length=32, autocomplete="off", spellcheck="false")
    paid_at = _datetime(_("缴款时间"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["platform"].help_text = _("例如“中国工商银行”“湖北省交管平台”。")
