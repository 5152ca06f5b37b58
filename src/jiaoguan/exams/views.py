"""Driving-test pages (B22, B23, X1-X7; issue 16): the same service and selector calls as the API."""

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

from jiaoguan.core.access import access_required
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number
from jiaoguan.core.middleware import client_address

from . import rules, selectors, services
from .models import ExamApplication, ExamPlan, ExamResult, LearnerPermit

# ---------------------------------------------------------------- public plans and allocation proof


# ---------------------------------------------------------------- learners (B22, B23)


def _in_english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _in_active_language(zh: str, en: str) -> str:
    return en if _in_english() else zh


_LEARNER_STATE_LEVELS = {
    "applied": "info", "allocated": "ok", "waiting": "amber", "not_allocated": "muted", "cancelled": "muted",
    "passed": "ok", "failed": "red", "missed": "red",
}  # fmt: skip


def _learner_subject_name(subject: int) -> str:
    s = rules.Subject(subject)
    return _in_active_language(s.label_zh, s.label_en)


def _subject_row(permit: LearnerPermit, status: dict[str, Any]) -> dict[str, Any]:
    refusal = status["refusal"]
    if status["passed"]:
        words, level = _("已合格"), "ok"
    elif status["can_apply"]:
        words, level = _("可以预约"), "info"
    else:
        words, level = (_in_active_language(refusal.zh, refusal.en) if refusal else _("暂不能预约")), "amber"
    return {
        **status,
        "name": _learner_subject_name(status["subject"]),
        "words": words,
        "level": level,
        "plans_url": reverse("exams:plans_for", args=[permit.pk, status["subject"]]),
        "show_plans": permit.is_open and not status["passed"],
    }


def _permit_row(permit: LearnerPermit) -> dict[str, Any]:
    status = selectors.permit_status(permit)
    return {
        "permit": permit,
        "class_name": _in_active_language(*rules.class_name(permit.vehicle_class)),
        "state_words": _in_active_language(*LearnerPermit.State(permit.state).label.split(" ", 1)),
        "subjects": [_subject_row(permit, s) for s in status["subjects"]],
        "remote": status["remote"] and permit.is_open,
        "changes_left": status["location_changes_left"],
        "consent": permit.school_consent_at is not None,
    }


def _learner_result_words(outcome: str) -> str:
    return _in_active_language(*ExamResult.Outcome(outcome).label.split(" ", 1))


def _application_row(application: ExamApplication) -> dict[str, Any]:
    plan = application.plan
    return {
        "application": application,
        "state_words": _in_active_language(*ExamApplication.State(application.state).label.split(" ", 1)),
        "level": _LEARNER_STATE_LEVELS.get(application.state, "info"),
        "subject": _learner_subject_name(application.subject),
        "plan": plan,
        "centre": plan.centre.organisation.name,
        "address": plan.centre.address,
        "method": _in_active_language(*ExamPlan.Method(plan.method).label.split(" ", 1)),
        "cancellable": selectors.cancellable(application),
        "results": [
            {"result": r, "words": _learner_result_words(r.outcome), "retake": r.attempt == 2}
            for r in application.results.all()
        ],
    }


@never_cache
@access_required(services.VIEW_OWN)
def my_exams(request: HttpRequest) -> HttpResponse:
    """我的考试 (B22, B23): my permits with each subject's state and the day it opens, my
    applications with state, rank and results, cancel until the deadline, the school's consent
    and the test-location change (X3)."""
    permits = [_permit_row(p) for p in selectors.my_permits(actor=request.user)]
    applications, _cursor = selectors.my_applications(actor=request.user, limit=50)
    return render(
        request,
        "exams/learner/mine.html",
        {"permits": permits, "rows": [_application_row(a) for a in applications]},
    )


def _learner_plan_row(plan: ExamPlan) -> dict[str, Any]:
    facts = selectors.plan_facts(plan)
    return {
        **facts,
        "method": _in_active_language(*ExamPlan.Method(plan.method).label.split(" ", 1)),
        "items": [_in_active_language(zh, en) for zh, en in facts["items"]],
    }


@never_cache
@access_required(services.VIEW_OWN)
def plans_for(request: HttpRequest, permit_id: int, subject: int) -> HttpResponse:
    """The plans a permit may apply to for one subject (its class, its test city), each with its
    places, method, window, cancel deadline, items (X1) and pass mark; the rule that refuses,
    with the date it opens, when the learner cannot apply yet."""
    try:
        permit = selectors.my_permit(actor=request.user, permit_id=permit_id)
        wanted = rules.Subject(subject)
    except (DomainError, ValueError):
        raise Http404("permit") from None
    plans = [_learner_plan_row(p) for p in selectors.plans_open_for(permit, subject=wanted.value)]
    exam_date = plans[0]["plan"].exam_date if plans else None
    status = _subject_row(
        permit, selectors.subject_status(permit, wanted, today=timezone.localdate(), exam_date=exam_date)
    )
    return render(
        request,
        "exams/learner/plans.html",
        {"permit": permit, "subject": status, "plans": plans, "test_division": permit.test_division},
    )


