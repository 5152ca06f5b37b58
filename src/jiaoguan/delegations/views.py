"""Pages of acting for others (issue 18): the same service and selector calls as the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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

from jiaoguan.accounts.forms import add_domain_error
from jiaoguan.core.access import access_required
from jiaoguan.core.divisions import division_name
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone
from jiaoguan.credentials import render as qr_render

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


def posted_id(value: str | None) -> int:
    """A posted record id, or 0 (no such record): only ASCII digits, as many as a bigint holds."""
    return int(value) if value and value.isascii() and value.isdigit() and len(value) <= 18 else 0


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
    try:
        revoker(request.user, posted_id(request.POST.get("id")), request.POST.get("reason", "")[:200])
    except DomainError as error:
        if error.status == 404:
            raise Http404("grant") from None
        messages.error(request, error.message)
        return redirect("delegations:mine")
    messages.success(request, _("已撤销。此前尚未受理的代办业务同时终止。"))
    return redirect("delegations:mine")


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
    try:
        services.entrustment_revoke(
            actor=request.user, entrustment_id=posted_id(request.POST.get("id")),
            reason=request.POST.get("reason", "")[:200],
        )  # fmt: skip
    except DomainError as error:
        if error.status == 404:
            raise Http404("entrustment") from None
        messages.error(request, error.message)
        return redirect("delegations:entrustments")
    messages.success(request, _("已撤销。该委托书二维码立即失效，窗口核查将不予受理。"))
    return redirect("delegations:entrustments")


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


# ---------------------------------------------------------------- filed vehicles (U7)


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
