"""Pages for accident cases (A1-A9): the officer's case file, the head's approvals, the public
progress query, written applications and the online evidence review.

Thin views over ``accidents.services``: every change and every access decision is the
service's. The accident number and the codes travel in POST bodies only; a successful query
leaves a short-lived grant in the session, and each download asks the service again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Case, Count, IntegerField, Q, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.accounts.forms import ID_TYPE_CHOICES, add_domain_error
from jiaoguan.accounts.models import User
from jiaoguan.core.access import access_required, allowed, can
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import DIVISIONS, division_level
from jiaoguan.core.errors import DomainError, NotAllowed, NotFound, Throttled
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone

from . import rules, services
from .api import client_of
from .forms import (
    CONFIDENTIALITY_LABELS,
    EVIDENCE_KIND_LABELS,
    PERSON_TYPE_CHOICES,
    WEATHER_CHOICES,
    ApplyForm,
    CaseForm,
    CaseSearchForm,
    CertificateForm,
    CloseForm,
    DecisionForm,
    DeterminationForm,
    DocumentUploadForm,
    EvidenceAccessForm,
    EvidenceItemForm,
    ItemsSelectForm,
    PartyForm,
    QueryForm,
    ReleaseForm,
    ReviewConclusionForm,
    ReviewOpenForm,
    RevokeForm,
    StageForm,
)
from .models import (
    AccidentCase,
    EvidenceItem,
    EvidenceReview,
    QueryApplication,
    QueryCredential,
    ResultDocument,
)

# Actions of the access table (core.access) that guard these pages.
CASE_VIEW = services.CASE_VIEW
CASE_OPEN = "accidents.case.open"
RECORD_STAGE = "accidents.case.record_stage"
CASE_CLOSE = "accidents.case.close"
PARTY_ADD = "accidents.party.add"
DOCUMENT_ISSUE = "accidents.document.issue"
CREDENTIAL_REVOKE = "accidents.query_credential.revoke"
APPLICATION_REVIEW = "accidents.application.review"
EVIDENCE_MANAGE = "accidents.evidence.manage"
EVIDENCE_APPROVE = "accidents.evidence.approve"
APPLICATION_SUBMIT = "accidents.application.submit"
PROGRESS_QUERY = "accidents.progress.query"
EVIDENCE_ONLINE = "accidents.evidence.review_online"
PARTY_VIEW = services.PARTY_VIEW

GRANT_LIFETIME = timedelta(minutes=30)
QUERY_GRANT = "accidents.query_grant"
EVIDENCE_GRANT = "accidents.evidence_grant"
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
FILE_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}

ROLE_LABELS: dict[str, Promise] = {
    QueryCredential.Role.PARTY.value: gettext_lazy("当事人"),
    QueryCredential.Role.RELATIVE.value: gettext_lazy("近亲属"),
    QueryCredential.Role.AGENT.value: gettext_lazy("代理人"),
    QueryCredential.Role.OWNER.value: gettext_lazy("车辆所有人"),
    QueryCredential.Role.INSURER.value: gettext_lazy("保险公司"),
}

APPLICATION_STATES: dict[str, tuple[Promise, str]] = {
    QueryApplication.State.SUBMITTED.value: (gettext_lazy("待审核"), "amber"),
    QueryApplication.State.APPROVED.value: (gettext_lazy("已批准"), "ok"),
    QueryApplication.State.REJECTED.value: (gettext_lazy("未批准"), "red"),
}

REVIEW_STATES: dict[str, tuple[Promise, str]] = {
    EvidenceReview.State.DRAFT.value: (gettext_lazy("待选择材料"), "amber"),
    EvidenceReview.State.PENDING.value: (gettext_lazy("待负责人审批"), "amber"),
    EvidenceReview.State.APPROVED.value: (gettext_lazy("已批准"), "ok"),
    EvidenceReview.State.REJECTED.value: (gettext_lazy("未批准"), "red"),
}

ID_TYPE_LABELS: dict[str, Any] = dict(ID_TYPE_CHOICES)
PERSON_TYPE_LABELS: dict[str, Any] = dict(PERSON_TYPE_CHOICES)
WEATHER_LABELS: dict[str, Any] = {value: label for value, label in WEATHER_CHOICES if value}


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _words(zh: str, en: str) -> str:
    return en if _english() else zh


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _stage_name(stage: str) -> str:
    rule = rules.STAGES[rules.Stage(stage)]
    return _words(rule.name_zh, rule.name_en)


def _document_name(kind: str) -> str:
    zh, en = rules.DOCUMENT_NAMES[rules.DocumentKind(kind)]
    return _words(zh, en)


def _file_response(data: bytes, content_type: str, name: str, *, attachment: bool) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    extension = FILE_EXTENSIONS.get(content_type, "bin")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{name}.{extension}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _read_upload(upload: UploadedFile | None) -> tuple[bytes, str]:
    if upload is None:
        return b"", ""
    upload.seek(0)
    return upload.read(MAX_UPLOAD_BYTES + 1), upload.name or ""


# ---------------------------------------------------------------- access


def _case(request: HttpRequest, case_id: int, action: str = CASE_VIEW) -> AccidentCase:
    """The case for ``action``: one the actor cannot see is 'not found'; a refusal is the 403 page."""
    try:
        return services.case_for_officer(actor=request.user, case_id=case_id, action=action)
    except NotFound:
        raise Http404("case") from None


# ---------------------------------------------------------------- session grants


def _grant_put(request: HttpRequest, key: str, **data: Any) -> None:
    request.session.cycle_key()  # a new session id once a code has been proved
    expires = timezone.now() + GRANT_LIFETIME
    request.session[key] = {**data, "expires": int(expires.timestamp())}


def _grant_get(request: HttpRequest, key: str) -> dict[str, Any] | None:
    grant = request.session.get(key)
    if not isinstance(grant, dict):
        return None
    if int(grant.get("expires", 0)) < int(timezone.now().timestamp()):
        request.session.pop(key, None)
        return None
    return grant


def _grant_expiry(grant: dict[str, Any]) -> datetime:
    return timezone.localtime(datetime.fromtimestamp(int(grant["expires"]), tz=UTC))


# ---------------------------------------------------------------- officer: cases


def _division_choices(user: User) -> list[tuple[str, str]]:
    """Handling units the officer may open cases in: the jurisdiction first, then its counties."""
    jurisdiction = user.jurisdiction
    codes = []
    for code in DIVISIONS:
        try:
            unit = division_level(code) != "province"
        except DomainError:
            unit = False
        if unit and allowed(user, CASE_OPEN, division=code):
            codes.append(code)
    codes.sort(key=lambda code: (code != jurisdiction, code))
    return [(code, f"{DIVISIONS[code]} ({code})") for code in codes] or [(jurisdiction, jurisdiction)]


def _unit(code: str) -> str:
    return f"{DIVISIONS.get(code, '')} ({code})" if code in DIVISIONS else code


@access_required(CASE_VIEW)
def case_list(request: HttpRequest) -> HttpResponse:
    """Cases of my jurisdiction, open ones first; search by accident number."""
    user = _user(request)
    form = CaseSearchForm(request.GET or None)
    cases = services.cases_visible_to(actor=user)
    query = ""
    if form.is_bound and form.is_valid():
        query = form.cleaned_data["q"].upper().replace("-", "").replace(" ", "")
        if query:
            cases = cases.filter(number__contains=query)
    cases = (
        cases.annotate(
            closed_rank=Case(When(closed_at__isnull=True, then=0), default=1, output_field=IntegerField()),
            waiting=Count("applications", filter=Q(applications__state="submitted"), distinct=True),
        )
        .prefetch_related("stages")
        .order_by("closed_rank", "-opened_at", "-id")[:200]
    )
    rows = []
    for case in cases:
        recorded = [s.stage for s in case.stages.all()]
        latest = max(recorded, key=lambda s: rules.STAGES[rules.Stage(s)].order) if recorded else ""
        rows.append(
            {
                "number": case.number,
                "url": reverse("accidents:case", args=[case.pk]),
                "occurred_at": case.occurred_at,
                "place": case.place,
                "stage": _stage_name(latest) if latest else _("未登记"),
                "closed": case.closed_at is not None,
                "waiting": case.waiting,  # type: ignore[attr-defined]
            }
        )
    context = {
        "form": form,
        "rows": rows,
        "query": query,
        "can_open": can(user, CASE_OPEN),
        "can_approve": can(user, EVIDENCE_APPROVE),
    }
    return render(request, "accidents/cases.html", context)


@access_required(CASE_OPEN)
def case_new(request: HttpRequest) -> HttpResponse:
    """Open a general-procedure case in a unit of my jurisdiction (A1)."""
    user = _user(request)
    divisions = _division_choices(user)
    status = 200
    if request.method == "POST":
        form = CaseForm(request.POST, divisions=divisions)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = services.case_open(
                    actor=user,
                    occurred_at=data["occurred_at"],
                    place=data["place"],
                    division=data["division"],
                    weather=data["weather"] or "",
                    summary=data["summary"] or "",
                )
            except NotAllowed as error:  # a unit outside the jurisdiction: said next to the field
                form.add_error("division", error.message)
                status = error.status
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, _("已立案，事故编号 %(number)s。") % {"number": case.number})
                return redirect("accidents:case", case_id=case.pk)
    else:
        form = CaseForm(divisions=divisions, initial={"division": divisions[0][0]})
    return render(request, "accidents/case_new.html", {"form": form}, status=status)


def _allowed_stages(recorded: set[str]) -> list[tuple[str, str]]:
    """The stages the form offers now; closure is its own step with a confirmation."""
    offered = []
    for stage, _rule in sorted(rules.STAGES.items(), key=lambda item: item[1].order):
        if stage == rules.Stage.CLOSURE:
            continue
        try:
            rules.check_stage_allowed(recorded=recorded, stage=stage)
        except DomainError:
            continue
        offered.append((stage.value, _stage_name(stage)))
    return offered


def _closure(case: AccidentCase, recorded: set[str]) -> dict[str, Any]:
    """Whether the case can be closed now and, if not, why (A2)."""
    try:
        rules.check_closable(
            recorded=recorded,
            open_applications=case.applications.filter(state=QueryApplication.State.SUBMITTED).count(),
            open_reviews=case.reviews.filter(
                state__in=[EvidenceReview.State.DRAFT, EvidenceReview.State.PENDING]
            ).count(),
        )
    except DomainError as error:
        return {"ready": False, "why": error.message, "url": ""}
    return {"ready": True, "why": "", "url": reverse("accidents:case_close", args=[case.pk])}


def _credential_row(
    credential: QueryCredential, case: AccidentCase, errors: dict[str, str]
) -> dict[str, Any]:
    holder = credential.holder_name if credential.role == "insurer" else mask_name(credential.holder_name)
    return {
        "id": credential.pk,
        "role": ROLE_LABELS.get(credential.role, credential.role),
        "holder": holder,
        "issued_at": credential.issued_at,
        "revoked": credential.revoked_at is not None,
        "revoked_at": credential.revoked_at,
        "revoked_reason": credential.revoked_reason,
        "pdf_url": reverse("accidents:credential_pdf", args=[case.pk, credential.pk]),
        "revoke_url": reverse("accidents:credential_revoke", args=[case.pk, credential.pk]),
        "error": errors.get(f"credential-{credential.pk}", ""),
    }


def _item_row(item: EvidenceItem, case: AccidentCase) -> dict[str, Any]:
    shareable = item.confidentiality == rules.Confidentiality.NONE
    return {
        "id": item.pk,
        "kind": EVIDENCE_KIND_LABELS.get(item.kind, item.kind),
        "title": item.title,
        "confidentiality": CONFIDENTIALITY_LABELS.get(item.confidentiality, item.confidentiality),
        "shareable": shareable,
        "reason": ""
        if shareable
        else _("%(why)s，不能网上查阅") % {"why": CONFIDENTIALITY_LABELS.get(item.confidentiality, "")},
        "url": reverse("accidents:evidence_view", args=[case.pk, item.pk]),
        "added_at": item.added_at,
    }


def _case_context(
    request: HttpRequest,
    case: AccidentCase,
    *,
    forms: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    selected: dict[int, list[int]] | None = None,
) -> dict[str, Any]:
    """Everything on the case page; bound forms with errors replace the fresh ones."""
    user = _user(request)
    forms = forms or {}
    errors = errors or {}
    selected = selected or {}
    closed = case.closed_at is not None
    # What this actor may do on this case, from the access table; a button it may not use is not drawn.
    may = {
        key: not closed and allowed(user, name, division=case.division)
        for key, name in (
            ("add_party", PARTY_ADD),
            ("record_stage", RECORD_STAGE),
            ("close", CASE_CLOSE),
            ("documents", DOCUMENT_ISSUE),
            ("review_applications", APPLICATION_REVIEW),
            ("evidence", EVIDENCE_MANAGE),
        )
    }
    # Revoking only takes access away, so it stays possible after closure.
    may["revoke"] = allowed(user, CREDENTIAL_REVOKE, division=case.division)
    parties = list(case.parties.select_related("insurer", "licence").order_by("label"))
    credentials = list(QueryCredential.objects.filter(case=case).order_by("issued_at", "id"))
    stages = list(case.stages.select_related("recorded_by").all())
    recorded = {s.stage for s in stages}
    documents = list(case.documents.order_by("issued_on", "id").defer("content"))
    items = list(case.evidence.order_by("added_at", "id").defer("content"))
    labels = [p.label for p in parties]

    party_rows = [
        {
            "id": p.pk,
            "label": p.label,
            "name": mask_name(p.name),
            "id_type": ID_TYPE_LABELS.get(p.id_type, p.id_type),
            "id_number": mask_id_number(p.id_number),
            "phone": mask_phone(p.phone) if p.phone else "",
            "plate": p.plate,
            "vehicle_linked": p.vehicle_id is not None,
            "licence": p.licence.classes if p.licence else "",
            "insurer": p.insurer.name if p.insurer else "",
            "credentials": [_credential_row(c, case, errors) for c in credentials if c.party_id == p.pk],
        }
        for p in parties
    ]
    holder_credentials = [_credential_row(c, case, errors) for c in credentials if c.party_id is None]

    stage_rows = [
        {
            "name": _stage_name(s.stage),
            "happened_on": s.happened_on,
            "public_note": s.public_note,
            "internal_note": s.internal_note,
            "recorded_by": s.recorded_by.username,
            "recorded_at": s.recorded_at,
        }
        for s in stages
    ]
    offered = [] if closed else _allowed_stages(recorded)

    document_rows = [
        {
            "id": d.pk,
            "name": _document_name(d.kind),
            "number": d.number,
            "issued_on": d.issued_on,
            "uploaded": d.uploaded,
            "released": d.released,
            "url": reverse("accidents:document", args=[d.pk]),
            "release_url": reverse("accidents:document_release", args=[case.pk, d.pk]),
            "error": errors.get(f"document-{d.pk}", ""),
        }
        for d in documents
    ]
    issue = {
        kind.value: {
            "allowed": rules.DOCUMENT_STAGE[kind].value in recorded,
            "needs": _stage_name(rules.DOCUMENT_STAGE[kind]),
            "url": reverse("accidents:document_issue", args=[case.pk, kind.value]),
        }
        for kind in rules.DocumentKind
    }

    applications = []
    for a in (
        QueryApplication.objects.filter(case=case)
        .select_related("applicant__organisation", "applicant__person")
        .defer("document")
        .order_by("-submitted_at", "-id")
    ):
        applicant = a.applicant
        if applicant.organisation is not None:
            who = applicant.organisation.name
        elif applicant.person is not None:
            who = f"{mask_name(applicant.person.name)}（{mask_id_number(applicant.person.id_number)}）"
        else:
            who = mask_name(applicant.first_name) or applicant.username
        state, level = APPLICATION_STATES.get(a.state, (a.state, "amber"))
        applications.append(
            {
                "id": a.pk,
                "who": who,
                "role": ROLE_LABELS.get(a.role, a.role),
                "reason": a.reason,
                "document_name": a.document_name,
                "document_url": reverse("accidents:application_document", args=[case.pk, a.pk]),
                "submitted_at": a.submitted_at,
                "state": a.state,
                "state_words": state,
                "level": level,
                "note": a.review_note,
                "reviewed_at": a.reviewed_at,
                "review_url": reverse("accidents:application_review", args=[case.pk, a.pk]),
                "error": errors.get(f"application-{a.pk}", ""),
            }
        )

    item_rows = [_item_row(item, case) for item in items]
    review_rows = []
    for r in (
        EvidenceReview.objects.filter(case=case)
        .select_related("party", "decided_by")
        .prefetch_related("items")
        .order_by("recorded_at", "id")
    ):
        state, level = REVIEW_STATES.get(r.state, (r.state, "amber"))
        chosen = selected.get(r.pk) or [i.pk for i in r.items.all()]
        review_rows.append(
            {
                "id": r.pk,
                "party": f"{r.party.label} {mask_name(r.party.name)}",
                "person_type": PERSON_TYPE_LABELS.get(r.person_type, r.person_type),
                "id_type": ID_TYPE_LABELS.get(r.id_type, r.id_type),
                "id_number": mask_id_number(r.id_number),
                "phone": mask_phone(r.phone),
                "state": r.state,
                "state_words": state,
                "level": level,
                "selectable": r.state in (EvidenceReview.State.DRAFT, EvidenceReview.State.REJECTED),
                "selected": chosen,
                "items": [i.title for i in r.items.all()],
                "decision_note": r.decision_note,
                "decided_at": r.decided_at,
                "pdf_url": reverse("accidents:review_pdf", args=[r.pk]),
                "select_url": reverse("accidents:review_items", args=[case.pk, r.pk]),
                "error": errors.get(f"review-{r.pk}", ""),
            }
        )
    delivered = any(d.released and d.kind in ("determination", "certificate") for d in documents)
    evidence_enabled = services.service_open(case.number[:6], rules.EVIDENCE_REVIEW)
    query_enabled = services.service_open(case.number[:6], rules.ONLINE_QUERY)
    attempts = [
        {"at": a.at, "client": a.client} for a in services.failed_attempts(actor=user, case_id=case.pk)
    ]

    fresh: dict[str, Any] = {
        "party_form": PartyForm(initial={"label": _next_label(labels)}),
        "stage_form": StageForm(stages=offered, initial={"happened_on": timezone.localdate()}),
        "determination_form": DeterminationForm(labels=labels),
        "certificate_form": CertificateForm(),
        "conclusion_form": ReviewConclusionForm(),
        "upload_form": DocumentUploadForm(initial={"issued_on": timezone.localdate()}),
        "evidence_form": EvidenceItemForm(),
        "review_form": ReviewOpenForm(parties=[(p.pk, f"{p.label} {mask_name(p.name)}") for p in parties]),
    }
    fresh.update(forms)
    return {
        "case": case,
        "facts": {
            "number": case.number,
            "occurred_at": case.occurred_at,
            "place": case.place,
            "weather": WEATHER_LABELS.get(case.weather, case.weather),
            "unit": _unit(case.division),
            "officer": case.officer.username,
            "opened_at": case.opened_at,
            "closed_at": case.closed_at,
            "closed_by": case.closed_by.username if case.closed_by else "",
            "closure_summary": case.closure_summary,
            "summary": case.summary,
        },
        "closed": closed,
        "parties": party_rows,
        "holder_credentials": holder_credentials,
        "stages": stage_rows,
        "allowed_stages": offered,
        "closure": _closure(case, recorded) if not closed else None,
        "may": may,
        "documents": document_rows,
        "issue": issue,
        "determination_fields": [
            fresh["determination_form"][f"resp_{index}"] for index in range(len(labels))
        ],
        "applications": applications,
        "items": item_rows,
        "reviews": review_rows,
        "delivered": delivered,
        "evidence_enabled": evidence_enabled,
        "query_enabled": query_enabled,
        "attempts": attempts,
        **fresh,
    }


LABELS = "甲乙丙丁戊己庚辛壬癸"


def _next_label(labels: list[str]) -> str:
    for label in LABELS:
        if label not in labels:
            return label
    return ""


def _case_page(request: HttpRequest, case: AccidentCase, *, status: int = 200, **extra: Any) -> HttpResponse:
    context_keys = ("forms", "errors", "selected")
    context = _case_context(request, case, **{k: extra.pop(k) for k in context_keys if k in extra})
    context.update(extra)
    response = render(request, "accidents/case_detail.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@access_required(CASE_VIEW)
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case file: parties and credentials, stages, documents, applications, evidence, attempts."""
    return _case_page(request, _case(request, case_id))


