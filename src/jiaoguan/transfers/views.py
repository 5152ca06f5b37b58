"""Pages of the cross-region used-car transfer (二手车异地交易登记, T1-T5): the buyer's page, the
counter's lists and files, the anomaly list. The same service and selector calls as the API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.core.access import access_required, allowed
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name

from . import rules, selectors, services
from .models import INSPECTION_PHOTO_MAX_BYTES, OriginRelease, Problem, Transfer


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def label_words(label: Any) -> str:
    """The zh or en half of a "中文 english" choice label."""
    zh, _sep, en = str(label).partition(" ")
    return (en or zh) if _english() else zh


def _refusal(transfer: Transfer) -> str:
    return transfer.refusal_en if _english() else transfer.refusal_zh


def _problem_rows(reference: str, today: Any) -> list[dict[str, Any]]:
    return [
        {"problem": p, "overdue": selectors.overdue(p, today=today)} for p in selectors.problems_of(reference)
    ]


# ---------------------------------------------------------------- buyers (T2)


@never_cache
@access_required(selectors.APPLY)
def mine(request: HttpRequest) -> HttpResponse:
    """My transfers and the application form."""
    rows = [
        {"transfer": t, "state": label_words(t.get_state_display()), "refusal": _refusal(t)}
        for t in selectors.my_transfers(actor=request.user)[: selectors.LIST_LIMIT]
    ]
    context = {
        "rows": rows,
        "trade_places": [(v, label_words(lbl)) for v, lbl in Transfer.TradePlace.choices],
        "today": timezone.localdate(),
    }
    return render(request, "transfers/mine.html", context)


@require_POST
@access_required(selectors.APPLY)
def apply(request: HttpRequest) -> HttpResponse:
    data = {name: request.POST.get(name, "") for name in (
        "plate_number", "plate_type", "vin", "origin_city", "seller_id_number", "agent_uscc", "invoice_number",
        "invoice_date", "trade_place",
    )}  # fmt: skip
    try:
        transfer = services.transfer_apply(actor=request.user, data=data)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("transfers:mine")
    if transfer.state == Transfer.State.REQUESTED:
        messages.success(request, _("申请已提交。暂时无法联系转出地车辆管理所，系统将自动重试调取档案。"))
    else:
        messages.success(request, _("申请已提交，转出地档案已到达。请将车辆送到本地车辆管理所查验。"))
    return redirect("transfers:mine")


# ---------------------------------------------------------------- counter (T2-T4)


@never_cache
@access_required(selectors.VIEW)
def counter(request: HttpRequest) -> HttpResponse:
    """Transfers into my jurisdiction (buyers masked), cars sent out, open problems."""
    today = timezone.localdate()
    rows = [
        {
            "transfer": t, "state": label_words(t.get_state_display()), "name": mask_name(t.buyer.name),
            "waiting": t.state in (Transfer.State.REQUESTED, Transfer.State.AWAITING_ORIGIN) and bool(t.last_error),
        }
        for t in selectors.transfers_visible_to(actor=request.user)[: selectors.LIST_LIMIT]
    ]  # fmt: skip
    releases = [
        {"release": r, "state": label_words(r.get_state_display())}
        for r in selectors.releases()[: selectors.LIST_LIMIT]
        if allowed(request.user, selectors.VIEW, division=r.vehicle.division)
    ]
    problems = [
        {"problem": p, "overdue": selectors.overdue(p, today=today)} for p in selectors.open_problems()[:50]
    ]
    context = {"rows": rows, "releases": releases, "problems": problems}
    return render(request, "transfers/counter.html", context)


def _staff_transfer(request: HttpRequest, transfer_id: int) -> Transfer:
    try:
        return services.transfer_for_staff(actor=request.user, transfer_id=transfer_id, request=request)
    except DomainError as error:
        if error.status == 404:
            raise Http404("transfer") from None
        raise


@never_cache
@access_required(selectors.VIEW)
def counter_transfer(request: HttpRequest, transfer_id: int) -> HttpResponse:
    """One transfer in: the buyer, the archive, and the step the actor may take. Audited."""
    transfer = _staff_transfer(request, transfer_id)
    user, where = request.user, {"division": transfer.division}
    package = transfer.package or {}
    record = package.get("record") or {}
    documents = [
        {"name": d.get("name", ""), "sha256": d.get("sha256", "")} for d in package.get("documents") or []
    ]
    state = transfer.state
    context = {
        "transfer": transfer,
        "state": label_words(transfer.get_state_display()),
        "trade_place": label_words(transfer.get_trade_place_display()),
        "buyer_name": transfer.buyer.name,
        "buyer_id": transfer.buyer.id_number,
        "seller_id": mask_id_number(transfer.seller_id_number),
        "record": record,
        "documents": documents,
        "refusal": _refusal(transfer),
        "photo": bool(transfer.inspection_photo),
        "can_inspect": state in ("archived", "inspected") and allowed(user, selectors.REGISTER, **where),
        "can_register": state == "inspected" and allowed(user, selectors.REGISTER, **where),
        "can_return": state in ("archived", "inspected") and allowed(user, selectors.RETURN, **where),
        "can_problem": allowed(user, selectors.PROBLEM, **where),
        "reasons": [
            (r.value, (en if _english() else zh)) for r, (zh, en) in rules.RETURN_REASON_WORDS.items()
        ],
        "problems": _problem_rows(transfer.number, timezone.localdate()),
        "max_mb": INSPECTION_PHOTO_MAX_BYTES // (1024 * 1024),
        "plate_prefix": settings.JIAOGUAN_PLATE_PREFIX,
    }
    return render(request, "transfers/counter_transfer.html", context)


@never_cache
@access_required(selectors.VIEW)
def counter_release(request: HttpRequest, release_id: int) -> HttpResponse:
    """One car of this registry sent to another DMV (the origin's side). Audited."""
    try:
        release = services.release_for_staff(actor=request.user, release_id=release_id, request=request)
    except DomainError as error:
        if error.status == 404:
            raise Http404("release") from None
        raise
    context = {
        "release": release,
        "state": label_words(release.get_state_display()),
        "problems": _problem_rows(release.reference, timezone.localdate()),
        "can_problem": allowed(request.user, selectors.PROBLEM, division=release.vehicle.division),
    }
    return render(request, "transfers/counter_release.html", context)


def _back(transfer_id: int) -> HttpResponse:
    return redirect("transfers:counter_transfer", transfer_id=transfer_id)


@require_POST
@access_required(selectors.REGISTER)
def counter_inspect(request: HttpRequest, transfer_id: int) -> HttpResponse:
    upload = request.FILES.get("photo")
    photo = upload.read(INSPECTION_PHOTO_MAX_BYTES + 1) if upload is not None else b""
    try:
        services.transfer_inspect(
            actor=request.user, transfer_id=transfer_id, vin_read=request.POST.get("vin", ""), photo=photo
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("查验通过，车辆识别代号与档案一致。"))
    return _back(transfer_id)


@require_POST
@access_required(selectors.REGISTER)
def counter_register(request: HttpRequest, transfer_id: int) -> HttpResponse:
    try:
        transfer = services.transfer_register(
            actor=request.user, transfer_id=transfer_id, plate_number=request.POST.get("plate_number", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _back(transfer_id)
    if transfer.state == Transfer.State.COMPLETED:
        messages.success(request, _("登记完成，转出地已办结转出。"))
    else:
        messages.warning(
            request, _("登记资料已保存。暂时无法联系转出地，系统将自动重试，转出地办结后完成登记。")
        )
    return _back(transfer_id)


@require_POST
@access_required(selectors.RETURN)
def counter_return(request: HttpRequest, transfer_id: int) -> HttpResponse:
    try:
        services.transfer_return(
            actor=request.user, transfer_id=transfer_id, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("已退档。"))
    return _back(transfer_id)


def _after_problem(request: HttpRequest, reference: str) -> HttpResponse:
    transfer = Transfer.objects.filter(number=reference).only("pk").first()
    if transfer is not None:
        return _back(transfer.pk)
    release = OriginRelease.objects.filter(reference=reference).only("pk").first()
    if release is not None:
        return redirect("transfers:counter_release", release_id=release.pk)
    return redirect("transfers:counter")


@require_POST
@access_required(selectors.PROBLEM)
def counter_problem(request: HttpRequest) -> HttpResponse:
    reference = request.POST.get("reference", "")[:32]
    try:
        problem = services.problem_raise(
            actor=request.user, reference=reference, question=request.POST.get("question", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if problem.question_sent:
            messages.success(request, _("问题已送达对方车辆管理所。"))
        else:
            messages.warning(request, _("问题已保存，暂时无法送达对方车辆管理所，系统将自动重试。"))
    return _after_problem(request, reference)


@require_POST
@access_required(selectors.PROBLEM)
def counter_answer(request: HttpRequest, problem_id: int) -> HttpResponse:
    problem = Problem.objects.filter(pk=problem_id).first()
    if problem is None:
        raise Http404("problem")
    try:
        services.problem_answer(
            actor=request.user, problem_id=problem_id, answer=request.POST.get("answer", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("答复已提交。"))
    return _after_problem(request, problem.reference)


@never_cache
@access_required(selectors.ANOMALIES)
def anomalies(request: HttpRequest) -> HttpResponse:
    """Sellers and agents with many transfers in a short window (异常业务研判)."""
    rows = selectors.anomalies(actor=request.user, today=timezone.localdate())
    for row in rows:
        row["kind_words"] = _("卖方") if row["kind"] == "seller" else _("代理机构")
    context = {"rows": rows, "threshold": rules.ANOMALY_MIN_TRANSFERS, "window": rules.ANOMALY_WINDOW_DAYS}
    return render(request, "transfers/anomalies.html", context)
