"""Pages of the overseas relief (出国（境）人员恢复驾驶资格, O4): the driver's page and the counter's
list and case file. The same service and selector calls as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.core.access import access_required, allowed
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name
from jiaoguan.registry.rules import LICENCE_STATUS

from . import selectors, services
from .models import CERTIFICATE_MAX_BYTES, ReliefCase


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def label_words(label: Any) -> str:
    """The zh or en half of a "中文 english" choice label."""
    zh, _sep, en = str(label).partition(" ")
    return (en or zh) if _english() else zh


def status_words(status: str) -> str:
    """Stored status codes in words: "G 注销"."""
    parts = []
    for code in status or "A":
        zh, en = LICENCE_STATUS.get(code, (code, code))
        parts.append(f"{code} {en if _english() else zh}")
    return "、".join(parts) if not _english() else ", ".join(parts)


def case_row(case: ReliefCase) -> dict[str, Any]:
    waiting = (
        case.path == ReliefCase.Path.AFTER_SUBJECT_1
        and case.state in ReliefCase.OPEN_STATES
        and case.subject_1_passed_on is None
    )
    return {
        "case": case,
        "state": label_words(case.get_state_display()),
        "path": label_words(case.get_path_display()),
        "waiting_subject_1": waiting,
        "status": status_words(case.status_at_application),
    }


# ---------------------------------------------------------------- drivers (O4)


@never_cache
@access_required(selectors.APPLY)
def mine(request: HttpRequest) -> HttpResponse:
    """My licence, my relief cases, and the application with the physical-condition certificate."""
    licence = selectors.my_licence(actor=request.user)
    cases = [case_row(c) for c in selectors.my_cases(actor=request.user)[: selectors.LIST_LIMIT]]
    open_case = next((row for row in cases if row["case"].state in ReliefCase.OPEN_STATES), None)
    cancelled = licence is not None and bool(set(licence.status or "") & {"R", "G"})
    context = {
        "licence": licence,
        "licence_status": status_words(licence.status) if licence else "",
        "cancelled": cancelled,
        "cases": cases,
        "open_case": open_case,
        "can_apply": cancelled and open_case is None,
        "max_mb": CERTIFICATE_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "overseas_relief/mine.html", context)


@require_POST
@access_required(selectors.APPLY)
def apply(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("certificate")
    if upload is None:
        messages.error(request, _("请上传身体条件证明。"))
        return redirect("overseas_relief:mine")
    content = upload.read(CERTIFICATE_MAX_BYTES + 1)
    try:
        case = services.case_apply(
            actor=request.user, certificate=services.Certificate(content=content, filename=upload.name or "")
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("overseas_relief:mine")
    if case.path == ReliefCase.Path.AFTER_SUBJECT_1 and case.subject_1_passed_on is None:
        messages.success(request, _("申请已提交。您的驾驶证状态为“注销”，科目一考试合格后予以恢复。"))
    else:
        messages.success(request, _("申请已提交，业务受理岗受理后报部门负责人复核，结果将以短信通知您。"))
    return redirect("overseas_relief:mine")


# ---------------------------------------------------------------- counter (O4)

_STATE_FILTERS = ("", "submitted", "accepted", "restored", "rejected")


@never_cache
@access_required(selectors.VIEW)
def counter(request: HttpRequest) -> HttpResponse:
    """Cases of my jurisdiction; names and ID numbers masked in the list."""
    state = request.GET.get("state", "submitted")
    if state not in _STATE_FILTERS:
        state = "submitted"
    rows = []
    for case in selectors.cases_for_staff(actor=request.user, state=state)[: selectors.LIST_LIMIT]:
        row = case_row(case)
        row["name"] = mask_name(case.person.name)
        row["id_number"] = mask_id_number(case.person.id_number)
        rows.append(row)
    states = [(s, label_words(ReliefCase.State(s).label) if s else _("全部")) for s in _STATE_FILTERS]
    return render(request, "overseas_relief/counter.html", {"rows": rows, "state": state, "states": states})


def _staff_case(request: HttpRequest, case_id: int) -> ReliefCase:
    try:
        return services.case_for_staff(actor=request.user, case_id=case_id, request=request)
    except DomainError as error:
        if error.status == 404:
            raise Http404("case") from None
        raise


@never_cache
@access_required(selectors.VIEW)
def counter_case(request: HttpRequest, case_id: int) -> HttpResponse:
    """One case: the driver, the licence, the crossings, the certificate, and the decision the
    actor may take (accept for the clerk, approve for the head, reject for either). Audited."""
    case = _staff_case(request, case_id)
    row = case_row(case)
    user = request.user
    subject_1 = services.subject_1_on(case)
    context = {
        "row": row,
        "case": case,
        "subject_1": subject_1,
        "movements": [
            {
                "kind": _("出境") if m.get("kind") == "exit" else _("入境"),
                "on": m.get("on", ""),
                "port": m.get("port", ""),
            }
            for m in case.movements
        ],
        "can_accept": case.state == ReliefCase.State.SUBMITTED
        and allowed(user, selectors.ACCEPT, division=case.division),
        "can_approve": case.state == ReliefCase.State.ACCEPTED
        and allowed(user, selectors.APPROVE, division=case.division)
        and case.accepted_by_id != user.pk,
        "same_person": case.state == ReliefCase.State.ACCEPTED and case.accepted_by_id == user.pk,
        "can_reject": (
            case.state == ReliefCase.State.SUBMITTED
            and allowed(user, selectors.ACCEPT, division=case.division)
        )
        or (
            case.state == ReliefCase.State.ACCEPTED
            and allowed(user, selectors.APPROVE, division=case.division)
        ),
    }
    return render(request, "overseas_relief/counter_case.html", context)


@never_cache
@access_required(selectors.VIEW)
def counter_certificate(request: HttpRequest, case_id: int) -> HttpResponse:
    """The uploaded certificate, served as its sniffed type (the read is audited)."""
    case = _staff_case(request, case_id)
    response = HttpResponse(bytes(case.certificate), content_type=case.certificate_type)
    response["Content-Disposition"] = f'inline; filename="{case.number}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@access_required(selectors.VIEW)
def counter_decide(request: HttpRequest, case_id: int) -> HttpResponse:
    decision = request.POST.get("decision", "")
    back = reverse("overseas_relief:counter_case", args=[case_id])
    try:
        if decision == "accept":
            services.case_accept(actor=request.user, case_id=case_id, request=request)
            messages.success(request, _("已受理，待部门负责人复核。"))
        elif decision == "approve":
            services.case_approve(
                actor=request.user, case_id=case_id, today=timezone.localdate(), request=request
            )
            messages.success(request, _("复核同意，驾驶资格已恢复。"))
        elif decision == "reject":
            services.case_reject(
                actor=request.user,
                case_id=case_id,
                reason=request.POST.get("reason", "")[:200],
                request=request,
            )
            messages.success(request, _("已作出不予恢复的决定。"))
        else:
            raise Http404("decision")
    except DomainError as error:
        if error.status == 404:
            raise Http404("case") from None
        if error.status in (401, 403):
            raise
        messages.error(request, error.message)
    return redirect(back)
