"""Pages for business applications (issue 13): the business page with the form, my applications
and one of them (timeline, fee, withdrawal, supplement), and the counter's queue and detail with
the clerks' steps and the printed acceptance slip.

Thin views over ``applications.services``/``selectors``: every rule (who may apply, the state
machine, the claim, the materials) is the services'. A refusal is shown on the page, next to
the field it names or above the form, in the active language; never a 500.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from jiaoguan.accounts.forms import add_domain_error, submit_form
from jiaoguan.accounts.models import User
from jiaoguan.core.access import access_required, division_prefix_for
from jiaoguan.core.audit import audit_record
from jiaoguan.core.divisions import division_name
from jiaoguan.core.errors import DomainError
from jiaoguan.core.identifiers import mask_id_number, mask_name, mask_phone
from jiaoguan.core.personal_reads import enabled as cache_enabled
from jiaoguan.core.uploads import check_upload
from jiaoguan.core.versioned_cache import versioned_read
from jiaoguan.integrations.payment_gateway import GatewayError
from jiaoguan.payments import services as payment_services
from jiaoguan.registry import selectors as registry_selectors
from jiaoguan.registry.licence_rules import DEFERRAL_REASONS

from . import catalogue, documents, eligibility, notify, rules, selectors, services
from .forms import (
    APPLY_FIELDS,
    ApplyForm,
    PickupCodeForm,
    QueueFilterForm,
    ReasonForm,
    ReturnForm,
    SupplementForm,
    WaybillForm,
)
from .models import Application
from .personal import queue_subject

VIEW_OWN = "applications.own.view"
APPLY = "applications.own.apply"
HANDLE = "applications.counter.handle"
PAGE_SIZE = 20
FILE_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}

STATE_LEVELS = {
    rules.State.SUBMITTED: "info",
    rules.State.RETURNED: "amber",
    rules.State.ACCEPTED: "info",
    rules.State.REJECTED: "red",
    rules.State.IN_PRODUCTION: "info",
    rules.State.POSTED: "info",
    rules.State.READY_FOR_PICKUP: "amber",
    rules.State.COMPLETED: "ok",
    rules.State.WITHDRAWN: "muted",
}


def _english() -> bool:
    return (translation.get_language() or "").lower().startswith("en")


def _words(zh: str, en: str) -> str:
    return en if _english() else zh


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def yuan(fen: int) -> str:
    """¥10.00 from 1000 fen, with integer arithmetic."""
    return f"¥{fen // 100}.{fen % 100:02d}"


def _state(state: str) -> dict[str, Any]:
    zh, en = rules.STATE_NAMES[rules.State(state)] if rules.is_state(state) else (state, state)
    return {
        "state": state,
        "state_words": _words(zh, en),
        "level": STATE_LEVELS.get(rules.State(state), "info"),
    }


def _business_words(code: str) -> str:
    entry = catalogue.entry(code)
    return _words(entry.name_zh, entry.name_en)


def _unit(code: str) -> str:
    name = division_name(code)
    return f"{name}（{code}）" if name and name != code else code


def _deadline(app: Application) -> dict[str, Any] | None:
    found = selectors.next_deadline(app)
    if found is None:
        return None
    overdue = found.due_on is not None and found.due_on < timezone.localdate()
    return {"what": found.what, "due_on": found.due_on, "known": found.known, "overdue": overdue}


def application_row(app: Application, *, url: str) -> dict[str, Any]:
    return {
        "id": app.pk,
        "url": url,
        "number": app.number,
        "business": app.business_code,
        "business_words": _business_words(app.business_code),
        "plate": selectors.plate_of(app),
        "submitted_at": app.submitted_at,
        "accept_due_on": app.accept_due_on,
        "deadline_known": app.deadline_known,
        "deadline": _deadline(app),
        **_state(app.state),
    }


def _materials(app: Application) -> list[dict[str, Any]]:
    return [
        {
            "id": m.pk,
            "kind": m.kind,
            "kind_words": _words(*catalogue.MATERIAL_NAMES[catalogue.Material(m.kind)]),
            "content_type": m.content_type,
            "size_kb": max(1, m.size // 1024),
            "uploaded_at": m.uploaded_at,
        }
        for m in selectors.application_materials(app)
    ]


def _needs(entry: catalogue.Entry, today: date) -> dict[str, Any]:
    """What a business needs, in words: the materials, the fee, delivery and the deadlines."""
    return {
        "code": entry.code,
        "name": _words(entry.name_zh, entry.name_en),
        "materials": [
            {"code": m.value, "words": _words(*catalogue.MATERIAL_NAMES[m])} for m in entry.materials
        ],
        "fee": yuan(catalogue.fee_on(entry.code, today)),
        "has_fee": catalogue.fee_on(entry.code, today) > 0,
        "delivery": [_words(*catalogue.DELIVERY_NAMES[d]) for d in entry.delivery],
        "delivers": entry.delivers,
    }


# ---------------------------------------------------------------- citizens: the business page


def _vehicle_choice(request: HttpRequest, entry: catalogue.Entry) -> int | None:
    """The vehicle chosen on a vehicle business's page (``?vehicle=`` or the form's), if any."""
    if not entry.needs_vehicle:
        return None
    raw = request.POST.get("vehicle_id") if request.method == "POST" else request.GET.get("vehicle")
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _vehicles(user: User, entry: catalogue.Entry, *, chosen: int | None, today: date) -> list[dict[str, Any]]:
    """The applicant's vehicles for a vehicle business (issue 14), each with its own answer."""
    if not entry.needs_vehicle:
        return []
    rows = []
    for vehicle in registry_selectors.vehicles_owned_by(user=user):
        answer = eligibility.vehicle_answer(entry, vehicle, today=today)
        rows.append(
            {
                "id": vehicle.pk,
                "plate": vehicle.plate_number or vehicle.vin[-6:],
                "brand_model": vehicle.brand_model,
                "allowed": answer.allowed,
                "reason": _words(answer.reason_zh, answer.reason_en),
                "chosen": vehicle.pk == chosen,
            }
        )
    return rows


