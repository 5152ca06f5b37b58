"""Pages of the military licence exchange (退役军人换证, O3): the applicant's page and the counter's
two queues (acceptance; suspect review). The same service and selector calls as the API."""

from __future__ import annotations

from datetime import date
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
from jiaoguan.core.access import access_required
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name, record_id
from jiaoguan.registry import military_licence_rules as mrules

from . import selectors, services
from .api import mask_military
from .models import ExchangeCase

CHECK_REASONS: dict[str, tuple[str, str]] = {
    "not_found": ("军队驾驶证信息系统中没有该证", "No such licence in the military registry"),
    "holder_mismatch": ("持证人信息不一致", "The holder does not match"),
    "revoked": ("该军队驾驶证已被注销", "The military licence was revoked"),
    "already_exchanged": ("该军队驾驶证已换领过地方驾驶证", "The military licence was already exchanged"),
}


def _words(zh: str, en: str) -> str:
    return en if (translation.get_language() or "").lower().startswith("en") else zh


def _label(label: Any) -> str:
    zh, _sep, en = str(label).partition(" ")
    return _words(zh, en or zh)


def _added_words(rows: list[list[str]]) -> str:
    return "、".join(f"{code}（{on}）" for code, on in rows)


# ---------------------------------------------------------------- the applicant's page


