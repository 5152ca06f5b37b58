"""Pages for violations: my violations (Q3), online handling (B16), disputes, paying a fine (B17),
and the counter's search, on-site records, counter handling, counter payments and cancellations.

Thin views over ``violations.services``/``selectors`` and ``payments.services``: every
decision (visibility, V1-V6, the no-double-charge rule V5) is the services'. A refusal is
shown next to the field it names or above the form, in the active language.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.accounts.forms import add_domain_error, submit_form
from jiaoguan.accounts.models import User
from jiaoguan.core.access import access_required, can
from jiaoguan.core.errors import DomainError, NotFound
from jiaoguan.core.identifiers import mask_id_number, mask_name
from jiaoguan.integrations.payment_gateway import GatewayError
from jiaoguan.payments import selectors as payment_selectors
from jiaoguan.payments import services as payment_services
from jiaoguan.payments.models import PaymentOrder
from jiaoguan.registry.views import PLATE_TYPE_LABELS

from . import documents, rules, selectors, services
from .forms import (
    ON_SITE_FIELDS,
    CancelForm,
    CounterHandleForm,
    CounterPayConfirmForm,
    CounterPayForm,
    DisputeForm,
    HandleForm,
    OnSiteForm,
    PaidElsewhereForm,
    SearchForm,
)
from .models import Fine, Violation
from .selectors import FINE_KIND, ViolationView

PAGE_SIZE = 20

STATUS_WORDS: dict[str, tuple[Promise, str]] = {
    "unhandled": (gettext_lazy("未处理"), "red"),
    "disputed": (gettext_lazy("有异议待窗口处理"), "amber"),
    "handled": (gettext_lazy("已处理未缴款"), "amber"),
    "paid": (gettext_lazy("已缴款"), "ok"),
    "cancelled": (gettext_lazy("已撤销"), "muted"),
}
SOURCE_WORDS: dict[str, Promise] = {
    rules.Source.MONITORING.value: gettext_lazy("电子监控"),
    rules.Source.ON_SITE.value: gettext_lazy("现场"),
}
CHANNEL_WORDS: dict[str, Promise] = {
    Violation.Channel.ONLINE.value: pgettext_lazy("handling channel", "网上处理"),
    Violation.Channel.COUNTER.value: pgettext_lazy("handling channel", "窗口处理"),
    Violation.Channel.ON_SITE.value: pgettext_lazy("handling channel", "现场处罚"),
}
PAID_CHANNEL_WORDS: dict[str, Promise] = {
    PaymentOrder.Channel.ONLINE.value: gettext_lazy("网上缴款"),
    PaymentOrder.Channel.COUNTER.value: gettext_lazy("窗口缴款"),
    PaymentOrder.Channel.OTHER_PLATFORM.value: gettext_lazy("其他渠道缴款"),
}
ORDER_STATES: dict[str, tuple[Promise, str]] = {
    PaymentOrder.State.PENDING.value: (gettext_lazy("结果确认中"), "amber"),
    PaymentOrder.State.PAID.value: (gettext_lazy("已支付"), "ok"),
    PaymentOrder.State.CLOSED.value: (gettext_lazy("已关闭，未扣款"), "muted"),
    PaymentOrder.State.REFUNDED.value: (gettext_lazy("重复扣款，已退款"), "amber"),
}
# Tabs of "my violations": the selector's status filter and its label.
TABS: list[tuple[str, Promise]] = [
    ("", gettext_lazy("全部")),
    ("unhandled", gettext_lazy("未处理")),
    ("unpaid", gettext_lazy("已处理未缴款")),
    ("paid", gettext_lazy("已缴款")),
]


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _words(zh: str, en: str) -> str:
    return en if _english() else zh


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _home_province() -> str:
    return str(settings.JIAOGUAN_JURISDICTION)[:2]


def yuan(fen: int) -> str:
    """¥200.00 from 20000 fen, with integer arithmetic."""
    return f"¥{fen // 100}.{fen % 100:02d}"


def _unit(code: str) -> str:
    """The agency's division in words, province to county, with its code beside it (V6)."""
    name = rules.division_words(code)
    return f"{name}（{code}）" if name != code else code


# ---------------------------------------------------------------- shared rows


def _status(status: str) -> dict[str, Any]:
    words, level = STATUS_WORDS.get(status, (status, "amber"))
    return {"status": status, "status_words": words, "level": level}