def _posted_id(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


@require_POST
@access_required(services.APPLY)
def apply(request: HttpRequest) -> HttpResponse:
    """Apply for a plan from the plans page; back to 我的考试 with the answer, or to the plans
    with the refusal in words and the date it opens."""
    permit_id, plan_id = _posted_id(request.POST.get("permit")), _posted_id(request.POST.get("plan"))
    subject = _posted_id(request.POST.get("subject")) or 2
    try:
        application = services.application_create(
            actor=request.user,
            permit_id=permit_id,
            plan_id=plan_id,
            client=client_address(request),
            request=request,
        )
    except DomainError as error:
        if error.status == 404 and error.code == "exams.permit_not_found":
            raise Http404("permit") from None
        messages.error(request, error.message)
        if permit_id and subject in (1, 2, 3, 4):
            return redirect("exams:plans_for", permit_id, subject)
        return redirect("exams:mine")
    if application.state == ExamApplication.State.ALLOCATED:
        messages.success(request, _("预约成功，已约上考试，请按时参加考试。"))
    else:
        messages.success(request, _("已提交考试预约申请，申请截止后按公布的规则分配，结果将通知您。"))
    return redirect("exams:mine")


@require_POST
@access_required(services.APPLY)
def cancel(request: HttpRequest, application_id: int) -> HttpResponse:
    """Cancel an application until the plan's deadline (B23)."""
    try:
        services.application_cancel(actor=request.user, application_id=application_id, request=request)
    except DomainError as error:
        if error.status == 404:
            raise Http404("application") from None
        messages.error(request, error.message)
    else:
        messages.success(request, _("考试预约已取消。"))
    return redirect("exams:mine")


@require_POST
@access_required(services.APPLY)
def consent(request: HttpRequest, permit_id: int) -> HttpResponse:
    """Let the driving school apply for me, or withdraw that (issue 16 §3)."""
    given = request.POST.get("consent") == "1"
    try:
        services.permit_consent_set(actor=request.user, permit_id=permit_id, consent=given, request=request)
    except DomainError as error:
        if error.status == 404:
            raise Http404("permit") from None
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("已同意驾校代为预约考试。") if given else _("已撤回驾校代为预约考试的同意。")
        )
    return redirect("exams:mine")


@require_POST
@access_required(services.APPLY)
def location(request: HttpRequest, permit_id: int) -> HttpResponse:
    """Move the test location to another city (X3, at most three times)."""
    try:
        permit = services.permit_location_change(
            actor=request.user,
            permit_id=permit_id,
            new_division=request.POST.get("division", ""),
            request=request,
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404("permit") from None
        messages.error(request, error.message)
    else:
        left = rules.MAX_LOCATION_CHANGES - permit.location_changes
        messages.success(
            request,
            _("考试地已变更为%(division)s，还可变更%(left)s次。")
            % {"division": permit.test_division, "left": left},
        )
    return redirect("exams:mine")


# ---------------------------------------------------------------- driving schools


@never_cache
@access_required(services.SCHOOL_VIEW)
def school(request: HttpRequest) -> HttpResponse:
    """本校学员考试 (B22): the school's learners (identity numbers masked) with their consent,
    the plans a consenting learner may be applied for, and their applications with results."""
    try:
        organisation = services.school_of(actor=request.user)
    except DomainError:
        raise Http404("school") from None
    plans_by_place: dict[tuple[str, str], list[dict[str, Any]]] = {}
    learners = []
    for permit in selectors.school_learners(school=organisation)[:500]:
        consent_given = permit.school_consent_at is not None
        plans: list[dict[str, Any]] = []
        if consent_given and permit.is_open:
            key = (permit.vehicle_class, permit.test_division[:4])
            if key not in plans_by_place:
                plans_by_place[key] = [
                    {
                        "plan": p,
                        "subject": _learner_subject_name(p.subject),
                        "centre": p.centre.organisation.name,
                    }
                    for p in selectors.plans_open_for(permit)
                ]
            plans = plans_by_place[key]
        learners.append(
            {
                "permit": permit,
                "name": permit.person.name,
                "id_number": mask_id_number(permit.person.id_number),
                "state_words": _in_active_language(*LearnerPermit.State(permit.state).label.split(" ", 1)),
                "consent": consent_given,
                "plans": plans,
            }
        )
    applications, _cursor = selectors.school_applications(school=organisation, limit=100)
    rows = [
        {**_application_row(a), "name": a.person.name, "id_number": mask_id_number(a.person.id_number)}
        for a in applications
    ]
    return render(
        request, "exams/school/learners.html", {"school": organisation, "learners": learners, "rows": rows}
    )


@require_POST
@access_required(services.SCHOOL_APPLY)
def school_apply(request: HttpRequest) -> HttpResponse:
    """Apply for a consenting learner of the school; back to the school's page with the answer."""
    permit_id, plan_id = _posted_id(request.POST.get("permit")), _posted_id(request.POST.get("plan"))
    try:
        application = services.application_create(
            actor=request.user,
            permit_id=permit_id,
            plan_id=plan_id,
            client=client_address(request),
            request=request,
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("已为学员提交考试预约（%(number)s），状态：%(state)s。")
            % {
                "number": application.number,
                "state": _in_active_language(*ExamApplication.State(application.state).label.split(" ", 1)),
            },
        )
    return redirect("exams:school")


# ---------------------------------------------------------------- counter: centres, plans, results, learners


# ---------------------------------------------------------------- counter: monitoring (X6)
