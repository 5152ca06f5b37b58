"""Pages of acting for others (issue 18): the same service and selector calls as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.core.access import access_required
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name

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


# ---------------------------------------------------------------- counter (O5 checks)
