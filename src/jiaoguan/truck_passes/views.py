"""Pages of truck restrictions and pass codes (货车通行码, O1, O1a): the published rules, the
applicant's page (apply, codes with their QR, print, cancel), the city's rule editor and the
roadside check with the blacklist. The same service and selector calls as the API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.core.access import access_required, can
from jiaoguan.core.divisions import division_name
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import record_id
from jiaoguan.credentials import render as qr_render
from jiaoguan.registry.rules import VehicleKind

from . import rules, selectors, services, tokens
from .models import RestrictionZone, TruckPass


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _words(label: Any) -> str:
    zh, _sep, en = str(label).partition(" ")
    return (en or zh) if _english() else zh


def _kind_words(kind: str) -> str:
    try:
        value = VehicleKind(kind)
    except ValueError:
        return kind
    return value.label_en if _english() else value.label_zh


def _city(code: str) -> str:
    try:
        return division_name(code)
    except Exception:  # an unlisted code still shows something sensible
        return code


def _state_words(state: str) -> str:
    return {
        "valid": _("有效"), "not_yet": _("未到有效期"), "expired": _("已过期"), "revoked": _("已注销"),
    }.get(state, state)  # fmt: skip


def zone_row(zone: RestrictionZone) -> dict[str, Any]:
    windows = zone.closed()
    return {
        "zone": zone,
        "city": _city(zone.division),
        "kind": _words(zone.get_kind_display()),
        "state": _words(zone.get_state_display()),
        "kinds": "、".join(_kind_words(k) for k in zone.vehicle_kinds)
        if not _english()
        else ", ".join(_kind_words(k) for k in zone.vehicle_kinds),
        "windows": [
            f"{tokens.weekdays_words(sorted(w.days), english=_english())} {rules.hhmm(w.start)}-{rules.hhmm(w.end)}"
            for w in windows
        ],
        "open_hours": min(rules.open_minutes(windows, d) for d in rules.WEEKDAYS) / 60,
    }


def truck_rules(request: HttpRequest) -> HttpResponse:
    """The published restriction zones and the conditions of a code (公示申领条件, O1a): public."""
    zones = [zone_row(z) for z in selectors.published_zones()[:200]]
    # Staff may not apply: no link to a page that would refuse them.
    may_apply = not request.user.is_authenticated or can(request.user, selectors.APPLY)
    return render(request, "truck_passes/rules.html", {"zones": zones, "max_days": rules.MAX_PASS_DAYS,
                  "person_quota": rules.PERSON_QUOTA, "company_quota": rules.COMPANY_QUOTA,
                  "may_apply": may_apply})  # fmt: skip


# ---------------------------------------------------------------- applicants (O1)


def pass_row(truck_pass: TruckPass, today: Any) -> dict[str, Any]:
    state = tokens.pass_state(truck_pass, today=today)
    live = state in ("valid", "not_yet")
    qr = ""
    if live:
        try:
            qr = qr_render.qr_svg(
                tokens.pass_token(truck_pass=truck_pass).text, scale=3, label=_("货车通行码二维码")
            )
        except DomainError:
            qr = ""
    return {
        "p": truck_pass,
        "state": state,
        "state_words": _state_words(state),
        "window": f"{rules.hhmm(truck_pass.start)}-{rules.hhmm(truck_pass.end)}",
        "weekdays": tokens.weekdays_words(truck_pass.weekdays, english=_english()),
        "live": live,
        "qr": qr,
    }


@never_cache
@access_required(selectors.APPLY)
def mine(request: HttpRequest) -> HttpResponse:
    """货车通行码: apply for my trucks (a company: its fleet), my codes with their QR, and the
    outcome of my applications with the blacklist reason when there is one."""
    today = timezone.localdate()
    applications = list(selectors.my_applications(actor=request.user)[:10])
    context = {
        "zones": [zone_row(z) for z in selectors.published_zones()[:200]],
        "vehicles": selectors.eligible_vehicles(actor=request.user),
        "passes": [
            pass_row(p, today) for p in selectors.my_passes(actor=request.user)[: selectors.LIST_LIMIT]
        ],
        "applications": [
            {
                "a": a,
                "reason": a.reason_en if _english() else a.reason_zh,
                "refused": [
                    (r["plate"], r["en"] if _english() else r["zh"]) for r in a.outcome if not r.get("issued")
                ],
            }
            for a in applications
        ],
        "today": today,
        "max_days": rules.MAX_PASS_DAYS,
    }
    return render(request, "truck_passes/mine.html", context)


@require_POST
@access_required(selectors.APPLY)
def apply(request: HttpRequest) -> HttpResponse:
    post = request.POST
    try:
        days = int(post.get("days", "0") or 0)
        valid_from = date.fromisoformat(post.get("valid_from", ""))
    except ValueError:
        messages.error(request, _("请填写正确的开始日期和天数。"))
        return redirect("truck_passes:mine")
    try:
        decision = services.pass_apply(
            actor=request.user, zone_id=record_id(post.get("zone")), plates=post.getlist("plates"),
            start=post.get("start", ""), end=post.get("end", ""), valid_from=valid_from, days=days,
        )  # fmt: skip
    except DomainError as error:
        if error.status in (401, 403):
            raise
        messages.error(request, error.message)
        return redirect("truck_passes:mine")
    application = decision.application
    messages.success(request, _("已核发%(n)d个通行码。") % {"n": len(decision.passes)})
    if application.reason_zh:
        messages.warning(request, application.reason_en if _english() else application.reason_zh)
    return redirect(f"{reverse('truck_passes:mine')}#passes")


@require_POST
@access_required(selectors.APPLY)
def cancel(request: HttpRequest) -> HttpResponse:
    try:
        services.pass_cancel(actor=request.user, pass_id=record_id(request.POST.get("id")))
    except DomainError as error:
        if error.status == 404:
            raise Http404("pass") from None
        raise
    messages.success(request, _("通行码已注销，二维码立即失效。"))
    return redirect("truck_passes:mine")


def _issuer(division: str) -> str:
    return f"{_city(division or settings.JIAOGUAN_JURISDICTION)}公安局交通警察支队"


@never_cache
@access_required(selectors.APPLY)
def print_pass(request: HttpRequest, pass_id: int) -> HttpResponse:
    """The printable pass code (PDF) with its QR, which police scan or anyone checks at /verify/."""
    truck_pass = selectors.my_pass(actor=request.user, pass_id=pass_id)
    if truck_pass is None:
        raise Http404("pass")
    try:
        token = tokens.pass_token(truck_pass=truck_pass)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("truck_passes:mine")
    verify_url = request.build_absolute_uri(reverse("credentials:verify"))
    with translation.override("zh-hans"):
        rows = [
            ("号牌号码", truck_pass.plate_number),
            ("通行区域", truck_pass.zone.name),
            ("通行时段", f"{tokens.weekdays_words(truck_pass.weekdays, english=False)} "
                         f"{rules.hhmm(truck_pass.start)}-{rules.hhmm(truck_pass.end)}"),
        ]  # fmt: skip
    pdf = qr_render.credential_pdf(
        title_zh=tokens.TRUCK_PASS.name_zh, title_en=tokens.TRUCK_PASS.name_en, number=truck_pass.number,
        rows=rows, qr_text=token.text,
        validity=f"有效期 {truck_pass.valid_from:%Y-%m-%d} 至 {truck_pass.valid_until:%Y-%m-%d}",
        issuer=_issuer(truck_pass.division), note=f"限在通行时段内于通行区域使用。凭二维码核验：{verify_url}",
    )  # fmt: skip
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="truck-pass-{truck_pass.pk}.pdf"'
    return response


# ---------------------------------------------------------------- the city's rule editor (O1a)


def _zone_input(post: Any) -> services.ZoneInput:
    return services.ZoneInput(
        name=post.get("name", "")[:60], kind=post.get("kind", ""), individual_road=post.get("individual_road") == "1",
        roads=post.get("roads", "")[:300], vehicle_kinds=post.getlist("vehicle_kinds"),
        windows=post.get("windows", "")[:2000],
    )  # fmt: skip


def _windows_text(zone: RestrictionZone) -> str:
    return "\n".join(
        f"{rules.days_text(w.days)} {rules.hhmm(w.start)}-{rules.hhmm(w.end)}" for w in zone.closed()
    )


@never_cache
@access_required(selectors.MANAGE)
def counter_rules(request: HttpRequest) -> HttpResponse:
    """The city's zones with the editor; a POST saves a draft or a change (O1a checked)."""
    zones = list(selectors.zones_for_staff(actor=request.user)[:200])
    editing = next((z for z in zones if str(z.pk) == request.GET.get("zone", "")), None)
    status = 200
    form: dict[str, Any] = {}
    if editing is not None:
        form = {"name": editing.name, "kind": editing.kind, "individual_road": editing.individual_road,
                "roads": editing.roads, "vehicle_kinds": list(editing.vehicle_kinds), "windows": _windows_text(editing)}  # fmt: skip
    if request.method == "POST":
        data = _zone_input(request.POST)
        zone_id = record_id(request.POST.get("zone_id")) if request.POST.get("zone_id") else None
        try:
            zone = services.zone_save(actor=request.user, data=data, zone_id=zone_id, request=request)
        except DomainError as error:
            if error.status in (401, 403):
                raise
            messages.error(request, error.message)
            status = error.status
            form = {"name": data.name, "kind": data.kind, "individual_road": data.individual_road,
                    "roads": data.roads, "vehicle_kinds": data.vehicle_kinds, "windows": data.windows}  # fmt: skip
            editing = next((z for z in zones if z.pk == zone_id), None)
        else:
            messages.success(
                request,
                _("已保存。草稿经发布后向社会公布。")
                if zone.state == "draft"
                else _("已保存并更新公布的规则。"),
            )
            return redirect("truck_passes:counter_rules")
    context = {
        "zones": [zone_row(z) for z in zones],
        "editing": editing,
        "form": form,
        "kinds": [(k.value, _words(k.label)) for k in RestrictionZone.Kind],
        "truck_kinds": [(k, _kind_words(k)) for k in rules.TRUCK_KINDS],
    }
    return render(request, "truck_passes/counter_rules.html", context, status=status)


