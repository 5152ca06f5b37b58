"""Pages of acting for others (issue 18): the same service and selector calls as the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.accounts.forms import REQUIRED, add_domain_error, submit_form
from jiaoguan.core.access import access_required, can
from jiaoguan.core.divisions import division_name
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone, record_id
from jiaoguan.credentials import render as qr_render
from jiaoguan.registry.models import PlateType

from . import rules, selectors, services, tokens
from .models import DelegatedAction, Entrustment, ProxyAuthorisation, VehicleFiling

# ---------------------------------------------------------------- shared helpers


def english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def words(zh: str, en: str) -> str:
    return en if english() else zh


def label_words(label: Any) -> str:
    """The zh or en half of a "中文 english" choice label."""
    zh, _sep, en = str(label).partition(" ")
    return words(zh, en or zh)


def post_then_back(request: HttpRequest, call: Any, *, back: str, done: str, missing: str) -> HttpResponse:
    """Run a posted change and go back to ``back``: its success in ``done``, a refusal as the
    page's message, and a record that is not the actor's (or not there) as a 404."""
    try:
        call()
    except DomainError as error:
        if error.status == 404:
            raise Http404(missing) from None
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, done)
    return redirect(back)


def business_words(code: str) -> str:
    """An engine code (B8) or an entrustable code (vehicle.plate) in the reader's language."""
    if code in rules.ENTRUSTABLE:
        entry = rules.ENTRUSTABLE[code]
        return words(entry.name_zh, entry.name_en)
    if code in rules.PROXY_BUSINESSES:
        zh, en = rules.PROXY_BUSINESSES[code]
        return words(zh, en)
    return code


def action_row(action: DelegatedAction) -> dict[str, Any]:
    agent = action.agent_name or (action.agent_user.get_full_name() if action.agent_user else "")
    return {
        "action": action,
        "business": business_words(action.business_code),
        "channel": label_words(action.get_channel_display()),
        "outcome": label_words(action.get_outcome_display()),
        "grant": label_words(action.get_grant_display()),
        "agent": mask_name(agent) if agent else "",
        "note": words(action.note_zh, action.note_en or action.note_zh),
    }


# ---------------------------------------------------------------- the principal's page (all grants)


def _status_words(status: str) -> str:
    return {"valid": _("有效"), "not_yet": _("未生效"), "expired": _("已过期"), "revoked": _("已撤销")}[
        status
    ]


def _entrustment_row(view: selectors.GrantView, today: Any) -> dict[str, Any]:
    e: Entrustment = view.grant
    status = rules.entrustment_status(
        revoked=e.revoked_at is not None, valid_from=e.valid_from, valid_until=e.valid_until, today=today
    )
    return {
        "grant": e,
        "status": status,
        "status_words": _status_words(status),
        "agent": f"{mask_name(e.agent_name)}（{mask_id_number(e.agent_id_number)}）",
        "businesses": [business_words(code) for code in e.businesses],
        "revocable": status in ("valid", "not_yet"),
        "actions": [action_row(a) for a in view.actions],
    }


def _proxy_row(view: selectors.GrantView, actor: Any) -> dict[str, Any]:
    p: ProxyAuthorisation = view.grant
    live = p.state in (
        ProxyAuthorisation.State.AWAITING_AUTHENTICATION,
        ProxyAuthorisation.State.ACTIVE,
        ProxyAuthorisation.State.USED,
    )
    return {
        "grant": p,
        "as_elder": p.elder_id == getattr(actor, "person_id", None),
        "elder": mask_name(p.elder.name),
        "business": business_words(p.business_code),
        "state": label_words(p.get_state_display()),
        "revocable": live,
        "actions": [action_row(a) for a in view.actions],
    }


def _filing_row(view: selectors.GrantView, actor: Any) -> dict[str, Any]:
    f: VehicleFiling = view.grant
    return {
        "grant": f,
        "as_owner": f.driver_id != actor.pk,
        "plate": f.vehicle.plate_number,
        "state": label_words(f.get_state_display()),
        "revocable": f.state in (VehicleFiling.State.AWAITING_CONSENT, VehicleFiling.State.ACTIVE),
        "actions": [action_row(a) for a in view.actions],
    }