class ApplyForm(forms.Form):
    military_number = forms.CharField(
        label=gettext_lazy("军队（武警）驾驶证号"), max_length=24,
        help_text=gettext_lazy("两位字母字头加数字，如 JW12345678。"),
    )  # fmt: skip
    classes = forms.CharField(
        label=gettext_lazy("准驾车型"), max_length=24, help_text=gettext_lazy("如 B1、A2D。")
    )
    first_issued_on = forms.DateField(
        label=gettext_lazy("军队（武警）驾驶证初次领证日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    added_1_classes = forms.CharField(label=gettext_lazy("增驾车型（一）"), max_length=8, required=False)
    added_1_on = forms.DateField(
        label=gettext_lazy("增驾时间（一）"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    added_2_classes = forms.CharField(label=gettext_lazy("增驾车型（二）"), max_length=8, required=False)
    added_2_on = forms.DateField(
        label=gettext_lazy("增驾时间（二）"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    exchanged_before = forms.BooleanField(
        label=gettext_lazy("2021年6月1日前已换领地方驾驶证，仅申请备注军队驾龄"), required=False
    )
    earlier_exchanged_on = forms.DateField(
        label=gettext_lazy("原换领地方驾驶证日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def added(self) -> list[tuple[str, date | None]]:
        rows = []
        for n in (1, 2):
            code = (self.cleaned_data.get(f"added_{n}_classes") or "").strip()
            on = self.cleaned_data.get(f"added_{n}_on")
            if code or on:
                rows.append((code, on))
        return rows


def _case_row(case: ExchangeCase) -> dict[str, Any]:
    reason = CHECK_REASONS.get(case.check_reason)
    return {
        "c": case,
        "state": _label(case.get_state_display()),
        "path": _label(case.get_path_display()),
        "number": mask_military(case.military_number),
        "added": _added_words(case.added),
        "check": _label(case.get_check_outcome_display()),
        "check_reason": _words(*reason) if reason else case.check_reason,
        "valid_until": mrules.first_valid_until(case.exchanged_on) if case.exchanged_on else None,
    }


@never_cache
@access_required(services.APPLY)
def mine(request: HttpRequest) -> HttpResponse:
    """退役军人换证: my cases and, when none is open, the application form (O3)."""
    form = ApplyForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = services.case_apply(
                    actor=request.user, military_number=data["military_number"], classes=data["classes"],
                    first_issued_on=data["first_issued_on"], added=form.added(),
                    exchanged_before=bool(data.get("exchanged_before")),
                    earlier_exchanged_on=data.get("earlier_exchanged_on"),
                )  # fmt: skip
            except DomainError as refusal:
                add_domain_error(form, refusal)
                status = refusal.status
            else:
                if case.state == ExchangeCase.State.SUSPECT_REVIEW:
                    messages.warning(
                        request,
                        _("申请已提交。军队驾驶证信息核查未通过，已转车管所核查，核查结果将以短信告知。"),
                    )
                else:
                    messages.success(request, _("申请已提交，军队驾驶证信息核查通过，请等待车管所受理。"))
                return redirect("military_exchange:mine")
    cases = [_case_row(c) for c in selectors.cases_of(actor=request.user)[:20]]
    has_open = any(row["c"].is_open for row in cases)
    has_person = getattr(request.user, "person_id", None) is not None
    context = {"form": form, "cases": cases, "has_open": has_open, "has_person": has_person}
    return render(request, "military_exchange/mine.html", context, status=status)


# ---------------------------------------------------------------- the counter


def _counter_row(case: ExchangeCase, today: date) -> dict[str, Any]:
    row = _case_row(case)
    person = case.person
    first, classes, added = (
        (case.registry_first_issued_on, case.registry_classes or case.classes, case.registry_added)
        if case.registry_first_issued_on is not None
        else (case.claimed_first_issued_on, case.classes, case.added)
    )
    preview = None
    if case.path == ExchangeCase.Path.REISSUE:
        preview = mrules.first_issue_date(
            military_first_issued_on=first, birth_date=person.birth_date, classes=classes, exchanged_on=today
        )
    row.update(
        {
            "name": mask_name(person.name), "id_number": mask_id_number(person.id_number),
            "first": first, "classes": classes, "added": _added_words(added),
            "claimed_differs": case.registry_first_issued_on not in (None, case.claimed_first_issued_on),
            "preview_first": preview, "preview_until": mrules.first_valid_until(today) if preview else None,
        }
    )  # fmt: skip
    return row


@never_cache
@access_required(services.HANDLE)
def counter(request: HttpRequest) -> HttpResponse:
    """军队驾驶证换证: the jurisdiction's cases to accept (check passed or cleared), oldest first."""
    today = timezone.localdate()
    rows = [_counter_row(c, today) for c in selectors.acceptance_queue(actor=request.user)[:100]]
    decided = [_case_row(c) for c in selectors.recent_decided(actor=request.user)[:20]]
    return render(
        request, "military_exchange/counter.html", {"rows": rows, "decided": decided, "today": today}
    )


@never_cache
@access_required(services.SUSPECT)
def counter_suspects(request: HttpRequest) -> HttpResponse:
    """换证嫌疑业务核查: cases whose military licence check did not pass (seed 004 §七 一)."""
    today = timezone.localdate()
    rows = [_counter_row(c, today) for c in selectors.suspect_queue(actor=request.user)[:100]]
    return render(request, "military_exchange/counter_suspects.html", {"rows": rows})


def _decide(request: HttpRequest, call: Any, done: str, back: str) -> HttpResponse:
    try:
        call()
    except DomainError as refusal:
        if refusal.status == 404:
            raise Http404("case") from None
        messages.error(request, refusal.message)
        return redirect(back)
    messages.success(request, done)
    return redirect(back)


@require_POST
@access_required(services.HANDLE)
def counter_accept(request: HttpRequest) -> HttpResponse:
    case_id = record_id(request.POST.get("id"))
    return _decide(
        request,
        lambda: services.case_accept(actor=request.user, case_id=case_id, request=request),
        _("已受理并办结。"),
        "military_exchange:counter",
    )


@require_POST
@access_required(services.HANDLE)
def counter_reject(request: HttpRequest) -> HttpResponse:
    case_id = record_id(request.POST.get("id"))
    return _decide(
        request,
        lambda: services.case_reject(
            actor=request.user, case_id=case_id, reason=request.POST.get("reason", "")[:200], request=request
        ),
        _("已不予办理，并短信告知申请人。"),
        "military_exchange:counter",
    )


@require_POST
@access_required(services.SUSPECT)
def suspect_clear(request: HttpRequest) -> HttpResponse:
    case_id = record_id(request.POST.get("id"))
    return _decide(
        request,
        lambda: services.suspect_clear(
            actor=request.user, case_id=case_id, reason=request.POST.get("reason", "")[:200], request=request
        ),
        _("核查通过，已转入待受理。"),
        "military_exchange:counter_suspects",
    )


@require_POST
@access_required(services.SUSPECT)
def suspect_reject(request: HttpRequest) -> HttpResponse:
    case_id = record_id(request.POST.get("id"))
    return _decide(
        request,
        lambda: services.suspect_reject(
            actor=request.user, case_id=case_id, reason=request.POST.get("reason", "")[:200], request=request
        ),
        _("已不予办理，并短信告知申请人。"),
        "military_exchange:counter_suspects",
    )