def _back(case: AccidentCase, anchor: str) -> HttpResponse:
    return redirect(reverse("accidents:case", args=[case.pk]) + f"#{anchor}")


@require_POST
@access_required(PARTY_ADD)
def party_add(request: HttpRequest, case_id: int) -> HttpResponse:
    """Add a party; their query credential is issued at once and its code shown this one time (A4)."""
    case = _case(request, case_id, PARTY_ADD)
    form = PartyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            party, credential, code = services.party_add(
                actor=request.user,
                case_id=case.pk,
                label=data["label"],
                name=data["name"],
                id_type=data["id_type"],
                id_number=data["id_number"],
                phone=data["phone"] or "",
                plate=data["plate"] or "",
                insurer_uscc=data["insurer_uscc"] or "",
            )
        except DomainError as error:
            add_domain_error(form, error, {"mobile": "phone", "plate_number": "plate"})
        else:
            case.refresh_from_db()
            new_code = {
                "label": party.label,
                "name": mask_name(party.name),
                "code": rules.code_display(code),
                "pdf_url": reverse("accidents:credential_pdf", args=[case.pk, credential.pk]),
            }
            return _case_page(request, case, new_code=new_code)
    return _case_page(request, case, forms={"party_form": form}, open_section="parties")


@require_POST
@access_required(RECORD_STAGE)
def stage_add(request: HttpRequest, case_id: int) -> HttpResponse:
    """Record the next stage as it happens (A2); closure ends the case."""
    case = _case(request, case_id, RECORD_STAGE)
    recorded = set(case.stages.values_list("stage", flat=True))
    offered = [] if case.closed_at else _allowed_stages(recorded)
    # Every stage is a choice here so that the rules, not the form, explain a refusal.
    choices = [(s.value, _stage_name(s)) for s in rules.Stage]
    form = StageForm(request.POST, stages=choices)
    if form.is_valid():
        data = form.cleaned_data
        try:
            record = services.stage_record(
                actor=request.user,
                case_id=case.pk,
                stage=data["stage"],
                happened_on=data["happened_on"],
                public_note=data["public_note"] or "",
                internal_note=data["internal_note"] or "",
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("已登记“%(stage)s”。") % {"stage": _stage_name(record.stage)})
            return _back(case, "stages")
    form.fields["stage"].choices = offered  # type: ignore[attr-defined]
    return _case_page(request, case, forms={"stage_form": form}, open_section="stages")