@never_cache
@access_required(selectors.VIEW)
def mine(request: HttpRequest) -> HttpResponse:
    """Every entrustment, proxy and filing that concerns me, what was done under each, and who
    acted for me (beside "who accessed my data")."""
    # A filing whose vehicle changed owner or whose consent window passed reads as lapsed (U7).
    services.filings_settle(
        driver_id=request.user.pk,
        owner_person_id=getattr(request.user, "person_id", None),
        owner_organisation_id=getattr(request.user, "organisation_id", None),
    )
    overview = selectors.principal_overview(actor=request.user)
    today = timezone.localdate()
    context = {
        "entrustments": [_entrustment_row(v, today) for v in overview["entrustments"]],
        "proxies": [_proxy_row(v, request.user) for v in overview["proxies"]],
        "filings": [_filing_row(v, request.user) for v in overview["filings"]],
        "acted": [action_row(a) for a in selectors.acted_for_me(actor=request.user)[: selectors.ACTED_LIMIT]],
    }
    return render(request, "delegations/mine.html", context)


_REVOKERS = {
    "entrustment": lambda actor, pk, reason: services.entrustment_revoke(
        actor=actor, entrustment_id=pk, reason=reason
    ),
    "proxy": lambda actor, pk, reason: services.proxy_revoke(actor=actor, proxy_id=pk, reason=reason),
    "filing": lambda actor, pk, reason: services.filing_withdraw(actor=actor, filing_id=pk, reason=reason),
}


@require_POST
@access_required(services.REVOKE)
def revoke(request: HttpRequest) -> HttpResponse:
    """Revoke an entrustment or proxy, or withdraw a filing, from the principal's page."""
    kind = request.POST.get("kind", "")
    revoker = _REVOKERS.get(kind)
    if revoker is None:
        raise Http404("grant")
    return post_then_back(
        request,
        lambda: revoker(request.user, record_id(request.POST.get("id")), request.POST.get("reason", "")[:200]),
        back="delegations:mine", done=_("已撤销。此前尚未受理的代办业务同时终止。"), missing="grant",
    )  # fmt: skip


# ---------------------------------------------------------------- online entrustment (O5)