def violation_row(v: ViolationView, *, url: str) -> dict[str, Any]:
    """One violation as the lists and detail pages show it."""
    return {
        "id": v.id,
        "url": url,
        "record_number": v.record_number,
        "occurred_at": v.occurred_at,
        "place": v.place,
        "code": v.code,
        "description": _words(v.description_zh, v.description_en),
        "points": v.points,
        "fine": yuan(v.fine_fen),
        "source": v.source,
        "source_words": SOURCE_WORDS.get(v.source, v.source),
        "plate_number": v.plate_number,
        "other_province": v.other_province,
        "decision_number": v.decision_number,
        # an unpaid fine: what is due today, with the late fee named and the last day without it
        "unpaid": v.status == "handled" and v.fine_id is not None,
        "amount_due": yuan(v.amount_due_fen),
        "late_fee": yuan(v.late_fee_fen),
        "has_late_fee": v.late_fee_fen > 0,
        "payment_due": v.payment_due,
        **_status(v.status),
    }


def _view_of(violation: Violation, today: date) -> ViolationView:
    return selectors.violation_view(violation, today=today, home_province=_home_province())


def _fine_facts(fine: Fine, view: ViolationView) -> dict[str, Any]:
    paid = fine.status == Fine.Status.PAID
    return {
        "id": fine.pk,
        "decision_number": fine.decision_number,
        "decided_on": fine.decided_on,
        "unit": _unit(fine.deciding_division),
        "amount": yuan(fine.amount_fen),
        "paid": paid,
        "late_fee": yuan(view.late_fee_fen),
        "has_late_fee": view.late_fee_fen > 0,
        "total_due": yuan(view.amount_due_fen),
        "payment_due": view.payment_due,
        "paid_at": fine.paid_at,
        "paid_channel": PAID_CHANNEL_WORDS.get(fine.paid_channel, fine.paid_channel),
        "paid_total": yuan(fine.paid_total_fen),
        "paid_late_fee": yuan(fine.late_fee_fen) if fine.late_fee_fen else "",
    }


def _payment_rows(fine: Fine) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    orders, refunds = payment_selectors.payments_of_payable(fine.payable_id)
    order_rows = []
    for o in orders:
        words, level = ORDER_STATES.get(o["state"], (o["state"], "amber"))
        order_rows.append(
            {
                "order_number": o["order_number"],
                "channel": o["channel"],
                "channel_words": PAID_CHANNEL_WORDS.get(o["channel"], o["channel"]),
                "state": o["state"],
                "state_words": words,
                "level": level,
                "amount": yuan(o["amount_fen"]),
                "late_fee": yuan(o["late_fee_fen"]) if o["late_fee_fen"] else "",
                "created_at": o["created_at"],
                "paid_at": o["paid_at"],
                "pending_online": o["state"] == PaymentOrder.State.PENDING
                and o["channel"] == PaymentOrder.Channel.ONLINE,
            }
        )
    refund_rows = [
        {
            "order_number": r["order_number"],
            "amount": yuan(r["amount_fen"]),
            "done": r["state"] == "succeeded",
            "created_at": r["created_at"],
            "completed_at": r["completed_at"],
        }
        for r in refunds
    ]
    return order_rows, refund_rows


# ---------------------------------------------------------------- citizens: my violations (Q3)


def _encode_cursor(cursor: tuple[datetime, int]) -> str:
    return f"{int(cursor[0].timestamp() * 1_000_000)}.{cursor[1]}"


def _decode_cursor(text: str) -> tuple[datetime, int] | None:
    """The keyset cursor of the "更多" link; a damaged one starts from the first page."""
    if not text:
        return None
    try:
        micros, pk = text.split(".", 1)
        at = datetime.fromtimestamp(int(micros) / 1_000_000, tz=timezone.get_current_timezone())
        return at, int(pk)
    except (ValueError, OverflowError, OSError):
        return None