ISSUE_FORMS: dict[str, tuple[str, type]] = {
    rules.DocumentKind.DETERMINATION.value: ("determination_form", DeterminationForm),
    rules.DocumentKind.CERTIFICATE.value: ("certificate_form", CertificateForm),
    rules.DocumentKind.REVIEW_CONCLUSION.value: ("conclusion_form", ReviewConclusionForm),
}


@require_POST
@access_required(DOCUMENT_ISSUE)
def document_issue(request: HttpRequest, case_id: int, kind: str) -> HttpResponse:
    """Generate a result document from the case data as a Chinese PDF (A3)."""
    case = _case(request, case_id, DOCUMENT_ISSUE)
    if kind not in ISSUE_FORMS:
        raise Http404("kind")
    name, form_class = ISSUE_FORMS[kind]
    if form_class is DeterminationForm:
        labels = list(case.parties.order_by("label").values_list("label", flat=True))
        form: Any = DeterminationForm(request.POST, labels=labels)
    else:
        form = form_class(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if kind == rules.DocumentKind.DETERMINATION:
                document = services.document_issue(
                    actor=request.user,
                    case_id=case.pk,
                    kind=kind,
                    facts=data["facts"],
                    evidence=data["evidence"] or "",
                    responsibility=form.responsibility(),
                )
            elif kind == rules.DocumentKind.CERTIFICATE:
                document = services.document_issue(
                    actor=request.user, case_id=case.pk, kind=kind, facts=data["facts"]
                )
            else:
                document = services.document_issue(
                    actor=request.user,
                    case_id=case.pk,
                    kind=kind,
                    facts="",
                    applicant=data["applicant"],
                    request_text=data["request_text"],
                    conclusion=data["conclusion"],
                )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request,
                _("已制作%(name)s（%(number)s），核对无误后请点击“送达”。")
                % {"name": _document_name(document.kind), "number": document.number},
            )
            return _back(case, "documents")
    return _case_page(request, case, forms={name: form}, open_section="documents")