class EntrustmentForm(forms.Form):
    """网上委托: the agent (ID number, name, mobile), the businesses and the dates (O5)."""

    agent_id_number = forms.CharField(
        label=gettext_lazy("被委托人身份证号码"), max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )  # fmt: skip
    agent_name = forms.CharField(
        label=gettext_lazy("被委托人姓名"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    agent_mobile = forms.CharField(
        label=gettext_lazy("被委托人手机号码"), max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
        help_text=gettext_lazy("被委托人将收到短信通知。"),
    )  # fmt: skip
    businesses = forms.MultipleChoiceField(
        choices=[(code, code) for code in rules.ENTRUSTABLE], required=False
    )
    valid_from = forms.DateField(
        label=gettext_lazy("有效期起"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    valid_until = forms.DateField(
        label=gettext_lazy("有效期止"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("单次委托有效期不超过30日。"),
    )  # fmt: skip
    purpose = forms.ChoiceField(choices=[(p, p) for p in rules.ENTRUSTMENT_PURPOSES], initial="ordinary")


def _business_groups(checked: Any) -> list[dict[str, Any]]:
    """The entrustable businesses as two groups of checkboxes, vehicle and licence (seed order)."""
    chosen = set(checked or [])
    groups = []
    for area, legend in (("vehicle", _("机动车业务")), ("licence", _("驾驶证业务"))):
        items = [
            {"code": e.code, "label": words(e.name_zh, e.name_en), "checked": e.code in chosen,
             "abroad": e.code in rules.ABROAD_ENTRUSTABLE}
            for e in rules.ENTRUSTABLE.values() if e.area == area
        ]  # fmt: skip
        groups.append({"area": area, "legend": legend, "items": items})
    return groups


def _qr(entrustment: Entrustment, label: str) -> str:
    """The entrustment's QR as inline SVG, or "" when it is not in force or cannot be signed now."""
    try:
        token = tokens.entrustment_token(entrustment=entrustment)
    except DomainError:
        return ""
    return qr_render.qr_svg(token.text, scale=3, label=label)


def _my_entrustment_row(e: Entrustment, today: Any, actions: list[DelegatedAction]) -> dict[str, Any]:
    status = tokens.entrustment_state(e, today=today)
    live = status in ("valid", "not_yet")
    return {
        "grant": e,
        "status": status,
        "status_words": _status_words(status),
        "agent": f"{mask_name(e.agent_name)} {mask_id_number(e.agent_id_number)}",
        "mobile": mask_phone(e.agent_mobile),
        "businesses": [business_words(code) for code in e.businesses],
        "abroad": e.purpose == Entrustment.Purpose.ABROAD,
        "revocable": live,
        "qr": _qr(e, _("网上委托书二维码")) if live else "",
        "actions": [action_row(a) for a in actions],
    }


def _to_me_row(e: Entrustment, today: Any) -> dict[str, Any]:
    status = tokens.entrustment_state(e, today=today)
    live = status in ("valid", "not_yet")
    return {
        "grant": e,
        "status": status,
        "status_words": _status_words(status),
        "principal": f"{mask_name(e.principal_person.name)} {mask_id_number(e.principal_person.id_number)}",
        "businesses": [business_words(code) for code in e.businesses],
        "abroad": e.purpose == Entrustment.Purpose.ABROAD,
        "qr": _qr(e, _("网上委托书二维码")) if live else "",
    }


def _render_entrustments(request: HttpRequest, form: EntrustmentForm, status: int = 200) -> HttpResponse:
    today = timezone.localdate()
    mine_views = selectors._with_actions(
        "entrustment",
        list(selectors.entrustments_of_principal(actor=request.user)[: selectors.ENTRUSTMENTS_SHOWN]),
    )
    to_me = list(selectors.entrustments_for_agent(actor=request.user)[: selectors.ENTRUSTMENTS_SHOWN])
    checked = request.POST.getlist("businesses") if form.is_bound else []
    context = {
        "form": form,
        "groups": _business_groups(checked),
        "purpose": (form.data.get("purpose") if form.is_bound else "") or "ordinary",
        "mine": [_my_entrustment_row(v.grant, today, v.actions) for v in mine_views],
        "to_me": [_to_me_row(e, today) for e in to_me],
        "max_days": rules.ENTRUSTMENT_MAX_DAYS,
    }
    return render(request, "delegations/entrustments.html", context, status=status)


_ENTRUST_FIELDS = {"id_number": "agent_id_number", "mobile": "agent_mobile"}


@never_cache
@access_required(services.ENTRUST)
def entrustments(request: HttpRequest) -> HttpResponse:
    """网上委托: entrust someone (O5), my entrustments with their QR and revocation, and the ones
    naming me as the agent ("委托给我的")."""
    if request.method != "POST":
        today = timezone.localdate()
        initial = {
            "valid_from": today,
            "valid_until": today + timedelta(days=rules.ENTRUSTMENT_MAX_DAYS - 1),
            "purpose": "ordinary",
        }
        return _render_entrustments(request, EntrustmentForm(initial=initial))
    form = EntrustmentForm(request.POST)
    if not form.is_valid():
        return _render_entrustments(request, form, status=422)
    data = form.cleaned_data
    try:
        created = services.entrustment_create(
            actor=request.user, agent_id_number=data["agent_id_number"], agent_name=data["agent_name"],
            agent_mobile=data["agent_mobile"], businesses=list(data["businesses"]), valid_from=data["valid_from"],
            valid_until=data["valid_until"], purpose=data["purpose"],
        )  # fmt: skip
    except DomainError as error:
        add_domain_error(form, error, _ENTRUST_FIELDS)
        return _render_entrustments(request, form, status=error.status)
    messages.success(request, _("已委托。被委托人将收到短信，办理时出示委托书二维码和本人身份证件。"))
    return redirect(f"{reverse('delegations:entrustments')}#entrustment-{created.pk}")


@require_POST
@access_required(services.REVOKE)
def entrustment_revoke(request: HttpRequest) -> HttpResponse:
    """Revoke one of my entrustments from the 网上委托 page (services.entrustment_revoke)."""
    return post_then_back(
        request,
        lambda: services.entrustment_revoke(
            actor=request.user, entrustment_id=record_id(request.POST.get("id")),
            reason=request.POST.get("reason", "")[:200],
        ),
        back="delegations:entrustments", done=_("已撤销。该委托书二维码立即失效，窗口核查将不予受理。"),
        missing="entrustment",
    )  # fmt: skip


def _issuer() -> str:
    try:
        office = division_name(settings.JIAOGUAN_JURISDICTION)
    except Exception:  # an unlisted code still prints something sensible
        office = settings.JIAOGUAN_JURISDICTION
    return f"{office}公安局交通警察支队"


def _pdf_rows(e: Entrustment) -> list[tuple[str, str]]:
    with translation.override("zh-hans"):
        names = "、".join(business_words(code) for code in e.businesses)
    return [
        ("委托人", f"{mask_name(e.principal_person.name)} {mask_id_number(e.principal_person.id_number)}"),
        ("被委托人", f"{mask_name(e.agent_name)} {mask_id_number(e.agent_id_number)}"),
        ("委托类型", "出国（境）人员委托" if e.purpose == Entrustment.Purpose.ABROAD else "网上委托"),
        ("委托事项", names),
    ]


@never_cache
@access_required(selectors.VIEW)
def entrustment_print(request: HttpRequest, entrustment_id: int) -> HttpResponse:
    """The printable entrustment (电子委托书, PDF): the principal's or the agent's, with its QR, which
    the counter scans or anyone checks at /verify/."""
    entrustment = selectors.entrustment_for_display(actor=request.user, entrustment_id=entrustment_id)
    if entrustment is None:
        raise Http404("entrustment")
    try:
        token = tokens.entrustment_token(entrustment=entrustment)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("delegations:entrustments")
    verify_url = request.build_absolute_uri(reverse("credentials:verify"))
    rows = _pdf_rows(entrustment)
    pdf_args: dict[str, Any] = {
        "title_zh": tokens.ENTRUSTMENT.name_zh, "title_en": tokens.ENTRUSTMENT.name_en,
        "number": f"EN{entrustment.pk}", "qr_text": token.text,
        "validity": f"有效期 {entrustment.valid_from:%Y-%m-%d} 至 {entrustment.valid_until:%Y-%m-%d}",
        "issuer": _issuer(),
        "note": f"办理时被委托人须出示本人身份证件。委托人可随时撤销。凭二维码核验：{verify_url}",
    }  # fmt: skip
    try:
        pdf = qr_render.credential_pdf(rows=rows, **pdf_args)
    except ValueError:  # many long business names: name how many, the QR carries them all
        rows[-1] = ("委托事项", f"共{len(entrustment.businesses)}项（见二维码核验结果）")
        pdf = qr_render.credential_pdf(rows=rows, **pdf_args)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="entrustment-{entrustment.pk}.pdf"'
    return response


# ---------------------------------------------------------------- elderly proxy (O2, U6)


_PROXY_FILE_ACCEPT = "image/jpeg,image/png,application/pdf,.jpg,.jpeg,.png,.pdf"


class ProxyStartForm(forms.Form):
    """老年人代办: whom, how related, which one business, and the elderly person's ID card."""

    elder_id_number = forms.CharField(
        label=gettext_lazy("老人身份证号码"), max_length=18, error_messages=REQUIRED,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )  # fmt: skip
    elder_name = forms.CharField(
        label=gettext_lazy("老人姓名"), max_length=64, error_messages=REQUIRED,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )  # fmt: skip
    relationship = forms.ChoiceField(
        label=gettext_lazy("您与老人的关系"),
        choices=[],
        error_messages={**REQUIRED, "invalid_choice": gettext_lazy("请从列表中选择。")},
    )
    business_code = forms.ChoiceField(
        label=gettext_lazy("代办业务（一次代办仅限一项业务）"), choices=[],
        error_messages={**REQUIRED, "invalid_choice": gettext_lazy("请从列表中选择。")},
    )  # fmt: skip
    id_card = forms.FileField(
        label=gettext_lazy("老人身份证照片"), help_text=gettext_lazy("JPEG、PNG 或 PDF，不超过 2 MB。"),
        error_messages={**REQUIRED, "invalid": gettext_lazy("请选择要上传的文件。"), "empty": gettext_lazy("文件为空，请重新选择文件上传。")},
        widget=forms.ClearableFileInput(attrs={"accept": _PROXY_FILE_ACCEPT}),
    )  # fmt: skip

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        relationship = cast(forms.ChoiceField, self.fields["relationship"])
        relationship.choices = [("", _("请选择"))] + [
            (value, label_words(label)) for value, label in ProxyAuthorisation.Relationship.choices
        ]
        business = cast(forms.ChoiceField, self.fields["business_code"])
        business.choices = [("", _("请选择"))] + [
            (code, business_words(code)) for code in rules.PROXY_BUSINESSES
        ]


class ProxyCaptureForm(forms.Form):
    """实人认证: a picture of the elderly person taken now with the phone's front camera."""

    capture = forms.FileField(
        label=gettext_lazy("拍摄老人本人正面照片"),
        help_text=gettext_lazy("请老人本人正对镜头，光线充足，不要翻拍照片。"),
        error_messages={
            **REQUIRED,
            "invalid": gettext_lazy("请拍摄照片。"),
            "empty": gettext_lazy("照片为空，请重新拍摄。"),
        },
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "user"}),
    )


def _read_upload(upload: Any, limit: int) -> tuple[bytes, str]:
    if upload is None:
        return b"", ""
    upload.seek(0)
    return upload.read(limit + 1), upload.name or ""


def _proxy_state_words(proxy: ProxyAuthorisation, today: Any) -> str:
    if proxy.state in ProxyAuthorisation.LIVE_STATES[:2] and proxy.valid_until < today:
        return _("已过期")
    return label_words(proxy.get_state_display())


@never_cache
@access_required(selectors.PROXY_CREATE)
def proxies(request: HttpRequest) -> HttpResponse:
    """老年人代办: my proxy authorisations (as the relative) and the form to start one (O2)."""
    form = ProxyStartForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        content, name = _read_upload(data["id_card"], services.ID_CARD_MAX_BYTES)
        proxy = submit_form(
            form,
            lambda: services.proxy_create(
                actor=request.user, elder_id_number=data["elder_id_number"], elder_name=data["elder_name"],
                relationship=data["relationship"], business_code=data["business_code"], id_card=content,
                id_card_content_type=getattr(data["id_card"], "content_type", "") or "", id_card_filename=name,
            ),
            {"file": "id_card"},
        )  # fmt: skip
        if proxy is not None:
            messages.success(request, _("已提交代办申请，请为老人进行实人认证。"))
            return redirect("delegations:proxy", proxy_id=proxy.pk)
    today = timezone.localdate()
    rows = [
        {
            "proxy": p, "elder": mask_name(p.elder.name), "business": business_words(p.business_code),
            "state": _proxy_state_words(p, today),
        }
        for p in selectors.proxies_of_relative(actor=request.user)[:50]
    ]  # fmt: skip
    status = 400 if request.method == "POST" else 200
    return render(request, "delegations/proxies.html", {"form": form, "rows": rows}, status=status)


def _proxy_or_404(request: HttpRequest, proxy_id: int) -> ProxyAuthorisation:
    try:
        return selectors.proxy_of_relative(actor=request.user, proxy_id=proxy_id)
    except DomainError:
        raise Http404("proxy") from None


def _proxy_apply_form(proxy: ProxyAuthorisation, data: Any = None, files: Any = None) -> Any:
    from jiaoguan.applications import catalogue
    from jiaoguan.applications.forms import ApplyForm

    entry = catalogue.entry(proxy.business_code)
    elder = proxy.elder
    initial = {}
    if entry.delivers:
        initial = {
            "delivery_method": catalogue.Delivery.POST.value, "recipient_name": elder.name,
            "recipient_phone": elder.mobile, "address_division": elder.residence_division,
        }  # fmt: skip
    return ApplyForm(data, files, initial=initial, entry=entry)


def _proxy_page(
    request: HttpRequest, proxy: ProxyAuthorisation, *, capture_form: Any = None, apply_form: Any = None,
    status: int = 200,
) -> HttpResponse:  # fmt: skip
    from jiaoguan.applications import eligibility
    from jiaoguan.applications.models import Application

    today = timezone.localdate()
    lapsed = proxy.valid_until < today and proxy.state in ProxyAuthorisation.LIVE_STATES[:2]
    context: dict[str, Any] = {
        "proxy": proxy, "elder": mask_name(proxy.elder.name), "business": business_words(proxy.business_code),
        "state": _proxy_state_words(proxy, today), "lapsed": lapsed,
        "attempts_left": max(0, services.PROXY_MAX_AUTH_ATTEMPTS - proxy.authentication_attempts),
    }  # fmt: skip
    if proxy.authentication_reason and proxy.state == ProxyAuthorisation.State.AWAITING_AUTHENTICATION:
        context["auth_reason"] = words(*services.auth_reason_words(proxy.authentication_reason))
    if proxy.state == ProxyAuthorisation.State.AWAITING_AUTHENTICATION and not lapsed:
        context["capture_form"] = capture_form or ProxyCaptureForm()
    if proxy.state == ProxyAuthorisation.State.ACTIVE and not lapsed:
        answer = eligibility.business_eligibility(
            actor=request.user, business_code=proxy.business_code, today=today, person_id=proxy.elder_id
        )
        form = apply_form or _proxy_apply_form(proxy)
        context.update(
            answer=answer, reason=words(answer.reason_zh, answer.reason_en),
            remedy=words(answer.remedy_zh, answer.remedy_en), apply_form=form,
            material_fields=form.material_fields(), licence=selectors.proxy_licence(proxy),
            vehicles=selectors.proxy_vehicles(proxy) if form.entry.needs_vehicle else [],
        )  # fmt: skip
    if proxy.application_number:
        context["application"] = Application.objects.filter(number=proxy.application_number).first()
    response = render(request, "delegations/proxy.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@access_required(selectors.PROXY_CREATE)
def proxy(request: HttpRequest, proxy_id: int) -> HttpResponse:
    """One proxy: the elderly person's real-person authentication, then the one business."""
    return _proxy_page(request, _proxy_or_404(request, proxy_id))


@require_POST
@access_required(selectors.PROXY_CREATE)
def proxy_authentication(request: HttpRequest, proxy_id: int) -> HttpResponse:
    """实人认证 of the elderly person with the picture just taken (U6)."""
    found = _proxy_or_404(request, proxy_id)
    form = ProxyCaptureForm(request.POST, request.FILES)
    if not form.is_valid():
        return _proxy_page(request, found, capture_form=form, status=400)
    content, _name = _read_upload(form.cleaned_data["capture"], services.CAPTURE_MAX_BYTES)
    result = submit_form(
        form, lambda: services.proxy_authenticate(actor=request.user, proxy_id=found.pk, capture=content)
    )
    if result is None:
        found.refresh_from_db()
        return _proxy_page(request, found, capture_form=form, status=400)
    if result.state == ProxyAuthorisation.State.ACTIVE:
        messages.success(request, _("实人认证通过，请填写代办业务申请。"))
    else:
        messages.error(request, words(*services.auth_reason_words(result.authentication_reason)))
    return redirect("delegations:proxy", proxy_id=found.pk)


@require_POST
@access_required(services.PROXY_ACT)
def proxy_application(request: HttpRequest, proxy_id: int) -> HttpResponse:
    """The one business, applied for on the elderly person's behalf through the applications engine."""
    from jiaoguan.applications.forms import APPLY_FIELDS
    from jiaoguan.applications.services import MATERIAL_MAX_BYTES, DeliveryInput, MaterialInput

    found = _proxy_or_404(request, proxy_id)
    form = _proxy_apply_form(found, request.POST, request.FILES)
    if not form.is_valid():
        return _proxy_page(request, found, apply_form=form, status=400)
    data = form.cleaned_data
    files = []
    for kind, _field, upload in form.material_files():
        content, name = _read_upload(upload, MATERIAL_MAX_BYTES)
        files.append(MaterialInput(kind=kind, content=content, filename=name))
    licence = selectors.proxy_licence(found) if form.entry.needs_licence else None
    delivery = DeliveryInput(
        method=data.get("delivery_method", ""), recipient_name=data.get("recipient_name", ""),
        recipient_phone=data.get("recipient_phone", ""), address_division=data.get("address_division", ""),
        address_line=data.get("address_line", ""),
    )  # fmt: skip
    vehicle_id = record_id(request.POST.get("vehicle_id")) or None if form.entry.needs_vehicle else None
    app = submit_form(
        form,
        lambda: services.proxy_application_submit(
            actor=request.user, proxy_id=found.pk, business_code=request.POST.get("business_code", ""),
            licence_id=licence.pk if licence is not None else None, vehicle_id=vehicle_id, delivery=delivery,
            particulars=form.particulars(), note=data.get("note", ""), materials=tuple(files),
        ),
        {**APPLY_FIELDS, "file": "photo"},
    )  # fmt: skip
    if app is None:
        found.refresh_from_db()
        return _proxy_page(request, found, apply_form=form, status=400)
    messages.success(request, _("已代老人提交申请，申请编号 %(number)s。") % {"number": app.number})
    return redirect("applications:detail", application_id=app.pk)


@never_cache
@access_required(selectors.PROXY_VIEW)
def counter_proxies(request: HttpRequest) -> HttpResponse:
    """老年人代办 for the DMV: the proxies of the jurisdiction's elderly people with their real-person
    authentication outcomes, masked; the read is audited (U6)."""
    state = request.GET.get("state", "")[:16]
    rows = [
        {
            "proxy": p, "elder": mask_name(p.elder.name), "elder_id": mask_id_number(p.elder.id_number),
            "relative": mask_name(services.relative_name(p.relative)), "business": business_words(p.business_code),
            "state": label_words(p.get_state_display()),
            "reason": words(*services.auth_reason_words(p.authentication_reason)) if p.authentication_reason else "",
        }
        for p in selectors.proxies_in_jurisdiction(actor=request.user, state=state, request=request)
    ]  # fmt: skip
    states = [(value, label_words(label)) for value, label in ProxyAuthorisation.State.choices]
    return render(
        request, "delegations/counter_proxies.html", {"rows": rows, "states": states, "state": state}
    )


# ---------------------------------------------------------------- filed vehicles (U7)


class FilingForm(forms.Form):
    """Name the vehicle to file (备案): plate number, plate type and the VIN's last six characters."""

    plate_number = forms.CharField(
        label=gettext_lazy("号牌号码"),
        max_length=12,
        help_text=gettext_lazy("例如：豫Q12345。"),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    plate_type = forms.ChoiceField(label=gettext_lazy("号牌种类"), choices=[], initial=PlateType.SMALL)
    vin_tail = forms.CharField(
        label=gettext_lazy("车辆识别代号后六位"),
        max_length=6,
        min_length=6,
        help_text=gettext_lazy("见车主的机动车行驶证。"),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["plate_type"]
        field.choices = [(c.value, label_words(c.label.split(" ", 1)[1])) for c in PlateType]


def _filing_state_words(filing: VehicleFiling) -> str:
    return label_words(filing.get_state_display())


def _driver_filing_row(filing: VehicleFiling) -> dict[str, Any]:
    awaiting = filing.state == VehicleFiling.State.AWAITING_CONSENT
    return {
        "filing": filing,
        "plate": filing.vehicle.plate_number,
        "plate_type": label_words(PlateType(filing.vehicle.plate_type).label.split(" ", 1)[1])
        if filing.vehicle.plate_type in PlateType.values
        else filing.vehicle.plate_type,
        "state": _filing_state_words(filing),
        "takes_code": awaiting and bool(filing.code_hash),
        "withdrawable": filing.state in services.FILING_LIVE,
        "end_reason": filing.end_reason,
    }


def _owner_filing_row(filing: VehicleFiling) -> dict[str, Any]:
    driver = filing.driver
    person = getattr(driver, "person", None)
    name = (person.name if person is not None else "") or driver.get_full_name()
    return {"filing": filing, "plate": filing.vehicle.plate_number, "driver": mask_name(name) if name else ""}


def _render_filings(
    request: HttpRequest,
    *,
    form: FilingForm | None = None,
    code_error: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    services.filings_settle(
        driver_id=user.pk,
        owner_person_id=getattr(user, "person_id", None),
        owner_organisation_id=getattr(user, "organisation_id", None),
    )
    may_file = can(user, services.FILING_REQUEST)
    context = {
        "may_file": may_file,
        "form": form or (FilingForm() if may_file else None),
        "mine": [_driver_filing_row(f) for f in selectors.filings_as_driver(actor=user)[:50]]
        if may_file
        else [],
        "awaiting": [_owner_filing_row(f) for f in selectors.filings_awaiting_my_consent(actor=user)[:50]],
        "code_error": code_error or {},
        "code_minutes": rules.FILING_CODE_MINUTES,
        "consent_days": rules.FILING_CONSENT_DAYS,
    }
    return render(request, "delegations/filings.html", context, status=status)


@never_cache
@access_required(selectors.VIEW)
def filings(request: HttpRequest) -> HttpResponse:
    """Filed vehicles (备案车辆, U7): file a vehicle I drive, enter the owner's code, and agree to
    or refuse the filings of my own vehicles."""
    return _render_filings(request)


@require_POST
@access_required(services.FILING_REQUEST)
def filing_request(request: HttpRequest) -> HttpResponse:
    form = FilingForm(request.POST)
    if not form.is_valid():
        return _render_filings(request, form=form, status=400)
    data = form.cleaned_data
    try:
        services.filing_request(
            actor=request.user, plate_number=data["plate_number"], plate_type=data["plate_type"],
            vin_tail=data["vin_tail"],
        )  # fmt: skip
    except DomainError as error:
        add_domain_error(form, error)
        response = _render_filings(request, form=form, status=error.status)
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            response["Retry-After"] = str(retry_after)
        return response
    messages.success(
        request,
        _("已提交备案申请，并已短信通知车主。车主可在本人账户中同意，或把短信验证码告诉您，由您在下方输入。"),
    )
    return redirect("delegations:filings")


@require_POST
@access_required(services.FILING_REQUEST)
def filing_code(request: HttpRequest) -> HttpResponse:
    """The driver types the code the owner gave them (the owner's SMS consent)."""
    filing_id = record_id(request.POST.get("id"))
    try:
        services.filing_consent_by_code(
            actor=request.user, filing_id=filing_id, code=request.POST.get("code", "")[:12]
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404("filing") from None
        return _render_filings(request, code_error={filing_id: error.message}, status=error.status)
    messages.success(request, _("备案已生效，可在电子证照中出示该车的电子检验标志。"))
    return redirect("delegations:filings")


@require_POST
@access_required(services.FILING_CONSENT)
def filing_consent(request: HttpRequest) -> HttpResponse:
    """The owner agrees to or refuses a filing of their vehicle."""
    accept = request.POST.get("decision") == "accept"
    return post_then_back(
        request,
        lambda: services.filing_consent(
            actor=request.user, filing_id=record_id(request.POST.get("id")), accept=accept
        ),
        back="delegations:filings",
        done=_("已同意备案。您可随时在“委托与代办”中撤销。") if accept else _("已拒绝备案。"),
        missing="filing",
    )


@require_POST
@access_required(services.REVOKE)
def filing_withdraw(request: HttpRequest) -> HttpResponse:
    """The driver withdraws their own filing from this page (the owner does it on the principal's
    page): the mark is gone at once."""
    return post_then_back(
        request,
        lambda: services.filing_withdraw(actor=request.user, filing_id=record_id(request.POST.get("id"))),
        back="delegations:filings", done=_("已撤销备案。"), missing="filing",
    )  # fmt: skip


# ---------------------------------------------------------------- counter (O5 checks)


class CounterCheckForm(forms.Form):
    """The counter's check of an entrustment: the QR (a scanner types into the field) or the
    principal's ID number, the agent present, and the business being done (O5)."""

    token_or_id = forms.CharField(
        label=gettext_lazy("扫描委托书二维码或输入委托人身份证号码"), max_length=4096,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autofocus": True}),
    )  # fmt: skip
    agent_id_number = forms.CharField(
        label=gettext_lazy("实际办理人身份证号码"), max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )  # fmt: skip
    agent_name = forms.CharField(
        label=gettext_lazy("实际办理人姓名（按身份证）"), max_length=64, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )  # fmt: skip
    business = forms.ChoiceField(label=gettext_lazy("办理业务"), choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["business"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("请选择"))] + [
            (e.code, words(e.name_zh, e.name_en)) for e in rules.ENTRUSTABLE.values()
        ]


_CHECK_FIELDS = {"id_number": "agent_id_number"}


@never_cache
@access_required(services.CHECK)
def counter_entrustments(request: HttpRequest) -> HttpResponse:
    """网上委托核查 (O5; seed 004 §九 二): the clerk scans the entrustment's QR or looks it up by the
    principal's ID number, and checks the agent present and the business. A principal who comes in
    person needs no entrustment, and paper entrustments stay accepted."""
    result = None
    status = 200
    if request.method == "POST" and request.POST.get("in_person"):
        messages.info(request, _("委托人本人到场办理，无需核查委托，未作记录。"))
        return redirect("delegations:counter_entrustments")
    form = CounterCheckForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                check = services.entrustment_check_at_counter(
                    actor=request.user, token_or_id=data["token_or_id"], agent_id_number=data["agent_id_number"],
                    business=data["business"], agent_name=data["agent_name"], request=request,
                )  # fmt: skip
            except DomainError as error:
                add_domain_error(form, error, _CHECK_FIELDS)
                status = error.status
            else:
                e = check.entrustment
                result = {
                    "check": check,
                    "ok": check.outcome == "done",
                    "principal": f"{mask_name(e.principal_person.name)} {mask_id_number(e.principal_person.id_number)}",
                    "agent": f"{mask_name(e.agent_name)} {mask_id_number(e.agent_id_number)}",
                    "businesses": [business_words(code) for code in e.businesses],
                    "business": business_words(data["business"]),
                    "needs_new": check.reason in ("agent_mismatch", "business_mismatch"),
                }  # fmt: skip
                status = 200
                form = CounterCheckForm()
    return render(
        request, "delegations/counter_entrustments.html", {"form": form, "result": result}, status=status
    )