@never_cache
@access_required("violations.own.view")
def violation_list(request: HttpRequest) -> HttpResponse:
    """我的违法: newest first, by tab, one keyset page at a time."""
    user = _user(request)
    keys = [key for key, _label in TABS]
    status = request.GET.get("status", "")
    status = status if status in keys else ""
    views, cursor = selectors.my_violations_page(
        user=user,
        today=timezone.localdate(),
        home_province=_home_province(),
        limit=PAGE_SIZE,
        before=_decode_cursor(request.GET.get("cursor", "")),
        status=status or None,
    )
    rows = [violation_row(v, url=reverse("violations:detail", args=[v.id])) for v in views]
    base = reverse("violations:list")
    tabs = [
        {
            "key": key,
            "label": label,
            "url": base + (f"?{urlencode({'status': key})}" if key else ""),
            "current": key == status,
        }
        for key, label in TABS
    ]
    more_url = ""
    if cursor is not None:
        query = (
            {"status": status, "cursor": _encode_cursor(cursor)}
            if status
            else {"cursor": _encode_cursor(cursor)}
        )
        more_url = f"{base}?{urlencode(query)}"
    context = {
        "rows": rows,
        "tabs": tabs,
        "status": status,
        "more_url": more_url,
        "continued": bool(request.GET.get("cursor")),
        "is_organisation": user.kind == User.Kind.ORGANISATION,
    }
    return render(request, "violations/list.html", context)


def _my_violation(request: HttpRequest, violation_id: int) -> Violation:
    violation = selectors.my_violation_get(user=_user(request), violation_id=violation_id)
    if violation is None:
        raise Http404("violation")
    return violation


def _handling(user: User, violation: Violation, view: ViolationView, today: date) -> dict[str, Any]:
    """What the B16 section shows, decided before the form: offered, or refused with the reason
    and where to go instead (the form then stays visible but disabled)."""
    organisation = user.kind == User.Kind.ORGANISATION
    open_record = view.status in ("unhandled", "disputed")
    state = selectors.online_handling(user=user, violation=violation, today=today) if open_record else None
    refusal = state.refusal if state is not None else None
    points_after = state.points_after if state is not None else None
    return {
        "offered": state is not None and state.allowed,
        "shown": open_record,
        "organisation": organisation,
        "reason": refusal.message if refusal is not None else "",
        "reason_code": refusal.code if refusal is not None else "",
        "points_now": state.points_now if state is not None else None,
        "points_after": points_after,
        "reaches_limit": points_after is not None and points_after >= rules.POINTS_LIMIT,
        "limit": rules.POINTS_LIMIT,
    }