@require_POST
@access_required(DOCUMENT_ISSUE)
def document_upload(request: HttpRequest, case_id: int) -> HttpResponse:
    """Attach a scan of a document issued on paper (A3)."""
    case = _case(request, case_id, DOCUMENT_ISSUE)
    form = DocumentUploadForm(request.POST, request.FILES)
    if form.is_valid():
        data, name = _read_upload(form.cleaned_data["file"])
        try:
            document = services.document_upload(
                actor=request.user,
                case_id=case.pk,
                kind=form.cleaned_data["kind"],
                number=form.cleaned_data["number"],
                data=data,
                name=name,
                issued_on=form.cleaned_data["issued_on"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("已上传%(name)s。") % {"name": _document_name(document.kind)})
            return _back(case, "documents")
    return _case_page(request, case, forms={"upload_form": form}, open_section="documents")


@never_cache
@access_required(DOCUMENT_ISSUE)
def document_release(request: HttpRequest, case_id: int, document_id: int) -> HttpResponse:
    """Deliver a document (送达): a confirmation with how it was delivered, then the parties and
    approved applicants can download it. It cannot be taken back (A3)."""
    case = _case(request, case_id, DOCUMENT_ISSUE)
    document = (
        ResultDocument.objects.filter(pk=document_id, case=case)
        .defer("content", "third_party_content")
        .first()
    )
    if document is None:
        raise Http404("document")
    if document.released:
        messages.info(request, _("该文书已送达。"))
        return _back(case, "documents")
    status = 200
    if _first_step(request):
        form = ReleaseForm()
    else:
        form = ReleaseForm(request.POST)
        if form.is_valid():
            try:
                services.document_release(
                    actor=request.user,
                    document_id=document_id,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except DomainError as error:
                add_domain_error(form, error)
                status = error.status if error.field is None else 200
            else:
                messages.success(
                    request,
                    _("%(name)s（%(number)s）已送达，持查询凭证的人现在可以查看和下载。")
                    % {"name": _document_name(document.kind), "number": document.number},
                )
                return _back(case, "documents")
    return _confirm_page(
        request, case, form=form, title=_("确认送达文书"),
        lead=_("送达后，当事人和获批的申请人可以在网上查看和下载这份文书，复核申请期限自送达之日起计算。送达不能撤回，文书也不能再修改。"),
        facts=[
            (_("事故编号"), case.number),
            (_("文书"), f"{_document_name(document.kind)}（{document.number}）"),
            (_("制作日期"), document.issued_on.strftime("%Y-%m-%d")),
        ],
        button=_("确认送达"), anchor="documents", status=status,
    )  # fmt: skip


@never_cache
@access_required(CASE_VIEW)
def document_view(request: HttpRequest, document_id: int) -> HttpResponse:
    """A result document, for the officers of the case's jurisdiction."""
    document = ResultDocument.objects.filter(pk=document_id).first()
    if document is None:
        raise Http404("document")
    _case(request, document.case_id)
    # The parties' copy names them in full: a staff member's look at it is personal data read.
    audit_record(
        actor=request.user, action="view", subject=document, summary=f"查看事故文书 {document.number}",
        request=request,
    )  # fmt: skip
    name = f"{document.kind}-{document.pk}"
    return _file_response(bytes(document.content), document.content_type, name, attachment=False)


@never_cache
@access_required(CASE_VIEW)
def credential_pdf(request: HttpRequest, case_id: int, credential_id: int) -> HttpResponse:
    """The printable query credential with its code (A5)."""
    case = _case(request, case_id)
    if not QueryCredential.objects.filter(pk=credential_id, case=case).exists():
        raise Http404("credential")
    try:
        pdf = services.query_credential_pdf(actor=request.user, credential_id=credential_id)
    except NotFound:
        raise Http404("credential") from None
    credential = QueryCredential.objects.get(pk=credential_id)
    audit_record(
        actor=request.user, action="view", subject=credential, summary="打印查询凭证", request=request
    )
    name = f"query-credential-{case.number}-{credential_id}"
    return _file_response(pdf, "application/pdf", name, attachment=False)


def _confirm_page(
    request: HttpRequest, case: AccidentCase, *, form: Any, title: Any, lead: Any, facts: list[tuple[Any, Any]],
    button: Any, anchor: str, status: int = 200,
) -> HttpResponse:  # fmt: skip
    """The confirmation page of an irreversible step: what it does, the reason asked for, a tick."""
    context = {
        "case": case,
        "form": form,
        "title": title,
        "lead": lead,
        "facts": facts,
        "button": button,
        "back_url": reverse("accidents:case", args=[case.pk]) + f"#{anchor}",
    }
    response = render(request, "accidents/confirm.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _first_step(request: HttpRequest) -> bool:
    """Anything but a POST from the confirmation page itself (the short form on the case page, a link)."""
    return request.method != "POST" or request.POST.get("step") != "confirm"


@never_cache
@access_required(CREDENTIAL_REVOKE)
def credential_revoke(request: HttpRequest, case_id: int, credential_id: int) -> HttpResponse:
    """Revoke a query credential: the reason and a confirmation, then the code stops working (A4)."""
    case = _case(request, case_id, CREDENTIAL_REVOKE)
    credential = QueryCredential.objects.filter(pk=credential_id, case=case).first()
    if credential is None:
        raise Http404("credential")
    if credential.revoked_at is not None:
        messages.info(request, _("该查询凭证已撤销。"))
        return _back(case, "parties")
    if _first_step(request):
        form = RevokeForm(initial={"reason": request.POST.get("reason", "")[:200]})
    else:
        form = RevokeForm(request.POST)
        if form.is_valid():
            try:
                services.query_credential_revoke(
                    actor=request.user, credential_id=credential.pk, reason=form.cleaned_data["reason"],
                    request=request,
                )  # fmt: skip
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, _("查询凭证已撤销，原查询码不能再使用。"))
                return _back(case, "parties")
    holder = credential.holder_name if credential.role == "insurer" else mask_name(credential.holder_name)
    return _confirm_page(
        request, case, form=form, title=_("确认撤销查询凭证"),
        lead=_("撤销后，持有人不能再用原查询码查询本事故，已打印的凭证和二维码同时失效。此操作不能恢复。"),
        facts=[
            (_("事故编号"), case.number),
            (_("持有人"), f"{holder}（{ROLE_LABELS.get(credential.role, credential.role)}）"),
            (_("签发时间"), timezone.localtime(credential.issued_at).strftime("%Y-%m-%d %H:%M")),
        ],
        button=_("确认撤销"), anchor="parties",
    )  # fmt: skip


@never_cache
@access_required(CASE_CLOSE)
def case_close(request: HttpRequest, case_id: int) -> HttpResponse:
    """Close the case (事故结案, A2): a closing summary and a confirmation; it cannot be undone."""
    case = _case(request, case_id, CASE_CLOSE)
    if case.closed_at is not None:
        messages.info(request, _("案件已结案。"))
        return _back(case, "stages")
    status = 200
    if _first_step(request):
        form = CloseForm(
            initial={"closed_on": timezone.localdate(), "summary": request.POST.get("summary", "")[:500]}
        )
    else:
        form = CloseForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.case_close(
                    actor=request.user, case_id=case.pk, closed_on=data["closed_on"], summary=data["summary"],
                    public_note=data["public_note"] or "", request=request,
                )  # fmt: skip
            except DomainError as error:
                add_domain_error(form, error)
                status = error.status if error.field is None else 200
            else:
                messages.success(request, _("已结案，事故编号 %(number)s。") % {"number": case.number})
                return _back(case, "stages")
    recorded = set(case.stages.values_list("stage", flat=True))
    closure = _closure(case, recorded)
    if not closure["ready"] and not form.errors:
        form.add_error(None, closure["why"])
    return _confirm_page(
        request, case, form=form, title=_("确认结案"),
        lead=_("结案后不能再登记处理阶段、添加当事人、制作或送达文书、上传证据材料，也不再受理网上查询申请。此操作不能恢复。"),
        facts=[
            (_("事故编号"), case.number),
            (_("事故地点"), case.place),
            (_("已登记阶段"), "、".join(_stage_name(s.stage) for s in case.stages.all()) or _("无")),
        ],
        button=_("确认结案"), anchor="stages", status=status,
    )  # fmt: skip


@require_POST
@access_required(APPLICATION_REVIEW)
def application_review(request: HttpRequest, case_id: int, application_id: int) -> HttpResponse:
    """Approve or reject a written application; on approval the applicant gets a credential (A4)."""
    case = _case(request, case_id, APPLICATION_REVIEW)
    if not QueryApplication.objects.filter(pk=application_id, case=case).exists():
        raise Http404("application")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, errors={f"application-{application_id}": _("请选择批准或不批准。")})
    approve = form.cleaned_data["decision"] == "approve"
    try:
        services.query_application_review(
            actor=request.user, application_id=application_id, approve=approve, note=form.cleaned_data["note"],
            request=request,
        )  # fmt: skip
    except DomainError as error:
        return _case_page(request, case, errors={f"application-{application_id}": error.message})
    if approve:
        messages.success(request, _("已批准，申请人可在“我的事故查询申请”中下载查询凭证。"))
    else:
        messages.success(request, _("已不批准，申请人会看到原因。"))
    return _back(case, "applications")


@never_cache
@access_required(CASE_VIEW)
def application_document(request: HttpRequest, case_id: int, application_id: int) -> HttpResponse:
    """The applicant's supporting document, to the case's officers; every view is audited."""
    try:
        application = services.application_document_for_officer(
            actor=request.user, case_id=case_id, application_id=application_id, request=request
        )
    except NotFound:
        raise Http404("application") from None
    name = f"application-{application.pk}"
    return _file_response(bytes(application.document), application.document_type, name, attachment=False)


@require_POST
@access_required(EVIDENCE_MANAGE)
def evidence_add(request: HttpRequest, case_id: int) -> HttpResponse:
    """Upload an evidence item with its kind and confidentiality (A7)."""
    case = _case(request, case_id, EVIDENCE_MANAGE)
    form = EvidenceItemForm(request.POST, request.FILES)
    if form.is_valid():
        data, name = _read_upload(form.cleaned_data["file"])
        try:
            item = services.evidence_item_add(
                actor=request.user,
                case_id=case.pk,
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
                data=data,
                name=name,
                confidentiality=form.cleaned_data["confidentiality"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("已添加证据材料“%(title)s”。") % {"title": item.title})
            return _back(case, "evidence")
    return _case_page(request, case, forms={"evidence_form": form}, open_section="evidence")


@never_cache
@access_required(CASE_VIEW)
def evidence_view(request: HttpRequest, case_id: int, item_id: int) -> HttpResponse:
    """An evidence item as stored, to the case's officers and the head; every view is audited."""
    try:
        item = services.evidence_item_for_officer(
            actor=request.user, case_id=case_id, item_id=item_id, request=request
        )
    except NotFound:
        raise Http404("item") from None
    return _file_response(bytes(item.content), item.content_type, f"evidence-{item.pk}", attachment=False)


@require_POST
@access_required(EVIDENCE_MANAGE)
def review_open(request: HttpRequest, case_id: int) -> HttpResponse:
    """Record the applicant's identity; the review code is shown this one time (A6)."""
    case = _case(request, case_id, EVIDENCE_MANAGE)
    parties = [(p.pk, f"{p.label} {mask_name(p.name)}") for p in case.parties.order_by("label")]
    form = ReviewOpenForm(request.POST, parties=parties)
    if form.is_valid():
        data = form.cleaned_data
        try:
            review, code = services.evidence_review_open(
                actor=request.user,
                case_id=case.pk,
                party_id=data["party"],
                person_type=data["person_type"],
                id_type=data["id_type"],
                id_number=data["id_number"],
                phone=data["phone"],
            )
        except DomainError as error:
            add_domain_error(form, error, {"party_id": "party", "mobile": "phone"})
        else:
            new_review = {
                "party": f"{review.party.label} {mask_name(review.party.name)}",
                "person_type": PERSON_TYPE_LABELS.get(review.person_type, review.person_type),
                "code": rules.code_display(code),
                "pdf_url": reverse("accidents:review_pdf", args=[review.pk]),
            }
            return _case_page(request, case, new_review=new_review)
    return _case_page(request, case, forms={"review_form": form}, open_section="evidence")


@require_POST
@access_required(EVIDENCE_MANAGE)
def review_items(request: HttpRequest, case_id: int, review_id: int) -> HttpResponse:
    """Tick the items to share; the service refuses any confidential one (A7, A8)."""
    case = _case(request, case_id, EVIDENCE_MANAGE)
    if not EvidenceReview.objects.filter(pk=review_id, case=case).exists():
        raise Http404("review")
    item_ids = list(case.evidence.values_list("pk", flat=True))
    form = ItemsSelectForm(request.POST, item_ids=item_ids)
    key = f"review-{review_id}"
    if not form.is_valid():
        message = "".join(str(e) for e in form.errors.get("items", [])) or _("请至少勾选一项材料。")
        return _case_page(request, case, errors={key: message})
    try:
        services.evidence_items_select(
            actor=request.user, review_id=review_id, item_ids=form.cleaned_data["items"]
        )
    except DomainError as error:
        return _case_page(
            request, case, errors={key: error.message}, selected={review_id: form.cleaned_data["items"]}
        )
    messages.success(request, _("已提交事故处理部门负责人审批，批准后当事人即可网上查阅。"))
    return _back(case, "evidence")


@never_cache
@access_required(CASE_VIEW)
def review_pdf(request: HttpRequest, review_id: int) -> HttpResponse:
    """The printable evidence review credential with the review code (A6)."""
    try:
        pdf = services.review_credential_pdf(actor=request.user, review_id=review_id)
    except NotFound:
        raise Http404("review") from None
    review = EvidenceReview.objects.get(pk=review_id)
    audit_record(
        actor=request.user,
        action="view",
        subject=review,
        subject_person_id=review.party.person_id,
        summary="打印证据材料网上查阅凭证",
        request=request,
    )
    return _file_response(pdf, "application/pdf", f"review-credential-{review_id}", attachment=False)


# ---------------------------------------------------------------- head of the accident unit


def _approval_rows(user: User, errors: dict[str, str]) -> list[dict[str, Any]]:
    reviews = (
        services.reviews_for_approval(actor=user)
        .filter(state=EvidenceReview.State.PENDING)
        .select_related("case", "party", "recorded_by")
        .prefetch_related("items")
        .order_by("recorded_at", "id")
    )
    rows = []
    for r in reviews:
        rows.append(
            {
                "id": r.pk,
                "number": r.case.number,
                "case_url": reverse("accidents:case", args=[r.case_id]),
                "party": f"{r.party.label} {mask_name(r.party.name)}",
                "person_type": PERSON_TYPE_LABELS.get(r.person_type, r.person_type),
                "id_number": mask_id_number(r.id_number),
                "recorded_by": r.recorded_by.username,
                "recorded_at": r.recorded_at,
                "items": [_item_row(i, r.case) for i in r.items.all()],
                "url": reverse("accidents:approval_decide", args=[r.pk]),
                "error": errors.get(f"review-{r.pk}", ""),
            }
        )
    return rows


def _approvals_page(request: HttpRequest, errors: dict[str, str] | None = None) -> HttpResponse:
    user = _user(request)
    decided = (
        services.reviews_for_approval(actor=user)
        .filter(decided_by__isnull=False)
        .select_related("case", "party", "decided_by")
        .order_by("-decided_at", "-id")[:20]
    )
    recent = [
        {
            "number": r.case.number,
            "party": f"{r.party.label} {mask_name(r.party.name)}",
            "state_words": REVIEW_STATES[r.state][0],
            "level": REVIEW_STATES[r.state][1],
            "decided_at": r.decided_at,
            "decided_by": r.decided_by.username if r.decided_by else "",
            "note": r.decision_note,
        }
        for r in decided
    ]
    context = {"rows": _approval_rows(user, errors or {}), "recent": recent}
    return render(request, "accidents/approvals.html", context)


@never_cache
@access_required(EVIDENCE_APPROVE)
def approvals(request: HttpRequest) -> HttpResponse:
    """Evidence reviews of my jurisdiction awaiting approval, with the items selected (A8)."""
    return _approvals_page(request)


@require_POST
@access_required(EVIDENCE_APPROVE)
def approval_decide(request: HttpRequest, review_id: int) -> HttpResponse:
    form = DecisionForm(request.POST)
    key = f"review-{review_id}"
    if not form.is_valid():
        return _approvals_page(request, {key: _("请选择批准或不批准。")})
    approve = form.cleaned_data["decision"] == "approve"
    try:
        review = services.evidence_review_decide(
            actor=request.user, review_id=review_id, approve=approve, note=form.cleaned_data["note"],
            request=request,
        )  # fmt: skip
    except NotFound:
        raise Http404("review") from None
    except DomainError as error:
        return _approvals_page(request, {key: error.message})
    if approve:
        text = _("已批准事故 %(number)s 的证据材料查阅，当事人现在可以网上查阅。")
    else:
        text = _("已不批准事故 %(number)s 的证据材料查阅，办案民警会看到原因。")
    messages.success(request, text % {"number": review.case.number})
    return redirect("accidents:approvals")


# ---------------------------------------------------------------- public progress query


def _unavailable(request: HttpRequest, error: DomainError, service: str, number: str) -> HttpResponse:
    """The service is not yet open in the province of the case's handling unit (A9)."""
    province = DIVISIONS.get(f"{number.strip()[:2]}0000", "") if number.strip()[:2].isdigit() else ""
    context = {"error": error, "service": service, "province": province}
    return render(request, "accidents/unavailable.html", context, status=error.status)


def _throttled(request: HttpRequest, template: str, form: Any, error: Throttled) -> HttpResponse:
    unlock_at = timezone.localtime() + timedelta(seconds=error.retry_after)
    context = {"form": form, "throttled": error, "unlock_at": unlock_at}
    response = render(request, template, context, status=error.status)
    response["Retry-After"] = str(error.retry_after)
    return response


def _challenge_page(
    request: HttpRequest, template: str, form: Any, error: rules.ChallengeRequired
) -> HttpResponse:
    """The form again with the proof of work its script does before sending it once more (A5)."""
    context = {"form": form, "challenge": error.detail, "challenge_error": error}
    return render(request, template, context, status=error.status)


def _proof_of(request: HttpRequest) -> dict[str, str]:
    """The proof of work a page sends with the form after a challenge (empty before one)."""
    return {
        "challenge": str(request.POST.get("challenge", ""))[:200],
        "solution": str(request.POST.get("solution", ""))[: rules.CHALLENGE_SOLUTION_MAX],
    }


def _qr_text(form: QueryForm) -> str:
    """The QR text pasted, or read from the uploaded photo; errors go on the form."""
    from jiaoguan.credentials import render as qr_render

    upload = form.cleaned_data.get("qr_photo")
    if upload:
        upload.seek(0)
        data = upload.read(qr_render.MAX_IMAGE_BYTES + 1)
        try:
            found = qr_render.decode_qr_image(data)
        except ValueError as error:
            if "too large" in str(error):
                form.add_error("qr_photo", _("照片太大，请上传8MB以内、长宽不超过4000像素的照片。"))
            else:
                form.add_error("qr_photo", _("无法读取该文件，请上传二维码的照片或截图（PNG、JPEG或WebP）。"))
            return ""
        known = [text for text in found if text.upper().startswith("AQ1:")]
        if not known:
            form.add_error(
                "qr_photo", _("照片中没有找到查询凭证的二维码，请重拍，或直接输入事故编号和查询码。")
            )
            return ""
        return known[0]
    return form.cleaned_data.get("qr_text") or ""


def _from_qr(form: QueryForm, text: str) -> tuple[str, str]:
    """Accident number and code from a signed AQ1 QR; an invalid one is an error on the form."""
    from jiaoguan.credentials.keys import trusted_key
    from jiaoguan.credentials.token import TokenRejected, decode_and_verify

    field = "qr_photo" if form.cleaned_data.get("qr_photo") else "qr_text"
    try:
        decoded = decode_and_verify(text, keys=trusted_key, now=int(timezone.now().timestamp()))
    except TokenRejected as error:
        form.add_error(field, _words(error.message_zh, error.message_en))
        return "", ""
    except Exception:  # any other unreadable input is answered the same way
        form.add_error(field, _("无法识别该二维码，请直接输入事故编号和查询码。"))
        return "", ""
    if decoded.schema.prefix != "AQ1":
        form.add_error(field, _("这不是事故查询凭证的二维码。"))
        return "", ""
    return str(decoded.data.get("number", "")), str(decoded.data.get("code", ""))


@never_cache
@access_required(PROGRESS_QUERY)
def query(request: HttpRequest) -> HttpResponse:
    """Accident number plus query code (or the credential's QR) -> progress; POST only (A5)."""
    if request.method != "POST":
        grant = _grant_get(request, QUERY_GRANT)
        context = {
            "form": QueryForm(),
            "has_grant": grant is not None,
            "may_mine": can(request.user, PARTY_VIEW),
        }
        return render(request, "accidents/query.html", context)
    form = QueryForm(request.POST, request.FILES)
    if form.is_valid():
        text = _qr_text(form)
        proven = bool(text)
        if text:
            number, code = _from_qr(form, text)
        else:
            number, code = form.cleaned_data["accident_number"], form.cleaned_data["code"]
            if not form.errors:
                if not number:
                    form.add_error("accident_number", _("请填写事故编号。"))
                if not code:
                    form.add_error("code", _("请填写查询码。"))
        if not form.errors:
            try:
                result = services.progress_query(
                    accident_number=number, code=code, client=client_of(request), proven=proven,
                    **_proof_of(request),
                )  # fmt: skip
            except Throttled as error:
                return _throttled(request, "accidents/query.html", form, error)
            except rules.ChallengeRequired as error:
                return _challenge_page(request, "accidents/query.html", form, error)
            except NotAllowed as error:
                if error.code == "accidents.service_unavailable":
                    return _unavailable(request, error, "query", number)
                add_domain_error(form, error)
            except DomainError as error:
                add_domain_error(form, error)
            else:
                _grant_put(request, QUERY_GRANT, number=result.number, credential=result.credential_id)
                return redirect("accidents:progress")
    return render(request, "accidents/query.html", {"form": form, "may_mine": can(request.user, PARTY_VIEW)})


def _granted_credential(request: HttpRequest) -> QueryCredential | None:
    grant = _grant_get(request, QUERY_GRANT)
    if grant is None:
        return None
    credential = (
        QueryCredential.objects.select_related("case")
        .filter(
            pk=int(grant.get("credential", 0)), revoked_at__isnull=True, case__number=str(grant.get("number"))
        )
        .first()
    )
    if credential is None:
        request.session.pop(QUERY_GRANT, None)
    return credential


def _timeline(result: services.Progress, url_of: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Stages and released documents of a progress answer, in the page's language."""
    stages = [
        {"name": _words(s["name_zh"], s["name_en"]), "happened_on": s["happened_on"], "note": s["note"]}
        for s in result.stages
    ]
    documents = [
        {
            "name": _words(d["name_zh"], d["name_en"]),
            "number": d["number"],
            "issued_on": d["issued_on"],
            "url": url_of(d),
        }
        for d in result.documents
    ]
    return stages, documents


@never_cache
@access_required(PROGRESS_QUERY)
def progress(request: HttpRequest) -> HttpResponse:
    """The case's stages with public notes and the released documents, while the grant lasts."""
    credential = _granted_credential(request)
    if credential is None:
        messages.info(request, _("请输入事故编号和查询码。查询结果保留30分钟。"))
        return redirect("accidents:query")
    result = services.progress_of(case=credential.case, credential=credential)
    grant = _grant_get(request, QUERY_GRANT) or {}
    stages, documents = _timeline(result, lambda d: reverse("accidents:query_document", args=[d["id"]]))
    context = {
        "result": result,
        "stages": stages,
        "documents": documents,
        "role": ROLE_LABELS.get(result.role, result.role),
        "expires": _grant_expiry(grant) if grant else None,
        "evidence_enabled": services.service_open(result.number[:6], rules.EVIDENCE_REVIEW),
    }
    return render(request, "accidents/progress.html", context)


@require_POST
@access_required(PROGRESS_QUERY)
def query_end(request: HttpRequest) -> HttpResponse:
    """Forget the query and evidence grants on this device."""
    request.session.pop(QUERY_GRANT, None)
    request.session.pop(EVIDENCE_GRANT, None)
    messages.info(request, _("已退出查询。"))
    return redirect("accidents:query")


@never_cache
@access_required(PROGRESS_QUERY)
def query_document(request: HttpRequest, document_id: int) -> HttpResponse:
    """A released document: the session grant and the service both say yes, every time."""
    grant = _grant_get(request, QUERY_GRANT)
    if grant is None:
        messages.info(request, _("请先输入事故编号和查询码。"))
        return redirect("accidents:query")
    try:
        document = services.released_document(
            case_number=str(grant.get("number", "")),
            credential_id=int(grant.get("credential", 0)),
            document_id=document_id,
        )
    except NotFound:
        raise Http404("document") from None
    role = (
        QueryCredential.objects.filter(pk=int(grant.get("credential", 0)))
        .values_list("role", flat=True)
        .first()
    )
    name = f"{document.kind}-{document.case.number}-{document.pk}"
    data = services.document_copy(document, role=role or "")
    return _file_response(data, document.content_type, name, attachment=True)


# ---------------------------------------------------------------- written applications (A4)


@access_required(APPLICATION_SUBMIT)
def apply(request: HttpRequest) -> HttpResponse:
    """A vehicle owner or an insurer's staff member applies in writing for a query credential."""
    user = _user(request)
    is_insurer = user.organisation is not None and user.organisation.kind == "insurer"
    if request.method == "POST":
        form = ApplyForm(request.POST, request.FILES)
        if form.is_valid():
            data, name = _read_upload(form.cleaned_data["document"])
            try:
                services.query_application_submit(
                    actor=user,
                    accident_number=form.cleaned_data["accident_number"],
                    role=form.cleaned_data["role"],
                    reason=form.cleaned_data["reason"],
                    document=data,
                    document_name=name,
                )
            except DomainError as error:
                add_domain_error(form, error, {"file": "document"})
            else:
                messages.success(request, _("申请已提交，办案民警审核后会在本页显示结果。"))
                return redirect("accidents:my")
    else:
        form = ApplyForm(initial={"role": "insurer" if is_insurer else "owner"})
    return render(request, "accidents/apply.html", {"form": form})


@never_cache
@access_required(APPLICATION_SUBMIT)
def my(request: HttpRequest) -> HttpResponse:
    """My written applications and, once approved, my query credential."""
    rows = []
    for a in (
        QueryApplication.objects.filter(applicant=_user(request))
        .select_related("case", "credential")
        .defer("document")
        .order_by("-submitted_at", "-id")
    ):
        state, level = APPLICATION_STATES.get(a.state, (a.state, "amber"))
        credential = a.credential
        rows.append(
            {
                "number": a.case.number,
                "role": ROLE_LABELS.get(a.role, a.role),
                "submitted_at": a.submitted_at,
                "state": a.state,
                "state_words": state,
                "level": level,
                "note": a.review_note,
                "reviewed_at": a.reviewed_at,
                "revoked": credential is not None and credential.revoked_at is not None,
                "pdf_url": reverse("accidents:my_credential_pdf", args=[credential.pk])
                if credential is not None and credential.revoked_at is None
                else "",
            }
        )
    return render(request, "accidents/my.html", {"rows": rows})


@never_cache
@access_required(APPLICATION_SUBMIT)
def my_credential_pdf(request: HttpRequest, credential_id: int) -> HttpResponse:
    """My query credential as a PDF: the holder only (anyone else: not found)."""
    try:
        pdf = services.query_credential_pdf(actor=request.user, credential_id=credential_id)
    except (NotFound, NotAllowed):
        raise Http404("credential") from None
    return _file_response(pdf, "application/pdf", f"query-credential-{credential_id}", attachment=True)


# ---------------------------------------------------------------- the party's own account (A3, A4)


@never_cache
@access_required(PARTY_VIEW)
def mine(request: HttpRequest) -> HttpResponse:
    """我的事故: the cases the logged-in citizen is a party to, matched by their document number."""
    rows = [
        {
            "number": found.case.number,
            "occurred_at": found.case.occurred_at,
            "place": found.case.place,
            "label": found.party.label,
            "closed": found.case.closed_at is not None,
            "open_online": found.open_online,
            "province": DIVISIONS.get(f"{found.case.division[:2]}0000", ""),
            "url": reverse("accidents:mine_case", args=[found.case.number]),
        }
        for found in services.cases_of_party(actor=request.user)
    ]
    return render(request, "accidents/mine.html", {"rows": rows})


def _mine_found(request: HttpRequest, number: str) -> services.PartyCase:
    try:
        return services.case_of_party(actor=request.user, number=number)
    except NotFound:
        raise Http404("case") from None


@never_cache
@access_required(PARTY_VIEW)
def mine_case(request: HttpRequest, number: str) -> HttpResponse:
    """One of my cases: the timeline, the released documents and my query credential, no code typed."""
    found = _mine_found(request, number)
    if not found.open_online:
        error = NotAllowed(
            "accidents.service_unavailable",
            _("该省份暂未开通此项网上服务，请到办案单位的事故处理窗口查询。"),
            "This online service is not yet available in that province; ask at the accident unit's counter.",
        )
        return _unavailable(request, error, "query", found.case.number)
    result = services.party_progress(found)
    stages, documents = _timeline(
        result, lambda d: reverse("accidents:mine_document", args=[found.case.number, d["id"]])
    )
    context = {
        "result": result,
        "stages": stages,
        "documents": documents,
        "label": found.party.label,
        "credential_url": reverse("accidents:mine_credential_pdf", args=[found.case.number])
        if found.credential
        else "",
        "evidence_enabled": services.service_open(result.number[:6], rules.EVIDENCE_REVIEW),
    }
    return render(request, "accidents/mine_case.html", context)


@never_cache
@access_required(PARTY_VIEW)
def mine_document(request: HttpRequest, number: str, document_id: int) -> HttpResponse:
    """A released document of my case, as delivered to the parties."""
    try:
        document, data = services.party_document(actor=request.user, number=number, document_id=document_id)
    except (NotFound, NotAllowed):
        raise Http404("document") from None
    name = f"{document.kind}-{document.case.number}-{document.pk}"
    return _file_response(data, document.content_type, name, attachment=True)


@never_cache
@access_required(PARTY_VIEW)
def mine_credential_pdf(request: HttpRequest, number: str) -> HttpResponse:
    """My own query credential as a PDF, to print or to hand to a relative or an agent."""
    found = _mine_found(request, number)
    if found.credential is None:
        raise Http404("credential")
    try:
        pdf = services.query_credential_pdf(actor=request.user, credential_id=found.credential.pk)
    except (NotFound, NotAllowed):
        raise Http404("credential") from None
    return _file_response(pdf, "application/pdf", f"query-credential-{found.case.number}", attachment=True)


# ---------------------------------------------------------------- evidence review (A6-A8)


@never_cache
@access_required(EVIDENCE_ONLINE)
def evidence(request: HttpRequest) -> HttpResponse:
    """Accident number plus review code -> the approved items; POST only."""
    if request.method != "POST":
        return render(request, "accidents/evidence.html", {"form": EvidenceAccessForm()})
    form = EvidenceAccessForm(request.POST)
    if form.is_valid():
        try:
            review = services.evidence_access(
                accident_number=form.cleaned_data["accident_number"],
                code=form.cleaned_data["code"],
                client=client_of(request),
                **_proof_of(request),
            )
        except Throttled as error:
            return _throttled(request, "accidents/evidence.html", form, error)
        except rules.ChallengeRequired as error:
            return _challenge_page(request, "accidents/evidence.html", form, error)
        except NotAllowed as error:
            if error.code == "accidents.service_unavailable":
                return _unavailable(request, error, "evidence", form.cleaned_data["accident_number"])
            add_domain_error(form, error)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            _grant_put(request, EVIDENCE_GRANT, number=review.case.number, review=review.pk)
            return redirect("accidents:evidence_items")
    return render(request, "accidents/evidence.html", {"form": form})


def _granted_review(request: HttpRequest) -> EvidenceReview | None:
    grant = _grant_get(request, EVIDENCE_GRANT)
    if grant is None:
        return None
    review = (
        EvidenceReview.objects.select_related("case", "party")
        .filter(
            pk=int(grant.get("review", 0)),
            state=EvidenceReview.State.APPROVED,
            case__number=str(grant.get("number")),
        )
        .first()
    )
    if review is None:
        request.session.pop(EVIDENCE_GRANT, None)
    return review


@never_cache
@access_required(EVIDENCE_ONLINE)
def evidence_items(request: HttpRequest) -> HttpResponse:
    """The approved items with download links, while the grant lasts."""
    review = _granted_review(request)
    if review is None:
        messages.info(request, _("请输入事故编号和查阅码。"))
        return redirect("accidents:evidence")
    items = [
        {
            "title": item.title,
            "kind": EVIDENCE_KIND_LABELS.get(item.kind, item.kind),
            "type": FILE_EXTENSIONS.get(item.content_type, "").upper(),
            "url": reverse("accidents:evidence_item", args=[item.pk]),
        }
        for item in review.items.filter(confidentiality=rules.Confidentiality.NONE)
        .defer("content")
        .order_by("added_at", "id")
    ]
    grant = _grant_get(request, EVIDENCE_GRANT) or {}
    context = {
        "number": review.case.number,
        "party": f"{review.party.label} {mask_name(review.party.name)}",
        "person_type": PERSON_TYPE_LABELS.get(review.person_type, review.person_type),
        "items": items,
        "expires": _grant_expiry(grant) if grant else None,
    }
    return render(request, "accidents/evidence_items.html", context)


@never_cache
@access_required(EVIDENCE_ONLINE)
def evidence_item(request: HttpRequest, item_id: int) -> HttpResponse:
    """One shared item, stamped with who downloads it and when; the download is logged."""
    review = _granted_review(request)
    if review is None:
        messages.info(request, _("请先输入事故编号和查阅码。"))
        return redirect("accidents:evidence")
    try:
        data, content_type, _stamp = services.evidence_download(
            review_id=review.pk, item_id=item_id, ip=request.META.get("REMOTE_ADDR") or None
        )
    except NotFound:
        raise Http404("item") from None
    return _file_response(data, content_type, f"evidence-{review.case.number}-{item_id}", attachment=True)
