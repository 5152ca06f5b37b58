"""Page forms for accident cases: they only parse input; every rule lives in ``accidents.services``.

Choices that depend on the case (the stages allowed now, the parties, the evidence items)
are set by the view when it builds the form; a refusal by a service is put next to the
field it names with :func:`jiaoguan.accounts.forms.add_domain_error`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MinLengthValidator
from django.utils.translation import gettext_lazy as _

from jiaoguan.accounts.forms import ID_TYPE_CHOICES, REQUIRED
from jiaoguan.accounts.forms import area_field as _area
from jiaoguan.accounts.forms import text_field as _text
from jiaoguan.core.divisions import DIVISIONS
from jiaoguan.registry.documents import IdDocumentType

from . import rules
from .documents import RESPONSIBILITY_LEVELS

INVALID_CHOICE = {**REQUIRED, "invalid_choice": _("请从列表中选择。")}

WEATHER_CHOICES = [
    ("", _("请选择")),
    ("晴", _("晴")),
    ("阴", _("阴")),
    ("雨", _("雨")),
    ("雪", _("雪")),
    ("雾", _("雾")),
    ("大风", _("大风")),
    ("其他", _("其他")),
]

EVIDENCE_KIND_LABELS = {
    rules.EvidenceKind.SCENE_DIAGRAM.value: _("现场图"),
    rules.EvidenceKind.PHOTOS.value: _("现场照片"),
    rules.EvidenceKind.SURVEY_RECORD.value: _("现场勘查笔录"),
    rules.EvidenceKind.INSPECTION_REPORT.value: _("检验报告"),
    rules.EvidenceKind.APPRAISAL_OPINION.value: _("鉴定意见"),
    rules.EvidenceKind.SIMULATION_RECORD.value: _("侦查实验笔录"),
    rules.EvidenceKind.INSURANCE_POLICY.value: _("保险单"),
    rules.EvidenceKind.LICENCE_COPY.value: _("驾驶证、行驶证复印件"),
}

CONFIDENTIALITY_LABELS = {
    rules.Confidentiality.NONE.value: _("不涉密，可网上查阅"),
    rules.Confidentiality.STATE_SECRET.value: _("涉及国家秘密"),
    rules.Confidentiality.TRADE_SECRET.value: _("涉及商业秘密"),
    rules.Confidentiality.PERSONAL_PRIVACY.value: _("涉及个人隐私"),
    rules.Confidentiality.WITNESS.value: _("证人要求保密"),
}

DOCUMENT_KIND_LABELS = {
    rules.DocumentKind.DETERMINATION.value: _("道路交通事故认定书"),
    rules.DocumentKind.CERTIFICATE.value: _("道路交通事故证明"),
    rules.DocumentKind.REVIEW_CONCLUSION.value: _("道路交通事故认定复核结论"),
}

# The values are what the service stores (A6); the labels follow the active language.
PERSON_TYPE_CHOICES = [("当事人", _("当事人")), ("近亲属", _("近亲属")), ("代理人", _("代理人"))]

APPLICANT_ROLE_CHOICES = [("owner", _("车辆所有人")), ("insurer", _("保险公司工作人员"))]

FILE_ERRORS = {"required": _("请选择要上传的文件。"), "empty": _("文件是空的，请重新选择。")}
FILE_ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"


def _date(label: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        error_messages={**REQUIRED, "invalid": _("请按 年-月-日 填写日期。")},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def _file(label: Any) -> forms.FileField:
    return forms.FileField(
        label=label, error_messages=FILE_ERRORS, widget=forms.FileInput(attrs={"accept": FILE_ACCEPT})
    )


def _accident_number() -> forms.CharField:
    return _text(
        _("事故编号"),
        max_length=64,
        autocomplete="off",
        autocapitalize="characters",
        spellcheck="false",
    )


# ---------------------------------------------------------------- officer


class CaseSearchForm(forms.Form):
    q = forms.CharField(
        label=_("事故编号"),
        max_length=64,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search"}),
    )


class CaseForm(forms.Form):
    """Open a general-procedure case (A1)."""

    occurred_at = forms.DateTimeField(
        label=_("事故时间"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        error_messages={**REQUIRED, "invalid": _("请填写事故发生的日期和时间。")},
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    place = _text(_("事故地点"), max_length=200)
    weather = forms.ChoiceField(
        label=_("天气"), choices=WEATHER_CHOICES, required=False, error_messages=INVALID_CHOICE
    )
    division = forms.ChoiceField(label=_("办案单位"), choices=[], error_messages=INVALID_CHOICE)
    summary = _area(_("简要案情（内部）"), max_length=2000, required=False, rows=4)

    def __init__(self, *args: Any, divisions: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any listed unit parses; whether it is inside the jurisdiction is the access table's to say.
        self.fields["division"].choices = [(code, code) for code in DIVISIONS]  # type: ignore[attr-defined]
        self.fields["division"].widget.choices = divisions  # type: ignore[attr-defined]
        self.fields["place"].help_text = _("写明道路名称、路段或交叉口，例如“解放大道与交通路交叉口”。")
        self.fields["summary"].help_text = _("仅民警可见，不向当事人公开。")


class PartyForm(forms.Form):
    """A party with their identity, vehicle and insurer; the query credential follows (A4)."""

    prefix = "party"

    label = _text(_("当事人序号"), max_length=8)
    name = _text(_("姓名"), max_length=64, autocomplete="off")
    id_type = forms.ChoiceField(
        label=_("证件类型"),
        choices=ID_TYPE_CHOICES,
        initial=IdDocumentType.RESIDENT_ID.value,
        error_messages=INVALID_CHOICE,
    )
    id_number = _text(
        _("证件号码"), max_length=64, autocomplete="off", autocapitalize="characters", spellcheck="false"
    )
    phone = _text(_("手机号码"), max_length=32, required=False, autocomplete="off", inputmode="tel")
    plate = _text(_("号牌号码"), max_length=16, required=False, autocapitalize="characters")
    insurer_uscc = _text(
        _("承保保险公司统一社会信用代码"), max_length=32, required=False, autocapitalize="characters"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["label"].help_text = _("甲、乙、丙……")
        self.fields["plate"].help_text = _("当事人驾驶的机动车，非机动车或行人不填。")
        self.fields["insurer_uscc"].help_text = _("18位代码，可不填。")


class StageForm(forms.Form):
    """Record the next stage (A2); only the stages allowed now are offered."""

    prefix = "stage"

    stage = forms.ChoiceField(label=_("处理阶段"), choices=[], error_messages=INVALID_CHOICE)
    happened_on = _date(_("日期"))
    public_note = _area(_("公开说明"), max_length=300, required=False, rows=2)
    internal_note = _area(_("内部备注"), max_length=2000, required=False, rows=2)

    def __init__(self, *args: Any, stages: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = stages  # type: ignore[attr-defined]
        self.fields["public_note"].help_text = _("当事人查询时可见，300字以内。")
        self.fields["internal_note"].help_text = _("仅民警可见。")


class DeterminationForm(forms.Form):
    """道路交通事故认定书 from the case data; one responsibility field per party (A3)."""

    prefix = "det"

    facts = _area(_("事故经过"), max_length=3000, rows=5)
    evidence = _area(_("证据材料"), max_length=2000, required=False, rows=3)

    def __init__(self, *args: Any, labels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        levels = [("", _("不认定")), *[(level, level) for level in RESPONSIBILITY_LEVELS]]
        self.labels = labels
        for index, label in enumerate(labels):
            self.fields[f"resp_{index}"] = forms.ChoiceField(
                label=_("当事人%(label)s的责任") % {"label": label},
                choices=levels,
                required=False,
                error_messages=INVALID_CHOICE,
            )

    def responsibility(self) -> list[tuple[str, str]]:
        return [
            (label, self.cleaned_data[f"resp_{index}"])
            for index, label in enumerate(self.labels)
            if self.cleaned_data.get(f"resp_{index}")
        ]


class CertificateForm(forms.Form):
    """道路交通事故证明, where the facts cannot be established (A3)."""

    prefix = "cert"

    facts = _area(_("事故基本事实"), max_length=3000, rows=5)


class ReviewConclusionForm(forms.Form):
    """道路交通事故认定复核结论 (A3)."""

    prefix = "conc"

    applicant = _text(_("复核申请人"), max_length=100)
    request_text = _area(_("复核请求"), max_length=2000, rows=3)
    conclusion = _area(_("复核结论"), max_length=3000, rows=4)


class DocumentUploadForm(forms.Form):
    """A scan of a document issued on paper (A3)."""

    prefix = "upload"

    kind = forms.ChoiceField(label=_("文书种类"), choices=[], error_messages=INVALID_CHOICE)
    number = _text(_("文书编号"), max_length=40)
    issued_on = _date(_("制作日期"))
    file = _file(_("扫描件"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = list(DOCUMENT_KIND_LABELS.items())  # type: ignore[attr-defined]
        self.fields["file"].help_text = _("PDF、JPEG或PNG，10MB以内。")


def _confirm(label: Any) -> forms.BooleanField:
    """The tick that confirms an irreversible step; the page says what cannot be undone."""
    return forms.BooleanField(label=label, error_messages={"required": _("请勾选确认后再提交。")})


class RevokeForm(forms.Form):
    """Revoke a query credential: the reason, then an explicit confirmation (A4)."""

    reason = _area(_("撤销原因"), max_length=200, rows=2)
    confirm = _confirm(_("我已核对，确认撤销。撤销后原查询码立即失效，不能恢复。"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].validators.append(MinLengthValidator(4, _("请至少填写4个字。")))
        self.fields["reason"].help_text = _("例如：当事人申请更换、查询码泄露。记入审计日志。")


class ReleaseForm(forms.Form):
    """Deliver a document (送达): how it was delivered, then an explicit confirmation (A3)."""

    reason = _area(_("送达说明"), max_length=500, rows=3)
    confirm = _confirm(_("我已核对文书内容，确认送达。送达后不能撤回。"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].validators.append(MinLengthValidator(4, _("请至少填写4个字。")))
        self.fields["reason"].help_text = _("例如：当面送达当事人甲、乙，已签收。记入审计日志。")


class CloseForm(forms.Form):
    """Close the case (事故结案, A2): date, closing summary, optional public note, confirmation."""

    closed_on = _date(_("结案日期"))
    summary = _area(_("结案说明"), max_length=500, rows=3)
    public_note = _area(_("公开说明"), max_length=300, required=False, rows=2)
    confirm = _confirm(_("我已核对，确认结案。结案后不能再登记处理阶段、文书或证据材料。"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["summary"].help_text = _("结案依据，例如调解结果、移送情况。仅民警可见，记入审计日志。")
        self.fields["public_note"].help_text = _("当事人查询时可见，300字以内，可不填。")


class DecisionForm(forms.Form):
    """Approve, or reject with the reason (applications, evidence reviews)."""

    decision = forms.ChoiceField(
        choices=[("approve", _("批准")), ("reject", _("不批准"))],
        error_messages={**REQUIRED, "invalid_choice": _("请选择批准或不批准。")},
    )
    note = _text(_("审核意见"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].help_text = _("不批准时必填，申请人会看到。")


class EvidenceItemForm(forms.Form):
    """An evidence item with its kind and confidentiality (A7)."""

    prefix = "item"

    kind = forms.ChoiceField(label=_("材料种类"), choices=[], error_messages=INVALID_CHOICE)
    title = _text(_("材料名称"), max_length=100)
    confidentiality = forms.ChoiceField(label=_("保密类别"), choices=[], error_messages=INVALID_CHOICE)
    file = _file(_("文件"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = list(EVIDENCE_KIND_LABELS.items())  # type: ignore[attr-defined]
        self.fields["confidentiality"].choices = list(CONFIDENTIALITY_LABELS.items())  # type: ignore[attr-defined]
        self.fields["confidentiality"].help_text = _(
            "涉及国家秘密、商业秘密、个人隐私或证人要求保密的材料永远不能网上查阅。"
        )
        self.fields["file"].help_text = _("PDF、JPEG或PNG，10MB以内。")


class ReviewOpenForm(forms.Form):
    """The applicant's identity for an evidence review, checked against the original (A6)."""

    prefix = "review"

    party = forms.TypedChoiceField(label=_("当事人"), choices=[], coerce=int, error_messages=INVALID_CHOICE)
    person_type = forms.ChoiceField(
        label=_("人员类别"), choices=PERSON_TYPE_CHOICES, error_messages=INVALID_CHOICE
    )
    id_type = forms.ChoiceField(
        label=_("证件类型"),
        choices=ID_TYPE_CHOICES,
        initial=IdDocumentType.RESIDENT_ID.value,
        error_messages=INVALID_CHOICE,
    )
    id_number = _text(
        _("证件号码"), max_length=64, autocomplete="off", autocapitalize="characters", spellcheck="false"
    )
    phone = _text(_("联系电话"), max_length=32, autocomplete="off", inputmode="tel")

    def __init__(self, *args: Any, parties: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["party"].choices = parties  # type: ignore[attr-defined]
        self.fields["id_number"].help_text = _("申请人本人的证件，已核对原件。")


class ItemsSelectForm(forms.Form):
    """The items to share; every item of the case is a choice so that the service decides (A7, A8)."""

    items = forms.TypedMultipleChoiceField(
        label=_("可查阅的材料"),
        choices=[],
        coerce=int,
        error_messages={"required": _("请至少勾选一项材料。"), "invalid_choice": _("请选择本案的证据材料。")},
    )

    def __init__(self, *args: Any, item_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = [(i, str(i)) for i in item_ids]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- public


class QueryForm(forms.Form):
    """Accident number plus query code, or the credential's QR (A5)."""

    accident_number = _accident_number()
    code = _text(
        _("查询码"), max_length=64, autocomplete="off", autocapitalize="characters", spellcheck="false"
    )
    qr_text = forms.CharField(
        label=_("或粘贴二维码内容"),
        required=False,
        max_length=8192,
        strip=True,
        widget=forms.Textarea(
            attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false", "class": "mono"}
        ),
    )
    qr_photo = forms.FileField(
        label=_("或上传二维码照片"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accident_number"].required = False
        self.fields["code"].required = False
        self.fields["accident_number"].help_text = _("查询凭证上的20位事故编号。")
        self.fields["code"].help_text = _("查询凭证上的12位查询码，短横线可不输入。")
        self.fields["qr_text"].help_text = _("以 AQ1: 开头，可用扫码软件读取查询凭证上的二维码后粘贴。")


class EvidenceAccessForm(forms.Form):
    """Accident number plus review code (A6)."""

    accident_number = _accident_number()
    code = _text(
        _("查阅码"), max_length=64, autocomplete="off", autocapitalize="characters", spellcheck="false"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = _("证据材料网上查阅凭证上的12位查阅码。")


class ApplyForm(forms.Form):
    """A vehicle owner's or an insurer's written application for a query credential (A4)."""

    accident_number = _accident_number()
    role = forms.ChoiceField(
        label=_("申请人身份"),
        choices=APPLICANT_ROLE_CHOICES,
        widget=forms.RadioSelect,
        error_messages=INVALID_CHOICE,
    )
    reason = _area(_("申请理由"), max_length=500, rows=4)
    document = _file(_("证明材料"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = _("写明与本事故的关系和查询目的，10到500字。")
        self.fields["document"].help_text = _(
            "车辆所有人上传行驶证或登记证书；保险公司上传保单或单位介绍信。PDF、JPEG或PNG，10MB以内。"
        )
