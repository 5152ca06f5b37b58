"""Pages of acting for others (issue 18): the same service and selector calls as the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.accounts.forms import add_domain_error
from jiaoguan.core.access import access_required, can
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name
from jiaoguan.registry.models import PlateType

from . import rules, selectors, services
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


# ---------------------------------------------------------------- elderly proxy (O2, U6)


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
    filing_id = posted_id(request.POST.get("id"))
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
    try:
        services.filing_consent(
            actor=request.user, filing_id=posted_id(request.POST.get("id")), accept=accept
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404("filing") from None
        messages.error(request, error.message)
        return redirect("delegations:filings")
    messages.success(
        request, _("已同意备案。您可随时在“委托与代办”中撤销。") if accept else _("已拒绝备案。")
    )
    return redirect("delegations:filings")


@require_POST
@access_required(services.REVOKE)
def filing_withdraw(request: HttpRequest) -> HttpResponse:
    """The driver withdraws their own filing from this page (the owner does it on the principal's
    page): the mark is gone at once."""
    try:
        services.filing_withdraw(actor=request.user, filing_id=posted_id(request.POST.get("id")))
    except DomainError as error:
        if error.status == 404:
            raise Http404("filing") from None
        messages.error(request, error.message)
        return redirect("delegations:filings")
    messages.success(request, _("已撤销备案。"))
    return redirect("delegations:filings")


# ---------------------------------------------------------------- counter (O5 checks)
