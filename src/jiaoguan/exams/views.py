"""Driving-test pages (B22, B23, X1-X7; issue 16): the same service and selector calls as the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from django import forms
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
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name, record_id
from jiaoguan.core.middleware import client_address

from . import rules, selectors, services
from . import rules as exam_rules
from .models import ExamApplication, ExamPlan, ExamResult, LearnerPermit

# ---------------------------------------------------------------- public plans and allocation proof


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _words(zh: str, en: str) -> str:
    return en if _english() else zh


def _state_words(model_state: Any, value: str) -> str:
    try:
        label = str(model_state(value).label)
    except ValueError:
        return value
    zh, _sep, en = label.partition(" ")
    return _words(zh, en or zh)


def _plan_row(plan: ExamPlan) -> dict[str, Any]:
    subject = exam_rules.Subject(plan.subject)
    return {
        "plan": plan,
        "subject": _words(subject.label_zh, subject.label_en),
        "state": _state_words(ExamPlan.State, plan.state),
        "method": _state_words(ExamPlan.Method, plan.method),
        "centre": plan.centre.organisation.name,
    }


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


@access_required("exams.plan.public")
def public_plans(request: HttpRequest) -> HttpResponse:
    """考试计划: published plans, filtered by subject, centre and exam date from (X4)."""
    subject = _int_param(request, "subject")
    centre = _int_param(request, "centre")
    start = None
    error = ""
    if request.GET.get("from"):
        try:
            start = date.fromisoformat(request.GET["from"])
        except ValueError:
            error = _("日期格式应为YYYY-MM-DD。")
    try:
        rows, after = selectors.public_plans_page(
            selectors.public_plans(subject=subject, centre=centre, start=start),
            cursor=request.GET.get("cursor", ""),
        )
    except DomainError as refusal:
        rows, after, error = [], None, refusal.message
    context = {
        "rows": [_plan_row(p) for p in rows],
        "next_cursor": after,
        "subjects": [(s.value, _words(s.label_zh, s.label_en)) for s in exam_rules.Subject],
        "centres": selectors.public_centres(),
        "subject": subject,
        "centre": centre,
        "start": request.GET.get("from", ""),
        "error": error,
    }
    return render(request, "exams/public/plans.html", context, status=422 if error else 200)


@access_required("exams.plan.public")
def public_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    """One plan: its rules, and once allocated the proof with the platform's own check (X4)."""
    try:
        plan = selectors.public_plan(plan_id=plan_id)
    except DomainError:
        raise Http404("plan") from None
    facts = selectors.plan_facts(plan)
    proof = selectors.allocation_proof(plan=plan)
    result = (proof["document"] or {}).get("result") or []
    context = {
        "row": _plan_row(plan),
        "facts": facts,
        "priorities": [
            {"class": p["class"], "words": _words(p["zh"], p["en"])} for p in facts["priority_classes"]
        ],
        "items": [_words(i["zh"], i["en"]) for i in facts["items"]],
        "proof": proof,
        "result": result[:500],
        "result_more": max(0, len(result) - 500),
        "first_come": (proof["first_come"] or [])[:500],
        "allocation_url": f"/api/v1/exam-plans/{plan.pk}/allocation",
        "window_open": plan.state == ExamPlan.State.OPEN,
    }
    return render(request, "exams/public/plan.html", context)


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
    facts = selectors.plan_choice_facts(plan)
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


@require_POST
@access_required(services.APPLY)
def apply(request: HttpRequest) -> HttpResponse:
    """Apply for a plan from the plans page; back to 我的考试 with the answer, or to the plans
    with the refusal in words and the date it opens."""
    permit_id, plan_id = record_id(request.POST.get("permit")), record_id(request.POST.get("plan"))
    subject = record_id(request.POST.get("subject")) or 2
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
    return _cancel_and_return(request, application_id, back="exams:mine")


def _cancel_and_return(request: HttpRequest, application_id: int, *, back: str) -> HttpResponse:
    """The learner's or the school's cancel (the service decides whose it may be); back with the answer."""
    try:
        services.application_cancel(actor=request.user, application_id=application_id, request=request)
    except DomainError as error:
        if error.status == 404:
            raise Http404("application") from None
        messages.error(request, error.message)
    else:
        messages.success(request, _("考试预约已取消。"))
    return redirect(back)


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
def school_cancel(request: HttpRequest, application_id: int) -> HttpResponse:
    """Cancel a consenting learner's application until the plan's deadline (B23); back to the
    school's page with the answer."""
    return _cancel_and_return(request, application_id, back="exams:school")