def _detail_page(
    request: HttpRequest,
    violation: Violation,
    *,
    handle_form: HandleForm | None = None,
    dispute_form: DisputeForm | None = None,
    pay_error: str = "",
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    today = timezone.localdate()
    view = _view_of(violation, today)
    fine: Fine | None = getattr(violation, "fine", None) if view.fine_id else None
    orders: list[dict[str, Any]] = []
    refunds: list[dict[str, Any]] = []
    fine_facts = None
    my_pending = ""
    if fine is not None:
        fine_facts = _fine_facts(fine, view)
        orders, refunds = _payment_rows(fine)
        pending = payment_selectors.pending_order_number(payable_id=fine.payable_id, payer=user)
        if pending:
            my_pending = f"{reverse('payments:return')}?{urlencode({'out_trade_no': pending})}"
    handling = _handling(user, violation, view, today)
    # A refusal whose form is no longer offered (the record changed meanwhile) is shown at the
    # top, once: not when the up-front refusal of the handling section already says it.
    hidden = [
        f
        for f, shown in ((handle_form, handling["offered"]), (dispute_form, view.status == "unhandled"))
        if f and not shown
    ]
    notices = [str(e) for f in hidden for e in f.non_field_errors()]
    notices = [n for i, n in enumerate(notices) if n != handling["reason"] and n not in notices[:i]]
    context = {
        "notices": notices,
        "v": violation_row(view, url=reverse("violations:detail", args=[view.id])),
        "facts": {
            "unit": _unit(violation.recording_division),
            "on_expressway": violation.on_expressway,
            "handled_at": violation.handled_at,
            "channel": CHANNEL_WORDS.get(violation.handling_channel, ""),
            "dispute_reason": violation.dispute_reason,
        },
        "fine": fine_facts,
        "orders": orders,
        "refunds": refunds,
        "my_pending_url": my_pending,
        "pay_error": pay_error,
        "handling": handling,
        "handle_form": handle_form or HandleForm(organisation=handling["organisation"]),
        "dispute_form": dispute_form or DisputeForm(),
        "can_dispute": view.status == "unhandled",
        "open_dispute": dispute_form is not None,
    }
    response = render(request, "violations/detail.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@access_required("violations.own.view")
def violation_detail(request: HttpRequest, violation_id: int) -> HttpResponse:
    """One violation: facts, the B16 form or the decision and its fine, payments and refunds."""
    return _detail_page(request, _my_violation(request, violation_id))


@require_POST
@access_required("violations.own.handle")
def violation_handle(request: HttpRequest, violation_id: int) -> HttpResponse:
    """Handle online (B16): the service checks V1-V4 and that the points shown are still current."""
    user = _user(request)
    violation = _my_violation(request, violation_id)
    form = HandleForm(request.POST, organisation=user.kind == User.Kind.ORGANISATION)
    if form.is_valid():
        data = form.cleaned_data
        fine = submit_form(
            form,
            lambda: services.violation_handle_online(
                actor=user,
                violation_id=violation.pk,
                no_dispute=data["no_dispute"],
                drove_self=data["drove_self"],
                licence_number=data.get("licence_number") or "",
                archive_number=data.get("archive_number") or "",
                expected_points=data.get("expected_points"),
                request=request,
            ),
        )
        if fine is not None:
            messages.success(
                request,
                _("处理成功，处罚决定书编号 %(number)s。请在15日内缴纳罚款。")
                % {"number": fine.decision_number},
            )
            return redirect(reverse("violations:detail", args=[violation.pk]) + "#fine")
    return _detail_page(request, _my_violation(request, violation_id), handle_form=form)


@require_POST
@access_required("violations.own.dispute")
def violation_dispute(request: HttpRequest, violation_id: int) -> HttpResponse:
    """提出异议: the record then waits for a counter (V3)."""
    violation = _my_violation(request, violation_id)
    form = DisputeForm(request.POST)
    if form.is_valid():
        result = submit_form(
            form,
            lambda: services.violation_dispute(
                actor=_user(request),
                violation_id=violation.pk,
                reason=form.cleaned_data["reason"],
                request=request,
            ),
        )
        if result is not None:
            messages.success(request, _("异议已提交。请携带驾驶证到违法处理窗口，由民警核实后处理。"))
            return redirect(reverse("violations:detail", args=[violation.pk]) + "#handle")
    return _detail_page(request, _my_violation(request, violation_id), dispute_form=form)


@require_POST
@access_required("payments.fine.pay_online")
def fine_pay(request: HttpRequest, fine_id: int) -> HttpResponse:
    """缴纳罚款 (B17): open or resume the online order and send the payer to the gateway (303)."""
    user = _user(request)
    fine = selectors.fine_of(user=user, fine_id=fine_id)
    if fine is None:
        raise Http404("fine")
    try:
        order = payment_services.payment_start(actor=user, payable_id=fine.payable_id, request=request)
    except DomainError as error:
        if error.status == 404:
            raise Http404("fine") from None
        return _detail_page(
            request, _my_violation(request, fine.violation_id), pay_error=error.message, status=error.status
        )
    except GatewayError:
        message = _("支付平台暂时无法连接，请稍后再试；如已扣款，核实后会自动入账或退回。")
        return _detail_page(request, _my_violation(request, fine.violation_id), pay_error=message, status=503)
    if not order.pay_url:  # settled in the meantime: the result page says how
        return redirect(f"{reverse('payments:return')}?{urlencode({'out_trade_no': order.order_number})}")
    response = HttpResponseRedirect(order.pay_url)
    response.status_code = 303
    return response


# ---------------------------------------------------------------- a fine's documents (issue 11 item 4)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@access_required("violations.own.view")
def fine_decision_pdf(request: HttpRequest, fine_id: int) -> HttpResponse:
    """处罚决定书 as PDF: full name and ID number to the driver, masked to a vehicle owner who did not drive."""
    user = _user(request)
    fine = selectors.fine_of(user=user, fine_id=fine_id)
    if fine is None:
        raise Http404("fine")
    document = selectors.decision_document(fine=fine, viewer=user)
    return _pdf(documents.decision_pdf(document), f"decision-{fine.decision_number}.pdf")


@never_cache
@access_required("violations.own.view")
def fine_receipt_pdf(request: HttpRequest, fine_id: int) -> HttpResponse:
    """罚款缴款凭证 as PDF, once the fine is paid."""
    user = _user(request)
    fine = selectors.fine_of(user=user, fine_id=fine_id)
    document = selectors.receipt_document(fine=fine, viewer=user) if fine is not None else None
    if fine is None or document is None:
        raise Http404("receipt")
    return _pdf(documents.receipt_pdf(document), f"receipt-{fine.decision_number}.pdf")


# ---------------------------------------------------------------- counter: search and on-site records


def _search_rows(found: list[Violation], today: date) -> list[dict[str, Any]]:
    return [
        violation_row(_view_of(v, today), url=reverse("violations:counter_detail", args=[v.pk]))
        for v in found
    ]


def _counter_page(
    request: HttpRequest,
    *,
    search_form: SearchForm,
    on_site_form: OnSiteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    today = timezone.localdate()
    query = search_form.cleaned_data.get("q", "") if search_form.is_valid() else ""
    # Called also without a query: the service checks the role before anything else.
    found = services.staff_violation_search(actor=user, query=query, request=request)
    context = {
        "search_form": search_form,
        "query": query,
        "rows": _search_rows(found, today),
        "on_site_form": on_site_form
        or OnSiteForm(
            today=today, initial={"occurred_at": timezone.localtime().replace(second=0, microsecond=0)}
        ),
        "open_on_site": on_site_form is not None,
        "can_record_on_site": can(user, "violations.record_on_site"),
    }
    response = render(request, "violations/counter/search.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@access_required("violations.counter.view")
def counter_search(request: HttpRequest) -> HttpResponse:
    """Counter: find violations by plate, record number or decision number in my jurisdiction."""
    return _counter_page(request, search_form=SearchForm(request.GET))


@require_POST
@access_required("violations.record_on_site")
def counter_on_site(request: HttpRequest) -> HttpResponse:
    """Record an on-site violation and decide it at once (现场处罚, summary procedure)."""
    user = _user(request)
    form = OnSiteForm(request.POST, today=timezone.localdate())
    if form.is_valid():
        data = form.cleaned_data
        try:
            fine = services.violation_record_on_site(
                actor=user,
                plate_number=data["plate_number"],
                plate_type=data["plate_type"],
                licence_number=data["licence_number"],
                code=data["code"],
                occurred_at=data["occurred_at"],
                place=data["place"],
                fine_fen=form.fine_fen(),
                on_expressway=data["on_expressway"],
                recording_division=data["division"] or "",
                confirm_full_score=data["confirm_full_score"],
                request=request,
            )
        except DomainError as error:
            if error.code.startswith("access."):
                raise
            add_domain_error(form, error, ON_SITE_FIELDS)
        else:
            messages.success(
                request, _("已录入并作出处罚决定，决定书编号 %(number)s。") % {"number": fine.decision_number}
            )
            return redirect("violations:counter_detail", violation_id=fine.violation_id)
    return _counter_page(request, search_form=SearchForm(), on_site_form=form)


# ---------------------------------------------------------------- counter: one violation


def _staff_violation(request: HttpRequest, violation_id: int) -> Violation:
    """The violation if the officer may see it (jurisdiction, V6); the read is audited by the service."""
    try:
        return services.staff_violation_get(actor=_user(request), violation_id=violation_id, request=request)
    except NotFound:
        raise Http404("violation") from None


def _reloaded(violation: Violation) -> Violation:
    """The same record, read again after a refused change (already checked and audited in this request)."""
    violation.refresh_from_db()
    return violation


def _person_words(person: Any) -> str:
    if person is None:
        return ""
    return f"{mask_name(person.name)}（{mask_id_number(person.id_number)}）"


def _counter_detail_page(
    request: HttpRequest,
    violation: Violation,
    *,
    forms: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    today = timezone.localdate()
    view = _view_of(violation, today)
    vehicle = violation.vehicle
    owner = ""
    if vehicle is not None:
        owner = (
            vehicle.owner_organisation.name
            if vehicle.owner_organisation
            else _person_words(vehicle.owner_person)
        )
    driver = _person_words(violation.licence.holder) if violation.licence else ""
    handler = violation.handled_by
    fine: Fine | None = getattr(violation, "fine", None) if view.fine_id else None
    orders: list[dict[str, Any]] = []
    refunds: list[dict[str, Any]] = []
    fine_facts = None
    if fine is not None:
        fine_facts = _fine_facts(fine, view)
        orders, refunds = _payment_rows(fine)
        for row in orders:
            row["refresh_url"] = reverse(
                "violations:counter_order_refresh", args=[violation.pk, row["order_number"]]
            )
    user = _user(request)
    open_record = violation.status in (Violation.Status.UNHANDLED, Violation.Status.DISPUTED)
    unpaid = fine_facts is not None and not fine_facts["paid"]
    # Only the forms of the actions the role may do are offered (the access table).
    offered = {
        "handle_form": open_record and can(user, "violations.handle_at_counter"),
        "cancel_form": open_record and can(user, "violations.cancel"),
        "pay_form": unpaid and can(user, "payments.fine.pay_at_counter"),
        "other_form": unpaid and can(user, "payments.fine.record_elsewhere"),
    }
    # A refusal whose form is no longer shown (the record changed meanwhile) is shown at the top.
    shown = offered
    notices = [
        str(e) for name, f in (forms or {}).items() if not shown.get(name) for e in f.non_field_errors()
    ]
    fresh: dict[str, Any] = {
        "handle_form": CounterHandleForm(),
        "pay_form": CounterPayForm(),
        "other_form": PaidElsewhereForm(
            initial={"paid_at": timezone.localtime().replace(second=0, microsecond=0)}
        ),
    }
    fresh.update(forms or {})
    context = {
        "violation": violation,
        "v": violation_row(view, url=reverse("violations:counter_detail", args=[violation.pk])),
        "facts": {
            "plate_type": PLATE_TYPE_LABELS.get(violation.plate_type, violation.plate_type),
            "unit": _unit(violation.recording_division),
            "device_id": violation.device_id,
            "on_expressway": violation.on_expressway,
            "owner": owner,
            "local_vehicle": vehicle is not None,
            "driver": driver,
            "handled_at": violation.handled_at,
            "channel": CHANNEL_WORDS.get(violation.handling_channel, ""),
            # the officer who handled it; a citizen's account name is their ID number, never shown
            "handled_by": handler.username if handler is not None and handler.kind == User.Kind.STAFF else "",
            "dispute_reason": violation.dispute_reason,
        },
        "open_record": open_record,
        "offered": offered,
        "can_refresh": can(user, "payments.order.refresh"),
        "notices": notices,
        "fine": fine_facts,
        "orders": orders,
        "refunds": refunds,
        "has_pending": any(o["pending_online"] for o in orders),
        **fresh,
    }
    response = render(request, "violations/counter/detail.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _cancel_effects(violation: Violation) -> list[str]:
    """What cancelling the record does, shown before the officer confirms (irreversible)."""
    effects = [
        _("记录 %(number)s 将被标记为“已撤销”，不再处理、不记分、不罚款。")
        % {"number": violation.record_number},
        _("撤销不能恢复；撤销人、时间和理由记入审计日志。"),
    ]
    if violation.status == Violation.Status.DISPUTED:
        effects.append(_("当事人提出的异议随之办结。"))
    return effects


@never_cache
@access_required("violations.counter.view")
def counter_detail(request: HttpRequest, violation_id: int) -> HttpResponse:
    """Counter: one violation with its decision, payments, and the forms the counter uses."""
    return _counter_detail_page(request, _staff_violation(request, violation_id))


def _back(violation: Violation, anchor: str) -> HttpResponse:
    return redirect(reverse("violations:counter_detail", args=[violation.pk]) + f"#{anchor}")


@require_POST
@access_required("violations.handle_at_counter")
def counter_handle(request: HttpRequest, violation_id: int) -> HttpResponse:
    """窗口处理: any source, disputes settled, points may reach 12."""
    violation = _staff_violation(request, violation_id)
    form = CounterHandleForm(request.POST)
    if form.is_valid():
        fine = submit_form(
            form,
            lambda: services.violation_handle_at_counter(
                actor=_user(request),
                violation_id=violation.pk,
                licence_number=form.cleaned_data["licence_number"],
                note=form.cleaned_data["note"] or "",
                confirm_full_score=form.cleaned_data["confirm_full_score"],
                request=request,
            ),
        )
        if fine is not None:
            messages.success(
                request, _("已处理，处罚决定书编号 %(number)s。") % {"number": fine.decision_number}
            )
            return _back(violation, "fine")
    return _counter_detail_page(request, _reloaded(violation), forms={"handle_form": form})


def _confirm_page(
    request: HttpRequest,
    violation: Violation,
    *,
    title: str,
    lead: str,
    facts: list[tuple[str, str]],
    effects: list[str],
    form: Any,
    action_url: str,
    button: str,
    status: int = 200,
) -> HttpResponse:
    """The confirmation page of an irreversible counter action: what happens, what cannot be
    undone, the reason, a red button, and the way back without doing it."""
    context = {
        "title": title,
        "lead": lead,
        "facts": facts,
        "effects": effects,
        "form": form,
        "action_url": action_url,
        "button": button,
        "back_url": reverse("violations:counter_detail", args=[violation.pk]),
        "record_number": violation.record_number,
    }
    response = render(request, "violations/counter/confirm.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _cancel_confirm_page(
    request: HttpRequest, violation: Violation, form: CancelForm, status: int = 200
) -> HttpResponse:
    today = timezone.localdate()
    view = _view_of(violation, today)
    return _confirm_page(
        request, violation, title=_("确认撤销违法记录"),
        lead=_("撤销后该记录不再处理，且不能恢复。请核实记录确有错误后再撤销。"),
        facts=[
            (_("违法记录编号"), violation.record_number), (_("号牌号码"), view.plate_number),
            (_("违法时间"), f"{timezone.localtime(view.occurred_at):%Y-%m-%d %H:%M}"),
            (_("违法行为"), f"{view.code} {_words(view.description_zh, view.description_en)}"),
            (_("状态"), str(_status(view.status)["status_words"])),
        ],
        effects=_cancel_effects(violation), form=form,
        action_url=reverse("violations:counter_cancel", args=[violation.pk]),
        button=_("撤销违法记录"), status=status,
    )  # fmt: skip


@access_required("violations.cancel")
def counter_cancel(request: HttpRequest, violation_id: int) -> HttpResponse:
    """撤销违法记录 after review of a dispute: the confirmation page (GET), then the cancellation
    with the reason (POST); only unhandled or disputed records."""
    violation = _staff_violation(request, violation_id)
    if violation.status not in (Violation.Status.UNHANDLED, Violation.Status.DISPUTED):
        messages.error(request, _("该违法记录已处理或已撤销，不能撤销。"))
        return _back(violation, "facts")
    if request.method != "POST":
        return _cancel_confirm_page(request, violation, CancelForm())
    form = CancelForm(request.POST)
    if form.is_valid():
        result = submit_form(
            form,
            lambda: services.violation_cancel(
                actor=_user(request),
                violation_id=violation.pk,
                reason=form.cleaned_data["reason"],
                confirmed=True,  # this POST comes from the confirmation page
                request=request,
            ),
        )
        if result is not None:
            messages.success(request, _("违法记录已撤销。"))
            return _back(violation, "facts")
    return _cancel_confirm_page(request, _reloaded(violation), form, status=200)


def _fine_of(violation: Violation) -> Fine:
    fine: Fine | None = (
        getattr(violation, "fine", None) if violation.status == Violation.Status.HANDLED else None
    )
    if fine is None:
        raise Http404("fine")
    return fine


def _pay_confirm_page(
    request: HttpRequest, violation: Violation, fine: Fine, form: CounterPayConfirmForm
) -> HttpResponse:
    view = _view_of(violation, timezone.localdate())
    facts = [
        (_("决定书编号"), fine.decision_number),
        (_("号牌号码"), view.plate_number),
        (_("罚款"), yuan(fine.amount_fen)),
        (_("加处罚款"), yuan(view.late_fee_fen)),
        (_("今日应缴"), yuan(view.amount_due_fen)),
        (_("票据号码"), str(form["receipt_number"].value() or "")),
    ]
    effects = [
        _("收取 %(amount)s 后，罚款标记为“已缴款”，当事人不能再网上缴纳。")
        % {"amount": yuan(view.amount_due_fen)},
        _("收款不能在平台撤回；收错的须按退款程序另行办理。收款人、时间、票据号码和理由记入审计日志。"),
    ]
    return _confirm_page(
        request, violation, title=_("确认窗口收款"),
        lead=_("请核对金额和票据号码，确认已收到现金或刷卡款项后再确认收款。"),
        facts=facts, effects=effects, form=form,
        action_url=reverse("violations:counter_pay", args=[violation.pk]),
        button=_("确认收款 %(amount)s") % {"amount": yuan(view.amount_due_fen)},
    )  # fmt: skip


@require_POST
@access_required("payments.fine.pay_at_counter")
def counter_pay(request: HttpRequest, violation_id: int) -> HttpResponse:
    """窗口缴款 in two steps: the receipt number shows the confirmation page, whose POST with the
    reason takes the payment; refused while an online payment of the fine is unconfirmed (V5)."""
    violation = _staff_violation(request, violation_id)
    fine = _fine_of(violation)
    if request.POST.get("step") != "confirm":
        first = CounterPayForm(request.POST)
        refusal = payment_services.counter_payment_refusal(actor=_user(request), payable_id=fine.payable_id)
        if refusal is not None:
            first.is_valid()
            add_domain_error(first, refusal)
        if refusal is not None or not first.is_valid():
            return _counter_detail_page(request, _reloaded(violation), forms={"pay_form": first})
        confirm = CounterPayConfirmForm(initial={"receipt_number": first.cleaned_data["receipt_number"]})
        return _pay_confirm_page(request, violation, fine, confirm)
    form = CounterPayConfirmForm(request.POST)
    if form.is_valid():
        order = submit_form(
            form,
            lambda: payment_services.payable_pay_at_counter(
                actor=_user(request),
                payable_id=fine.payable_id,
                receipt_number=form.cleaned_data["receipt_number"],
                reason=form.cleaned_data["reason"],
                request=request,
            ),
        )
        if order is not None:
            messages.success(
                request, _("已收款 %(amount)s，罚款已缴纳。") % {"amount": yuan(order.amount_fen)}
            )
            return _back(violation, "fine")
    if not form.has_error("reason"):
        # The record or the receipt number is refused (V5, already paid, a bad number): the
        # counter page says why, with the first step's form to try again.
        for error in [*form.non_field_errors(), *form.errors.get("receipt_number", [])]:
            messages.error(request, str(error))
        return _back(violation, "counter-pay")
    return _pay_confirm_page(request, _reloaded(violation), fine, form)


@require_POST
@access_required("payments.fine.record_elsewhere")
def counter_paid_elsewhere(request: HttpRequest, violation_id: int) -> HttpResponse:
    """Record a payment made on another platform; a pending online order is closed (and refunded if charged)."""
    violation = _staff_violation(request, violation_id)
    fine = _fine_of(violation)
    form = PaidElsewhereForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        result = submit_form(
            form,
            lambda: payment_services.payable_paid_elsewhere(
                actor=_user(request),
                kind=FINE_KIND,
                payable_reference=fine.decision_number,
                platform=data["platform"],
                reference=data["reference"],
                paid_at=data["paid_at"],
                request=request,
            ),
        )
        if result is not None:
            messages.success(request, _("已登记其他渠道缴款，罚款已缴纳。"))
            return _back(violation, "fine")
    return _counter_detail_page(request, _reloaded(violation), forms={"other_form": form})


REFRESH_WORDS: dict[str, tuple[Promise, int]] = {
    PaymentOrder.State.PAID.value: (gettext_lazy("网上缴款已到账，罚款已缴纳。"), messages.SUCCESS),
    PaymentOrder.State.CLOSED.value: (
        gettext_lazy("该订单未支付，已关闭；现在可以在窗口收款。"),
        messages.SUCCESS,
    ),
    PaymentOrder.State.REFUNDED.value: (gettext_lazy("该笔扣款为重复扣款，已自动退款。"), messages.WARNING),
    PaymentOrder.State.PENDING.value: (
        gettext_lazy("仍无法确认结果：支付平台暂时无法连接。请稍后再核实，或等待每日对账。"),
        messages.WARNING,
    ),
}


@require_POST
@access_required("payments.order.refresh")
def counter_order_refresh(request: HttpRequest, violation_id: int, order_number: str) -> HttpResponse:
    """核实网上缴款: ask the gateway about a pending online order; close it there when unpaid."""
    violation = _staff_violation(request, violation_id)
    fine = _fine_of(violation)
    try:
        order = payment_services.payment_order_check(
            actor=_user(request), payable_id=fine.payable_id, order_number=order_number, request=request
        )
    except NotFound:
        raise Http404("order") from None
    words, level = REFRESH_WORDS.get(order.state, (order.state, messages.WARNING))
    messages.add_message(request, level, f"{order.order_number}：{words}")
    return _back(violation, "fine")