@require_POST
@access_required(selectors.MANAGE)
def counter_rule_state(request: HttpRequest) -> HttpResponse:
    zone_id = record_id(request.POST.get("zone_id"))
    try:
        if request.POST.get("do") == "publish":
            services.zone_publish(actor=request.user, zone_id=zone_id, request=request)
            messages.success(request, _("已发布，向社会公布。"))
        elif request.POST.get("do") == "withdraw":
            services.zone_withdraw(actor=request.user, zone_id=zone_id, request=request)
            messages.success(request, _("已撤销该区域的禁限行规则。"))
        else:
            raise Http404("do")
    except DomainError as error:
        if error.status in (401, 403):
            raise
        if error.status == 404:
            raise Http404("zone") from None
        messages.error(request, error.message)
    return redirect("truck_passes:counter_rules")


# ---------------------------------------------------------------- the roadside check (O1)


@never_cache
@access_required(selectors.CHECK)
def counter_check(request: HttpRequest) -> HttpResponse:
    """Roadside check by QR text or plate (audited), and the blacklist of the jurisdiction."""
    query = request.GET.get("q", "").strip()
    result = None
    status = 200
    if query:
        try:
            result = services.roadside_check(actor=request.user, text=query, request=request)
        except DomainError as error:
            if error.status in (401, 403):
                raise
            messages.error(request, error.message)
            status = error.status
    rows = []
    if result is not None:
        for row in result.rows:
            rows.append({**pass_row(row.truck_pass, timezone.localdate()), "covers": row.covers_now,
                         "restricted": row.restricted_now})  # fmt: skip
    listed = [
        {"d": d, "who": d.organisation.name if d.organisation else (d.vehicle.plate_number if d.vehicle else ""),
         "subject": _("企业") if d.subject == rules.COMPANY else _("车辆"),
         "reason": d.reason_en if _english() else d.reason_zh}
        for d in selectors.blacklist_for_staff(actor=request.user)[:50]
    ]  # fmt: skip
    context = {"query": query, "result": result, "rows": rows, "blacklist": listed,
               "since": timezone.localdate() - timedelta(days=365)}  # fmt: skip
    return render(request, "truck_passes/counter_check.html", context, status=status)
