"""Page forms for electronic credentials: they only parse input; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiaoguan.accounts.forms import REQUIRED

from .models import PaperMarkRequest

DELIVERY_CHOICES = [
    ("", _("不需要纸质标志")),
    (PaperMarkRequest.Delivery.POST.value, _("邮寄到家")),
    (PaperMarkRequest.Delivery.PICKUP.value, _("到车管所窗口自取")),
]


class ExemptApplyForm(forms.Form):
    """Online application for the inspection mark of an exempt vehicle (E2)."""

    delivery = forms.ChoiceField(
        label=_("纸质检验标志"),
        choices=DELIVERY_CHOICES,
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("请从列表中选择。")},
    )
    address = forms.CharField(
        label=_("邮寄地址"),
        max_length=200,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["address"].help_text = _("选择邮寄时必填，写到门牌号。")


class LicencePhotoForm(forms.Form):
    """The photo for the electronic driving licence (D1)."""

    photo = forms.FileField(
        label=_("本人照片"),
        error_messages={
            "required": _("请选择或拍摄一张照片。"),
            "empty": _("照片文件是空的，请重新拍摄。"),
        },
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png", "capture": "user"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photo"].help_text = _(
            "正面免冠、白色背景、光线均匀；JPEG或PNG格式，2MB以内，至少200×250像素。"
        )


class VerifyForm(forms.Form):
    """What a verifier gives: the QR text pasted or scanned, or a photo of the QR."""

    text = forms.CharField(
        label=_("二维码内容"),
        required=False,
        strip=True,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "class": "mono",
            }
        ),
    )
    photo = forms.FileField(
        label=_("或上传二维码照片"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp,.txt,text/plain"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any text at all gets an answer from the verifier, NUL characters included.
        self.fields["text"].validators = []
        self.fields["text"].help_text = _(
            "以 VI1: 或 DL1: 开头的一串字符，可用扫码枪或其他扫码软件读取后粘贴。"
        )
        self.fields["photo"].help_text = _("拍摄或截图均可，二维码要完整、清晰；也可上传下载的离线凭证文件。")


class PlateLookupForm(forms.Form):
    """Police check of a vehicle's inspection status by plate, without a credential (E4)."""

    plate = forms.CharField(
        label=_("号牌号码"),
        max_length=64,
        strip=True,
        error_messages=REQUIRED,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plate"].help_text = _("例如 豫Q12345、豫QD12345。")


class PhotoReviewForm(forms.Form):
    """Counter review of an application photo (D1): approve, or reject with the reason."""

    decision = forms.ChoiceField(
        choices=[("approve", _("通过")), ("reject", _("不通过"))],
        error_messages={**REQUIRED, "invalid_choice": _("请选择通过或不通过。")},
    )
    note = forms.CharField(
        label=_("审核意见"),
        max_length=200,
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].help_text = _("不通过时必填，写明原因和重拍要求，申请人会看到。")


class CredentialRevokeForm(forms.Form):
    """Back office: revoke an electronic credential, with the reason and an explicit confirmation."""

    reason = forms.CharField(
        label=_("撤销原因"),
        min_length=4,
        max_length=100,
        strip=True,
        error_messages={
            **REQUIRED,
            "min_length": _("请写明撤销原因，至少4个字。"),
            "max_length": _("撤销原因最多100字。"),
        },
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    confirm = forms.BooleanField(
        label=_("我已核对，确认撤销。撤销后该凭证立即失效，核验时显示“已撤销”，不能恢复。"),
        error_messages={"required": _("请勾选确认后再提交。")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = _("例如：手机遗失、驾驶证已被吊销。持有人会看到，记入审计日志。")


class TemporaryPlateForm(forms.Form):
    """A dealer's application for a new car's temporary plate (B18); the rules live in the services."""

    vin = forms.CharField(
        label=_("车辆识别代号（VIN）"), max_length=17, help_text=_("17位，见车辆合格证或铭牌。"),
        error_messages=REQUIRED,
    )  # fmt: skip
    brand_model = forms.CharField(label=_("品牌型号"), max_length=64, error_messages=REQUIRED)
    kind = forms.ChoiceField(label=_("车辆类型"), choices=(), error_messages=REQUIRED)
    buyer_name = forms.CharField(label=_("购车人（选填）"), max_length=100, required=False)
    days = forms.IntegerField(
        label=_("申领天数"), min_value=1, max_value=30, initial=30,
        help_text=_("最长30天，且不超过交强险止期。"),
        error_messages={
            **REQUIRED,
            "min_value": _("临时号牌有效期为1至30天。"),
            "max_value": _("临时号牌有效期为1至30天。"),
            "invalid": _("请填写天数。"),
        },
    )  # fmt: skip

    def __init__(self, *args: Any, kind_choices: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("请选择")), *(kind_choices or [])]  # type: ignore[attr-defined]