@require_POST
@access_required(services.SCHOOL_APPLY)
def school_apply(request: HttpRequest) -> HttpResponse:
    """Apply for a consenting learner of the school; back to the school's page with the answer."""
    permit_id, plan_id = record_id(request.POST.get("permit")), record_id(request.POST.get("plan"))
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


def _class_choices() -> list[tuple[str, str]]:
    """Each class with its name in the page's language (``C1 小型汽车``): a bare letter such as
    ``F`` means nothing to a reader (evaluated per form, so the language is the request's)."""
    english = (translation.get_language() or "").startswith("en")
    return [(c, f"{c} {exam_rules.class_name(c)[1 if english else 0]}") for c in exam_rules.EXAM_CLASSES]


class CentreForm(forms.Form):
    uscc = forms.CharField(label=gettext_lazy("统一社会信用代码"), max_length=18)
    name = forms.CharField(label=gettext_lazy("考场名称"), max_length=100)
    division = forms.CharField(label=gettext_lazy("所在行政区划代码"), max_length=6)
    address = forms.CharField(label=gettext_lazy("地址"), max_length=200)
    phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=20, required=False)
    subjects = forms.TypedMultipleChoiceField(
        label=gettext_lazy("考试科目"), coerce=int, widget=forms.CheckboxSelectMultiple,
        choices=[(s.value, s.label_zh) for s in exam_rules.Subject],
    )  # fmt: skip
    vehicle_classes = forms.MultipleChoiceField(
        label=gettext_lazy("考试车型"), choices=_class_choices, widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip


class PlanForm(forms.Form):
    centre = forms.TypedChoiceField(label=gettext_lazy("考场"), coerce=int)
    subject = forms.TypedChoiceField(
        label=gettext_lazy("考试科目"),
        coerce=int,
        choices=[(s.value, s.label_zh) for s in exam_rules.Subject],
    )
    vehicle_class = forms.ChoiceField(label=gettext_lazy("考试车型"), choices=_class_choices)
    exam_date = forms.DateField(
        label=gettext_lazy("考试日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    starts_at = forms.TimeField(
        label=gettext_lazy("开考时间"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    places = forms.IntegerField(label=gettext_lazy("计划人数"), min_value=1, max_value=100_000)
    method = forms.ChoiceField(
        label=gettext_lazy("分配方式"),
        choices=[
            (ExamPlan.Method.LOTTERY.value, gettext_lazy("按规则分配（优先类别和公开抽签）")),
            (ExamPlan.Method.FIRST_COME.value, gettext_lazy("先到先得")),
        ],
    )
    window_opens_at = forms.DateTimeField(
        label=gettext_lazy("开始申请时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    window_closes_at = forms.DateTimeField(
        label=gettext_lazy("截止申请时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    cancel_until = forms.DateTimeField(
        label=gettext_lazy("取消截止时间"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=gettext_lazy("不填则为考试前一日17:00。"),
    )  # fmt: skip

    def __init__(self, *args: Any, centres: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["centre"].choices = [(c.pk, c.organisation.name) for c in centres]  # type: ignore[attr-defined]


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("撤回原因"), min_length=2, max_length=200)


class ResultForm(forms.Form):
    application_number = forms.CharField(label=gettext_lazy("预约编号"), max_length=20)
    absent = forms.BooleanField(label=gettext_lazy("缺考"), required=False)
    score = forms.IntegerField(label=gettext_lazy("成绩"), min_value=0, max_value=100, required=False)
    examiner = forms.CharField(label=gettext_lazy("考试员编号"), max_length=32, required=False)
    taken_on = forms.DateField(
        label=gettext_lazy("考试日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class EnrolForm(forms.Form):
    id_number = forms.CharField(label=gettext_lazy("身份证明号码"), max_length=18)
    vehicle_class = forms.ChoiceField(label=gettext_lazy("申请准驾车型"), choices=_class_choices)
    kind = forms.ChoiceField(
        label=gettext_lazy("申请类型"),
        choices=[("first", gettext_lazy("初次申领")), ("added", gettext_lazy("增加准驾车型"))],
    )
    school_uscc = forms.CharField(
        label=gettext_lazy("驾驶培训机构统一社会信用代码"), max_length=18, required=False
    )
    test_division = forms.CharField(label=gettext_lazy("考试地行政区划代码"), max_length=6, required=False)


class LookupForm(forms.Form):
    id_number = forms.CharField(label=gettext_lazy("身份证明号码"), max_length=18)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value)


@never_cache
@access_required("exams.centre.manage")
def counter_centres(request: HttpRequest) -> HttpResponse:
    """考场: the centres of the jurisdiction, registering one and issuing its API client."""
    form = CentreForm(
        request.POST if request.POST.get("form") == "centre" else None,
        initial={"division": getattr(request.user, "jurisdiction", "")},
    )
    issued: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        status = 400
        if request.POST.get("form") == "client":
            centre_id = request.POST.get("centre", "")
            try:
                if not (centre_id.isascii() and centre_id.isdigit() and len(centre_id) <= 18):
                    raise Http404("centre")
                client, secret = services.centre_client_issue(
                    actor=request.user, centre_id=int(centre_id), request=request
                )
            except DomainError as error:
                messages.error(request, error.message)
                status = error.status
            else:
                issued = {"client_id": client.client_id, "secret": secret, "centre_id": int(centre_id)}
                status = 200
        elif form.is_valid():
            data = form.cleaned_data
            try:
                services.centre_register(
                    actor=request.user,
                    data=services.CentreInput(
                        uscc=data["uscc"], name=data["name"], division=data["division"], address=data["address"],
                        subjects=tuple(data["subjects"]), vehicle_classes=tuple(data["vehicle_classes"]),
                        phone=data.get("phone") or "",
                    ),
                    request=request,
                )  # fmt: skip
            except DomainError as error:
                add_domain_error(form, error)
                status = error.status
            else:
                messages.success(request, _("考场已登记，可为其创建成绩上报接入凭据。"))
                return redirect("exams:counter_centres")
    centres = selectors.centres_visible_to(actor=request.user).order_by("division", "pk")
    rows = [
        {
            "centre": c,
            "subjects": "、".join(str(s) for s in c.subject_list),
            "classes": " ".join(c.class_list),
            "clients": [k.client_id for k in c.organisation.api_clients.filter(revoked_at__isnull=True)],
        }
        for c in centres
    ]
    context = {"rows": rows, "form": form, "issued": issued}
    return render(request, "exams/counter/centres.html", context, status=status)


@never_cache
@access_required("exams.plan.manage")
def counter_plans(request: HttpRequest) -> HttpResponse:
    """考试计划: the plans of the jurisdiction by state, and a new plan (a draft until published)."""
    centres = list(
        selectors.centres_visible_to(actor=request.user, action="exams.plan.manage").filter(active=True)
    )
    form = PlanForm(request.POST or None, centres=centres)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                plan = services.plan_create(
                    actor=request.user,
                    data=services.PlanInput(
                        centre_id=data["centre"], subject=data["subject"], vehicle_class=data["vehicle_class"],
                        exam_date=data["exam_date"], starts_at=data["starts_at"], places=data["places"],
                        window_opens_at=_aware(data["window_opens_at"]),  # type: ignore[arg-type]
                        window_closes_at=_aware(data["window_closes_at"]),  # type: ignore[arg-type]
                        cancel_until=_aware(data.get("cancel_until")), method=data["method"],
                    ),
                    request=request,
                )  # fmt: skip
            except DomainError as error:
                add_domain_error(form, error, {"centre_cannot": "vehicle_class"})
                status = error.status
            else:
                messages.success(request, _("考试计划已保存为草稿，核对后发布。"))
                return redirect("exams:counter_plan", plan_id=plan.pk)
    state = request.GET.get("state", "")
    if state not in ExamPlan.State.values:
        state = ""
    plans = selectors.plans_visible_to(actor=request.user, state=state)[:200]
    context = {
        "rows": [_plan_row(p) for p in plans],
        "form": form,
        "state": state,
        "states": [(s.value, _state_words(ExamPlan.State, s.value)) for s in ExamPlan.State],
    }
    return render(request, "exams/counter/plans.html", context, status=status)


@never_cache
@access_required("exams.plan.manage")
def counter_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    """One plan: publish, withdraw with a reason, allocate now once the window closed; its
    applications (masked) in the draw's order, and their results."""
    try:
        plan = selectors.staff_plan(actor=request.user, plan_id=plan_id)
    except DomainError:
        raise Http404("plan") from None
    withdraw_form = WithdrawForm(request.POST if request.POST.get("form") == "withdraw" else None)
    status = 200
    if request.method == "POST":
        status = 400
        todo = request.POST.get("form", "")
        try:
            if todo == "publish":
                services.plan_publish(actor=request.user, plan_id=plan.pk, request=request)
                messages.success(request, _("考试计划已发布，随机种子的承诺值已公开。"))
                return redirect("exams:counter_plan", plan_id=plan.pk)
            if todo == "allocate":
                services.plan_allocate(plan_id=plan.pk)
                messages.success(request, _("已分配考位，分配结果和验证材料已公开。"))
                return redirect("exams:counter_plan", plan_id=plan.pk)
            if todo == "withdraw" and withdraw_form.is_valid():
                services.plan_withdraw(
                    actor=request.user,
                    plan_id=plan.pk,
                    reason=withdraw_form.cleaned_data["reason"],
                    request=request,
                )
                messages.success(request, _("考试计划已撤回，已告知申请人。"))
                return redirect("exams:counter_plan", plan_id=plan.pk)
        except DomainError as error:
            if todo == "withdraw":
                add_domain_error(withdraw_form, error)
            else:
                messages.error(request, error.message)
            status = error.status
    now = timezone.now()
    rows = []
    for a in selectors.plan_applications(plan)[:1000]:
        results = selectors.booking_results(a)
        rows.append(
            {
                "a": a,
                "id_masked": mask_id_number(a.person.id_number),
                "name": mask_name(a.person.name),
                "state": _state_words(ExamApplication.State, a.state),
                "results": [
                    f"{r.attempt}: {_state_words(ExamResult.Outcome, r.outcome)}"
                    + (f" {r.score}" if r.score is not None else "")
                    for r in results
                ],
            }
        )
    context = {
        "row": _plan_row(plan),
        "plan": plan,
        "rows": rows,
        "withdraw_form": withdraw_form,
        "can_publish": plan.state == ExamPlan.State.DRAFT,
        "can_allocate": plan.state == ExamPlan.State.OPEN and now >= plan.window_closes_at,
        "can_withdraw": plan.state in (ExamPlan.State.DRAFT, ExamPlan.State.OPEN, ExamPlan.State.ALLOCATED),
    }
    return render(request, "exams/counter/plan.html", context, status=status)


@never_cache
@access_required("exams.result.record")
def counter_results(request: HttpRequest) -> HttpResponse:
    """考试成绩录入: a result by application number (a score, or absent) and the booking's attempts."""
    form = ResultForm(request.POST or None, initial={"taken_on": timezone.localdate()})
    number = (request.POST.get("application_number") or request.GET.get("number") or "").strip()
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.result_record(
                    actor=request.user,
                    data=services.ResultInput(
                        application_number=data["application_number"],
                        outcome=exam_rules.Outcome.MISSED.value if data.get("absent") else "",
                        score=None if data.get("absent") else data.get("score"),
                        examiner=data.get("examiner") or "", taken_on=data.get("taken_on"),
                    ),
                    request=request,
                )  # fmt: skip
            except DomainError as error:
                add_domain_error(form, error)
                status = error.status
            else:
                messages.success(request, _("考试成绩已录入，已告知学员。"))
                return redirect(f"{reverse('exams:counter_results')}?number={data['application_number']}")
    booking = None
    attempts: list[dict[str, Any]] = []
    if number:
        try:
            booking = selectors.booking_by_number(actor=request.user, number=number)
        except DomainError as error:
            if request.method != "POST":
                messages.error(request, error.message)
        else:
            attempts = [
                {"r": r, "outcome": _state_words(ExamResult.Outcome, r.outcome)}
                for r in selectors.booking_results(booking)
            ]
    context = {
        "form": form,
        "booking": booking,
        "booking_row": _plan_row(booking.plan) if booking else None,
        "booking_state": _state_words(ExamApplication.State, booking.state) if booking else "",
        "id_masked": mask_id_number(booking.person.id_number) if booking else "",
        "attempts": attempts,
    }
    return render(request, "exams/counter/results.html", context, status=status)


@never_cache
@access_required("exams.learner.view")
def counter_learners(request: HttpRequest) -> HttpResponse:
    """学员: enrol a learner for a class (受理), and look one up by identity number (audited)."""
    posted = request.POST.get("form", "")
    enrol_form = EnrolForm(
        request.POST if posted == "enrol" else None,
        initial={"test_division": getattr(request.user, "jurisdiction", "")},
    )
    lookup_form = LookupForm(request.POST if posted == "lookup" else None)
    found: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        status = 400
        if posted == "enrol" and enrol_form.is_valid():
            data = enrol_form.cleaned_data
            try:
                permit = services.permit_enrol(
                    actor=request.user,
                    data=services.EnrolInput(
                        id_number=data["id_number"], vehicle_class=data["vehicle_class"], kind=data["kind"],
                        school_uscc=data.get("school_uscc") or "", test_division=data.get("test_division") or "",
                    ),
                    request=request,
                )  # fmt: skip
            except DomainError as error:
                add_domain_error(enrol_form, error)
                status = error.status
            else:
                messages.success(request, _("已受理，流水号：") + permit.number)
                return redirect("exams:counter_learners")
        elif posted == "lookup" and lookup_form.is_valid():
            try:
                person, permits, applications = selectors.learner_file(
                    actor=request.user, id_number=lookup_form.cleaned_data["id_number"], request=request
                )
            except DomainError as error:
                add_domain_error(lookup_form, error)
                status = error.status
            else:
                status = 200
                lookup_form = LookupForm()  # the full number is not echoed back into the page
                found = {
                    "name": mask_name(person.name),
                    "id_masked": mask_id_number(person.id_number),
                    "permits": [
                        {"p": p, "state": _state_words(LearnerPermit.State, p.state)} for p in permits
                    ],
                    "applications": [
                        {
                            "a": a,
                            "plan": _plan_row(a.plan),
                            "state": _state_words(ExamApplication.State, a.state),
                            "results": selectors.booking_results(a),
                        }
                        for a in applications
                    ],
                }
    context = {"enrol_form": enrol_form, "lookup_form": lookup_form, "found": found}
    return render(request, "exams/counter/learners.html", context, status=status)


# ---------------------------------------------------------------- counter: monitoring (X6)


@never_cache
@access_required("exams.monitoring.view")
def counter_monitoring(request: HttpRequest) -> HttpResponse:
    """Abnormal patterns of the last week or month in the jurisdiction (考试业务监管, X6). The flags
    are counts; the few rows under a flag show masked ids only. Each view is audited (X7)."""
    from django.utils import translation

    from jiaoguan.core.audit import audit_record

    from . import monitoring

    report = monitoring.flags_for(actor=request.user, period=request.GET.get("period", ""))
    english = (translation.get_language() or "").lower().startswith("en")
    audit_record(
        actor=request.user, action="view", subject=cast(Any, request.user),
        summary=f"查看考试业务监管 exam monitoring viewed ({report.period.value}, {len(report.flags)} flags)",
        request=request,
    )  # fmt: skip
    flags = [
        {"flag": f, "words": f.en if english else f.zh, "figures": sorted(f.figures.items())}
        for f in report.flags
    ]
    return render(
        request,
        "exams/counter/monitoring.html",
        {
            "report": report, "flags": flags, "periods": list(monitoring.Period),
            "period_words": report.period.label_en if english else report.period.label_zh,
            "thresholds": {
                "school_moves": monitoring.SCHOOL_MOVES_MIN, "school_days": monitoring.SCHOOL_MOVES_DAYS,
                "examiner_gap": monitoring.EXAMINER_GAP_POINTS, "examiner_min": monitoring.EXAMINER_MIN_RESULTS,
            },
        },
    )  # fmt: skip