def _business_page(
    request: HttpRequest, entry: catalogue.Entry, *, form: ApplyForm | None = None, status: int = 200
) -> HttpResponse:
    user = _user(request)
    today = timezone.localdate()
    vehicle_id = _vehicle_choice(request, entry)
    answer = eligibility.business_eligibility(
        actor=user, business_code=entry.code, today=today, vehicle_id=vehicle_id
    )
    vehicles = _vehicles(user, entry, chosen=answer.vehicle_id, today=today)
    licence = selectors.applicant_licence(actor=user)
    to_classes = [str(c) for c in answer.details.get("to_classes", []) if c]
    if form is None:
        initial: dict[str, Any] = {}
        person = user.person if user.person_id else None
        if entry.delivers:
            initial = {
                "delivery_method": catalogue.Delivery.POST.value,
                "recipient_name": person.name if person is not None else "",
                "recipient_phone": person.mobile if person is not None else "",
                "address_division": person.residence_division if person is not None else "",
            }
        if to_classes:
            initial["to_classes"] = to_classes[0]
        form = ApplyForm(initial=initial, entry=entry, to_classes=to_classes)
    context = {
        "needs": _needs(entry, today),
        "answer": answer,
        "reason": _words(answer.reason_zh, answer.reason_en),
        "remedy": _words(answer.remedy_zh, answer.remedy_en),
        "details": answer.details,
        "licence": licence,
        # Issue 14: a vehicle business names one of the applicant's vehicles, chosen on this page.
        "vehicle_business": entry.needs_vehicle,
        "vehicles": vehicles,
        # The choice only helps when the account may apply at all (U5 refusals name the upgrade).
        "choose_vehicle": len(vehicles) > 1 and not answer.code.startswith("accounts."),
        "vehicle_id": answer.vehicle_id,
        "chosen_vehicle": next((v for v in vehicles if v["id"] == answer.vehicle_id), None),
        "has_subject": bool(vehicles) if entry.needs_vehicle else licence is not None,
        "medical_on": licence.last_medical_on if licence is not None else None,
        "needs_medical": catalogue.Material.MEDICAL_CERTIFICATE in entry.materials,
        "form": form,
        "material_fields": form.material_fields(),
        "open_application": selectors.open_application_of(actor=user, business_code=entry.code),
    }
    response = render(request, "applications/business.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def _entry(code: str) -> catalogue.Entry:
    found = catalogue.CATALOGUE.get((code or "").upper())
    if found is None or not (found.needs_licence or found.needs_vehicle) or found.by_system:
        # B6/B7 are the hospitals' (their own pages), E2 is opened by the platform (issue 14);
        # anything else is not a business here.
        raise Http404("business")
    return found


def _check_files(form: ApplyForm) -> list[services.MaterialInput]:
    """Check each uploaded file before anything is stored, so the error sits next to its field."""
    found = []
    for kind, field, upload in form.material_files():
        data, name = _read(upload)
        try:
            check_upload(data, name=name, max_bytes=services.MATERIAL_MAX_BYTES)
        except DomainError as error:
            form.add_error(field, error.message)
            continue
        found.append(services.MaterialInput(kind=kind, content=data, filename=name))
    return found


def _read(upload: UploadedFile | None) -> tuple[bytes, str]:
    if upload is None:
        return b"", ""
    upload.seek(0)
    return upload.read(services.MATERIAL_MAX_BYTES + 1), upload.name or ""


@never_cache
@access_required(VIEW_OWN)
def business(request: HttpRequest, code: str) -> HttpResponse:
    """办理业务: what is needed, whether I can apply now (and if not why and what to do), the form."""
    entry = _entry(code)
    if request.method != "POST":
        return _business_page(request, entry)
    return _apply(request, entry)


@access_required(APPLY)
def _apply(request: HttpRequest, entry: catalogue.Entry) -> HttpResponse:
    user = _user(request)
    answer = eligibility.business_eligibility(
        actor=user, business_code=entry.code, today=timezone.localdate(),
        vehicle_id=_vehicle_choice(request, entry),
    )  # fmt: skip
    to_classes = [str(c) for c in answer.details.get("to_classes", []) if c]
    form = ApplyForm(request.POST, request.FILES, entry=entry, to_classes=to_classes)
    if form.is_valid():
        files = _check_files(form)
        if not form.errors:
            data = form.cleaned_data
            licence = selectors.applicant_licence(actor=user)
            delivery = services.DeliveryInput(
                method=data.get("delivery_method", ""),
                recipient_name=data.get("recipient_name", ""),
                recipient_phone=data.get("recipient_phone", ""),
                address_division=data.get("address_division", ""),
                address_line=data.get("address_line", ""),
            )
            app = submit_form(
                form,
                lambda: services.application_submit_with_materials(
                    actor=user,
                    business_code=entry.code,
                    licence_id=licence.pk if licence is not None and entry.needs_licence else None,
                    vehicle_id=_vehicle_choice(request, entry),
                    delivery=delivery,
                    particulars=form.particulars(),
                    note=data.get("note", ""),
                    materials=tuple(files),
                ),
                APPLY_FIELDS,
            )
            if app is not None:
                messages.success(request, _("申请已提交，申请编号 %(number)s。") % {"number": app.number})
                return redirect("applications:detail", application_id=app.pk)
    return _business_page(request, entry, form=form, status=400)


# ---------------------------------------------------------------- citizens: my applications


def _encode_cursor(cursor: tuple[datetime, int]) -> str:
    return f"{int(cursor[0].timestamp() * 1_000_000)}.{cursor[1]}"


def _decode_cursor(text: str) -> tuple[datetime, int] | None:
    """The keyset cursor of the "更多" link; a damaged one starts from the first page."""
    if not text:
        return None
    try:
        micros, pk = text.split(".", 1)
        return datetime.fromtimestamp(int(micros) / 1_000_000, tz=timezone.get_current_timezone()), int(pk)
    except (ValueError, OverflowError, OSError):
        return None


@never_cache
@access_required(VIEW_OWN)
def my_list(request: HttpRequest) -> HttpResponse:
    """我的申请: newest first, one keyset page at a time."""
    page = selectors.my_applications(
        actor=_user(request), after=_decode_cursor(request.GET.get("cursor", "")), limit=PAGE_SIZE
    )
    rows = [application_row(a, url=reverse("applications:detail", args=[a.pk])) for a in page.items]
    more_url = ""
    if page.after is not None:
        more_url = f"{reverse('applications:list')}?{urlencode({'cursor': _encode_cursor(page.after)})}"
    context = {
        "rows": rows,
        "more_url": more_url,
        "continued": bool(request.GET.get("cursor")),
        # Every step reaches the applicant as a message too (issue 13); the newest first.
        "inbox": [
            {
                "text": m.text_en if translation.get_language() == "en" else m.text_zh,
                "at": m.created_at,
                "unread": m.read_at is None,
                "url": reverse("applications:detail", args=[m.application_id]),
            }
            for m in notify.my_messages(actor=_user(request), limit=5)
        ],
        "businesses": [
            {"code": e.code, "name": _words(e.name_zh, e.name_en)}
            for e in catalogue.CATALOGUE.values()
            if (e.needs_licence or e.needs_vehicle) and not e.by_system
        ],
    }
    return render(request, "applications/list.html", context)


def _mine(request: HttpRequest, application_id: int) -> Application:
    try:
        return selectors.my_application(actor=_user(request), application_id=application_id)
    except DomainError as error:
        if error.status == 404:
            raise Http404("application") from None
        raise


def _detail_page(
    request: HttpRequest,
    app: Application,
    *,
    supplement_form: SupplementForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    entry = catalogue.entry(app.business_code)
    fee = selectors.fee_state(app)
    # Made on the reader's behalf by a relative (O2): they follow it; the applicant acts on it.
    acts = app.applicant_id == request.user.pk
    steps = [
        {
            "at": s.at,
            "actor": _words(s.actor_label_zh, s.actor_label_en),
            "note": s.note,
            **_state(s.to_state),
        }
        for s in selectors.applicant_timeline(app)
    ]
    context = {
        "app": app,
        "row": application_row(app, url=reverse("applications:detail", args=[app.pk])),
        "business_words": _words(entry.name_zh, entry.name_en),
        "steps": steps,
        "deadline": _deadline(app),
        "fee": {
            "amount": yuan(app.fee_fen),
            "state": fee,
            "payable": acts
            and fee == "due"
            and app.fee_payable_id is not None
            and app.state in rules.OPEN_STATES,
        },
        "delivery_words": _words(*catalogue.DELIVERY_NAMES[catalogue.Delivery(app.delivery_method)])
        if app.delivery_method
        else "",
        "materials": _materials(app),
        "can_withdraw": acts and app.state in (rules.State.SUBMITTED, rules.State.RETURNED),
        "returned": acts and app.state == rules.State.RETURNED,
        "supplement_form": supplement_form or SupplementForm(entry=entry),
        "error": error,
    }
    response = render(request, "applications/detail.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@access_required(VIEW_OWN)
def detail(request: HttpRequest, application_id: int) -> HttpResponse:
    """One of my applications: its timeline, the next deadline, the fee, and what I can do now.
    Opening it reads the messages about it (idempotent)."""
    app = _mine(request, application_id)
    notify.application_messages_read(actor=_user(request), application_id=app.pk)
    return _detail_page(request, app)


@require_POST
@access_required(APPLY)
def withdraw(request: HttpRequest, application_id: int) -> HttpResponse:
    """撤回: only before the DMV accepted it."""
    app = _mine(request, application_id)
    try:
        services.application_withdraw(actor=_user(request), application_id=app.pk)
    except DomainError as error:
        if error.status == 404:
            raise Http404("application") from None
        return _detail_page(request, _mine(request, application_id), error=error.message, status=error.status)
    messages.success(request, _("申请已撤回。"))
    return redirect("applications:detail", application_id=app.pk)


@require_POST
@access_required(APPLY)
def supplement(request: HttpRequest, application_id: int) -> HttpResponse:
    """补正材料: a note and, when asked for, a file; the application then waits for acceptance again."""
    app = _mine(request, application_id)
    form = SupplementForm(request.POST, request.FILES, entry=catalogue.entry(app.business_code))
    if form.is_valid():
        data, name = _read(form.cleaned_data.get("file"))
        materials = (
            (services.MaterialInput(kind=form.cleaned_data["kind"], content=data, filename=name),)
            if data
            else ()
        )
        done = submit_form(
            form,
            lambda: services.application_supplement_with_materials(
                actor=_user(request),
                application_id=app.pk,
                note=form.cleaned_data["note"],
                materials=materials,
            ),
        )
        if done is not None:
            messages.success(request, _("补正材料已提交，请等待车管所受理。"))
            return redirect("applications:detail", application_id=app.pk)
    return _detail_page(request, _mine(request, application_id), supplement_form=form, status=400)


@require_POST
@access_required(APPLY)
def pay(request: HttpRequest, application_id: int) -> HttpResponse:
    """缴纳费用: open or resume the online order and send the payer to the gateway (303)."""
    app = _mine(request, application_id)
    if app.fee_payable_id is None:
        return _detail_page(request, app, error=_("本申请没有待缴纳的费用。"), status=409)
    try:
        order = payment_services.payment_start(
            actor=_user(request), payable_id=app.fee_payable_id, request=request
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404("application") from None
        return _detail_page(request, app, error=error.message, status=error.status)
    except GatewayError:
        message = _("支付平台暂时无法连接，请稍后再试；如已扣款，核实后会自动入账或退回。")
        return _detail_page(request, app, error=message, status=503)
    if not order.pay_url:  # settled in the meantime: the result page says how
        return redirect(f"{reverse('payments:return')}?{urlencode({'out_trade_no': order.order_number})}")
    response = HttpResponseRedirect(order.pay_url)
    response.status_code = 303
    return response


# ---------------------------------------------------------------- the counter


@never_cache
@access_required(HANDLE)
def counter_queue(request: HttpRequest) -> HttpResponse:
    """The jurisdiction's applications, soonest acceptance deadline first; overdue ones marked.

    The list part of the page is the same for every clerk of a jurisdiction, so it is kept in
    the shared cache under the jurisdiction's version (applications/personal.py), which every
    change of an application there renews; the access check runs before, on every request.
    """
    actor = _user(request)
    prefix = division_prefix_for(actor, HANDLE)
    if prefix is None or not cache_enabled():
        return _queue_page(request, _queue_body(request))
    query = sorted((k, v) for k, v in request.GET.items())
    detail = hashlib.blake2b(repr(query).encode(), digest_size=8).hexdigest()
    language = translation.get_language() or settings.LANGUAGE_CODE
    key = f"applications-queue:{prefix}:{timezone.localdate().isoformat()}:{language}:{detail}"
    body = versioned_read(
        queue_subject(prefix),
        key,
        lambda: _queue_body(request),
        seconds=int(settings.PERSONAL_READ_CACHE_SECONDS),
    )
    return _queue_page(request, mark_safe(body))  # noqa: S308  (rendered by our own template)


def _queue_page(request: HttpRequest, body: str) -> HttpResponse:
    return render(request, "applications/counter/queue.html", {"body": body})


def _queue_body(request: HttpRequest) -> SafeString:
    form = QueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    try:
        page = max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    today = timezone.localdate()
    error = ""
    try:
        found = selectors.staff_queue(
            actor=_user(request),
            today=today,
            business=filters.get("business") or "",
            state=filters.get("state") or "",
            overdue=bool(filters.get("overdue")),
            limit=PAGE_SIZE + 1,
            offset=(page - 1) * PAGE_SIZE,
        )
    except DomainError as refusal:
        found, error = [], refusal.message
    rows = []
    for app in found[:PAGE_SIZE]:
        row = application_row(app, url=reverse("applications:counter_detail", args=[app.pk]))
        row["overdue"] = selectors.is_overdue(app, today=today)
        row["claimed"] = app.claimed_by_id is not None
        rows.append(row)
    query = {k: v for k, v in request.GET.items() if k != "page"}

    def page_url(n: int) -> str:
        return f"{reverse('applications:counter')}?{urlencode({**query, 'page': n})}"

    context = {
        "form": form,
        "rows": rows,
        "error": error,
        "page": page,
        "prev_url": page_url(page - 1) if page > 1 else "",
        "next_url": page_url(page + 1) if len(found) > PAGE_SIZE else "",
    }
    return mark_safe(render_to_string("applications/counter/queue_body.html", context, request=request))  # noqa: S308


def _staff_app(request: HttpRequest, application_id: int) -> Application:
    try:
        return services.application_for_staff(actor=_user(request), application_id=application_id)
    except DomainError as error:
        if error.status == 404:
            raise Http404("application") from None
        raise


# The clerk's steps: (name, label, form class or None); the page offers those the state allows.
STEPS: dict[str, tuple[rules.Action | None, Any]] = {
    "claim": (None, None),
    "accept": (rules.Action.ACCEPT, None),
    "return": (rules.Action.RETURN_FOR_SUPPLEMENT, ReturnForm),
    "reject": (rules.Action.REJECT, ReasonForm),
    "production": (rules.Action.START_PRODUCTION, None),
    "post": (rules.Action.POST, WaybillForm),
    "ready": (rules.Action.READY_FOR_PICKUP, None),
    "hand-over": (rules.Action.HAND_OVER, PickupCodeForm),
    "complete": (rules.Action.COMPLETE, None),
}


def _offered(app: Application) -> list[str]:
    delivers = catalogue.entry(app.business_code).delivers
    offered = ["claim"] if app.state in rules.STAFF_STATES else []
    for name, (action, _form) in STEPS.items():
        if action is None:
            continue
        try:
            rules.transition_for(
                app.state, action, delivers=delivers, returned_before=app.returned_at is not None
            )
        except DomainError:
            continue
        if name == "post" and app.delivery_method != catalogue.Delivery.POST:
            continue
        if name == "ready" and app.delivery_method != catalogue.Delivery.PICKUP:
            continue
        offered.append(name)
    return offered


PARTICULAR_LABELS = {
    "to_classes": gettext_lazy("换领后的准驾车型"),
    "reason": gettext_lazy("延期原因"),
    "until": gettext_lazy("延期至"),
}


# Where a paper mark's request came from (issue 14), kept in particulars and the source key:
# shown through the source in words, never as the stored keys.
_SOURCE_PARTICULARS = frozenset({"source", "credential_id", "paper_request_id"})


def _source_words(source: str) -> str:
    if not source:
        return ""
    if source.startswith("credentials.paper_mark_request:"):
        return _words(
            "免检车辆网上申领检验标志时申请", "Asked for with the exempt vehicle's online label application"
        )
    if source.startswith("inspections"):
        return _words("检验合格时申请", "Asked for when the inspection passed")
    return _words("系统生成", "Opened by the platform")


def _particulars(particulars: dict[str, Any]) -> list[tuple[str, str]]:
    """The business's particulars in words: known keys labelled, a deferral's reason named."""
    rows = []
    for key, value in particulars.items():
        if key in _SOURCE_PARTICULARS:
            continue
        shown = str(value)
        if key == "reason" and value in DEFERRAL_REASONS:
            reason = DEFERRAL_REASONS[value]
            shown = _words(reason.zh, reason.en)
        rows.append((str(PARTICULAR_LABELS.get(key, key)), shown))
    return rows


def _counter_page(
    request: HttpRequest,
    app: Application,
    *,
    forms: dict[str, Any] | None = None,
    error: str = "",
    pickup_code: str = "",
    status: int = 200,
) -> HttpResponse:
    entry = catalogue.entry(app.business_code)
    person = app.subject_person
    steps = [
        {
            "at": e.at,
            # The applicant's login is their ID number: named by role, like on the citizen's page.
            "actor": _("系统")
            if e.actor is None
            else _("申请人")
            if e.actor_id == app.applicant_id
            else e.actor.get_username(),
            "note": e.note,
            **_state(e.to_state),
        }
        for e in selectors.timeline(app)
    ]
    offered = _offered(app)
    bound = forms or {}
    # Keyed with "_" for "-": templates cannot look up "hand-over".
    step_forms = {
        name.replace("-", "_"): bound.get(name) or form_class()
        for name, (_action, form_class) in STEPS.items()
        if form_class is not None and name in offered
    }
    context = {
        "app": app,
        "row": application_row(app, url=reverse("applications:counter_detail", args=[app.pk])),
        "overdue": selectors.is_overdue(app, today=timezone.localdate()),
        "business_words": _words(entry.name_zh, entry.name_en),
        "unit": _unit(app.division),
        "applicant": {
            "name": mask_name(person.name) if person is not None else "",
            "id_number": mask_id_number(person.id_number) if person is not None else "",
            "recipient_name": mask_name(app.recipient_name),
            "recipient_phone": mask_phone(app.recipient_phone),
            "address_division": _unit(app.address_division) if app.address_division else "",
            "address_line": (app.address_line[:6] + "****") if app.address_line else "",
        },
        "licence_classes": app.licence.classes if app.licence is not None else "",
        "vehicle": _vehicle_facts(app),
        "particulars": _particulars(app.particulars),
        "fee": {"amount": yuan(app.fee_fen), "state": selectors.fee_state(app)},
        "delivery_words": _words(*catalogue.DELIVERY_NAMES[catalogue.Delivery(app.delivery_method)])
        if app.delivery_method
        else "",
        "materials": _materials(app),
        "photo_review": _photo_review(app),
        "steps": steps,
        "offered": offered,
        "forms": step_forms,
        "claimed_by": app.claimed_by.get_username() if app.claimed_by is not None else "",
        "error": error,
        "pickup_code": pickup_code,
    }
    response = render(request, "applications/counter/detail.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@access_required(HANDLE)
def counter_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    """One application of the jurisdiction: applicant data masked, the read audited, the clerk's steps."""
    try:
        app = services.application_for_staff_read(
            actor=_user(request), application_id=application_id, request=request
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404("application") from None
        raise
    return _counter_page(request, app)


def _run_step(request: HttpRequest, app: Application, step: str, form: Any) -> tuple[Any, str]:
    """Call the service of a step; (its result, "") or (None, the refusal's message)."""
    actor, pk = _user(request), app.pk
    data = form.cleaned_data if form is not None else {}
    calls = {
        "claim": lambda: services.application_claim(actor=actor, application_id=pk),
        "accept": lambda: services.application_accept(actor=actor, application_id=pk),
        "return": lambda: services.application_return_for_supplement(
            actor=actor, application_id=pk, reason=data["reason"], supplement_due_on=data["supplement_due_on"]
        ),
        "reject": lambda: services.application_reject(actor=actor, application_id=pk, reason=data["reason"]),
        "production": lambda: services.application_start_production(actor=actor, application_id=pk),
        "post": lambda: post_application(
            actor=actor, application_id=pk, waybill_number=data["waybill_number"]
        ),
        "ready": lambda: services.application_ready_for_pickup(actor=actor, application_id=pk),
        "hand-over": lambda: services.application_hand_over(
            actor=actor, application_id=pk, pickup_code=data["pickup_code"]
        ),
        "complete": lambda: services.application_complete(actor=actor, application_id=pk),
    }
    try:
        return calls[step](), ""
    except DomainError as error:
        if form is not None and error.field in form.fields:
            add_domain_error(form, error)
        return None, error.message


def post_application(*, actor: Any, application_id: int, waybill_number: str) -> Application:
    """The one place the counter posts a document (the postal service may take over the waybill)."""
    return services.application_post(
        actor=actor, application_id=application_id, waybill_number=waybill_number
    )


@require_POST
@access_required(HANDLE)
def counter_step(request: HttpRequest, application_id: int, step: str) -> HttpResponse:
    """A clerk's step; a refusal (another clerk's claim, a step the state does not allow) is shown on the page."""
    if step not in STEPS:
        raise Http404("step")
    app = _staff_app(request, application_id)
    form_class = STEPS[step][1]
    form = form_class(request.POST) if form_class is not None else None
    if form is not None and not form.is_valid():
        return _counter_page(request, app, forms={step: form}, status=400)
    result, error = _run_step(request, app, step, form)
    if result is None:
        status = 409 if form is None or not form.errors else 400
        return _counter_page(request, _staff_app(request, application_id), forms={step: form} if form else None,
                             error=error, status=status)  # fmt: skip
    if step == "ready":
        # The pickup code is shown this once and never stored: rendered, not redirected.
        app, code = result
        return _counter_page(request, app, pickup_code=code)
    messages.success(request, _("已完成：%(step)s") % {"step": _state(result.state)["state_words"]})
    return redirect("applications:counter_detail", application_id=app.pk)


def _file_response(data: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    # A PDF is downloaded rather than opened in the platform's origin; an image may be shown.
    disposition = "attachment" if content_type == "application/pdf" else "inline"
    response["Content-Disposition"] = (
        f'{disposition}; filename="{name}.{FILE_EXTENSIONS.get(content_type, "bin")}"'
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _vehicle_facts(app: Application) -> dict[str, Any] | None:
    """The vehicle of a vehicle business for the clerk (issue 14): plate, type, make, VIN masked,
    status in words and what was issued before; the owner's name is the applicant's, masked above."""
    vehicle = app.vehicle
    if vehicle is None:
        return None
    status = registry_selectors.vehicle_status(vehicle, today=timezone.localdate())
    return {
        "plate": vehicle.plate_number or "",
        "plate_type": status.plate_type_label,
        "brand_model": vehicle.brand_model,
        "vin_masked": status.vin_masked,
        "statuses": "、".join(f"{c.code} {_words(c.zh, c.en)}" for c in status.statuses),
        "plate_issue_count": vehicle.plate_issue_count,
        "vehicle_licence_issue_count": vehicle.vehicle_licence_issue_count,
        "source": _source_words(app.source_key),
    }


def _photo_review(app: Application) -> dict[str, Any] | None:
    """The latest photo handed in beside the archive photo on file, reviewed as for the e-licence
    (issue 13, D1): the clerk accepts when they show the same person, or returns it for a new photo."""
    photos = [m for m in selectors.application_materials(app) if m.kind == catalogue.Material.PHOTO]
    if not photos:
        return None
    archive = registry_selectors.archive_photo_of(person_id=app.subject_person_id)
    return {
        "submitted_url": reverse("applications:counter_material", args=[app.pk, photos[-1].pk]),
        "archive_url": reverse("applications:counter_archive_photo", args=[app.pk]) if archive else "",
        "archive_recorded_at": archive.recorded_at if archive else None,
    }


@never_cache
@access_required(HANDLE)
def counter_archive_photo(request: HttpRequest, application_id: int) -> HttpResponse:
    """The applicant's archive photo (档案照片) for the photo review; every view is audited."""
    try:
        app = services.application_for_staff(actor=_user(request), application_id=application_id)
    except DomainError as error:
        if error.status == 404:
            raise Http404("application") from None
        raise
    archive = registry_selectors.archive_photo_of(person_id=app.subject_person_id)
    if archive is None:
        raise Http404("archive photo")
    audit_record(
        actor=_user(request),
        action="view",
        subject=app,
        subject_person_id=app.subject_person_id,
        summary=f"查看档案照片（业务申请照片审核）{app.number}",
        request=request,
    )
    content_type = "image/png" if archive.photo_type == "png" else "image/jpeg"
    return _file_response(bytes(archive.photo), content_type, "archive-photo")


@never_cache
@access_required(HANDLE)
def counter_material(request: HttpRequest, application_id: int, material_id: int) -> HttpResponse:
    """A file the applicant handed in, served with its sniffed type; every view is audited."""
    try:
        material = services.material_for_staff(actor=_user(request), material_id=material_id, request=request)
    except DomainError as error:
        if error.status == 404:
            raise Http404("material") from None
        raise
    if material.application_id != application_id:
        raise Http404("material")
    return _file_response(bytes(material.content), material.content_type, f"{material.kind}-{material.pk}")


@never_cache
@access_required(HANDLE)
def counter_slip(request: HttpRequest, application_id: int) -> HttpResponse:
    """受理回执 as PDF, to print and hand to the applicant; the print is audited like a read."""
    try:
        app = services.application_for_staff_read(
            actor=_user(request), application_id=application_id, request=request
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404("application") from None
        raise
    slip = acceptance_slip(app, printed_at=timezone.localtime())
    response = HttpResponse(documents.acceptance_slip_pdf(slip), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="acceptance-{app.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def acceptance_slip(app: Application, *, printed_at: datetime) -> documents.AcceptanceSlip:
    """The slip's values in Chinese words (a printed document of the DMV)."""
    entry = catalogue.entry(app.business_code)
    person = app.subject_person
    fee = selectors.fee_state(app)
    kinds = sorted({m.kind for m in selectors.application_materials(app)})
    materials = "、".join(catalogue.MATERIAL_NAMES[catalogue.Material(k)][0] for k in kinds)
    if catalogue.Material.MEDICAL_CERTIFICATE in entry.materials:
        materials = "、".join(filter(None, [materials, "身体条件证明（医院电子提交）"]))
    local = timezone.localtime
    return documents.AcceptanceSlip(
        unit=f"{division_name(app.division) or app.division}车辆管理所",
        number=app.number,
        business=" ".join(filter(None, [entry.code, entry.name_zh, selectors.plate_of(app)])),
        applicant_name=person.name if person is not None else "",
        applicant_id_number=mask_id_number(person.id_number) if person is not None else "",
        state=rules.STATE_NAMES[rules.State(app.state)][0],
        submitted_at=f"{local(app.submitted_at):%Y-%m-%d %H:%M}",
        accepted_at=f"{local(app.accepted_at):%Y-%m-%d %H:%M}" if app.accepted_at else "",
        accept_due=f"{app.accept_due_on:%Y-%m-%d} 前" if app.accept_due_on else "工作日历尚未公布，时限待定",
        materials=materials,
        delivery=catalogue.DELIVERY_NAMES[catalogue.Delivery(app.delivery_method)][0]
        if app.delivery_method
        else "无需领取",
        fee=("无" if fee == "none" else f"{yuan(app.fee_fen)}（{'已缴纳' if fee == 'paid' else '待缴纳'}）"),
        printed_at=f"{printed_at:%Y-%m-%d %H:%M}",
    )
